//! Transaction commands: build, sign, submit, wait for the block, print the outcome.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use nexus_consensus::client::{ClientError, CommittedTx};
use nexus_consensus::execute::intrinsic_fuel;
use nexus_consensus::node::NodeHome;
use nexus_consensus::tx::{decode_and_verify, FunctionSpec, TxBody, TxKind};
use nexus_consensus::{AccountKey, Address, TxError};

use super::keys::{resolve, KeyDirArgs};
use super::{show_bytes, NodeArgs};

/// Fuel reserved for execution when `--fuel-limit` is not given (on top of the intrinsic cost).
pub const DEFAULT_EXECUTION_FUEL: u64 = nexus_runtime::limits::DEFAULT_FUEL;

/// How a transaction is signed and paid for.
#[derive(Args, Clone, Debug)]
pub struct TxArgs {
    /// Signing key: a name in the key directory or a key file path.
    #[arg(long)]
    pub from: String,
    #[command(flatten)]
    pub keys: KeyDirArgs,
    #[command(flatten)]
    pub node: NodeArgs,
    /// Most fuel the transaction may burn (default: its intrinsic cost plus execution fuel).
    #[arg(long)]
    pub fuel_limit: Option<u64>,
    /// Fee per unit of fuel (default: the chain's minimum).
    #[arg(long)]
    pub fuel_price: Option<u64>,
    /// Nonce to use (default: the account's current nonce, read with a proof).
    #[arg(long)]
    pub nonce: Option<u64>,
    /// Return once the node's mempool accepted the transaction (prints its hash) instead of
    /// waiting for its block.
    #[arg(long)]
    pub no_wait: bool,
}

/// Signing attempts when the nonce read was taken meanwhile.
pub const NONCE_ATTEMPTS: u32 = 5;

/// Signs `kind` for the sender, submits it and prints the result (or only the hash with
/// `--no-wait`); returns the exit code.
pub fn send_as(key: &AccountKey, args: &TxArgs, kind: TxKind) -> Result<i32> {
    let client = args.node.client();
    let mut attempt = 1;
    let hash = loop {
        let tx = sign(key, args, kind.clone())?;
        match client.broadcast(&tx) {
            Ok(hash) => break hash,
            // Another signer of the same account (a validator's threshold duty signs with its
            // operator key) took the nonce just read: read it again after the next block.
            Err(ClientError::Refused { code, .. })
                if args.nonce.is_none() && is_nonce_race(code) && attempt < NONCE_ATTEMPTS =>
            {
                attempt += 1;
                let (height, _) = client.status()?;
                client.wait_for_height(height + 1)?;
            }
            Err(e) => return Err(e.into()),
        }
    };
    if args.no_wait {
        if args.node.json {
            println!("{}", serde_json::json!({ "hash": hash }));
        } else {
            println!("tx       {hash} (accepted into the mempool)");
        }
        return Ok(0);
    }
    let committed = client.wait_tx(&hash, nexus_consensus::client::DEFAULT_TX_TIMEOUT)?;
    Ok(report(&committed, args.node.json))
}

fn is_nonce_race(code: u32) -> bool {
    let sample = |replayed| {
        let (address, expected, got) = (Address::default(), 0, 0);
        if replayed {
            TxError::NonceReplayed {
                address,
                expected,
                got,
            }
        } else {
            TxError::NonceFuture {
                address,
                expected,
                got,
            }
        }
        .code()
    };
    code == sample(true) || code == sample(false)
}

/// The signed, encoded transaction.
pub(crate) fn sign(key: &AccountKey, args: &TxArgs, kind: TxKind) -> Result<Vec<u8>> {
    let client = args.node.client();
    let chain_id = client.chain_id().context("reading the chain id")?;
    let params = client.params().context("reading chain parameters")?.value;
    let nonce = match args.nonce {
        Some(n) => n,
        None => {
            client
                .account(&key.address())
                .context("reading the sender's nonce")?
                .value
                .nonce
        }
    };
    let fuel_price = args.fuel_price.unwrap_or(params.min_fuel_price);
    let execution = match &kind {
        TxKind::Invoke { .. } => DEFAULT_EXECUTION_FUEL,
        _ => 0,
    };
    let body = |fuel_limit| TxBody {
        chain_id: chain_id.clone(),
        nonce,
        fuel_limit,
        fuel_price,
        kind: kind.clone(),
    };
    let fuel_limit = match args.fuel_limit {
        Some(f) => f,
        None => {
            // The intrinsic cost depends on the encoded length, which barely depends on the
            // limit itself: measure with the largest limit, then add the execution budget.
            let probe = decode_and_verify(&body(u64::MAX).sign(key).encode())
                .context("encoding the transaction")?;
            intrinsic_fuel(&params, &probe).saturating_add(execution)
        }
    };
    Ok(body(fuel_limit).sign(key).encode())
}

fn send(args: &TxArgs, kind: TxKind) -> Result<i32> {
    let key = resolve(&args.from, &args.keys)?;
    send_as(&key, args, kind)
}

/// The outbox id of output `index` of the transaction whose (hex) hash is `tx_hash`.
fn output_id(tx_hash: &str, index: usize) -> Option<[u8; 32]> {
    let hash: [u8; 32] = hex::decode(tx_hash).ok()?.try_into().ok()?;
    Some(nexus_consensus::threshold::state::outbox_id(
        &hash,
        u32::try_from(index).ok()?,
    ))
}

/// The job id a `RequestProof` outcome carries.
fn zk_job_id(topic: &str, data: &[u8]) -> Option<u64> {
    (topic == nexus_consensus::zk::execute::EVENT_JOB)
        .then(|| <[u8; 8]>::try_from(data).ok().map(u64::from_be_bytes))
        .flatten()
}

/// Prints a committed transaction; the exit code is 0 only if it succeeded.
pub fn report(tx: &CommittedTx, json: bool) -> i32 {
    let o = &tx.outcome;
    if json {
        let value = serde_json::json!({
            "hash": tx.hash,
            "height": tx.height,
            "code": tx.code,
            "codespace": tx.codespace,
            "log": tx.log,
            "fuel_used": o.fuel_used,
            "fee": o.fee.to_string(),
            "stdout": String::from_utf8_lossy(&o.stdout),
            "stdout_hex": hex::encode(&o.stdout),
            "outputs": o.outputs.iter().enumerate().map(|(i, out)| serde_json::json!({
                "id": output_id(&tx.hash, i).map(hex::encode),
                "output": hex::encode(out),
            })).collect::<Vec<_>>(),
            "zk_job": o.events.iter().find_map(|(t, d)| zk_job_id(t, d)),
            "events": o.events.iter().map(|(t, d)| serde_json::json!({"topic": t, "data": hex::encode(d)})).collect::<Vec<_>>(),
        });
        println!("{value}");
    } else {
        println!("tx       {}", tx.hash);
        println!("height   {}", tx.height);
        if tx.code == 0 {
            println!("status   ok");
        } else {
            println!("status   failed (code {}): {}", tx.code, tx.log);
        }
        println!("fuel     {}", o.fuel_used);
        println!("fee      {}", o.fee);
        if !o.stdout.is_empty() {
            println!("output   {}", show_bytes(&o.stdout).trim_end());
        }
        for (topic, data) in &o.events {
            match zk_job_id(topic, data) {
                Some(id) => println!("job      {id} (nexus query job {id})"),
                None => println!("event    {topic} {}", show_bytes(data)),
            }
        }
        for (i, out) in o.outputs.iter().enumerate() {
            let id = output_id(&tx.hash, i).map(hex::encode).unwrap_or_default();
            println!(
                "outbox   {id} 0x{} (signed for Ethereum: nexus query output {id})",
                hex::encode(out)
            );
        }
    }
    if tx.code == 0 {
        0
    } else {
        1
    }
}

#[derive(Args)]
pub struct TransferArgs {
    /// Recipient address (0x…).
    #[arg(long)]
    to: Address,
    /// Amount in base units.
    #[arg(long)]
    amount: u128,
    #[command(flatten)]
    tx: TxArgs,
}

pub fn transfer(a: TransferArgs) -> Result<i32> {
    if a.amount == 0 {
        bail!("--amount must be positive");
    }
    send(
        &a.tx,
        TxKind::Transfer {
            to: a.to,
            amount: a.amount,
        },
    )
}

#[derive(Args)]
pub struct DeployArgs {
    /// The module (`<name>.wasm`; a `<name>.toml` manifest beside it is used if present).
    module: PathBuf,
    /// Manifest to deploy with (default: `<module>.toml` beside the module).
    #[arg(long)]
    manifest: Option<PathBuf>,
    #[command(flatten)]
    tx: TxArgs,
}

fn function_spec(a: &DeployArgs) -> Result<FunctionSpec> {
    let meta = std::fs::metadata(&a.module)
        .with_context(|| format!("reading module {}", a.module.display()))?;
    let max = nexus_runtime::limits::MAX_MODULE_BYTES;
    if meta.len() > max as u64 {
        bail!(
            "{} is {} bytes; modules are limited to {max} bytes (MAX_MODULE_BYTES)",
            a.module.display(),
            meta.len()
        );
    }
    let code = std::fs::read(&a.module)
        .with_context(|| format!("reading module {}", a.module.display()))?;
    let config = crate::local::load_config(&a.module, a.manifest.as_deref())?;
    // Refuse locally what validators would refuse, before paying a fee for it.
    nexus_runtime::registry::check(&code, &config)
        .with_context(|| format!("{} cannot be deployed", a.module.display()))?;
    Ok(FunctionSpec {
        name: config.name,
        version: config.version,
        code,
        args: config.args,
        env: config.env,
        fuel: config.fuel,
        memory_pages: config.memory_pages,
    })
}

pub fn deploy(a: DeployArgs, upgrade: bool) -> Result<i32> {
    let spec = function_spec(&a)?;
    if !a.tx.node.json {
        println!("function {}", spec.name);
    }
    let kind = if upgrade {
        TxKind::Upgrade(spec)
    } else {
        TxKind::Deploy(spec)
    };
    send(&a.tx, kind)
}

#[derive(Args)]
pub struct InvokeArgs {
    /// Function name.
    function: String,
    /// Input (the function's stdin) as a literal string.
    #[arg(long, conflicts_with = "input_file")]
    input: Option<String>,
    /// Input read from a file, or `-` for this process's stdin.
    #[arg(long)]
    input_file: Option<String>,
    #[command(flatten)]
    tx: TxArgs,
}

pub fn invoke(a: InvokeArgs) -> Result<i32> {
    let input = match (&a.input, &a.input_file) {
        (Some(s), _) => s.as_bytes().to_vec(),
        (None, f) => crate::local::read_input(f.as_deref())?,
    };
    let max = nexus_runtime::limits::MAX_INPUT_BYTES;
    if input.len() > max {
        bail!(
            "input is {} bytes; the limit is {max} (MAX_INPUT_BYTES)",
            input.len()
        );
    }
    nexus_runtime::registry::validate_name(&a.function)
        .with_context(|| format!("function name `{}`", a.function))?;
    send(
        &a.tx,
        TxKind::Invoke {
            function: a.function,
            input,
        },
    )
}

#[derive(Args)]
pub struct StakeArgs {
    /// The validator's operator address (0x…).
    #[arg(long)]
    validator: Address,
    #[arg(long)]
    amount: u128,
    #[command(flatten)]
    tx: TxArgs,
}

pub fn stake(a: StakeArgs, unbond: bool) -> Result<i32> {
    if a.amount == 0 {
        bail!("--amount must be positive");
    }
    let kind = if unbond {
        TxKind::Undelegate {
            validator: a.validator,
            amount: a.amount,
        }
    } else {
        TxKind::Delegate {
            validator: a.validator,
            amount: a.amount,
        }
    };
    send(&a.tx, kind)
}

/// Validator operations signed with a node home's operator key.
#[derive(clap::Subcommand)]
pub enum ValidatorCommand {
    /// Register the node at `--home` as a validator, bonding `--amount` of its operator's balance.
    Create {
        #[arg(long)]
        home: PathBuf,
        #[arg(long)]
        amount: u128,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Bring the node's jailed validator back once its jail time is over.
    Unjail {
        #[arg(long)]
        home: PathBuf,
        #[command(flatten)]
        node: NodeArgs,
    },
}

pub fn validator(command: ValidatorCommand) -> Result<i32> {
    let (home, node, kind) = match command {
        ValidatorCommand::Create { home, amount, node } => {
            let h = NodeHome::open(&home)?;
            let key = h.validator_pubkey()?;
            (
                home,
                node,
                TxKind::CreateValidator {
                    consensus_key: key,
                    amount,
                },
            )
        }
        ValidatorCommand::Unjail { home, node } => (home, node, TxKind::Unjail),
    };
    let h = NodeHome::open(&home)?;
    let key = h.operator_key()?;
    let args = TxArgs {
        from: String::new(),
        keys: KeyDirArgs { keys_dir: None },
        node,
        fuel_limit: None,
        fuel_price: None,
        nonce: None,
        no_wait: false,
    };
    send_as(&key, &args, kind)
}
