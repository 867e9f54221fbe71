//! Helpers shared by the crate's unit tests.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use crate::{Dir, DirEntry, File, Node, OpenOptions, Result, Stat};

/// The file `node` is; panics on a directory.
pub(crate) fn file(node: Node) -> Arc<dyn File> {
    match node {
        Node::File(f) => f,
        Node::Dir(_) => panic!("expected a file"),
    }
}

/// The directory `node` is; panics on a file.
pub(crate) fn dir(node: Node) -> Arc<dyn Dir> {
    match node {
        Node::Dir(d) => d,
        Node::File(_) => panic!("expected a directory"),
    }
}

/// Every entry of `d`, listed from cookie 0.
pub(crate) fn list(d: &dyn Dir) -> Vec<DirEntry> {
    let mut out = Vec::new();
    d.read_dir(0, &mut |e| {
        out.push(e);
        true
    })
    .expect("read_dir");
    out
}

/// The names `d` lists, sorted.
pub(crate) fn names(d: &dyn Dir) -> Vec<String> {
    let mut v: Vec<String> = list(d).into_iter().map(|e| e.name).collect();
    v.sort();
    v
}

/// What [`Counting`] handles count: the directory handles alive (every directory opened
/// through a counting handle is one too), the opens and `readlink_at` calls made through them.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) live: AtomicUsize,
    pub(crate) max_live: AtomicUsize,
    pub(crate) opens: AtomicUsize,
    pub(crate) readlinks: AtomicUsize,
    /// Host descriptors open, sampled at each open (with `sample_fds`).
    pub(crate) max_fds: AtomicUsize,
    pub(crate) sample_fds: bool,
}

/// A directory handle that counts into [`Counters`] and hands out counting handles.
pub(crate) struct Counting {
    inner: Arc<dyn Dir>,
    counters: Arc<Counters>,
}

impl Counting {
    pub(crate) fn wrap(inner: Arc<dyn Dir>, counters: &Arc<Counters>) -> Arc<dyn Dir> {
        use std::sync::atomic::Ordering::Relaxed;
        let live = counters.live.fetch_add(1, Relaxed) + 1;
        counters.max_live.fetch_max(live, Relaxed);
        Arc::new(Counting { inner, counters: Arc::clone(counters) })
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        self.counters.live.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Dir for Counting {
    fn stat(&self) -> Result<Stat> {
        self.inner.stat()
    }
    fn stat_at(&self, name: &str) -> Result<Stat> {
        self.inner.stat_at(name)
    }
    fn open_at(&self, name: &str, options: OpenOptions) -> Result<Node> {
        use std::sync::atomic::Ordering::Relaxed;
        self.counters.opens.fetch_add(1, Relaxed);
        if self.counters.sample_fds {
            self.counters.max_fds.fetch_max(open_fds(), Relaxed);
        }
        match self.inner.open_at(name, options)? {
            Node::Dir(d) => Ok(Node::Dir(Counting::wrap(d, &self.counters))),
            file => Ok(file),
        }
    }
    fn read_dir(&self, cookie: u64, sink: &mut dyn FnMut(DirEntry) -> bool) -> Result<()> {
        self.inner.read_dir(cookie, sink)
    }
    fn readlink_at(&self, name: &str) -> Result<String> {
        self.counters.readlinks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.readlink_at(name)
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// This process's open descriptors.
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}
