//! Every storage key of the zk subsystem, the records behind them, and typed access over a
//! [`StateView`].
//!
//! | key | value (borsh) |
//! |---|---|
//! | `zk/prog/<program id 32>` | [`ZkProgram`]: a deployed RV32IM ELF (id = SHA-256 of the ELF) |
//! | `zk/next` | `u64` BE: the id the next proof request gets |
//! | `zk/job/<id BE 8>` | [`ZkJob`]: a proof request, its escrowed reward and its result |
//! | `zk/exp/<expires_at BE 8><id BE 8>` | empty: open jobs by expiry height |
//! | `zk/prover/<address 20>` | [`ProverRecord`]: a registered prover |

use borsh::{BorshDeserialize, BorshSerialize};
use nexus_runtime::RuntimeError;
use nexus_store::StateView;
use serde::Serialize;

use crate::address::Address;

pub const PROGRAM_PREFIX: &[u8] = b"zk/prog/";
pub const NEXT_JOB_KEY: &[u8] = b"zk/next";
pub const JOB_PREFIX: &[u8] = b"zk/job/";
pub const EXPIRY_PREFIX: &[u8] = b"zk/exp/";
pub const PROVER_PREFIX: &[u8] = b"zk/prover/";

pub fn program_key(id: &[u8; 32]) -> Vec<u8> {
    [PROGRAM_PREFIX, id.as_slice()].concat()
}

pub fn job_key(id: u64) -> Vec<u8> {
    [JOB_PREFIX, &id.to_be_bytes()].concat()
}

pub fn expiry_key(expires_at: u64, id: u64) -> Vec<u8> {
    [EXPIRY_PREFIX, &expires_at.to_be_bytes(), &id.to_be_bytes()].concat()
}

pub fn prover_key(address: &Address) -> Vec<u8> {
    [PROVER_PREFIX, address.0.as_slice()].concat()
}

/// A deployed zk-Function.
#[derive(Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ZkProgram {
    /// SHA-256 of the ELF: the program hash every proof of it commits to.
    pub id: [u8; 32],
    pub owner: Address,
    pub deployed_at: u64,
    #[serde(skip)]
    pub elf: Vec<u8>,
}

impl std::fmt::Debug for ZkProgram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkProgram")
            .field("id", &hex::encode(self.id))
            .field("owner", &self.owner)
            .field("deployed_at", &self.deployed_at)
            .field("elf_bytes", &self.elf.len())
            .finish()
    }
}

/// What became of a proof request.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub enum JobStatus {
    /// Waiting for a proof until the end of block `expires_at`.
    Open,
    /// A proof verified: the reward went to `prover`.
    Done(JobResult),
    /// No proof arrived in time: the reward went back to the requester at `height`.
    Expired { height: u64 },
}

/// The verified result of a job.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct JobResult {
    pub prover: Address,
    /// The proved output (the guest's `write` bytes).
    pub output: Vec<u8>,
    pub exit_code: u32,
    pub cycles: u64,
    /// Height of the block that verified the proof.
    pub height: u64,
    /// The outbox item carrying the output for threshold signing (exit code 0 only).
    pub outbox_id: Option<[u8; 32]>,
}

/// A proof request (stored under [`job_key`]).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ZkJob {
    pub id: u64,
    /// The program to prove (its id, the SHA-256 of its ELF).
    pub program: [u8; 32],
    pub input: Vec<u8>,
    pub requester: Address,
    /// Escrowed from the requester; paid to the prover whose proof verifies first.
    pub reward: u128,
    pub requested_at: u64,
    /// Last height a proof is accepted; the job expires at the end of this block.
    pub expires_at: u64,
    pub status: JobStatus,
}

/// A registered prover.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ProverRecord {
    pub registered_at: u64,
    /// Proofs of this prover that verified.
    pub proofs: u64,
    /// Rewards earned in total.
    pub earned: u128,
}

fn decode<T: BorshDeserialize>(what: &str, raw: &[u8]) -> Result<T, RuntimeError> {
    borsh::from_slice(raw).map_err(|e| RuntimeError::Corrupt(format!("{what}: {e}")))
}

fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    borsh::to_vec(value).expect("borsh encoding into a Vec cannot fail")
}

/// Typed access to the zk keys of a [`StateView`].
pub struct ZkState<'v> {
    pub view: &'v mut StateView,
}

impl<'v> ZkState<'v> {
    pub fn new(view: &'v mut StateView) -> Self {
        ZkState { view }
    }

    pub fn program(&self, id: &[u8; 32]) -> Result<Option<ZkProgram>, RuntimeError> {
        self.view
            .get(&program_key(id))?
            .map(|raw| decode("zk program", &raw))
            .transpose()
    }

    pub fn set_program(&mut self, program: &ZkProgram) {
        self.view.put(program_key(&program.id), encode(program));
    }

    /// The id the next job gets (0 before any).
    pub fn next_job(&self) -> Result<u64, RuntimeError> {
        match self.view.get(NEXT_JOB_KEY)? {
            None => Ok(0),
            Some(raw) => <[u8; 8]>::try_from(raw.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| RuntimeError::Corrupt("zk/next is not 8 bytes".into())),
        }
    }

    pub fn set_next_job(&mut self, id: u64) {
        self.view
            .put(NEXT_JOB_KEY.to_vec(), id.to_be_bytes().to_vec());
    }

    pub fn job(&self, id: u64) -> Result<Option<ZkJob>, RuntimeError> {
        self.view
            .get(&job_key(id))?
            .map(|raw| decode("zk job", &raw))
            .transpose()
    }

    pub fn set_job(&mut self, job: &ZkJob) {
        self.view.put(job_key(job.id), encode(job));
    }

    pub fn prover(&self, address: &Address) -> Result<Option<ProverRecord>, RuntimeError> {
        self.view
            .get(&prover_key(address))?
            .map(|raw| decode("prover record", &raw))
            .transpose()
    }

    pub fn set_prover(&mut self, address: &Address, record: &ProverRecord) {
        self.view.put(prover_key(address), encode(record));
    }

    pub fn add_expiry(&mut self, expires_at: u64, id: u64) {
        self.view.put(expiry_key(expires_at, id), Vec::new());
    }

    pub fn remove_expiry(&mut self, expires_at: u64, id: u64) {
        self.view.delete(expiry_key(expires_at, id));
    }

    /// Up to `limit` open jobs whose expiry height is at most `height`, oldest first.
    pub fn expired_by(&self, height: u64, limit: usize) -> Result<Vec<(u64, u64)>, RuntimeError> {
        let entries = self.view.scan_prefix(EXPIRY_PREFIX, None, limit)?;
        let mut due = Vec::new();
        for (key, _) in entries {
            let rest = &key[EXPIRY_PREFIX.len()..];
            let (Ok(at), Ok(id)) = (
                <[u8; 8]>::try_from(&rest[..8.min(rest.len())]),
                <[u8; 8]>::try_from(rest.get(8..).unwrap_or_default()),
            ) else {
                return Err(RuntimeError::Corrupt("malformed zk expiry key".into()));
            };
            let at = u64::from_be_bytes(at);
            if at > height {
                break;
            }
            due.push((at, u64::from_be_bytes(id)));
        }
        Ok(due)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_store::MemoryState;
    use std::sync::Arc;

    #[test]
    fn expiry_keys_sort_by_height_then_job_and_only_due_ones_are_returned() {
        let mut view = StateView::new(Arc::new(MemoryState::new()));
        let mut zk = ZkState::new(&mut view);
        for (at, id) in [(300, 1), (5, 9), (256, 2), (5, 3), (1 << 40, 4)] {
            zk.add_expiry(at, id);
        }
        assert_eq!(zk.expired_by(4, 10).unwrap(), vec![]);
        assert_eq!(zk.expired_by(5, 10).unwrap(), vec![(5, 3), (5, 9)]);
        assert_eq!(
            zk.expired_by(300, 10).unwrap(),
            vec![(5, 3), (5, 9), (256, 2), (300, 1)]
        );
        assert_eq!(zk.expired_by(300, 2).unwrap(), vec![(5, 3), (5, 9)]);
        zk.remove_expiry(5, 3);
        assert_eq!(zk.expired_by(5, 10).unwrap(), vec![(5, 9)]);
    }

    #[test]
    fn records_round_trip_and_a_missing_counter_starts_at_zero() {
        let mut view = StateView::new(Arc::new(MemoryState::new()));
        let mut zk = ZkState::new(&mut view);
        assert_eq!(zk.next_job().unwrap(), 0);
        zk.set_next_job(7);
        assert_eq!(zk.next_job().unwrap(), 7);
        let job = ZkJob {
            id: 7,
            program: [1; 32],
            input: b"in".to_vec(),
            requester: Address([2; 20]),
            reward: 10,
            requested_at: 3,
            expires_at: 603,
            status: JobStatus::Open,
        };
        zk.set_job(&job);
        assert_eq!(zk.job(7).unwrap(), Some(job));
        assert_eq!(zk.job(8).unwrap(), None);
        assert_eq!(zk.prover(&Address([2; 20])).unwrap(), None);
        assert_eq!(job_key(7), b"zk/job/\0\0\0\0\0\0\0\x07".to_vec());
    }
}
