//! `nexus-vfs`: the POSIX-like filesystem of a Nexus Function, stored in replicated state.
//!
//! Owns an inode-level filesystem over a [`StateView`]: inodes, directory entries and file data
//! chunks stored as keys under a per-function prefix, path resolution with the sandbox rules,
//! quotas with usage counters kept in state, and the mapping of its errors to WASI preview1
//! errno values ([`FsError::errno`]).
//!
//! Must not depend on wasm, WASI descriptor tables (the WASI layer keeps those and calls in here
//! with inode numbers), or RocksDB directly: it reads and writes only through [`StateView`].
//!
//! Everything is deterministic: ordered state scans only, no clocks (`now_ns`, the block time,
//! is passed in), inode numbers from a counter in state that never reuses a number.
//!
//! # State layout (all keys under the caller's `prefix`)
//! - `m` → counters ([`FsUsage`] and the next inode number), borsh;
//! - `i` ino(8, big-endian) → inode record, borsh;
//! - `d` dir-ino(8) name → child ino and kind, borsh; `readdir` is an ordered prefix scan, so
//!   entries come sorted by name bytes;
//! - `c` ino(8) index(8) → bytes of chunk `index` of the file, at most [`CHUNK_SIZE`] bytes.
//!   A chunk never stores bytes past the end of the file: missing chunks, and bytes past the
//!   stored length of a chunk, read as zeros (holes).
//!
//! # Sandbox
//! Paths are relative to a directory inode. An absolute path or any `..` component (even one
//! that would stay inside the root) is `ENOTCAPABLE`: simple and safe, nothing ever has to
//! reason about where `..` leads. `.` and repeated `/` are ignored; an empty path is `ENOENT`; a
//! name with NUL is `EINVAL`; names over [`MAX_NAME_BYTES`], paths over [`MAX_PATH_BYTES`] or
//! with more than [`MAX_PATH_DEPTH`] components are `ENAMETOOLONG`; walking through a file is
//! `ENOTDIR`.
//!
//! # Quotas
//! [`FsQuota`]: the byte and file-count limits fail with `EDQUOT` (not `ENOSPC`: the limit is
//! per function, the "disk" is not full), a file over the size limit with `EFBIG`. Writes are
//! all or nothing (no short writes at a limit).
//!
//! The root directory ([`ROOT_INO`]) exists implicitly (times 0) until first modified, and is not
//! counted in the file quota. There are no symlinks and no hard links. Removing a file removes
//! its data at once: an inode number held by a descriptor then fails with `EBADF`.
//!
//! Every operation reads everything it needs first and then applies its writes in one go, so a
//! failed operation leaves the state unchanged; an operation rewrites each record at most once.
//! Callers that must be able to undo a whole invocation use the view's layers.
//!
//! The `prefix` of one filesystem must not be a prefix of another filesystem's prefix (end it
//! with a separator the function name cannot contain, e.g. `fs/counter/`).

mod data;
mod dir;
mod error;
mod inode;
mod namespace;
mod path;
mod quota;

#[cfg(test)]
mod tests;

use borsh::{BorshDeserialize, BorshSerialize};
use nexus_store::StateView;

pub use data::CHUNK_SIZE;
pub use dir::DirEntry;
pub use error::{errno, FsError};
pub use inode::{FileKind, Stat};
pub use namespace::OpenOptions;
pub use path::{MAX_NAME_BYTES, MAX_PATH_BYTES, MAX_PATH_DEPTH};
pub use quota::{
    FsQuota, FsUsage, DEFAULT_MAX_FILES, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_TOTAL_BYTES,
};

use inode::Inode;
use quota::Meta;

/// An inode number.
pub type Ino = u64;

/// The root directory of every filesystem.
pub const ROOT_INO: Ino = 1;

const TAG_META: u8 = b'm';
const TAG_INODE: u8 = b'i';
const TAG_DIR: u8 = b'd';
const TAG_CHUNK: u8 = b'c';

/// One function's filesystem over a state view, for the duration of one operation batch
/// (typically one host call). `now_ns` is the block time stamped on every modification.
pub struct Fs<'a> {
    state: &'a mut StateView,
    prefix: Vec<u8>,
    now_ns: u64,
    quota: FsQuota,
}

impl<'a> Fs<'a> {
    /// A filesystem whose keys all live under `prefix`.
    pub fn new(state: &'a mut StateView, prefix: &[u8], now_ns: u64, quota: FsQuota) -> Self {
        Self {
            state,
            prefix: prefix.to_vec(),
            now_ns,
            quota,
        }
    }

    /// The time stamped on modifications.
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// Attributes of an inode. `EBADF` if it does not exist.
    pub fn stat(&self, ino: Ino) -> Result<Stat, FsError> {
        Ok(self.load_inode(ino)?.stat(ino))
    }

    /// Sets the access and/or modification time (`None` leaves one unchanged); the change time
    /// becomes `now_ns`. Reads never update the access time (as with `noatime`).
    pub fn set_times(
        &mut self,
        ino: Ino,
        atime_ns: Option<u64>,
        mtime_ns: Option<u64>,
    ) -> Result<(), FsError> {
        let mut inode = self.load_inode(ino)?;
        if let Some(t) = atime_ns {
            inode.atime_ns = t;
        }
        if let Some(t) = mtime_ns {
            inode.mtime_ns = t;
        }
        inode.ctime_ns = self.now_ns;
        let mut tx = Tx::default();
        tx.put(self.inode_key(ino), &inode);
        self.apply(tx);
        Ok(())
    }

    /// Current usage (sum of file sizes; files plus directories).
    pub fn usage(&self) -> Result<FsUsage, FsError> {
        let meta = self.load_meta()?;
        Ok(FsUsage {
            bytes: meta.bytes,
            files: meta.files,
        })
    }

    // ---- keys ----

    fn key(&self, tag: u8, extra: usize) -> Vec<u8> {
        let mut k = Vec::with_capacity(self.prefix.len() + 1 + extra);
        k.extend_from_slice(&self.prefix);
        k.push(tag);
        k
    }

    fn meta_key(&self) -> Vec<u8> {
        self.key(TAG_META, 0)
    }

    fn inode_key(&self, ino: Ino) -> Vec<u8> {
        let mut k = self.key(TAG_INODE, 8);
        k.extend_from_slice(&ino.to_be_bytes());
        k
    }

    fn dir_prefix(&self, dir: Ino) -> Vec<u8> {
        let mut k = self.key(TAG_DIR, 8 + MAX_NAME_BYTES);
        k.extend_from_slice(&dir.to_be_bytes());
        k
    }

    fn entry_key(&self, dir: Ino, name: &[u8]) -> Vec<u8> {
        let mut k = self.dir_prefix(dir);
        k.extend_from_slice(name);
        k
    }

    fn chunk_prefix(&self, ino: Ino) -> Vec<u8> {
        let mut k = self.key(TAG_CHUNK, 16);
        k.extend_from_slice(&ino.to_be_bytes());
        k
    }

    fn chunk_key(&self, ino: Ino, index: u64) -> Vec<u8> {
        let mut k = self.chunk_prefix(ino);
        k.extend_from_slice(&index.to_be_bytes());
        k
    }

    // ---- records ----

    fn get_record<T: BorshDeserialize>(&self, key: &[u8]) -> Result<Option<T>, FsError> {
        match self.state.get(key)? {
            None => Ok(None),
            Some(bytes) => T::try_from_slice(&bytes)
                .map(Some)
                .map_err(|e| FsError::Corrupt(format!("bad record: {e}"))),
        }
    }

    fn load_meta(&self) -> Result<Meta, FsError> {
        Ok(self.get_record(&self.meta_key())?.unwrap_or_default())
    }

    fn load_inode(&self, ino: Ino) -> Result<Inode, FsError> {
        match self.get_record(&self.inode_key(ino))? {
            Some(inode) => Ok(inode),
            None if ino == ROOT_INO => Ok(Inode::root()),
            None => Err(FsError::BadInode(ino)),
        }
    }

    fn apply(&mut self, tx: Tx) {
        for (key, value) in tx.ops {
            match value {
                Some(v) => self.state.put(key, v),
                None => self.state.delete(key),
            }
        }
    }
}

/// The writes of one operation, collected after all reads and validation and applied at once
/// (state writes cannot fail, so an operation either errs before this or fully succeeds).
#[derive(Default)]
struct Tx {
    ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Tx {
    fn put<T: BorshSerialize>(&mut self, key: Vec<u8>, record: &T) {
        let bytes = borsh::to_vec(record).expect("borsh serialization into a Vec cannot fail");
        self.ops.push((key, Some(bytes)));
    }

    fn put_raw(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((key, Some(value)));
    }

    fn delete(&mut self, key: Vec<u8>) {
        self.ops.push((key, None));
    }
}
