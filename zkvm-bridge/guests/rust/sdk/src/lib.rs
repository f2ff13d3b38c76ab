//! Guest SDK for Nexus zk-Functions: RV32IM, `no_std` + `alloc`.
//!
//! Provides the entry point (`_start`: sets `gp`/`sp`, calls your function, exits with its
//! return value), input/output over the zkVM's system calls (`read` = 63, `write` = 64,
//! `exit` = 93), a bump allocator over a fixed heap, a panic handler (message to the output,
//! exit code 101) and SHA-256.
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! fn main() -> u32 { let input = nexus_zk_guest::read_all(); nexus_zk_guest::write(&input); 0 }
//! nexus_zk_guest::entry!(main);
//! ```
#![no_std]

extern crate alloc;

pub use alloc::{string::String, vec::Vec};
use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;

mod sha256;
pub use sha256::sha256;

/// Heap size of the bump allocator, in bytes.
pub const HEAP_SIZE: usize = 1 << 20;
/// Chunk size used by [`read_all`].
pub const READ_CHUNK: usize = 256;

const SYS_READ: u32 = 63;
const SYS_WRITE: u32 = 64;
const SYS_EXIT: u32 = 93;

core::arch::global_asm!(
    r#"
    .section .text.start, "ax"
    .globl _start
_start:
    .option push
    .option norelax
    la gp, __global_pointer$
    .option pop
    la sp, __stack_top
    call __nexus_zk_main
    li a7, 93
    ecall
1:  j 1b
"#
);

#[inline(always)]
fn ecall(n: u32, a0: u32, a1: u32, a2: u32) -> u32 {
    let r: u32;
    // SAFETY: the zkVM system calls only read/write the buffer they are given.
    unsafe {
        core::arch::asm!("ecall", inlateout("a0") a0 => r, in("a1") a1, in("a2") a2, in("a7") n);
    }
    r
}

/// Appends `buf` to the output.
pub fn write(buf: &[u8]) {
    ecall(SYS_WRITE, 1, buf.as_ptr() as u32, buf.len() as u32);
}

/// Reads up to `buf.len()` input bytes; returns the count (0 at end of input).
pub fn read(buf: &mut [u8]) -> usize {
    ecall(SYS_READ, 0, buf.as_mut_ptr() as u32, buf.len() as u32) as usize
}

/// Reads the whole input.
pub fn read_all() -> Vec<u8> {
    let mut out = Vec::new();
    let mut chunk = [0u8; READ_CHUNK];
    loop {
        let n = read(&mut chunk);
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&chunk[..n]);
    }
}

/// Halts with `code`.
pub fn exit(code: u32) -> ! {
    ecall(SYS_EXIT, code, 0, 0);
    #[allow(clippy::empty_loop)]
    loop {}
}

/// Writes `v` in decimal.
pub fn write_u32(mut v: u32) {
    let mut buf = [0u8; 10];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    write(&buf[i..]);
}

/// Writes `bytes` as lowercase hex.
pub fn write_hex(bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = Vec::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    }
    write(&out);
}

/// Declares the guest's entry function `fn() -> u32` (its return value is the exit code).
#[macro_export]
macro_rules! entry {
    ($f:path) => {
        #[no_mangle]
        pub extern "C" fn __nexus_zk_main() -> u32 {
            $f()
        }
    };
}

struct Bump {
    heap: UnsafeCell<[u8; HEAP_SIZE]>,
    next: UnsafeCell<usize>,
}

// SAFETY: the zkVM runs one hart; there is no concurrency.
unsafe impl Sync for Bump {}

unsafe impl GlobalAlloc for Bump {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: single-threaded; `next` is only touched here.
        let next = unsafe { &mut *self.next.get() };
        let base = self.heap.get() as usize;
        let start = (base + *next).next_multiple_of(layout.align());
        let end = start + layout.size();
        if end > base + HEAP_SIZE {
            return core::ptr::null_mut();
        }
        *next = end - base;
        start as *mut u8
    }

    unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}
}

#[global_allocator]
static ALLOC: Bump = Bump {
    heap: UnsafeCell::new([0; HEAP_SIZE]),
    next: UnsafeCell::new(0),
};

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    write(b"panic\n");
    exit(101)
}
