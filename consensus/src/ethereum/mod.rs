//! Requests from Ethereum: what a validator's watcher saw at the `NexusGateway` and how the
//! network agrees on it.
//!
//! A request is `NexusGateway.request(functionId, input, callback)`; the gateway numbers them
//! `0, 1, 2, …` and emits `Requested(id, functionId, requester, callback, input)`. A validator's
//! node watches the gateway's **finalized** blocks through a [`RequestSource`] (the CLI's
//! alloy-based watcher; nothing in this crate talks to an Ethereum node) and reports in its vote
//! extension the requests after the last one the chain has taken in; once validators holding
//! more than 2/3 of the power report the same requests, the proposer puts their bodies in the
//! block and `FinalizeBlock` invokes them.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Largest request input the gateway accepts (`NexusGateway.MAX_INPUT_BYTES`).
pub const MAX_REQUEST_INPUT_BYTES: usize = 16_384;

/// One `Requested` event of the gateway, from a finalized Ethereum block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GatewayRequest {
    /// The gateway's request id (sequential from 0).
    pub id: u64,
    /// `keccak256` of the function's name.
    pub function_id: [u8; 32],
    /// `msg.sender` of `request`.
    pub requester: [u8; 20],
    /// The contract the gateway calls back.
    pub callback: [u8; 20],
    pub input: Vec<u8>,
    /// The Ethereum block the event is in.
    pub eth_block: u64,
}

/// Where a validator's node learns of gateway requests (node-local, not deterministic).
pub trait RequestSource: Send + Sync {
    /// The requests with ids `first, first + 1, …` (at most `max`, contiguous, stopping at the
    /// first id not yet seen in a finalized block).
    fn requests_from(&self, first: u64, max: usize) -> Vec<GatewayRequest>;
}

/// Most requests one vote reports and one block takes in.
pub const MAX_REQUESTS_PER_BLOCK: usize = 8;
/// Fuel every gateway request's invocation gets (Ethereum paid for it; no Nexus fee is charged).
pub const REQUEST_FUEL_LIMIT: u64 = 1_000_000_000;
/// Bytes of an encoded [`EthVote`] (borsh: 8 + 2 + 32).
pub const ETH_VOTE_BYTES: usize = 42;

pub mod execute;
pub mod state;
pub mod vote;

pub use state::{EthState, RequestRecord};
pub use vote::{agreed_prefix, chain_digests, check_bodies, longest_vouched, vote_for, EthVote};
