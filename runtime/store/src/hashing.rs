//! Key and value hashing of a height's changes, in the tree's key-hash order.

use sha2::{Digest, Sha256};

use crate::batch::Op;
use crate::StoreError;

/// The changes of one height in ascending key-hash order: the tree operations, and beside each
/// the index of its change in the (key-ordered) input.
pub(crate) struct HashedChanges {
    pub(crate) ops: Vec<Op>,
    pub(crate) order: Vec<u32>,
}

/// Hashes every key (`SHA-256(key)`, jmt's `KeyHash::with::<Sha256>`) and value
/// (`SHA-256(value)`, jmt's `ValueHash::with::<Sha256>`) of `changes` and sorts by key hash.
pub(crate) fn hash_changes<'a>(
    changes: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
) -> Result<HashedChanges, StoreError> {
    let mut entries: Vec<(Op, u32)> = Vec::with_capacity(changes.size_hint().0);
    for (i, (key, value)) in changes.enumerate() {
        let index = u32::try_from(i).map_err(|_| StoreError::Tree("over 2^32 changes".into()))?;
        let op = Op {
            key_hash: Sha256::digest(key).into(),
            value_hash: value.map(|v| Sha256::digest(v).into()),
        };
        entries.push((op, index));
    }
    entries.sort_unstable_by_key(|e| e.0.key_hash);
    if entries
        .windows(2)
        .any(|w| w[0].0.key_hash == w[1].0.key_hash)
    {
        return Err(StoreError::Tree("two keys with the same SHA-256".into()));
    }
    let (ops, order) = entries.into_iter().unzip();
    Ok(HashedChanges { ops, order })
}
