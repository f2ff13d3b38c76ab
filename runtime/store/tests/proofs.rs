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

/// The `read_proof` fuzz target's committed seeds (`fuzz/seeds/read_proof/`: real
/// membership and non-membership proofs, laid out as the target reads them — proof bytes,
/// one selector byte, the root — so that the fuzzer starts on the success path) still
/// decode and verify. `NEXUS_WRITE_FUZZ_SEEDS=1` writes them afresh first.
#[test]
fn fuzz_seeds_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/read_proof");
    // The target's selector: key `selector % 3` (1 = `fn/counter`), value `selector / 3 % 3`
    // (0 = absent, 1 = empty).
    const COUNTER_ABSENT: u8 = 1;
    const COUNTER_EMPTY: u8 = 4;
    if std::env::var_os("NEXUS_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        let (_tmp, store) = populated();
        let (value, absent) = store.get_with_proof(b"fn/counter", 1).unwrap();
        assert_eq!(value, None);
        let seed = |proof: ReadProof, selector: u8, root: [u8; 32]| {
            [proof.to_bytes(), vec![selector], root.to_vec()].concat()
        };
        let absent = seed(absent, COUNTER_ABSENT, store.root_hash());
        std::fs::write(dir.join("non-membership.seed"), absent).unwrap();
        let mut cs = nexus_store::ChangeSet::new();
        cs.put(b"fn/counter".to_vec(), Vec::new());
        store.commit(cs).unwrap();
        let (value, present) = store.get_with_proof(b"fn/counter", 2).unwrap();
        assert_eq!(value.as_deref(), Some(&b""[..]));
        let present = seed(present, COUNTER_EMPTY, store.root_hash());
        std::fs::write(dir.join("membership.seed"), present).unwrap();
    }
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let (proof, tail) = data.split_at(data.len() - 33);
        let root: [u8; 32] = tail[1..].try_into().unwrap();
        let value: Option<&[u8]> = match tail[0] {
            COUNTER_ABSENT => None,
            COUNTER_EMPTY => Some(b""),
            other => panic!("{}: unexpected selector {other}", path.display()),
        };
        let proof = ReadProof::from_bytes(proof).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; regenerate with NEXUS_WRITE_FUZZ_SEEDS=1",
                path.display()
            )
        });
        proof
            .verify(root, b"fn/counter", value)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seeds += 1;
    }
    assert!(seeds >= 2, "read-proof seeds missing");
}
