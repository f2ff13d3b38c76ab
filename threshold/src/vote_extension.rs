//! The signing payload of a validator's vote extension, its canonical encoding and its limits.
//!
//! Pipelined signing, one round per block: in its extension at height `h` a validator publishes
//! nonce commitments for future signing slots and signature shares for sessions whose
//! commitments were published earlier (and bound to a message in committed state). Encoding:
//! borsh of [`VoteExtension`], at most [`MAX_VOTE_EXTENSION_BYTES`]; a validator with `k` shares
//! spends [`slot_commitments_bytes`]`(k)` per slot it commits to and
//! [`session_shares_bytes`]`(k)` per session it signs. With
//! [`crate::allocation::MAX_SHARES_PER_VALIDATOR`] = 8 one commitment slot plus one session
//! (849 bytes) always fit; [`items_per_extension`] gives the steady-state number of items for
//! `k` shares (7 for `k = 1`). Whatever does not fit is left for the next height
//! ([`crate::signing::Signer::extend`] reports it).

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::encryption::{decode_point, scalar_from_bytes};
use crate::{CompressedPoint, ShareId};

/// Everything a validator may put in one vote extension (per height), signing part and the
/// application's own fields together.
pub const VOTE_EXTENSION_BUDGET_BYTES: usize = 1024;
/// Room of [`VOTE_EXTENSION_BUDGET_BYTES`] kept for the application's own fields and framing
/// (the Nexus app adds a 42-byte Ethereum vote in a 5-byte envelope).
pub const APP_RESERVED_EXTENSION_BYTES: usize = 64;
/// Hard limit on an encoded signing part (per validator per height).
pub const MAX_VOTE_EXTENSION_BYTES: usize =
    VOTE_EXTENSION_BUDGET_BYTES - APP_RESERVED_EXTENSION_BYTES;
/// Version byte of the encoding.
pub const VOTE_EXTENSION_VERSION: u8 = 1;
/// Bytes of an empty extension (version + two vector lengths).
pub const EMPTY_EXTENSION_BYTES: usize = 1 + 4 + 4;

/// Bytes of one slot's commitments for a validator with `k` shares.
pub const fn slot_commitments_bytes(k: usize) -> usize {
    8 + 4 + k * (2 + 33 + 33)
}

/// Bytes of one session's signature shares for a validator with `k` shares.
pub const fn session_shares_bytes(k: usize) -> usize {
    8 + 4 + k * (2 + 32)
}

/// Items a validator with `k` shares can both commit to and sign in one extension.
pub const fn items_per_extension(k: usize) -> usize {
    (MAX_VOTE_EXTENSION_BYTES - EMPTY_EXTENSION_BYTES)
        / (slot_commitments_bytes(k) + session_shares_bytes(k))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExtensionError {
    #[error("vote extension of {0} bytes exceeds {MAX_VOTE_EXTENSION_BYTES}")]
    TooLarge(usize),
    #[error("malformed vote extension: {0}")]
    Malformed(String),
    #[error("vote extension names share {0}, not owned by the validator")]
    NotOwned(ShareId),
    #[error("commitments for slot {0} do not cover exactly the validator's shares")]
    IncompleteSlot(u64),
}

/// A FROST nonce commitment pair (hiding, binding), compressed.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub struct WireCommitment {
    pub hiding: CompressedPoint,
    pub binding: CompressedPoint,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CommitmentEntry {
    pub id: ShareId,
    pub commitment: WireCommitment,
}

/// Commitments of all of a validator's shares for one future signing slot.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SlotCommitments {
    pub slot: u64,
    pub entries: Vec<CommitmentEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ShareEntry {
    pub id: ShareId,
    /// 32-byte big-endian scalar.
    pub share: [u8; 32],
}

/// Signature shares for the session using slot `slot`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SessionShares {
    pub slot: u64,
    pub entries: Vec<ShareEntry>,
}

/// The threshold-signing part of a vote extension.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct VoteExtension {
    pub version: u8,
    /// Sorted by slot, no duplicates.
    pub commitments: Vec<SlotCommitments>,
    /// Sorted by slot, no duplicates.
    pub shares: Vec<SessionShares>,
}

impl Default for VoteExtension {
    fn default() -> Self {
        Self {
            version: VOTE_EXTENSION_VERSION,
            commitments: Vec::new(),
            shares: Vec::new(),
        }
    }
}

impl VoteExtension {
    pub fn encode(&self) -> Vec<u8> {
        borsh::to_vec(self).unwrap_or_default()
    }

    /// Size of the encoding.
    pub fn encoded_len(&self) -> usize {
        EMPTY_EXTENSION_BYTES
            + self
                .commitments
                .iter()
                .map(|c| slot_commitments_bytes(c.entries.len()))
                .sum::<usize>()
            + self
                .shares
                .iter()
                .map(|s| session_shares_bytes(s.entries.len()))
                .sum::<usize>()
    }

    /// Decodes untrusted bytes: size limit first, exact and canonical borsh, version, sorted
    /// slots and ids, every point on the curve and every share a canonical scalar.
    pub fn decode(bytes: &[u8]) -> Result<Self, ExtensionError> {
        if bytes.len() > MAX_VOTE_EXTENSION_BYTES {
            return Err(ExtensionError::TooLarge(bytes.len()));
        }
        let ext: Self =
            borsh::from_slice(bytes).map_err(|e| ExtensionError::Malformed(e.to_string()))?;
        if ext.version != VOTE_EXTENSION_VERSION {
            return Err(ExtensionError::Malformed(format!(
                "version {}",
                ext.version
            )));
        }
        let malformed = |s: &str| ExtensionError::Malformed(s.to_string());
        if !strictly_increasing(ext.commitments.iter().map(|c| c.slot))
            || !strictly_increasing(ext.shares.iter().map(|s| s.slot))
        {
            return Err(malformed("slots not strictly increasing"));
        }
        for c in &ext.commitments {
            if c.entries.is_empty() || !strictly_increasing(c.entries.iter().map(|e| e.id)) {
                return Err(malformed("commitment ids empty or not strictly increasing"));
            }
            for e in &c.entries {
                if e.id == 0
                    || decode_point(&e.commitment.hiding).is_err()
                    || decode_point(&e.commitment.binding).is_err()
                {
                    return Err(malformed("invalid commitment"));
                }
            }
        }
        for s in &ext.shares {
            if s.entries.is_empty() || !strictly_increasing(s.entries.iter().map(|e| e.id)) {
                return Err(malformed("share ids empty or not strictly increasing"));
            }
            for e in &s.entries {
                if e.id == 0 || scalar_from_bytes(&e.share).is_none() {
                    return Err(malformed("invalid signature share"));
                }
            }
        }
        Ok(ext)
    }

    /// Checks the extension against the shares its validator owns: every id is owned and each
    /// slot's commitments cover exactly the owned ids (what `VerifyVoteExtension` checks).
    pub fn validate_for(&self, owned: &[ShareId]) -> Result<(), ExtensionError> {
        for c in &self.commitments {
            let ids: Vec<ShareId> = c.entries.iter().map(|e| e.id).collect();
            if let Some(bad) = ids.iter().find(|id| !owned.contains(id)) {
                return Err(ExtensionError::NotOwned(*bad));
            }
            if ids.len() != owned.len() {
                return Err(ExtensionError::IncompleteSlot(c.slot));
            }
        }
        for s in &self.shares {
            if let Some(bad) = s.entries.iter().find(|e| !owned.contains(&e.id)) {
                return Err(ExtensionError::NotOwned(bad.id));
            }
        }
        Ok(())
    }
}

fn strictly_increasing<T: Ord>(mut it: impl Iterator<Item = T>) -> bool {
    let Some(mut prev) = it.next() else {
        return true;
    };
    for x in it {
        if x <= prev {
            return false;
        }
        prev = x;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocation::MAX_SHARES_PER_VALIDATOR;

    #[test]
    fn one_item_always_fits() {
        let k = usize::from(MAX_SHARES_PER_VALIDATOR);
        assert!(items_per_extension(k) >= 1);
        assert_eq!(items_per_extension(1), 7);
    }

    #[test]
    fn encoded_len_matches_encoding() {
        let ext = VoteExtension {
            version: VOTE_EXTENSION_VERSION,
            commitments: vec![SlotCommitments {
                slot: 3,
                entries: vec![CommitmentEntry {
                    id: 1,
                    commitment: WireCommitment {
                        hiding: crate::Bytes([2; 33]),
                        binding: crate::Bytes([2; 33]),
                    },
                }],
            }],
            shares: vec![SessionShares {
                slot: 1,
                entries: vec![
                    ShareEntry {
                        id: 1,
                        share: [0; 32],
                    },
                    ShareEntry {
                        id: 2,
                        share: [1; 32],
                    },
                ],
            }],
        };
        assert_eq!(ext.encode().len(), ext.encoded_len());
    }

    #[test]
    fn oversized_is_rejected_before_parsing() {
        let bytes = vec![0u8; MAX_VOTE_EXTENSION_BYTES + 1];
        assert_eq!(
            VoteExtension::decode(&bytes),
            Err(ExtensionError::TooLarge(MAX_VOTE_EXTENSION_BYTES + 1))
        );
    }
}
