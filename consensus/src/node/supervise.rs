//! `nexus node start`: serve ABCI and the HTTP API, run `cometbft` as a child, stop cleanly.

use super::abci_server::AbciServer;
use super::home::NodeHome;
use super::{cometbft_binary, io_err, NodeError};
use crate::api::ApiServer;
use crate::app::NexusApp;
use crate::client::Client;
use crate::ethereum::RequestSource;
use crate::threshold::ValidatorDuty;
use nexus_runtime::{Engine, Runtime};
use nexus_store::Store;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use thiserror::Error;
use tracing::{error, info, warn};

const TARGET: &str = "nexus::node";
/// How long CometBFT gets to stop after SIGTERM before it is killed.
pub const COMETBFT_STOP_GRACE: Duration = Duration::from_secs(10);
const SUPERVISE_TICK: Duration = Duration::from_millis(100);
/// Where a validator's threshold secrets live, relative to the home.
pub const THRESHOLD_DIR: &str = "data/threshold";
/// How often queued duty transactions are sent to CometBFT.
const DUTY_TICK: Duration = Duration::from_millis(200);

/// Sends the app's own DKG and registration transactions to the local CometBFT's mempool
/// (`broadcast_tx_sync`), from which they reach every proposer. A refused or unsent
/// transaction is not retried here: the duty re-creates it after `RESUBMIT_BLOCKS` if its
/// effect is still missing from state.
fn spawn_duty_broadcaster(app: NexusApp, rpc: String) -> Result<(), NodeError> {
    std::thread::Builder::new()
        .name("threshold-duty".into())
        .spawn(move || {
            let client = Client::new(&rpc);
            loop {
                for tx in app.take_duty_txs() {
                    match client.broadcast(&tx) {
                        Ok(hash) => info!(target: TARGET, %hash, "duty transaction sent"),
                        Err(e) => warn!(target: TARGET, error = %e, "duty transaction not sent"),
                    }
                }
                std::thread::sleep(DUTY_TICK);
            }
        })
        .map(|_| ())
        .map_err(io_err("spawning the threshold duty thread"))
}

#[derive(Debug, Error)]
pub enum StartError {
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("opening the state store: {0}")]
    Store(#[from] nexus_store::StoreError),
    #[error("starting the runtime: {0}")]
    Runtime(#[from] nexus_runtime::RuntimeError),
    #[error("state in {dir}: {source}")]
    StateFormat {
        dir: String,
        source: crate::app::state_format::StateFormatError,
    },
    #[error("cannot listen for ABCI on {addr}: {message}")]
    Abci { addr: String, message: String },
    #[error("threshold secrets: {0}")]
    Threshold(#[from] crate::threshold::DutyError),
    #[error("cannot serve the HTTP API on {addr}: {message}")]
    Api { addr: String, message: String },
    #[error("Ethereum watcher: {0}")]
    Ethereum(String),
    #[error("cometbft exited unexpectedly ({status}); its log is {log}")]
    CometExited { status: String, log: String },
}

/// Builds the node's Ethereum watcher from the configured RPC URL and the chain's gateway
/// address (the CLI's alloy-based watcher; this crate talks to no Ethereum node itself).
pub type WatcherFactory =
    Box<dyn FnOnce(&str, [u8; 20]) -> Result<Arc<dyn RequestSource>, String> + Send>;

/// The gateway the chain watches: its parameter `eth_gateway`, from committed state, or from
/// the genesis file before the first block. `None` when it is unset (zero).
fn chain_gateway(home: &NodeHome, store: &Arc<Store>) -> Result<Option<[u8; 20]>, StartError> {
    let params = if store.latest_height() > 0 {
        let mut view = nexus_store::StateView::new(store.clone());
        crate::ledger::Ledger::new(&mut view).params()?
    } else {
        let genesis = home.read_genesis()?;
        let app = serde_json::to_vec(&genesis["app_state"]).expect("JSON values serialize");
        crate::genesis::AppGenesis::from_json(&app)
            .map_err(|e| NodeError::Config(format!("genesis app_state: {e}")))?
            .params
    };
    let gateway = params.eth_gateway.0;
    Ok((gateway != [0u8; 20]).then_some(gateway))
}

/// Runs the node until SIGTERM/SIGINT (Ok) or until CometBFT dies (Err).
pub fn start(home: &NodeHome) -> Result<(), StartError> {
    start_with(home, None)
}

/// [`start`], with the factory of an Ethereum watcher used when the node's config names an
/// Ethereum RPC URL (`eth_rpc`).
pub fn start_with(home: &NodeHome, watcher: Option<WatcherFactory>) -> Result<(), StartError> {
    std::fs::create_dir_all(home.path.join("data"))
        .map_err(io_err("creating the data directory"))?;
    let state_dir = home.path.join("data/state");
    let store = Arc::new(Store::open(&state_dir)?);
    crate::app::state_format::check(&store).map_err(|source| StartError::StateFormat {
        dir: state_dir.display().to_string(),
        source,
    })?;
    let engine = Engine::with_disk_cache(&home.path.join("data/module-cache"))?;
    let runtime = Runtime::new(engine)?;
    // Threshold secrets live beside the state; the operator key signs the duty transactions.
    let duty = ValidatorDuty::open(home.path.join(THRESHOLD_DIR), home.operator_key()?)?;
    let mut app = NexusApp::with_duty(store.clone(), runtime, duty);
    if let (Some(url), Some(factory)) = (&home.config.eth_rpc, watcher) {
        match chain_gateway(home, &store)? {
            Some(gateway) => {
                let source = factory(url, gateway).map_err(StartError::Ethereum)?;
                info!(target: TARGET, %url, gateway = %hex::encode(gateway), "watching the Ethereum gateway");
                app = app.with_request_source(source);
            }
            None => warn!(target: TARGET, %url,
                "eth_rpc is set but the chain has no eth_gateway parameter; not watching Ethereum"),
        }
    }
    spawn_duty_broadcaster(app.clone(), home.config.rpc_url())?;
    let addr = home.config.abci_addr();
    let server = AbciServer::bind(&addr).map_err(|e| StartError::Abci {
        addr: addr.clone(),
        message: e.to_string(),
    })?;
    std::thread::Builder::new()
        .name("abci-accept".into())
        .spawn(move || {
            if let Err(e) = server.serve(app) {
                error!(target: TARGET, "ABCI server stopped: {e}");
            }
        })
        .map_err(io_err("spawning the ABCI thread"))?;
    info!(target: TARGET, %addr, height = store.latest_height(), "ABCI listening");
    let api_addr = home.config.api_addr();
    // Lives until `start` returns; reads the committed state only.
    let _api = ApiServer::start(store.clone(), &api_addr).map_err(|e| StartError::Api {
        addr: api_addr.clone(),
        message: e.to_string(),
    })?;

    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(io_err("installing signal handlers"))?;
    }
    let log_path = home.path.join("cometbft.log");
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(io_err("opening cometbft.log"))?;
    let log_err = log.try_clone().map_err(io_err("cloning the log handle"))?;
    let mut command = Command::new(cometbft_binary());
    // If this process dies without stopping CometBFT (SIGKILL, a crash), the kernel kills
    // CometBFT too: a node never leaves an orphan holding its ports and its data directory.
    // SAFETY: the closure runs in the forked child before exec and only calls
    // async-signal-safe functions (prctl, getppid).
    unsafe {
        use std::os::unix::process::CommandExt;
        let parent = libc::getpid();
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                return Err(std::io::Error::other(
                    "the node exited while starting cometbft",
                ));
            }
            Ok(())
        });
    }
    let mut child = command
        .arg("start")
        .arg("--home")
        .arg(home.comet_home())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err)
        .spawn()
        .map_err(|e| NodeError::Command {
            command: "cometbft start".into(),
            message: format!("{e} (is CometBFT installed? deploy/install-deps.sh installs it)"),
        })?;
    info!(target: TARGET, pid = child.id(), log = %log_path.display(), "cometbft started");

    loop {
        if stop.load(Ordering::Relaxed) {
            info!(target: TARGET, "stopping");
            stop_child(&mut child);
            info!(target: TARGET, height = store.latest_height(), "stopped cleanly");
            return Ok(());
        }
        if let Some(status) = child.try_wait().map_err(io_err("waiting for cometbft"))? {
            return Err(StartError::CometExited {
                status: status.to_string(),
                log: log_path.display().to_string(),
            });
        }
        std::thread::sleep(SUPERVISE_TICK);
    }
}

fn stop_child(child: &mut Child) {
    let pid = child.id() as libc::pid_t;
    // SAFETY: sending a signal to our own child process id.
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let start = Instant::now();
    while start.elapsed() < COMETBFT_STOP_GRACE {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(SUPERVISE_TICK);
    }
    let _ = child.kill();
    let _ = child.wait();
}
