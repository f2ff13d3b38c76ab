//! `nexus-runtime`: deterministic execution of Nexus Functions.
//!
//! Owns the wasmtime engine configuration (NaN canonicalization, no threads, fuel, pooling
//! allocator, compiled-module cache), our own `wasi_snapshot_preview1` (args/env from the
//! function record, clocks = block time, seeded randomness, stdin/stdout/stderr, the function's
//! filesystem), the `nexus_v1` host ABI (KV, events, outputs, nested calls), the function
//! registry in state, and invocation semantics (all effects commit together or not at all).
//!
//! Main types: [`Runtime`] (deploy, invoke), [`Engine`], [`Invocation`], [`Receipt`],
//! [`InvokeError`]. State lives in `nexus-store`, files in `nexus-vfs`, deploy-time checks in
//! `nexus-wasm-prep`.
//!
//! Must not depend on CometBFT, networking, or anything outside the state it is given: every
//! result is a pure function of (state, block, invocation).

mod engine;
mod error;
mod host;
pub mod inspect;
mod invoke;
pub mod keys;
pub mod limits;
pub mod registry;
mod state;
mod wasi;

#[doc(hidden)]
pub use engine::wasmtime_config;
pub use engine::Engine;
pub(crate) use error::HostTrap;
pub use error::{DeployError, Failure, InvokeError, RuntimeError};
pub use invoke::{BlockContext, Event, Invocation, Receipt, Runtime};
pub use registry::{FunctionConfig, FunctionRecord};
