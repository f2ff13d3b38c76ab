//! The chain's Ethereum state: the next request id, what became of each request, and the
//! index from a gateway `functionId` to a function name.

use borsh::{BorshDeserialize, BorshSerialize};
use nexus_runtime::RuntimeError;
use nexus_store::StateView;
use serde::{Deserialize, Serialize};

use super::GatewayRequest;

/// Storage keys (consensus state, beside `thr/…`):
///
/// | key | value (borsh) |
/// |---|---|
/// | `eth/next` | `u64`: the next gateway request id the chain will take in |
/// | `eth/req/<id BE 8>` | [`RequestRecord`]: what became of a request |
/// | `eth/fn/<keccak256(name) 32>` | the function's name, so a `functionId` finds its function |
pub const NEXT_REQUEST_KEY: &[u8] = b"eth/next";
pub const REQUEST_PREFIX: &[u8] = b"eth/req/";
pub const FUNCTION_ID_PREFIX: &[u8] = b"eth/fn/";

pub fn request_key(id: u64) -> Vec<u8> {
    [REQUEST_PREFIX, &id.to_be_bytes()].concat()
}

pub fn function_id_key(function_id: &[u8; 32]) -> Vec<u8> {
    [FUNCTION_ID_PREFIX, function_id.as_slice()].concat()
}

/// What became of a gateway request (stored under [`request_key`]).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct RequestRecord {
    pub request: GatewayRequest,
    /// The Nexus height that took it in.
    pub height: u64,
    /// The outbox item answering it: the invocation's first output, or, when it failed, the
    /// failure answer (`success` false, the error as output).
    pub outbox_id: Option<[u8; 32]>,
    /// Why it failed (unknown function, failed invocation, no output); `None` on success.
    pub error: Option<String>,
}

/// Typed access to the Ethereum keys of a [`StateView`].
pub struct EthState<'v> {
    pub view: &'v mut StateView,
}

impl<'v> EthState<'v> {
    pub fn new(view: &'v mut StateView) -> Self {
        EthState { view }
    }

    /// The next gateway request id the chain takes in (0 before any).
    pub fn next_request(&self) -> Result<u64, RuntimeError> {
        match self.view.get(NEXT_REQUEST_KEY)? {
            None => Ok(0),
            Some(raw) => <[u8; 8]>::try_from(raw.as_slice())
                .map(u64::from_be_bytes)
                .map_err(|_| RuntimeError::Corrupt("eth/next is not 8 bytes".into())),
        }
    }

    pub fn set_next_request(&mut self, id: u64) {
        self.view
            .put(NEXT_REQUEST_KEY.to_vec(), id.to_be_bytes().to_vec());
    }

    pub fn request(&self, id: u64) -> Result<Option<RequestRecord>, RuntimeError> {
        match self.view.get(&request_key(id))? {
            None => Ok(None),
            Some(raw) => borsh::from_slice(&raw)
                .map(Some)
                .map_err(|e| RuntimeError::Corrupt(format!("request record {id}: {e}"))),
        }
    }

    pub fn set_request(&mut self, record: &RequestRecord) {
        let bytes = borsh::to_vec(record).expect("borsh encoding into a Vec cannot fail");
        self.view.put(request_key(record.request.id), bytes);
    }

    /// The function a gateway `functionId` names, if one was deployed under that name.
    pub fn function_name(&self, function_id: &[u8; 32]) -> Result<Option<String>, RuntimeError> {
        match self.view.get(&function_id_key(function_id))? {
            None => Ok(None),
            Some(raw) => String::from_utf8(raw)
                .map(Some)
                .map_err(|_| RuntimeError::Corrupt("function id index is not UTF-8".into())),
        }
    }

    /// Records `name` under `keccak256(name)` (at deploy).
    pub fn index_function(&mut self, name: &str) {
        let id = crate::address::keccak256(name.as_bytes());
        self.view
            .put(function_id_key(&id), name.as_bytes().to_vec());
    }
}
