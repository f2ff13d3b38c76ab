//! Deployed functions: their records in state and deploy-time checks.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use borsh::{BorshDeserialize, BorshSerialize};
use nexus_store::StateView;
use nexus_wasm_prep::{prepare, PrepLimits, PreparedModule};
use sha2::{Digest, Sha256};

use crate::limits::{
    MAX_ARGS_ENV_BYTES, MAX_CALL_STACK_DEPTH, MAX_FUEL_PER_INVOCATION, MAX_FUNCTION_NAME_BYTES,
    MAX_MEMORY_PAGES, MAX_MODULE_BYTES, MAX_TABLE_ELEMENTS,
};
use crate::{keys, DeployError, RuntimeError};

/// What a deployer says about a function besides its code (from its `nexus.toml`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FunctionConfig {
    pub name: String,
    pub version: String,
    pub args: Vec<String>,
    /// Environment variables, sorted by name (determinism).
    pub env: Vec<(String, String)>,
    /// Default fuel per invocation (capped by [`MAX_FUEL_PER_INVOCATION`]).
    pub fuel: Option<u64>,
    /// Memory pages the function may grow to (capped by [`MAX_MEMORY_PAGES`]).
    pub memory_pages: Option<u64>,
}

/// A deployed function as stored in state under `fn/<name>`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct FunctionRecord {
    pub name: String,
    pub version: String,
    pub code_hash: [u8; 32],
    /// Who deployed it (an account address, or `local` for `nexus run`).
    pub owner: String,
    pub deployed_height: u64,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub fuel: Option<u64>,
    pub memory_pages: Option<u64>,
}

/// The limits deploy-time preparation enforces.
pub fn prep_limits() -> PrepLimits {
    PrepLimits {
        max_module_bytes: MAX_MODULE_BYTES,
        max_memory_pages: MAX_MEMORY_PAGES,
        max_table_elements: MAX_TABLE_ELEMENTS,
        max_call_depth: MAX_CALL_STACK_DEPTH,
        ..PrepLimits::default()
    }
}

/// Function names follow the manifest's rule (`[a-z][a-z0-9_-]*`, at most
/// [`MAX_FUNCTION_NAME_BYTES`] bytes): one definition, in `nexus-manifest`.
pub fn validate_name(name: &str) -> Result<(), DeployError> {
    if name.len() <= MAX_FUNCTION_NAME_BYTES && nexus_manifest::validate_name(name).is_ok() {
        Ok(())
    } else {
        Err(DeployError::BadName(name.to_string()))
    }
}

fn validate_config(config: &FunctionConfig) -> Result<(), DeployError> {
    validate_name(&config.name)?;
    let args_env_bytes: usize = config.args.iter().map(|a| a.len() + 1).sum::<usize>()
        + config
            .env
            .iter()
            .map(|(k, v)| k.len() + v.len() + 2)
            .sum::<usize>();
    if args_env_bytes > MAX_ARGS_ENV_BYTES {
        return Err(DeployError::ArgsTooLarge {
            bytes: args_env_bytes,
            max: MAX_ARGS_ENV_BYTES,
        });
    }
    let nul_or_eq = |s: &str| s.contains('\0');
    if config.args.iter().any(|a| nul_or_eq(a))
        || config
            .env
            .iter()
            .any(|(k, v)| nul_or_eq(k) || nul_or_eq(v) || k.contains('=') || k.is_empty())
    {
        return Err(DeployError::BadEnvironment);
    }
    if config.fuel.is_some_and(|f| f > MAX_FUEL_PER_INVOCATION) {
        return Err(DeployError::LimitAboveMaximum {
            what: "fuel",
            requested: config.fuel.unwrap_or_default(),
            max: MAX_FUEL_PER_INVOCATION,
        });
    }
    if config.memory_pages.is_some_and(|p| p > MAX_MEMORY_PAGES) {
        return Err(DeployError::LimitAboveMaximum {
            what: "memory_pages",
            requested: config.memory_pages.unwrap_or_default(),
            max: MAX_MEMORY_PAGES,
        });
    }
    Ok(())
}

/// Checks `wasm` and `config` without writing anything.
pub fn check(wasm: &[u8], config: &FunctionConfig) -> Result<PreparedModule, DeployError> {
    validate_config(config)?;
    Ok(prepare(wasm, &prep_limits())?)
}

/// Writes a checked function into `view`. Redeploying a name replaces its code and configuration
/// but keeps its KV and files (an upgrade).
pub fn store(
    view: &mut StateView,
    wasm: &[u8],
    prepared: &PreparedModule,
    config: &FunctionConfig,
    owner: &str,
    height: u64,
) -> Result<FunctionRecord, DeployError> {
    let mut env = config.env.clone();
    env.sort();
    env.dedup_by(|a, b| a.0 == b.0);
    let record = FunctionRecord {
        name: config.name.clone(),
        version: config.version.clone(),
        code_hash: prepared.code_hash,
        owner: owner.to_string(),
        deployed_height: height,
        args: config.args.clone(),
        env,
        fuel: config.fuel,
        memory_pages: config.memory_pages,
    };
    let code_key = keys::code(&prepared.code_hash);
    if view.get(&code_key).map_err(RuntimeError::from)?.is_none() {
        view.put(code_key, wasm.to_vec());
    }
    view.put(
        keys::function(&config.name),
        borsh::to_vec(&record).expect("borsh encoding of a record cannot fail"),
    );
    tracing::info!(target: "nexus::runtime", function = %record.name, code_hash = %hex::encode(record.code_hash), "deployed");
    Ok(record)
}

/// The record of a deployed function, if any.
pub fn lookup(view: &StateView, name: &str) -> Result<Option<FunctionRecord>, RuntimeError> {
    match view.get(&keys::function(name))? {
        None => Ok(None),
        Some(bytes) => decode(name, &bytes).map(Some),
    }
}

fn decode(name: &str, bytes: &[u8]) -> Result<FunctionRecord, RuntimeError> {
    FunctionRecord::try_from_slice(bytes)
        .map_err(|e| RuntimeError::Corrupt(format!("function record `{name}`: {e}")))
}

/// A deployed function as an invocation uses it: its record and the prefixes of its state.
#[derive(Debug)]
pub(crate) struct LoadedFunction {
    pub record: FunctionRecord,
    pub fs_prefix: Vec<u8>,
    pub kv_prefix: Vec<u8>,
}

impl std::ops::Deref for LoadedFunction {
    type Target = FunctionRecord;

    fn deref(&self) -> &FunctionRecord {
        &self.record
    }
}

/// Names kept by a [`RecordCache`] before it starts over.
const MAX_CACHED_RECORDS: usize = 4096;

/// The bytes of `fn/<name>` and what they decode to.
type CachedRecord = (Vec<u8>, Arc<LoadedFunction>);

/// Decoded function records, each kept with the exact bytes it was decoded from.
///
/// Every lookup still reads `fn/<name>` through the caller's view (so a redeploy, pending or
/// committed, and a rolled-back one are seen at once); the cache only skips decoding and prefix
/// building when those bytes are unchanged. A record is a pure function of its bytes, so a hit
/// returns exactly what [`lookup`] would.
#[derive(Default)]
pub(crate) struct RecordCache {
    entries: Mutex<BTreeMap<String, CachedRecord>>,
}

impl RecordCache {
    pub(crate) fn lookup(
        &self,
        view: &StateView,
        name: &str,
    ) -> Result<Option<Arc<LoadedFunction>>, RuntimeError> {
        let Some(bytes) = view.get(&keys::function(name))? else {
            return Ok(None);
        };
        if let Some((cached, function)) = self.entries.lock().expect("record cache lock").get(name)
        {
            if *cached == bytes {
                return Ok(Some(function.clone()));
            }
        }
        let record = decode(name, &bytes)?;
        let function = Arc::new(LoadedFunction {
            fs_prefix: keys::fs_prefix(&record.name),
            kv_prefix: keys::kv_prefix(&record.name),
            record,
        });
        let mut entries = self.entries.lock().expect("record cache lock");
        if entries.len() >= MAX_CACHED_RECORDS && !entries.contains_key(name) {
            entries.clear();
        }
        entries.insert(name.to_owned(), (bytes, function.clone()));
        Ok(Some(function))
    }
}

/// The original module bytes of a deployed code hash.
pub fn code(view: &StateView, code_hash: &[u8; 32]) -> Result<Vec<u8>, RuntimeError> {
    let bytes = view
        .get(&keys::code(code_hash))?
        .ok_or_else(|| RuntimeError::Corrupt(format!("code {} missing", hex::encode(code_hash))))?;
    if Sha256::digest(&bytes).as_slice() != code_hash {
        return Err(RuntimeError::Corrupt(format!(
            "code {} does not match its hash",
            hex::encode(code_hash)
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Empty;

    impl nexus_store::StateRead for Empty {
        fn get(&self, _: &[u8]) -> Result<Option<Vec<u8>>, nexus_store::StoreError> {
            Ok(None)
        }
        fn scan_prefix(
            &self,
            _: &[u8],
            _: Option<&[u8]>,
            _: usize,
        ) -> Result<nexus_store::KeyValues, nexus_store::StoreError> {
            Ok(Vec::new())
        }
    }

    fn record(version: &str) -> FunctionRecord {
        FunctionRecord {
            name: "f".into(),
            version: version.into(),
            code_hash: [1; 32],
            owner: "o".into(),
            deployed_height: 1,
            args: vec![],
            env: vec![],
            fuel: None,
            memory_pages: None,
        }
    }

    #[test]
    fn record_cache_sees_redeploys_rollbacks_and_removals() {
        let cache = RecordCache::default();
        let mut view = StateView::new(std::sync::Arc::new(Empty));
        assert!(cache.lookup(&view, "f").unwrap().is_none());
        view.put(keys::function("f"), borsh::to_vec(&record("1")).unwrap());
        let first = cache.lookup(&view, "f").unwrap().unwrap();
        assert_eq!(first.version, "1");
        assert_eq!(first.kv_prefix, keys::kv_prefix("f"));
        assert!(Arc::ptr_eq(
            &first,
            &cache.lookup(&view, "f").unwrap().unwrap()
        ));
        view.push_layer();
        view.put(keys::function("f"), borsh::to_vec(&record("2")).unwrap());
        assert_eq!(cache.lookup(&view, "f").unwrap().unwrap().version, "2");
        view.discard_layer();
        assert_eq!(
            cache.lookup(&view, "f").unwrap().unwrap().record,
            record("1")
        );
        view.delete(keys::function("f"));
        assert!(cache.lookup(&view, "f").unwrap().is_none());
        view.put(keys::function("f"), b"not borsh".to_vec());
        assert!(matches!(
            cache.lookup(&view, "f"),
            Err(RuntimeError::Corrupt(_))
        ));
    }

    #[test]
    fn names_outside_the_alphabet_are_rejected() {
        for bad in ["", "Upper", "1abc", "a/b", "a.b", &"x".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        for good in ["counter", "notes-v2", "a_1"] {
            validate_name(good).unwrap();
        }
    }
}
