//! Threshold signing driven by the app, with several validators simulated in-process: each has
//! its own RocksDB store and its own threshold secrets, all are fed identical blocks, and their
//! vote extensions travel (signed with their CometBFT keys) into the proposer's
//! `PrepareProposal` as `local_last_commit`, the way CometBFT 0.38 carries them.
//!
//! The rotation test also checks the hand-over on the real `NexusGateway` in revm (the
//! harness of `threshold/tests/common`; needs `deploy/build-contracts.sh`).

#[path = "../../threshold/tests/common/mod.rs"]
mod evm;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use ed25519_dalek::Signer as _;
use nexus_consensus::address::AccountKey;
use nexus_consensus::genesis::{AppGenesis, GenesisAccount, GenesisValidator};
use nexus_consensus::ledger::{self, Validator};
use nexus_consensus::params::ChainParams;
use nexus_consensus::query::GroupKeyInfo;
use nexus_consensus::threshold::sessions::{vote_extension_sign_bytes, ThresholdRecord};
use nexus_consensus::threshold::state::{Meta, OutboxItem, ThresholdState};
use nexus_consensus::threshold::ValidatorDuty;
use nexus_consensus::tx::{FunctionSpec, TxBody, TxKind};
use nexus_consensus::{Address, NexusApp};
use nexus_runtime::{Engine, Runtime};
use nexus_store::{StateView, Store};
use nexus_threshold::contracts::{GatewaySignature, NexusGateway};
use nexus_threshold::eth::{rotation_digest, EthSignature, GroupKey, OutputMessage};
use nexus_threshold::signing::verify_signature;
use nexus_threshold::vote_extension::VoteExtension;
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci::*;
use tendermint_proto::v0_38::types::BlockIdFlag;

const CHAIN: &str = "nexus-threshold-test";
const STAKE: u128 = 10_000_000;

fn counter_wasm() -> Vec<u8> {
    let dir = std::env::var("NEXUS_GUESTS_DIR").expect(
        "NEXUS_GUESTS_DIR must point at built guests (deploy/build-examples.sh; . deploy/env.sh)",
    );
    std::fs::read(PathBuf::from(dir).join("counter.wasm")).expect("counter.wasm (build-examples)")
}

fn runtime() -> Runtime {
    Runtime::new(Engine::new().unwrap()).unwrap()
}

/// One simulated validator.
struct Node {
    consensus: ed25519_dalek::SigningKey,
    operator: AccountKey,
    dir: PathBuf,
    app: Option<NexusApp>,
    /// Produces no vote extension and processes nothing (crashed or cut off).
    offline: bool,
    /// Adds one to every signature share it sends (after signing it honestly).
    tampers: bool,
    /// Its vote extension of the last height.
    last_ext: Option<Vec<u8>>,
}

impl Node {
    fn cons_addr(&self) -> [u8; 20] {
        ledger::consensus_address(&self.consensus.verifying_key().to_bytes())
    }

    fn app(&self) -> &NexusApp {
        self.app.as_ref().expect("node is running")
    }

    fn open(dir: &Path, operator: &AccountKey) -> NexusApp {
        let store = Arc::new(Store::open(&dir.join("state")).unwrap());
        let duty = ValidatorDuty::open(dir.join("threshold"), operator.clone()).unwrap();
        NexusApp::with_duty(store, runtime(), duty)
    }

    fn view(&self) -> StateView {
        StateView::new(self.app().store().clone())
    }
}

struct Net {
    _tmp: tempfile::TempDir,
    nodes: Vec<Node>,
    alice: AccountKey,
    alice_nonce: u64,
    height: i64,
    params: ChainParams,
    /// CometBFT's validator set (consensus address → power), with updates applied at H+2.
    active: BTreeMap<[u8; 20], i64>,
    scheduled: BTreeMap<i64, Vec<ValidatorUpdate>>,
    mempool: Vec<Bytes>,
    /// Validators that voted (with their extension) at the last height.
    last_round_votes: Vec<[u8; 20]>,
    /// Logs of threshold records that jailed someone.
    jail_logs: Vec<String>,
    /// Round-2 DKG messages of this operator never reach a block (a dealer that stops).
    drop_round2_of: Option<Address>,
}

fn params(epoch_length: u64) -> ChainParams {
    ChainParams {
        epoch_length,
        dkg_phase_blocks: 2,
        // Where the revm harness deploys the gateway: its deployer's first contract, chain 1.
        eth_chain_id: 1,
        eth_gateway: Address(evm::DEPLOYER.create(0).into_array()),
        ..ChainParams::default()
    }
}

impl Net {
    /// `n` genesis validators plus `extra` nodes that follow the chain without being validators.
    fn new(n: usize, extra: usize, params: ChainParams) -> Net {
        let tmp = tempfile::tempdir().unwrap();
        let alice = AccountKey::from_bytes(&[200u8; 32]).unwrap();
        let mut nodes = Vec::new();
        for i in 0..n + extra {
            let dir = tmp.path().join(format!("v{i}"));
            let operator = AccountKey::from_bytes(&[i as u8 + 1; 32]).unwrap();
            let consensus = ed25519_dalek::SigningKey::from_bytes(&[i as u8 + 101; 32]);
            let app = Node::open(&dir, &operator);
            nodes.push(Node {
                consensus,
                operator,
                dir,
                app: Some(app),
                offline: false,
                tampers: false,
                last_ext: None,
            });
        }
        let genesis = AppGenesis {
            accounts: vec![GenesisAccount {
                address: alice.address(),
                balance: 1_000_000_000_000,
            }],
            // Operators hold no balance: duty transactions must be free.
            validators: nodes[..n]
                .iter()
                .map(|n| GenesisValidator {
                    operator: n.operator.address(),
                    consensus_key: n.consensus.verifying_key().to_bytes(),
                    stake: STAKE,
                })
                .collect(),
            params: params.clone(),
        };
        let genesis = serde_json::to_vec(&genesis).unwrap();
        let mut active = BTreeMap::new();
        for node in &nodes {
            let resp = node.app().init_chain(RequestInitChain {
                chain_id: CHAIN.into(),
                app_state_bytes: genesis.clone().into(),
                initial_height: 1,
                ..Default::default()
            });
            assert_eq!(
                resp.consensus_params
                    .and_then(|p| p.abci)
                    .map(|a| a.vote_extensions_enable_height),
                Some(1)
            );
            for v in resp.validators {
                let Some(tendermint_proto::v0_38::crypto::public_key::Sum::Ed25519(k)) =
                    v.pub_key.and_then(|k| k.sum)
                else {
                    panic!("ed25519 keys only")
                };
                active.insert(ledger::consensus_address(&k.try_into().unwrap()), v.power);
            }
        }
        Net {
            _tmp: tmp,
            nodes,
            alice,
            alice_nonce: 0,
            height: 0,
            params,
            active,
            scheduled: BTreeMap::new(),
            mempool: Vec::new(),
            last_round_votes: Vec::new(),
            jail_logs: Vec::new(),
            drop_round2_of: None,
        }
    }

    fn online(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| !n.offline && n.app.is_some())
    }

    fn alice_tx(&mut self, kind: TxKind) -> Bytes {
        let tx = TxBody {
            chain_id: CHAIN.into(),
            nonce: self.alice_nonce,
            fuel_limit: 2_000_000_000,
            fuel_price: 1,
            kind,
        }
        .sign(&self.alice)
        .encode();
        self.alice_nonce += 1;
        tx.into()
    }

    /// The extended commit of the last height, as the proposer receives it.
    fn extended_commit(&self) -> ExtendedCommitInfo {
        let mut votes = Vec::new();
        for (addr, power) in &self.active {
            let node = self.nodes.iter().find(|n| &n.cons_addr() == addr);
            let voted = node.is_some_and(|n| self.last_round_votes.contains(&n.cons_addr()));
            let ext = node.and_then(|n| n.last_ext.clone()).unwrap_or_default();
            let signature = match node {
                Some(n) if voted => n
                    .consensus
                    .sign(&vote_extension_sign_bytes(CHAIN, self.height - 1, 0, &ext))
                    .to_bytes()
                    .to_vec(),
                _ => Vec::new(),
            };
            votes.push(ExtendedVoteInfo {
                validator: Some(tendermint_proto::v0_38::abci::Validator {
                    address: addr.to_vec().into(),
                    power: *power,
                }),
                vote_extension: if voted { ext.into() } else { Bytes::new() },
                extension_signature: signature.into(),
                block_id_flag: if voted {
                    BlockIdFlag::Commit as i32
                } else {
                    BlockIdFlag::Absent as i32
                },
            });
        }
        ExtendedCommitInfo { round: 0, votes }
    }

    /// Runs one height with `txs` from users; returns the FinalizeBlock response of the first
    /// online node (all must agree on the app hash).
    fn block(&mut self, user_txs: Vec<Bytes>) -> ResponseFinalizeBlock {
        self.height += 1;
        let h = self.height;
        if let Some(updates) = self.scheduled.remove(&h) {
            for u in updates {
                let Some(tendermint_proto::v0_38::crypto::public_key::Sum::Ed25519(k)) =
                    u.pub_key.and_then(|k| k.sum)
                else {
                    panic!("ed25519 keys only")
                };
                let addr = ledger::consensus_address(&k.try_into().unwrap());
                if u.power == 0 {
                    self.active.remove(&addr);
                } else {
                    self.active.insert(addr, u.power);
                }
            }
        }
        let mut txs = std::mem::take(&mut self.mempool);
        txs.extend(user_txs);
        let commit = self.extended_commit();
        // Proposer: round robin over the online members of the set.
        let candidates: Vec<&Node> = self
            .online()
            .filter(|n| self.active.contains_key(&n.cons_addr()))
            .collect();
        let proposer = candidates[(h as usize) % candidates.len()];
        let prepared = proposer.app().prepare_proposal(RequestPrepareProposal {
            max_tx_bytes: 4 << 20,
            txs,
            local_last_commit: Some(commit.clone()),
            height: h,
            ..Default::default()
        });
        let block_txs = prepared.txs;
        for n in self.online() {
            let status = n
                .app()
                .process_proposal(RequestProcessProposal {
                    txs: block_txs.clone(),
                    height: h,
                    ..Default::default()
                })
                .status;
            assert_eq!(
                status,
                1,
                "node {:?} rejected block {h}",
                n.operator.address()
            );
        }
        // Votes on block h with extensions (before FinalizeBlock, as in CometBFT).
        let voters: Vec<[u8; 20]> = self
            .online()
            .filter(|n| self.active.contains_key(&n.cons_addr()))
            .map(|n| n.cons_addr())
            .collect();
        for i in 0..self.nodes.len() {
            let n = &self.nodes[i];
            if !voters.contains(&n.cons_addr()) {
                self.nodes[i].last_ext = None;
                continue;
            }
            let mut ext = n
                .app()
                .extend_vote(RequestExtendVote {
                    height: h,
                    ..Default::default()
                })
                .vote_extension
                .to_vec();
            if n.tampers && !ext.is_empty() {
                let mut decoded = VoteExtension::decode(&ext).unwrap();
                for s in &mut decoded.shares {
                    for e in &mut s.entries {
                        let last = e.share[31];
                        e.share[31] = last.wrapping_add(1);
                        if last == 0xff {
                            e.share[30] = e.share[30].wrapping_add(1);
                        }
                    }
                }
                ext = decoded.encode();
            }
            for other in self.online() {
                let status = other
                    .app()
                    .verify_vote_extension(RequestVerifyVoteExtension {
                        validator_address: n.cons_addr().to_vec().into(),
                        height: h,
                        vote_extension: ext.clone().into(),
                        ..Default::default()
                    })
                    .status;
                assert_eq!(
                    status,
                    1,
                    "extension of {:?} rejected",
                    n.operator.address()
                );
            }
            self.nodes[i].last_ext = Some(ext);
        }
        let decided = CommitInfo {
            round: 0,
            votes: commit
                .votes
                .iter()
                .map(|v| VoteInfo {
                    validator: v.validator.clone(),
                    block_id_flag: v.block_id_flag,
                })
                .collect(),
        };
        let mut first: Option<ResponseFinalizeBlock> = None;
        for n in self.online() {
            let resp = n.app().finalize_block(RequestFinalizeBlock {
                txs: block_txs.clone(),
                decided_last_commit: Some(decided.clone()),
                height: h,
                hash: vec![h as u8; 32].into(),
                time: Some(tendermint_proto::google::protobuf::Timestamp {
                    seconds: 1_700_000_000 + h,
                    nanos: 0,
                }),
                ..Default::default()
            });
            n.app().commit();
            match &first {
                None => first = Some(resp),
                Some(f) => assert_eq!(f.app_hash, resp.app_hash, "app hashes differ at {h}"),
            }
        }
        self.last_round_votes = voters;
        let mut mempool = Vec::new();
        for n in self.online() {
            let txs = n.app().take_duty_txs();
            let dropped = |tx: &Vec<u8>| {
                let Some(op) = self.drop_round2_of else {
                    return false;
                };
                let body = nexus_consensus::tx::decode_and_verify(tx).unwrap();
                match body.body.kind {
                    TxKind::Dkg { message } if body.sender == op => matches!(
                        nexus_threshold::dkg::DkgMessage::decode(&message),
                        Ok(nexus_threshold::dkg::DkgMessage::Round2(_))
                    ),
                    _ => false,
                }
            };
            mempool.extend(txs.into_iter().filter(|t| !dropped(t)).map(Bytes::from));
        }
        self.mempool = mempool;
        let resp = first.expect("some node is online");
        if let Some(t) = resp.tx_results.first() {
            if t.log.contains("jailed") {
                self.jail_logs.push(t.log.clone());
            }
        }
        if !resp.validator_updates.is_empty() {
            self.scheduled.insert(h + 2, resp.validator_updates.clone());
        }
        resp
    }

    /// The proposal for the next height (not executed): what the proposer would send.
    fn propose_next(&mut self) -> (i64, Vec<Bytes>) {
        self.height += 1;
        let commit = self.extended_commit();
        let candidates: Vec<&Node> = self
            .online()
            .filter(|n| self.active.contains_key(&n.cons_addr()))
            .collect();
        let proposer = candidates[(self.height as usize) % candidates.len()];
        let txs = proposer
            .app()
            .prepare_proposal(RequestPrepareProposal {
                max_tx_bytes: 4 << 20,
                txs: Vec::new(),
                local_last_commit: Some(commit),
                height: self.height,
                ..Default::default()
            })
            .txs;
        let h = self.height;
        self.height -= 1;
        (h, txs)
    }

    fn reference(&self) -> &Node {
        self.online().next().unwrap()
    }

    fn meta(&self) -> Meta {
        let mut view = self.reference().view();
        ThresholdState::new(&mut view).meta().unwrap()
    }

    fn group_key(&self) -> Option<GroupKeyInfo> {
        let resp = self.reference().app().query(RequestQuery {
            path: "/group_key".into(),
            ..Default::default()
        });
        (resp.code == 0).then(|| borsh::from_slice(&resp.value).unwrap())
    }

    fn output(&self, id: &[u8; 32]) -> Option<OutboxItem> {
        let resp = self.reference().app().query(RequestQuery {
            path: format!("/output/{}", hex::encode(id)),
            ..Default::default()
        });
        (resp.code == 0).then(|| borsh::from_slice(&resp.value).unwrap())
    }

    fn validator(&self, op: &Address) -> Validator {
        let mut view = self.reference().view();
        ledger::Ledger::new(&mut view)
            .validator(op)
            .unwrap()
            .unwrap()
    }

    /// Runs empty blocks until the network has a group key; returns the height.
    fn until_key(&mut self, max: i64) -> i64 {
        while self.group_key().is_none() {
            assert!(self.height < max, "no group key by height {max}");
            self.block(vec![]);
        }
        self.height
    }

    /// Deploys the counter and waits until every validator has commitments in the pool.
    fn deploy_counter(&mut self) {
        let deploy = self.alice_tx(TxKind::Deploy(FunctionSpec {
            name: "counter".into(),
            version: "1".into(),
            code: counter_wasm(),
            args: vec![],
            env: vec![],
            fuel: None,
            memory_pages: None,
        }));
        let r = self.block(vec![deploy]);
        assert!(
            r.tx_results.iter().all(|r| r.code == 0),
            "{:?}",
            r.tx_results
        );
        // Commitments reach the pool one block after they are published.
        self.block(vec![]);
        self.block(vec![]);
    }

    /// Invokes the counter; returns the outbox id of its output and the commit height.
    fn invoke(&mut self) -> ([u8; 32], i64) {
        let tx = self.alice_tx(TxKind::Invoke {
            function: "counter".into(),
            input: br#"{"by": 1}"#.to_vec(),
        });
        let hash: [u8; 32] = {
            use sha2::Digest;
            sha2::Sha256::digest(&tx).into()
        };
        let r = self.block(vec![tx]);
        let result = r.tx_results.last().unwrap();
        assert_eq!(result.code, 0, "{}", result.log);
        let mut pre = b"nexus/outbox/v1".to_vec();
        pre.extend_from_slice(&hash);
        pre.extend_from_slice(&0u32.to_be_bytes());
        (nexus_consensus::address::keccak256(&pre), self.height)
    }

    /// Runs blocks until output `id` is signed; returns it and the height it was signed at.
    fn until_signed(&mut self, id: &[u8; 32], max_blocks: i64) -> (OutboxItem, i64) {
        let start = self.height;
        loop {
            let item = self.output(id).expect("the outbox item exists");
            if item.signature.is_some() {
                return (item, self.height);
            }
            assert!(
                self.height < start + max_blocks,
                "output not signed within {max_blocks} blocks"
            );
            let r = self.block(vec![]);
            if std::env::var("THR_DEBUG").is_ok() {
                let mut view = self.reference().view();
                let ts = ThresholdState::new(&mut view);
                let meta = ts.meta().unwrap();
                let pool: Vec<usize> = (meta.next_slot..meta.next_slot + 4)
                    .map(|s| ts.pool(s).unwrap().len())
                    .collect();
                let sessions: Vec<(u64, u64, usize)> = ts
                    .sessions()
                    .unwrap()
                    .iter()
                    .map(|s| (s.session.slot, s.opened_at, s.session.commitments.len()))
                    .collect();
                let exts: Vec<usize> = self
                    .nodes
                    .iter()
                    .map(|n| n.last_ext.as_ref().map_or(0, |e| e.len()))
                    .collect();
                eprintln!(
                    "h={} meta={meta:?} pool={pool:?} sessions={sessions:?} queue={} exts={exts:?} first_tx={:?}",
                    self.height,
                    ts.queue().unwrap().len(),
                    r.tx_results.first().map(|t| (t.code, t.log.clone()))
                );
            }
        }
    }
}

/// Checks an output's signature the way Ethereum will: the EIP-712 digest recomputed from the
/// item's fields, and FROST verification under the group key of its epoch.
fn assert_verifies(net: &Net, item: &OutboxItem, group_key: &[u8]) {
    let sig = item.signature.as_ref().unwrap();
    let digest = OutputMessage {
        chain_id: net.params.eth_chain_id,
        gateway: net.params.eth_gateway.0,
        epoch: sig.epoch,
        request_id: alloy_primitives::U256::from_be_bytes(item.request_id),
        function_id: nexus_consensus::address::keccak256(item.function.as_bytes()),
        output: item.output.clone(),
        nexus_height: item.nexus_height,
    }
    .digest();
    assert_eq!(digest, sig.digest);
    let key = nexus_threshold::CompressedPoint::from_slice(group_key).unwrap();
    verify_signature(&key, &digest, &sig.signature).expect("signature verifies");
}

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
    let item = net.output(&id).unwrap();
    assert_eq!(item.output, 1u64.to_be_bytes());
    assert_eq!(item.nexus_height, committed as u64);
    assert!(item.signature.is_none());
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
    net.nodes[1].app = Some(Node::open(&dir, &operator));
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
        let ext = VoteExtension::decode(&ext).unwrap();
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
    let (item, _) = net.until_signed(&id, 8);
    assert_eq!(item.signature.as_ref().unwrap().epoch, new.epoch);
    assert_verifies(&net, &item, &new.group_key);
    let sig = item.signature.unwrap();
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
            !VoteExtension::decode(&s.extension)
                .unwrap()
                .shares
                .is_empty()
        })
        .expect("an extension with shares");
    let mut ext = VoteExtension::decode(&s.extension).unwrap();
    ext.shares[0].entries[0].share[31] ^= 1;
    s.extension = ext.encode();
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
