//! `nexus.toml` and the parts of CometBFT's `config.toml` the node sets.

use super::NodeError;
use crate::tx::MAX_TX_BYTES;
use serde::{Deserialize, Serialize};

pub const NODE_CONFIG_FILE: &str = "nexus.toml";

/// Loopback ports of one node.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(try_from = "PortsFile")]
pub struct CometPorts {
    /// CometBFT peer-to-peer.
    pub p2p: u16,
    /// CometBFT RPC.
    pub rpc: u16,
    /// Our ABCI server (CometBFT connects to it).
    pub abci: u16,
    /// Our HTTP/JSON API (`crate::api`). Homes made before it existed have no `api` in
    /// `nexus.toml`; they get `abci + 1`.
    pub api: u16,
}

/// `[ports]` as written in `nexus.toml`, where `api` may be missing.
#[derive(Deserialize)]
struct PortsFile {
    p2p: u16,
    rpc: u16,
    abci: u16,
    #[serde(default)]
    api: Option<u16>,
}

impl TryFrom<PortsFile> for CometPorts {
    type Error = String;

    fn try_from(f: PortsFile) -> Result<CometPorts, String> {
        let api = match f.api {
            Some(api) => api,
            None => f.abci.checked_add(1).ok_or_else(|| {
                "ports.api is missing and the default (ports.abci + 1) overflows".to_string()
            })?,
        };
        Ok(CometPorts {
            p2p: f.p2p,
            rpc: f.rpc,
            abci: f.abci,
            api,
        })
    }
}

impl CometPorts {
    /// The ports of node `index` of a devnet whose first node uses `base`.
    pub fn for_index(base: u16, index: u16) -> CometPorts {
        let b = base + index * 10;
        CometPorts {
            p2p: b,
            rpc: b + 1,
            abci: b + 2,
            api: b + 3,
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
    /// JSON-RPC URL of the Ethereum node whose finalized blocks this validator watches for
    /// gateway requests (the gateway is the chain parameter `eth_gateway`). None: no watching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eth_rpc: Option<String>,
}

impl NodeConfig {
    pub fn abci_addr(&self) -> String {
        format!("127.0.0.1:{}", self.ports.abci)
    }
    pub fn api_addr(&self) -> String {
        format!("127.0.0.1:{}", self.ports.api)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nexus_toml_without_an_api_port_gets_the_port_after_abci() {
        let text = r#"
moniker = "n0"
chain_id = "c"
timeout_commit = "300ms"

[ports]
p2p = 26600
rpc = 26601
abci = 26602
"#;
        let config: NodeConfig = toml::from_str(text).unwrap();
        assert_eq!(config.ports.api, 26603);
        assert_eq!(config.ports, CometPorts::for_index(26600, 0));
    }

    #[test]
    fn the_api_port_round_trips_through_nexus_toml() {
        let config = NodeConfig {
            moniker: "n1".into(),
            chain_id: "c".into(),
            ports: CometPorts {
                api: 40000,
                ..CometPorts::for_index(26600, 1)
            },
            timeout_commit: "1s".into(),
            eth_rpc: Some("http://127.0.0.1:8545".into()),
        };
        let text = toml::to_string(&config).unwrap();
        assert_eq!(toml::from_str::<NodeConfig>(&text).unwrap(), config);
    }

    #[test]
    fn ports_of_devnet_nodes_do_not_overlap() {
        let a = CometPorts::for_index(26600, 0);
        let b = CometPorts::for_index(26600, 1);
        assert_eq!((a.p2p, a.rpc, a.abci, a.api), (26600, 26601, 26602, 26603));
        assert_eq!(b.p2p, 26610);
    }
}
