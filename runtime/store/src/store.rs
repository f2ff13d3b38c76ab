//! The on-disk committed state: RocksDB column families plus the Jellyfish Merkle Tree.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use jmt::{JellyfishMerkleTree, KeyHash};
use rocksdb::{ColumnFamily, WriteOptions, DB};
use tracing::{debug, error, info};

use crate::batch::update_tree;
use crate::changelog::{self, Entry};
use crate::db_options::{cf_descriptors, db_options};
use crate::fault::{Fault, FaultPoint};
use crate::hashing::hash_changes;
use crate::keys::{changelog_key, decode_root, encode_latest, root_key, CF_META, META_LATEST};
use crate::node_cache::{NodeCache, NODE_CACHE_CAPACITY};
use crate::pending::{LayeredSource, LayeredTreeReader, PendingHeight};
use crate::persist::{run_persister, WriteBehind, MAX_PENDING_HEIGHTS};
use crate::raw_batch::RawBatch;
use crate::tree::{tree_err, CfIds, DbTreeReader, TreeHasher};
use crate::{ChangeSet, ReadProof, StoreError};

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
/// Reads through [`crate::StateRead`] see the latest committed height. Historical reads and proofs are
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

mod read;
mod recover;
#[cfg(test)]
mod tests;
