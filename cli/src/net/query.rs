//! `nexus query`: state reads whose Merkle proofs are checked against an app hash signed by
//! more than 2/3 of the validator set (see `nexus_consensus::client`).

use anyhow::{bail, Result};
use clap::Subcommand;
use nexus_consensus::client::AtHeight;
use nexus_consensus::Address;
use serde_json::json;

use super::{show_bytes, NodeArgs};

#[derive(Subcommand)]
pub enum QueryCommand {
    /// Balance and nonce of an account.
    Account {
        address: Address,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// The active validator set with each validator's record.
    Validators {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// One validator's record (also when jailed or tombstoned).
    Validator {
        operator: Address,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// A deployed function's record.
    Function {
        name: String,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// A function's key-value entry.
    Kv {
        function: String,
        key: String,
        /// KEY is hex (0x…) rather than UTF-8.
        #[arg(long)]
        hex: bool,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// A file of a function's filesystem.
    Fs {
        function: String,
        path: String,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// A function output for Ethereum (by outbox id) with its threshold signature once signed.
    Output {
        /// Outbox id (hex), as `nexus invoke` prints it.
        id: String,
        /// Wait up to this many seconds for the signature.
        #[arg(long, default_value_t = 0)]
        wait: u64,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// What became of an Ethereum gateway request: the Nexus height that took it in and the
    /// outbox id of its answer (or why there is none).
    Request {
        /// The gateway's request id (decimal).
        id: u64,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// A zk job: its program, input, escrowed reward and, once proved, the verified output
    /// and its outbox id.
    Job {
        /// Job id (decimal), as `nexus zk request` prints it.
        id: u64,
        #[command(flatten)]
        node: NodeArgs,
    },
    /// The validator set's group key (what the Ethereum gateway stores) and its hand-over.
    GroupKey {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// A committed transaction's result, by hash.
    Tx {
        hash: String,
        #[command(flatten)]
        node: NodeArgs,
    },
}

fn proven_line<T>(p: &AtHeight<T>) -> String {
    format!(
        "proven at height {} against app hash {}",
        p.height,
        hex::encode(p.app_hash)
    )
}

fn print_json<T>(p: &AtHeight<T>, value: serde_json::Value) {
    println!(
        "{}",
        json!({"height": p.height, "app_hash": hex::encode(p.app_hash), "value": value})
    );
}

pub fn query(command: QueryCommand) -> Result<i32> {
    match command {
        QueryCommand::Account { address, node } => {
            let p = node.client().account(&address)?;
            if node.json {
                print_json(&p, serde_json::to_value(p.value)?);
            } else {
                println!("address  {address}");
                println!("balance  {}", p.value.balance);
                println!("nonce    {}", p.value.nonce);
                println!("{}", proven_line(&p));
            }
        }
        QueryCommand::Validators { node } => {
            let client = node.client();
            let set = client.active_set()?;
            let mut rows = Vec::new();
            for m in &set.value.members {
                let v = client.validator(&m.operator)?;
                rows.push((m.clone(), v.value));
            }
            if node.json {
                let value = rows
                    .iter()
                    .map(|(m, v)| json!({"operator": m.operator, "power": m.power, "consensus_key": hex::encode(m.consensus_key), "record": v}))
                    .collect();
                print_json(&set, serde_json::Value::Array(value));
            } else {
                println!(
                    "{:<44} {:>8} {:>20}  consensus key",
                    "operator", "power", "tokens"
                );
                for (m, v) in &rows {
                    let tokens = v.as_ref().map(|v| v.tokens.to_string()).unwrap_or_default();
                    println!(
                        "{:<44} {:>8} {:>20}  {}",
                        m.operator.to_string(),
                        m.power,
                        tokens,
                        hex::encode(m.consensus_key)
                    );
                }
                println!("{}", proven_line(&set));
            }
        }
        QueryCommand::Validator { operator, node } => {
            let p = node.client().validator(&operator)?;
            let Some(v) = &p.value else {
                bail!(
                    "{operator} is not a validator (proven absent at height {})",
                    p.height
                );
            };
            if node.json {
                print_json(&p, serde_json::to_value(v)?);
            } else {
                println!("operator   {}", v.operator);
                println!("tokens     {}", v.tokens);
                println!(
                    "jailed     {}",
                    v.jailed_until
                        .map(|h| format!("until height {h}"))
                        .unwrap_or_else(|| "no".into())
                );
                println!("tombstoned {}", v.tombstoned);
                println!("{}", proven_line(&p));
            }
        }
        QueryCommand::Function { name, node } => {
            let p = node.client().function(&name)?;
            let Some(r) = &p.value else {
                bail!(
                    "function `{name}` is not deployed (proven absent at height {})",
                    p.height
                );
            };
            if node.json {
                print_json(
                    &p,
                    json!({"name": r.name, "version": r.version, "code_hash": hex::encode(r.code_hash),
                           "owner": r.owner, "deployed_height": r.deployed_height}),
                );
            } else {
                println!("name       {}", r.name);
                println!("version    {}", r.version);
                println!("owner      {}", r.owner);
                println!("code hash  {}", hex::encode(r.code_hash));
                println!("deployed   height {}", r.deployed_height);
                println!("{}", proven_line(&p));
            }
        }
        QueryCommand::Kv {
            function,
            key,
            hex: is_hex,
            node,
        } => {
            let raw_key = if is_hex {
                hex::decode(key.trim_start_matches("0x"))
                    .map_err(|e| anyhow::anyhow!("KEY is not hex: {e}"))?
            } else {
                key.clone().into_bytes()
            };
            let p = node.client().function_kv(&function, &raw_key)?;
            if node.json {
                print_json(&p, json!(p.value.as_ref().map(hex::encode)));
            } else {
                match &p.value {
                    Some(v) => println!("{}", show_bytes(v)),
                    None => println!("(absent)"),
                }
                eprintln!("{}", proven_line(&p));
            }
            if p.value.is_none() {
                return Ok(2);
            }
        }
        QueryCommand::Fs {
            function,
            path,
            node,
        } => {
            let (height, result) = node.client().file_proven(&function, &path)?;
            match result {
                Ok(bytes) => {
                    if node.json {
                        println!("{}", json!({"height": height, "hex": hex::encode(&bytes)}));
                    } else {
                        use std::io::Write;
                        std::io::stdout().write_all(&bytes)?;
                        eprintln!("(proven at height {height})");
                    }
                }
                Err(e) => bail!("{e} (proven at height {height})"),
            }
        }
        QueryCommand::Output { id, wait, node } => return output(&id, wait, &node),
        QueryCommand::Job { id, node } => return super::zk::query_job(id, &node),
        QueryCommand::Request { id, node } => {
            let client = node.client();
            let Some(r) = client.gateway_request(id)? else {
                let next = client.next_gateway_request()?;
                bail!(
                    "gateway request {id} is not taken in yet (proven absent; the chain's next \
                     request is {next})"
                );
            };
            if node.json {
                println!(
                    "{}",
                    json!({"id": id, "height": r.height, "function_id": hex::encode(r.request.function_id),
                           "requester": hex::encode(r.request.requester), "callback": hex::encode(r.request.callback),
                           "input": hex::encode(&r.request.input), "eth_block": r.request.eth_block,
                           "outbox_id": r.outbox_id.map(hex::encode), "error": r.error})
                );
            } else {
                println!("request    {id} (Ethereum block {})", r.request.eth_block);
                println!("function   0x{}", hex::encode(r.request.function_id));
                println!("taken in   at height {}", r.height);
                if let Some(e) = &r.error {
                    println!("failed     {e}");
                }
                match &r.outbox_id {
                    Some(o) if r.error.is_some() => {
                        println!(
                            "answer     outbox {} (the error, success = false)",
                            hex::encode(o)
                        )
                    }
                    Some(o) => println!("answer     outbox {}", hex::encode(o)),
                    None => println!("answer     none"),
                }
            }
        }
        QueryCommand::GroupKey { node } => {
            let Some(k) = node.client().group_key()? else {
                bail!("the validators have no group key yet (the DKG runs in the first blocks)");
            };
            if node.json {
                println!(
                    "{}",
                    json!({"epoch": k.epoch, "group_key": hex::encode(&k.group_key),
                           "eth_key_x": hex::encode(k.eth_key_x), "active_from": k.active_from,
                           "handover": k.handover.as_ref().map(|h| json!({"old_epoch": h.old_epoch,
                               "digest": hex::encode(h.digest), "signature": hex::encode(&h.signature), "height": h.height}))})
                );
            } else {
                println!("epoch      {}", k.epoch);
                println!("group key  {}", hex::encode(&k.group_key));
                println!("eth key x  0x{}", hex::encode(k.eth_key_x));
                if let Some(h) = &k.handover {
                    println!(
                        "handover   from epoch {} at height {}: 0x{}",
                        h.old_epoch,
                        h.height,
                        hex::encode(&h.signature)
                    );
                }
            }
        }
        QueryCommand::Tx { hash, node } => {
            let hash = hash.trim_start_matches("0x").to_ascii_uppercase();
            match node.client().tx(&hash)? {
                Some(tx) => return Ok(super::txs::report(&tx, node.json)),
                None => bail!("transaction {hash} is not in any block"),
            }
        }
    }
    Ok(0)
}

/// Longest `--wait` for an output's signature.
pub const MAX_OUTPUT_WAIT_SECS: u64 = 600;

fn output(id: &str, wait: u64, node: &NodeArgs) -> Result<i32> {
    let raw = hex::decode(id.trim_start_matches("0x"))
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| anyhow::anyhow!("output id must be 32 bytes of hex"))?;
    if wait > MAX_OUTPUT_WAIT_SECS {
        bail!("--wait is at most {MAX_OUTPUT_WAIT_SECS} seconds");
    }
    let client = node.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(wait);
    let out = loop {
        let out = client.output(&raw)?;
        match &out {
            Some(o) if o.signature.is_some() => break out,
            _ if std::time::Instant::now() >= deadline => break out,
            _ => std::thread::sleep(std::time::Duration::from_millis(250)),
        }
    };
    let Some(out) = out else {
        bail!("no output {id} (proven absent)");
    };
    let item = &out.item;
    let proof: Vec<String> = out
        .proof
        .iter()
        .map(|p| format!("0x{}", hex::encode(p)))
        .collect();
    if node.json {
        println!(
            "{}",
            json!({"id": hex::encode(item.id), "request_id": hex::encode(item.request_id),
                   "function": item.function, "function_id": hex::encode(item.function_id),
                   "output": hex::encode(&item.output), "output_hash": hex::encode(item.output_hash),
                   "success": item.success, "nexus_height": item.nexus_height, "batch_index": item.batch_index,
                   "batch_root": hex::encode(out.root), "proof": proof,
                   "signature": out.signature.as_ref().map(|s| json!({"epoch": s.epoch,
                       "digest": hex::encode(s.digest), "signature": hex::encode(&s.signature), "height": s.height}))})
        );
    } else {
        println!("function     {}", item.function);
        if item.success {
            println!("output       0x{}", hex::encode(&item.output));
        } else {
            println!(
                "failed       {} (answered with success = false)",
                String::from_utf8_lossy(&item.output)
            );
        }
        println!("request id   0x{}", hex::encode(item.request_id));
        println!("nexus height {}", item.nexus_height);
        println!(
            "batch        leaf {} under root 0x{}",
            item.batch_index,
            hex::encode(out.root)
        );
        println!("proof        [{}]", proof.join(", "));
        match &out.signature {
            Some(s) => {
                println!("epoch        {}", s.epoch);
                println!(
                    "digest       0x{} (EIP-712 OutputBatch)",
                    hex::encode(s.digest)
                );
                println!(
                    "signature    0x{} (FROST R ‖ z, signed at height {})",
                    hex::encode(&s.signature),
                    s.height
                );
            }
            None => println!("signature    not yet (signing takes about two blocks)"),
        }
    }
    Ok(if out.signature.is_some() { 0 } else { 3 })
}
