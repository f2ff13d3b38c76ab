//! Property tests: the allocation's 1/3–2/3 guarantees (checked against every subset), and every
//! decoder of untrusted bytes (vote extensions, DKG messages) on arbitrary and mutated input.

mod common;

use std::sync::OnceLock;

use nexus_threshold::allocation::{
    allocate_shares, AllocationError, MAX_SHARES_PER_VALIDATOR, MAX_TOTAL_SHARES,
};
use nexus_threshold::dkg::{DkgMessage, DkgState, MAX_DKG_MESSAGE_BYTES};
use nexus_threshold::vote_extension::{
    CommitmentEntry, SessionShares, ShareEntry, SlotCommitments, VoteExtension, WireCommitment,
    MAX_VOTE_EXTENSION_BYTES, VOTE_EXTENSION_VERSION,
};
use nexus_threshold::Address;
use proptest::prelude::*;

fn addr(i: usize) -> Address {
    common::addr(i)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any set with < 1/3 of the stake has fewer than `threshold` shares; any set with > 2/3
    /// has at least `threshold`. Exhaustive over all subsets of up to 10 validators.
    #[test]
    fn allocation_separates_one_third_from_two_thirds(
        stakes in prop::collection::vec(
            prop_oneof![1u64..10, 1u64..1_000, 1u64..1_000_000_000_000],
            1..=10,
        )
    ) {
        let input: Vec<(Address, u64)> =
            stakes.iter().enumerate().map(|(i, s)| (addr(i), *s)).collect();
        let a = match allocate_shares(&input) {
            Ok(a) => a,
            Err(AllocationError::NoSeparatingThreshold) => return Ok(()),
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        let total: u128 = stakes.iter().map(|s| u128::from(*s)).sum();
        prop_assert!(a.total_shares <= MAX_TOTAL_SHARES);
        prop_assert!(a.threshold >= 2 && a.threshold <= a.total_shares);
        prop_assert!(a.holders.iter().all(|h| h.shares.len() <= usize::from(MAX_SHARES_PER_VALIDATOR)));
        let ids: Vec<u16> = a.all_shares().collect();
        prop_assert_eq!(ids, (1..=a.total_shares).collect::<Vec<_>>());
        let n = a.holders.len();
        for mask in 0u32..(1 << n) {
            let members = (0..n).filter(|i| mask & (1 << i) != 0);
            let (stake, shares) = members.fold((0u128, 0u32), |(st, sh), i| {
                (st + u128::from(a.holders[i].stake), sh + a.holders[i].shares.len() as u32)
            });
            if 3 * stake < total {
                prop_assert!(shares < u32::from(a.threshold), "set {mask:b}: {stake}/{total} has {shares} shares");
            }
            if 3 * stake > 2 * total {
                prop_assert!(shares >= u32::from(a.threshold), "set {mask:b}: {stake}/{total} has {shares} shares");
            }
        }
    }

    /// Equal stakes always allocate (one share each).
    #[test]
    fn equal_stakes_always_allocate(n in 1usize..=200, stake in 1u64..1_000_000) {
        let input: Vec<(Address, u64)> = (0..n).map(|i| (addr(i), stake)).collect();
        let a = allocate_shares(&input).unwrap();
        prop_assert!(a.max_shares_below_one_third < a.threshold);
    }

    #[test]
    fn vote_extension_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..1_200)) {
        if let Ok(ext) = VoteExtension::decode(&bytes) {
            prop_assert!(bytes.len() <= MAX_VOTE_EXTENSION_BYTES);
            prop_assert_eq!(ext.encode(), bytes);
        }
    }

    #[test]
    fn vote_extension_mutations(
        ext in arb_extension(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = ext.encode();
        let points_valid = ext.commitments.iter().flat_map(|c| &c.entries).all(|e| {
            nexus_threshold::encryption::decode_point(&e.commitment.hiding).is_ok()
                && nexus_threshold::encryption::decode_point(&e.commitment.binding).is_ok()
        });
        if bytes.len() <= MAX_VOTE_EXTENSION_BYTES && points_valid {
            prop_assert_eq!(VoteExtension::decode(&bytes).unwrap(), ext);
        } else {
            prop_assert!(VoteExtension::decode(&bytes).is_err());
        }
        for (i, x) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= x;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len() + 1));
        }
        if let Ok(decoded) = VoteExtension::decode(&bytes) {
            prop_assert_eq!(decoded.encode(), bytes);
        }
    }

    #[test]
    fn dkg_message_decoder_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..2_000)) {
        if let Ok(msg) = DkgMessage::decode(&bytes) {
            prop_assert!(bytes.len() <= MAX_DKG_MESSAGE_BYTES);
            prop_assert_eq!(msg.encode(), bytes);
        }
    }

    /// Mutated real DKG messages: decoding never panics, and applying whatever decodes to a
    /// live DKG state never panics (it is accepted or rejected).
    #[test]
    fn dkg_message_mutations(
        which in 0usize..3,
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
    ) {
        let (state, messages) = dkg_fixture();
        let mut bytes = messages[which].clone();
        for (i, x) in flips {
            let i = i.index(bytes.len());
            bytes[i] ^= x;
        }
        if let Ok(msg) = DkgMessage::decode(&bytes) {
            prop_assert_eq!(msg.encode(), bytes.clone());
            let mut state = state.clone();
            let before = state.clone();
            if state.apply(&msg.sender(), &msg).is_err() {
                prop_assert_eq!(state, before);
            }
        }
    }
}

/// A DKG in its complaint phase plus encoded messages of each kind.
fn dkg_fixture() -> &'static (DkgState, Vec<Vec<u8>>) {
    static FIXTURE: OnceLock<(DkgState, Vec<Vec<u8>>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut rng = common::rng(1);
        let mut dkg = common::dkg_round1(&common::equal_stakes(4), 1, &mut rng);
        let r1 = DkgMessage::Round1(dkg.state.round1.values().next().unwrap().clone()).encode();
        let mut r2s = Vec::new();
        for p in &dkg.participants[..3] {
            let r2 = p.round2(&mut rng).unwrap();
            r2s.push(DkgMessage::Round2(r2.clone()).encode());
            dkg.state
                .apply(p.address(), &DkgMessage::Round2(r2))
                .unwrap();
        }
        let late = dkg.participants[3].round2(&mut rng).unwrap();
        let dealer = *dkg.participants[0].address();
        let accuser = *dkg.participants[1].address();
        let sealed = dkg.state.round2[&dealer]
            .shares
            .iter()
            .find(|s| s.recipient == accuser)
            .unwrap()
            .clone();
        let wrong = nexus_threshold::encryption::EncryptionSecret::random(&mut rng);
        let evidence =
            nexus_threshold::encryption::prove_decryption(&wrong, &sealed.ciphertext, &mut rng)
                .unwrap();
        let complaint = DkgMessage::Complaint(nexus_threshold::dkg::Complaint {
            epoch: 1,
            accuser,
            dealer,
            evidence,
        })
        .encode();
        let _ = r1;
        (
            dkg.state,
            vec![DkgMessage::Round2(late).encode(), complaint, r2s.remove(0)],
        )
    })
}

fn arb_point() -> impl Strategy<Value = nexus_threshold::CompressedPoint> {
    // Real points (k·G) most of the time, arbitrary bytes sometimes.
    prop_oneof![
        4 => (1u64..u64::MAX).prop_map(|k| {
            nexus_threshold::encryption::encode_point(
                &(k256::ProjectivePoint::GENERATOR * k256::Scalar::from(k)),
            )
        }),
        1 => any::<[u8; 32]>().prop_map(|b| {
            let mut p = [2u8; 33];
            p[1..].copy_from_slice(&b);
            nexus_threshold::Bytes(p)
        }),
    ]
}

fn arb_extension() -> impl Strategy<Value = VoteExtension> {
    let commitment = (1u16..300, arb_point(), arb_point()).prop_map(|(id, h, b)| CommitmentEntry {
        id,
        commitment: WireCommitment {
            hiding: h,
            binding: b,
        },
    });
    let share = (1u16..300, any::<[u8; 32]>()).prop_map(|(id, mut share)| {
        share[0] &= 0x7f; // mostly canonical scalars
        ShareEntry { id, share }
    });
    let slots = prop::collection::vec(
        (any::<u64>(), prop::collection::vec(commitment, 1..4)),
        0..4,
    );
    let sessions = prop::collection::vec((any::<u64>(), prop::collection::vec(share, 1..4)), 0..4);
    (slots, sessions).prop_map(|(slots, sessions)| {
        let mut commitments: Vec<SlotCommitments> = slots
            .into_iter()
            .map(|(slot, mut entries)| {
                entries.sort_by_key(|e| e.id);
                entries.dedup_by_key(|e| e.id);
                SlotCommitments { slot, entries }
            })
            .collect();
        commitments.sort_by_key(|c| c.slot);
        commitments.dedup_by_key(|c| c.slot);
        let mut shares: Vec<SessionShares> = sessions
            .into_iter()
            .map(|(slot, mut entries)| {
                entries.sort_by_key(|e| e.id);
                entries.dedup_by_key(|e| e.id);
                SessionShares { slot, entries }
            })
            .collect();
        shares.sort_by_key(|s| s.slot);
        shares.dedup_by_key(|s| s.slot);
        VoteExtension {
            version: VOTE_EXTENSION_VERSION,
            commitments,
            shares,
        }
    })
}
