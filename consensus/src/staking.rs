//! Proof of stake: bonding, unbonding, slashing, jailing, the validator set and fee rewards.
//!
//! - Voting power is `tokens / STAKE_PER_POWER`. The set is recomputed (top `max_validators` by
//!   tokens among eligible validators) only at epoch ends (`height % epoch_length == 0`); between
//!   epochs, powers stay as they were except that jailed or tombstoned validators leave at once.
//!   CometBFT applies an update returned at height H from H+2.
//! - Delegations are shares of a validator's tokens, so a slash reduces every delegator pro rata.
//! - Undelegated stake returns to the delegator's balance `unbonding_blocks` later. (Stake in
//!   unbonding is not slashed for earlier faults; noted as a known gap.)
//! - Double signing (CometBFT `DuplicateVote` evidence): slash `slash_double_sign_ppm`, tombstone.
//! - Downtime: more than `max_missed_in_window` missed blocks within a `downtime_window` →
//!   slash `slash_downtime_ppm` and jail for `jail_blocks`; `Unjail` brings it back at the next
//!   epoch.
//! - Fees of a block are shared by the active set in proportion to power, credited to operators;
//!   the indivisible remainder is burned.

use crate::address::Address;
use crate::error::TxError;
use crate::genesis::power_of;
use crate::ledger::{consensus_address, ActiveSet, ActiveValidator, Ledger, Validator};
use crate::params::{ChainParams, PPM};
use nexus_runtime::RuntimeError;
use std::collections::BTreeMap;
use tracing::{info, warn};

const TARGET: &str = "nexus::staking";

fn staking(msg: impl Into<String>) -> TxError {
    TxError::Staking(msg.into())
}

fn debit(ledger: &mut Ledger, who: &Address, amount: u128) -> Result<(), TxError> {
    let mut acct = ledger.account(who)?;
    if acct.balance < amount {
        return Err(TxError::InsufficientBalance {
            address: *who,
            balance: acct.balance,
            needed: amount,
        });
    }
    acct.balance -= amount;
    ledger.set_account(who, &acct);
    Ok(())
}

/// Registers a validator with a self-delegation taken from `operator`'s balance (`from_balance`)
/// or minted (genesis).
pub fn create_validator(
    ledger: &mut Ledger,
    params: &ChainParams,
    operator: Address,
    consensus_key: [u8; 32],
    amount: u128,
    from_balance: bool,
) -> Result<(), TxError> {
    if amount < params.min_self_stake {
        return Err(staking(format!(
            "self stake {amount} is below min_self_stake {}",
            params.min_self_stake
        )));
    }
    if ed25519_dalek::VerifyingKey::from_bytes(&consensus_key).is_err() {
        return Err(staking("consensus key is not a valid ed25519 public key"));
    }
    if ledger.validator(&operator)?.is_some() {
        return Err(staking(format!("{operator} is already a validator")));
    }
    if ledger
        .operator_of(&consensus_address(&consensus_key))?
        .is_some()
    {
        return Err(staking(
            "consensus key is already used by another validator",
        ));
    }
    if from_balance {
        debit(ledger, &operator, amount)?;
    }
    ledger.set_validator(&Validator {
        operator,
        consensus_key,
        tokens: amount,
        total_shares: amount,
        jailed_until: None,
        tombstoned: false,
        missed_in_window: 0,
        window_start: 0,
    });
    ledger.index_consensus_key(&consensus_key, &operator);
    ledger.set_delegation_shares(&operator, &operator, amount);
    info!(target: TARGET, %operator, amount, "validator created");
    Ok(())
}

pub fn delegate(
    ledger: &mut Ledger,
    delegator: Address,
    validator: Address,
    amount: u128,
) -> Result<(), TxError> {
    if amount == 0 {
        return Err(TxError::ZeroAmount);
    }
    let mut v = ledger
        .validator(&validator)?
        .ok_or_else(|| staking(format!("{validator} is not a validator")))?;
    if v.tombstoned || v.tokens == 0 {
        return Err(staking(format!("{validator} is tombstoned")));
    }
    debit(ledger, &delegator, amount)?;
    let shares = amount
        .checked_mul(v.total_shares)
        .ok_or_else(|| staking("amount too large"))?
        / v.tokens;
    v.tokens += amount;
    v.total_shares += shares;
    let prev = ledger.delegation_shares(&validator, &delegator)?;
    ledger.set_delegation_shares(&validator, &delegator, prev + shares);
    ledger.set_validator(&v);
    Ok(())
}

/// Tokens `delegator` has bonded to `validator`.
pub fn bonded(ledger: &Ledger, validator: &Address, delegator: &Address) -> Result<u128, TxError> {
    let Some(v) = ledger.validator(validator)? else {
        return Ok(0);
    };
    let shares = ledger.delegation_shares(validator, delegator)?;
    if v.total_shares == 0 {
        return Ok(0);
    }
    Ok(shares.saturating_mul(v.tokens) / v.total_shares)
}

pub fn undelegate(
    ledger: &mut Ledger,
    params: &ChainParams,
    height: u64,
    delegator: Address,
    validator: Address,
    amount: u128,
) -> Result<u64, TxError> {
    if amount == 0 {
        return Err(TxError::ZeroAmount);
    }
    let mut v = ledger
        .validator(&validator)?
        .ok_or_else(|| staking(format!("{validator} is not a validator")))?;
    let have = bonded(ledger, &validator, &delegator)?;
    if amount > have {
        return Err(staking(format!(
            "cannot unbond {amount}: only {have} is bonded to {validator}"
        )));
    }
    let shares = ledger.delegation_shares(&validator, &delegator)?;
    // Round the shares removed up, so nobody withdraws more than they own.
    let remove = if amount == have {
        shares
    } else {
        (amount * v.total_shares).div_ceil(v.tokens).min(shares)
    };
    ledger.set_delegation_shares(&validator, &delegator, shares - remove);
    v.tokens -= amount;
    v.total_shares -= remove;
    ledger.set_validator(&v);
    let complete = height + params.unbonding_blocks;
    ledger.add_unbonding(complete, &delegator, &validator, amount)?;
    info!(target: TARGET, %delegator, %validator, amount, complete, "unbonding");
    Ok(complete)
}

pub fn unjail(ledger: &mut Ledger, height: u64, operator: Address) -> Result<(), TxError> {
    let mut v = ledger
        .validator(&operator)?
        .ok_or_else(|| staking(format!("{operator} is not a validator")))?;
    if v.tombstoned {
        return Err(staking("a tombstoned validator can never be unjailed"));
    }
    match v.jailed_until {
        None => Err(staking("validator is not jailed")),
        Some(until) if height < until => Err(staking(format!(
            "jailed until height {until} (now {height})"
        ))),
        Some(_) => {
            v.jailed_until = None;
            v.missed_in_window = 0;
            v.window_start = height;
            ledger.set_validator(&v);
            Ok(())
        }
    }
}

/// Pays out unbondings that complete at or before `height`.
pub fn release_unbonded(ledger: &mut Ledger, height: u64) -> Result<(), RuntimeError> {
    loop {
        let page = ledger
            .view
            .scan_prefix(crate::ledger::UNBONDING_PREFIX, None, 64)?;
        let mut released = 0;
        for (key, value) in &page {
            let rest = &key[crate::ledger::UNBONDING_PREFIX.len()..];
            if rest.len() != 48 {
                return Err(RuntimeError::Corrupt("unbonding key".into()));
            }
            let complete = u64::from_be_bytes(rest[..8].try_into().expect("8 bytes"));
            if complete > height {
                return Ok(());
            }
            let delegator = Address(rest[8..28].try_into().expect("20 bytes"));
            let amount: u128 = borsh::from_slice(value)
                .map_err(|e| RuntimeError::Corrupt(format!("unbonding amount: {e}")))?;
            ledger.credit(&delegator, amount)?;
            ledger.view.delete(key.clone());
            released += 1;
            info!(target: TARGET, %delegator, amount, "unbonding complete");
        }
        if released < 64 {
            return Ok(());
        }
    }
}

/// `amount × ppm / 1e6`, rounded down, without overflow.
fn fraction(amount: u128, ppm: u64) -> u128 {
    amount / u128::from(PPM) * u128::from(ppm)
        + (amount % u128::from(PPM)) * u128::from(ppm) / u128::from(PPM)
}

fn slash(v: &mut Validator, ppm: u64) -> u128 {
    let cut = fraction(v.tokens, ppm);
    v.tokens -= cut;
    cut
}

/// Slashes and tombstones the validator behind a `DuplicateVote` evidence.
///
/// Stake that started unbonding from it at or after `infraction_height` was bonded when it
/// misbehaved, so it is slashed by the same fraction: leaving cannot outrun evidence.
pub fn punish_double_sign(
    ledger: &mut Ledger,
    params: &ChainParams,
    consensus_addr: &[u8; 20],
    height: u64,
    infraction_height: u64,
) -> Result<(), RuntimeError> {
    let Some(op) = ledger.operator_of(consensus_addr)? else {
        warn!(target: TARGET, addr = %hex::encode(consensus_addr), "evidence for an unknown validator");
        return Ok(());
    };
    let Some(mut v) = ledger.validator(&op)? else {
        return Ok(());
    };
    if v.tombstoned {
        return Ok(());
    }
    let cut = slash(&mut v, params.slash_double_sign_ppm);
    v.tombstoned = true;
    v.jailed_until = Some(u64::MAX);
    ledger.set_validator(&v);
    let unbonding_cut = slash_unbonding(ledger, params, &op, infraction_height)?;
    warn!(target: TARGET, operator = %op, slashed = cut, unbonding_cut, height, infraction_height,
          "double sign: slashed and tombstoned");
    Ok(())
}

/// Cuts `slash_double_sign_ppm` from every unbonding entry of `validator` that began at or after
/// `infraction_height`; returns the total cut.
fn slash_unbonding(
    ledger: &mut Ledger,
    params: &ChainParams,
    validator: &Address,
    infraction_height: u64,
) -> Result<u128, RuntimeError> {
    const PAGE: usize = 256;
    let mut total = 0u128;
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page =
            ledger
                .view
                .scan_prefix(crate::ledger::UNBONDING_PREFIX, after.as_deref(), PAGE)?;
        for (key, value) in &page {
            let rest = &key[crate::ledger::UNBONDING_PREFIX.len()..];
            if rest.len() != 48 {
                return Err(RuntimeError::Corrupt("unbonding key".into()));
            }
            if &rest[28..48] != validator.as_bytes() {
                continue;
            }
            let complete = u64::from_be_bytes(rest[..8].try_into().expect("8 bytes"));
            let started = complete.saturating_sub(params.unbonding_blocks);
            if started < infraction_height {
                continue;
            }
            let amount: u128 = borsh::from_slice(value)
                .map_err(|e| RuntimeError::Corrupt(format!("unbonding amount: {e}")))?;
            let cut = fraction(amount, params.slash_double_sign_ppm);
            total += cut;
            ledger.view.put(
                key.clone(),
                borsh::to_vec(&(amount - cut)).expect("borsh encoding into a Vec cannot fail"),
            );
        }
        if page.len() < PAGE {
            return Ok(total);
        }
        after = page.last().map(|(k, _)| k.clone());
    }
}

/// Records who signed the previous block; jails validators over the downtime limit.
pub fn track_liveness(
    ledger: &mut Ledger,
    params: &ChainParams,
    height: u64,
    votes: &[([u8; 20], bool)],
) -> Result<(), RuntimeError> {
    for (addr, signed) in votes {
        let Some(op) = ledger.operator_of(addr)? else {
            continue;
        };
        let Some(mut v) = ledger.validator(&op)? else {
            continue;
        };
        if !v.eligible() {
            continue;
        }
        let before = v.clone();
        if height.saturating_sub(v.window_start) >= params.downtime_window {
            v.window_start = height;
            v.missed_in_window = 0;
        }
        if !signed {
            v.missed_in_window += 1;
        }
        if v.missed_in_window > params.max_missed_in_window {
            let cut = slash(&mut v, params.slash_downtime_ppm);
            v.jailed_until = Some(height + params.jail_blocks);
            v.missed_in_window = 0;
            v.window_start = height;
            warn!(target: TARGET, operator = %op, slashed = cut, height, "downtime: jailed");
        }
        if v != before {
            ledger.set_validator(&v);
        }
    }
    Ok(())
}

/// Computes the validator set at the end of `height` and returns the changes for CometBFT.
pub fn end_block_updates(
    ledger: &mut Ledger,
    params: &ChainParams,
    height: u64,
) -> Result<Vec<ActiveValidator>, RuntimeError> {
    let prev = ledger.active_set()?;
    let desired: Vec<ActiveValidator> = if height.is_multiple_of(params.epoch_length) {
        let mut all: Vec<Validator> = ledger
            .all_validators()?
            .into_iter()
            .filter(|v| v.eligible() && power_of(v.tokens) > 0)
            .collect();
        // Most tokens first; ties by operator address, so every node picks the same set.
        all.sort_by(|a, b| b.tokens.cmp(&a.tokens).then(a.operator.cmp(&b.operator)));
        all.truncate(params.max_validators as usize);
        all.into_iter()
            .map(|v| ActiveValidator {
                operator: v.operator,
                consensus_key: v.consensus_key,
                power: power_of(v.tokens),
            })
            .collect()
    } else {
        let mut keep = Vec::new();
        for m in &prev.members {
            if let Some(v) = ledger.validator(&m.operator)? {
                if v.eligible() {
                    keep.push(m.clone());
                }
            }
        }
        keep
    };
    if desired.is_empty() {
        warn!(target: TARGET, height, "no eligible validator: keeping the previous set");
        return Ok(Vec::new());
    }
    let mut desired = desired;
    desired.sort_by_key(|m| m.operator);
    let before: BTreeMap<Address, &ActiveValidator> =
        prev.members.iter().map(|m| (m.operator, m)).collect();
    let after: BTreeMap<Address, &ActiveValidator> =
        desired.iter().map(|m| (m.operator, m)).collect();
    let mut updates = Vec::new();
    for (op, m) in &before {
        if !after.contains_key(op) {
            updates.push(ActiveValidator {
                power: 0,
                ..(*m).clone()
            });
        }
    }
    for (op, m) in &after {
        if before.get(op).map(|b| b.power) != Some(m.power) {
            updates.push((*m).clone());
        }
    }
    if !updates.is_empty() {
        info!(target: TARGET, height, changes = updates.len(), size = desired.len(), "validator set changes");
        ledger.set_active_set(&ActiveSet { members: desired });
    }
    Ok(updates)
}

/// Shares `fees` among the active set by power. Each validator's operator takes
/// `commission_ppm` of its part as balance; the rest compounds into the validator's bonded tokens,
/// which raises the value of every delegation share: delegators earn in proportion to stake.
pub fn distribute_fees(
    ledger: &mut Ledger,
    params: &ChainParams,
    fees: u128,
) -> Result<(), RuntimeError> {
    if fees == 0 {
        return Ok(());
    }
    let set = ledger.active_set()?;
    let total: u128 = set.members.iter().map(|m| m.power.max(0) as u128).sum();
    if total == 0 {
        return Ok(());
    }
    for m in &set.members {
        let reward = fees * m.power.max(0) as u128 / total;
        if reward == 0 {
            continue;
        }
        let Some(mut v) = ledger.validator(&m.operator)? else {
            ledger.credit(&m.operator, reward)?;
            continue;
        };
        // With no shares outstanding there is no one to compound for.
        let commission = if v.total_shares == 0 {
            reward
        } else {
            fraction(reward, params.commission_ppm)
        };
        if commission > 0 {
            ledger.credit(&m.operator, commission)?;
        }
        if reward > commission {
            v.tokens += reward - commission;
            ledger.set_validator(&v);
        }
    }
    Ok(())
}

/// Jails a validator for a proven threshold-signing fault (a DKG fault or an invalid signature
/// share) for `jail_blocks`, without slashing: it leaves the set at once and may `Unjail`
/// later. Returns whether it was jailed now (false if unknown, already jailed or tombstoned).
pub fn jail(
    ledger: &mut Ledger,
    params: &ChainParams,
    operator: &Address,
    height: u64,
    reason: &str,
) -> Result<bool, RuntimeError> {
    let Some(mut v) = ledger.validator(operator)? else {
        return Ok(false);
    };
    if !v.eligible() {
        return Ok(false);
    }
    v.jailed_until = Some(height + params.jail_blocks);
    ledger.set_validator(&v);
    warn!(target: TARGET, %operator, height, reason, "jailed");
    Ok(true)
}
