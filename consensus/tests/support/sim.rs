//! A simulated network for app-level tests: several validators in-process, each with its own
//! RocksDB store and threshold secrets, all fed identical blocks; their vote extensions travel
//! (signed with their CometBFT keys) into the proposer's `PrepareProposal` as
//! `local_last_commit`, the way CometBFT 0.38 carries them.
#![allow(dead_code, unused_imports)]

use crate::evm;
pub use std::collections::{BTreeMap, BTreeSet};
pub use std::path::{Path, PathBuf};
pub use std::sync::Arc;

pub use bytes::Bytes;
pub use ed25519_dalek::Signer as _;
pub use nexus_consensus::address::AccountKey;
pub use nexus_consensus::ethereum::{GatewayRequest, RequestSource};
pub use nexus_consensus::extension::AppExtension;
pub use nexus_consensus::genesis::{AppGenesis, GenesisAccount, GenesisValidator};
pub use nexus_consensus::ledger::{self, Validator};
pub use nexus_consensus::params::ChainParams;
pub use nexus_consensus::query::GroupKeyInfo;
pub use nexus_consensus::threshold::sessions::{vote_extension_sign_bytes, ThresholdRecord};
pub use nexus_consensus::threshold::state::{Meta, OutboxItem, SignedOutput, ThresholdState};
pub use nexus_consensus::threshold::ValidatorDuty;
pub use nexus_consensus::tx::{FunctionSpec, TxBody, TxKind};
pub use nexus_consensus::{Address, NexusApp};
pub use nexus_runtime::{Engine, Runtime};
pub use nexus_store::{StateView, Store};
pub use nexus_threshold::contracts::{GatewaySignature, NexusGateway};
pub use nexus_threshold::eth::{rotation_digest, BatchMessage, EthSignature, GroupKey};
pub use nexus_threshold::signing::verify_signature;
pub use nexus_threshold::vote_extension::VoteExtension;
pub use tendermint_abci::Application;
pub use tendermint_proto::v0_38::abci::*;
pub use tendermint_proto::v0_38::types::BlockIdFlag;

pub const CHAIN: &str = "nexus-threshold-test";
pub const STAKE: u128 = 10_000_000;

pub fn counter_wasm() -> Vec<u8> {
    let dir = std::env::var("NEXUS_GUESTS_DIR").expect(
        "NEXUS_GUESTS_DIR must point at built guests (deploy/build-examples.sh; . deploy/env.sh)",
    );
    std::fs::read(PathBuf::from(dir).join("counter.wasm")).expect("counter.wasm (build-examples)")
}

pub fn runtime() -> Runtime {
    Runtime::new(Engine::new().unwrap()).unwrap()
}

/// One simulated validator.
pub struct Node {
    pub consensus: ed25519_dalek::SigningKey,
    pub operator: AccountKey,
    pub dir: PathBuf,
    pub app: Option<NexusApp>,
    /// Produces no vote extension and processes nothing (crashed or cut off).
    pub offline: bool,
    /// Adds one to every signature share it sends (after signing it honestly).
    pub tampers: bool,
    /// Its vote extension of the last height.
    pub last_ext: Option<Vec<u8>>,
    /// What its Ethereum watcher has seen (requests by id).
    pub eth: Arc<FakeWatcher>,
}

/// The block's view of an extended commit (what ProcessProposal and FinalizeBlock get).
pub fn decided_commit(commit: &ExtendedCommitInfo) -> CommitInfo {
    CommitInfo {
        round: commit.round,
        votes: commit
            .votes
            .iter()
            .map(|v| VoteInfo {
                validator: v.validator.clone(),
                block_id_flag: v.block_id_flag,
            })
            .collect(),
    }
}

/// An Ethereum watcher the test feeds by hand.
#[derive(Default)]
pub struct FakeWatcher {
    pub seen: std::sync::Mutex<Vec<GatewayRequest>>,
}

impl FakeWatcher {
    pub fn see(&self, r: GatewayRequest) {
        self.seen.lock().unwrap().push(r);
    }
}

impl RequestSource for FakeWatcher {
    fn requests_from(&self, first: u64, max: usize) -> Vec<GatewayRequest> {
        let seen = self.seen.lock().unwrap();
        let mut out = Vec::new();
        for id in first..first + max as u64 {
            match seen.iter().find(|r| r.id == id) {
                Some(r) => out.push(r.clone()),
                None => break,
            }
        }
        out
    }
}

impl Node {
    pub fn cons_addr(&self) -> [u8; 20] {
        ledger::consensus_address(&self.consensus.verifying_key().to_bytes())
    }

    pub fn app(&self) -> &NexusApp {
        self.app.as_ref().expect("node is running")
    }

    pub fn open(dir: &Path, operator: &AccountKey, eth: &Arc<FakeWatcher>) -> NexusApp {
        let store = Arc::new(Store::open(&dir.join("state")).unwrap());
        let duty = ValidatorDuty::open(dir.join("threshold"), operator.clone()).unwrap();
        NexusApp::with_duty(store, runtime(), duty).with_request_source(eth.clone())
    }

    pub fn view(&self) -> StateView {
        StateView::new(self.app().store().clone())
    }
}

pub struct Net {
    pub _tmp: tempfile::TempDir,
    pub nodes: Vec<Node>,
    pub alice: AccountKey,
    pub alice_nonce: u64,
    pub height: i64,
    pub params: ChainParams,
    /// CometBFT's validator set (consensus address → power), with updates applied at H+2.
    pub active: BTreeMap<[u8; 20], i64>,
    pub scheduled: BTreeMap<i64, Vec<ValidatorUpdate>>,
    pub mempool: Vec<Bytes>,
    /// Validators that voted (with their extension) at the last height.
    pub last_round_votes: Vec<[u8; 20]>,
    /// Logs of threshold records that jailed someone.
    pub jail_logs: Vec<String>,
    /// Round-2 DKG messages of this operator never reach a block (a dealer that stops).
    pub drop_round2_of: Option<Address>,
}

pub fn params(epoch_length: u64) -> ChainParams {
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
    pub fn new(n: usize, extra: usize, params: ChainParams) -> Net {
        let tmp = tempfile::tempdir().unwrap();
        let alice = AccountKey::from_bytes(&[200u8; 32]).unwrap();
        let mut nodes = Vec::new();
        for i in 0..n + extra {
            let dir = tmp.path().join(format!("v{i}"));
            let operator = AccountKey::from_bytes(&[i as u8 + 1; 32]).unwrap();
            let consensus = ed25519_dalek::SigningKey::from_bytes(&[i as u8 + 101; 32]);
            let eth = Arc::new(FakeWatcher::default());
            let app = Node::open(&dir, &operator, &eth);
            nodes.push(Node {
                consensus,
                operator,
                dir,
                app: Some(app),
                offline: false,
                tampers: false,
                last_ext: None,
                eth,
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

    pub fn online(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| !n.offline && n.app.is_some())
    }

    pub fn alice_tx(&mut self, kind: TxKind) -> Bytes {
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
    pub fn extended_commit(&self) -> ExtendedCommitInfo {
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
    pub fn block(&mut self, user_txs: Vec<Bytes>) -> ResponseFinalizeBlock {
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
        let decided = decided_commit(&commit);
        for n in self.online() {
            let status = n
                .app()
                .process_proposal(RequestProcessProposal {
                    txs: block_txs.clone(),
                    height: h,
                    proposed_last_commit: Some(decided.clone()),
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
                let mut app_ext = AppExtension::decode(&ext).unwrap();
                let mut decoded = VoteExtension::decode(&app_ext.threshold).unwrap();
                for s in &mut decoded.shares {
                    for e in &mut s.entries {
                        let last = e.share[31];
                        e.share[31] = last.wrapping_add(1);
                        if last == 0xff {
                            e.share[30] = e.share[30].wrapping_add(1);
                        }
                    }
                }
                app_ext.threshold = decoded.encode();
                ext = app_ext.encode();
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
    pub fn propose_next(&mut self) -> (i64, Vec<Bytes>) {
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

    pub fn reference(&self) -> &Node {
        self.online().next().unwrap()
    }

    pub fn meta(&self) -> Meta {
        let mut view = self.reference().view();
        ThresholdState::new(&mut view).meta().unwrap()
    }

    pub fn group_key(&self) -> Option<GroupKeyInfo> {
        let resp = self.reference().app().query(RequestQuery {
            path: "/group_key".into(),
            ..Default::default()
        });
        (resp.code == 0).then(|| borsh::from_slice(&resp.value).unwrap())
    }

    /// Output `id` with its batch proof and signature (the item read through `/output/`, as
    /// clients do).
    pub fn output(&self, id: &[u8; 32]) -> Option<SignedOutput> {
        let resp = self.reference().app().query(RequestQuery {
            path: format!("/output/{}", hex::encode(id)),
            ..Default::default()
        });
        if resp.code != 0 {
            return None;
        }
        let item: OutboxItem = borsh::from_slice(&resp.value).unwrap();
        let mut view = self.reference().view();
        let batch = ThresholdState::new(&mut view)
            .batch(item.nexus_height)
            .unwrap()
            .expect("an output's batch is sealed in its block");
        Some(SignedOutput::new(item, &batch).expect("the batch holds the output"))
    }

    pub fn validator(&self, op: &Address) -> Validator {
        let mut view = self.reference().view();
        ledger::Ledger::new(&mut view)
            .validator(op)
            .unwrap()
            .unwrap()
    }

    /// Runs empty blocks until the network has a group key; returns the height.
    pub fn until_key(&mut self, max: i64) -> i64 {
        while self.group_key().is_none() {
            assert!(self.height < max, "no group key by height {max}");
            self.block(vec![]);
        }
        self.height
    }

    /// Deploys the counter and waits until every validator has commitments in the pool.
    pub fn deploy_counter(&mut self) {
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
    pub fn invoke(&mut self) -> ([u8; 32], i64) {
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
    pub fn until_signed(&mut self, id: &[u8; 32], max_blocks: i64) -> (SignedOutput, i64) {
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

/// Checks an output's signature the way Ethereum will: the leaf recomputed from the item's
/// fields and folded with the proof into the root, the EIP-712 digest of that root, and FROST
/// verification under the group key of its epoch.
pub fn assert_verifies(net: &Net, out: &SignedOutput, group_key: &[u8]) {
    let item = &out.item;
    let sig = out.signature.as_ref().unwrap();
    let function_id = if item.success {
        nexus_consensus::address::keccak256(item.function.as_bytes())
    } else {
        // A failure answer names the request's function id (the function may not exist).
        item.function_id
    };
    let leaf = nexus_threshold::batch::output_leaf(
        &item.request_id,
        &function_id,
        item.success,
        &nexus_consensus::address::keccak256(&item.output),
    );
    assert_eq!(
        nexus_threshold::batch::process_proof(&leaf, &out.proof),
        out.root
    );
    let digest = BatchMessage {
        chain_id: net.params.eth_chain_id,
        gateway: net.params.eth_gateway.0,
        epoch: sig.epoch,
        root: out.root,
        nexus_height: item.nexus_height,
    }
    .digest();
    assert_eq!(digest, sig.digest);
    let key = nexus_threshold::CompressedPoint::from_slice(group_key).unwrap();
    verify_signature(&key, &digest, &sig.signature).expect("signature verifies");
}
