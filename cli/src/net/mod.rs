//! Network commands: keys, transactions and proven queries against a node's CometBFT RPC, and
//! the node and devnet processes. Everything here is a thin layer over `nexus-consensus`.

pub mod devnet;
pub mod keys;
pub mod node;
pub mod query;
pub mod txs;
pub mod zk;

use std::path::PathBuf;

use clap::Args;

pub use nexus_cli::DEFAULT_NODE_RPC;

/// Where to reach the network.
#[derive(Args, Clone, Debug)]
pub struct NodeArgs {
    /// CometBFT RPC address of a node.
    #[arg(long, env = "NEXUS_NODE", default_value = DEFAULT_NODE_RPC)]
    pub node: String,
    /// Print results as JSON.
    #[arg(long)]
    pub json: bool,
}

impl NodeArgs {
    pub fn client(&self) -> nexus_consensus::client::Client {
        nexus_consensus::client::Client::new(&self.node)
    }
}

/// `~/.nexus`, or `$NEXUS_HOME`.
pub fn nexus_home() -> PathBuf {
    if let Some(p) = std::env::var_os("NEXUS_HOME") {
        return p.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".nexus")
}

/// Bytes shown to a person: UTF-8 text as is, anything else as `0x…` hex.
pub fn show_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => s.to_string(),
        _ => format!("0x{}", hex::encode(bytes)),
    }
}

/// Checks that `url` is an `http://` or `https://` URL with a host.
pub fn check_url(url: &str) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| anyhow::anyhow!("{url:?} is not an http:// or https:// URL"))?;
    if rest.is_empty() || rest.starts_with('/') || rest.contains(char::is_whitespace) {
        anyhow::bail!("{url:?} has no host");
    }
    Ok(())
}
