//! Figures 2-4: invocations through the full runtime path (`Runtime::invoke` over a RocksDB
//! store: record lookup, our WASI context, fuel, state overlay).
//!
//! 2. No-op `_start`, commit excluded. Baseline: bare wasmtime `InstancePre` instantiate + call
//!    of the same (prepared) module on the same engine. Goals: >= 100,000/s and <= 3x baseline.
//! 3. One `kv_get` + one `kv_set` (1,000 distinct keys per block over 50,000 existing keys),
//!    block committed every 1,000 invocations, commit included. Goal: >= 20,000/s.
//! 4. Create/truncate a file, write 4 KiB, close (1,000 files rewritten per block), committed
//!    every 1,000 invocations. Goal: >= 5,000/s.
//!
//! Baseline of 3 and 4: the no-op invocation of 2, measured in the same run.

mod support;

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use nexus_runtime::{keys, Engine, Invocation};
use nexus_store::ChangeSet;
use support::*;

const BLOCK: u64 = 1_000;
const KV_KEYS: u64 = 50_000;

/// A node with every bench function deployed and 50,000 KV entries of `kv` committed.
fn node() -> Node {
    let engine = Engine::new().expect("engine");
    let node = Node::new(engine, &[("noop", NOOP), ("kv", KV), ("file", FILE4K)]);
    let mut cs = ChangeSet::new();
    for i in 0..KV_KEYS {
        cs.put(keys::kv("kv", &i.to_be_bytes()), vec![i as u8; 32]);
    }
    node.store.commit(cs).expect("prefill");
    node
}

/// Drives one kind of invocation, committing every [`BLOCK`] invocations.
struct Driver {
    call: Invocation,
    n: u64,
    input: fn(u64, &mut Vec<u8>),
    commit_time: Duration,
    commits: u64,
}

impl Driver {
    fn new(function: &str, input: fn(u64, &mut Vec<u8>)) -> Self {
        Self {
            call: Node::call(function, Vec::new(), 0),
            n: 0,
            input,
            commit_time: Duration::ZERO,
            commits: 0,
        }
    }

    fn step(&mut self, node: &mut Node, commit: bool) {
        self.call.input.clear();
        (self.input)(self.n, &mut self.call.input);
        self.call.call_index = self.n as u32;
        let block = block(node.height);
        node.runtime
            .invoke(&mut node.view, &block, &self.call)
            .expect("invocation succeeds");
        self.n += 1;
        if commit && self.n.is_multiple_of(BLOCK) {
            let t = Instant::now();
            node.commit();
            self.commit_time += t.elapsed();
            self.commits += 1;
        }
    }
}

fn kv_input(n: u64, input: &mut Vec<u8>) {
    input.extend_from_slice(&((n * 7919) % KV_KEYS).to_be_bytes());
}

fn file_input(n: u64, input: &mut Vec<u8>) {
    input.extend_from_slice(format!("f{:04}", n % BLOCK).as_bytes());
}

fn bench(c: &mut Criterion) {
    let mut node = node();
    let mut noop = Driver::new("noop", |_, _| {});
    let mut kv = Driver::new("kv", kv_input);
    let mut file = Driver::new("file", file_input);
    let engine = node.runtime.engine().wasmtime().clone();
    let pre = bare_pre(&engine, &prepared(NOOP));

    // Each figure's paired run follows its criterion run, before the next workload grows the
    // store (RocksDB memtable, compactions) under it.
    let mut g = c.benchmark_group("invoke");
    g.throughput(Throughput::Elements(1));
    g.bench_function("noop/runtime", |b| b.iter(|| noop.step(&mut node, false)));
    g.bench_function("noop/bare_wasmtime", |b| {
        b.iter(|| bare_run(&engine, &pre, true, true))
    });
    let (rt, bare) = paired(
        &mut node,
        51,
        2_000,
        |node| noop.step(node, false),
        |_| bare_run(&engine, &pre, true, true),
    );
    report(
        "noop",
        &format!(
            "runtime {} ({:.0}/s) | bare {} ({:.0}/s) | ratio {:.2}",
            us(rt),
            per_sec(rt),
            us(bare),
            per_sec(bare),
            rt.as_secs_f64() / bare.as_secs_f64()
        ),
    );

    for (name, driver) in [("kv_get_set", &mut kv), ("file_4k", &mut file)] {
        g.bench_function(format!("{name}/commit_every_1000"), |b| {
            b.iter(|| driver.step(&mut node, true))
        });
        // Align to a block boundary so every batch holds exactly one commit.
        while !driver.n.is_multiple_of(BLOCK) {
            driver.step(&mut node, true);
        }
        driver.commit_time = Duration::ZERO;
        driver.commits = 0;
        let (t, base) = paired(
            &mut node,
            15,
            BLOCK as usize,
            |node| driver.step(node, true),
            |node| noop.step(node, false),
        );
        // The no-op batches leave nothing to commit; the driver's next commit takes the block.
        let commit = driver.commit_time / driver.commits.max(1) as u32;
        report(
            name,
            &format!(
                "{} per invocation incl. amortised commit ({:.0}/s) | commit of {BLOCK} \
                 invocations {:.2} ms ({} per invocation) | no-op runtime baseline {} \
                 ({:.0}/s) | ratio {:.2}",
                us(t),
                per_sec(t),
                commit.as_secs_f64() * 1e3,
                us(commit / BLOCK as u32),
                us(base),
                per_sec(base),
                t.as_secs_f64() / base.as_secs_f64()
            ),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
