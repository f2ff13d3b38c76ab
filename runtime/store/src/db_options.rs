//! RocksDB options of the store's column families (tuning only: none of this changes what is
//! stored, and any of it may change between runs of the same database).

use rocksdb::{BlockBasedOptions, Cache, ColumnFamilyDescriptor, DBCompressionType, Options};

use crate::keys::{ALL_CFS, CF_JMT_NODES, CF_JMT_VALUES, CF_STATE};
use crate::StoreError;

/// Block cache shared by every column family.
const BLOCK_CACHE_BYTES: usize = 128 << 20;
/// Memtable size of the column families a height writes thousands of entries to. A height of
/// 10,000 changes writes ~5 MB of tree nodes; large memtables mean few flushes (and few L0 files
/// to look through on reads).
const BULK_WRITE_BUFFER_BYTES: usize = 128 << 20;

/// Database-wide options.
pub(crate) fn db_options() -> Options {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    // Bound the WAL kept alive by the small column families (meta, stale index): past this,
    // RocksDB flushes them so old WAL files can be deleted.
    opts.set_max_total_wal_size(512 << 20);
    opts
}

/// One descriptor per column family, in [`ALL_CFS`] order.
pub(crate) fn cf_descriptors() -> Result<Vec<ColumnFamilyDescriptor>, StoreError> {
    let cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES)?;
    Ok(ALL_CFS
        .iter()
        .map(|name| ColumnFamilyDescriptor::new(*name, cf_options(name, &cache)))
        .collect())
}

fn cf_options(name: &str, cache: &Cache) -> Options {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    // Point lookups (`get`, tree nodes missing from the node cache) skip SST files without the
    // key instead of reading their index and data blocks.
    table.set_bloom_filter(10.0, false);
    table.set_cache_index_and_filter_blocks(true);
    let mut opts = Options::default();
    opts.set_block_based_table_factory(&table);
    if [CF_STATE, CF_JMT_NODES, CF_JMT_VALUES].contains(&name) {
        opts.set_write_buffer_size(BULK_WRITE_BUFFER_BYTES);
        // A full memtable is flushed in the background while the next one fills; a third one
        // keeps a slow flush (two shared cores) from stalling commits.
        opts.set_max_write_buffer_number(3);
    }
    if name == CF_STATE {
        // Memtable bloom filter: `get` of a key absent from the (large) memtables skips them.
        // Not for the tree column families: nodes are read from the node cache, and versioned
        // values with seeks, which a bloom filter cannot serve.
        opts.set_memtable_whole_key_filtering(true);
        opts.set_memtable_prefix_bloom_ratio(0.02);
    }
    if name == CF_JMT_NODES {
        // Tree nodes are mostly SHA-256 hashes: compression costs CPU and saves nothing.
        opts.set_compression_type(DBCompressionType::None);
    }
    opts
}
