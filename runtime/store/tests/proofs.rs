//! Read proofs: membership, non-membership, tampering, history.

mod common;

use common::changes;
use nexus_store::{ProofError, ReadProof, Store, MAX_PROOF_BYTES};

fn populated() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut cs = nexus_store::ChangeSet::new();
    for i in 0..200u32 {
        cs.put(
            format!("key/{i}").into_bytes(),
            format!("value {i}").into_bytes(),
        );
    }
    store.commit(cs).unwrap();
    (dir, store)
}

#[test]
fn membership_proof_verifies_against_the_root() {
    let (_dir, store) = populated();
    let h = store.latest_height();
    let (value, proof) = store.get_with_proof(b"key/7", h).unwrap();
    assert_eq!(value.as_deref(), Some(&b"value 7"[..]));
    proof
        .verify(store.root_hash(), b"key/7", Some(b"value 7"))
        .unwrap();
    // Survives the wire.
    let decoded = ReadProof::from_bytes(&proof.to_bytes()).unwrap();
    assert_eq!(decoded, proof);
    decoded
        .verify(store.root_hash(), b"key/7", Some(b"value 7"))
        .unwrap();
    assert!(proof.to_bytes().len() <= MAX_PROOF_BYTES);
}

#[test]
fn non_membership_proof_verifies_against_the_root() {
    let (_dir, store) = populated();
    let (value, proof) = store
        .get_with_proof(b"absent", store.latest_height())
        .unwrap();
    assert_eq!(value, None);
    proof.verify(store.root_hash(), b"absent", None).unwrap();
    // It cannot be passed off as a membership proof.
    assert!(proof
        .verify(store.root_hash(), b"absent", Some(b"anything"))
        .is_err());
}

#[test]
fn tampered_value_wrong_key_and_wrong_root_are_rejected() {
    let (_dir, store) = populated();
    let root = store.root_hash();
    let (_, proof) = store.get_with_proof(b"key/3", 1).unwrap();
    assert!(matches!(
        proof.verify(root, b"key/3", Some(b"value 4")),
        Err(ProofError::Invalid(_))
    ));
    assert!(proof.verify(root, b"key/4", Some(b"value 3")).is_err());
    assert!(proof.verify(root, b"key/3", None).is_err());
    let mut wrong_root = root;
    wrong_root[0] ^= 1;
    assert!(proof
        .verify(wrong_root, b"key/3", Some(b"value 3"))
        .is_err());
    // And a non-membership proof for another key does not prove this one absent.
    let (_, absent) = store.get_with_proof(b"absent", 1).unwrap();
    assert!(absent.verify(root, b"key/3", None).is_err());
}

#[test]
fn every_flipped_proof_bit_is_rejected() {
    let (_dir, store) = populated();
    let root = store.root_hash();
    for key in [&b"key/11"[..], b"absent"] {
        let (value, proof) = store.get_with_proof(key, 1).unwrap();
        let bytes = proof.to_bytes();
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x80] {
                let mut tampered = bytes.clone();
                tampered[i] ^= bit;
                if let Ok(p) = ReadProof::from_bytes(&tampered) {
                    assert!(
                        p.verify(root, key, value.as_deref()).is_err(),
                        "flipping bit {bit:#x} of byte {i} still verifies"
                    );
                }
            }
        }
    }
}

#[test]
fn historical_proofs_verify_against_that_heights_root() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let h1 = store
        .commit(changes(&[("a", Some("old")), ("b", Some("x"))]))
        .unwrap();
    let h2 = store
        .commit(changes(&[("a", Some("new")), ("b", None)]))
        .unwrap();
    let h3 = store.commit(nexus_store::ChangeSet::new()).unwrap();

    let (v, p) = store.get_with_proof(b"a", 1).unwrap();
    assert_eq!(v.as_deref(), Some(&b"old"[..]));
    p.verify(h1.root, b"a", Some(b"old")).unwrap();
    assert!(p.verify(h2.root, b"a", Some(b"old")).is_err());

    let (v, p) = store.get_with_proof(b"b", 2).unwrap();
    assert_eq!(v, None);
    p.verify(h2.root, b"b", None).unwrap();

    // An empty height proves the same things as the height before it.
    let (v, p) = store.get_with_proof(b"a", 3).unwrap();
    assert_eq!(v.as_deref(), Some(&b"new"[..]));
    p.verify(h3.root, b"a", Some(b"new")).unwrap();

    // Height 0: the empty tree.
    let (v, p) = store.get_with_proof(b"a", 0).unwrap();
    assert_eq!(v, None);
    p.verify(store.root_hash_at(0).unwrap(), b"a", None)
        .unwrap();
}

#[test]
fn malformed_proof_bytes_are_rejected_with_errors() {
    assert!(matches!(
        ReadProof::from_bytes(&[]),
        Err(ProofError::Malformed(_))
    ));
    assert!(matches!(
        ReadProof::from_bytes(&vec![0; MAX_PROOF_BYTES + 1]),
        Err(ProofError::TooLarge { .. })
    ));
    // No leaf, u32::MAX siblings.
    assert!(matches!(
        ReadProof::from_bytes(&[0, 0xff, 0xff, 0xff, 0xff]),
        Err(ProofError::TooManySiblings { .. })
    ));
    // No leaf, 257 null siblings: bounded by count, not only by size.
    let mut many = vec![0u8];
    many.extend_from_slice(&257u32.to_le_bytes());
    many.extend(std::iter::repeat_n(0u8, 257));
    assert!(matches!(
        ReadProof::from_bytes(&many),
        Err(ProofError::TooManySiblings { .. })
    ));
    // Trailing garbage.
    let (_d, store) = populated();
    let mut bytes = store.get_with_proof(b"key/1", 1).unwrap().1.to_bytes();
    bytes.push(0);
    assert!(ReadProof::from_bytes(&bytes).is_err());
}
