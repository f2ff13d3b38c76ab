//! Full pipeline on tiny programs: witness → Nova folding → compressed SNARK → file → verify.
//! A proof verifies only for the exact program, input and output; any changed proof byte is
//! rejected; a corrupt key cache is regenerated.

mod common;

use common::*;
use nexus_zkvm_bridge::cache;
use nexus_zkvm_bridge::proof::Proof;
use nexus_zkvm_bridge::prover::{prove, verify, VerifyError, Vk};
use nexus_zkvm_bridge::DEFAULT_MAX_CYCLES;

const K: usize = 4;
const M: usize = 8;

/// Reads up to 4 input bytes, writes them back twice, exits with the count + 40.
fn program() -> Vec<u8> {
    let mut code = Vec::new();
    code.extend(li(2, 0)); // x2 = buffer (patched)
    code.extend(li(17, 63));
    code.extend(li(10, 0));
    code.push(addi(11, 2, 0));
    code.extend(li(12, 4));
    code.push(ECALL); // a0 = n
    code.push(addi(9, 10, 0)); // x9 = n
    for _ in 0..2 {
        code.extend(li(17, 64));
        code.extend(li(10, 1));
        code.push(addi(11, 2, 0));
        code.push(addi(12, 9, 0));
        code.push(ECALL);
    }
    code.extend(li(17, 93));
    code.push(addi(10, 9, 40));
    code.push(ECALL);
    let buf = (BASE + 52 + 32 + code.len() as u32 * 4 + 15) & !15;
    let l = li(2, buf);
    code[0] = l[0];
    code[1] = l[1];
    make_elf(&code, 64)
}

#[test]
fn prove_verify_and_tamper() {
    let dir = tempfile::tempdir().unwrap();
    let keys = cache::prover_keys(dir.path(), K, M).unwrap();
    let elf = program();
    let input = b"abc";
    let mut ticks = 0;
    let proof = prove(&keys, &elf, input, DEFAULT_MAX_CYCLES, |_, _| ticks += 1).unwrap();
    assert!(ticks > 0);
    assert_eq!(proof.public.output, b"abcabc");
    assert_eq!(proof.public.exit_code, 43);
    let bytes = proof.to_bytes().unwrap();

    let vk = cache::verifier_key(dir.path(), K, M).unwrap();
    let check_with = |vk: &Vk, bytes: &[u8], elf: &[u8], input: &[u8]| -> Result<_, String> {
        let p = Proof::from_bytes(bytes).map_err(|e| e.to_string())?;
        verify(vk, K, M, &p, elf, input).map_err(|e| e.to_string())
    };
    let check = |bytes: &[u8], elf: &[u8], input: &[u8]| check_with(&vk, bytes, elf, input);
    let public = check(&bytes, &elf, input).unwrap();
    assert_eq!(public.output, b"abcabc");
    assert_eq!(public.cycles, proof.public.cycles);

    // Another input, another program (any byte), another claimed output: rejected.
    assert!(check(&bytes, &elf, b"abd").is_err());
    assert!(check(&bytes, &elf, b"abc ").is_err());
    for pos in [0, 20, 60, elf.len() / 2, elf.len() - 1] {
        let mut e = elf.clone();
        e[pos] ^= 1;
        assert!(check(&bytes, &e, input).is_err(), "program byte {pos}");
    }
    let p = Proof::from_bytes(&bytes).unwrap();
    let mut q = Proof::from_bytes(&bytes).unwrap();
    q.public.output = b"abcabd".to_vec();
    q.public.program_hash = p.public.program_hash;
    assert!(matches!(
        verify(&vk, K, M, &q, &elf, input),
        Err(VerifyError::Snark(_) | VerifyError::Final(_))
    ));

    // A key decoded with its generator tables (as validators decode it) accepts the proof
    // and rejects the same tamperings.
    let tables_vk =
        nexus_zkvm_bridge::ipa::decoding_with_tables(|| cache::verifier_key(dir.path(), K, M))
            .unwrap();
    let check_tables =
        |bytes: &[u8], elf: &[u8], input: &[u8]| check_with(&tables_vk, bytes, elf, input);
    assert_eq!(check_tables(&bytes, &elf, input).unwrap(), public);
    assert!(check_tables(&bytes, &elf, b"abd").is_err());
    assert!(verify(&tables_vk, K, M, &q, &elf, input).is_err());
    for pos in [bytes.len() / 2, bytes.len() - 40, bytes.len() - 1] {
        let mut b = bytes.clone();
        b[pos] ^= 0x01;
        assert!(
            check_tables(&b, &elf, input).is_err(),
            "flipped proof byte {pos}"
        );
    }

    // Every header byte and a stride of SNARK bytes: flipping any of them is rejected.
    let header_end = 8 + 4 * 3 + 8 + 32 + 32 + 4 + 8 + 4 + p.public.output.len() + 32 + 4;
    let stride = ((bytes.len() - header_end) / 48).max(1);
    let positions: Vec<usize> = (0..header_end)
        .chain((header_end..bytes.len()).step_by(stride))
        .collect();
    for pos in positions {
        let mut b = bytes.clone();
        b[pos] ^= 0x01;
        assert!(
            check(&b, &elf, input).is_err(),
            "flipped proof byte {pos} accepted"
        );
    }
    // Truncations and trailing bytes.
    assert!(check(&bytes[..bytes.len() - 1], &elf, input).is_err());
    let mut long = bytes.clone();
    long.push(0);
    assert!(check(&long, &elf, input).is_err());
}

#[test]
fn corrupt_cache_is_regenerated() {
    let dir = tempfile::tempdir().unwrap();
    let vk_path = cache::verifier_key_path(dir.path(), 1, 1);
    let _ = cache::verifier_key(dir.path(), 1, 1).unwrap();
    let good = std::fs::read(&vk_path).unwrap();
    let mut bad = good.clone();
    let n = bad.len();
    bad[n - 10] ^= 0xff;
    std::fs::write(&vk_path, &bad).unwrap();
    let _ = cache::verifier_key(dir.path(), 1, 1).unwrap();
    assert_eq!(
        std::fs::read(&vk_path).unwrap(),
        good,
        "corrupt cache not regenerated"
    );
}

#[test]
fn regenerating_keys_removes_the_files_of_older_versions_only() {
    let dir = tempfile::tempdir().unwrap();
    let (key, circuit) = (cache::KEY_VERSION, cache::CIRCUIT_VERSION);
    let stale = [
        "zkvm-c1-k1-m1.pk".to_string(),
        "zkvm-c1-k1-m1.vk".to_string(),
        format!("zkvm-v{}-c{circuit}-k1-m1.vk", key - 1),
    ];
    // Other shapes, other files, and newer versions (another binary's, sharing the cache).
    let kept = [
        "zkvm-c1-k2-m1.vk".to_string(),
        "zkvm-c1-k1-m12.pk".to_string(),
        "notes-k1-m1.vk".to_string(),
        "zkvm-vx-c1-k1-m1.vk".to_string(),
        format!("zkvm-v{}-c{circuit}-k1-m1.vk", key + 1),
        format!("zkvm-v{key}-c{}-k1-m1.pk", circuit + 1),
        format!("zkvm-v{}-c{}-k1-m1.pk", key - 1, circuit + 1),
    ];
    for name in stale.iter().chain(&kept) {
        std::fs::write(dir.path().join(name), b"old").unwrap();
    }
    let _ = cache::verifier_key(dir.path(), 1, 1).unwrap();
    for name in &stale {
        assert!(!dir.path().join(name).exists(), "{name} kept");
    }
    for name in &kept {
        assert!(dir.path().join(name).exists(), "{name} removed");
    }
    assert!(cache::verifier_key_path(dir.path(), 1, 1).exists());
}

#[test]
fn the_pinned_verifier_key_digest_is_the_default_circuits() {
    use nexus_zkvm_bridge::prover::{setup, DEFAULT_K, DEFAULT_M};
    // A fresh setup, not the cache: a changed circuit must change the pinned digest (and
    // `CIRCUIT_VERSION`) in the same commit.
    let keys = setup(DEFAULT_K, DEFAULT_M).unwrap();
    assert_eq!(
        hex::encode(cache::verifier_key_digest(&keys.vk).unwrap()),
        hex::encode(cache::DEFAULT_VERIFIER_KEY_SHA256),
        "the default circuit's verifier key changed: update DEFAULT_VERIFIER_KEY_SHA256 (and CIRCUIT_VERSION or KEY_VERSION)"
    );
    // The digest the cache reports is the same canonical one.
    let dir = tempfile::tempdir().unwrap();
    let (_, digest) = cache::verifier_key_with_digest(dir.path(), 1, 1).unwrap();
    let (vk, again) = cache::verifier_key_with_digest(dir.path(), 1, 1).unwrap();
    assert_eq!(
        digest, again,
        "digest of a generated key vs the same key read back"
    );
    assert_eq!(cache::verifier_key_digest(&vk).unwrap(), digest);
}

#[test]
fn proving_stops_at_a_step_boundary_when_cancelled() {
    use nexus_zkvm_bridge::prover::{prove_until, ProveError};
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let keys = cache::prover_keys(dir.path(), K, M).unwrap();
    let cancel = AtomicBool::new(false);
    let mut seen = 0;
    let r = prove_until(
        &keys,
        &program(),
        b"abc",
        DEFAULT_MAX_CYCLES,
        &cancel,
        |done, _| {
            seen = done;
            if done == 2 {
                cancel.store(true, Ordering::Relaxed);
            }
        },
    );
    match r {
        Err(ProveError::Cancelled { done, total }) => {
            assert_eq!((done, seen), (2, 2));
            assert!(
                total > 2,
                "the program must need more than two steps: {total}"
            );
        }
        other => panic!("expected a cancellation, got {:?}", other.map(|p| p.public)),
    }
}
