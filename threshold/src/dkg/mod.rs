//! Distributed key generation per epoch, as a deterministic state machine driven by messages that
//! travel as consensus transactions.
//!
//! Protocol (Pedersen DKG with proofs of knowledge, as in RFC 9591's companion DKG and the
//! `frost-core` DKG, but with one dealer per *validator* dealing to all of the validator set's
//! weighted shares, see [`crate::allocation`]):
//!
//! 1. **Round 1** (in the clear): every validator ("dealer") picks a random polynomial `f` of
//!    degree `threshold − 1` and publishes [`Round1Message`]: commitments `a_j·G` to its
//!    coefficients and a Schnorr proof of knowledge of `a_0` bound to (epoch, dealer).
//! 2. **Round 2** (encrypted): every dealer publishes [`Round2Message`]: for every other
//!    validator holding shares, `f(id)` for each of that validator's share ids, encrypted to the
//!    validator's registered encryption key ([`crate::encryption`]).
//! 3. **Complaints**: a recipient whose shares do not match the dealer's commitment publishes
//!    [`Complaint`] revealing the decryption with a proof; every node re-checks it
//!    deterministically and marks either the dealer (bad shares) or the accuser (false
//!    complaint) as misbehaving.
//! 4. **Finish**: the qualified dealers are those with valid round-1 and round-2 messages and no
//!    proven fault. The group key is the sum of their `a_0·G`; share `id`'s verifying share is
//!    the sum of their commitments evaluated at `id`; each share holder's signing share is the
//!    sum of the qualified dealers' `f(id)` ([`DkgParticipant::key_packages`]). If that group
//!    key has an odd y, everything is negated (the key, every verifying share, every signing
//!    share), so the group key always has an even y and Ethereum stores only its x.
//!
//! [`DkgState`] is what the consensus app keeps in state: [`DkgState::apply`] for each DKG
//! transaction (the sender is the transaction's authenticated signer), [`DkgState::advance`] at
//! the phase deadlines the app schedules (heights). [`DkgParticipant`] is the node-local side
//! holding the secret polynomial.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use frost_secp256k1::Secp256K1Sha256;
use serde::{Deserialize, Serialize};

use crate::allocation::Allocation;
use crate::encryption::decode_point;
use crate::{address_hex, Address, CompressedPoint};

type C = Secp256K1Sha256;

/// Largest encoded DKG message accepted from the network.
pub const MAX_DKG_MESSAGE_BYTES: usize = 64 * 1024;
/// Bytes of one secret share in a round-2 plaintext.
pub const SHARE_BYTES: usize = 32;
/// Bytes of a serialized proof of knowledge (compressed R ‖ z).
pub const POK_BYTES: usize = 65;

/// Errors: a message that is rejected (the transaction fails) or a DKG that cannot finish.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DkgError {
    #[error("message for epoch {got}, DKG is for epoch {expected}")]
    WrongEpoch { expected: u64, got: u64 },
    #[error("message signed by {signer} names {named}")]
    WrongSender { signer: String, named: String },
    #[error("{0} is not a participant of this DKG")]
    UnknownValidator(String),
    #[error("message not accepted in phase {0:?}")]
    WrongPhase(DkgPhase),
    #[error("duplicate message from {0}")]
    Duplicate(String),
    #[error("invalid round-1 message: {0}")]
    InvalidRound1(String),
    #[error("invalid round-2 message: {0}")]
    InvalidRound2(String),
    #[error("invalid complaint: {0}")]
    InvalidComplaint(String),
    #[error("message too large: {0} bytes")]
    TooLarge(usize),
    #[error("malformed message: {0}")]
    Malformed(String),
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    #[error("DKG failed: {0}")]
    Failed(String),
    #[error("local participant error: {0}")]
    Local(String),
}

/// Who takes part in one epoch's DKG.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct DkgConfig {
    pub epoch: u64,
    pub allocation: Allocation,
    /// Registered encryption key of every validator in the allocation, sorted by address.
    pub encryption_keys: Vec<(Address, CompressedPoint)>,
}

impl DkgConfig {
    /// Checks that every validator of `allocation` has a valid encryption key.
    pub fn new(
        epoch: u64,
        allocation: Allocation,
        keys: &BTreeMap<Address, CompressedPoint>,
    ) -> Result<Self, DkgError> {
        let mut encryption_keys = Vec::with_capacity(allocation.holders.len());
        for holder in &allocation.holders {
            let key = keys.get(&holder.address).ok_or_else(|| {
                DkgError::InvalidConfig(format!(
                    "no encryption key for {}",
                    address_hex(&holder.address)
                ))
            })?;
            decode_point(key).map_err(|_| {
                DkgError::InvalidConfig(format!(
                    "bad encryption key for {}",
                    address_hex(&holder.address)
                ))
            })?;
            encryption_keys.push((holder.address, *key));
        }
        Ok(Self {
            epoch,
            allocation,
            encryption_keys,
        })
    }

    pub fn encryption_key(&self, address: &Address) -> Option<&CompressedPoint> {
        self.encryption_keys
            .binary_search_by(|(a, _)| a.cmp(address))
            .ok()
            .map(|i| &self.encryption_keys[i].1)
    }

    fn is_participant(&self, address: &Address) -> bool {
        self.allocation.holder(address).is_some()
    }

    /// Validators that receive round-2 shares from `dealer` (share holders other than it).
    fn recipients_of<'a>(&'a self, dealer: &'a Address) -> impl Iterator<Item = &'a Address> {
        self.allocation
            .holders
            .iter()
            .filter(move |h| !h.shares.is_empty() && &h.address != dealer)
            .map(|h| &h.address)
    }
}

mod math;
mod messages;
mod participant;
mod state;

pub use math::{evaluate_commitment, share_aad};
pub use messages::*;
pub use participant::DkgParticipant;
pub use state::*;
