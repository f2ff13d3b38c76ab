//! The ABCI++ application CometBFT drives.
//!
//! Persistence follows CometBFT 0.38's contract: `FinalizeBlock` executes the block over a view
//! of the committed state and returns the app hash of the result (computed, not written);
//! `Commit` writes that change set as one store height (= block height). If the node stops in
//! between, CometBFT replays the block from its own store at the next start (`Info` reports the
//! last committed height and app hash), so a block is never half applied nor lost. The genesis
//! state from `InitChain` is folded into block 1's change set.
//!
//! A node failure (storage or engine error) is never turned into a transaction result: the node
//! logs it and exits rather than diverge from the network.
//!
//! Threshold signing ([`crate::threshold`]): a validator's app holds a [`ValidatorDuty`]
//! ([`NexusApp::with_duty`]). `ExtendVote` carries its nonce commitments and signature shares;
//! `VerifyVoteExtension` checks an extension against the shares its validator holds; the
//! proposer's `PrepareProposal` puts a threshold record (signed extensions of its extended
//! commit, aggregated signatures) first in the block; `ProcessProposal` rejects a block whose
//! record does not check out; `FinalizeBlock` applies the record, then the transactions, then
//! the DKG deadlines and new signing sessions; after `Commit` the duty queues its own DKG and
//! registration transactions ([`NexusApp::take_duty_txs`]).
//!
//! Layout: this file holds the app's state and the `Application` impl CometBFT calls;
//! `block.rs` executes and commits blocks (and checks proposals); `mempool.rs` admits transactions
//! into the mempool in nonce order.

use crate::address::Address;
use crate::ethereum::{self, EthState, RequestSource, MAX_REQUESTS_PER_BLOCK};
use crate::execute::{admit, admit_duty, max_fee, BlockExecutor, TxResult};
use crate::extension::AppExtension;
use crate::genesis::{power_of, AppGenesis, GenesisError};
use crate::ledger::{ActiveSet, ActiveValidator, Ledger};
use crate::params::ChainParams;
use crate::query;
use crate::staking;
use crate::threshold::outbox;
use crate::threshold::sessions::{self, is_record};
use crate::threshold::{keygen, ValidatorDuty};
use crate::tx::{decode_and_verify, VerifiedTx};
use bytes::Bytes;
use nexus_runtime::{BlockContext, Runtime, RuntimeError};
use nexus_store::{ChangeSet, PreparedHeight, StateView, Store};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci::{
    response_process_proposal::ProposalStatus, response_verify_vote_extension::VerifyStatus,
    CheckTxType, CommitInfo, Event, EventAttribute, ExecTxResult, MisbehaviorType, RequestCheckTx,
    RequestExtendVote, RequestFinalizeBlock, RequestInfo, RequestInitChain, RequestPrepareProposal,
    RequestProcessProposal, RequestQuery, RequestVerifyVoteExtension, ResponseCheckTx,
    ResponseCommit, ResponseExtendVote, ResponseFinalizeBlock, ResponseInfo, ResponseInitChain,
    ResponsePrepareProposal, ResponseProcessProposal, ResponseQuery, ResponseVerifyVoteExtension,
    ValidatorUpdate,
};
use tendermint_proto::v0_38::crypto::{public_key::Sum, PublicKey};
use tendermint_proto::v0_38::types::{AbciParams, BlockIdFlag, ConsensusParams};
use tracing::{error, info, warn};

mod block;
mod mempool;
pub mod state_format;

use block::{check_cometbft_validators, commit_powers, validator_update};
use mempool::{admit_in_sequence, MempoolState, SenderState};

const TARGET: &str = "nexus::abci";

/// The ABCI protocol/application version reported in `Info`.
pub const APP_VERSION: u64 = 1;
/// Largest vote extension accepted (the threshold-signing payload must fit).
pub const MAX_VOTE_EXTENSION_BYTES: usize =
    nexus_threshold::vote_extension::MAX_VOTE_EXTENSION_BYTES;
/// Key of the chain id in state.
pub const CHAIN_ID_KEY: &[u8] = b"chain/id";

/// The application; cheap to clone (one clone per ABCI connection).
#[derive(Clone)]
pub struct NexusApp {
    shared: Arc<Shared>,
}

struct Shared {
    store: Arc<Store>,
    runtime: Runtime,
    consensus: Mutex<ConsensusState>,
    mempool: Mutex<MempoolState>,
    duty: Option<Mutex<ValidatorDuty>>,
    /// The node's Ethereum watcher (validators report what it saw in their vote extensions).
    requests: Option<Arc<dyn RequestSource>>,
}

#[derive(Default)]
struct ConsensusState {
    /// Genesis writes from `InitChain`, until block 1 commits.
    genesis: Option<ChangeSet>,
    /// The finalized but not yet committed block.
    pending: Option<PendingBlock>,
}

struct PendingBlock {
    height: u64,
    /// The block's state changes, tree already computed (its root is the app hash).
    prepared: PreparedHeight,
    app_hash: [u8; 32],
}

impl NexusApp {
    /// A non-validating node (or a validator that does not take part in threshold signing).
    pub fn new(store: Arc<Store>, runtime: Runtime) -> NexusApp {
        Self::build(store, runtime, None)
    }

    /// A validator's app: `duty` holds its threshold secrets (`<home>/data/threshold/`).
    pub fn with_duty(store: Arc<Store>, runtime: Runtime, duty: ValidatorDuty) -> NexusApp {
        Self::build(store, runtime, Some(duty))
    }

    fn build(store: Arc<Store>, runtime: Runtime, duty: Option<ValidatorDuty>) -> NexusApp {
        NexusApp {
            shared: Arc::new(Shared {
                store,
                runtime,
                consensus: Mutex::default(),
                mempool: Mutex::default(),
                duty: duty.map(Mutex::new),
                requests: None,
            }),
        }
    }

    /// Gives the app its node's Ethereum watcher (call before the app is cloned or served).
    pub fn with_request_source(mut self, source: Arc<dyn RequestSource>) -> NexusApp {
        Arc::get_mut(&mut self.shared)
            .expect("the request source is set before the app is shared")
            .requests = Some(source);
        self
    }

    fn duty(&self) -> Option<std::sync::MutexGuard<'_, ValidatorDuty>> {
        self.shared
            .duty
            .as_ref()
            .map(|d| d.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Signed DKG and registration transactions of this validator, to broadcast (the node's
    /// duty thread sends them to CometBFT's mempool).
    pub fn take_duty_txs(&self) -> Vec<Vec<u8>> {
        self.duty()
            .map(|mut d| d.take_outgoing())
            .unwrap_or_default()
    }

    /// A view of the committed state only (after `Commit`, genesis is in it).
    fn committed_view(&self) -> StateView {
        StateView::new(self.shared.store.clone())
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }

    fn consensus(&self) -> std::sync::MutexGuard<'_, ConsensusState> {
        self.shared
            .consensus
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A view of the committed state plus the genesis writes if block 1 is not committed yet.
    fn base_view(&self, cs: &ConsensusState) -> StateView {
        let mut view = StateView::new(self.shared.store.clone());
        if let Some(genesis) = &cs.genesis {
            for (k, v) in genesis.iter() {
                match v {
                    Some(v) => view.put(k.to_vec(), v.to_vec()),
                    None => view.delete(k.to_vec()),
                }
            }
        }
        view
    }

    fn chain_id_and_params(view: &mut StateView) -> Result<(String, ChainParams), RuntimeError> {
        let chain_id = view
            .get(CHAIN_ID_KEY)?
            .ok_or_else(|| RuntimeError::Corrupt("chain id missing".into()))?;
        let chain_id = String::from_utf8(chain_id)
            .map_err(|_| RuntimeError::Corrupt("chain id is not UTF-8".into()))?;
        let params = Ledger::new(view).params()?;
        Ok((chain_id, params))
    }

    fn init_chain_inner(&self, req: RequestInitChain) -> Result<ResponseInitChain, String> {
        let genesis =
            AppGenesis::from_json(&req.app_state_bytes).map_err(|e: GenesisError| e.to_string())?;
        let initial_height = req.initial_height;
        if self.shared.store.latest_height() != 0 {
            return Err(format!(
                "InitChain on a store already at height {}",
                self.shared.store.latest_height()
            ));
        }
        let mut view = StateView::new(self.shared.store.clone());
        view.put(CHAIN_ID_KEY.to_vec(), req.chain_id.as_bytes().to_vec());
        state_format::write(&mut view);
        let mut ledger = Ledger::new(&mut view);
        ledger.set_params(&genesis.params);
        for a in &genesis.accounts {
            ledger
                .credit(&a.address, a.balance)
                .map_err(|e| e.to_string())?;
        }
        let mut members = Vec::new();
        for v in &genesis.validators {
            staking::create_validator(
                &mut ledger,
                &genesis.params,
                v.operator,
                v.consensus_key,
                v.stake,
                false,
            )
            .map_err(|e| e.to_string())?;
            members.push(ActiveValidator {
                operator: v.operator,
                consensus_key: v.consensus_key,
                power: power_of(v.stake),
            });
        }
        members.sort_by_key(|m| m.operator);
        check_cometbft_validators(&req.validators, &members)?;
        ledger.set_active_set(&ActiveSet {
            members: members.clone(),
        });
        let changes = view.take_block_changes();
        let app_hash = self
            .shared
            .store
            .root_after(&changes)
            .map_err(|e| e.to_string())?;
        self.consensus().genesis = Some(changes);
        info!(target: TARGET, chain_id = %req.chain_id, validators = members.len(),
              accounts = genesis.accounts.len(), app_hash = %hex::encode(app_hash), "genesis");
        Ok(ResponseInitChain {
            // Threshold signing travels in vote extensions: on from the first height.
            consensus_params: Some(ConsensusParams {
                abci: Some(AbciParams {
                    vote_extensions_enable_height: initial_height.max(1),
                }),
                ..Default::default()
            }),
            validators: members.iter().map(validator_update).collect(),
            app_hash: Bytes::copy_from_slice(&app_hash),
        })
    }
}

/// A node failure: log it and stop the process rather than diverge.
fn halt(what: &str, e: impl std::fmt::Display) -> ! {
    error!(target: TARGET, "{what}: {e}; halting the node");
    eprintln!("nexus node: fatal: {what}: {e}");
    std::process::exit(70);
}

impl Application for NexusApp {
    fn info(&self, _req: RequestInfo) -> ResponseInfo {
        let height = self.shared.store.latest_height();
        let app_hash = if height == 0 {
            Bytes::new()
        } else {
            Bytes::copy_from_slice(&self.shared.store.root_hash())
        };
        info!(target: TARGET, height, app_hash = %hex::encode(&app_hash), "info");
        ResponseInfo {
            data: "nexus".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            app_version: APP_VERSION,
            last_block_height: height as i64,
            last_block_app_hash: app_hash,
        }
    }

    fn init_chain(&self, req: RequestInitChain) -> ResponseInitChain {
        match self.init_chain_inner(req) {
            Ok(r) => r,
            Err(e) => halt("InitChain refused the genesis", e),
        }
    }

    fn query(&self, req: RequestQuery) -> ResponseQuery {
        query::handle(&self.shared.store, req)
    }

    fn check_tx(&self, req: RequestCheckTx) -> ResponseCheckTx {
        let recheck = req.r#type == CheckTxType::Recheck as i32;
        match self.check_tx_inner(&req) {
            Ok(tx) => ResponseCheckTx {
                code: 0,
                gas_wanted: tx.body.fuel_limit.min(i64::MAX as u64) as i64,
                ..Default::default()
            },
            Err((code, log)) => {
                if !recheck {
                    info!(target: TARGET, code, %log, "CheckTx refused");
                }
                ResponseCheckTx {
                    code,
                    log,
                    ..Default::default()
                }
            }
        }
    }

    fn prepare_proposal(&self, req: RequestPrepareProposal) -> ResponsePrepareProposal {
        let max_bytes = usize::try_from(req.max_tx_bytes).unwrap_or(0);
        let cs = self.consensus();
        let mut view = self.base_view(&cs);
        drop(cs);
        let Ok((chain_id, params)) = Self::chain_id_and_params(&mut view) else {
            return ResponsePrepareProposal { txs: Vec::new() };
        };
        let mut senders = HashMap::new();
        let mut txs = Vec::new();
        let mut bytes = 0usize;
        let mut fuel = 0u64;
        // Proofs past the block's verification budget would fail (and pay the verification
        // fuel) without being verified: leave them in the mempool for the next block.
        let mut proofs = 0u32;
        let height = u64::try_from(req.height).unwrap_or(0);
        if let Some(commit) = &req.local_last_commit {
            let source = self.shared.requests.as_deref();
            match sessions::prepare_record(&mut view, &chain_id, height, commit, source) {
                Ok(Some(record)) if record.len() <= max_bytes => {
                    bytes += record.len();
                    txs.push(Bytes::from(record));
                }
                Ok(_) => {}
                Err(e) => {
                    warn!(target: TARGET, height, error = %e, "cannot build the threshold record")
                }
            }
        }
        for raw in req.txs {
            if is_record(&raw) {
                continue;
            }
            if bytes + raw.len() > max_bytes {
                continue;
            }
            let Ok(tx) = decode_and_verify(&raw) else {
                continue;
            };
            if fuel.saturating_add(tx.body.fuel_limit) > params.max_block_fuel {
                continue;
            }
            let is_proof = matches!(tx.body.kind, crate::tx::TxKind::SubmitProof { .. });
            if is_proof && proofs >= params.zk.max_proofs_per_block {
                continue;
            }
            if admit_in_sequence(&mut view, &chain_id, &params, &tx, &mut senders).is_err() {
                continue;
            }
            proofs += u32::from(is_proof);
            fuel += tx.body.fuel_limit;
            bytes += raw.len();
            txs.push(raw);
        }
        ResponsePrepareProposal { txs }
    }

    fn process_proposal(&self, req: RequestProcessProposal) -> ResponseProcessProposal {
        let powers = commit_powers(req.proposed_last_commit.as_ref());
        match self.check_block_txs(u64::try_from(req.height).unwrap_or(0), &req.txs, &powers) {
            Ok(()) => ResponseProcessProposal {
                status: ProposalStatus::Accept as i32,
            },
            Err((index, reason)) => {
                warn!(target: TARGET, height = req.height, index, %reason, "rejecting proposal with an invalid transaction");
                ResponseProcessProposal {
                    status: ProposalStatus::Reject as i32,
                }
            }
        }
    }

    fn extend_vote(&self, req: RequestExtendVote) -> ResponseExtendVote {
        let mut view = self.base_view(&self.consensus());
        let mut ext = AppExtension::default();
        if let Some(source) = &self.shared.requests {
            match EthState::new(&mut view).next_request() {
                Ok(first) => {
                    let seen = source.requests_from(first, MAX_REQUESTS_PER_BLOCK);
                    ext.eth = ethereum::vote_for(first, &seen);
                }
                Err(e) => error!(target: TARGET, error = %e, "cannot read the next request id"),
            }
        }
        if let Some(mut duty) = self.duty() {
            match duty.extend_vote(&mut view) {
                Ok(part) if part.len() <= MAX_VOTE_EXTENSION_BYTES => ext.threshold = part,
                Ok(part) => {
                    error!(target: TARGET, height = req.height, len = part.len(), "threshold part too large; sending none")
                }
                Err(e) => {
                    error!(target: TARGET, height = req.height, error = %e, "cannot build the threshold part")
                }
            }
        }
        ResponseExtendVote {
            vote_extension: ext.encode().into(),
        }
    }

    fn verify_vote_extension(
        &self,
        req: RequestVerifyVoteExtension,
    ) -> ResponseVerifyVoteExtension {
        let cons = <[u8; 20]>::try_from(req.validator_address.as_ref()).ok();
        let mut view = self.base_view(&self.consensus());
        let verdict = match cons {
            None => Err("validator address is not 20 bytes".to_string()),
            Some(cons) => sessions::check_extension(&mut view, &cons, &req.vote_extension),
        };
        let status = match verdict {
            Ok(_) => VerifyStatus::Accept,
            Err(e) => {
                warn!(target: TARGET, height = req.height, len = req.vote_extension.len(),
                    error = %e, "rejecting a vote extension");
                VerifyStatus::Reject
            }
        };
        ResponseVerifyVoteExtension {
            status: status as i32,
        }
    }

    fn finalize_block(&self, req: RequestFinalizeBlock) -> ResponseFinalizeBlock {
        match self.finalize_inner(req) {
            Ok(r) => r,
            Err(e) => halt("FinalizeBlock failed", e),
        }
    }

    fn commit(&self) -> ResponseCommit {
        if let Err(e) = self.commit_inner() {
            halt("Commit failed", e);
        }
        ResponseCommit { retain_height: 0 }
    }
}
