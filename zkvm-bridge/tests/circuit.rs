//! The step circuit agrees with the interpreter (every satisfiable run reproduces its output),
//! and corrupted witnesses are rejected. Uses the satisfiability harness (no folding), so it is
//! fast enough for the default suite.

mod common;

use common::*;
use nexus_zkvm_bridge::circuit::{Tamper, Z_GAMMA};
use nexus_zkvm_bridge::harness::{run_steps, StepRejection};
use nexus_zkvm_bridge::witness::{check_final, generate, rebind, FinalStateError, Witness};
use nexus_zkvm_bridge::{Program, DEFAULT_MAX_CYCLES};

const K: usize = 4;
const M: usize = 8;

fn witness(elf: &[u8], input: &[u8]) -> (Program, Witness) {
    let p = Program::load(elf).unwrap();
    let w = generate(&p, elf, input, K, M, DEFAULT_MAX_CYCLES).unwrap();
    (p, w)
}

fn accept(p: &Program, w: &Witness, input: &[u8]) -> Result<(), String> {
    let zn = run_steps(K, M, &w.steps, &w.z0, None).map_err(|e| format!("{e:?}"))?;
    check_final(&zn, p, input, &w.public, &w.digest, w.z0[Z_GAMMA]).map_err(|e| e.to_string())
}

const VALS: [u32; 3] = [0, 0xffff_ffff, 0x8000_0000];

/// Every R-type ALU/M op on every pair of edge values; results stored and written out.
fn alu_program() -> Vec<u32> {
    let mut code = Vec::new();
    let at = code.len();
    code.extend(li(31, 0)); // buffer, patched below
    let mut off = 0;
    let ops: [(u32, u32); 18] = [
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
    for a in VALS {
        for b in VALS {
            code.extend(li(5, a));
            code.extend(li(6, b));
            for (f7, f3) in ops {
                code.push(r(f7, f3, 7, 5, 6));
                code.push(sw(7, 31, off));
                off += 4;
                if off >= 2000 {
                    code.push(addi(31, 31, 2000));
                    off = 0;
                }
            }
        }
    }
    code.extend(li(17, 64));
    code.extend(li(10, 1));
    code.extend(li(11, 0)); // patched: buffer start
    let at11 = code.len() - 2;
    code.extend(li(12, (VALS.len() * VALS.len() * 18 * 4) as u32));
    code.push(ECALL);
    code.extend(li(17, 93));
    code.extend(li(10, 3));
    code.push(ECALL);
    let buf = (BASE + 52 + 32 + code.len() as u32 * 4 + 15) & !15;
    let l = li(31, buf);
    code[at] = l[0];
    code[at + 1] = l[1];
    let l = li(11, buf);
    code[at11] = l[0];
    code[at11 + 1] = l[1];
    code
}

#[test]
fn alu_ops_match_interpreter() {
    let elf = make_elf(&alu_program(), 8192);
    let (p, w) = witness(&elf, b"");
    assert_eq!(w.public.exit_code, 3);
    accept(&p, &w, b"").unwrap();
}

#[test]
fn echo_guest_with_input() {
    let elf = std::fs::read(build_guest("echo")).unwrap();
    let (p, w) = witness(&elf, b"hello zk");
    assert_eq!(w.public.output, b"len=8 reversed=kz olleh\n");
    accept(&p, &w, b"hello zk").unwrap();
}

// ---- tampered witnesses -------------------------------------------------------------------

const IN: &[u8] = b"tamper me";

fn echo() -> (Program, Witness) {
    let elf = std::fs::read(build_guest("echo")).unwrap();
    witness(&elf, IN)
}

/// (step, slot) of the first slot whose instruction satisfies `pred`.
fn find(w: &Witness, pred: impl Fn(u32) -> bool) -> (usize, usize) {
    for (s, st) in w.steps.iter().enumerate() {
        for (j, h) in st.slots.iter().enumerate() {
            if pred(h.insn) {
                return (s, j);
            }
        }
    }
    panic!("no such slot");
}

fn rejected_with_tamper(t: impl Fn(usize) -> Tamper, pred: impl Fn(u32) -> bool) -> StepRejection {
    let (p, w) = echo();
    accept(&p, &w, IN).unwrap();
    let (s, j) = find(&w, pred);
    match run_steps(K, M, &w.steps, &w.z0, Some((s, t(j)))) {
        Err(e) => e,
        Ok(_) => panic!("tampered witness accepted"),
    }
}

fn is_alu_write(insn: u32) -> bool {
    insn & 0x7f == 0x13 && (insn >> 7) & 31 != 0
}

#[test]
fn wrong_register_value_is_unsatisfiable() {
    let e = rejected_with_tamper(|slot| Tamper::RdValue { slot, delta: 1 }, is_alu_write);
    assert!(matches!(e, StepRejection::Unsatisfied { .. }), "{e:?}");
}

#[test]
fn early_halt_is_unsatisfiable() {
    let e = rejected_with_tamper(|slot| Tamper::ForceHalt { slot }, is_alu_write);
    assert!(matches!(e, StepRejection::Unsatisfied { .. }), "{e:?}");
}

#[test]
fn executing_past_halt_is_unsatisfiable() {
    let (p, mut w) = echo();
    // The first padding slot: make it carry a real instruction and decode it.
    let (s, j) = find(&w, |i| i == 0);
    w.steps[s].slots[j].insn = 0x0050_0093; // addi x1, x0, 5
    rebind(&mut w, &p, IN.len(), K, M);
    let e = run_steps(
        K,
        M,
        &w.steps,
        &w.z0,
        Some((s, Tamper::IgnoreHalt { slot: j })),
    );
    assert!(matches!(e, Err(StepRejection::Unsatisfied { .. })), "{e:?}");
}

/// Hint-level tampering re-hashed consistently (as a cheating prover would): the circuit may
/// be satisfiable, but the final memory check must fail.
fn rejected_after_rebind(edit: impl Fn(&mut Witness)) {
    let (p, mut w) = echo();
    edit(&mut w);
    rebind(&mut w, &p, IN.len(), K, M);
    match run_steps(K, M, &w.steps, &w.z0, None) {
        Err(_) => {}
        Ok(zn) => {
            let r = check_final(&zn, &p, IN, &w.public, &w.digest, w.z0[Z_GAMMA]);
            assert!(r.is_err(), "tampered witness accepted");
        }
    }
}

#[test]
fn wrong_memory_read_is_rejected() {
    rejected_after_rebind(|w| {
        let (s, j) = find(w, |i| i & 0x7f == 0x03); // first load
        w.steps[s].slots[j].mem_old ^= 0x100;
    });
}

#[test]
fn skipped_instruction_is_rejected() {
    // Replace an instruction by a NOP in the fetch hint: the fetched word no longer matches
    // memory.
    rejected_after_rebind(|w| {
        let (s, j) = find(w, is_alu_write);
        w.steps[s].slots[j].insn = 0x0000_0013;
    });
}

#[test]
fn stale_timestamp_is_rejected() {
    rejected_after_rebind(|w| {
        let (s, j) = find(w, |i| i & 0x7f == 0x03);
        w.steps[s].slots[j].t_mem = 0;
    });
}

#[test]
fn wrong_audit_row_is_rejected() {
    rejected_after_rebind(|w| w.steps[0].audit[0].init ^= 1);
}

#[test]
fn wrong_output_or_input_claim_is_rejected() {
    let (p, w) = echo();
    let zn = run_steps(K, M, &w.steps, &w.z0, None).unwrap();
    let g = w.z0[Z_GAMMA];
    let mut public = w.public.clone();
    public.output[0] ^= 1;
    assert_eq!(
        check_final(&zn, &p, IN, &public, &w.digest, g),
        Err(FinalStateError::Io)
    );
    let mut public = w.public.clone();
    public.output.push(b'!');
    assert!(check_final(&zn, &p, IN, &public, &w.digest, g).is_err());
    assert_eq!(
        check_final(&zn, &p, b"tamper mf", &w.public, &w.digest, g),
        Err(FinalStateError::Io)
    );
    let mut public = w.public.clone();
    public.cycles += 1;
    assert!(check_final(&zn, &p, IN, &public, &w.digest, g).is_err());
    let mut public = w.public.clone();
    public.exit_code ^= 1;
    assert!(check_final(&zn, &p, IN, &public, &w.digest, g).is_err());
}

#[test]
fn constraints_per_instruction_within_budget() {
    use nexus_zkvm_bridge::harness::step_constraints;
    let base = step_constraints(1, 1);
    let per_slot = step_constraints(2, 1) - base;
    let per_row = step_constraints(1, 2) - base;
    eprintln!("constraints: per instruction slot {per_slot}, per audit row {per_row}, k=1,m=1 step {base}");
    let (k, m) = (
        nexus_zkvm_bridge::prover::DEFAULT_K,
        nexus_zkvm_bridge::prover::DEFAULT_M,
    );
    let full = step_constraints(k, m);
    eprintln!(
        "default step (k={k}, m={m}): {full} constraints, {:.0} per instruction incl. audit and hash",
        full as f64 / k as f64
    );
    assert!(per_slot <= 1500, "{per_slot} constraints per instruction");
    assert!(full / k <= 1500, "{} constraints per instruction", full / k);
    assert!(per_row <= 400, "{per_row} constraints per audit row");
}
