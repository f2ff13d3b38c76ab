//! Shared helpers for the runtime's integration tests: a real RocksDB store in a temp dir.

#![allow(dead_code)]

use std::sync::Arc;

use nexus_runtime::{
    BlockContext, DeployError, Engine, FunctionConfig, FunctionRecord, Invocation, InvokeError,
    Receipt, Runtime,
};
use nexus_store::{StateView, Store};

pub struct Harness {
    _dir: tempfile::TempDir,
    pub store: Arc<Store>,
    pub runtime: Runtime,
    pub view: StateView,
}

pub fn block(height: u64) -> BlockContext {
    BlockContext {
        height,
        time_unix_nanos: 1_700_000_000_000_000_000 + height * 1_000_000_000,
        hash: [height as u8; 32],
    }
}

impl Harness {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(&dir.path().join("db")).unwrap());
        let runtime = Runtime::new(Engine::new().unwrap()).unwrap();
        let view = StateView::new(store.clone());
        Self {
            _dir: dir,
            store,
            runtime,
            view,
        }
    }

    pub fn deploy(&mut self, name: &str, wasm: &[u8]) -> Result<FunctionRecord, DeployError> {
        self.deploy_with(
            wasm,
            FunctionConfig {
                name: name.into(),
                version: "1".into(),
                ..FunctionConfig::default()
            },
        )
    }

    pub fn deploy_with(
        &mut self,
        wasm: &[u8],
        config: FunctionConfig,
    ) -> Result<FunctionRecord, DeployError> {
        self.runtime
            .deploy(&mut self.view, wasm, &config, "test", 1)
    }

    pub fn deploy_wat(&mut self, name: &str, wat: &str) -> Result<FunctionRecord, DeployError> {
        let wasm = wat::parse_str(wat).expect("test WAT parses");
        self.deploy(name, &wasm)
    }

    pub fn invoke(&mut self, name: &str, input: &[u8]) -> Result<Receipt, InvokeError> {
        self.invoke_with(name, input, None)
    }

    pub fn invoke_with(
        &mut self,
        name: &str,
        input: &[u8],
        fuel: Option<u64>,
    ) -> Result<Receipt, InvokeError> {
        let call = Invocation {
            function: name.into(),
            input: input.to_vec(),
            caller: "0xtest".into(),
            fuel,
            ..Invocation::default()
        };
        self.runtime.invoke(&mut self.view, &block(2), &call)
    }

    /// Commits the pending block and returns the new root.
    pub fn commit(&mut self) -> [u8; 32] {
        self.store
            .commit(self.view.take_block_changes())
            .unwrap()
            .root
    }

    /// A snapshot of everything pending plus committed, to compare before/after a failure.
    pub fn pending(&mut self) -> Vec<(Vec<u8>, Option<Vec<u8>>)> {
        let changes = self.view.take_block_changes();
        let snapshot: Vec<_> = changes
            .iter()
            .map(|(k, v)| (k.to_vec(), v.map(<[u8]>::to_vec)))
            .collect();
        let mut fresh = StateView::new(self.store.clone());
        for (k, v) in changes.iter() {
            match v {
                Some(v) => fresh.put(k.to_vec(), v.to_vec()),
                None => fresh.delete(k.to_vec()),
            }
        }
        self.view = fresh;
        snapshot
    }
}

/// WAT preamble: the WASI imports our test guests use, a memory, and helpers.
pub const WASI_IMPORTS: &str = r#"
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_create_directory" (func $mkdir (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_symlink" (func $symlink (param i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_pwrite" (func $pwrite (param i32 i32 i32 i64 i32) (result i32)))
  (memory (export "memory") 2)
"#;

/// A guest whose `_start` body is `body`, with `data` placed at offset 1024.
pub fn guest(body: &str, data: &str) -> String {
    format!(
        r#"(module {WASI_IMPORTS}
  (data (i32.const 1024) "{data}")
  (func (export "_start") {body}))"#
    )
}
