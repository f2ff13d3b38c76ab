//! `nexus_sdk::kv::decode_scan` (host → guest `kv_scan` encoding) must never panic, and what it
//! accepts must re-encode to the same bytes with `encode_scan`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_sdk::kv;

fuzz_target!(|data: &[u8]| {
    if let Some(entries) = kv::decode_scan(data) {
        assert_eq!(kv::encode_scan(&entries), data);
    }
});
