//! A validator's local side of the DKG: its secret polynomial, its shares, its key packages.

use borsh::{BorshDeserialize, BorshSerialize};
use frost_core::keys::{CoefficientCommitment, SigningShare, VerifiableSecretSharingCommitment};
use k256::elliptic_curve::Field;
use k256::{ProjectivePoint, Scalar};
use rand_core::{CryptoRng, RngCore};
use tracing::warn;

use crate::allocation::MAX_TOTAL_SHARES;
use crate::encryption::{self, encode_point, scalar_from_bytes, EncryptionSecret};
use crate::{address_hex, frost, Address, Bytes, ShareId};

use super::math::{
    decode_commitment_points, parse_shares, pok_identifier, share_aad, share_matches,
};
use super::{
    Complaint, DkgConfig, DkgError, DkgState, EncryptedShares, Round1Message, Round2Message, C,
    SHARE_BYTES,
};

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
