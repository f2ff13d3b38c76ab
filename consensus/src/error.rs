//! Why a transaction was refused or failed, with the stable result code clients see.

use crate::address::Address;
use crate::tx::TxDecodeError;
use nexus_runtime::{DeployError, InvokeError, RuntimeError};
use thiserror::Error;

/// A refused or failed transaction. [`TxError::code`] is the ABCI result code (0 is success).
#[derive(Debug, Error)]
pub enum TxError {
    #[error(transparent)]
    Decode(#[from] TxDecodeError),
    #[error("wrong chain id `{got}`; this chain is `{expected}`")]
    WrongChainId { expected: String, got: String },
    #[error("nonce {got} was already used (account {address} is at nonce {expected})")]
    NonceReplayed {
        address: Address,
        expected: u64,
        got: u64,
    },
    #[error("nonce {got} is in the future (account {address} is at nonce {expected})")]
    NonceFuture {
        address: Address,
        expected: u64,
        got: u64,
    },
    #[error("fuel price {got} is below the minimum {min}")]
    FuelPriceTooLow { got: u64, min: u64 },
    #[error("fuel limit {got} does not cover the intrinsic cost {needed} (base + bytes)")]
    FuelLimitTooLow { got: u64, needed: u64 },
    #[error("balance {balance} of {address} cannot pay the maximum fee {needed}")]
    InsufficientFee {
        address: Address,
        balance: u128,
        needed: u128,
    },
    #[error("balance {balance} of {address} is below {needed}")]
    InsufficientBalance {
        address: Address,
        balance: u128,
        needed: u128,
    },
    #[error("block fuel limit reached")]
    BlockFuelExhausted,
    #[error("deploy refused: {0}")]
    Deploy(DeployError),
    #[error("function `{0}` already exists; use upgrade")]
    FunctionExists(String),
    #[error("function `{0}` is not deployed")]
    UnknownFunction(String),
    #[error("only the owner {owner} may upgrade `{function}`")]
    NotOwner { function: String, owner: String },
    #[error("invocation failed: {0}")]
    Invoke(InvokeError),
    #[error("staking: {0}")]
    Staking(String),
    #[error("amount must be positive")]
    ZeroAmount,
    #[error("threshold signing: {0}")]
    Threshold(String),
    #[error("only validators may send `{0}` transactions")]
    NotAValidator(&'static str),
    #[error("zk: {0}")]
    Zk(#[from] crate::zk::ZkError),
    /// The node itself failed (storage, engine). Not the sender's fault; the node halts.
    #[error("node failure: {0}")]
    Node(#[from] RuntimeError),
}

impl TxError {
    /// Stable ABCI result codes.
    pub fn code(&self) -> u32 {
        match self {
            TxError::Decode(TxDecodeError::TooLarge { .. }) => 2,
            TxError::Decode(TxDecodeError::Signature(_)) => 3,
            TxError::Decode(_) => 1,
            TxError::WrongChainId { .. } => 4,
            TxError::NonceReplayed { .. } => 5,
            TxError::NonceFuture { .. } => 6,
            TxError::FuelPriceTooLow { .. } => 7,
            TxError::FuelLimitTooLow { .. } => 8,
            TxError::InsufficientFee { .. } => 9,
            TxError::InsufficientBalance { .. } => 10,
            TxError::BlockFuelExhausted => 11,
            TxError::Deploy(_) => 12,
            TxError::FunctionExists(_) => 13,
            TxError::UnknownFunction(_) => 14,
            TxError::NotOwner { .. } => 15,
            TxError::Invoke(_) => 16,
            TxError::Staking(_) => 17,
            TxError::ZeroAmount => 18,
            TxError::Threshold(_) => 19,
            TxError::NotAValidator(_) => 20,
            TxError::Zk(_) => 21,
            TxError::Node(_) => 100,
        }
    }

    /// Short stable name for logs and clients.
    pub fn codespace_name(&self) -> &'static str {
        match self.code() {
            1 => "malformed",
            2 => "too_large",
            3 => "bad_signature",
            4 => "wrong_chain_id",
            5 => "nonce_replayed",
            6 => "nonce_future",
            7 => "fuel_price_too_low",
            8 => "fuel_limit_too_low",
            9 => "insufficient_fee",
            10 => "insufficient_balance",
            11 => "block_fuel_exhausted",
            12 => "deploy_refused",
            13 => "function_exists",
            14 => "unknown_function",
            15 => "not_owner",
            16 => "invocation_failed",
            17 => "staking",
            18 => "zero_amount",
            19 => "threshold",
            20 => "not_a_validator",
            21 => "zk",
            _ => "node_failure",
        }
    }
}

impl From<DeployError> for TxError {
    fn from(e: DeployError) -> Self {
        match e {
            DeployError::Runtime(r) => TxError::Node(r),
            other => TxError::Deploy(other),
        }
    }
}

impl From<InvokeError> for TxError {
    fn from(e: InvokeError) -> Self {
        match e {
            InvokeError::Runtime(r) => TxError::Node(r),
            InvokeError::UnknownFunction(f) => TxError::UnknownFunction(f),
            other => TxError::Invoke(other),
        }
    }
}

impl From<nexus_store::StoreError> for TxError {
    fn from(e: nexus_store::StoreError) -> Self {
        TxError::Node(RuntimeError::Store(e))
    }
}
