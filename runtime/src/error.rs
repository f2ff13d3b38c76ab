//! Errors at the runtime's boundary.

use thiserror::Error;

/// A failure of the node itself (storage, engine, corrupt state): not the guest's fault, and not
/// something an invocation may paper over. A validator halts on it rather than diverge.
#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error("state store: {0}")]
    Store(#[from] nexus_store::StoreError),
    #[error("wasm engine: {0}")]
    Engine(String),
    #[error("compiling a validated module failed: {0}")]
    Compile(String),
    #[error("state is corrupt: {0}")]
    Corrupt(String),
}

/// Why a module or its configuration was refused at deploy time.
#[derive(Debug, Error)]
pub enum DeployError {
    #[error("invalid module: {0}")]
    Module(#[from] nexus_wasm_prep::PrepError),
    #[error("module does not match the host ABI: {0}")]
    Link(String),
    #[error("function name `{0}` is invalid: use 1-64 characters of a-z, 0-9, `_` and `-`, starting with a letter")]
    BadName(String),
    #[error("args and environment take {bytes} bytes; the limit is {max} (MAX_ARGS_ENV_BYTES)")]
    ArgsTooLarge { bytes: usize, max: usize },
    #[error("args and environment must not contain NUL, and variable names must be non-empty without `=`")]
    BadEnvironment,
    #[error("{what} = {requested} is above the platform maximum {max}")]
    LimitAboveMaximum {
        what: &'static str,
        requested: u64,
        max: u64,
    },
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// How an invocation failed. Its state effects are gone; only fuel was spent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    OutOfFuel,
    Exit(u32),
    Trap(String),
    StackOverflow { max_depth: u32 },
    MemoryLimit,
    Limit(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::OutOfFuel => write!(f, "ran out of fuel"),
            Failure::Exit(code) => write!(f, "exited with code {code}"),
            Failure::Trap(msg) => write!(f, "trapped: {msg}"),
            Failure::StackOverflow { max_depth } => {
                write!(
                    f,
                    "call stack deeper than {max_depth} frames (MAX_CALL_STACK_DEPTH)"
                )
            }
            Failure::MemoryLimit => write!(f, "tried to grow memory past its limit"),
            Failure::Limit(msg) => write!(f, "limit exceeded: {msg}"),
        }
    }
}

/// Why an invocation did not succeed.
#[derive(Debug, Error)]
pub enum InvokeError {
    #[error("function `{0}` is not deployed")]
    UnknownFunction(String),
    #[error("input is {size} bytes; the limit is {max} (MAX_INPUT_BYTES)")]
    InputTooLarge { size: usize, max: usize },
    #[error("fuel limit {requested} is above the maximum {max} (MAX_FUEL_PER_INVOCATION)")]
    FuelAboveMaximum { requested: u64, max: u64 },
    #[error("function `{function}` {failure} (fuel used: {fuel_used}){}", stderr_suffix(.stderr_tail))]
    Failed {
        function: String,
        failure: Failure,
        fuel_used: u64,
        stderr_tail: String,
    },
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

fn stderr_suffix(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("; stderr ends with:\n{tail}")
    }
}

impl InvokeError {
    /// Fuel spent, for fee charging.
    pub fn fuel_used(&self) -> u64 {
        match self {
            InvokeError::Failed { fuel_used, .. } => *fuel_used,
            _ => 0,
        }
    }

    /// The failure kind, if the guest failed (rather than the request or the node).
    pub fn failure(&self) -> Option<&Failure> {
        match self {
            InvokeError::Failed { failure, .. } => Some(failure),
            _ => None,
        }
    }
}

/// Traps raised by host functions (carried through wasmtime as the error's payload).
#[derive(Debug, Error)]
pub(crate) enum HostTrap {
    #[error("exit({0})")]
    Exit(u32),
    #[error("out of fuel")]
    OutOfFuel,
    #[error("{0}")]
    Limit(String),
    #[error("guest passed a pointer outside its memory to `{0}`")]
    BadPointer(&'static str),
    #[error("node failure: {0}")]
    Fatal(String),
}
