//! The on-disk committed state: RocksDB column families plus the Jellyfish Merkle Tree.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};

use jmt::{JellyfishMerkleTree, KeyHash};
use rocksdb::{ColumnFamily, Direction, IteratorMode, ReadOptions, WriteOptions, DB};
use tracing::{debug, info, warn};

use crate::batch::{update_tree, TreeDelta};
use crate::db_options::{cf_descriptors, db_options};
use crate::hashing::hash_changes;
use crate::keys::{
    decode_latest, decode_root, encode_latest, encode_value_into, root_key, value_key, CF_META,
    CF_STATE, FORMAT_VERSION, META_FORMAT, META_LATEST,
};
use crate::node::{NodePath, TreeNode};
use crate::node_cache::{CachedSource, NodeCache, NODE_CACHE_CAPACITY};
use crate::raw_batch::RawBatch;
use crate::tree::{tree_err, write_delta, CfIds, DbTreeReader, TreeHasher};
use crate::{ChangeSet, KeyValues, ReadProof, StateRead, StoreError};

/// Write-batch bytes reserved per change beyond its key and value (record headers, the
/// versioned-value key) and per new tree node (key and a typical encoded node).
const BATCH_BYTES_PER_CHANGE: usize = 64;
const BATCH_BYTES_PER_NODE: usize = 320;

/// tracing target of this crate.
pub const TRACING_TARGET: &str = "nexus::store";

/// Root hash of the empty tree (the state at height 0): jmt's sparse-Merkle placeholder hash.
pub const EMPTY_ROOT: [u8; 32] = *b"SPARSE_MERKLE_PLACEHOLDER_HASH__";

/// Largest state key the store accepts.
pub const MAX_KEY_BYTES: usize = 64 * 1024;

/// Largest state value the store accepts.
pub const MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;

/// Environment variable naming a fault to inject into [`Store::commit`] (tests only; read once
/// by [`Store::open`]).
///
/// Values: `abort_before_write` (abort just before the height's write batch is written),
/// `abort_after_write` (abort right after it is durably written, before `commit` returns), each
/// optionally followed by `@<height>` to fire only when committing that height (otherwise the
/// first commit fires). The process dies with `std::process::abort()`.
pub const FAULT_ENV: &str = "NEXUS_STORE_FAULT";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FaultPoint {
    BeforeWrite,
    AfterWrite,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fault {
    point: FaultPoint,
    height: Option<u64>,
}

impl Fault {
    fn parse(spec: &str) -> Result<Option<Fault>, StoreError> {
        let spec = spec.trim();
        if spec.is_empty() {
            return Ok(None);
        }
        let (name, height) = match spec.split_once('@') {
            Some((name, h)) => {
                let h = h
                    .parse::<u64>()
                    .map_err(|_| StoreError::Config(format!("bad height in {FAULT_ENV}={spec}")))?;
                (name, Some(h))
            }
            None => (spec, None),
        };
        let point = match name {
            "abort_before_write" => FaultPoint::BeforeWrite,
            "abort_after_write" => FaultPoint::AfterWrite,
            _ => return Err(StoreError::Config(format!("unknown {FAULT_ENV}={spec}"))),
        };
        Ok(Some(Fault { point, height }))
    }

    fn from_env() -> Result<Option<Fault>, StoreError> {
        match std::env::var(FAULT_ENV) {
            Ok(spec) => Fault::parse(&spec),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(StoreError::Config(format!("{FAULT_ENV} is not UTF-8")))
            }
        }
    }

    fn fire(fault: Option<Fault>, point: FaultPoint, height: u64) {
        if let Some(f) = fault {
            if f.point == point && f.height.is_none_or(|h| h == height) {
                warn!(target: TRACING_TARGET, ?point, height, "injected fault: aborting");
                std::process::abort();
            }
        }
    }
}

/// Result of committing one height.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommitInfo {
    pub height: u64,
    pub root: [u8; 32],
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
pub struct Store {
    db: DB,
    path: PathBuf,
    /// Serializes commits (and makes `commit` take `&self`).
    commit_lock: Mutex<()>,
    tip: RwLock<Tip>,
    /// Column family ids for write-batch records.
    cfs: CfIds,
    /// Nodes of the latest tree, read by the next commit (only `commit` uses it).
    node_cache: Mutex<NodeCache>,
    fault: Option<Fault>,
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
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let fault = Fault::from_env()?;
        let db = DB::open_cf_descriptors(&db_options(), path, cf_descriptors()?)?;
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
            fault,
        };
        let tip = match store.db.get_cf(store.cf(CF_META)?, META_LATEST)? {
            None => store.init_genesis()?,
            Some(raw) => store.check_existing(&raw)?,
        };
        *store.tip.get_mut().unwrap_or_else(PoisonError::into_inner) = tip;
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
        self.db.write_opt(batch.into_write_batch(), &sync_write())?;
        Ok(Tip {
            height: 0,
            root: EMPTY_ROOT,
        })
    }

    fn check_existing(&self, latest_raw: &[u8]) -> Result<Tip, StoreError> {
        let meta = self.cf(CF_META)?;
        let format = self
            .db
            .get_cf(meta, META_FORMAT)?
            .ok_or_else(|| StoreError::Corrupt("missing format version".into()))?;
        if format.as_slice() != FORMAT_VERSION.to_be_bytes() {
            return Err(StoreError::Corrupt(format!(
                "unsupported on-disk format {}",
                hex::encode(format)
            )));
        }
        let (height, root) = decode_latest(latest_raw).map_err(StoreError::Corrupt)?;
        let reader = DbTreeReader { db: &self.db };
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
        DbTreeReader { db: &self.db }.value_at(height, &key_hash.0)
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
        let reader = DbTreeReader { db: &self.db };
        let tree = JellyfishMerkleTree::<_, TreeHasher>::new(&reader);
        let (value, proof) = tree.get_with_proof(key_hash, height).map_err(tree_err)?;
        Ok((value, ReadProof::new(proof)))
    }

    /// Commits `changes` as height `latest + 1`: flat state, tree nodes, versioned values, stale
    /// node index and metadata go to disk in one synced write batch. An empty change set still
    /// makes a new height, with the previous root.
    pub fn commit(&self, changes: ChangeSet) -> Result<CommitInfo, StoreError> {
        let _guard = self
            .commit_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let prev = self.tip();
        let height = prev
            .height
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt("height overflow".into()))?;
        let started = std::time::Instant::now();

        let mut change_bytes = 0usize;
        for (key, value) in changes.iter() {
            check_len("key", key.len(), MAX_KEY_BYTES)?;
            let value_len = value.map_or(0, <[u8]>::len);
            check_len("value", value_len, MAX_VALUE_BYTES)?;
            change_bytes += key.len() + value_len;
        }
        let n_changes = changes.len();
        let hashed = hash_changes(&changes)?;
        let mut cache = self
            .node_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let hashed_done = started.elapsed();
        let source = CachedSource {
            db: &self.db,
            cache: &cache,
        };
        let delta = update_tree(&source, height, &hashed.ops)?;
        let root = delta.root;
        let tree_done = started.elapsed();
        if n_changes == 0 && root != prev.root {
            return Err(StoreError::Tree(format!(
                "empty change set changed the root at height {height}"
            )));
        }
        let cfs = &self.cfs;
        let mut batch = RawBatch::with_capacity(
            2 * change_bytes
                + n_changes * BATCH_BYTES_PER_CHANGE
                + delta.new_nodes.len() * BATCH_BYTES_PER_NODE,
        );
        for (key, value) in changes.iter() {
            match value {
                Some(v) => batch.put(cfs.state, key, v)?,
                None => batch.delete(cfs.state, key)?,
            }
        }
        write_delta(&mut batch, cfs, height, &delta)?;
        for (op, value) in hashed.ops.iter().zip(&hashed.values) {
            let key = value_key(&op.key_hash, height);
            let len = 1 + value.map_or(0, <[u8]>::len);
            batch.put_with(cfs.values, &key, len, |out| encode_value_into(*value, out))?;
        }
        batch.put(cfs.meta, &root_key(height), &root)?;
        batch.put(cfs.meta, META_LATEST, &encode_latest(height, &root))?;
        let batch = batch.into_write_batch();

        let batch_done = started.elapsed();
        let new_nodes = delta.new_nodes.len();
        Fault::fire(self.fault, FaultPoint::BeforeWrite, height);
        // The cache takes the new nodes while RocksDB writes the batch (both are CPU-bound, and
        // the cache is only read by commits, which hold its lock). Should the write fail, the
        // cache may hold nodes of a height that does not exist: it is emptied.
        let cache_ref = &mut *cache;
        let (written, applied) = std::thread::scope(|s| {
            let applier = s.spawn(move || cache_ref.apply(height, delta));
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
        drop(cache);

        *self.tip.write().unwrap_or_else(PoisonError::into_inner) = Tip { height, root };
        debug!(target: TRACING_TARGET, height, changes = n_changes, root = %hex::encode(root),
               hash_us = hashed_done.as_micros() as u64,
               tree_us = (tree_done - hashed_done).as_micros() as u64,
               batch_us = (batch_done - tree_done).as_micros() as u64,
               write_us = (started.elapsed() - batch_done).as_micros() as u64,
               new_nodes, "committed");
        Ok(CommitInfo { height, root })
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
    /// The root the next height would have if `changes` were committed, without writing anything.
    ///
    /// Consensus needs the app hash when a block is finalized but may persist the block only at
    /// `Commit` (CometBFT replays from its own record of the block's results if the node stops
    /// in between); this computes that hash. Committing the same changes later yields this root.
    pub fn root_after(&self, changes: &ChangeSet) -> Result<[u8; 32], StoreError> {
        let _guard = self
            .commit_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let prev = self.tip();
        if changes.is_empty() {
            return Ok(prev.root);
        }
        let height = prev
            .height
            .checked_add(1)
            .ok_or_else(|| StoreError::Corrupt("height overflow".into()))?;
        let hashed = hash_changes(changes)?;
        let cache = self
            .node_cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let source = CachedSource {
            db: &self.db,
            cache: &cache,
        };
        Ok(update_tree(&source, height, &hashed.ops)?.root)
    }
}

impl StateRead for Store {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(CF_STATE)?, key)?)
    }

    fn scan_prefix(
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fault_spec_parses_points_and_heights() {
        assert_eq!(Fault::parse("").unwrap(), None);
        assert_eq!(
            Fault::parse("abort_before_write").unwrap(),
            Some(Fault {
                point: FaultPoint::BeforeWrite,
                height: None
            })
        );
        assert_eq!(
            Fault::parse("abort_after_write@7").unwrap(),
            Some(Fault {
                point: FaultPoint::AfterWrite,
                height: Some(7)
            })
        );
        assert!(Fault::parse("abort_sometime").is_err());
        assert!(Fault::parse("abort_after_write@x").is_err());
    }

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
            // The same height through jmt's own one-key-at-a-time path.
            let reader = DbTreeReader { db: &seq.db };
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
}
