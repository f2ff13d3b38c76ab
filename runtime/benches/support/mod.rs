//! Shared pieces of the runtime benchmarks: WAT guests, a real RocksDB store, and bare-wasmtime
//! baselines built on the same engine configuration.
//!
//! Every guest passes `nexus_wasm_prep::prepare` (exports `memory` and `_start`, imports only
//! `wasi_snapshot_preview1` / `nexus_v1`), so no guest toolchain is needed.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use nexus_runtime::{BlockContext, Engine, FunctionConfig, Invocation, Runtime};
use nexus_store::{StateView, Store};

/// `_start` does nothing.
pub const NOOP: &str = r#"(module (memory (export "memory") 1) (func (export "_start")))"#;

/// Reads an 8-byte key from stdin, `kv_get`s it, adds 1 to the first 8 bytes of the value and
/// `kv_set`s a 32-byte value back.
pub const KV: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "nexus_v1" "kv_get" (func $kv_get (param i32 i32 i32 i32) (result i64)))
  (import "nexus_v1" "kv_set" (func $kv_set (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec { buf = 64, len = 8 } at 0; nread at 16; key at 64; value at 128
  (data (i32.const 0) "\40\00\00\00\08\00\00\00")
  (func (export "_start")
    (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16))
      (then unreachable))
    (if (i32.ne (i32.load (i32.const 16)) (i32.const 8)) (then unreachable))
    (drop (call $kv_get (i32.const 64) (i32.const 8) (i32.const 128) (i32.const 32)))
    (i64.store (i32.const 128) (i64.add (i64.load (i32.const 128)) (i64.const 1)))
    (if (call $kv_set (i32.const 64) (i32.const 8) (i32.const 128) (i32.const 32))
      (then unreachable))))"#;

/// Reads a file name from stdin, creates/truncates it, writes 4 KiB to it and closes it.
pub const FILE4K: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec { buf = 64, len = 32 } at 0 (stdin); nread at 16; fd at 20; nwritten at 24;
  ;; iovec { buf = 4096, len = 4096 } at 32 (file data); name at 64; data at 4096
  (data (i32.const 0) "\40\00\00\00\20\00\00\00")
  (data (i32.const 32) "\00\10\00\00\00\10\00\00")
  (func (export "_start")
    (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 16))
      (then unreachable))
    (memory.fill (i32.const 4096) (i32.load8_u (i32.const 64)) (i32.const 4096))
    ;; oflags = CREAT | TRUNC, rights = FD_WRITE
    (if (call $path_open (i32.const 3) (i32.const 0) (i32.const 64) (i32.load (i32.const 16))
          (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 20))
      (then unreachable))
    (if (call $fd_write (i32.load (i32.const 20)) (i32.const 32) (i32.const 1) (i32.const 24))
      (then unreachable))
    (if (i32.ne (i32.load (i32.const 24)) (i32.const 4096)) (then unreachable))
    (if (call $fd_close (i32.load (i32.const 20))) (then unreachable))))"#;

/// Bytes hashed by [`HASH`] per invocation.
pub const HASH_BYTES: usize = 1 << 20;

/// Compute-heavy guest: fills 1 MiB with a pattern, then hashes it with an xxHash64-style
/// four-lane loop (load, multiply, add, rotate, multiply per lane), stores the digest at 0.
pub const HASH: &str = r#"(module
  (memory (export "memory") 17)
  (func (export "_start")
    (local $i i32) (local $a i64) (local $b i64) (local $c i64) (local $d i64) (local $x i64)
    ;; fill [65536, 65536 + 1 MiB) with a pattern
    (local.set $i (i32.const 0))
    (local.set $x (i64.const 0x243f6a8885a308d3))
    (loop $fill
      (local.set $x (i64.add (i64.mul (local.get $x) (i64.const 6364136223846793005))
                             (i64.const 1442695040888963407)))
      (i64.store offset=65536 (local.get $i) (local.get $x))
      (local.set $i (i32.add (local.get $i) (i32.const 8)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 1048576))))
    (local.set $a (i64.const 0x60ea27eeadc0b5d6))
    (local.set $b (i64.const 0xc2b2ae3d27d4eb4f))
    (local.set $c (i64.const 0))
    (local.set $d (i64.const 0x61c8864e7a143579))
    (local.set $i (i32.const 0))
    (loop $stripe
      (local.set $a (i64.mul (i64.rotl (i64.add (local.get $a)
        (i64.mul (i64.load offset=65536 (local.get $i)) (i64.const 0xc2b2ae3d27d4eb4f)))
        (i64.const 31)) (i64.const 0x9e3779b185ebca87)))
      (local.set $b (i64.mul (i64.rotl (i64.add (local.get $b)
        (i64.mul (i64.load offset=65544 (local.get $i)) (i64.const 0xc2b2ae3d27d4eb4f)))
        (i64.const 31)) (i64.const 0x9e3779b185ebca87)))
      (local.set $c (i64.mul (i64.rotl (i64.add (local.get $c)
        (i64.mul (i64.load offset=65552 (local.get $i)) (i64.const 0xc2b2ae3d27d4eb4f)))
        (i64.const 31)) (i64.const 0x9e3779b185ebca87)))
      (local.set $d (i64.mul (i64.rotl (i64.add (local.get $d)
        (i64.mul (i64.load offset=65560 (local.get $i)) (i64.const 0xc2b2ae3d27d4eb4f)))
        (i64.const 31)) (i64.const 0x9e3779b185ebca87)))
      (local.set $i (i32.add (local.get $i) (i32.const 32)))
      (br_if $stripe (i32.lt_u (local.get $i) (i32.const 1048576))))
    (i64.store (i32.const 0)
      (i64.add (i64.add (i64.rotl (local.get $a) (i64.const 1)) (i64.rotl (local.get $b) (i64.const 7)))
               (i64.add (i64.rotl (local.get $c) (i64.const 12)) (i64.rotl (local.get $d) (i64.const 18)))))))"#;

pub fn wasm(wat: &str) -> Vec<u8> {
    wat::parse_str(wat).expect("bench WAT parses")
}

/// The instrumented code the runtime actually compiles for `wat`.
pub fn prepared(wat: &str) -> Vec<u8> {
    nexus_runtime::registry::check(&wasm(wat), &config("x"))
        .expect("bench guest passes deploy checks")
        .code
}

pub fn config(name: &str) -> FunctionConfig {
    FunctionConfig {
        name: name.into(),
        version: "1".into(),
        ..FunctionConfig::default()
    }
}

pub fn block(height: u64) -> BlockContext {
    BlockContext {
        height,
        time_unix_nanos: 1_700_000_000_000_000_000 + height * 1_000_000_000,
        hash: [height as u8; 32],
    }
}

/// A runtime over a real RocksDB store in a temp dir, with functions deployed and committed.
pub struct Node {
    _dir: tempfile::TempDir,
    pub store: Arc<Store>,
    pub runtime: Runtime,
    pub view: StateView,
    pub height: u64,
}

impl Node {
    pub fn new(engine: Engine, functions: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Arc::new(Store::open(&dir.path().join("db")).expect("open store"));
        let runtime = Runtime::new(engine).expect("runtime");
        let mut view = StateView::new(store.clone());
        for (name, wat) in functions {
            runtime
                .deploy(&mut view, &wasm(wat), &config(name), "bench", 1)
                .expect("deploy");
        }
        let mut node = Self {
            _dir: dir,
            store,
            runtime,
            view,
            height: 1,
        };
        node.commit();
        node
    }

    /// Commits the pending block (the same path a node takes at the end of a block).
    pub fn commit(&mut self) {
        self.store
            .commit(self.view.take_block_changes())
            .expect("commit");
        self.height += 1;
    }

    pub fn call(function: &str, input: Vec<u8>, index: u32) -> Invocation {
        Invocation {
            function: function.into(),
            input,
            caller: "0x00000000000000000000000000000000000000aa".into(),
            fuel: None,
            tx_hash: [7; 32],
            call_index: index,
        }
    }
}

/// Times `n` runs each of `a` and `b`, one call at a time and alternating (same machine load
/// for both), and returns ((p50, p99) of `a`, (p50, p99) of `b`).
pub fn percentiles(
    n: usize,
    mut a: impl FnMut(),
    mut b: impl FnMut(),
) -> ((Duration, Duration), (Duration, Duration)) {
    let (mut sa, mut sb) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let t = Instant::now();
        a();
        sa.push(t.elapsed());
        let t = Instant::now();
        b();
        sb.push(t.elapsed());
    }
    sa.sort();
    sb.sort();
    ((sa[n / 2], sa[n * 99 / 100]), (sb[n / 2], sb[n * 99 / 100]))
}

/// Prints one figure in a greppable form (`FIGURE name: ...`), collected into BENCHMARKS.md.
pub fn report(name: &str, text: &str) {
    println!("FIGURE {name}: {text}");
}

/// Runs `rounds` alternating batches of `a` and `b` (`batch` calls each) and returns the median
/// time per call of each. Alternating keeps both measured under the same machine load.
pub fn paired<S>(
    state: &mut S,
    rounds: usize,
    batch: usize,
    mut a: impl FnMut(&mut S),
    mut b: impl FnMut(&mut S),
) -> (Duration, Duration) {
    let (mut ta, mut tb) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for _ in 0..rounds {
        let t = Instant::now();
        for _ in 0..batch {
            a(state);
        }
        ta.push(t.elapsed() / batch as u32);
        let t = Instant::now();
        for _ in 0..batch {
            b(state);
        }
        tb.push(t.elapsed() / batch as u32);
    }
    ta.sort();
    tb.sort();
    (ta[rounds / 2], tb[rounds / 2])
}

pub fn per_sec(d: Duration) -> f64 {
    1.0 / d.as_secs_f64()
}

pub fn us(d: Duration) -> String {
    format!("{:.2} µs", d.as_secs_f64() * 1e6)
}

/// A bare wasmtime `InstancePre` of `code` on `engine` (imports, if any, trap when called).
pub fn bare_pre(engine: &wasmtime::Engine, code: &[u8]) -> wasmtime::InstancePre<()> {
    let module = wasmtime::Module::new(engine, code).expect("compile");
    let mut linker = wasmtime::Linker::new(engine);
    linker
        .define_unknown_imports_as_traps(&module)
        .expect("stub imports");
    linker.instantiate_pre(&module).expect("instantiate_pre")
}

/// Bare wasmtime: a fresh store, fuel if the engine meters it, instantiate, and (if `call`) run
/// `_start`.
pub fn bare_run(
    engine: &wasmtime::Engine,
    pre: &wasmtime::InstancePre<()>,
    fuel: bool,
    call: bool,
) {
    let mut store = wasmtime::Store::new(engine, ());
    if fuel {
        store
            .set_fuel(nexus_runtime::limits::DEFAULT_FUEL)
            .expect("fuel");
    }
    let instance = pre.instantiate(&mut store).expect("instantiate");
    let memory = instance.get_memory(&mut store, "memory");
    std::hint::black_box(memory);
    if call {
        instance
            .get_typed_func::<(), ()>(&mut store, "_start")
            .expect("_start")
            .call(&mut store, ())
            .expect("_start runs");
    }
}
