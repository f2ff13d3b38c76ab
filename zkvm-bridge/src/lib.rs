//! RV32IM execution and proving for Nexus zk-Functions.
//!
//! This crate owns everything between a zk-Function's RISC-V ELF and its verified proof:
//!
//! - [`elf`]: a strict loader for 32-bit little-endian RISC-V `ET_EXEC` images;
//! - [`cpu`] / [`exec`]: a deterministic RV32IM interpreter with sparse 4 KiB-page memory and an
//!   optional per-step execution trace;
//! - [`decode`] / [`gadgets`] / [`circuit`]: the uniform R1CS step circuit proving `k`
//!   consecutive instructions plus `m` memory-audit rows (offline memory checking);
//! - [`witness`]: the prover's first pass (execute, record hints, hash them into the commitment
//!   the Fiat–Shamir challenge is drawn from) and the verifier's final-state checks;
//! - [`prover`]: Nova IVC folding (`nova-snark`, BN254/Grumpkin, IPA, transparent setup),
//!   compression (Spartan), verification; [`ipa`]: the inner product argument Spartan's
//!   polynomial evaluations are proved with; [`spartan`]: nova-snark's Spartan with a
//!   verifier key a validator can digest at load; [`proof`]: the versioned proof file format;
//!   [`cache`]: public parameters on disk with a hash check.
//!
//! It must **not** depend on the wasm runtime, on `nexus-runtime`, or on consensus:
//! dependencies point one way (`consensus` → `zkvm-bridge`). Tracing target: `nexus::zkvm`.
//!
//! # Public values of a proof
//!
//! SHA-256 of the ELF file, SHA-256 of the input, the output bytes, the exit code and the cycle
//! count. All of them (and the hint digest) feed the Fiat–Shamir challenge γ, which is part of
//! the IVC's initial state, so changing any of them changes what the SNARK must verify against.
//! The final IVC state must show: halted, `fp_r = fp_w` (memory consistent), the image
//! fingerprint of the ELF, the input/output fingerprint of the claimed bytes, the claimed exit
//! code and cycle count, and the digest γ was derived from.
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
//! ([`DEFAULT_MAX_CYCLES`] by default), so a guest can never hang the host. A `write` past
//! [`exec::MAX_IO_BYTES`] of output is [`ExecError::OutputTooLarge`], and a store or `read`
//! that would materialise more than [`exec::MAX_MEMORY_PAGES`] pages is
//! [`ExecError::MemoryLimit`], so it cannot exhaust the host's memory either.

pub mod cache;
pub mod circuit;
pub mod cpu;
pub mod decode;
pub mod elf;
pub mod exec;
pub mod gadgets;
#[doc(hidden)]
pub mod harness;
pub mod ipa;
pub mod proof;
pub mod prover;
pub mod spartan;
pub mod toolchain;
pub mod witness;

/// Primary curve engine: BN254 with Pedersen commitments (transparent setup); evaluation
/// arguments are [`ipa`]'s.
pub type E1 = nova_snark::provider::Bn256EngineIPA;
/// Secondary curve engine: Grumpkin (the cycle partner of BN254), also IPA.
pub type E2 = nova_snark::provider::GrumpkinEngine;
/// The circuit field (BN254's scalar field).
pub type F = <E1 as nova_snark::traits::Engine>::Scalar;

pub use cpu::{Cpu, MemAccess, Memory, TraceStep, PAGE_SIZE};
pub use elf::{ElfError, Program, Segment};
pub use exec::{run, ExecError, Outcome, RunConfig, DEFAULT_MAX_CYCLES};
