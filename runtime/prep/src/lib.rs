//! Deploy-time validation and instrumentation of Nexus Function modules.
//!
//! This crate owns everything that happens to a module's bytes before they are stored
//! on chain as deployable code:
//!
//! - validation against a fixed, deterministic set of WebAssembly features
//!   ([`FEATURES`]: no threads, relaxed SIMD, memory64, multi-memory, tail calls,
//!   exceptions, GC, component model, ...);
//! - the import whitelist (`wasi_snapshot_preview1` and `nexus_v1` functions only);
//! - bounds on memory, tables and item counts ([`PrepLimits`]), the `memory` export and
//!   the `_start: () -> ()` entry point;
//! - the logical stack-depth bound: every defined function counts itself in an exported
//!   global ([`STACK_DEPTH_GLOBAL_EXPORT`]) and traps past
//!   [`PrepLimits::max_call_depth`], so stack exhaustion is the same on every
//!   architecture instead of depending on wasmtime's native stack.
//!
//! [`prepare`] is a pure function of its inputs: the same bytes and limits give the same
//! [`PreparedModule`] on every node.
//!
//! It must not depend on the wasmtime runtime, on state storage or on the WASI
//! implementation: it only parses (`wasmparser`) and re-encodes (`wasm-encoder`) bytes.
//! (wasmtime is a dev-dependency, used by the tests to run instrumented modules.)

mod error;
mod imports;
mod instrument;
mod limits;
mod validate;

#[cfg(test)]
mod tests;

use sha2::{Digest, Sha256};

pub use error::PrepError;
pub use imports::{
    is_allowed_import, ALLOWED_IMPORT_MODULES, NEXUS_V1_FUNCTIONS, NEXUS_V1_MODULE,
    WASI_PREVIEW1_FUNCTIONS, WASI_PREVIEW1_MODULE,
};
pub use limits::*;
pub use validate::FEATURES;

/// Name of the exported mutable `i32` global holding the current logical call depth.
/// After a trap, a value greater than the limit means "call depth exceeded".
pub const STACK_DEPTH_GLOBAL_EXPORT: &str = "__nexus_call_depth";

/// A module accepted for deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedModule {
    /// The instrumented module: what the runtime compiles and runs.
    pub code: Vec<u8>,
    /// SHA-256 of the original (uninstrumented) bytes the developer deployed.
    pub code_hash: [u8; 32],
    /// Imported functions as `(module, name)`, in import order.
    pub imports: Vec<(String, String)>,
    /// The memory's declared maximum in 64 KiB pages, if any (the runtime caps it to
    /// [`PrepLimits::max_memory_pages`] otherwise).
    pub declared_max_pages: Option<u64>,
}

/// Validates `wasm` against the deploy-time rules and returns its instrumented form.
pub fn prepare(wasm: &[u8], limits: &PrepLimits) -> Result<PreparedModule, PrepError> {
    if wasm.len() > limits.max_module_bytes {
        return Err(PrepError::TooLarge {
            size: wasm.len(),
            max: limits.max_module_bytes,
        });
    }
    validate::validate(wasm)?;
    let info = validate::check(wasm, limits)?;
    let code = instrument::instrument(wasm, &info, limits.max_call_depth)
        .map_err(|message| PrepError::Internal { message })?;
    // A bug in the instrumentation must be an error, never a broken module on chain.
    wasmparser::Validator::new_with_features(FEATURES)
        .validate_all(&code)
        .map_err(|e| PrepError::Internal {
            message: format!(
                "instrumented module is invalid: {} (at byte offset {})",
                e.message(),
                e.offset()
            ),
        })?;
    Ok(PreparedModule {
        code,
        code_hash: Sha256::digest(wasm).into(),
        imports: info.imports,
        declared_max_pages: info.declared_max_pages,
    })
}
