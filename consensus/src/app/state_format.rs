//! The version of the state's encodings, written at genesis and checked when a node starts:
//! a binary whose records (chain parameters, ledger entries, zk jobs, …) are encoded
//! differently refuses the state with an error that says so, instead of failing on the first
//! record it cannot decode. There is no migration yet: such state is recreated.

use std::sync::Arc;

use nexus_store::{StateRead, StateView, Store, StoreError};

/// Key of the state format version (`u32`, little-endian).
pub const STATE_FORMAT_KEY: &[u8] = b"chain/state-format";
/// Version of the state's encodings; bump when a change makes state written before it
/// unreadable. 1: chain parameters with `zk` (the first versioned format).
pub const STATE_FORMAT: u32 = 1;

/// Why a node refuses its state.
#[derive(Debug, thiserror::Error)]
pub enum StateFormatError {
    #[error(
        "the state was written by a Nexus from before state-format versioning (this binary \
         reads format {STATE_FORMAT}); it cannot be migrated: recreate the node's state (for a \
         devnet, `nexus devnet up` in a fresh directory)"
    )]
    Unversioned,
    #[error(
        "the state has format {found}, this binary reads format {STATE_FORMAT}; it cannot be \
         migrated: run the Nexus version that wrote it, or recreate the node's state"
    )]
    Other { found: u32 },
    #[error("the state-format record is {0} bytes, not 4")]
    Malformed(usize),
    #[error("reading the state format: {0}")]
    Store(#[from] StoreError),
}

/// The genesis write of the current format.
pub fn write(view: &mut StateView) {
    view.put(
        STATE_FORMAT_KEY.to_vec(),
        STATE_FORMAT.to_le_bytes().to_vec(),
    );
}

/// Checks committed state (if any) against [`STATE_FORMAT`]; an empty store passes.
pub fn check(store: &Arc<Store>) -> Result<(), StateFormatError> {
    if store.latest_height() == 0 {
        return Ok(());
    }
    let raw = store
        .get(STATE_FORMAT_KEY)?
        .ok_or(StateFormatError::Unversioned)?;
    let bytes: [u8; 4] = raw
        .as_slice()
        .try_into()
        .map_err(|_| StateFormatError::Malformed(raw.len()))?;
    match u32::from_le_bytes(bytes) {
        STATE_FORMAT => Ok(()),
        found => Err(StateFormatError::Other { found }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store_with(value: Option<&[u8]>) -> (tempfile::TempDir, Arc<Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let mut view = StateView::new(store.clone());
        view.put(b"chain/id".to_vec(), b"test".to_vec());
        if let Some(v) = value {
            view.put(STATE_FORMAT_KEY.to_vec(), v.to_vec());
        }
        store.commit(view.take_block_changes()).unwrap();
        (dir, store)
    }

    #[test]
    fn current_and_empty_state_pass_others_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check(&Arc::new(Store::open(dir.path()).unwrap())).is_ok());

        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let mut view = StateView::new(store.clone());
        write(&mut view);
        store.commit(view.take_block_changes()).unwrap();
        assert!(check(&store).is_ok());

        let (_d, store) = store_with(None);
        let e = check(&store).unwrap_err();
        assert!(matches!(e, StateFormatError::Unversioned));
        assert!(e.to_string().contains("recreate"), "{e}");

        let (_d, store) = store_with(Some(&7u32.to_le_bytes()));
        let e = check(&store).unwrap_err();
        assert!(matches!(e, StateFormatError::Other { found: 7 }));
        assert!(e.to_string().contains("format 7"), "{e}");

        let (_d, store) = store_with(Some(b"\x01\x00"));
        assert!(matches!(check(&store), Err(StateFormatError::Malformed(2))));
    }
}
