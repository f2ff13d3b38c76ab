//! `prepare` must never panic, and whatever it accepts must be valid under the same
//! features and rejected if prepared again (its depth global name is reserved).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_wasm_prep::{prepare, PrepError, PrepLimits, FEATURES};

fuzz_target!(|data: &[u8]| {
    let limits = PrepLimits::default();
    if let Ok(prepared) = prepare(data, &limits) {
        wasmparser::Validator::new_with_features(FEATURES)
            .validate_all(&prepared.code)
            .expect("prepared code validates");
        assert!(matches!(
            prepare(&prepared.code, &limits),
            Err(PrepError::ReservedExport { .. })
        ));
    }
});
