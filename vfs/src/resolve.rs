//! The one path resolver, and the path operations built on it.
//!
//! Every backend is reached through here: [`resolve`] walks a guest path from a directory handle
//! one component at a time, handling `.`, `..`, repeated and trailing slashes and symbolic links
//! (followed component by component, with relative targets resolved from the link's own
//! directory), and hands the backend only single names. The walk records the names of the
//! levels it went down, so `..` drops a level instead of naming a parent: a path can climb back
//! up to the directory it started from but never above it. An absolute path, an absolute link
//! target, or a `..` above the start answers [`Errno::Perm`], as Wasmtime's WASI does.
//!
//! # Bounded handles
//! A walk does not hold a directory handle (for [`crate::HostDir`], a host descriptor) per level:
//! it keeps the last [`DIR_WINDOW`] levels open, and below them a few levels spaced further
//! apart the deeper they are (1, 2, 4, 8… levels apart), never more than [`MAX_OPEN_DIRS`] in
//! all (a walk 2,000 levels deep holds 18). When `..` climbs to a level that is not held, the walk
//! re-opens it from the nearest held level below, going down the recorded names again with the
//! same single-component [`Dir::open_at`] (directory, no link followed) as the first time, so
//! the re-walk cannot leave `start` either; climbing all the way back from a depth `d` costs
//! `O(d log d)` re-opens. If the tree changed meanwhile, the answer is what the re-walk finds
//! ([`Errno::Noent`], [`Errno::Notdir`], [`Errno::Loop`]…).
//!
//! # One step where the backend can
//! Before walking, the resolver offers the backend the leading plain names of the path (no `.`,
//! `..`, and never the last component) in one [`Dir::open_dir_path`], and [`open`] offers it a
//! whole path of plain names in one [`Dir::open_path`]. A backend that can do that with exactly
//! the walk's result (for [`crate::HostDir`], `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)`)
//! answers; any other says `None`, as does that one wherever the answer could differ (a link on
//! the path), and the walk goes on as described above.
//!
//! The functions after [`resolve`] ([`open`], [`mkdir`], [`unlink`], …) are the path calls of
//! WASI preview1 with Linux's semantics for trailing slashes, `.`/`..` and links; the host calls
//! use them, and so can an embedder that wants to act on a filesystem the way a guest would.

use std::borrow::Cow;
use std::sync::Arc;

use crate::{Dir, Errno, FileType, Node, OpenOptions, Result, SetTime, Stat};

/// The most symbolic links followed while resolving one path (Linux's `MAXSYMLINKS`).
pub const MAX_SYMLINK_FOLLOWS: usize = 40;
/// The longest single path component, in bytes (`NAME_MAX`).
pub const MAX_NAME_LEN: usize = 255;
/// The longest path accepted, in bytes (`PATH_MAX`).
pub const MAX_PATH_LEN: usize = 4096;
/// The deepest levels of a walk that [`resolve`] always keeps open (see the [module
/// docs](self#bounded-handles)).
pub const DIR_WINDOW: usize = 8;
/// The most directory handles [`resolve`] keeps open at once besides `start` (one more is open
/// for a moment while it re-walks).
pub const MAX_OPEN_DIRS: usize = 32;

/// Where a path led: the directory that holds its last component, and that component.
/// Made by [`resolve`] only (fields may be added).
///
/// ```
/// use hammertime_vfs::{FileSystem, MemFs, resolve};
/// let fs = MemFs::new();
/// fs.write_file("a/b.txt", "x")?;
/// let r = resolve::resolve(&fs.root()?, "a/./b.txt", false)?;
/// assert_eq!((r.name.as_deref(), r.trailing_slash), (Some("b.txt"), false));
/// let r = resolve::resolve(&fs.root()?, "a/..", false)?;
/// assert_eq!(r.name, None, "the path names the directory itself");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
pub struct Resolved {
    /// The directory holding the final component; the named directory itself when
    /// [`Resolved::name`] is `None`.
    pub dir: Arc<dyn Dir>,
    /// The final component, or `None` when the path names `dir` itself (`.`, `a/..`).
    pub name: Option<String>,
    /// The path ended with a `/`: the final component must be a directory.
    pub trailing_slash: bool,
    /// The final entry's attributes, when the walk already looked them up (to see whether it
    /// was a link to follow); never those of a link.
    pub stat: Option<Stat>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("name", &self.name)
            .field("trailing_slash", &self.trailing_slash)
            .finish_non_exhaustive()
    }
}

/// Checks the one name component a backend's `*_at` method receives: the contract promises one
/// (the resolver never sends another), but a bad name must never reach a backend's tree.
/// [`Errno::Nametoolong`] past [`MAX_NAME_LEN`], [`Errno::Noent`] for an empty name,
/// [`Errno::Inval`] for `.`, `..`, or a name holding `/` or NUL. Backends without a tree of
/// their own to protect (HostDir, whose kernel answers, and the simple adapter) check names as
/// their host does.
pub(crate) fn check_name(name: &str) -> Result<()> {
    if name.len() > MAX_NAME_LEN {
        return Err(Errno::Nametoolong);
    }
    if name.is_empty() {
        return Err(Errno::Noent);
    }
    if name == "." || name == ".." || has_slash_or_nul(name) {
        return Err(Errno::Inval);
    }
    Ok(())
}

/// Whether `s` holds a `/` or a NUL byte (a byte loop: cheaper than a `char` pattern).
pub(crate) fn has_slash_or_nul(s: &str) -> bool {
    s.bytes().any(|b| b == b'/' || b == 0)
}

/// Checks a whole path before walking it: not empty, no NUL, not too long, relative.
fn check_path(path: &str) -> Result<()> {
    if path.is_empty() {
        return Err(Errno::Noent);
    }
    if path.as_bytes().contains(&0) {
        return Err(Errno::Inval);
    }
    if path.len() > MAX_PATH_LEN {
        return Err(Errno::Nametoolong);
    }
    if path.starts_with('/') {
        return Err(Errno::Perm);
    }
    Ok(())
}

/// Pushes the components of `path` onto `pending` so that the first component is popped first.
fn push_components(pending: &mut Vec<String>, path: &str) {
    for comp in path.split('/').rev() {
        if !comp.is_empty() {
            pending.push(comp.to_owned());
        }
    }
}

/// Resolves `path` relative to `start`.
///
/// Intermediate symbolic links are always followed; the last component's link is followed only
/// when `follow` is true (a trailing slash does not follow it here: each operation decides, see
/// [`open`] and friends). The last component need not exist.
///
/// Errors: [`Errno::Noent`] empty path or a missing intermediate directory; [`Errno::Inval`] NUL
/// in the path; [`Errno::Nametoolong`] a component over [`MAX_NAME_LEN`] or a path over
/// [`MAX_PATH_LEN`]; [`Errno::Perm`] an absolute path or link target, or `..` above `start`;
/// [`Errno::Notdir`] an intermediate component is not a directory; [`Errno::Loop`] more than
/// [`MAX_SYMLINK_FOLLOWS`] links.
pub fn resolve(start: &Arc<dyn Dir>, path: &str, follow: bool) -> Result<Resolved> {
    check_path(path)?;
    // One name, no link to follow: the walk below would end here at once.
    if !follow && let Some(name) = single_name(path) {
        return Ok(Resolved { dir: start.clone(), name: Some(name.to_owned()), trailing_slash: false, stat: None });
    }
    let mut trailing_slash = path.ends_with('/');
    let mut walk = Walk::new(start);
    let mut links = 0usize;
    let mut rest = path;
    // The leading plain names before the last component, in one step if the backend can.
    if let Some((prefix, after)) = plain_prefix(path) {
        match start.open_dir_path(&prefix) {
            Some(Ok(dir)) => {
                walk.push_levels(prefix.split('/').filter(|c| !c.is_empty()).map(str::to_owned), dir);
                rest = after;
            }
            Some(Err(err)) => return Err(err),
            None => {}
        }
    }
    let mut pending = Vec::new();
    push_components(&mut pending, rest);

    loop {
        let Some(comp) = pending.pop() else {
            // Every component was consumed by `.`/`..`: the path names a directory.
            return Ok(Resolved { dir: walk.top()?, name: None, trailing_slash, stat: None });
        };
        let last = pending.is_empty();
        match comp.as_str() {
            "." => continue,
            ".." => {
                if !walk.pop() {
                    return Err(Errno::Perm);
                }
                continue;
            }
            _ => {}
        }
        if comp.len() > MAX_NAME_LEN {
            return Err(Errno::Nametoolong);
        }
        let top = walk.top()?;

        if last {
            let mut stat = None;
            if follow {
                match top.stat_at(&comp) {
                    Ok(st) if st.filetype == FileType::SymbolicLink => match top.readlink_at(&comp) {
                        Ok(target) => {
                            expand_link(&mut pending, &mut links, &target, &mut trailing_slash)?;
                            continue;
                        }
                        // Replaced by a non-link since the stat (a host changing the
                        // directory): the name is what it is now.
                        Err(Errno::Inval) => {}
                        Err(e) => return Err(e),
                    },
                    Ok(st) => stat = Some(st),
                    Err(_) => {}
                }
            }
            return Ok(Resolved { dir: top, name: Some(comp), trailing_slash, stat });
        }

        match open_dir(&top, &comp) {
            Ok(dir) => walk.push(comp, dir),
            Err(Errno::Loop) => match top.readlink_at(&comp) {
                Ok(target) => {
                    let mut ignored = false;
                    expand_link(&mut pending, &mut links, &target, &mut ignored)?;
                }
                // No longer a link (the host swapped it back): walk the component again. Each
                // retry counts as a link followed, so a host flipping it forever ends in ELOOP.
                Err(Errno::Inval) => {
                    links += 1;
                    if links > MAX_SYMLINK_FOLLOWS {
                        return Err(Errno::Loop);
                    }
                    pending.push(comp);
                }
                Err(e) => return Err(e),
            },
            Err(err) => return Err(err),
        }
    }
}

/// Whether a component is a name a backend may look up as it is: not `.` or `..`, not too long.
fn is_plain(comp: &str) -> bool {
    comp != "." && comp != ".." && comp.len() <= MAX_NAME_LEN
}

/// The leading components of `path` that are plain names, before its last component, joined by
/// single `/`s (borrowed when the path has no repeated `/` there), and what follows them; `None`
/// if there is none. One pass over the bytes.
fn plain_prefix(path: &str) -> Option<(Cow<'_, str>, &str)> {
    let bytes = path.as_bytes();
    // Where the last component ends: nothing but slashes after it.
    let mut body_end = bytes.len();
    while body_end > 0 && bytes[body_end - 1] == b'/' {
        body_end -= 1;
    }
    let (mut end, mut i, mut repeated) = (0, 0, false);
    loop {
        let slashes = i;
        while bytes.get(i) == Some(&b'/') {
            i += 1;
        }
        repeated |= end > 0 && i - slashes > 1;
        let start = i;
        while i < bytes.len() && bytes[i] != b'/' {
            i += 1;
        }
        // The last component is never part of the prefix.
        if start == i || i >= body_end || !is_plain(&path[start..i]) {
            break;
        }
        end = i;
    }
    (end > 0).then(|| (single_slashes(&path[..end], repeated), &path[end..]))
}

/// `path` itself when it is one plain name: not empty, no `/` or NUL, not `.` or `..`, not
/// too long. Such a path resolves to `start` and that name with no walk at all, so the path
/// calls hand it straight to the backend.
fn single_name(path: &str) -> Option<&str> {
    (!path.is_empty() && is_plain(path) && !has_slash_or_nul(path)).then_some(path)
}

/// `path` joined by single `/`s when every component is a plain name and there are several
/// (borrowed when it has no repeated `/`); `None` otherwise.
fn plain_path(path: &str) -> Option<Cow<'_, str>> {
    let (prefix, rest) = plain_prefix(path)?;
    let last = rest.trim_start_matches('/');
    // A component after the prefix that is not its last (`..`, `.`) or not plain.
    if last.contains('/') || !is_plain(last) {
        return None;
    }
    if matches!(prefix, Cow::Borrowed(_)) && rest.len() == last.len() + 1 {
        return Some(Cow::Borrowed(path));
    }
    Some(Cow::Owned(format!("{prefix}/{last}")))
}

/// `path` as is, or with its repeated `/`s made single when `repeated`.
fn single_slashes(path: &str, repeated: bool) -> Cow<'_, str> {
    if !repeated {
        return Cow::Borrowed(path);
    }
    Cow::Owned(path.split('/').filter(|c| !c.is_empty()).collect::<Vec<_>>().join("/"))
}

/// Opens the directory `name` of `dir` the way a walk does: no link followed, [`Errno::Notdir`]
/// if it is not a directory.
pub(crate) fn open_dir(dir: &Arc<dyn Dir>, name: &str) -> Result<Arc<dyn Dir>> {
    let options = OpenOptions { read: true, directory: true, ..OpenOptions::default() };
    match dir.open_at(name, options)? {
        Node::Dir(dir) => Ok(dir),
        Node::File(_) => Err(Errno::Notdir),
    }
}

/// Where a walk is: the names of the levels it went down from `start` (level 0), and the
/// handles it keeps of some of those levels (see the [module docs](self#bounded-handles)).
struct Walk<'a> {
    start: &'a Arc<dyn Dir>,
    /// `names[i]` is the entry of level `i` that is level `i + 1`; the walk is at level
    /// `names.len()`.
    names: Vec<String>,
    /// Handles on levels `1..=names.len()`, by increasing level, each satisfying [`Walk::keeps`]
    /// for a depth at least the current one (so for the current one too).
    held: Vec<(usize, Arc<dyn Dir>)>,
}

impl<'a> Walk<'a> {
    fn new(start: &'a Arc<dyn Dir>) -> Walk<'a> {
        Walk { start, names: Vec::new(), held: Vec::new() }
    }

    /// Whether a walk at level `depth` keeps level `level` open: the last [`DIR_WINDOW`]
    /// levels, then one level in each range of 1, 2, 4, 8… levels below them (the multiple of
    /// that range's length). At most `DIR_WINDOW + log2(depth) + 1` levels qualify.
    fn keeps(level: usize, depth: usize) -> bool {
        let below = depth.saturating_sub(level);
        if below < DIR_WINDOW {
            return true;
        }
        let range = (below - DIR_WINDOW + 1).ilog2();
        level.trailing_zeros() >= range
    }

    /// Goes down into `dir`, the entry `name` of the current level.
    fn push(&mut self, name: String, dir: Arc<dyn Dir>) {
        self.push_levels(std::iter::once(name), dir);
    }

    /// Goes down several levels at once, into `dir`, the last of `names` (each the entry of the
    /// level before it).
    fn push_levels(&mut self, names: impl Iterator<Item = String>, dir: Arc<dyn Dir>) {
        self.names.extend(names);
        let depth = self.names.len();
        self.held.push((depth, dir));
        self.held.retain(|(level, _)| Walk::keeps(*level, depth));
        self.trim();
    }

    /// Goes up one level (`..`); `false` at `start`.
    fn pop(&mut self) -> bool {
        if self.names.pop().is_none() {
            return false;
        }
        if self.held.last().is_some_and(|(level, _)| *level > self.names.len()) {
            self.held.pop();
        }
        true
    }

    /// The handle of the current level, re-opened from the nearest level held below it if it
    /// is not held.
    fn top(&mut self) -> Result<Arc<dyn Dir>> {
        let depth = self.names.len();
        let (mut level, mut dir) = match self.held.last() {
            Some((level, dir)) => (*level, dir.clone()),
            None => (0, self.start.clone()),
        };
        while level < depth {
            dir = open_dir(&dir, &self.names[level])?;
            level += 1;
            if Walk::keeps(level, depth) {
                self.held.push((level, dir.clone()));
            }
        }
        self.trim();
        Ok(dir)
    }

    /// Drops the shallowest handles past [`MAX_OPEN_DIRS`] (only a walk deeper than 2^24
    /// levels could need it).
    fn trim(&mut self) {
        if let Some(excess) = self.held.len().checked_sub(MAX_OPEN_DIRS) {
            self.held.drain(..excess);
        }
    }
}

/// Splices a link's target in front of the remaining components.
fn expand_link(pending: &mut Vec<String>, links: &mut usize, target: &str, trailing_slash: &mut bool) -> Result<()> {
    *links += 1;
    if *links > MAX_SYMLINK_FOLLOWS {
        return Err(Errno::Loop);
    }
    if target.is_empty() {
        return Err(Errno::Noent);
    }
    if target.starts_with('/') {
        return Err(Errno::Perm);
    }
    if target.ends_with('/') {
        *trailing_slash = true;
    }
    push_components(pending, target);
    Ok(())
}

/// Stat of a resolved location (the entry, or the directory itself), reusing the walk's.
fn stat_resolved(r: &Resolved) -> Result<Stat> {
    match (&r.name, r.stat) {
        (Some(_), Some(st)) => Ok(st),
        (Some(name), None) => r.dir.stat_at(name),
        (None, _) => r.dir.stat(),
    }
}

/// Opens `path`, like `openat(2)`. Links in the last component are followed when `follow` is
/// true or the path ends with `/`, except with `create` + `exclusive`, which never follows (an
/// existing link answers [`Errno::Exist`]). A path ending in `/` must name a directory.
///
/// Errors: as [`resolve`] and [`Dir::open_at`]; [`Errno::Isdir`] a directory opened for writing
/// or truncation; [`Errno::Exist`] `create` + `exclusive` on an existing entry, `.` included;
/// [`Errno::Inval`] `create` with `directory`, before the path is looked at (Linux 6.4 and later
/// refuse `O_CREAT | O_DIRECTORY` so, whether the entry exists or not).
pub fn open(start: &Arc<dyn Dir>, path: &str, follow: bool, options: OpenOptions) -> Result<Node> {
    if options.create && options.directory {
        return Err(Errno::Inval);
    }
    check_path(path)?;
    let exclusive_create = options.create && options.exclusive;
    // One name: what the walk below would end in, without the walk.
    if let Some(name) = single_name(path) {
        return match start.open_at(name, options) {
            Err(Errno::Loop) if follow && !exclusive_create => open_resolved(resolve(start, path, true)?, options),
            other => other,
        };
    }
    // A path of plain names only, in one step if the backend can (it follows no link: a link
    // on the way sends the open down the walk below).
    if !path.ends_with('/')
        && let Some(joined) = plain_path(path)
        && let Some(result) = start.open_path(&joined, options)
    {
        return result;
    }
    let follow = (follow || path.ends_with('/')) && !exclusive_create;
    if path.ends_with('/') {
        // A trailing slash decides on what the link leads to: follow first.
        return open_resolved(resolve(start, path, follow)?, options);
    }
    // Most names are not links: open without following first (one call to the backend instead
    // of a lookup and an open), and walk again following the link only if it was one.
    match open_resolved(resolve(start, path, false)?, options) {
        Err(Errno::Loop) if follow => open_resolved(resolve(start, path, true)?, options),
        other => other,
    }
}

/// The last step of [`open`]: opens what `r` names.
fn open_resolved(r: Resolved, options: OpenOptions) -> Result<Node> {
    let exclusive_create = options.create && options.exclusive;
    let mut options = options;
    if r.trailing_slash {
        if options.create && !exclusive_create {
            // Linux: O_CREAT on "name/" answers EISDIR whether or not it exists.
            return match stat_resolved(&r) {
                Ok(st) if st.filetype != FileType::Directory => Err(Errno::Notdir),
                _ => Err(Errno::Isdir),
            };
        }
        options.directory = true;
    }
    match r.name {
        None => {
            if exclusive_create {
                return Err(Errno::Exist);
            }
            if options.write || options.truncate || options.create {
                return Err(Errno::Isdir);
            }
            Ok(Node::Dir(r.dir.reopen().unwrap_or(r.dir)))
        }
        Some(name) => {
            if exclusive_create && r.trailing_slash {
                return match r.dir.stat_at(&name) {
                    Ok(_) => Err(Errno::Exist),
                    Err(Errno::Noent) => Err(Errno::Isdir),
                    Err(e) => Err(e),
                };
            }
            r.dir.open_at(&name, options)
        }
    }
}

/// Attributes of `path`, like `fstatat(2)`; `follow` follows a link in the last component (a
/// trailing slash always does, and then requires a directory).
pub fn stat(start: &Arc<dyn Dir>, path: &str, follow: bool) -> Result<Stat> {
    // One name: the walk would end in `start.stat_at(name)`; only a link to follow needs it.
    if let Some(name) = single_name(path) {
        match start.stat_at(name) {
            Ok(st) if follow && st.filetype == FileType::SymbolicLink => {}
            other => return other,
        }
    }
    let r = resolve(start, path, follow || path.ends_with('/'))?;
    let st = stat_resolved(&r)?;
    if r.trailing_slash && st.filetype != FileType::Directory {
        return Err(Errno::Notdir);
    }
    Ok(st)
}

/// Sets the access and modification times of `path`, like `utimensat(2)`. With both times
/// [`SetTime::Omit`] there is nothing to do and, as on Linux, the path is not even looked at:
/// `Ok(())` whether it exists or not (and on a read-only filesystem).
pub fn set_times(start: &Arc<dyn Dir>, path: &str, follow: bool, atime: SetTime, mtime: SetTime) -> Result<()> {
    if matches!((atime, mtime), (SetTime::Omit, SetTime::Omit)) {
        return Ok(());
    }
    let r = resolve(start, path, follow || path.ends_with('/'))?;
    if r.trailing_slash && stat_resolved(&r)?.filetype != FileType::Directory {
        return Err(Errno::Notdir);
    }
    match &r.name {
        Some(name) => r.dir.set_times_at(name, atime, mtime),
        None => r.dir.set_times(atime, mtime),
    }
}

/// Creates the directory `path`, like `mkdirat(2)`. A trailing slash is allowed.
///
/// Errors: as [`resolve`] and [`Dir::mkdir_at`]; [`Errno::Exist`] the path names an existing
/// directory such as `.`.
pub fn mkdir(start: &Arc<dyn Dir>, path: &str) -> Result<()> {
    let r = resolve(start, path, false)?;
    match &r.name {
        Some(name) => r.dir.mkdir_at(name),
        None => Err(Errno::Exist),
    }
}

/// Removes the empty directory `path`, like `unlinkat(AT_REMOVEDIR)`. A trailing slash is
/// allowed; a link is never followed (a link to a directory answers [`Errno::Notdir`]), but a
/// link named with a trailing slash whose target leaves the sandbox answers [`Errno::Perm`], as
/// every way out does.
///
/// Errors: as [`resolve`] and [`Dir::rmdir_at`]; [`Errno::Inval`] the path ends in `.`;
/// [`Errno::Notempty`] it ends in `..`.
pub fn rmdir(start: &Arc<dyn Dir>, path: &str) -> Result<()> {
    let r = resolve(start, path, false)?;
    match &r.name {
        Some(name) if r.trailing_slash && r.dir.stat_at(name).is_ok_and(|st| st.filetype == FileType::SymbolicLink) => {
            match resolve(start, path, true) {
                Err(Errno::Perm) => Err(Errno::Perm),
                _ => Err(Errno::Notdir),
            }
        }
        Some(name) => r.dir.rmdir_at(name),
        None if last_component(path) == Some("..") => Err(Errno::Notempty),
        None => Err(Errno::Inval),
    }
}

/// Removes the non-directory `path`, like `unlinkat(2)`; a link is removed, not followed.
///
/// Errors: as [`resolve`] and [`Dir::unlink_at`]; [`Errno::Isdir`] a directory (with or
/// without a trailing slash); [`Errno::Notdir`] a non-directory named with a trailing slash.
pub fn unlink(start: &Arc<dyn Dir>, path: &str) -> Result<()> {
    let r = resolve(start, path, false)?;
    let Some(name) = &r.name else {
        return Err(Errno::Isdir);
    };
    if r.trailing_slash {
        let st = r.dir.stat_at(name)?;
        return Err(if st.filetype == FileType::Directory { Errno::Isdir } else { Errno::Notdir });
    }
    r.dir.unlink_at(name)
}

/// Creates the symbolic link `path` with content `target`, like `symlinkat(2)`. The target is
/// stored verbatim; it is checked only when a later path walks through the link.
///
/// Errors: as [`resolve`] and [`Dir::symlink_at`]; [`Errno::Exist`] `path` exists;
/// [`Errno::Noent`] `path` ends in `/` and does not exist; [`Errno::Notdir`] `path` ends in `/`
/// and names a non-directory; [`Errno::Inval`] NUL in `target`; [`Errno::Noent`] empty target;
/// [`Errno::Perm`] an absolute target (it could never be followed inside the sandbox, and
/// Wasmtime refuses it the same way).
pub fn symlink(target: &str, start: &Arc<dyn Dir>, path: &str) -> Result<()> {
    if target.as_bytes().contains(&0) {
        return Err(Errno::Inval);
    }
    if target.starts_with('/') {
        return Err(Errno::Perm);
    }
    if target.is_empty() {
        return Err(Errno::Noent);
    }
    let r = resolve(start, path, false)?;
    let Some(name) = &r.name else {
        return Err(Errno::Exist);
    };
    if r.trailing_slash {
        return match r.dir.stat_at(name) {
            Ok(st) if st.filetype == FileType::Directory => Err(Errno::Exist),
            Ok(_) => Err(Errno::Notdir),
            Err(e) => Err(e),
        };
    }
    r.dir.symlink_at(target, name)
}

/// The content of the link `path`, like `readlinkat(2)`.
///
/// Errors: as [`resolve`]; [`Errno::Inval`] not a link (or the path names a directory itself);
/// [`Errno::Noent`].
pub fn readlink(start: &Arc<dyn Dir>, path: &str) -> Result<String> {
    let r = resolve(start, path, path.ends_with('/'))?;
    match &r.name {
        Some(name) => r.dir.readlink_at(name),
        None => Err(Errno::Inval),
    }
}

/// Renames `old` (from `old_start`) to `new` (from `new_start`), like `renameat(2)`. Links are
/// never followed. A trailing slash on either path requires the source to be a directory.
///
/// Errors: as [`resolve`] and [`Dir::rename_at`]; [`Errno::Busy`] either path names a directory
/// itself (`.`, `..`); [`Errno::Notdir`] a trailing slash on a non-directory source, or a
/// directory source onto an existing non-directory.
pub fn rename(old_start: &Arc<dyn Dir>, old: &str, new_start: &Arc<dyn Dir>, new: &str) -> Result<()> {
    let from = resolve(old_start, old, false)?;
    let to = resolve(new_start, new, false)?;
    let (Some(from_name), Some(to_name)) = (&from.name, &to.name) else {
        return Err(Errno::Busy);
    };
    if from.trailing_slash || to.trailing_slash {
        let st = from.dir.stat_at(from_name)?;
        if st.filetype != FileType::Directory {
            return Err(Errno::Notdir);
        }
    }
    from.dir.rename_at(from_name, to.dir.as_ref(), to_name)
}

/// Creates the hard link `new` to `old`, like `linkat(2)`; `follow` follows a link in `old`'s
/// last component (`AT_SYMLINK_FOLLOW`).
///
/// Errors: as [`resolve`] and [`Dir::link_at`]; [`Errno::Perm`] `old` names a directory;
/// [`Errno::Exist`] `new` names an existing directory itself; [`Errno::Notdir`] a trailing slash
/// on a non-directory `old`; [`Errno::Noent`] a trailing slash on a missing `new`.
pub fn link(old_start: &Arc<dyn Dir>, old: &str, follow: bool, new_start: &Arc<dyn Dir>, new: &str) -> Result<()> {
    let from = resolve(old_start, old, follow)?;
    let to = resolve(new_start, new, false)?;
    let Some(from_name) = &from.name else {
        return Err(Errno::Perm);
    };
    let Some(to_name) = &to.name else {
        return Err(Errno::Exist);
    };
    if from.trailing_slash {
        let st = from.dir.stat_at(from_name)?;
        return Err(if st.filetype == FileType::Directory { Errno::Perm } else { Errno::Notdir });
    }
    if to.trailing_slash {
        return match to.dir.stat_at(to_name) {
            Ok(_) => Err(Errno::Exist),
            Err(Errno::Noent) => {
                from.dir.stat_at(from_name)?;
                Err(Errno::Noent)
            }
            Err(e) => Err(e),
        };
    }
    from.dir.link_at(from_name, to.dir.as_ref(), to_name)
}

/// The last non-empty component of a path.
fn last_component(path: &str) -> Option<&str> {
    path.split('/').rev().find(|c| !c.is_empty())
}

#[cfg(test)]
mod tests;
