//! Stake-weighted share allocation and the signing threshold.
//!
//! Each validator owns a number of FROST shares (identifiers) roughly proportional to its bonded
//! stake; a signature needs `threshold` shares. The choice, for total stake `S`:
//!
//! 1. For a candidate share count `W` (tried upwards from the number of validators, at least 2,
//!    up to [`MAX_TOTAL_SHARES`]), give validator `i` the largest-remainder rounding of
//!    `stake_i · W / S` (ties to the lower address), capped at [`MAX_SHARES_PER_VALIDATOR`] so
//!    one signing item always fits one vote extension. `W'` is the resulting total.
//! 2. Compute exactly `M` = the largest number of shares held by any set of validators with
//!    strictly less than 1/3 of the stake (a 0/1 knapsack over share counts, `O(n·W')`).
//! 3. Set `threshold = W' − M`. Then:
//!    - any set with **less than 1/3** of the stake has at most `M` shares, so it **cannot sign**
//!      as long as `M < W' − M`;
//!    - any set with **more than 2/3** of the stake is the complement of a set with less than
//!      1/3, so it holds at least `W' − M = threshold` shares and **can sign**.
//! 4. Accept the first `W` with `M < W' − M` and `threshold ≥ 2` (FROST needs two signers).
//!
//! Both properties are therefore exact, whatever the rounding did; the threshold is the largest
//! one that still lets every > 2/3 coalition sign (sets between 1/3 and 2/3 may or may not
//! reach it). Validators with a tiny stake may get no share at all; that never breaks the two
//! properties, which are about stake. Identifiers are assigned `1..=W'` in address order.

use std::collections::BTreeSet;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::{Address, ShareId};

/// Upper bound on the total number of FROST shares (bounds DKG and signing work).
pub const MAX_TOTAL_SHARES: u16 = 256;
/// Upper bound on one validator's shares, so that one item's nonce commitments plus signature
/// shares fit a vote extension (see [`crate::vote_extension::MAX_VOTE_EXTENSION_BYTES`]).
pub const MAX_SHARES_PER_VALIDATOR: u16 = 8;
/// Upper bound on the number of validators in an allocation.
pub const MAX_VALIDATORS: usize = 256;

/// Why no allocation could be made.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AllocationError {
    #[error("no validator with non-zero stake")]
    NoStake,
    #[error("{0} validators exceed the maximum of {MAX_VALIDATORS}")]
    TooManyValidators(usize),
    #[error("validator {0} listed twice")]
    DuplicateValidator(String),
    #[error(
        "no share count up to {MAX_TOTAL_SHARES} separates 1/3 from 2/3 of the stake \
         (stake too concentrated for the per-validator cap of {MAX_SHARES_PER_VALIDATOR})"
    )]
    NoSeparatingThreshold,
}

/// One validator's place in the allocation.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ShareHolder {
    pub address: Address,
    pub stake: u64,
    /// The validator's FROST share indices (contiguous, possibly empty).
    pub shares: Vec<ShareId>,
}

/// Shares per validator and the signing threshold for one epoch.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Allocation {
    /// Every validator with non-zero stake, sorted by address.
    pub holders: Vec<ShareHolder>,
    /// Total number of shares `W'`.
    pub total_shares: u16,
    /// Shares needed to sign.
    pub threshold: u16,
    /// `M`: the most shares any set with < 1/3 of the stake holds (always `< threshold`).
    pub max_shares_below_one_third: u16,
}

impl Allocation {
    /// Total bonded stake.
    pub fn total_stake(&self) -> u128 {
        self.holders.iter().map(|h| u128::from(h.stake)).sum()
    }

    /// The holder of `address`, if any.
    pub fn holder(&self, address: &Address) -> Option<&ShareHolder> {
        self.holders
            .binary_search_by(|h| h.address.cmp(address))
            .ok()
            .map(|i| &self.holders[i])
    }

    /// The validator owning share `id`.
    pub fn owner_of(&self, id: ShareId) -> Option<&ShareHolder> {
        self.holders.iter().find(|h| h.shares.contains(&id))
    }

    /// Number of shares held by the given validators (unknown addresses count zero).
    pub fn shares_of<'a>(&self, addresses: impl IntoIterator<Item = &'a Address>) -> u32 {
        let set: BTreeSet<&Address> = addresses.into_iter().collect();
        self.holders
            .iter()
            .filter(|h| set.contains(&h.address))
            .map(|h| h.shares.len() as u32)
            .sum()
    }

    /// Stake held by the given validators.
    pub fn stake_of<'a>(&self, addresses: impl IntoIterator<Item = &'a Address>) -> u128 {
        let set: BTreeSet<&Address> = addresses.into_iter().collect();
        self.holders
            .iter()
            .filter(|h| set.contains(&h.address))
            .map(|h| u128::from(h.stake))
            .sum()
    }

    /// Every share index, in order.
    pub fn all_shares(&self) -> impl Iterator<Item = ShareId> + '_ {
        self.holders.iter().flat_map(|h| h.shares.iter().copied())
    }
}

/// Allocates shares to validators by stake and picks the threshold (see the module doc).
/// Validators with zero stake are left out. Deterministic: depends only on the input set.
pub fn allocate_shares(stakes: &[(Address, u64)]) -> Result<Allocation, AllocationError> {
    let mut validators: Vec<(Address, u64)> =
        stakes.iter().copied().filter(|(_, s)| *s > 0).collect();
    if validators.is_empty() {
        return Err(AllocationError::NoStake);
    }
    if validators.len() > MAX_VALIDATORS {
        return Err(AllocationError::TooManyValidators(validators.len()));
    }
    validators.sort_by_key(|(a, _)| *a);
    for pair in validators.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(AllocationError::DuplicateValidator(crate::address_hex(
                &pair[0].0,
            )));
        }
    }
    let stake: Vec<u64> = validators.iter().map(|(_, s)| *s).collect();
    let start = (validators.len() as u16).max(2);
    for target in start..=MAX_TOTAL_SHARES {
        let counts = proportional_counts(&stake, target);
        let total: u16 = counts.iter().sum();
        let m = max_shares_below_one_third(&stake, &counts);
        let threshold = total - m;
        if m < threshold && threshold >= 2 {
            let mut next: ShareId = 1;
            let holders = validators
                .iter()
                .zip(&counts)
                .map(|((address, stake), &count)| {
                    let shares: Vec<ShareId> = (next..next + count).collect();
                    next += count;
                    ShareHolder {
                        address: *address,
                        stake: *stake,
                        shares,
                    }
                })
                .collect();
            return Ok(Allocation {
                holders,
                total_shares: total,
                threshold,
                max_shares_below_one_third: m,
            });
        }
    }
    Err(AllocationError::NoSeparatingThreshold)
}

/// Largest-remainder rounding of `stake_i · target / S`, each capped at
/// [`MAX_SHARES_PER_VALIDATOR`]. Ties go to the lower index (lower address).
fn proportional_counts(stake: &[u64], target: u16) -> Vec<u16> {
    let total: u128 = stake.iter().map(|&s| u128::from(s)).sum();
    let target_u = u128::from(target);
    let mut counts: Vec<u128> = Vec::with_capacity(stake.len());
    let mut remainders: Vec<(u128, usize)> = Vec::with_capacity(stake.len());
    for (i, &s) in stake.iter().enumerate() {
        let scaled = u128::from(s) * target_u;
        counts.push(scaled / total);
        remainders.push((scaled % total, i));
    }
    let assigned: u128 = counts.iter().sum();
    let mut left = target_u - assigned;
    // Largest remainder first; equal remainders: lower index first.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        counts[i] += 1;
        left -= 1;
    }
    counts
        .into_iter()
        .map(|c| c.min(u128::from(MAX_SHARES_PER_VALIDATOR)) as u16)
        .collect()
}

/// `M`: the most shares held by a set of validators whose stake is strictly below 1/3 of the
/// total. Knapsack over share counts: `min_stake[v]` = least stake of a set holding exactly `v`.
pub fn max_shares_below_one_third(stake: &[u64], counts: &[u16]) -> u16 {
    let total_stake: u128 = stake.iter().map(|&s| u128::from(s)).sum();
    let total_shares: usize = counts.iter().map(|&c| usize::from(c)).sum();
    let mut min_stake: Vec<Option<u128>> = vec![None; total_shares + 1];
    min_stake[0] = Some(0);
    for (&s, &c) in stake.iter().zip(counts) {
        let c = usize::from(c);
        if c == 0 {
            continue;
        }
        for v in (c..=total_shares).rev() {
            if let Some(prev) = min_stake[v - c] {
                let candidate = prev + u128::from(s);
                if min_stake[v].is_none_or(|cur| candidate < cur) {
                    min_stake[v] = Some(candidate);
                }
            }
        }
    }
    (0..=total_shares)
        .rev()
        .find(|&v| min_stake[v].is_some_and(|st| 3 * st < total_stake))
        .unwrap_or(0) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(i: u8) -> Address {
        [i; 20]
    }

    #[test]
    fn equal_stakes() {
        for (n, t) in [(1u8, 2u16), (4, 3), (7, 5), (16, 11), (64, 43)] {
            let stakes: Vec<_> = (1..=n).map(|i| (addr(i), 100)).collect();
            let a = allocate_shares(&stakes).unwrap();
            assert_eq!(a.threshold, t, "n = {n}");
            assert!(a.max_shares_below_one_third < a.threshold);
        }
    }

    #[test]
    fn identifiers_are_contiguous_and_in_address_order() {
        let a = allocate_shares(&[(addr(9), 50), (addr(1), 30), (addr(5), 20)]).unwrap();
        let all: Vec<_> = a.all_shares().collect();
        assert_eq!(all, (1..=a.total_shares).collect::<Vec<_>>());
        assert!(a.holders.windows(2).all(|w| w[0].address < w[1].address));
    }

    #[test]
    fn rejects_empty_and_duplicates() {
        assert_eq!(allocate_shares(&[]), Err(AllocationError::NoStake));
        assert_eq!(
            allocate_shares(&[(addr(1), 0)]),
            Err(AllocationError::NoStake)
        );
        assert!(matches!(
            allocate_shares(&[(addr(1), 1), (addr(1), 2)]),
            Err(AllocationError::DuplicateValidator(_))
        ));
    }
}
