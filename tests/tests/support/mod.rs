//! Finds the `nexus` binary and the example guests, and runs `nexus` as a child process.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// `$CARGO_TARGET_DIR` of this test run: tests live in `<target>/debug/deps/`.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.ancestors()
        .nth(3)
        .expect("test executable is in <target>/<profile>/deps")
        .to_path_buf()
}

/// The `nexus` binary built beside these tests (or `$NEXUS_BIN`).
pub fn nexus_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("NEXUS_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe.parent().unwrap().parent().unwrap().join("nexus");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p nexus-cli` first (the README's test command does)",
        bin.display()
    );
    bin
}

/// Directory of built example guests (`$NEXUS_GUESTS_DIR`, default `$CARGO_TARGET_DIR/guests`).
pub fn guests_dir() -> PathBuf {
    std::env::var_os("NEXUS_GUESTS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("guests"))
}

/// Path of the built example `name` (`<name>.wasm`), which must exist.
pub fn guest(name: &str) -> PathBuf {
    let path = guests_dir().join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "{} is missing: run deploy/build-examples.sh first (the README's test command does)",
        path.display()
    );
    path
}

/// Every example directory's function name (`examples/*/nexus.toml`).
pub fn example_names() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&root).expect("examples/") {
        let manifest = entry.unwrap().path().join("nexus.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            let name = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("name"))
                .and_then(|rest| rest.split('"').nth(1))
                .unwrap_or_else(|| panic!("no name in {}", manifest.display()));
            names.push(name.to_string());
        }
    }
    names.sort();
    names
}

/// Runs `nexus args…` with `stdin` and returns its output.
pub fn nexus(args: &[&str], stdin: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(nexus_bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn nexus");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().expect("nexus output")
}

/// `nexus run <guest> --state <state> --input - --json` → the JSON result.
pub fn run_json(guest_name: &str, state: &Path, input: &[u8]) -> serde_json::Value {
    let module = guest(guest_name);
    let out = nexus(
        &[
            "run",
            module.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
            "--input",
            "-",
            "--json",
        ],
        input,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "nexus run {guest_name}: {e}; stdout: {stdout}; stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// stdout of a successful `nexus` command, as UTF-8.
pub fn ok_stdout(args: &[&str]) -> String {
    let out = nexus(args, b"");
    assert!(
        out.status.success(),
        "nexus {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Input scripts per example (function name, inputs in order). The determinism test replays
/// the same scripts, so every example listed here is also checked for determinism.
pub fn scripts() -> Vec<(&'static str, Vec<&'static str>)> {
    vec![
        ("c-files", vec!["hello\n", "second file\n"]),
        ("counter", vec![r#"{"by": 5}"#, "{}", r#"{"by": 10}"#]),
        ("floats", vec![""]),
        ("go-hello", vec!["gopher\n"]),
        (
            "notes",
            vec![
                r#"[{"cmd":"add","topic":"work","title":"todo","text":"buy milk\n"},
                    {"cmd":"add","topic":"work","title":"todo","text":"call bob\n"},
                    {"cmd":"add","topic":"home","title":"plants","text":"water\n"}]"#,
                r#"[{"cmd":"rename","topic":"work","title":"todo","to":"done"},{"cmd":"list"}]"#,
                r#"[{"cmd":"delete","topic":"home","title":"plants"},{"cmd":"list"}]"#,
            ],
        ),
    ]
}
