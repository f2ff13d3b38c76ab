//! Library half of the `nexus` CLI: the parts end-to-end tests drive in-process. Today that is
//! the Ethereum side ([`eth`]): the gateway watcher, the relayer and contract deployment.

pub mod eth;
