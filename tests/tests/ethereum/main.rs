//! Ethereum round trips against a real `geth --dev`.
//!
//! - `against_geth`: no Nexus network. The gateway deployed with an in-process FROST group key,
//!   requests seen by the watcher only once finalized and in order, fulfillments signed
//!   in-process and submitted by the relayer, the consumer called back, replays refused without
//!   gas, a key rotation by hand-over before a fulfillment, and the `nexus eth` commands.
//! - `with_network`: a real 4-validator devnet. `nexus eth deploy-gateway` takes the network's
//!   key, and the main job end to end: a contract's request answered by the network and
//!   delivered to the consumer, across a key rotation.
//!
//! One test binary, so the groups run in parallel. Needs geth (deploy/install-deps.sh) and the
//! compiled contracts (deploy/build-contracts.sh).

#[path = "../support/devnet.rs"]
mod devnet;
#[path = "../support/geth.rs"]
mod geth;
#[path = "../support/mod.rs"]
mod support;

mod against_geth;
mod with_network;

use std::time::Duration;

/// Longest wait for geth --dev to finalize a block (it finalizes in steps of an epoch), and for
/// the devnet's key and signatures.
const FINALITY_TIMEOUT: Duration = Duration::from_secs(180);
