//! Differential tests: our interpreter vs `qemu-riscv32` (Debian qemu-user) on real C guests and
//! on generated ALU/M instruction sequences. Exit code (mod 256, as qemu reports it) and stdout
//! must match exactly.

mod common;

use common::*;
use nexus_zkvm_bridge::{run, Program, RunConfig};
use proptest::prelude::*;
use std::path::Path;

fn ours(elf: &Path, input: &[u8]) -> (i32, Vec<u8>) {
    let bytes = std::fs::read(elf).unwrap();
    let program = Program::load(&bytes).expect("load ELF");
    let out = run(&program, input, &RunConfig::default()).expect("run");
    ((out.exit_code & 0xff) as i32, out.output)
}

fn check_guest(name: &str, input: &[u8]) -> (i32, Vec<u8>) {
    let elf = build_guest(name);
    let q = run_qemu(&elf, input);
    let o = ours(&elf, input);
    assert_eq!(
        String::from_utf8_lossy(&o.1),
        String::from_utf8_lossy(&q.1),
        "{name}: stdout differs from qemu"
    );
    assert_eq!(o.0, q.0, "{name}: exit code differs from qemu");
    o
}

#[test]
fn guest_fib() {
    let (code, out) = check_guest("fib", b"");
    assert_eq!(code, 832040 & 0xff);
    assert!(String::from_utf8(out)
        .unwrap()
        .starts_with("fib(30)=832040\nfib_rec(20)=6765\n"));
}

#[test]
fn guest_sort() {
    let (_, out) = check_guest("sort", b"");
    assert!(out.starts_with(b"sorted "));
}

#[test]
fn guest_divrem() {
    let (code, out) = check_guest("divrem", b"");
    assert_ne!(code, 0);
    assert!(out.len() > 10_000);
}

#[test]
fn guest_echo_write_read_exit_code() {
    let (code, out) = check_guest("echo", b"hello, nexus");
    assert_eq!(out, b"len=12 reversed=suxen ,olleh\n");
    assert_ne!(code, 0);
    let (_, out) = check_guest("echo", b"");
    assert_eq!(out, b"len=0 reversed=\n");
}

/// Interesting register values: signed/unsigned extremes, shift amounts around 32, small numbers.
fn value() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(u32::MAX),
        Just(0x8000_0000),
        Just(0x7fff_ffff),
        Just(31),
        Just(32),
        Just(33),
        Just(63),
        Just(2),
        Just(u32::MAX - 1),
        any::<u32>(),
        any::<u32>(),
    ]
}

/// One random ALU / M instruction. rd ranges over x0..=x30 (x0 writes are discarded; x31 is the
/// epilogue's scratch register), sources over x0..=x30.
fn op() -> impl Strategy<Value = u32> {
    let reg = 0u32..31;
    let rtype = (0usize..18, reg.clone(), reg.clone(), reg.clone()).prop_map(|(k, rd, a, b)| {
        const OPS: [(u32, u32); 18] = [
            (0, 0),
            (0x20, 0),
            (0, 1),
            (0, 2),
            (0, 3),
            (0, 4),
            (0, 5),
            (0x20, 5),
            (0, 6),
            (0, 7),
            (1, 0),
            (1, 1),
            (1, 2),
            (1, 3),
            (1, 4),
            (1, 5),
            (1, 6),
            (1, 7),
        ];
        let (f7, f3) = OPS[k];
        r(f7, f3, rd, a, b)
    });
    let itype = (
        0usize..9,
        reg.clone(),
        reg.clone(),
        -2048i32..2048,
        0u32..32,
    )
        .prop_map(|(k, rd, a, imm, sh)| match k {
            0 => i(0x13, 0, rd, a, imm),
            1 => i(0x13, 2, rd, a, imm),
            2 => i(0x13, 3, rd, a, imm),
            3 => i(0x13, 4, rd, a, imm),
            4 => i(0x13, 6, rd, a, imm),
            5 => i(0x13, 7, rd, a, imm),
            6 => i(0x13, 1, rd, a, sh as i32),
            7 => i(0x13, 5, rd, a, sh as i32),
            _ => i(0x13, 5, rd, a, (sh | 0x400) as i32),
        });
    let upper = (reg, any::<u32>(), any::<bool>()).prop_map(|(rd, imm, auipc)| {
        ((imm >> 12) << 12) | (rd << 7) | if auipc { 0x17 } else { 0x37 }
    });
    prop_oneof![6 => rtype, 3 => itype, 1 => upper]
}

/// Scratch data area for the memory-op sequences, inside the test ELF's zero-filled tail.
const DATA: u32 = BASE + 0x1000;
// Small, so that loads often read back what earlier stores wrote.
const DATA_LEN: i32 = 32;

/// Loads/stores of every width at aligned offsets into `DATA` (base register x30), plus forward
/// conditional branches over 1..=3 instructions. rd is never x30 (the base) or x31.
/// Offset `4k + sub` rounded down to the natural alignment of the access width in `f3`.
fn aligned_offset(f3: u32, k: i32, sub: i32) -> i32 {
    match f3 & 3 {
        0 => k * 4 + sub,
        1 => k * 4 + (sub & 2),
        _ => k * 4,
    }
}

fn mem_or_branch_op() -> impl Strategy<Value = Vec<u32>> {
    let reg = 0u32..30;
    let load = (
        prop::sample::select(vec![0u32, 1, 2, 4, 5]),
        reg.clone(),
        0i32..DATA_LEN / 4,
        0i32..4,
    )
        .prop_map(|(f3, rd, k, sub)| vec![i(0x03, f3, rd, 30, aligned_offset(f3, k, sub))]);
    let st = (0u32..3, reg.clone(), 0i32..DATA_LEN / 4, 0i32..4)
        .prop_map(|(f3, rs2, k, sub)| vec![store(f3, rs2, 30, aligned_offset(f3, k, sub))]);
    let br = (
        prop::sample::select(vec![0u32, 1, 4, 5, 6, 7]),
        reg.clone(),
        reg.clone(),
        1i32..4,
    )
        .prop_map(|(f3, a, b, skip)| vec![branch(f3, a, b, (skip + 1) * 4)]);
    prop_oneof![load, st, br]
}

fn check_sequence(init: &[u32], ops: &[u32], exit: u32) {
    let mut code = Vec::new();
    for (reg, v) in init.iter().enumerate() {
        code.extend(li(reg as u32 + 1, *v));
    }
    code.extend_from_slice(ops);
    // Padding so a trailing forward branch lands before the epilogue.
    code.extend([addi(0, 0, 0); 4]);
    dump_and_exit(&mut code, exit);
    assert!(
        52 + 32 + 4 * code.len() as u32 + 128 < 0x1000,
        "sequence too long"
    );
    let elf = make_elf(&code, 0x1000 + DATA_LEN as u32);
    let path = write_temp("seq", &elf);
    let q = run_qemu(&path, b"");
    let o = ours(&path, b"");
    assert_eq!(o.1, q.1, "register dump differs from qemu");
    assert_eq!(o.0, q.0, "exit code differs from qemu");
    assert_eq!(o.1.len(), 120);
    let _ = std::fs::remove_file(&path);
}

/// INT_MIN / -1, division by zero, shifts >= 32 and x0 writes, each explicitly.
#[test]
fn edge_sequence_matches_qemu() {
    let int_min = 0x8000_0000u32;
    let mut init = vec![0u32; 30];
    init[0] = int_min; // x1
    init[1] = u32::MAX; // x2 = -1
    init[2] = 0; // x3
    init[3] = 33; // x4 (shift amount 33 -> 1)
    init[4] = 0xffff_ffe0; // x5 (shift amount -32 -> 0)
    init[5] = 7; // x6
    let ops = vec![
        r(1, 4, 10, 1, 2),        // div   INT_MIN / -1
        r(1, 6, 11, 1, 2),        // rem   INT_MIN % -1
        r(1, 4, 12, 6, 3),        // div   7 / 0
        r(1, 5, 13, 6, 3),        // divu  7 / 0
        r(1, 6, 14, 6, 3),        // rem   7 % 0
        r(1, 7, 15, 6, 3),        // remu  7 % 0
        r(0, 1, 16, 6, 4),        // sll   7 << 33
        r(0, 5, 17, 1, 4),        // srl   INT_MIN >> 33
        r(0x20, 5, 18, 1, 4),     // sra INT_MIN >> 33
        r(0, 1, 19, 6, 5),        // sll by -32 (0)
        r(1, 1, 20, 1, 1),        // mulh  INT_MIN * INT_MIN
        r(1, 2, 21, 2, 2),        // mulhsu -1 * 0xffffffff
        r(1, 3, 22, 2, 2),        // mulhu
        r(1, 5, 23, 1, 2),        // divu INT_MIN / 0xffffffff
        r(0, 0, 0, 6, 6),         // add x0 <- 14 (discarded)
        addi(0, 0, 5),            // addi x0 (discarded)
        r(0, 0, 24, 0, 6),        // x24 = x0 + 7
        i(0x13, 5, 25, 1, 0x41f), // srai 31
    ];
    check_sequence(&init, &ops, 42);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn random_alu_sequences_match_qemu(
        init in proptest::collection::vec(value(), 30),
        ops in proptest::collection::vec(op(), 1..60),
        exit in 0u32..256,
    ) {
        check_sequence(&init, &ops, exit);
    }

    #[test]
    fn random_memory_and_branch_sequences_match_qemu(
        init in proptest::collection::vec(value(), 29),
        ops in proptest::collection::vec(prop_oneof![2 => op().prop_map(|o| vec![o]), 3 => mem_or_branch_op()], 1..60),
        exit in 0u32..256,
    ) {
        let mut init = init;
        init.push(DATA); // x30 = data base
        let ops: Vec<u32> = ops.into_iter().flatten().map(|w| {
            // ALU ops must not clobber the base register x30.
            if w & 0x7f != 0x23 && w & 0x7f != 0x63 && (w >> 7) & 31 == 30 { w & !(31 << 7) } else { w }
        }).collect();
        check_sequence(&init, &ops, exit);
    }
}

#[test]
fn guest_cycle_limit_and_trace() {
    use nexus_zkvm_bridge::ExecError;
    let program = Program::load(&std::fs::read(build_guest("fib")).unwrap()).unwrap();
    let full = run(
        &program,
        b"",
        &RunConfig {
            trace: true,
            ..RunConfig::default()
        },
    )
    .unwrap();
    assert_eq!(full.trace.as_ref().unwrap().len() as u64, full.cycles);
    let cfg = RunConfig {
        max_cycles: full.cycles - 1,
        trace: false,
    };
    assert_eq!(
        run(&program, b"", &cfg).unwrap_err(),
        ExecError::CycleLimitExceeded(full.cycles - 1)
    );
    let cfg = RunConfig {
        max_cycles: full.cycles,
        trace: false,
    };
    assert_eq!(run(&program, b"", &cfg).unwrap().exit_code, full.exit_code);
}
