//! The DKG's wire messages (round 1, round 2, complaints) and their bounded encoding.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::encryption::{Ciphertext, DecryptionProof};
use crate::{Address, Bytes, CompressedPoint};

use super::{DkgError, MAX_DKG_MESSAGE_BYTES, POK_BYTES};

/// Round 1: commitments to the dealer's polynomial and a proof of knowledge of its secret.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Round1Message {
    pub epoch: u64,
    pub dealer: Address,
    /// `a_j·G` for `j = 0..threshold`.
    pub commitment: Vec<CompressedPoint>,
    pub proof_of_knowledge: Bytes<POK_BYTES>,
}

/// One recipient's encrypted shares from a dealer: the concatenated 32-byte `f(id)` for each of
/// the recipient's share ids, in order.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct EncryptedShares {
    pub recipient: Address,
    pub ciphertext: Ciphertext,
}

/// Round 2: the dealer's shares, encrypted to each recipient (sorted by recipient).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Round2Message {
    pub epoch: u64,
    pub dealer: Address,
    pub shares: Vec<EncryptedShares>,
}

/// A recipient's accusation that `dealer` sent it bad shares, with verifiable evidence.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Complaint {
    pub epoch: u64,
    pub accuser: Address,
    pub dealer: Address,
    pub evidence: DecryptionProof,
}

/// Every DKG message, as carried in a transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum DkgMessage {
    Round1(Round1Message),
    Round2(Round2Message),
    Complaint(Complaint),
}

impl DkgMessage {
    /// Canonical encoding (borsh).
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).unwrap_or_default()
    }

    /// Decodes untrusted bytes: bounded size, exact borsh (no trailing bytes), canonical.
    pub fn decode(bytes: &[u8]) -> Result<Self, DkgError> {
        if bytes.len() > MAX_DKG_MESSAGE_BYTES {
            return Err(DkgError::TooLarge(bytes.len()));
        }
        let msg: Self = borsh::from_slice(bytes).map_err(|e| DkgError::Malformed(e.to_string()))?;
        if msg.encode() != bytes {
            return Err(DkgError::Malformed("non-canonical encoding".into()));
        }
        Ok(msg)
    }

    pub fn epoch(&self) -> u64 {
        match self {
            Self::Round1(m) => m.epoch,
            Self::Round2(m) => m.epoch,
            Self::Complaint(m) => m.epoch,
        }
    }

    /// The validator that must have signed the carrying transaction.
    pub fn sender(&self) -> Address {
        match self {
            Self::Round1(m) => m.dealer,
            Self::Round2(m) => m.dealer,
            Self::Complaint(m) => m.accuser,
        }
    }
}
