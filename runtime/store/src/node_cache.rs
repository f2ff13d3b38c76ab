//! In-memory cache of the latest tree's nodes, so a commit does not read them back from RocksDB.
//!
//! Every commit rewrites the nodes on the paths it touches, and reads exactly those paths of the
//! previous height first; without a cache each read is a RocksDB point lookup through several
//! large memtables and SST files, plus a decode.
//!
//! The cache holds (a subset of) the latest tree only, so it is keyed by path: a path has at most
//! one node in one tree. Each entry remembers the version it was written at, and a lookup hits
//! only when the version matches too; since a node is immutable once written (a version and a path
//! name it), a hit can never be out of date, and the cache only has to be *complete enough* to be
//! useful, never invalidated.
//!
//! Contents: the nodes written by committed heights, minus the nodes each commit makes stale. A
//! height's nodes are added while its commit record is being written; if that write fails the
//! whole cache is emptied, so nodes of a height that never became durable are never read.
//! Bounded by [`NODE_CACHE_CAPACITY`] nodes; when full, new internal nodes are preferred over new
//! leaves (every update reads the internal nodes above it, but only its own leaf), and a path
//! already cached is always refreshed.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rocksdb::DB;

use crate::batch::TreeDelta;
use crate::keys::CF_JMT_NODES;
use crate::node::{NodePath, TreeNode, NODE_DB_KEY_CAPACITY};
use crate::StoreError;

/// Most nodes the cache holds: enough for the whole tree of a few hundred thousand keys. A
/// cached internal node takes about 60 bytes per child plus ~80, a leaf about 110 bytes; a tree
/// of `n` keys has `n` leaves and roughly `0.4 n` internal nodes.
pub(crate) const NODE_CACHE_CAPACITY: usize = 1 << 20;

/// Hasher of cache keys. Paths are prefixes of SHA-256 key hashes, so their first bytes are
/// already uniformly distributed: a multiply-mix of the words is enough, and much cheaper than
/// SipHash on the hot path of a commit.
#[derive(Default)]
pub(crate) struct PathHasher(u64);

impl Hasher for PathHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

pub(crate) type PathMap<V> = HashMap<NodePath, V, BuildHasherDefault<PathHasher>>;

pub(crate) struct NodeCache {
    nodes: PathMap<(u64, TreeNode)>,
    capacity: usize,
}

impl NodeCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            nodes: PathMap::default(),
            capacity,
        }
    }

    pub(crate) fn get(&self, version: u64, path: &NodePath) -> Option<&TreeNode> {
        match self.nodes.get(path) {
            Some((v, node)) if *v == version => Some(node),
            _ => None,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&NodePath, &(u64, TreeNode))> {
        self.nodes.iter()
    }

    /// Applies a committed (durably written) height: adds its new nodes, internal nodes first,
    /// while there is room (a path already cached is always refreshed), then drops the nodes it
    /// made stale unless a new node took their path.
    pub(crate) fn apply(&mut self, version: u64, delta: &TreeDelta) {
        let TreeDelta {
            new_nodes, stale, ..
        } = delta;
        let internal = new_nodes.iter().filter(|(_, node)| !node.is_leaf());
        let leaves = new_nodes.iter().filter(|(_, node)| node.is_leaf());
        for (path, node) in internal.chain(leaves) {
            if self.nodes.len() >= self.capacity {
                if let Some(slot) = self.nodes.get_mut(path) {
                    *slot = (version, node.clone());
                }
                continue;
            }
            self.nodes.insert(*path, (version, node.clone()));
        }
        for (v, path) in stale {
            if self.get(*v, path).is_some() {
                self.nodes.remove(path);
            }
        }
    }

    /// Forgets everything (after a failed write whose nodes may already be in the cache).
    pub(crate) fn clear(&mut self) {
        self.nodes.clear();
    }
}

/// Reads one tree node from `jmt_nodes`.
pub(crate) fn read_node(
    db: &DB,
    version: u64,
    path: &NodePath,
) -> Result<Option<TreeNode>, StoreError> {
    let cf = db
        .cf_handle(CF_JMT_NODES)
        .ok_or_else(|| StoreError::Corrupt(format!("missing column family {CF_JMT_NODES}")))?;
    let mut key = Vec::with_capacity(NODE_DB_KEY_CAPACITY);
    path.write_db_key(version, &mut key);
    match db.get_pinned_cf(cf, &key)? {
        None => Ok(None),
        Some(raw) => TreeNode::decode(&raw)
            .map(Some)
            .map_err(|e| StoreError::Corrupt(format!("tree node at version {version}: {e}"))),
    }
}
