//! Second pass: Nova IVC over the step circuit, compression with Spartan + IPA, and the
//! verifier.
//!
//! Curve cycle: BN254 (primary) / Grumpkin (secondary), both with Pedersen commitments
//! (`Bn256EngineIPA`, `GrumpkinEngine`); Spartan's polynomial evaluations are proved with our
//! inner product argument ([`crate::ipa`]). Setup is transparent: the commitment keys are
//! derived by hashing to the curve, no ceremony or powers-of-tau file.
//! (BN254's scalar field is also the one Ethereum precompiles use, which keeps a later on-chain
//! verifier possible; Pallas/Vesta would be equally transparent but not Ethereum-friendly.)

use std::sync::atomic::{AtomicBool, Ordering};

use nova_snark::nova::{CompressedSNARK, ProverKey, PublicParams, RecursiveSNARK, VerifierKey};
use nova_snark::traits::snark::RelaxedR1CSSNARKTrait;

use crate::circuit::{hash_constants, ZkvmStep};
use crate::elf::{ElfError, Program};
use crate::proof::{Proof, ProofError};
use crate::spartan::Spartan;
use crate::witness::{self, challenge, check_final, initial_state, FinalStateError, PublicValues};
use crate::{E1, E2};

type EE1 = crate::ipa::Ipa<E1>;
type EE2 = crate::ipa::Ipa<E2>;
/// Primary compression SNARK (Spartan, non-preprocessing, [`crate::ipa`]; see
/// [`crate::spartan`]).
pub type S1 = Spartan<E1, EE1>;
/// Secondary compression SNARK.
pub type S2 = Spartan<E2, EE2>;
pub type Params = PublicParams<E1, E2, ZkvmStep>;
pub type Pk = ProverKey<E1, E2, ZkvmStep, S1, S2>;
pub type Vk = VerifierKey<E1, E2, ZkvmStep, S1, S2>;
pub type Snark = CompressedSNARK<E1, E2, ZkvmStep, S1, S2>;

/// Instruction slots per folding step (the `k` of the step circuit).
///
/// The shape is chosen from measurements (BENCHMARKS.md, "zkVM"): a folding step costs a fixed
/// ~125 ms (Nova's augmented circuits on both curves, mostly the secondary curve's
/// multi-scalar multiplications) plus ~2.3 ms per 1,000 primary constraints, so throughput
/// grows with `k` until the primary circuit crosses a power of two, which doubles compression
/// and verification (both are linear in the padded size). `k = 48, m = 16` is the largest
/// round shape under 2^16 primary constraints (63,189): ~160 cycles/s against ~60-75 for the
/// largest under 2^15 (`k = 16, m = 8`: 32,595 constraints), for more compression and
/// verification time (BENCHMARKS.md has both shapes) and slower short programs (their step
/// count is set by the memory audit). A chain may pin the smaller shape.
pub const DEFAULT_K: usize = 48;
/// Memory-audit rows per folding step (a short program with a large image is audit-bound:
/// its step count is the number of words it touches divided by `m`).
pub const DEFAULT_M: usize = 16;
/// Largest `k` or `m` accepted (from a proof file or the command line).
pub const MAX_SLOTS_PER_STEP: usize = 1024;

/// Why proving failed.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    #[error(transparent)]
    Elf(#[from] ElfError),
    #[error(transparent)]
    Witness(#[from] witness::WitnessError),
    #[error("nova: {0}")]
    Nova(String),
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error("bad circuit shape: k = {k}, m = {m} (each must be 1..={MAX_SLOTS_PER_STEP})")]
    Shape { k: usize, m: usize },
    #[error("proving cancelled after {done} of {total} folding steps")]
    Cancelled { done: usize, total: usize },
}

/// Why a proof was rejected.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error(transparent)]
    Elf(#[from] ElfError),
    #[error("the proof is for k = {pk}, m = {pm}, the key for k = {kk}, m = {km}")]
    ShapeMismatch {
        pk: usize,
        pm: usize,
        kk: usize,
        km: usize,
    },
    #[error("the proof is for another program (hash mismatch)")]
    ProgramMismatch,
    #[error("the proof is for another input (hash mismatch)")]
    InputMismatch,
    #[error("SNARK verification failed: {0}")]
    Snark(String),
    #[error("final state rejected: {0}")]
    Final(#[from] FinalStateError),
}

/// Public parameters and keys for one `(k, m)` shape.
pub struct Keys {
    pub k: usize,
    pub m: usize,
    pub pp: Params,
    pub pk: Pk,
    pub vk: Vk,
}

fn check_shape(k: usize, m: usize) -> Result<(), ProveError> {
    if k == 0 || m == 0 || k > MAX_SLOTS_PER_STEP || m > MAX_SLOTS_PER_STEP {
        return Err(ProveError::Shape { k, m });
    }
    Ok(())
}

/// Generates public parameters and keys (transparent, deterministic).
pub fn setup(k: usize, m: usize) -> Result<Keys, ProveError> {
    check_shape(k, m)?;
    let blank = ZkvmStep::blank(k, m);
    let pp = Params::setup(&blank, &*S1::ck_floor(), &*S2::ck_floor())
        .map_err(|e| ProveError::Nova(e.to_string()))?;
    let (pk, vk) = Snark::setup(&pp).map_err(|e| ProveError::Nova(e.to_string()))?;
    tracing::info!(
        target: "nexus::zkvm",
        k,
        m,
        primary_constraints = pp.num_constraints().0,
        secondary_constraints = pp.num_constraints().1,
        "public parameters generated"
    );
    Ok(Keys { k, m, pp, pk, vk })
}

/// A folded (not yet compressed) run.
pub struct Folded {
    pub snark: RecursiveSNARK<E1, E2, ZkvmStep>,
    pub public: PublicValues,
    pub digest: crate::F,
    pub num_steps: usize,
}

/// First pass (execute, record hints) and Nova folding. `progress(done, total)` is called after
/// each folding step.
pub fn fold(
    keys: &Keys,
    elf: &[u8],
    input: &[u8],
    max_cycles: u64,
    progress: impl FnMut(usize, usize),
) -> Result<Folded, ProveError> {
    fold_until(
        keys,
        elf,
        input,
        max_cycles,
        &AtomicBool::new(false),
        progress,
    )
}

/// [`fold`] that gives up with [`ProveError::Cancelled`] before the next folding step once
/// `cancel` is set (a step takes a fraction of a second, a whole run minutes).
pub fn fold_until(
    keys: &Keys,
    elf: &[u8],
    input: &[u8],
    max_cycles: u64,
    cancel: &AtomicBool,
    mut progress: impl FnMut(usize, usize),
) -> Result<Folded, ProveError> {
    let program = Program::load(elf)?;
    let w = witness::generate(&program, elf, input, keys.k, keys.m, max_cycles)?;
    let constants = hash_constants();
    let circuits: Vec<ZkvmStep> = w
        .steps
        .iter()
        .map(|h| ZkvmStep {
            k: keys.k,
            m: keys.m,
            hints: Some(h.clone()),
            constants: constants.clone(),
            tamper: None,
        })
        .collect();
    let total = circuits.len();
    let nova = |e: nova_snark::errors::NovaError| ProveError::Nova(e.to_string());
    let mut rs = RecursiveSNARK::new(&keys.pp, &circuits[0], &w.z0).map_err(nova)?;
    for (i, c) in circuits.iter().enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Err(ProveError::Cancelled { done: i, total });
        }
        rs.prove_step(&keys.pp, c).map_err(nova)?;
        progress(i + 1, total);
    }
    tracing::debug!(target: "nexus::zkvm", steps = total, cycles = w.public.cycles, "folded");
    Ok(Folded {
        snark: rs,
        public: w.public,
        digest: w.digest,
        num_steps: total,
    })
}

/// Compresses a folded run into a [`Proof`] (Spartan + IPA over both curves).
pub fn compress(keys: &Keys, folded: Folded) -> Result<Proof, ProveError> {
    let snark = Snark::prove(&keys.pp, &keys.pk, &folded.snark)
        .map_err(|e| ProveError::Nova(e.to_string()))?;
    Ok(Proof {
        k: keys.k,
        m: keys.m,
        num_steps: folded.num_steps as u64,
        public: folded.public,
        digest: folded.digest,
        snark,
    })
}

/// Proves `elf` on `input`: [`fold`] then [`compress`].
pub fn prove(
    keys: &Keys,
    elf: &[u8],
    input: &[u8],
    max_cycles: u64,
    progress: impl FnMut(usize, usize),
) -> Result<Proof, ProveError> {
    prove_until(
        keys,
        elf,
        input,
        max_cycles,
        &AtomicBool::new(false),
        progress,
    )
}

/// [`prove`] that can be cancelled between folding steps ([`fold_until`]).
pub fn prove_until(
    keys: &Keys,
    elf: &[u8],
    input: &[u8],
    max_cycles: u64,
    cancel: &AtomicBool,
    progress: impl FnMut(usize, usize),
) -> Result<Proof, ProveError> {
    let folded = fold_until(keys, elf, input, max_cycles, cancel, progress)?;
    compress(keys, folded)
}

/// Verifies `proof` for exactly `elf` and `input`; returns the proved public values.
pub fn verify(
    vk: &Vk,
    k: usize,
    m: usize,
    proof: &Proof,
    elf: &[u8],
    input: &[u8],
) -> Result<PublicValues, VerifyError> {
    if proof.k != k || proof.m != m {
        return Err(VerifyError::ShapeMismatch {
            pk: proof.k,
            pm: proof.m,
            kk: k,
            km: m,
        });
    }
    if proof.public.program_hash != witness::sha256(elf) {
        return Err(VerifyError::ProgramMismatch);
    }
    if proof.public.input_hash != witness::sha256(input) {
        return Err(VerifyError::InputMismatch);
    }
    let program = Program::load(elf)?;
    let gamma = challenge(k, m, &proof.public, &proof.digest);
    let z0 = initial_state(&program, input.len(), gamma);
    let steps = usize::try_from(proof.num_steps).map_err(|_| VerifyError::Snark("steps".into()))?;
    let zn = proof
        .snark
        .verify(vk, steps, &z0)
        .map_err(|e| VerifyError::Snark(e.to_string()))?;
    check_final(&zn, &program, input, &proof.public, &proof.digest, gamma)?;
    Ok(proof.public.clone())
}
