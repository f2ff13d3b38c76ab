//! The on-disk committed state: RocksDB column families plus the Jellyfish Merkle Tree.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use jmt::{JellyfishMerkleTree, KeyHash};
use rocksdb::{ColumnFamily, Direction, IteratorMode, ReadOptions, WriteOptions, DB};
use tracing::{debug, error, info};

use crate::batch::{update_tree, TreeDelta};
use crate::changelog::{self, Entry};
use crate::db_options::{cf_descriptors, db_options};
use crate::fault::{Fault, FaultPoint};
use crate::hashing::hash_changes;
use crate::keys::{
    changelog_key, decode_height, decode_latest, decode_root, encode_latest, root_key,
    CF_CHANGELOG, CF_META, CF_STATE, FORMAT_VERSION, FORMAT_VERSION_WRITE_THROUGH, META_FORMAT,
    META_LATEST, META_PERSISTED,
};
use crate::node::{NodePath, TreeNode};
use crate::node_cache::{NodeCache, NODE_CACHE_CAPACITY};
use crate::overlay::scan_overlaid;
use crate::pending::{LayeredSource, LayeredTreeReader, PendingHeight};
use crate::persist::{run_persister, write_out, WriteBehind, MAX_PENDING_HEIGHTS};
use crate::raw_batch::RawBatch;
use crate::tree::{tree_err, write_delta, CfIds, DbTreeReader, TreeHasher};
use crate::{ChangeSet, KeyValues, ReadProof, StateRead, StoreError};

/// Write-batch bytes reserved beyond the changelog record in a commit (root, `latest`).
const COMMIT_RECORD_OVERHEAD: usize = 256;

/// tracing target of this crate.
pub const TRACING_TARGET: &str = "nexus::store";

/// Root hash of the empty tree (the state at height 0): jmt's sparse-Merkle placeholder hash.
pub const EMPTY_ROOT: [u8; 32] = *b"SPARSE_MERKLE_PLACEHOLDER_HASH__";

/// Largest state key the store accepts.
pub const MAX_KEY_BYTES: usize = 64 * 1024;

/// Largest state value the store accepts.
pub const MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;

/// Result of committing one height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    pub height: u64,
    pub root: [u8; 32],
}

/// A height computed by [`Store::prepare`]: its tree, root and commit record, nothing written.
pub struct PreparedHeight {
    /// The latest height when prepared: committable only while it still is.
    base: u64,
    record: Vec<u8>,
    pending: PendingHeight,
    n_changes: usize,
    hashing: std::time::Duration,
    computing: std::time::Duration,
}

impl PreparedHeight {
    /// The height it would be committed as.
    pub fn height(&self) -> u64 {
        self.pending.height
    }

    /// The state root of that height.
    pub fn root(&self) -> [u8; 32] {
        self.pending.root
    }
}

impl fmt::Debug for PreparedHeight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PreparedHeight")
            .field("height", &self.height())
            .field("root", &hex::encode(self.root()))
            .field("changes", &self.n_changes)
            .finish()
    }
}

#[derive(Clone, Copy, Debug)]
struct Tip {
    height: u64,
    root: [u8; 32],
}

/// The committed state on disk. See the crate documentation for the layout.
///
/// Reads through [`StateRead`] see the latest committed height. Historical reads and proofs are
/// available for every committed height (nothing is pruned yet).
///
/// Dropping the store writes out every committed height still held in memory (see
/// [`Store::flush`]); a crash instead leaves them to be replayed by the next [`Store::open`].
pub struct Store {
    db: Arc<DB>,
    path: PathBuf,
    /// Serializes commits (and makes `commit` take `&self`).
    commit_lock: Mutex<()>,
    tip: RwLock<Tip>,
    /// Column family ids for write-batch records.
    cfs: CfIds,
    /// Nodes of the latest tree, read by the next commit (only commits and replay use it).
    node_cache: Mutex<NodeCache>,
    /// Committed heights not yet written out, and the persister thread writing them.
    write_behind: Arc<WriteBehind>,
    persister: Option<JoinHandle<()>>,
    fault: Option<Fault>,
}

impl Drop for Store {
    fn drop(&mut self) {
        self.write_behind.shutdown();
        if let Some(persister) = self.persister.take() {
            if persister.join().is_err() {
                error!(target: TRACING_TARGET, path = %self.path.display(),
                       "persister thread panicked; the next open replays the changelog");
            }
        }
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tip = self.tip();
        f.debug_struct("Store")
            .field("path", &self.path)
            .field("height", &tip.height)
            .field("root", &hex::encode(tip.root))
            .finish()
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path`.
    ///
    /// A fresh store is initialised at height 0 with the empty-tree root. An existing one is
    /// checked: the recorded latest height must have a tree root equal to the recorded root.
    ///
    /// Committed heights whose write-out did not finish before a crash are replayed from their
    /// changelog records first (each checked against its recorded root).
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let fault = Fault::from_env()?;
        let db = Arc::new(DB::open_cf_descriptors(
            &db_options(),
            path,
            cf_descriptors()?,
        )?);
        let cfs = CfIds::of(&db)?;
        let mut store = Store {
            db,
            cfs,
            path: path.to_path_buf(),
            commit_lock: Mutex::new(()),
            tip: RwLock::new(Tip {
                height: 0,
                root: EMPTY_ROOT,
            }),
            node_cache: Mutex::new(NodeCache::new(NODE_CACHE_CAPACITY)),
            write_behind: Arc::new(WriteBehind::default()),
            persister: None,
            fault,
        };
        let tip = match store.db.get_cf(store.cf(CF_META)?, META_LATEST)? {
            None => store.init_genesis()?,
            Some(raw) => store.recover(&raw)?,
        };
        *store.tip.get_mut().unwrap_or_else(PoisonError::into_inner) = tip;
        let (db, queue) = (store.db.clone(), store.write_behind.clone());
        let persister = std::thread::Builder::new()
            .name("nexus-store-persist".into())
            .spawn(move || run_persister(db, cfs, queue, fault))
            .map_err(|e| StoreError::WriteBehind(format!("starting the persister: {e}")))?;
        store.persister = Some(persister);
        info!(target: TRACING_TARGET, path = %path.display(), height = tip.height,
              root = %hex::encode(tip.root), fault = ?store.fault, "store opened");
        Ok(store)
    }

    /// Writes height 0: jmt's genesis (null) root node and the metadata, in one batch.
    fn init_genesis(&self) -> Result<Tip, StoreError> {
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
    fn recover(&self, latest_raw: &[u8]) -> Result<Tip, StoreError> {
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

    /// Hashes `entries` (ascending keys) and computes the tree of `height` over the node cache,
    /// the `pending` heights and RocksDB. Also returns the time spent hashing.
    fn compute_height(
        &self,
        height: u64,
        entries: Vec<Entry>,
        cache: &NodeCache,
        pending: &[Arc<PendingHeight>],
    ) -> Result<(PendingHeight, std::time::Duration), StoreError> {
        let started = std::time::Instant::now();
        let hashed = hash_changes(entries.iter().map(|(k, v)| (k.as_slice(), v.as_deref())))?;
        let hashing = started.elapsed();
        let source = LayeredSource {
            db: &self.db,
            cache,
            pending,
        };
        let delta = update_tree(&source, height, &hashed.ops)?;
        Ok((PendingHeight::new(height, entries, &hashed, delta), hashing))
    }

    fn cf(&self, name: &str) -> Result<&ColumnFamily, StoreError> {
        self.db
            .cf_handle(name)
            .ok_or_else(|| StoreError::Corrupt(format!("missing column family {name}")))
    }

    fn tip(&self) -> Tip {
        *self.tip.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The directory of the database.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Latest committed height (0 = nothing committed yet).
    pub fn latest_height(&self) -> u64 {
        self.tip().height
    }

    /// State root of the latest committed height ([`EMPTY_ROOT`] at height 0).
    pub fn root_hash(&self) -> [u8; 32] {
        self.tip().root
    }

    fn check_height(&self, height: u64) -> Result<(), StoreError> {
        let latest = self.latest_height();
        if height > latest {
            return Err(StoreError::HeightUnavailable {
                requested: height,
                latest,
            });
        }
        Ok(())
    }

    /// State root of a committed height.
    pub fn root_hash_at(&self, height: u64) -> Result<[u8; 32], StoreError> {
        self.check_height(height)?;
        self.root_hash_at_unchecked(height)
    }

    fn root_hash_at_unchecked(&self, height: u64) -> Result<[u8; 32], StoreError> {
        let raw = self
            .db
            .get_cf(self.cf(CF_META)?, root_key(height))?
            .ok_or_else(|| StoreError::Corrupt(format!("no root recorded for height {height}")))?;
        decode_root(&raw).map_err(StoreError::Corrupt)
    }

    /// The value of `key` as of committed `height`.
    pub fn get_at(&self, key: &[u8], height: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.check_height(height)?;
        let key_hash = KeyHash::with::<TreeHasher>(key);
        let pending = self.write_behind.snapshot();
        self.tree_reader(&pending).value_at(height, &key_hash.0)
    }

    fn tree_reader<'a>(&'a self, pending: &'a [Arc<PendingHeight>]) -> LayeredTreeReader<'a> {
        LayeredTreeReader {
            db: DbTreeReader { db: &self.db },
            pending,
        }
    }

    /// The value of `key` as of committed `height`, with a proof against
    /// [`Store::root_hash_at`]`(height)`.
    pub fn get_with_proof(
        &self,
        key: &[u8],
        height: u64,
    ) -> Result<(Option<Vec<u8>>, ReadProof), StoreError> {
        self.check_height(height)?;
        let key_hash = KeyHash::with::<TreeHasher>(key);
        let pending = self.write_behind.snapshot();
        let reader = self.tree_reader(&pending);
        let tree = JellyfishMerkleTree::<_, TreeHasher>::new(&reader);
        let (value, proof) = tree.get_with_proof(key_hash, height).map_err(tree_err)?;
        Ok((value, ReadProof::new(proof)))
    }

    /// Commits `changes` as height `latest + 1` and returns once it is durable: the changes
    /// (changelog record), the new root and the `latest` marker go to disk in one small synced
    /// write batch; the height's flat state, tree nodes and versioned values are written out
    /// behind it by the persister thread (see `persist`) and served from memory until then. An
    /// empty change set still makes a new height, with the previous root.
    ///
    /// Waits for the persister while [`MAX_PENDING_HEIGHTS`] heights are waiting.
    pub fn commit(&self, changes: ChangeSet) -> Result<CommitInfo, StoreError> {
        let _guard = self.lock_commits();
        let prepared = self.prepare_locked(changes)?;
        self.commit_locked(prepared)
    }

    /// Computes the height `changes` would make (its tree and root) without writing anything;
    /// [`Store::commit_prepared`] then commits it without computing it again.
    ///
    /// Consensus needs the app hash when a block is finalized but may persist the block only at
    /// `Commit` (CometBFT replays from its own record of the block's results if the node stops
    /// in between).
    pub fn prepare(&self, changes: ChangeSet) -> Result<PreparedHeight, StoreError> {
        let _guard = self.lock_commits();
        self.prepare_locked(changes)
    }

    /// Commits a height computed by [`Store::prepare`], as [`Store::commit`] does. Refused if
    /// another height was committed since it was prepared.
    pub fn commit_prepared(&self, prepared: PreparedHeight) -> Result<CommitInfo, StoreError> {
        let _guard = self.lock_commits();
        self.commit_locked(prepared)
    }

    fn lock_commits(&self) -> std::sync::MutexGuard<'_, ()> {
        self.commit_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn prepare_locked(&self, changes: ChangeSet) -> Result<PreparedHeight, StoreError> {
        let prev = self.tip();
        let height = prev
            .height
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt("height overflow".into()))?;
        let started = std::time::Instant::now();
        for (key, value) in changes.iter() {
            check_len("key", key.len(), MAX_KEY_BYTES)?;
            check_len("value", value.map_or(0, <[u8]>::len), MAX_VALUE_BYTES)?;
        }
        let mut record = Vec::with_capacity(changelog::encoded_len(changes.iter()));
        changelog::encode_into(changes.iter(), &mut record).map_err(StoreError::Corrupt)?;
        let n_changes = changes.len();
        let entries: Vec<Entry> = changes.into_entries().into_iter().collect();

        let cache = self
            .node_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let pending_now = self.write_behind.snapshot();
        let (pending, hashing) = self.compute_height(height, entries, &cache, &pending_now)?;
        if n_changes == 0 && pending.root != prev.root {
            return Err(StoreError::Tree(format!(
                "empty change set changed the root at height {height}"
            )));
        }
        Ok(PreparedHeight {
            base: prev.height,
            record,
            pending,
            n_changes,
            hashing,
            computing: started.elapsed(),
        })
    }

    fn commit_locked(&self, prepared: PreparedHeight) -> Result<CommitInfo, StoreError> {
        let started = std::time::Instant::now();
        self.write_behind.wait_for_room(MAX_PENDING_HEIGHTS)?;
        let prev = self.tip();
        let PreparedHeight {
            base,
            record,
            pending,
            n_changes,
            hashing,
            computing,
        } = prepared;
        if base != prev.height {
            return Err(StoreError::StalePreparation {
                height: pending.height,
                latest: prev.height,
            });
        }
        let (height, root) = (pending.height, pending.root);
        let cfs = &self.cfs;
        let mut batch = RawBatch::with_capacity(record.len() + COMMIT_RECORD_OVERHEAD);
        batch.put(cfs.changelog, &changelog_key(height), &record)?;
        batch.put(cfs.meta, &root_key(height), &root)?;
        batch.put(cfs.meta, META_LATEST, &encode_latest(height, &root))?;
        drop(record);
        let batch = batch.into_write_batch();

        let mut cache = self
            .node_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Fault::fire(self.fault, FaultPoint::BeforeWrite, height);
        // The cache takes the new nodes while RocksDB writes the record (the cache is only read
        // by commits, which hold its lock). Should the write fail, the cache may hold nodes of a
        // height that does not exist: it is emptied.
        let cache_ref = &mut *cache;
        let pending_ref = &pending;
        let (written, applied) = std::thread::scope(|s| {
            let applier = s.spawn(move || cache_ref.apply(height, pending_ref.delta()));
            let written = self.db.write_opt(batch, &sync_write());
            (written, applier.join())
        });
        if let Err(panic) = applied {
            cache.clear();
            std::panic::resume_unwind(panic);
        }
        if let Err(e) = written {
            cache.clear();
            return Err(e.into());
        }
        Fault::fire(self.fault, FaultPoint::AfterWrite, height);
        let new_nodes = pending.delta().new_nodes.len();
        // Queued before the tip moves: a reader that sees height `height` finds its changes.
        self.write_behind.push(Arc::new(pending));
        drop(cache);

        *self.tip.write().unwrap_or_else(PoisonError::into_inner) = Tip { height, root };
        debug!(target: TRACING_TARGET, height, changes = n_changes, root = %hex::encode(root),
               hash_us = hashing.as_micros() as u64,
               tree_us = (computing - hashing).as_micros() as u64,
               write_us = started.elapsed().as_micros() as u64,
               new_nodes, "committed");
        Ok(CommitInfo { height, root })
    }

    /// Blocks until every committed height is written out to its column families (the
    /// changelog is then empty); the persister's error if a write-out failed.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.write_behind.wait_empty()
    }
}

fn sync_write() -> WriteOptions {
    let mut wo = WriteOptions::default();
    wo.set_sync(true);
    wo
}

fn check_len(what: &'static str, len: usize, max: usize) -> Result<(), StoreError> {
    if len > max {
        return Err(StoreError::TooLarge { what, len, max });
    }
    Ok(())
}

/// The smallest byte string greater than every string starting with `prefix` (`None` if there is
/// none, i.e. the prefix is all `0xff`).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl Store {
    /// The root the next height would have if `changes` were committed, without writing anything
    /// (and without keeping the computed tree; see [`Store::prepare`] to commit it afterwards).
    /// Committing the same changes later yields this root.
    pub fn root_after(&self, changes: &ChangeSet) -> Result<[u8; 32], StoreError> {
        let _guard = self.lock_commits();
        let prev = self.tip();
        if changes.is_empty() {
            return Ok(prev.root);
        }
        let height = prev
            .height
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt("height overflow".into()))?;
        let hashed = hash_changes(changes.iter())?;
        let cache = self
            .node_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let pending = self.write_behind.snapshot();
        let source = LayeredSource {
            db: &self.db,
            cache: &cache,
            pending: &pending,
        };
        Ok(update_tree(&source, height, &hashed.ops)?.root)
    }
}

impl Store {
    /// Like [`StateRead::scan_prefix`], over the `state` column family only.
    fn scan_flat_state(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, StoreError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        // First candidate: the prefix itself, or the smallest key strictly after `after`.
        let start = match after {
            Some(a) if a >= prefix => {
                let mut s = a.to_vec();
                s.push(0);
                s
            }
            _ => prefix.to_vec(),
        };
        let mut opts = ReadOptions::default();
        if let Some(end) = prefix_successor(prefix) {
            opts.set_iterate_upper_bound(end);
        }
        let iter = self.db.iterator_cf_opt(
            self.cf(CF_STATE)?,
            opts,
            IteratorMode::From(&start, Direction::Forward),
        );
        for item in iter {
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.into_vec(), v.into_vec()));
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }
}

/// Reads of the latest height: the pending heights (newest change wins), then the flat state.
/// Not isolated from a concurrent commit: a read racing one may see either height.
impl StateRead for Store {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let pending = self.write_behind.with_pending(|queue| {
            queue
                .iter()
                .rev()
                .find_map(|p| p.get(key))
                .map(|v| v.map(<[u8]>::to_vec))
        });
        match pending {
            Some(value) => Ok(value),
            None => Ok(self.db.get_cf(self.cf(CF_STATE)?, key)?),
        }
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, StoreError> {
        let pending = self.write_behind.snapshot();
        if pending.is_empty() {
            return self.scan_flat_state(prefix, after, limit);
        }
        let base_page = |cursor: Option<&[u8]>, n: usize| self.scan_flat_state(prefix, cursor, n);
        scan_overlaid(base_page, &pending, prefix, after, limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_skips_trailing_ff() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xff, 0xff]), None);
        assert_eq!(prefix_successor(b""), None);
    }
}

#[cfg(test)]
mod store_tests {
    use super::*;
    use crate::keys::{root_node_key, CF_JMT_NODES};
    use crate::tree::jmt_reference_update;

    fn changes(entries: &[(&str, Option<&str>)]) -> ChangeSet {
        let mut cs = ChangeSet::new();
        for (k, v) in entries {
            match v {
                Some(v) => cs.put(k.as_bytes().to_vec(), v.as_bytes().to_vec()),
                None => cs.delete(k.as_bytes().to_vec()),
            }
        }
        cs
    }

    #[test]
    fn fresh_store_is_at_height_zero_with_the_empty_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.latest_height(), 0);
        assert_eq!(store.root_hash(), EMPTY_ROOT);
        assert_eq!(store.root_hash_at(0).unwrap(), EMPTY_ROOT);
        let (value, proof) = store.get_with_proof(b"k", 0).unwrap();
        assert_eq!(value, None);
        proof.verify(EMPTY_ROOT, b"k", None).unwrap();
    }

    #[test]
    fn every_height_has_a_tree_root_node_even_when_empty() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.commit(ChangeSet::new()).unwrap();
        store.commit(changes(&[("a", Some("1"))])).unwrap();
        store.commit(ChangeSet::new()).unwrap();
        store.commit(changes(&[("missing", None)])).unwrap();
        store.flush().unwrap();
        let nodes = store.cf(CF_JMT_NODES).unwrap();
        for h in 0..=4 {
            assert!(
                store.db.get_cf(nodes, root_node_key(h)).unwrap().is_some(),
                "no root node at height {h}"
            );
        }
        assert_eq!(store.root_hash_at(1).unwrap(), EMPTY_ROOT);
        assert_eq!(
            store.root_hash_at(3).unwrap(),
            store.root_hash_at(2).unwrap()
        );
        assert_eq!(
            store.root_hash_at(4).unwrap(),
            store.root_hash_at(2).unwrap()
        );
    }

    #[test]
    fn batch_and_sequential_tree_updates_give_the_same_roots() {
        let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let auto = Store::open(d1.path()).unwrap();
        let seq = Store::open(d2.path()).unwrap();
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..12 {
            let mut cs = ChangeSet::new();
            for _ in 0..(next() % 300) {
                let k = (next() % 500).to_be_bytes().to_vec();
                if round % 3 == 2 && next() % 4 == 0 {
                    cs.delete(k);
                } else {
                    cs.put(k, next().to_le_bytes().to_vec());
                }
            }
            let a = auto.commit(cs.clone()).unwrap();
            // The same height through jmt's own one-key-at-a-time path (over what is on disk).
            seq.flush().unwrap();
            let reader = seq.tree_reader(&[]);
            let (root, _) = jmt_reference_update(&reader, &cs, a.height).unwrap();
            assert_eq!(root, a.root, "round {round}");
            let b = seq.commit(cs).unwrap();
            assert_eq!(b, a);
        }
    }

    #[test]
    fn node_cache_holds_only_committed_nodes_identical_to_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for round in 0..6u32 {
            let mut cs = ChangeSet::new();
            for i in 0..200u32 {
                let k = format!("k{}", (i * 7 + round * 13) % 300).into_bytes();
                if round % 2 == 1 && i % 5 == 0 {
                    cs.delete(k);
                } else {
                    cs.put(k, format!("{round}/{i}").into_bytes());
                }
            }
            store.commit(cs).unwrap();
        }
        // A rejected commit adds nothing.
        store.flush().unwrap();
        let before = store.node_cache.lock().unwrap().len();
        let mut bad = ChangeSet::new();
        bad.put(b"x".to_vec(), vec![0; MAX_VALUE_BYTES + 1]);
        assert!(store.commit(bad).is_err());
        let cache = store.node_cache.lock().unwrap();
        assert_eq!(cache.len(), before);
        assert!(cache.len() > 100);
        for (path, (version, node)) in cache.iter() {
            assert!(*version <= store.latest_height());
            assert_eq!(
                crate::node_cache::read_node(&store.db, *version, path)
                    .unwrap()
                    .as_ref(),
                Some(node)
            );
        }
    }

    #[test]
    fn root_after_predicts_the_committed_root_without_writing() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        for round in 0..4u32 {
            let mut cs = ChangeSet::new();
            for i in 0..700u32 {
                let k = format!("k{}", (i * 13 + round * 7) % 900).into_bytes();
                if round > 0 && i % 3 == 0 {
                    cs.delete(k);
                } else {
                    cs.put(k, format!("{round}:{i}").into_bytes());
                }
            }
            let predicted = store.root_after(&cs).unwrap();
            assert_eq!(store.latest_height(), u64::from(round));
            assert_eq!(store.root_after(&cs).unwrap(), predicted);
            assert_eq!(store.commit(cs).unwrap().root, predicted, "round {round}");
        }
        assert_eq!(
            store.root_after(&ChangeSet::new()).unwrap(),
            store.root_hash()
        );
    }

    #[test]
    fn oversized_keys_are_rejected_without_a_new_height() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut cs = ChangeSet::new();
        cs.put(vec![0; MAX_KEY_BYTES + 1], b"v".to_vec());
        assert!(matches!(
            store.commit(cs),
            Err(StoreError::TooLarge { what: "key", .. })
        ));
        assert_eq!(store.latest_height(), 0);
    }

    /// Everything a client can read of a store, for comparing two stores or two moments.
    fn all_answers(store: &Store) -> Vec<String> {
        let mut out = Vec::new();
        let latest = store.latest_height();
        for i in 0..360u32 {
            let key = format!("k{i:03}");
            out.push(format!("{key} = {:?}", store.get(key.as_bytes()).unwrap()));
            for h in [1, latest.saturating_sub(1), latest] {
                let (value, proof) = store.get_with_proof(key.as_bytes(), h).unwrap();
                proof
                    .verify(
                        store.root_hash_at(h).unwrap(),
                        key.as_bytes(),
                        value.as_deref(),
                    )
                    .unwrap();
                assert_eq!(store.get_at(key.as_bytes(), h).unwrap(), value);
                out.push(format!("{key}@{h} = {value:?}"));
            }
        }
        for (prefix, after, limit) in [
            (&b"k"[..], None, usize::MAX),
            (b"k", Some(&b"k100"[..]), 7),
            (b"k1", None, 5),
            (b"k2", Some(&b"k1"[..]), 30),
            (b"k3", None, 1),
            (b"x", None, 10),
        ] {
            let scan = store.scan_prefix(prefix, after, limit).unwrap();
            out.push(format!("scan {prefix:?} {after:?} {limit} = {scan:?}"));
        }
        for h in 0..=latest {
            out.push(hex::encode(store.root_hash_at(h).unwrap()));
        }
        let mut probe = ChangeSet::new();
        probe.put(b"k001".to_vec(), b"probe".to_vec());
        probe.delete(b"k150".to_vec());
        out.push(hex::encode(store.root_after(&probe).unwrap()));
        out
    }

    #[test]
    fn pending_heights_read_like_written_ones_and_are_replayed_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut model = std::collections::BTreeMap::new();
        let mut commit = |store: &Store, cs: ChangeSet| {
            for (k, v) in cs.iter() {
                match v {
                    Some(v) => model.insert(k.to_vec(), v.to_vec()),
                    None => model.remove(k),
                };
            }
            store.commit(cs).unwrap();
            model.clone()
        };
        let mut base = ChangeSet::new();
        for i in 0..300u32 {
            base.put(format!("k{i:03}").into_bytes(), b"base".to_vec());
        }
        commit(&store, base);
        store.flush().unwrap();
        let written = all_answers(&store);

        store.write_behind.set_paused(true);
        let mut h2 = ChangeSet::new();
        for i in 100..160u32 {
            // A run of deletes longer than a scan page, so scans must page past it.
            h2.delete(format!("k{i:03}").into_bytes());
        }
        h2.put(b"k001".to_vec(), b"two".to_vec());
        h2.put(b"k310".to_vec(), b"new in two".to_vec());
        commit(&store, h2);
        let mut h3 = ChangeSet::new();
        h3.put(b"k120".to_vec(), b"back in three".to_vec());
        h3.put(b"k001".to_vec(), b"three".to_vec());
        h3.delete(b"k310".to_vec());
        h3.put(b"k355".to_vec(), b"three".to_vec());
        commit(&store, h3);
        let model = commit(&store, ChangeSet::new());
        assert_eq!(store.write_behind.snapshot().len(), 3);
        for (k, v) in &model {
            assert_eq!(store.get(k).unwrap().as_ref(), Some(v));
        }
        let everything = store.scan_prefix(b"", None, usize::MAX).unwrap();
        assert_eq!(everything, model.clone().into_iter().collect::<Vec<_>>());
        let pending = all_answers(&store);
        assert_ne!(pending, written);
        // Paged scans see the same as one big scan.
        let mut paged = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = store.scan_prefix(b"k", after.as_deref(), 3).unwrap();
            if page.is_empty() {
                break;
            }
            after = page.last().map(|(k, _)| k.clone());
            paged.extend(page);
        }
        assert_eq!(paged, everything);

        // Written out: the same answers.
        store.write_behind.set_paused(false);
        store.flush().unwrap();
        assert_eq!(all_answers(&store), pending);

        // A crash with heights pending: the next open replays them.
        store.write_behind.set_paused(true);
        let mut h5 = ChangeSet::new();
        h5.put(b"k002".to_vec(), b"five".to_vec());
        h5.delete(b"k003".to_vec());
        commit(&store, h5);
        commit(&store, ChangeSet::new());
        let before_crash = all_answers(&store);
        store.write_behind.fail("simulated crash".into());
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.latest_height(), 6);
        assert!(store.write_behind.snapshot().is_empty());
        assert_eq!(all_answers(&store), before_crash);
        let nodes = store.cf(CF_JMT_NODES).unwrap();
        assert!(store.db.get_cf(nodes, root_node_key(6)).unwrap().is_some());
        let log = store.cf(CF_CHANGELOG).unwrap();
        assert_eq!(store.db.iterator_cf(log, IteratorMode::Start).count(), 0);
    }

    #[test]
    fn commits_wait_for_room_and_stop_after_a_failed_write_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(Store::open(dir.path()).unwrap());
        store.write_behind.set_paused(true);
        for i in 0..MAX_PENDING_HEIGHTS {
            store
                .commit(changes(&[("k", Some(&i.to_string()))]))
                .unwrap();
        }
        let waiting = {
            let store = store.clone();
            std::thread::spawn(move || store.commit(changes(&[("k", Some("last"))])))
        };
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(
            !waiting.is_finished(),
            "a commit past the bound did not wait"
        );
        assert_eq!(store.latest_height(), MAX_PENDING_HEIGHTS as u64);
        store.write_behind.set_paused(false);
        let info = waiting.join().unwrap().unwrap();
        assert_eq!(info.height, MAX_PENDING_HEIGHTS as u64 + 1);
        store.flush().unwrap();
        assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"last"[..]));

        store.write_behind.fail("disk full".into());
        let err = store.commit(changes(&[("k", Some("lost"))])).unwrap_err();
        assert!(
            matches!(err, StoreError::WriteBehind(ref why) if why == "disk full"),
            "{err}"
        );
        assert!(store.flush().is_err());
        assert_eq!(store.latest_height(), MAX_PENDING_HEIGHTS as u64 + 1);
        assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"last"[..]));
    }

    #[test]
    fn format_1_databases_open_as_written_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let info = store.commit(changes(&[("a", Some("1"))])).unwrap();
        store.flush().unwrap();
        // What a format-1 store looked like: no `persisted` marker.
        let meta = store.cf(CF_META).unwrap();
        store
            .db
            .put_cf(meta, META_FORMAT, 1u32.to_be_bytes())
            .unwrap();
        store.db.delete_cf(meta, META_PERSISTED).unwrap();
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(store.root_hash(), info.root);
        assert_eq!(store.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
        store.commit(changes(&[("b", Some("2"))])).unwrap();
        drop(store);
        // Unknown formats are refused.
        let db =
            DB::open_cf_descriptors(&db_options(), dir.path(), cf_descriptors().unwrap()).unwrap();
        db.put_cf(
            db.cf_handle(CF_META).unwrap(),
            META_FORMAT,
            9u32.to_be_bytes(),
        )
        .unwrap();
        drop(db);
        let err = Store::open(dir.path()).unwrap_err();
        assert!(
            err.to_string().contains("unsupported on-disk format"),
            "{err}"
        );
    }

    #[test]
    fn prepared_heights_commit_as_computed_and_only_on_their_base() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let reference_dir = tempfile::tempdir().unwrap();
        let reference = Store::open(reference_dir.path()).unwrap();
        for round in 0..3u32 {
            let cs = changes(&[
                ("a", Some(&round.to_string())),
                ("b", None),
                ("c", Some("x")),
            ]);
            let prepared = store.prepare(cs.clone()).unwrap();
            assert_eq!(prepared.height(), u64::from(round) + 1);
            assert_eq!(
                store.latest_height(),
                u64::from(round),
                "prepare wrote nothing"
            );
            assert_eq!(prepared.root(), store.root_after(&cs).unwrap());
            let info = store.commit_prepared(prepared).unwrap();
            assert_eq!(info, reference.commit(cs).unwrap());
        }
        let stale = store.prepare(changes(&[("a", Some("stale"))])).unwrap();
        store.commit(changes(&[("a", Some("won"))])).unwrap();
        let err = store.commit_prepared(stale).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::StalePreparation {
                    height: 4,
                    latest: 4
                }
            ),
            "{err}"
        );
        assert_eq!(store.get(b"a").unwrap().as_deref(), Some(&b"won"[..]));
        let mut bad = ChangeSet::new();
        bad.put(b"x".to_vec(), vec![0; MAX_VALUE_BYTES + 1]);
        assert!(matches!(
            store.prepare(bad),
            Err(StoreError::TooLarge { .. })
        ));
    }
}
