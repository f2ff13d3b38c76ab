//! Sustained throughput and latency of the 4-validator loopback network, against CometBFT's
//! built-in `kvstore` app on the same topology, driven by the same load generator.
//!
//! ```text
//! cargo build --release -p nexus-cli
//! cargo bench -p nexus-e2e --bench network --profile release
//! ```
//!
//! Knobs (environment): `NEXUS_BENCH_RATE` offered transactions/s (default 1500),
//! `NEXUS_BENCH_SECONDS` load duration (default 20), `NEXUS_BENCH_TIMEOUT_COMMIT` (default
//! 200ms), `NEXUS_BENCH_ONLY` = `nexus` or `kvstore`, `NEXUS_BENCH_THREADS` sending threads per
//! node (default 16).
//!
//! Each sending thread waits for `broadcast_tx_sync`, i.e. for CheckTx. CometBFT's socket ABCI
//! client flushes asynchronous requests (CheckTx) on a 20 ms throttle timer, so a thread sends at
//! most ~50 transactions/s to an app behind a socket whatever the app does (the built-in
//! `kvstore` runs in-process and pays no such wait). Enough threads keep the pipe full, the way
//! many independent users would; with 2 per node the generator, not the network, was the limit.
//!
//! Each transaction is timed from just before its `broadcast_tx_sync` to the moment the load
//! generator sees the block holding it on node0; throughput is committed transactions over the
//! time from the first submission to the last commit.

#[path = "../tests/support/devnet.rs"]
mod devnet;
#[path = "../tests/support/mod.rs"]
mod support;

use devnet::{Devnet, Sender};
use nexus_consensus::client::Client;
use nexus_consensus::node::devnet::{create, DevnetOptions};
use nexus_consensus::threshold::state::outbox_id;
use nexus_consensus::tx::{tx_hash, TxKind};
use nexus_consensus::{AccountKey, ChainParams};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const NODES: usize = 4;
/// Sending threads per node by default (each owns its accounts, so nonces arrive in order).
const DEFAULT_THREADS_PER_NODE: usize = 16;
const ACCOUNTS_PER_THREAD: usize = 2;
/// Fuel limit of each invocation: intrinsic cost plus the counter's execution, with room.
const INVOKE_FUEL: u64 = 200_000;
/// How long after the last submission the generator waits for commits.
const DRAIN: Duration = Duration::from_secs(60);
/// How long reading one output may take until it shows as threshold-signed.
const SIGNING_TIMEOUT: Duration = Duration::from_secs(60);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[derive(Debug)]
struct Figures {
    offered: usize,
    committed: usize,
    rejected: usize,
    tps: f64,
    p50: Duration,
    p99: Duration,
}

/// Sends `batches[node][thread]` (in order) at `rate` per second in total, and times each
/// transaction until node0 shows it in a block.
fn drive(rpcs: &[String], batches: Vec<Vec<Vec<Vec<u8>>>>, rate: f64) -> Figures {
    let threads: usize = batches.iter().map(Vec::len).sum();
    let per_thread = rate / threads as f64;
    let submitted: Arc<Mutex<HashMap<[u8; 32], Instant>>> = Arc::default();
    let rejected = Arc::new(Mutex::new(0usize));
    let offered: usize = batches.iter().flatten().map(Vec::len).sum();
    let start = Instant::now();
    let mut handles = Vec::new();
    for (node, per_node) in batches.into_iter().enumerate() {
        for batch in per_node {
            let rpc = rpcs[node].clone();
            let submitted = submitted.clone();
            let rejected = rejected.clone();
            handles.push(std::thread::spawn(move || {
                let client = Client::new(&rpc);
                for (i, tx) in batch.into_iter().enumerate() {
                    let due = start + Duration::from_secs_f64(i as f64 / per_thread);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    let t = Instant::now();
                    match client.broadcast(&tx) {
                        Ok(_) => {
                            submitted.lock().unwrap().insert(tx_hash(&tx), t);
                        }
                        Err(e) => {
                            let mut r = rejected.lock().unwrap();
                            if *r < 3 {
                                eprintln!("rejected: {e}");
                            }
                            *r += 1;
                        }
                    }
                }
            }));
        }
    }
    // Watch node0's blocks while the senders run.
    let watcher = Client::new(&rpcs[0]);
    let mut next = watcher.status().unwrap().0 + 1;
    let mut committed: HashMap<[u8; 32], Instant> = HashMap::new();
    let mut senders_done_at: Option<Instant> = None;
    loop {
        let latest = watcher.status().map(|s| s.0).unwrap_or(0);
        while next <= latest {
            let seen = Instant::now();
            for tx in watcher.block_txs(next).unwrap() {
                committed.insert(tx_hash(&tx), seen);
            }
            next += 1;
        }
        if senders_done_at.is_none() && handles.iter().all(|h| h.is_finished()) {
            senders_done_at = Some(Instant::now());
        }
        if let Some(done) = senders_done_at {
            let sub = submitted.lock().unwrap();
            let all_in = sub.keys().all(|h| committed.contains_key(h));
            if all_in || done.elapsed() > DRAIN {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    for h in handles {
        h.join().unwrap();
    }
    let sub = submitted.lock().unwrap();
    let mut latencies: Vec<Duration> = sub
        .iter()
        .filter_map(|(h, t)| committed.get(h).map(|c| c.duration_since(*t)))
        .collect();
    latencies.sort();
    let first = sub.values().min().copied().unwrap_or(start);
    let last = sub
        .keys()
        .filter_map(|h| committed.get(h))
        .max()
        .copied()
        .unwrap_or(first);
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    let rejected = *rejected.lock().unwrap();
    Figures {
        offered,
        committed: latencies.len(),
        rejected,
        tps: latencies.len() as f64 / last.duration_since(first).as_secs_f64().max(1e-9),
        p50: pct(0.50),
        p99: pct(0.99),
    }
}

fn per_thread_total(rate: f64, seconds: f64, threads_per_node: usize) -> usize {
    ((rate * seconds) / (NODES * threads_per_node) as f64).ceil() as usize
}

fn bench_nexus(rate: f64, seconds: f64, timeout_commit: &str, threads_per_node: usize) -> Figures {
    let net = Devnet::up_with(NODES as u16, 29000, timeout_commit, &[]);
    net.deploy_counter();
    let client = net.client(0);
    let mut faucet = Sender::new(net.faucet(), &client);
    let keys: Vec<AccountKey> = (0..NODES * threads_per_node * ACCOUNTS_PER_THREAD)
        .map(|_| AccountKey::generate())
        .collect();
    let mut last = String::new();
    for k in &keys {
        let tx = faucet.tx(
            TxKind::Transfer {
                to: k.address(),
                amount: 1_000_000_000_000,
            },
            100_000,
        );
        last = client.broadcast(&tx).unwrap();
    }
    client.wait_tx(&last, Duration::from_secs(60)).unwrap();
    let mut senders: Vec<Sender> = keys.into_iter().map(|k| Sender::new(k, &client)).collect();
    let n = per_thread_total(rate, seconds, threads_per_node);
    // Pre-sign everything: signing is the client's cost, not the network's.
    let mut batches = vec![vec![Vec::new(); threads_per_node]; NODES];
    for (t, chunk) in senders.chunks_mut(ACCOUNTS_PER_THREAD).enumerate() {
        let batch = &mut batches[t / threads_per_node][t % threads_per_node];
        for i in 0..n {
            let s = &mut chunk[i % ACCOUNTS_PER_THREAD];
            batch.push(s.tx(
                TxKind::Invoke {
                    function: "counter".into(),
                    input: br#"{"by": 1}"#.to_vec(),
                },
                INVOKE_FUEL,
            ));
        }
    }
    // The last invocation of every thread: once all the load is committed, how long until
    // their outputs are threshold-signed (signing must keep up with any output rate).
    let last_outputs: Vec<[u8; 32]> = batches
        .iter()
        .flatten()
        .filter_map(|b| b.last())
        .map(|tx| outbox_id(&tx_hash(tx), 0))
        .collect();
    let rpcs: Vec<String> = (0..NODES).map(|i| net.rpc(i)).collect();
    let figures = drive(&rpcs, batches, rate);
    let drained_height = net.height(0);
    // Batch height -> (height its signature landed, proof length). (The wall time of these
    // reads is the client's proof checking of large blocks, not signing: count blocks.)
    let mut batches_seen = std::collections::BTreeMap::new();
    for id in &last_outputs {
        let out = devnet::signed_output(&net, id, SIGNING_TIMEOUT);
        let signed_at = out.signature.as_ref().map_or(0, |s| s.height);
        batches_seen.insert(out.item.nexus_height, (signed_at, out.proof.len()));
    }
    let lag = batches_seen
        .iter()
        .map(|(h, (s, _))| s.saturating_sub(*h))
        .max()
        .unwrap_or(0);
    println!(
        "FIGURE signing  last outputs of {} threads: {} block batches (heights {:?}, load drained at {drained_height}), each signed at most {lag} blocks after its block; proofs of {}..={} hashes",
        last_outputs.len(),
        batches_seen.len(),
        batches_seen.keys().collect::<Vec<_>>(),
        batches_seen.values().map(|b| b.1).min().unwrap_or(0),
        batches_seen.values().map(|b| b.1).max().unwrap_or(0),
    );
    net.assert_same_state(&[0, 1, 2, 3], Duration::from_secs(60));
    figures
}

/// Four `cometbft` processes running the built-in `kvstore` app, on the same genesis layout
/// (validators, block size, vote extensions) and configuration as a Nexus devnet.
struct KvstoreNet {
    _dir: tempfile::TempDir,
    children: Vec<Child>,
    rpcs: Vec<String>,
}

impl Drop for KvstoreNet {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn kvstore_net(timeout_commit: &str) -> KvstoreNet {
    let dir = tempfile::tempdir().unwrap();
    let layout = create(&DevnetOptions {
        dir: dir.path().to_path_buf(),
        validators: NODES as u16,
        chain_id: "kvstore-bench".into(),
        base_port: 29500,
        timeout_commit: timeout_commit.into(),
        params: ChainParams::default(),
        eth_rpc: None,
    })
    .unwrap();
    let mut children = Vec::new();
    for node in &layout.nodes {
        let log = std::fs::File::create(node.home.join("cometbft.log")).unwrap();
        children.push(
            Command::new(nexus_consensus::node::cometbft_binary())
                .args(["start", "--proxy_app=kvstore", "--home"])
                .arg(node.home.join("cometbft"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap(),
        );
    }
    let rpcs: Vec<String> = layout.nodes.iter().map(|n| n.rpc_url()).collect();
    let start = Instant::now();
    while Client::new(&rpcs[0]).status().map(|s| s.0).unwrap_or(0) < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "kvstore network did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    KvstoreNet {
        _dir: dir,
        children,
        rpcs,
    }
}

fn bench_kvstore(
    rate: f64,
    seconds: f64,
    timeout_commit: &str,
    threads_per_node: usize,
) -> Figures {
    let net = kvstore_net(timeout_commit);
    let n = per_thread_total(rate, seconds, threads_per_node);
    let mut batches = vec![vec![Vec::new(); threads_per_node]; NODES];
    for (node, per_node) in batches.iter_mut().enumerate() {
        for (t, batch) in per_node.iter_mut().enumerate() {
            for i in 0..n {
                batch.push(format!("k{node}-{t}-{i}=v{i}").into_bytes());
            }
        }
    }
    drive(&net.rpcs, batches, rate)
}

fn show(name: &str, f: &Figures) {
    println!(
        "FIGURE {name:<8} offered {:>6}  committed {:>6}  rejected {:>4}  {:>8.1} tx/s  p50 {:>6.0} ms  p99 {:>6.0} ms",
        f.offered,
        f.committed,
        f.rejected,
        f.tps,
        f.p50.as_secs_f64() * 1e3,
        f.p99.as_secs_f64() * 1e3
    );
}

fn main() {
    // `cargo bench` passes `--bench`; a plain `cargo test --benches` run passes nothing and
    // must not start networks.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rate: f64 = env_or("NEXUS_BENCH_RATE", 1500.0);
    let seconds: f64 = env_or("NEXUS_BENCH_SECONDS", 20.0);
    let timeout_commit: String = env_or("NEXUS_BENCH_TIMEOUT_COMMIT", "200ms".to_string());
    let only: String = env_or("NEXUS_BENCH_ONLY", String::new());
    let threads: usize = env_or("NEXUS_BENCH_THREADS", DEFAULT_THREADS_PER_NODE).max(1);
    println!("offered {rate} tx/s for {seconds} s, timeout_commit {timeout_commit}, {NODES} validators on loopback, {threads} sending threads per node");
    let nexus = (only.is_empty() || only == "nexus")
        .then(|| bench_nexus(rate, seconds, &timeout_commit, threads));
    if let Some(f) = &nexus {
        show("nexus", f);
    }
    let kv = (only.is_empty() || only == "kvstore")
        .then(|| bench_kvstore(rate, seconds, &timeout_commit, threads));
    if let Some(f) = &kv {
        show("kvstore", f);
    }
    if let (Some(n), Some(k)) = (&nexus, &kv) {
        println!(
            "FIGURE ratio    nexus/kvstore throughput {:.2}",
            n.tps / k.tps
        );
    }
}
