//! Output batches: the group key signs one Merkle root per Nexus block over every output the
//! block produced, instead of one signature per output, so signing keeps up with any number of
//! outputs per block (a FROST session costs a few blocks of vote-extension space, whatever it
//! signs).
//!
//! A leaf binds one answer to its request:
//! `keccak256(keccak256(abi.encode(uint256 requestId, bytes32 functionId, bool success, bytes32 outputHash)))`
//! (hashed twice, so a leaf's preimage is 32 bytes and can never be read as an inner node's 64).
//! Inner nodes hash their two children in sorted order (`keccak256(min ‖ max)`, OpenZeppelin's
//! `Hashes.commutativeKeccak256`); a node without a sibling moves up unchanged. A proof is the
//! siblings from the leaf up, exactly what OpenZeppelin's `MerkleProof.processProofCalldata`
//! folds in `NexusGateway.fulfill`. The tree is built by `rs_merkle`.

use alloy_primitives::keccak256;
use rs_merkle::{Hasher, MerkleTree};

/// Most leaves one batch may hold, bounding a proof at 24 hashes. Far above what one block
/// can produce: every output comes from an invocation (at most 16 outputs each) and a block
/// holds at most ~9.4 MiB of transactions, i.e. about a million outputs.
pub const MAX_BATCH_LEAVES: usize = 1 << 24;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BatchError {
    #[error("an output batch needs at least one leaf")]
    Empty,
    #[error("an output batch holds at most {max} leaves, got {len}")]
    TooLarge { len: usize, max: usize },
    #[error("leaf index {index} is outside a batch of {len}")]
    NoSuchLeaf { index: usize, len: usize },
}

/// keccak256 with OpenZeppelin's commutative pair hash, for `rs_merkle`.
#[derive(Clone)]
struct CommutativeKeccak;

impl Hasher for CommutativeKeccak {
    type Hash = [u8; 32];

    fn hash(data: &[u8]) -> [u8; 32] {
        keccak256(data).0
    }

    fn concat_and_hash(left: &[u8; 32], right: Option<&[u8; 32]>) -> [u8; 32] {
        match right {
            Some(right) => hash_pair(left, right),
            None => *left,
        }
    }
}

fn hash_pair(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo);
    buf[32..].copy_from_slice(hi);
    keccak256(buf).0
}

/// The leaf of an answer: `requestId` as a big-endian uint256, `functionId`, whether the
/// function answered (`success`; otherwise the output is the error) and
/// `outputHash = keccak256(output)`.
pub fn output_leaf(
    request_id: &[u8; 32],
    function_id: &[u8; 32],
    success: bool,
    output_hash: &[u8; 32],
) -> [u8; 32] {
    let mut encoded = [0u8; 128];
    encoded[..32].copy_from_slice(request_id);
    encoded[32..64].copy_from_slice(function_id);
    encoded[95] = u8::from(success);
    encoded[96..].copy_from_slice(output_hash);
    keccak256(keccak256(encoded)).0
}

/// A batch's tree, built once to answer the root and any number of proofs.
pub struct OutputTree {
    tree: MerkleTree<CommutativeKeccak>,
    len: usize,
}

impl OutputTree {
    pub fn new(leaves: &[[u8; 32]]) -> Result<Self, BatchError> {
        if leaves.is_empty() {
            return Err(BatchError::Empty);
        }
        if leaves.len() > MAX_BATCH_LEAVES {
            return Err(BatchError::TooLarge {
                len: leaves.len(),
                max: MAX_BATCH_LEAVES,
            });
        }
        Ok(Self {
            tree: MerkleTree::from_leaves(leaves),
            len: leaves.len(),
        })
    }

    pub fn root(&self) -> [u8; 32] {
        self.tree
            .root()
            .expect("a tree of at least one leaf has a root")
    }

    /// The siblings of leaf `index`, bottom-up (what `NexusGateway.fulfill` takes as `proof`).
    pub fn proof(&self, index: usize) -> Result<Vec<[u8; 32]>, BatchError> {
        if index >= self.len {
            return Err(BatchError::NoSuchLeaf {
                index,
                len: self.len,
            });
        }
        Ok(self.tree.proof(&[index]).proof_hashes().to_vec())
    }
}

/// The root `leaf` and `proof` lead to, folded the way the gateway does.
pub fn process_proof(leaf: &[u8; 32], proof: &[[u8; 32]]) -> [u8; 32] {
    proof
        .iter()
        .fold(*leaf, |node, sibling| hash_pair(&node, sibling))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<[u8; 32]> {
        (0..n as u64)
            .map(|i| output_leaf(&[1; 32], &[2; 32], true, &keccak256(i.to_be_bytes()).0))
            .collect()
    }

    #[test]
    fn a_single_leaf_is_its_own_root() {
        let l = leaves(1);
        let tree = OutputTree::new(&l).unwrap();
        assert_eq!(tree.root(), l[0]);
        assert!(tree.proof(0).unwrap().is_empty());
    }

    #[test]
    fn two_leaves_hash_in_sorted_order() {
        let l = leaves(2);
        let root = OutputTree::new(&l).unwrap().root();
        assert_eq!(root, hash_pair(&l[1], &l[0]));
        assert_eq!(root, process_proof(&l[0], &[l[1]]));
    }

    #[test]
    fn empty_and_out_of_range_are_errors() {
        assert_eq!(OutputTree::new(&[]).err(), Some(BatchError::Empty));
        let tree = OutputTree::new(&leaves(3)).unwrap();
        assert_eq!(
            tree.proof(3).err(),
            Some(BatchError::NoSuchLeaf { index: 3, len: 3 })
        );
    }

    #[test]
    fn leaf_binds_every_field() {
        let base = output_leaf(&[1; 32], &[2; 32], true, &[3; 32]);
        assert_ne!(base, output_leaf(&[9; 32], &[2; 32], true, &[3; 32]));
        assert_ne!(base, output_leaf(&[1; 32], &[9; 32], true, &[3; 32]));
        assert_ne!(base, output_leaf(&[1; 32], &[2; 32], false, &[3; 32]));
        assert_ne!(base, output_leaf(&[1; 32], &[2; 32], true, &[9; 32]));
    }

    proptest! {
        /// Every leaf of every size proves into the root; a proof for one leaf does not prove
        /// another, and a tampered sibling breaks it.
        #[test]
        fn every_leaf_proves_into_the_root(n in 1usize..70, pick in any::<prop::sample::Index>(), flip in 0usize..32) {
            let l = leaves(n);
            let tree = OutputTree::new(&l).unwrap();
            let root = tree.root();
            for (i, leaf) in l.iter().enumerate() {
                let proof = tree.proof(i).unwrap();
                prop_assert!(proof.len() <= 7);
                prop_assert_eq!(process_proof(leaf, &proof), root);
            }
            let i = pick.index(n);
            let proof = tree.proof(i).unwrap();
            let other = l[(i + 1) % n];
            if n > 1 {
                prop_assert_ne!(process_proof(&other, &proof), root);
            }
            if !proof.is_empty() {
                let mut bad = proof.clone();
                let k = flip % bad.len();
                bad[k][flip] ^= 1;
                prop_assert_ne!(process_proof(&l[i], &bad), root);
            }
        }
    }
}
