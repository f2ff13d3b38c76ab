//! Proven reads of the zk subsystem: programs, jobs, provers (see `crate::zk::state`).

use super::{Client, ClientError};
use crate::zk::state::{self, ProverRecord, ZkJob, ZkProgram};
use crate::Address;
use borsh::BorshDeserialize;

fn decode<T: BorshDeserialize>(what: &str, raw: &[u8]) -> Result<T, ClientError> {
    borsh::from_slice(raw).map_err(|e| ClientError::Decode(format!("{what}: {e}")))
}

impl Client {
    /// A deployed zk program (with its ELF), proven; `None` if no program has this id.
    pub fn zk_program(&self, id: &[u8; 32]) -> Result<Option<ZkProgram>, ClientError> {
        self.get_proven(&state::program_key(id))?
            .value
            .map(|raw| decode("zk program", &raw))
            .transpose()
    }

    /// A zk job (its request, escrowed reward and result), proven; `None` if there is none.
    pub fn zk_job(&self, id: u64) -> Result<Option<ZkJob>, ClientError> {
        self.get_proven(&state::job_key(id))?
            .value
            .map(|raw| decode("zk job", &raw))
            .transpose()
    }

    /// The id the next zk job will get (the number of jobs so far), proven.
    pub fn zk_next_job(&self) -> Result<u64, ClientError> {
        match self.get_proven(state::NEXT_JOB_KEY)?.value {
            None => Ok(0),
            Some(raw) => <[u8; 8]>::try_from(raw.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| ClientError::Decode("zk/next is not 8 bytes".into())),
        }
    }

    /// A registered prover's record, proven; `None` if `address` is not a prover.
    pub fn zk_prover(&self, address: &Address) -> Result<Option<ProverRecord>, ClientError> {
        self.get_proven(&state::prover_key(address))?
            .value
            .map(|raw| decode("prover record", &raw))
            .transpose()
    }
}
