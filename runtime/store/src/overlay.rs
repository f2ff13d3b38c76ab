//! Prefix scans of a base state under layers of changes: a [`crate::StateView`] over its base,
//! and the [`crate::Store`] over its flat state and the heights not yet written out.

use std::sync::Arc;

use crate::{ChangeSet, KeyValues, StoreError};

/// Smallest page read from the base per step: overlay deletes may hide base entries, so a scan
/// reads the base in pages until it has `limit` entries.
const SCAN_PAGE_MIN: usize = 16;

/// An overlay's changes in ascending key order: key and `Some(value)` or `None` (deleted).
pub(crate) type Changes<'a> = Box<dyn Iterator<Item = (&'a [u8], Option<&'a [u8]>)> + 'a>;

/// Changes laid over a base state.
pub(crate) trait Overlay {
    /// The changes with `prefix` and key strictly greater than `after`, ascending
    /// (`None`: deleted).
    fn changes_in<'a>(&'a self, prefix: &'a [u8], after: Option<&'a [u8]>) -> Changes<'a>;
}

impl Overlay for ChangeSet {
    fn changes_in<'a>(&'a self, prefix: &'a [u8], after: Option<&'a [u8]>) -> Changes<'a> {
        Box::new(self.range_prefix(prefix, after))
    }
}

impl<T: Overlay> Overlay for Arc<T> {
    fn changes_in<'a>(&'a self, prefix: &'a [u8], after: Option<&'a [u8]>) -> Changes<'a> {
        self.as_ref().changes_in(prefix, after)
    }
}

/// Entries with `prefix` and key strictly greater than `after`, ascending, at most `limit`:
/// the base, read through `base_page(cursor, n)` (the first `n` base entries with `prefix`
/// after `cursor`), under `overlays` (oldest first: a later change of a key wins; deletes hide
/// the key).
pub(crate) fn scan_overlaid<O: Overlay>(
    mut base_page: impl FnMut(Option<&[u8]>, usize) -> Result<KeyValues, StoreError>,
    overlays: &[O],
    prefix: &[u8],
    after: Option<&[u8]>,
    limit: usize,
) -> Result<KeyValues, StoreError> {
    let mut result = Vec::new();
    if limit == 0 {
        return Ok(result);
    }
    let page_len = limit.max(SCAN_PAGE_MIN);
    let mut cursor: Option<Vec<u8>> = after.map(<[u8]>::to_vec);
    loop {
        let page = base_page(cursor.as_deref(), page_len)?;
        let page_end = if page.len() < page_len {
            None
        } else {
            page.last().map(|(k, _)| k.clone())
        };
        // Merge the base page with the overlays over (cursor, page_end].
        let mut merged: std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>> =
            page.into_iter().map(|(k, v)| (k, Some(v))).collect();
        for overlay in overlays {
            for (k, v) in overlay.changes_in(prefix, cursor.as_deref()) {
                if page_end.as_deref().is_some_and(|end| k > end) {
                    break;
                }
                merged.insert(k.to_vec(), v.map(<[u8]>::to_vec));
            }
        }
        for (k, v) in merged {
            if let Some(v) = v {
                result.push((k, v));
                if result.len() == limit {
                    return Ok(result);
                }
            }
        }
        match page_end {
            None => return Ok(result),
            Some(end) => cursor = Some(end),
        }
    }
}
