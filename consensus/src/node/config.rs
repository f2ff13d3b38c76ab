//! `nexus.toml` and the parts of CometBFT's `config.toml` the node sets.

use super::NodeError;
use crate::tx::MAX_TX_BYTES;
use serde::{Deserialize, Serialize};

pub const NODE_CONFIG_FILE: &str = "nexus.toml";

/// Loopback ports of one node.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CometPorts {
    pub p2p: u16,
    pub rpc: u16,
    pub abci: u16,
}

impl CometPorts {
    /// The ports of node `index` of a devnet whose first node uses `base`.
    pub fn for_index(base: u16, index: u16) -> CometPorts {
        let b = base + index * 10;
        CometPorts {
            p2p: b,
            rpc: b + 1,
            abci: b + 2,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    pub moniker: String,
    pub chain_id: String,
    pub ports: CometPorts,
    /// CometBFT `timeout_commit` (e.g. "300ms").
    pub timeout_commit: String,
}

impl NodeConfig {
    pub fn abci_addr(&self) -> String {
        format!("127.0.0.1:{}", self.ports.abci)
    }
    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.rpc)
    }

    /// Rewrites CometBFT's `config.toml` for this node: loopback addresses, our ABCI socket,
    /// transaction size limits that fit a deployed module, and the block cadence.
    pub fn apply_to_cometbft(
        &self,
        config_toml: &str,
        persistent_peers: &str,
    ) -> Result<String, NodeError> {
        let mut doc: toml::Table = config_toml
            .parse()
            .map_err(|e| NodeError::Config(format!("CometBFT config.toml: {e}")))?;
        let set = |doc: &mut toml::Table, section: Option<&str>, key: &str, value: toml::Value| {
            let table = match section {
                None => doc,
                Some(s) => doc
                    .entry(s)
                    .or_insert_with(|| toml::Value::Table(Default::default()))
                    .as_table_mut()
                    .expect("CometBFT sections are tables"),
            };
            table.insert(key.into(), value);
        };
        let s = |v: &str| toml::Value::String(v.to_string());
        let i = |v: i64| toml::Value::Integer(v);
        set(&mut doc, None, "moniker", s(&self.moniker));
        set(
            &mut doc,
            None,
            "proxy_app",
            s(&format!("tcp://{}", self.abci_addr())),
        );
        set(&mut doc, None, "abci", s("socket"));
        set(&mut doc, None, "log_level", s("info"));
        set(
            &mut doc,
            Some("rpc"),
            "laddr",
            s(&format!("tcp://127.0.0.1:{}", self.ports.rpc)),
        );
        // A deploy transaction travels base64 inside JSON.
        set(
            &mut doc,
            Some("rpc"),
            "max_body_bytes",
            i((MAX_TX_BYTES as i64) * 2),
        );
        set(
            &mut doc,
            Some("rpc"),
            "timeout_broadcast_tx_commit",
            s("30s"),
        );
        set(
            &mut doc,
            Some("p2p"),
            "laddr",
            s(&format!("tcp://127.0.0.1:{}", self.ports.p2p)),
        );
        set(
            &mut doc,
            Some("p2p"),
            "persistent_peers",
            s(persistent_peers),
        );
        set(
            &mut doc,
            Some("p2p"),
            "addr_book_strict",
            toml::Value::Boolean(false),
        );
        set(
            &mut doc,
            Some("p2p"),
            "allow_duplicate_ip",
            toml::Value::Boolean(true),
        );
        set(&mut doc, Some("p2p"), "pex", toml::Value::Boolean(false));
        set(
            &mut doc,
            Some("p2p"),
            "max_packet_msg_payload_size",
            i(1 << 20),
        );
        set(&mut doc, Some("p2p"), "send_rate", i(100 << 20));
        set(&mut doc, Some("p2p"), "recv_rate", i(100 << 20));
        set(
            &mut doc,
            Some("mempool"),
            "max_tx_bytes",
            i(MAX_TX_BYTES as i64),
        );
        set(&mut doc, Some("mempool"), "size", i(20_000));
        set(
            &mut doc,
            Some("consensus"),
            "timeout_commit",
            s(&self.timeout_commit),
        );
        set(&mut doc, Some("consensus"), "timeout_propose", s("2s"));
        set(
            &mut doc,
            Some("instrumentation"),
            "prometheus",
            toml::Value::Boolean(false),
        );
        toml::to_string(&doc).map_err(|e| NodeError::Config(e.to_string()))
    }
}
