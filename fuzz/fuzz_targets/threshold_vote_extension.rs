//! `nexus_threshold::vote_extension::VoteExtension::decode` (a validator's vote extension, from
//! the network) must never panic; what it accepts is at most `MAX_VOTE_EXTENSION_BYTES`,
//! re-encodes to the same bytes, and `validate_for` on it never panics either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_threshold::vote_extension::{VoteExtension, MAX_VOTE_EXTENSION_BYTES};

fuzz_target!(|data: &[u8]| {
    if let Ok(ext) = VoteExtension::decode(data) {
        assert!(data.len() <= MAX_VOTE_EXTENSION_BYTES);
        assert_eq!(ext.encode(), data);
        assert_eq!(ext.encoded_len(), data.len());
        let _ = ext.validate_for(&[1, 2, 3]);
    }
});
