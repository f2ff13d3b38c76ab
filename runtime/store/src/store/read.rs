//! Reads of the latest height: the heights not yet written out (newest change wins) over the
//! flat `state` column family.

use rocksdb::{Direction, IteratorMode, ReadOptions};

use super::Store;
use crate::keys::CF_STATE;
use crate::overlay::scan_overlaid;
use crate::{KeyValues, StateRead, StoreError};

impl Store {
    /// Like [`StateRead::scan_prefix`], over the `state` column family only.
    fn scan_flat_state(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, StoreError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(out);
        }
        // First candidate: the prefix itself, or the smallest key strictly after `after`.
        let start = match after {
            Some(a) if a >= prefix => {
                let mut s = a.to_vec();
                s.push(0);
                s
            }
            _ => prefix.to_vec(),
        };
        let mut opts = ReadOptions::default();
        if let Some(end) = prefix_successor(prefix) {
            opts.set_iterate_upper_bound(end);
        }
        let iter = self.db.iterator_cf_opt(
            self.cf(CF_STATE)?,
            opts,
            IteratorMode::From(&start, Direction::Forward),
        );
        for item in iter {
            let (k, v) = item?;
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.into_vec(), v.into_vec()));
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }
}

/// Reads of the latest height: the pending heights (newest change wins), then the flat state.
/// Not isolated from a concurrent commit: a read racing one may see either height.
impl StateRead for Store {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let pending = self.write_behind.with_pending(|queue| {
            queue
                .iter()
                .rev()
                .find_map(|p| p.get(key))
                .map(|v| v.map(<[u8]>::to_vec))
        });
        match pending {
            Some(value) => Ok(value),
            None => Ok(self.db.get_cf(self.cf(CF_STATE)?, key)?),
        }
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, StoreError> {
        let pending = self.write_behind.snapshot();
        if pending.is_empty() {
            return self.scan_flat_state(prefix, after, limit);
        }
        let base_page = |cursor: Option<&[u8]>, n: usize| self.scan_flat_state(prefix, cursor, n);
        scan_overlaid(base_page, &pending, prefix, after, limit)
    }
}

/// The smallest byte string greater than every string starting with `prefix` (`None` if there is
/// none, i.e. the prefix is all `0xff`).
fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successor_skips_trailing_ff() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(&[1, 0xff]), Some(vec![2]));
        assert_eq!(prefix_successor(&[0xff, 0xff]), None);
        assert_eq!(prefix_successor(b""), None);
    }
}
