//! `nexus node init`: a node's home directory.

use super::config::{CometPorts, NodeConfig, NODE_CONFIG_FILE};
use super::{cometbft_binary, io_err, NodeError};
use crate::address::{AccountKey, Address};
use base64::Engine as _;
use cap_std::ambient_authority;
use cap_std::fs::{Dir, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const OPERATOR_KEY_FILE: &str = "operator.key";
pub const COMETBFT_DIR: &str = "cometbft";

#[derive(Clone, Debug)]
pub struct InitOptions {
    pub home: PathBuf,
    pub moniker: String,
    pub chain_id: String,
    pub ports: CometPorts,
    pub timeout_commit: String,
    /// Ethereum JSON-RPC URL to watch for gateway requests (validators).
    pub eth_rpc: Option<String>,
}

/// An initialised node home.
pub struct NodeHome {
    pub path: PathBuf,
    pub dir: Dir,
    pub config: NodeConfig,
}

impl std::fmt::Debug for NodeHome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHome")
            .field("path", &self.path)
            .finish()
    }
}

fn run(cmd: &mut Command) -> Result<String, NodeError> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| NodeError::Command {
        command: shown.clone(),
        message: format!("{e} (is CometBFT installed? deploy/install-deps.sh installs it)"),
    })?;
    if !out.status.success() {
        return Err(NodeError::Command {
            command: shown,
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Creates a node home: CometBFT keys and config, an operator account key, `nexus.toml`.
/// Refuses a directory that already holds a node.
pub fn init(opts: &InitOptions) -> Result<NodeHome, NodeError> {
    std::fs::create_dir_all(&opts.home)
        .map_err(io_err(format!("creating {}", opts.home.display())))?;
    let dir = Dir::open_ambient_dir(&opts.home, ambient_authority())
        .map_err(io_err(format!("opening {}", opts.home.display())))?;
    if dir.exists(NODE_CONFIG_FILE) {
        return Err(NodeError::Config(format!(
            "{} already holds a node (found {NODE_CONFIG_FILE}); pick an empty directory",
            opts.home.display()
        )));
    }
    let comet_home = opts.home.join(COMETBFT_DIR);
    run(Command::new(cometbft_binary())
        .arg("init")
        .arg("--home")
        .arg(&comet_home))?;
    let key = AccountKey::generate();
    write_private(
        &dir,
        OPERATOR_KEY_FILE,
        hex::encode(key.to_bytes()).as_bytes(),
    )?;
    let config = NodeConfig {
        moniker: opts.moniker.clone(),
        chain_id: opts.chain_id.clone(),
        ports: opts.ports,
        timeout_commit: opts.timeout_commit.clone(),
        eth_rpc: opts.eth_rpc.clone(),
    };
    let text = toml::to_string(&config).map_err(|e| NodeError::Config(e.to_string()))?;
    dir.write(NODE_CONFIG_FILE, text)
        .map_err(io_err("writing nexus.toml"))?;
    let home = NodeHome {
        path: opts.home.clone(),
        dir,
        config,
    };
    home.write_cometbft_config("")?;
    Ok(home)
}

fn write_private(dir: &Dir, name: &str, bytes: &[u8]) -> Result<(), NodeError> {
    use cap_std::fs::OpenOptionsExt;
    let mut opts = OpenOptions::new();
    opts.write(true).create_new(true).mode(0o600);
    let mut f = dir
        .open_with(name, &opts)
        .map_err(io_err(format!("creating {name}")))?;
    f.write_all(bytes)
        .map_err(io_err(format!("writing {name}")))?;
    f.sync_all().map_err(io_err(format!("syncing {name}")))
}

impl NodeHome {
    pub fn open(path: &Path) -> Result<NodeHome, NodeError> {
        let dir = Dir::open_ambient_dir(path, ambient_authority()).map_err(io_err(format!(
            "opening node home {} (run `nexus node init` first)",
            path.display()
        )))?;
        let text = dir
            .read_to_string(NODE_CONFIG_FILE)
            .map_err(io_err(format!(
                "reading {}/{NODE_CONFIG_FILE} (run `nexus node init` first)",
                path.display()
            )))?;
        let config: NodeConfig = toml::from_str(&text)
            .map_err(|e| NodeError::Config(format!("{NODE_CONFIG_FILE}: {e}")))?;
        Ok(NodeHome {
            path: path.to_path_buf(),
            dir,
            config,
        })
    }

    pub fn comet_home(&self) -> PathBuf {
        self.path.join(COMETBFT_DIR)
    }

    pub fn operator_key(&self) -> Result<AccountKey, NodeError> {
        read_key(&self.dir, OPERATOR_KEY_FILE)
    }

    pub fn operator(&self) -> Result<Address, NodeError> {
        Ok(self.operator_key()?.address())
    }

    /// The CometBFT validator public key (ed25519).
    pub fn validator_pubkey(&self) -> Result<[u8; 32], NodeError> {
        let text = self
            .dir
            .read_to_string(format!("{COMETBFT_DIR}/config/priv_validator_key.json"))
            .map_err(io_err("reading priv_validator_key.json"))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| NodeError::Config(e.to_string()))?;
        let b64 = v["pub_key"]["value"]
            .as_str()
            .ok_or_else(|| NodeError::Config("priv_validator_key.json has no pub_key".into()))?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| NodeError::Config(e.to_string()))?;
        raw.try_into()
            .map_err(|_| NodeError::Config("validator key is not ed25519".into()))
    }

    /// CometBFT's node id (for peers).
    pub fn node_id(&self) -> Result<String, NodeError> {
        run(Command::new(cometbft_binary())
            .arg("show-node-id")
            .arg("--home")
            .arg(self.comet_home()))
    }

    pub fn write_cometbft_config(&self, persistent_peers: &str) -> Result<(), NodeError> {
        let rel = format!("{COMETBFT_DIR}/config/config.toml");
        let current = self
            .dir
            .read_to_string(&rel)
            .map_err(io_err("reading CometBFT config.toml"))?;
        let updated = self.config.apply_to_cometbft(&current, persistent_peers)?;
        self.dir
            .write(&rel, updated)
            .map_err(io_err("writing CometBFT config.toml"))
    }

    pub fn genesis_path(&self) -> String {
        format!("{COMETBFT_DIR}/config/genesis.json")
    }

    pub fn read_genesis(&self) -> Result<serde_json::Value, NodeError> {
        let text = self
            .dir
            .read_to_string(self.genesis_path())
            .map_err(io_err("reading genesis.json"))?;
        serde_json::from_str(&text).map_err(|e| NodeError::Config(format!("genesis.json: {e}")))
    }

    pub fn write_genesis(&self, genesis: &serde_json::Value) -> Result<(), NodeError> {
        let text = serde_json::to_string_pretty(genesis).expect("JSON values serialize");
        self.dir
            .write(self.genesis_path(), text)
            .map_err(io_err("writing genesis.json"))
    }
}

/// Reads a hex secret key file.
pub fn read_key(dir: &Dir, name: &str) -> Result<AccountKey, NodeError> {
    let text = dir
        .read_to_string(name)
        .map_err(io_err(format!("reading key {name}")))?;
    let raw = hex::decode(text.trim())
        .map_err(|_| NodeError::Config(format!("{name} is not a hex secret key")))?;
    let arr: [u8; 32] = raw
        .try_into()
        .map_err(|_| NodeError::Config(format!("{name} must hold 32 bytes")))?;
    AccountKey::from_bytes(&arr).map_err(|e| NodeError::Config(format!("{name}: {e}")))
}

/// Writes a new secret key file (fails if it exists).
pub fn write_key(dir: &Dir, name: &str, key: &AccountKey) -> Result<(), NodeError> {
    write_private(dir, name, hex::encode(key.to_bytes()).as_bytes())
}
