//! Glue between the tree and RocksDB: reads of written-out tree nodes and versioned values (jmt
//! reads them through `pending::LayeredTreeReader`, which looks at the pending heights first),
//! and the write-batch entries of a height's [`TreeDelta`].

use anyhow::Context as _;
use jmt::storage::{Node, NodeKey};
use jmt::Version;
use rocksdb::{ReadOptions, DB};

use crate::batch::TreeDelta;
use crate::keys::{
    decode_value, value_key, CF_CHANGELOG, CF_JMT_NODES, CF_JMT_STALE, CF_JMT_VALUES, CF_META,
    CF_STATE,
};
use crate::node::{NodePath, NODE_DB_KEY_CAPACITY};
use crate::raw_batch::{cf_id, RawBatch};
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

impl DbTreeReader<'_> {
    /// The tree node `node_key` names, decoded as jmt's `Node`.
    pub(crate) fn node(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let mut key = Vec::with_capacity(NODE_DB_KEY_CAPACITY);
        key.extend_from_slice(&node_key.version().to_be_bytes());
        borsh::to_writer(&mut key, node_key.nibble_path())?;
        match self.db.get_pinned_cf(self.cf(CF_JMT_NODES)?, key)? {
            Some(raw) => Ok(Some(
                borsh::from_slice(&raw).context("undecodable tree node")?,
            )),
            None => Ok(None),
        }
    }
}

/// Column family ids of the store, as write-batch records name them.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CfIds {
    pub(crate) state: u32,
    pub(crate) nodes: u32,
    pub(crate) values: u32,
    pub(crate) stale: u32,
    pub(crate) meta: u32,
    pub(crate) changelog: u32,
}

impl CfIds {
    pub(crate) fn of(db: &DB) -> Result<CfIds, StoreError> {
        let id = |name: &str| {
            db.cf_handle(name)
                .ok_or_else(|| StoreError::Corrupt(format!("missing column family {name}")))
                .and_then(cf_id)
        };
        Ok(CfIds {
            state: id(CF_STATE)?,
            nodes: id(CF_JMT_NODES)?,
            values: id(CF_JMT_VALUES)?,
            stale: id(CF_JMT_STALE)?,
            meta: id(CF_META)?,
            changelog: id(CF_CHANGELOG)?,
        })
    }
}

/// Adds the new nodes and the stale-node index of `delta` (the tree of `version`) to `batch`.
pub(crate) fn write_delta(
    batch: &mut RawBatch,
    cfs: &CfIds,
    version: Version,
    delta: &TreeDelta,
) -> Result<(), StoreError> {
    // Insert in key order: RocksDB's memtable skiplist inserts ascending keys much faster. Within
    // one version, `jmt_nodes` keys order like paths do (nibble count, then bytes: the count is
    // the first byte of its little-endian encoding, at most 64), so sort the paths, not the keys.
    let mut order: Vec<usize> = (0..delta.new_nodes.len()).collect();
    order.sort_unstable_by_key(|&i| delta.new_nodes[i].0);
    let mut key = Vec::with_capacity(NODE_DB_KEY_CAPACITY);
    for i in order {
        let (path, node) = &delta.new_nodes[i];
        key.clear();
        path.write_db_key(version, &mut key);
        batch.put_with(cfs.nodes, &key, node.encoded_len(), |out| node.encode(out))?;
    }
    // One entry per version (not per node): thousands of small memtable inserts per height
    // cost more than the whole tree computation.
    if !delta.stale.is_empty() {
        batch.put(
            cfs.stale,
            &version.to_be_bytes(),
            &encode_stale(&delta.stale)?,
        )?;
    }
    Ok(())
}

/// `borsh(Vec<jmt NodeKey>)` of the stale nodes, in jmt's `NodeKey` order (version, then nibble
/// count, then path bytes), as jmt's stale index gave them.
fn encode_stale(stale: &[(Version, NodePath)]) -> Result<Vec<u8>, StoreError> {
    let mut sorted = stale.to_vec();
    sorted.sort_unstable();
    let count = u32::try_from(sorted.len()).map_err(tree_err)?;
    let mut out = Vec::with_capacity(4 + sorted.len() * 32);
    out.extend_from_slice(&count.to_le_bytes());
    for (version, path) in &sorted {
        out.extend_from_slice(&version.to_le_bytes());
        path.write_borsh(&mut out);
    }
    Ok(out)
}

pub(crate) fn tree_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Tree(e.to_string())
}

/// jmt's own one-key-at-a-time update of `changes` at `version` (the reference the batch update
/// is checked against).
#[cfg(test)]
pub(crate) fn jmt_reference_update<R: jmt::storage::TreeReader>(
    reader: &R,
    changes: &crate::ChangeSet,
    version: Version,
) -> Result<([u8; 32], jmt::storage::TreeUpdateBatch), StoreError> {
    let tree = jmt::JellyfishMerkleTree::<_, TreeHasher>::new(reader);
    let value_set: Vec<(jmt::KeyHash, Option<Vec<u8>>)> = changes
        .iter()
        .map(|(k, v)| (jmt::KeyHash::with::<TreeHasher>(k), v.map(<[u8]>::to_vec)))
        .collect();
    let (root, update) = tree.put_value_set(value_set, version).map_err(tree_err)?;
    Ok((root.0, update))
}
