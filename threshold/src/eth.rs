//! Ethereum encoding of what the group key signs.
//!
//! FROST signs exactly the 32-byte EIP-712 digest `keccak256(0x19 0x01 ‖ domainSeparator ‖
//! hashStruct(message))`, with the domain `{name: "NexusGateway", version: "1", chainId,
//! verifyingContract: gateway}`. The messages:
//!
//! - `OutputBatch(uint64 epoch,bytes32 root,uint64 nexusHeight)`: the Merkle root of every output
//!   of Nexus block `nexusHeight` (leaves and proofs: [`crate::batch`]); the gateway accepts an
//!   output with its proof of inclusion under a signed root.
//! - `KeyRotation(uint64 newEpoch,uint256 newKeyX)`: the hand-over, signed by the old epoch's
//!   key, naming the new group key (group keys always have an even y, see [`crate::dkg`], so
//!   the x-coordinate names the key).
//!
//! `NexusGateway.sol` recomputes the same digest and verifies the signature as
//! FROST(secp256k1, SHA-256) over those 32 bytes.

use alloy_primitives::{Address as EthAddress, B256, U256};
use alloy_sol_types::{eip712_domain, Eip712Domain, SolStruct};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use serde::{Deserialize, Serialize};

use crate::encryption::decode_point;
use crate::{frost, Bytes, CompressedPoint};

alloy_sol_types::sol! {
    /// The outputs of one Nexus block.
    #[derive(Debug, PartialEq, Eq)]
    struct OutputBatch {
        uint64 epoch;
        bytes32 root;
        uint64 nexusHeight;
    }

    /// The hand-over from the current group key to the next epoch's.
    #[derive(Debug, PartialEq, Eq)]
    struct KeyRotation {
        uint64 newEpoch;
        uint256 newKeyX;
    }
}

/// The secp256k1 group order n, big-endian.
pub const SECP256K1_ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EthError {
    #[error("not a valid compressed secp256k1 point")]
    InvalidPoint,
    #[error("public key x-coordinate is not below the group order")]
    KeyOutOfRange,
    #[error("public key has an odd y (group keys are normalised to even y)")]
    OddKey,
    #[error("malformed signature")]
    InvalidSignature,
}

/// The EIP-712 domain of a gateway deployment.
pub fn domain(chain_id: u64, gateway: [u8; 20]) -> Eip712Domain {
    eip712_domain! {
        name: "NexusGateway",
        version: "1",
        chain_id: chain_id,
        verifying_contract: EthAddress::from(gateway),
    }
}

/// What a gateway output signature covers: the root of one block's outputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchMessage {
    pub chain_id: u64,
    pub gateway: [u8; 20],
    pub epoch: u64,
    pub root: [u8; 32],
    pub nexus_height: u64,
}

impl BatchMessage {
    /// The 32 bytes FROST signs.
    pub fn digest(&self) -> [u8; 32] {
        let msg = OutputBatch {
            epoch: self.epoch,
            root: B256::from(self.root),
            nexusHeight: self.nexus_height,
        };
        msg.eip712_signing_hash(&domain(self.chain_id, self.gateway))
            .0
    }
}

/// The 32 bytes the old key signs to hand over to `new_key` at `new_epoch`.
pub fn rotation_digest(
    chain_id: u64,
    gateway: [u8; 20],
    new_epoch: u64,
    new_key: &GroupKey,
) -> [u8; 32] {
    let msg = KeyRotation {
        newEpoch: new_epoch,
        newKeyX: U256::from_be_bytes(new_key.x),
    };
    msg.eip712_signing_hash(&domain(chain_id, gateway)).0
}

/// A group key as the gateway stores it: the x-coordinate (< n) of a point with even y.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupKey {
    pub x: [u8; 32],
}

impl GroupKey {
    /// From the 33-byte compressed key; rejects keys the gateway cannot use (x ≥ n, odd y).
    pub fn from_compressed(key: &CompressedPoint) -> Result<Self, EthError> {
        decode_point(key).map_err(|_| EthError::InvalidPoint)?;
        if key[0] != 2 {
            return Err(EthError::OddKey);
        }
        let mut x = [0u8; 32];
        x.copy_from_slice(&key[1..]);
        if x >= SECP256K1_ORDER {
            return Err(EthError::KeyOutOfRange);
        }
        Ok(Self { x })
    }

    pub fn from_verifying_key(key: &frost::VerifyingKey) -> Result<Self, EthError> {
        let bytes = key.serialize().map_err(|_| EthError::InvalidPoint)?;
        Self::from_compressed(&Bytes::from_slice(&bytes).ok_or(EthError::InvalidPoint)?)
    }

    pub fn x_u256(&self) -> U256 {
        U256::from_be_bytes(self.x)
    }
}

/// A FROST signature as the gateway takes it: R in full (no on-chain decompression) and z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EthSignature {
    pub rx: [u8; 32],
    pub ry: [u8; 32],
    pub z: [u8; 32],
}

impl EthSignature {
    /// From the 65-byte FROST encoding (compressed R ‖ z).
    pub fn from_frost_bytes(sig: &[u8]) -> Result<Self, EthError> {
        if sig.len() != 65 {
            return Err(EthError::InvalidSignature);
        }
        let r: CompressedPoint = Bytes::from_slice(&sig[..33]).ok_or(EthError::InvalidSignature)?;
        let point = decode_point(&r).map_err(|_| EthError::InvalidSignature)?;
        let uncompressed = point.to_affine().to_encoded_point(false);
        let (Some(x), Some(y)) = (uncompressed.x(), uncompressed.y()) else {
            return Err(EthError::InvalidSignature);
        };
        let mut out = Self {
            rx: [0; 32],
            ry: [0; 32],
            z: [0; 32],
        };
        out.rx.copy_from_slice(x);
        out.ry.copy_from_slice(y);
        out.z.copy_from_slice(&sig[33..]);
        Ok(out)
    }

    pub fn from_frost(sig: &frost::Signature) -> Result<Self, EthError> {
        Self::from_frost_bytes(&sig.serialize().map_err(|_| EthError::InvalidSignature)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typehashes_match_the_solidity_strings() {
        assert_eq!(
            OutputBatch::eip712_encode_type(),
            "OutputBatch(uint64 epoch,bytes32 root,uint64 nexusHeight)"
        );
        assert_eq!(
            KeyRotation::eip712_encode_type(),
            "KeyRotation(uint64 newEpoch,uint256 newKeyX)"
        );
    }

    #[test]
    fn digest_binds_every_field() {
        let base = BatchMessage {
            chain_id: 1,
            gateway: [7; 20],
            epoch: 3,
            root: [9; 32],
            nexus_height: 100,
        };
        let d = base.digest();
        let variants = [
            BatchMessage {
                chain_id: 2,
                ..base.clone()
            },
            BatchMessage {
                gateway: [8; 20],
                ..base.clone()
            },
            BatchMessage {
                epoch: 4,
                ..base.clone()
            },
            BatchMessage {
                root: [10; 32],
                ..base.clone()
            },
            BatchMessage {
                nexus_height: 101,
                ..base.clone()
            },
        ];
        for v in variants {
            assert_ne!(v.digest(), d, "{v:?}");
        }
    }
}
