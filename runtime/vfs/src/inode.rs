//! Inode records.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::{Ino, ROOT_INO};

/// Kind of an inode. There are no symlinks.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize,
)]
pub enum FileKind {
    File,
    Dir,
}

/// Attributes of an inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stat {
    pub ino: Ino,
    pub kind: FileKind,
    /// Bytes for a file; 0 for a directory.
    pub size: u64,
    /// 1 for a file; 2 plus the number of subdirectories for a directory.
    pub nlink: u64,
    pub mtime_ns: u64,
    pub ctime_ns: u64,
    pub atime_ns: u64,
}

/// The stored inode record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) struct Inode {
    pub kind: FileKind,
    pub size: u64,
    pub nlink: u64,
    /// Parent directory of a directory (the root is its own parent); 0 for a file. Used only to
    /// refuse moving a directory into its own subtree.
    pub parent: Ino,
    pub atime_ns: u64,
    pub mtime_ns: u64,
    pub ctime_ns: u64,
}

impl Inode {
    /// The implicit root directory, before it is first modified.
    pub fn root() -> Self {
        Self::dir(ROOT_INO, 0)
    }

    pub fn file(now_ns: u64) -> Self {
        Self {
            kind: FileKind::File,
            size: 0,
            nlink: 1,
            parent: 0,
            atime_ns: now_ns,
            mtime_ns: now_ns,
            ctime_ns: now_ns,
        }
    }

    pub fn dir(parent: Ino, now_ns: u64) -> Self {
        Self {
            kind: FileKind::Dir,
            nlink: 2,
            parent,
            ..Self::file(now_ns)
        }
    }

    pub fn is_dir(&self) -> bool {
        self.kind == FileKind::Dir
    }

    /// Records a modification of contents (mtime and ctime).
    pub fn touch(&mut self, now_ns: u64) {
        self.mtime_ns = now_ns;
        self.ctime_ns = now_ns;
    }

    pub fn stat(&self, ino: Ino) -> Stat {
        Stat {
            ino,
            kind: self.kind,
            size: self.size,
            nlink: self.nlink,
            mtime_ns: self.mtime_ns,
            ctime_ns: self.ctime_ns,
            atime_ns: self.atime_ns,
        }
    }
}
