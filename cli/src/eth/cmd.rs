//! The Ethereum subcommands: `nexus relayer`, `nexus eth deploy-gateway`, `nexus eth request`,
//! `nexus eth watch`.

use std::time::Duration;

use alloy::primitives::{keccak256, Address};
use alloy::providers::Provider;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, Subcommand};
use nexus_consensus::client::Client;
use nexus_threshold::eth::GroupKey;

use super::client::{parse_address, parse_key, EthClient};
use super::relayer::{deploy_contracts, relay_item, send_request, Relayed};
use super::watcher::{EthWatcher, WatcherConfig};
use crate::DEFAULT_NODE_RPC;
use nexus_consensus::ethereum::RequestSource;
use nexus_consensus::ethereum::MAX_REQUEST_INPUT_BYTES;

/// Default time between the relayer's passes when it keeps running.
pub const DEFAULT_RELAY_INTERVAL_SECS: u64 = 2;
/// Most outbox ids one relayer run follows.
pub const MAX_RELAY_IDS: usize = 1_024;

/// Where to reach Ethereum and with which key.
#[derive(Args, Clone, Debug)]
pub struct EthArgs {
    /// Ethereum JSON-RPC URL (HTTP).
    #[arg(long, env = "NEXUS_ETH_RPC")]
    pub eth_rpc: String,
    /// The sending account's private key: 32 bytes of hex, or a file holding them.
    #[arg(long)]
    pub from_key: String,
}

impl EthArgs {
    pub fn connect(&self) -> Result<EthClient> {
        let key = parse_key(&self.from_key)?;
        EthClient::connect(&self.eth_rpc, Some(key))
    }
}

#[derive(Subcommand, Debug)]
pub enum EthCommand {
    /// Deploy NexusGateway with the network's current group key, and an ExampleConsumer of it.
    DeployGateway {
        #[command(flatten)]
        eth: EthArgs,
        /// CometBFT RPC address of a Nexus node (the group key is read from it, proven).
        #[arg(long, env = "NEXUS_NODE", default_value = DEFAULT_NODE_RPC)]
        node: String,
        /// Deploy even if the gateway will not be at the address and chain the network signs
        /// for (its `eth_gateway` / `eth_chain_id` parameters): such a gateway can never verify
        /// the network's signatures.
        #[arg(long)]
        allow_domain_mismatch: bool,
    },
    /// Print the gateway's requests from finalized blocks, as the node's watcher sees them.
    Watch {
        /// Ethereum JSON-RPC URL (HTTP).
        #[arg(long, env = "NEXUS_ETH_RPC")]
        eth_rpc: String,
        /// The NexusGateway address.
        #[arg(long)]
        gateway: String,
        /// First block to scan (the gateway's deployment block).
        #[arg(long, default_value_t = 0)]
        from_block: u64,
        /// First request id to print.
        #[arg(long, default_value_t = 0)]
        first: u64,
        /// Print what is finalized now and exit (otherwise keep following).
        #[arg(long)]
        once: bool,
        /// Seconds between polls of the finalized block.
        #[arg(long, default_value_t = DEFAULT_RELAY_INTERVAL_SECS)]
        interval: u64,
    },
    /// The address the account's next contract creation gets (what `deploy-gateway` will
    /// deploy the gateway at): the value for a network's `eth_gateway` parameter.
    NextAddress {
        #[command(flatten)]
        eth: EthArgs,
    },
    /// Development chains only: send ether to ADDRESS from the Ethereum node's own first
    /// unlocked account (`geth --dev` has one, funded).
    Fund {
        /// Ethereum JSON-RPC URL (HTTP).
        #[arg(long, env = "NEXUS_ETH_RPC")]
        eth_rpc: String,
        /// Account to fund (0x…).
        address: String,
        /// Amount in ether (whole).
        #[arg(long, default_value_t = 100)]
        ether: u64,
    },
    /// What an ExampleConsumer received for request ID (hex; empty until fulfilled).
    Result {
        /// Ethereum JSON-RPC URL (HTTP).
        #[arg(long, env = "NEXUS_ETH_RPC")]
        eth_rpc: String,
        /// The ExampleConsumer address.
        #[arg(long)]
        consumer: String,
        /// The gateway's request id.
        id: u64,
    },
    /// Ask the gateway for a Nexus Function's result (`NexusGateway.request`).
    Request {
        #[command(flatten)]
        eth: EthArgs,
        /// The NexusGateway address.
        #[arg(long)]
        gateway: String,
        /// Function name (functionId = keccak256(name)).
        #[arg(long)]
        function: String,
        /// Input, as text.
        #[arg(long, default_value = "")]
        input: String,
        /// Contract to call back (default: the sender).
        #[arg(long)]
        callback: Option<String>,
        /// Gas the callback gets (0: the gateway's default, 200,000; at most 5,000,000).
        #[arg(long, default_value_t = 0)]
        callback_gas: u64,
    },
}

/// `nexus relayer`.
#[derive(Args, Debug)]
pub struct RelayerArgs {
    #[command(flatten)]
    pub eth: EthArgs,
    /// The NexusGateway address.
    #[arg(long)]
    pub gateway: String,
    /// CometBFT RPC address of a Nexus node.
    #[arg(long, env = "NEXUS_NODE", default_value = DEFAULT_NODE_RPC)]
    pub node: String,
    /// Outbox item id (32 bytes hex) to relay; repeat for several.
    #[arg(long = "id", required_unless_present_any = ["requests", "follow"])]
    pub ids: Vec<String>,
    /// Gateway request id whose answer to relay (found with `nexus query request`); repeat
    /// for several.
    #[arg(long = "request")]
    pub requests: Vec<u64>,
    /// Relay the answer of every gateway request from this id on, as the network takes them
    /// in (runs until stopped; with --once, one pass over what is taken in now).
    #[arg(long, value_name = "FIRST_REQUEST")]
    pub follow: Option<u64>,
    /// One pass: relay what is signed now and exit (otherwise wait until every id is relayed).
    #[arg(long)]
    pub once: bool,
    /// Seconds between passes when waiting for signatures.
    #[arg(long, default_value_t = DEFAULT_RELAY_INTERVAL_SECS)]
    pub interval: u64,
}

pub fn eth(command: EthCommand) -> Result<i32> {
    match command {
        EthCommand::DeployGateway {
            eth,
            node,
            allow_domain_mismatch,
        } => {
            let client = Client::new(&node);
            let info = client
                .group_key()
                .with_context(|| format!("reading the group key from the Nexus node {node}"))?
                .ok_or_else(|| {
                    anyhow!("the network has no group key yet (its first DKG has not finished)")
                })?;
            let compressed = nexus_threshold::CompressedPoint::from_slice(&info.group_key)
                .ok_or_else(|| anyhow!("the network's group key is not 33 bytes"))?;
            let key = GroupKey::from_compressed(&compressed)
                .map_err(|e| anyhow!("the network's group key cannot be used on Ethereum: {e}"))?;
            let params = client
                .params()
                .with_context(|| format!("reading chain parameters from {node}"))?
                .value;
            let eth = eth.connect()?;
            let from = eth.from().ok_or_else(|| anyhow!("no sending key"))?;
            let nonce = eth.rpc("eth_getTransactionCount", async {
                eth.provider().get_transaction_count(from).pending().await
            })?;
            let predicted = from.create(nonce);
            let wanted = Address::from(params.eth_gateway.0);
            if predicted != wanted || eth.chain_id() != params.eth_chain_id {
                let msg = format!(
                    "the network signs for gateway {wanted} on chain {}, but this deployment \
                     would be {predicted} (account {from}, nonce {nonce}) on chain {}",
                    params.eth_chain_id,
                    eth.chain_id()
                );
                if !allow_domain_mismatch {
                    bail!("{msg}; deploy from that account and nonce, or pass --allow-domain-mismatch");
                }
                eprintln!("warning: {msg}: this gateway cannot verify the network's signatures");
            }
            let d = deploy_contracts(&eth, &key, info.epoch)?;
            println!("gateway: {}", d.gateway);
            println!("consumer: {}", d.consumer);
            println!("block: {}", d.block);
            println!("epoch: {}", info.epoch);
            Ok(0)
        }
        EthCommand::Watch {
            eth_rpc,
            gateway,
            from_block,
            first,
            once,
            interval,
        } => {
            let gateway = parse_address("--gateway", &gateway)?;
            // Fail fast on an unreachable node (the watcher itself retries quietly).
            let eth = EthClient::connect(&eth_rpc, None)?;
            if !eth.has_code(gateway)? {
                bail!("no contract at gateway address {gateway}");
            }
            watch(&eth_rpc, gateway, from_block, first, once, interval)
        }
        EthCommand::NextAddress { eth } => {
            let eth = eth.connect()?;
            let from = eth.from().ok_or_else(|| anyhow!("no sending key"))?;
            let nonce = eth.rpc("eth_getTransactionCount", async {
                eth.provider().get_transaction_count(from).pending().await
            })?;
            println!("{}", from.create(nonce));
            Ok(0)
        }
        EthCommand::Result {
            eth_rpc,
            consumer,
            id,
        } => {
            let consumer = parse_address("--consumer", &consumer)?;
            let eth = EthClient::connect(&eth_rpc, None)?;
            if !eth.has_code(consumer)? {
                bail!("no contract at consumer address {consumer}");
            }
            let result =
                super::relayer::consumer_result(&eth, consumer, alloy::primitives::U256::from(id))?;
            if result.is_empty() {
                bail!("the consumer has no result for request {id} yet");
            }
            println!("0x{}", hex::encode(result));
            Ok(0)
        }
        EthCommand::Fund {
            eth_rpc,
            address,
            ether,
        } => {
            let to = parse_address("ADDRESS", &address)?;
            if ether == 0 || ether > MAX_FUND_ETHER {
                bail!("--ether must be 1 ..= {MAX_FUND_ETHER}");
            }
            let eth = EthClient::connect(&eth_rpc, None)?;
            let tx = fund(&eth, to, ether)?;
            println!("funded {to} with {ether} ether in {tx}");
            Ok(0)
        }
        EthCommand::Request {
            eth,
            gateway,
            function,
            input,
            callback,
            callback_gas,
        } => {
            let gateway = parse_address("--gateway", &gateway)?;
            if callback_gas > MAX_CALLBACK_GAS {
                bail!(
                    "--callback-gas is at most {MAX_CALLBACK_GAS} (the gateway's MAX_CALLBACK_GAS)"
                );
            }
            let callback = match callback {
                Some(c) => parse_address("--callback", &c)?,
                None => Address::ZERO,
            };
            if function.is_empty() {
                bail!("--function must name a function");
            }
            if input.len() > MAX_REQUEST_INPUT_BYTES {
                bail!(
                    "--input is {} bytes, over the gateway's limit of {MAX_REQUEST_INPUT_BYTES}",
                    input.len()
                );
            }
            let eth = eth.connect()?;
            let function_id = keccak256(function.as_bytes()).0;
            let sent = send_request(
                &eth,
                gateway,
                function_id,
                input.into_bytes(),
                callback,
                callback_gas,
            )?;
            println!("request: {}", sent.id);
            println!("block: {}", sent.block);
            println!("tx: {}", sent.tx);
            Ok(0)
        }
    }
}

/// Largest `--callback-gas` (the gateway's `MAX_CALLBACK_GAS`).
pub const MAX_CALLBACK_GAS: u64 = 5_000_000;

/// Largest `nexus eth fund --ether`.
pub const MAX_FUND_ETHER: u64 = 1_000_000;

/// Sends `ether` to `to` from the node's first unlocked account (`eth_sendTransaction`) and
/// waits for the receipt.
fn fund(eth: &EthClient, to: Address, ether: u64) -> Result<alloy::primitives::B256> {
    use alloy::network::TransactionBuilder;
    use alloy::rpc::types::TransactionRequest;
    let accounts = eth.rpc("eth_accounts", async {
        eth.provider().get_accounts().await
    })?;
    let from = *accounts.first().ok_or_else(|| {
        anyhow!("the Ethereum node has no unlocked account to fund from (not a dev chain?)")
    })?;
    let value = alloy::primitives::U256::from(ether)
        * alloy::primitives::U256::from(1_000_000_000_000_000_000u128);
    let tx = TransactionRequest::default()
        .with_from(from)
        .with_to(to)
        .with_value(value);
    let pending = eth.rpc("eth_sendTransaction", async {
        eth.provider().send_transaction(tx).await
    })?;
    let hash = *pending.tx_hash();
    let receipt = eth.wait_receipt("the funding transfer", hash)?;
    if !receipt.status() {
        bail!("the funding transfer {hash} failed");
    }
    Ok(hash)
}

/// Most requests `nexus eth watch` prints per poll.
pub const WATCH_BATCH: usize = 256;
/// Longest `nexus eth watch --once` waits for the watcher to reach the finalized block.
pub const WATCH_CATCH_UP_TIMEOUT: Duration = Duration::from_secs(600);

fn watch(
    rpc_url: &str,
    gateway: Address,
    from_block: u64,
    mut first: u64,
    once: bool,
    interval: u64,
) -> Result<i32> {
    let poll = Duration::from_secs(interval.max(1));
    let watcher = EthWatcher::spawn_with(WatcherConfig {
        rpc_url: rpc_url.to_string(),
        gateway,
        poll_interval: if once {
            Duration::from_millis(200)
        } else {
            poll
        },
        from_block,
    })?;
    let started = std::time::Instant::now();
    loop {
        let caught_up = match (watcher.finalized_block(), watcher.scanned_through()) {
            (Some(f), Some(s)) => s >= f,
            (Some(f), None) => f < from_block,
            _ => false,
        };
        loop {
            let batch = watcher.requests_from(first, WATCH_BATCH);
            let Some(last) = batch.last() else { break };
            first = last.id + 1;
            for r in &batch {
                println!(
                    "{}",
                    serde_json::json!({
                        "id": r.id,
                        "function_id": format!("0x{}", hex::encode(r.function_id)),
                        "requester": Address::from(r.requester).to_string(),
                        "callback": Address::from(r.callback).to_string(),
                        "input": format!("0x{}", hex::encode(&r.input)),
                        "eth_block": r.eth_block,
                    })
                );
            }
        }
        if once && caught_up {
            return Ok(0);
        }
        if once && started.elapsed() > WATCH_CATCH_UP_TIMEOUT {
            bail!(
                "the watcher did not reach the finalized block within {WATCH_CATCH_UP_TIMEOUT:?}"
            );
        }
        std::thread::sleep(if once {
            Duration::from_millis(200)
        } else {
            poll
        });
    }
}

fn parse_outbox_id(text: &str) -> Result<[u8; 32]> {
    let t = text.trim();
    let bytes = hex::decode(t.strip_prefix("0x").unwrap_or(t))
        .ok()
        .filter(|b| b.len() == 32)
        .ok_or_else(|| anyhow!("--id {text:?} is not a 32-byte hex outbox id"))?;
    let mut id = [0u8; 32];
    id.copy_from_slice(&bytes);
    Ok(id)
}

/// What the relayer still has to deliver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Target {
    /// An outbox item, by id.
    Item([u8; 32]),
    /// The answer to a gateway request, once the network has taken it in.
    Request(u64),
}

/// The outbox item a target names now: `Ok(None)` while a request is not taken in yet.
fn resolve(node: &Client, node_url: &str, target: Target) -> Result<Option<[u8; 32]>> {
    match target {
        Target::Item(id) => Ok(Some(id)),
        Target::Request(r) => {
            let Some(record) = node
                .gateway_request(r)
                .with_context(|| format!("reading gateway request {r} from {node_url}"))?
            else {
                return Ok(None);
            };
            match (record.outbox_id, record.error) {
                (Some(id), _) => Ok(Some(id)),
                (None, e) => bail!(
                    "gateway request {r} has no answer on Nexus: {}",
                    e.unwrap_or_else(|| "no output".into())
                ),
            }
        }
    }
}

pub fn relayer(args: RelayerArgs) -> Result<i32> {
    let gateway = parse_address("--gateway", &args.gateway)?;
    if args.ids.len() + args.requests.len() > MAX_RELAY_IDS {
        bail!("at most {MAX_RELAY_IDS} --id and --request per run");
    }
    let mut todo = args
        .ids
        .iter()
        .map(|t| parse_outbox_id(t).map(Target::Item))
        .collect::<Result<Vec<_>>>()?;
    todo.extend(args.requests.iter().map(|r| Target::Request(*r)));
    let eth = args.eth.connect()?;
    if !eth.has_code(gateway)? {
        bail!("no contract at gateway address {gateway}");
    }
    let node = Client::new(&args.node);
    let mut next_followed = args.follow;
    let mut failed = 0;
    loop {
        if let Some(next) = next_followed.as_mut() {
            let taken_in = node
                .next_gateway_request()
                .with_context(|| format!("reading the next gateway request from {}", args.node))?;
            while *next < taken_in && todo.len() < MAX_RELAY_IDS {
                todo.push(Target::Request(*next));
                *next += 1;
            }
        }
        let mut waiting = Vec::new();
        for target in todo {
            let id = match resolve(&node, &args.node, target) {
                Ok(Some(id)) => id,
                Ok(None) => {
                    if args.once {
                        println!("{target:?}: not taken in by the network yet");
                    }
                    waiting.push(target);
                    continue;
                }
                Err(e) => {
                    eprintln!("error: {e:#}");
                    failed += 1;
                    continue;
                }
            };
            let hex_id = hex::encode(id);
            let out = node
                .output(&id)
                .with_context(|| format!("reading outbox item {hex_id} from {}", args.node))?
                .ok_or_else(|| anyhow!("unknown outbox item {hex_id}"))?;
            match relay_item(&eth, gateway, &out, &node) {
                Ok(Relayed::Fulfilled {
                    tx,
                    success,
                    callback_succeeded,
                    rotated_to,
                }) => {
                    for epoch in rotated_to {
                        println!("rotated gateway key to epoch {epoch}");
                    }
                    let id = super::relayer::request_id(&out.item);
                    let callback = if callback_succeeded {
                        "succeeded"
                    } else {
                        "failed"
                    };
                    if success {
                        println!("{hex_id}: fulfilled request {id} in {tx} (callback {callback})");
                    } else {
                        println!(
                            "{hex_id}: answered request {id} with its failure on Nexus ({}) in {tx} (callback {callback})",
                            String::from_utf8_lossy(&out.item.output)
                        );
                    }
                }
                Ok(Relayed::AlreadyFulfilled) => {
                    println!(
                        "{hex_id}: request {} already fulfilled",
                        super::relayer::request_id(&out.item)
                    );
                }
                Ok(Relayed::NotSigned) => {
                    if args.once {
                        println!("{hex_id}: not signed yet");
                    }
                    waiting.push(target);
                }
                Err(e) => {
                    eprintln!("error: {hex_id}: {e:#}");
                    failed += 1;
                }
            }
        }
        if args.once || (waiting.is_empty() && next_followed.is_none()) {
            return Ok(if failed > 0 { 1 } else { 0 });
        }
        todo = waiting;
        std::thread::sleep(Duration::from_secs(args.interval.max(1)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outbox_ids_parse() {
        let hex_id = "ab".repeat(32);
        assert_eq!(parse_outbox_id(&hex_id).unwrap(), [0xab; 32]);
        assert_eq!(parse_outbox_id(&format!("0x{hex_id}")).unwrap(), [0xab; 32]);
        let e = parse_outbox_id("0x12").unwrap_err().to_string();
        assert!(e.contains("not a 32-byte hex outbox id"), "{e}");
    }
}
