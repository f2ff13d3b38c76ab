//! Signing sessions: the per-node [`Signer`] that fills vote extensions, the proposer's
//! [`Aggregator`] that checks every share and names cheaters, and [`verify_signature`] that
//! every node runs on an aggregated signature.
//!
//! A session is one use of one nonce slot for one 32-byte message: the slot's published
//! commitments of the chosen signers ([`select_signers`]) plus the message, fixed in committed
//! state before anyone signs. FROST binds every share to the whole commitment list, so a
//! session completes only with the shares of all its signers; when shares are missing or
//! invalid, [`AggregateOutcome::Retry`] names the cheaters (invalid shares, provable with the
//! verifying shares) and the absent, and the app opens a new session for the same message on a
//! later slot without them (any signers with ≥ threshold shares will do).

use std::collections::{BTreeMap, BTreeSet};

use borsh::{BorshDeserialize, BorshSerialize};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tracing::{debug, warn};

use crate::allocation::Allocation;
use crate::dkg::DkgOutput;
use crate::encryption::scalar_from_bytes;
use crate::nonce_store::{NonceError, NonceStore};
use crate::vote_extension::{
    session_shares_bytes, slot_commitments_bytes, CommitmentEntry, SessionShares, ShareEntry,
    SlotCommitments, VoteExtension, WireCommitment, MAX_VOTE_EXTENSION_BYTES,
};
use crate::{address_hex, frost, Address, Bytes, CompressedPoint, ShareId};

/// Bytes of a FROST(secp256k1) signature: compressed R ‖ z.
pub const SIGNATURE_BYTES: usize = 65;

#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    #[error("signers with {have} shares available, {need} needed")]
    NotEnoughSigners { have: u32, need: u16 },
    #[error("invalid signing session: {0}")]
    InvalidSession(String),
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    #[error(transparent)]
    Nonce(#[from] NonceError),
    #[error("FROST: {0}")]
    Frost(String),
}

fn frost_err(e: frost::Error) -> SigningError {
    SigningError::Frost(e.to_string())
}

/// One signing session, as fixed in committed state.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SigningSession {
    /// The nonce slot (used by exactly one session, ever).
    pub slot: u64,
    /// The 32 bytes to sign (an EIP-712 digest, see [`crate::eth`]).
    pub message: [u8; 32],
    /// The signers' commitments for `slot`, by share id.
    pub commitments: BTreeMap<ShareId, WireCommitment>,
}

impl SigningSession {
    /// The FROST signing package.
    pub fn signing_package(&self) -> Result<frost::SigningPackage, SigningError> {
        let mut map = BTreeMap::new();
        for (id, c) in &self.commitments {
            let identifier = crate::identifier(*id)
                .ok_or_else(|| SigningError::InvalidSession(format!("share id {id}")))?;
            let hiding =
                frost::round1::NonceCommitment::deserialize(&c.hiding[..]).map_err(frost_err)?;
            let binding =
                frost::round1::NonceCommitment::deserialize(&c.binding[..]).map_err(frost_err)?;
            map.insert(
                identifier,
                frost::round1::SigningCommitments::new(hiding, binding),
            );
        }
        Ok(frost::SigningPackage::new(map, &self.message))
    }
}

/// Converts FROST commitments to the wire form.
pub fn wire_commitment(
    c: &frost::round1::SigningCommitments,
) -> Result<WireCommitment, SigningError> {
    let enc = |n: &frost::round1::NonceCommitment| -> Result<CompressedPoint, SigningError> {
        let b = n.serialize().map_err(frost_err)?;
        Bytes::from_slice(&b).ok_or_else(|| SigningError::Frost("commitment size".into()))
    };
    Ok(WireCommitment {
        hiding: enc(c.hiding())?,
        binding: enc(c.binding())?,
    })
}

/// Picks the signers of a new session on `slot` from the validators whose commitments for that
/// slot are known (`available`, e.g. from the previous height's vote extensions), skipping
/// `excluded` (cheaters, absentees of a failed session). Deterministic: validators with more
/// shares first, then by address, until the threshold is reached. A validator counts only if
/// its commitments cover exactly its allocated shares.
pub fn select_signers(
    allocation: &Allocation,
    slot: u64,
    message: [u8; 32],
    available: &BTreeMap<Address, Vec<CommitmentEntry>>,
    excluded: &BTreeSet<Address>,
) -> Result<SigningSession, SigningError> {
    let mut candidates: Vec<(&Address, &Vec<CommitmentEntry>, usize)> = Vec::new();
    for holder in &allocation.holders {
        if holder.shares.is_empty() || excluded.contains(&holder.address) {
            continue;
        }
        let Some(entries) = available.get(&holder.address) else {
            continue;
        };
        let ids: Vec<ShareId> = entries.iter().map(|e| e.id).collect();
        if ids == holder.shares {
            candidates.push((&holder.address, entries, holder.shares.len()));
        }
    }
    candidates.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(b.0)));
    let mut commitments = BTreeMap::new();
    let mut have: u32 = 0;
    for (_, entries, k) in candidates {
        if have >= u32::from(allocation.threshold) {
            break;
        }
        for e in entries {
            commitments.insert(e.id, e.commitment);
        }
        have += k as u32;
    }
    if have < u32::from(allocation.threshold) {
        return Err(SigningError::NotEnoughSigners {
            have,
            need: allocation.threshold,
        });
    }
    Ok(SigningSession {
        slot,
        message,
        commitments,
    })
}

/// What [`Signer::extend`] put in the extension and what it left for the next height.
#[derive(Debug, Default)]
pub struct ExtendOutcome {
    pub extension: VoteExtension,
    /// Requested commitment slots that did not fit (or were refused: already used).
    pub deferred_slots: Vec<u64>,
    /// Sessions (by slot) that did not fit.
    pub deferred_sessions: Vec<u64>,
    /// Sessions this signer could not sign (nonces missing or used, commitment mismatch).
    pub failed_sessions: Vec<(u64, String)>,
}

/// A validator's signing side: its key packages and its nonce store.
#[derive(Debug)]
pub struct Signer {
    address: Address,
    packages: Vec<(ShareId, frost::keys::KeyPackage)>,
    nonces: NonceStore,
}

impl Signer {
    /// `packages` from [`crate::dkg::DkgParticipant::key_packages`] (sorted by share id here).
    pub fn new(
        address: Address,
        packages: Vec<frost::keys::KeyPackage>,
        nonces: NonceStore,
    ) -> Result<Self, SigningError> {
        let mut with_ids = Vec::with_capacity(packages.len());
        for kp in packages {
            let id = share_id_of(kp.identifier()).ok_or_else(|| {
                SigningError::InvalidSession("identifier is not a share id".into())
            })?;
            with_ids.push((id, kp));
        }
        with_ids.sort_by_key(|(id, _)| *id);
        Ok(Self {
            address,
            packages: with_ids,
            nonces,
        })
    }

    pub fn address(&self) -> &Address {
        &self.address
    }

    pub fn share_ids(&self) -> Vec<ShareId> {
        self.packages.iter().map(|(id, _)| *id).collect()
    }

    pub fn nonce_store_mut(&mut self) -> &mut NonceStore {
        &mut self.nonces
    }

    /// Builds this height's extension (`ExtendVote`): signature shares for `sessions` (from
    /// committed state; sessions without this signer's shares are ignored) first, then nonce
    /// commitments for `commit_slots`, as many as fit in [`MAX_VOTE_EXTENSION_BYTES`]. Nonces
    /// are persisted before their commitments are returned and consumed before a share is made.
    pub fn extend(
        &self,
        commit_slots: &[u64],
        sessions: &[SigningSession],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> ExtendOutcome {
        let mut out = ExtendOutcome::default();
        let k = self.packages.len();
        let mut size = out.extension.encoded_len();
        let mut sessions: Vec<&SigningSession> = sessions
            .iter()
            .filter(|s| {
                self.packages
                    .iter()
                    .any(|(id, _)| s.commitments.contains_key(id))
            })
            .collect();
        sessions.sort_by_key(|s| s.slot);
        sessions.dedup_by_key(|s| s.slot);
        for session in sessions {
            if size + session_shares_bytes(k) > MAX_VOTE_EXTENSION_BYTES {
                out.deferred_sessions.push(session.slot);
                continue;
            }
            match self.sign(session) {
                Ok(entries) => {
                    size += session_shares_bytes(entries.len());
                    out.extension.shares.push(SessionShares {
                        slot: session.slot,
                        entries,
                    });
                }
                Err(e) => {
                    warn!(target: "nexus_threshold::signing", slot = session.slot, error = %e,
                        "cannot sign session");
                    out.failed_sessions.push((session.slot, e.to_string()));
                }
            }
        }
        let mut slots = commit_slots.to_vec();
        slots.sort_unstable();
        slots.dedup();
        for slot in slots {
            if size + slot_commitments_bytes(k) > MAX_VOTE_EXTENSION_BYTES {
                out.deferred_slots.push(slot);
                continue;
            }
            match self.commit(slot, rng) {
                Ok(entries) => {
                    size += slot_commitments_bytes(entries.len());
                    out.extension
                        .commitments
                        .push(SlotCommitments { slot, entries });
                }
                Err(e) => {
                    warn!(target: "nexus_threshold::signing", slot, error = %e, "cannot commit");
                    out.deferred_slots.push(slot);
                }
            }
        }
        debug!(target: "nexus_threshold::signing", validator = %address_hex(&self.address),
            bytes = size, shares = out.extension.shares.len(),
            commitments = out.extension.commitments.len(), "vote extension built");
        out
    }

    /// Nonce commitments of all shares for `slot` (durable before returned).
    pub fn commit(
        &self,
        slot: u64,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Vec<CommitmentEntry>, SigningError> {
        self.nonces
            .commit(slot, &self.packages, rng)?
            .into_iter()
            .map(|(id, c)| {
                Ok(CommitmentEntry {
                    id,
                    commitment: wire_commitment(&c)?,
                })
            })
            .collect()
    }

    /// Signature shares of all of this signer's shares in `session` (consumes the slot's nonces).
    pub fn sign(&self, session: &SigningSession) -> Result<Vec<ShareEntry>, SigningError> {
        let mine: Vec<&(ShareId, frost::keys::KeyPackage)> = self
            .packages
            .iter()
            .filter(|(id, _)| session.commitments.contains_key(id))
            .collect();
        if mine.len() != self.packages.len() {
            return Err(SigningError::InvalidSession(
                "session includes only some of this signer's shares".into(),
            ));
        }
        let package = session.signing_package()?;
        let nonces = self.nonces.take(session.slot)?;
        let mut entries = Vec::with_capacity(mine.len());
        for (id, kp) in mine {
            let nonce = nonces
                .iter()
                .find(|(n_id, _)| n_id == id)
                .map(|(_, n)| n)
                .ok_or(NonceError::Missing(session.slot))?;
            // frost checks that the session carries this nonce's commitment.
            let share = frost::round2::sign(&package, nonce, kp).map_err(frost_err)?;
            let bytes: [u8; 32] = share
                .serialize()
                .try_into()
                .map_err(|_| SigningError::Frost("share size".into()))?;
            entries.push(ShareEntry {
                id: *id,
                share: bytes,
            });
        }
        Ok(entries)
    }
}

/// The share id of a FROST identifier made from a small integer.
pub fn share_id_of(identifier: &frost::Identifier) -> Option<ShareId> {
    let bytes = identifier.serialize();
    let (high, low) = bytes.split_at(bytes.len().checked_sub(2)?);
    if high.iter().any(|b| *b != 0) {
        return None;
    }
    let id = u16::from_be_bytes([low[0], low[1]]);
    (id != 0).then_some(id)
}

/// A validator that sent an invalid signature share.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Cheater {
    pub address: Address,
    pub shares: Vec<ShareId>,
}

/// The proposer's result for one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AggregateOutcome {
    /// The 65-byte FROST signature (compressed R ‖ z), verified.
    Signed([u8; SIGNATURE_BYTES]),
    /// Not all signers' valid shares are in: open a new session without these.
    Retry {
        cheaters: Vec<Cheater>,
        missing: Vec<Address>,
    },
}

/// Verifies shares and aggregates, for one epoch's key.
#[derive(Debug, Clone)]
pub struct Aggregator {
    allocation: Allocation,
    public: frost::keys::PublicKeyPackage,
    group_key: CompressedPoint,
}

impl Aggregator {
    pub fn new(output: &DkgOutput) -> Result<Self, SigningError> {
        Ok(Self {
            allocation: output.allocation.clone(),
            public: output
                .public_key_package()
                .map_err(|e| SigningError::Frost(e.to_string()))?,
            group_key: output.group_key,
        })
    }

    /// Gathers the shares for `slot` from (validator, extension) pairs, keeping only share ids
    /// the validator owns.
    pub fn collect_shares<'a>(
        &self,
        slot: u64,
        extensions: impl IntoIterator<Item = (&'a Address, &'a VoteExtension)>,
    ) -> BTreeMap<ShareId, [u8; 32]> {
        let mut out = BTreeMap::new();
        for (address, ext) in extensions {
            let Some(holder) = self.allocation.holder(address) else {
                continue;
            };
            for s in ext.shares.iter().filter(|s| s.slot == slot) {
                for e in s.entries.iter().filter(|e| holder.shares.contains(&e.id)) {
                    out.insert(e.id, e.share);
                }
            }
        }
        out
    }

    /// Checks every signer's share against its verifying share; aggregates when all are valid.
    pub fn aggregate(
        &self,
        session: &SigningSession,
        shares: &BTreeMap<ShareId, [u8; 32]>,
    ) -> Result<AggregateOutcome, SigningError> {
        let package = session.signing_package()?;
        let mut valid = BTreeMap::new();
        let mut cheaters: BTreeMap<Address, Vec<ShareId>> = BTreeMap::new();
        let mut missing: BTreeSet<Address> = BTreeSet::new();
        for id in session.commitments.keys() {
            let owner = self
                .allocation
                .owner_of(*id)
                .ok_or_else(|| SigningError::InvalidSession(format!("unknown share {id}")))?
                .address;
            let identifier = crate::identifier(*id)
                .ok_or_else(|| SigningError::InvalidSession(format!("share id {id}")))?;
            let Some(bytes) = shares.get(id) else {
                missing.insert(owner);
                continue;
            };
            let verifying = self
                .public
                .verifying_shares()
                .get(&identifier)
                .ok_or_else(|| SigningError::InvalidSession(format!("no verifying share {id}")))?;
            let ok = scalar_from_bytes(bytes).is_some()
                && frost::round2::SignatureShare::deserialize(bytes)
                    .ok()
                    .is_some_and(|share| {
                        frost_core::verify_signature_share(
                            identifier,
                            verifying,
                            &share,
                            &package,
                            self.public.verifying_key(),
                        )
                        .is_ok()
                            && valid.insert(identifier, share).is_none()
                    });
            if !ok {
                cheaters.entry(owner).or_default().push(*id);
            }
        }
        if !cheaters.is_empty() || !missing.is_empty() {
            for address in cheaters.keys() {
                warn!(target: "nexus_threshold::signing", slot = session.slot,
                    cheater = %address_hex(address), "invalid signature share");
            }
            return Ok(AggregateOutcome::Retry {
                cheaters: cheaters
                    .into_iter()
                    .map(|(address, shares)| Cheater { address, shares })
                    .collect(),
                missing: missing.into_iter().collect(),
            });
        }
        let signature = frost::aggregate(&package, &valid, &self.public).map_err(frost_err)?;
        let bytes: [u8; SIGNATURE_BYTES] = signature
            .serialize()
            .map_err(frost_err)?
            .try_into()
            .map_err(|_| SigningError::Frost("signature size".into()))?;
        verify_signature(&self.group_key, &session.message, &bytes)?;
        debug!(target: "nexus_threshold::signing", slot = session.slot, "signature aggregated");
        Ok(AggregateOutcome::Signed(bytes))
    }
}

/// Verifies a 65-byte FROST(secp256k1, SHA-256) signature on `message` by `group_key`, with the
/// same extra rules as the gateway (z ≠ 0), so nothing is stored that Ethereum would reject.
pub fn verify_signature(
    group_key: &CompressedPoint,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SigningError> {
    if signature.len() != SIGNATURE_BYTES {
        return Err(SigningError::InvalidSignature(format!(
            "{} bytes",
            signature.len()
        )));
    }
    if signature[33..].iter().all(|b| *b == 0) {
        return Err(SigningError::InvalidSignature("z = 0".into()));
    }
    let key = frost::VerifyingKey::deserialize(&group_key[..])
        .map_err(|e| SigningError::InvalidSignature(format!("group key: {e}")))?;
    let sig = frost::Signature::deserialize(signature)
        .map_err(|e| SigningError::InvalidSignature(e.to_string()))?;
    key.verify(message, &sig)
        .map_err(|e| SigningError::InvalidSignature(e.to_string()))
}
