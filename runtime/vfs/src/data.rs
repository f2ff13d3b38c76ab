//! File data: fixed-size chunks keyed by `(ino, index)`.
//!
//! Invariant: a stored chunk holds at most [`CHUNK_SIZE`] bytes and never bytes at or past the
//! end of the file. Missing chunks, and bytes past a chunk's stored length, read as zeros, so
//! holes cost nothing and extending a file writes no data. Shrinking deletes the chunks past the
//! new end and cuts the last kept chunk at the new end (its tail then reads as zeros).

use crate::inode::Inode;
use crate::{Fs, FsError, Ino, Tx};

/// Bytes per data chunk.
pub const CHUNK_SIZE: usize = 4096;

const CHUNK: u64 = CHUNK_SIZE as u64;
/// Keys fetched per scan when deleting chunks.
const SCAN_PAGE: usize = 64;
/// Truncations that drop at most this many chunk positions delete them by key instead of
/// scanning for the ones that exist.
const DIRECT_DELETE_MAX_CHUNKS: u64 = 64;

impl Fs<'_> {
    /// Reads from `offset` into `buf`; returns the bytes read (0 at or past the end).
    /// One state read for the inode plus one per chunk touched.
    pub fn read(&self, ino: Ino, offset: u64, buf: &mut [u8]) -> Result<usize, FsError> {
        let inode = self.load_file(ino)?;
        if offset >= inode.size {
            return Ok(0);
        }
        let n = buf
            .len()
            .min(usize::try_from(inode.size - offset).unwrap_or(usize::MAX));
        let mut pos = 0;
        while pos < n {
            let abs = offset + pos as u64;
            let within = (abs % CHUNK) as usize;
            let take = (CHUNK_SIZE - within).min(n - pos);
            let dst = &mut buf[pos..pos + take];
            let chunk = self.state.get(&self.chunk_key(ino, abs / CHUNK))?;
            let stored = chunk.as_deref().unwrap_or_default();
            let avail = stored.len().saturating_sub(within).min(take);
            if avail > 0 {
                dst[..avail].copy_from_slice(&stored[within..within + avail]);
            }
            dst[avail..].fill(0);
            pos += take;
        }
        Ok(n)
    }

    /// Writes `data` at `offset`, extending the file if needed (a gap reads as zeros). All or
    /// nothing: `EFBIG` past the file size limit, `EDQUOT` past the byte quota. A zero-length write
    /// changes nothing.
    pub fn write(&mut self, ino: Ino, offset: u64, data: &[u8]) -> Result<usize, FsError> {
        let mut inode = self.load_file(ino)?;
        if data.is_empty() {
            return Ok(0);
        }
        let end = offset
            .checked_add(data.len() as u64)
            .ok_or(FsError::FileTooBig)?;
        if end > self.quota.max_file_size {
            return Err(FsError::FileTooBig);
        }
        let mut tx = Tx::default();
        if end > inode.size {
            let mut meta = self.load_meta()?;
            meta.resize(inode.size, end, &self.quota)?;
            tx.put(self.meta_key(), &meta);
        }
        let mut pos = 0;
        while pos < data.len() {
            let abs = offset + pos as u64;
            let index = abs / CHUNK;
            let within = (abs % CHUNK) as usize;
            let take = (CHUNK_SIZE - within).min(data.len() - pos);
            let key = self.chunk_key(ino, index);
            // Old contents matter only for a partial overwrite of a chunk that may hold data.
            let whole = within == 0 && take == CHUNK_SIZE;
            let mut chunk = if whole || index * CHUNK >= inode.size {
                Vec::new()
            } else {
                self.state.get(&key)?.unwrap_or_default()
            };
            if chunk.len() < within + take {
                chunk.resize(within + take, 0);
            }
            chunk[within..within + take].copy_from_slice(&data[pos..pos + take]);
            tx.put_raw(key, chunk);
            pos += take;
        }
        inode.size = inode.size.max(end);
        inode.touch(self.now_ns);
        tx.put(self.inode_key(ino), &inode);
        self.apply(tx);
        Ok(data.len())
    }

    /// Truncates or extends a file to `size` bytes. Extending adds a hole (zeros).
    pub fn set_size(&mut self, ino: Ino, size: u64) -> Result<(), FsError> {
        let mut inode = self.load_file(ino)?;
        if size > inode.size && size > self.quota.max_file_size {
            return Err(FsError::FileTooBig);
        }
        let mut tx = Tx::default();
        if size != inode.size {
            let mut meta = self.load_meta()?;
            meta.resize(inode.size, size, &self.quota)?;
            tx.put(self.meta_key(), &meta);
        }
        if size < inode.size {
            self.truncate_chunks(&mut tx, ino, inode.size, size)?;
        }
        inode.size = size;
        inode.touch(self.now_ns);
        tx.put(self.inode_key(ino), &inode);
        self.apply(tx);
        Ok(())
    }

    /// Queues the removal of every stored byte at or past `size` of file `ino`, whose current
    /// size is `old_size` (no chunk lies past it).
    pub(crate) fn truncate_chunks(
        &self,
        tx: &mut Tx,
        ino: Ino,
        old_size: u64,
        size: u64,
    ) -> Result<(), FsError> {
        let keep = size.div_ceil(CHUNK);
        let tail = (size % CHUNK) as usize;
        if tail != 0 {
            let key = self.chunk_key(ino, keep - 1);
            if let Some(mut chunk) = self.state.get(&key)? {
                if chunk.len() > tail {
                    chunk.truncate(tail);
                    tx.put_raw(key, chunk);
                }
            }
        }
        // Few chunks past the new end: delete their keys directly (absent ones are sparse holes,
        // and deleting an absent key changes nothing), which avoids an iterator over the store.
        let old_chunks = old_size.div_ceil(CHUNK);
        if old_chunks.saturating_sub(keep) <= DIRECT_DELETE_MAX_CHUNKS {
            for index in keep..old_chunks {
                tx.delete(self.chunk_key(ino, index));
            }
            return Ok(());
        }
        let prefix = self.chunk_prefix(ino);
        let mut after = keep.checked_sub(1).map(|last| self.chunk_key(ino, last));
        loop {
            let page = self
                .state
                .scan_prefix(&prefix, after.as_deref(), SCAN_PAGE)?;
            let more = page.len() == SCAN_PAGE;
            for (key, _) in page {
                after = Some(key.clone());
                tx.delete(key);
            }
            if !more {
                return Ok(());
            }
        }
    }

    /// The inode of `ino`, which must be an existing file.
    pub(crate) fn load_file(&self, ino: Ino) -> Result<Inode, FsError> {
        let inode = self.load_inode(ino)?;
        if inode.is_dir() {
            return Err(FsError::IsDir);
        }
        Ok(inode)
    }
}
