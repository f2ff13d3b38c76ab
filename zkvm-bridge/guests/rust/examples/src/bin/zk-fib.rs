//! Fibonacci: input = n as decimal text (default 30); output = "fib(n)=<fib(n) mod 2^32>\n".
#![no_std]
#![no_main]

use nexus_zk_guest as zk;

fn main() -> u32 {
    let input = zk::read_all();
    let mut n: u32 = 0;
    let mut any = false;
    for b in input.iter().copied().filter(|b| b.is_ascii_digit()) {
        n = n.wrapping_mul(10).wrapping_add((b - b'0') as u32);
        any = true;
    }
    if !any {
        n = 30;
    }
    let (mut a, mut b) = (0u32, 1u32);
    for _ in 0..n {
        let t = a.wrapping_add(b);
        a = b;
        b = t;
    }
    zk::write(b"fib(");
    zk::write_u32(n);
    zk::write(b")=");
    zk::write_u32(a);
    zk::write(b"\n");
    0
}
zk::entry!(main);
