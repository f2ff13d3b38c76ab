//! Unit tests: one per rule of the filesystem.

mod cost;
mod data;
mod errno_numbers;
mod layout;
mod model;
mod namespace;
mod paths;
mod quotas;
mod rename;
mod times;

use std::sync::Arc;

use nexus_store::{MemoryState, StateView};

use crate::*;

const PREFIX: &[u8] = b"fs/test/";
const NOW: u64 = 1_000;

fn new_view() -> StateView {
    StateView::new(Arc::new(MemoryState::new()))
}

/// Commits the view's block changes into a fresh base and returns it.
fn committed(view: &mut StateView) -> Arc<MemoryState> {
    Arc::new(MemoryState::from_entries(
        view.scan_prefix(b"", None, usize::MAX).unwrap(),
    ))
}

fn fs(view: &mut StateView) -> Fs<'_> {
    Fs::new(view, PREFIX, NOW, FsQuota::default())
}

fn snapshot(fs: &Fs<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
    fs.state.scan_prefix(b"", None, usize::MAX).unwrap()
}

fn create(fs: &mut Fs<'_>, path: &str) -> Ino {
    let opts = OpenOptions {
        create: true,
        ..Default::default()
    };
    fs.open(ROOT_INO, path, opts).unwrap()
}

fn write_file(fs: &mut Fs<'_>, path: &str, data: &[u8]) -> Ino {
    let ino = create(fs, path);
    assert_eq!(fs.write(ino, 0, data).unwrap(), data.len());
    ino
}

fn read_all(fs: &Fs<'_>, ino: Ino) -> Vec<u8> {
    let size = fs.stat(ino).unwrap().size as usize;
    let mut buf = vec![0xAA; size + 10];
    let n = fs.read(ino, 0, &mut buf).unwrap();
    assert_eq!(n, size);
    buf.truncate(n);
    buf
}

fn errno_of<T: std::fmt::Debug>(r: Result<T, FsError>) -> u16 {
    r.unwrap_err().errno()
}

fn names(fs: &Fs<'_>, dir: Ino) -> Vec<String> {
    fs.readdir(dir, None, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8(e.name).unwrap())
        .collect()
}

/// Asserts `op` fails with `errno` and leaves the state byte-for-byte unchanged.
fn assert_fails_cleanly<T: std::fmt::Debug>(
    fs: &mut Fs<'_>,
    errno: u16,
    op: impl FnOnce(&mut Fs<'_>) -> Result<T, FsError>,
) {
    let before = snapshot(fs);
    assert_eq!(errno_of(op(fs)), errno);
    assert_eq!(snapshot(fs), before, "state changed by a failed operation");
}

fn quota(max_total_bytes: u64, max_files: u64, max_file_size: u64) -> FsQuota {
    FsQuota {
        max_total_bytes,
        max_files,
        max_file_size,
    }
}
