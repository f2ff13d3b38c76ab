//! SHA-256 of the input; output = lowercase hex digest + "\n".
#![no_std]
#![no_main]

use nexus_zk_guest as zk;

fn main() -> u32 {
    let input = zk::read_all();
    zk::write_hex(&zk::sha256(&[&input]));
    zk::write(b"\n");
    0
}
zk::entry!(main);
