//! Borsh decoding of a stored `FunctionRecord` must never panic (nor allocate without bound),
//! and what decodes must re-encode to the same bytes (borsh is canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_runtime::FunctionRecord;

fuzz_target!(|data: &[u8]| {
    if let Ok(record) = borsh::from_slice::<FunctionRecord>(data) {
        assert_eq!(borsh::to_vec(&record).expect("encoding to a Vec"), data);
    }
});
