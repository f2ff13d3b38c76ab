//! Accounts are secp256k1 keys with Ethereum-style addresses: the last 20 bytes of the Keccak-256
//! hash of the uncompressed public key. Transactions carry a 65-byte recoverable signature
//! (`r ‖ s ‖ v`, low-s only) from which the sender's address is recovered.

use borsh::{BorshDeserialize, BorshSerialize};
use k256::ecdsa::{RecoveryId, Signature, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha3::{Digest, Keccak256};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// A 20-byte account address, shown as `0x`-prefixed lowercase hex.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct Address(pub [u8; 20]);

impl Address {
    pub fn from_verifying_key(key: &VerifyingKey) -> Address {
        let point = key.to_encoded_point(false);
        let hash = keccak256(&point.as_bytes()[1..]);
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        Address(out)
    }

    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AddressError {
    #[error("address `{0}` is not 0x followed by 40 hex digits")]
    Malformed(String),
}

impl FromStr for Address {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let hex_part = s
            .strip_prefix("0x")
            .ok_or_else(|| AddressError::Malformed(s.to_string()))?;
        let bytes = hex::decode(hex_part).map_err(|_| AddressError::Malformed(s.to_string()))?;
        let arr: [u8; 20] = bytes
            .try_into()
            .map_err(|_| AddressError::Malformed(s.to_string()))?;
        Ok(Address(arr))
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

/// A 65-byte recoverable ECDSA signature: `r (32) ‖ s (32) ‖ recovery id (1, 0 or 1)`.
#[derive(Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TxSignature(pub [u8; 65]);

impl fmt::Debug for TxSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TxSignature(0x{})", hex::encode(self.0))
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("signature is malformed (r or s out of range)")]
    Malformed,
    #[error("signature is not canonical: s must be in the lower half of the curve order")]
    HighS,
    #[error("recovery id must be 0 or 1")]
    BadRecoveryId,
    #[error("no public key recovers from this signature")]
    Unrecoverable,
}

/// An account's secret key.
#[derive(Clone)]
pub struct AccountKey(SigningKey);

impl AccountKey {
    pub fn generate() -> AccountKey {
        AccountKey(SigningKey::random(&mut rand_core::OsRng))
    }

    pub fn from_bytes(bytes: &[u8; 32]) -> Result<AccountKey, SignatureError> {
        SigningKey::from_bytes(bytes.into())
            .map(AccountKey)
            .map_err(|_| SignatureError::Malformed)
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    pub fn address(&self) -> Address {
        Address::from_verifying_key(self.0.verifying_key())
    }

    /// Signs a 32-byte digest; the signature is always low-s.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> TxSignature {
        let (sig, recid) = self
            .0
            .sign_prehash_recoverable(digest)
            .expect("signing a 32-byte prehash cannot fail");
        let (sig, recid) = match sig.normalize_s() {
            Some(normalized) => (
                normalized,
                RecoveryId::new(!recid.is_y_odd(), recid.is_x_reduced()),
            ),
            None => (sig, recid),
        };
        let mut out = [0u8; 65];
        out[..64].copy_from_slice(&sig.to_bytes());
        out[64] = recid.to_byte();
        TxSignature(out)
    }
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountKey({})", self.address())
    }
}

/// Recovers the signer's address of `digest`. Rejects high-s signatures so that every signed
/// transaction has exactly one valid byte representation.
///
/// The canonical-form checks use k256; the recovery itself runs in libsecp256k1, the hot path of
/// every transaction's admission (a differential test keeps the two libraries in agreement).
pub fn recover_signer(digest: &[u8; 32], sig: &TxSignature) -> Result<Address, SignatureError> {
    let signature = Signature::from_slice(&sig.0[..64]).map_err(|_| SignatureError::Malformed)?;
    if signature.normalize_s().is_some() {
        return Err(SignatureError::HighS);
    }
    if sig.0[64] > 1 {
        return Err(SignatureError::BadRecoveryId);
    }
    let recid = secp256k1::ecdsa::RecoveryId::try_from(i32::from(sig.0[64]))
        .map_err(|_| SignatureError::BadRecoveryId)?;
    let recoverable = secp256k1::ecdsa::RecoverableSignature::from_compact(&sig.0[..64], recid)
        .map_err(|_| SignatureError::Malformed)?;
    let key = secp256k1::SECP256K1
        .recover_ecdsa(secp256k1::Message::from_digest(*digest), &recoverable)
        .map_err(|_| SignatureError::Unrecoverable)?;
    let point = key.serialize_uncompressed();
    let hash = keccak256(&point[1..]);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[12..]);
    Ok(Address(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_key_has_the_ethereum_address() {
        // Private key 1: its Ethereum address is well known.
        let mut sk = [0u8; 32];
        sk[31] = 1;
        let key = AccountKey::from_bytes(&sk).unwrap();
        assert_eq!(
            key.address().to_string(),
            "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
        );
    }

    #[test]
    fn signatures_recover_the_signer_and_tampering_is_caught() {
        let key = AccountKey::generate();
        let digest = keccak256(b"hello");
        let sig = key.sign_digest(&digest);
        assert_eq!(recover_signer(&digest, &sig).unwrap(), key.address());
        let other = keccak256(b"hellp");
        assert_ne!(recover_signer(&other, &sig).ok(), Some(key.address()));
        let mut bad = sig;
        bad.0[64] = 2;
        assert_eq!(
            recover_signer(&digest, &bad),
            Err(SignatureError::BadRecoveryId)
        );
    }

    #[test]
    fn high_s_twin_is_rejected() {
        let key = AccountKey::generate();
        let digest = keccak256(b"malleable");
        let sig = key.sign_digest(&digest);
        let parsed = Signature::from_slice(&sig.0[..64]).unwrap();
        let (r, s) = parsed.split_scalars();
        let high = Signature::from_scalars(r, -*s).unwrap();
        let mut twin = [0u8; 65];
        twin[..64].copy_from_slice(&high.to_bytes());
        twin[64] = sig.0[64] ^ 1;
        assert_eq!(
            recover_signer(&digest, &TxSignature(twin)),
            Err(SignatureError::HighS)
        );
    }

    #[test]
    fn address_parses_and_rejects_garbage() {
        let a: Address = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"
            .parse()
            .unwrap();
        assert_eq!(a.to_string(), "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");
        assert!("7e5f".parse::<Address>().is_err());
        assert!("0xzz5f4552091a69125d5dfcb7b8c2659029395bdf"
            .parse::<Address>()
            .is_err());
        assert!("0x7e5f".parse::<Address>().is_err());
    }

    /// k256's recovery, the reference the libsecp256k1 path must agree with.
    fn recover_with_k256(digest: &[u8; 32], sig: &TxSignature) -> Option<Address> {
        let signature = Signature::from_slice(&sig.0[..64]).ok()?;
        if signature.normalize_s().is_some() || sig.0[64] > 1 {
            return None;
        }
        let recid = RecoveryId::from_byte(sig.0[64])?;
        VerifyingKey::recover_from_prehash(digest, &signature, recid)
            .ok()
            .map(|key| Address::from_verifying_key(&key))
    }

    proptest::proptest! {
        #[test]
        fn libsecp256k1_and_k256_recover_the_same_signer(
            secret in proptest::array::uniform32(1u8..),
            digest in proptest::array::uniform32(proptest::num::u8::ANY),
            flip in 0usize..65,
            bit in 0u8..8,
        ) {
            let key = AccountKey::from_bytes(&secret).unwrap();
            let sig = key.sign_digest(&digest);
            proptest::prop_assert_eq!(recover_signer(&digest, &sig).ok(), Some(key.address()));
            let mut tampered = sig;
            tampered.0[flip] ^= 1 << bit;
            proptest::prop_assert_eq!(
                recover_signer(&digest, &tampered).ok(),
                recover_with_k256(&digest, &tampered)
            );
        }
    }
}
