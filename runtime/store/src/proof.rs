//! Read proofs: a client checks a value (or its absence) against a state root, without the
//! database.

use jmt::proof::SparseMerkleProof;
use jmt::{KeyHash, RootHash};

use crate::error::ProofError;
use crate::tree::TreeHasher;

/// Most siblings a proof can carry (one per bit of a 256-bit key hash).
pub const MAX_PROOF_SIBLINGS: usize = 256;

/// Encoded size of the largest possible proof: an `Option` tag and a leaf (key hash and value
/// hash), a `u32` sibling count, and [`MAX_PROOF_SIBLINGS`] siblings of at most a tag and two
/// hashes each.
pub const MAX_PROOF_BYTES: usize = 1 + 64 + 4 + MAX_PROOF_SIBLINGS * (1 + 64);

/// A proof that a key has a given value (membership) or no value (non-membership) under a state
/// root. Wraps jmt's `SparseMerkleProof<Sha256>`.
///
/// Wire format: borsh of the jmt proof (`Option<leaf>`, `u32` count, siblings), which is
/// canonical; [`ReadProof::from_bytes`] rejects anything that does not re-encode to the same bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadProof {
    inner: SparseMerkleProof<TreeHasher>,
}

impl ReadProof {
    pub(crate) fn new(inner: SparseMerkleProof<TreeHasher>) -> Self {
        Self { inner }
    }

    /// The canonical encoding (at most [`MAX_PROOF_BYTES`] bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        borsh::to_vec(&self.inner).expect("serializing to a Vec cannot fail")
    }

    /// Decodes untrusted bytes. Never panics; rejects oversized, truncated, trailing-garbage and
    /// non-canonical input.
    pub fn from_bytes(bytes: &[u8]) -> Result<ReadProof, ProofError> {
        if bytes.len() > MAX_PROOF_BYTES {
            return Err(ProofError::TooLarge {
                len: bytes.len(),
                max: MAX_PROOF_BYTES,
            });
        }
        // Check the sibling count before decoding (bounded work and allocation).
        let count_at = match bytes.first() {
            Some(0) => 1,
            Some(1) => 1 + 64,
            _ => return Err(ProofError::Malformed("bad leaf tag".into())),
        };
        let count_bytes: [u8; 4] = bytes
            .get(count_at..count_at + 4)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| ProofError::Malformed("truncated".into()))?;
        let count = u32::from_le_bytes(count_bytes) as usize;
        if count > MAX_PROOF_SIBLINGS {
            return Err(ProofError::TooManySiblings {
                count,
                max: MAX_PROOF_SIBLINGS,
            });
        }
        let inner: SparseMerkleProof<TreeHasher> =
            borsh::from_slice(bytes).map_err(|e| ProofError::Malformed(e.to_string()))?;
        let proof = ReadProof { inner };
        if proof.to_bytes() != bytes {
            return Err(ProofError::NonCanonical);
        }
        Ok(proof)
    }

    /// Checks that under `root`, `key` has `value` (`Some`: membership) or no value (`None`:
    /// non-membership).
    pub fn verify(
        &self,
        root: [u8; 32],
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<(), ProofError> {
        let key_hash = KeyHash::with::<TreeHasher>(key);
        self.inner
            .verify(RootHash(root), key_hash, value)
            .map_err(|e| ProofError::Invalid(e.to_string()))
    }

    /// The jmt proof inside.
    pub fn inner(&self) -> &SparseMerkleProof<TreeHasher> {
        &self.inner
    }
}
