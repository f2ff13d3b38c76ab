//! RV32IM decode and execute.

use crate::cpu::{Cpu, MemAccess, TraceStep, PAGE_SIZE};
use crate::elf::Program;

/// Default instruction budget for one run.
pub const DEFAULT_MAX_CYCLES: u64 = 1 << 26;

const SYS_READ: u32 = 63;
const SYS_WRITE: u32 = 64;
const SYS_EXIT: u32 = 93;

/// Why execution stopped without a clean `exit`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ExecError {
    #[error("cycle limit of {0} instructions exceeded")]
    CycleLimitExceeded(u64),
    #[error("illegal instruction {insn:#010x} at pc {pc:#x}")]
    IllegalInstruction { pc: u32, insn: u32 },
    #[error("misaligned {size}-byte access to {addr:#x} at pc {pc:#x}")]
    MisalignedAccess { pc: u32, addr: u32, size: u32 },
    #[error("misaligned jump target {target:#x} at pc {pc:#x}")]
    MisalignedJump { pc: u32, target: u32 },
    #[error("ebreak at pc {0:#x}")]
    Ebreak(u32),
    #[error("unknown syscall a7 = {a7} at pc {pc:#x}")]
    UnknownSyscall { pc: u32, a7: u32 },
    #[error("syscall {a7} with unsupported fd {fd} at pc {pc:#x}")]
    BadFd { pc: u32, a7: u32, fd: u32 },
    #[error("write of {len} bytes at pc {pc:#x} would take the output past {MAX_IO_BYTES} bytes")]
    OutputTooLarge { pc: u32, len: u32 },
    #[error("memory limit: a write at pc {pc:#x} would touch more than {MAX_MEMORY_PAGES} pages of {PAGE_SIZE} bytes")]
    MemoryLimit { pc: u32 },
}

/// Largest input a guest may read and output it may write, in bytes.
pub const MAX_IO_BYTES: usize = 1 << 24;
/// Most memory pages a run may materialise (256 MiB): a guest's memory is sparse, but every
/// page written is held by the interpreter and the prover, so without a bound one store per
/// page would let a guest take 4 GiB in a million cycles.
pub const MAX_MEMORY_PAGES: usize = 1 << 16;

/// Refuses a write to `addr` when it would materialise a page past [`MAX_MEMORY_PAGES`].
pub(crate) fn check_page(cpu: &Cpu, pc: u32, addr: u32) -> Result<(), ExecError> {
    if !cpu.mem.has_page(addr) && cpu.mem.page_count() >= MAX_MEMORY_PAGES {
        return Err(ExecError::MemoryLimit { pc });
    }
    Ok(())
}

/// Run parameters.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub max_cycles: u64,
    pub trace: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            max_cycles: DEFAULT_MAX_CYCLES,
            trace: false,
        }
    }
}

/// A clean halt through `exit`.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Full 32-bit `a0` passed to `exit`.
    pub exit_code: u32,
    pub output: Vec<u8>,
    pub cycles: u64,
    /// Present when [`RunConfig::trace`] was set.
    pub trace: Option<Vec<TraceStep>>,
}

/// Loads `program`, runs it on `input` until `exit`, an error, or the cycle limit.
pub fn run(program: &Program, input: &[u8], cfg: &RunConfig) -> Result<Outcome, ExecError> {
    let mut cpu = Cpu::new(program, input.to_vec(), cfg.trace);
    loop {
        if cpu.cycles >= cfg.max_cycles {
            return Err(ExecError::CycleLimitExceeded(cfg.max_cycles));
        }
        if let Some(code) = step(&mut cpu)? {
            return Ok(Outcome {
                exit_code: code,
                output: std::mem::take(&mut cpu.output),
                cycles: cpu.cycles,
                trace: cpu.trace.take(),
            });
        }
    }
}

fn sext(v: u32, bits: u32) -> u32 {
    let s = 32 - bits;
    (((v << s) as i32) >> s) as u32
}

/// Executes one instruction. Returns `Some(code)` when the guest exits.
pub fn step(cpu: &mut Cpu) -> Result<Option<u32>, ExecError> {
    let pc = cpu.pc;
    if !pc.is_multiple_of(4) {
        return Err(ExecError::MisalignedJump { pc, target: pc });
    }
    let insn = cpu.mem.read(pc, 4);
    let opcode = insn & 0x7f;
    let rd = (insn >> 7) & 31;
    let f3 = (insn >> 12) & 7;
    let rs1 = (insn >> 15) & 31;
    let rs2 = (insn >> 20) & 31;
    let f7 = insn >> 25;
    let a = cpu.reg(rs1);
    let b = cpu.reg(rs2);
    let imm_i = sext(insn >> 20, 12);
    let imm_s = sext(((insn >> 25) << 5) | ((insn >> 7) & 31), 12);
    let imm_b = sext(
        ((insn >> 31) << 12)
            | (((insn >> 7) & 1) << 11)
            | (((insn >> 25) & 0x3f) << 5)
            | (((insn >> 8) & 0xf) << 1),
        13,
    );
    let imm_u = insn & 0xffff_f000;
    let imm_j = sext(
        ((insn >> 31) << 20)
            | (((insn >> 12) & 0xff) << 12)
            | (((insn >> 20) & 1) << 11)
            | (((insn >> 21) & 0x3ff) << 1),
        21,
    );
    let illegal = ExecError::IllegalInstruction { pc, insn };
    let mut next = pc.wrapping_add(4);
    let mut wb: Option<u32> = None;
    let mut mem: Option<MemAccess> = None;
    let mut exit = None;
    let jump = |target: u32| -> Result<u32, ExecError> {
        if !target.is_multiple_of(4) {
            Err(ExecError::MisalignedJump { pc, target })
        } else {
            Ok(target)
        }
    };
    match opcode {
        0x37 => wb = Some(imm_u),
        0x17 => wb = Some(pc.wrapping_add(imm_u)),
        0x6f => {
            next = jump(pc.wrapping_add(imm_j))?;
            wb = Some(pc.wrapping_add(4));
        }
        0x67 if f3 == 0 => {
            next = jump(a.wrapping_add(imm_i) & !1)?;
            wb = Some(pc.wrapping_add(4));
        }
        0x63 => {
            let taken = match f3 {
                0 => a == b,
                1 => a != b,
                4 => (a as i32) < (b as i32),
                5 => (a as i32) >= (b as i32),
                6 => a < b,
                7 => a >= b,
                _ => return Err(illegal),
            };
            if taken {
                next = jump(pc.wrapping_add(imm_b))?;
            }
        }
        0x03 => {
            let addr = a.wrapping_add(imm_i);
            let size = match f3 {
                0 | 4 => 1,
                1 | 5 => 2,
                2 => 4,
                _ => return Err(illegal),
            };
            if !addr.is_multiple_of(size) {
                return Err(ExecError::MisalignedAccess { pc, addr, size });
            }
            let raw = cpu.mem.read(addr, size);
            mem = Some(MemAccess {
                addr,
                size,
                value: raw,
                write: false,
            });
            wb = Some(match f3 {
                0 => sext(raw, 8),
                1 => sext(raw, 16),
                _ => raw,
            });
        }
        0x23 => {
            let addr = a.wrapping_add(imm_s);
            let size = match f3 {
                0 => 1,
                1 => 2,
                2 => 4,
                _ => return Err(illegal),
            };
            if !addr.is_multiple_of(size) {
                return Err(ExecError::MisalignedAccess { pc, addr, size });
            }
            let value = if size == 4 {
                b
            } else {
                b & ((1 << (8 * size)) - 1)
            };
            check_page(cpu, pc, addr)?; // aligned: never crosses a page
            cpu.mem.write(addr, size, value);
            mem = Some(MemAccess {
                addr,
                size,
                value,
                write: true,
            });
        }
        0x13 => {
            let shamt = (insn >> 20) & 31;
            wb = Some(match f3 {
                0 => a.wrapping_add(imm_i),
                2 => ((a as i32) < (imm_i as i32)) as u32,
                3 => (a < imm_i) as u32,
                4 => a ^ imm_i,
                6 => a | imm_i,
                7 => a & imm_i,
                1 if f7 == 0 => a << shamt,
                5 if f7 == 0 => a >> shamt,
                5 if f7 == 0x20 => ((a as i32) >> shamt) as u32,
                _ => return Err(illegal),
            });
        }
        0x33 => {
            wb = Some(match (f7, f3) {
                (0, 0) => a.wrapping_add(b),
                (0x20, 0) => a.wrapping_sub(b),
                (0, 1) => a << (b & 31),
                (0, 2) => ((a as i32) < (b as i32)) as u32,
                (0, 3) => (a < b) as u32,
                (0, 4) => a ^ b,
                (0, 5) => a >> (b & 31),
                (0x20, 5) => ((a as i32) >> (b & 31)) as u32,
                (0, 6) => a | b,
                (0, 7) => a & b,
                (1, f3) => mul_div(f3, a, b),
                _ => return Err(illegal),
            });
        }
        // FENCE / FENCE.I: single hart, no caches: no-ops.
        0x0f if f3 == 0 || f3 == 1 => {}
        0x73 if insn == 0x0000_0073 => {
            let a7 = cpu.reg(17);
            let (a0, a1, a2) = (cpu.reg(10), cpu.reg(11), cpu.reg(12));
            match a7 {
                SYS_EXIT => exit = Some(a0),
                SYS_WRITE => {
                    if a0 != 1 {
                        return Err(ExecError::BadFd { pc, a7, fd: a0 });
                    }
                    if cpu.output.len() as u64 + u64::from(a2) > MAX_IO_BYTES as u64 {
                        return Err(ExecError::OutputTooLarge { pc, len: a2 });
                    }
                    for i in 0..a2 {
                        let byte = cpu.mem.read_u8(a1.wrapping_add(i));
                        cpu.output.push(byte);
                    }
                    cpu.set_reg(10, a2);
                }
                SYS_READ => {
                    if a0 != 0 {
                        return Err(ExecError::BadFd { pc, a7, fd: a0 });
                    }
                    let avail = cpu.input.len() - cpu.input_pos;
                    let n = (a2 as usize).min(avail);
                    for i in 0..n {
                        let addr = a1.wrapping_add(i as u32);
                        check_page(cpu, pc, addr)?;
                        cpu.mem.write_u8(addr, cpu.input[cpu.input_pos + i]);
                    }
                    cpu.input_pos += n;
                    cpu.set_reg(10, n as u32);
                }
                _ => return Err(ExecError::UnknownSyscall { pc, a7 }),
            }
        }
        0x73 if insn == 0x0010_0073 => return Err(ExecError::Ebreak(pc)),
        _ => return Err(illegal),
    }
    let mut rd_written = None;
    if let Some(v) = wb {
        cpu.set_reg(rd, v);
        if rd != 0 {
            rd_written = Some((rd as u8, v));
        }
    }
    if let Some(t) = cpu.trace.as_mut() {
        t.push(TraceStep {
            pc,
            insn,
            rs1_val: a,
            rs2_val: b,
            rd: rd_written,
            mem,
        });
    }
    cpu.pc = next;
    cpu.cycles += 1;
    Ok(exit)
}

/// The M extension (`funct7 = 1`), selected by `funct3`.
pub(crate) fn mul_div(f3: u32, a: u32, b: u32) -> u32 {
    let (sa, sb) = (a as i32, b as i32);
    match f3 {
        0 => a.wrapping_mul(b),
        1 => ((sa as i64 * sb as i64) >> 32) as u32,
        2 => ((sa as i64 * b as i64) >> 32) as u32,
        3 => ((a as u64 * b as u64) >> 32) as u32,
        4 => {
            if b == 0 {
                u32::MAX
            } else {
                sa.wrapping_div(sb) as u32 // INT_MIN / -1 = INT_MIN
            }
        }
        5 => a.checked_div(b).unwrap_or(u32::MAX),
        6 => {
            if b == 0 {
                a
            } else {
                sa.wrapping_rem(sb) as u32 // INT_MIN % -1 = 0
            }
        }
        _ => a.checked_rem(b).unwrap_or(a),
    }
}
