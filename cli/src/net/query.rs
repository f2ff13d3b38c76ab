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
