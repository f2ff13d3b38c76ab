//! What validators put in vote extensions and what proposers put first in a block arrive from
//! other validators: `AppExtension::decode` (VerifyVoteExtension) and `ThresholdRecord::decode`
//! (ProcessProposal) must never panic nor allocate without bound, and accept only canonical
//! bytes (CometBFT signs the exact bytes; two encodings of one extension must not exist).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_consensus::extension::{AppExtension, MAX_APP_EXTENSION_BYTES};
use nexus_consensus::threshold::sessions::{ThresholdRecord, MAX_RECORD_BYTES, RECORD_MAGIC};
use nexus_threshold::vote_extension::VoteExtension;

fuzz_target!(|data: &[u8]| {
    if let Ok(ext) = AppExtension::decode(data) {
        assert!(data.len() <= MAX_APP_EXTENSION_BYTES);
        assert_eq!(ext.encode(), data, "AppExtension encoding is not canonical");
        if !ext.threshold.is_empty() {
            if let Ok(part) = VoteExtension::decode(&ext.threshold) {
                assert_eq!(part.encode(), ext.threshold, "threshold part not canonical");
            }
        }
    }
    let mut record = RECORD_MAGIC.to_vec();
    record.extend_from_slice(data);
    for bytes in [data, record.as_slice()] {
        if let Ok(r) = ThresholdRecord::decode(bytes) {
            assert!(bytes.len() <= MAX_RECORD_BYTES);
            assert_eq!(r.encode(), bytes, "ThresholdRecord encoding is not canonical");
        }
    }
});
