//! `kv::decode_scan` decodes bytes the host hands the guest: it never panics, rejects what
//! `encode_scan` cannot have produced, and inverts `encode_scan`. (Fuzzed too: `fuzz/` target
//! `kv_scan`.)

use nexus_sdk::kv;
use proptest::prelude::*;

fn entries() -> impl Strategy<Value = Vec<kv::Entry>> {
    let bytes = || proptest::collection::vec(any::<u8>(), 0..40);
    proptest::collection::vec((bytes(), bytes()), 0..8)
}

proptest! {
    #[test]
    fn decode_inverts_encode(entries in entries()) {
        prop_assert_eq!(kv::decode_scan(&kv::encode_scan(&entries)), Some(entries));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_accepted_input_is_canonical(
        bytes in proptest::collection::vec(any::<u8>(), 0..256)
    ) {
        if let Some(entries) = kv::decode_scan(&bytes) {
            prop_assert_eq!(kv::encode_scan(&entries), bytes);
        }
    }

    #[test]
    fn truncated_or_extended_encodings_are_rejected(
        entries in entries().prop_filter("non-empty", |e| !e.is_empty()),
        cut in any::<prop::sample::Index>(),
        extra in proptest::collection::vec(any::<u8>(), 1..4),
    ) {
        let encoded = kv::encode_scan(&entries);
        // Any proper prefix that is not itself a whole number of entries is malformed.
        let at = cut.index(encoded.len());
        if let Some(decoded) = kv::decode_scan(&encoded[..at]) {
            prop_assert_eq!(kv::encode_scan(&decoded), &encoded[..at]);
        }
        // 1-3 trailing bytes are always a short length field.
        let mut longer = encoded.clone();
        longer.extend_from_slice(&extra);
        prop_assert_eq!(kv::decode_scan(&longer), None);
    }
}
