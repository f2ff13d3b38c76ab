//! The deterministic wasmtime engine and the compiled-module cache.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use wasmtime::{
    Config, Enabled, InstanceAllocationStrategy, Module, OptLevel, PoolingAllocationConfig,
};

use crate::limits::{
    MAX_MEMORY_PAGES, MAX_NATIVE_WASM_STACK_BYTES, MAX_TABLE_ELEMENTS, POOL_TOTAL_INSTANCES,
};
use crate::RuntimeError;

const WASM_PAGE_BYTES: u64 = 64 << 10;
/// Dirty linear-memory bytes per pooled slot that are zeroed in place (kept resident) on reuse.
const LINEAR_MEMORY_KEEP_RESIDENT_BYTES: usize = 1 << 20;
/// Same for tables.
const TABLE_KEEP_RESIDENT_BYTES: usize = 64 << 10;

/// Builds the wasmtime configuration every node uses. Anything that could make two nodes disagree
/// is switched off: threads, relaxed SIMD, memory64, tail calls; NaNs are canonicalized.
fn deterministic_config() -> Config {
    let mut config = Config::new();
    config
        .cranelift_nan_canonicalization(true)
        .cranelift_opt_level(OptLevel::Speed)
        .consume_fuel(true)
        .wasm_relaxed_simd(false)
        .relaxed_simd_deterministic(true)
        .wasm_memory64(false)
        .wasm_multi_memory(false)
        .wasm_tail_call(false)
        .wasm_simd(true)
        .wasm_bulk_memory(true)
        .wasm_multi_value(true)
        .wasm_backtrace_max_frames(None)
        .max_wasm_stack(MAX_NATIVE_WASM_STACK_BYTES);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(POOL_TOTAL_INSTANCES)
        .total_memories(POOL_TOTAL_INSTANCES)
        .total_tables(POOL_TOTAL_INSTANCES)
        .max_memories_per_module(1)
        .max_tables_per_module(1)
        .table_elements(MAX_TABLE_ELEMENTS as usize)
        .max_memory_size((MAX_MEMORY_PAGES * WASM_PAGE_BYTES) as usize)
        .max_core_instance_size(1 << 20)
        // Reset the first pages a guest dirtied with memset instead of madvise: no syscall per
        // instance teardown and no page faults when the slot is reused. Node-local performance
        // only: a slot's contents after the reset are identical either way.
        .linear_memory_keep_resident(LINEAR_MEMORY_KEEP_RESIDENT_BYTES)
        .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES)
        // Where the kernel has PAGEMAP_SCAN (Linux ≥ 6.7), reset only the pages the guest
        // actually touched instead of memsetting the whole kept-resident range: a Rust guest's
        // 1 MiB stack region was zeroed after every invocation, the largest single cost of a
        // small invocation. Elsewhere wasmtime falls back to the memset.
        .pagemap_scan(Enabled::Auto);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

/// The wasmtime configuration of [`Engine`], for benchmarks that need a baseline engine differing
/// in one setting (e.g. `consume_fuel(false)`). Not part of the stable API.
#[doc(hidden)]
pub fn wasmtime_config() -> Config {
    deterministic_config()
}

/// The wasmtime engine of this node plus its caches.
#[derive(Clone)]
pub struct Engine {
    inner: wasmtime::Engine,
    compat_hash: u64,
    modules: Arc<Mutex<BTreeMap<[u8; 32], Module>>>,
    disk_cache: Option<PathBuf>,
}

impl Engine {
    /// An engine with an in-memory module cache only.
    pub fn new() -> Result<Self, RuntimeError> {
        let inner = wasmtime::Engine::new(&deterministic_config())
            .map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        inner.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            compat_hash: hasher.finish(),
            inner,
            modules: Arc::default(),
            disk_cache: None,
        })
    }

    /// An engine that also keeps compiled modules in `dir` (never part of consensus state).
    pub fn with_disk_cache(dir: &Path) -> Result<Self, RuntimeError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| RuntimeError::Engine(format!("module cache {}: {e}", dir.display())))?;
        let mut engine = Self::new()?;
        engine.disk_cache = Some(dir.to_path_buf());
        Ok(engine)
    }

    pub fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner
    }

    /// Hash of everything that makes a compiled artifact usable by this engine.
    pub fn compatibility_hash(&self) -> u64 {
        self.compat_hash
    }

    /// The compiled module for already prepared (validated + instrumented) `code`, whose original
    /// bytes hash to `code_hash`. Compiles at most once per process (and once per disk cache).
    pub fn module(&self, code_hash: &[u8; 32], code: &[u8]) -> Result<Module, RuntimeError> {
        if let Some(m) = self
            .modules
            .lock()
            .expect("module cache lock")
            .get(code_hash)
        {
            return Ok(m.clone());
        }
        let module = self.load_or_compile(code_hash, code)?;
        self.modules
            .lock()
            .expect("module cache lock")
            .insert(*code_hash, module.clone());
        Ok(module)
    }

    /// Whether `code_hash` is compiled in memory already.
    pub fn is_cached(&self, code_hash: &[u8; 32]) -> bool {
        self.modules
            .lock()
            .expect("module cache lock")
            .contains_key(code_hash)
    }

    fn cache_path(&self, code_hash: &[u8; 32]) -> Option<PathBuf> {
        self.disk_cache.as_ref().map(|dir| {
            dir.join(format!(
                "{}-{:016x}.cwasm",
                hex::encode(code_hash),
                self.compat_hash
            ))
        })
    }

    fn load_or_compile(&self, code_hash: &[u8; 32], code: &[u8]) -> Result<Module, RuntimeError> {
        let path = self.cache_path(code_hash);
        if let Some(path) = path.as_ref().filter(|p| p.exists()) {
            // SAFETY: the file was written by `Module::serialize` of an engine with the same
            // compatibility hash (it is in the file name) into a directory only this node writes.
            match unsafe { Module::deserialize_file(&self.inner, path) } {
                Ok(m) => return Ok(m),
                Err(e) => {
                    tracing::warn!(target: "nexus::runtime", path = %path.display(), error = %e, "ignoring unusable cached module")
                }
            }
        }
        let module =
            Module::new(&self.inner, code).map_err(|e| RuntimeError::Compile(format!("{e:#}")))?;
        if let Some(path) = path {
            match module.serialize() {
                Ok(bytes) => {
                    let tmp = path.with_extension("tmp");
                    if std::fs::write(&tmp, bytes)
                        .and_then(|()| std::fs::rename(&tmp, &path))
                        .is_err()
                    {
                        tracing::warn!(target: "nexus::runtime", path = %path.display(), "could not write module cache");
                    }
                }
                Err(e) => {
                    tracing::warn!(target: "nexus::runtime", error = %e, "could not serialize module")
                }
            }
        }
        Ok(module)
    }
}
