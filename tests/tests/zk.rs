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

/// `nexus zk prove` then `nexus zk verify`: the proof verifies for exactly this ELF and input,
/// and a changed input, program or proof byte is rejected. Small circuit shape (`--k 8
/// --m 32`) and a private key cache keep it short.
#[test]
fn zk_prove_and_verify_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    build_guests(dir.path());
    let echo = dir.path().join("echo");
    let cache = dir.path().join("cache");
    let proof = dir.path().join("echo.proof");
    let (e, c, p) = (
        echo.to_str().unwrap(),
        cache.to_str().unwrap(),
        proof.to_str().unwrap(),
    );
    let out = nexus(
        &[
            "zk", "prove", e, "--input", "-", "--out", p, "--k", "8", "--m", "32", "--cache", c,
        ],
        b"hi",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verify = |elf: &str, input: &[u8], proof: &str| {
        nexus(
            &[
                "zk", "verify", proof, "--elf", elf, "--input", "-", "--cache", c,
            ],
            input,
        )
    };
    let ok = verify(e, b"hi", p);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&ok.stdout), "len=2 reversed=ih\n");
    let stderr = String::from_utf8_lossy(&ok.stderr);
    assert!(
        stderr.contains("cycles") && stderr.contains("verified"),
        "{stderr}"
    );

    assert!(
        !verify(e, b"ho", p).status.success(),
        "other input accepted"
    );
    let fib = dir.path().join("fib");
    assert!(
        !verify(fib.to_str().unwrap(), b"hi", p).status.success(),
        "other program accepted"
    );
    let bytes = std::fs::read(&proof).unwrap();
    for pos in [0, 40, bytes.len() / 2, bytes.len() - 1] {
        let mut b = bytes.clone();
        b[pos] ^= 0x10;
        let bad = dir.path().join(format!("bad{pos}"));
        std::fs::write(&bad, &b).unwrap();
        assert!(
            !verify(e, b"hi", bad.to_str().unwrap()).status.success(),
            "proof with byte {pos} flipped accepted"
        );
    }
}
