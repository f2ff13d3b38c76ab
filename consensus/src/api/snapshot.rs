//! One request's view of the committed state: the latest height when the request started, read
//! with proofs. Reads go straight to the store (RocksDB point reads and JMT proofs), which takes
//! no lock that `Commit` holds for long, so the API never holds up consensus.

use super::error::ApiError;
use super::model::KeyProof;
use nexus_store::{KeyValues, StateRead, Store, StoreError};
use std::sync::Arc;

pub struct Snapshot {
    pub store: Arc<Store>,
    pub height: u64,
    pub app_hash: [u8; 32],
}

impl Snapshot {
    /// The latest committed height, or 503 before the first block.
    pub fn latest(store: &Arc<Store>) -> Result<Snapshot, ApiError> {
        let height = store.latest_height();
        if height == 0 {
            return Err(ApiError::Unavailable(
                "no block is committed yet".to_string(),
            ));
        }
        Ok(Snapshot {
            store: store.clone(),
            height,
            app_hash: store.root_hash_at(height)?,
        })
    }

    pub fn app_hash_hex(&self) -> String {
        hex::encode(self.app_hash)
    }

    /// The value of a raw state key with its proof.
    pub fn proven(&self, key: &[u8]) -> Result<(Option<Vec<u8>>, KeyProof), ApiError> {
        let (value, proof) = self.store.get_with_proof(key, self.height)?;
        let json = KeyProof {
            key: hex::encode(key),
            value: value.as_ref().map(hex::encode),
            proof: hex::encode(proof.to_bytes()),
        };
        Ok((value, json))
    }

    /// Point reads at this height; range reads see the latest committed state (the store keeps
    /// no older flat state), which is this height unless a block committed meanwhile. Only for
    /// answers the API marks as unproven (listings).
    pub fn reader(&self) -> Arc<dyn StateRead> {
        Arc::new(AtHeight {
            store: self.store.clone(),
            height: self.height,
        })
    }
}

struct AtHeight {
    store: Arc<Store>,
    height: u64,
}

impl StateRead for AtHeight {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get_at(key, self.height)
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, StoreError> {
        self.store.scan_prefix(prefix, after, limit)
    }
}

/// Decodes a borsh ledger or registry record read from state.
pub fn decode<T: borsh::BorshDeserialize>(what: &str, raw: &[u8]) -> Result<T, ApiError> {
    borsh::from_slice(raw).map_err(|e| ApiError::Internal(format!("{what} in state: {e}")))
}
