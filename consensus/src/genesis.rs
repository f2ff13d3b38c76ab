//! The application's part of CometBFT's genesis (`app_state`): accounts, validators, parameters.

use crate::address::Address;
use crate::params::{ChainParams, ParamsError, STAKE_PER_POWER};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GenesisAccount {
    pub address: Address,
    /// Decimal string (JSON numbers lose precision above 2^53).
    #[serde(with = "u128_string")]
    pub balance: u128,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    pub operator: Address,
    /// CometBFT ed25519 public key, hex.
    #[serde(with = "hex32")]
    pub consensus_key: [u8; 32],
    /// Self-delegated stake, taken from nothing (minted at genesis).
    #[serde(with = "u128_string")]
    pub stake: u128,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AppGenesis {
    pub accounts: Vec<GenesisAccount>,
    pub validators: Vec<GenesisValidator>,
    #[serde(default)]
    pub params: ChainParams,
}

#[derive(Debug, Error)]
pub enum GenesisError {
    #[error("app_state is not valid JSON for the Nexus genesis: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Params(#[from] ParamsError),
    #[error("genesis has no validators")]
    NoValidators,
    #[error("account {0} appears twice")]
    DuplicateAccount(Address),
    #[error("validator {0} appears twice (operator or consensus key)")]
    DuplicateValidator(Address),
    #[error("validator {operator} has stake {stake}, below min_self_stake {min}")]
    StakeTooLow {
        operator: Address,
        stake: u128,
        min: u128,
    },
    #[error("the validators CometBFT was given do not match app_state: {0}")]
    ValidatorMismatch(String),
}

impl AppGenesis {
    pub fn from_json(bytes: &[u8]) -> Result<AppGenesis, GenesisError> {
        let g: AppGenesis = serde_json::from_slice(bytes)?;
        g.validate()?;
        Ok(g)
    }

    pub fn validate(&self) -> Result<(), GenesisError> {
        self.params.validate()?;
        if self.validators.is_empty() {
            return Err(GenesisError::NoValidators);
        }
        let mut seen = std::collections::BTreeSet::new();
        for a in &self.accounts {
            if !seen.insert(a.address) {
                return Err(GenesisError::DuplicateAccount(a.address));
            }
        }
        let mut ops = std::collections::BTreeSet::new();
        let mut keys = std::collections::BTreeSet::new();
        for v in &self.validators {
            if !ops.insert(v.operator) || !keys.insert(v.consensus_key) {
                return Err(GenesisError::DuplicateValidator(v.operator));
            }
            if v.stake < self.params.min_self_stake {
                return Err(GenesisError::StakeTooLow {
                    operator: v.operator,
                    stake: v.stake,
                    min: self.params.min_self_stake,
                });
            }
        }
        Ok(())
    }
}

/// Voting power of `stake`.
pub fn power_of(stake: u128) -> i64 {
    i64::try_from(stake / STAKE_PER_POWER).unwrap_or(i64::MAX)
}

pub(crate) mod u128_string {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

pub(crate) mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let raw = hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)?;
        raw.try_into()
            .map_err(|_| serde::de::Error::custom("expected 32 bytes"))
    }
}
