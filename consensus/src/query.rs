//! ABCI queries with Merkle proofs, and their client-side verification.
//!
//! Every answer is a set of state reads at one committed height `h`, each with a [`ReadProof`]
//! against the app hash of `h` (which CometBFT puts in the header of block `h + 1`):
//!
//! | path | data | value |
//! |---|---|---|
//! | `/key` | a raw state key | the raw value (proof in `proof_ops`, type [`PROOF_OP_TYPE`]) |
//! | `/file/<function>` | a file path | borsh [`ProvenReads`]: every key the file read touched |
//! | `/root` | empty | the 32-byte state root at the height (unproven: the node's own account, for comparing nodes) |
//! | `/output/<id hex>` | — | borsh `OutboxItem` (output, request fields, its index in the block's batch), proven like `/key` |
//! | `/group_key` | — | borsh [`GroupKeyInfo`]: the signing key, its epoch, its hand-over (unproven; a client proves the `thr/meta` and `thr/key/<epoch>` keys, see `Client::group_key`) |
//!
//! A file is checked by replaying the read on the client over exactly the proven entries
//! ([`verify_file`]); a read of any key outside them is an error, never a silent "absent".

use borsh::{BorshDeserialize, BorshSerialize};
use bytes::Bytes;
use nexus_store::{KeyValues, ReadProof, StateRead, StateView, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use tendermint_proto::v0_38::abci::{RequestQuery, ResponseQuery};
use tendermint_proto::v0_38::crypto::{ProofOp, ProofOps};
use thiserror::Error;

pub const PROOF_OP_TYPE: &str = "nexus:jmt";
/// Most state reads one file query may prove.
pub const MAX_PROVEN_READS: usize = 4096;

/// Query result codes.
pub const CODE_OK: u32 = 0;
pub const CODE_BAD_REQUEST: u32 = 1;
pub const CODE_NOT_FOUND: u32 = 2;
pub const CODE_UNAVAILABLE: u32 = 3;

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ProvenRead {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
    pub proof: Vec<u8>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ProvenReads {
    pub reads: Vec<ProvenRead>,
}

#[derive(Debug, Error)]
pub enum VerifyError {
    #[error("proof: {0}")]
    Proof(#[from] nexus_store::ProofError),
    #[error("answer is malformed: {0}")]
    Malformed(String),
    #[error("the answer does not prove key {0}")]
    Unproven(String),
    #[error("{0}")]
    Inspect(String),
}

/// The committed store frozen at one height; records every key read.
struct RecordingState {
    store: Arc<Store>,
    height: u64,
    reads: Mutex<BTreeMap<Vec<u8>, Option<Vec<u8>>>>,
}

impl StateRead for RecordingState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.store.get_at(key, self.height)?;
        let mut reads = self.reads.lock().unwrap_or_else(PoisonError::into_inner);
        if reads.len() >= MAX_PROVEN_READS {
            return Err(StoreError::TooLarge {
                what: "proven read set",
                len: reads.len() + 1,
                max: MAX_PROVEN_READS,
            });
        }
        reads.insert(key.to_vec(), value.clone());
        Ok(value)
    }

    fn scan_prefix(&self, _: &[u8], _: Option<&[u8]>, _: usize) -> Result<KeyValues, StoreError> {
        Err(StoreError::Config(
            "range reads cannot be proven yet; only point reads are".into(),
        ))
    }
}

/// Proven entries replayed on the client: any other key is an error.
struct ProvenState {
    entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl StateRead for ProvenState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.entries
            .get(key)
            .cloned()
            .ok_or_else(|| StoreError::Corrupt(format!("key {} was not proven", hex::encode(key))))
    }

    fn scan_prefix(&self, _: &[u8], _: Option<&[u8]>, _: usize) -> Result<KeyValues, StoreError> {
        Err(StoreError::Config("range reads cannot be proven".into()))
    }
}

fn error(code: u32, log: impl Into<String>) -> ResponseQuery {
    ResponseQuery {
        code,
        log: log.into(),
        ..Default::default()
    }
}

/// Runs `read` over the committed state of `height` and proves every key it read (at most
/// [`MAX_PROVEN_READS`]; range reads fail). The `/file/` query and the node's HTTP API
/// (`crate::api`) answer with the result; a client replays the same read over the proven entries
/// with [`verify_reads`].
pub fn prove_reads<T>(
    store: &Arc<Store>,
    height: u64,
    read: impl FnOnce(&mut StateView) -> T,
) -> Result<(T, ProvenReads), StoreError> {
    let recorder = Arc::new(RecordingState {
        store: store.clone(),
        height,
        reads: Mutex::default(),
    });
    let mut view = StateView::new(recorder.clone());
    let result = read(&mut view);
    drop(view);
    let reads = std::mem::take(
        &mut *recorder
            .reads
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
    );
    let mut proven = ProvenReads::default();
    for (key, value) in reads {
        let (v, proof) = store.get_with_proof(&key, height)?;
        if v != value {
            return Err(StoreError::Corrupt(format!(
                "key {} changed under the query at height {height}",
                hex::encode(&key)
            )));
        }
        proven.reads.push(ProvenRead {
            key,
            value,
            proof: proof.to_bytes(),
        });
    }
    Ok((result, proven))
}

/// Answers one ABCI query from the committed store.
pub fn handle(store: &Arc<Store>, req: RequestQuery) -> ResponseQuery {
    let latest = store.latest_height();
    if latest == 0 {
        return error(CODE_UNAVAILABLE, "no block is committed yet");
    }
    let height = match u64::try_from(req.height) {
        Ok(0) => latest,
        Ok(h) if h <= latest => h,
        _ => {
            return error(
                CODE_UNAVAILABLE,
                format!("height {} is not available (latest {latest})", req.height),
            )
        }
    };
    let mut req = req;
    if let Some(id) = req.path.strip_prefix("/output/") {
        let Some(id) = hex::decode(id.trim_start_matches("0x"))
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
        else {
            return error(CODE_BAD_REQUEST, "output id must be 32 bytes of hex");
        };
        req.path = "/key".into();
        req.data = crate::threshold::state::outbox_key(&id).into();
    }
    if req.path == "/group_key" {
        return match group_key_info(store, height) {
            Ok(Some(info)) => ResponseQuery {
                value: borsh::to_vec(&info)
                    .expect("borsh encoding into a Vec cannot fail")
                    .into(),
                height: height as i64,
                ..Default::default()
            },
            Ok(None) => error(CODE_NOT_FOUND, "no group key yet"),
            Err(e) => error(CODE_UNAVAILABLE, e.to_string()),
        };
    }
    if req.path == "/key" {
        return match store.get_with_proof(&req.data, height) {
            Ok((value, proof)) => ResponseQuery {
                code: if value.is_some() {
                    CODE_OK
                } else {
                    CODE_NOT_FOUND
                },
                key: req.data.clone(),
                value: value.map(Bytes::from).unwrap_or_default(),
                proof_ops: Some(ProofOps {
                    ops: vec![ProofOp {
                        r#type: PROOF_OP_TYPE.into(),
                        key: req.data.to_vec(),
                        data: proof.to_bytes(),
                    }],
                }),
                height: height as i64,
                ..Default::default()
            },
            Err(e) => error(CODE_UNAVAILABLE, e.to_string()),
        };
    }
    if req.path == "/root" {
        return match store.root_hash_at(height) {
            Ok(root) => ResponseQuery {
                code: CODE_OK,
                value: Bytes::copy_from_slice(&root),
                height: height as i64,
                ..Default::default()
            },
            Err(e) => error(CODE_UNAVAILABLE, e.to_string()),
        };
    }
    if let Some(function) = req.path.strip_prefix("/file/") {
        let Ok(path) = std::str::from_utf8(&req.data) else {
            return error(CODE_BAD_REQUEST, "file path is not UTF-8");
        };
        let (result, proven) = match prove_reads(store, height, |view| {
            nexus_runtime::inspect::read_file(view, function, path)
        }) {
            Ok(answer) => answer,
            Err(e) => return error(CODE_UNAVAILABLE, e.to_string()),
        };
        let code = match &result {
            Ok(_) => CODE_OK,
            Err(nexus_runtime::inspect::InspectError::Runtime(e)) => {
                return error(CODE_UNAVAILABLE, e.to_string())
            }
            Err(_) => CODE_NOT_FOUND,
        };
        return ResponseQuery {
            code,
            log: result.err().map(|e| e.to_string()).unwrap_or_default(),
            value: borsh::to_vec(&proven)
                .expect("borsh encoding into a Vec cannot fail")
                .into(),
            height: height as i64,
            ..Default::default()
        };
    }
    error(
        CODE_BAD_REQUEST,
        format!("unknown query path `{}`", req.path),
    )
}

/// The group key that signs at a height, for clients and relayers.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, serde::Serialize)]
pub struct GroupKeyInfo {
    /// Key epoch (the gateway's `epoch`).
    pub epoch: u64,
    /// Compressed secp256k1 point (33 bytes, even y).
    pub group_key: Vec<u8>,
    /// Its x-coordinate, what `NexusGateway` stores.
    pub eth_key_x: [u8; 32],
    pub active_from: Option<u64>,
    /// The previous key's signature handing over to this one (none for the first key).
    pub handover: Option<crate::threshold::state::Handover>,
}

fn group_key_info(store: &Arc<Store>, height: u64) -> Result<Option<GroupKeyInfo>, String> {
    let state = Arc::new(AtHeight {
        store: store.clone(),
        height,
    });
    let mut view = StateView::new(state);
    let ts = crate::threshold::state::ThresholdState::new(&mut view);
    let Some((epoch, record)) = ts.current_key().map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let mut eth_key_x = [0u8; 32];
    eth_key_x.copy_from_slice(&record.output.group_key.0[1..]);
    Ok(Some(GroupKeyInfo {
        epoch,
        group_key: record.output.group_key.0.to_vec(),
        eth_key_x,
        active_from: record.active_from,
        handover: ts.handover(epoch).map_err(|e| e.to_string())?,
    }))
}

/// The committed store frozen at one height (point reads only).
struct AtHeight {
    store: Arc<Store>,
    height: u64,
}

impl StateRead for AtHeight {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get_at(key, self.height)
    }

    fn scan_prefix(&self, _: &[u8], _: Option<&[u8]>, _: usize) -> Result<KeyValues, StoreError> {
        Err(StoreError::Config(
            "range reads are not served at a height".into(),
        ))
    }
}

/// Checks a `/key` answer against the app hash of its height.
pub fn verify_key(
    app_hash: [u8; 32],
    key: &[u8],
    value: Option<&[u8]>,
    proof: &[u8],
) -> Result<(), VerifyError> {
    let proof = ReadProof::from_bytes(proof)?;
    proof.verify(app_hash, key, value)?;
    Ok(())
}

/// Checks a borsh [`ProvenReads`] answer against `app_hash` and replays `read` over exactly the
/// proven entries. A read of any other key fails inside `read` (a store error naming the key),
/// which the caller reports as [`VerifyError::Unproven`]: the answer is incomplete.
pub fn verify_reads<T>(
    app_hash: [u8; 32],
    answer: &[u8],
    read: impl FnOnce(&mut StateView) -> T,
) -> Result<T, VerifyError> {
    let proven: ProvenReads =
        borsh::from_slice(answer).map_err(|e| VerifyError::Malformed(e.to_string()))?;
    if proven.reads.len() > MAX_PROVEN_READS {
        return Err(VerifyError::Malformed("too many reads".into()));
    }
    let mut entries = BTreeMap::new();
    for r in &proven.reads {
        verify_key(app_hash, &r.key, r.value.as_deref(), &r.proof)?;
        entries.insert(r.key.clone(), r.value.clone());
    }
    let mut view = StateView::new(Arc::new(ProvenState { entries }));
    Ok(read(&mut view))
}

/// Checks a `/file/<function>` answer and returns the file's contents (or the error the read
/// hit, itself proven: e.g. "no such file").
pub fn verify_file(
    app_hash: [u8; 32],
    function: &str,
    path: &str,
    answer: &[u8],
) -> Result<Vec<u8>, VerifyError> {
    verify_reads(app_hash, answer, |view| {
        nexus_runtime::inspect::read_file(view, function, path)
    })?
    .map_err(|e| match e {
        // The replay needed a key the answer did not prove: the answer is incomplete.
        nexus_runtime::inspect::InspectError::Runtime(e) => VerifyError::Unproven(e.to_string()),
        other => VerifyError::Inspect(other.to_string()),
    })
}
