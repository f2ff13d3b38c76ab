//! Commitment and share arithmetic shared by the state machine and the participant.

use frost_core::keys::{CoefficientCommitment, VerifiableSecretSharingCommitment};
use k256::{ProjectivePoint, Scalar};

use crate::encryption::{decode_point, scalar_from_bytes};
use crate::{frost, Address, CompressedPoint, ShareId};

use super::{DkgError, C, SHARE_BYTES};

/// The identifier the proof of knowledge is bound to: (epoch, dealer).
pub(super) fn pok_identifier(epoch: u64, dealer: &Address) -> Result<frost::Identifier, DkgError> {
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

pub(super) fn decode_commitment_points(
    points: &[CompressedPoint],
) -> Result<Vec<ProjectivePoint>, String> {
    points
        .iter()
        .enumerate()
        .map(|(j, p)| decode_point(p).map_err(|_| format!("coefficient commitment {j} invalid")))
        .collect()
}

pub(super) fn parse_commitment(
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
pub(super) fn parse_shares(plain: &[u8], k: usize) -> Option<Vec<Scalar>> {
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

pub(super) fn mul_small(p: &ProjectivePoint, k: u16) -> ProjectivePoint {
    let mut acc = ProjectivePoint::IDENTITY;
    for bit in (0..16).rev() {
        acc = acc.double();
        if (k >> bit) & 1 == 1 {
            acc += p;
        }
    }
    acc
}

pub(super) fn share_matches(commitment: &[ProjectivePoint], id: ShareId, value: &Scalar) -> bool {
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
