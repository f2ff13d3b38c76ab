//! `nexus zk run` executes an RV32IM ELF built by the zk guest toolchain.

mod support;

use std::path::Path;
use std::process::Command;

use support::*;

fn build_guests(out: &Path) {
    let guests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../zkvm-bridge/guests");
    let status = Command::new("make")
        .args(["-s", "-C"])
        .arg(&guests)
        .arg(format!("OUT={}", out.display()))
        .status()
        .expect("make (run deploy/install-deps.sh for gcc-riscv64-unknown-elf)");
    assert!(status.success(), "building zk guests failed");
}

#[test]
fn zk_run_prints_output_exit_code_and_cycles_and_bounds_cycles() {
    let dir = tempfile::tempdir().unwrap();
    build_guests(dir.path());
    let echo = dir.path().join("echo");
    let out = nexus(
        &["zk", "run", echo.to_str().unwrap(), "--input", "-"],
        b"hello zk",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "len=8 reversed=kz olleh\n"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("exit   ") && stderr.contains("cycles "),
        "{stderr}"
    );

    let fib = dir.path().join("fib");
    let out = nexus(
        &["zk", "run", fib.to_str().unwrap(), "--max-cycles", "100"],
        b"",
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cycle limit of 100 instructions exceeded")
    );
}

#[test]
fn zk_run_refuses_a_file_that_is_not_a_riscv_elf() {
    let dir = tempfile::tempdir().unwrap();
    let wasm_like = dir.path().join("x");
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.resize(128, 0);
    std::fs::write(&wasm_like, bytes).unwrap();
    let out = nexus(&["zk", "run", wasm_like.to_str().unwrap()], b"");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an ELF file"));
}
