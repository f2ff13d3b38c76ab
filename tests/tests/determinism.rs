//! Determinism is a correctness property: every example, run on two fresh state directories,
//! gives identical outputs, fuel and state roots at every height.

mod support;

use support::*;

fn replay(name: &str, inputs: &[&str]) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    inputs
        .iter()
        .map(|input| run_json(name, dir.path(), input.as_bytes()))
        .collect()
}

#[test]
fn every_example_gives_the_same_results_and_state_roots_on_two_fresh_state_dirs() {
    for (name, inputs) in scripts() {
        let a = replay(name, &inputs);
        let b = replay(name, &inputs);
        assert_eq!(a, b, "{name} diverged between two fresh state directories");
        for r in &a {
            assert_eq!(
                r["state_root"].as_str().map(str::len),
                Some(64),
                "{name}: {r}"
            );
        }
    }
}

#[test]
fn every_example_in_one_state_dir_gives_the_same_final_root_twice() {
    let run_all = || {
        let dir = tempfile::tempdir().unwrap();
        let mut last = serde_json::Value::Null;
        for (name, inputs) in scripts() {
            for input in inputs {
                last = run_json(name, dir.path(), input.as_bytes());
            }
        }
        last["state_root"].clone()
    };
    assert_eq!(run_all(), run_all());
}
