//! Rust `no_std` + `alloc` guests (guests/rust) built with Debian's rustc-web and
//! `-Zbuild-std=core,alloc`: they run correctly in the interpreter, and one of them satisfies
//! the step circuit end to end.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use nexus_zkvm_bridge::circuit::Z_GAMMA;
use nexus_zkvm_bridge::harness::run_steps;
use nexus_zkvm_bridge::witness::{check_final, generate};
use nexus_zkvm_bridge::{run, Program, RunConfig, DEFAULT_MAX_CYCLES};
use sha2::{Digest, Sha256};

/// Builds all Rust guests once per test binary; returns their directory.
fn guests() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zk-rust-guests");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("guests");
        let st = Command::new("make")
            .arg("-s")
            .arg("-C")
            .arg(&src)
            .arg("rust")
            .arg(format!("OUT={}", out.display()))
            .status()
            .expect("spawn make");
        assert!(
            st.success(),
            "building Rust guests failed (needs Debian rustc-web, rust-web-src, lld: deploy/install-deps.sh)"
        );
        out
    })
}

fn exec(name: &str, input: &[u8]) -> (u32, Vec<u8>) {
    let elf = std::fs::read(guests().join(name)).unwrap();
    let p = Program::load(&elf).unwrap();
    let o = run(&p, input, &RunConfig::default()).unwrap();
    (o.exit_code, o.output)
}

fn h(parts: &[&[u8]]) -> [u8; 32] {
    let mut s = Sha256::new();
    for p in parts {
        s.update(p);
    }
    s.finalize().into()
}

#[test]
fn fib_sha256_sort() {
    assert_eq!(exec("zk-fib", b"10"), (0, b"fib(10)=55\n".to_vec()));
    assert_eq!(exec("zk-fib", b"47").1, b"fib(47)=2971215073\n".to_vec());
    for input in [&b""[..], b"abc", &[7u8; 200][..]] {
        let (code, out) = exec("zk-sha256", input);
        assert_eq!(code, 0);
        assert_eq!(out, format!("{}\n", hex::encode(h(&[input]))).into_bytes());
    }
    let words: Vec<u32> = vec![9, 0xffff_ffff, 3, 0, 77, 3];
    let input: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let (code, out) = exec("zk-sort", &input);
    let mut sorted = words.clone();
    sorted.sort();
    assert_eq!(code, 6);
    assert_eq!(
        out,
        sorted
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect::<Vec<u8>>()
    );
}

#[test]
fn merkle_checker() {
    // 4 leaves; prove leaf 2.
    let leaves: Vec<[u8; 32]> = (0..4u8).map(|i| h(&[&[0], &[b'a' + i]])).collect();
    let n01 = h(&[&[1], &leaves[0], &leaves[1]]);
    let n23 = h(&[&[1], &leaves[2], &leaves[3]]);
    let root = h(&[&[1], &n01, &n23]);
    let mut input = root.to_vec();
    input.extend(2u32.to_le_bytes());
    input.push(2);
    input.extend(leaves[3]);
    input.extend(n01);
    input.push(b'c');
    assert_eq!(exec("zk-merkle", &input), (0, b"valid\n".to_vec()));
    let n = input.len();
    input[n - 1] = b'd';
    assert_eq!(exec("zk-merkle", &input), (1, b"invalid\n".to_vec()));
    assert_eq!(exec("zk-merkle", b"short").0, 2);
}

#[test]
fn rust_guest_satisfies_circuit() {
    let (k, m) = (4, 32);
    let elf = std::fs::read(guests().join("zk-fib")).unwrap();
    let p = Program::load(&elf).unwrap();
    let w = generate(&p, &elf, b"5", k, m, DEFAULT_MAX_CYCLES).unwrap();
    assert_eq!(w.public.output, b"fib(5)=5\n");
    let zn = run_steps(k, m, &w.steps, &w.z0, None).unwrap();
    check_final(&zn, &p, b"5", &w.public, &w.digest, w.z0[Z_GAMMA]).unwrap();
}
