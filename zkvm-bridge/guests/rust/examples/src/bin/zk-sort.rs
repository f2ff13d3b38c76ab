//! Sorts the input's little-endian u32 words (a trailing partial word is ignored) with an
//! allocated Vec; output = the sorted words, little-endian; exit code = number of words.
#![no_std]
#![no_main]

use nexus_zk_guest as zk;
use zk::Vec;

fn main() -> u32 {
    let input = zk::read_all();
    let mut v: Vec<u32> = input
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    // Insertion sort: small, allocation-free beyond the Vec, and branch-heavy.
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && v[j - 1] > v[j] {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
    let out: Vec<u8> = v.iter().flat_map(|w| w.to_le_bytes()).collect();
    zk::write(&out);
    v.len() as u32
}
zk::entry!(main);
