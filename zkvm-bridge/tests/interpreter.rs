//! Interpreter and loader unit tests: ELF rejection, error policy, cycle limit, trace.

mod common;

use common::*;
use nexus_zkvm_bridge::elf::{MAX_ELF_SIZE, MAX_TOTAL_MEMSZ};
use nexus_zkvm_bridge::{run, ElfError, ExecError, MemAccess, Program, RunConfig};

fn exec(
    code: &[u32],
    input: &[u8],
    cfg: &RunConfig,
) -> Result<nexus_zkvm_bridge::Outcome, ExecError> {
    let program = Program::load(&make_elf(code, 256)).unwrap();
    run(&program, input, cfg)
}

fn exit_with(mut code: Vec<u32>) -> Vec<u32> {
    code.extend(li(17, 93));
    code.push(ECALL);
    code
}

const ENTRY: u32 = BASE + 52 + 32;

fn set_u16(b: &mut [u8], off: usize, v: u16) {
    b[off..off + 2].copy_from_slice(&v.to_le_bytes());
}
fn set_u32(b: &mut [u8], off: usize, v: u32) {
    b[off..off + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn elf_rejections() {
    let good = make_elf(&exit_with(vec![]), 0);
    assert!(Program::load(&good).is_ok());
    assert_eq!(
        Program::load(&good[..20]),
        Err(ElfError::Truncated("ELF header"))
    );
    let mut b = good.clone();
    b[0] = 0;
    assert_eq!(Program::load(&b), Err(ElfError::BadMagic));
    let mut b = good.clone();
    b[4] = 2;
    assert_eq!(Program::load(&b), Err(ElfError::NotClass32(2)));
    let mut b = good.clone();
    b[5] = 2;
    assert_eq!(Program::load(&b), Err(ElfError::NotLittleEndian(2)));
    let mut b = good.clone();
    set_u16(&mut b, 18, 62);
    assert_eq!(Program::load(&b), Err(ElfError::NotRiscv(62)));
    let mut b = good.clone();
    set_u16(&mut b, 16, 3);
    assert_eq!(Program::load(&b), Err(ElfError::NotExecutable(3)));
    let mut b = good.clone();
    set_u32(&mut b, 28, 10_000);
    assert_eq!(
        Program::load(&b),
        Err(ElfError::Truncated("program headers"))
    );
    // filesz > memsz
    let mut b = good.clone();
    set_u32(&mut b, 52 + 20, 4);
    assert!(matches!(
        Program::load(&b),
        Err(ElfError::FileszExceedsMemsz { index: 0, .. })
    ));
    // file range outside the file
    let mut b = good.clone();
    set_u32(&mut b, 52 + 4, 0xffff_fff0);
    assert!(matches!(
        Program::load(&b),
        Err(ElfError::SegmentOutOfFile { .. })
    ));
    // leaves the 32-bit address space
    let mut b = good.clone();
    set_u32(&mut b, 52 + 8, 0xffff_fff0);
    assert!(matches!(
        Program::load(&b),
        Err(ElfError::SegmentOutOfAddressSpace { .. })
    ));
    // total memsz too large
    let mut b = good.clone();
    set_u32(&mut b, 52 + 20, (MAX_TOTAL_MEMSZ + 1) as u32);
    assert!(matches!(Program::load(&b), Err(ElfError::TotalTooLarge(_))));
    // misaligned entry
    let mut b = good.clone();
    set_u32(&mut b, 24, ENTRY + 2);
    assert_eq!(Program::load(&b), Err(ElfError::MisalignedEntry(ENTRY + 2)));
    // no PT_LOAD
    let mut b = good.clone();
    set_u32(&mut b, 52, 4);
    assert_eq!(Program::load(&b), Err(ElfError::NoSegments));
    let big = vec![0u8; MAX_ELF_SIZE + 1];
    assert_eq!(
        Program::load(&big),
        Err(ElfError::TooLarge(MAX_ELF_SIZE + 1))
    );
}

#[test]
fn elf_overlap_rejected() {
    let mut b = make_elf(&exit_with(vec![]), 0);
    // Duplicate the program header: two identical PT_LOADs overlap.
    let ph: Vec<u8> = b[52..84].to_vec();
    b.splice(84..84, ph.iter().copied());
    set_u16(&mut b, 44, 2);
    // Shift both segments' file offsets? They start at 0 and stay valid; only overlap is wrong.
    assert_eq!(Program::load(&b), Err(ElfError::Overlap { a: 0, b: 1 }));
    // Move the second one just past the first: accepted.
    let memsz = u32::from_le_bytes(b[52 + 20..52 + 24].try_into().unwrap());
    set_u32(&mut b, 84 + 8, BASE + memsz.next_multiple_of(16));
    assert!(Program::load(&b).is_ok());
}

#[test]
fn exit_code_and_x0() {
    let mut code = vec![addi(0, 0, 77)];
    code.extend(li(10, 0xdead_beef));
    code.push(r(0, 0, 10, 10, 0)); // a0 += x0
    let out = exec(&exit_with(code), b"", &RunConfig::default()).unwrap();
    assert_eq!(out.exit_code, 0xdead_beef);
}

#[test]
fn cycle_limit_is_an_error_not_a_hang() {
    let jal_self = 0x0000_006f; // jal x0, 0
    let cfg = RunConfig {
        max_cycles: 10_000,
        trace: false,
    };
    assert_eq!(
        exec(&[jal_self], b"", &cfg).unwrap_err(),
        ExecError::CycleLimitExceeded(10_000)
    );
}

/// Found by `fuzz/fuzz_targets/zk_elf.rs`: one `write` ecall could copy up to 4 GiB into the
/// output in one cycle, so the cycle limit bounded neither time nor memory.
#[test]
fn a_huge_write_is_an_error_not_an_allocation() {
    let mut code = Vec::new();
    code.extend(li(17, 64)); // write
    code.extend(li(10, 1));
    code.extend(li(11, 0));
    code.extend(li(12, u32::MAX));
    code.push(ECALL);
    code.extend(exit_with(vec![]));
    let err = exec(&code, b"", &RunConfig::default()).unwrap_err();
    assert!(
        matches!(err, ExecError::OutputTooLarge { len: u32::MAX, .. }),
        "{err:?}"
    );
    // Up to the bound is fine.
    let mut code = Vec::new();
    code.extend(li(17, 64));
    code.extend(li(10, 1));
    code.extend(li(11, 0));
    code.extend(li(12, 4096));
    code.push(ECALL);
    code.extend(exit_with(vec![]));
    assert_eq!(
        exec(&code, b"", &RunConfig::default())
            .unwrap()
            .output
            .len(),
        4096
    );
}

/// One store per fresh page would otherwise let a guest take 4 GiB in a million cycles.
#[test]
fn touching_more_pages_than_the_memory_limit_is_an_error() {
    use nexus_zkvm_bridge::exec::MAX_MEMORY_PAGES;
    // x5 walks down from the top of memory one page at a time, storing a word on each.
    let mut code = Vec::new();
    code.extend(li(5, 0xffff_f000));
    code.extend(li(6, 4096));
    code.push(sw(0, 5, 0));
    code.push(r(0x20, 0, 5, 5, 6)); // sub x5, x5, x6
    code.push(branch(1, 5, 0, -8)); // bne x5, x0, store
    code.extend(exit_with(vec![]));
    let err = exec(&code, b"", &RunConfig::default()).unwrap_err();
    assert!(matches!(err, ExecError::MemoryLimit { .. }), "{err:?}");
    // The walk covers 2^20 - 1 pages, so it only ends early because of the limit.
    const _: () = assert!(MAX_MEMORY_PAGES < (1 << 20) - 1);
}

/// A `read` ecall's bytes count against the page limit in the prover's witness pass too:
/// it writes them ahead of the interpreter, which must not make the pages look already
/// there.
#[test]
fn a_read_past_the_memory_limit_is_an_error_for_the_witness_pass_too() {
    use nexus_zkvm_bridge::exec::{DEFAULT_MAX_CYCLES, MAX_MEMORY_PAGES};
    use nexus_zkvm_bridge::witness::{generate, WitnessError};
    const READ_PAGES: u32 = 16;
    // Touch all but a few pages from the top of memory down, then read 16 pages of input
    // into fresh memory: the image's pages make that cross the limit.
    let mut code = Vec::new();
    code.extend(li(5, 0xffff_f000));
    code.extend(li(6, 4096));
    code.extend(li(7, (MAX_MEMORY_PAGES - 8) as u32));
    code.push(sw(0, 5, 0));
    code.push(r(0x20, 0, 5, 5, 6)); // sub x5, x5, x6
    code.push(addi(7, 7, -1));
    code.push(branch(1, 7, 0, -12)); // bne x7, x0, store
    code.extend(li(17, 63)); // read(0, 0x2000_0000, 16 pages)
    code.extend(li(10, 0));
    code.extend(li(11, 0x2000_0000));
    code.extend(li(12, READ_PAGES * 4096));
    code.push(ECALL);
    code.extend(exit_with(vec![]));
    let input = vec![7u8; (READ_PAGES * 4096) as usize];
    let err = exec(&code, &input, &RunConfig::default()).unwrap_err();
    assert!(matches!(err, ExecError::MemoryLimit { .. }), "{err:?}");
    let elf = make_elf(&code, 256);
    let program = Program::load(&elf).unwrap();
    match generate(&program, &elf, &input, 4, 4, DEFAULT_MAX_CYCLES) {
        Err(WitnessError::Exec(ExecError::MemoryLimit { .. })) => {}
        Err(e) => panic!("{e:?}"),
        Ok(_) => panic!("the witness pass accepted a run the interpreter refuses"),
    }
}

#[test]
fn ebreak_and_unknown_syscall_and_bad_fd() {
    let cfg = RunConfig::default();
    assert_eq!(
        exec(&[EBREAK], b"", &cfg).unwrap_err(),
        ExecError::Ebreak(ENTRY)
    );
    let mut code = li(17, 1234).to_vec();
    code.push(ECALL);
    assert_eq!(
        exec(&code, b"", &cfg).unwrap_err(),
        ExecError::UnknownSyscall {
            pc: ENTRY + 8,
            a7: 1234
        }
    );
    let mut code = li(17, 64).to_vec();
    code.extend(li(10, 2));
    code.push(ECALL);
    assert_eq!(
        exec(&code, b"", &cfg).unwrap_err(),
        ExecError::BadFd {
            pc: ENTRY + 16,
            a7: 64,
            fd: 2
        }
    );
    assert!(matches!(
        exec(&[0xffff_ffff], b"", &cfg),
        Err(ExecError::IllegalInstruction { .. })
    ));
    assert!(matches!(
        exec(&[0], b"", &cfg),
        Err(ExecError::IllegalInstruction { .. })
    ));
}

#[test]
fn misaligned_access_and_jump() {
    let cfg = RunConfig::default();
    // lw a0, 2(x0) -> misaligned word load
    let lw = i(0x03, 2, 10, 0, 2);
    assert_eq!(
        exec(&[lw], b"", &cfg).unwrap_err(),
        ExecError::MisalignedAccess {
            pc: ENTRY,
            addr: 2,
            size: 4
        }
    );
    // lh a0, 1(x0)
    assert!(matches!(
        exec(&[i(0x03, 1, 10, 0, 1)], b"", &cfg),
        Err(ExecError::MisalignedAccess { size: 2, .. })
    ));
    // lb at an odd address is fine (reads unmapped memory as zero); then exit(a0)
    let out = exec(&exit_with(vec![i(0x03, 0, 10, 0, 1)]), b"", &cfg).unwrap();
    assert_eq!(out.exit_code, 0);
    // jalr to entry+2 -> misaligned jump (bit 0 is cleared, bit 1 is not)
    let mut code = li(5, ENTRY + 3).to_vec();
    code.push(i(0x67, 0, 1, 5, 0));
    assert_eq!(
        exec(&code, b"", &cfg).unwrap_err(),
        ExecError::MisalignedJump {
            pc: ENTRY + 8,
            target: ENTRY + 2
        }
    );
    // jal +2
    let jal2 = (1 << 21) | 0x6f; // imm[1] set
    assert_eq!(
        exec(&[jal2], b"", &cfg).unwrap_err(),
        ExecError::MisalignedJump {
            pc: ENTRY,
            target: ENTRY + 2
        }
    );
}

#[test]
fn read_ecall_and_trace() {
    // read(0, 0x20000, 8); lw a0, 0(0x20000); exit(a0)
    let mut code = li(17, 63).to_vec();
    code.extend(li(10, 0));
    code.extend(li(11, 0x20000));
    code.extend(li(12, 8));
    code.push(ECALL);
    code.push(i(0x03, 2, 10, 11, 0));
    let code = exit_with(code);
    let cfg = RunConfig {
        trace: true,
        ..RunConfig::default()
    };
    let out = exec(&code, &[1, 2, 3, 4, 5], &cfg).unwrap();
    assert_eq!(out.exit_code, 0x0403_0201);
    let trace = out.trace.unwrap();
    assert_eq!(trace.len() as u64, out.cycles);
    assert_eq!(trace.len(), code.len());
    assert_eq!(trace[0].pc, ENTRY);
    assert_eq!(trace[0].insn, code[0]);
    let ecall = &trace[8];
    assert_eq!(ecall.insn, ECALL);
    assert_eq!(ecall.rd, None);
    let load = &trace[9];
    assert_eq!(load.rs1_val, 0x20000);
    assert_eq!(load.rd, Some((10, 0x0403_0201)));
    assert_eq!(
        load.mem,
        Some(MemAccess {
            addr: 0x20000,
            size: 4,
            value: 0x0403_0201,
            write: false
        })
    );
    // Without the flag there is no trace.
    assert!(exec(&code, b"", &RunConfig::default())
        .unwrap()
        .trace
        .is_none());
}

#[test]
fn store_sign_extension_and_trace() {
    // x5 = 0x20000; x6 = 0xffffff80; sb x6, 1(x5); lb a0, 1(x5); lbu a1, 1(x5); a0 = a0 + a1
    let mut code = li(5, 0x20000).to_vec();
    code.extend(li(6, 0xffff_ff80));
    code.push((6 << 20) | (5 << 15) | (1 << 7) | 0x23); // sb x6, 1(x5)
    code.push(i(0x03, 0, 10, 5, 1)); // lb
    code.push(i(0x03, 4, 11, 5, 1)); // lbu
    code.push(r(0, 0, 10, 10, 11));
    let cfg = RunConfig {
        trace: true,
        ..RunConfig::default()
    };
    let out = exec(&exit_with(code), b"", &cfg).unwrap();
    assert_eq!(out.exit_code, 0xffff_ff80u32.wrapping_add(0x80));
    let t = out.trace.unwrap();
    assert_eq!(
        t[4].mem,
        Some(MemAccess {
            addr: 0x20001,
            size: 1,
            value: 0x80,
            write: true
        })
    );
    assert_eq!(t[5].rd, Some((10, 0xffff_ff80)));
    assert_eq!(t[6].rd, Some((11, 0x80)));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// The loader and the interpreter take untrusted bytes (a zk-Function deploy): any
    /// mutation of a valid image (header fields, program header, code words) is either refused
    /// or runs to an outcome or an error, never a panic; accepted segments are sorted and
    /// disjoint. (`fuzz/fuzz_targets/zk_elf.rs` is the coverage-guided version.)
    #[test]
    fn mutated_images_are_refused_or_run_without_panicking(
        code in proptest::collection::vec(proptest::prelude::any::<u32>(), 1..24),
        edits in proptest::collection::vec((0usize..200, proptest::prelude::any::<u8>()), 0..8),
        input in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..16),
    ) {
        let mut image = make_elf(&code, 64);
        for (at, byte) in edits {
            let at = at % image.len();
            image[at] = byte;
        }
        if let Ok(program) = Program::load(&image) {
            for pair in program.segments.windows(2) {
                proptest::prop_assert!(
                    u64::from(pair[0].vaddr) + u64::from(pair[0].memsz) <= u64::from(pair[1].vaddr)
                );
            }
            let cfg = RunConfig { max_cycles: 2_000, trace: true };
            let _ = run(&program, &input, &cfg);
        }
    }
}

/// The fuzz seeds committed under `fuzz/seeds/` (guest ELFs for `zk_elf`, a real proof for
/// `zk_proof`) must stay what the targets expect, or the fuzzers silently start from noise:
/// every ELF seed loads and runs to an exit on its input, and the proof seed decodes.
#[test]
fn fuzz_seeds_are_current() {
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds");
    let mut elves = 0;
    for entry in std::fs::read_dir(seeds.join("zk_elf")).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        // zk_elf's layout: the first byte is the input's length, taken from the end.
        let (&split, rest) = data.split_first().unwrap();
        let (elf, input) = rest.split_at(rest.len() - split as usize);
        let program = Program::load(elf).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let outcome = run(&program, input, &RunConfig::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(outcome.cycles > 0, "{}", path.display());
        elves += 1;
    }
    assert!(elves >= 4, "ELF seeds missing");
    let proof = std::fs::read(seeds.join("zk_proof/echo-k48.proof")).unwrap();
    nexus_zkvm_bridge::proof::Proof::from_bytes(&proof).expect(
        "the proof seed decodes: regenerate it with `nexus zk prove` after a format change",
    );
}
