//! Commit of 10,000 changed keys (32-byte keys, 64-byte values) on top of a store holding
//! ~100,000 keys. Goal: <= 50 ms per commit.
//!
//! A commit returns once the height is durable (its changelog record, synced); the height's
//! tree nodes, values and flat state are written out behind it by the store's persister thread.
//! The criterion benches time commits that start with the persister idle (the setup waits for
//! it, untimed): the latency a block's commit sees. The `FIGURE` lines also report the
//! write-out time and back-to-back commits, where the persister is the bottleneck.
//!
//! Also the store's share of the runtime's KV figure: commit of 1,000 updated keys (short keys
//! with a common prefix, 32-byte values) on a store of 50,000 keys, the shape of
//! `cargo bench -p nexus-runtime --bench invoke` (`kv_get_set`).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

/// The allocator of the `nexus` binary (cli/src/main.rs), so the store allocates here as it
/// does in a node.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use nexus_store::{ChangeSet, Store};
use sha2::{Digest, Sha256};

const BASE_KEYS: u64 = 100_000;
const CHANGED_KEYS: u64 = 10_000;

fn key(i: u64) -> Vec<u8> {
    Sha256::digest(i.to_be_bytes()).to_vec()
}

fn value(i: u64, round: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(64);
    v.extend_from_slice(&Sha256::digest((i ^ round.rotate_left(32)).to_le_bytes()));
    v.extend_from_slice(&Sha256::digest(round.to_le_bytes()));
    v
}

fn bench_commit(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    for chunk in 0..BASE_KEYS / CHANGED_KEYS {
        let mut cs = ChangeSet::new();
        for i in chunk * CHANGED_KEYS..(chunk + 1) * CHANGED_KEYS {
            cs.put(key(i), value(i, 0));
        }
        store.commit(cs).expect("fill");
    }
    let mut round = 0u64;
    c.bench_function("commit 10k changed keys on 100k", |b| {
        b.iter_batched(
            || {
                // Half updates of existing keys, half new keys.
                store.flush().expect("flush");
                round += 1;
                let mut cs = ChangeSet::new();
                for j in 0..CHANGED_KEYS {
                    let i = if j % 2 == 0 {
                        (round * 7919 + j * 10) % BASE_KEYS
                    } else {
                        BASE_KEYS + round * CHANGED_KEYS + j
                    };
                    cs.put(key(i), value(i, round));
                }
                cs
            },
            |cs| store.commit(cs).expect("commit"),
            BatchSize::PerIteration,
        )
    });
}

const KV_KEYS: u64 = 50_000;
const KV_BLOCK: u64 = 1_000;

fn kv_key(i: u64) -> Vec<u8> {
    let mut k = b"kv/bench-kv/".to_vec();
    k.extend_from_slice(&i.to_le_bytes());
    k
}

fn bench_kv_block(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let mut cs = ChangeSet::new();
    for i in 0..KV_KEYS {
        cs.put(kv_key(i), vec![0; 32]);
    }
    store.commit(cs).expect("fill");
    let mut n = 0u64;
    c.bench_function("commit 1k updated keys on 50k", |b| {
        b.iter_batched(
            || {
                store.flush().expect("flush");
                let mut cs = ChangeSet::new();
                for _ in 0..KV_BLOCK {
                    n += 1;
                    let i = (n * 7919) % KV_KEYS;
                    cs.put(kv_key(i), Sha256::digest(n.to_le_bytes()).to_vec());
                }
                cs
            },
            |cs| store.commit(cs).expect("commit"),
            BatchSize::PerIteration,
        )
    });
}

/// CPU time of the calling thread so far (`/proc/thread-self/schedstat`, first field, in ns):
/// unlike wall time, barely affected by other processes competing for the two shared cores
/// (it excludes waiting for the CPU and for fsync).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// CPU time of the whole process so far, every thread (user + system, `/proc/self/stat`), in ms.
/// Includes RocksDB's background threads and the store's helper threads.
fn process_cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    // Fields after the name start at field 3 (state): utime is field 14, stime field 15.
    let field = |i: usize| -> u64 {
        rest.split_whitespace()
            .nth(i - 3)
            .and_then(|f| f.parse().ok())
            .unwrap_or(0)
    };
    let ticks = field(14) + field(15);
    ticks as f64 * 10.0 // USER_HZ = 100
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Round `round`'s changes: `changed` keys, updates of existing keys or, with `inserts`, every
/// other one a new key (the tree grows).
fn change_set(
    round: u64,
    (base, changed, inserts): (u64, u64, bool),
    key_of: fn(u64) -> Vec<u8>,
    value_len: usize,
) -> ChangeSet {
    let mut cs = ChangeSet::new();
    for j in 0..changed {
        let i = if inserts && j % 2 == 1 {
            base + round * changed + j
        } else {
            (round * 7919 + j * 10) % base
        };
        let mut v = Sha256::digest((i ^ round << 32).to_le_bytes()).to_vec();
        v.resize(value_len, round as u8);
        cs.put(key_of(i), v);
    }
    cs
}

/// After criterion: `FIGURE` lines for `ROUNDS` commits of each shape: the median commit latency
/// (wall and calling-thread CPU) with the persister idle at the start, the median write-out time
/// that follows (waited for outside the commit), the process CPU per height (all threads:
/// commit, write-out, RocksDB's own), and the mean time per height of back-to-back commits.
fn figures(_c: &mut Criterion) {
    const ROUNDS: u64 = 20;
    type Shape = (&'static str, (u64, u64, bool), fn(u64) -> Vec<u8>, usize);
    let shapes: [Shape; 3] = [
        (
            "commit_10k_on_100k",
            (BASE_KEYS, CHANGED_KEYS, false),
            key,
            64,
        ),
        (
            "commit_10k_half_new_on_100k",
            (BASE_KEYS, CHANGED_KEYS, true),
            key,
            64,
        ),
        ("commit_1k_on_50k", (KV_KEYS, KV_BLOCK, false), kv_key, 32),
    ];
    for (name, shape, key_of, value_len) in shapes {
        let (base, changed, _) = shape;
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        for chunk in 0..base / changed {
            let mut cs = ChangeSet::new();
            for i in chunk * changed..(chunk + 1) * changed {
                cs.put(key_of(i), vec![1; value_len]);
            }
            store.commit(cs).expect("fill");
        }
        store.flush().expect("flush");
        let (mut wall, mut cpu, mut write_out) = (Vec::new(), Vec::new(), Vec::new());
        let process_start = process_cpu_ms();
        for round in 1..=ROUNDS {
            let cs = change_set(round, shape, key_of, value_len);
            let (t, c) = (std::time::Instant::now(), thread_cpu_ns());
            store.commit(cs).expect("commit");
            cpu.push((thread_cpu_ns() - c) as f64 / 1e6);
            wall.push(t.elapsed().as_secs_f64() * 1e3);
            let t = std::time::Instant::now();
            store.flush().expect("flush");
            write_out.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let process = (process_cpu_ms() - process_start) / ROUNDS as f64;
        let sets: Vec<ChangeSet> = (ROUNDS + 1..=2 * ROUNDS)
            .map(|round| change_set(round, shape, key_of, value_len))
            .collect();
        let t = std::time::Instant::now();
        for cs in sets {
            store.commit(cs).expect("commit");
        }
        store.flush().expect("flush");
        let back_to_back = t.elapsed().as_secs_f64() * 1e3 / ROUNDS as f64;
        println!(
            "FIGURE {name}: commit latency wall median {:.2} ms | calling-thread CPU median \
             {:.2} ms | write-out after it median {:.2} ms | process CPU (all threads) \
             {process:.1} ms per height | back-to-back {back_to_back:.2} ms per height \
             ({ROUNDS} commits each)",
            median(wall),
            median(cpu),
            median(write_out),
        );
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_commit, bench_kv_block, figures
}
criterion_main!(benches);
