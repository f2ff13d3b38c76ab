//! The zk guests the consensus tests deploy, built with the RISC-V toolchain
//! (`deploy/install-deps.sh` installs `gcc-riscv64-unknown-elf`).

use std::path::Path;
use std::process::Command;

/// `zkvm-bridge/guests/echo.c`, compiled the way the guests' Makefile does.
pub fn build_echo(tmp: &Path) -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../zkvm-bridge/guests");
    let out_dir = tmp.join("zk-guests");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join(format!("echo-{}", std::process::id()));
    let status = Command::new("riscv64-unknown-elf-gcc")
        .args([
            "-march=rv32im",
            "-mabi=ilp32",
            "-nostdlib",
            "-static",
            "-O2",
            "-ffreestanding",
            "-fno-builtin",
            "-Wall",
            "-Werror",
        ])
        .arg("-T")
        .arg(src.join("link.ld"))
        .arg("-o")
        .arg(&out)
        .args([src.join("start.S"), src.join("rt.c"), src.join("echo.c")])
        .status()
        .expect("riscv64-unknown-elf-gcc (run deploy/install-deps.sh)");
    assert!(status.success(), "compiling the echo guest failed");
    let elf = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).ok();
    elf
}
