//! The `nexus` command line: local runs (`run`, `fs`, `kv`), guest builds (`build`), zk-Functions
//! (`zk`), the network (`node`, `devnet`, `keys`, transactions, `query`, `prover`), and Ethereum
//! (`relayer`, `eth`). This binary only wires subcommands to library crates (the Ethereum side
//! is this package's own library, `nexus_cli::eth`).

mod build;
mod local;
mod net;
mod new;
mod zk;

/// mimalloc instead of glibc malloc: the node process allocates and frees small buffers at a high
/// rate (ABCI messages, transactions, state keys, Merkle nodes). Node-local; no effect on state.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "nexus",
    version,
    about = "Nexus: a verifiable serverless cloud for Ethereum"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a new function project (nexus.toml plus a starter program).
    New {
        /// Function name: [a-z][a-z0-9_-]*, at most 64 bytes.
        name: String,
        #[arg(long, value_enum, default_value = "rust")]
        lang: new::Lang,
        /// Directory to create (default: ./NAME).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Path of the guest SDK for Rust projects (default: this checkout's functions/sdk).
        #[arg(long)]
        sdk: Option<PathBuf>,
    },
    /// Build a function (Rust, C or Go) into a wasm32-wasip1 module.
    Build {
        /// Project directory (holding Cargo.toml, go.mod or C sources, and nexus.toml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Where to put `<name>.wasm` and `<name>.toml` (default: DIR/target/nexus).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run one invocation against a local state directory (deploying the module if it changed).
    Run(local::RunArgs),
    /// Inspect a function's files in a local state directory.
    Fs {
        #[command(subcommand)]
        command: local::FsCommand,
    },
    /// Inspect a function's key-value storage in a local state directory.
    Kv {
        #[command(subcommand)]
        command: local::KvCommand,
    },
    /// Run a validator node (`init`, `start`).
    Node {
        #[command(subcommand)]
        command: net::node::NodeCommand,
    },
    /// A local network of validators on loopback (`up`, `down`, `status`, `add-node`).
    Devnet {
        #[command(subcommand)]
        command: net::devnet::DevnetCommand,
    },
    /// Account keys (`new`, `list`, `show`).
    Keys {
        #[command(subcommand)]
        command: net::keys::KeysCommand,
    },
    /// Send tokens to an address.
    Transfer(net::txs::TransferArgs),
    /// Deploy a function (module plus manifest) to the network.
    Deploy(net::txs::DeployArgs),
    /// Replace the code and configuration of a function you own (its state is kept).
    Upgrade(net::txs::DeployArgs),
    /// Invoke a function by transaction; waits for the block and prints its output.
    Invoke(net::txs::InvokeArgs),
    /// Delegate stake to a validator.
    Stake(net::txs::StakeArgs),
    /// Start unbonding stake from a validator (it returns after the unbonding period).
    Unbond(net::txs::StakeArgs),
    /// Validator operations signed with a node's operator key (`create`, `unjail`).
    Validator {
        #[command(subcommand)]
        command: net::txs::ValidatorCommand,
    },
    /// Read network state, every value proven against a validator-signed app hash.
    Query {
        #[command(subcommand)]
        command: net::query::QueryCommand,
    },
    /// zk-Functions (RV32IM programs).
    Zk {
        #[command(subcommand)]
        command: zk::ZkCommand,
    },
    /// Take open zk jobs from the network, prove them and submit the proofs (earning their
    /// rewards); registers the key as a prover first if needed. Runs until SIGTERM/SIGINT.
    Prover(net::zk::ProverArgs),
    /// Submit threshold-signed outputs of gateway requests to NexusGateway on Ethereum.
    Relayer(nexus_cli::eth::cmd::RelayerArgs),
    /// Ethereum side: deploy the gateway, send requests.
    Eth {
        #[command(subcommand)]
        command: nexus_cli::eth::cmd::EthCommand,
    },
}

fn main() {
    let cli = Cli::parse();
    // A node is a long-running service whose log is its record; commands are quiet by default.
    let default_level = match &cli.command {
        Command::Node {
            command: net::node::NodeCommand::Start { .. },
        } => "info",
        Command::Prover(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NEXUS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match dispatch(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}

fn dispatch(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::New {
            name,
            lang,
            dir,
            sdk,
        } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(&name));
            new::create(&name, lang, &dir, sdk.as_deref())?;
            println!(
                "created {} ({lang:?}); next: nexus build {0} && nexus run {0}/target/nexus/{name}.wasm --state state",
                dir.display()
            );
            Ok(0)
        }
        Command::Build { dir, out } => {
            let out = out.unwrap_or_else(|| dir.join("target/nexus"));
            let wasm = build::build(&dir, &out)?;
            println!("{}", wasm.display());
            Ok(0)
        }
        Command::Run(args) => local::run(args),
        Command::Fs { command } => local::fs(command),
        Command::Kv { command } => local::kv(command),
        Command::Zk { command } => zk::zk(command),
        Command::Node { command } => net::node::node(command),
        Command::Devnet { command } => net::devnet::devnet(command),
        Command::Keys { command } => net::keys::keys(command),
        Command::Transfer(a) => net::txs::transfer(a),
        Command::Deploy(a) => net::txs::deploy(a, false),
        Command::Upgrade(a) => net::txs::deploy(a, true),
        Command::Invoke(a) => net::txs::invoke(a),
        Command::Stake(a) => net::txs::stake(a, false),
        Command::Unbond(a) => net::txs::stake(a, true),
        Command::Validator { command } => net::txs::validator(command),
        Command::Query { command } => net::query::query(command),
        Command::Prover(a) => net::zk::prover(a),
        Command::Relayer(a) => nexus_cli::eth::cmd::relayer(a),
        Command::Eth { command } => nexus_cli::eth::cmd::eth(command),
    }
}

/// The deploy configuration a manifest describes.
fn manifest_config(m: &nexus_manifest::Manifest) -> nexus_runtime::FunctionConfig {
    nexus_runtime::FunctionConfig {
        name: m.name.clone(),
        version: m.version.clone(),
        args: m.args.clone(),
        env: m.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        fuel: m.limits.fuel,
        memory_pages: m.limits.memory_pages.map(u64::from),
    }
}
