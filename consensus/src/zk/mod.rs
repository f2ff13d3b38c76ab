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
//!    and input with the verifier key of the chain's one circuit shape ([`verifier`]). The first
//!    proof that verifies wins: the output is recorded in the job, the reward paid to the
//!    prover, and (exit code 0) the output is pushed to the outbox to be threshold-signed like
//!    any function output. A proof that does not verify fails the transaction; only its fee
//!    (which includes [`ZK_VERIFY_FUEL`]) is charged.
//! 5. A job without a verified proof after [`ZK_JOB_TTL_BLOCKS`] expires at the end of block
//!    `expires_at` and the reward returns to the requester ([`execute::end_block`]).
//!
//! CheckTx sees only the cheap, stateless checks ([`check_stateless`]: sizes); the proof is
//! verified when the block executes. Tracing target: `nexus::zk`.

pub mod execute;
pub mod state;
pub mod verifier;

pub use state::{JobResult, JobStatus, ProverRecord, ZkJob, ZkProgram, ZkState};

use nexus_zkvm_bridge::proof::ProofError;
use nexus_zkvm_bridge::prover::VerifyError;
use nexus_zkvm_bridge::ElfError;
use thiserror::Error;

use crate::address::Address;
use crate::tx::TxKind;

pub(crate) const TARGET: &str = "nexus::zk";

/// Largest zk-Function ELF a `DeployZk` may carry.
pub const MAX_ZK_ELF_BYTES: usize = 1 << 20;
/// Largest input of a proof request.
pub const MAX_ZK_INPUT_BYTES: usize = 16 << 10;
/// Largest proof a `SubmitProof` may carry (a compressed proof of the chain's circuit shape is
/// about 12.5 KiB plus the output; see `nexus_zkvm_bridge::proof`).
pub const MAX_ZK_PROOF_BYTES: usize = 64 << 10;
/// Largest proved output recorded and signed (the limit of function outputs).
pub const MAX_ZK_OUTPUT_BYTES: usize = nexus_runtime::limits::MAX_OUTPUT_BYTES;
/// Fuel every `SubmitProof` pays for its verification (about 270 ms of one core; one unit of
/// fuel is about one wasm instruction), on top of the usual base and per-byte fuel.
pub const ZK_VERIFY_FUEL: u64 = 300_000_000;
/// Fuel per byte of a deployed ELF (loading and hashing it), like code of a wasm deploy.
pub const ZK_DEPLOY_FUEL_PER_BYTE: u64 = 20;
/// Most proofs one block verifies; further `SubmitProof`s of the block fail before verifying.
pub const MAX_PROOFS_PER_BLOCK: u32 = 4;
/// Blocks a job stays open after the block that requested it.
pub const ZK_JOB_TTL_BLOCKS: u64 = 600;
/// Most expired jobs refunded at the end of one block (the rest follow in the next blocks).
pub const MAX_EXPIRIES_PER_BLOCK: usize = 64;
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
    #[error("zk program is {len} bytes; the limit is {max} (MAX_ZK_ELF_BYTES)")]
    ElfTooLarge { len: usize, max: usize },
    #[error("not a valid RV32IM executable: {0}")]
    InvalidElf(#[source] ElfError),
    #[error("zk program 0x{} is already deployed", hex::encode(.0))]
    ProgramExists([u8; 32]),
    #[error("no zk program 0x{} is deployed", hex::encode(.0))]
    UnknownProgram([u8; 32]),
    #[error("proof input is {len} bytes; the limit is {max} (MAX_ZK_INPUT_BYTES)")]
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
    #[error("proof is {len} bytes; the limit is {max} (MAX_ZK_PROOF_BYTES)")]
    ProofTooLarge { len: usize, max: usize },
    #[error("this block already verified {MAX_PROOFS_PER_BLOCK} proofs (MAX_PROOFS_PER_BLOCK); resubmit")]
    BlockProofLimit,
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

/// Checks that need no state (run by CheckTx, proposals and execution): sizes only.
pub fn check_stateless(kind: &TxKind) -> Result<(), ZkError> {
    match kind {
        TxKind::DeployZk { elf } if elf.len() > MAX_ZK_ELF_BYTES => Err(ZkError::ElfTooLarge {
            len: elf.len(),
            max: MAX_ZK_ELF_BYTES,
        }),
        TxKind::RequestProof { input, .. } if input.len() > MAX_ZK_INPUT_BYTES => {
            Err(ZkError::InputTooLarge {
                len: input.len(),
                max: MAX_ZK_INPUT_BYTES,
            })
        }
        TxKind::RequestProof { reward: 0, .. } => Err(ZkError::ZeroReward),
        TxKind::SubmitProof { proof, .. } if proof.len() > MAX_ZK_PROOF_BYTES => {
            Err(ZkError::ProofTooLarge {
                len: proof.len(),
                max: MAX_ZK_PROOF_BYTES,
            })
        }
        _ => Ok(()),
    }
}

/// Fuel a zk transaction costs on top of the base and per-byte fuel.
pub fn extra_intrinsic_fuel(kind: &TxKind) -> u64 {
    match kind {
        TxKind::DeployZk { elf } => ZK_DEPLOY_FUEL_PER_BYTE.saturating_mul(elf.len() as u64),
        TxKind::SubmitProof { .. } => ZK_VERIFY_FUEL,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sizes_and_a_zero_reward_are_refused_without_state() {
        let ok = [
            TxKind::DeployZk { elf: vec![0; 16] },
            TxKind::RequestProof {
                program: [0; 32],
                input: vec![0; MAX_ZK_INPUT_BYTES],
                reward: 1,
            },
            TxKind::SubmitProof {
                job: 0,
                proof: vec![0; MAX_ZK_PROOF_BYTES],
            },
            TxKind::RegisterProver,
        ];
        for kind in &ok {
            assert!(check_stateless(kind).is_ok(), "{kind:?}");
        }
        let refused = [
            TxKind::DeployZk {
                elf: vec![0; MAX_ZK_ELF_BYTES + 1],
            },
            TxKind::RequestProof {
                program: [0; 32],
                input: vec![0; MAX_ZK_INPUT_BYTES + 1],
                reward: 1,
            },
            TxKind::RequestProof {
                program: [0; 32],
                input: vec![],
                reward: 0,
            },
            TxKind::SubmitProof {
                job: 0,
                proof: vec![0; MAX_ZK_PROOF_BYTES + 1],
            },
        ];
        for kind in &refused {
            assert!(check_stateless(kind).is_err(), "{kind:?}");
        }
    }

    #[test]
    fn every_proof_submission_pays_for_a_verification() {
        let submit = TxKind::SubmitProof {
            job: 0,
            proof: vec![],
        };
        assert_eq!(extra_intrinsic_fuel(&submit), ZK_VERIFY_FUEL);
        let deploy = TxKind::DeployZk { elf: vec![0; 1000] };
        assert_eq!(
            extra_intrinsic_fuel(&deploy),
            1000 * ZK_DEPLOY_FUEL_PER_BYTE
        );
        assert_eq!(extra_intrinsic_fuel(&TxKind::RegisterProver), 0);
    }
}
