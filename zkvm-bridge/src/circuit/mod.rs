//! The uniform step circuit: `k` RV32IM instruction slots plus `m` memory-audit rows.
//!
//! # IVC state (`z`, [`ARITY`] field elements)
//!
//! | index | meaning |
//! |---|---|
//! | `0..32` | registers `x0..x31` (each `< 2^32`; `x0` is never written) |
//! | [`Z_PCW`] | `pc / 4` (the pc is always 4-aligned, so it is kept as a 30-bit word index) |
//! | [`Z_HALTED`] | 1 once `exit` ran; then every slot is padding |
//! | [`Z_EXIT`] | the exit code (`a0` at `exit`) |
//! | [`Z_CYCLES`] | retired instructions (the interpreter's cycle count) |
//! | [`Z_TS`] | slot counter; fetch timestamp `2·ts+1`, data timestamp `2·ts+2` |
//! | [`Z_IO_I`] | bytes already moved by the current `read`/`write` ecall (micro-steps) |
//! | [`Z_IN_POS`] / [`Z_OUT_POS`] | input bytes consumed / output bytes produced |
//! | [`Z_IN_LEN`] | input length (constant) |
//! | [`Z_GAMMA`] | Fiat–Shamir challenge γ (constant) |
//! | [`Z_FP_R`] / [`Z_FP_W`] | memory fingerprints `∏(γ - enc)` of reads ∪ final / init ∪ writes |
//! | [`Z_FP_IMG`] | fingerprint of the non-zero initial words listed by the audit |
//! | [`Z_FP_IO`] | fingerprint of consumed input and produced output bytes |
//! | [`Z_AUDIT_NEXT`] | smallest word address the next audit row may use (strictly increasing) |
//! | [`Z_DIGEST`] | Poseidon hash chain over every prover hint (binds the trace before γ) |
//!
//! # Memory checking
//!
//! Memory is word-addressed (30-bit word index, 32-bit value). Each slot performs one fetch
//! access (the instruction word) and at most one data access (load, store, or one byte of a
//! `read`/`write` ecall). Every access reads `(addr, v, t_old)` into `fp_r` and writes
//! `(addr, v', t_now)` into `fp_w`, with `t_old < t_now` range-checked. Audit rows list every
//! word that is touched or non-zero in the image, with strictly increasing addresses; each adds
//! `(addr, init, 0)` to `fp_w` and `(addr, final, t_final)` to `fp_r`. The verifier checks
//! `fp_r = fp_w` and that the non-zero `(addr, init)` pairs equal the ELF image (`fp_img`).

use ff::PrimeField;
use generic_array::typenum::U5;
use nova_snark::frontend::gadgets::poseidon::PoseidonConstants;
use nova_snark::frontend::{num::AllocatedNum, ConstraintSystem, SynthesisError};
use nova_snark::traits::circuit::StepCircuit;

use crate::decode::{Op, ALL_OPS, NUM_OPS, SYS_EXIT, SYS_READ, SYS_WRITE};
use crate::gadgets::{pack_bits, pow2, sum, Builder, Lc};

/// Loads (I-type, rs1 + immediate address).
const LOAD_OPS: [Op; 5] = [Op::Lb, Op::Lh, Op::Lw, Op::Lbu, Op::Lhu];
/// Stores (S-type, rs1 + immediate address).
const STORE_OPS: [Op; 3] = [Op::Sb, Op::Sh, Op::Sw];
/// ALU operations whose second operand is the I-type immediate.
const IMM_ALU_OPS: [Op; 9] = [
    Op::Addi,
    Op::Slti,
    Op::Sltiu,
    Op::Xori,
    Op::Ori,
    Op::Andi,
    Op::Slli,
    Op::Srli,
    Op::Srai,
];
pub const Z_PCW: usize = 32;
pub const Z_HALTED: usize = 33;
pub const Z_EXIT: usize = 34;
pub const Z_CYCLES: usize = 35;
pub const Z_TS: usize = 36;
pub const Z_IO_I: usize = 37;
pub const Z_IN_POS: usize = 38;
pub const Z_OUT_POS: usize = 39;
pub const Z_IN_LEN: usize = 40;
pub const Z_GAMMA: usize = 41;
pub const Z_FP_R: usize = 42;
pub const Z_FP_W: usize = 43;
pub const Z_FP_IMG: usize = 44;
pub const Z_FP_IO: usize = 45;
pub const Z_AUDIT_NEXT: usize = 46;
pub const Z_DIGEST: usize = 47;
/// Number of IVC state elements.
pub const ARITY: usize = 48;

/// Word addresses are 30 bits.
pub const ADDR_BITS: u32 = 30;
/// Timestamps (and their differences) are range-checked to 32 bits.
pub const TS_BITS: u32 = 32;
/// Tag added to input-byte encodings in `fp_io`.
pub const IO_TAG_IN: u64 = 1 << 40;
/// Tag added to output-byte encodings in `fp_io`.
pub const IO_TAG_OUT: u64 = 1 << 41;
/// Prover hints absorbed per Poseidon call of the hash chain.
pub const HASH_RATE: usize = 4;

mod hints;

use hints::hash_circuit;
pub use hints::{
    hash_constants, hash_native, pack_audit, pack_slot, AuditRow, SlotHint, StepHints, Tamper,
};

/// The step circuit: `k` instruction slots and `m` audit rows per folding step.
#[derive(Clone)]
pub struct ZkvmStep {
    pub k: usize,
    pub m: usize,
    /// `None` while generating the shape (public parameters).
    pub hints: Option<StepHints>,
    pub constants: PoseidonConstants<crate::F, U5>,
    #[doc(hidden)]
    pub tamper: Option<Tamper>,
}

/// Memory tuple encoding `addr + 2^30·value + 2^62·ts`.
fn enc<F: PrimeField>(addr: &Lc<F>, val: &Lc<F>, ts: &Lc<F>) -> Lc<F> {
    addr.add(&val.scale(pow2(30))).add(&ts.scale(pow2(62)))
}

/// Native values the circuit needs as hints for one slot.
struct Native {
    op: Option<Op>,
    rd_val: u32,
    add_carry: bool,
    aux: [u32; 3],
}

fn sext(v: u32, bits: u32) -> u32 {
    let s = 32 - bits;
    (((v << s) as i32) >> s) as u32
}

/// Computes the hint values of one slot from the state values, mirroring `exec::step`.
#[allow(clippy::too_many_arguments)]
fn native_slot(
    regs: &[u32; 32],
    pcw: u32,
    halted: bool,
    io_i: u32,
    in_pos: u64,
    in_len: u64,
    hint: &SlotHint,
    tamper: Option<Tamper>,
) -> Native {
    let insn = hint.insn;
    let a7 = regs[17];
    let op = match tamper {
        Some(Tamper::ForceHalt { .. }) => Some(Op::EcallExit),
        Some(Tamper::IgnoreHalt { .. }) => Op::decode(insn, a7),
        _ if halted => Some(Op::Pad),
        _ => Op::decode(insn, a7),
    };
    let rs1 = ((insn >> 15) & 31) as usize;
    let rs2 = ((insn >> 20) & 31) as usize;
    let a = regs[rs1];
    let b = regs[rs2];
    let imm_i = sext(insn >> 20, 12);
    let pc = pcw.wrapping_mul(4);
    let is_imm = matches!(
        op,
        Some(
            Op::Addi
                | Op::Slti
                | Op::Sltiu
                | Op::Xori
                | Op::Ori
                | Op::Andi
                | Op::Slli
                | Op::Srli
                | Op::Srai
        )
    );
    let op2 = if is_imm { imm_i } else { b };
    let sh = op2 & 31;
    let mut aux = [0u32; 3];
    let mut add_carry = false;
    let agu_addr = a.wrapping_add(imm_i);
    let lane = |addr: u32| (addr & 3) * 8;
    let old = hint.mem_old;
    let rd_val = match op {
        None | Some(Op::Pad) => 0,
        Some(op) => match op {
            Op::Lui => insn & 0xffff_f000,
            Op::Auipc => pc.wrapping_add(insn & 0xffff_f000),
            Op::Jal | Op::Jalr => pc.wrapping_add(4),
            Op::Lb => sext((old >> lane(agu_addr)) & 0xff, 8),
            Op::Lbu => (old >> lane(agu_addr)) & 0xff,
            Op::Lh => sext((old >> lane(agu_addr)) & 0xffff, 16),
            Op::Lhu => (old >> lane(agu_addr)) & 0xffff,
            Op::Lw => old,
            Op::Add | Op::Addi => {
                let (r, c) = a.overflowing_add(op2);
                add_carry = c;
                r
            }
            Op::Sub => a.wrapping_sub(op2),
            Op::Slt | Op::Slti => ((a as i32) < (op2 as i32)) as u32,
            Op::Sltu | Op::Sltiu => (a < op2) as u32,
            Op::Xor | Op::Xori => a ^ op2,
            Op::Or | Op::Ori => a | op2,
            Op::And | Op::Andi => a & op2,
            Op::Sll | Op::Slli => {
                aux[0] = ((a as u64) << sh >> 32) as u32;
                a << sh
            }
            Op::Srl | Op::Srli | Op::Sra | Op::Srai => {
                let pow = 1u64 << sh;
                aux[0] = (a as u64 & (pow - 1)) as u32;
                aux[1] = (pow - 1 - aux[0] as u64) as u32;
                if matches!(op, Op::Sra | Op::Srai) {
                    ((a as i32) >> sh) as u32
                } else {
                    a >> sh
                }
            }
            Op::Mul | Op::Mulh | Op::Mulhsu | Op::Mulhu => {
                let ext = |v: u32, signed: bool| -> u128 {
                    if signed && v >> 31 == 1 {
                        (v as u128) | (0xffff_ffffu128 << 32)
                    } else {
                        v as u128
                    }
                };
                let sa = matches!(op, Op::Mulh | Op::Mulhsu);
                let sb = matches!(op, Op::Mulh);
                let p = ext(a, sa) * ext(op2, sb);
                let lo = p as u32;
                let hi = (p >> 32) as u32;
                aux[1] = (p >> 64) as u32;
                aux[2] = (p >> 96) as u32;
                if op == Op::Mul {
                    aux[0] = hi;
                    lo
                } else {
                    aux[0] = lo;
                    hi
                }
            }
            Op::Div | Op::Divu | Op::Rem | Op::Remu => {
                let signed = matches!(op, Op::Div | Op::Rem);
                let sa = signed && a >> 31 == 1;
                let sb = signed && op2 >> 31 == 1;
                let abs_a = if sa { (a as i32).unsigned_abs() } else { a } as u64;
                let abs_a = if sa && a == 0x8000_0000 {
                    1 << 31
                } else {
                    abs_a
                };
                let abs_b = if sb {
                    (op2 as i32).unsigned_abs() as u64
                } else {
                    op2 as u64
                };
                let (q, r) = match (abs_a.checked_div(abs_b), abs_a.checked_rem(abs_b)) {
                    (Some(q), Some(r)) => (q, r),
                    _ => (0xffff_ffffu64, abs_a),
                };
                aux[0] = q as u32;
                aux[1] = r as u32;
                aux[2] = if abs_b == 0 {
                    0
                } else {
                    (abs_b - 1 - r) as u32
                };
                crate::exec::mul_div(
                    match op {
                        Op::Div => 4,
                        Op::Divu => 5,
                        Op::Rem => 6,
                        _ => 7,
                    },
                    a,
                    op2,
                )
            }
            Op::EcallWrite | Op::EcallRead => {
                let done_w = regs[12] == io_i;
                let done_r = done_w || in_pos == in_len;
                let done = if op == Op::EcallWrite { done_w } else { done_r };
                if done {
                    io_i
                } else {
                    0
                }
            }
            _ => 0,
        },
    };
    Native {
        op,
        rd_val,
        add_carry,
        aux,
    }
}

/// Reads register `idx` from the state by a one-hot selection (≈ 64 constraints).
fn read_reg<F: PrimeField, CS: ConstraintSystem<F>>(
    b: &mut Builder<'_, F, CS>,
    regs: &[Lc<F>],
    idx: Option<u64>,
    idx_lc: &Lc<F>,
) -> Result<Lc<F>, SynthesisError> {
    let sel = b.one_hot(idx, 32, idx_lc, &Lc::constant(F::ONE))?;
    let mut acc = Lc::zero();
    for j in 1..32 {
        acc = acc.add(&b.mul(&sel[j], &regs[j])?);
    }
    Ok(acc)
}

/// In-circuit state of the machine between slots.
struct State<F: PrimeField> {
    regs: Vec<Lc<F>>,
    pcw: Lc<F>,
    halted: Lc<F>,
    exit: Lc<F>,
    cycles: Lc<F>,
    ts: Lc<F>,
    io_i: Lc<F>,
    in_pos: Lc<F>,
    out_pos: Lc<F>,
    fp_r: Lc<F>,
    fp_w: Lc<F>,
    fp_io: Lc<F>,
}

fn u32_of<F: PrimeField>(x: &Lc<F>) -> Option<u32> {
    x.u64().map(|v| v as u32)
}

impl ZkvmStep {
    /// A circuit for shape generation (no witness).
    pub fn blank(k: usize, m: usize) -> Self {
        ZkvmStep {
            k,
            m,
            hints: None,
            constants: hash_constants(),
            tamper: None,
        }
    }

    fn slot_hint(&self, i: usize) -> Option<SlotHint> {
        self.hints.as_ref().and_then(|h| h.slots.get(i).copied())
    }

    fn audit_hint(&self, i: usize) -> Option<AuditRow> {
        self.hints.as_ref().and_then(|h| h.audit.get(i).copied())
    }

    #[allow(clippy::too_many_lines)]
    fn slot<F: PrimeField, CS: ConstraintSystem<F>>(
        &self,
        b: &mut Builder<'_, F, CS>,
        s: State<F>,
        gamma: &Lc<F>,
        in_len: &Lc<F>,
        hint: Option<SlotHint>,
        slot_idx: usize,
    ) -> Result<(State<F>, Lc<F>), SynthesisError> {
        let one = Lc::<F>::constant(F::ONE);
        let k32 = pow2::<F>(32);
        let tamper = self.tamper.filter(|t| match t {
            Tamper::RdValue { slot, .. }
            | Tamper::IgnoreHalt { slot }
            | Tamper::ForceHalt { slot } => *slot == slot_idx,
        });
        // ---- native hints
        let regs_v: Option<[u32; 32]> = {
            let mut r = [0u32; 32];
            let mut ok = true;
            for (i, x) in s.regs.iter().enumerate() {
                match u32_of(x) {
                    Some(v) => r[i] = v,
                    None => ok = false,
                }
            }
            ok.then_some(r)
        };
        let native = match (regs_v, hint) {
            (Some(regs), Some(h)) => Some(native_slot(
                &regs,
                u32_of(&s.pcw).unwrap_or(0),
                s.halted.u64() == Some(1),
                u32_of(&s.io_i).unwrap_or(0),
                s.in_pos.u64().unwrap_or(0),
                in_len.u64().unwrap_or(0),
                &h,
                tamper,
            )),
            _ => None,
        };
        // ---- instruction word and decode
        let insn = b.alloc_u64(hint.map(|h| h.insn as u64))?;
        let ib = b.bits(&insn, 32)?;
        let field = |lo: usize, hi: usize| pack_bits(&ib[lo..hi]);
        let opcode = field(0, 7);
        let rd_f = field(7, 12);
        let f3 = field(12, 15);
        let rs1_f = field(15, 20);
        let rs2_f = field(20, 25);
        let f7 = field(25, 32);
        let mut flags = Vec::with_capacity(NUM_OPS);
        for op in ALL_OPS {
            let v = native.as_ref().map(|n| n.op == Some(op));
            flags.push(b.bit(v)?);
        }
        let fl = |op: Op| flags[op as usize].clone();
        let any = |ops: &[Op]| sum(&ops.iter().map(|o| fl(*o)).collect::<Vec<_>>());
        b.eq(&sum(&flags), &one);
        // opcode is fixed by every op: linear
        let opc = ALL_OPS.iter().fold(Lc::zero(), |acc, op| {
            acc.add(&fl(*op).scale_u64(op.pattern().0 as u64))
        });
        b.eq(&opcode, &opc);
        for (which, fld) in [(3u8, &f3), (7u8, &f7)] {
            let mut fixed = Lc::zero();
            let mut want = Lc::zero();
            for op in ALL_OPS {
                let (_, p3, p7) = op.pattern();
                let p = if which == 3 { p3 } else { p7 };
                if let Some(p) = p {
                    fixed = fixed.add(&fl(op));
                    want = want.add(&fl(op).scale_u64(p as u64));
                }
            }
            b.enforce(&fixed, fld, &want);
        }
        let is_ecall = any(&[Op::EcallExit, Op::EcallWrite, Op::EcallRead]);
        b.zero_if(
            &is_ecall,
            &insn.sub(&Lc::from_u64(crate::decode::ECALL as u64)),
        );
        // padding exactly when halted
        b.eq(&fl(Op::Pad), &s.halted);
        let active = one.sub(&fl(Op::Pad));
        // system call number and file descriptor checks
        let a0 = s.regs[10].clone();
        let a1 = s.regs[11].clone();
        let a2 = s.regs[12].clone();
        let a7 = s.regs[17].clone();
        b.zero_if(&fl(Op::EcallExit), &a7.sub(&Lc::from_u64(SYS_EXIT as u64)));
        b.zero_if(
            &fl(Op::EcallWrite),
            &a7.sub(&Lc::from_u64(SYS_WRITE as u64)),
        );
        b.zero_if(&fl(Op::EcallRead), &a7.sub(&Lc::from_u64(SYS_READ as u64)));
        b.zero_if(&fl(Op::EcallWrite), &a0.sub(&one));
        b.zero_if(&fl(Op::EcallRead), &a0);

        // ---- immediates (linear in instruction bits)
        let sign = ib[31].clone();
        let sum_bits = |pairs: &[(usize, u32)]| {
            pairs.iter().fold(Lc::zero(), |acc, (bit, pos)| {
                acc.add(&ib[*bit].scale(pow2(*pos)))
            })
        };
        let ext = |lc: Lc<F>, from: u32| lc.add(&sign.scale(k32 - pow2::<F>(from)));
        let imm_i = ext(
            sum_bits(&(0..11).map(|j| (20 + j, j as u32)).collect::<Vec<_>>()),
            11,
        );
        let mut s_pairs: Vec<(usize, u32)> = (0..5).map(|j| (7 + j, j as u32)).collect();
        s_pairs.extend((0..6).map(|j| (25 + j, 5 + j as u32)));
        let imm_s = ext(sum_bits(&s_pairs), 11);
        let mut b_pairs: Vec<(usize, u32)> = (0..4).map(|j| (8 + j, 1 + j as u32)).collect();
        b_pairs.extend((0..6).map(|j| (25 + j, 5 + j as u32)));
        b_pairs.push((7, 11));
        let imm_b = ext(sum_bits(&b_pairs), 12);
        let imm_u = sum_bits(&(12..32).map(|j| (j, j as u32)).collect::<Vec<_>>());
        let mut j_pairs: Vec<(usize, u32)> = (0..10).map(|j| (21 + j, 1 + j as u32)).collect();
        j_pairs.push((20, 11));
        j_pairs.extend((0..8).map(|j| (12 + j, 12 + j as u32)));
        let imm_j = ext(sum_bits(&j_pairs), 20);

        // ---- register reads (one-hot over the state registers)
        let rs1_idx = hint.map(|h| ((h.insn >> 15) & 31) as u64);
        let rs2_idx = hint.map(|h| ((h.insn >> 20) & 31) as u64);
        let a = read_reg(b, &s.regs, rs1_idx, &rs1_f)?;
        let rv2 = read_reg(b, &s.regs, rs2_idx, &rs2_f)?;
        let a_bits = b.bits(&a, 32)?;
        let is_imm = any(&IMM_ALU_OPS);
        let t = b.mul(&is_imm, &imm_i.sub(&rv2))?;
        let op2 = rv2.add(&t);
        let o_bits = b.bits(&op2, 32)?;
        let a31 = a_bits[31].clone();
        let o31 = o_bits[31].clone();

        // ---- rd value (always range-checked) and aux words
        let rd_val = native.as_ref().map(|n| {
            let d = match tamper {
                Some(Tamper::RdValue { delta, .. }) => delta,
                _ => 0,
            };
            (n.rd_val as u64).wrapping_add(d) & 0xffff_ffff
        });
        let rd = b.alloc_u64(rd_val)?;
        let rd_bits = b.bits(&rd, 32)?;
        let _ = rd_bits;
        let mut aux = Vec::new();
        for i in 0..3 {
            let v = b.alloc_u64(native.as_ref().map(|n| n.aux[i] as u64))?;
            b.range(&v, 32)?;
            aux.push(v);
        }
        let mut results: Vec<(Lc<F>, Lc<F>)> = Vec::new();

        // ---- comparison unit
        let diff = a.sub(&op2).add_const(k32);
        let diff_bits = b.bits(&diff, 33)?;
        let sub_res = pack_bits(&diff_bits[..32]);
        let lt_u = one.sub(&diff_bits[32]);
        let eq = b.is_zero(&a.sub(&op2))?;
        let ao = b.mul(&a31, &o31)?;
        let sdiff = a31.add(&o31).sub(&ao.scale_u64(2));
        let t = b.mul(&sdiff, &a31.sub(&lt_u))?;
        let lt_s = lt_u.add(&t);
        results.push((any(&[Op::Sub]), sub_res));
        results.push((any(&[Op::Sltu, Op::Sltiu]), lt_u.clone()));
        results.push((any(&[Op::Slt, Op::Slti]), lt_s.clone()));
        // ADD: a + op2 = rd + 2^32 · carry
        let carry = b.bit(native.as_ref().map(|n| n.add_carry))?;
        b.zero_if(
            &any(&[Op::Add, Op::Addi]),
            &a.add(&op2).sub(&rd).sub(&carry.scale(k32)),
        );
        // ---- bitwise
        let mut and_bits = Vec::new();
        for i in 0..32 {
            and_bits.push(b.mul(&a_bits[i], &o_bits[i])?);
        }
        let and_v = pack_bits(&and_bits);
        let a_v = pack_bits(&a_bits);
        let o_v = pack_bits(&o_bits);
        results.push((any(&[Op::And, Op::Andi]), and_v.clone()));
        results.push((any(&[Op::Or, Op::Ori]), a_v.add(&o_v).sub(&and_v)));
        results.push((
            any(&[Op::Xor, Op::Xori]),
            a_v.add(&o_v).sub(&and_v.scale_u64(2)),
        ));
        // ---- shifts: pow = 2^(op2 & 31)
        let mut pow = one.add(&o_bits[0]);
        for (j, e) in [(1usize, 3u64), (2, 15), (3, 255), (4, 65535)] {
            pow = b.mul(&pow, &one.add(&o_bits[j].scale_u64(e)))?;
        }
        let m1 = b.mul(&a, &pow)?;
        b.zero_if(
            &any(&[Op::Sll, Op::Slli]),
            &m1.sub(&rd).sub(&aux[0].scale(k32)),
        );
        let is_sra = any(&[Op::Sra, Op::Srai]);
        let is_sr = any(&[Op::Srl, Op::Srli, Op::Sra, Op::Srai]);
        let tsra = b.mul(&is_sra, &a31)?;
        let m2 = b.mul(&rd.sub(&tsra.scale(k32)), &pow)?;
        b.zero_if(&is_sr, &a.sub(&tsra.scale(k32)).sub(&m2).sub(&aux[0]));
        b.zero_if(&is_sr, &pow.sub(&one).sub(&aux[0]).sub(&aux[1]));
        // ---- multiply: a_ext · b_ext = lo + 2^32 hi + 2^64 aux1 + 2^96 aux2
        let k64m32 = pow2::<F>(64) - k32;
        let sa = b.mul(&any(&[Op::Mulh, Op::Mulhsu]), &a31)?;
        let sb = b.mul(&fl(Op::Mulh), &o31)?;
        let a_ext = a.add(&sa.scale(k64m32));
        let b_ext = op2.add(&sb.scale(k64m32));
        let prod = b.mul(&a_ext, &b_ext)?;
        let top = aux[1].scale(pow2(64)).add(&aux[2].scale(pow2(96)));
        b.zero_if(
            &fl(Op::Mul),
            &prod.sub(&rd).sub(&aux[0].scale(k32)).sub(&top),
        );
        b.zero_if(
            &any(&[Op::Mulh, Op::Mulhsu, Op::Mulhu]),
            &prod.sub(&aux[0]).sub(&rd.scale(k32)).sub(&top),
        );
        // ---- divide: |a| = q'·|b| + r', r' < |b| unless b = 0
        let is_div = any(&[Op::Div, Op::Divu, Op::Rem, Op::Remu]);
        let signed = any(&[Op::Div, Op::Rem]);
        let dsa = b.mul(&signed, &a31)?;
        let dsb = b.mul(&signed, &o31)?;
        let t = b.mul(&dsa, &a)?;
        let abs_a = a.add(&dsa.scale(k32)).sub(&t.scale_u64(2));
        let t = b.mul(&dsb, &op2)?;
        let abs_b = op2.add(&dsb.scale(k32)).sub(&t.scale_u64(2));
        let (q, r) = (aux[0].clone(), aux[1].clone());
        let qb = b.mul(&q, &abs_b)?;
        b.zero_if(&is_div, &abs_a.sub(&qb).sub(&r));
        let bz = b.is_zero(&op2)?;
        let dz = b.mul(&is_div, &bz)?;
        b.zero_if(&is_div.sub(&dz), &abs_b.sub(&one).sub(&r).sub(&aux[2]));
        b.zero_if(&dz, &q.sub(&Lc::from_u64(0xffff_ffff)));
        let ss = b.mul(&dsa, &dsb)?;
        let sq_raw = dsa.add(&dsb).sub(&ss.scale_u64(2));
        let t = b.mul(&sq_raw, &bz)?;
        let sq = sq_raw.sub(&t);
        let qz = b.is_zero(&q)?;
        let rz = b.is_zero(&r)?;
        let negq = one.sub(&qz).scale(k32).sub(&q);
        let negr = one.sub(&rz).scale(k32).sub(&r);
        let t = b.mul(&sq, &negq.sub(&q))?;
        let q_out = q.add(&t);
        let t = b.mul(&dsa, &negr.sub(&r))?;
        let r_out = r.add(&t);
        results.push((any(&[Op::Div, Op::Divu]), q_out));
        results.push((any(&[Op::Rem, Op::Remu]), r_out));

        // ---- ecall I/O micro-steps
        let io_w = fl(Op::EcallWrite);
        let io_r = fl(Op::EcallRead);
        let d1 = b.is_zero(&a2.sub(&s.io_i))?;
        let d2 = b.is_zero(&in_len.sub(&s.in_pos))?;
        let d12 = b.mul(&d1, &d2)?;
        let done_r = d1.add(&d2).sub(&d12);
        let w_done = b.mul(&io_w, &d1)?;
        let r_done = b.mul(&io_r, &done_r)?;
        let done_sel = w_done.add(&r_done);
        let io_w_act = io_w.sub(&w_done);
        let io_r_act = io_r.sub(&r_done);
        let io_act = io_w_act.add(&io_r_act);
        b.zero_if(&done_sel, &rd.sub(&s.io_i));

        // ---- address generation: base + imm (mod 2^32)
        let g_rs1 = any(&[&[Op::Jalr][..], &LOAD_OPS, &STORE_OPS].concat());
        let g_pc_b = any(&[Op::Beq, Op::Bne, Op::Blt, Op::Bge, Op::Bltu, Op::Bgeu]);
        let g_pc = g_pc_b.add(&fl(Op::Jal)).add(&fl(Op::Auipc));
        let g_io = io_w.add(&io_r);
        let pc_byte = s.pcw.scale_u64(4);
        let base = b
            .mul(&g_rs1, &a)?
            .add(&b.mul(&g_pc, &pc_byte)?)
            .add(&b.mul(&g_io, &a1)?);
        let g_i = any(&[&[Op::Jalr][..], &LOAD_OPS].concat());
        let g_s = any(&STORE_OPS);
        let imm = b
            .mul(&g_i, &imm_i)?
            .add(&b.mul(&g_s, &imm_s)?)
            .add(&b.mul(&g_pc_b, &imm_b)?)
            .add(&b.mul(&fl(Op::Jal), &imm_j)?)
            .add(&b.mul(&fl(Op::Auipc), &imm_u)?)
            .add(&b.mul(&g_io, &s.io_i)?);
        let agu_bits = b.bits(&base.add(&imm), 33)?;
        let agu = pack_bits(&agu_bits[..32]);
        let tgt_w = pack_bits(&agu_bits[2..32]);
        let waddr = tgt_w.clone();
        results.push((fl(Op::Auipc), agu.clone()));
        results.push((fl(Op::Lui), imm_u.clone()));

        // ---- branches and next pc
        let t1 = b.mul(&fl(Op::Beq).sub(&fl(Op::Bne)), &eq)?;
        let t2 = b.mul(&fl(Op::Blt).sub(&fl(Op::Bge)), &lt_s)?;
        let t3 = b.mul(&fl(Op::Bltu).sub(&fl(Op::Bgeu)), &lt_u)?;
        let taken = t1
            .add(&t2)
            .add(&t3)
            .add(&fl(Op::Bne))
            .add(&fl(Op::Bge))
            .add(&fl(Op::Bgeu));
        let jump = taken.add(&fl(Op::Jal)).add(&fl(Op::Jalr));
        // a taken jump target must be 4-aligned (bit 0 is 0 for JAL/B, cleared for JALR)
        b.zero_if(&jump, &agu_bits[1]);
        let wrap = b.is_zero(&s.pcw.sub(&Lc::constant(pow2::<F>(ADDR_BITS) - F::ONE)))?;
        let seq = s.pcw.add(&one).sub(&wrap.scale(pow2(ADDR_BITS)));
        results.push((any(&[Op::Jal, Op::Jalr]), seq.scale_u64(4)));
        let hold = fl(Op::Pad).add(&io_act);
        let pcw_next = seq
            .add(&b.mul(&jump, &tgt_w.sub(&seq))?)
            .add(&b.mul(&hold, &s.pcw.sub(&seq))?);

        // ---- data memory access (loads, stores, one I/O byte)
        let is_load = any(&LOAD_OPS);
        let is_store = any(&[Op::Sb, Op::Sh, Op::Sw]);
        let is_half = any(&[Op::Lh, Op::Lhu, Op::Sh]);
        let is_word = any(&[Op::Lw, Op::Sw]);
        b.zero_if(&is_half.add(&is_word), &agu_bits[0]);
        b.zero_if(&is_word, &agu_bits[1]);
        let old = b.alloc_u64(hint.map(|h| h.mem_old as u64))?;
        let ob = b.bits(&old, 32)?;
        let l3 = b.mul(&agu_bits[0], &agu_bits[1])?;
        let lanes = [
            one.sub(&agu_bits[0]).sub(&agu_bits[1]).add(&l3),
            agu_bits[0].sub(&l3),
            agu_bits[1].sub(&l3),
            l3,
        ];
        let byte = |i: usize| pack_bits(&ob[8 * i..8 * i + 8]);
        let mut bsel = Lc::zero();
        let mut bsign = Lc::zero();
        for (i, l) in lanes.iter().enumerate() {
            bsel = bsel.add(&b.mul(l, &byte(i))?);
            bsign = bsign.add(&b.mul(l, &ob[8 * i + 7])?);
        }
        let h0 = pack_bits(&ob[0..16]);
        let h1 = pack_bits(&ob[16..32]);
        let hsel = h0.add(&b.mul(&agu_bits[1], &h1.sub(&h0))?);
        let hsign = ob[15].add(&b.mul(&agu_bits[1], &ob[31].sub(&ob[15]))?);
        results.push((fl(Op::Lbu), bsel.clone()));
        results.push((fl(Op::Lb), bsel.add(&bsign.scale(k32 - pow2::<F>(8)))));
        results.push((fl(Op::Lhu), hsel.clone()));
        results.push((fl(Op::Lh), hsel.add(&hsign.scale(k32 - pow2::<F>(16)))));
        results.push((fl(Op::Lw), old.clone()));
        // input byte (read micro-step only)
        let in_byte = b.alloc_u64(hint.map(|h| h.in_byte as u64))?;
        b.range(&in_byte, 8)?;
        b.zero_if(&one.sub(&io_r_act), &in_byte);
        // store data: byte from op2 (rs2) or the input byte
        let sbyte = pack_bits(&o_bits[..8]).add(&in_byte);
        let shalf = pack_bits(&o_bits[..16]);
        let mut dbyte = Lc::zero();
        for (i, l) in lanes.iter().enumerate() {
            let t = b.mul(l, &sbyte.sub(&byte(i)))?;
            dbyte = dbyte.add(&t.scale(pow2(8 * i as u32)));
        }
        let dh0 = shalf.sub(&h0);
        let dh1 = shalf.sub(&h1).scale(pow2(16));
        let dhalf = dh0.add(&b.mul(&agu_bits[1], &dh1.sub(&dh0))?);
        let new = old
            .add(&b.mul(&fl(Op::Sb).add(&io_r_act), &dbyte)?)
            .add(&b.mul(&fl(Op::Sh), &dhalf)?)
            .add(&b.mul(&fl(Op::Sw), &op2.sub(&old))?);
        let en_d = is_load.add(&is_store).add(&io_act);

        // ---- memory fingerprints (fetch, then data)
        let ts2 = s.ts.scale_u64(2);
        let t_now_f = ts2.add_const(F::ONE);
        let t_now_d = ts2.add_const(F::from(2));
        let t_fetch = b.alloc_u64(hint.map(|h| h.t_fetch))?;
        let t_mem = b.alloc_u64(hint.map(|h| h.t_mem))?;
        b.range(&t_now_f.sub(&one).sub(&t_fetch), TS_BITS)?;
        b.range(&t_now_d.sub(&one).sub(&t_mem), TS_BITS)?;
        let mut fp_r = s.fp_r.clone();
        let mut fp_w = s.fp_w.clone();
        for (en, addr, v_old, v_new, t_old, t_now) in [
            (&active, &s.pcw, &insn, &insn, &t_fetch, &t_now_f),
            (&en_d, &waddr, &old, &new, &t_mem, &t_now_d),
        ] {
            let er = gamma.sub(&enc(addr, v_old, t_old));
            let fr = one.add(&b.mul(en, &er.sub(&one))?);
            fp_r = b.mul(&fp_r, &fr)?;
            let ew = gamma.sub(&enc(addr, v_new, t_now));
            let fw = one.add(&b.mul(en, &ew.sub(&one))?);
            fp_w = b.mul(&fp_w, &fw)?;
        }

        // ---- I/O fingerprint
        let enc_out = bsel
            .add(&s.out_pos.scale_u64(256))
            .add_const(F::from(IO_TAG_OUT));
        let enc_in = in_byte
            .add(&s.in_pos.scale_u64(256))
            .add_const(F::from(IO_TAG_IN));
        let p1 = b.mul(&io_w_act, &gamma.sub(&enc_out))?;
        let p2 = b.mul(&io_r_act, &gamma.sub(&enc_in))?;
        let f_io = one.sub(&io_act).add(&p1).add(&p2);
        let fp_io = b.mul(&s.fp_io, &f_io)?;

        // ---- rd result constraints and register write-back
        for (flag, res) in &results {
            b.zero_if(flag, &rd.sub(res));
        }
        // Every op that writes rd in the ordinary way (not ECALL's a0).
        let wen_norm = any(&[
            &[Op::Lui, Op::Auipc, Op::Jal, Op::Jalr][..],
            &LOAD_OPS,
            &IMM_ALU_OPS,
            &[
                Op::Add,
                Op::Sub,
                Op::Sll,
                Op::Slt,
                Op::Sltu,
                Op::Xor,
                Op::Srl,
                Op::Sra,
                Op::Or,
                Op::And,
                Op::Mul,
                Op::Mulh,
                Op::Mulhsu,
                Op::Mulhu,
                Op::Div,
                Op::Divu,
                Op::Rem,
                Op::Remu,
            ],
        ]
        .concat());
        let wen = wen_norm.add(&done_sel);
        let widx = b.mul(&rd_f, &wen_norm)?.add(&done_sel.scale_u64(10));
        let widx_v = native.as_ref().map(|n| match n.op {
            Some(Op::EcallWrite | Op::EcallRead) => 10,
            _ => hint.map(|h| ((h.insn >> 7) & 31) as u64).unwrap_or(0),
        });
        let sel = b.one_hot(widx_v, 32, &widx, &wen)?;
        let mut regs = vec![s.regs[0].clone()];
        for (sj, rj) in sel.iter().zip(&s.regs).skip(1) {
            let t = b.mul(sj, &rd.sub(rj))?;
            regs.push(rj.add(&t));
        }

        // ---- halting, counters
        let halted = s.halted.add(&fl(Op::EcallExit));
        let exit = s.exit.add(&b.mul(&fl(Op::EcallExit), &a0.sub(&s.exit))?);
        let cycles = s.cycles.add(&active).sub(&io_act);
        let io_i = s.io_i.add(&io_act).sub(&b.mul(&done_sel, &s.io_i)?);
        let packed = insn
            .add(&t_fetch.scale(pow2(32)))
            .add(&old.scale(pow2(64)))
            .add(&t_mem.scale(pow2(96)))
            .add(&in_byte.scale(pow2(128)));
        Ok((
            State {
                regs,
                pcw: pcw_next,
                halted,
                exit,
                cycles,
                ts: s.ts.add(&one),
                io_i,
                in_pos: s.in_pos.add(&io_r_act),
                out_pos: s.out_pos.add(&io_w_act),
                fp_r,
                fp_w,
                fp_io,
            },
            packed,
        ))
    }

    #[allow(clippy::type_complexity)]
    fn audit_row<F: PrimeField, CS: ConstraintSystem<F>>(
        &self,
        b: &mut Builder<'_, F, CS>,
        next: Lc<F>,
        fps: (Lc<F>, Lc<F>, Lc<F>),
        gamma: &Lc<F>,
        row: Option<AuditRow>,
    ) -> Result<(Lc<F>, (Lc<F>, Lc<F>, Lc<F>), Lc<F>), SynthesisError> {
        let one = Lc::<F>::constant(F::ONE);
        let act = b.bit(row.map(|r| r.active))?;
        let addr = b.alloc_u64(row.map(|r| r.addr as u64))?;
        b.range(&addr, ADDR_BITS)?;
        let init = b.alloc_u64(row.map(|r| r.init as u64))?;
        b.range(&init, 32)?;
        let fin = b.alloc_u64(row.map(|r| r.fin as u64))?;
        b.range(&fin, 32)?;
        let tf = b.alloc_u64(row.map(|r| r.t_fin))?;
        b.range(&tf, TS_BITS)?;
        let d = b.mul(&act, &addr.sub(&next))?;
        b.range(&d, ADDR_BITS)?;
        let next = next.add(&d).add(&act);
        let (fp_r, fp_w, fp_img) = fps;
        let zero = Lc::zero();
        let e_init = gamma.sub(&enc(&addr, &init, &zero));
        let e_fin = gamma.sub(&enc(&addr, &fin, &tf));
        let fw = one.add(&b.mul(&act, &e_init.sub(&one))?);
        let fp_w = b.mul(&fp_w, &fw)?;
        let fr = one.add(&b.mul(&act, &e_fin.sub(&one))?);
        let fp_r = b.mul(&fp_r, &fr)?;
        let iz = b.is_zero(&init)?;
        let g = b.mul(&act, &one.sub(&iz))?;
        let fi = one.add(&b.mul(&g, &e_init.sub(&one))?);
        let fp_img = b.mul(&fp_img, &fi)?;
        let packed = addr
            .add(&init.scale(pow2(30)))
            .add(&fin.scale(pow2(62)))
            .add(&tf.scale(pow2(94)))
            .add(&act.scale(pow2(126)));
        Ok((next, (fp_r, fp_w, fp_img), packed))
    }
}

impl StepCircuit<crate::F> for ZkvmStep {
    fn arity(&self) -> usize {
        ARITY
    }

    fn synthesize<CS: ConstraintSystem<crate::F>>(
        &self,
        cs: &mut CS,
        z: &[AllocatedNum<crate::F>],
    ) -> Result<Vec<AllocatedNum<crate::F>>, SynthesisError> {
        if z.len() != ARITY {
            return Err(SynthesisError::Unsatisfiable(format!("arity {}", z.len())));
        }
        let zl: Vec<Lc<crate::F>> = z.iter().map(Lc::from_num).collect();
        let gamma = zl[Z_GAMMA].clone();
        let in_len = zl[Z_IN_LEN].clone();
        let mut packed = Vec::new();
        let mut st = State {
            regs: zl[..32].to_vec(),
            pcw: zl[Z_PCW].clone(),
            halted: zl[Z_HALTED].clone(),
            exit: zl[Z_EXIT].clone(),
            cycles: zl[Z_CYCLES].clone(),
            ts: zl[Z_TS].clone(),
            io_i: zl[Z_IO_I].clone(),
            in_pos: zl[Z_IN_POS].clone(),
            out_pos: zl[Z_OUT_POS].clone(),
            fp_r: zl[Z_FP_R].clone(),
            fp_w: zl[Z_FP_W].clone(),
            fp_io: zl[Z_FP_IO].clone(),
        };
        let mut fp_img = zl[Z_FP_IMG].clone();
        let mut next = zl[Z_AUDIT_NEXT].clone();
        let mut out_nums: Vec<AllocatedNum<crate::F>>;
        {
            let mut b = Builder::new(cs);
            for i in 0..self.k {
                let (s2, p) = self.slot(&mut b, st, &gamma, &in_len, self.slot_hint(i), i)?;
                st = s2;
                packed.push(p);
            }
            for i in 0..self.m {
                let (n2, fps, p) = self.audit_row(
                    &mut b,
                    next,
                    (st.fp_r.clone(), st.fp_w.clone(), fp_img.clone()),
                    &gamma,
                    self.audit_hint(i),
                )?;
                next = n2;
                st.fp_r = fps.0;
                st.fp_w = fps.1;
                fp_img = fps.2;
                packed.push(p);
            }
            let mut nums = Vec::with_capacity(packed.len());
            for p in &packed {
                nums.push(b.to_num(p)?);
            }
            packed.clear();
            let mut outs: Vec<Lc<crate::F>> = st.regs.clone();
            outs.extend([
                st.pcw, st.halted, st.exit, st.cycles, st.ts, st.io_i, st.in_pos, st.out_pos,
            ]);
            out_nums = Vec::with_capacity(ARITY);
            for (i, o) in outs.iter().enumerate() {
                if i == 0 {
                    out_nums.push(z[0].clone());
                } else {
                    out_nums.push(b.to_num(o)?);
                }
            }
            out_nums.push(z[Z_IN_LEN].clone());
            out_nums.push(z[Z_GAMMA].clone());
            for o in [&st.fp_r, &st.fp_w, &fp_img, &st.fp_io, &next] {
                out_nums.push(b.to_num(o)?);
            }
            // hash chain over all hints
            let mut h = z[Z_DIGEST].clone();
            for (ci, chunk) in nums.chunks(HASH_RATE).enumerate() {
                let mut input = vec![h];
                input.extend(chunk.iter().cloned());
                h = hash_circuit(
                    &mut b.cs.namespace(|| format!("hash{ci}")),
                    &self.constants,
                    &input,
                )?;
            }
            out_nums.push(h);
        }
        debug_assert_eq!(out_nums.len(), ARITY);
        Ok(out_nums)
    }
}
