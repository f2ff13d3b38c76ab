//! The verifier key every node checks proofs with, loaded once per process.
//!
//! The key comes from the transparent setup of the one circuit shape the chain accepts
//! (`zk.circuit_k`, `zk.circuit_m`): the same on every node, derived from the circuit alone,
//! cached on disk (hash-checked) by `nexus_zkvm_bridge::cache` in `$NEXUS_ZK_CACHE` (default
//! `~/.cache/nexus/zk`). The chain pins the SHA-256 of the key's canonical encoding
//! (`zk.verifier_key_sha256`): a node whose binary derives another key (a changed circuit)
//! gets an error here, which halts it at the first proof, instead of accepting or refusing
//! proofs differently from the other validators.
//!
//! Loading takes a few seconds (for the default shape on a quiet machine, release build:
//! ~0.3 s to read it from the cache, 5 s to generate it, then ~2.6 s to precompute the
//! generator tables that take ~40 ms off every verification, `ipa::decoding_with_tables`),
//! so the node never loads it at startup: [`prefetch`] starts a background load the first
//! time a block touches the zk subsystem (a deploy or a request), and [`verifier_key`] waits
//! for that load (or does it) when the first proof arrives.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use nexus_zkvm_bridge::prover::Vk;
use nexus_zkvm_bridge::{cache, ipa};
use tracing::{error, info};

use super::{ZkParams, TARGET};

/// What identifies the key a chain verifies with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pinned {
    k: usize,
    m: usize,
    sha256: [u8; 32],
}

impl Pinned {
    fn of(zk: &ZkParams) -> Self {
        let (k, m) = zk.shape();
        Pinned {
            k,
            m,
            sha256: zk.verifier_key_sha256,
        }
    }
}

/// One load of one pinned key (a process serves one chain, so in practice there is one).
struct Slot {
    pinned: Pinned,
    key: OnceLock<Result<Arc<Vk>, String>>,
}

static SLOT: Mutex<Option<Arc<Slot>>> = Mutex::new(None);

fn slot(pinned: Pinned) -> Arc<Slot> {
    let mut current = SLOT.lock().unwrap_or_else(|e| e.into_inner());
    match &*current {
        Some(s) if s.pinned == pinned => s.clone(),
        _ => {
            let s = Arc::new(Slot {
                pinned,
                key: OnceLock::new(),
            });
            *current = Some(s.clone());
            s
        }
    }
}

fn load(p: Pinned) -> Result<Arc<Vk>, String> {
    let dir = cache::default_cache_dir();
    let started = Instant::now();
    // A validator verifies many proofs with this key: precompute the generator tables
    // (~2.8 s more on this background thread at the default shape, ~40 ms off each proof).
    let key = ipa::decoding_with_tables(|| cache::verifier_key_with_digest(&dir, p.k, p.m))
        .map_err(|e| e.to_string())
        .and_then(|(vk, sha256)| {
            if sha256 == p.sha256 {
                Ok(Arc::new(vk))
            } else {
                Err(format!(
                    "this node's verifier key for k = {}, m = {} (circuit version {}) has SHA-256 \
                     {}, but the chain pins {} (zk.verifier_key_sha256): the binary's zk circuit \
                     is not the chain's",
                    p.k,
                    p.m,
                    cache::CIRCUIT_VERSION,
                    hex::encode(sha256),
                    hex::encode(p.sha256)
                ))
            }
        });
    match &key {
        Ok(_) => info!(target: TARGET, k = p.k, m = p.m, dir = %dir.display(),
            ms = started.elapsed().as_millis() as u64, "verifier key loaded"),
        Err(e) => {
            error!(target: TARGET, dir = %dir.display(), error = %e, "verifier key unavailable")
        }
    }
    key
}

/// The chain's verifier key, loading it (once per process) if no load has finished yet. An
/// `Err` is a failure of this node (its cache directory, or a binary whose circuit is not the
/// one the chain pins), never of a transaction.
pub fn verifier_key(zk: &ZkParams) -> Result<Arc<Vk>, String> {
    let pinned = Pinned::of(zk);
    slot(pinned).key.get_or_init(|| load(pinned)).clone()
}

/// Starts loading the chain's verifier key in the background (once per process and key);
/// returns at once.
pub fn prefetch(zk: &ZkParams) {
    let pinned = Pinned::of(zk);
    let s = slot(pinned);
    if s.key.get().is_some() {
        return;
    }
    static STARTED: Mutex<Option<Pinned>> = Mutex::new(None);
    {
        let mut started = STARTED.lock().unwrap_or_else(|e| e.into_inner());
        if *started == Some(pinned) {
            return;
        }
        *started = Some(pinned);
    }
    let spawned = std::thread::Builder::new()
        .name("zk-verifier-key".into())
        .spawn(move || {
            s.key.get_or_init(|| load(pinned));
        });
    if let Err(e) = spawned {
        error!(target: TARGET, error = %e, "could not start loading the verifier key");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_the_chain_does_not_pin_is_refused_by_digest() {
        let dir = tempfile::tempdir().unwrap();
        std::env::set_var("NEXUS_ZK_CACHE", dir.path());
        // The smallest shape: its key is quick to generate, and its digest is not the pin.
        let zk = ZkParams {
            circuit_k: 1,
            circuit_m: 1,
            ..ZkParams::default()
        };
        let e = verifier_key(&zk)
            .err()
            .expect("a key with another digest was accepted");
        assert!(e.contains("zk.verifier_key_sha256"), "{e}");
        assert!(e.contains(&hex::encode(zk.verifier_key_sha256)), "{e}");
        // With the right digest pinned, the same key loads.
        let (_, sha256) = cache::verifier_key_with_digest(dir.path(), 1, 1).unwrap();
        let pinned = ZkParams {
            verifier_key_sha256: sha256,
            ..zk
        };
        verifier_key(&pinned).unwrap();
    }
}
