//! The WASI preview1 error numbers, and their conversion from host errors.

use std::fmt;

macro_rules! errnos {
    ($( $(#[$doc:meta])* $name:ident = $num:literal, $text:literal; )*) => {
        /// A WASI preview1 `errno` value (the `wasi_snapshot_preview1` numbering), an error
        /// only: success (`errno` 0) is the `Ok` of a `Result`, so it has no variant here.
        ///
        /// Every filesystem method returns one of these on failure; the host calls hand the number
        /// to the guest unchanged.
        ///
        /// ```
        /// use hammertime_vfs::Errno;
        /// assert_eq!((Errno::Noent.raw(), Errno::Noent.name()), (44, "noent"));
        /// assert_eq!(Errno::from_raw(44), Some(Errno::Noent));
        /// assert_eq!(Errno::from_raw(0), None, "0 is success, not an error");
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[repr(u16)]
        #[non_exhaustive]
        pub enum Errno {
            $( $(#[$doc])* $name = $num, )*
        }

        impl Errno {
            /// The errno from its WASI number, if it is one (`None` for 0, success, and for
            /// numbers WASI does not define).
            pub fn from_raw(raw: u16) -> Option<Errno> {
                match raw {
                    $( $num => Some(Errno::$name), )*
                    _ => None,
                }
            }

            /// The lower-case WASI name (`"noent"`, `"badf"`, …).
            pub fn name(self) -> &'static str {
                match self { $( Errno::$name => $text, )* }
            }
        }
    };
}

errnos! {
    /// Argument list too long.
    TooBig = 1, "2big";
    /// Permission denied.
    Acces = 2, "acces";
    /// Address in use.
    Addrinuse = 3, "addrinuse";
    /// Address not available.
    Addrnotavail = 4, "addrnotavail";
    /// Address family not supported.
    Afnosupport = 5, "afnosupport";
    /// Resource unavailable, or operation would block.
    Again = 6, "again";
    /// Connection already in progress.
    Already = 7, "already";
    /// Bad file descriptor.
    Badf = 8, "badf";
    /// Bad message.
    Badmsg = 9, "badmsg";
    /// Device or resource busy.
    Busy = 10, "busy";
    /// Operation canceled.
    Canceled = 11, "canceled";
    /// No child processes.
    Child = 12, "child";
    /// Connection aborted.
    Connaborted = 13, "connaborted";
    /// Connection refused.
    Connrefused = 14, "connrefused";
    /// Connection reset.
    Connreset = 15, "connreset";
    /// Resource deadlock would occur.
    Deadlk = 16, "deadlk";
    /// Destination address required.
    Destaddrreq = 17, "destaddrreq";
    /// Mathematics argument out of domain of function.
    Dom = 18, "dom";
    /// Reserved.
    Dquot = 19, "dquot";
    /// File exists.
    Exist = 20, "exist";
    /// Bad address.
    Fault = 21, "fault";
    /// File too large.
    Fbig = 22, "fbig";
    /// Host is unreachable.
    Hostunreach = 23, "hostunreach";
    /// Identifier removed.
    Idrm = 24, "idrm";
    /// Illegal byte sequence.
    Ilseq = 25, "ilseq";
    /// Operation in progress.
    Inprogress = 26, "inprogress";
    /// Interrupted function.
    Intr = 27, "intr";
    /// Invalid argument.
    Inval = 28, "inval";
    /// I/O error.
    Io = 29, "io";
    /// Socket is connected.
    Isconn = 30, "isconn";
    /// Is a directory.
    Isdir = 31, "isdir";
    /// Too many levels of symbolic links.
    Loop = 32, "loop";
    /// File descriptor value too large.
    Mfile = 33, "mfile";
    /// Too many links.
    Mlink = 34, "mlink";
    /// Message too large.
    Msgsize = 35, "msgsize";
    /// Reserved.
    Multihop = 36, "multihop";
    /// Filename too long.
    Nametoolong = 37, "nametoolong";
    /// Network is down.
    Netdown = 38, "netdown";
    /// Connection aborted by network.
    Netreset = 39, "netreset";
    /// Network unreachable.
    Netunreach = 40, "netunreach";
    /// Too many files open in system.
    Nfile = 41, "nfile";
    /// No buffer space available.
    Nobufs = 42, "nobufs";
    /// No such device.
    Nodev = 43, "nodev";
    /// No such file or directory.
    Noent = 44, "noent";
    /// Executable file format error.
    Noexec = 45, "noexec";
    /// No locks available.
    Nolck = 46, "nolck";
    /// Reserved.
    Nolink = 47, "nolink";
    /// Not enough space.
    Nomem = 48, "nomem";
    /// No message of the desired type.
    Nomsg = 49, "nomsg";
    /// Protocol not available.
    Noprotoopt = 50, "noprotoopt";
    /// No space left on device.
    Nospc = 51, "nospc";
    /// Function not supported.
    Nosys = 52, "nosys";
    /// The socket is not connected.
    Notconn = 53, "notconn";
    /// Not a directory or a symbolic link to a directory.
    Notdir = 54, "notdir";
    /// Directory not empty.
    Notempty = 55, "notempty";
    /// State not recoverable.
    Notrecoverable = 56, "notrecoverable";
    /// Not a socket.
    Notsock = 57, "notsock";
    /// Not supported, or operation not supported on socket.
    Notsup = 58, "notsup";
    /// Inappropriate I/O control operation.
    Notty = 59, "notty";
    /// No such device or address.
    Nxio = 60, "nxio";
    /// Value too large to be stored in data type.
    Overflow = 61, "overflow";
    /// Previous owner died.
    Ownerdead = 62, "ownerdead";
    /// Operation not permitted.
    Perm = 63, "perm";
    /// Broken pipe.
    Pipe = 64, "pipe";
    /// Protocol error.
    Proto = 65, "proto";
    /// Protocol not supported.
    Protonosupport = 66, "protonosupport";
    /// Protocol wrong type for socket.
    Prototype = 67, "prototype";
    /// Result too large.
    Range = 68, "range";
    /// Read-only file system.
    Rofs = 69, "rofs";
    /// Invalid seek.
    Spipe = 70, "spipe";
    /// No such process.
    Srch = 71, "srch";
    /// Reserved.
    Stale = 72, "stale";
    /// Connection timed out.
    Timedout = 73, "timedout";
    /// Text file busy.
    Txtbsy = 74, "txtbsy";
    /// Cross-device link.
    Xdev = 75, "xdev";
    /// Extension: capabilities insufficient.
    Notcapable = 76, "notcapable";
}

impl Errno {
    /// The number handed to the guest.
    pub fn raw(self) -> u16 {
        self as u16
    }

    /// The WASI errno for a host OS error number (Linux/POSIX numbering via `rustix`).
    ///
    /// Unknown numbers become [`Errno::Io`].
    pub fn from_host(err: rustix::io::Errno) -> Errno {
        use rustix::io::Errno as H;
        match err {
            H::TOOBIG => Errno::TooBig,
            H::ACCESS => Errno::Acces,
            H::ADDRINUSE => Errno::Addrinuse,
            H::ADDRNOTAVAIL => Errno::Addrnotavail,
            H::AFNOSUPPORT => Errno::Afnosupport,
            H::AGAIN => Errno::Again,
            H::ALREADY => Errno::Already,
            H::BADF => Errno::Badf,
            H::BADMSG => Errno::Badmsg,
            H::BUSY => Errno::Busy,
            H::CANCELED => Errno::Canceled,
            H::CHILD => Errno::Child,
            H::CONNABORTED => Errno::Connaborted,
            H::CONNREFUSED => Errno::Connrefused,
            H::CONNRESET => Errno::Connreset,
            H::DEADLK => Errno::Deadlk,
            H::DESTADDRREQ => Errno::Destaddrreq,
            H::DOM => Errno::Dom,
            H::DQUOT => Errno::Dquot,
            H::EXIST => Errno::Exist,
            H::FAULT => Errno::Fault,
            H::FBIG => Errno::Fbig,
            H::HOSTUNREACH => Errno::Hostunreach,
            H::IDRM => Errno::Idrm,
            H::ILSEQ => Errno::Ilseq,
            H::INPROGRESS => Errno::Inprogress,
            H::INTR => Errno::Intr,
            H::INVAL => Errno::Inval,
            H::IO => Errno::Io,
            H::ISCONN => Errno::Isconn,
            H::ISDIR => Errno::Isdir,
            H::LOOP => Errno::Loop,
            H::MFILE => Errno::Mfile,
            H::MLINK => Errno::Mlink,
            H::MSGSIZE => Errno::Msgsize,
            H::MULTIHOP => Errno::Multihop,
            H::NAMETOOLONG => Errno::Nametoolong,
            H::NETDOWN => Errno::Netdown,
            H::NETRESET => Errno::Netreset,
            H::NETUNREACH => Errno::Netunreach,
            H::NFILE => Errno::Nfile,
            H::NOBUFS => Errno::Nobufs,
            H::NODEV => Errno::Nodev,
            H::NOENT => Errno::Noent,
            H::NOEXEC => Errno::Noexec,
            H::NOLCK => Errno::Nolck,
            H::NOLINK => Errno::Nolink,
            H::NOMEM => Errno::Nomem,
            H::NOMSG => Errno::Nomsg,
            H::NOPROTOOPT => Errno::Noprotoopt,
            H::NOSPC => Errno::Nospc,
            H::NOSYS => Errno::Nosys,
            H::NOTCONN => Errno::Notconn,
            H::NOTDIR => Errno::Notdir,
            H::NOTEMPTY => Errno::Notempty,
            H::NOTRECOVERABLE => Errno::Notrecoverable,
            H::NOTSOCK => Errno::Notsock,
            H::NOTSUP => Errno::Notsup,
            H::NOTTY => Errno::Notty,
            H::NXIO => Errno::Nxio,
            H::OVERFLOW => Errno::Overflow,
            H::OWNERDEAD => Errno::Ownerdead,
            H::PERM => Errno::Perm,
            H::PIPE => Errno::Pipe,
            H::PROTO => Errno::Proto,
            H::PROTONOSUPPORT => Errno::Protonosupport,
            H::PROTOTYPE => Errno::Prototype,
            H::RANGE => Errno::Range,
            H::ROFS => Errno::Rofs,
            H::SPIPE => Errno::Spipe,
            H::SRCH => Errno::Srch,
            H::STALE => Errno::Stale,
            H::TIMEDOUT => Errno::Timedout,
            H::TXTBSY => Errno::Txtbsy,
            H::XDEV => Errno::Xdev,
            _ => Errno::Io,
        }
    }
}

impl From<std::io::Error> for Errno {
    /// Uses the OS error number when there is one, else the error kind.
    fn from(err: std::io::Error) -> Errno {
        if let Some(raw) = err.raw_os_error() {
            return Errno::from_host(rustix::io::Errno::from_raw_os_error(raw));
        }
        use std::io::ErrorKind as K;
        match err.kind() {
            K::NotFound => Errno::Noent,
            K::PermissionDenied => Errno::Acces,
            K::AlreadyExists => Errno::Exist,
            K::WouldBlock => Errno::Again,
            K::InvalidInput => Errno::Inval,
            K::InvalidData => Errno::Ilseq,
            K::BrokenPipe => Errno::Pipe,
            K::Interrupted => Errno::Intr,
            K::Unsupported => Errno::Notsup,
            K::OutOfMemory => Errno::Nomem,
            K::WriteZero | K::StorageFull => Errno::Nospc,
            K::NotADirectory => Errno::Notdir,
            K::IsADirectory => Errno::Isdir,
            K::DirectoryNotEmpty => Errno::Notempty,
            K::ReadOnlyFilesystem => Errno::Rofs,
            K::FileTooLarge => Errno::Fbig,
            K::CrossesDevices => Errno::Xdev,
            K::TooManyLinks => Errno::Mlink,
            K::InvalidFilename => Errno::Nametoolong,
            K::ConnectionRefused => Errno::Connrefused,
            K::ConnectionReset => Errno::Connreset,
            K::ConnectionAborted => Errno::Connaborted,
            K::NotConnected => Errno::Notconn,
            K::AddrInUse => Errno::Addrinuse,
            K::AddrNotAvailable => Errno::Addrnotavail,
            K::TimedOut => Errno::Timedout,
            _ => Errno::Io,
        }
    }
}

impl From<rustix::io::Errno> for Errno {
    fn from(err: rustix::io::Errno) -> Errno {
        Errno::from_host(err)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (errno {})", self.name(), self.raw())
    }
}

impl std::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_matches_witx() {
        assert_eq!(Errno::Badf.raw(), 8);
        assert_eq!(Errno::Inval.raw(), 28);
        assert_eq!(Errno::Noent.raw(), 44);
        assert_eq!(Errno::Notcapable.raw(), 76);
        for raw in 1..=76u16 {
            assert_eq!(Errno::from_raw(raw).map(Errno::raw), Some(raw));
        }
        assert_eq!(Errno::from_raw(0), None);
        assert_eq!(Errno::from_raw(77), None);
    }

    #[test]
    fn host_errors_map_exactly() {
        let e = std::io::Error::from_raw_os_error(rustix::io::Errno::NOENT.raw_os_error());
        assert_eq!(Errno::from(e), Errno::Noent);
        let e = std::io::Error::from_raw_os_error(rustix::io::Errno::NOTEMPTY.raw_os_error());
        assert_eq!(Errno::from(e), Errno::Notempty);
        assert_eq!(Errno::from(std::io::Error::from(std::io::ErrorKind::NotFound)), Errno::Noent);
    }
}
