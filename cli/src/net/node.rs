//! `nexus node init|start`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use nexus_consensus::node::{devnet, init, CometPorts, InitOptions, NodeHome};
use nexus_consensus::ChainParams;

/// Default chain id of a node initialised on its own.
pub const DEFAULT_CHAIN_ID: &str = "nexus-local";

#[derive(Subcommand)]
pub enum NodeCommand {
    /// Create a node home: CometBFT keys and configuration, an operator key, nexus.toml. Without
    /// --genesis the node is the only validator of a new chain.
    Init {
        #[arg(long)]
        home: PathBuf,
        #[arg(long, default_value = "node")]
        moniker: String,
        #[arg(long, default_value = DEFAULT_CHAIN_ID)]
        chain_id: String,
        /// First of the node's loopback ports: p2p = BASE, rpc = BASE+1, abci = BASE+2.
        #[arg(long, default_value_t = 26600)]
        base_port: u16,
        /// CometBFT's pause after each commit (block cadence).
        #[arg(long, default_value = "500ms")]
        timeout_commit: String,
        /// Join an existing network: its genesis.json.
        #[arg(long)]
        genesis: Option<PathBuf>,
        /// Persistent peers (`id@host:port,…`) when joining.
        #[arg(long, default_value = "")]
        peers: String,
        /// Ethereum JSON-RPC URL whose finalized blocks this validator watches for requests
        /// to the chain's gateway (chain parameter `eth_gateway`).
        #[arg(long)]
        eth_rpc: Option<String>,
    },
    /// Run the node: the ABCI application plus a supervised `cometbft`, until SIGTERM/SIGINT.
    Start {
        #[arg(long)]
        home: PathBuf,
    },
}

pub fn node(command: NodeCommand) -> Result<i32> {
    match command {
        NodeCommand::Init {
            home,
            moniker,
            chain_id,
            base_port,
            timeout_commit,
            genesis,
            peers,
            eth_rpc,
        } => {
            if let Some(url) = &eth_rpc {
                crate::net::check_url(url).context("--eth-rpc")?;
            }
            let h = init(&InitOptions {
                home: home.clone(),
                moniker,
                chain_id,
                ports: CometPorts::for_index(base_port, 0),
                timeout_commit,
                eth_rpc,
            })?;
            match genesis {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("reading {}", path.display()))?;
                    let value: serde_json::Value = serde_json::from_str(&text)
                        .with_context(|| format!("{} is not JSON", path.display()))?;
                    devnet::install_genesis(&h, &value)?;
                    h.write_cometbft_config(&peers)?;
                }
                None => devnet::write_solo_genesis(&h, &ChainParams::default())?,
            }
            println!("home      {}", home.display());
            println!("operator  {}", h.operator()?);
            println!("node id   {}", h.node_id()?);
            println!("rpc       {}", h.config.rpc_url());
            Ok(0)
        }
        NodeCommand::Start { home } => {
            let h = NodeHome::open(&home)?;
            nexus_consensus::node::start_with(&h, Some(watcher_factory()))?;
            Ok(0)
        }
    }
}

/// How often a validator's Ethereum watcher polls for the finalized block.
pub const WATCHER_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// The node's Ethereum watcher (used when `nexus.toml` names `eth_rpc`): the gateway's
/// finalized `Requested` logs, scanned from Ethereum block 0.
fn watcher_factory() -> nexus_consensus::node::WatcherFactory {
    Box::new(|url: &str, gateway: [u8; 20]| {
        nexus_cli::eth::watcher::EthWatcher::spawn_with(nexus_cli::eth::watcher::WatcherConfig {
            rpc_url: url.to_string(),
            gateway: gateway.into(),
            poll_interval: WATCHER_POLL,
            from_block: 0,
        })
        .map(|w| {
            std::sync::Arc::new(w) as std::sync::Arc<dyn nexus_consensus::ethereum::RequestSource>
        })
        .map_err(|e| format!("{e:#}"))
    })
}
