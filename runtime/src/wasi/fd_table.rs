//! The descriptor table of one invocation: lowest free descriptor first (POSIX), bounded.

use std::collections::BTreeMap;

use std::sync::Arc;

use nexus_vfs::Ino;

use super::types::{Errno, EBADF, EMFILE};
use crate::limits::MAX_OPEN_FDS;

/// What a descriptor refers to.
#[derive(Clone, Debug)]
pub enum FdKind {
    Stdin,
    Stdout,
    Stderr,
    Dir {
        ino: Ino,
        /// Set for the preopened root (`/`).
        preopen: Option<&'static str>,
        /// The listing taken by the `fd_readdir` call with cookie 0; later cookies index into
        /// it, so a directory is read from the state once per pass, not once per call.
        listing: Option<Listing>,
    },
    File {
        ino: Ino,
        pos: u64,
        read: bool,
        write: bool,
        append: bool,
    },
}

#[derive(Debug)]
pub struct FdTable {
    fds: BTreeMap<u32, FdKind>,
}

/// A directory listing: (name, inode, WASI file type), `.` and `..` first, then by name bytes.
pub type Listing = Arc<Vec<(Vec<u8>, Ino, u8)>>;

/// The descriptor of the function's root directory.
pub const ROOT_FD: u32 = 3;

impl FdTable {
    /// stdin, stdout, stderr and the root directory preopened as `/` (descriptor 3).
    pub fn new() -> Self {
        let mut fds = BTreeMap::new();
        fds.insert(0, FdKind::Stdin);
        fds.insert(1, FdKind::Stdout);
        fds.insert(2, FdKind::Stderr);
        fds.insert(
            ROOT_FD,
            FdKind::Dir {
                ino: nexus_vfs::ROOT_INO,
                preopen: Some("/"),
                listing: None,
            },
        );
        Self { fds }
    }

    pub fn get(&self, fd: i32) -> Result<&FdKind, Errno> {
        self.fds.get(&(fd as u32)).ok_or(EBADF)
    }

    pub fn get_mut(&mut self, fd: i32) -> Result<&mut FdKind, Errno> {
        self.fds.get_mut(&(fd as u32)).ok_or(EBADF)
    }

    /// The directory inode behind `fd` (for `path_*` calls).
    pub fn dir(&self, fd: i32) -> Result<Ino, Errno> {
        match self.get(fd)? {
            FdKind::Dir { ino, .. } => Ok(*ino),
            _ => Err(super::types::ENOTDIR),
        }
    }

    /// Inserts at the lowest free descriptor.
    pub fn insert(&mut self, kind: FdKind) -> Result<u32, Errno> {
        if self.fds.len() >= MAX_OPEN_FDS {
            return Err(EMFILE);
        }
        let mut fd = 0u32;
        for &used in self.fds.keys() {
            if used != fd {
                break;
            }
            fd += 1;
        }
        self.fds.insert(fd, kind);
        Ok(fd)
    }

    pub fn len(&self) -> usize {
        self.fds.len()
    }

    pub fn remove(&mut self, fd: i32) -> Result<FdKind, Errno> {
        self.fds.remove(&(fd as u32)).ok_or(EBADF)
    }

    /// `fd_renumber`: moves `from` onto `to`, closing what `to` was.
    pub fn renumber(&mut self, from: i32, to: i32) -> Result<(), Errno> {
        if !self.fds.contains_key(&(to as u32)) {
            return Err(EBADF);
        }
        let kind = self.remove(from)?;
        self.fds.insert(to as u32, kind);
        Ok(())
    }
}

impl Default for FdTable {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowest_free_descriptor_is_reused_first() {
        let mut t = FdTable::new();
        let a = t.insert(FdKind::Stdin).unwrap();
        let b = t.insert(FdKind::Stdin).unwrap();
        assert_eq!((a, b), (4, 5));
        t.remove(4).unwrap();
        assert_eq!(t.insert(FdKind::Stdin).unwrap(), 4);
        t.remove(1).unwrap();
        assert_eq!(t.insert(FdKind::Stdin).unwrap(), 1);
    }

    #[test]
    fn table_is_bounded() {
        let mut t = FdTable::new();
        for _ in 4..MAX_OPEN_FDS {
            t.insert(FdKind::Stdin).unwrap();
        }
        assert_eq!(t.insert(FdKind::Stdin), Err(EMFILE));
    }
}
