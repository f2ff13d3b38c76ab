//! A RocksDB write batch built as bytes in one buffer, then handed to RocksDB in one copy.
//!
//! A height writes tens of thousands of entries; one `put_cf` FFI call each (and RocksDB
//! growing its batch string) costs more than encoding the records here. The encoding is RocksDB's
//! own `WriteBatch` representation (stable since RocksDB 3): a 12-byte header (sequence number
//! u64 LE, zero here; record count u32 LE), then one record per entry: a type byte, the column
//! family id as a varint32 for any family but the default one, and the key and value each as a
//! varint32 length and bytes. Column family ids are not exposed by the `rocksdb` crate, so
//! [`cf_id`] reads them back from a one-record batch made by RocksDB itself; the tests check the
//! whole encoding against batches made with `put_cf`/`delete_cf`.

use rocksdb::{ColumnFamily, WriteBatch};

use crate::StoreError;

const HEADER_BYTES: usize = 12;
const COUNT_OFFSET: usize = 8;
/// Record types (RocksDB `ValueType`).
const TYPE_DELETION: u8 = 0x0;
const TYPE_VALUE: u8 = 0x1;
const TYPE_CF_DELETION: u8 = 0x4;
const TYPE_CF_VALUE: u8 = 0x5;

/// The id of a column family, as RocksDB writes it into batch records.
pub(crate) fn cf_id(cf: &ColumnFamily) -> Result<u32, StoreError> {
    let mut probe = WriteBatch::default();
    probe.put_cf(cf, b"", b"");
    let data = probe.data();
    let bad = || StoreError::Corrupt("unexpected RocksDB write batch encoding".into());
    match data.get(HEADER_BYTES) {
        Some(&TYPE_VALUE) => Ok(0),
        Some(&TYPE_CF_VALUE) => read_varint32(&data[HEADER_BYTES + 1..]).ok_or_else(bad),
        _ => Err(bad()),
    }
}

fn read_varint32(bytes: &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for (i, b) in bytes.iter().take(5).enumerate() {
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

/// Records of one write batch.
pub(crate) struct RawBatch {
    rep: Vec<u8>,
    count: u32,
    /// `(offset, records before it)` of every `chunk_records`-th record (see
    /// [`RawBatch::into_chunks`]).
    chunk_starts: Vec<(usize, u32)>,
    chunk_records: u32,
}

impl RawBatch {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self::with_chunks(bytes, u32::MAX)
    }

    /// A batch that [`RawBatch::into_chunks`] can split every `chunk_records` records.
    pub(crate) fn with_chunks(bytes: usize, chunk_records: u32) -> Self {
        let mut rep = Vec::with_capacity(HEADER_BYTES + bytes);
        rep.resize(HEADER_BYTES, 0);
        Self {
            rep,
            count: 0,
            chunk_starts: Vec::new(),
            chunk_records: chunk_records.max(1),
        }
    }

    fn varint32(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.rep.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.rep.push(v as u8);
    }

    fn len32(&mut self, len: usize) -> Result<(), StoreError> {
        let len = u32::try_from(len)
            .map_err(|_| StoreError::Corrupt("write batch entry over 4 GiB".into()))?;
        self.varint32(len);
        Ok(())
    }

    fn record(&mut self, cf: u32, default_type: u8, cf_type: u8) {
        if self.count > 0 && self.count.is_multiple_of(self.chunk_records) {
            self.chunk_starts.push((self.rep.len(), self.count));
        }
        if cf == 0 {
            self.rep.push(default_type);
        } else {
            self.rep.push(cf_type);
            self.varint32(cf);
        }
        self.count += 1;
    }

    pub(crate) fn put(&mut self, cf: u32, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.record(cf, TYPE_VALUE, TYPE_CF_VALUE);
        self.len32(key.len())?;
        self.rep.extend_from_slice(key);
        self.len32(value.len())?;
        self.rep.extend_from_slice(value);
        Ok(())
    }

    /// A put whose value is written by `write` straight into the batch (no intermediate buffer).
    /// `value_len` must be the number of bytes `write` appends.
    pub(crate) fn put_with(
        &mut self,
        cf: u32,
        key: &[u8],
        value_len: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), StoreError> {
        self.record(cf, TYPE_VALUE, TYPE_CF_VALUE);
        self.len32(key.len())?;
        self.rep.extend_from_slice(key);
        self.len32(value_len)?;
        let start = self.rep.len();
        write(&mut self.rep);
        if self.rep.len() - start != value_len {
            return Err(StoreError::Tree("encoded value length mismatch".into()));
        }
        Ok(())
    }

    pub(crate) fn delete(&mut self, cf: u32, key: &[u8]) -> Result<(), StoreError> {
        self.record(cf, TYPE_DELETION, TYPE_CF_DELETION);
        self.len32(key.len())?;
        self.rep.extend_from_slice(key);
        Ok(())
    }

    pub(crate) fn into_write_batch(mut self) -> WriteBatch {
        self.rep[COUNT_OFFSET..HEADER_BYTES].copy_from_slice(&self.count.to_le_bytes());
        WriteBatch::from_data(&self.rep)
    }

    /// The records as consecutive write batches of at most `chunk_records` records each, in
    /// order (one batch if the batch was not made by [`RawBatch::with_chunks`]).
    pub(crate) fn into_chunks(self) -> Vec<WriteBatch> {
        let mut bounds = self.chunk_starts.clone();
        bounds.push((self.rep.len(), self.count));
        let mut chunks = Vec::with_capacity(bounds.len());
        let (mut start, mut before) = (HEADER_BYTES, 0u32);
        for (end, records_before_end) in bounds {
            let mut rep = Vec::with_capacity(HEADER_BYTES + end - start);
            rep.resize(HEADER_BYTES, 0);
            rep[COUNT_OFFSET..].copy_from_slice(&(records_before_end - before).to_le_bytes());
            rep.extend_from_slice(&self.rep[start..end]);
            chunks.push(WriteBatch::from_data(&rep));
            (start, before) = (end, records_before_end);
        }
        chunks
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rocksdb::{Options, DB};

    #[test]
    fn raw_batches_encode_like_rocksdb_batches() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let names: Vec<String> = (0..140).map(|i| format!("cf{i}")).collect();
        let db = DB::open_cf(&opts, dir.path(), &names).unwrap();
        let mut theirs = WriteBatch::default();
        let mut ours = RawBatch::with_capacity(0);
        // Column family ids past 127 take two varint bytes; lengths too.
        for (i, name) in names.iter().enumerate().step_by(7) {
            let cf = db.cf_handle(name).unwrap();
            let id = cf_id(cf).unwrap();
            let key = vec![i as u8; i * 3];
            let value = vec![7u8; i * 5];
            theirs.put_cf(cf, &key, &value);
            ours.put(id, &key, &value).unwrap();
            theirs.delete_cf(cf, &key);
            ours.delete(id, &key).unwrap();
            theirs.put_cf(cf, b"k", &value);
            ours.put_with(id, b"k", value.len(), |out| out.extend_from_slice(&value))
                .unwrap();
        }
        let default = db.cf_handle("default").unwrap();
        assert_eq!(cf_id(default).unwrap(), 0);
        theirs.put_cf(default, b"d", b"v");
        ours.put(0, b"d", b"v").unwrap();
        theirs.delete_cf(default, b"d");
        ours.delete(0, b"d").unwrap();
        let ours = ours.into_write_batch();
        assert_eq!(ours.len(), theirs.len());
        assert_eq!(ours.data(), theirs.data());
        assert!(cf_id(db.cf_handle("cf133").unwrap()).unwrap() > 127);
        // And RocksDB applies it.
        db.write(ours).unwrap();
        let cf = db.cf_handle("cf7").unwrap();
        assert_eq!(db.get_cf(cf, b"k").unwrap(), Some(vec![7u8; 35]));
    }

    #[test]
    fn chunks_hold_every_record_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = Options::default();
        opts.create_if_missing(true);
        let db = DB::open(&opts, dir.path()).unwrap();
        for (records, per_chunk) in [(0u32, 3u32), (1, 3), (3, 3), (7, 3), (10, 1), (5, 100)] {
            let mut ours = RawBatch::with_chunks(0, per_chunk);
            let mut whole = WriteBatch::default();
            for i in 0..records {
                let key = format!("{per_chunk}/{i:03}");
                ours.put(0, key.as_bytes(), &i.to_le_bytes()).unwrap();
                whole.put(key.as_bytes(), i.to_le_bytes());
            }
            let chunks = ours.into_chunks();
            assert_eq!(chunks.len(), records.div_ceil(per_chunk).max(1) as usize);
            assert!(chunks.iter().all(|c| c.len() <= per_chunk as usize));
            let joined: Vec<u8> = chunks
                .iter()
                .flat_map(|c| c.data()[HEADER_BYTES..].to_vec())
                .collect();
            assert_eq!(joined, whole.data()[HEADER_BYTES..]);
            assert_eq!(
                chunks.iter().map(WriteBatch::len).sum::<usize>(),
                records as usize
            );
            for chunk in chunks {
                db.write(chunk).unwrap();
            }
            for i in 0..records {
                let key = format!("{per_chunk}/{i:03}");
                assert_eq!(db.get(key).unwrap(), Some(i.to_le_bytes().to_vec()));
            }
        }
    }

    #[test]
    fn mismatched_value_lengths_are_rejected() {
        let mut b = RawBatch::with_capacity(0);
        assert!(b.put_with(1, b"k", 3, |out| out.push(1)).is_err());
    }
}
