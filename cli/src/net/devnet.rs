//! `nexus devnet up|down|status|add-node`: N validators on loopback, each a `nexus node start`
//! process (which supervises its own `cometbft`), with a pid file and a log in its home.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Subcommand;
use nexus_consensus::client::Client;
use nexus_consensus::node::devnet::{self, Devnet, DevnetNode, DevnetOptions};
use nexus_consensus::ChainParams;

pub const NODE_PID_FILE: &str = "node.pid";
pub const NODE_LOG_FILE: &str = "node.log";
/// How long `up` waits for the network to commit its first block.
pub const UP_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a node gets to stop after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(200);

#[derive(Subcommand)]
pub enum DevnetCommand {
    /// Create the devnet (if DIR holds none) and start every node that is not running.
    Up {
        #[arg(long, env = "NEXUS_DEVNET_DIR")]
        dir: Option<PathBuf>,
        #[arg(long, default_value_t = 4)]
        validators: u16,
        #[arg(long, default_value = "nexus-devnet")]
        chain_id: String,
        /// Node i uses ports BASE+10i (p2p), +1 (rpc), +2 (abci).
        #[arg(long, default_value_t = 26600)]
        base_port: u16,
        #[arg(long, default_value = "500ms")]
        timeout_commit: String,
        /// Blocks per epoch (validator-set changes apply at epoch ends).
        #[arg(long)]
        epoch_length: Option<u64>,
        /// Blocks before unbonded stake returns.
        #[arg(long)]
        unbonding_blocks: Option<u64>,
        /// Start only this node (by index).
        #[arg(long)]
        node: Option<usize>,
        /// Return once the processes are started, without waiting for a block.
        #[arg(long)]
        no_wait: bool,
        /// Ethereum JSON-RPC URL every validator watches for gateway requests.
        #[arg(long, requires = "eth_gateway")]
        eth_rpc: Option<String>,
        /// Address of the NexusGateway on that chain (chain parameter `eth_gateway`; may be
        /// deployed later at this address, e.g. the deployer's next CREATE address).
        #[arg(long)]
        eth_gateway: Option<String>,
        /// Ethereum chain id in the signed messages (chain parameter `eth_chain_id`).
        #[arg(long)]
        eth_chain_id: Option<u64>,
    },
    /// Stop the devnet's nodes (SIGTERM, then SIGKILL after a grace period).
    Down {
        #[arg(long, env = "NEXUS_DEVNET_DIR")]
        dir: Option<PathBuf>,
        /// Stop only this node (by index).
        #[arg(long)]
        node: Option<usize>,
        /// Delete the devnet directory afterwards.
        #[arg(long)]
        purge: bool,
    },
    /// Height and app hash of every node.
    Status {
        #[arg(long, env = "NEXUS_DEVNET_DIR")]
        dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Add a (non-validator) node to the devnet and start it.
    AddNode {
        #[arg(long, env = "NEXUS_DEVNET_DIR")]
        dir: Option<PathBuf>,
        /// Only create its home; start it later with `up --node <index>`.
        #[arg(long)]
        no_start: bool,
    },
}

fn devnet_dir(dir: Option<PathBuf>) -> PathBuf {
    dir.unwrap_or_else(|| super::nexus_home().join("devnet"))
}

/// The pid of a running `nexus node start` for `home`, if any.
pub fn running_pid(home: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(home.join(NODE_PID_FILE)).ok()?;
    let pid: i32 = text.trim().parse().ok()?;
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // A zombie is not running.
    let state = stat.rsplit(')').next()?.split_whitespace().next()?;
    (cmdline.contains("node start") && state != "Z").then_some(pid)
}

fn spawn_node(node: &DevnetNode) -> Result<Child> {
    let exe = std::env::current_exe().context("locating the nexus binary")?;
    let log_path = node.home.join(NODE_LOG_FILE);
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .with_context(|| format!("opening {}", log_path.display()))?;
    let child = Command::new(exe)
        .arg("node")
        .arg("start")
        .arg("--home")
        .arg(&node.home)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        // Its own process group: the node and its cometbft outlive this command and can be
        // signalled together.
        .process_group(0)
        .spawn()
        .context("starting `nexus node start`")?;
    std::fs::write(node.home.join(NODE_PID_FILE), child.id().to_string())
        .context("writing the pid file")?;
    Ok(child)
}

fn log_tail(home: &Path) -> String {
    let text = std::fs::read_to_string(home.join(NODE_LOG_FILE)).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn select(devnet: &Devnet, only: Option<usize>) -> Result<Vec<&DevnetNode>> {
    match only {
        Some(i) => match devnet.nodes.get(i) {
            Some(n) => Ok(vec![n]),
            None => bail!(
                "the devnet has {} nodes; there is no node {i}",
                devnet.nodes.len()
            ),
        },
        None => Ok(devnet.nodes.iter().collect()),
    }
}

fn start_nodes(nodes: &[&DevnetNode], wait: bool) -> Result<()> {
    // The children we spawned, to notice one exiting; a node already running is watched
    // through its pid file instead. (Right after the fork, /proc shows this command's own
    // command line until the child has exec'd, so the pid file alone cannot tell.)
    let mut children: Vec<Option<Child>> = Vec::new();
    for node in nodes {
        if let Some(pid) = running_pid(&node.home) {
            println!("{}  already running (pid {pid})", node.name);
            children.push(None);
            continue;
        }
        let child = spawn_node(node)?;
        println!(
            "{}  started (pid {}), rpc {}, log {}",
            node.name,
            child.id(),
            node.rpc_url(),
            node.home.join(NODE_LOG_FILE).display()
        );
        children.push(Some(child));
    }
    if !wait {
        return Ok(());
    }
    let start = Instant::now();
    for (node, child) in nodes.iter().zip(children.iter_mut()) {
        let client = Client::new(&node.rpc_url());
        loop {
            let exited = match child {
                Some(child) => child
                    .try_wait()
                    .context("watching a started node")?
                    .is_some(),
                None => running_pid(&node.home).is_none(),
            };
            if exited {
                bail!(
                    "{} exited while starting; last lines of {}:\n{}",
                    node.name,
                    node.home.join(NODE_LOG_FILE).display(),
                    log_tail(&node.home)
                );
            }
            // The application (not only CometBFT) has committed a block: queries answer.
            if client.app_status().is_ok_and(|s| s.height >= 1) {
                break;
            }
            if start.elapsed() > UP_TIMEOUT {
                bail!(
                    "{} committed no block within {} s; last lines of its log:\n{}",
                    node.name,
                    UP_TIMEOUT.as_secs(),
                    log_tail(&node.home)
                );
            }
            std::thread::sleep(POLL);
        }
    }
    Ok(())
}

/// Sends SIGTERM and waits; SIGKILL after [`STOP_GRACE`].
fn stop_node(node: &DevnetNode) -> Result<bool> {
    let Some(pid) = running_pid(&node.home) else {
        let _ = std::fs::remove_file(node.home.join(NODE_PID_FILE));
        return Ok(false);
    };
    // SAFETY: signalling a process id read from our own pid file and checked to be a node.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let start = Instant::now();
    while running_pid(&node.home).is_some() {
        if start.elapsed() > STOP_GRACE {
            // SAFETY: as above; the whole group, so its cometbft goes too.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
            break;
        }
        std::thread::sleep(POLL);
    }
    let _ = std::fs::remove_file(node.home.join(NODE_PID_FILE));
    Ok(true)
}

pub fn devnet(command: DevnetCommand) -> Result<i32> {
    match command {
        DevnetCommand::Up {
            dir,
            validators,
            chain_id,
            base_port,
            timeout_commit,
            epoch_length,
            unbonding_blocks,
            node,
            no_wait,
            eth_rpc,
            eth_gateway,
            eth_chain_id,
        } => {
            let dir = devnet_dir(dir);
            if let Some(url) = &eth_rpc {
                crate::net::check_url(url).context("--eth-rpc")?;
            }
            let net = if dir.join(devnet::DEVNET_FILE).exists() {
                Devnet::load(&dir)?
            } else {
                let mut params = ChainParams::default();
                if let Some(e) = epoch_length {
                    params.epoch_length = e;
                }
                if let Some(u) = unbonding_blocks {
                    params.unbonding_blocks = u;
                }
                if let Some(g) = &eth_gateway {
                    params.eth_gateway = g
                        .parse()
                        .map_err(|e| anyhow::anyhow!("--eth-gateway: {e}"))?;
                }
                if let Some(c) = eth_chain_id {
                    params.eth_chain_id = c;
                }
                let net = devnet::create(&DevnetOptions {
                    dir: dir.clone(),
                    validators,
                    chain_id,
                    base_port,
                    timeout_commit,
                    params,
                    eth_rpc,
                })?;
                println!(
                    "created a {validators}-validator devnet in {} (faucet key: {})",
                    dir.display(),
                    dir.join(devnet::FAUCET_KEY_FILE).display()
                );
                net
            };
            start_nodes(&select(&net, node)?, !no_wait)?;
            Ok(0)
        }
        DevnetCommand::Down { dir, node, purge } => {
            let dir = devnet_dir(dir);
            let net = Devnet::load(&dir)?;
            for n in select(&net, node)? {
                if stop_node(n)? {
                    println!("{}  stopped", n.name);
                }
            }
            if purge {
                if node.is_some() {
                    bail!("--purge removes the whole devnet; do not combine it with --node");
                }
                std::fs::remove_dir_all(&dir)
                    .with_context(|| format!("removing {}", dir.display()))?;
                println!("removed {}", dir.display());
            }
            Ok(0)
        }
        DevnetCommand::Status { dir, json } => {
            let net = Devnet::load(&devnet_dir(dir))?;
            let mut rows = Vec::new();
            for n in &net.nodes {
                let pid = running_pid(&n.home);
                let status = Client::new(&n.rpc_url()).app_status().ok();
                rows.push((n, pid, status));
            }
            if json {
                let v: Vec<_> = rows.iter().map(|(n, pid, s)| serde_json::json!({
                    "name": n.name, "rpc": n.rpc_url(), "pid": pid, "operator": n.operator,
                    "height": s.as_ref().map(|s| s.height), "app_hash": s.as_ref().map(|s| hex::encode(s.app_hash)),
                })).collect();
                println!("{}", serde_json::Value::Array(v));
            } else {
                for (n, pid, s) in rows {
                    let state = match (pid, s) {
                        (None, _) => "stopped".to_string(),
                        (Some(_), None) => "starting".to_string(),
                        (Some(_), Some(s)) => {
                            format!("height {} app hash {}", s.height, hex::encode(s.app_hash))
                        }
                    };
                    println!("{}  {}  {state}", n.name, n.rpc_url());
                }
            }
            Ok(0)
        }
        DevnetCommand::AddNode { dir, no_start } => {
            let dir = devnet_dir(dir);
            let (net, home) = devnet::add_node(&dir)?;
            let node = net.nodes.last().expect("add_node appends a node");
            println!(
                "{}  home {}, operator {}",
                node.name,
                home.path.display(),
                node.operator
            );
            if !no_start {
                start_nodes(&[node], false)?;
            }
            Ok(0)
        }
    }
}
