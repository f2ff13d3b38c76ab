#![allow(dead_code)]

//! A real `geth --dev` for end-to-end tests: a fresh datadir, HTTP JSON-RPC on a free loopback
//! port (no discovery, no peers, no IPC), a block every second; killed when dropped. Also:
//! funding a test account from geth's unlocked, prefunded dev account, and deploying the
//! contracts (bytecode from `deploy/build-contracts.sh`, via `nexus_cli::eth`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;

/// How long geth may take to answer on its RPC port after start.
pub const GETH_START_TIMEOUT: Duration = Duration::from_secs(60);
/// Seconds between dev blocks (`--dev.period`).
pub const DEV_PERIOD_SECS: u64 = 1;
/// Wei given to each test account (100 ether).
pub const FUNDING_WEI: u128 = 100_000_000_000_000_000_000;

/// The pinned geth binary (`$NEXUS_GETH`, default `~/go/bin/geth`; deploy/install-deps.sh).
pub fn geth_bin() -> PathBuf {
    let bin = std::env::var_os("NEXUS_GETH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join("go/bin/geth")
        });
    assert!(
        bin.exists(),
        "{} is missing: run deploy/install-deps.sh (and `. deploy/env.sh`)",
        bin.display()
    );
    bin
}

/// Two distinct free loopback ports (both held while choosing, so they differ).
fn free_ports() -> (u16, u16) {
    let bind = || TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let (a, b) = (bind(), bind());
    let port = |l: &TcpListener| l.local_addr().expect("local addr").port();
    (port(&a), port(&b))
}

pub struct Geth {
    child: Child,
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl Geth {
    /// Starts `geth --dev` and waits until its RPC answers.
    pub fn start() -> Geth {
        let dir = tempfile::tempdir().expect("geth datadir");
        let (http_port, auth_port) = free_ports();
        let log = std::fs::File::create(dir.path().join("geth.log")).expect("geth log");
        let child = Command::new(geth_bin())
            .args(["--dev", "--dev.period", &DEV_PERIOD_SECS.to_string()])
            .arg("--datadir")
            .arg(dir.path().join("data"))
            .args(["--http", "--http.addr", "127.0.0.1"])
            .args(["--http.port", &http_port.to_string()])
            .args(["--http.api", "eth,net,web3"])
            .args(["--authrpc.addr", "127.0.0.1"])
            .args(["--authrpc.port", &auth_port.to_string()])
            .args([
                "--port",
                "0",
                "--nodiscover",
                "--maxpeers",
                "0",
                "--ipcdisable",
            ])
            .args(["--verbosity", "2"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn geth");
        let mut geth = Geth {
            child,
            dir,
            url: format!("http://127.0.0.1:{http_port}"),
        };
        geth.wait_ready();
        geth
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("geth status") {
                panic!("geth exited early ({status}):\n{}", self.log());
            }
            // Ready once the transaction indexer answers (until then receipts are an error).
            let probe = self.block_on(async {
                self.provider()
                    .get_transaction_receipt(alloy::primitives::B256::ZERO)
                    .await
            });
            if matches!(probe, Ok(None)) {
                return;
            }
            assert!(
                start.elapsed() < GETH_START_TIMEOUT,
                "geth did not answer within {GETH_START_TIMEOUT:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("geth.log")).unwrap_or_default()
    }

    fn provider(&self) -> impl Provider {
        ProviderBuilder::new().connect_http(self.url.parse().expect("url"))
    }

    pub fn block_on<F: std::future::Future>(&self, fut: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(fut)
    }

    /// A fresh account key, funded with [`FUNDING_WEI`] by geth's dev account.
    pub fn funded_key(&self) -> PrivateKeySigner {
        let key = PrivateKeySigner::random();
        let to = key.address();
        self.block_on(async {
            let provider = self.provider();
            let dev: Address = provider.get_accounts().await.expect("eth_accounts")[0];
            let tx = TransactionRequest::default()
                .with_from(dev)
                .with_to(to)
                .with_value(U256::from(FUNDING_WEI));
            let receipt = provider
                .send_transaction(tx)
                .await
                .expect("eth_sendTransaction from the dev account")
                .with_timeout(Some(Duration::from_secs(60)))
                .get_receipt()
                .await
                .expect("funding receipt");
            assert!(receipt.status(), "funding transfer failed");
        });
        key
    }

    /// The `finalized` block number (None while geth has none).
    pub fn finalized(&self) -> Option<u64> {
        self.block_on(async {
            self.provider()
                .get_block_by_number(alloy::eips::BlockNumberOrTag::Finalized)
                .await
                .expect("finalized block")
                .map(|b| b.header.number)
        })
    }

    pub fn nonce(&self, account: Address) -> u64 {
        self.block_on(async {
            self.provider()
                .get_transaction_count(account)
                .await
                .expect("nonce")
        })
    }
}

impl Drop for Geth {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
