//! A local network of N validators on loopback: one node home per validator, one shared genesis,
//! every node a persistent peer of every other.
//!
//! ```text
//! <dir>/devnet.json     the layout (chain id, nodes, ports)
//! <dir>/faucet.key      a funded account for users and tests (hex secret key, mode 0600)
//! <dir>/node<i>/        node homes (see the `node` module)
//! ```
//!
//! This module only writes files; starting and stopping the node processes is the CLI's job.

use super::config::CometPorts;
use super::home::{init, write_key, InitOptions, NodeHome};
use super::{io_err, NodeError};
use crate::address::{AccountKey, Address};
use crate::genesis::{power_of, AppGenesis, GenesisAccount, GenesisValidator};
use crate::params::ChainParams;
use crate::tx::MAX_TX_BYTES;
use base64::Engine as _;
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

pub const DEVNET_FILE: &str = "devnet.json";
pub const FAUCET_KEY_FILE: &str = "faucet.key";
/// Most validators a devnet may have (ports and processes on one machine).
pub const MAX_DEVNET_VALIDATORS: u16 = 32;
/// Stake each genesis validator bonds.
pub const DEVNET_VALIDATOR_STAKE: u128 = 100_000_000;
/// Balance of each validator's operator account at genesis.
pub const DEVNET_OPERATOR_BALANCE: u128 = 1_000_000_000_000_000;
/// Balance of the faucet account at genesis.
pub const DEVNET_FAUCET_BALANCE: u128 = 1_000_000_000_000_000_000;
/// CometBFT's block size limit: room for the largest transaction plus the block's overhead.
pub const BLOCK_MAX_BYTES: usize = MAX_TX_BYTES + (1 << 20);

#[derive(Clone, Debug)]
pub struct DevnetOptions {
    pub dir: PathBuf,
    pub validators: u16,
    pub chain_id: String,
    pub base_port: u16,
    pub timeout_commit: String,
    pub params: ChainParams,
    /// Ethereum JSON-RPC URL every node watches (with `params.eth_gateway`).
    pub eth_rpc: Option<String>,
}

/// One node of a devnet, as recorded in `devnet.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DevnetNode {
    pub name: String,
    pub home: PathBuf,
    pub ports: CometPorts,
    pub operator: Address,
    pub node_id: String,
}

impl DevnetNode {
    pub fn rpc_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.ports.rpc)
    }
    pub fn p2p_addr(&self) -> String {
        format!("{}@127.0.0.1:{}", self.node_id, self.ports.p2p)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Devnet {
    pub chain_id: String,
    pub base_port: u16,
    pub timeout_commit: String,
    pub nodes: Vec<DevnetNode>,
    /// The Ethereum node the validators watch, if any (nodes added later watch it too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eth_rpc: Option<String>,
}

impl Devnet {
    pub fn load(dir: &Path) -> Result<Devnet, NodeError> {
        let path = dir.join(DEVNET_FILE);
        let text = std::fs::read_to_string(&path).map_err(io_err(format!(
            "reading {} (run `nexus devnet up` first)",
            path.display()
        )))?;
        serde_json::from_str(&text)
            .map_err(|e| NodeError::Config(format!("{}: {e}", path.display())))
    }

    fn save(&self, dir: &Dir) -> Result<(), NodeError> {
        let text = serde_json::to_string_pretty(self).expect("devnet layout serializes");
        dir.write(DEVNET_FILE, text)
            .map_err(io_err(format!("writing {DEVNET_FILE}")))
    }

    /// `persistent_peers` for every node except `skip`.
    pub fn peers_except(&self, skip: usize) -> String {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, n)| n.p2p_addr())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The faucet's key.
    pub fn faucet_key(dir: &Path) -> Result<AccountKey, NodeError> {
        let d = Dir::open_ambient_dir(dir, ambient_authority())
            .map_err(io_err(format!("opening {}", dir.display())))?;
        super::read_key(&d, FAUCET_KEY_FILE)
    }
}

/// Creates the homes, keys, genesis and peer configuration of a new devnet. Refuses a
/// directory that already holds one.
pub fn create(opts: &DevnetOptions) -> Result<Devnet, NodeError> {
    if opts.validators == 0 || opts.validators > MAX_DEVNET_VALIDATORS {
        return Err(NodeError::Config(format!(
            "a devnet has 1 to {MAX_DEVNET_VALIDATORS} validators, not {}",
            opts.validators
        )));
    }
    let last_port = u32::from(opts.base_port) + 10 * u32::from(opts.validators) + 10;
    if opts.base_port < 1024 || last_port > u32::from(u16::MAX) {
        return Err(NodeError::Config(format!(
            "base port {} leaves no room for {} nodes (each uses 10 ports from base + 10 i)",
            opts.base_port, opts.validators
        )));
    }
    opts.params
        .validate()
        .map_err(|e| NodeError::Config(e.to_string()))?;
    std::fs::create_dir_all(&opts.dir)
        .map_err(io_err(format!("creating {}", opts.dir.display())))?;
    let dir = Dir::open_ambient_dir(&opts.dir, ambient_authority())
        .map_err(io_err(format!("opening {}", opts.dir.display())))?;
    if dir.exists(DEVNET_FILE) {
        return Err(NodeError::Config(format!(
            "{} already holds a devnet; run `nexus devnet down --dir {0} --purge` or pick another directory",
            opts.dir.display()
        )));
    }
    let faucet = AccountKey::generate();
    write_key(&dir, FAUCET_KEY_FILE, &faucet)?;

    let mut homes = Vec::new();
    for i in 0..opts.validators {
        let name = format!("node{i}");
        let home = init(&InitOptions {
            home: opts.dir.join(&name),
            moniker: name,
            chain_id: opts.chain_id.clone(),
            ports: CometPorts::for_index(opts.base_port, i),
            timeout_commit: opts.timeout_commit.clone(),
            eth_rpc: opts.eth_rpc.clone(),
        })?;
        homes.push(home);
    }
    let mut nodes = Vec::new();
    let mut app = AppGenesis {
        accounts: vec![GenesisAccount {
            address: faucet.address(),
            balance: DEVNET_FAUCET_BALANCE,
        }],
        validators: Vec::new(),
        params: opts.params.clone(),
    };
    let mut comet_validators = Vec::new();
    for home in &homes {
        let operator = home.operator()?;
        let consensus_key = home.validator_pubkey()?;
        app.accounts.push(GenesisAccount {
            address: operator,
            balance: DEVNET_OPERATOR_BALANCE,
        });
        app.validators.push(GenesisValidator {
            operator,
            consensus_key,
            stake: DEVNET_VALIDATOR_STAKE,
        });
        comet_validators.push((
            home.config.moniker.clone(),
            consensus_key,
            power_of(DEVNET_VALIDATOR_STAKE),
        ));
        nodes.push(DevnetNode {
            name: home.config.moniker.clone(),
            home: home.path.clone(),
            ports: home.config.ports,
            operator,
            node_id: home.node_id()?,
        });
    }
    app.validate()
        .map_err(|e| NodeError::Config(e.to_string()))?;
    let template = homes[0].read_genesis()?;
    let genesis = cometbft_genesis(template, &opts.chain_id, &app, &comet_validators)?;
    let devnet = Devnet {
        chain_id: opts.chain_id.clone(),
        base_port: opts.base_port,
        timeout_commit: opts.timeout_commit.clone(),
        nodes,
        eth_rpc: opts.eth_rpc.clone(),
    };
    for (i, home) in homes.iter().enumerate() {
        home.write_genesis(&genesis)?;
        home.write_cometbft_config(&devnet.peers_except(i))?;
    }
    devnet.save(&dir)?;
    Ok(devnet)
}

/// Adds a non-validator node to an existing devnet (it may later bond stake with
/// `CreateValidator`): a fresh home with the devnet's genesis, peered with every node.
pub fn add_node(dir: &Path) -> Result<(Devnet, NodeHome), NodeError> {
    let mut devnet = Devnet::load(dir)?;
    let index = u16::try_from(devnet.nodes.len()).unwrap_or(u16::MAX);
    if index >= MAX_DEVNET_VALIDATORS {
        return Err(NodeError::Config(format!(
            "a devnet has at most {MAX_DEVNET_VALIDATORS} nodes"
        )));
    }
    let name = format!("node{index}");
    let home = init(&InitOptions {
        home: dir.join(&name),
        moniker: name.clone(),
        chain_id: devnet.chain_id.clone(),
        ports: CometPorts::for_index(devnet.base_port, index),
        timeout_commit: devnet.timeout_commit.clone(),
        eth_rpc: devnet.eth_rpc.clone(),
    })?;
    let first = NodeHome::open(&devnet.nodes[0].home)?;
    home.write_genesis(&first.read_genesis()?)?;
    let peers = devnet
        .nodes
        .iter()
        .map(DevnetNode::p2p_addr)
        .collect::<Vec<_>>()
        .join(",");
    home.write_cometbft_config(&peers)?;
    devnet.nodes.push(DevnetNode {
        name,
        home: home.path.clone(),
        ports: home.config.ports,
        operator: home.operator()?,
        node_id: home.node_id()?,
    });
    let d = Dir::open_ambient_dir(dir, ambient_authority())
        .map_err(io_err(format!("opening {}", dir.display())))?;
    devnet.save(&d)?;
    Ok((devnet, home))
}

/// Makes `home` the only validator of a new chain (its operator funded and bonded), writing the
/// genesis into it. For `nexus node init` without `--genesis`.
pub fn write_solo_genesis(home: &NodeHome, params: &ChainParams) -> Result<(), NodeError> {
    let operator = home.operator()?;
    let consensus_key = home.validator_pubkey()?;
    let app = AppGenesis {
        accounts: vec![GenesisAccount {
            address: operator,
            balance: DEVNET_OPERATOR_BALANCE,
        }],
        validators: vec![GenesisValidator {
            operator,
            consensus_key,
            stake: DEVNET_VALIDATOR_STAKE,
        }],
        params: params.clone(),
    };
    app.validate()
        .map_err(|e| NodeError::Config(e.to_string()))?;
    let genesis = cometbft_genesis(
        home.read_genesis()?,
        &home.config.chain_id,
        &app,
        &[(
            home.config.moniker.clone(),
            consensus_key,
            power_of(DEVNET_VALIDATOR_STAKE),
        )],
    )?;
    home.write_genesis(&genesis)
}

/// Installs a network's genesis file into `home` after checking it is one (its `app_state`
/// must be a valid Nexus genesis and its chain id the node's).
pub fn install_genesis(home: &NodeHome, genesis: &Value) -> Result<(), NodeError> {
    let chain_id = genesis["chain_id"].as_str().unwrap_or_default();
    if chain_id != home.config.chain_id {
        return Err(NodeError::Config(format!(
            "the genesis is for chain `{chain_id}`, the node was initialised for `{}`",
            home.config.chain_id
        )));
    }
    let app = serde_json::to_vec(&genesis["app_state"]).expect("JSON values serialize");
    AppGenesis::from_json(&app).map_err(|e| NodeError::Config(format!("genesis: {e}")))?;
    home.write_genesis(genesis)
}

/// CometBFT's genesis document for `app`: `template` is the one `cometbft init` wrote (for its
/// genesis time and default parameters); the chain id, validators, block size limit, vote
/// extensions and `app_state` are set here.
pub fn cometbft_genesis(
    mut template: Value,
    chain_id: &str,
    app: &AppGenesis,
    validators: &[(String, [u8; 32], i64)],
) -> Result<Value, NodeError> {
    let obj = template
        .as_object_mut()
        .ok_or_else(|| NodeError::Config("genesis.json is not an object".into()))?;
    obj.insert("chain_id".into(), json!(chain_id));
    obj.insert("initial_height".into(), json!("1"));
    obj.insert("app_hash".into(), json!(""));
    obj.insert(
        "app_state".into(),
        serde_json::to_value(app).expect("app genesis serializes"),
    );
    let b64 = base64::engine::general_purpose::STANDARD;
    let vals: Vec<Value> = validators
        .iter()
        .map(|(name, key, power)| {
            let addr = crate::ledger::consensus_address(key);
            json!({
                "address": hex::encode_upper(addr),
                "pub_key": {"type": "tendermint/PubKeyEd25519", "value": b64.encode(key)},
                "power": power.to_string(),
                "name": name,
            })
        })
        .collect();
    obj.insert("validators".into(), Value::Array(vals));
    let params = obj
        .entry("consensus_params")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or_else(|| NodeError::Config("consensus_params is not an object".into()))?;
    params.insert(
        "block".into(),
        json!({"max_bytes": BLOCK_MAX_BYTES.to_string(), "max_gas": "-1"}),
    );
    // Vote extensions carry threshold-signature material from the first height on.
    params.insert("abci".into(), json!({"vote_extensions_enable_height": "1"}));
    Ok(template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genesis_sets_the_parts_the_app_relies_on() {
        let template = json!({"genesis_time": "2026-01-01T00:00:00Z", "chain_id": "x",
            "consensus_params": {"evidence": {"max_age_num_blocks": "100000"}}});
        let key = [7u8; 32];
        let app = AppGenesis {
            accounts: vec![],
            validators: vec![GenesisValidator {
                operator: Address([1; 20]),
                consensus_key: key,
                stake: DEVNET_VALIDATOR_STAKE,
            }],
            params: ChainParams::default(),
        };
        let g =
            cometbft_genesis(template, "nexus-dev", &app, &[("node0".into(), key, 100)]).unwrap();
        assert_eq!(g["chain_id"], "nexus-dev");
        assert_eq!(g["genesis_time"], "2026-01-01T00:00:00Z");
        assert_eq!(g["validators"][0]["power"], "100");
        assert_eq!(
            g["consensus_params"]["abci"]["vote_extensions_enable_height"],
            "1"
        );
        assert_eq!(
            g["consensus_params"]["evidence"]["max_age_num_blocks"],
            "100000"
        );
        let max: usize = g["consensus_params"]["block"]["max_bytes"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(max > MAX_TX_BYTES);
        let back = AppGenesis::from_json(&serde_json::to_vec(&g["app_state"]).unwrap()).unwrap();
        assert_eq!(back, app);
    }
}
