//! The `path_*` calls: operations on paths relative to a directory descriptor.
//!
//! Each call checks its directory descriptor (`EBADF` not open, `ENOTDIR` not a directory,
//! `ENOTCAPABLE` the guest dropped the right, see [`crate::rights`]), reads the path (`EFAULT` outside memory, `EILSEQ` not
//! UTF-8) and hands it to the one resolver in [`crate::vfs::resolve`], which keeps it inside the
//! directory and gives it Linux's semantics.

use std::sync::Arc;

use crate::WasiCtx;
use crate::fdtable::{Descriptor, Kind};
use crate::p1::abi::memory::GuestMemory;
use crate::p1::abi::types::{fdflags, lookupflags, oflags, rights};
use crate::p1::fd::{set_times_args, write_filestat};
use crate::vfs::Errno;
use crate::vfs::{Dir, Node, OpenOptions, resolve};

/// The directory behind `fd`, if it holds `right`.
fn dir_of(ctx: &WasiCtx, fd: u32, right: u64) -> Result<(Arc<dyn Dir>, &Descriptor), Errno> {
    let d = ctx.fds.get(fd)?;
    let Kind::Dir { dir, .. } = &d.kind else {
        return Err(Errno::Notdir);
    };
    d.require(right)?;
    Ok((dir.clone(), d))
}

/// Reads a path argument, checks it against [`Limits::path_bytes`](crate::Limits::path_bytes)
/// and [`Limits::path_components`](crate::Limits::path_components) (`ENAMETOOLONG`), and then
/// emits it as a TRACE event (target `hammertime::wasi::path`), so a trace shows the decoded
/// paths next to each call's numeric arguments and never more than the limit of one.
fn read_path<'m>(limits: &crate::Limits, mem: &'m GuestMemory<'_>, ptr: u32, len: u32) -> Result<&'m str, Errno> {
    if len > limits.path_bytes {
        return Err(Errno::Nametoolong);
    }
    let path = mem.str(ptr, len)?;
    limits.check_path(path)?;
    tracing::trace!(target: "hammertime::wasi::path", path);
    Ok(path)
}

/// The shape of the calls that take one directory, one path and nothing else.
fn one_path(
    ctx: &WasiCtx,
    mem: &GuestMemory<'_>,
    fd: u32,
    right: u64,
    path: u32,
    path_len: u32,
    op: fn(&Arc<dyn Dir>, &str) -> Result<(), Errno>,
) -> Result<(), Errno> {
    let (dir, _) = dir_of(ctx, fd, right)?;
    op(&dir, read_path(&ctx.limits, mem, path, path_len)?)
}

fn follow(flags: u32) -> Result<bool, Errno> {
    if flags & !lookupflags::SYMLINK_FOLLOW != 0 {
        return Err(Errno::Inval);
    }
    Ok(flags & lookupflags::SYMLINK_FOLLOW != 0)
}

/// `path_create_directory(fd, path)`. Errors: see the module docs and [`resolve::mkdir`].
pub fn path_create_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    one_path(ctx, mem, fd, rights::PATH_CREATE_DIRECTORY, path, path_len, resolve::mkdir)
}

/// `path_filestat_get(fd, flags, path) -> filestat`. Errors: `EINVAL` unknown lookup flags;
/// see the module docs and [`resolve::stat`].
pub fn path_filestat_get(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    stat: u32,
) -> Result<(), Errno> {
    let (dir, _) = dir_of(ctx, fd, rights::PATH_FILESTAT_GET)?;
    let st = resolve::stat(&dir, read_path(&ctx.limits, mem, path, path_len)?, follow(flags)?)?;
    write_filestat(mem, stat, &st)
}

/// `path_filestat_set_times(fd, flags, path, atim, mtim, fst_flags)`. Errors: `EINVAL` bad
/// flags; see the module docs and [`resolve::set_times`].
#[allow(clippy::too_many_arguments)]
pub fn path_filestat_set_times(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    flags: u32,
    path: u32,
    path_len: u32,
    atim: u64,
    mtim: u64,
    fst_flags: u32,
) -> Result<(), Errno> {
    let (dir, _) = dir_of(ctx, fd, rights::PATH_FILESTAT_SET_TIMES)?;
    let (a, m) = set_times_args(atim, mtim, fst_flags)?;
    resolve::set_times(&dir, read_path(&ctx.limits, mem, path, path_len)?, follow(flags)?, a, m)
}

/// `path_link(old_fd, old_flags, old_path, new_fd, new_path)`. Errors: see the module docs and
/// [`resolve::link`].
#[allow(clippy::too_many_arguments)]
pub fn path_link(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_fd: u32,
    old_flags: u32,
    old_path: u32,
    old_path_len: u32,
    new_fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> Result<(), Errno> {
    let (old_dir, _) = dir_of(ctx, old_fd, rights::PATH_LINK_SOURCE)?;
    let (new_dir, _) = dir_of(ctx, new_fd, rights::PATH_LINK_TARGET)?;
    let old = read_path(&ctx.limits, mem, old_path, old_path_len)?;
    let new = read_path(&ctx.limits, mem, new_path, new_path_len)?;
    resolve::link(&old_dir, old, follow(old_flags)?, &new_dir, new)
}

/// `path_open(fd, dirflags, path, oflags, rights_base, rights_inheriting, fdflags) -> fd`.
///
/// The requested rights choose the access mode and nothing else, as on the runtimes preview1
/// programs are tested against (see [`crate::rights`]): the file is opened for writing when
/// `fd_write` is requested, for reading when `fd_read` is or when writing is not (`O_RDONLY` is
/// 0). The new descriptor shows the rights that make sense for what was opened and how; a right
/// the guest dropped from `fd`'s inheriting rights stays dropped. On a read-only filesystem,
/// opening for writing (or creating, or truncating) is `EROFS`.
///
/// Errors: `EINVAL` unknown flags; `ENOTCAPABLE` a right the guest dropped from `fd`
/// (`path_open`; `path_create_file` with `CREAT`; `path_filestat_set_size` with `TRUNC`), or
/// `fd_read` or `fd_write` asked for and dropped from its inheriting rights; `EMFILE`; see
/// [`resolve::open`].
#[allow(clippy::too_many_arguments)]
pub fn path_open(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    dirflags: u32,
    path: u32,
    path_len: u32,
    oflags_: u32,
    base: u64,
    _inheriting: u64,
    fdflags_: u32,
    opened: u32,
) -> Result<(), Errno> {
    mem.check(opened, 4)?;
    let (dir, parent) = dir_of(ctx, fd, rights::PATH_OPEN)?;
    let oflags_ = u16::try_from(oflags_).map_err(|_| Errno::Inval)?;
    let fdflags_ = u16::try_from(fdflags_).map_err(|_| Errno::Inval)?;
    if oflags_ & !oflags::ALL != 0 || fdflags_ & !fdflags::ALL != 0 {
        return Err(Errno::Inval);
    }
    if oflags_ & oflags::CREAT != 0 {
        parent.require(rights::PATH_CREATE_FILE)?;
    }
    if oflags_ & oflags::TRUNC != 0 {
        parent.require(rights::PATH_FILESTAT_SET_SIZE)?;
    }
    let write = base & rights::FD_WRITE != 0;
    let read = base & rights::FD_READ != 0 || !write;
    // Reading or writing asked for through a directory whose inheriting rights the guest
    // narrowed without them is refused, as the right would be on the new descriptor.
    parent.require_inheritable(base & (rights::FD_READ | rights::FD_WRITE))?;
    let options = OpenOptions::new()
        .read(read)
        .write(write)
        .create(oflags_ & oflags::CREAT != 0)
        .exclusive(oflags_ & oflags::EXCL != 0)
        .truncate(oflags_ & oflags::TRUNC != 0)
        .directory(oflags_ & oflags::DIRECTORY != 0);
    let node = resolve::open(&dir, read_path(&ctx.limits, mem, path, path_len)?, follow(dirflags)?, options)?;
    let kind = match node {
        Node::Dir(d) => Kind::Dir { dir: d, preopen: None },
        Node::File(f) => {
            let filetype = f.filetype()?;
            Kind::File { file: f, pos: 0, filetype }
        }
    };
    let d = Descriptor::opened(kind, read, write, parent, fdflags_);
    let new_fd = ctx.fds.insert(d)?;
    mem.write_u32(opened, new_fd)
}

/// `path_readlink(fd, path, buf, buf_len) -> bufused`: the link's content, cut to the buffer.
/// Errors: see the module docs and [`resolve::readlink`].
#[allow(clippy::too_many_arguments)]
pub fn path_readlink(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
    buf: u32,
    buf_len: u32,
    bufused: u32,
) -> Result<(), Errno> {
    mem.check(bufused, 4)?;
    mem.check(buf, buf_len)?;
    let (dir, _) = dir_of(ctx, fd, rights::PATH_READLINK)?;
    let target = resolve::readlink(&dir, read_path(&ctx.limits, mem, path, path_len)?)?;
    let bytes = target.as_bytes();
    let n = bytes.len().min(buf_len as usize);
    mem.write_bytes(buf, &bytes[..n])?;
    mem.write_u32(bufused, n as u32)
}

/// `path_remove_directory(fd, path)`. Errors: see the module docs and [`resolve::rmdir`].
pub fn path_remove_directory(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    one_path(ctx, mem, fd, rights::PATH_REMOVE_DIRECTORY, path, path_len, resolve::rmdir)
}

/// `path_rename(fd, old_path, new_fd, new_path)`. Errors: see the module docs and
/// [`resolve::rename`].
#[allow(clippy::too_many_arguments)]
pub fn path_rename(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    old_path: u32,
    old_path_len: u32,
    new_fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> Result<(), Errno> {
    let (old_dir, _) = dir_of(ctx, fd, rights::PATH_RENAME_SOURCE)?;
    let (new_dir, _) = dir_of(ctx, new_fd, rights::PATH_RENAME_TARGET)?;
    let old = read_path(&ctx.limits, mem, old_path, old_path_len)?;
    let new = read_path(&ctx.limits, mem, new_path, new_path_len)?;
    resolve::rename(&old_dir, old, &new_dir, new)
}

/// `path_symlink(old_path, fd, new_path)`: creates `new_path` pointing at `old_path`.
/// Errors: see the module docs and [`resolve::symlink`].
pub fn path_symlink(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    old_path: u32,
    old_path_len: u32,
    fd: u32,
    new_path: u32,
    new_path_len: u32,
) -> Result<(), Errno> {
    let (dir, _) = dir_of(ctx, fd, rights::PATH_SYMLINK)?;
    let target = read_path(&ctx.limits, mem, old_path, old_path_len)?;
    let new = read_path(&ctx.limits, mem, new_path, new_path_len)?;
    resolve::symlink(target, &dir, new)
}

/// `path_unlink_file(fd, path)`. Errors: see the module docs and [`resolve::unlink`].
pub fn path_unlink_file(
    ctx: &mut WasiCtx,
    mem: &mut GuestMemory<'_>,
    fd: u32,
    path: u32,
    path_len: u32,
) -> Result<(), Errno> {
    one_path(ctx, mem, fd, rights::PATH_UNLINK_FILE, path, path_len, resolve::unlink)
}
