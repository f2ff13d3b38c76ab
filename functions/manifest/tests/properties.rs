//! `Manifest::from_toml_str` parses untrusted text: it never panics, and what it accepts
//! survives `to_toml_string` → `from_toml_str` unchanged. (Fuzzed too: `fuzz/` target `manifest`.)

use nexus_manifest::Manifest;
use proptest::prelude::*;

const SEED: &str = r#"name = "counter"
version = "0.1.0-alpha.1+build.5"
args = ["a", "b"]

[limits]
fuel = 1_000_000
memory_pages = 16
max_output_bytes = 7

[triggers]
eth_blocks = true
every_n_blocks = 10

[env]
GREETING = "hello"
EMPTY = ""
"#;

fn check(text: &str) {
    if let Ok(m) = Manifest::from_toml_str(text) {
        let again =
            Manifest::from_toml_str(&m.to_toml_string()).expect("serialized manifest parses");
        assert_eq!(again, m);
    }
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(text in any::<String>()) {
        check(&text);
    }

    #[test]
    fn never_panics_on_toml_like_text(text in r#"[a-z_=\[\]"\. 0-9\n\-+{},]{0,200}"#) {
        check(&text);
    }

    #[test]
    fn never_panics_on_edits_of_a_valid_manifest(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<char>(), any::<bool>()), 1..6)
    ) {
        let mut chars: Vec<char> = SEED.chars().collect();
        for (at, c, insert) in edits {
            if insert {
                let i = at.index(chars.len() + 1);
                chars.insert(i, c);
            } else if !chars.is_empty() {
                let i = at.index(chars.len());
                chars[i] = c;
            }
        }
        check(&chars.into_iter().collect::<String>());
    }
}
