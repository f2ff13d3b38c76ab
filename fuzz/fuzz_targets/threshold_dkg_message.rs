//! `nexus_threshold::dkg::DkgMessage::decode` (a DKG transaction's payload) must never panic;
//! what it accepts re-encodes to the same bytes, and applying it to a live 4-validator DKG state
//! (round 2, with one complaint-able dealer) never panics and leaves the state unchanged when it
//! is rejected.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nexus_threshold::allocation::allocate_shares;
use nexus_threshold::dkg::{DkgConfig, DkgMessage, DkgParticipant, DkgState};
use nexus_threshold::encryption::EncryptionSecret;
use rand_chacha::rand_core::SeedableRng;

fn state() -> &'static DkgState {
    static STATE: OnceLock<DkgState> = OnceLock::new();
    STATE.get_or_init(|| {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(1);
        let stakes: Vec<([u8; 20], u64)> = (1..=4u8).map(|i| ([i; 20], 10)).collect();
        let allocation = allocate_shares(&stakes).unwrap();
        let secrets: Vec<_> = stakes
            .iter()
            .map(|(a, _)| (*a, EncryptionSecret::random(&mut rng)))
            .collect();
        let keys: BTreeMap<_, _> = secrets.iter().map(|(a, s)| (*a, s.public_key())).collect();
        let config = DkgConfig::new(1, allocation, &keys).unwrap();
        let mut state = DkgState::new(config.clone());
        let mut participants = Vec::new();
        for (a, s) in secrets {
            let (p, r1) = DkgParticipant::new(config.clone(), a, s, &mut rng).unwrap();
            state.apply(&a, &DkgMessage::Round1(r1)).unwrap();
            participants.push(p);
        }
        state.advance();
        let r2 = participants[0].round2(&mut rng).unwrap();
        state.apply(&[1; 20], &DkgMessage::Round2(r2)).unwrap();
        state
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(msg) = DkgMessage::decode(data) {
        assert_eq!(msg.encode(), data);
        let mut s = state().clone();
        if s.apply(&msg.sender(), &msg).is_err() {
            assert_eq!(&s, state());
        }
    }
});
