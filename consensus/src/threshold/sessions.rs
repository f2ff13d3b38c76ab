//! Signing in the state machine: the threshold record the proposer puts first in a block, and
//! the sessions every node opens and closes deterministically.
//!
//! What gets signed comes from the outbox ([`super::outbox`]): one queue entry per block's
//! output batch (and per key hand-over). One signature takes
//! three heights after the batch is committed at height `H` (the session is opened by
//! `FinalizeBlock(H)` itself, from commitments already in state):
//!
//! 1. `ExtendVote(H+1)`: the chosen signers publish their shares (the session is in committed
//!    state: nothing uncommitted is signed). Every extension also carries nonce commitments for
//!    slots `next_slot .. next_slot + LOOKAHEAD_SLOTS` the validator has not published yet.
//! 2. `PrepareProposal(H+2)`: the proposer puts a [`ThresholdRecord`] first in the block: the
//!    non-empty extensions of its extended commit *with their CometBFT signatures* (so every
//!    node can check who said what; a proposer cannot forge a share or a commitment) and the
//!    signatures it aggregated.
//! 3. `FinalizeBlock(H+2)`: every node checks the record (ProcessProposal rejects a block whose
//!    record does not check out), pools the new commitments, verifies each included signature
//!    and stores it in its batch. A session that is due and has no valid signature
//!    is re-aggregated from the recorded shares: invalid shares name their signer, who is
//!    jailed; cheaters and absentees are left out of the item's next session.

use std::collections::{BTreeMap, BTreeSet};

use borsh::{BorshDeserialize, BorshSerialize};
use nexus_runtime::RuntimeError;
use nexus_store::StateView;
use nexus_threshold::signing::{
    select_signers, verify_signature, AggregateOutcome, Aggregator, SIGNATURE_BYTES,
};
use nexus_threshold::vote_extension::{CommitmentEntry, VoteExtension};
use nexus_threshold::Address as ThrAddress;
use prost::Message as _;
use tendermint_proto::v0_38::abci::ExtendedCommitInfo;
use tendermint_proto::v0_38::types::{BlockIdFlag, CanonicalVoteExtension};
use tracing::{info, warn};

use super::state::{Handover, ItemSignature, OpenSession, QueueEntry, Signable, ThresholdState};
use crate::address::Address;
use crate::ethereum::{
    self, EthState, EthVote, GatewayRequest, RequestSource, MAX_REQUESTS_PER_BLOCK,
};
use crate::extension::AppExtension;
use crate::ledger::Ledger;
use crate::params::ChainParams;
use crate::staking;

const TARGET: &str = "nexus::threshold";

/// First bytes of a threshold record (no signed transaction starts with 0xff: borsh of a
/// `SignedTx` starts with the chain id's length, at most 50).
pub const RECORD_MAGIC: &[u8] = b"\xffnexus/threshold-record/v1";
/// Largest encoded record (at most one ≤ 1 KiB extension per validator, plus signatures).
pub const MAX_RECORD_BYTES: usize = 512 << 10;
/// Slots ahead of `next_slot` validators publish commitments for.
pub const LOOKAHEAD_SLOTS: u64 = 4;
/// Most sessions open at once.
pub const MAX_OPEN_SESSIONS: usize = 64;
/// A session opened at `H` has its shares in the record of block `H + SHARES_DUE_BLOCKS`.
pub const SHARES_DUE_BLOCKS: u64 = 2;
/// A session still open this many blocks after it opened is dropped (its item is retried).
pub const SESSION_TIMEOUT_BLOCKS: u64 = 6;

/// A vote extension as CometBFT delivered it to the proposer, with its signature.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SignedExtension {
    /// CometBFT (consensus) address of the validator.
    pub validator: [u8; 20],
    pub extension: Vec<u8>,
    /// ed25519 signature over CometBFT's canonical vote-extension sign bytes.
    pub signature: Vec<u8>,
}

/// What the proposer puts first in a block.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ThresholdRecord {
    /// Height and round of the extended commit the extensions come from (block height − 1).
    pub height: u64,
    pub round: i64,
    /// Sorted by validator, unique, none empty.
    pub extensions: Vec<SignedExtension>,
    /// Aggregated signatures, by session slot.
    pub signatures: Vec<(u64, Vec<u8>)>,
    /// Gateway requests from the chain's next request id on, as the proposer's watcher saw
    /// them; the block takes in the prefix the extensions' Ethereum votes agree on.
    pub eth_requests: Vec<GatewayRequest>,
}

impl ThresholdRecord {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = RECORD_MAGIC.to_vec();
        out.extend(borsh::to_vec(self).expect("borsh encoding into a Vec cannot fail"));
        out
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > MAX_RECORD_BYTES {
            return Err(format!("threshold record of {} bytes", bytes.len()));
        }
        let body = bytes
            .strip_prefix(RECORD_MAGIC)
            .ok_or("not a threshold record")?;
        borsh::from_slice(body).map_err(|e| format!("malformed threshold record: {e}"))
    }
}

/// Whether block transaction bytes are a threshold record rather than a signed transaction.
pub fn is_record(bytes: &[u8]) -> bool {
    bytes.starts_with(RECORD_MAGIC)
}

/// CometBFT 0.38's `VoteExtensionSignBytes`: the length-delimited protobuf of
/// `CanonicalVoteExtension { extension, height, round, chain_id }`.
pub fn vote_extension_sign_bytes(chain_id: &str, height: i64, round: i64, ext: &[u8]) -> Vec<u8> {
    CanonicalVoteExtension {
        extension: ext.to_vec(),
        height,
        round,
        chain_id: chain_id.to_string(),
    }
    .encode_length_delimited_to_vec()
}

/// The operator behind a CometBFT address, if it is a validator.
fn operator_of(view: &mut StateView, cons: &[u8; 20]) -> Result<Option<Address>, RuntimeError> {
    Ledger::new(view).operator_of(cons)
}

/// `VerifyVoteExtension`: empty, or a canonical [`AppExtension`] from a validator whose
/// threshold part covers exactly the shares it holds in the signing key and whose Ethereum
/// vote reports 1 ..= [`MAX_REQUESTS_PER_BLOCK`] requests. Returns the decoded parts.
pub fn check_extension(
    view: &mut StateView,
    cons: &[u8; 20],
    bytes: &[u8],
) -> Result<(Option<VoteExtension>, Option<EthVote>), String> {
    let app = AppExtension::decode(bytes)?;
    if app.is_empty() {
        return Ok((None, None));
    }
    let op = operator_of(view, cons)
        .map_err(|e| e.to_string())?
        .ok_or("extension from an unknown validator")?;
    if let Some(vote) = &app.eth {
        if vote.count == 0 || usize::from(vote.count) > MAX_REQUESTS_PER_BLOCK {
            return Err(format!("Ethereum vote for {} requests", vote.count));
        }
    }
    if app.threshold.is_empty() {
        return Ok((None, app.eth));
    }
    let ext = VoteExtension::decode(&app.threshold).map_err(|e| e.to_string())?;
    let ts = ThresholdState::new(view);
    let (_, key) = ts
        .current_key()
        .map_err(|e| e.to_string())?
        .ok_or("no signing key yet; the threshold part must be empty")?;
    let holder = key
        .output
        .allocation
        .holder(&op.0)
        .ok_or("validator holds no share of the signing key")?;
    ext.validate_for(&holder.shares)
        .map_err(|e| e.to_string())?;
    Ok((Some(ext), app.eth))
}

fn verify_ed25519(key: &[u8; 32], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(key) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
        return false;
    };
    key.verify_strict(msg, &sig).is_ok()
}

/// One extension of a record, checked.
struct SignedParts {
    operator: ThrAddress,
    threshold: Option<VoteExtension>,
    eth: Option<EthVote>,
}

/// Checks one signed extension against state: signature by the validator's consensus key,
/// canonical encoding, shares it holds.
fn check_signed(
    view: &mut StateView,
    chain_id: &str,
    height: u64,
    round: i64,
    s: &SignedExtension,
) -> Result<SignedParts, String> {
    let op = operator_of(view, &s.validator)
        .map_err(|e| e.to_string())?
        .ok_or("extension from an unknown validator")?;
    let v = Ledger::new(view)
        .validator(&op)
        .map_err(|e| e.to_string())?
        .ok_or("extension from an unknown validator")?;
    let msg = vote_extension_sign_bytes(chain_id, height as i64, round, &s.extension);
    if !verify_ed25519(&v.consensus_key, &msg, &s.signature) {
        return Err(format!("extension of {op} has a bad signature"));
    }
    let (threshold, eth) = check_extension(view, &s.validator, &s.extension)?;
    Ok(SignedParts {
        operator: op.0,
        threshold,
        eth,
    })
}

/// A record that checked out against state.
pub struct CheckedRecord {
    /// Threshold parts of the extensions, by operator.
    pub extensions: Vec<(ThrAddress, VoteExtension)>,
    pub signatures: BTreeMap<u64, [u8; SIGNATURE_BYTES]>,
    /// Gateway requests validators with > 2/3 of the power agree on, in id order.
    pub eth_accepted: Vec<GatewayRequest>,
}

/// ProcessProposal's (and FinalizeBlock's) check of the record of block `height`. `powers` is
/// the voting power of every validator of the block's last commit (by CometBFT address), from
/// the block itself: it weighs the Ethereum votes.
pub fn check_record(
    view: &mut StateView,
    chain_id: &str,
    height: u64,
    raw: &[u8],
    powers: &BTreeMap<[u8; 20], u64>,
) -> Result<CheckedRecord, String> {
    let record = ThresholdRecord::decode(raw)?;
    if record.height + 1 != height {
        return Err(format!(
            "record of height {} in block {height}",
            record.height
        ));
    }
    let mut extensions = Vec::with_capacity(record.extensions.len());
    let mut eth_votes = Vec::new();
    let mut prev: Option<[u8; 20]> = None;
    for s in &record.extensions {
        if prev.is_some_and(|p| p >= s.validator) || s.extension.is_empty() {
            return Err("extensions not sorted, duplicated or empty".into());
        }
        prev = Some(s.validator);
        let parts = check_signed(view, chain_id, record.height, record.round, s)?;
        if let Some(ext) = parts.threshold {
            extensions.push((parts.operator, ext));
        }
        if let Some(vote) = parts.eth {
            let power = powers.get(&s.validator).copied().unwrap_or(0);
            eth_votes.push((power, vote));
        }
    }
    let first = EthState::new(view)
        .next_request()
        .map_err(|e| e.to_string())?;
    ethereum::check_bodies(first, &record.eth_requests)?;
    let votes: Vec<EthVote> = eth_votes.iter().map(|(_, v)| *v).collect();
    if record.eth_requests.len() > ethereum::longest_vouched(first, &record.eth_requests, &votes) {
        return Err("the record carries Ethereum requests no extension reported".into());
    }
    let total_power: u64 = powers.values().sum();
    let agreed = ethereum::agreed_prefix(first, &record.eth_requests, &eth_votes, total_power);
    let ts = ThresholdState::new(view);
    let sessions: BTreeMap<u64, OpenSession> = ts
        .sessions()
        .map_err(|e| e.to_string())?
        .into_iter()
        .map(|s| (s.session.slot, s))
        .collect();
    let mut signatures = BTreeMap::new();
    for (slot, sig) in &record.signatures {
        let session = sessions
            .get(slot)
            .ok_or_else(|| format!("signature for slot {slot}, which has no open session"))?;
        let key = ts
            .key_record(session.epoch)
            .map_err(|e| e.to_string())?
            .ok_or("session of an unknown key")?;
        verify_signature(&key.output.group_key, &session.session.message, sig)
            .map_err(|e| format!("slot {slot}: {e}"))?;
        let sig: [u8; SIGNATURE_BYTES] = sig.as_slice().try_into().map_err(|_| "signature size")?;
        if signatures.insert(*slot, sig).is_some() {
            return Err(format!("two signatures for slot {slot}"));
        }
    }
    Ok(CheckedRecord {
        extensions,
        signatures,
        eth_accepted: record.eth_requests[..agreed].to_vec(),
    })
}

/// The proposer's record for block `height` from its extended commit of `height − 1`: the
/// extensions that carry something the block needs (shares of sessions that are due,
/// commitments not pooled yet, Ethereum votes for the requests it takes in), with their
/// signatures, the signatures it aggregated, and the bodies of the gateway requests that
/// validators with > 2/3 of the power reported (from the proposer's own `source`).
pub fn prepare_record(
    view: &mut StateView,
    chain_id: &str,
    height: u64,
    commit: &ExtendedCommitInfo,
    source: Option<&dyn RequestSource>,
) -> Result<Option<Vec<u8>>, RuntimeError> {
    if height < 2 {
        return Ok(None);
    }
    let round = i64::from(commit.round);
    let ts = ThresholdState::new(view);
    let has_key = ts.current_key()?.is_some();
    let meta = ts.meta()?;
    let window = meta.next_slot..meta.next_slot + LOOKAHEAD_SLOTS;
    let due: BTreeSet<u64> = ts
        .sessions()?
        .iter()
        .filter(|s| height >= s.opened_at + SHARES_DUE_BLOCKS)
        .map(|s| s.session.slot)
        .collect();
    let first = EthState::new(view).next_request()?;
    let mut bodies = source
        .map(|s| s.requests_from(first, MAX_REQUESTS_PER_BLOCK))
        .unwrap_or_default();
    if ethereum::check_bodies(first, &bodies).is_err() {
        warn!(target: TARGET, height, "the Ethereum watcher returned unusable requests");
        bodies.clear();
    }
    let mut checked = Vec::new();
    let mut powers = BTreeMap::new();
    for vote in &commit.votes {
        let Some(validator) = vote.validator.as_ref() else {
            continue;
        };
        let Ok(cons) = <[u8; 20]>::try_from(validator.address.as_ref()) else {
            continue;
        };
        powers.insert(cons, u64::try_from(validator.power).unwrap_or(0));
        if vote.block_id_flag != BlockIdFlag::Commit as i32 || vote.vote_extension.is_empty() {
            continue;
        }
        let s = SignedExtension {
            validator: cons,
            extension: vote.vote_extension.to_vec(),
            signature: vote.extension_signature.to_vec(),
        };
        match check_signed(view, chain_id, height - 1, round, &s) {
            Ok(parts) => checked.push((s, parts)),
            Err(e) => warn!(target: TARGET, height, error = %e, "leaving an extension out"),
        }
    }
    // The block takes in the prefix > 2/3 of the power vouches for; it carries the bodies up to
    // the longest vote that matches them, so every node can check every vote it counts (a vote
    // for three requests also vouches for the first two).
    let eth_votes: Vec<(u64, EthVote)> = checked
        .iter()
        .filter_map(|(s, p)| Some((powers[&s.validator], p.eth?)))
        .collect();
    let total_power: u64 = powers.values().sum();
    let agreed = ethereum::agreed_prefix(first, &bodies, &eth_votes, total_power);
    let votes: Vec<EthVote> = eth_votes.iter().map(|(_, v)| *v).collect();
    let carried = if agreed == 0 {
        0
    } else {
        ethereum::longest_vouched(first, &bodies, &votes)
    };
    bodies.truncate(carried);
    let digests = ethereum::chain_digests(first, &bodies);
    let mut by_validator: BTreeMap<[u8; 20], SignedExtension> = BTreeMap::new();
    let mut exts = Vec::new();
    for (s, parts) in checked {
        // Only what the block needs.
        let mut useful = parts.eth.is_some_and(|v| {
            let n = usize::from(v.count);
            v.first == first && n >= 1 && n <= digests.len() && digests[n - 1] == v.digest
        });
        if let Some(ext) = &parts.threshold {
            useful = useful || ext.shares.iter().any(|sh| due.contains(&sh.slot));
            for c in ext.commitments.iter().filter(|c| window.contains(&c.slot)) {
                useful =
                    useful || !ThresholdState::new(view).has_pooled(c.slot, &parts.operator)?;
            }
        }
        if useful {
            by_validator.insert(s.validator, s);
            if let Some(ext) = parts.threshold {
                exts.push((parts.operator, ext));
            }
        }
    }
    if by_validator.is_empty() {
        return Ok(None);
    }
    let mut record = ThresholdRecord {
        height: height - 1,
        round,
        extensions: by_validator.into_values().collect(),
        signatures: Vec::new(),
        eth_requests: bodies,
    };
    let ts = ThresholdState::new(view);
    for open in ts.sessions()? {
        if !has_key || height < open.opened_at + SHARES_DUE_BLOCKS {
            continue;
        }
        let Some(key) = ts.key_record(open.epoch)? else {
            continue;
        };
        let Ok(aggregator) = Aggregator::new(&key.output) else {
            continue;
        };
        let shares = aggregator.collect_shares(open.session.slot, exts.iter().map(|(a, e)| (a, e)));
        if let Ok(AggregateOutcome::Signed(sig)) = aggregator.aggregate(&open.session, &shares) {
            record.signatures.push((open.session.slot, sig.to_vec()));
        }
    }
    Ok(Some(record.encode()))
}

/// Applies a checked record at the start of block `height`. Returns validators jailed for
/// invalid shares.
pub fn apply_record(
    view: &mut StateView,
    params: &ChainParams,
    height: u64,
    record: &CheckedRecord,
) -> Result<Vec<Address>, RuntimeError> {
    let mut ts = ThresholdState::new(view);
    let meta = ts.meta()?;
    let Some((epoch, key)) = ts.current_key()? else {
        return Ok(Vec::new());
    };
    // New commitments for the pool.
    let window = meta.next_slot..meta.next_slot + LOOKAHEAD_SLOTS;
    for (op, ext) in &record.extensions {
        for c in ext.commitments.iter().filter(|c| window.contains(&c.slot)) {
            if !ts.has_pooled(c.slot, op)? {
                ts.set_pooled(c.slot, op, &c.entries);
            }
        }
    }
    let aggregator = Aggregator::new(&key.output)
        .map_err(|e| RuntimeError::Corrupt(format!("signing key of epoch {epoch}: {e}")))?;
    let mut jailed = Vec::new();
    for open in ts.sessions()? {
        let slot = open.session.slot;
        // A hand-over signed earlier in this loop drops the old key's sessions.
        if ts.view.get(&super::state::session_key(slot))?.is_none() {
            continue;
        }
        if let Some(sig) = record.signatures.get(&slot) {
            finish_signed(&mut ts, &open, sig, height)?;
            continue;
        }
        if open.epoch != epoch || height < open.opened_at + SHARES_DUE_BLOCKS {
            continue;
        }
        let shares = aggregator.collect_shares(slot, record.extensions.iter().map(|(a, e)| (a, e)));
        match aggregator.aggregate(&open.session, &shares) {
            Ok(AggregateOutcome::Signed(sig)) => finish_signed(&mut ts, &open, &sig, height)?,
            Ok(AggregateOutcome::Retry { cheaters, missing }) => {
                let mut excluded: BTreeSet<ThrAddress> = missing.into_iter().collect();
                for c in &cheaters {
                    warn!(target: TARGET, slot, cheater = %Address(c.address), shares = ?c.shares,
                        "invalid signature share");
                    excluded.insert(c.address);
                    jailed.push(Address(c.address));
                }
                close_failed(&mut ts, &open, excluded)?;
            }
            Err(e) => {
                warn!(target: TARGET, slot, error = %e, "session cannot be aggregated; dropped");
                close_failed(&mut ts, &open, BTreeSet::new())?;
            }
        }
    }
    let mut really_jailed = Vec::new();
    let mut ledger = Ledger::new(view);
    for op in jailed {
        if staking::jail(&mut ledger, params, &op, height, "invalid signature share")? {
            really_jailed.push(op);
        }
    }
    Ok(really_jailed)
}

fn finish_signed(
    ts: &mut ThresholdState,
    open: &OpenSession,
    sig: &[u8; SIGNATURE_BYTES],
    height: u64,
) -> Result<(), RuntimeError> {
    ts.delete_session(open.session.slot);
    let Some(entry) = ts.queue_entry(open.seq)? else {
        return Ok(());
    };
    ts.delete_queue_entry(open.seq);
    match entry.what {
        Signable::Batch(batch_height) => {
            if let Some(mut batch) = ts.batch(batch_height)? {
                batch.signature = Some(ItemSignature {
                    epoch: open.epoch,
                    digest: open.session.message,
                    signature: sig.to_vec(),
                    height,
                });
                ts.set_batch(&batch);
                info!(target: TARGET, batch = batch_height, outputs = batch.leaves.len(), epoch = open.epoch, height, "output batch signed");
            }
        }
        Signable::Handover { new_epoch } => {
            let new_key = ts
                .key_record(new_epoch)?
                .map(|r| r.output.group_key.0.to_vec())
                .unwrap_or_default();
            ts.set_handover(&Handover {
                old_epoch: open.epoch,
                new_epoch,
                new_key,
                digest: open.session.message,
                signature: sig.to_vec(),
                height,
            });
            info!(target: TARGET, old = open.epoch, new = new_epoch, height, "hand-over signed");
            super::keygen::activate(ts, new_epoch, height)?;
        }
    }
    Ok(())
}

fn close_failed(
    ts: &mut ThresholdState,
    open: &OpenSession,
    excluded: BTreeSet<ThrAddress>,
) -> Result<(), RuntimeError> {
    ts.delete_session(open.session.slot);
    if let Some(mut entry) = ts.queue_entry(open.seq)? {
        entry.open_slot = None;
        entry.excluded.extend(excluded);
        ts.set_queue_entry(open.seq, &entry);
    }
    Ok(())
}

/// End of block: drops timed-out sessions and opens sessions for waiting entries, in queue
/// order (only the hand-over while one is pending), from the pooled commitments of
/// `next_slot`, leaving out jailed validators, validators whose vote was missing from the
/// block's last commit (`absent`: their shares would likely not arrive either) and the entry's
/// own cheaters and absentees; if that leaves too few signers, the exclusions are relaxed
/// (jailed validators stay out).
pub fn open_sessions(
    view: &mut StateView,
    params: &ChainParams,
    height: u64,
    absent: &BTreeSet<ThrAddress>,
) -> Result<(), RuntimeError> {
    let mut ts = ThresholdState::new(view);
    for open in ts.sessions()? {
        if height >= open.opened_at + SESSION_TIMEOUT_BLOCKS {
            warn!(target: TARGET, slot = open.session.slot, "session timed out");
            close_failed(&mut ts, &open, BTreeSet::new())?;
        }
    }
    let Some((epoch, key)) = ts.current_key()? else {
        return Ok(());
    };
    let allocation = key.output.allocation.clone();
    let mut ineligible = BTreeSet::new();
    for h in &allocation.holders {
        let eligible = Ledger::new(ts.view)
            .validator(&Address(h.address))?
            .is_some_and(|v| v.eligible());
        if !eligible {
            ineligible.insert(h.address);
        }
    }
    let mut open_count = ts.sessions()?.len();
    let pending = ts.meta()?.next_epoch;
    // At most MAX_OPEN_SESSIONS entries are open, so the first 2 × MAX_OPEN_SESSIONS hold every
    // entry this block can open; while a hand-over is pending its entry may be further back.
    let candidates = if pending.is_some() {
        ts.queue()?
    } else {
        ts.queue_head(2 * MAX_OPEN_SESSIONS)?
    };
    let queue: Vec<(u64, QueueEntry)> = candidates
        .into_iter()
        .filter(|(_, e)| e.open_slot.is_none())
        .filter(|(_, e)| pending.is_none() || matches!(e.what, Signable::Handover { .. }))
        .collect();
    for (seq, mut entry) in queue {
        if open_count >= MAX_OPEN_SESSIONS {
            break;
        }
        let Some(message) = super::outbox::digest_for(&ts, params, epoch, &entry.what)? else {
            ts.delete_queue_entry(seq);
            continue;
        };
        let mut meta = ts.meta()?;
        let slot = meta.next_slot;
        let available: BTreeMap<ThrAddress, Vec<CommitmentEntry>> =
            ts.pool(slot)?.into_iter().collect();
        if available.is_empty() {
            break;
        }
        let not_absent: BTreeSet<ThrAddress> = ineligible.union(absent).copied().collect();
        let attempts = [
            entry.excluded.union(&not_absent).copied().collect(),
            not_absent,
            ineligible.clone(),
        ];
        let mut selected = None;
        for (i, excluded) in attempts.iter().enumerate() {
            if let Ok(s) = select_signers(&allocation, slot, message, &available, excluded) {
                if i > 0 {
                    entry.excluded.clear();
                }
                selected = Some(s);
                break;
            }
        }
        let Some(session) = selected else {
            break;
        };
        ts.set_session(&OpenSession {
            session,
            seq,
            epoch,
            opened_at: height,
        });
        entry.open_slot = Some(slot);
        ts.set_queue_entry(seq, &entry);
        ts.clear_pool(Some(slot + 1))?;
        meta.next_slot += 1;
        ts.set_meta(&meta);
        open_count += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::AccountKey;
    use crate::tx::{TxBody, TxKind};
    use proptest::prelude::*;

    #[test]
    fn no_signed_transaction_looks_like_a_record() {
        let key = AccountKey::from_bytes(&[7u8; 32]).unwrap();
        let tx = TxBody {
            chain_id: "x".repeat(crate::tx::MAX_CHAIN_ID_BYTES),
            nonce: 0,
            fuel_limit: 1,
            fuel_price: 1,
            kind: TxKind::Unjail,
        }
        .sign(&key)
        .encode();
        assert!(!is_record(&tx));
        assert!(crate::tx::decode_and_verify(RECORD_MAGIC).is_err());
    }

    #[test]
    fn records_round_trip_and_oversized_ones_are_refused() {
        let record = ThresholdRecord {
            height: 9,
            round: 1,
            extensions: vec![SignedExtension {
                validator: [1; 20],
                extension: vec![1, 2, 3],
                signature: vec![4; 64],
            }],
            signatures: vec![(3, vec![5; 65])],
            eth_requests: Vec::new(),
        };
        assert_eq!(ThresholdRecord::decode(&record.encode()), Ok(record));
        let mut huge = RECORD_MAGIC.to_vec();
        huge.resize(MAX_RECORD_BYTES + 1, 0);
        assert!(ThresholdRecord::decode(&huge).is_err());
    }

    #[test]
    fn extension_sign_bytes_match_cometbft_canonical_encoding() {
        // CanonicalVoteExtension{extension: [0xaa], height: 2, round: 0, chain_id: "c"},
        // length-delimited: the zero round is omitted (proto3 default).
        let got = vote_extension_sign_bytes("c", 2, 0, &[0xaa]);
        let want = [
            15, 0x0a, 1, 0xaa, 0x11, 2, 0, 0, 0, 0, 0, 0, 0, 0x22, 1, b'c',
        ];
        assert_eq!(got, want);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_record_decoder(
            bytes in proptest::collection::vec(any::<u8>(), 0..512)
        ) {
            let mut with_magic = RECORD_MAGIC.to_vec();
            with_magic.extend_from_slice(&bytes);
            let _ = ThresholdRecord::decode(&bytes);
            let _ = ThresholdRecord::decode(&with_magic);
        }
    }
}
