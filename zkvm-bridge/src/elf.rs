//! Strict loader for RV32 executables: ELFCLASS32, little-endian, `EM_RISCV`, `ET_EXEC`.
//!
//! Only `PT_LOAD` program headers matter; section headers are ignored. Segments must fit in the
//! 32-bit address space, must not overlap, must have `filesz <= memsz`, and their total memory
//! size is bounded by [`MAX_TOTAL_MEMSZ`].

/// Largest ELF file accepted, in bytes.
pub const MAX_ELF_SIZE: usize = 64 << 20;
/// Largest sum of `p_memsz` over all `PT_LOAD` segments, in bytes.
pub const MAX_TOTAL_MEMSZ: u64 = 256 << 20;
/// Most program headers accepted.
pub const MAX_PHDRS: usize = 64;

const EM_RISCV: u16 = 243;
const ET_EXEC: u16 = 2;
const PT_LOAD: u32 = 1;
const EHDR_SIZE: usize = 52;
const PHDR_SIZE: usize = 32;

/// Why an ELF image was rejected.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ElfError {
    #[error("ELF image is {0} bytes, larger than the limit of {MAX_ELF_SIZE}")]
    TooLarge(usize),
    #[error("truncated ELF: {0}")]
    Truncated(&'static str),
    #[error("not an ELF file (bad magic)")]
    BadMagic,
    #[error("not ELFCLASS32 (class byte {0})")]
    NotClass32(u8),
    #[error("not little-endian (data byte {0})")]
    NotLittleEndian(u8),
    #[error("unsupported ELF version {0}")]
    BadVersion(u32),
    #[error("not a RISC-V ELF (e_machine {0}, expected 243)")]
    NotRiscv(u16),
    #[error("not an executable (e_type {0}, expected ET_EXEC = 2)")]
    NotExecutable(u16),
    #[error("unexpected program header entry size {0} (expected 32)")]
    BadPhentsize(u16),
    #[error("{0} program headers exceed the limit of {MAX_PHDRS}")]
    TooManyPhdrs(usize),
    #[error("segment {index}: filesz {filesz:#x} > memsz {memsz:#x}")]
    FileszExceedsMemsz {
        index: usize,
        filesz: u32,
        memsz: u32,
    },
    #[error("segment {index}: file range {offset:#x}+{filesz:#x} is outside the file")]
    SegmentOutOfFile {
        index: usize,
        offset: u32,
        filesz: u32,
    },
    #[error("segment {index}: {vaddr:#x}+{memsz:#x} leaves the 32-bit address space")]
    SegmentOutOfAddressSpace {
        index: usize,
        vaddr: u32,
        memsz: u32,
    },
    #[error("segments {a} and {b} overlap")]
    Overlap { a: usize, b: usize },
    #[error("total segment memory size {0:#x} exceeds the limit of {MAX_TOTAL_MEMSZ:#x}")]
    TotalTooLarge(u64),
    #[error("no PT_LOAD segment")]
    NoSegments,
    #[error("entry point {0:#x} is not 4-byte aligned")]
    MisalignedEntry(u32),
}

/// One loadable segment: `data` (the file bytes) at `vaddr`, zero-filled up to `memsz`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub vaddr: u32,
    pub memsz: u32,
    /// `p_flags` (bit 0 X, bit 1 W, bit 2 R); recorded, not enforced by the interpreter.
    pub flags: u32,
    pub data: Vec<u8>,
}

/// A validated RV32 executable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    pub entry: u32,
    /// Sorted by `vaddr`, non-overlapping.
    pub segments: Vec<Segment>,
}

fn u16_at(b: &[u8], off: usize) -> Result<u16, ElfError> {
    b.get(off..off + 2)
        .map(|s| u16::from_le_bytes([s[0], s[1]]))
        .ok_or(ElfError::Truncated("header field"))
}

fn u32_at(b: &[u8], off: usize) -> Result<u32, ElfError> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or(ElfError::Truncated("header field"))
}

impl Program {
    /// Parses and validates an ELF image.
    pub fn load(bytes: &[u8]) -> Result<Program, ElfError> {
        if bytes.len() > MAX_ELF_SIZE {
            return Err(ElfError::TooLarge(bytes.len()));
        }
        if bytes.len() < EHDR_SIZE {
            return Err(ElfError::Truncated("ELF header"));
        }
        if bytes[..4] != [0x7f, b'E', b'L', b'F'] {
            return Err(ElfError::BadMagic);
        }
        if bytes[4] != 1 {
            return Err(ElfError::NotClass32(bytes[4]));
        }
        if bytes[5] != 1 {
            return Err(ElfError::NotLittleEndian(bytes[5]));
        }
        if bytes[6] != 1 {
            return Err(ElfError::BadVersion(bytes[6] as u32));
        }
        let e_type = u16_at(bytes, 16)?;
        let e_machine = u16_at(bytes, 18)?;
        let e_version = u32_at(bytes, 20)?;
        let entry = u32_at(bytes, 24)?;
        let phoff = u32_at(bytes, 28)? as usize;
        let phentsize = u16_at(bytes, 42)?;
        let phnum = u16_at(bytes, 44)? as usize;
        if e_machine != EM_RISCV {
            return Err(ElfError::NotRiscv(e_machine));
        }
        if e_type != ET_EXEC {
            return Err(ElfError::NotExecutable(e_type));
        }
        if e_version != 1 {
            return Err(ElfError::BadVersion(e_version));
        }
        if phnum > MAX_PHDRS {
            return Err(ElfError::TooManyPhdrs(phnum));
        }
        if phnum > 0 && phentsize as usize != PHDR_SIZE {
            return Err(ElfError::BadPhentsize(phentsize));
        }
        let ph_end = phoff
            .checked_add(phnum * PHDR_SIZE)
            .ok_or(ElfError::Truncated("program headers"))?;
        if ph_end > bytes.len() {
            return Err(ElfError::Truncated("program headers"));
        }
        if !entry.is_multiple_of(4) {
            return Err(ElfError::MisalignedEntry(entry));
        }
        let mut segs: Vec<(usize, Segment)> = Vec::new();
        let mut total: u64 = 0;
        for index in 0..phnum {
            let h = phoff + index * PHDR_SIZE;
            if u32_at(bytes, h)? != PT_LOAD {
                continue;
            }
            let offset = u32_at(bytes, h + 4)?;
            let vaddr = u32_at(bytes, h + 8)?;
            let filesz = u32_at(bytes, h + 16)?;
            let memsz = u32_at(bytes, h + 20)?;
            let flags = u32_at(bytes, h + 24)?;
            if filesz > memsz {
                return Err(ElfError::FileszExceedsMemsz {
                    index,
                    filesz,
                    memsz,
                });
            }
            let start = offset as usize;
            let end = start.checked_add(filesz as usize);
            let data = match end {
                Some(end) if end <= bytes.len() => bytes[start..end].to_vec(),
                _ => {
                    return Err(ElfError::SegmentOutOfFile {
                        index,
                        offset,
                        filesz,
                    })
                }
            };
            if vaddr as u64 + memsz as u64 > 1u64 << 32 {
                return Err(ElfError::SegmentOutOfAddressSpace {
                    index,
                    vaddr,
                    memsz,
                });
            }
            total += memsz as u64;
            if total > MAX_TOTAL_MEMSZ {
                return Err(ElfError::TotalTooLarge(total));
            }
            if memsz == 0 {
                continue;
            }
            segs.push((
                index,
                Segment {
                    vaddr,
                    memsz,
                    flags,
                    data,
                },
            ));
        }
        if segs.is_empty() {
            return Err(ElfError::NoSegments);
        }
        segs.sort_by_key(|(_, s)| s.vaddr);
        for w in segs.windows(2) {
            let (ia, a) = &w[0];
            let (ib, b) = &w[1];
            if a.vaddr as u64 + a.memsz as u64 > b.vaddr as u64 {
                return Err(ElfError::Overlap { a: *ia, b: *ib });
            }
        }
        Ok(Program {
            entry,
            segments: segs.into_iter().map(|(_, s)| s).collect(),
        })
    }
}
