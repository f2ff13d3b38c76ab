//! Threshold signatures of the Nexus validator set: FROST(secp256k1, SHA-256) (RFC 9591, on the
//! Zcash Foundation's `frost-secp256k1`) with stake-weighted shares, a distributed key generation
//! driven by consensus transactions, signing through vote extensions, key rotation hand-over, the
//! Ethereum (EIP-712) encoding of what is signed, and the Rust bindings of the Solidity contracts
//! in `threshold/contracts/` (`NexusGateway`, its FROST verifier and an example consumer).
//!
//! What this crate owns:
//! - [`allocation`]: how many FROST shares each validator gets and the signing threshold.
//! - [`dkg`]: the DKG as a deterministic state machine ([`dkg::DkgState`], replicated in
//!   consensus state) plus the local participant ([`dkg::DkgParticipant`], holds secrets).
//! - [`encryption`]: ECIES over secp256k1 for round-2 shares, with verifiable decryption for
//!   complaints.
//! - [`vote_extension`], [`nonce_store`], [`signing`]: per-height signing (nonce commitments and
//!   signature shares in vote extensions), durable single-use nonces, aggregation with cheater
//!   identification, verification.
//! - [`batch`]: the Merkle tree over one block's outputs whose root the group key signs.
//! - [`eth`]: EIP-712 digests (what FROST signs is exactly the 32-byte digest), signature and key
//!   formats the gateway accepts, the key-rotation hand-over message.
//! - [`contracts`]: alloy `sol!` bindings of the contracts.
//!
//! What it must not depend on: the consensus application (`consensus/`), ABCI types, the runtime
//! (`runtime/`). Everything here is a library; the consensus app decides when to call it and how
//! messages travel (transactions, vote extensions, state). Everything reachable from a replicated
//! state transition ([`dkg::DkgState`], [`signing::Aggregator`], [`signing::verify_signature`],
//! decoders) is deterministic: no clock, no OS randomness, ordered maps only. Randomness is used
//! only by the local, per-node parts (DKG dealing, nonce generation, encryption).
//!
//! Logs use the tracing targets `nexus_threshold::dkg`, `nexus_threshold::signing`,
//! `nexus_threshold::nonces`.

pub mod allocation;
pub mod batch;
pub mod contracts;
pub mod dkg;
pub mod encryption;
pub mod eth;
pub mod nonce_store;
pub mod signing;
pub mod vote_extension;

pub use frost_secp256k1 as frost;

/// A validator's identity: its 20-byte address (as in CometBFT).
pub type Address = [u8; 20];

/// A FROST share index as carried on the wire (1-based; [`allocation::MAX_TOTAL_SHARES`] at most).
pub type ShareId = u16;

/// 33-byte compressed SEC1 encoding of a secp256k1 point.
pub type CompressedPoint = Bytes<33>;

/// A fixed-size byte string: borsh writes the `N` bytes as they are; serde writes hex in
/// human-readable formats and raw bytes otherwise (serde has no impls for arrays over 32).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bytes<const N: usize>(pub [u8; N]);

impl<const N: usize> std::fmt::Debug for Bytes<N> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "0x{}", hex::encode(self.0))
    }
}

impl<const N: usize> std::ops::Deref for Bytes<N> {
    type Target = [u8; N];
    fn deref(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> AsRef<[u8]> for Bytes<N> {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl<const N: usize> From<[u8; N]> for Bytes<N> {
    fn from(bytes: [u8; N]) -> Self {
        Self(bytes)
    }
}

impl<const N: usize> Bytes<N> {
    /// From a slice of exactly `N` bytes.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        bytes.try_into().ok().map(Self)
    }
}

impl<const N: usize> borsh::BorshSerialize for Bytes<N> {
    fn serialize<W: std::io::Write>(&self, writer: &mut W) -> std::io::Result<()> {
        writer.write_all(&self.0)
    }
}

impl<const N: usize> borsh::BorshDeserialize for Bytes<N> {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        let mut out = [0u8; N];
        reader.read_exact(&mut out)?;
        Ok(Self(out))
    }
}

impl<const N: usize> serde::Serialize for Bytes<N> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&hex::encode(self.0))
        } else {
            s.serialize_bytes(&self.0)
        }
    }
}

impl<'de, const N: usize> serde::Deserialize<'de> for Bytes<N> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<const N: usize>;
        impl<const N: usize> serde::de::Visitor<'_> for V<N> {
            type Value = Bytes<N>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{N} bytes (or {} hex digits)", 2 * N)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Bytes<N>, E> {
                let raw = hex::decode(v.strip_prefix("0x").unwrap_or(v)).map_err(E::custom)?;
                Bytes::from_slice(&raw).ok_or_else(|| E::invalid_length(raw.len(), &self))
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Bytes<N>, E> {
                Bytes::from_slice(v).ok_or_else(|| E::invalid_length(v.len(), &self))
            }
        }
        if d.is_human_readable() {
            d.deserialize_str(V::<N>)
        } else {
            d.deserialize_bytes(V::<N>)
        }
    }
}

/// The FROST identifier of a wire share index (indices start at 1).
pub fn identifier(id: ShareId) -> Option<frost::Identifier> {
    frost::Identifier::try_from(id).ok()
}

/// Lower-case hex of an address (for logs and errors).
pub fn address_hex(address: &Address) -> String {
    hex::encode(address)
}
