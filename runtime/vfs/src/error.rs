use nexus_store::StoreError;
use thiserror::Error;

/// WASI preview1 `errno` values (numbering of `wasi_snapshot_preview1.witx`) used by this crate.
pub mod errno {
    pub const BADF: u16 = 8;
    pub const DQUOT: u16 = 19;
    pub const EXIST: u16 = 20;
    pub const FBIG: u16 = 22;
    pub const INVAL: u16 = 28;
    pub const IO: u16 = 29;
    pub const ISDIR: u16 = 31;
    pub const NAMETOOLONG: u16 = 37;
    pub const NOENT: u16 = 44;
    pub const NOSPC: u16 = 51;
    pub const NOTDIR: u16 = 54;
    pub const NOTEMPTY: u16 = 55;
    pub const PERM: u16 = 63;
    pub const NOTCAPABLE: u16 = 76;
}

/// Errors of filesystem operations. A failed operation leaves the state unchanged.
#[derive(Debug, Error)]
pub enum FsError {
    #[error("no such file or directory")]
    NotFound,
    #[error("file exists")]
    Exists,
    #[error("not a directory")]
    NotDir,
    #[error("is a directory")]
    IsDir,
    #[error("directory not empty")]
    NotEmpty,
    #[error("invalid argument: {0}")]
    Invalid(&'static str),
    #[error("name or path too long")]
    NameTooLong,
    /// Absolute paths and `..` components: they could name something outside the function's root.
    #[error("path escapes the sandbox (absolute path or `..`)")]
    NotCapable,
    #[error("file would exceed the maximum file size")]
    FileTooBig,
    /// The function's byte or file-count quota would be exceeded.
    #[error("filesystem quota exceeded")]
    QuotaExceeded,
    /// The inode does not exist (never created, or removed): a stale handle.
    #[error("no such inode {0}")]
    BadInode(u64),
    #[error("filesystem state is corrupt: {0}")]
    Corrupt(String),
    #[error("state store: {0}")]
    Store(#[from] StoreError),
}

impl FsError {
    /// The WASI preview1 errno for this error.
    pub fn errno(&self) -> u16 {
        match self {
            FsError::NotFound => errno::NOENT,
            FsError::Exists => errno::EXIST,
            FsError::NotDir => errno::NOTDIR,
            FsError::IsDir => errno::ISDIR,
            FsError::NotEmpty => errno::NOTEMPTY,
            FsError::Invalid(_) => errno::INVAL,
            FsError::NameTooLong => errno::NAMETOOLONG,
            FsError::NotCapable => errno::NOTCAPABLE,
            FsError::FileTooBig => errno::FBIG,
            FsError::QuotaExceeded => errno::DQUOT,
            FsError::BadInode(_) => errno::BADF,
            FsError::Corrupt(_) | FsError::Store(_) => errno::IO,
        }
    }
}
