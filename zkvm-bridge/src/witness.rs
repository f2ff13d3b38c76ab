//! First pass of the prover: execute, record every slot's hints and the memory audit, hash
//! them (the commitment the Fiat–Shamir challenge is drawn from), and build the public values.

use std::collections::{BTreeMap, BTreeSet};

use ff::Field;
use sha2::{Digest, Sha256};

use crate::circuit::{
    hash_constants, hash_native, pack_audit, pack_slot, AuditRow, SlotHint, StepHints, ARITY,
    HASH_RATE, IO_TAG_IN, IO_TAG_OUT, Z_AUDIT_NEXT, Z_CYCLES, Z_DIGEST, Z_EXIT, Z_FP_IMG, Z_FP_IO,
    Z_FP_R, Z_FP_W, Z_GAMMA, Z_HALTED, Z_IN_LEN, Z_IN_POS, Z_IO_I, Z_OUT_POS, Z_PCW,
};
use crate::cpu::Cpu;
use crate::decode::Op;
use crate::elf::Program;
use crate::exec::{step, ExecError};
use crate::gadgets::pow2;
use crate::F;

/// Most slots (instructions plus I/O micro-steps) one proof may cover: timestamps `2·slot+2`
/// must stay below `2^32`.
pub const MAX_SLOTS: u64 = (1 << 31) - 2;
/// Largest input or output accepted by the prover (positions are encoded in 32 bits); the
/// interpreter enforces the same bound.
pub use crate::exec::MAX_IO_BYTES;
/// Domain separator of the Fiat–Shamir challenge.
pub const FS_DOMAIN: &[u8] = b"nexus-zkvm/v1/gamma";

/// Why a program cannot be proved.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WitnessError {
    #[error("execution failed: {0}")]
    Exec(#[from] ExecError),
    #[error("instruction {insn:#010x} at pc {pc:#x} is not supported by the prover")]
    Unsupported { pc: u32, insn: u32 },
    #[error("the run needs more than {MAX_SLOTS} circuit slots")]
    TooLong,
    #[error("input or output longer than {MAX_IO_BYTES} bytes")]
    IoTooLarge,
}

/// Public values of one proved run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicValues {
    /// SHA-256 of the ELF file.
    pub program_hash: [u8; 32],
    pub input_hash: [u8; 32],
    pub output: Vec<u8>,
    pub exit_code: u32,
    pub cycles: u64,
}

/// Everything the folding prover needs.
#[derive(Debug, Clone)]
pub struct Witness {
    pub steps: Vec<StepHints>,
    pub public: PublicValues,
    /// Final value of the hint hash chain.
    pub digest: F,
    pub z0: Vec<F>,
}

pub fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// A field element from 31 bytes of a hash (always canonical).
fn field_from_hash(h: &[u8; 32]) -> F {
    use ff::PrimeField;
    let mut repr = <F as PrimeField>::Repr::default();
    repr.as_mut()[..31].copy_from_slice(&h[..31]);
    // 248 bits < modulus: always canonical.
    Option::from(F::from_repr(repr)).unwrap_or(F::ZERO)
}

/// Canonical 32-byte encoding of a field element.
pub fn field_bytes(f: &F) -> [u8; 32] {
    use ff::PrimeField;
    let mut out = [0u8; 32];
    out.copy_from_slice(f.to_repr().as_ref());
    out
}

/// Decodes a canonical field element.
pub fn field_from_bytes(b: &[u8; 32]) -> Option<F> {
    use ff::PrimeField;
    let mut repr = <F as PrimeField>::Repr::default();
    repr.as_mut().copy_from_slice(b);
    Option::from(F::from_repr(repr))
}

/// γ = H(domain, k, m, program hash, input hash, output hash, exit code, cycles, digest).
pub fn challenge(k: usize, m: usize, public: &PublicValues, digest: &F) -> F {
    let mut h = Sha256::new();
    h.update(FS_DOMAIN);
    h.update((k as u64).to_le_bytes());
    h.update((m as u64).to_le_bytes());
    h.update(public.program_hash);
    h.update(public.input_hash);
    h.update(sha256(&public.output));
    h.update(public.exit_code.to_le_bytes());
    h.update(public.cycles.to_le_bytes());
    h.update(field_bytes(digest));
    field_from_hash(&h.finalize().into())
}

/// Initial IVC state.
pub fn initial_state(program: &Program, input_len: usize, gamma: F) -> Vec<F> {
    let mut z = vec![F::ZERO; ARITY];
    z[Z_PCW] = F::from((program.entry / 4) as u64);
    z[Z_IN_LEN] = F::from(input_len as u64);
    z[Z_GAMMA] = gamma;
    z[Z_FP_R] = F::ONE;
    z[Z_FP_W] = F::ONE;
    z[Z_FP_IMG] = F::ONE;
    z[Z_FP_IO] = F::ONE;
    z[Z_AUDIT_NEXT] = F::ZERO;
    z[Z_DIGEST] = F::ZERO;
    z
}

/// Non-zero initial memory words `(word address, value)`, sorted.
pub fn image_words(program: &Program) -> BTreeMap<u32, u32> {
    let cpu = Cpu::new(program, Vec::new(), false);
    let mut words = BTreeMap::new();
    for seg in &program.segments {
        let first = seg.vaddr / 4;
        let last = (seg.vaddr as u64 + seg.data.len() as u64).div_ceil(4);
        for w in first as u64..last {
            let v = cpu.mem.read((w as u32).wrapping_mul(4), 4);
            if v != 0 {
                words.insert(w as u32, v);
            }
        }
    }
    words
}

fn enc(addr: u64, val: u64, ts: u64) -> F {
    F::from(addr) + pow2::<F>(30) * F::from(val) + pow2::<F>(62) * F::from(ts)
}

/// `∏ (γ - enc(addr, value, 0))` over the non-zero image words.
pub fn image_fingerprint(program: &Program, gamma: F) -> F {
    image_words(program).iter().fold(F::ONE, |acc, (a, v)| {
        acc * (gamma - enc(*a as u64, *v as u64, 0))
    })
}

/// Fingerprint of the first `consumed` input bytes and all output bytes.
pub fn io_fingerprint(input: &[u8], consumed: usize, output: &[u8], gamma: F) -> F {
    let mut acc = F::ONE;
    for (i, b) in input.iter().take(consumed).enumerate() {
        acc *= gamma - F::from(*b as u64 + 256 * i as u64 + IO_TAG_IN);
    }
    for (i, b) in output.iter().enumerate() {
        acc *= gamma - F::from(*b as u64 + 256 * i as u64 + IO_TAG_OUT);
    }
    acc
}

struct Recorder {
    last: BTreeMap<u32, u64>,
    slots: Vec<SlotHint>,
}

impl Recorder {
    fn ts(&self) -> u64 {
        self.slots.len() as u64
    }

    fn fetch(&mut self, pcw: u32) -> u64 {
        let t_now = 2 * self.ts() + 1;
        self.last.insert(pcw, t_now).unwrap_or(0)
    }

    fn data(&mut self, w: u32) -> u64 {
        let t_now = 2 * self.ts() + 2;
        self.last.insert(w, t_now).unwrap_or(0)
    }

    fn no_data(&self) -> u64 {
        2 * self.ts() + 1
    }
}

fn sext12(v: u32) -> u32 {
    (((v << 20) as i32) >> 20) as u32
}

/// Executes `program` on `input` and records the prover's hints for `k` slots and `m` audit
/// rows per step.
pub fn generate(
    program: &Program,
    elf_bytes: &[u8],
    input: &[u8],
    k: usize,
    m: usize,
    max_cycles: u64,
) -> Result<Witness, WitnessError> {
    if input.len() > MAX_IO_BYTES {
        return Err(WitnessError::IoTooLarge);
    }
    let mut cpu = Cpu::new(program, input.to_vec(), false);
    let mut rec = Recorder {
        last: BTreeMap::new(),
        slots: Vec::new(),
    };
    let exit_code = loop {
        if cpu.cycles >= max_cycles {
            return Err(ExecError::CycleLimitExceeded(max_cycles).into());
        }
        if rec.ts() >= MAX_SLOTS {
            return Err(WitnessError::TooLong);
        }
        let pc = cpu.pc;
        if !pc.is_multiple_of(4) {
            // exec::step reports the exact error.
            step(&mut cpu)?;
            return Err(ExecError::MisalignedJump { pc, target: pc }.into());
        }
        let insn = cpu.mem.read(pc, 4);
        let op = Op::decode(insn, cpu.reg(17));
        let pcw = pc / 4;
        match op {
            Some(Op::EcallWrite | Op::EcallRead)
                if cpu.reg(10) == (op == Some(Op::EcallWrite)) as u32 =>
            {
                let a1 = cpu.reg(11);
                let a2 = cpu.reg(12);
                let n = if op == Some(Op::EcallWrite) {
                    a2 as u64
                } else {
                    (a2 as u64).min((input.len() - cpu.input_pos) as u64)
                };
                if rec.ts() + n + 1 >= MAX_SLOTS {
                    return Err(WitnessError::TooLong);
                }
                if cpu.output.len() as u64 + n > MAX_IO_BYTES as u64 {
                    return Err(WitnessError::IoTooLarge);
                }
                for i in 0..n as u32 {
                    let addr = a1.wrapping_add(i);
                    let w = addr / 4;
                    let t_fetch = rec.fetch(pcw);
                    let mem_old = cpu.mem.read(w.wrapping_mul(4), 4);
                    let t_mem = rec.data(w);
                    let in_byte = if op == Some(Op::EcallRead) {
                        let b = input[cpu.input_pos + i as usize];
                        // The ecall below writes the same bytes; it must not find their
                        // pages already there, so the limit is checked here.
                        crate::exec::check_page(&cpu, pc, addr)?;
                        cpu.mem.write_u8(addr, b);
                        b
                    } else {
                        0
                    };
                    rec.slots.push(SlotHint {
                        insn,
                        t_fetch,
                        mem_old,
                        t_mem,
                        in_byte,
                    });
                }
            }
            Some(_) => {}
            None => {
                // Let the interpreter name the error; if it accepts the instruction, the
                // prover does not support it.
                step(&mut cpu)?;
                return Err(WitnessError::Unsupported { pc, insn });
            }
        }
        // The instruction's own slot (for read/write: the final, register-writing one).
        let t_fetch = rec.fetch(pcw);
        let data_addr = match op {
            Some(Op::Lb | Op::Lh | Op::Lw | Op::Lbu | Op::Lhu) => {
                Some(cpu.reg((insn >> 15) & 31).wrapping_add(sext12(insn >> 20)))
            }
            Some(Op::Sb | Op::Sh | Op::Sw) => {
                let imm = ((insn >> 25) << 5) | ((insn >> 7) & 31);
                Some(cpu.reg((insn >> 15) & 31).wrapping_add(sext12(imm)))
            }
            _ => None,
        };
        let (mem_old, t_mem) = match data_addr {
            Some(addr)
                if addr.is_multiple_of(match op {
                    Some(Op::Lw | Op::Sw) => 4,
                    Some(Op::Lh | Op::Lhu | Op::Sh) => 2,
                    _ => 1,
                }) =>
            {
                let w = addr / 4;
                (cpu.mem.read(w.wrapping_mul(4), 4), rec.data(w))
            }
            _ => (0, rec.no_data()),
        };
        rec.slots.push(SlotHint {
            insn,
            t_fetch,
            mem_old,
            t_mem,
            in_byte: 0,
        });
        if let Some(code) = step(&mut cpu)? {
            break code;
        }
    };
    if cpu.output.len() > MAX_IO_BYTES {
        return Err(WitnessError::IoTooLarge);
    }

    // Memory audit: every touched word and every non-zero image word, by address.
    let init_cpu = Cpu::new(program, Vec::new(), false);
    let image = image_words(program);
    let addrs: BTreeSet<u32> = rec.last.keys().chain(image.keys()).copied().collect();
    let rows: Vec<AuditRow> = addrs
        .iter()
        .map(|w| AuditRow {
            active: true,
            addr: *w,
            init: init_cpu.mem.read(w.wrapping_mul(4), 4),
            fin: cpu.mem.read(w.wrapping_mul(4), 4),
            t_fin: rec.last.get(w).copied().unwrap_or(0),
        })
        .collect();

    let n_steps = rec
        .slots
        .len()
        .div_ceil(k)
        .max(rows.len().div_ceil(m))
        .max(1);
    if (n_steps * k) as u64 >= MAX_SLOTS {
        return Err(WitnessError::TooLong);
    }
    while rec.slots.len() < n_steps * k {
        let ts = rec.ts();
        rec.slots.push(SlotHint {
            insn: 0,
            t_fetch: 2 * ts,
            mem_old: 0,
            t_mem: 2 * ts + 1,
            in_byte: 0,
        });
    }
    let mut steps = Vec::with_capacity(n_steps);
    for s in 0..n_steps {
        let slots = rec.slots[s * k..(s + 1) * k].to_vec();
        let audit: Vec<AuditRow> = (0..m)
            .map(|i| rows.get(s * m + i).copied().unwrap_or_default())
            .collect();
        steps.push(StepHints { slots, audit });
    }
    let digest = hint_digest(&steps);
    let public = PublicValues {
        program_hash: sha256(elf_bytes),
        input_hash: sha256(input),
        output: cpu.output.clone(),
        exit_code,
        cycles: cpu.cycles,
    };
    let gamma = challenge(k, m, &public, &digest);
    let z0 = initial_state(program, input.len(), gamma);
    Ok(Witness {
        steps,
        public,
        digest,
        z0,
    })
}

/// The Poseidon hash chain over every step's packed hints (what the circuit recomputes).
pub fn hint_digest(steps: &[StepHints]) -> F {
    let consts = hash_constants();
    let mut digest = F::ZERO;
    for st in steps {
        let packed: Vec<F> = st
            .slots
            .iter()
            .map(pack_slot)
            .chain(st.audit.iter().map(pack_audit))
            .collect();
        for chunk in packed.chunks(HASH_RATE) {
            digest = hash_native(&consts, digest, chunk);
        }
    }
    digest
}

/// Recomputes the digest, the challenge and `z0` after the hints or public values changed
/// (what a cheating prover would do; used by the soundness tests).
#[doc(hidden)]
pub fn rebind(w: &mut Witness, program: &Program, input_len: usize, k: usize, m: usize) {
    w.digest = hint_digest(&w.steps);
    let gamma = challenge(k, m, &w.public, &w.digest);
    w.z0 = initial_state(program, input_len, gamma);
}

/// Why the final IVC state does not match the claimed public values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FinalStateError {
    #[error("final state has {0} elements, expected {ARITY}")]
    Arity(usize),
    #[error("the program did not halt")]
    NotHalted,
    #[error("memory fingerprints differ: memory was not consistent")]
    Memory,
    #[error("initial memory does not match the program image")]
    Image,
    #[error("input/output fingerprint mismatch")]
    Io,
    #[error("{0} does not match the claim")]
    Claim(&'static str),
}

/// The verifier's checks on the final IVC state `zn`.
pub fn check_final(
    zn: &[F],
    program: &Program,
    input: &[u8],
    public: &PublicValues,
    digest: &F,
    gamma: F,
) -> Result<(), FinalStateError> {
    if zn.len() != ARITY {
        return Err(FinalStateError::Arity(zn.len()));
    }
    if zn[Z_HALTED] != F::ONE {
        return Err(FinalStateError::NotHalted);
    }
    if zn[Z_DIGEST] != *digest {
        return Err(FinalStateError::Claim("hint digest"));
    }
    if zn[Z_FP_R] != zn[Z_FP_W] {
        return Err(FinalStateError::Memory);
    }
    if zn[Z_FP_IMG] != image_fingerprint(program, gamma) {
        return Err(FinalStateError::Image);
    }
    if zn[Z_EXIT] != F::from(public.exit_code as u64) {
        return Err(FinalStateError::Claim("exit code"));
    }
    if zn[Z_CYCLES] != F::from(public.cycles) {
        return Err(FinalStateError::Claim("cycle count"));
    }
    if zn[Z_OUT_POS] != F::from(public.output.len() as u64) || zn[Z_IO_I] != F::ZERO {
        return Err(FinalStateError::Claim("output length"));
    }
    let consumed = crate::gadgets::f_to_u64(zn[Z_IN_POS]);
    if F::from(consumed) != zn[Z_IN_POS] || consumed > input.len() as u64 {
        return Err(FinalStateError::Io);
    }
    let consumed = consumed as usize;
    if zn[Z_FP_IO] != io_fingerprint(input, consumed, &public.output, gamma) {
        return Err(FinalStateError::Io);
    }
    Ok(())
}
