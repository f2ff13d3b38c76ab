//! The zk transactions' state transitions and the end-of-block expiry of jobs.
//!
//! Each function runs inside the transaction's own state layer (see
//! `crate::execute::BlockExecutor`): an `Err` discards every write it made.

use std::time::Instant;

use nexus_store::StateView;
use nexus_zkvm_bridge::proof::Proof;
use nexus_zkvm_bridge::{prover, Program};
use tracing::{info, warn};

use super::state::{JobResult, JobStatus, ProverRecord, ZkJob, ZkProgram, ZkState};
use super::verifier;
use super::{outbox_function, ZkError, ZkParams, MAX_ZK_OUTPUT_BYTES, TARGET};
use crate::address::Address;
use crate::error::TxError;
use crate::ledger::Ledger;
use crate::threshold::outbox::push_output;

/// Event topics of zk transactions (in the transaction's outcome).
pub const EVENT_PROGRAM: &str = "zk/program";
/// Data: the job id, `u64` big-endian.
pub const EVENT_JOB: &str = "zk/job";
/// Data: borsh of the job's [`JobResult`].
pub const EVENT_PROVED: &str = "zk/proved";

/// `DeployZk`: stores the ELF under its SHA-256.
pub fn deploy(
    view: &mut StateView,
    zk_params: &ZkParams,
    owner: Address,
    elf: &[u8],
    height: u64,
) -> Result<[u8; 32], TxError> {
    if elf.len() > zk_params.max_elf_bytes as usize {
        return Err(ZkError::ElfTooLarge {
            len: elf.len(),
            max: zk_params.max_elf_bytes as usize,
        }
        .into());
    }
    Program::load(elf).map_err(ZkError::InvalidElf)?;
    let id = nexus_zkvm_bridge::witness::sha256(elf);
    let mut zk = ZkState::new(view);
    if zk.program(&id)?.is_some() {
        return Err(ZkError::ProgramExists(id).into());
    }
    zk.set_program(&ZkProgram {
        id,
        owner,
        deployed_at: height,
        elf: elf.to_vec(),
    });
    verifier::prefetch(zk_params);
    info!(target: TARGET, program = %hex::encode(id), %owner, bytes = elf.len(), height, "zk program deployed");
    Ok(id)
}

/// `RequestProof`: opens a job and escrows `reward` (the caller checked that the requester can
/// spend it). Returns the job id.
pub fn request(
    view: &mut StateView,
    zk_params: &ZkParams,
    requester: Address,
    program: [u8; 32],
    input: &[u8],
    reward: u128,
    height: u64,
) -> Result<u64, TxError> {
    if reward == 0 {
        return Err(ZkError::ZeroReward.into());
    }
    if input.len() > zk_params.max_input_bytes as usize {
        return Err(ZkError::InputTooLarge {
            len: input.len(),
            max: zk_params.max_input_bytes as usize,
        }
        .into());
    }
    if ZkState::new(view).program(&program)?.is_none() {
        return Err(ZkError::UnknownProgram(program).into());
    }
    let mut ledger = Ledger::new(view);
    let mut account = ledger.account(&requester)?;
    account.balance = account
        .balance
        .checked_sub(reward)
        .ok_or(TxError::InsufficientBalance {
            address: requester,
            balance: account.balance,
            needed: reward,
        })?;
    ledger.set_account(&requester, &account);
    let mut zk = ZkState::new(view);
    let id = zk.next_job()?;
    let expires_at = height.saturating_add(zk_params.job_ttl_blocks);
    zk.set_job(&ZkJob {
        id,
        program,
        input: input.to_vec(),
        requester,
        reward,
        requested_at: height,
        expires_at,
        status: JobStatus::Open,
    });
    zk.add_expiry(expires_at, id);
    zk.set_next_job(id + 1);
    verifier::prefetch(zk_params);
    info!(target: TARGET, job = id, program = %hex::encode(program), %requester, reward, expires_at, "zk job opened");
    Ok(id)
}

/// `RegisterProver`.
pub fn register_prover(view: &mut StateView, who: Address, height: u64) -> Result<(), TxError> {
    let mut zk = ZkState::new(view);
    if zk.prover(&who)?.is_some() {
        return Err(ZkError::AlreadyProver(who).into());
    }
    zk.set_prover(
        &who,
        &ProverRecord {
            registered_at: height,
            ..ProverRecord::default()
        },
    );
    info!(target: TARGET, prover = %who, height, "prover registered");
    Ok(())
}

/// What one block has verified so far (bounds the verification work of a block).
#[derive(Debug, Default)]
pub struct BlockProofs {
    pub verified: u32,
}

/// One `SubmitProof` transaction.
pub struct Submission<'a> {
    pub prover: Address,
    pub job: u64,
    pub proof: &'a [u8],
    /// The transaction's hash (the outbox item's source).
    pub tx_hash: &'a [u8; 32],
}

/// `SubmitProof`: the cheap checks (prover, job state, block budget, size), then the
/// verification; on success the job is done, the reward paid and the output queued for signing.
pub fn submit(
    view: &mut StateView,
    zk_params: &ZkParams,
    budget: &mut BlockProofs,
    submission: Submission<'_>,
    height: u64,
) -> Result<JobResult, TxError> {
    let Submission {
        prover: prover_addr,
        job: job_id,
        proof: proof_bytes,
        tx_hash,
    } = submission;
    let zk = ZkState::new(view);
    let Some(mut prover_record) = zk.prover(&prover_addr)? else {
        return Err(ZkError::NotAProver(prover_addr).into());
    };
    let Some(mut job) = zk.job(job_id)? else {
        return Err(ZkError::UnknownJob(job_id).into());
    };
    match job.status {
        JobStatus::Open => {}
        JobStatus::Done(_) => {
            return Err(ZkError::JobClosed {
                id: job_id,
                status: "already proved",
            }
            .into())
        }
        JobStatus::Expired { .. } => {
            return Err(ZkError::JobClosed {
                id: job_id,
                status: "expired",
            }
            .into())
        }
    }
    if proof_bytes.len() > zk_params.max_proof_bytes as usize {
        return Err(ZkError::ProofTooLarge {
            len: proof_bytes.len(),
            max: zk_params.max_proof_bytes as usize,
        }
        .into());
    }
    if budget.verified >= zk_params.max_proofs_per_block {
        return Err(ZkError::BlockProofLimit(zk_params.max_proofs_per_block).into());
    }
    budget.verified += 1;
    let program = zk.program(&job.program)?.ok_or_else(|| {
        nexus_runtime::RuntimeError::Corrupt(format!("job {job_id} names a missing program"))
    })?;
    let proof = Proof::from_bytes(proof_bytes).map_err(ZkError::MalformedProof)?;
    let vk = verifier::verifier_key(zk_params).map_err(|e| {
        TxError::Node(nexus_runtime::RuntimeError::Corrupt(format!(
            "zk verifier key: {e}"
        )))
    })?;
    let started = Instant::now();
    let (k, m) = zk_params.shape();
    let verified = prover::verify(&vk, k, m, &proof, &program.elf, &job.input);
    let micros = started.elapsed().as_micros() as u64;
    let public = match verified {
        Ok(public) => public,
        Err(source) => {
            warn!(target: TARGET, job = job_id, prover = %prover_addr, verify_us = micros, error = %source, "proof rejected");
            return Err(ZkError::ProofRejected {
                job: job_id,
                source,
            }
            .into());
        }
    };
    if public.output.len() > MAX_ZK_OUTPUT_BYTES {
        return Err(ZkError::OutputTooLarge {
            len: public.output.len(),
            max: MAX_ZK_OUTPUT_BYTES,
        }
        .into());
    }
    let outbox_id = if public.exit_code == 0 {
        Some(push_output(
            view,
            &outbox_function(&job.program),
            tx_hash,
            0,
            &public.output,
            height,
        )?)
    } else {
        None
    };
    let result = JobResult {
        prover: prover_addr,
        output: public.output,
        exit_code: public.exit_code,
        cycles: public.cycles,
        height,
        outbox_id,
    };
    Ledger::new(view).credit(&prover_addr, job.reward)?;
    let mut zk = ZkState::new(view);
    zk.remove_expiry(job.expires_at, job_id);
    prover_record.proofs += 1;
    prover_record.earned = prover_record.earned.saturating_add(job.reward);
    zk.set_prover(&prover_addr, &prover_record);
    job.status = JobStatus::Done(result.clone());
    zk.set_job(&job);
    info!(target: TARGET, job = job_id, prover = %prover_addr, verify_us = micros,
        cycles = result.cycles, exit_code = result.exit_code, reward = job.reward, "proof verified");
    Ok(result)
}

/// End of block `height`: jobs whose last block was `height` (or earlier, when a previous
/// block hit `zk.max_expiries_per_block`) expire and their rewards return to the requesters.
pub fn end_block(
    view: &mut StateView,
    zk_params: &ZkParams,
    height: u64,
) -> Result<(), nexus_runtime::RuntimeError> {
    let limit = zk_params.max_expiries_per_block as usize;
    let due = ZkState::new(view).expired_by(height, limit)?;
    for (expires_at, id) in due {
        let mut zk = ZkState::new(view);
        zk.remove_expiry(expires_at, id);
        let Some(mut job) = zk.job(id)? else {
            continue;
        };
        if job.status != JobStatus::Open {
            continue;
        }
        job.status = JobStatus::Expired { height };
        zk.set_job(&job);
        Ledger::new(view).credit(&job.requester, job.reward)?;
        info!(target: TARGET, job = id, requester = %job.requester, reward = job.reward, height, "zk job expired; reward refunded");
    }
    Ok(())
}
