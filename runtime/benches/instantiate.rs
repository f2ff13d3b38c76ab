//! Figure 1: instantiation of a cached module (pooling allocator + `InstancePre`).
//!
//! Runtime path: `Runtime::instantiate_only` = everything `invoke` does before `_start` (record
//! lookup, host state with our WASI context, store with limiter and fuel, instantiation).
//! Baseline: bare wasmtime `Store::new` + `InstancePre::instantiate` on the same engine.
//! Goal: p50 <= 10 µs.

mod support;

use criterion::{criterion_group, criterion_main, Criterion};
use nexus_runtime::Engine;
use support::*;

fn bench(c: &mut Criterion) {
    let engine = Engine::new().expect("engine");
    let mut node = Node::new(engine.clone(), &[("kv", KV)]);
    let call = Node::call("kv", 1u64.to_le_bytes().to_vec(), 0);
    let block = block(node.height);
    let wt = engine.wasmtime().clone();
    let pre = bare_pre(&wt, &prepared(KV));

    let mut g = c.benchmark_group("instantiate");
    g.bench_function("runtime", |b| {
        b.iter(|| {
            node.runtime
                .instantiate_only(&mut node.view, &block, &call)
                .expect("instantiate")
        })
    });
    g.bench_function("bare_wasmtime", |b| {
        b.iter(|| bare_run(&wt, &pre, true, false))
    });
    g.finish();

    let ((p50, p99), (bp50, bp99)) = percentiles(
        200_000,
        || {
            node.runtime
                .instantiate_only(&mut node.view, &block, &call)
                .expect("instantiate")
        },
        || bare_run(&wt, &pre, true, false),
    );
    report(
        "instantiate",
        &format!(
            "runtime p50 {} p99 {} | bare p50 {} p99 {} | ratio p50 {:.2}",
            us(p50),
            us(p99),
            us(bp50),
            us(bp99),
            p50.as_secs_f64() / bp50.as_secs_f64()
        ),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
