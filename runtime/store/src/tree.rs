//! Glue between the `jmt` crate and RocksDB: a [`TreeReader`] over the committed column
//! families, and the conversion of a [`TreeUpdateBatch`] into write-batch entries.

use anyhow::Context as _;
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{KeyHash, OwnedValue, Version};
use rocksdb::{ReadOptions, WriteBatch, DB};

use crate::keys::{
    decode_value, encode_value, root_node_key, value_key, CF_JMT_NODES, CF_JMT_STALE, CF_JMT_VALUES,
};
use crate::StoreError;

/// The hash function of the tree (and of keys and values inside it).
pub(crate) type TreeHasher = sha2::Sha256;

/// Reads committed tree nodes and versioned values straight from RocksDB.
///
/// Nodes and values are immutable once written (a height only ever adds new entries), so a
/// reader may run concurrently with a commit of a later height.
pub(crate) struct DbTreeReader<'a> {
    pub(crate) db: &'a DB,
}

impl DbTreeReader<'_> {
    fn cf(&self, name: &str) -> anyhow::Result<&rocksdb::ColumnFamily> {
        self.db
            .cf_handle(name)
            .with_context(|| format!("missing column family {name}"))
    }

    /// The newest value of `key_hash` at a version `<= max_version` (`None` if absent or deleted).
    pub(crate) fn value_at(
        &self,
        max_version: Version,
        key_hash: &[u8; 32],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let cf = self
            .db
            .cf_handle(CF_JMT_VALUES)
            .ok_or_else(|| StoreError::Corrupt(format!("missing column family {CF_JMT_VALUES}")))?;
        let mut opts = ReadOptions::default();
        // Bound the iterator to this key hash: [key_hash || 0, key_hash || max_version].
        opts.set_iterate_lower_bound(value_key(key_hash, 0).to_vec());
        let mut it = self.db.raw_iterator_cf_opt(cf, opts);
        it.seek_for_prev(value_key(key_hash, max_version));
        if !it.valid() {
            it.status()?;
            return Ok(None);
        }
        match (it.key(), it.value()) {
            (Some(k), Some(v)) if k.starts_with(key_hash) => {
                decode_value(v).map_err(StoreError::Corrupt)
            }
            _ => Ok(None),
        }
    }
}

impl TreeReader for DbTreeReader<'_> {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let mut key = Vec::with_capacity(NODE_KEY_CAPACITY);
        node_db_key(node_key, &mut key)?;
        match self.db.get_pinned_cf(self.cf(CF_JMT_NODES)?, key)? {
            Some(raw) => Ok(Some(
                borsh::from_slice(&raw).context("undecodable tree node")?,
            )),
            None => Ok(None),
        }
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

/// Room for a `jmt_nodes` key: version, nibble count, length and up to 32 path bytes.
const NODE_KEY_CAPACITY: usize = 8 + 8 + 4 + 32;

/// The `jmt_nodes` key of a node: `version (u64 BE) || borsh(nibble path)`. Version first and
/// big-endian so a height's new nodes sort after every older node (cheap memtable appends) and a
/// future pruner can range over versions.
pub(crate) fn node_db_key(node_key: &NodeKey, out: &mut Vec<u8>) -> std::io::Result<()> {
    out.extend_from_slice(&node_key.version().to_be_bytes());
    borsh::to_writer(out, node_key.nibble_path())
}

/// Adds every entry of `update` to `batch`. Returns whether the update contains a root node for
/// `version` (jmt writes one for every version, including empty ones; the caller checks).
pub(crate) fn write_tree_update(
    db: &DB,
    batch: &mut WriteBatch,
    update: &TreeUpdateBatch,
    version: Version,
) -> Result<bool, StoreError> {
    let cf = |name: &str| {
        db.cf_handle(name)
            .ok_or_else(|| StoreError::Corrupt(format!("missing column family {name}")))
    };
    let nodes_cf = cf(CF_JMT_NODES)?;
    let values_cf = cf(CF_JMT_VALUES)?;
    let stale_cf = cf(CF_JMT_STALE)?;
    let root_key = root_node_key(version);
    let mut has_root = false;
    // Insert in key order: RocksDB's memtable skiplist inserts ascending keys much faster.
    let mut nodes = Vec::with_capacity(update.node_batch.nodes().len());
    for (node_key, node) in update.node_batch.nodes() {
        let mut key = Vec::with_capacity(NODE_KEY_CAPACITY);
        node_db_key(node_key, &mut key).map_err(tree_err)?;
        has_root |= key[..] == root_key[..];
        nodes.push((key, node));
    }
    nodes.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut node_buf = Vec::with_capacity(256);
    for (key, node) in nodes {
        node_buf.clear();
        borsh::to_writer(&mut node_buf, node).map_err(tree_err)?;
        batch.put_cf(nodes_cf, &key, &node_buf);
    }
    // `values()` is ordered by (version, key hash): ascending `key_hash || version` keys.
    for ((v, key_hash), value) in update.node_batch.values() {
        batch.put_cf(
            values_cf,
            value_key(&key_hash.0, *v),
            encode_value(value.as_deref()),
        );
    }
    // One entry per version (not per node): thousands of small memtable inserts per height
    // cost more than the whole tree computation.
    let stale: Vec<&NodeKey> = update
        .stale_node_index_batch
        .iter()
        .filter(|s| s.stale_since_version == version)
        .map(|s| &s.node_key)
        .collect();
    if update
        .stale_node_index_batch
        .iter()
        .any(|s| s.stale_since_version != version)
    {
        return Err(StoreError::Tree(format!(
            "stale node index outside version {version}"
        )));
    }
    if !stale.is_empty() {
        batch.put_cf(
            stale_cf,
            version.to_be_bytes(),
            borsh::to_vec(&stale).map_err(tree_err)?,
        );
    }
    Ok(has_root)
}

pub(crate) fn tree_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Tree(e.to_string())
}
