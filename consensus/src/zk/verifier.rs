//! The verifier key every node checks proofs with, loaded once per process.
//!
//! The key comes from the transparent setup of the one circuit shape the chain accepts
//! ([`ZK_K`], [`ZK_M`]): the same on every node, derived from the circuit alone, cached on disk
//! (hash-checked) by `nexus_zkvm_bridge::cache` in `$NEXUS_ZK_CACHE` (default
//! `~/.cache/nexus/zk`). Loading takes about 5 s from the cache and 24 s to generate, so the
//! node never loads it at startup: [`prefetch`] starts a background load the first time a block
//! touches the zk subsystem (a deploy or a request), and [`verifier_key`] waits for that load
//! (or does it) when the first proof arrives.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use nexus_zkvm_bridge::prover::Vk;
use nexus_zkvm_bridge::{cache, prover};
use tracing::{error, info};

use super::TARGET;

/// Instruction slots per folding step of the only circuit shape the chain verifies.
pub const ZK_K: usize = prover::DEFAULT_K;
/// Memory-audit rows per folding step of that shape.
pub const ZK_M: usize = prover::DEFAULT_M;

static KEY: OnceLock<Result<Arc<Vk>, String>> = OnceLock::new();
static PREFETCH: OnceLock<()> = OnceLock::new();

fn load() -> Result<Arc<Vk>, String> {
    let dir = cache::default_cache_dir();
    let started = Instant::now();
    let key = cache::verifier_key(&dir, ZK_K, ZK_M).map_err(|e| e.to_string());
    match &key {
        Ok(_) => info!(target: TARGET, k = ZK_K, m = ZK_M, dir = %dir.display(),
            ms = started.elapsed().as_millis() as u64, "verifier key loaded"),
        Err(e) => {
            error!(target: TARGET, dir = %dir.display(), error = %e, "verifier key unavailable")
        }
    }
    key.map(Arc::new)
}

/// The verifier key, loading it (once per process) if no load has finished yet. An `Err` is a
/// failure of this node (its cache directory), never of a transaction.
pub fn verifier_key() -> Result<Arc<Vk>, String> {
    KEY.get_or_init(load).clone()
}

/// Starts loading the verifier key in the background (once per process); returns at once.
pub fn prefetch() {
    PREFETCH.get_or_init(|| {
        if KEY.get().is_some() {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("zk-verifier-key".into())
            .spawn(|| {
                verifier_key().ok();
            });
        if let Err(e) = spawned {
            error!(target: TARGET, error = %e, "could not start loading the verifier key");
        }
    });
}
