//! Signed transactions and their canonical encoding.
//!
//! A transaction is `borsh(SignedTx)`: the body and a recoverable secp256k1 signature over
//! `keccak256(TX_DOMAIN ‖ borsh(body))`. Borsh gives one byte representation per value, decoding
//! rejects trailing bytes, and the signature must be low-s, so one logical transaction has exactly
//! one encoding (its hash is its id).

use crate::address::{keccak256, recover_signer, AccountKey, Address, SignatureError, TxSignature};
use borsh::{BorshDeserialize, BorshSerialize};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use thiserror::Error;

/// Largest encoded transaction: a maximal module plus its configuration.
pub const MAX_TX_BYTES: usize = nexus_runtime::limits::MAX_MODULE_BYTES + (128 << 10);
/// Domain separator of transaction signatures (never valid as anything else).
pub const TX_DOMAIN: &[u8] = b"nexus/tx/v1";
/// Longest chain id.
pub const MAX_CHAIN_ID_BYTES: usize = 50;

/// What a transaction does.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub enum TxKind {
    /// Moves `amount` from the sender to `to`.
    Transfer { to: Address, amount: u128 },
    /// Deploys a new function owned by the sender.
    Deploy(FunctionSpec),
    /// Replaces the code and configuration of a function the sender owns (state is kept).
    Upgrade(FunctionSpec),
    /// Invokes a function with `input` on stdin.
    Invoke { function: String, input: Vec<u8> },
    /// Registers the sender as a validator operator with the given CometBFT ed25519 key and bonds
    /// `amount` of its balance as self-delegation.
    CreateValidator {
        consensus_key: [u8; 32],
        amount: u128,
    },
    /// Bonds `amount` of the sender's balance to `validator`.
    Delegate { validator: Address, amount: u128 },
    /// Starts unbonding `amount` from `validator`; it returns after the unbonding period.
    Undelegate { validator: Address, amount: u128 },
    /// Lets the sender's jailed validator back into the set once its jail time is over.
    Unjail,
    /// A validator publishes the key its DKG shares are encrypted to (33-byte compressed
    /// secp256k1). Validator duty: fuel price 0 allowed, validators only.
    RegisterEncryptionKey { key: Vec<u8> },
    /// A validator's DKG message (`nexus_threshold::dkg::DkgMessage::encode`). Validator duty.
    Dkg { message: Vec<u8> },
    /// Deploys a zk-Function: an RV32IM ELF, identified by its SHA-256 (`crate::zk`).
    DeployZk {
        #[serde(skip)]
        elf: Vec<u8>,
    },
    /// Opens a proof job for `program` on `input`, escrowing `reward` from the sender.
    RequestProof {
        program: [u8; 32],
        input: Vec<u8>,
        reward: u128,
    },
    /// Registers the sender as a prover (only provers may submit proofs).
    RegisterProver,
    /// A prover's compressed proof (`nexus_zkvm_bridge::proof` format) for job `job`.
    SubmitProof {
        job: u64,
        #[serde(skip)]
        proof: Vec<u8>,
    },
}

impl TxKind {
    /// Transactions a validator's node sends on its own: free, and only from validators.
    pub fn is_validator_duty(&self) -> bool {
        matches!(
            self,
            TxKind::RegisterEncryptionKey { .. } | TxKind::Dkg { .. }
        )
    }
}

/// A function's code and configuration, as deployed or upgraded.
#[derive(Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct FunctionSpec {
    pub name: String,
    pub version: String,
    #[serde(skip)]
    pub code: Vec<u8>,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub fuel: Option<u64>,
    pub memory_pages: Option<u64>,
}

impl std::fmt::Debug for FunctionSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionSpec")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("code_bytes", &self.code.len())
            .finish_non_exhaustive()
    }
}

impl FunctionSpec {
    pub fn config(&self) -> nexus_runtime::FunctionConfig {
        nexus_runtime::FunctionConfig {
            name: self.name.clone(),
            version: self.version.clone(),
            args: self.args.clone(),
            env: self.env.clone(),
            fuel: self.fuel,
            memory_pages: self.memory_pages,
        }
    }
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct TxBody {
    pub chain_id: String,
    /// Must equal the sender's account nonce; each included transaction increments it.
    pub nonce: u64,
    /// Most fuel the transaction may burn (base cost + bytes + execution).
    pub fuel_limit: u64,
    /// Fee per unit of fuel; the fee charged is `fuel_used * fuel_price`.
    pub fuel_price: u64,
    pub kind: TxKind,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedTx {
    pub body: TxBody,
    pub signature: TxSignature,
}

/// A decoded transaction whose signature checked out.
#[derive(Clone, Debug)]
pub struct VerifiedTx {
    pub body: TxBody,
    pub sender: Address,
    /// SHA-256 of the encoded transaction (CometBFT's transaction hash).
    pub hash: [u8; 32],
    pub encoded_len: usize,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum TxDecodeError {
    #[error("transaction is {len} bytes; the limit is {max} (MAX_TX_BYTES)")]
    TooLarge { len: usize, max: usize },
    #[error("transaction bytes are malformed: {0}")]
    Malformed(String),
    #[error("chain id is longer than {MAX_CHAIN_ID_BYTES} bytes")]
    ChainIdTooLong,
    #[error("bad signature: {0}")]
    Signature(#[from] SignatureError),
}

impl TxBody {
    pub fn signing_digest(&self) -> [u8; 32] {
        let mut bytes = TX_DOMAIN.to_vec();
        BorshSerialize::serialize(self, &mut bytes).expect("borsh encoding into a Vec cannot fail");
        keccak256(&bytes)
    }

    pub fn sign(self, key: &AccountKey) -> SignedTx {
        let signature = key.sign_digest(&self.signing_digest());
        SignedTx {
            body: self,
            signature,
        }
    }
}

impl SignedTx {
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("borsh encoding into a Vec cannot fail")
    }
}

/// The CometBFT hash of transaction bytes.
pub fn tx_hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Signers already recovered, by transaction hash: one transaction is verified in CheckTx,
/// PrepareProposal or ProcessProposal, and FinalizeBlock, and public-key recovery is by far the
/// most expensive step of each. Keyed by the SHA-256 of the exact bytes, so a hit returns what
/// recovery would (finding two transactions with one hash would break SHA-256).
static SIGNERS: Mutex<Option<HashMap<[u8; 32], Address>>> = Mutex::new(None);
/// Entries kept before the signer cache starts over (about the size of a full mempool).
pub const MAX_CACHED_SIGNERS: usize = 65_536;

fn recover_cached(
    hash: &[u8; 32],
    body: &TxBody,
    sig: &TxSignature,
) -> Result<Address, SignatureError> {
    let lock = || SIGNERS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(sender) = lock().as_ref().and_then(|m| m.get(hash)) {
        return Ok(*sender);
    }
    let sender = recover_signer(&body.signing_digest(), sig)?;
    let mut cache = lock();
    let map = cache.get_or_insert_with(HashMap::new);
    if map.len() >= MAX_CACHED_SIGNERS {
        map.clear();
    }
    map.insert(*hash, sender);
    Ok(sender)
}

/// Decodes untrusted bytes and recovers the signer. Does not look at state (nonce, balance).
pub fn decode_and_verify(bytes: &[u8]) -> Result<VerifiedTx, TxDecodeError> {
    if bytes.len() > MAX_TX_BYTES {
        return Err(TxDecodeError::TooLarge {
            len: bytes.len(),
            max: MAX_TX_BYTES,
        });
    }
    let tx: SignedTx =
        borsh::from_slice(bytes).map_err(|e| TxDecodeError::Malformed(e.to_string()))?;
    if tx.body.chain_id.len() > MAX_CHAIN_ID_BYTES {
        return Err(TxDecodeError::ChainIdTooLong);
    }
    let hash = tx_hash(bytes);
    let sender = recover_cached(&hash, &tx.body, &tx.signature)?;
    Ok(VerifiedTx {
        body: tx.body,
        sender,
        hash,
        encoded_len: bytes.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn body(kind: TxKind) -> TxBody {
        TxBody {
            chain_id: "nexus-test".into(),
            nonce: 7,
            fuel_limit: 1_000_000,
            fuel_price: 1,
            kind,
        }
    }

    #[test]
    fn round_trip_recovers_sender() {
        let key = AccountKey::generate();
        let tx = body(TxKind::Transfer {
            to: Address([9; 20]),
            amount: 5,
        })
        .sign(&key);
        let bytes = tx.encode();
        let v = decode_and_verify(&bytes).unwrap();
        assert_eq!(v.sender, key.address());
        assert_eq!(v.body, tx.body);
        assert_eq!(v.hash, tx_hash(&bytes));
    }

    #[test]
    fn changing_any_signed_field_changes_the_sender() {
        let key = AccountKey::generate();
        let mut tx = body(TxKind::Unjail).sign(&key);
        tx.body.nonce += 1;
        let got = decode_and_verify(&tx.encode()).map(|v| v.sender);
        assert_ne!(got, Ok(key.address()));
    }

    #[test]
    fn trailing_bytes_and_oversize_are_rejected() {
        let key = AccountKey::generate();
        let mut bytes = body(TxKind::Unjail).sign(&key).encode();
        bytes.push(0);
        assert!(matches!(
            decode_and_verify(&bytes),
            Err(TxDecodeError::Malformed(_))
        ));
        let huge = vec![0u8; MAX_TX_BYTES + 1];
        assert!(matches!(
            decode_and_verify(&huge),
            Err(TxDecodeError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_cached_signer_is_only_reused_for_the_exact_same_bytes() {
        let key = AccountKey::generate();
        let bytes = body(TxKind::Unjail).sign(&key).encode();
        assert_eq!(decode_and_verify(&bytes).unwrap().sender, key.address());
        // Same bytes again: served from the cache, same answer.
        assert_eq!(decode_and_verify(&bytes).unwrap().sender, key.address());
        // A different signature over the same body is a different transaction.
        let mut other = bytes.clone();
        let sig_at = other.len() - 2;
        other[sig_at] ^= 1;
        if let Ok(v) = decode_and_verify(&other) {
            assert_ne!(v.sender, key.address());
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode_and_verify(&bytes);
        }

        #[test]
        fn flipping_a_byte_never_keeps_the_sender(pos in 0usize..200, bit in 0u8..8) {
            let key = AccountKey::from_bytes(&[7u8; 32]).unwrap();
            let bytes = body(TxKind::Invoke { function: "counter".into(), input: vec![1, 2, 3] })
                .sign(&key)
                .encode();
            let mut tampered = bytes.clone();
            let i = pos % tampered.len();
            tampered[i] ^= 1 << bit;
            if let Ok(v) = decode_and_verify(&tampered) {
                prop_assert_ne!(v.sender, key.address());
            }
        }
    }
}
