use thiserror::Error;

/// Errors of the state store.
#[derive(Debug, Error)]
pub enum StoreError {
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("merkle tree: {0}")]
    Tree(String),
    #[error("state is corrupt: {0}")]
    Corrupt(String),
    #[error("height {requested} is not available (latest committed height is {latest})")]
    HeightUnavailable { requested: u64, latest: u64 },
    #[error("{what} is {len} bytes, more than the maximum {max}")]
    TooLarge {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error("height {height} was prepared on an earlier state: the latest height is now {latest}")]
    StalePreparation { height: u64, latest: u64 },
    #[error("store configuration: {0}")]
    Config(String),
    #[error(
        "writing committed heights out failed, the store takes no more commits until reopened: {0}"
    )]
    WriteBehind(String),
}

/// Errors of decoding or checking a [`crate::ReadProof`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    #[error("proof is {len} bytes, more than the maximum {max}")]
    TooLarge { len: usize, max: usize },
    #[error("proof has {count} siblings, more than the maximum {max}")]
    TooManySiblings { count: usize, max: usize },
    #[error("malformed proof: {0}")]
    Malformed(String),
    #[error("proof encoding is not canonical")]
    NonCanonical,
    #[error("proof does not verify: {0}")]
    Invalid(String),
}
