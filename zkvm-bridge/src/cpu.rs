//! Machine state: registers, pc, sparse paged memory, and the per-step trace record.

use std::collections::BTreeMap;

use crate::elf::Program;

/// Memory page size in bytes.
pub const PAGE_SIZE: u32 = 4096;

/// Sparse, deterministic byte-addressed memory: a `BTreeMap` of 4 KiB pages. Untouched memory
/// reads as zero; a page is materialised on first write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    pages: BTreeMap<u32, Box<[u8; PAGE_SIZE as usize]>>,
}

impl Memory {
    pub fn read_u8(&self, addr: u32) -> u8 {
        self.pages
            .get(&(addr / PAGE_SIZE))
            .map_or(0, |p| p[(addr % PAGE_SIZE) as usize])
    }

    pub fn write_u8(&mut self, addr: u32, v: u8) {
        let page = self
            .pages
            .entry(addr / PAGE_SIZE)
            .or_insert_with(|| Box::new([0; PAGE_SIZE as usize]));
        page[(addr % PAGE_SIZE) as usize] = v;
    }

    /// Little-endian read of `size` (1, 2 or 4) bytes; addresses wrap modulo 2^32.
    pub fn read(&self, addr: u32, size: u32) -> u32 {
        (0..size).fold(0, |acc, i| {
            acc | (self.read_u8(addr.wrapping_add(i)) as u32) << (8 * i)
        })
    }

    /// Little-endian write of the low `size` (1, 2 or 4) bytes of `v`.
    pub fn write(&mut self, addr: u32, size: u32, v: u32) {
        for i in 0..size {
            self.write_u8(addr.wrapping_add(i), (v >> (8 * i)) as u8);
        }
    }

    /// Number of materialised pages.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Whether the page holding `addr` is materialised (a write there allocates nothing).
    pub fn has_page(&self, addr: u32) -> bool {
        self.pages.contains_key(&(addr / PAGE_SIZE))
    }
}

/// A memory access made by one instruction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemAccess {
    pub addr: u32,
    /// Access size in bytes (1, 2 or 4).
    pub size: u32,
    /// The value read (zero-/sign-extension not applied) or written (low `size` bytes).
    pub value: u32,
    pub write: bool,
}

/// One executed instruction, as recorded for the prover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceStep {
    pub pc: u32,
    pub insn: u32,
    pub rs1_val: u32,
    pub rs2_val: u32,
    /// `(rd, value)` when the instruction writes a register other than x0.
    pub rd: Option<(u8, u32)>,
    pub mem: Option<MemAccess>,
}

/// RV32IM hart state plus the guest's I/O buffers.
#[derive(Debug, Clone)]
pub struct Cpu {
    regs: [u32; 32],
    pub pc: u32,
    pub mem: Memory,
    pub input: Vec<u8>,
    pub input_pos: usize,
    pub output: Vec<u8>,
    pub cycles: u64,
    /// `Some` when tracing is enabled.
    pub trace: Option<Vec<TraceStep>>,
}

impl Cpu {
    /// A hart with `program` loaded, pc at its entry, all registers zero.
    pub fn new(program: &Program, input: Vec<u8>, trace: bool) -> Cpu {
        let mut mem = Memory::default();
        for seg in &program.segments {
            for (i, b) in seg.data.iter().enumerate() {
                mem.write_u8(seg.vaddr.wrapping_add(i as u32), *b);
            }
            // bss (memsz > filesz) reads as zero without materialising pages.
        }
        Cpu {
            regs: [0; 32],
            pc: program.entry,
            mem,
            input,
            input_pos: 0,
            output: Vec::new(),
            cycles: 0,
            trace: trace.then(Vec::new),
        }
    }

    pub fn reg(&self, r: u32) -> u32 {
        self.regs[(r & 31) as usize]
    }

    /// Writes `r`; writes to x0 are discarded.
    pub fn set_reg(&mut self, r: u32, v: u32) {
        let r = (r & 31) as usize;
        if r != 0 {
            self.regs[r] = v;
        }
    }

    pub fn regs(&self) -> &[u32; 32] {
        &self.regs
    }
}
