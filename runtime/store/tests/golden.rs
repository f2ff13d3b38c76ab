//! Golden roots: a fixed sequence of commits must give exactly these roots, forever. The roots
//! were recorded with the original layout (before any on-disk or write-path change), so they prove
//! that storage changes never alter the commitment.

use nexus_store::{ChangeSet, Store, EMPTY_ROOT};
use sha2::{Digest, Sha256};

fn key(i: u64) -> Vec<u8> {
    Sha256::digest(i.to_be_bytes()).to_vec()
}

fn value(i: u64, round: u64) -> Vec<u8> {
    let mut v = Sha256::digest((i ^ (round << 40)).to_le_bytes()).to_vec();
    v.truncate(1 + ((i + round) % 32) as usize);
    v
}

/// Height `h` of the fixed sequence: batch puts, updates, deletes (sequential tree path), empty
/// heights, deletes of absent keys, small human-readable keys.
fn changes_for(h: u64) -> ChangeSet {
    let mut cs = ChangeSet::new();
    match h {
        1 => (0..2_000).for_each(|i| cs.put(key(i), value(i, h))),
        2 => (1_000..3_000).for_each(|i| cs.put(key(i), value(i, h))),
        3 => (0..500).for_each(|i| cs.delete(key(i * 3))),
        4 => {}
        5 => cs.delete(b"never written".to_vec()),
        6 => {
            (0..300).for_each(|i| cs.put(key(i * 3), value(i, h)));
            (0..100).for_each(|i| cs.delete(key(2_000 + i)));
            cs.put(b"a".to_vec(), b"1".to_vec());
            cs.put(b"ab".to_vec(), Vec::new());
        }
        7 => (3_000..3_100).for_each(|i| cs.put(key(i), value(i, h))),
        _ => (0..50).for_each(|i| cs.put(key(i * 7 + h), value(i, h))),
    }
    cs
}

const GOLDEN: [&str; 10] = [
    "1b707876b45813a0d8b5f5825525f54da12f4f942aaf25b9eaed7cb07a0e52b3",
    "f7cd4804eaeb29b86344c8d9548c26bb407a1f574943848c12dc3c269daab6b0",
    "7fd547beee787e8b9f018ea7ab1f5c012a5fa74640fb89dc1af33fcd3d3266ba",
    "7fd547beee787e8b9f018ea7ab1f5c012a5fa74640fb89dc1af33fcd3d3266ba",
    "7fd547beee787e8b9f018ea7ab1f5c012a5fa74640fb89dc1af33fcd3d3266ba",
    "288d4cd856d1477b74b42feeaa59d268bfd95c8b262f7821fc892ed513e92913",
    "691ee0eedf4096ae0b7eef37c2cebb9820bfb62794535c951579ce4b3b594897",
    "872e1265c407783dd4e712bf3ebb340644cbfca94baa79dda2b135a5fad43d23",
    "ebdbdcf63376f1e48b46382e7a36d4dd11eb772676b6e43c72c572951bfcd134",
    "d97ddaec8f3ebf7a702de53c84e7a46b7bfaa6963261bc2281a6c5675275a482",
];

#[test]
fn fixed_commit_sequence_gives_the_golden_roots() {
    let dir = tempfile::tempdir().unwrap();
    let mut roots = Vec::new();
    {
        let store = Store::open(dir.path()).unwrap();
        for h in 1..=GOLDEN.len() as u64 {
            let info = store.commit(changes_for(h)).unwrap();
            assert_eq!(info.height, h);
            roots.push(hex::encode(info.root));
        }
    }
    assert_eq!(roots, GOLDEN);
    // Recorded roots survive a reopen, and height 0 is still the empty tree.
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.root_hash_at(0).unwrap(), EMPTY_ROOT);
    for (h, root) in GOLDEN.iter().enumerate() {
        let got = hex::encode(store.root_hash_at(h as u64 + 1).unwrap());
        assert_eq!(&got, root, "height {}", h + 1);
    }
}
