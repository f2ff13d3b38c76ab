//! Typed, proven reads of the ledger and of functions: each value is checked against the app
//! hash of its height (see [`Client::get_proven`]).

use super::{Client, ClientError};
use crate::app::CHAIN_ID_KEY;
use crate::ledger::{self, Account, ActiveSet, Validator};
use crate::params::ChainParams;
use crate::Address;
use borsh::BorshDeserialize;
use nexus_runtime::FunctionRecord;

/// A proven value with the height it was read at.
#[derive(Clone, Debug)]
pub struct AtHeight<T> {
    pub height: u64,
    pub app_hash: [u8; 32],
    pub value: T,
}

fn decode<T: BorshDeserialize>(what: &str, raw: &[u8]) -> Result<T, ClientError> {
    borsh::from_slice(raw).map_err(|e| ClientError::Decode(format!("{what}: {e}")))
}

impl Client {
    fn proven<T>(
        &self,
        key: &[u8],
        parse: impl FnOnce(Option<Vec<u8>>) -> Result<T, ClientError>,
    ) -> Result<AtHeight<T>, ClientError> {
        let p = self.get_proven(key)?;
        Ok(AtHeight {
            height: p.height,
            app_hash: p.app_hash,
            value: parse(p.value)?,
        })
    }

    /// An account (zero balance and nonce when it never received anything).
    pub fn account(&self, address: &Address) -> Result<AtHeight<Account>, ClientError> {
        self.proven(&ledger::account_key(address), |v| match v {
            Some(raw) => decode("account", &raw),
            None => Ok(Account::default()),
        })
    }

    /// The chain parameters fixed at genesis.
    pub fn params(&self) -> Result<AtHeight<ChainParams>, ClientError> {
        self.proven(ledger::PARAMS_KEY, |v| {
            decode(
                "chain params",
                &v.ok_or_else(|| ClientError::Decode("state holds no chain params".into()))?,
            )
        })
    }

    /// The chain id recorded at genesis.
    pub fn chain_id(&self) -> Result<String, ClientError> {
        let p = self.proven(CHAIN_ID_KEY, |v| {
            let raw = v.ok_or_else(|| ClientError::Decode("state holds no chain id".into()))?;
            String::from_utf8(raw).map_err(|e| ClientError::Decode(e.to_string()))
        })?;
        Ok(p.value)
    }

    /// The validator set last sent to CometBFT.
    pub fn active_set(&self) -> Result<AtHeight<ActiveSet>, ClientError> {
        self.proven(ledger::ACTIVE_SET_KEY, |v| match v {
            Some(raw) => decode("active set", &raw),
            None => Ok(ActiveSet::default()),
        })
    }

    /// A validator record, if `operator` ever created one.
    pub fn validator(
        &self,
        operator: &Address,
    ) -> Result<AtHeight<Option<Validator>>, ClientError> {
        self.proven(&ledger::validator_key(operator), |v| {
            v.map(|raw| decode("validator", &raw)).transpose()
        })
    }

    /// A deployed function's record.
    pub fn function(&self, name: &str) -> Result<AtHeight<Option<FunctionRecord>>, ClientError> {
        self.proven(&nexus_runtime::keys::function(name), |v| {
            v.map(|raw| decode("function record", &raw)).transpose()
        })
    }

    /// A function's key-value entry. Errors if the function is not deployed at that height
    /// (both reads are proven at the same height).
    pub fn function_kv(
        &self,
        function: &str,
        key: &[u8],
    ) -> Result<AtHeight<Option<Vec<u8>>>, ClientError> {
        let value = self.get_proven(&nexus_runtime::keys::kv(function, key))?;
        let record = self.get_proven_at(&nexus_runtime::keys::function(function), value.height)?;
        if record.value.is_none() {
            return Err(ClientError::Query {
                code: crate::query::CODE_NOT_FOUND,
                log: format!("function `{function}` is not deployed"),
            });
        }
        Ok(AtHeight {
            height: value.height,
            app_hash: value.app_hash,
            value: value.value,
        })
    }
}
