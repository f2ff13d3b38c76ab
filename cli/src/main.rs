//! The `nexus` command line: local runs (`run`, `fs`, `kv`) and guest builds (`build`).
//!
//! Network commands (`node`, `deploy`, `invoke`, `query`, `devnet`, ...) arrive with the
//! consensus issue; this binary only wires subcommands to library crates.

mod build;
mod local;
mod new;
mod zk;

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
    /// zk-Functions (RV32IM programs).
    Zk {
        #[command(subcommand)]
        command: zk::ZkCommand,
    },
}

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("NEXUS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
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
