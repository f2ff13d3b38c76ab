//! The developer journey: `nexus new` → `nexus build` → `nexus run`, in every language.

mod support;

use support::*;

#[test]
fn new_projects_in_every_language_build_and_run() {
    let root = tempfile::tempdir().unwrap();
    let state = root.path().join("state");
    for (lang, input, expected) in [
        (
            "rust",
            r#"{"name":"ada"}"#,
            r#"{"greeting":"hello, ada","calls":1}"#,
        ),
        ("c", "bob", "hello, bob"),
        ("go", "cy", "hello, cy"),
    ] {
        let name = format!("hello-{lang}");
        let dir = root.path().join(&name);
        ok_stdout(&["new", &name, "--lang", lang, "--dir", dir.to_str().unwrap()]);
        let wasm = ok_stdout(&["build", dir.to_str().unwrap()]);
        let out = nexus(
            &[
                "run",
                wasm.trim(),
                "--state",
                state.to_str().unwrap(),
                "--input",
                "-",
            ],
            input.as_bytes(),
        );
        assert!(
            out.status.success(),
            "{lang}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            expected,
            "{lang}"
        );
    }
}
