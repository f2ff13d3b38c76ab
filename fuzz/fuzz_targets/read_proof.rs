//! `ReadProof::from_bytes` must never panic, must accept only canonical encodings (what it
//! accepts re-encodes to the same bytes), and `verify` of a decoded proof against any root, key
//! and value must not panic either.
//!
//! Input layout: the proof bytes come first (so that byte-level mutations act on the encoding);
//! the last 32 bytes, when present, are the root, and one more byte before them picks the key
//! and value. Short inputs use the whole input as the proof.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_store::{ReadProof, MAX_PROOF_BYTES};

fuzz_target!(|data: &[u8]| {
    check(data, [0; 32], 0);
    if data.len() > 33 {
        let (proof, tail) = data.split_at(data.len() - 33);
        let root: [u8; 32] = tail[1..].try_into().expect("32 bytes");
        check(proof, root, tail[0]);
    }
});

fn check(bytes: &[u8], root: [u8; 32], selector: u8) {
    let Ok(proof) = ReadProof::from_bytes(bytes) else {
        return;
    };
    assert!(bytes.len() <= MAX_PROOF_BYTES);
    assert_eq!(proof.to_bytes(), bytes, "accepted a non-canonical encoding");
    let key: &[u8] = match selector % 3 {
        0 => b"",
        1 => b"fn/counter",
        _ => &root[..(selector as usize) % 33],
    };
    let value: Option<&[u8]> = match selector / 3 % 3 {
        0 => None,
        1 => Some(b""),
        _ => Some(&root[..]),
    };
    let _ = proof.verify(root, key, value);
    let _ = proof.verify([0; 32], key, value);
}
