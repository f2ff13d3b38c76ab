//! The zk guests the consensus tests deploy, built with the RISC-V toolchain
//! (`deploy/install-deps.sh` installs `gcc-riscv64-unknown-elf`).

use std::path::Path;

use nexus_zkvm_bridge::toolchain::compile_c_guest;

/// `zkvm-bridge/guests/echo.c`, compiled with the guest runtime.
pub fn build_echo(tmp: &Path) -> Vec<u8> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../zkvm-bridge/guests");
    let out_dir = tmp.join("zk-guests");
    std::fs::create_dir_all(&out_dir).unwrap();
    let out = out_dir.join(format!("echo-{}", std::process::id()));
    compile_c_guest(&src, &[src.join("echo.c")], &out)
        .unwrap_or_else(|e| panic!("compiling the echo guest: {e}"));
    let elf = std::fs::read(&out).unwrap();
    std::fs::remove_file(&out).ok();
    elf
}
