//! The encoding of one height's changes in the `changelog` column family.
//!
//! A commit makes a height durable by writing only this record (plus the height's root and the
//! `latest` marker) with a synced write; the tree nodes, versioned values and flat state follow
//! from the record deterministically and are written behind it (`persist`). After a crash the
//! store replays the records of the heights not yet written out.
//!
//! Format: `count (u32 LE)`, then `count` entries in strictly ascending key order, each
//! `key_len (u32 LE) ‖ key ‖ tag (0 delete, 1 put)`, a put followed by
//! `value_len (u32 LE) ‖ value`. Nothing may follow the last entry. Decoding checks every length
//! against the store's limits before allocating, and rejects unsorted or repeated keys.

use crate::store::{MAX_KEY_BYTES, MAX_VALUE_BYTES};

const TAG_DELETE: u8 = 0;
const TAG_PUT: u8 = 1;

/// Bytes of the encoding of `changes` (for reserving buffers).
pub(crate) fn encoded_len<'a>(
    changes: impl Iterator<Item = (&'a [u8], Option<&'a [u8]>)>,
) -> usize {
    4 + changes
        .map(|(k, v)| 4 + k.len() + 1 + v.map_or(0, |v| 4 + v.len()))
        .sum::<usize>()
}

/// Appends the encoding of `changes` (already in ascending key order) to `out`.
pub(crate) fn encode_into<'a>(
    changes: impl ExactSizeIterator<Item = (&'a [u8], Option<&'a [u8]>)>,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let count = u32::try_from(changes.len()).map_err(|_| "more than 2^32 changes".to_string())?;
    out.extend_from_slice(&count.to_le_bytes());
    for (key, value) in changes {
        push_len(out, key.len(), MAX_KEY_BYTES, "key")?;
        out.extend_from_slice(key);
        match value {
            None => out.push(TAG_DELETE),
            Some(v) => {
                out.push(TAG_PUT);
                push_len(out, v.len(), MAX_VALUE_BYTES, "value")?;
                out.extend_from_slice(v);
            }
        }
    }
    Ok(())
}

fn push_len(out: &mut Vec<u8>, len: usize, max: usize, what: &str) -> Result<(), String> {
    if len > max {
        return Err(format!("{what} of {len} bytes in a changelog record"));
    }
    // `max` fits in a u32, so `len` does too.
    out.extend_from_slice(&(len as u32).to_le_bytes());
    Ok(())
}

/// One decoded change: key and `Some(value)` or `None` (delete).
pub(crate) type Entry = (Vec<u8>, Option<Vec<u8>>);

/// Decodes a record written by [`encode_into`]; `Err` describes the corruption.
pub(crate) fn decode(raw: &[u8]) -> Result<Vec<Entry>, String> {
    let mut r = Reader { raw, at: 0 };
    let count = r.u32()? as usize;
    // Every entry takes at least 5 bytes: a hostile count cannot make us over-allocate.
    if count > raw.len() / 5 {
        return Err(format!(
            "changelog record claims {count} entries in {} bytes",
            raw.len()
        ));
    }
    let mut entries: Vec<Entry> = Vec::with_capacity(count);
    for _ in 0..count {
        let key = r.bytes(MAX_KEY_BYTES, "key")?.to_vec();
        if let Some((prev, _)) = entries.last() {
            if prev.as_slice() >= key.as_slice() {
                return Err("changelog keys are not strictly ascending".into());
            }
        }
        let value = match r.u8()? {
            TAG_DELETE => None,
            TAG_PUT => Some(r.bytes(MAX_VALUE_BYTES, "value")?.to_vec()),
            tag => return Err(format!("bad changelog entry tag {tag}")),
        };
        entries.push((key, value));
    }
    if r.at != raw.len() {
        return Err(format!(
            "{} trailing bytes after a changelog record",
            raw.len() - r.at
        ));
    }
    Ok(entries)
}

struct Reader<'a> {
    raw: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.raw.len())
            .ok_or_else(|| "truncated changelog record".to_string())?;
        let out = &self.raw[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn bytes(&mut self, max: usize, what: &str) -> Result<&'a [u8], String> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(format!("changelog {what} of {len} bytes, more than {max}"));
        }
        self.take(len)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn encode(map: &BTreeMap<Vec<u8>, Option<Vec<u8>>>) -> Vec<u8> {
        let mut out = Vec::new();
        let iter = map.iter().map(|(k, v)| (k.as_slice(), v.as_deref()));
        encode_into(iter, &mut out).unwrap();
        let iter = map.iter().map(|(k, v)| (k.as_slice(), v.as_deref()));
        assert_eq!(out.len(), encoded_len(iter));
        out
    }

    proptest! {
        #[test]
        fn records_round_trip(
            map in prop::collection::btree_map(
                prop::collection::vec(any::<u8>(), 0..40),
                prop::option::of(prop::collection::vec(any::<u8>(), 0..80)),
                0..40,
            )
        ) {
            let raw = encode(&map);
            let back: BTreeMap<_, _> = decode(&raw).unwrap().into_iter().collect();
            prop_assert_eq!(back, map);
        }

        #[test]
        fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&raw);
        }

        #[test]
        fn truncated_or_extended_records_are_rejected(
            map in prop::collection::btree_map(
                prop::collection::vec(any::<u8>(), 1..10),
                prop::option::of(prop::collection::vec(any::<u8>(), 0..10)),
                1..10,
            ),
            cut in any::<prop::sample::Index>(),
        ) {
            let raw = encode(&map);
            let cut = cut.index(raw.len());
            prop_assert!(decode(&raw[..cut]).is_err());
            let mut longer = raw.clone();
            longer.push(0);
            prop_assert!(decode(&longer).is_err());
        }
    }

    #[test]
    fn unsorted_repeated_and_oversized_entries_are_rejected() {
        let entry = |key: &[u8]| {
            let mut e = (key.len() as u32).to_le_bytes().to_vec();
            e.extend_from_slice(key);
            e.push(TAG_DELETE);
            e
        };
        let record = |entries: &[Vec<u8>]| {
            let mut raw = (entries.len() as u32).to_le_bytes().to_vec();
            entries.iter().for_each(|e| raw.extend_from_slice(e));
            raw
        };
        assert!(decode(&record(&[entry(b"a"), entry(b"b")])).is_ok());
        assert!(decode(&record(&[entry(b"b"), entry(b"a")])).is_err());
        assert!(decode(&record(&[entry(b"a"), entry(b"a")])).is_err());
        let mut bad_tag = record(&[entry(b"a")]);
        *bad_tag.last_mut().unwrap() = 7;
        assert!(decode(&bad_tag).is_err());
        let mut huge = 1u32.to_le_bytes().to_vec();
        huge.extend_from_slice(&(MAX_KEY_BYTES as u32 + 1).to_le_bytes());
        assert!(decode(&huge).unwrap_err().contains("more than"));
        assert!(decode(&u32::MAX.to_le_bytes()).is_err());
    }
}
