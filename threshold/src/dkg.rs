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
use frost_core::keys::{CoefficientCommitment, SigningShare, VerifiableSecretSharingCommitment};
use frost_secp256k1::Secp256K1Sha256;
use k256::elliptic_curve::{Field, Group};
use k256::{ProjectivePoint, Scalar};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

use crate::allocation::{Allocation, MAX_TOTAL_SHARES};
use crate::encryption::{
    self, decode_point, encode_point, scalar_from_bytes, Ciphertext, DecryptionProof,
    EncryptionError, EncryptionSecret,
};
use crate::{address_hex, eth, frost, Address, Bytes, CompressedPoint, ShareId};

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

#[derive(
    Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
pub enum DkgPhase {
    Round1,
    Round2,
    Complaints,
    Finished,
    Failed,
}

/// A proven fault (the consensus app may slash or jail for it).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum Misbehaviour {
    /// Published round 1 but no round 2 before the deadline.
    MissingRound2,
    /// Sent shares that do not match its commitment (or undecryptable), proven by `accuser`.
    BadShares { accuser: Address },
    /// Complained about `dealer` without valid evidence.
    FalseComplaint { dealer: Address },
}

/// The outcome of a complaint, as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ComplaintVerdict {
    DealerGuilty,
    AccuserGuilty,
}

/// The result of a successful DKG, kept in state.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct DkgOutput {
    pub epoch: u64,
    pub group_key: CompressedPoint,
    pub allocation: Allocation,
    /// Verifying share of every share id (sorted by id).
    pub verifying_shares: Vec<(ShareId, CompressedPoint)>,
    /// Dealers whose polynomials make up the key (sorted).
    pub qualified_dealers: Vec<Address>,
    /// Whether the summed polynomial was negated so that the group key has an even y
    /// (every share holder negates its signing share sum too).
    pub negated: bool,
}

impl DkgOutput {
    /// The FROST public key package (verifying shares and group key).
    pub fn public_key_package(&self) -> Result<frost::keys::PublicKeyPackage, DkgError> {
        let bad = |e: frost::Error| DkgError::Failed(e.to_string());
        let mut shares = BTreeMap::new();
        for (id, point) in &self.verifying_shares {
            let identifier = crate::identifier(*id)
                .ok_or_else(|| DkgError::Failed(format!("bad share id {id}")))?;
            shares.insert(
                identifier,
                frost::keys::VerifyingShare::deserialize(&point[..]).map_err(bad)?,
            );
        }
        let key = frost::VerifyingKey::deserialize(&self.group_key[..]).map_err(bad)?;
        Ok(frost::keys::PublicKeyPackage::new(
            shares,
            key,
            Some(self.allocation.threshold),
        ))
    }
}

/// The replicated DKG state of one epoch.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct DkgState {
    pub config: DkgConfig,
    pub phase: DkgPhase,
    pub round1: BTreeMap<Address, Round1Message>,
    pub round2: BTreeMap<Address, Round2Message>,
    /// Complaints, keyed by (dealer, accuser).
    pub complaints: BTreeMap<(Address, Address), Complaint>,
    /// First proven fault of each validator.
    pub misbehaving: BTreeMap<Address, Misbehaviour>,
    pub output: Option<DkgOutput>,
    /// Why the DKG failed, when `phase == Failed`.
    pub failure: Option<String>,
}

impl DkgState {
    pub fn new(config: DkgConfig) -> Self {
        Self {
            config,
            phase: DkgPhase::Round1,
            round1: BTreeMap::new(),
            round2: BTreeMap::new(),
            complaints: BTreeMap::new(),
            misbehaving: BTreeMap::new(),
            output: None,
            failure: None,
        }
    }

    /// Applies one DKG message sent (signed) by `sender`. `Err` means the transaction is
    /// rejected and the state is unchanged. A complaint that is accepted always convicts
    /// somebody (the dealer or the accuser); the verdict is returned.
    pub fn apply(
        &mut self,
        sender: &Address,
        msg: &DkgMessage,
    ) -> Result<Option<ComplaintVerdict>, DkgError> {
        if msg.epoch() != self.config.epoch {
            return Err(DkgError::WrongEpoch {
                expected: self.config.epoch,
                got: msg.epoch(),
            });
        }
        if &msg.sender() != sender {
            return Err(DkgError::WrongSender {
                signer: address_hex(sender),
                named: address_hex(&msg.sender()),
            });
        }
        if !self.config.is_participant(sender) {
            return Err(DkgError::UnknownValidator(address_hex(sender)));
        }
        match msg {
            DkgMessage::Round1(m) => self.apply_round1(m).map(|()| None),
            DkgMessage::Round2(m) => self.apply_round2(m).map(|()| None),
            DkgMessage::Complaint(m) => self.apply_complaint(m).map(Some),
        }
    }

    fn apply_round1(&mut self, m: &Round1Message) -> Result<(), DkgError> {
        if self.phase != DkgPhase::Round1 {
            return Err(DkgError::WrongPhase(self.phase));
        }
        if self.round1.contains_key(&m.dealer) {
            return Err(DkgError::Duplicate(address_hex(&m.dealer)));
        }
        let commitment = parse_commitment(&m.commitment, self.config.allocation.threshold)
            .map_err(DkgError::InvalidRound1)?;
        let pok = frost::Signature::deserialize(&m.proof_of_knowledge[..])
            .map_err(|e| DkgError::InvalidRound1(format!("proof of knowledge: {e}")))?;
        frost_core::keys::dkg::verify_proof_of_knowledge(
            pok_identifier(self.config.epoch, &m.dealer)?,
            &commitment,
            &pok,
        )
        .map_err(|e| DkgError::InvalidRound1(format!("proof of knowledge: {e}")))?;
        debug!(target: "nexus_threshold::dkg", dealer = %address_hex(&m.dealer), "round 1 accepted");
        self.round1.insert(m.dealer, m.clone());
        Ok(())
    }

    fn apply_round2(&mut self, m: &Round2Message) -> Result<(), DkgError> {
        if self.phase != DkgPhase::Round2 {
            return Err(DkgError::WrongPhase(self.phase));
        }
        if !self.round1.contains_key(&m.dealer) {
            return Err(DkgError::InvalidRound2(
                "dealer has no round-1 message".into(),
            ));
        }
        if self.round2.contains_key(&m.dealer) {
            return Err(DkgError::Duplicate(address_hex(&m.dealer)));
        }
        let expected: Vec<&Address> = self.config.recipients_of(&m.dealer).collect();
        let got: Vec<&Address> = m.shares.iter().map(|s| &s.recipient).collect();
        if expected != got {
            return Err(DkgError::InvalidRound2(
                "recipients must be every other share holder, sorted".into(),
            ));
        }
        for s in &m.shares {
            let holder = self
                .config
                .allocation
                .holder(&s.recipient)
                .ok_or_else(|| DkgError::InvalidRound2("unknown recipient".into()))?;
            if decode_point(&s.ciphertext.ephemeral).is_err() {
                return Err(DkgError::InvalidRound2(format!(
                    "ephemeral key for {} is not a curve point",
                    address_hex(&s.recipient)
                )));
            }
            let want = holder.shares.len() * SHARE_BYTES + encryption::TAG_BYTES;
            if s.ciphertext.body.len() != want {
                return Err(DkgError::InvalidRound2(format!(
                    "ciphertext for {} has {} bytes, expected {want}",
                    address_hex(&s.recipient),
                    s.ciphertext.body.len()
                )));
            }
        }
        debug!(target: "nexus_threshold::dkg", dealer = %address_hex(&m.dealer), "round 2 accepted");
        self.round2.insert(m.dealer, m.clone());
        Ok(())
    }

    fn apply_complaint(&mut self, m: &Complaint) -> Result<ComplaintVerdict, DkgError> {
        if !matches!(self.phase, DkgPhase::Round2 | DkgPhase::Complaints) {
            return Err(DkgError::WrongPhase(self.phase));
        }
        if m.accuser == m.dealer {
            return Err(DkgError::InvalidComplaint("self-accusation".into()));
        }
        if self.complaints.contains_key(&(m.dealer, m.accuser)) {
            return Err(DkgError::Duplicate(address_hex(&m.accuser)));
        }
        let (Some(r1), Some(r2)) = (self.round1.get(&m.dealer), self.round2.get(&m.dealer)) else {
            return Err(DkgError::InvalidComplaint(
                "dealer has no round-2 message".into(),
            ));
        };
        let Some(sealed) = r2.shares.iter().find(|s| s.recipient == m.accuser) else {
            return Err(DkgError::InvalidComplaint(
                "accuser received no shares".into(),
            ));
        };
        let holder = self
            .config
            .allocation
            .holder(&m.accuser)
            .ok_or_else(|| DkgError::UnknownValidator(address_hex(&m.accuser)))?;
        let key = self
            .config
            .encryption_key(&m.accuser)
            .ok_or_else(|| DkgError::UnknownValidator(address_hex(&m.accuser)))?;
        let aad = share_aad(self.config.epoch, &m.dealer, &m.accuser);
        let commitment = decode_commitment_points(&r1.commitment)
            .map_err(|e| DkgError::Failed(format!("stored commitment: {e}")))?;
        let dealer_guilty =
            match encryption::open_with_proof(key, &sealed.ciphertext, &m.evidence, &aad) {
                Err(EncryptionError::Decryption) => true,
                Err(_) => false,
                Ok(plain) => match parse_shares(&plain, holder.shares.len()) {
                    None => true,
                    Some(values) => holder
                        .shares
                        .iter()
                        .zip(&values)
                        .any(|(id, v)| !share_matches(&commitment, *id, v)),
                },
            };
        let verdict = if dealer_guilty {
            self.misbehaving
                .entry(m.dealer)
                .or_insert(Misbehaviour::BadShares { accuser: m.accuser });
            ComplaintVerdict::DealerGuilty
        } else {
            self.misbehaving
                .entry(m.accuser)
                .or_insert(Misbehaviour::FalseComplaint { dealer: m.dealer });
            ComplaintVerdict::AccuserGuilty
        };
        warn!(target: "nexus_threshold::dkg", dealer = %address_hex(&m.dealer),
            accuser = %address_hex(&m.accuser), ?verdict, "complaint judged");
        self.complaints.insert((m.dealer, m.accuser), m.clone());
        Ok(verdict)
    }

    /// Moves to the next phase (the app calls this at the deadlines it schedules). Finishing
    /// computes the output, or fails the DKG when too few dealers qualify.
    pub fn advance(&mut self) -> DkgPhase {
        self.phase = match self.phase {
            DkgPhase::Round1 => DkgPhase::Round2,
            DkgPhase::Round2 => {
                for dealer in self.round1.keys() {
                    if !self.round2.contains_key(dealer) {
                        self.misbehaving
                            .entry(*dealer)
                            .or_insert(Misbehaviour::MissingRound2);
                    }
                }
                DkgPhase::Complaints
            }
            DkgPhase::Complaints => match self.finish() {
                Ok(output) => {
                    info!(target: "nexus_threshold::dkg", epoch = self.config.epoch,
                        group_key = %hex::encode(output.group_key.0),
                        dealers = output.qualified_dealers.len(), "DKG finished");
                    self.output = Some(output);
                    DkgPhase::Finished
                }
                Err(e) => {
                    warn!(target: "nexus_threshold::dkg", epoch = self.config.epoch, error = %e, "DKG failed");
                    self.failure = Some(e.to_string());
                    DkgPhase::Failed
                }
            },
            done => done,
        };
        self.phase
    }

    /// Dealers that count: valid round 1 and 2, no proven fault.
    pub fn qualified_dealers(&self) -> Vec<Address> {
        self.round1
            .keys()
            .filter(|d| self.round2.contains_key(*d) && !self.misbehaving.contains_key(*d))
            .copied()
            .collect()
    }

    fn finish(&self) -> Result<DkgOutput, DkgError> {
        let qualified = self.qualified_dealers();
        let alloc = &self.config.allocation;
        // At least one honest dealer: qualified dealers must hold more than 1/3 of the stake.
        if 3 * alloc.stake_of(&qualified) <= alloc.total_stake() {
            return Err(DkgError::Failed(format!(
                "qualified dealers ({}) hold at most 1/3 of the stake",
                qualified.len()
            )));
        }
        let t = usize::from(alloc.threshold);
        let mut sum = vec![ProjectivePoint::IDENTITY; t];
        for dealer in &qualified {
            let r1 = &self.round1[dealer];
            let points = decode_commitment_points(&r1.commitment).map_err(DkgError::Failed)?;
            for (acc, p) in sum.iter_mut().zip(points) {
                *acc += p;
            }
        }
        if bool::from(sum[0].is_identity()) {
            return Err(DkgError::Failed("group key is the identity".into()));
        }
        // Normalise to an even-y group key (the gateway stores only x): if y is odd, use the
        // negated polynomial, i.e. every secret share and verifying share is negated.
        let negated = encode_point(&sum[0])[0] == 3;
        if negated {
            for c in &mut sum {
                *c = -*c;
            }
        }
        let group = sum[0];
        let group_key = encode_point(&group);
        if eth::GroupKey::from_compressed(&group_key).is_err() {
            return Err(DkgError::Failed(
                "group key x-coordinate is not below the group order (not usable on Ethereum)"
                    .into(),
            ));
        }
        let verifying_shares = alloc
            .all_shares()
            .map(|id| (id, encode_point(&evaluate_commitment(&sum, id))))
            .collect();
        Ok(DkgOutput {
            epoch: self.config.epoch,
            group_key,
            allocation: alloc.clone(),
            verifying_shares,
            qualified_dealers: qualified,
            negated,
        })
    }
}

/// A validator's local side of the DKG: the secret polynomial and its decryption key.
pub struct DkgParticipant {
    config: DkgConfig,
    address: Address,
    encryption: EncryptionSecret,
    coefficients: Vec<Scalar>,
}

impl std::fmt::Debug for DkgParticipant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DkgParticipant")
            .field("epoch", &self.config.epoch)
            .field("address", &address_hex(&self.address))
            .finish_non_exhaustive()
    }
}

/// What [`DkgParticipant::to_secret_bytes`] writes (persist it before publishing round 1).
#[derive(BorshSerialize, BorshDeserialize)]
struct ParticipantRecord {
    config: DkgConfig,
    address: Address,
    encryption: [u8; 32],
    coefficients: Vec<[u8; 32]>,
}

impl DkgParticipant {
    /// Deals: samples the polynomial and returns the round-1 message to publish.
    pub fn new(
        config: DkgConfig,
        address: Address,
        encryption: EncryptionSecret,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<(Self, Round1Message), DkgError> {
        if !config.is_participant(&address) {
            return Err(DkgError::UnknownValidator(address_hex(&address)));
        }
        let t = usize::from(config.allocation.threshold);
        if t == 0 || t > usize::from(MAX_TOTAL_SHARES) {
            return Err(DkgError::InvalidConfig(format!("threshold {t}")));
        }
        let coefficients: Vec<Scalar> = (0..t).map(|_| Scalar::random(&mut *rng)).collect();
        let me = Self {
            config,
            address,
            encryption,
            coefficients,
        };
        let round1 = me.round1(rng)?;
        Ok((me, round1))
    }

    fn round1(&self, rng: &mut (impl RngCore + CryptoRng)) -> Result<Round1Message, DkgError> {
        let commitment_points: Vec<ProjectivePoint> = self
            .coefficients
            .iter()
            .map(|a| ProjectivePoint::GENERATOR * a)
            .collect();
        let commitment = VerifiableSecretSharingCommitment::<C>::new(
            commitment_points
                .iter()
                .map(|p| CoefficientCommitment::new(*p))
                .collect(),
        );
        let pok = frost_core::keys::dkg::compute_proof_of_knowledge(
            pok_identifier(self.config.epoch, &self.address)?,
            &self.coefficients,
            &commitment,
            &mut *rng,
        )
        .map_err(|e| DkgError::Local(e.to_string()))?;
        let pok_bytes = pok
            .serialize()
            .map_err(|e| DkgError::Local(e.to_string()))?;
        Ok(Round1Message {
            epoch: self.config.epoch,
            dealer: self.address,
            commitment: commitment_points.iter().map(encode_point).collect(),
            proof_of_knowledge: Bytes::from_slice(&pok_bytes)
                .ok_or_else(|| DkgError::Local("proof of knowledge size".into()))?,
        })
    }

    pub fn address(&self) -> &Address {
        &self.address
    }

    pub fn epoch(&self) -> u64 {
        self.config.epoch
    }

    /// `f(id)` of this dealer's polynomial.
    fn evaluate(&self, id: ShareId) -> Scalar {
        let x = Scalar::from(u64::from(id));
        self.coefficients
            .iter()
            .rev()
            .fold(Scalar::ZERO, |acc, a| acc * x + a)
    }

    /// Round 2: this dealer's shares, encrypted to every other share holder.
    pub fn round2(&self, rng: &mut (impl RngCore + CryptoRng)) -> Result<Round2Message, DkgError> {
        let mut shares = Vec::new();
        for recipient in self.config.recipients_of(&self.address) {
            let holder = self
                .config
                .allocation
                .holder(recipient)
                .ok_or_else(|| DkgError::Local("recipient vanished".into()))?;
            let mut plain = Vec::with_capacity(holder.shares.len() * SHARE_BYTES);
            for id in &holder.shares {
                plain.extend_from_slice(&self.evaluate(*id).to_bytes());
            }
            let key = self
                .config
                .encryption_key(recipient)
                .ok_or_else(|| DkgError::Local("no encryption key".into()))?;
            let aad = share_aad(self.config.epoch, &self.address, recipient);
            let ciphertext = encryption::encrypt(key, &plain, &aad, rng)
                .map_err(|e| DkgError::Local(e.to_string()))?;
            shares.push(EncryptedShares {
                recipient: *recipient,
                ciphertext,
            });
        }
        Ok(Round2Message {
            epoch: self.config.epoch,
            dealer: self.address,
            shares,
        })
    }

    /// My shares from `dealer`, checked against its commitment; `None` if they are bad.
    fn received_shares(&self, state: &DkgState, dealer: &Address) -> Option<Vec<Scalar>> {
        let holder = self.config.allocation.holder(&self.address)?;
        if dealer == &self.address {
            return Some(holder.shares.iter().map(|id| self.evaluate(*id)).collect());
        }
        let r1 = state.round1.get(dealer)?;
        let r2 = state.round2.get(dealer)?;
        let sealed = r2.shares.iter().find(|s| s.recipient == self.address)?;
        let aad = share_aad(self.config.epoch, dealer, &self.address);
        let plain = encryption::decrypt(&self.encryption, &sealed.ciphertext, &aad).ok()?;
        let values = parse_shares(&plain, holder.shares.len())?;
        let commitment = decode_commitment_points(&r1.commitment).ok()?;
        holder
            .shares
            .iter()
            .zip(&values)
            .all(|(id, v)| share_matches(&commitment, *id, v))
            .then_some(values)
    }

    /// Complaints against every dealer whose round-2 shares to me are bad (call after round 2
    /// has closed, i.e. in the complaint phase; publish each as a transaction).
    pub fn complaints(
        &self,
        state: &DkgState,
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Vec<Complaint> {
        let mut out = Vec::new();
        for (dealer, r2) in &state.round2 {
            if dealer == &self.address || state.misbehaving.contains_key(dealer) {
                continue;
            }
            if self.received_shares(state, dealer).is_some() {
                continue;
            }
            let Some(sealed) = r2.shares.iter().find(|s| s.recipient == self.address) else {
                continue;
            };
            match encryption::prove_decryption(&self.encryption, &sealed.ciphertext, rng) {
                Ok(evidence) => out.push(Complaint {
                    epoch: self.config.epoch,
                    accuser: self.address,
                    dealer: *dealer,
                    evidence,
                }),
                Err(e) => {
                    // The ephemeral key does not decode: the round-2 check rejects that, so
                    // this is unreachable for accepted messages.
                    warn!(target: "nexus_threshold::dkg", dealer = %address_hex(dealer), error = %e,
                        "cannot build complaint");
                }
            }
        }
        out
    }

    /// This validator's FROST key packages (one per share id) once the DKG has finished.
    pub fn key_packages(&self, state: &DkgState) -> Result<Vec<frost::keys::KeyPackage>, DkgError> {
        let output = state
            .output
            .as_ref()
            .ok_or_else(|| DkgError::Local("DKG has not finished".into()))?;
        let holder = self
            .config
            .allocation
            .holder(&self.address)
            .ok_or_else(|| DkgError::UnknownValidator(address_hex(&self.address)))?;
        if holder.shares.is_empty() {
            return Ok(Vec::new());
        }
        let mut totals = vec![Scalar::ZERO; holder.shares.len()];
        for dealer in &output.qualified_dealers {
            let values = self.received_shares(state, dealer).ok_or_else(|| {
                DkgError::Local(format!(
                    "no valid shares from qualified dealer {}",
                    address_hex(dealer)
                ))
            })?;
            for (acc, v) in totals.iter_mut().zip(values) {
                *acc += v;
            }
        }
        if output.negated {
            for t in &mut totals {
                *t = -*t;
            }
        }
        let public = output.public_key_package()?;
        let mut packages = Vec::with_capacity(holder.shares.len());
        for (id, secret) in holder.shares.iter().zip(totals) {
            let identifier = crate::identifier(*id)
                .ok_or_else(|| DkgError::Local(format!("bad share id {id}")))?;
            let verifying = *public
                .verifying_shares()
                .get(&identifier)
                .ok_or_else(|| DkgError::Local(format!("no verifying share for {id}")))?;
            if encode_point(&(ProjectivePoint::GENERATOR * secret))
                != encode_point(&verifying.to_element())
            {
                return Err(DkgError::Local(format!(
                    "share {id} does not match its verifying share"
                )));
            }
            packages.push(frost::keys::KeyPackage::new(
                identifier,
                SigningShare::new(secret),
                verifying,
                *public.verifying_key(),
                output.allocation.threshold,
            ));
        }
        Ok(packages)
    }

    /// The participant's secrets, for the node to persist (fsync) before it publishes round 1.
    pub fn to_secret_bytes(&self) -> Vec<u8> {
        borsh::to_vec(&ParticipantRecord {
            config: self.config.clone(),
            address: self.address,
            encryption: self.encryption.to_bytes(),
            coefficients: self
                .coefficients
                .iter()
                .map(|c| c.to_bytes().into())
                .collect(),
        })
        .unwrap_or_default()
    }

    /// Restores a participant written by [`Self::to_secret_bytes`].
    pub fn from_secret_bytes(bytes: &[u8]) -> Result<Self, DkgError> {
        let rec: ParticipantRecord =
            borsh::from_slice(bytes).map_err(|e| DkgError::Malformed(e.to_string()))?;
        let encryption = EncryptionSecret::from_bytes(&rec.encryption)
            .map_err(|e| DkgError::Malformed(e.to_string()))?;
        let coefficients = rec
            .coefficients
            .iter()
            .map(|b| scalar_from_bytes(b).ok_or_else(|| DkgError::Malformed("coefficient".into())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            config: rec.config,
            address: rec.address,
            encryption,
            coefficients,
        })
    }
}

/// The identifier the proof of knowledge is bound to: (epoch, dealer).
fn pok_identifier(epoch: u64, dealer: &Address) -> Result<frost::Identifier, DkgError> {
    let mut context = b"nexus-dkg-pok-v1".to_vec();
    context.extend_from_slice(&epoch.to_be_bytes());
    context.extend_from_slice(dealer);
    frost::Identifier::derive(&context).map_err(|e| DkgError::Local(e.to_string()))
}

/// Associated data of a round-2 ciphertext (epoch, dealer, recipient).
pub fn share_aad(epoch: u64, dealer: &Address, recipient: &Address) -> Vec<u8> {
    let mut aad = b"nexus-dkg-shares-v1".to_vec();
    aad.extend_from_slice(&epoch.to_be_bytes());
    aad.extend_from_slice(dealer);
    aad.extend_from_slice(recipient);
    aad
}

fn decode_commitment_points(points: &[CompressedPoint]) -> Result<Vec<ProjectivePoint>, String> {
    points
        .iter()
        .enumerate()
        .map(|(j, p)| decode_point(p).map_err(|_| format!("coefficient commitment {j} invalid")))
        .collect()
}

fn parse_commitment(
    points: &[CompressedPoint],
    threshold: u16,
) -> Result<VerifiableSecretSharingCommitment<C>, String> {
    if points.len() != usize::from(threshold) {
        return Err(format!(
            "{} coefficient commitments, expected {threshold}",
            points.len()
        ));
    }
    let decoded = decode_commitment_points(points)?;
    Ok(VerifiableSecretSharingCommitment::new(
        decoded
            .into_iter()
            .map(CoefficientCommitment::new)
            .collect(),
    ))
}

/// `k` canonical 32-byte scalars, or `None`.
fn parse_shares(plain: &[u8], k: usize) -> Option<Vec<Scalar>> {
    if plain.len() != k * SHARE_BYTES {
        return None;
    }
    plain
        .chunks_exact(SHARE_BYTES)
        .map(|c| {
            <[u8; 32]>::try_from(c)
                .ok()
                .and_then(|b| scalar_from_bytes(&b))
        })
        .collect()
}

/// `Σ_j C_j · x^j` by Horner's rule; `x` is a small share index, so multiplying by it is a
/// 16-bit double-and-add rather than a full scalar multiplication.
pub fn evaluate_commitment(points: &[ProjectivePoint], x: ShareId) -> ProjectivePoint {
    points
        .iter()
        .rev()
        .fold(ProjectivePoint::IDENTITY, |acc, c| mul_small(&acc, x) + c)
}

fn mul_small(p: &ProjectivePoint, k: u16) -> ProjectivePoint {
    let mut acc = ProjectivePoint::IDENTITY;
    for bit in (0..16).rev() {
        acc = acc.double();
        if (k >> bit) & 1 == 1 {
            acc += p;
        }
    }
    acc
}

fn share_matches(commitment: &[ProjectivePoint], id: ShareId, value: &Scalar) -> bool {
    ProjectivePoint::GENERATOR * value == evaluate_commitment(commitment, id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_multiplication_matches_scalar_multiplication() {
        let p = ProjectivePoint::GENERATOR * Scalar::from(12345u64);
        for k in [0u16, 1, 2, 3, 255, 256, 65535] {
            assert_eq!(mul_small(&p, k), p * Scalar::from(u64::from(k)));
        }
    }
}
