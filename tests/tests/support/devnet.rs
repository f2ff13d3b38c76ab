#![allow(dead_code)]

//! A real devnet for end-to-end tests: `nexus devnet up` (real `nexus node` and `cometbft`
//! processes on loopback), stopped and deleted when the value is dropped.

use crate::support::{guest, nexus, nexus_bin};
use nexus_consensus::client::Client;
use nexus_consensus::node::devnet::Devnet as Layout;
use nexus_consensus::query::GroupKeyInfo;
use nexus_consensus::tx::{TxBody, TxKind};
use nexus_consensus::AccountKey;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Devnets are heavy (two processes per node on a 2-core machine): one at a time.
static ONE_DEVNET: Mutex<()> = Mutex::new(());

pub struct Devnet {
    pub dir: tempfile::TempDir,
    pub layout: Layout,
    _turn: MutexGuard<'static, ()>,
}

pub fn run_ok(args: &[&str]) -> String {
    let out = nexus(args, b"");
    assert!(
        out.status.success(),
        "nexus {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

impl Devnet {
    /// Starts `validators` validators whose ports start at `base_port`; `extra` goes to `up`.
    pub fn up(validators: u16, base_port: u16, extra: &[&str]) -> Devnet {
        Devnet::up_with(validators, base_port, "300ms", extra)
    }

    /// As [`Devnet::up`], with CometBFT's `timeout_commit`.
    pub fn up_with(
        validators: u16,
        base_port: u16,
        timeout_commit: &str,
        extra: &[&str],
    ) -> Devnet {
        let turn = ONE_DEVNET.lock().unwrap_or_else(PoisonError::into_inner);
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().to_str().unwrap().to_string();
        let n = validators.to_string();
        let port = base_port.to_string();
        let mut args = vec![
            "devnet",
            "up",
            "--dir",
            &d,
            "--validators",
            &n,
            "--base-port",
            &port,
            "--timeout-commit",
            timeout_commit,
        ];
        args.extend_from_slice(extra);
        let out = nexus(&args, b"");
        let layout = Layout::load(dir.path()).ok();
        let net = layout.map(|layout| Devnet {
            dir,
            layout,
            _turn: turn,
        });
        assert!(
            out.status.success(),
            "devnet up failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        net.expect("devnet.json written")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn dir_arg(&self) -> String {
        self.path().to_str().unwrap().to_string()
    }

    pub fn reload(&mut self) {
        self.layout = Layout::load(self.path()).unwrap();
    }

    pub fn rpc(&self, i: usize) -> String {
        self.layout.nodes[i].rpc_url()
    }

    /// Base URL of node `i`'s HTTP/JSON API.
    pub fn api(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.layout.nodes[i].ports.api)
    }

    pub fn client(&self, i: usize) -> Client {
        Client::new(&self.rpc(i))
    }

    pub fn faucet(&self) -> AccountKey {
        Layout::faucet_key(self.path()).unwrap()
    }

    pub fn faucet_path(&self) -> String {
        self.path().join("faucet.key").to_str().unwrap().to_string()
    }

    pub fn home(&self, i: usize) -> PathBuf {
        self.layout.nodes[i].home.clone()
    }

    /// `nexus <args> --node <node i>`; asserts success and returns stdout.
    pub fn cli(&self, i: usize, args: &[&str]) -> String {
        let rpc = self.rpc(i);
        let mut all = args.to_vec();
        all.extend_from_slice(&["--node", &rpc]);
        run_ok(&all)
    }

    /// The pid of node `i`'s `nexus node start` (its process group id too).
    pub fn pid(&self, i: usize) -> i32 {
        let text = std::fs::read_to_string(self.home(i).join("node.pid")).unwrap();
        text.trim().parse().unwrap()
    }

    /// Sends `signal` to node `i`'s process group (the node and its cometbft).
    pub fn signal(&self, i: usize, signal: i32) {
        // SAFETY: signalling a process group this test started.
        let rc = unsafe { libc::kill(-self.pid(i), signal) };
        assert_eq!(rc, 0, "kill(-{}, {signal})", self.pid(i));
    }

    /// SIGKILLs node `i` (node and cometbft) and waits until it is gone.
    pub fn crash(&self, i: usize) {
        let pid = self.pid(i);
        self.signal(i, libc::SIGKILL);
        let start = Instant::now();
        while Path::new(&format!("/proc/{pid}")).exists()
            && start.elapsed() < Duration::from_secs(10)
        {
            // Reap if it happens to be our child (it is not: `devnet up` spawned it).
            std::thread::sleep(Duration::from_millis(50));
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat.contains(") Z") {
                break;
            }
        }
    }

    pub fn start(&self, i: usize) {
        let n = i.to_string();
        run_ok(&["devnet", "up", "--dir", &self.dir_arg(), "--node", &n]);
    }

    /// The app's last committed height on node `i` (0 if unreachable).
    pub fn height(&self, i: usize) -> u64 {
        self.client(i).app_status().map(|s| s.height).unwrap_or(0)
    }

    /// Waits until every listed node's app has committed `height`.
    pub fn wait_height(&self, nodes: &[usize], height: u64, timeout: Duration) {
        let start = Instant::now();
        for &i in nodes {
            while self.height(i) < height {
                assert!(
                    start.elapsed() < timeout,
                    "node{i} stuck at height {} (< {height}); log tail:\n{}",
                    self.height(i),
                    self.log_tail(i)
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }

    pub fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(self.home(i).join("node.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Waits until all listed nodes passed a common height and asserts that their state roots
    /// there are identical; returns that height.
    pub fn assert_same_state(&self, nodes: &[usize], timeout: Duration) -> u64 {
        let target = nodes.iter().map(|&i| self.height(i)).max().unwrap();
        self.wait_height(nodes, target, timeout);
        let roots: Vec<[u8; 32]> = nodes
            .iter()
            .map(|&i| self.client(i).root_at(target).unwrap())
            .collect();
        for (k, r) in roots.iter().enumerate() {
            assert_eq!(
                hex::encode(r),
                hex::encode(roots[0]),
                "node{} and node{} disagree on the state at height {target}",
                nodes[k],
                nodes[0]
            );
        }
        target
    }

    /// Deploys the example counter (as the faucet) through the CLI.
    pub fn deploy_counter(&self) {
        let wasm = guest("counter");
        self.cli(
            0,
            &[
                "deploy",
                wasm.to_str().unwrap(),
                "--from",
                &self.faucet_path(),
            ],
        );
    }

    /// Invokes the counter (as the faucet) through node `node`'s CLI; returns the id of its
    /// output and the height that committed it.
    pub fn invoke_counter_for_output(&self, node: usize) -> ([u8; 32], u64) {
        let out = self.cli(
            node,
            &[
                "invoke",
                "counter",
                "--input",
                r#"{"by": 2}"#,
                "--from",
                &self.faucet_path(),
                "--json",
            ],
        );
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        let id = hex::decode(v["outputs"][0]["id"].as_str().expect("an outbox id")).unwrap();
        (id.try_into().unwrap(), v["height"].as_u64().unwrap())
    }

    /// Waits (up to `timeout`) until node `i` reports the network's group key (the DKG runs
    /// from genesis), and returns it.
    pub fn wait_for_group_key(&self, i: usize, timeout: Duration) -> GroupKeyInfo {
        let start = Instant::now();
        loop {
            if let Some(info) = self.client(i).group_key().ok().flatten() {
                return info;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for the group key"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Devnet {
    /// Adds a node to the devnet, funds its operator from the faucet and registers it as a
    /// validator bonding `stake` (through the CLI); returns its index.
    pub fn add_validator(&mut self, stake: u128) -> usize {
        let out = nexus(&["devnet", "add-node", "--dir", &self.dir_arg()], b"");
        assert!(
            out.status.success(),
            "devnet add-node: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        self.reload();
        let index = self.layout.nodes.len() - 1;
        let op = self.layout.nodes[index].operator.to_string();
        let funds = (10 * stake).to_string();
        let faucet = self.faucet_path();
        self.cli(
            0,
            &[
                "transfer", "--to", &op, "--amount", &funds, "--from", &faucet,
            ],
        );
        let home = self.home(index);
        let stake = stake.to_string();
        self.cli(
            0,
            &[
                "validator",
                "create",
                "--home",
                home.to_str().unwrap(),
                "--amount",
                &stake,
            ],
        );
        index
    }
}

impl Drop for Devnet {
    fn drop(&mut self) {
        let _ = Command::new(nexus_bin())
            .args(["devnet", "down", "--dir", &self.dir_arg()])
            .output();
        // A failed test keeps its nodes' logs for the post-mortem (CI prints where).
        if std::thread::panicking() {
            let keep = std::env::temp_dir().join(format!(
                "nexus-failed-{}",
                self.layout.nodes.first().map_or(0, |n| n.ports.p2p)
            ));
            let _ = std::fs::remove_dir_all(&keep);
            for i in 0..self.layout.nodes.len() {
                let to = keep.join(format!("node{i}"));
                let _ = std::fs::create_dir_all(&to);
                for log in ["node.log", "cometbft.log"] {
                    let _ = std::fs::copy(self.home(i).join(log), to.join(log));
                }
            }
            eprintln!("node logs of the failed test kept in {}", keep.display());
        }
        // Anything still alive (a SIGSTOPped group) goes now.
        for i in 0..self.layout.nodes.len() {
            if let Ok(text) = std::fs::read_to_string(self.home(i).join("node.pid")) {
                if let Ok(pid) = text.trim().parse::<i32>() {
                    // SAFETY: signalling process groups this test started.
                    unsafe {
                        libc::kill(-pid, libc::SIGCONT);
                        libc::kill(-pid, libc::SIGKILL);
                    }
                }
            }
        }
    }
}

/// Signs transactions for one account with locally tracked nonces (bulk load for tests).
pub struct Sender {
    pub key: AccountKey,
    pub nonce: u64,
    pub chain_id: String,
}

impl Sender {
    pub fn new(key: AccountKey, client: &Client) -> Sender {
        let nonce = client.account(&key.address()).unwrap().value.nonce;
        Sender {
            key,
            nonce,
            chain_id: client.chain_id().unwrap(),
        }
    }

    pub fn tx(&mut self, kind: TxKind, fuel_limit: u64) -> Vec<u8> {
        let body = TxBody {
            chain_id: self.chain_id.clone(),
            nonce: self.nonce,
            fuel_limit,
            fuel_price: 1,
            kind,
        };
        self.nonce += 1;
        body.sign(&self.key).encode()
    }
}

/// Polls `cond` every 250 ms until it holds; panics naming `what` after `timeout`.
pub fn wait_for(what: &str, timeout: Duration, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Waits (up to `timeout`) for output `id`'s batch to be threshold-signed and checks it the way
/// Ethereum will: the item's leaf folded with its proof gives the batch root, the EIP-712
/// digest of that root under the chain's gateway parameters is what was signed, and the
/// signature verifies under the (proven) group key of its epoch and fails once tampered.
pub fn signed_output(
    net: &Devnet,
    id: &[u8; 32],
    timeout: Duration,
) -> nexus_consensus::threshold::state::SignedOutput {
    let mut out = None;
    wait_for("the output's threshold signature", timeout, || {
        out = net.client(0).output(id).unwrap();
        out.as_ref().is_some_and(|o| o.signature.is_some())
    });
    let out = out.unwrap();
    let item = &out.item;
    let sig = out.signature.as_ref().unwrap();
    let leaf = nexus_threshold::batch::output_leaf(
        &item.request_id,
        &nexus_consensus::address::keccak256(item.function.as_bytes()),
        item.success,
        &nexus_consensus::address::keccak256(&item.output),
    );
    assert_eq!(
        nexus_threshold::batch::process_proof(&leaf, &out.proof),
        out.root
    );
    let params = net.client(0).params().unwrap().value;
    let digest = nexus_threshold::eth::BatchMessage {
        chain_id: params.eth_chain_id,
        gateway: params.eth_gateway.0,
        epoch: sig.epoch,
        root: out.root,
        nexus_height: item.nexus_height,
    }
    .digest();
    assert_eq!(digest, sig.digest);
    // The key of the signature's epoch, proven (the current key may have rotated since).
    let raw = net
        .client(0)
        .get_proven(&nexus_consensus::threshold::state::key_record_key(
            sig.epoch,
        ))
        .unwrap()
        .value
        .expect("the key record of the signature's epoch");
    let record: nexus_consensus::threshold::state::KeyRecord = borsh::from_slice(&raw).unwrap();
    let point = nexus_threshold::CompressedPoint::from_slice(&record.output.group_key.0).unwrap();
    nexus_threshold::signing::verify_signature(&point, &digest, &sig.signature)
        .expect("the group key signed the output batch");
    let mut tampered = sig.signature.clone();
    tampered[40] ^= 1;
    assert!(nexus_threshold::signing::verify_signature(&point, &digest, &tampered).is_err());
    out
}
