//! The consensus layer's part of the replicated state: accounts, staking records and chain
//! parameters, kept beside the runtime's functions in the same store (one app hash covers all).
//!
//! | key | value (borsh) |
//! |---|---|
//! | `acct/<address 20>` | [`Account`] |
//! | `chain/params` | [`ChainParams`] |
//! | `stake/val/<operator 20>` | [`Validator`] |
//! | `stake/cons/<consensus address 20>` | operator address |
//! | `stake/del/<validator 20><delegator 20>` | delegation shares (u128) |
//! | `stake/unb/<complete height BE 8><delegator 20><validator 20>` | amount being unbonded (u128) |
//! | `stake/active` | [`ActiveSet`]: the validator set last sent to CometBFT |

use crate::address::Address;
use crate::params::ChainParams;
use borsh::{BorshDeserialize, BorshSerialize};
use nexus_runtime::RuntimeError;
use nexus_store::StateView;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub const ACCOUNT_PREFIX: &[u8] = b"acct/";
pub const PARAMS_KEY: &[u8] = b"chain/params";
pub const VALIDATOR_PREFIX: &[u8] = b"stake/val/";
pub const CONSENSUS_ADDR_PREFIX: &[u8] = b"stake/cons/";
pub const DELEGATION_PREFIX: &[u8] = b"stake/del/";
pub const UNBONDING_PREFIX: &[u8] = b"stake/unb/";
pub const ACTIVE_SET_KEY: &[u8] = b"stake/active";

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize,
)]
pub struct Account {
    #[serde(with = "crate::genesis::u128_string")]
    pub balance: u128,
    pub nonce: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Validator {
    pub operator: Address,
    #[serde(with = "crate::genesis::hex32")]
    pub consensus_key: [u8; 32],
    /// Bonded stake backing this validator (after slashes).
    #[serde(with = "crate::genesis::u128_string")]
    pub tokens: u128,
    /// Total delegation shares; a delegator owns `shares * tokens / total_shares`.
    #[serde(with = "crate::genesis::u128_string")]
    pub total_shares: u128,
    /// Jailed until this height (`Unjail` allowed from then on); `None` when not jailed.
    pub jailed_until: Option<u64>,
    /// Double-signed: never again in the set.
    pub tombstoned: bool,
    /// Blocks missed in the current downtime window.
    pub missed_in_window: u64,
    /// First height of the current downtime window.
    pub window_start: u64,
}

impl Validator {
    pub fn eligible(&self) -> bool {
        self.jailed_until.is_none() && !self.tombstoned && self.tokens > 0
    }
}

/// The validator set as CometBFT knows it (sorted by operator address).
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ActiveSet {
    pub members: Vec<ActiveValidator>,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ActiveValidator {
    pub operator: Address,
    #[serde(with = "crate::genesis::hex32")]
    pub consensus_key: [u8; 32],
    pub power: i64,
}

/// CometBFT's address of an ed25519 validator key: the first 20 bytes of its SHA-256.
pub fn consensus_address(key: &[u8; 32]) -> [u8; 20] {
    let hash = Sha256::digest(key);
    let mut out = [0u8; 20];
    out.copy_from_slice(&hash[..20]);
    out
}

pub fn account_key(address: &Address) -> Vec<u8> {
    [ACCOUNT_PREFIX, &address.0].concat()
}
pub fn validator_key(operator: &Address) -> Vec<u8> {
    [VALIDATOR_PREFIX, &operator.0].concat()
}
pub fn consensus_addr_key(addr: &[u8; 20]) -> Vec<u8> {
    [CONSENSUS_ADDR_PREFIX, addr].concat()
}
pub fn delegation_key(validator: &Address, delegator: &Address) -> Vec<u8> {
    [DELEGATION_PREFIX, &validator.0, &delegator.0].concat()
}
pub fn unbonding_key(complete_height: u64, delegator: &Address, validator: &Address) -> Vec<u8> {
    [
        UNBONDING_PREFIX,
        &complete_height.to_be_bytes(),
        &delegator.0,
        &validator.0,
    ]
    .concat()
}

/// Typed reads and writes of the ledger over a [`StateView`].
pub struct Ledger<'v> {
    pub view: &'v mut StateView,
}

fn decode<T: BorshDeserialize>(what: &str, raw: &[u8]) -> Result<T, RuntimeError> {
    borsh::from_slice(raw).map_err(|e| RuntimeError::Corrupt(format!("{what}: {e}")))
}

fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    borsh::to_vec(value).expect("borsh encoding into a Vec cannot fail")
}

impl<'v> Ledger<'v> {
    pub fn new(view: &'v mut StateView) -> Self {
        Ledger { view }
    }

    fn read<T: BorshDeserialize>(&self, what: &str, key: &[u8]) -> Result<Option<T>, RuntimeError> {
        match self.view.get(key)? {
            Some(raw) => Ok(Some(decode(what, &raw)?)),
            None => Ok(None),
        }
    }

    pub fn params(&self) -> Result<ChainParams, RuntimeError> {
        self.read("chain params", PARAMS_KEY)?
            .ok_or_else(|| RuntimeError::Corrupt("chain params missing".into()))
    }
    pub fn set_params(&mut self, params: &ChainParams) {
        self.view.put(PARAMS_KEY.to_vec(), encode(params));
    }

    pub fn account(&self, address: &Address) -> Result<Account, RuntimeError> {
        Ok(self
            .read("account", &account_key(address))?
            .unwrap_or_default())
    }
    pub fn set_account(&mut self, address: &Address, account: &Account) {
        if *account == Account::default() {
            self.view.delete(account_key(address));
        } else {
            self.view.put(account_key(address), encode(account));
        }
    }
    pub fn credit(&mut self, address: &Address, amount: u128) -> Result<(), RuntimeError> {
        let mut acct = self.account(address)?;
        acct.balance = acct
            .balance
            .checked_add(amount)
            .ok_or_else(|| RuntimeError::Corrupt(format!("balance of {address} overflows")))?;
        self.set_account(address, &acct);
        Ok(())
    }

    pub fn validator(&self, operator: &Address) -> Result<Option<Validator>, RuntimeError> {
        self.read("validator", &validator_key(operator))
    }
    pub fn set_validator(&mut self, v: &Validator) {
        self.view.put(validator_key(&v.operator), encode(v));
    }
    pub fn operator_of(&self, consensus_addr: &[u8; 20]) -> Result<Option<Address>, RuntimeError> {
        match self.view.get(&consensus_addr_key(consensus_addr))? {
            Some(raw) => {
                let arr: [u8; 20] = raw
                    .try_into()
                    .map_err(|_| RuntimeError::Corrupt("consensus address index".into()))?;
                Ok(Some(Address(arr)))
            }
            None => Ok(None),
        }
    }
    pub fn index_consensus_key(&mut self, key: &[u8; 32], operator: &Address) {
        self.view.put(
            consensus_addr_key(&consensus_address(key)),
            operator.0.to_vec(),
        );
    }

    pub fn delegation_shares(
        &self,
        validator: &Address,
        delegator: &Address,
    ) -> Result<u128, RuntimeError> {
        Ok(self
            .read("delegation", &delegation_key(validator, delegator))?
            .unwrap_or(0))
    }
    pub fn set_delegation_shares(
        &mut self,
        validator: &Address,
        delegator: &Address,
        shares: u128,
    ) {
        let key = delegation_key(validator, delegator);
        if shares == 0 {
            self.view.delete(key);
        } else {
            self.view.put(key, encode(&shares));
        }
    }

    pub fn add_unbonding(
        &mut self,
        complete_height: u64,
        delegator: &Address,
        validator: &Address,
        amount: u128,
    ) -> Result<(), RuntimeError> {
        let key = unbonding_key(complete_height, delegator, validator);
        let prev: u128 = self.read("unbonding", &key)?.unwrap_or(0);
        self.view.put(key, encode(&(prev + amount)));
        Ok(())
    }

    pub fn active_set(&self) -> Result<ActiveSet, RuntimeError> {
        Ok(self.read("active set", ACTIVE_SET_KEY)?.unwrap_or_default())
    }
    pub fn set_active_set(&mut self, set: &ActiveSet) {
        self.view.put(ACTIVE_SET_KEY.to_vec(), encode(set));
    }

    /// Every validator record, in operator order.
    pub fn all_validators(&self) -> Result<Vec<Validator>, RuntimeError> {
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self
                .view
                .scan_prefix(VALIDATOR_PREFIX, after.as_deref(), 256)?;
            let done = page.len() < 256;
            for (k, v) in &page {
                out.push(decode("validator", v)?);
                after = Some(k.clone());
            }
            if done {
                return Ok(out);
            }
        }
    }
}
