//! Figure 5: fuel metering overhead on a compute-heavy guest (xxHash64-style hash of 1 MiB).
//!
//! Both engines use the runtime's configuration (`nexus_runtime::wasmtime_config`); the baseline
//! differs only in `consume_fuel(false)`. Same prepared module, bare instantiate + `_start`.
//! Goal: fuel costs <= 25 % more time.

mod support;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use support::*;

fn bench(c: &mut Criterion) {
    let fuel_engine = wasmtime::Engine::new(&nexus_runtime::wasmtime_config()).expect("engine");
    let mut config = nexus_runtime::wasmtime_config();
    config.consume_fuel(false);
    let free_engine = wasmtime::Engine::new(&config).expect("engine");
    let code = prepared(HASH);
    let fuel_pre = bare_pre(&fuel_engine, &code);
    let free_pre = bare_pre(&free_engine, &code);

    let mut g = c.benchmark_group("fuel");
    g.throughput(Throughput::Bytes(HASH_BYTES as u64));
    g.sample_size(30);
    g.bench_function("hash_1mib/fuel", |b| {
        b.iter(|| bare_run(&fuel_engine, &fuel_pre, true, true))
    });
    g.bench_function("hash_1mib/no_fuel", |b| {
        b.iter(|| bare_run(&free_engine, &free_pre, false, true))
    });
    g.finish();

    let (fuel, free) = paired(
        &mut (),
        41,
        10,
        |_| bare_run(&fuel_engine, &fuel_pre, true, true),
        |_| bare_run(&free_engine, &free_pre, false, true),
    );
    report(
        "fuel",
        &format!(
            "with fuel {} | without fuel {} | overhead {:+.1} %",
            us(fuel),
            us(free),
            (fuel.as_secs_f64() / free.as_secs_f64() - 1.0) * 100.0
        ),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
