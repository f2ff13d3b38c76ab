//! An in-memory [`StateRead`] for tests, fuzzing and tools: committed state in a `BTreeMap`,
//! with the same ordering semantics as [`crate::Store`] and a count of `get` calls (so tests can
//! assert how many reads an operation costs).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

use crate::{ChangeSet, KeyValues, StateRead, StoreError};

/// Committed key-value state held in memory. Not durable, not versioned, no proofs.
#[derive(Debug, Default)]
pub struct MemoryState {
    entries: RwLock<BTreeMap<Vec<u8>, Vec<u8>>>,
    gets: AtomicUsize,
}

impl MemoryState {
    pub fn new() -> Self {
        Self::default()
    }

    /// A state holding `entries`.
    pub fn from_entries(entries: impl IntoIterator<Item = (Vec<u8>, Vec<u8>)>) -> Self {
        Self {
            entries: RwLock::new(entries.into_iter().collect()),
            gets: AtomicUsize::new(0),
        }
    }

    /// Applies a block's changes (the in-memory analogue of [`crate::Store::commit`]).
    pub fn apply(&self, changes: ChangeSet) {
        let mut entries = self.entries.write().expect("memory state lock");
        for (key, value) in changes.into_entries() {
            match value {
                Some(value) => entries.insert(key, value),
                None => entries.remove(&key),
            };
        }
    }

    /// `get` calls served so far.
    pub fn gets(&self) -> usize {
        self.gets.load(Ordering::Relaxed)
    }

    pub fn reset_gets(&self) {
        self.gets.store(0, Ordering::Relaxed);
    }
}

impl StateRead for MemoryState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.gets.fetch_add(1, Ordering::Relaxed);
        Ok(self
            .entries
            .read()
            .expect("memory state lock")
            .get(key)
            .cloned())
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, StoreError> {
        Ok(self
            .entries
            .read()
            .expect("memory state lock")
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| after.is_none_or(|a| k.as_slice() > a))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applied_changes_are_read_back_in_key_order_and_gets_are_counted() {
        let state = MemoryState::from_entries([(b"a/1".to_vec(), b"x".to_vec())]);
        let mut changes = ChangeSet::new();
        changes.put(b"a/0".to_vec(), b"y".to_vec());
        changes.delete(b"a/1".to_vec());
        changes.put(b"b".to_vec(), b"z".to_vec());
        state.apply(changes);
        assert_eq!(
            state.scan_prefix(b"a/", None, 10).unwrap(),
            vec![(b"a/0".to_vec(), b"y".to_vec())]
        );
        assert_eq!(state.get(b"a/1").unwrap(), None);
        assert_eq!(state.gets(), 1);
    }
}
