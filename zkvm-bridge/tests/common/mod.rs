//! Test helpers: guest compilation, qemu runs, a minimal ELF writer and RV32 encoders.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const CC: &str = nexus_zkvm_bridge::toolchain::C_COMPILER;
pub const QEMU: &str = "qemu-riscv32";
pub const BASE: u32 = 0x10000;

fn guests_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("guests")
}

fn out_dir() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("zkvm-guests");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn require(tool: &str) {
    let ok = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "`{tool}` not found: run deploy/install-deps.sh (gcc-riscv64-unknown-elf qemu-user)"
    );
}

/// Compiles `guests/<name>.c` with the guest runtime; returns the ELF path.
pub fn build_guest(name: &str) -> PathBuf {
    require(CC);
    let src = guests_src();
    let out = out_dir().join(name);
    nexus_zkvm_bridge::toolchain::compile_c_guest(&src, &[src.join(format!("{name}.c"))], &out)
        .unwrap_or_else(|e| panic!("compiling guest {name}: {e}"));
    out
}

/// Runs `elf` under qemu-riscv32 with `input` on stdin; returns (exit code, stdout).
pub fn run_qemu(elf: &Path, input: &[u8]) -> (i32, Vec<u8>) {
    require(QEMU);
    let mut child = Command::new(QEMU)
        .arg(elf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn qemu-riscv32");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("qemu killed by signal: {:?}", out.status));
    (code, out.stdout)
}

/// Minimal ET_EXEC RV32 ELF: one RWX PT_LOAD at `BASE` holding `code`, with `bss` zero bytes after.
pub fn make_elf(code: &[u32], bss: u32) -> Vec<u8> {
    let mut f = Vec::new();
    let text: Vec<u8> = code.iter().flat_map(|w| w.to_le_bytes()).collect();
    let hdr = 52 + 32;
    f.extend_from_slice(&[0x7f, b'E', b'L', b'F', 1, 1, 1, 0]);
    f.extend_from_slice(&[0; 8]);
    f.extend_from_slice(&2u16.to_le_bytes()); // ET_EXEC
    f.extend_from_slice(&243u16.to_le_bytes()); // EM_RISCV
    f.extend_from_slice(&1u32.to_le_bytes());
    f.extend_from_slice(&(BASE + hdr).to_le_bytes()); // entry
    f.extend_from_slice(&52u32.to_le_bytes()); // phoff
    f.extend_from_slice(&0u32.to_le_bytes()); // shoff
    f.extend_from_slice(&0u32.to_le_bytes()); // flags
    f.extend_from_slice(&52u16.to_le_bytes());
    f.extend_from_slice(&32u16.to_le_bytes());
    f.extend_from_slice(&1u16.to_le_bytes());
    f.extend_from_slice(&40u16.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    f.extend_from_slice(&0u16.to_le_bytes());
    // PT_LOAD covering the headers and the code, from file offset 0.
    let filesz = hdr + text.len() as u32;
    for v in [1, 0, BASE, BASE, filesz, filesz + bss, 7, 0x1000] {
        f.extend_from_slice(&v.to_le_bytes());
    }
    f.extend_from_slice(&text);
    f
}

/// Writes an executable file (qemu-user refuses files without an execute bit) with a unique name.
pub fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let p = out_dir().join(format!("{name}-{}-{n}", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

// RV32 encoders.
pub fn r(f7: u32, f3: u32, rd: u32, rs1: u32, rs2: u32) -> u32 {
    (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | 0x33
}
pub fn i(op: u32, f3: u32, rd: u32, rs1: u32, imm: i32) -> u32 {
    (((imm as u32) & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op
}
pub fn addi(rd: u32, rs1: u32, imm: i32) -> u32 {
    i(0x13, 0, rd, rs1, imm)
}
pub fn lui(rd: u32, imm20: u32) -> u32 {
    (imm20 << 12) | (rd << 7) | 0x37
}
pub fn sw(rs2: u32, rs1: u32, imm: i32) -> u32 {
    let imm = imm as u32;
    (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (2 << 12) | ((imm & 31) << 7) | 0x23
}
pub const ECALL: u32 = 0x73;
pub const EBREAK: u32 = 0x0010_0073;

/// `li rd, v` as LUI + ADDI.
pub fn li(rd: u32, v: u32) -> [u32; 2] {
    let lo = ((v & 0xfff) as i32) << 20 >> 20;
    let hi = v.wrapping_sub(lo as u32) >> 12;
    [lui(rd, hi), addi(rd, rd, lo)]
}

/// Epilogue: store x1..=x30 to a buffer after the code, write(1, buf, 120), exit(a0 = code).
pub fn dump_and_exit(code: &mut Vec<u32>, exit: u32) {
    // The buffer address is patched in once the code length is known.
    let at = code.len();
    code.extend(li(31, 0));
    for reg in 1..=30 {
        code.push(sw(reg, 31, (reg as i32 - 1) * 4));
    }
    code.extend(li(17, 64));
    code.extend(li(10, 1));
    code.push(addi(11, 31, 0));
    code.extend(li(12, 120));
    code.push(ECALL);
    code.extend(li(17, 93));
    code.extend(li(10, exit));
    code.push(ECALL);
    let buf = (BASE + 52 + 32 + code.len() as u32 * 4 + 15) & !15;
    let l = li(31, buf);
    code[at] = l[0];
    code[at + 1] = l[1];
}

pub fn store(f3: u32, rs2: u32, rs1: u32, imm: i32) -> u32 {
    let imm = imm as u32;
    (((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | 0x23
}
pub fn branch(f3: u32, rs1: u32, rs2: u32, off: i32) -> u32 {
    let o = off as u32;
    (((o >> 12) & 1) << 31)
        | (((o >> 5) & 0x3f) << 25)
        | (rs2 << 20)
        | (rs1 << 15)
        | (f3 << 12)
        | (((o >> 1) & 0xf) << 8)
        | (((o >> 11) & 1) << 7)
        | 0x63
}
