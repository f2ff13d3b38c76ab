use std::collections::BTreeMap;

/// A sorted set of pending writes (`Some(value)`) and deletes (`None`), keyed by raw state key.
///
/// A `BTreeMap` keeps iteration order a pure function of the contents (determinism).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeSet {
    entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl ChangeSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// `None` if the key is untouched here; `Some(None)` if deleted; `Some(Some(v))` if written.
    pub fn lookup(&self, key: &[u8]) -> Option<Option<&[u8]>> {
        self.entries.get(key).map(|v| v.as_deref())
    }

    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.entries.insert(key, Some(value));
    }

    pub fn delete(&mut self, key: Vec<u8>) {
        self.entries.insert(key, None);
    }

    /// Applies `newer` on top of `self` (later writes win).
    pub fn merge(&mut self, newer: ChangeSet) {
        if self.entries.is_empty() {
            self.entries = newer.entries;
        } else {
            self.entries.extend(newer.entries);
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All entries in ascending key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], Option<&[u8]>)> {
        self.entries
            .iter()
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
    }

    /// Entries with `prefix` and key strictly greater than `after`, ascending.
    pub fn range_prefix<'a>(
        &'a self,
        prefix: &'a [u8],
        after: Option<&'a [u8]>,
    ) -> impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a {
        use std::ops::Bound;
        let lower = match after {
            Some(a) if a >= prefix => Bound::Excluded(a.to_vec()),
            _ => Bound::Included(prefix.to_vec()),
        };
        self.entries
            .range((lower, Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_slice(), v.as_deref()))
    }

    pub fn into_entries(self) -> BTreeMap<Vec<u8>, Option<Vec<u8>>> {
        self.entries
    }
}
