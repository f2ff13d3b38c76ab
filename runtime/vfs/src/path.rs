//! Path parsing and the sandbox rules.
//!
//! Paths are relative to a directory inode. Rules (all checked before any state is read):
//! - an empty path is `ENOENT`;
//! - a path longer than [`MAX_PATH_BYTES`] is `ENAMETOOLONG`;
//! - an absolute path (leading `/`) is `ENOTCAPABLE`;
//! - any `..` component is `ENOTCAPABLE`, even one that would stay inside the root: simple and
//!   safe, the filesystem never has to reason about where `..` leads;
//! - `.` components and repeated `/` are ignored;
//! - a component containing NUL is `EINVAL`; one longer than [`MAX_NAME_BYTES`] is `ENAMETOOLONG`;
//! - more than [`MAX_PATH_DEPTH`] named components is `ENAMETOOLONG`.
//!
//! A trailing `/` or a final `.` means the path must name a directory.

use crate::FsError;

/// Longest name of one directory entry, in bytes.
pub const MAX_NAME_BYTES: usize = 255;
/// Longest path accepted by one operation, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;
/// Most named components (not counting `.`) in one path.
pub const MAX_PATH_DEPTH: usize = 64;

/// A validated relative path.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Parsed<'p> {
    /// Named components in order (`.` and empty components removed).
    pub names: Vec<&'p [u8]>,
    /// The path ends in `/` or `.`: it must name a directory.
    pub dir_only: bool,
    /// The last component is `.` (or there are no named components): the path has no last name
    /// that could be created or removed.
    pub final_dot: bool,
}

impl<'p> Parsed<'p> {
    /// Splits off the last name, for operations that create, remove or rename an entry.
    /// `None` if the path names its start directory itself (`.`, `a/.`).
    pub fn split_last(&self) -> Option<(&[&'p [u8]], &'p [u8])> {
        if self.final_dot {
            return None;
        }
        self.names.split_last().map(|(last, init)| (init, *last))
    }
}

/// Validates one directory-entry name (no `/` allowed).
pub(crate) fn check_name(name: &[u8]) -> Result<(), FsError> {
    if name.is_empty() {
        return Err(FsError::NotFound);
    }
    if name == b".." {
        return Err(FsError::NotCapable);
    }
    if name.contains(&0) {
        return Err(FsError::Invalid("name contains NUL"));
    }
    if name.contains(&b'/') {
        return Err(FsError::Invalid("name contains '/'"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(FsError::NameTooLong);
    }
    Ok(())
}

/// Parses and validates a relative path.
pub(crate) fn parse(path: &str) -> Result<Parsed<'_>, FsError> {
    let bytes = path.as_bytes();
    if bytes.is_empty() {
        return Err(FsError::NotFound);
    }
    if bytes.len() > MAX_PATH_BYTES {
        return Err(FsError::NameTooLong);
    }
    if bytes[0] == b'/' {
        return Err(FsError::NotCapable);
    }
    if bytes.split(|&b| b == b'/').any(|c| c == b"..") {
        return Err(FsError::NotCapable);
    }
    let mut names = Vec::new();
    let mut final_dot = false;
    for comp in bytes.split(|&b| b == b'/') {
        match comp {
            b"" => {}
            b"." => final_dot = true,
            _ => {
                check_name(comp)?;
                final_dot = false;
                names.push(comp);
            }
        }
    }
    if names.len() > MAX_PATH_DEPTH {
        return Err(FsError::NameTooLong);
    }
    let final_dot = final_dot || names.is_empty();
    let dir_only = final_dot || bytes.ends_with(b"/");
    Ok(Parsed {
        names,
        dir_only,
        final_dot,
    })
}
