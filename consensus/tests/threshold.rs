//! Threshold signing driven by the app, with several validators simulated in-process: each has
//! its own RocksDB store and its own threshold secrets, all are fed identical blocks, and their
//! vote extensions travel (signed with their CometBFT keys) into the proposer's
//! `PrepareProposal` as `local_last_commit`, the way CometBFT 0.38 carries them.
//!
//! The rotation test also checks the hand-over on the real `NexusGateway` in revm (the
//! harness of `threshold/tests/common`; needs `deploy/build-contracts.sh`).

#[path = "../../threshold/tests/common/mod.rs"]
mod evm;

mod support;

use support::sim::*;

#[test]
fn dkg_completes_within_a_few_blocks_of_genesis_and_outputs_are_signed_two_blocks_later() {
    let mut net = Net::new(4, 0, params(1000));
    let at = net.until_key(12);
    assert!(at <= 8, "group key only at height {at}");
    let key = net.group_key().unwrap();
    assert_eq!(key.epoch, 0);
    assert!(key.handover.is_none());
    GroupKey::from_compressed(
        &nexus_threshold::CompressedPoint::from_slice(&key.group_key).unwrap(),
    )
    .expect("usable on Ethereum");
    // Every node has its key shares on disk, and the operators paid nothing for the DKG.
    for n in &net.nodes {
        assert!(n.dir.join("threshold/key-0.packages").exists());
        assert!(n.dir.join("threshold/encryption.key").exists());
    }

    net.deploy_counter();
    let (id, committed) = net.invoke();
    let out = net.output(&id).unwrap();
    assert_eq!(out.item.output, 1u64.to_be_bytes());
    assert_eq!(out.item.nexus_height, committed as u64);
    assert!(out.signature.is_none());
    let (item, signed_at) = net.until_signed(&id, 4);
    assert!(
        signed_at <= committed + 2,
        "committed at {committed}, signed at {signed_at}"
    );
    assert_verifies(&net, &item, &key.group_key);

    // Several outputs in a row keep being signed.
    let ids: Vec<[u8; 32]> = (0..3).map(|_| net.invoke().0).collect();
    for id in ids {
        let (item, _) = net.until_signed(&id, 8);
        assert_verifies(&net, &item, &key.group_key);
    }
}

#[test]
fn every_output_of_a_block_is_covered_by_one_batch_signature() {
    let mut net = Net::new(4, 0, params(1000));
    net.until_key(12);
    net.deploy_counter();
    let txs: Vec<_> = (0..12)
        .map(|_| {
            net.alice_tx(nexus_consensus::tx::TxKind::Invoke {
                function: "counter".into(),
                input: b"{}".to_vec(),
            })
        })
        .collect();
    let ids: Vec<[u8; 32]> = txs
        .iter()
        .map(|tx| {
            nexus_consensus::threshold::state::outbox_id(&nexus_consensus::tx::tx_hash(tx), 0)
        })
        .collect();
    let r = net.block(txs);
    assert!(r.tx_results.iter().all(|t| t.code == 0));
    let committed = net.height as u64;
    {
        // One batch of twelve leaves, one queue entry, no leaf left behind.
        let mut view = net.reference().view();
        let ts = ThresholdState::new(&mut view);
        let batch = ts.batch(committed).unwrap().expect("the block's batch");
        assert_eq!(batch.leaves.len(), 12);
        assert!(ts.queue().unwrap().len() <= 1);
        assert_eq!(ts.meta().unwrap().open_batch, None);
        let leftover = view
            .scan_prefix(nexus_consensus::threshold::state::LEAF_PREFIX, None, 10)
            .unwrap();
        assert!(leftover.is_empty(), "{leftover:?}");
    }
    let (first, _) = net.until_signed(&ids[0], 4);
    let key = net.group_key().unwrap().group_key;
    let mut proofs = std::collections::BTreeSet::new();
    for (i, id) in ids.iter().enumerate() {
        let out = net.output(id).unwrap();
        assert_eq!(out.item.batch_index, i as u32);
        assert_eq!(out.item.output, (i as u64 + 1).to_be_bytes());
        assert_eq!(out.root, first.root);
        assert_eq!(out.signature, first.signature);
        assert_verifies(&net, &out, &key);
        assert!(proofs.insert(out.proof.clone()), "proofs differ per leaf");
    }
    // Blocks without outputs seal no batch.
    net.block(vec![]);
    let mut view = net.reference().view();
    assert!(ThresholdState::new(&mut view)
        .batch(net.height as u64)
        .unwrap()
        .is_none());
}

#[test]
fn an_output_is_signed_with_one_validator_offline() {
    let mut net = Net::new(4, 0, params(1000));
    net.until_key(12);
    net.deploy_counter();
    net.nodes[2].offline = true;
    // Commitments it published before going offline may still be chosen once; the session is
    // retried without it.
    let (id, _) = net.invoke();
    let (item, _) = net.until_signed(&id, 10);
    assert_verifies(&net, &item, &net.group_key().unwrap().group_key);
    let (id, committed) = net.invoke();
    let (item, signed_at) = net.until_signed(&id, 10);
    assert!(signed_at <= committed + 2, "steady state: two blocks");
    assert_verifies(&net, &item, &net.group_key().unwrap().group_key);
}

#[test]
fn a_validator_sending_a_tampered_share_is_named_and_jailed_and_signing_completes() {
    let mut net = Net::new(4, 0, params(1000));
    net.until_key(12);
    net.deploy_counter();
    // With one share each and a threshold of 3, sessions take the three lowest operator
    // addresses among those with commitments: the lowest one cheats, so it is chosen.
    let cheater = (0..4)
        .min_by_key(|i| net.nodes[*i].operator.address())
        .unwrap();
    net.nodes[cheater].tampers = true;
    let cheater_op = net.nodes[cheater].operator.address();
    let mut signed = Vec::new();
    for _ in 0..3 {
        let (id, _) = net.invoke();
        signed.push(id);
    }
    for _ in 0..4 {
        net.block(vec![]);
    }
    assert_eq!(net.jail_logs.len(), 1, "{:?}", net.jail_logs);
    assert!(
        net.jail_logs[0].contains(&cheater_op.to_string()),
        "cheater named: {:?}",
        net.jail_logs
    );
    let v = net.validator(&cheater_op);
    assert!(v.jailed_until.is_some(), "cheater jailed");
    let key = net.group_key().unwrap();
    for id in signed {
        let (item, _) = net.until_signed(&id, 10);
        assert_verifies(&net, &item, &key.group_key);
    }
}

#[test]
fn a_restarted_node_keeps_its_nonces_and_signing_goes_on() {
    let mut net = Net::new(4, 0, params(1000));
    net.until_key(12);
    net.deploy_counter();
    let (id, _) = net.invoke();
    net.until_signed(&id, 4);
    // Node 1's published (not yet used) commitments are in the pool; after a restart it must
    // publish nothing new for those slots and sign with the same nonces.
    let meta = net.meta();
    let node = &net.nodes[1];
    let op = node.operator.address();
    let pooled_before: Vec<(u64, Vec<u8>)> = {
        let mut view = node.view();
        let ts = ThresholdState::new(&mut view);
        (meta.next_slot..meta.next_slot + 4)
            .filter_map(|s| {
                ts.pool(s)
                    .unwrap()
                    .into_iter()
                    .find(|(a, _)| a == &op.0)
                    .map(|(_, e)| (s, borsh::to_vec(&e).unwrap()))
            })
            .collect()
    };
    assert!(!pooled_before.is_empty(), "node 1 has pooled commitments");
    let nonce_dir = node.dir.join("threshold/nonces");
    let files_before: BTreeSet<String> = std::fs::read_dir(&nonce_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    // Restart: drop the app (store, nonce store) and reopen from the same directories.
    let dir = net.nodes[1].dir.clone();
    let operator = net.nodes[1].operator.clone();
    net.nodes[1].app = None;
    let eth = net.nodes[1].eth.clone();
    net.nodes[1].app = Some(Node::open(&dir, &operator, &eth));
    let info = net.nodes[1].app().info(RequestInfo::default());
    assert_eq!(info.last_block_height, net.height);
    let files_after: BTreeSet<String> = std::fs::read_dir(&nonce_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files_before, files_after, "unused nonces survive a restart");
    // Its next extension re-uses nothing and publishes no second commitment for pooled slots.
    let ext = net.nodes[1]
        .app()
        .extend_vote(RequestExtendVote {
            height: net.height + 1,
            ..Default::default()
        })
        .vote_extension;
    if !ext.is_empty() {
        let ext = VoteExtension::decode(&AppExtension::decode(&ext).unwrap().threshold).unwrap();
        for c in &ext.commitments {
            assert!(
                !pooled_before.iter().any(|(s, _)| *s == c.slot),
                "slot {} was already published",
                c.slot
            );
        }
    }
    // Signing carries on, with node 1's pooled commitments (its nonces are still there).
    for _ in 0..3 {
        let (id, _) = net.invoke();
        let (item, _) = net.until_signed(&id, 6);
        assert_verifies(&net, &item, &net.group_key().unwrap().group_key);
    }
    for n in &net.nodes {
        let v = net.validator(&n.operator.address());
        assert!(v.jailed_until.is_none(), "nobody is jailed");
    }
}

#[test]
fn an_epoch_change_with_a_new_validator_rotates_the_key_and_the_handover_verifies() {
    // Node 4 follows the chain from genesis and becomes a validator by transaction.
    let mut net = Net::new(4, 1, params(20));
    net.until_key(12);
    let old = net.group_key().unwrap();
    net.deploy_counter();
    let operator = net.nodes[4].operator.clone();
    let consensus = net.nodes[4].consensus.clone();
    let fund = net.alice_tx(TxKind::Transfer {
        to: operator.address(),
        amount: 100 * STAKE,
    });
    net.block(vec![fund]);
    let create = TxBody {
        chain_id: CHAIN.into(),
        nonce: 0,
        fuel_limit: 1_000_000,
        fuel_price: 1,
        kind: TxKind::CreateValidator {
            consensus_key: consensus.verifying_key().to_bytes(),
            amount: 2 * STAKE,
        },
    }
    .sign(&operator)
    .encode();
    let r = net.block(vec![create.into()]);
    assert_eq!(r.tx_results.last().unwrap().code, 0, "{:?}", r.tx_results);
    // Run through the epoch end (height 20), the DKG and the hand-over.
    let mut rotated = None;
    while net.height < 45 {
        net.block(vec![]);
        let key = net.group_key().unwrap();
        if key.epoch != old.epoch {
            rotated = Some(key);
            break;
        }
    }
    let new = rotated.expect("key rotated by height 45");
    assert!(new.epoch > old.epoch);
    assert_ne!(new.group_key, old.group_key);
    let handover = new.handover.clone().expect("hand-over recorded");
    assert_eq!(handover.old_epoch, old.epoch);
    assert_eq!(handover.new_epoch, new.epoch);
    let new_key = GroupKey::from_compressed(
        &nexus_threshold::CompressedPoint::from_slice(&new.group_key).unwrap(),
    )
    .unwrap();
    let digest = rotation_digest(
        net.params.eth_chain_id,
        net.params.eth_gateway.0,
        new.epoch,
        &new_key,
    );
    assert_eq!(digest, handover.digest);
    let old_key = nexus_threshold::CompressedPoint::from_slice(&old.group_key).unwrap();
    verify_signature(&old_key, &digest, &handover.signature).expect("old key signed the hand-over");
    // The gateway, deployed with the old key, accepts the hand-over and then the new key.
    let mut chain = evm::Chain::new();
    assert_eq!(chain.chain_id(), net.params.eth_chain_id);
    let old_x = GroupKey::from_compressed(&old_key).unwrap().x;
    let deployed = evm::deploy_gateway(&mut chain, old_x, old.epoch);
    assert!(deployed.success, "gateway deploys");
    let gateway = deployed.created.unwrap();
    assert_eq!(gateway.into_array(), net.params.eth_gateway.0);
    let gw_sig =
        |sig: &[u8]| -> GatewaySignature { EthSignature::from_frost_bytes(sig).unwrap().into() };
    let rotate = chain.call(
        gateway,
        &NexusGateway::rotateKeyCall {
            newEpoch: new.epoch,
            newKeyX: new_key.x_u256(),
            sig: gw_sig(&handover.signature),
        },
    );
    assert!(rotate.success, "rotateKey: {:?}", rotate.output);
    assert_eq!(chain.read(gateway, &NexusGateway::epochCall {}), new.epoch);
    // The new validator holds shares of the new key and signs with it.
    assert!(net.nodes[4]
        .dir
        .join(format!("threshold/key-{}.packages", new.epoch))
        .exists());
    let (id, _) = net.invoke();
    let (out, _) = net.until_signed(&id, 8);
    assert_eq!(out.signature.as_ref().unwrap().epoch, new.epoch);
    assert_verifies(&net, &out, &new.group_key);
    let sig = out.signature.unwrap();
    let on_chain: bool = chain.read(
        gateway,
        &NexusGateway::verifyCall {
            digest: alloy_primitives::FixedBytes(sig.digest),
            sig: gw_sig(&sig.signature),
        },
    );
    assert!(
        on_chain,
        "the gateway verifies an output signed by the new key"
    );
}

#[test]
fn a_proposer_can_neither_forge_a_share_nor_slip_in_a_bad_signature() {
    let mut net = Net::new(4, 0, params(1000));
    net.until_key(12);
    net.deploy_counter();
    let (id, _) = net.invoke();
    // The session opened with the invocation; its shares are in this height's extensions.
    net.block(vec![]);
    let (h, txs) = net.propose_next();
    let record = ThresholdRecord::decode(&txs[0]).expect("the proposal starts with a record");
    assert_eq!(
        record.signatures.len(),
        1,
        "the proposer aggregated the signature"
    );
    let process = |net: &Net, record: &ThresholdRecord| -> Vec<i32> {
        net.online()
            .map(|n| {
                n.app()
                    .process_proposal(RequestProcessProposal {
                        txs: vec![record.encode().into()],
                        height: h,
                        ..Default::default()
                    })
                    .status
            })
            .collect()
    };
    assert_eq!(
        process(&net, &record),
        vec![1; 4],
        "the honest record is accepted"
    );
    // A share changed after CometBFT signed the extension (to frame its validator).
    let mut forged = record.clone();
    forged.signatures.clear();
    let s = forged
        .extensions
        .iter_mut()
        .find(|s| {
            !VoteExtension::decode(&AppExtension::decode(&s.extension).unwrap().threshold)
                .unwrap()
                .shares
                .is_empty()
        })
        .expect("an extension with shares");
    let mut app_ext = AppExtension::decode(&s.extension).unwrap();
    let mut ext = VoteExtension::decode(&app_ext.threshold).unwrap();
    ext.shares[0].entries[0].share[31] ^= 1;
    app_ext.threshold = ext.encode();
    s.extension = app_ext.encode();
    assert_eq!(
        process(&net, &forged),
        vec![2; 4],
        "a forged share is refused"
    );
    // A signature that does not verify.
    let mut bad = record.clone();
    bad.signatures[0].1[40] ^= 1;
    assert_eq!(
        process(&net, &bad),
        vec![2; 4],
        "a bad signature is refused"
    );
    // A record in second position.
    let status = net.nodes[0]
        .app()
        .process_proposal(RequestProcessProposal {
            txs: vec![Bytes::new(), record.encode().into()],
            height: h,
            ..Default::default()
        })
        .status;
    assert_eq!(status, 2);
    // The honest proposal goes through and signs the output.
    let (item, _) = net.until_signed(&id, 2);
    assert_verifies(&net, &item, &net.group_key().unwrap().group_key);
    assert!(net.jail_logs.is_empty());
}

#[test]
fn a_dealer_that_skips_round_two_is_jailed_and_the_others_still_get_a_key() {
    let mut net = Net::new(4, 0, params(1000));
    let quitter = net.nodes[3].operator.address();
    net.drop_round2_of = Some(quitter);
    net.until_key(14);
    let key = net.group_key().unwrap();
    let mut view = net.reference().view();
    let run = ThresholdState::new(&mut view).dkg().unwrap().unwrap();
    assert_eq!(
        run.state.misbehaving.get(&quitter.0),
        Some(&nexus_threshold::dkg::Misbehaviour::MissingRound2)
    );
    let dealers = run.state.output.as_ref().unwrap().qualified_dealers.clone();
    assert_eq!(dealers.len(), 3);
    assert!(!dealers.contains(&quitter.0));
    assert!(net.validator(&quitter).jailed_until.is_some(), "jailed");
    // Signing works without it (it is jailed, so never chosen).
    net.deploy_counter();
    let (id, _) = net.invoke();
    let (item, _) = net.until_signed(&id, 6);
    assert_verifies(&net, &item, &key.group_key);
}

#[test]
fn the_first_key_waits_for_every_validator_to_register_then_goes_on_without_a_silent_one() {
    // Everyone registers in the first blocks: the first key has all four holders.
    let mut net = Net::new(4, 0, params(1000));
    net.until_key(12);
    let holders = |net: &Net| {
        let mut view = net.reference().view();
        let ts = ThresholdState::new(&mut view);
        let (_, key) = ts.current_key().unwrap().unwrap();
        key.output.allocation.holders.len()
    };
    assert_eq!(holders(&net), 4);
    // One validator never speaks: the DKG waits the grace period, then runs with the other
    // three (who hold > 2/3 of the power).
    let mut net = Net::new(4, 0, params(1000));
    net.nodes[3].offline = true;
    let at = net.until_key(30);
    assert!(
        at as u64 > nexus_consensus::threshold::keygen::REGISTRATION_GRACE_BLOCKS,
        "the DKG did not wait for the fourth registration (key at height {at})"
    );
    assert_eq!(holders(&net), 3);
}
