//! `Manifest::from_toml_str` must never panic on any UTF-8 text, and whatever it accepts must
//! survive `to_toml_string` → `from_toml_str` unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_manifest::Manifest;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(manifest) = Manifest::from_toml_str(text) {
        let again = Manifest::from_toml_str(&manifest.to_toml_string())
            .expect("a serialized valid manifest parses again");
        assert_eq!(again, manifest);
    }
});
