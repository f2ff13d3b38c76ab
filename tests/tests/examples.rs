//! Every example guest runs through the real `nexus` binary against a real state directory.
//! `every_example_has_a_host_test` fails when an example is added without a test here.

mod support;

use support::*;

#[test]
fn every_example_has_a_host_test() {
    let tested: Vec<String> = scripts().iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(
        example_names(),
        tested,
        "every examples/*/nexus.toml needs a script in tests/tests/examples.rs"
    );
}

fn stdout(result: &serde_json::Value) -> &str {
    result["stdout"]
        .as_str()
        .unwrap_or_else(|| panic!("no stdout in {result}"))
}

#[test]
fn counter_counts_emits_an_event_and_an_output_and_proves_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let first = run_json("counter", dir.path(), br#"{"by": 5}"#);
    assert_eq!(stdout(&first).trim(), r#"{"count":5}"#);
    assert_eq!(first["deployed"], true);
    let second = run_json("counter", dir.path(), br#"{"by": 2}"#);
    assert_eq!(stdout(&second).trim(), r#"{"count":7}"#);
    assert_eq!(second["deployed"], false);
    assert_eq!(second["events"][0]["topic"], "incremented");
    assert_eq!(second["outputs"][0], "0000000000000007");
    assert!(second["fuel_used"].as_u64().unwrap() > 0);

    let state = dir.path().to_str().unwrap();
    let out = nexus(&["kv", "get", "counter", "count", "--state", state], b"");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "0x0700000000000000"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("proof  verified"));
}

#[test]
fn counter_rejects_bad_input_and_keeps_its_count() {
    let dir = tempfile::tempdir().unwrap();
    run_json("counter", dir.path(), br#"{"by": 5}"#);
    let bad = run_json("counter", dir.path(), br#"{"by": "five"}"#);
    assert!(
        bad["error"].as_str().unwrap().contains("exited with code"),
        "{bad}"
    );
    let after = run_json("counter", dir.path(), b"{}");
    assert_eq!(stdout(&after).trim(), r#"{"count":6}"#);
}

#[test]
fn notes_manage_directories_and_files_with_std_fs() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    for (_, inputs) in scripts().into_iter().filter(|(n, _)| *n == "notes") {
        for input in inputs {
            let r = run_json("notes", dir.path(), input.as_bytes());
            assert!(r.get("error").is_none(), "{r}");
        }
    }
    assert_eq!(
        ok_stdout(&["fs", "ls", "notes", "/notes", "--state", state]),
        "work/\n"
    );
    assert_eq!(
        ok_stdout(&["fs", "ls", "notes", "notes/work", "--state", state]),
        "done.txt\t18\n"
    );
    assert_eq!(
        ok_stdout(&[
            "fs",
            "cat",
            "notes",
            "notes/work/done.txt",
            "--state",
            state
        ]),
        "buy milk\ncall bob\n"
    );
}

#[test]
fn a_failing_notes_batch_leaves_no_partial_files() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    // The second command fails (no such note), so the first one's file must not persist.
    let r = run_json(
        "notes",
        dir.path(),
        br#"[{"cmd":"add","topic":"t","title":"a","text":"x"},{"cmd":"read","topic":"t","title":"missing"}]"#,
    );
    assert!(r["error"].is_string(), "{r}");
    let out = nexus(&["fs", "ls", "notes", "/", "--state", state], b"");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
}

#[test]
fn c_program_uses_stdio_and_directories() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    run_json("c-files", dir.path(), b"hello\n");
    let r = run_json("c-files", dir.path(), b"again\n");
    let out = stdout(&r);
    assert!(out.contains("data/ has 2 file(s)"), "{out}");
    assert!(
        out.contains("input-0.txt") && out.contains("input-1.txt"),
        "{out}"
    );
    assert_eq!(
        ok_stdout(&["fs", "cat", "c-files", "data/input-1.txt", "--state", state]),
        "again\n"
    );
}

#[test]
fn floats_produce_canonical_nans() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_json("floats", dir.path(), b"");
    let out = stdout(&r);
    assert!(
        out.contains("zero_div_zero f64 0x7ff8000000000000"),
        "{out}"
    );
    assert!(out.contains("zero_div_zero f32 0x7fc00000"), "{out}");
    assert!(out.contains("sqrt_neg_one f64 0x7ff8000000000000"), "{out}");
}

#[test]
fn go_program_writes_and_reads_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let r = run_json("go-hello", dir.path(), b"gopher\n");
    assert_eq!(
        stdout(&r).trim(),
        "hello, gopher (13 bytes via greeting.txt)"
    );
}
