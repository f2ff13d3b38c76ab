//! Deployed functions: their records in state and deploy-time checks.

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
        Some(bytes) => FunctionRecord::try_from_slice(&bytes)
            .map(Some)
            .map_err(|e| RuntimeError::Corrupt(format!("function record `{name}`: {e}"))),
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
