//! The DKG state machine: honest runs, cheating dealers (complaint -> exclusion), false
//! complaints, missing round-2 messages, rejected messages, determinism.

mod common;

use common::*;
use nexus_threshold::dkg::{
    share_aad, ComplaintVerdict, DkgError, DkgMessage, DkgPhase, Misbehaviour, Round2Message,
};
use nexus_threshold::encryption::{encrypt, prove_decryption, EncryptionSecret};
use nexus_threshold::signing::verify_signature;
use nexus_threshold::{frost, Address};

/// Signs `msg` with the first `threshold` shares (plain FROST, no extensions) to check keys.
fn check_keys_sign(dkg: &Dkg, msg: &[u8]) {
    let output = dkg.state.output.as_ref().unwrap();
    let mut packages = Vec::new();
    for p in &dkg.participants {
        if let Ok(kps) = p.key_packages(&dkg.state) {
            packages.extend(kps);
        }
    }
    let t = usize::from(output.allocation.threshold);
    assert!(packages.len() >= t);
    let mut rng = rng(99);
    let chosen = &packages[..t];
    let mut nonces = std::collections::BTreeMap::new();
    let mut commitments = std::collections::BTreeMap::new();
    for kp in chosen {
        let (n, c) = frost::round1::commit(kp.signing_share(), &mut rng);
        nonces.insert(*kp.identifier(), n);
        commitments.insert(*kp.identifier(), c);
    }
    let package = frost::SigningPackage::new(commitments, msg);
    let mut shares = std::collections::BTreeMap::new();
    for kp in chosen {
        shares.insert(
            *kp.identifier(),
            frost::round2::sign(&package, &nonces[kp.identifier()], kp).unwrap(),
        );
    }
    let public = output.public_key_package().unwrap();
    let sig = frost::aggregate(&package, &shares, &public).unwrap();
    let bytes = sig.serialize().unwrap();
    verify_signature(&output.group_key, msg, &bytes).unwrap();
}

#[test]
fn honest_dkg_yields_a_working_key() {
    for n in [1usize, 2, 4, 7] {
        let mut rng = rng(n as u64);
        let dkg = honest_dkg(&equal_stakes(n), 5, &mut rng);
        let output = dkg.state.output.as_ref().unwrap();
        assert_eq!(output.qualified_dealers.len(), n);
        assert!(dkg.state.misbehaving.is_empty());
        // Every participant derives key packages consistent with the public output.
        for p in &dkg.participants {
            let kps = p.key_packages(&dkg.state).unwrap();
            let holder = output.allocation.holder(p.address()).unwrap();
            assert_eq!(kps.len(), holder.shares.len());
        }
        check_keys_sign(&dkg, b"hello");
    }
}

#[test]
fn dkg_state_is_deterministic_and_round_trips_through_borsh() {
    let mut rng = rng(1);
    let dkg = honest_dkg(&equal_stakes(4), 1, &mut rng);
    let bytes = borsh::to_vec(&dkg.state).unwrap();
    let back: nexus_threshold::dkg::DkgState = borsh::from_slice(&bytes).unwrap();
    assert_eq!(back, dkg.state);
    // Replaying the same messages on a fresh state gives the same output.
    let mut replay = nexus_threshold::dkg::DkgState::new(dkg.state.config.clone());
    for (dealer, m) in &dkg.state.round1 {
        replay
            .apply(dealer, &DkgMessage::Round1(m.clone()))
            .unwrap();
    }
    replay.advance();
    for (dealer, m) in &dkg.state.round2 {
        replay
            .apply(dealer, &DkgMessage::Round2(m.clone()))
            .unwrap();
    }
    replay.advance();
    replay.advance();
    assert_eq!(replay.output, dkg.state.output);
}

/// Dealer 0 sends validator 1 wrong shares (correctly encrypted), and validator 2 an
/// undecryptable ciphertext; both complain; dealer 0 is excluded; the key still works.
#[test]
fn cheating_dealer_is_excluded_after_complaints() {
    let mut rng = rng(21);
    let mut dkg = dkg_round1(&equal_stakes(7), 2, &mut rng);
    let cheater = *dkg.participants[0].address();
    let victim_a = *dkg.participants[1].address();
    let victim_b = *dkg.participants[2].address();
    for p in &dkg.participants {
        let mut r2 = p.round2(&mut rng).unwrap();
        if p.address() == &cheater {
            for s in &mut r2.shares {
                if s.recipient == victim_a {
                    // 32 random-but-valid bytes per share: a scalar not on the polynomial.
                    let k = dkg
                        .state
                        .config
                        .allocation
                        .holder(&victim_a)
                        .unwrap()
                        .shares
                        .len();
                    let wrong = vec![0x11u8; 32 * k];
                    let key = dkg.state.config.encryption_key(&victim_a).unwrap();
                    s.ciphertext =
                        encrypt(key, &wrong, &share_aad(2, &cheater, &victim_a), &mut rng).unwrap();
                } else if s.recipient == victim_b {
                    s.ciphertext.body[0] ^= 0x80;
                }
            }
        }
        dkg.state
            .apply(p.address(), &DkgMessage::Round2(r2))
            .unwrap();
    }
    assert_eq!(dkg.state.advance(), DkgPhase::Complaints);
    let mut complaints = Vec::new();
    for p in &dkg.participants {
        complaints.extend(p.complaints(&dkg.state, &mut rng));
    }
    assert_eq!(complaints.len(), 2, "both victims complain, nobody else");
    for c in &complaints {
        assert_eq!(c.dealer, cheater);
        // Travels as a transaction: canonical bytes and back.
        let msg = DkgMessage::decode(&DkgMessage::Complaint(c.clone()).encode()).unwrap();
        let verdict = dkg.state.apply(&c.accuser, &msg).unwrap();
        assert_eq!(verdict, Some(ComplaintVerdict::DealerGuilty));
    }
    assert!(matches!(
        dkg.state.misbehaving.get(&cheater),
        Some(Misbehaviour::BadShares { .. })
    ));
    assert_eq!(dkg.state.advance(), DkgPhase::Finished);
    let output = dkg.state.output.clone().unwrap();
    assert!(!output.qualified_dealers.contains(&cheater));
    assert_eq!(output.qualified_dealers.len(), 6);
    // Victims still get working keys: the cheater's polynomial is left out.
    check_keys_sign(&dkg, b"after exclusion");
    for p in &dkg.participants {
        assert!(
            p.key_packages(&dkg.state).is_ok(),
            "{}",
            hex::encode(p.address())
        );
    }
}

#[test]
fn false_complaint_convicts_the_accuser() {
    let mut rng = rng(22);
    let mut dkg = dkg_round1(&equal_stakes(4), 3, &mut rng);
    let mut r2s = Vec::new();
    for p in &dkg.participants {
        let r2 = p.round2(&mut rng).unwrap();
        dkg.state
            .apply(p.address(), &DkgMessage::Round2(r2.clone()))
            .unwrap();
        r2s.push(r2);
    }
    dkg.state.advance();
    // Validator 1 complains about honest dealer 0 with a genuine decryption proof.
    let accuser = *dkg.participants[1].address();
    let dealer = *dkg.participants[0].address();
    let sealed = r2s[0]
        .shares
        .iter()
        .find(|s| s.recipient == accuser)
        .unwrap();
    // The accuser's secret is inside the participant; rebuild one from a fresh participant
    // is impossible, so prove with a wrong key: the proof fails -> false complaint as well.
    let wrong = EncryptionSecret::random(&mut rng);
    let evidence = prove_decryption(&wrong, &sealed.ciphertext, &mut rng).unwrap();
    let complaint = nexus_threshold::dkg::Complaint {
        epoch: 3,
        accuser,
        dealer,
        evidence,
    };
    let verdict = dkg
        .state
        .apply(&accuser, &DkgMessage::Complaint(complaint.clone()))
        .unwrap();
    assert_eq!(verdict, Some(ComplaintVerdict::AccuserGuilty));
    assert_eq!(
        dkg.state.misbehaving.get(&accuser),
        Some(&Misbehaviour::FalseComplaint { dealer })
    );
    // The same complaint again is rejected as a duplicate.
    assert!(matches!(
        dkg.state.apply(&accuser, &DkgMessage::Complaint(complaint)),
        Err(DkgError::Duplicate(_))
    ));
    assert_eq!(dkg.state.advance(), DkgPhase::Finished);
    assert!(dkg
        .state
        .output
        .as_ref()
        .unwrap()
        .qualified_dealers
        .contains(&dealer));
}

#[test]
fn honest_recipient_complaint_with_true_evidence_against_honest_dealer_fails() {
    // A recipient that reveals its real decryption of good shares convicts itself.
    let mut rng = rng(23);
    let mut dkg = dkg_round1(&equal_stakes(4), 4, &mut rng);
    for p in &dkg.participants {
        let r2 = p.round2(&mut rng).unwrap();
        dkg.state
            .apply(p.address(), &DkgMessage::Round2(r2))
            .unwrap();
    }
    dkg.state.advance();
    // Build a participant-driven complaint by corrupting the state copy the accuser sees,
    // then submit that complaint against the real state.
    let accuser_idx = 2;
    let accuser = *dkg.participants[accuser_idx].address();
    let dealer = *dkg.participants[0].address();
    let mut fake_view = dkg.state.clone();
    let r1 = fake_view.round1.get_mut(&dealer).unwrap();
    r1.commitment.swap(0, 1); // the accuser "sees" a different commitment
    let complaints = dkg.participants[accuser_idx].complaints(&fake_view, &mut rng);
    assert_eq!(complaints.len(), 1);
    let verdict = dkg
        .state
        .apply(&accuser, &DkgMessage::Complaint(complaints[0].clone()))
        .unwrap();
    assert_eq!(verdict, Some(ComplaintVerdict::AccuserGuilty));
}

#[test]
fn dealer_without_round2_is_excluded() {
    let mut rng = rng(24);
    let mut dkg = dkg_round1(&equal_stakes(4), 1, &mut rng);
    let silent = *dkg.participants[3].address();
    for p in &dkg.participants[..3] {
        let r2 = p.round2(&mut rng).unwrap();
        dkg.state
            .apply(p.address(), &DkgMessage::Round2(r2))
            .unwrap();
    }
    dkg.state.advance();
    assert_eq!(
        dkg.state.misbehaving.get(&silent),
        Some(&Misbehaviour::MissingRound2)
    );
    assert_eq!(dkg.state.advance(), DkgPhase::Finished);
    let output = dkg.state.output.as_ref().unwrap();
    assert_eq!(output.qualified_dealers.len(), 3);
    check_keys_sign(&dkg, b"three dealers");
}

#[test]
fn too_few_qualified_dealers_fail_the_dkg() {
    let mut rng = rng(25);
    let mut dkg = dkg_round1(&equal_stakes(4), 1, &mut rng);
    let p = &dkg.participants[0];
    let r2 = p.round2(&mut rng).unwrap();
    dkg.state
        .apply(p.address(), &DkgMessage::Round2(r2))
        .unwrap();
    dkg.state.advance();
    assert_eq!(dkg.state.advance(), DkgPhase::Failed);
    assert!(dkg.state.failure.is_some());
    assert!(dkg.state.output.is_none());
}

#[test]
fn bad_messages_are_rejected_without_changing_state() {
    let mut rng = rng(26);
    let mut dkg = dkg_round1(&equal_stakes(4), 9, &mut rng);
    let before = dkg.state.clone();
    let p0 = &dkg.participants[0];
    let a0 = *p0.address();
    let a1 = *dkg.participants[1].address();
    let r1 = dkg.state.round1[&a0].clone();
    // Round 1 in round 2's phase; duplicate.
    assert!(matches!(
        dkg.state.apply(&a0, &DkgMessage::Round1(r1.clone())),
        Err(DkgError::WrongPhase(DkgPhase::Round2))
    ));
    let r2 = p0.round2(&mut rng).unwrap();
    // Signed by someone else than the dealer.
    assert!(matches!(
        dkg.state.apply(&a1, &DkgMessage::Round2(r2.clone())),
        Err(DkgError::WrongSender { .. })
    ));
    // Wrong epoch.
    let mut wrong_epoch = r2.clone();
    wrong_epoch.epoch = 10;
    assert!(matches!(
        dkg.state.apply(&a0, &DkgMessage::Round2(wrong_epoch)),
        Err(DkgError::WrongEpoch { .. })
    ));
    // Missing a recipient; truncated ciphertext.
    let mut missing = r2.clone();
    missing.shares.pop();
    assert!(matches!(
        dkg.state.apply(&a0, &DkgMessage::Round2(missing)),
        Err(DkgError::InvalidRound2(_))
    ));
    let mut bad_point = r2.clone();
    bad_point.shares[0].ciphertext.ephemeral.0[0] = 7;
    assert!(matches!(
        dkg.state.apply(&a0, &DkgMessage::Round2(bad_point)),
        Err(DkgError::InvalidRound2(_))
    ));
    let mut short = r2.clone();
    short.shares[0].ciphertext.body.pop();
    assert!(matches!(
        dkg.state.apply(&a0, &DkgMessage::Round2(short)),
        Err(DkgError::InvalidRound2(_))
    ));
    // Unknown validator.
    let stranger: Address = [0xee; 20];
    let mut foreign = r2.clone();
    foreign.dealer = stranger;
    assert!(matches!(
        dkg.state.apply(&stranger, &DkgMessage::Round2(foreign)),
        Err(DkgError::UnknownValidator(_))
    ));
    assert_eq!(dkg.state, before);
    dkg.state
        .apply(&a0, &DkgMessage::Round2(r2.clone()))
        .unwrap();
    assert!(matches!(
        dkg.state.apply(&a0, &DkgMessage::Round2(r2)),
        Err(DkgError::Duplicate(_))
    ));
}

#[test]
fn invalid_round1_is_rejected() {
    let mut rng = rng(27);
    let stakes = equal_stakes(4);
    let dkg = dkg_round1(&stakes, 1, &mut rng);
    let mut fresh = nexus_threshold::dkg::DkgState::new(dkg.state.config.clone());
    let a0 = *dkg.participants[0].address();
    let good = dkg.state.round1[&a0].clone();
    // Tampered commitment: the proof of knowledge no longer matches.
    let mut bad = good.clone();
    bad.commitment[0] = dkg.state.round1[dkg.participants[1].address()].commitment[0];
    assert!(matches!(
        fresh.apply(&a0, &DkgMessage::Round1(bad)),
        Err(DkgError::InvalidRound1(_))
    ));
    // Wrong length.
    let mut short = good.clone();
    short.commitment.pop();
    assert!(matches!(
        fresh.apply(&a0, &DkgMessage::Round1(short)),
        Err(DkgError::InvalidRound1(_))
    ));
    // Replayed under another epoch's state: the proof is bound to the epoch.
    let mut other_cfg = dkg.state.config.clone();
    other_cfg.epoch = 2;
    let mut other = nexus_threshold::dkg::DkgState::new(other_cfg);
    let mut replayed = good.clone();
    replayed.epoch = 2;
    assert!(matches!(
        other.apply(&a0, &DkgMessage::Round1(replayed)),
        Err(DkgError::InvalidRound1(_))
    ));
    fresh.apply(&a0, &DkgMessage::Round1(good)).unwrap();
}

#[test]
fn participant_secrets_round_trip() {
    let mut rng = rng(28);
    let dkg = honest_dkg(&equal_stakes(4), 1, &mut rng);
    let p = &dkg.participants[2];
    let restored =
        nexus_threshold::dkg::DkgParticipant::from_secret_bytes(&p.to_secret_bytes()).unwrap();
    assert_eq!(
        restored.key_packages(&dkg.state).unwrap(),
        p.key_packages(&dkg.state).unwrap()
    );
}

#[test]
fn round2_message_sizes() {
    let mut rng = rng(29);
    let dkg = dkg_round1(&equal_stakes(16), 1, &mut rng);
    let r2: Round2Message = dkg.participants[0].round2(&mut rng).unwrap();
    let bytes = DkgMessage::Round2(r2).encode();
    assert!(bytes.len() <= nexus_threshold::dkg::MAX_DKG_MESSAGE_BYTES);
    println!("n = 16: round-2 message {} bytes", bytes.len());
}
