//! Simulated signers (in-process, no consensus): pipelined signing through vote extensions,
//! offline validators and invalid shares, durable single-use nonces.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::*;
use nexus_threshold::allocation::MAX_SHARES_PER_VALIDATOR;
use nexus_threshold::dkg::DkgOutput;
use nexus_threshold::nonce_store::{NonceError, NonceStore};
use nexus_threshold::signing::{
    select_signers, verify_signature, AggregateOutcome, Aggregator, Signer, SigningError,
    SigningSession,
};
use nexus_threshold::vote_extension::{VoteExtension, MAX_VOTE_EXTENSION_BYTES};
use nexus_threshold::{Address, ShareId};

/// What the network sees of one height: every online validator's extension, after a trip
/// through the canonical encoding and the `VerifyVoteExtension` checks.
fn extensions(
    signers: &[Signer],
    online: &BTreeSet<Address>,
    cheaters: &BTreeSet<Address>,
    commit_slots: &[u64],
    sessions: &[SigningSession],
    rng: &mut rand_chacha::ChaCha20Rng,
) -> BTreeMap<Address, VoteExtension> {
    let mut out = BTreeMap::new();
    for s in signers.iter().filter(|s| online.contains(s.address())) {
        let mut ext = s.extend(commit_slots, sessions, rng).extension;
        if cheaters.contains(s.address()) {
            // An invalid share: the honest one plus one (still a canonical scalar).
            for session in &mut ext.shares {
                for e in &mut session.entries {
                    let last = e.share[31];
                    e.share[31] = last.wrapping_add(1);
                    if last == 0xff {
                        e.share[30] = e.share[30].wrapping_add(1);
                    }
                }
            }
        }
        let bytes = ext.encode();
        assert!(bytes.len() <= MAX_VOTE_EXTENSION_BYTES);
        let decoded = VoteExtension::decode(&bytes).expect("extension decodes");
        decoded
            .validate_for(&s.share_ids())
            .expect("extension is valid for its validator");
        out.insert(*s.address(), decoded);
    }
    out
}

fn available_commitments(
    exts: &BTreeMap<Address, VoteExtension>,
    slot: u64,
) -> BTreeMap<Address, Vec<nexus_threshold::vote_extension::CommitmentEntry>> {
    exts.iter()
        .filter_map(|(a, e)| {
            e.commitments
                .iter()
                .find(|c| c.slot == slot)
                .map(|c| (*a, c.entries.clone()))
        })
        .collect()
}

/// Drives signing of one message until it is signed; returns (signature, cheaters named,
/// sessions used).
fn sign_until_done(
    output: &DkgOutput,
    signers: &[Signer],
    online: &BTreeSet<Address>,
    cheaters: &BTreeSet<Address>,
    message: [u8; 32],
    rng: &mut rand_chacha::ChaCha20Rng,
) -> ([u8; 65], BTreeSet<Address>, usize) {
    let aggregator = Aggregator::new(output).unwrap();
    let mut excluded = BTreeSet::new();
    let mut named = BTreeSet::new();
    // Height h: commitments for slot 1. Each later height: shares for the open session plus
    // commitments for the next slot (pipelined, one round per block).
    let mut exts = extensions(signers, online, cheaters, &[1], &[], rng);
    for slot in 1..=8u64 {
        let session = select_signers(
            &output.allocation,
            slot,
            message,
            &available_commitments(&exts, slot),
            &excluded,
        )
        .expect("enough signers");
        exts = extensions(
            signers,
            online,
            cheaters,
            &[slot + 1],
            std::slice::from_ref(&session),
            rng,
        );
        let shares = aggregator.collect_shares(slot, exts.iter());
        match aggregator.aggregate(&session, &shares).unwrap() {
            AggregateOutcome::Signed(sig) => return (sig, named, slot as usize),
            AggregateOutcome::Retry { cheaters, missing } => {
                for c in cheaters {
                    named.insert(c.address);
                    excluded.insert(c.address);
                }
                excluded.extend(missing);
            }
        }
    }
    panic!("not signed within 8 sessions");
}

fn scenario(n: usize, offline: usize, cheating: usize, seed: u64) {
    let mut rng = rng(seed);
    let dkg = honest_dkg(&equal_stakes(n), 1, &mut rng);
    let output = dkg.state.output.clone().unwrap();
    let t = usize::from(output.allocation.threshold);
    assert!(offline + cheating <= n - t, "scenario beyond n - t");
    let dir = tempfile::tempdir().unwrap();
    let signers = signers(&dkg, dir.path());
    let all: Vec<Address> = signers.iter().map(|s| *s.address()).collect();
    // Cheaters first (the selection prefers low addresses, so they are picked), offline last.
    let cheaters: BTreeSet<Address> = all[..cheating].iter().copied().collect();
    let online: BTreeSet<Address> = all[..n - offline].iter().copied().collect();
    let message = [seed as u8; 32];
    let (sig, named, sessions) =
        sign_until_done(&output, &signers, &online, &cheaters, message, &mut rng);
    verify_signature(&output.group_key, &message, &sig).expect("aggregated signature verifies");
    assert_eq!(named, cheaters, "exactly the cheaters are named");
    assert_eq!(sessions, if cheating > 0 { 2 } else { 1 });
}

#[test]
fn n4_all_honest() {
    scenario(4, 0, 0, 40);
}

#[test]
fn n4_one_offline() {
    scenario(4, 1, 0, 41);
}

#[test]
fn n4_one_cheater() {
    scenario(4, 0, 1, 42);
}

#[test]
fn n7_two_offline() {
    scenario(7, 2, 0, 70);
}

#[test]
fn n7_two_cheaters() {
    scenario(7, 0, 2, 71);
}

#[test]
fn n7_one_offline_one_cheater() {
    scenario(7, 1, 1, 72);
}

#[test]
fn n16_five_offline() {
    scenario(16, 5, 0, 160);
}

#[test]
fn n16_five_cheaters() {
    scenario(16, 0, 5, 161);
}

#[test]
fn n16_two_offline_three_cheaters() {
    scenario(16, 2, 3, 162);
}

#[test]
fn weighted_stakes_sign_with_a_third_of_stake_offline() {
    let mut rng = rng(9);
    // Unequal stakes: some validators own several shares.
    let stakes: Vec<(Address, u64)> = [40u64, 25, 10, 10, 5, 5, 3, 2]
        .iter()
        .enumerate()
        .map(|(i, s)| (addr(i), *s))
        .collect();
    let dkg = honest_dkg(&stakes, 1, &mut rng);
    let output = dkg.state.output.clone().unwrap();
    assert!(output.allocation.holders.iter().any(|h| h.shares.len() > 1));
    let dir = tempfile::tempdir().unwrap();
    let signers = signers(&dkg, dir.path());
    // Offline: 5% + 3%; cheating: the 25% validator. Together 33% < 1/3 of the stake, so the
    // honest online validators hold > 2/3.
    let offline: BTreeSet<Address> = [addr(4), addr(6)].into();
    let online: BTreeSet<Address> = signers
        .iter()
        .map(|s| *s.address())
        .filter(|a| !offline.contains(a))
        .collect();
    let cheaters: BTreeSet<Address> = [addr(1)].into();
    let (sig, named, _) = sign_until_done(&output, &signers, &online, &cheaters, [7; 32], &mut rng);
    verify_signature(&output.group_key, &[7; 32], &sig).unwrap();
    assert_eq!(named, cheaters);
}

#[test]
fn too_few_signers_is_an_error() {
    let mut rng = rng(3);
    let dkg = honest_dkg(&equal_stakes(4), 1, &mut rng);
    let output = dkg.state.output.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let signers = signers(&dkg, dir.path());
    let online: BTreeSet<Address> = signers[..2].iter().map(|s| *s.address()).collect();
    let exts = extensions(&signers, &online, &BTreeSet::new(), &[1], &[], &mut rng);
    let err = select_signers(
        &output.allocation,
        1,
        [0; 32],
        &available_commitments(&exts, 1),
        &BTreeSet::new(),
    )
    .unwrap_err();
    assert!(matches!(
        err,
        SigningError::NotEnoughSigners { have: 2, need: 3 }
    ));
}

#[test]
fn tampered_signature_is_rejected() {
    let mut rng = rng(5);
    let dkg = honest_dkg(&equal_stakes(4), 1, &mut rng);
    let output = dkg.state.output.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let signers = signers(&dkg, dir.path());
    let online = signers.iter().map(|s| *s.address()).collect();
    let (sig, _, _) = sign_until_done(
        &output,
        &signers,
        &online,
        &BTreeSet::new(),
        [1; 32],
        &mut rng,
    );
    verify_signature(&output.group_key, &[1; 32], &sig).unwrap();
    assert!(verify_signature(&output.group_key, &[2; 32], &sig).is_err());
    for byte in [0usize, 5, 33, 64] {
        let mut bad = sig;
        bad[byte] ^= 1;
        assert!(
            verify_signature(&output.group_key, &[1; 32], &bad).is_err(),
            "byte {byte}"
        );
    }
    let mut zero_z = sig;
    zero_z[33..].fill(0);
    assert!(verify_signature(&output.group_key, &[1; 32], &zero_z).is_err());
}

#[test]
fn a_signer_never_signs_twice_with_one_slot() {
    let mut rng = rng(6);
    let dkg = honest_dkg(&equal_stakes(4), 1, &mut rng);
    let output = dkg.state.output.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let signers = signers(&dkg, dir.path());
    let online: BTreeSet<Address> = signers.iter().map(|s| *s.address()).collect();
    let exts = extensions(&signers, &online, &BTreeSet::new(), &[1], &[], &mut rng);
    let avail = available_commitments(&exts, 1);
    let a = select_signers(&output.allocation, 1, [1; 32], &avail, &BTreeSet::new()).unwrap();
    // A second session on the same slot with another message (a misbehaving proposer).
    let b = SigningSession {
        message: [2; 32],
        ..a.clone()
    };
    let s = &signers[0];
    assert!(s.sign(&a).is_ok());
    let err = s.sign(&b).unwrap_err();
    assert!(
        matches!(err, SigningError::Nonce(NonceError::AlreadyUsed(1))),
        "{err}"
    );
    // ... also through the extension path.
    let out = s.extend(&[], &[b], &mut rng);
    assert!(out.extension.shares.is_empty());
    assert_eq!(out.failed_sessions.len(), 1);
}

#[test]
fn extension_fits_one_item_for_the_largest_validator_and_defers_the_rest() {
    let mut rng = rng(8);
    // One validator with 60% of the stake gets the per-validator cap.
    let mut stakes = vec![(addr(0), 600u64)];
    stakes.extend((1..11).map(|i| (addr(i), 40u64)));
    let dkg = honest_dkg(&stakes, 1, &mut rng);
    let output = dkg.state.output.clone().unwrap();
    let big = output.allocation.holder(&addr(0)).unwrap();
    assert!(big.shares.len() >= 5 && big.shares.len() <= usize::from(MAX_SHARES_PER_VALIDATOR));
    let dir = tempfile::tempdir().unwrap();
    let signers = signers(&dkg, dir.path());
    let s = signers.iter().find(|s| s.address() == &addr(0)).unwrap();
    let online: BTreeSet<Address> = signers.iter().map(|s| *s.address()).collect();
    let exts = extensions(&signers, &online, &BTreeSet::new(), &[1], &[], &mut rng);
    let session = select_signers(
        &output.allocation,
        1,
        [3; 32],
        &available_commitments(&exts, 1),
        &BTreeSet::new(),
    )
    .unwrap();
    assert!(session.commitments.contains_key(&big.shares[0]));
    let out = s.extend(&[2, 3, 4], &[session], &mut rng);
    assert_eq!(out.extension.shares.len(), 1);
    assert_eq!(out.extension.commitments.len(), 1);
    assert_eq!(out.deferred_slots, vec![3, 4]);
    let bytes = out.extension.encode();
    assert!(
        bytes.len() <= MAX_VOTE_EXTENSION_BYTES,
        "{} bytes",
        bytes.len()
    );
    println!(
        "extension of an 8-share validator (1 session + 1 slot): {} bytes",
        bytes.len()
    );
}

// ---------------------------------------------------------------- nonce store

fn one_key_package(seed: u64) -> Vec<(ShareId, nexus_threshold::frost::keys::KeyPackage)> {
    let mut rng = rng(seed);
    let dkg = honest_dkg(&equal_stakes(4), 1, &mut rng);
    let kp = dkg.participants[0].key_packages(&dkg.state).unwrap();
    vec![(1, kp[0].clone())]
}

#[test]
fn nonces_survive_restart_and_are_never_handed_out_twice() {
    let packages = one_key_package(11);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rng(12);
    let first = {
        let store = NonceStore::open(dir.path()).unwrap();
        store.commit(7, &packages, &mut rng).unwrap()
    };
    // Restart: the same commitments come back (republishing is safe), nonces were durable.
    let store = NonceStore::open(dir.path()).unwrap();
    let again = store.commit(7, &packages, &mut rng).unwrap();
    assert_eq!(first, again);
    let nonces = store.take(7).unwrap();
    assert_eq!(*nonces[0].1.commitments(), first[0].1);
    assert!(matches!(store.take(7), Err(NonceError::AlreadyUsed(7))));
    assert!(matches!(
        store.commit(7, &packages, &mut rng),
        Err(NonceError::AlreadyUsed(7))
    ));
    drop(store);
    // After another restart the slot is still refused, for taking and for committing.
    let store = NonceStore::open(dir.path()).unwrap();
    assert!(matches!(store.take(7), Err(NonceError::AlreadyUsed(7))));
    assert!(matches!(
        store.commit(7, &packages, &mut rng),
        Err(NonceError::AlreadyUsed(7))
    ));
    assert!(matches!(store.take(8), Err(NonceError::Missing(8))));
}

#[test]
fn interrupted_hand_out_is_finished_on_open() {
    let packages = one_key_package(13);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rng(14);
    let store = NonceStore::open(dir.path()).unwrap();
    store.commit(3, &packages, &mut rng).unwrap();
    drop(store);
    // Crash between writing the tombstone and deleting the nonces.
    std::fs::write(dir.path().join(format!("slot-{:016x}.used", 3)), b"").unwrap();
    assert!(dir.path().join(format!("slot-{:016x}.nonces", 3)).exists());
    let store = NonceStore::open(dir.path()).unwrap();
    assert!(!dir.path().join(format!("slot-{:016x}.nonces", 3)).exists());
    assert!(matches!(store.take(3), Err(NonceError::AlreadyUsed(3))));
}

#[test]
fn pruned_slots_stay_refused_after_restart() {
    let packages = one_key_package(15);
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rng(16);
    let mut store = NonceStore::open(dir.path()).unwrap();
    for slot in 1..=5 {
        store.commit(slot, &packages, &mut rng).unwrap();
    }
    store.take(2).unwrap();
    store.prune_below(4).unwrap();
    drop(store);
    let store = NonceStore::open(dir.path()).unwrap();
    for slot in 1..4 {
        assert!(matches!(store.take(slot), Err(NonceError::AlreadyUsed(_))));
        assert!(store.commit(slot, &packages, &mut rng).is_err());
    }
    assert!(store.take(4).is_ok());
    let files = std::fs::read_dir(dir.path()).unwrap().count();
    assert_eq!(files, 3, "floor, slot 4 tombstone, slot 5 nonces");
}

/// The `threshold_vote_extension` fuzz target's committed seeds
/// (`fuzz/seeds/threshold_vote_extension/`: real extensions with commitments only, and with
/// commitments and shares, so that the fuzzer starts past the curve-point checks) still
/// decode, re-encode to the same bytes and pass `validate_for` for their signer.
/// `NEXUS_WRITE_FUZZ_SEEDS=1` writes them afresh first, from a seeded DKG and signing round.
#[test]
fn fuzz_seeds_are_current() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds/threshold_vote_extension");
    let mut rng = rng(7);
    let dkg = honest_dkg(&equal_stakes(4), 1, &mut rng);
    let output = dkg.state.output.clone().unwrap();
    let nonces = tempfile::tempdir().unwrap();
    let signers = signers(&dkg, nonces.path());
    let online: BTreeSet<Address> = signers.iter().map(|s| *s.address()).collect();
    let first = extensions(&signers, &online, &BTreeSet::new(), &[1], &[], &mut rng);
    let session = select_signers(
        &output.allocation,
        1,
        [9; 32],
        &available_commitments(&first, 1),
        &BTreeSet::new(),
    )
    .expect("enough signers");
    let second = extensions(
        &signers,
        &online,
        &BTreeSet::new(),
        &[2],
        std::slice::from_ref(&session),
        &mut rng,
    );
    let signer = &signers[0];
    let with_shares = &second[signer.address()];
    assert!(
        !with_shares.shares.is_empty(),
        "signer 0 takes part in the session"
    );
    if std::env::var_os("NEXUS_WRITE_FUZZ_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        let commitments = &first[signer.address()];
        std::fs::write(dir.join("commitments.ext"), commitments.encode()).unwrap();
        std::fs::write(dir.join("commitments-and-shares.ext"), with_shares.encode()).unwrap();
    }
    let mut seeds = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let ext = VoteExtension::decode(&bytes).unwrap_or_else(|e| {
            panic!(
                "{}: {e}; regenerate with NEXUS_WRITE_FUZZ_SEEDS=1",
                path.display()
            )
        });
        assert_eq!(ext.encode(), bytes, "{}", path.display());
        // Share ids of a seeded DKG are deterministic: the seed's signer still owns them.
        ext.validate_for(&signer.share_ids())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        seeds += 1;
    }
    assert!(seeds >= 2, "vote-extension seeds missing");
}
