//! zk-Functions on the network: RV32IM programs whose runs are proved off chain and verified
//! in `FinalizeBlock`.
//!
//! Lifecycle (see `docs/zk-network.md`):
//!
//! 1. `DeployZk { elf }` stores a program under its id, the SHA-256 of the ELF (the program
//!    hash every proof commits to); the ELF must pass `nexus_zkvm_bridge`'s strict loader.
//! 2. `RequestProof { program, input, reward }` opens job `n` (sequential ids) and escrows
//!    `reward` from the requester's balance.
//! 3. `RegisterProver` makes the sender a prover; only provers may submit proofs.
//! 4. `SubmitProof { job, proof }`: every validator verifies the proof against the job's program
//!    and input with the verifier key of the chain's one circuit shape, whose digest the chain
//!    pins ([`verifier`], [`ZkParams::verifier_key_sha256`]). The first proof that verifies
//!    wins: the output is recorded in the job, the reward paid to the prover, and (exit code 0)
//!    the output is pushed to the outbox to be threshold-signed like any function output. A
//!    proof that does not verify fails the transaction; only its fee (which includes
//!    [`ZkParams::verify_fuel`]) is charged.
//! 5. A job without a verified proof after [`ZkParams::job_ttl_blocks`] expires at the end of
//!    block `expires_at` and the reward returns to the requester ([`execute::end_block`]).
//!
//! Every limit and price is a chain parameter ([`ZkParams`], `ChainParams::zk`, fixed at
//! genesis). CheckTx sees only the cheap checks ([`check_stateless`]: sizes); the proof is
//! verified when the block executes. Tracing target: `nexus::zk`.

pub mod execute;
pub mod params;
pub mod state;
pub mod verifier;

pub use params::{ZkLimitCeilings, ZkParams};
pub use state::{JobResult, JobStatus, ProverRecord, ZkJob, ZkProgram, ZkState};

use nexus_zkvm_bridge::proof::ProofError;
use nexus_zkvm_bridge::prover::VerifyError;
use nexus_zkvm_bridge::ElfError;
use thiserror::Error;

use crate::address::Address;
use crate::tx::TxKind;

pub(crate) const TARGET: &str = "nexus::zk";

/// Largest proved output recorded and signed (the limit of function outputs).
pub const MAX_ZK_OUTPUT_BYTES: usize = nexus_runtime::limits::MAX_OUTPUT_BYTES;
/// Prefix of the `function` name an outbox item of a zk job carries: `zk:<program id hex>`;
/// its `functionId` for Ethereum is `keccak256` of that name.
pub const OUTBOX_FUNCTION_PREFIX: &str = "zk:";

/// The outbox `function` name of a program's outputs.
pub fn outbox_function(program: &[u8; 32]) -> String {
    format!("{OUTBOX_FUNCTION_PREFIX}{}", hex::encode(program))
}

/// Why a zk transaction was refused or failed.
#[derive(Debug, Error)]
pub enum ZkError {
    #[error("zk program is {len} bytes; the limit is {max} (chain parameter zk.max_elf_bytes)")]
    ElfTooLarge { len: usize, max: usize },
    #[error("not a valid RV32IM executable: {0}")]
    InvalidElf(#[source] ElfError),
    #[error("zk program 0x{} is already deployed", hex::encode(.0))]
    ProgramExists([u8; 32]),
    #[error("no zk program 0x{} is deployed", hex::encode(.0))]
    UnknownProgram([u8; 32]),
    #[error("proof input is {len} bytes; the limit is {max} (chain parameter zk.max_input_bytes)")]
    InputTooLarge { len: usize, max: usize },
    #[error("the reward of a proof request must be positive")]
    ZeroReward,
    #[error("{0} is already a registered prover")]
    AlreadyProver(Address),
    #[error("{0} is not a registered prover; send `RegisterProver` first")]
    NotAProver(Address),
    #[error("no zk job {0}")]
    UnknownJob(u64),
    #[error("zk job {id} is {status}; it takes no more proofs")]
    JobClosed { id: u64, status: &'static str },
    #[error("proof is {len} bytes; the limit is {max} (chain parameter zk.max_proof_bytes)")]
    ProofTooLarge { len: usize, max: usize },
    #[error("this block already verified {0} proofs (chain parameter zk.max_proofs_per_block); resubmit")]
    BlockProofLimit(u32),
    #[error("proof is malformed: {0}")]
    MalformedProof(#[source] ProofError),
    #[error("proof rejected for zk job {job}: {source}")]
    ProofRejected {
        job: u64,
        #[source]
        source: VerifyError,
    },
    #[error("proved output is {len} bytes; the limit is {max} (MAX_ZK_OUTPUT_BYTES)")]
    OutputTooLarge { len: usize, max: usize },
}

/// Checks that need no state beyond the chain parameters (run by CheckTx, proposals and
/// execution): sizes and a positive reward.
pub fn check_stateless(zk: &ZkParams, kind: &TxKind) -> Result<(), ZkError> {
    let over = |len: usize, max: u32| len > max as usize;
    match kind {
        TxKind::DeployZk { elf } if over(elf.len(), zk.max_elf_bytes) => {
            Err(ZkError::ElfTooLarge {
                len: elf.len(),
                max: zk.max_elf_bytes as usize,
            })
        }
        TxKind::RequestProof { input, .. } if over(input.len(), zk.max_input_bytes) => {
            Err(ZkError::InputTooLarge {
                len: input.len(),
                max: zk.max_input_bytes as usize,
            })
        }
        TxKind::RequestProof { reward: 0, .. } => Err(ZkError::ZeroReward),
        TxKind::SubmitProof { proof, .. } if over(proof.len(), zk.max_proof_bytes) => {
            Err(ZkError::ProofTooLarge {
                len: proof.len(),
                max: zk.max_proof_bytes as usize,
            })
        }
        _ => Ok(()),
    }
}

/// Fuel a zk transaction costs on top of the base and per-byte fuel.
pub fn extra_intrinsic_fuel(zk: &ZkParams, kind: &TxKind) -> u64 {
    match kind {
        TxKind::DeployZk { elf } => zk.deploy_fuel_per_byte.saturating_mul(elf.len() as u64),
        TxKind::SubmitProof { .. } => zk.verify_fuel,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sizes_and_a_zero_reward_are_refused_without_state() {
        let zk = ZkParams::default();
        let (elf_max, input_max, proof_max) = (
            zk.max_elf_bytes as usize,
            zk.max_input_bytes as usize,
            zk.max_proof_bytes as usize,
        );
        let ok = [
            TxKind::DeployZk { elf: vec![0; 16] },
            TxKind::RequestProof {
                program: [0; 32],
                input: vec![0; input_max],
                reward: 1,
            },
            TxKind::SubmitProof {
                job: 0,
                proof: vec![0; proof_max],
            },
            TxKind::RegisterProver,
        ];
        for kind in &ok {
            assert!(check_stateless(&zk, kind).is_ok(), "{kind:?}");
        }
        let refused = [
            TxKind::DeployZk {
                elf: vec![0; elf_max + 1],
            },
            TxKind::RequestProof {
                program: [0; 32],
                input: vec![0; input_max + 1],
                reward: 1,
            },
            TxKind::RequestProof {
                program: [0; 32],
                input: vec![],
                reward: 0,
            },
            TxKind::SubmitProof {
                job: 0,
                proof: vec![0; proof_max + 1],
            },
        ];
        for kind in &refused {
            assert!(check_stateless(&zk, kind).is_err(), "{kind:?}");
        }
    }

    #[test]
    fn every_proof_submission_pays_for_a_verification() {
        let zk = ZkParams {
            verify_fuel: 7,
            deploy_fuel_per_byte: 3,
            ..ZkParams::default()
        };
        let submit = TxKind::SubmitProof {
            job: 0,
            proof: vec![],
        };
        assert_eq!(extra_intrinsic_fuel(&zk, &submit), 7);
        let deploy = TxKind::DeployZk { elf: vec![0; 1000] };
        assert_eq!(extra_intrinsic_fuel(&zk, &deploy), 3000);
        assert_eq!(extra_intrinsic_fuel(&zk, &TxKind::RegisterProver), 0);
    }
}
