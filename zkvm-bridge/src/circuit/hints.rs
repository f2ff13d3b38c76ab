//! What the prover hands the step circuit (one [`SlotHint`] per instruction slot, one
//! [`AuditRow`] per memory-audit row), their packing into field elements, and the Poseidon hash
//! chain that binds them before the Fiat–Shamir challenge is drawn.

use generic_array::typenum::U5;
use nova_snark::frontend::gadgets::poseidon::{
    Elt, IOPattern, PoseidonConstants, Simplex, Sponge, SpongeAPI, SpongeCircuit, SpongeOp,
    SpongeTrait, Strength,
};
use nova_snark::frontend::{num::AllocatedNum, ConstraintSystem, SynthesisError};

use crate::gadgets::pow2;

/// Prover hints for one instruction slot (everything else is derived in-circuit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SlotHint {
    /// The fetched instruction word (0 for padding).
    pub insn: u32,
    /// Timestamp of the fetched word's previous write.
    pub t_fetch: u64,
    /// The data word before the access (0 when there is no data access).
    pub mem_old: u32,
    /// Timestamp of the data word's previous write.
    pub t_mem: u64,
    /// The input byte moved by a `read` micro-step (0 otherwise).
    pub in_byte: u8,
}

/// One memory-audit row: a word's initial and final value and last-write timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AuditRow {
    pub active: bool,
    /// Word address (`byte address / 4`).
    pub addr: u32,
    pub init: u32,
    pub fin: u32,
    pub t_fin: u64,
}

/// Deliberate witness corruption, for the soundness test harness only.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// Adds `delta` to the value written to `rd` in slot `slot`.
    RdValue { slot: usize, delta: u64 },
    /// Decodes slot `slot` as the real instruction even when halted (trace continues past halt).
    IgnoreHalt { slot: usize },
    /// Claims `exit` at slot `slot` whatever the instruction is (early halt).
    ForceHalt { slot: usize },
}

/// Hints for one folding step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepHints {
    pub slots: Vec<SlotHint>,
    pub audit: Vec<AuditRow>,
}

/// Poseidon constants of the hint hash chain.
pub fn hash_constants() -> PoseidonConstants<crate::F, U5> {
    Sponge::<crate::F, U5>::api_constants(Strength::Standard)
}

/// Native hash-chain step: `H(h, e_0..e_3)`.
pub fn hash_native(c: &PoseidonConstants<crate::F, U5>, h: crate::F, e: &[crate::F]) -> crate::F {
    let mut input = vec![h];
    input.extend_from_slice(e);
    let mut sponge = Sponge::new_with_constants(c, Simplex);
    let acc = &mut ();
    let pattern = IOPattern(vec![
        SpongeOp::Absorb(input.len() as u32),
        SpongeOp::Squeeze(1),
    ]);
    sponge.start(pattern, None, acc);
    SpongeAPI::absorb(&mut sponge, input.len() as u32, &input, acc);
    let out = SpongeAPI::squeeze(&mut sponge, 1, acc);
    // finish() only errors on an IO-pattern mismatch, impossible with the pattern above.
    let _ = sponge.finish(acc);
    out[0]
}

pub(super) fn hash_circuit<CS: ConstraintSystem<crate::F>>(
    cs: &mut CS,
    c: &PoseidonConstants<crate::F, U5>,
    input: &[AllocatedNum<crate::F>],
) -> Result<AllocatedNum<crate::F>, SynthesisError> {
    let pattern = IOPattern(vec![
        SpongeOp::Absorb(input.len() as u32),
        SpongeOp::Squeeze(1),
    ]);
    let mut ns = cs.namespace(|| "poseidon");
    let out = {
        let mut sponge = SpongeCircuit::new_with_constants(c, Simplex);
        sponge.start(pattern, None, &mut ns);
        let elts: Vec<Elt<crate::F>> = input.iter().map(|e| Elt::Allocated(e.clone())).collect();
        SpongeAPI::absorb(&mut sponge, input.len() as u32, &elts, &mut ns);
        let out = SpongeAPI::squeeze(&mut sponge, 1, &mut ns);
        sponge
            .finish(&mut ns)
            .map_err(|_| SynthesisError::Unsatisfiable("poseidon sponge".into()))?;
        out
    };
    let r = out[0].ensure_allocated(&mut ns.namespace(|| "out"));
    r
}

/// Packs a slot hint into one field element (injective: every part is range-checked).
pub fn pack_slot(h: &SlotHint) -> crate::F {
    use crate::F;
    F::from(h.insn as u64)
        + pow2::<F>(32) * F::from(h.t_fetch)
        + pow2::<F>(64) * F::from(h.mem_old as u64)
        + pow2::<F>(96) * F::from(h.t_mem)
        + pow2::<F>(128) * F::from(h.in_byte as u64)
}

/// Packs an audit row into one field element.
pub fn pack_audit(r: &AuditRow) -> crate::F {
    use crate::F;
    F::from(r.addr as u64)
        + pow2::<F>(30) * F::from(r.init as u64)
        + pow2::<F>(62) * F::from(r.fin as u64)
        + pow2::<F>(94) * F::from(r.t_fin)
        + pow2::<F>(126) * F::from(r.active as u64)
}
