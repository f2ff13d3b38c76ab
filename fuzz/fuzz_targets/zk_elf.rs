//! `nexus_zkvm_bridge::elf::Program::load` (the ELF of a zk-Function deploy, from any user)
//! must never panic, and an accepted program must run in the interpreter (a few thousand
//! cycles, on an input taken from the fuzzer) to an outcome or an error, never a panic.
//!
//! Input layout: the first byte picks how many trailing bytes are the guest's input; the rest
//! is the ELF.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_zkvm_bridge::elf::Program;
use nexus_zkvm_bridge::exec::{run, RunConfig};

/// Cycle budget per accepted program (keeps each fuzz input fast).
const FUZZ_MAX_CYCLES: u64 = 4096;

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let input_len = (split as usize).min(rest.len());
    let (elf, input) = rest.split_at(rest.len() - input_len);
    let Ok(program) = Program::load(elf) else {
        return;
    };
    let cfg = RunConfig {
        max_cycles: FUZZ_MAX_CYCLES,
        trace: true,
    };
    let _ = run(&program, input, &cfg);
});
