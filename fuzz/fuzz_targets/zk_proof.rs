//! `nexus_zkvm_bridge::proof::Proof::from_bytes` (the proof of a `SubmitProof` transaction, from
//! any prover) must never panic, must stay within `MAX_PROOF_BYTES`, and what it accepts must
//! encode again to bytes that decode to the same encoding (the SNARK part included: curve
//! points, scalars, the evaluation arguments of `nexus_zkvm_bridge::ipa`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_zkvm_bridge::proof::{Proof, MAX_PROOF_BYTES};

fuzz_target!(|data: &[u8]| {
    let Ok(proof) = Proof::from_bytes(data) else {
        return;
    };
    assert!(data.len() <= MAX_PROOF_BYTES);
    let again = proof.to_bytes().expect("a decoded proof encodes");
    let back = Proof::from_bytes(&again).expect("a re-encoded proof decodes");
    assert_eq!(back.to_bytes().expect("encodes"), again, "encoding is not stable");
});
