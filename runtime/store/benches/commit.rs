//! Commit of 10,000 changed keys (32-byte keys, 64-byte values) on top of a store holding
//! ~100,000 keys. Goal: <= 50 ms per commit.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
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

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench_commit
}
criterion_main!(benches);
