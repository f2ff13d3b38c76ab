//! Opening a database: a fresh one gets height 0; an existing one has its format checked and
//! the heights committed after the last written-out one replayed from their changelog records.

use std::sync::PoisonError;

use jmt::JellyfishMerkleTree;
use tracing::info;

use super::{sync_write, Store, Tip, EMPTY_ROOT, TRACING_TARGET};
use crate::batch::TreeDelta;
use crate::changelog;
use crate::keys::{
    changelog_key, decode_height, decode_latest, encode_latest, root_key, CF_CHANGELOG, CF_META,
    FORMAT_VERSION, FORMAT_VERSION_WRITE_THROUGH, META_FORMAT, META_LATEST, META_PERSISTED,
};
use crate::node::{NodePath, TreeNode};
use crate::persist::write_out;
use crate::raw_batch::RawBatch;
use crate::tree::{tree_err, write_delta, TreeHasher};
use crate::StoreError;

impl Store {
    /// Writes height 0: jmt's genesis (null) root node and the metadata, in one batch.
    pub(super) fn init_genesis(&self) -> Result<Tip, StoreError> {
        let genesis = TreeDelta {
            root: TreeNode::Null.hash(),
            new_nodes: vec![(NodePath::ROOT, TreeNode::Null)],
            stale: Vec::new(),
        };
        if genesis.root != EMPTY_ROOT {
            return Err(StoreError::Tree(format!(
                "empty tree root is {}, expected the placeholder hash",
                hex::encode(genesis.root)
            )));
        }
        let mut batch = RawBatch::with_capacity(256);
        write_delta(&mut batch, &self.cfs, 0, &genesis)?;
        let meta = self.cfs.meta;
        batch.put(meta, META_FORMAT, &FORMAT_VERSION.to_be_bytes())?;
        batch.put(meta, &root_key(0), &EMPTY_ROOT)?;
        batch.put(meta, META_LATEST, &encode_latest(0, &EMPTY_ROOT))?;
        batch.put(meta, META_PERSISTED, &0u64.to_be_bytes())?;
        self.db.write_opt(batch.into_write_batch(), &sync_write())?;
        Ok(Tip {
            height: 0,
            root: EMPTY_ROOT,
        })
    }

    /// Opens an existing database: checks its format, replays the heights committed after the
    /// last written-out one, and checks the tree root of the latest height.
    pub(super) fn recover(&self, latest_raw: &[u8]) -> Result<Tip, StoreError> {
        let meta = self.cf(CF_META)?;
        let format = self
            .db
            .get_cf(meta, META_FORMAT)?
            .ok_or_else(|| StoreError::Corrupt("missing format version".into()))?;
        let (height, root) = decode_latest(latest_raw).map_err(StoreError::Corrupt)?;
        if format.as_slice() == FORMAT_VERSION_WRITE_THROUGH.to_be_bytes() {
            // Format 1 wrote every height out in its commit.
            let mut batch = RawBatch::with_capacity(64);
            batch.put(self.cfs.meta, META_FORMAT, &FORMAT_VERSION.to_be_bytes())?;
            batch.put(self.cfs.meta, META_PERSISTED, &height.to_be_bytes())?;
            self.db.write_opt(batch.into_write_batch(), &sync_write())?;
            info!(target: TRACING_TARGET, height, "upgraded on-disk format 1 to 2");
        } else if format.as_slice() != FORMAT_VERSION.to_be_bytes() {
            return Err(StoreError::Corrupt(format!(
                "unsupported on-disk format {}",
                hex::encode(format)
            )));
        }
        let persisted_raw = self
            .db
            .get_cf(meta, META_PERSISTED)?
            .ok_or_else(|| StoreError::Corrupt("missing written-out height".into()))?;
        let persisted =
            decode_height(&persisted_raw, "written-out height").map_err(StoreError::Corrupt)?;
        if persisted > height {
            return Err(StoreError::Corrupt(format!(
                "written-out height {persisted} is above the latest committed height {height}"
            )));
        }
        for h in persisted + 1..=height {
            self.replay(h)?;
        }
        let reader = self.tree_reader(&[]);
        let tree = JellyfishMerkleTree::<_, TreeHasher>::new(&reader);
        let tree_root = tree
            .get_root_hash_option(height)
            .map_err(tree_err)?
            .ok_or_else(|| StoreError::Corrupt(format!("no tree root at height {height}")))?;
        if tree_root.0 != root {
            return Err(StoreError::Corrupt(format!(
                "tree root at height {height} does not match the recorded root"
            )));
        }
        Ok(Tip { height, root })
    }

    /// Rebuilds committed height `height` from its changelog record and writes it out (synced).
    fn replay(&self, height: u64) -> Result<(), StoreError> {
        let raw = self
            .db
            .get_cf(self.cf(CF_CHANGELOG)?, changelog_key(height))?
            .ok_or_else(|| {
                StoreError::Corrupt(format!("no changelog record for committed height {height}"))
            })?;
        let entries = changelog::decode(&raw)
            .map_err(|e| StoreError::Corrupt(format!("changelog of height {height}: {e}")))?;
        let recorded_root = self.root_hash_at_unchecked(height)?;
        let mut cache = self
            .node_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (pending, _) = self.compute_height(height, entries, &cache, &[])?;
        if pending.root != recorded_root {
            return Err(StoreError::Corrupt(format!(
                "replaying height {height} gives root {}, the commit recorded {}",
                hex::encode(pending.root),
                hex::encode(recorded_root)
            )));
        }
        write_out(&self.db, &self.cfs, &pending, true)?;
        cache.apply(height, pending.delta());
        info!(target: TRACING_TARGET, height, changes = pending.len(),
              "replayed a committed height from its changelog record");
        Ok(())
    }
}
