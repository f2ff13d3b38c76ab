//! The DKG as part of the state machine: encryption-key registration, DKG messages carried by
//! transactions, phase deadlines by height, the result, and when a new key is generated.
//!
//! - A DKG runs when there is no key yet (genesis: as soon as validators holding > 2/3 of the
//!   active power have registered encryption keys) and after an epoch end that changed the
//!   active set (members or power). Participants are the active validators with a registered
//!   key, weighted by voting power; their power must exceed 2/3 of the set's, else the start
//!   waits for more registrations. It also waits up to [`REGISTRATION_GRACE_BLOCKS`] for every
//!   active validator to register. "Changed" means the share allocation the stakes would get
//!   now differs from the key's (holders, shares or threshold), not any drift of power.
//! - Round 1 and round 2 close at the end of the first block in which every participant has
//!   spoken, or at `dkg_phase_blocks` after they opened; the complaint phase always lasts
//!   `dkg_phase_blocks`. A failed DKG is re-run at once under a fresh epoch number.
//! - Proven faults (`DkgState::misbehaving`) jail the validator when the DKG ends.
//! - The first key becomes the signing key at once; a later one only once the current key has
//!   signed the hand-over ([`super::sessions`]).

use std::collections::BTreeMap;

use nexus_runtime::RuntimeError;
use nexus_store::StateView;
use nexus_threshold::allocation::{allocate_shares, Allocation};
use nexus_threshold::dkg::{DkgConfig, DkgMessage, DkgPhase, DkgState};
use nexus_threshold::encryption::decode_point;
use nexus_threshold::{Address as ThrAddress, CompressedPoint};
use tracing::{info, warn};

use super::sessions::LOOKAHEAD_SLOTS;
use super::state::{DkgRun, KeyRecord, Signable, ThresholdState};
use crate::address::Address;
use crate::error::TxError;
use crate::ledger::Ledger;
use crate::params::ChainParams;
use crate::staking;

const TARGET: &str = "nexus::threshold";

fn thr(msg: impl Into<String>) -> TxError {
    TxError::Threshold(msg.into())
}

/// `RegisterEncryptionKey`: a validator publishes the key its DKG shares are encrypted to.
/// Changing it is refused while a DKG is running (the running DKG encrypts to the old one).
pub fn register_encryption_key(
    view: &mut StateView,
    sender: Address,
    key: &[u8],
) -> Result<(), TxError> {
    let point =
        CompressedPoint::from_slice(key).ok_or_else(|| thr("encryption key must be 33 bytes"))?;
    decode_point(&point).map_err(|_| thr("encryption key is not a secp256k1 point"))?;
    if Ledger::new(view).validator(&sender)?.is_none() {
        return Err(thr(format!("{sender} is not a validator")));
    }
    let mut ts = ThresholdState::new(view);
    if ts.encryption_key(&sender.0)?.is_some() && running(&ts)? {
        return Err(thr(
            "a DKG is running; change the encryption key after it ends",
        ));
    }
    ts.set_encryption_key(&sender.0, &point);
    Ok(())
}

/// `Dkg`: one DKG message from a validator; rejected (state unchanged) when the DKG refuses it.
pub fn apply_dkg_message(
    view: &mut StateView,
    sender: Address,
    bytes: &[u8],
) -> Result<(), TxError> {
    let msg = DkgMessage::decode(bytes).map_err(|e| thr(e.to_string()))?;
    let mut ts = ThresholdState::new(view);
    let mut run = ts.dkg()?.ok_or_else(|| thr("no DKG is running"))?;
    let verdict = run
        .state
        .apply(&sender.0, &msg)
        .map_err(|e| thr(e.to_string()))?;
    if let Some(v) = verdict {
        info!(target: TARGET, epoch = msg.epoch(), ?v, "DKG complaint judged");
    }
    ts.set_dkg(&run);
    Ok(())
}

fn running(ts: &ThresholdState) -> Result<bool, RuntimeError> {
    Ok(ts.dkg()?.is_some_and(|r| {
        matches!(
            r.state.phase,
            DkgPhase::Round1 | DkgPhase::Round2 | DkgPhase::Complaints
        )
    }))
}

/// The active set as (operator, power), sorted.
fn active_stakes(view: &mut StateView) -> Result<Vec<(ThrAddress, u64)>, RuntimeError> {
    let set = Ledger::new(view).active_set()?;
    let mut out: Vec<(ThrAddress, u64)> = set
        .members
        .iter()
        .map(|m| (m.operator.0, u64::try_from(m.power.max(0)).unwrap_or(0)))
        .filter(|(_, p)| *p > 0)
        .collect();
    out.sort();
    Ok(out)
}

/// The active validators with a registered encryption key (the DKG's participants), sorted.
fn keyed_stakes(view: &mut StateView) -> Result<Vec<(ThrAddress, u64)>, RuntimeError> {
    let stakes = active_stakes(view)?;
    let ts = ThresholdState::new(view);
    let mut keyed = Vec::with_capacity(stakes.len());
    for (op, power) in stakes {
        if ts.encryption_key(&op)?.is_some() {
            keyed.push((op, power));
        }
    }
    Ok(keyed)
}

/// Whether the signing key's allocation is still the one the current stakes would get: same
/// holders, same shares, same threshold. Then the key's guarantees (> 2/3 of the stake can
/// sign, < 1/3 cannot) hold exactly for today's stakes, and no DKG is needed. Power drifts at
/// every epoch end (fee rewards compound into stake); comparing raw powers would rotate the key
/// for every drift, comparing shares rotates only when the drift changes who may sign.
fn key_still_fits(allocation: &Allocation, stakes: &[(ThrAddress, u64)]) -> bool {
    let Ok(wanted) = allocate_shares(stakes) else {
        // No allocation is possible now (no stake, too concentrated): keep the key we have.
        return true;
    };
    wanted.threshold == allocation.threshold
        && wanted.holders.len() == allocation.holders.len()
        && wanted
            .holders
            .iter()
            .zip(&allocation.holders)
            .all(|(w, h)| w.address == h.address && w.shares == h.shares)
}

/// End-of-block work: phase deadlines, the result, rotation triggers, starting a DKG.
/// Returns the validators jailed for DKG faults.
pub fn end_block(
    view: &mut StateView,
    params: &ChainParams,
    height: u64,
) -> Result<Vec<Address>, RuntimeError> {
    let mut jailed = Vec::new();
    let mut ts = ThresholdState::new(view);
    if let Some(mut run) = ts.dkg()? {
        if advance_if_due(&mut run, height, params.dkg_phase_blocks) {
            match run.state.phase {
                DkgPhase::Finished | DkgPhase::Failed => {
                    let faults: Vec<ThrAddress> = run.state.misbehaving.keys().copied().collect();
                    ts.set_dkg(&run);
                    finished(&mut ts, &run, height)?;
                    let mut ledger = Ledger::new(ts.view);
                    for op in faults {
                        if staking::jail(&mut ledger, params, &Address(op), height, "DKG fault")? {
                            jailed.push(Address(op));
                        }
                    }
                }
                _ => ts.set_dkg(&run),
            }
        }
    }
    let ts = ThresholdState::new(view);
    let mut meta = ts.meta()?;
    if height.is_multiple_of(params.epoch_length) {
        if let Some((_, key)) = ts.current_key()? {
            let stakes = keyed_stakes(ts.view)?;
            if !key_still_fits(&key.output.allocation, &stakes) {
                info!(target: TARGET, height, "validator set changed: a new group key is needed");
                meta.rotation_wanted = true;
                ThresholdState::new(view).set_meta(&meta);
            }
        }
    }
    let ts = ThresholdState::new(view);
    let mut meta = ts.meta()?;
    let wants_key = meta.current_epoch.is_none() || meta.rotation_wanted;
    if wants_key && meta.next_epoch.is_none() && !running(&ts)? {
        let since = *meta.key_wanted_since.get_or_insert(height);
        ThresholdState::new(view).set_meta(&meta);
        start(view, params, height, since)?;
    }
    Ok(jailed)
}

/// Closes the current phase when its deadline has come or everyone has spoken.
fn advance_if_due(run: &mut DkgRun, height: u64, phase_blocks: u64) -> bool {
    let s = &run.state;
    let everyone = match s.phase {
        DkgPhase::Round1 => s
            .config
            .allocation
            .holders
            .iter()
            .all(|h| s.round1.contains_key(&h.address)),
        DkgPhase::Round2 => s.round1.keys().all(|d| s.round2.contains_key(d)),
        DkgPhase::Complaints => false,
        DkgPhase::Finished | DkgPhase::Failed => return false,
    };
    if !everyone && height < run.phase_deadline {
        return false;
    }
    let phase = run.state.advance();
    run.phase_deadline = height + phase_blocks;
    info!(target: TARGET, epoch = run.state.config.epoch, height, ?phase, "DKG phase");
    true
}

fn finished(ts: &mut ThresholdState, run: &DkgRun, height: u64) -> Result<(), RuntimeError> {
    let epoch = run.state.config.epoch;
    let Some(output) = run.state.output.clone() else {
        warn!(target: TARGET, epoch, failure = ?run.state.failure, "DKG failed; it will be re-run");
        return Ok(());
    };
    info!(target: TARGET, epoch, height, group_key = %hex::encode(output.group_key.0), "group key generated");
    ts.set_key_record(
        epoch,
        &KeyRecord {
            output,
            finished_at: height,
            active_from: None,
        },
    );
    let mut meta = ts.meta()?;
    meta.rotation_wanted = false;
    if meta.current_epoch.is_none() {
        ts.set_meta(&meta);
        activate(ts, epoch, height)?;
    } else {
        meta.next_epoch = Some(epoch);
        ts.set_meta(&meta);
        ts.enqueue(Signable::Handover { new_epoch: epoch })?;
    }
    Ok(())
}

/// Makes `epoch`'s key the signing key: sessions of the old key are dropped (their items are
/// signed again, with the new epoch in the digest), the commitment pool is cleared and the
/// slot counter jumps past every slot a validator may have committed to for the old key.
pub fn activate(ts: &mut ThresholdState, epoch: u64, height: u64) -> Result<(), RuntimeError> {
    let mut meta = ts.meta()?;
    meta.current_epoch = Some(epoch);
    meta.next_epoch = None;
    meta.next_slot += LOOKAHEAD_SLOTS;
    ts.set_meta(&meta);
    ts.clear_pool(None)?;
    for s in ts.sessions()? {
        ts.delete_session(s.session.slot);
        if let Some(mut entry) = ts.queue_entry(s.seq)? {
            entry.open_slot = None;
            entry.excluded.clear();
            ts.set_queue_entry(s.seq, &entry);
        }
    }
    if let Some(mut record) = ts.key_record(epoch)? {
        record.active_from = Some(height);
        ts.set_key_record(epoch, &record);
    }
    info!(target: TARGET, epoch, height, "group key active");
    Ok(())
}

/// Blocks a wanted DKG waits for every active validator to register an encryption key before
/// it starts with those that did (if they hold > 2/3 of the power). Without the wait, the first
/// key could leave out a validator that registered one block late; with three equal holders
/// that key needs all three to sign, and the whole network would stall on one of them.
pub const REGISTRATION_GRACE_BLOCKS: u64 = 10;

fn start(
    view: &mut StateView,
    params: &ChainParams,
    height: u64,
    wanted_since: u64,
) -> Result<(), RuntimeError> {
    let total: u128 = active_stakes(view)?
        .iter()
        .map(|(_, p)| u128::from(*p))
        .sum();
    let keyed = keyed_stakes(view)?;
    let mut ts = ThresholdState::new(view);
    let mut keys = BTreeMap::new();
    for (op, _) in &keyed {
        if let Some(k) = ts.encryption_key(op)? {
            keys.insert(*op, k);
        }
    }
    let keyed_power: u128 = keyed.iter().map(|(_, p)| u128::from(*p)).sum();
    if total == 0 || 3 * keyed_power <= 2 * total {
        return Ok(());
    }
    if keyed_power < total && height < wanted_since + REGISTRATION_GRACE_BLOCKS {
        return Ok(());
    }
    let mut meta = ts.meta()?;
    let epoch = meta.next_dkg_epoch;
    let config = match allocate_shares(&keyed)
        .map_err(|e| e.to_string())
        .and_then(|a| DkgConfig::new(epoch, a, &keys).map_err(|e| e.to_string()))
    {
        Ok(c) => c,
        Err(e) => {
            warn!(target: TARGET, epoch, error = %e, "cannot configure a DKG");
            return Ok(());
        }
    };
    meta.next_dkg_epoch += 1;
    meta.key_wanted_since = None;
    ts.set_meta(&meta);
    info!(target: TARGET, epoch, height, participants = keyed.len(),
        threshold = config.allocation.threshold, "DKG started");
    ts.set_dkg(&DkgRun {
        state: DkgState::new(config),
        phase_deadline: height + params.dkg_phase_blocks,
        started_at: height,
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stakes(powers: &[u64]) -> Vec<(ThrAddress, u64)> {
        powers
            .iter()
            .enumerate()
            .map(|(i, p)| ([i as u8 + 1; 20], *p))
            .collect()
    }

    #[test]
    fn fee_drift_keeps_the_key() {
        let key = allocate_shares(&stakes(&[1_000, 1_000, 1_000, 1_000])).unwrap();
        assert!(key_still_fits(&key, &stakes(&[1_000, 1_000, 1_000, 1_000])));
        // Rewards compound unevenly by a few per cent: the same shares, the same threshold.
        assert!(key_still_fits(&key, &stakes(&[1_030, 1_010, 1_000, 1_021])));
    }

    #[test]
    fn a_new_member_a_leaver_or_a_large_shift_needs_a_new_key() {
        let key = allocate_shares(&stakes(&[1_000, 1_000, 1_000, 1_000])).unwrap();
        assert!(!key_still_fits(
            &key,
            &stakes(&[1_000, 1_000, 1_000, 1_000, 1_000])
        ));
        assert!(!key_still_fits(&key, &stakes(&[1_000, 1_000, 1_000])));
        assert!(!key_still_fits(
            &key,
            &stakes(&[5_000, 1_000, 1_000, 1_000])
        ));
    }
}
