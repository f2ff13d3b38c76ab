//! Library half of the `nexus` CLI: the parts end-to-end tests drive in-process. Today that is
//! the Ethereum side ([`eth`]): the gateway watcher, the relayer and contract deployment.

pub mod eth;

/// Default Nexus node RPC address: node0 of a devnet on the default base port.
pub const DEFAULT_NODE_RPC: &str = "http://127.0.0.1:26601";
