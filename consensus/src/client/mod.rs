//! A blocking client of a node's CometBFT RPC: submit transactions, wait for their results, and
//! read state with proofs checked against an app hash from a commit signed by ≥ 2/3 of the
//! validator set of that height.
//!
//! Trust: the signed header is checked against the validator set the node reports for that
//! height (its hash must match the header's `validators_hash`, and > 2/3 of its power must have
//! signed). A full light client that follows validator-set changes from a trusted genesis is the
//! next step; until then a client should talk to a node it runs or trusts for the set.

use crate::execute::TxOutcome;
use crate::query::{self, verify_key, VerifyError};
use base64::Engine as _;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tendermint_light_client_verifier::operations::{
    ProdVotingPowerCalculator, VotingPowerCalculator,
};
use thiserror::Error;

/// How long [`Client::wait_tx`] waits for a transaction to be committed.
pub const DEFAULT_TX_TIMEOUT: Duration = Duration::from_secs(60);
/// Per-request HTTP timeout.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Most validators fetched per page (CometBFT's own maximum).
const VALIDATORS_PER_PAGE: usize = 100;

mod reads;
mod zk;
pub use reads::AtHeight;

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("cannot reach the node at {url}: {message}")]
    Unreachable { url: String, message: String },
    #[error("node RPC error: {0}")]
    Rpc(String),
    #[error("unexpected answer from the node: {0}")]
    Decode(String),
    #[error("transaction refused by CheckTx (code {code}, {codespace}): {log}")]
    Refused {
        code: u32,
        codespace: String,
        log: String,
    },
    #[error("transaction {hash} was not committed within {secs} s")]
    Timeout { hash: String, secs: u64 },
    #[error("proof check failed: {0}")]
    Verify(#[from] VerifyError),
    #[error("light verification of block {height} failed: {message}")]
    Light { height: u64, message: String },
    #[error("query failed (code {code}): {log}")]
    Query { code: u32, log: String },
}

/// The committed result of a transaction.
#[derive(Debug, Clone)]
pub struct CommittedTx {
    pub hash: String,
    pub height: u64,
    pub code: u32,
    pub codespace: String,
    pub log: String,
    pub outcome: TxOutcome,
}

/// What a node's application last committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AppStatus {
    pub height: u64,
    pub app_hash: [u8; 32],
}

/// A proven state read.
#[derive(Debug, Clone)]
pub struct ProvenValue {
    pub height: u64,
    pub app_hash: [u8; 32],
    pub value: Option<Vec<u8>>,
}

/// `(code, log, height, value, proof)` of an ABCI query.
type QueryAnswer = (u32, String, u64, Vec<u8>, Option<Vec<u8>>);

pub struct Client {
    base: String,
    agent: ureq::Agent,
    /// App hashes already light-verified, by height.
    verified: Mutex<BTreeMap<u64, [u8; 32]>>,
}

/// Verified app hashes a client remembers.
const MAX_VERIFIED_HASHES: usize = 1024;

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(s: &str) -> Result<Vec<u8>, ClientError> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| ClientError::Decode(format!("base64: {e}")))
}

fn str_u64(v: &Value) -> Option<u64> {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64())
}

impl Client {
    /// `rpc` is CometBFT's RPC address, e.g. `http://127.0.0.1:26657`.
    pub fn new(rpc: &str) -> Client {
        let base = rpc.trim_end_matches('/').to_string();
        let base = if base.starts_with("http://") || base.starts_with("https://") {
            base
        } else {
            format!("http://{}", base.trim_start_matches("tcp://"))
        };
        Client {
            base,
            agent: ureq::AgentBuilder::new().timeout(HTTP_TIMEOUT).build(),
            verified: Mutex::default(),
        }
    }

    pub fn url(&self) -> &str {
        &self.base
    }

    fn call(&self, method: &str, params: Value) -> Result<Value, ClientError> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp = self.agent.post(&self.base).send_json(body);
        let resp = match resp {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => {
                return Err(ClientError::Unreachable {
                    url: self.base.clone(),
                    message: e.to_string(),
                })
            }
        };
        let v: Value = resp
            .into_json()
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        if let Some(err) = v.get("error") {
            let msg = err
                .get("data")
                .and_then(Value::as_str)
                .or_else(|| err.get("message").and_then(Value::as_str))
                .unwrap_or("unknown error");
            return Err(ClientError::Rpc(msg.to_string()));
        }
        v.get("result")
            .cloned()
            .ok_or_else(|| ClientError::Decode("no result".into()))
    }

    /// The transactions of block `height`, raw.
    pub fn block_txs(&self, height: u64) -> Result<Vec<Vec<u8>>, ClientError> {
        let r = self.call("block", json!({"height": height.to_string()}))?;
        r["block"]["data"]["txs"]
            .as_array()
            .map(|txs| {
                txs.iter()
                    .map(|t| unb64(t.as_str().unwrap_or("")))
                    .collect::<Result<Vec<_>, _>>()
            })
            .unwrap_or_else(|| Ok(Vec::new()))
    }

    /// Latest block height and whether the node is catching up.
    pub fn status(&self) -> Result<(u64, bool), ClientError> {
        let r = self.call("status", json!({}))?;
        let sync = &r["sync_info"];
        let height = str_u64(&sync["latest_block_height"])
            .ok_or_else(|| ClientError::Decode("status without a height".into()))?;
        Ok((height, sync["catching_up"].as_bool().unwrap_or(false)))
    }

    /// The application's last committed height and app hash (ABCI `Info`, through the node).
    pub fn app_status(&self) -> Result<AppStatus, ClientError> {
        let r = self.call("abci_info", json!({}))?;
        let resp = &r["response"];
        let height = str_u64(&resp["last_block_height"]).unwrap_or(0);
        let raw = unb64(resp["last_block_app_hash"].as_str().unwrap_or(""))?;
        let app_hash = if raw.is_empty() {
            [0u8; 32]
        } else {
            raw.try_into()
                .map_err(|_| ClientError::Decode("app hash is not 32 bytes".into()))?
        };
        Ok(AppStatus { height, app_hash })
    }

    /// The node's own state root after block `height` (unproven; for comparing nodes).
    pub fn root_at(&self, height: u64) -> Result<[u8; 32], ClientError> {
        let (code, log, _, value, _) = self.abci_query("/root", &[], height)?;
        if code != query::CODE_OK {
            return Err(ClientError::Query { code, log });
        }
        value
            .try_into()
            .map_err(|_| ClientError::Decode("root is not 32 bytes".into()))
    }

    /// Waits until the node has committed block `height`.
    pub fn wait_for_height(&self, height: u64) -> Result<(), ClientError> {
        let start = Instant::now();
        while self.status()?.0 < height {
            if start.elapsed() > DEFAULT_TX_TIMEOUT {
                return Err(ClientError::Rpc(format!(
                    "block {height} did not arrive within {} s",
                    DEFAULT_TX_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        Ok(())
    }

    /// Submits a transaction; returns its hash once CheckTx accepted it.
    pub fn broadcast(&self, tx: &[u8]) -> Result<String, ClientError> {
        let r = self.call("broadcast_tx_sync", json!({"tx": b64(tx)}))?;
        let code = r["code"].as_u64().unwrap_or(0) as u32;
        if code != 0 {
            return Err(ClientError::Refused {
                code,
                codespace: r["codespace"].as_str().unwrap_or("").to_string(),
                log: r["log"].as_str().unwrap_or("").to_string(),
            });
        }
        Ok(r["hash"].as_str().unwrap_or("").to_string())
    }

    /// The committed result of a transaction, if it is in a block.
    pub fn tx(&self, hash: &str) -> Result<Option<CommittedTx>, ClientError> {
        let raw = hex::decode(hash).map_err(|e| ClientError::Decode(e.to_string()))?;
        match self.call("tx", json!({"hash": b64(&raw), "prove": false})) {
            Ok(r) => {
                let res = &r["tx_result"];
                let data = unb64(res["data"].as_str().unwrap_or(""))?;
                let outcome = if data.is_empty() {
                    TxOutcome::default()
                } else {
                    borsh::from_slice(&data).map_err(|e| ClientError::Decode(e.to_string()))?
                };
                Ok(Some(CommittedTx {
                    hash: hash.to_string(),
                    height: str_u64(&r["height"]).unwrap_or(0),
                    code: res["code"].as_u64().unwrap_or(0) as u32,
                    codespace: res["codespace"].as_str().unwrap_or("").to_string(),
                    log: res["log"].as_str().unwrap_or("").to_string(),
                    outcome,
                }))
            }
            Err(ClientError::Rpc(msg)) if msg.contains("not found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Waits until a transaction is committed.
    pub fn wait_tx(&self, hash: &str, timeout: Duration) -> Result<CommittedTx, ClientError> {
        let start = Instant::now();
        loop {
            if let Some(tx) = self.tx(hash)? {
                return Ok(tx);
            }
            if start.elapsed() > timeout {
                return Err(ClientError::Timeout {
                    hash: hash.to_string(),
                    secs: timeout.as_secs(),
                });
            }
            std::thread::sleep(POLL_INTERVAL);
        }
    }

    /// Submits and waits for the committed result.
    pub fn submit(&self, tx: &[u8]) -> Result<CommittedTx, ClientError> {
        let hash = self.broadcast(tx)?;
        self.wait_tx(&hash, DEFAULT_TX_TIMEOUT)
    }

    fn abci_query(&self, path: &str, data: &[u8], height: u64) -> Result<QueryAnswer, ClientError> {
        let r = self.call(
            "abci_query",
            json!({"path": path, "data": hex::encode(data), "height": height.to_string(), "prove": true}),
        )?;
        let resp = &r["response"];
        let code = resp["code"].as_u64().unwrap_or(0) as u32;
        let log = resp["log"].as_str().unwrap_or("").to_string();
        let h = str_u64(&resp["height"]).unwrap_or(0);
        let value = unb64(resp["value"].as_str().unwrap_or(""))?;
        let proof = match resp["proofOps"]["ops"]
            .as_array()
            .and_then(|ops| ops.first())
        {
            Some(op) => {
                if op["type"].as_str() != Some(query::PROOF_OP_TYPE) {
                    return Err(ClientError::Decode("unknown proof type".into()));
                }
                Some(unb64(op["data"].as_str().unwrap_or(""))?)
            }
            None => None,
        };
        Ok((code, log, h, value, proof))
    }

    /// The app hash after block `height`, from the header of block `height + 1`, whose commit
    /// must be signed by more than 2/3 of the validator power of that block.
    pub fn verified_app_hash(&self, height: u64) -> Result<[u8; 32], ClientError> {
        if let Some(hash) = self.verified_lock().get(&height) {
            return Ok(*hash);
        }
        let hash = self.light_verify_app_hash(height)?;
        let mut cache = self.verified_lock();
        if cache.len() >= MAX_VERIFIED_HASHES {
            cache.clear();
        }
        cache.insert(height, hash);
        Ok(hash)
    }

    fn verified_lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, [u8; 32]>> {
        self.verified.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn light_verify_app_hash(&self, height: u64) -> Result<[u8; 32], ClientError> {
        let next = height + 1;
        let light = |message: String| ClientError::Light {
            height: next,
            message,
        };
        // Wait for the next block (blocks come every timeout_commit).
        let start = Instant::now();
        while self.status()?.0 < next {
            if start.elapsed() > DEFAULT_TX_TIMEOUT {
                return Err(light("the next block did not arrive".into()));
            }
            std::thread::sleep(POLL_INTERVAL);
        }
        let commit: tendermint_rpc::endpoint::commit::Response =
            serde_json::from_value(self.call("commit", json!({"height": next.to_string()}))?)
                .map_err(|e| light(format!("commit: {e}")))?;
        let validators = self
            .validator_infos(next)
            .map_err(|e| light(format!("validators: {e}")))?;
        let set = tendermint::validator::Set::without_proposer(validators);
        let header = &commit.signed_header.header;
        if header.validators_hash != set.hash() {
            return Err(light("validator set does not match the header".into()));
        }
        if commit.signed_header.commit.block_id.hash != header.hash() {
            return Err(light("commit is for another block".into()));
        }
        ProdVotingPowerCalculator::default()
            .check_signers_overlap(&commit.signed_header, &set)
            .map_err(|e| light(e.to_string()))?;
        let app_hash: [u8; 32] = header
            .app_hash
            .as_bytes()
            .try_into()
            .map_err(|_| light("app hash is not 32 bytes".into()))?;
        Ok(app_hash)
    }

    /// CometBFT's validator set at `height`, every page.
    fn validator_infos(
        &self,
        height: u64,
    ) -> Result<Vec<tendermint::validator::Info>, ClientError> {
        let mut validators = Vec::new();
        let mut page = 1;
        loop {
            let resp: tendermint_rpc::endpoint::validators::Response = serde_json::from_value(
                self.call(
                    "validators",
                    json!({"height": height.to_string(), "page": page.to_string(), "per_page": VALIDATORS_PER_PAGE.to_string()}),
                )?,
            )
            .map_err(|e| ClientError::Decode(format!("validators: {e}")))?;
            let n = resp.validators.len();
            validators.extend(resp.validators);
            if validators.len() >= resp.total as usize || n == 0 {
                return Ok(validators);
            }
            page += 1;
        }
    }

    /// CometBFT's validator set at `height`: (ed25519 key, voting power), as the node reports it.
    pub fn consensus_validators(&self, height: u64) -> Result<Vec<([u8; 32], u64)>, ClientError> {
        self.validator_infos(height)?
            .into_iter()
            .map(|v| {
                let key: [u8; 32] = v
                    .pub_key
                    .ed25519()
                    .ok_or_else(|| ClientError::Decode("validator key is not ed25519".into()))?
                    .as_bytes()
                    .try_into()
                    .map_err(|_| ClientError::Decode("bad ed25519 key".into()))?;
                Ok((key, v.power.value()))
            })
            .collect()
    }

    /// Addresses (CometBFT's 20-byte validator addresses) that signed the commit of `height`.
    pub fn commit_signers(&self, height: u64) -> Result<Vec<[u8; 20]>, ClientError> {
        let commit: tendermint_rpc::endpoint::commit::Response =
            serde_json::from_value(self.call("commit", json!({"height": height.to_string()}))?)
                .map_err(|e| ClientError::Decode(format!("commit: {e}")))?;
        Ok(commit
            .signed_header
            .commit
            .signatures
            .iter()
            .filter_map(|s| match s {
                tendermint::block::CommitSig::BlockIdFlagCommit {
                    validator_address, ..
                } => validator_address.as_bytes().try_into().ok(),
                _ => None,
            })
            .collect())
    }

    /// Reads a raw state key at the latest height and checks its proof.
    pub fn get_proven(&self, key: &[u8]) -> Result<ProvenValue, ClientError> {
        self.get_proven_at(key, 0)
    }

    /// Reads a raw state key at `height` (0 = latest) and checks its proof.
    pub fn get_proven_at(&self, key: &[u8], height: u64) -> Result<ProvenValue, ClientError> {
        let (code, log, height, value, proof) = self.abci_query("/key", key, height)?;
        if code != query::CODE_OK && code != query::CODE_NOT_FOUND {
            return Err(ClientError::Query { code, log });
        }
        let proof = proof.ok_or_else(|| ClientError::Decode("answer carries no proof".into()))?;
        let value = (code == query::CODE_OK).then_some(value);
        let app_hash = self.verified_app_hash(height)?;
        verify_key(app_hash, key, value.as_deref(), &proof)?;
        Ok(ProvenValue {
            height,
            app_hash,
            value,
        })
    }

    /// Reads a function's file at the latest height, proven.
    pub fn file_proven(
        &self,
        function: &str,
        path: &str,
    ) -> Result<(u64, Result<Vec<u8>, String>), ClientError> {
        let (code, log, height, value, _) =
            self.abci_query(&format!("/file/{function}"), path.as_bytes(), 0)?;
        if code != query::CODE_OK && code != query::CODE_NOT_FOUND {
            return Err(ClientError::Query { code, log });
        }
        let app_hash = self.verified_app_hash(height)?;
        match query::verify_file(app_hash, function, path, &value) {
            Ok(bytes) => Ok((height, Ok(bytes))),
            Err(VerifyError::Inspect(e)) => Ok((height, Err(e))),
            Err(e) => Err(e.into()),
        }
    }

    /// An outbox item (a function output for Ethereum) with its proof of inclusion in its
    /// block's output batch and the batch root's threshold signature once signed; item and batch
    /// proven against verified app hashes, the inclusion proof computed here from the batch's
    /// leaves. `None` if there is no such output.
    pub fn output(
        &self,
        id: &[u8; 32],
    ) -> Result<Option<crate::threshold::state::SignedOutput>, ClientError> {
        use crate::threshold::state::{
            batch_key, outbox_key, OutboxItem, OutputBatch, SignedOutput,
        };
        let Some(raw) = self.get_proven(&outbox_key(id))?.value else {
            return Ok(None);
        };
        let item: OutboxItem = borsh::from_slice(&raw)
            .map_err(|e| ClientError::Decode(format!("outbox item: {e}")))?;
        let raw = self
            .get_proven(&batch_key(item.nexus_height))?
            .value
            .ok_or_else(|| {
                ClientError::Decode(format!(
                    "no output batch for height {} (proven absent)",
                    item.nexus_height
                ))
            })?;
        let batch: OutputBatch = borsh::from_slice(&raw)
            .map_err(|e| ClientError::Decode(format!("output batch: {e}")))?;
        SignedOutput::new(item, &batch)
            .map(Some)
            .map_err(ClientError::Decode)
    }

    /// What became of gateway request `id` (taken in at which height, its answer's outbox id or
    /// the error), proven; `None` while the chain has not taken it in.
    pub fn gateway_request(
        &self,
        id: u64,
    ) -> Result<Option<crate::ethereum::RequestRecord>, ClientError> {
        let key = crate::ethereum::state::request_key(id);
        self.get_proven(&key)?
            .value
            .map(|raw| borsh::from_slice(&raw).map_err(|e| ClientError::Decode(e.to_string())))
            .transpose()
    }

    /// The next gateway request id the chain will take in, proven.
    pub fn next_gateway_request(&self) -> Result<u64, ClientError> {
        match self
            .get_proven(crate::ethereum::state::NEXT_REQUEST_KEY)?
            .value
        {
            None => Ok(0),
            Some(raw) => <[u8; 8]>::try_from(raw.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| ClientError::Decode("eth/next is not 8 bytes".into())),
        }
    }

    /// The group key that signs now, proven (`thr/meta` and `thr/key/<epoch>`), with the
    /// hand-over signature naming it (none for the first key).
    pub fn group_key(&self) -> Result<Option<query::GroupKeyInfo>, ClientError> {
        use crate::threshold::state::{
            handover_key, key_record_key, Handover, KeyRecord, Meta, META_KEY,
        };
        let decode = |e: std::io::Error| ClientError::Decode(e.to_string());
        let Some(raw) = self.get_proven(META_KEY)?.value else {
            return Ok(None);
        };
        let meta: Meta = borsh::from_slice(&raw).map_err(decode)?;
        let Some(epoch) = meta.current_epoch else {
            return Ok(None);
        };
        let raw = self
            .get_proven(&key_record_key(epoch))?
            .value
            .ok_or_else(|| ClientError::Decode(format!("key record {epoch} missing")))?;
        let record: KeyRecord = borsh::from_slice(&raw).map_err(decode)?;
        let handover: Option<Handover> = self
            .get_proven(&handover_key(epoch))?
            .value
            .map(|raw| borsh::from_slice(&raw).map_err(decode))
            .transpose()?;
        let mut eth_key_x = [0u8; 32];
        eth_key_x.copy_from_slice(&record.output.group_key.0[1..]);
        Ok(Some(query::GroupKeyInfo {
            epoch,
            group_key: record.output.group_key.0.to_vec(),
            eth_key_x,
            active_from: record.active_from,
            handover,
        }))
    }
}
