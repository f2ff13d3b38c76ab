//! Local, single-process use of the runtime: `nexus run`, `nexus fs`, `nexus kv`.
//!
//! A state directory holds `db/` (the replicated-state store, exactly what a validator keeps)
//! and `module-cache/` (compiled modules; never part of consensus state). Every `nexus run` is
//! one block: deploy (if the module or manifest changed) plus one invocation, committed together.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use nexus_runtime::inspect;
use nexus_runtime::{BlockContext, Engine, FunctionConfig, Invocation, Runtime};
use nexus_store::{StateView, Store};
use sha2::{Digest, Sha256};

/// Unix time of height 0 for local runs; block `h` is `h` seconds later. Local runs need a
/// clock that is the same on every machine, and this is it.
pub const LOCAL_GENESIS_TIME_NANOS: u64 = 1_735_689_600_000_000_000; // 2025-01-01T00:00:00Z

#[derive(Args)]
pub struct RunArgs {
    /// The module to run (`<name>.wasm`; a `<name>.toml` manifest beside it is used if present).
    module: PathBuf,
    /// State directory (created if missing).
    #[arg(long)]
    state: PathBuf,
    /// Input file for the function's stdin, or `-` for this process's stdin.
    #[arg(long)]
    input: Option<String>,
    /// Fuel for this invocation.
    #[arg(long)]
    fuel: Option<u64>,
    /// Manifest (`nexus.toml`) to deploy with; defaults to `<module>.toml` beside the module.
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand)]
pub enum FsCommand {
    /// List a directory of a function's filesystem.
    Ls {
        function: String,
        #[arg(default_value = "/")]
        path: String,
        #[arg(long)]
        state: PathBuf,
    },
    /// Print a file of a function's filesystem.
    Cat {
        function: String,
        path: String,
        #[arg(long)]
        state: PathBuf,
    },
}

#[derive(Subcommand)]
pub enum KvCommand {
    /// Print a function's value at `key` (UTF-8), with a Merkle proof checked against the root.
    Get {
        function: String,
        key: String,
        #[arg(long)]
        state: PathBuf,
    },
}

fn open_store(state: &Path) -> Result<Arc<Store>> {
    std::fs::create_dir_all(state)
        .with_context(|| format!("creating state directory {}", state.display()))?;
    let store = Store::open(&state.join("db"))
        .with_context(|| format!("opening state in {}", state.display()))?;
    Ok(Arc::new(store))
}

fn open_existing_store(state: &Path) -> Result<Arc<Store>> {
    if !state.join("db").exists() {
        bail!(
            "{} is not a Nexus state directory (no db/)",
            state.display()
        );
    }
    open_store(state)
}

pub(crate) fn load_config(module: &Path, manifest: Option<&Path>) -> Result<FunctionConfig> {
    let default_manifest = module.with_extension("toml");
    let path = manifest.map(Path::to_path_buf).or_else(|| {
        default_manifest
            .exists()
            .then_some(default_manifest.clone())
    });
    let Some(path) = path else {
        let stem = module
            .file_stem()
            .and_then(|s| s.to_str())
            .context("module path has no file name")?;
        let name = stem.to_ascii_lowercase().replace('.', "-");
        return Ok(FunctionConfig {
            name,
            version: "0.0.0".into(),
            ..FunctionConfig::default()
        });
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading manifest {}", path.display()))?;
    let manifest = nexus_manifest::Manifest::from_toml_str(&text)
        .with_context(|| format!("manifest {}", path.display()))?;
    Ok(crate::manifest_config(&manifest))
}

pub(crate) fn read_input(input: Option<&str>) -> Result<Vec<u8>> {
    let limit = nexus_runtime::limits::MAX_INPUT_BYTES as u64;
    let mut buf = Vec::new();
    match input {
        None => {}
        Some("-") => {
            std::io::stdin()
                .take(limit + 1)
                .read_to_end(&mut buf)
                .context("reading stdin")?;
        }
        Some(path) => {
            std::fs::File::open(path)
                .with_context(|| format!("opening input {path}"))?
                .take(limit + 1)
                .read_to_end(&mut buf)
                .with_context(|| format!("reading input {path}"))?;
        }
    }
    Ok(buf)
}

fn local_block(store: &Store) -> BlockContext {
    let height = store.latest_height() + 1;
    let hash = Sha256::new()
        .chain_update(b"nexus/local-block/v1")
        .chain_update(height.to_be_bytes())
        .chain_update(store.root_hash())
        .finalize()
        .into();
    BlockContext {
        height,
        time_unix_nanos: LOCAL_GENESIS_TIME_NANOS + height * 1_000_000_000,
        hash,
    }
}

pub fn run(args: RunArgs) -> Result<i32> {
    let wasm = std::fs::read(&args.module)
        .with_context(|| format!("reading module {}", args.module.display()))?;
    let config = load_config(&args.module, args.manifest.as_deref())?;
    let input = read_input(args.input.as_deref())?;
    let store = open_store(&args.state)?;
    let engine = Engine::with_disk_cache(&args.state.join("module-cache"))?;
    let runtime = Runtime::new(engine)?;
    let block = local_block(&store);
    let mut view = StateView::new(store.clone());

    let code_hash: [u8; 32] = Sha256::digest(&wasm).into();
    let deployed = nexus_runtime::registry::lookup(&view, &config.name)?;
    let needs_deploy = deployed.as_ref().is_none_or(|r| {
        r.code_hash != code_hash
            || r.args != config.args
            || r.env != sorted(&config.env)
            || r.fuel != config.fuel
            || r.memory_pages != config.memory_pages
            || r.version != config.version
    });
    if needs_deploy {
        runtime
            .deploy(&mut view, &wasm, &config, "local", block.height)
            .with_context(|| format!("deploying {}", args.module.display()))?;
    }
    let call = Invocation {
        function: config.name.clone(),
        input,
        caller: "local".into(),
        fuel: args.fuel,
        ..Invocation::default()
    };
    let result = runtime.invoke(&mut view, &block, &call);
    // The block commits whatever succeeded: the deploy always, the invocation only if it did.
    let commit = store.commit(view.take_block_changes())?;
    let root = hex::encode(commit.root);
    match result {
        Ok(receipt) => {
            if args.json {
                let value = serde_json::json!({
                    "function": config.name,
                    "height": commit.height,
                    "state_root": root,
                    "fuel_used": receipt.fuel_used,
                    "stdout": String::from_utf8_lossy(&receipt.stdout),
                    "stderr": String::from_utf8_lossy(&receipt.stderr),
                    "events": receipt.events,
                    "outputs": receipt.outputs.iter().map(hex::encode).collect::<Vec<_>>(),
                    "deployed": needs_deploy,
                });
                println!("{value}");
            } else {
                use std::io::Write;
                std::io::stdout().write_all(&receipt.stdout)?;
                if !receipt.stdout.ends_with(b"\n") && !receipt.stdout.is_empty() {
                    println!();
                }
                eprint!("{}", String::from_utf8_lossy(&receipt.stderr));
                for e in &receipt.events {
                    eprintln!("event  {} {}", e.topic, display_value(&e.data));
                }
                for o in &receipt.outputs {
                    eprintln!("output {}", hex::encode(o));
                }
                eprintln!("fuel   {}", receipt.fuel_used);
                eprintln!("height {}", commit.height);
                eprintln!("root   {root}");
            }
            Ok(0)
        }
        Err(e) => {
            if args.json {
                let value = serde_json::json!({
                    "function": config.name,
                    "height": commit.height,
                    "state_root": root,
                    "error": e.to_string(),
                    "failure": e.failure().map(|f| f.to_string()),
                    "fuel_used": e.fuel_used(),
                });
                println!("{value}");
            } else {
                eprintln!("error: {e}");
                eprintln!("height {}", commit.height);
                eprintln!("root   {root}");
            }
            Ok(2)
        }
    }
}

fn sorted(env: &[(String, String)]) -> Vec<(String, String)> {
    let mut env = env.to_vec();
    env.sort();
    env.dedup_by(|a, b| a.0 == b.0);
    env
}

pub fn fs(command: FsCommand) -> Result<i32> {
    match command {
        FsCommand::Ls {
            function,
            path,
            state,
        } => {
            let store = open_existing_store(&state)?;
            let mut view = StateView::new(store);
            for entry in inspect::list_dir(&mut view, &function, &path)? {
                if entry.is_dir {
                    println!("{}/", entry.name);
                } else {
                    println!("{}\t{}", entry.name, entry.size);
                }
            }
        }
        FsCommand::Cat {
            function,
            path,
            state,
        } => {
            use std::io::Write;
            let store = open_existing_store(&state)?;
            let mut view = StateView::new(store);
            let data = inspect::read_file(&mut view, &function, &path)?;
            std::io::stdout().write_all(&data)?;
        }
    }
    Ok(0)
}

pub fn kv(command: KvCommand) -> Result<i32> {
    match command {
        KvCommand::Get {
            function,
            key,
            state,
        } => {
            let store = open_existing_store(&state)?;
            let view = StateView::new(store.clone());
            let value = inspect::kv_get(&view, &function, key.as_bytes())?;
            let height = store.latest_height();
            let state_key = nexus_runtime::keys::kv(&function, key.as_bytes());
            let (proved, proof) = store.get_with_proof(&state_key, height)?;
            let root = store.root_hash_at(height)?;
            proof
                .verify(root, &state_key, proved.as_deref())
                .context("the store's proof does not verify against its own root")?;
            if proved != value {
                bail!("proof and state disagree on {key}");
            }
            match value {
                Some(v) => {
                    println!("{}", display_value(&v));
                    eprintln!(
                        "proof  verified against root {} at height {height}",
                        hex::encode(root)
                    );
                    Ok(0)
                }
                None => {
                    eprintln!(
                        "{key}: not set (non-membership proven against root {} at height {height})",
                        hex::encode(root)
                    );
                    Ok(3)
                }
            }
        }
    }
}

/// UTF-8 text as is; anything else (binary, control characters) as `0x`-prefixed hex.
fn display_value(v: &[u8]) -> String {
    match std::str::from_utf8(v) {
        Ok(s) if s.chars().all(|c| !c.is_control() || c == '\n' || c == '\t') => s.to_string(),
        _ => format!("0x{}", hex::encode(v)),
    }
}
