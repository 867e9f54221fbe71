//! Helpers shared by the crate's unit tests.

use std::sync::Arc;

use crate::{Dir, DirEntry, File, Node};

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
