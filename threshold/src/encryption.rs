//! Encryption of DKG round-2 shares to a validator's registered encryption key, with verifiable
//! decryption for complaints.
//!
//! Scheme: ECIES over secp256k1. The sender picks an ephemeral scalar `e`, sends `E = e·G`, and
//! derives a 256-bit key with HKDF-SHA256 from the shared point `S = e·PK` (= `sk·E`), `E` and
//! `PK`; the body is ChaCha20-Poly1305 (RFC 8439) under that key with a zero nonce (every key is
//! used once) and the context (epoch, dealer, recipient) as associated data.
//!
//! Why secp256k1 (k256) rather than x25519: a complaint must let *everyone* check a share the
//! accuser received without trusting the accuser. The accuser reveals `S` together with a
//! Chaum–Pedersen proof that `log_G(PK) = log_E(S)`; anyone can then derive the key, decrypt, and
//! check the shares against the dealer's public commitment. That proof needs group arithmetic on
//! the key's curve, which k256 (already used by `frost-secp256k1`) provides; x25519 has no
//! prime-order group API for it. ChaCha20-Poly1305 and HKDF are the RustCrypto implementations.

use borsh::{BorshDeserialize, BorshSerialize};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use k256::elliptic_curve::ops::Reduce;
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::{Field, PrimeField};
use k256::{ProjectivePoint, Scalar, U256};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{Bytes, CompressedPoint};

/// Domain separation of the key derivation.
const KDF_SALT: &[u8] = b"nexus-dkg-ecies-v1";
/// Domain separation of the decryption proof's challenge.
const DLEQ_TAG: &[u8] = b"nexus-dkg-dleq-v1";
/// Poly1305 tag length.
pub const TAG_BYTES: usize = 16;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EncryptionError {
    #[error("not a valid secp256k1 point")]
    InvalidPoint,
    #[error("not a canonical non-zero scalar")]
    InvalidScalar,
    #[error("authenticated decryption failed")]
    Decryption,
    #[error("decryption proof does not verify")]
    InvalidProof,
}

/// A validator's secret decryption key (kept by the node, never in state).
#[derive(Clone)]
pub struct EncryptionSecret(Scalar);

impl std::fmt::Debug for EncryptionSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionSecret(..)")
    }
}

impl EncryptionSecret {
    pub fn random(rng: &mut (impl RngCore + CryptoRng)) -> Self {
        loop {
            let s = Scalar::random(&mut *rng);
            if !bool::from(s.is_zero()) {
                return Self(s);
            }
        }
    }

    /// From its 32-byte big-endian encoding (as written by [`Self::to_bytes`]).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, EncryptionError> {
        let s = scalar_from_bytes(bytes).ok_or(EncryptionError::InvalidScalar)?;
        if bool::from(s.is_zero()) {
            return Err(EncryptionError::InvalidScalar);
        }
        Ok(Self(s))
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The public key to register on chain.
    pub fn public_key(&self) -> CompressedPoint {
        encode_point(&(ProjectivePoint::GENERATOR * self.0))
    }
}

/// An ECIES ciphertext.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Ciphertext {
    /// The ephemeral public key `E`.
    pub ephemeral: CompressedPoint,
    /// ChaCha20-Poly1305 output (plaintext length + [`TAG_BYTES`]).
    pub body: Vec<u8>,
}

/// A recipient's revealed shared secret plus a proof that it is the right one.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct DecryptionProof {
    /// `S = sk·E`.
    pub shared: CompressedPoint,
    /// Chaum–Pedersen challenge and response (32-byte big-endian scalars).
    pub challenge: [u8; 32],
    pub response: [u8; 32],
}

/// Encrypts `plaintext` to `recipient` with associated data `aad`.
pub fn encrypt(
    recipient: &CompressedPoint,
    plaintext: &[u8],
    aad: &[u8],
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<Ciphertext, EncryptionError> {
    let pk = decode_point(recipient)?;
    let e = EncryptionSecret::random(rng);
    let ephemeral_point = ProjectivePoint::GENERATOR * e.0;
    let ephemeral = encode_point(&ephemeral_point);
    let shared = encode_point(&(pk * e.0));
    let cipher = cipher(&shared, &ephemeral, recipient);
    let body = cipher
        .encrypt(
            &Default::default(),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .map_err(|_| EncryptionError::Decryption)?;
    Ok(Ciphertext { ephemeral, body })
}

/// Decrypts with the recipient's secret.
pub fn decrypt(
    secret: &EncryptionSecret,
    ciphertext: &Ciphertext,
    aad: &[u8],
) -> Result<Vec<u8>, EncryptionError> {
    let e = decode_point(&ciphertext.ephemeral)?;
    let shared = encode_point(&(e * secret.0));
    open_with_shared(&shared, &secret.public_key(), ciphertext, aad)
}

/// Reveals the shared secret of `ciphertext` with a proof (for a complaint).
pub fn prove_decryption(
    secret: &EncryptionSecret,
    ciphertext: &Ciphertext,
    rng: &mut (impl RngCore + CryptoRng),
) -> Result<DecryptionProof, EncryptionError> {
    let e = decode_point(&ciphertext.ephemeral)?;
    let pk = ProjectivePoint::GENERATOR * secret.0;
    let s = e * secret.0;
    let k = EncryptionSecret::random(rng).0;
    let a1 = ProjectivePoint::GENERATOR * k;
    let a2 = e * k;
    let c = dleq_challenge(&pk, &e, &s, &a1, &a2);
    let response = k + c * secret.0;
    Ok(DecryptionProof {
        shared: encode_point(&s),
        challenge: c.to_bytes().into(),
        response: response.to_bytes().into(),
    })
}

/// Checks `proof` against the recipient's public key and opens the ciphertext with it.
/// `Err(InvalidProof)` means the revealer lied; `Err(Decryption)` means the ciphertext itself
/// is bad (the sender's fault).
pub fn open_with_proof(
    recipient: &CompressedPoint,
    ciphertext: &Ciphertext,
    proof: &DecryptionProof,
    aad: &[u8],
) -> Result<Vec<u8>, EncryptionError> {
    let pk = decode_point(recipient).map_err(|_| EncryptionError::InvalidProof)?;
    // A malformed ephemeral key is the sender's fault: nobody can decrypt it.
    let e = decode_point(&ciphertext.ephemeral).map_err(|_| EncryptionError::Decryption)?;
    let s = decode_point(&proof.shared).map_err(|_| EncryptionError::InvalidProof)?;
    let c = scalar_from_bytes(&proof.challenge).ok_or(EncryptionError::InvalidProof)?;
    let z = scalar_from_bytes(&proof.response).ok_or(EncryptionError::InvalidProof)?;
    let a1 = ProjectivePoint::GENERATOR * z - pk * c;
    let a2 = e * z - s * c;
    if dleq_challenge(&pk, &e, &s, &a1, &a2) != c {
        return Err(EncryptionError::InvalidProof);
    }
    open_with_shared(&proof.shared, recipient, ciphertext, aad)
}

fn open_with_shared(
    shared: &CompressedPoint,
    recipient: &CompressedPoint,
    ciphertext: &Ciphertext,
    aad: &[u8],
) -> Result<Vec<u8>, EncryptionError> {
    cipher(shared, &ciphertext.ephemeral, recipient)
        .decrypt(
            &Default::default(),
            Payload {
                msg: &ciphertext.body,
                aad,
            },
        )
        .map_err(|_| EncryptionError::Decryption)
}

fn cipher(
    shared: &CompressedPoint,
    ephemeral: &CompressedPoint,
    recipient: &CompressedPoint,
) -> ChaCha20Poly1305 {
    let mut ikm = Vec::with_capacity(99);
    ikm.extend_from_slice(&shared[..]);
    ikm.extend_from_slice(&ephemeral[..]);
    ikm.extend_from_slice(&recipient[..]);
    let hk = Hkdf::<Sha256>::new(Some(KDF_SALT), &ikm);
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's 8160-byte limit.
    if hk.expand(b"chacha20poly1305 key", &mut key).is_err() {
        unreachable!("HKDF output length is fixed and valid");
    }
    ChaCha20Poly1305::new(&key.into())
}

fn dleq_challenge(
    pk: &ProjectivePoint,
    e: &ProjectivePoint,
    s: &ProjectivePoint,
    a1: &ProjectivePoint,
    a2: &ProjectivePoint,
) -> Scalar {
    let mut h = Sha256::new();
    h.update(DLEQ_TAG);
    for p in [pk, e, s, a1, a2] {
        h.update(encode_point(p).0);
    }
    let digest: [u8; 32] = h.finalize().into();
    <Scalar as Reduce<U256>>::reduce_bytes(&digest.into())
}

/// Compressed SEC1 encoding (the identity encodes as 33 zero bytes, which never decodes).
pub fn encode_point(p: &ProjectivePoint) -> CompressedPoint {
    let encoded = p.to_affine().to_encoded_point(true);
    Bytes::from_slice(encoded.as_bytes()).unwrap_or(Bytes([0u8; 33]))
}

/// Decodes a compressed point; rejects the identity and off-curve encodings.
pub fn decode_point(bytes: &CompressedPoint) -> Result<ProjectivePoint, EncryptionError> {
    let pk =
        k256::PublicKey::from_sec1_bytes(&bytes[..]).map_err(|_| EncryptionError::InvalidPoint)?;
    Ok(pk.to_projective())
}

/// A canonical (< n) big-endian scalar.
pub fn scalar_from_bytes(bytes: &[u8; 32]) -> Option<Scalar> {
    Option::from(Scalar::from_repr((*bytes).into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn round_trip_and_proof() {
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let sk = EncryptionSecret::random(&mut rng);
        let ct = encrypt(&sk.public_key(), b"shares", b"ctx", &mut rng).unwrap();
        assert_eq!(decrypt(&sk, &ct, b"ctx").unwrap(), b"shares");
        assert_eq!(
            decrypt(&sk, &ct, b"other"),
            Err(EncryptionError::Decryption)
        );
        let proof = prove_decryption(&sk, &ct, &mut rng).unwrap();
        assert_eq!(
            open_with_proof(&sk.public_key(), &ct, &proof, b"ctx").unwrap(),
            b"shares"
        );
        // A proof for another key, or a tampered shared point, is rejected.
        let other = EncryptionSecret::random(&mut rng);
        assert_eq!(
            open_with_proof(&other.public_key(), &ct, &proof, b"ctx"),
            Err(EncryptionError::InvalidProof)
        );
        let mut bad = proof.clone();
        bad.shared = other.public_key();
        assert_eq!(
            open_with_proof(&sk.public_key(), &ct, &bad, b"ctx"),
            Err(EncryptionError::InvalidProof)
        );
        // A tampered body is the sender's fault: the proof holds, decryption fails.
        let mut tampered = ct.clone();
        tampered.body[0] ^= 1;
        let proof = prove_decryption(&sk, &tampered, &mut rng).unwrap();
        assert_eq!(
            open_with_proof(&sk.public_key(), &tampered, &proof, b"ctx"),
            Err(EncryptionError::Decryption)
        );
    }
}
