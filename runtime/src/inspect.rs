//! Read-only views of a function's state for clients (`nexus kv get`, `nexus fs ls|cat`).

use nexus_store::StateView;
use nexus_vfs::{FileKind, Fs, ROOT_INO};

use crate::limits::{FS_MAX_FILE_SIZE, MAX_READDIR_ENTRIES};
use crate::state::fs_quota;
use crate::{keys, RuntimeError};

/// Why a read of a function's state failed.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("function `{0}` is not deployed")]
    UnknownFunction(String),
    #[error("{path}: {source}")]
    Fs {
        path: String,
        #[source]
        source: nexus_vfs::FsError,
    },
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ListEntry {
    pub name: String,
    pub is_dir: bool,
    pub size: u64,
}

fn ensure_deployed(view: &StateView, function: &str) -> Result<(), InspectError> {
    match crate::registry::lookup(view, function)? {
        Some(_) => Ok(()),
        None => Err(InspectError::UnknownFunction(function.to_string())),
    }
}

/// A KV value of `function`.
pub fn kv_get(
    view: &StateView,
    function: &str,
    key: &[u8],
) -> Result<Option<Vec<u8>>, InspectError> {
    ensure_deployed(view, function)?;
    Ok(view
        .get(&keys::kv(function, key))
        .map_err(RuntimeError::from)?)
}

fn relative(path: &str) -> &str {
    let trimmed = path.trim_start_matches('/');
    if trimmed.is_empty() {
        "."
    } else {
        trimmed
    }
}

fn fs_err(path: &str) -> impl Fn(nexus_vfs::FsError) -> InspectError + '_ {
    move |source| InspectError::Fs {
        path: path.to_string(),
        source,
    }
}

/// The function's filesystem (for reading) and the inode at `path`.
fn open_at<'v>(
    view: &'v mut StateView,
    function: &str,
    path: &str,
) -> Result<(Fs<'v>, nexus_vfs::Ino), InspectError> {
    ensure_deployed(view, function)?;
    let fs = Fs::new(view, &keys::fs_prefix(function), 0, fs_quota());
    let ino = fs.resolve(ROOT_INO, relative(path)).map_err(fs_err(path))?;
    Ok((fs, ino))
}

/// Contents of a file of `function` (`/`-rooted or relative paths).
pub fn read_file(
    view: &mut StateView,
    function: &str,
    path: &str,
) -> Result<Vec<u8>, InspectError> {
    let (fs, ino) = open_at(view, function, path)?;
    let size = fs
        .stat(ino)
        .map_err(fs_err(path))?
        .size
        .min(FS_MAX_FILE_SIZE);
    let mut buf = vec![0u8; size as usize];
    let n = fs.read(ino, 0, &mut buf).map_err(fs_err(path))?;
    buf.truncate(n);
    Ok(buf)
}

/// Entries of a directory of `function`, sorted by name bytes.
pub fn list_dir(
    view: &mut StateView,
    function: &str,
    path: &str,
) -> Result<Vec<ListEntry>, InspectError> {
    let (fs, ino) = open_at(view, function, path)?;
    let fs_err = fs_err(path);
    let entries = fs
        .readdir(ino, None, MAX_READDIR_ENTRIES)
        .map_err(&fs_err)?;
    entries
        .into_iter()
        .map(|e| {
            let size = fs.stat(e.ino).map_err(&fs_err)?.size;
            Ok(ListEntry {
                name: String::from_utf8_lossy(&e.name).into_owned(),
                is_dir: e.kind == FileKind::Dir,
                size,
            })
        })
        .collect()
}
