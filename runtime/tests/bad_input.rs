//! Bad input must get a clear error, and leave state and node unharmed.

mod common;

use common::{guest, Harness};
use nexus_runtime::limits::*;
use nexus_runtime::{DeployError, Failure, FunctionConfig, InvokeError};

fn failure(result: Result<nexus_runtime::Receipt, InvokeError>) -> Failure {
    match result {
        Err(InvokeError::Failed { failure, .. }) => failure,
        other => panic!("expected a guest failure, got {other:?}"),
    }
}

/// Opens `path` (at data offset 1024, `len` bytes) relative to the root and exits with the errno.
fn open_and_exit_with_errno(path: &str, oflags: u32) -> String {
    guest(
        &format!(
            "(call $exit (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const {}) (i32.const {oflags}) (i64.const 0x1fffffff) (i64.const 0) (i32.const 0) (i32.const 0)))",
            path.len()
        ),
        path,
    )
}

#[test]
fn invalid_wasm_is_refused_at_deploy() {
    let mut h = Harness::new();
    let err = h.deploy("junk", b"\0asm\x01\0\0\0garbage").unwrap_err();
    assert!(matches!(err, DeployError::Module(_)), "{err}");
    let err = h.deploy("junk", b"not wasm at all").unwrap_err();
    assert!(matches!(err, DeployError::Module(_)), "{err}");
    assert!(h.pending().is_empty(), "a refused deploy writes nothing");
}

#[test]
fn import_outside_the_whitelist_is_refused_and_named() {
    let mut h = Harness::new();
    let err = h
        .deploy_wat(
            "sneaky",
            r#"(module (import "env" "open_socket" (func)) (memory (export "memory") 1) (func (export "_start")))"#,
        )
        .unwrap_err();
    assert!(err.to_string().contains("env.open_socket"), "{err}");
}

#[test]
fn threads_are_refused() {
    let mut h = Harness::new();
    let err = h
        .deploy_wat(
            "threads",
            r#"(module (memory (export "memory") 1 1 shared)
                 (func (export "_start") (drop (i32.atomic.load (i32.const 0)))))"#,
        )
        .unwrap_err();
    assert!(matches!(err, DeployError::Module(_)), "{err}");
}

#[test]
fn relaxed_simd_is_refused() {
    let mut h = Harness::new();
    let err = h
        .deploy_wat(
            "relaxed",
            r#"(module (memory (export "memory") 1)
                 (func (export "_start")
                   (drop (f32x4.relaxed_madd (v128.const i64x2 0 0) (v128.const i64x2 0 0) (v128.const i64x2 0 0)))))"#,
        )
        .unwrap_err();
    assert!(matches!(err, DeployError::Module(_)), "{err}");
}

#[test]
fn infinite_loop_runs_out_of_fuel_and_leaves_state_untouched() {
    let mut h = Harness::new();
    h.deploy_wat(
        "spin",
        &guest(
            "(drop (call $mkdir (i32.const 3) (i32.const 1024) (i32.const 3))) (loop $l (br $l))",
            "dir",
        ),
    )
    .unwrap();
    let before = h.pending();
    let err = h.invoke_with("spin", b"", Some(1_000_000)).unwrap_err();
    assert_eq!(err.failure(), Some(&Failure::OutOfFuel));
    assert!(err.fuel_used() >= 1_000_000 - HOST_CALL_BASE_FUEL);
    assert_eq!(h.pending(), before);
}

#[test]
fn memory_grow_past_the_limit_is_a_clear_error() {
    let mut h = Harness::new();
    h.deploy_wat(
        "greedy",
        &guest(
            &format!("(drop (memory.grow (i32.const {})))", MAX_MEMORY_PAGES + 1),
            "",
        ),
    )
    .unwrap();
    assert_eq!(failure(h.invoke("greedy", b"")), Failure::MemoryLimit);
}

#[test]
fn declared_memory_above_the_limit_is_refused_at_deploy() {
    let mut h = Harness::new();
    let err = h
        .deploy_wat(
            "big",
            &format!(
                r#"(module (memory (export "memory") 1 {}) (func (export "_start")))"#,
                MAX_MEMORY_PAGES + 1
            ),
        )
        .unwrap_err();
    assert!(matches!(err, DeployError::Module(_)), "{err}");
}

#[test]
fn unbounded_recursion_is_stopped_at_the_logical_depth() {
    let mut h = Harness::new();
    h.deploy_wat(
        "recurse",
        r#"(module (memory (export "memory") 1)
             (func $f (param i32) (result i32) (call $f (i32.add (local.get 0) (i32.const 1))))
             (func (export "_start") (drop (call $f (i32.const 0)))))"#,
    )
    .unwrap();
    assert_eq!(
        failure(h.invoke("recurse", b"")),
        Failure::StackOverflow {
            max_depth: MAX_CALL_STACK_DEPTH
        }
    );
}

const ENOTCAPABLE: u32 = 76;
const ENOTDIR: u32 = 54;
const ENOTSUP: u32 = 58;
const EMFILE: u32 = 33;

#[test]
fn path_with_dotdot_is_not_capable() {
    let mut h = Harness::new();
    h.deploy_wat("dotdot", &open_and_exit_with_errno("a/../../etc/passwd", 0))
        .unwrap();
    assert_eq!(failure(h.invoke("dotdot", b"")), Failure::Exit(ENOTCAPABLE));
}

#[test]
fn absolute_path_is_not_capable() {
    let mut h = Harness::new();
    h.deploy_wat("abs", &open_and_exit_with_errno("/etc/passwd", 0))
        .unwrap();
    assert_eq!(failure(h.invoke("abs", b"")), Failure::Exit(ENOTCAPABLE));
}

#[test]
fn symlinks_cannot_be_created() {
    let mut h = Harness::new();
    h.deploy_wat(
        "symlink",
        &guest(
            "(call $exit (call $symlink (i32.const 1024) (i32.const 6) (i32.const 3) (i32.const 1030) (i32.const 4)))",
            "targetlink",
        ),
    )
    .unwrap();
    assert_eq!(failure(h.invoke("symlink", b"")), Failure::Exit(ENOTSUP));
}

#[test]
fn path_through_a_file_is_not_a_directory() {
    let mut h = Harness::new();
    // Create `f`, then open `f/x`.
    h.deploy_wat(
        "through",
        &guest(
            "(drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0) (i32.const 0) (i32.const 0)))
             (call $exit (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 3) (i32.const 0) (i64.const 0x1fffffff) (i64.const 0) (i32.const 0) (i32.const 0)))",
            "f/x",
        ),
    )
    .unwrap();
    assert_eq!(failure(h.invoke("through", b"")), Failure::Exit(ENOTDIR));
}

#[test]
fn thousands_of_open_descriptors_hit_emfile() {
    let mut h = Harness::new();
    // Open `f` (creating it) up to 5000 times; exit with the first non-zero errno.
    h.deploy_wat(
        "fds",
        &guest(
            "(local $i i32) (local $e i32)
             (loop $l
               (local.set $e (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 1) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0) (i32.const 0) (i32.const 0)))
               (if (local.get $e) (then (call $exit (local.get $e))))
               (local.set $i (i32.add (local.get $i) (i32.const 1)))
               (br_if $l (i32.lt_u (local.get $i) (i32.const 5000))))",
            "f",
        ),
    )
    .unwrap();
    assert_eq!(failure(h.invoke("fds", b"")), Failure::Exit(EMFILE));
}

#[test]
fn writes_past_the_file_size_quota_fail_and_leave_nothing() {
    let mut h = Harness::new();
    // Open `big` for writing (fd 4), pwrite one byte at FS_MAX_FILE_SIZE, exit with the errno.
    let wat = format!(
        r#"(module {}
          (data (i32.const 1024) "big")
          (data (i32.const 2048) "\00\0c\00\00\01\00\00\00")
          (func (export "_start")
            (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 3) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0) (i32.const 0) (i32.const 0)))
            (call $exit (call $pwrite (i32.const 4) (i32.const 2048) (i32.const 1) (i64.const {}) (i32.const 0)))))"#,
        common::WASI_IMPORTS,
        FS_MAX_FILE_SIZE
    );
    h.deploy_wat("quota", &wat).unwrap();
    let before = h.pending();
    let errno = match failure(h.invoke("quota", b"")) {
        Failure::Exit(e) => e,
        other => panic!("{other:?}"),
    };
    assert_eq!(errno, 22, "EFBIG");
    assert_eq!(
        h.pending(),
        before,
        "the created file vanished with the failed invocation"
    );
}

#[test]
fn huge_input_is_refused_before_running() {
    let mut h = Harness::new();
    h.deploy_wat("any", &guest("", "")).unwrap();
    let err = h
        .invoke("any", &vec![0u8; MAX_INPUT_BYTES + 1])
        .unwrap_err();
    assert!(matches!(err, InvokeError::InputTooLarge { .. }), "{err}");
}

#[test]
fn huge_arguments_are_refused_at_deploy() {
    let mut h = Harness::new();
    let wasm = wat::parse_str(guest("", "")).unwrap();
    let err = h
        .deploy_with(
            &wasm,
            FunctionConfig {
                name: "args".into(),
                args: vec!["x".repeat(MAX_ARGS_ENV_BYTES)],
                ..FunctionConfig::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, DeployError::ArgsTooLarge { .. }), "{err}");
}

#[test]
fn unknown_function_is_a_clear_error() {
    let mut h = Harness::new();
    let err = h.invoke("nobody", b"").unwrap_err();
    assert_eq!(err.to_string(), "function `nobody` is not deployed");
}

#[test]
fn guest_that_traps_reports_the_tail_of_stderr() {
    let mut h = Harness::new();
    // iovec at 2048 -> (1024, 5) ; write "boom\n" to stderr then trap.
    h.deploy_wat(
        "panics",
        &guest(
            "(i32.store (i32.const 2048) (i32.const 1024)) (i32.store (i32.const 2052) (i32.const 5))
             (drop (call $fd_write (i32.const 2) (i32.const 2048) (i32.const 1) (i32.const 2056)))
             unreachable",
            "boom\\0a",
        ),
    )
    .unwrap();
    let err = h.invoke("panics", b"").unwrap_err();
    assert!(matches!(err.failure(), Some(Failure::Trap(_))), "{err}");
    assert!(err.to_string().contains("boom"), "{err}");
}

#[test]
fn guest_exiting_non_zero_after_writing_files_keeps_none_of_them() {
    let mut h = Harness::new();
    h.deploy_wat(
        "quitter",
        &guest(
            "(drop (call $mkdir (i32.const 3) (i32.const 1024) (i32.const 4)))
             (drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 9) (i32.const 1) (i64.const 0x1fffffff) (i64.const 0) (i32.const 0) (i32.const 0)))
             (call $exit (i32.const 3))",
            "dir1/file",
        ),
    )
    .unwrap();
    let before = h.pending();
    assert_eq!(failure(h.invoke("quitter", b"")), Failure::Exit(3));
    assert_eq!(h.pending(), before);
    let err = nexus_runtime::inspect::list_dir(&mut h.view, "quitter", "dir1").unwrap_err();
    assert!(err.to_string().contains("dir1"), "{err}");
}

#[test]
fn host_import_with_the_wrong_signature_is_refused_at_deploy() {
    let mut h = Harness::new();
    let err = h
        .deploy_wat(
            "wrongsig",
            r#"(module (import "nexus_v1" "kv_set" (func (param i32) (result i64)))
                 (memory (export "memory") 1) (func (export "_start")))"#,
        )
        .unwrap_err();
    assert!(matches!(err, DeployError::Link(_)), "{err}");
    assert!(err.to_string().contains("kv_set"), "{err}");
    assert!(h.pending().is_empty());
}
