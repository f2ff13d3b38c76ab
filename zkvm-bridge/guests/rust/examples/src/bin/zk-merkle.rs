//! Merkle-proof checker (SHA-256, RFC 6962-style domain separation).
//!
//! Input: `root [32] | index u32 LE | depth u8 | siblings [depth × 32] | leaf data (rest)`.
//! Leaf hash `H(0x00 ‖ data)`, node hash `H(0x01 ‖ left ‖ right)`; bit `i` of `index` says
//! whether the node at level `i` is a right child. Output "valid\n" (exit 0) or "invalid\n"
//! (exit 1); malformed input: "malformed\n" (exit 2).
#![no_std]
#![no_main]

use nexus_zk_guest as zk;

fn main() -> u32 {
    let input = zk::read_all();
    if input.len() < 37 {
        zk::write(b"malformed\n");
        return 2;
    }
    let mut root = [0u8; 32];
    root.copy_from_slice(&input[..32]);
    let index = u32::from_le_bytes([input[32], input[33], input[34], input[35]]);
    let depth = input[36] as usize;
    let sib_end = 37 + 32 * depth;
    if depth > 32 || input.len() < sib_end {
        zk::write(b"malformed\n");
        return 2;
    }
    let mut node = zk::sha256(&[&[0u8], &input[sib_end..]]);
    for level in 0..depth {
        let sib = &input[37 + 32 * level..37 + 32 * (level + 1)];
        node = if (index >> level) & 1 == 1 {
            zk::sha256(&[&[1u8], sib, &node])
        } else {
            zk::sha256(&[&[1u8], &node, sib])
        };
    }
    if node == root {
        zk::write(b"valid\n");
        0
    } else {
        zk::write(b"invalid\n");
        1
    }
}
zk::entry!(main);
