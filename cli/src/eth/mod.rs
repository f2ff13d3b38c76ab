//! Ethereum: the gateway watcher a validator's node reads requests from ([`watcher`]), the
//! relayer that submits signed outputs to `NexusGateway` ([`relayer`]), the blocking JSON-RPC
//! client they share ([`client`]), and the `nexus relayer` / `nexus eth …` subcommands ([`cmd`]).

pub mod client;
pub mod cmd;
pub mod relayer;
pub mod watcher;

pub use client::EthClient;
pub use relayer::{relay_item, HandoverSource, Relayed};
pub use watcher::{EthWatcher, WatcherConfig};
