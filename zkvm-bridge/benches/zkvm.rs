//! zkVM benchmarks: folding throughput (RV32IM cycles per second), compression and
//! verification time, on a generated loop program. Keys come from the on-disk cache
//! ($NEXUS_ZK_CACHE or ~/.cache/nexus/zk), generated on first use.
//!
//! `NEXUS_ZK_BENCH_ITERS` sets the loop count (default 200, ≈ 1.4k cycles);
//! `NEXUS_ZK_BENCH_K` / `NEXUS_ZK_BENCH_M` another circuit shape than the default (to compare
//! shapes in one sitting).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nexus_zkvm_bridge::prover::{compress, fold, verify, DEFAULT_K, DEFAULT_M};
use nexus_zkvm_bridge::{cache, DEFAULT_MAX_CYCLES};

fn r(f7: u32, f3: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x33
}
fn i(op: u32, f3: u32, rd: u32, rs1: u32, imm: i32) -> u32 {
    (((imm as u32) & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}
fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
    i(0x13, 0, rd, rs1, imm)
}

/// A loop of `n` iterations mixing ALU, multiply, load and store; then exit(x6).
fn loop_elf(n: u32) -> Vec<u8> {
    let base = 0x10000u32;
    let mut code = vec![
        (((n >> 12) + ((n >> 11) & 1)) << 12) | (5 << 7) | 0x37, // lui x5, hi(n)
        addi(5, 5, ((n & 0xfff) as i32) << 20 >> 20),            // addi x5, x5, lo(n)
        addi(6, 0, 1),
        (0x20 << 12) | (7 << 7) | 0x37, // lui x7, 0x20 (buffer at 0x20000)
    ];
    let top = code.len();
    code.extend([
        r(1, 0, 6, 6, 5),                         // mul x6, x6, x5
        r(0, 4, 6, 6, 5),                         // xor x6, x6, x5
        (6 << 20) | (7 << 15) | (2 << 12) | 0x23, // sw x6, 0(x7)
        i(0x03, 2, 8, 7, 0),                      // lw x8, 0(x7)
        r(0, 0, 6, 6, 8),                         // add x6, x6, x8
        addi(5, 5, -1),                           // addi x5, x5, -1
    ]);
    let back = -4 * (code.len() - top) as i32;
    let o = back as u32;
    code.push(
        (((o >> 12) & 1) << 31)
            | (((o >> 5) & 0x3f) << 25)
            | (5 << 15)
            | (1 << 12)
            | (((o >> 1) & 0xf) << 8)
            | (((o >> 11) & 1) << 7)
            | 0x63,
    ); // bne x5, x0, top
    code.extend([addi(17, 0, 93), addi(10, 6, 0), 0x73]);
    let text: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    let hdr = 52 + 32;
    let mut f = vec![0x7f, b'E', b'L', b'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    f.extend(2u16.to_le_bytes());
    f.extend(243u16.to_le_bytes());
    f.extend(1u32.to_le_bytes());
    f.extend((base + hdr).to_le_bytes());
    f.extend(52u32.to_le_bytes());
    f.extend(0u32.to_le_bytes());
    f.extend(0u32.to_le_bytes());
    for v in [52u16, 32, 1, 40, 0, 0] {
        f.extend(v.to_le_bytes());
    }
    let filesz = hdr + text.len() as u32;
    for v in [1, 0, base, base, filesz, 0x20000 - base + 64, 7, 0x1000] {
        f.extend(v.to_le_bytes());
    }
    f.extend(text);
    f
}

fn bench(c: &mut Criterion) {
    let iters: u32 = std::env::var("NEXUS_ZK_BENCH_ITERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (k, m) = (
        env("NEXUS_ZK_BENCH_K", DEFAULT_K),
        env("NEXUS_ZK_BENCH_M", DEFAULT_M),
    );
    let dir = cache::default_cache_dir();
    let t = std::time::Instant::now();
    let keys = cache::prover_keys(&dir, k, m).expect("keys");
    eprintln!(
        "keys (k={k}, m={m}, {:?} primary/secondary constraints) ready in {:.2?}",
        keys.pp.num_constraints(),
        t.elapsed()
    );
    let elf = loop_elf(iters);
    let folded = fold(&keys, &elf, b"", DEFAULT_MAX_CYCLES, |_, _| {}).expect("fold");
    let cycles = folded.public.cycles;
    eprintln!(
        "program: {cycles} cycles, {} folding steps",
        folded.num_steps
    );

    let mut g = c.benchmark_group("zkvm");
    g.sample_size(10);
    g.throughput(Throughput::Elements(cycles));
    let shape = if (k, m) == (DEFAULT_K, DEFAULT_M) {
        String::new()
    } else {
        format!("_k{k}_m{m}")
    };
    g.bench_function(format!("fold_{cycles}_cycles{shape}"), |b| {
        b.iter(|| fold(&keys, &elf, b"", DEFAULT_MAX_CYCLES, |_, _| {}).expect("fold"))
    });
    g.throughput(Throughput::Elements(1));
    let folded = fold(&keys, &elf, b"", DEFAULT_MAX_CYCLES, |_, _| {}).expect("fold");
    let t = std::time::Instant::now();
    let proof = compress(&keys, folded).expect("compress");
    eprintln!("compress: {:.2?}", t.elapsed());
    let bytes = proof.to_bytes().expect("encode");
    eprintln!("proof size: {} bytes", bytes.len());
    g.bench_function(format!("verify{shape}"), |b| {
        b.iter(|| {
            let p = nexus_zkvm_bridge::proof::Proof::from_bytes(&bytes).expect("decode");
            verify(&keys.vk, k, m, &p, &elf, b"").expect("verify")
        })
    });
    // As a validator holds the key: decoded with the generator tables.
    let encoded =
        bincode::serde::encode_to_vec(&keys.vk, bincode::config::legacy()).expect("encode");
    let t = std::time::Instant::now();
    let (tables_vk, _): (nexus_zkvm_bridge::prover::Vk, _) =
        nexus_zkvm_bridge::ipa::decoding_with_tables(|| {
            bincode::serde::decode_from_slice(&encoded, bincode::config::legacy())
        })
        .expect("decode");
    eprintln!("verifier key decoded with tables: {:.2?}", t.elapsed());
    g.bench_function(format!("verify_with_tables{shape}"), |b| {
        b.iter(|| {
            let p = nexus_zkvm_bridge::proof::Proof::from_bytes(&bytes).expect("decode");
            verify(&tables_vk, k, m, &p, &elf, b"").expect("verify")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
