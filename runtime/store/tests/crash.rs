//! Crash safety: a child process commits deterministic heights in a loop and is SIGKILLed at
//! random moments (or aborted by the `NEXUS_STORE_FAULT` hook); after every kill the reopened
//! store is exactly some committed height `h`, equal to a replay of heights `1..=h`.
//!
//! The child is this test binary re-executed with `CHILD_ENV` set (see `crash_writer_child`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nexus_store::{ChangeSet, StateRead, Store, FAULT_ENV, MAX_PENDING_HEIGHTS};

/// When set, `crash_writer_child` runs the writer loop on this directory.
const CHILD_ENV: &str = "NEXUS_STORE_CRASH_CHILD_DIR";
/// Keys live in `KEY_SPACE` slots, so heights overwrite and delete each other's keys.
const KEY_SPACE: u64 = 300;
/// The writer stops here if it is never killed.
const MAX_CHILD_HEIGHT: u64 = 100_000;
/// Random SIGKILLs per run.
const KILLS: usize = 6;

/// The deterministic change set of height `h`.
fn changes_for(h: u64) -> ChangeSet {
    let mut cs = ChangeSet::new();
    if h.is_multiple_of(10) {
        return cs; // Empty heights too.
    }
    for i in 0..(20 + h % 40) {
        let slot = (h * 31 + i * 7) % KEY_SPACE;
        cs.put(
            format!("key/{slot:04}").into_bytes(),
            format!("h{h}/i{i}")
                .repeat(1 + (i % 5) as usize)
                .into_bytes(),
        );
    }
    cs.delete(format!("key/{:04}", (h * 13) % KEY_SPACE).into_bytes());
    cs
}

#[test]
fn crash_writer_child() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return; // Only does something when re-executed by the parent below.
    };
    let store = Store::open(Path::new(&dir)).expect("child open");
    loop {
        let h = store.latest_height() + 1;
        if h > MAX_CHILD_HEIGHT {
            break;
        }
        store.commit(changes_for(h)).expect("child commit");
    }
}

fn spawn_child(dir: &Path, fault: Option<String>) -> std::process::Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "crash_writer_child",
        "--exact",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, dir)
    .env_remove(FAULT_ENV)
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if let Some(f) = fault {
        cmd.env(FAULT_ENV, f);
    }
    cmd.spawn().expect("spawn child")
}

/// Checks the reopened store against a replay on a fresh store; returns its height.
fn check_consistent(dir: &Path) -> u64 {
    let store = Store::open(dir).expect("reopen after crash");
    let h = store.latest_height();
    let replay_dir = tempfile::tempdir().unwrap();
    let replay = Store::open(replay_dir.path()).unwrap();
    let mut model: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
    for i in 1..=h {
        let cs = changes_for(i);
        for (k, v) in cs.iter() {
            match v {
                Some(v) => model.insert(k.to_vec(), v.to_vec()),
                None => model.remove(k),
            };
        }
        let info = replay.commit(cs).unwrap();
        assert_eq!(
            store.root_hash_at(i).unwrap(),
            info.root,
            "root of height {i}"
        );
    }
    assert_eq!(store.root_hash(), replay.root_hash());
    let all = store.scan_prefix(b"", None, usize::MAX).unwrap();
    let expected: Vec<(Vec<u8>, Vec<u8>)> = model.into_iter().collect();
    assert_eq!(all, expected, "flat state at height {h}");
    h
}

/// Small xorshift seeded from the clock: kill moments differ between runs (printed on failure).
fn rng() -> impl FnMut() -> u64 {
    let mut x = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    eprintln!("crash test seed {x}");
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

#[test]
fn sigkill_at_random_moments_leaves_exactly_a_committed_height() {
    let dir = tempfile::tempdir().unwrap();
    let mut next = rng();
    let mut last = 0;
    for round in 0..KILLS {
        let mut child = spawn_child(dir.path(), None);
        std::thread::sleep(Duration::from_millis(50 + next() % 400));
        child.kill().expect("SIGKILL child");
        child.wait().unwrap();
        let h = check_consistent(dir.path());
        eprintln!("round {round}: killed at height {h}");
        assert!(
            h >= last,
            "round {round}: height went back from {last} to {h}"
        );
        last = h;
    }
    assert!(last > 0, "the child never committed anything");
}

#[test]
fn abort_hooks_stop_exactly_before_or_after_the_write() {
    let dir = tempfile::tempdir().unwrap();
    // Reach some height first.
    let store = Store::open(dir.path()).unwrap();
    for h in 1..=5 {
        store.commit(changes_for(h)).unwrap();
    }
    drop(store);

    for (fault, target, expected) in [
        ("abort_before_write", 8, 7),
        ("abort_after_write", 11, 11),
        ("abort_before_write", 12, 11),
        ("abort_after_write", 20, 20),
    ] {
        let mut child = spawn_child(dir.path(), Some(format!("{fault}@{target}")));
        let started = Instant::now();
        let status = child.wait().unwrap();
        assert!(!status.success(), "{fault}@{target}: child did not abort");
        assert!(started.elapsed() < Duration::from_secs(60));
        assert_eq!(check_consistent(dir.path()), expected, "{fault}@{target}");
    }
}

#[test]
fn abort_before_a_write_out_is_replayed_from_the_changelog() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for h in 1..=5 {
        store.commit(changes_for(h)).unwrap();
    }
    drop(store);
    // The persister dies before writing height 9 out; the committer may have committed up to
    // MAX_PENDING_HEIGHTS heights from 9 on (records only) by then.
    let target = 9;
    let mut child = spawn_child(dir.path(), Some(format!("abort_before_persist@{target}")));
    let status = child.wait().unwrap();
    assert!(!status.success(), "child did not abort");
    let h = check_consistent(dir.path());
    let bound = target + MAX_PENDING_HEIGHTS as u64;
    assert!(
        (target..=bound).contains(&h),
        "height {h} outside {target}..={bound}"
    );
    // The replayed store keeps committing.
    let store = Store::open(dir.path()).unwrap();
    store.commit(changes_for(h + 1)).unwrap();
    drop(store);
    assert_eq!(check_consistent(dir.path()), h + 1);
}
