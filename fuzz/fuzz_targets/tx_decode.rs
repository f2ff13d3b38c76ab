//! `nexus_consensus::tx::decode_and_verify` reads transaction bytes from anyone (CheckTx, and
//! proposals from other validators): it must never panic nor allocate without bound, and what
//! it accepts must be canonical, so a transaction's hash names exactly one byte string.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_consensus::tx::{decode_and_verify, tx_hash, SignedTx, MAX_TX_BYTES};

fuzz_target!(|data: &[u8]| {
    // The borsh layer alone (before the signature check): accepted bytes re-encode identically.
    if let Ok(tx) = borsh::from_slice::<SignedTx>(data) {
        assert_eq!(tx.encode(), data, "SignedTx encoding is not canonical");
    }
    if let Ok(verified) = decode_and_verify(data) {
        assert!(data.len() <= MAX_TX_BYTES);
        assert_eq!(verified.encoded_len, data.len());
        assert_eq!(verified.hash, tx_hash(data));
        let tx: SignedTx = borsh::from_slice(data).expect("decode_and_verify accepted it");
        assert_eq!(tx.body, verified.body);
        // The signer recovered from the signature is the same on every decode.
        let again = decode_and_verify(data).expect("accepted once, accepted again");
        assert_eq!(again.sender, verified.sender);
    }
});
