//! Directory entries (`dir ino + name -> child`) and path resolution.

use borsh::{BorshDeserialize, BorshSerialize};

use crate::inode::Inode;
use crate::path::{self, Parsed};
use crate::{FileKind, Fs, FsError, Ino};

/// One entry of a directory listing. `.` and `..` are not listed (the WASI layer adds them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: Vec<u8>,
    pub ino: Ino,
    pub kind: FileKind,
}

/// The stored value of a directory entry. The kind is kept here so that path walks and listings
/// need no inode reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub(crate) struct Entry {
    pub ino: Ino,
    pub kind: FileKind,
}

/// Where the last component of a path lives.
pub(crate) struct Located<'p> {
    pub parent: Ino,
    pub parent_inode: Inode,
    pub name: &'p [u8],
    pub entry: Option<Entry>,
}

impl Fs<'_> {
    /// The inode named `name` in directory `dir` (`.` is `dir` itself).
    pub fn lookup(&self, dir: Ino, name: &[u8]) -> Result<Ino, FsError> {
        path::check_name(name)?;
        self.load_dir(dir)?;
        if name == b"." {
            return Ok(dir);
        }
        Ok(self.get_entry(dir, name)?.ok_or(FsError::NotFound)?.ino)
    }

    /// The inode named by the relative `path` from directory `dir`.
    pub fn resolve(&self, dir: Ino, path: &str) -> Result<Ino, FsError> {
        let parsed = path::parse(path)?;
        let (ino, kind) = self.walk(dir, &parsed.names)?;
        if parsed.dir_only && kind != FileKind::Dir {
            return Err(FsError::NotDir);
        }
        Ok(ino)
    }

    /// The directory holding the last component of `path`, and that component's name. The last
    /// component need not exist. `EINVAL` if the path has no last name (`.`, `a/.`).
    pub fn resolve_parent(&self, dir: Ino, path: &str) -> Result<(Ino, Vec<u8>), FsError> {
        let parsed = path::parse(path)?;
        let (init, last) = parsed
            .split_last()
            .ok_or(FsError::Invalid("path has no last component"))?;
        let (parent, kind) = self.walk(dir, init)?;
        if kind != FileKind::Dir {
            return Err(FsError::NotDir);
        }
        Ok((parent, last.to_vec()))
    }

    /// Entries of `dir` with names strictly after `after`, sorted by name bytes, at most `limit`.
    pub fn readdir(
        &self,
        dir: Ino,
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<DirEntry>, FsError> {
        self.load_dir(dir)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let prefix = self.dir_prefix(dir);
        let after_key = after.map(|a| [prefix.as_slice(), a].concat());
        self.state
            .scan_prefix(&prefix, after_key.as_deref(), limit)?
            .into_iter()
            .map(|(key, value)| {
                let entry = Entry::try_from_slice(&value)
                    .map_err(|e| FsError::Corrupt(format!("bad directory entry: {e}")))?;
                Ok(DirEntry {
                    name: key[prefix.len()..].to_vec(),
                    ino: entry.ino,
                    kind: entry.kind,
                })
            })
            .collect()
    }

    pub(crate) fn get_entry(&self, dir: Ino, name: &[u8]) -> Result<Option<Entry>, FsError> {
        self.get_record(&self.entry_key(dir, name))
    }

    pub(crate) fn dir_is_empty(&self, dir: Ino) -> Result<bool, FsError> {
        Ok(self
            .state
            .scan_prefix(&self.dir_prefix(dir), None, 1)?
            .is_empty())
    }

    /// The inode of `dir`, which must be an existing directory.
    pub(crate) fn load_dir(&self, dir: Ino) -> Result<Inode, FsError> {
        let inode = self.load_inode(dir)?;
        if !inode.is_dir() {
            return Err(FsError::NotDir);
        }
        Ok(inode)
    }

    /// Follows `names` from directory `dir`; the result may be a file or a directory.
    fn walk(&self, dir: Ino, names: &[&[u8]]) -> Result<(Ino, FileKind), FsError> {
        self.load_dir(dir)?;
        let (mut ino, mut kind) = (dir, FileKind::Dir);
        for name in names {
            if kind != FileKind::Dir {
                return Err(FsError::NotDir);
            }
            let entry = self.get_entry(ino, name)?.ok_or(FsError::NotFound)?;
            (ino, kind) = (entry.ino, entry.kind);
        }
        Ok((ino, kind))
    }

    /// Resolves all but the last component of `parsed` (which must have a last name) and looks
    /// the last one up. `EINVAL` if there is no last name.
    pub(crate) fn locate<'p>(&self, dir: Ino, parsed: &Parsed<'p>) -> Result<Located<'p>, FsError> {
        let (init, name) = parsed
            .split_last()
            .ok_or(FsError::Invalid("path has no last component"))?;
        let (parent, parent_inode) = if init.is_empty() {
            (dir, self.load_dir(dir)?)
        } else {
            let (parent, kind) = self.walk(dir, init)?;
            if kind != FileKind::Dir {
                return Err(FsError::NotDir);
            }
            (parent, self.load_inode(parent)?)
        };
        let entry = self.get_entry(parent, name)?;
        Ok(Located {
            parent,
            parent_inode,
            name,
            entry,
        })
    }
}
