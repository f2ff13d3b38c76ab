//! Kill `nexus run` during a commit: after a restart the state is exactly the last committed
//! height, and the chain of commits continues from there.

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

/// Height and count after one more `{}` increment.
fn step(state: &std::path::Path) -> (u64, u64) {
    let r = run_json("counter", state, b"{}");
    let count: serde_json::Value =
        serde_json::from_str(r["stdout"].as_str().expect("counter succeeded")).unwrap();
    (
        r["height"].as_u64().unwrap(),
        count["count"].as_u64().unwrap(),
    )
}

#[test]
fn commit_aborted_before_or_after_the_write_leaves_a_consistent_height() {
    for fault in ["abort_before_write", "abort_after_write"] {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(step(dir.path()), (1, 1));
        let out = Command::new(nexus_bin())
            .args(["run", guest("counter").to_str().unwrap(), "--state"])
            .arg(dir.path())
            .env("NEXUS_STORE_FAULT", fault)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "{fault}: the process must die in the commit"
        );
        // Each height holds exactly one increment, so count == height whatever survived.
        let (height, count) = step(dir.path());
        assert_eq!(height, count, "{fault}");
        let expected = if fault == "abort_before_write" { 2 } else { 3 };
        assert_eq!(height, expected, "{fault}");
    }
}

#[test]
fn sigkill_at_random_moments_never_leaves_a_torn_state() {
    let dir = tempfile::tempdir().unwrap();
    step(dir.path());
    // Deterministic "random" delays: a spread over the run's duration (~tens of ms).
    let delays_ms = [3u64, 11, 17, 25, 31, 42, 55, 70, 90, 120];
    for delay in delays_ms {
        let mut child = Command::new(nexus_bin())
            .args(["run", guest("counter").to_str().unwrap(), "--state"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay));
        // SIGKILL: no destructor, no flush.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGKILL);
        }
        let _ = child.wait();
        let (height, count) = step(dir.path());
        assert_eq!(
            height, count,
            "killed after {delay} ms: state is not one committed height"
        );
    }
}
