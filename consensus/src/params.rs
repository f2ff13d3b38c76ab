//! Chain parameters, fixed at genesis.

use crate::address::Address;
use crate::zk::ZkParams;
use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Stake units per unit of CometBFT voting power.
pub const STAKE_PER_POWER: u128 = 1_000_000;
/// Most active validators.
pub const MAX_VALIDATORS_LIMIT: u32 = 150;
/// Fractions are expressed in parts per million.
pub const PPM: u64 = 1_000_000;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChainParams {
    /// Blocks per epoch; bonding changes move the validator set only at epoch ends.
    pub epoch_length: u64,
    /// Blocks between an undelegation and the return of its stake.
    pub unbonding_blocks: u64,
    /// Most validators in the active set.
    pub max_validators: u32,
    /// Least self-delegation to create a validator.
    pub min_self_stake: u128,
    /// Fuel charged for every transaction before execution.
    pub base_tx_fuel: u64,
    /// Fuel charged per byte of transaction.
    pub fuel_per_tx_byte: u64,
    /// Least accepted fuel price.
    pub min_fuel_price: u64,
    /// Most fuel all transactions of one block may reserve.
    pub max_block_fuel: u64,
    /// Fraction of stake slashed for double signing (ppm).
    pub slash_double_sign_ppm: u64,
    /// Fraction of stake slashed for downtime (ppm).
    pub slash_downtime_ppm: u64,
    /// Downtime is judged over windows of this many blocks.
    pub downtime_window: u64,
    /// A validator that misses more than this many blocks of a window is jailed.
    pub max_missed_in_window: u64,
    /// Blocks a downtime-jailed validator must wait before `Unjail`.
    pub jail_blocks: u64,
    /// Part of a validator's fee reward paid to its operator's balance (ppm); the rest is added
    /// to its bonded tokens, so every delegator (the operator's self-stake included) earns in
    /// proportion to its stake.
    pub commission_ppm: u64,
    /// Ethereum chain id in the EIP-712 domain of everything the group key signs.
    pub eth_chain_id: u64,
    /// The `NexusGateway` address in that domain (its address is predictable before it is
    /// deployed: the deployer's address and nonce).
    pub eth_gateway: Address,
    /// Blocks a DKG phase lasts at most (rounds 1 and 2 close as soon as everyone has spoken).
    pub dkg_phase_blocks: u64,
    /// zk-Functions: circuit shape, pinned verifier key, fuel, budgets and size limits.
    pub zk: ZkParams,
}

impl Default for ChainParams {
    fn default() -> Self {
        ChainParams {
            epoch_length: 20,
            unbonding_blocks: 40,
            max_validators: 100,
            min_self_stake: STAKE_PER_POWER,
            base_tx_fuel: 20_000,
            fuel_per_tx_byte: 10,
            min_fuel_price: 1,
            max_block_fuel: 50_000_000_000,
            slash_double_sign_ppm: 50_000,
            slash_downtime_ppm: 10_000,
            downtime_window: 1_000,
            max_missed_in_window: 500,
            jail_blocks: 20,
            commission_ppm: 100_000,
            eth_chain_id: 31337,
            eth_gateway: Address::default(),
            dkg_phase_blocks: 3,
            zk: ZkParams::default(),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("chain parameter {name}: {reason}")]
pub struct ParamsError {
    pub name: &'static str,
    pub reason: String,
}

impl ChainParams {
    pub fn validate(&self) -> Result<(), ParamsError> {
        let err = |name, reason: &str| {
            Err(ParamsError {
                name,
                reason: reason.into(),
            })
        };
        if self.epoch_length == 0 {
            return err("epoch_length", "must be at least 1");
        }
        if self.max_validators == 0 || self.max_validators > MAX_VALIDATORS_LIMIT {
            return err("max_validators", "must be between 1 and 150");
        }
        if self.slash_double_sign_ppm > PPM
            || self.slash_downtime_ppm > PPM
            || self.commission_ppm > PPM
        {
            return err(
                "slash_*_ppm / commission_ppm",
                "a fraction cannot exceed 1,000,000 ppm",
            );
        }
        if self.downtime_window == 0 || self.max_missed_in_window >= self.downtime_window {
            return err(
                "max_missed_in_window",
                "must be below downtime_window (and the window non-zero)",
            );
        }
        if self.min_self_stake < STAKE_PER_POWER {
            return err(
                "min_self_stake",
                "must be at least one unit of voting power",
            );
        }
        if self.dkg_phase_blocks < 2 {
            return err(
                "dkg_phase_blocks",
                "must be at least 2 (a message sent after a commit lands in the next block)",
            );
        }
        if self.max_block_fuel == 0 {
            return err("max_block_fuel", "must be positive");
        }
        self.zk.validate()
    }
}
