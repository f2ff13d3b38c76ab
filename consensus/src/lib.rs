//! `nexus-consensus`: the Nexus ABCI++ application and the node around it.
//!
//! Owns the signed transaction format ([`tx`]), accounts and staking state ([`ledger`],
//! [`staking`]), the deterministic block state machine ([`execute`]), the ABCI++ application
//! CometBFT 0.38 drives ([`app`]), proven queries ([`query`]) and the node's HTTP/JSON API over
//! the same reads ([`api`]), the node process that supervises `cometbft` ([`node`]), and the
//! client that talks to a node's CometBFT RPC ([`client`]).
//!
//! Threshold signing ([`threshold`]) drives `nexus-threshold`: DKG transactions, signing
//! through vote extensions, the outbox of signed outputs, key rotation.
//!
//! Ethereum requests ([`ethereum`]): validators report the `NexusGateway` requests their node's
//! watcher saw in finalized blocks inside their vote extensions ([`extension`]); a request
//! reported by > 2/3 of the power is invoked and its first output is the answer the network
//! signs. The watcher itself is the CLI's (alloy): this crate defines only [`ethereum::RequestSource`].
//!
//! zk-Functions ([`zk`]): RV32IM programs deployed by transaction, proof jobs with escrowed
//! rewards, registered provers, proofs verified in `FinalizeBlock` with `nexus-zkvm-bridge`,
//! verified outputs threshold-signed through the outbox.
//!
//! Function execution and storage come from `nexus-runtime` and `nexus-store`. Must not depend on
//! the CLI or on Ethereum nodes.
//!
//! We use `tendermint-abci` 0.41 (CometBFT 0.38 only, one blocking thread per ABCI connection)
//! rather than `tower-abci`: the app is synchronous (wasmtime execution and RocksDB commits are
//! blocking work), CometBFT serializes the consensus connection anyway, and it avoids the older
//! tendermint 0.40 / prost 0.13 stack. Only the HTTP API is async, on its own thread and its own
//! small tokio runtime, apart from consensus.

pub mod address;
pub mod api;
pub mod app;
pub mod client;
pub mod error;
pub mod ethereum;
pub mod execute;
pub mod extension;
pub mod genesis;
pub mod ledger;
pub mod node;
pub mod params;
pub mod query;
pub mod staking;
pub mod threshold;
pub mod tx;
pub mod zk;

pub use address::{AccountKey, Address};
pub use app::NexusApp;
pub use error::TxError;
pub use genesis::AppGenesis;
pub use params::ChainParams;
pub use tx::{SignedTx, TxBody, TxKind};
