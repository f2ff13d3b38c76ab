//! Key and value hashing of a change set, in the tree's key-hash order.

use sha2::{Digest, Sha256};

use crate::batch::Op;
use crate::{ChangeSet, StoreError};

/// The changes of one height in ascending key-hash order: the tree operations, and beside each
/// its raw value (`None`: delete) for the versioned-value column family.
pub(crate) struct HashedChanges<'a> {
    pub(crate) ops: Vec<Op>,
    pub(crate) values: Vec<Option<&'a [u8]>>,
}

/// Hashes every key (`SHA-256(key)`, jmt's `KeyHash::with::<Sha256>`) and value
/// (`SHA-256(value)`, jmt's `ValueHash::with::<Sha256>`) of `changes` and sorts by key hash.
pub(crate) fn hash_changes(changes: &ChangeSet) -> Result<HashedChanges<'_>, StoreError> {
    let mut entries: Vec<(Op, Option<&[u8]>)> = changes
        .iter()
        .map(|(key, value)| {
            let op = Op {
                key_hash: Sha256::digest(key).into(),
                value_hash: value.map(|v| Sha256::digest(v).into()),
            };
            (op, value)
        })
        .collect();
    entries.sort_unstable_by_key(|e| e.0.key_hash);
    if entries
        .windows(2)
        .any(|w| w[0].0.key_hash == w[1].0.key_hash)
    {
        return Err(StoreError::Tree("two keys with the same SHA-256".into()));
    }
    let (ops, values) = entries.into_iter().unzip();
    Ok(HashedChanges { ops, values })
}
