//! The per-invocation host state that wasmtime's `Store` carries.

use std::sync::Arc;

use nexus_store::StateView;
use nexus_vfs::{Fs, FsQuota};
use rand_chacha::ChaCha20Rng;
use wasmtime::{Memory, StoreLimits};

use crate::limits::{
    FS_MAX_FILES, FS_MAX_FILE_SIZE, FS_MAX_TOTAL_BYTES, MAX_STDERR_BYTES, STDERR_TAIL_IN_ERRORS,
};
use crate::registry::LoadedFunction;
use crate::wasi::fd_table::FdTable;
use crate::{BlockContext, Event, Runtime};

/// Everything a running invocation can touch. Owned by its wasmtime `Store`.
pub struct HostState {
    /// The layered state; `None` only while a nested call borrows it.
    pub(crate) view: Option<StateView>,
    pub(crate) runtime: Runtime,
    /// The function's record and state prefixes (shared with the runtime's record cache).
    pub(crate) function: Arc<LoadedFunction>,
    pub(crate) block: BlockContext,
    pub(crate) caller: String,
    pub(crate) stdin: Vec<u8>,
    pub(crate) stdin_pos: usize,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: TailBuffer,
    pub(crate) events: Vec<Event>,
    pub(crate) outputs: Vec<Vec<u8>>,
    pub(crate) fds: FdTable,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) memory: Option<Memory>,
    pub(crate) limits: StoreLimits,
    /// 0 for the top-level invocation.
    pub(crate) nested_depth: u32,
    /// Seed material for nested calls' PRNGs.
    pub(crate) seed: [u8; 32],
    pub(crate) nested_calls: u32,
    pub(crate) last_call_result: Vec<u8>,
}

impl HostState {
    pub(crate) fn view(&mut self) -> &mut StateView {
        self.view
            .as_mut()
            .expect("state view is only lent out during a nested call")
    }

    pub(crate) fn view_ref(&self) -> &StateView {
        self.view
            .as_ref()
            .expect("state view is only lent out during a nested call")
    }

    /// The function's filesystem, at block time.
    pub(crate) fn fs(&mut self) -> Fs<'_> {
        let now = self.block.time_unix_nanos;
        let view = self
            .view
            .as_mut()
            .expect("state view is only lent out during a nested call");
        Fs::new(view, &self.function.fs_prefix, now, fs_quota())
    }
}

/// The filesystem quota every function gets.
pub fn fs_quota() -> FsQuota {
    FsQuota {
        max_total_bytes: FS_MAX_TOTAL_BYTES,
        max_files: FS_MAX_FILES,
        max_file_size: FS_MAX_FILE_SIZE,
    }
}

/// Keeps the last [`MAX_STDERR_BYTES`] bytes written.
#[derive(Default)]
pub struct TailBuffer {
    bytes: Vec<u8>,
    dropped: u64,
}

impl TailBuffer {
    pub fn push(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
        if self.bytes.len() > MAX_STDERR_BYTES {
            let excess = self.bytes.len() - MAX_STDERR_BYTES;
            self.bytes.drain(..excess);
            self.dropped += excess as u64;
        }
    }

    /// The last [`STDERR_TAIL_IN_ERRORS`] bytes, lossily decoded, for error messages.
    pub fn tail(&self) -> String {
        let start = self.bytes.len().saturating_sub(STDERR_TAIL_IN_ERRORS);
        String::from_utf8_lossy(&self.bytes[start..]).into_owned()
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}
