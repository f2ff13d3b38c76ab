//! RV32IM execution for Nexus zk-Functions.
//!
//! This crate owns everything between a zk-Function's RISC-V ELF and its proof. Today that is:
//!
//! - [`elf`]: a strict loader for 32-bit little-endian RISC-V `ET_EXEC` images;
//! - [`cpu`] / [`exec`]: a deterministic RV32IM interpreter with sparse 4 KiB-page memory and an
//!   optional per-step execution trace (the witness for the future prover).
//!
//! Later it will also own the uniform step circuit over k instructions and the Nova IVC prover
//! (`nova-snark`), see DESIGN.md "zk-Functions". It must **not** depend on the wasm runtime, on
//! `nexus-runtime`, or on consensus: dependencies point one way (`consensus` → `zkvm-bridge`).
//!
//! # Guest ABI (system calls)
//!
//! `ECALL` dispatches on `a7` using Linux RISC-V syscall numbers, so the same static ELF runs
//! unchanged under `qemu-riscv32` (used by the differential tests):
//!
//! | `a7` | call | semantics |
//! |------|------|-----------|
//! | 93 | `exit(a0)` | halts; the exit code is `a0` (qemu reports `a0 & 0xff`) |
//! | 64 | `write(a0 = fd, a1 = buf, a2 = len)` | `fd` must be 1; appends `len` bytes to the output; returns `len` in `a0` |
//! | 63 | `read(a0 = fd, a1 = buf, a2 = len)` | `fd` must be 0; copies `min(len, remaining)` bytes of the input buffer to `buf`, returns that count in `a0` (0 at end of input) |
//!
//! Any other `a7`, or another fd, is [`ExecError::UnknownSyscall`] / [`ExecError::BadFd`].
//! `EBREAK` is [`ExecError::Ebreak`]. `FENCE` / `FENCE.I` are no-ops.
//!
//! # Alignment policy
//!
//! Misaligned memory accesses are errors, never emulated: a halfword access needs a 2-aligned
//! address and a word access a 4-aligned one ([`ExecError::MisalignedAccess`]). There is no `C`
//! extension, so every jump or branch target must be 4-aligned ([`ExecError::MisalignedJump`],
//! raised by the jumping instruction, before the pc changes). (qemu-user tolerates misaligned data
//! accesses; the guests therefore never perform them.)
//!
//! # Bounds
//!
//! Execution stops with [`ExecError::CycleLimitExceeded`] after `max_cycles` instructions
//! ([`DEFAULT_MAX_CYCLES`] by default), so a guest can never hang the host.

pub mod cpu;
pub mod elf;
pub mod exec;

pub use cpu::{Cpu, MemAccess, Memory, TraceStep, PAGE_SIZE};
pub use elf::{ElfError, Program, Segment};
pub use exec::{run, ExecError, Outcome, RunConfig, DEFAULT_MAX_CYCLES};
