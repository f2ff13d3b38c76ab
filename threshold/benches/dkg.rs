//! DKG time in-process, n validators with equal stakes. `cargo bench -p nexus-threshold --bench dkg`.
//!
//! - `dkg_in_process/n`: the whole network simulated in one thread: all n validators deal,
//!   encrypt, check their shares and derive key packages, plus one copy of the replicated state
//!   machine verifying every message.
//! - `dkg_one_node/n`: what one validator's node computes: the replicated state machine over all
//!   n validators' messages (proofs of knowledge, round-2 checks, finishing) plus its own
//!   participant work (dealing, encrypting to n − 1 recipients, checking the n − 1 dealers'
//!   shares, deriving its key packages).

use std::collections::BTreeMap;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use nexus_threshold::allocation::allocate_shares;
use nexus_threshold::dkg::{DkgConfig, DkgMessage, DkgParticipant, DkgPhase, DkgState};
use nexus_threshold::encryption::EncryptionSecret;
use nexus_threshold::Address;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn full_dkg(n: usize, seed: u64) -> (DkgState, Vec<DkgParticipant>) {
    let mut rng = ChaCha20Rng::seed_from_u64(seed);
    let stakes: Vec<(Address, u64)> = (0..n)
        .map(|i| {
            let mut a = [0u8; 20];
            a[..8].copy_from_slice(&(i as u64 + 1).to_be_bytes());
            (a, 1_000)
        })
        .collect();
    let allocation = allocate_shares(&stakes).expect("allocation");
    let secrets: Vec<(Address, EncryptionSecret)> = allocation
        .holders
        .iter()
        .map(|h| (h.address, EncryptionSecret::random(&mut rng)))
        .collect();
    let keys: BTreeMap<_, _> = secrets.iter().map(|(a, s)| (*a, s.public_key())).collect();
    let config = DkgConfig::new(1, allocation, &keys).expect("config");
    let mut state = DkgState::new(config.clone());
    let mut participants = Vec::new();
    for (address, secret) in secrets {
        let (p, r1) = DkgParticipant::new(config.clone(), address, secret, &mut rng).unwrap();
        state.apply(&address, &DkgMessage::Round1(r1)).unwrap();
        participants.push(p);
    }
    state.advance();
    for p in &participants {
        let r2 = p.round2(&mut rng).unwrap();
        state.apply(p.address(), &DkgMessage::Round2(r2)).unwrap();
    }
    state.advance();
    for p in &participants {
        assert!(p.complaints(&state, &mut rng).is_empty());
    }
    assert_eq!(state.advance(), DkgPhase::Finished);
    for p in &participants {
        assert!(!p.key_packages(&state).unwrap().is_empty());
    }
    (state, participants)
}

/// Messages of a finished DKG, for replaying one node's work.
struct Fixture {
    config: DkgConfig,
    round1: Vec<(Address, DkgMessage)>,
    round2: Vec<(Address, DkgMessage)>,
    me: Vec<u8>,
}

fn fixture(n: usize) -> Fixture {
    let (state, participants) = full_dkg(n, 1000 + n as u64);
    let msgs = |m: &BTreeMap<Address, DkgMessage>| m.iter().map(|(a, m)| (*a, m.clone())).collect();
    let round1: BTreeMap<Address, DkgMessage> = state
        .round1
        .iter()
        .map(|(a, m)| (*a, DkgMessage::Round1(m.clone())))
        .collect();
    let round2: BTreeMap<Address, DkgMessage> = state
        .round2
        .iter()
        .map(|(a, m)| (*a, DkgMessage::Round2(m.clone())))
        .collect();
    Fixture {
        config: state.config.clone(),
        round1: msgs(&round1),
        round2: msgs(&round2),
        me: participants[0].to_secret_bytes(),
    }
}

fn one_node(f: &Fixture, rng: &mut ChaCha20Rng) -> usize {
    let me = DkgParticipant::from_secret_bytes(&f.me).unwrap();
    // Its own dealing and encryption (the published messages are the fixture's).
    let (dealer, _) = DkgParticipant::new(
        f.config.clone(),
        *me.address(),
        EncryptionSecret::random(rng),
        rng,
    )
    .unwrap();
    let _ = dealer.round2(rng).unwrap();
    // The replicated state machine over everyone's messages.
    let mut state = DkgState::new(f.config.clone());
    for (a, m) in &f.round1 {
        state.apply(a, m).unwrap();
    }
    state.advance();
    for (a, m) in &f.round2 {
        state.apply(a, m).unwrap();
    }
    state.advance();
    // Its own checks and keys.
    assert!(me.complaints(&state, rng).is_empty());
    assert_eq!(state.advance(), DkgPhase::Finished);
    me.key_packages(&state).unwrap().len()
}

fn bench_dkg(c: &mut Criterion) {
    let mut group = c.benchmark_group("dkg_one_node");
    group.sample_size(10);
    for n in [16usize, 64] {
        let f = fixture(n);
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
            b.iter(|| one_node(&f, &mut rng))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("dkg_in_process");
    group.sample_size(10);
    for n in [16usize, 64] {
        group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
            let mut seed = 0;
            b.iter(|| {
                seed += 1;
                full_dkg(n, seed)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_dkg);
criterion_main!(benches);
