//! `nexus-store`: the replicated state of a Nexus node.
//!
//! Owns the flat key-value state (RocksDB), its authenticated commitment (a Jellyfish Merkle Tree
//! in the format of the `jmt` crate, versioned by block height), read proofs a client can check against a state
//! root, copy-on-write overlays used while executing ([`ChangeSet`], [`StateView`]), and the
//! atomic, durable commit of one height (a synced changelog record; the rest written behind).
//!
//! Main types: [`Store`] (on-disk, committed state), [`StateView`] (committed state plus stacked
//! uncommitted layers), [`ChangeSet`] (a sorted set of writes and deletes).
//!
//! Must not depend on wasm, WASI, CometBFT or networking: keys and values are opaque bytes here.
//!
//! # Heights, roots and proofs
//!
//! Height `h` is jmt version `h`. Height 0 is the empty tree ([`EMPTY_ROOT`], jmt's placeholder
//! hash), written at open as jmt's genesis null root node. Every commit makes exactly one new
//! height, also an empty one: like jmt, the commit copies the previous root node to the new
//! version when nothing changed, so every height has a root node and [`Store::get_with_proof`] works at every height `<= latest`. Keys are
//! hashed with `KeyHash::with::<Sha256>(key)`. [`ReadProof::verify`] needs only the root.
//!
//! # On-disk layout (RocksDB column families)
//!
//! | column family | key | value |
//! |---|---|---|
//! | `state` | raw key | raw value (latest height only; `get`, ordered prefix scans) |
//! | `jmt_nodes` | version (u64 BE) ‖ borsh(nibble path) | borsh(jmt `Node`) |
//! | `jmt_values` | key hash (32) ‖ version (u64 BE) | `0x00` deleted, `0x01` ‖ value |
//! | `jmt_stale` | version (u64 BE) | borsh(`Vec<NodeKey>`) nodes unreachable from that version on (for a future pruner) |
//! | `meta` | `format`, `latest`, `persisted`, `root/` ‖ height (u64 BE) | format version (2), latest height ‖ root, newest written-out height, root of each height |
//! | `changelog` | height (u64 BE) | the height's changes (`changelog` module), until written out |
//!
//! Historical values are read with a seek-for-prev on `jmt_values` (newest version `<= h`).
//! Nothing is pruned yet. Format 1 (no changelog, every height written out in its commit) is
//! upgraded in place at open.
//!
//! # Commit path
//!
//! A commit hashes the changed keys and values, sorts them by key hash, and computes the new
//! tree in one batch pass (`batch`): the nodes jmt 0.12 would write (same shape, same hashing in
//! `node`, byte-identical borsh encoding, so jmt itself still reads them for proofs), with
//! deletes in the same pass, above a few hundred changes on two threads (one per half of the
//! root's children). jmt's own batch API has no deletes, and its one-key-at-a-time path was the
//! slow half of a commit; `batch`'s differential tests check roots and proofs against both jmt
//! paths on random put/delete sequences.
//!
//! [`Store::prepare`] does this part alone and keeps the result, so a caller that needs the root
//! before it may commit (consensus: the app hash at `FinalizeBlock`, the commit at `Commit`)
//! computes the tree once; [`Store::commit_prepared`] refuses it if another height came first.
//!
//! The previous height's nodes come from an in-memory cache of the latest tree (`node_cache`:
//! keyed by path, nodes of committed heights minus the ones they made stale, bounded, filled
//! while the height's commit record is written and emptied if that write fails; RocksDB serves the
//! misses). Column family tuning (bloom filters, a shared block cache, large memtables, no
//! compression of nodes) is in `db_options` and does not affect the on-disk format. A fixed
//! commit sequence has pinned roots (`tests/golden.rs`), recorded before any of this existed.
//!
//! # Write-behind
//!
//! A commit returns once the height is durable, and only the height's *changes* need to be
//! durable: everything else follows from them deterministically. So a commit writes one small
//! synced batch (the changelog record, the root, `latest`), and a persister thread writes the
//! ~4 RocksDB entries per change (flat state, tree nodes, versioned values, stale index) behind
//! it, oldest height first, then advances `persisted` and deletes the record (`persist`). Until
//! then the height is served from memory (`pending`): latest-state reads, scans, historical
//! reads, proofs and the next commit's tree update all look at the pending heights before
//! RocksDB. At most [`MAX_PENDING_HEIGHTS`] wait; a commit beyond that waits for the persister.
//! [`Store::flush`] waits for all of them; dropping the store does too.
//!
//! Why: writing ~45,000 entries (10,000 changes) into RocksDB's memtables took ~85 ms of a
//! ~120 ms commit on this machine's cores, and is not needed for durability. Now a block's
//! commit waits for hashing, the tree update and one ~1 MB synced write.
//!
//! # Crash safety
//!
//! A height is committed exactly when its changelog record, root and `latest` (one synced
//! `WriteBatch`) are on disk. Write-outs are not synced; RocksDB's write-ahead log keeps them in
//! order, so after a crash the database holds every height up to some `persisted <= latest` (and
//! possibly part of the next one). [`Store::open`] replays the records of the heights after
//! `persisted` (recomputing the same tree, checked against each recorded root, rewriting the
//! same entries) and checks that the recorded root equals the tree root at the recorded height.
//! Tests inject crashes with the [`FAULT_ENV`] variable
//! (`NEXUS_STORE_FAULT=abort_before_write|abort_after_write|abort_before_persist[@height]`, read
//! once at open; the process calls `std::process::abort()` at that point) and by SIGKILLing a
//! writer process (`tests/crash.rs`).
//!
//! # Why RocksDB is linked from Debian's `librocksdb-dev`
//!
//! Building the bundled RocksDB C++ sources takes 16-25 minutes on a cold build; linking the
//! system library (`ROCKSDB_LIB_DIR=/usr/lib/x86_64-linux-gnu ROCKSDB_INCLUDE_DIR=/usr/include`)
//! makes a cold build of this crate take under a minute. Debian ships RocksDB 7.8, which has
//! everything used here (column families, write batches, prefix/seek iteration). The `rocksdb`
//! crate is pinned to 0.20.x because 0.21 calls two C functions added in RocksDB 8
//! (`rocksdb_cache_create_hyper_clock`, `rocksdb_readoptions_set_async_io`) and does not compile
//! against the 7.8 headers; every C function 0.20.1 uses exists in 7.8.
//!
//! Logs use the tracing target `nexus::store` ([`TRACING_TARGET`]).

mod batch;
mod changelog;
mod changeset;
mod db_options;
mod error;
mod fault;
mod hashing;
mod keys;
mod memory;
mod node;
mod node_cache;
mod overlay;
mod pending;
mod persist;
mod proof;
mod raw_batch;
mod store;
mod tree;
mod view;

pub use changeset::ChangeSet;
pub use error::{ProofError, StoreError};
pub use fault::FAULT_ENV;
pub use memory::MemoryState;
pub use persist::{MAX_PENDING_HEIGHTS, PERSISTER_NICE};
pub use proof::{ReadProof, MAX_PROOF_BYTES, MAX_PROOF_SIBLINGS};
pub use store::{
    CommitInfo, PreparedHeight, Store, EMPTY_ROOT, MAX_KEY_BYTES, MAX_VALUE_BYTES, TRACING_TARGET,
};
pub use view::StateView;

/// Key-value pairs in ascending key order, as returned by [`StateRead::scan_prefix`].
pub type KeyValues = Vec<(Vec<u8>, Vec<u8>)>;

/// Read access to a state (committed or layered). Implementations must be deterministic:
/// the same state gives the same answers, in the same order.
pub trait StateRead: Send + Sync {
    /// The value stored at `key`, if any.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Entries whose key starts with `prefix` and is strictly greater than `after` (when given),
    /// in ascending byte order of the key, at most `limit` of them.
    fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, StoreError>;
}
