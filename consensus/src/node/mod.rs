//! The node process: a home directory with keys and CometBFT's configuration (`init`), and
//! `start`, which serves the ABCI application and the HTTP API (`crate::api`, on `ports.api`)
//! and supervises its `cometbft` process.
//!
//! Home layout:
//!
//! ```text
//! <home>/nexus.toml          node configuration (NodeConfig)
//! <home>/operator.key        the operator account's secret key (hex, mode 0600)
//! <home>/cometbft/           CometBFT's home (config/, data/)
//! <home>/data/state/         the replicated state (RocksDB)
//! <home>/data/module-cache/  compiled modules (never consensus state)
//! <home>/data/threshold/     threshold secrets: encryption key, DKG state, key shares, nonces
//! <home>/cometbft.log        CometBFT's output
//! ```
//!
//! Files in the home are read and written through a `cap-std` directory handle, so the node never
//! touches paths outside it (RocksDB opens its own directory by path, inside the home).

pub mod abci_server;
mod config;
pub mod devnet;
mod home;
mod supervise;

pub use config::{CometPorts, NodeConfig, NODE_CONFIG_FILE};
pub use home::{init, read_key, write_key, InitOptions, NodeHome};
pub use supervise::{start, start_with, StartError, WatcherFactory};

use thiserror::Error;

#[derive(Debug, Error)]
pub enum NodeError {
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
    #[error("{0}")]
    Config(String),
}

pub(crate) fn io_err(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> NodeError {
    let what = what.into();
    move |source| NodeError::Io { what, source }
}

/// The `cometbft` binary: `$NEXUS_COMETBFT`, else `cometbft` on `PATH`, else `~/go/bin/cometbft`.
pub fn cometbft_binary() -> std::path::PathBuf {
    if let Some(p) = std::env::var_os("NEXUS_COMETBFT") {
        return p.into();
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join("cometbft");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    if let Some(home) = std::env::var_os("HOME") {
        let candidate = std::path::Path::new(&home).join("go/bin/cometbft");
        if candidate.is_file() {
            return candidate;
        }
    }
    "cometbft".into()
}
