//! In-memory cache of the latest tree's nodes, so a commit does not read them back from RocksDB.
//!
//! Every commit rewrites the nodes on the paths it touches, and reads exactly those paths of the
//! previous height first; without a cache each read is a RocksDB point lookup through several
//! large memtables and SST files. Tree nodes are immutable once written (a `NodeKey` names a
//! version), so a cached node can never be out of date: the cache only has to be *complete enough*
//! to be useful, never invalidated.
//!
//! Contents: the nodes written by committed heights (added only after their write batch is
//! durable, so a failed commit leaves nothing behind), minus the nodes each commit makes stale
//! (no longer reachable from the latest root). It therefore holds (a subset of) the latest tree,
//! bounded by [`NODE_CACHE_CAPACITY`] nodes; when full, new internal nodes are preferred over new
//! leaves (every update reads the internal nodes above it, but only its own leaf).

use std::collections::HashMap;

use anyhow::Context as _;
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{KeyHash, OwnedValue, Version};

use crate::tree::DbTreeReader;

/// Most nodes the cache holds: enough for the whole tree of a few hundred thousand keys. A
/// cached internal node takes about 1.1 KiB (jmt keeps 16 child slots), a leaf about 150 bytes;
/// a tree of `n` keys has `n` leaves and roughly `0.4 n` internal nodes, so a full cache is
/// around 300-400 MiB at worst and ~70 MiB for 100,000 keys.
pub(crate) const NODE_CACHE_CAPACITY: usize = 1 << 20;

pub(crate) struct NodeCache {
    nodes: HashMap<NodeKey, Node>,
    capacity: usize,
}

impl NodeCache {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            nodes: HashMap::new(),
            capacity,
        }
    }

    pub(crate) fn get(&self, key: &NodeKey) -> Option<&Node> {
        self.nodes.get(key)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    #[cfg(test)]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&NodeKey, &Node)> {
        self.nodes.iter()
    }

    /// Applies a committed (durably written) height: drops the nodes it made stale, then adds its
    /// new nodes, internal nodes first, while there is room.
    pub(crate) fn apply(&mut self, update: &TreeUpdateBatch) {
        for stale in &update.stale_node_index_batch {
            self.nodes.remove(&stale.node_key);
        }
        let new = update.node_batch.nodes();
        let is_leaf = |node: &Node| matches!(node, Node::Leaf(_));
        let internal = new.iter().filter(|(_, n)| !is_leaf(n));
        let leaves = new.iter().filter(|(_, n)| is_leaf(n));
        for (key, node) in internal.chain(leaves) {
            if self.nodes.len() >= self.capacity {
                break;
            }
            self.nodes.insert(key.clone(), node.clone());
        }
    }
}

/// A [`TreeReader`] that answers node reads from a [`NodeCache`] and falls back to RocksDB.
pub(crate) struct CachedTreeReader<'a> {
    pub(crate) db: DbTreeReader<'a>,
    pub(crate) cache: &'a NodeCache,
}

impl TreeReader for CachedTreeReader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        match self.cache.get(node_key) {
            Some(node) => Ok(Some(node.clone())),
            None => self.db.get_node_option(node_key),
        }
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        self.db
            .get_value_option(max_version, key_hash)
            .context("versioned value")
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        self.db.get_rightmost_leaf()
    }
}
