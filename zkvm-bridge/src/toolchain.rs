//! Compiling C guests for the zkVM with Debian's `riscv64-unknown-elf-gcc` (installed by
//! `deploy/install-deps.sh`): RV32IM, ILP32, no libc, linked with the small guest runtime of
//! `zkvm-bridge/guests/` (`start.S`, `rt.c`, `rt.h`, linker script `link.ld`). The guests'
//! Makefile uses the same flags ([`C_FLAGS`]).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The C compiler of zk guests.
pub const C_COMPILER: &str = "riscv64-unknown-elf-gcc";

/// Flags of every C guest: the RV32IM base the zkVM executes, no libc, warnings as errors.
pub const C_FLAGS: &[&str] = &[
    "-march=rv32im",
    "-mabi=ilp32",
    "-nostdlib",
    "-static",
    "-O2",
    "-ffreestanding",
    "-fno-builtin",
    "-Wall",
    "-Werror",
];

/// Why a guest did not compile.
#[derive(Debug, thiserror::Error)]
pub enum ToolchainError {
    #[error("`{C_COMPILER}` could not be started (deploy/install-deps.sh installs gcc-riscv64-unknown-elf): {0}")]
    Spawn(std::io::Error),
    #[error("`{C_COMPILER}` failed ({status}) compiling {sources}")]
    Failed {
        status: std::process::ExitStatus,
        sources: String,
    },
}

/// Compiles `sources` with the guest runtime found in `runtime_dir` into the RV32IM ELF `out`.
pub fn compile_c_guest(
    runtime_dir: &Path,
    sources: &[PathBuf],
    out: &Path,
) -> Result<(), ToolchainError> {
    let status = Command::new(C_COMPILER)
        .args(C_FLAGS)
        .arg("-T")
        .arg(runtime_dir.join("link.ld"))
        .arg("-o")
        .arg(out)
        .arg(runtime_dir.join("start.S"))
        .arg(runtime_dir.join("rt.c"))
        .args(sources)
        .status()
        .map_err(ToolchainError::Spawn)?;
    if !status.success() {
        let sources = sources
            .iter()
            .map(|s| s.display().to_string())
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ToolchainError::Failed { status, sources });
    }
    Ok(())
}
