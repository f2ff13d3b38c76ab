//! Quotas and the per-filesystem counters record (usage and the inode counter).

use borsh::{BorshDeserialize, BorshSerialize};

use crate::{FsError, Ino, ROOT_INO};

/// Default quota: total bytes of file contents (sum of file sizes, holes included).
pub const DEFAULT_MAX_TOTAL_BYTES: u64 = 64 << 20;
/// Default quota: files plus directories (the root directory is not counted).
pub const DEFAULT_MAX_FILES: u64 = 10_000;
/// Default quota: size of one file.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 16 << 20;

/// Limits of one filesystem. Exceeding `max_total_bytes` or `max_files` is `EDQUOT`
/// ([`FsError::QuotaExceeded`]); a file larger than `max_file_size` is `EFBIG`
/// ([`FsError::FileTooBig`]). Reaching a limit exactly is allowed. Limits are only checked by
/// operations that grow usage, so lowering a quota never blocks deleting or shrinking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsQuota {
    pub max_total_bytes: u64,
    pub max_files: u64,
    pub max_file_size: u64,
}

impl Default for FsQuota {
    fn default() -> Self {
        Self {
            max_total_bytes: DEFAULT_MAX_TOTAL_BYTES,
            max_files: DEFAULT_MAX_FILES,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// Current usage of one filesystem.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FsUsage {
    /// Sum of the sizes of all files.
    pub bytes: u64,
    /// Files plus directories, not counting the root.
    pub files: u64,
}

/// The counters record, stored under one key and rewritten with every operation that changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) struct Meta {
    /// Next inode number to hand out; inode numbers are never reused.
    pub next_ino: Ino,
    pub bytes: u64,
    pub files: u64,
}

impl Default for Meta {
    fn default() -> Self {
        Self {
            next_ino: ROOT_INO + 1,
            bytes: 0,
            files: 0,
        }
    }
}

impl Meta {
    /// Accounts for one new file or directory and returns its inode number.
    pub fn alloc(&mut self, quota: &FsQuota) -> Result<Ino, FsError> {
        let files = self.files.checked_add(1).ok_or(FsError::QuotaExceeded)?;
        if files > quota.max_files {
            return Err(FsError::QuotaExceeded);
        }
        let ino = self.next_ino;
        self.next_ino = ino
            .checked_add(1)
            .ok_or(FsError::Corrupt("inode counter overflow".into()))?;
        self.files = files;
        Ok(ino)
    }

    /// Accounts for a file changing size from `old` to `new`.
    pub fn resize(&mut self, old: u64, new: u64, quota: &FsQuota) -> Result<(), FsError> {
        if new > old {
            let bytes = self
                .bytes
                .checked_add(new - old)
                .ok_or(FsError::QuotaExceeded)?;
            if bytes > quota.max_total_bytes {
                return Err(FsError::QuotaExceeded);
            }
            self.bytes = bytes;
        } else {
            self.bytes = self.bytes.saturating_sub(old - new);
        }
        Ok(())
    }

    /// Accounts for a removed file or directory of `size` bytes.
    pub fn release(&mut self, size: u64) {
        self.files = self.files.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(size);
    }
}
