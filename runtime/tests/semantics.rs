//! Invocation semantics: atomicity with nested calls, determinism of clocks and randomness.

mod common;

use common::Harness;
use nexus_runtime::{Failure, InvokeError};

/// `writer` sets kv `k` = `v`; `caller_ok` calls it and succeeds; `caller_fails` calls it, then
/// exits 1.
fn nested_modules() -> (String, String, String) {
    let writer = r#"(module
      (import "nexus_v1" "kv_set" (func $kv_set (param i32 i32 i32 i32) (result i32)))
      (import "nexus_v1" "emit_event" (func $event (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "kvtopic")
      (func (export "_start")
        (drop (call $kv_set (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 1)))
        (drop (call $event (i32.const 2) (i32.const 5) (i32.const 0) (i32.const 2)))))"#
        .to_string();
    let caller = |exit_code: i32| {
        format!(
            r#"(module
      (import "nexus_v1" "call" (func $call (param i32 i32 i32 i32) (result i64)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "writer")
      (func (export "_start")
        (if (i64.lt_s (call $call (i32.const 0) (i32.const 6) (i32.const 0) (i32.const 0)) (i64.const 0))
          (then (call $exit (i32.const 99))))
        (call $exit (i32.const {exit_code}))))"#
        )
    };
    (writer, caller(0), caller(1))
}

#[test]
fn nested_call_effects_commit_with_a_successful_caller() {
    let mut h = Harness::new();
    let (writer, ok, _) = nested_modules();
    h.deploy_wat("writer", &writer).unwrap();
    h.deploy_wat("caller-ok", &ok).unwrap();
    let receipt = h.invoke("caller-ok", b"").unwrap();
    assert_eq!(
        receipt.events.len(),
        1,
        "the callee's event is the caller's"
    );
    assert_eq!(
        nexus_runtime::inspect::kv_get(&h.view, "writer", b"k").unwrap(),
        Some(b"v".to_vec())
    );
}

#[test]
fn nested_call_effects_vanish_with_a_failing_caller() {
    let mut h = Harness::new();
    let (writer, _, fails) = nested_modules();
    h.deploy_wat("writer", &writer).unwrap();
    h.deploy_wat("caller-fails", &fails).unwrap();
    let before = h.pending();
    let err = h.invoke("caller-fails", b"").unwrap_err();
    assert_eq!(err.failure(), Some(&Failure::Exit(1)));
    assert_eq!(h.pending(), before);
}

#[test]
fn calling_an_unknown_function_returns_not_found_to_the_guest() {
    let mut h = Harness::new();
    let (_, ok, _) = nested_modules();
    h.deploy_wat("caller-ok", &ok).unwrap();
    // `writer` is not deployed: the guest sees a negative code and exits 99.
    let err = h.invoke("caller-ok", b"").unwrap_err();
    assert!(
        matches!(
            err,
            InvokeError::Failed {
                failure: Failure::Exit(99),
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn self_recursive_calls_stop_at_the_nesting_limit() {
    let mut h = Harness::new();
    // `loop` calls itself; when the call fails it exits with 7 (so the failure bubbles up as
    // a non-zero exit at the deepest level and as CALL_FAILED above it).
    // Every level adds one to kv `n`, then calls itself; the deepest call is refused with LIMIT
    // (-2) and returns normally, so every level succeeds.
    let wat = r#"(module
      (import "nexus_v1" "call" (func $call (param i32 i32 i32 i32) (result i64)))
      (import "nexus_v1" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i64)))
      (import "nexus_v1" "kv_set" (func $kv_set (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1)
      (data (i32.const 0) "loopn")
      (func (export "_start")
        (drop (call $kv_get (i32.const 4) (i32.const 1) (i32.const 16) (i32.const 8)))
        (i64.store (i32.const 16) (i64.add (i64.load (i32.const 16)) (i64.const 1)))
        (drop (call $kv_set (i32.const 4) (i32.const 1) (i32.const 16) (i32.const 8)))
        (if (i64.eq (call $call (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 0)) (i64.const -4))
          (then (call $exit (i32.const 7))))))"#;
    h.deploy_wat("loop", wat).unwrap();
    h.invoke("loop", b"").unwrap();
    let n = nexus_runtime::inspect::kv_get(&h.view, "loop", b"n")
        .unwrap()
        .unwrap();
    let levels = u64::from_le_bytes(n.try_into().unwrap());
    assert_eq!(
        levels,
        u64::from(nexus_runtime::limits::MAX_NESTED_CALL_DEPTH) + 1
    );
}

/// Prints 8 random bytes and the realtime clock to stdout.
const ENTROPY: &str = r#"(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "clock_time_get" (func $clock (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $random (i32.const 0) (i32.const 8)))
    (drop (call $clock (i32.const 0) (i64.const 1) (i32.const 8)))
    (i32.store (i32.const 100) (i32.const 0))
    (i32.store (i32.const 104) (i32.const 16))
    (drop (call $fd_write (i32.const 1) (i32.const 100) (i32.const 1) (i32.const 108)))))"#;

#[test]
fn randomness_and_clock_are_functions_of_the_block_and_call() {
    let run = |call_index: u32| {
        let mut h = Harness::new();
        h.deploy_wat("entropy", ENTROPY).unwrap();
        let call = nexus_runtime::Invocation {
            function: "entropy".into(),
            call_index,
            ..Default::default()
        };
        h.runtime
            .invoke(&mut h.view, &common::block(5), &call)
            .unwrap()
            .stdout
    };
    let a = run(0);
    assert_eq!(a, run(0), "same block and call: same bytes");
    assert_ne!(a[..8], run(1)[..8], "another call index: other randomness");
    let clock = u64::from_le_bytes(a[8..16].try_into().unwrap());
    assert_eq!(
        clock,
        common::block(5).time_unix_nanos,
        "clock is block time"
    );
}

/// Creates files `f000`..`f149`, then lists the root with a 64-byte buffer (so every call
/// returns one or two entries and a cut one), resuming from the last complete entry's cookie;
/// exits with the number of entries seen.
const LIST_WITH_TINY_BUFFER: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open" (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_readdir" (func $readdir (param i32 i32 i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (local $i i32) (local $used i32) (local $pos i32) (local $cookie i64) (local $count i32) (local $namlen i32)
    ;; name "fNNN" at 1024
    (i32.store8 (i32.const 1024) (i32.const 102))
    (loop $create
      (i32.store8 (i32.const 1025) (i32.add (i32.const 48) (i32.div_u (local.get $i) (i32.const 100))))
      (i32.store8 (i32.const 1026) (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $i) (i32.const 10)) (i32.const 10))))
      (i32.store8 (i32.const 1027) (i32.add (i32.const 48) (i32.rem_u (local.get $i) (i32.const 10))))
      (if (call $open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 4) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0) (i32.const 0) (i32.const 0))
        (then (call $exit (i32.const 200))))
      (drop (call $close (i32.load (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $create (i32.lt_u (local.get $i) (i32.const 150))))
    (loop $pass
      (if (call $readdir (i32.const 3) (i32.const 2048) (i32.const 64) (local.get $cookie) (i32.const 4000))
        (then (call $exit (i32.const 201))))
      (local.set $used (i32.load (i32.const 4000)))
      (local.set $pos (i32.const 0))
      (block $done
        (loop $entry
          ;; a complete entry needs 24 header bytes plus its name
          (br_if $done (i32.gt_u (i32.add (local.get $pos) (i32.const 24)) (local.get $used)))
          (local.set $namlen (i32.load (i32.add (i32.const 2064) (local.get $pos))))
          (br_if $done (i32.gt_u (i32.add (i32.add (local.get $pos) (i32.const 24)) (local.get $namlen)) (local.get $used)))
          (local.set $cookie (i64.load (i32.add (i32.const 2048) (local.get $pos))))
          (local.set $count (i32.add (local.get $count) (i32.const 1)))
          (local.set $pos (i32.add (i32.add (local.get $pos) (i32.const 24)) (local.get $namlen)))
          (br $entry)))
      ;; a buffer that came back full may have more; a short one ends the listing
      (br_if $pass (i32.eq (local.get $used) (i32.const 64))))
    (call $exit (local.get $count))))"#;

#[test]
fn readdir_with_a_tiny_buffer_resumes_by_cookie_and_sees_every_entry_once() {
    let mut h = Harness::new();
    h.deploy_wat("lister", LIST_WITH_TINY_BUFFER).unwrap();
    let err = h.invoke("lister", b"").unwrap_err();
    // 150 files plus `.` and `..`.
    assert_eq!(err.failure(), Some(&Failure::Exit(152)), "{err}");
}

/// Stores ten 256 KiB values under keys `a`..`j`, then scans them all with a zero-size buffer
/// (which only reports the encoded length) and exits with that length / 1000.
const SCAN_BIG_VALUES: &str = r#"(module
  (import "nexus_v1" "kv_set" (func $kv_set (param i32 i32 i32 i32) (result i32)))
  (import "nexus_v1" "kv_scan" (func $kv_scan (param i32 i32 i32 i32 i32 i32 i32) (result i64)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 6)
  (func (export "_start")
    (local $i i32)
    (loop $put
      (i32.store8 (i32.const 0) (i32.add (i32.const 97) (local.get $i)))
      (drop (call $kv_set (i32.const 0) (i32.const 1) (i32.const 65536) (i32.const 262144)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $put (i32.lt_u (local.get $i) (i32.const 10))))
    (call $exit (i32.wrap_i64 (i64.div_u
      (call $kv_scan (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1) (i32.const 100) (i32.const 0) (i32.const 0))
      (i64.const 1000))))))"#;

#[test]
fn kv_scan_stops_before_its_byte_cap_and_resumes_by_key() {
    let mut h = Harness::new();
    h.deploy_wat("bigscan", SCAN_BIG_VALUES).unwrap();
    let err = h.invoke("bigscan", b"").unwrap_err();
    // Each entry encodes to 8 + 1 + 262,144 bytes; four would pass MAX_KV_SCAN_BYTES (1 MiB).
    assert_eq!(err.failure(), Some(&Failure::Exit(786)), "{err}");
}

/// Pooled instance slots are reset between invocations (memset of the kept-resident range, or
/// only the touched pages where the kernel has PAGEMAP_SCAN): a guest must never see what an
/// earlier invocation wrote, in its initial pages, past the kept-resident megabyte, or in pages
/// it grows into. Exit 7 means it saw a leftover.
#[test]
fn every_invocation_starts_from_clean_memory() {
    let module = r#"(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 20)
      (func $check_and_dirty (param $addr i32)
        (if (i32.ne (i32.load (local.get $addr)) (i32.const 0))
          (then (call $exit (i32.const 7))))
        (i32.store (local.get $addr) (i32.const 0xdeadbeef)))
      (func (export "_start")
        (call $check_and_dirty (i32.const 0))
        (call $check_and_dirty (i32.const 65532))
        (call $check_and_dirty (i32.const 1048572))
        (call $check_and_dirty (i32.const 1060864))
        (call $check_and_dirty (i32.const 1310716))
        (drop (memory.grow (i32.const 10)))
        (call $check_and_dirty (i32.const 1900000))
        (call $exit (i32.const 0))))"#;
    let mut h = Harness::new();
    h.deploy_wat("dirty", module).unwrap();
    for round in 0..20 {
        h.invoke("dirty", b"")
            .unwrap_or_else(|e| panic!("round {round}: a leftover was visible: {e}"));
    }
}
