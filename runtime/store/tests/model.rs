//! Property tests: random commit sequences agree with a `BTreeMap` model, every proof verifies,
//! and proof decoding never panics.

use std::collections::BTreeMap;

use nexus_store::{ChangeSet, ReadProof, StateRead, Store};
use proptest::prelude::*;

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

/// Small key space with shared prefixes, so that updates, deletes and prefix scans collide.
fn key() -> impl Strategy<Value = Vec<u8>> {
    (0u8..3, 0u8..6).prop_map(|(a, b)| vec![b'a' + a, b'0' + b])
}

fn batch() -> impl Strategy<Value = Vec<(Vec<u8>, Option<Vec<u8>>)>> {
    prop::collection::vec(
        (
            key(),
            prop::option::weighted(0.7, prop::collection::vec(any::<u8>(), 0..8)),
        ),
        0..10,
    )
}

fn check_height(store: &Store, model: &Model, height: u64) {
    let root = store.root_hash_at(height).unwrap();
    for a in 0..3u8 {
        for b in 0..7u8 {
            let k = vec![b'a' + a, b'0' + b];
            let expected = model.get(&k);
            assert_eq!(store.get_at(&k, height).unwrap().as_ref(), expected);
            let (value, proof) = store.get_with_proof(&k, height).unwrap();
            assert_eq!(value.as_ref(), expected);
            let proof = ReadProof::from_bytes(&proof.to_bytes()).unwrap();
            proof.verify(root, &k, expected.map(Vec::as_slice)).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn random_commit_sequences_agree_with_a_model(batches in prop::collection::vec(batch(), 1..8)) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut model = Model::new();
        let mut history = vec![model.clone()];
        for ops in batches {
            let mut cs = ChangeSet::new();
            for (k, v) in ops {
                match v {
                    Some(v) => {
                        model.insert(k.clone(), v.clone());
                        cs.put(k, v);
                    }
                    None => {
                        model.remove(&k);
                        cs.delete(k);
                    }
                }
            }
            store.commit(cs).unwrap();
            history.push(model.clone());
            for (k, v) in &model {
                prop_assert_eq!(store.get(k).unwrap(), Some(v.clone()));
            }
            for prefix in [&b""[..], b"a", b"b1", b"c"] {
                let expected: Vec<(Vec<u8>, Vec<u8>)> = model
                    .iter()
                    .filter(|(k, _)| k.starts_with(prefix))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                prop_assert_eq!(&store.scan_prefix(prefix, None, usize::MAX).unwrap(), &expected);
                // Paged scans give the same entries.
                let mut paged = Vec::new();
                let mut after: Option<Vec<u8>> = None;
                loop {
                    let page = store.scan_prefix(prefix, after.as_deref(), 3).unwrap();
                    let done = page.len() < 3;
                    after = page.last().map(|(k, _)| k.clone());
                    paged.extend(page);
                    if done {
                        break;
                    }
                }
                prop_assert_eq!(&paged, &expected);
            }
            check_height(&store, &model, store.latest_height());
        }
        // History after reopening: every height still answers with its own state and root.
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        for (h, m) in history.iter().enumerate() {
            check_height(&store, m, h as u64);
        }
    }

    #[test]
    fn proof_decoding_never_panics_on_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        if let Ok(proof) = ReadProof::from_bytes(&bytes) {
            // Whatever decodes re-encodes to the same bytes and can be checked without panicking.
            prop_assert_eq!(proof.to_bytes(), bytes);
            let _ = proof.verify([7; 32], b"k", Some(b"v"));
            let _ = proof.verify([7; 32], b"k", None);
        }
    }

    #[test]
    fn proof_decoding_never_panics_on_mutated_proofs(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let mut cs = ChangeSet::new();
        for i in 0..64u8 {
            cs.put(vec![i], vec![i; 3]);
        }
        store.commit(cs).unwrap();
        let mut bytes = store.get_with_proof(&[5], 1).unwrap().1.to_bytes();
        for (at, b) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= b;
        }
        let root = store.root_hash();
        if let Ok(p) = ReadProof::from_bytes(&bytes[..cut.index(bytes.len() + 1)]) {
            let _ = p.verify(root, &[5], Some(&[5, 5, 5]));
        }
    }
}
