//! Instruction classes proved by the step circuit, and their native decoding.
//!
//! Every RV32IM instruction the interpreter accepts maps to exactly one [`Op`]; anything else
//! (and `EBREAK`, unknown system calls) has no flag, so a slot holding it is unsatisfiable.

/// One operation of the step circuit (a one-hot flag each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    /// Padding after halt (also the only op allowed while halted).
    Pad,
    Lui,
    Auipc,
    Jal,
    Jalr,
    Beq,
    Bne,
    Blt,
    Bge,
    Bltu,
    Bgeu,
    Lb,
    Lh,
    Lw,
    Lbu,
    Lhu,
    Sb,
    Sh,
    Sw,
    Addi,
    Slti,
    Sltiu,
    Xori,
    Ori,
    Andi,
    Slli,
    Srli,
    Srai,
    Add,
    Sub,
    Sll,
    Slt,
    Sltu,
    Xor,
    Srl,
    Sra,
    Or,
    And,
    Mul,
    Mulh,
    Mulhsu,
    Mulhu,
    Div,
    Divu,
    Rem,
    Remu,
    Fence,
    FenceI,
    EcallExit,
    EcallWrite,
    EcallRead,
}

/// Number of [`Op`] variants.
pub const NUM_OPS: usize = Op::EcallRead as usize + 1;

/// All ops, indexed by discriminant.
pub const ALL_OPS: [Op; NUM_OPS] = {
    use Op::*;
    [
        Pad, Lui, Auipc, Jal, Jalr, Beq, Bne, Blt, Bge, Bltu, Bgeu, Lb, Lh, Lw, Lbu, Lhu, Sb, Sh,
        Sw, Addi, Slti, Sltiu, Xori, Ori, Andi, Slli, Srli, Srai, Add, Sub, Sll, Slt, Sltu, Xor,
        Srl, Sra, Or, And, Mul, Mulh, Mulhsu, Mulhu, Div, Divu, Rem, Remu, Fence, FenceI,
        EcallExit, EcallWrite, EcallRead,
    ]
};

/// System call numbers (Linux RISC-V), see the crate docs.
pub const SYS_READ: u32 = 63;
pub const SYS_WRITE: u32 = 64;
pub const SYS_EXIT: u32 = 93;
/// The exact `ECALL` encoding.
pub const ECALL: u32 = 0x0000_0073;

impl Op {
    /// `(opcode, funct3 if fixed, funct7 if fixed)`.
    pub fn pattern(self) -> (u32, Option<u32>, Option<u32>) {
        use Op::*;
        match self {
            Pad => (0, Some(0), Some(0)),
            Lui => (0x37, None, None),
            Auipc => (0x17, None, None),
            Jal => (0x6f, None, None),
            Jalr => (0x67, Some(0), None),
            Beq => (0x63, Some(0), None),
            Bne => (0x63, Some(1), None),
            Blt => (0x63, Some(4), None),
            Bge => (0x63, Some(5), None),
            Bltu => (0x63, Some(6), None),
            Bgeu => (0x63, Some(7), None),
            Lb => (0x03, Some(0), None),
            Lh => (0x03, Some(1), None),
            Lw => (0x03, Some(2), None),
            Lbu => (0x03, Some(4), None),
            Lhu => (0x03, Some(5), None),
            Sb => (0x23, Some(0), None),
            Sh => (0x23, Some(1), None),
            Sw => (0x23, Some(2), None),
            Addi => (0x13, Some(0), None),
            Slti => (0x13, Some(2), None),
            Sltiu => (0x13, Some(3), None),
            Xori => (0x13, Some(4), None),
            Ori => (0x13, Some(6), None),
            Andi => (0x13, Some(7), None),
            Slli => (0x13, Some(1), Some(0)),
            Srli => (0x13, Some(5), Some(0)),
            Srai => (0x13, Some(5), Some(0x20)),
            Add => (0x33, Some(0), Some(0)),
            Sub => (0x33, Some(0), Some(0x20)),
            Sll => (0x33, Some(1), Some(0)),
            Slt => (0x33, Some(2), Some(0)),
            Sltu => (0x33, Some(3), Some(0)),
            Xor => (0x33, Some(4), Some(0)),
            Srl => (0x33, Some(5), Some(0)),
            Sra => (0x33, Some(5), Some(0x20)),
            Or => (0x33, Some(6), Some(0)),
            And => (0x33, Some(7), Some(0)),
            Mul => (0x33, Some(0), Some(1)),
            Mulh => (0x33, Some(1), Some(1)),
            Mulhsu => (0x33, Some(2), Some(1)),
            Mulhu => (0x33, Some(3), Some(1)),
            Div => (0x33, Some(4), Some(1)),
            Divu => (0x33, Some(5), Some(1)),
            Rem => (0x33, Some(6), Some(1)),
            Remu => (0x33, Some(7), Some(1)),
            Fence => (0x0f, Some(0), None),
            FenceI => (0x0f, Some(1), None),
            EcallExit | EcallWrite | EcallRead => (0x73, Some(0), Some(0)),
        }
    }

    /// Decodes `insn`; `a7` selects the system call for `ECALL`. `None`: not provable.
    pub fn decode(insn: u32, a7: u32) -> Option<Op> {
        if insn == ECALL {
            return match a7 {
                SYS_EXIT => Some(Op::EcallExit),
                SYS_WRITE => Some(Op::EcallWrite),
                SYS_READ => Some(Op::EcallRead),
                _ => None,
            };
        }
        let opcode = insn & 0x7f;
        let f3 = (insn >> 12) & 7;
        let f7 = insn >> 25;
        ALL_OPS.iter().copied().find(|op| {
            if matches!(op, Op::Pad | Op::EcallExit | Op::EcallWrite | Op::EcallRead) {
                return false;
            }
            let (o, p3, p7) = op.pattern();
            o == opcode && p3.is_none_or(|x| x == f3) && p7.is_none_or(|x| x == f7)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_unambiguous() {
        for (i, a) in ALL_OPS.iter().enumerate() {
            assert_eq!(*a as usize, i);
        }
        // add x1, x2, x3 ; mulhu ; srai ; ebreak is not provable
        assert_eq!(Op::decode(0x003100b3, 0), Some(Op::Add));
        assert_eq!(Op::decode(0x023130b3, 0), Some(Op::Mulhu));
        assert_eq!(Op::decode(0x40315093, 0), Some(Op::Srai));
        assert_eq!(Op::decode(0x0010_0073, 93), None);
        assert_eq!(Op::decode(ECALL, 1), None);
        assert_eq!(Op::decode(0, 0), None);
    }
}
