//! The JSON the API returns. Amounts (u128) are decimal strings, bytes are lowercase hex (file
//! contents: base64), addresses are `0x`-prefixed hex.
//!
//! Every answer is read at one committed `height` and carries `app_hash`, the state root of that
//! height as this node has it. A client that does not trust the node takes the app hash from the
//! header of block `height + 1` (signed by the validators; `nexus_consensus::client` does this
//! over CometBFT's RPC) and checks the `proof` against it with `nexus_consensus::query`.

use serde::Serialize;
use utoipa::ToSchema;

/// A Merkle proof of one state key: check it with `query::verify_key(app_hash, key, value,
/// proof)` (all hex-decoded; `value` null proves the key is unset), then decode `value` (borsh)
/// and compare it with the answer's fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct KeyProof {
    /// The raw state key, hex.
    pub key: String,
    /// The raw stored value (borsh for ledger records), hex; null when the key is unset.
    pub value: Option<String>,
    /// `ReadProof::to_bytes` (a JMT sparse Merkle proof), hex.
    pub proof: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    /// With `proof`: the height at which an unset key was proven unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_hash: Option<String>,
    /// Proof that the key is unset (KV reads only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<KeyProof>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    pub chain_id: String,
    /// Latest committed height.
    pub height: u64,
    /// State root after `height`, hex.
    pub app_hash: String,
    /// Proof of the chain id (state key `chain/id`).
    pub proof: KeyProof,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountResponse {
    pub address: String,
    /// Spendable balance, decimal string.
    pub balance: String,
    /// The nonce the account's next transaction must carry.
    pub nonce: u64,
    pub height: u64,
    pub app_hash: String,
    /// Proof of `acct/<address>` (unset = an empty account).
    pub proof: KeyProof,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValidatorJson {
    pub operator: String,
    /// CometBFT ed25519 public key, hex.
    pub consensus_key: String,
    /// Bonded stake after slashes, decimal string.
    pub tokens: String,
    /// Total delegation shares, decimal string.
    pub total_shares: String,
    /// Voting power CometBFT runs with (0 when not in the active set).
    pub power: i64,
    /// In the active set last sent to CometBFT.
    pub active: bool,
    /// Jailed until this height; null when not jailed.
    pub jailed_until: Option<u64>,
    pub tombstoned: bool,
    pub missed_in_window: u64,
    pub window_start: u64,
    /// Proof of `stake/val/<operator>`.
    pub proof: KeyProof,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValidatorsResponse {
    pub height: u64,
    pub app_hash: String,
    /// Every validator record, in operator order. Each record is proven; that the list is
    /// complete is not (the store has no range proofs yet).
    pub validators: Vec<ValidatorJson>,
    /// Proof of `stake/active`, the active set (operators, keys and powers) as one value.
    pub active_set_proof: KeyProof,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FunctionResponse {
    pub name: String,
    pub version: String,
    /// The deployer's account address (or `local` for `nexus run` state).
    pub owner: String,
    /// SHA-256 of the module, hex.
    pub code_hash: String,
    pub deployed_height: u64,
    pub args: Vec<String>,
    pub env: Vec<EnvVar>,
    /// Default fuel per invocation; null = the runtime's default.
    pub fuel: Option<u64>,
    /// Memory pages the function may grow to; null = the runtime's maximum.
    pub memory_pages: Option<u64>,
    pub height: u64,
    pub app_hash: String,
    /// Proof of `fn/<name>` (value: borsh `FunctionRecord`).
    pub proof: KeyProof,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct KvResponse {
    pub function: String,
    /// The function's key, hex.
    pub key: String,
    /// The value, hex.
    pub value: String,
    pub height: u64,
    pub app_hash: String,
    /// Proof of `kv/<function>/<key>` (its `value` is the same bytes as `value`).
    pub proof: KeyProof,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FsKind {
    File,
    Dir,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DirEntryJson {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FsResponse {
    pub function: String,
    pub path: String,
    pub kind: FsKind,
    /// File contents, base64 (files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// File size in bytes (files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Entries sorted by name bytes (directories only). Not proven: the store has no range
    /// proofs yet; fetch an entry to get its proof.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<DirEntryJson>>,
    pub height: u64,
    pub app_hash: String,
    /// borsh `ProvenReads` of reading the path as a file, hex: `query::verify_file(app_hash,
    /// function, path, proof)` returns the contents of a file, or the proven error "is a
    /// directory" for a directory.
    pub proof: String,
}

/// A function output for Ethereum and what `NexusGateway.fulfill(id, output, nexusHeight,
/// proof, signature)` takes.
#[derive(Debug, Serialize, ToSchema)]
pub struct OutputResponse {
    /// Outbox id, hex.
    pub id: String,
    /// `requestId` (uint256, big-endian hex): the gateway request it answers, or the id itself.
    pub request_id: String,
    pub function: String,
    /// `keccak256(function name)`, hex.
    pub function_id: String,
    /// The output bytes, hex (with `success` false: the error message of a failed request).
    pub output: String,
    /// `fulfill`'s `success`: false answers a gateway request that failed on Nexus.
    pub success: bool,
    /// The block that produced it (`nexusHeight`): its batch.
    pub nexus_height: u64,
    /// Its leaf's position in the batch.
    pub batch_index: u32,
    /// Merkle root of every output of block `nexus_height`, hex: what the group key signs.
    pub batch_root: String,
    /// The leaf's siblings, bottom-up, hex (`fulfill`'s `proof`).
    pub inclusion_proof: Vec<String>,
    /// The group key's signature on the batch root; null until signed.
    pub signature: Option<OutputSignatureJson>,
    pub height: u64,
    pub app_hash: String,
    /// Proof of `thr/out/<id>` (borsh `OutboxItem`).
    pub item_proof: KeyProof,
    /// Proof of `thr/batch/<nexus_height>` (borsh `OutputBatch`: leaves, root, signature).
    pub batch_proof: KeyProof,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OutputSignatureJson {
    /// Key epoch (`OutputBatch.epoch` of the EIP-712 message).
    pub epoch: u64,
    /// The EIP-712 digest that was signed, hex.
    pub digest: String,
    /// FROST signature, compressed R ‖ z (65 bytes), hex.
    pub signature: String,
    /// Height of the block that carried the signature.
    pub signed_at: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ZkJobResponse {
    pub id: u64,
    /// The program to prove: the SHA-256 of its ELF, hex.
    pub program: String,
    /// Input, hex.
    pub input: String,
    pub requester: String,
    /// Escrowed reward, decimal string.
    pub reward: String,
    pub requested_at: u64,
    /// Last height a proof is accepted.
    pub expires_at: u64,
    /// `open`, `done` or `expired`.
    pub status: String,
    /// The verified result (status `done`).
    pub result: Option<ZkJobResultJson>,
    /// Height the reward went back to the requester (status `expired`).
    pub expired_at: Option<u64>,
    pub height: u64,
    pub app_hash: String,
    /// Proof of `zk/job/<id>` (borsh `ZkJob`).
    pub proof: KeyProof,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ZkJobResultJson {
    pub prover: String,
    /// The proved output, hex.
    pub output: String,
    pub exit_code: u32,
    pub cycles: u64,
    /// Height of the block that verified the proof.
    pub proved_at: u64,
    /// The outbox item carrying the output for signing (exit code 0 only), hex.
    pub outbox_id: Option<String>,
}
