//! Helpers shared by the crate's unit tests.

use std::sync::Arc;

use crate::{Dir, File, Node};

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
