//! Committed heights whose tree nodes, versioned values and flat state are not yet in RocksDB's
//! main column families, only in their durable changelog record (see `persist`).
//!
//! Reads consult these before RocksDB, newest height first. Pending heights are always the
//! newest committed ones, so for any key the newest pending change (if there is one) is newer
//! than anything on disk.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};

use anyhow::Context as _;
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{KeyHash, OwnedValue, Version};
use rocksdb::DB;

use crate::batch::{NodeSource, TreeDelta};
use crate::changelog::Entry;
use crate::hashing::HashedChanges;
use crate::keys::{encode_value_into, value_key};
use crate::node::{Hash32, NodePath, TreeNode};
use crate::node_cache::{read_node, NodeCache, PathMap};
use crate::overlay::{Changes, Overlay};
use crate::raw_batch::RawBatch;
use crate::tree::{write_delta, CfIds, DbTreeReader};
use crate::StoreError;

/// Write-batch bytes reserved per change beyond its key and value (record headers, the
/// versioned-value key) and per new tree node (key and a typical encoded node).
const BATCH_BYTES_PER_CHANGE: usize = 64;
const BATCH_BYTES_PER_NODE: usize = 320;

/// One committed height, held in memory until it is written out.
pub(crate) struct PendingHeight {
    pub(crate) height: u64,
    pub(crate) root: Hash32,
    /// The height's changes in ascending key order (`None`: delete).
    entries: Vec<Entry>,
    /// `(key hash, index into entries)` in ascending key-hash order.
    by_hash: Vec<(Hash32, u32)>,
    delta: TreeDelta,
    /// Path of each new node -> its index in `delta.new_nodes`. Built on first use: the next
    /// commit finds these nodes in the node cache, so most heights never need it.
    node_index: OnceLock<PathMap<u32>>,
}

impl PendingHeight {
    /// `hashed` must be [`crate::hashing::hash_changes`] of `entries`, and `delta` the tree update
    /// of those changes at `height`.
    pub(crate) fn new(
        height: u64,
        entries: Vec<Entry>,
        hashed: &HashedChanges,
        delta: TreeDelta,
    ) -> Self {
        let by_hash = hashed
            .ops
            .iter()
            .zip(&hashed.order)
            .map(|(op, &i)| (op.key_hash, i))
            .collect();
        Self {
            height,
            root: delta.root,
            entries,
            by_hash,
            delta,
            node_index: OnceLock::new(),
        }
    }

    /// `None` if this height does not touch `key`; `Some(None)` if it deletes it.
    pub(crate) fn get(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        let i = self
            .entries
            .binary_search_by(|(k, _)| k.as_slice().cmp(key))
            .ok()?;
        Some(self.entries[i].1.as_deref())
    }

    /// This height's changes with `prefix` and key strictly greater than `after`, ascending.
    pub(crate) fn range_prefix<'a>(
        &'a self,
        prefix: &'a [u8],
        after: Option<&[u8]>,
    ) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        let start = match after {
            Some(a) if a >= prefix => self.entries.partition_point(|(k, _)| k.as_slice() <= a),
            _ => self.entries.partition_point(|(k, _)| k.as_slice() < prefix),
        };
        self.entries[start..]
            .iter()
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
    }

    /// The value this height gives the key with `key_hash`, like [`PendingHeight::get`].
    pub(crate) fn get_by_hash(&self, key_hash: &Hash32) -> Option<Option<&[u8]>> {
        let i = self
            .by_hash
            .binary_search_by(|(h, _)| h.cmp(key_hash))
            .ok()?;
        Some(self.entries[self.by_hash[i].1 as usize].1.as_deref())
    }

    /// The node this height wrote at `path`.
    pub(crate) fn node(&self, path: &NodePath) -> Option<&TreeNode> {
        let index = self.node_index.get_or_init(|| {
            let nodes = &self.delta.new_nodes;
            nodes
                .iter()
                .enumerate()
                .map(|(i, (path, _))| (*path, i as u32))
                .collect()
        });
        let &i = index.get(path)?;
        Some(&self.delta.new_nodes[i as usize].1)
    }

    pub(crate) fn delta(&self) -> &TreeDelta {
        &self.delta
    }

    /// Number of changes.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Adds everything this height writes to the main column families: flat state, new tree
    /// nodes, stale-node index and versioned values.
    pub(crate) fn write_to(&self, batch: &mut RawBatch, cfs: &CfIds) -> Result<(), StoreError> {
        for (key, value) in &self.entries {
            match value {
                Some(v) => batch.put(cfs.state, key, v)?,
                None => batch.delete(cfs.state, key)?,
            }
        }
        write_delta(batch, cfs, self.height, &self.delta)?;
        // Ascending key hash: ascending `jmt_values` keys, the fast order for the memtable.
        for &(key_hash, i) in &self.by_hash {
            let value = self.entries[i as usize].1.as_deref();
            let len = 1 + value.map_or(0, <[u8]>::len);
            let key = value_key(&key_hash, self.height);
            batch.put_with(cfs.values, &key, len, |out| encode_value_into(value, out))?;
        }
        Ok(())
    }

    /// Bytes to reserve for [`PendingHeight::write_to`].
    pub(crate) fn batch_capacity(&self) -> usize {
        let change_bytes: usize = self
            .entries
            .iter()
            .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
            .sum();
        2 * change_bytes
            + self.entries.len() * BATCH_BYTES_PER_CHANGE
            + self.delta.new_nodes.len() * BATCH_BYTES_PER_NODE
    }
}

impl Overlay for PendingHeight {
    fn changes_in<'a>(&'a self, prefix: &'a [u8], after: Option<&'a [u8]>) -> Changes<'a> {
        Box::new(self.range_prefix(prefix, after))
    }
}

/// Where a tree update reads the previous height's nodes: the node cache, then the pending
/// heights, then RocksDB.
pub(crate) struct LayeredSource<'a> {
    pub(crate) db: &'a DB,
    pub(crate) cache: &'a NodeCache,
    pub(crate) pending: &'a [Arc<PendingHeight>],
}

impl NodeSource for LayeredSource<'_> {
    fn node(&self, version: u64, path: &NodePath) -> Result<Cow<'_, TreeNode>, StoreError> {
        if let Some(node) = self.cache.get(version, path) {
            return Ok(Cow::Borrowed(node));
        }
        if let Some(p) = self.pending.iter().find(|p| p.height == version) {
            return p.node(path).map(Cow::Borrowed).ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "pending height {version} has no tree node at depth {}",
                    path.len()
                ))
            });
        }
        read_node(self.db, version, path)?
            .map(Cow::Owned)
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "missing tree node at version {version}, depth {}",
                    path.len()
                ))
            })
    }
}

/// A jmt [`TreeReader`] (proofs, historical values) over the pending heights and RocksDB.
pub(crate) struct LayeredTreeReader<'a> {
    pub(crate) db: DbTreeReader<'a>,
    /// Oldest first.
    pub(crate) pending: &'a [Arc<PendingHeight>],
}

impl LayeredTreeReader<'_> {
    /// The newest value of `key_hash` at a version `<= max_version` (`None` if absent or deleted).
    pub(crate) fn value_at(
        &self,
        max_version: Version,
        key_hash: &Hash32,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        for p in self
            .pending
            .iter()
            .rev()
            .filter(|p| p.height <= max_version)
        {
            if let Some(value) = p.get_by_hash(key_hash) {
                return Ok(value.map(<[u8]>::to_vec));
            }
        }
        self.db.value_at(max_version, key_hash)
    }
}

impl TreeReader for LayeredTreeReader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let Some(p) = self.pending.iter().find(|p| p.height == node_key.version()) else {
            return self.db.node(node_key);
        };
        let mut path = NodePath::ROOT;
        for nibble in node_key.nibble_path().nibbles() {
            path = path
                .child(u8::from(nibble))
                .context("nibble path too long")?;
        }
        let Some(node) = p.node(&path) else {
            return Ok(None);
        };
        let mut raw = Vec::with_capacity(node.encoded_len());
        node.encode(&mut raw);
        Ok(Some(borsh::from_slice(&raw).context("tree node encoding")?))
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        self.value_at(max_version, &key_hash.0)
            .map_err(|e| anyhow::anyhow!(e))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        // Only used by jmt's state-sync restore, which this store does not use.
        anyhow::bail!("get_rightmost_leaf is not supported by nexus-store")
    }
}
