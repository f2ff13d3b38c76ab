//! The replicated DKG state machine of one epoch ([`DkgState`]) and its result.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use k256::elliptic_curve::Group;
use k256::ProjectivePoint;
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

use crate::allocation::Allocation;
use crate::encryption::{self, decode_point, encode_point, EncryptionError};
use crate::{address_hex, eth, frost, Address, CompressedPoint, ShareId};

use super::math::{
    decode_commitment_points, evaluate_commitment, parse_commitment, parse_shares, pok_identifier,
    share_aad, share_matches,
};
use super::{
    Complaint, DkgConfig, DkgError, DkgMessage, Round1Message, Round2Message, SHARE_BYTES,
};

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
