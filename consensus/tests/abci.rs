//! The ABCI++ application driven in-process, the way CometBFT drives it: genesis, blocks of real
//! signed transactions (a real counter module, a real RocksDB store), commits, restarts.

use bytes::Bytes;
use nexus_consensus::address::AccountKey;
use nexus_consensus::execute::TxOutcome;
use nexus_consensus::genesis::{AppGenesis, GenesisAccount, GenesisValidator};
use nexus_consensus::ledger::{self, Account, Validator};
use nexus_consensus::params::ChainParams;
use nexus_consensus::tx::{FunctionSpec, TxBody, TxKind};
use nexus_consensus::{Address, NexusApp};
use nexus_runtime::{Engine, Runtime};
use nexus_store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci::*;

const CHAIN: &str = "nexus-abci-test";
const STAKE: u128 = 10_000_000;
const OPERATOR_FUNDS: u128 = 10_000_000_000;

fn counter_wasm() -> Vec<u8> {
    let dir = std::env::var("NEXUS_GUESTS_DIR").expect(
        "NEXUS_GUESTS_DIR must point at built guests (deploy/build-examples.sh; . deploy/env.sh)",
    );
    let path = PathBuf::from(dir).join("counter.wasm");
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run deploy/build-examples.sh", path.display()))
}

struct Net {
    validator_key: [u8; 32],
    operator: AccountKey,
    alice: AccountKey,
    bob: AccountKey,
    genesis: Vec<u8>,
}

fn keys() -> Net {
    let validator = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
    let operator = AccountKey::from_bytes(&[1u8; 32]).unwrap();
    let alice = AccountKey::from_bytes(&[2u8; 32]).unwrap();
    let bob = AccountKey::from_bytes(&[4u8; 32]).unwrap();
    let params = ChainParams {
        epoch_length: 4,
        unbonding_blocks: 3,
        ..ChainParams::default()
    };
    let genesis = AppGenesis {
        accounts: vec![
            GenesisAccount {
                address: alice.address(),
                balance: 1_000_000_000_000,
            },
            GenesisAccount {
                address: bob.address(),
                balance: 1_000_000_000_000,
            },
            GenesisAccount {
                address: operator.address(),
                balance: OPERATOR_FUNDS,
            },
        ],
        validators: vec![GenesisValidator {
            operator: operator.address(),
            consensus_key: validator.verifying_key().to_bytes(),
            stake: STAKE,
        }],
        params,
    };
    Net {
        validator_key: validator.verifying_key().to_bytes(),
        operator,
        alice,
        bob,
        genesis: serde_json::to_vec(&genesis).unwrap(),
    }
}

fn open_app(dir: &std::path::Path) -> NexusApp {
    let store = Arc::new(Store::open(&dir.join("state")).unwrap());
    let runtime = Runtime::new(Engine::new().unwrap()).unwrap();
    NexusApp::new(store, runtime)
}

fn tx(key: &AccountKey, nonce: u64, kind: TxKind) -> Bytes {
    TxBody {
        chain_id: CHAIN.into(),
        nonce,
        fuel_limit: 2_000_000_000,
        fuel_price: 1,
        kind,
    }
    .sign(key)
    .encode()
    .into()
}

fn init(app: &NexusApp, net: &Net) -> Vec<u8> {
    let resp = app.init_chain(RequestInitChain {
        chain_id: CHAIN.into(),
        app_state_bytes: net.genesis.clone().into(),
        initial_height: 1,
        ..Default::default()
    });
    assert_eq!(resp.validators.len(), 1);
    resp.app_hash.to_vec()
}

fn block(app: &NexusApp, height: i64, txs: Vec<Bytes>) -> ResponseFinalizeBlock {
    block_with(app, height, txs, Vec::new())
}

fn block_with(
    app: &NexusApp,
    height: i64,
    txs: Vec<Bytes>,
    misbehavior: Vec<Misbehavior>,
) -> ResponseFinalizeBlock {
    let resp = app.finalize_block(RequestFinalizeBlock {
        txs,
        height,
        hash: vec![height as u8; 32].into(),
        time: Some(tendermint_proto::google::protobuf::Timestamp {
            seconds: 1_700_000_000 + height,
            nanos: 0,
        }),
        misbehavior,
        ..Default::default()
    });
    app.commit();
    resp
}

fn outcome(r: &ExecTxResult) -> TxOutcome {
    borsh::from_slice(&r.data).unwrap()
}

fn account(app: &NexusApp, a: &Address) -> Account {
    let (v, _) = app
        .store()
        .get_with_proof(&ledger::account_key(a), app.store().latest_height())
        .unwrap();
    v.map(|v| borsh::from_slice(&v).unwrap())
        .unwrap_or_default()
}

/// Runs the same scenario; returns the app hash of every height.
fn scenario(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let net = keys();
    let app = open_app(dir);
    let mut hashes = vec![init(&app, &net)];
    let deploy = TxKind::Deploy(FunctionSpec {
        name: "counter".into(),
        version: "1".into(),
        code: counter_wasm(),
        args: vec![],
        env: vec![],
        fuel: None,
        memory_pages: None,
    });
    let b1 = block(&app, 1, vec![tx(&net.alice, 0, deploy)]);
    assert_eq!(b1.tx_results[0].code, 0, "{}", b1.tx_results[0].log);
    hashes.push(b1.app_hash.to_vec());
    let invoke = |k: &AccountKey, n| {
        tx(
            k,
            n,
            TxKind::Invoke {
                function: "counter".into(),
                input: br#"{"by": 1}"#.to_vec(),
            },
        )
    };
    let b2 = block(
        &app,
        2,
        vec![
            invoke(&net.alice, 1),
            invoke(&net.bob, 0),
            invoke(&net.alice, 2),
        ],
    );
    for r in &b2.tx_results {
        assert_eq!(r.code, 0, "{}", r.log);
        assert!(outcome(r).fuel_used > 0);
    }
    let last = String::from_utf8_lossy(&outcome(&b2.tx_results[2]).stdout).to_string();
    assert!(
        last.contains('3'),
        "third increment reports 3, got {last:?}"
    );
    hashes.push(b2.app_hash.to_vec());
    hashes
}

#[test]
fn two_fresh_nodes_compute_the_same_app_hashes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ha = scenario(a.path());
    let hb = scenario(b.path());
    assert_eq!(ha, hb);
    assert_eq!(ha.len(), 3);
    assert!(
        ha.windows(2).all(|w| w[0] != w[1]),
        "every block changed state"
    );
}

#[test]
fn info_reports_the_committed_height_and_hash_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let hashes = scenario(dir.path());
    let app = open_app(dir.path());
    let info = app.info(RequestInfo::default());
    assert_eq!(info.last_block_height, 2);
    assert_eq!(info.last_block_app_hash.to_vec(), hashes[2]);
}

#[test]
fn genesis_records_the_state_format_a_restarted_node_checks() {
    use nexus_consensus::app::state_format;
    let dir = tempfile::tempdir().unwrap();
    let _ = scenario(dir.path());
    let app = open_app(dir.path());
    assert!(state_format::check(app.store()).is_ok());
    let mut view = nexus_store::StateView::new(app.store().clone());
    assert_eq!(
        view.get(state_format::STATE_FORMAT_KEY).unwrap().unwrap(),
        state_format::STATE_FORMAT.to_le_bytes()
    );
    // A state written before the format existed (the key absent) is refused, by name.
    view.delete(state_format::STATE_FORMAT_KEY.to_vec());
    app.store().commit(view.take_block_changes()).unwrap();
    assert!(matches!(
        state_format::check(app.store()),
        Err(state_format::StateFormatError::Unversioned)
    ));
}

#[test]
fn a_block_finalized_but_not_committed_is_not_persisted() {
    let dir = tempfile::tempdir().unwrap();
    let net = keys();
    {
        let app = open_app(dir.path());
        init(&app, &net);
        block(&app, 1, vec![]);
        let _ = app.finalize_block(RequestFinalizeBlock {
            txs: vec![tx(
                &net.alice,
                0,
                TxKind::Transfer {
                    to: net.bob.address(),
                    amount: 5,
                },
            )],
            height: 2,
            ..Default::default()
        });
        // no Commit: the process "dies" here
    }
    let app = open_app(dir.path());
    assert_eq!(app.info(RequestInfo::default()).last_block_height, 1);
    assert_eq!(account(&app, &net.alice.address()).nonce, 0);
}

#[test]
fn fees_are_charged_from_fuel_and_shared_by_stake() {
    let dir = tempfile::tempdir().unwrap();
    let net = keys();
    let app = open_app(dir.path());
    init(&app, &net);
    let before = 1_000_000_000_000u128;
    let b1 = block(
        &app,
        1,
        vec![tx(
            &net.alice,
            0,
            TxKind::Transfer {
                to: net.bob.address(),
                amount: 1000,
            },
        )],
    );
    assert_eq!(b1.tx_results[0].code, 0, "{}", b1.tx_results[0].log);
    let fee = outcome(&b1.tx_results[0]).fee;
    assert!(fee > 0);
    assert_eq!(
        account(&app, &net.alice.address()).balance,
        before - 1000 - fee
    );
    assert_eq!(account(&app, &net.bob.address()).balance, before + 1000);
    // The validator's operator takes its commission; the rest compounds into the bonded
    // stake, shared by its delegators (here only the operator's own self-delegation).
    let commission = fee * u128::from(ChainParams::default().commission_ppm) / 1_000_000;
    assert!(commission > 0 && commission < fee);
    assert_eq!(
        account(&app, &net.operator.address()).balance,
        OPERATOR_FUNDS + commission
    );
    assert_eq!(
        validator(&app, &net.operator.address()).tokens,
        STAKE + fee - commission
    );
}

#[test]
fn check_tx_refuses_bad_input_with_clear_codes() {
    let dir = tempfile::tempdir().unwrap();
    let net = keys();
    let app = open_app(dir.path());
    init(&app, &net);
    block(&app, 1, vec![]);
    let check = |bytes: Bytes| {
        app.check_tx(RequestCheckTx {
            tx: bytes,
            r#type: 0,
        })
    };
    let transfer = TxKind::Transfer {
        to: net.bob.address(),
        amount: 1,
    };
    // malformed
    assert_eq!(check(vec![1, 2, 3].into()).code, 1);
    // oversized
    assert_eq!(
        check(vec![0; nexus_consensus::tx::MAX_TX_BYTES + 1].into()).code,
        2
    );
    // bad signature: flip a bit of s
    let mut bad = tx(&net.alice, 0, transfer.clone()).to_vec();
    let n = bad.len();
    bad[n - 2] ^= 0x01;
    let r = check(bad.into());
    assert!(
        r.code == 3 || r.code == 10 || r.code == 9,
        "bad signature code {} {}",
        r.code,
        r.log
    );
    // wrong chain id
    let wrong_chain: Bytes = TxBody {
        chain_id: "other".into(),
        nonce: 0,
        fuel_limit: 100_000,
        fuel_price: 1,
        kind: transfer.clone(),
    }
    .sign(&net.alice)
    .encode()
    .into();
    assert_eq!(check(wrong_chain).code, 4);
    // future nonce, then the right one, then its replay
    assert_eq!(check(tx(&net.alice, 5, transfer.clone())).code, 6);
    assert_eq!(check(tx(&net.alice, 0, transfer.clone())).code, 0);
    assert_eq!(check(tx(&net.alice, 0, transfer.clone())).code, 5);
    // an account with nothing cannot pay the fee
    let poor = AccountKey::from_bytes(&[9u8; 32]).unwrap();
    assert_eq!(check(tx(&poor, 0, transfer)).code, 9);
}

#[test]
fn honest_nodes_reject_a_proposal_with_an_invalid_transaction() {
    let dir = tempfile::tempdir().unwrap();
    let net = keys();
    let app = open_app(dir.path());
    init(&app, &net);
    block(&app, 1, vec![]);
    let good = tx(
        &net.alice,
        0,
        TxKind::Transfer {
            to: net.bob.address(),
            amount: 1,
        },
    );
    let replay = tx(
        &net.alice,
        0,
        TxKind::Transfer {
            to: net.bob.address(),
            amount: 2,
        },
    );
    let ok = app.process_proposal(RequestProcessProposal {
        txs: vec![good.clone()],
        height: 2,
        ..Default::default()
    });
    assert_eq!(ok.status, 1);
    let bad = app.process_proposal(RequestProcessProposal {
        txs: vec![good.clone(), replay.clone()],
        height: 2,
        ..Default::default()
    });
    assert_eq!(
        bad.status, 2,
        "a reused nonce inside the block must be rejected"
    );
    let junk = app.process_proposal(RequestProcessProposal {
        txs: vec![vec![0xff; 10].into()],
        height: 2,
        ..Default::default()
    });
    assert_eq!(junk.status, 2);
    // PrepareProposal drops what ProcessProposal would reject.
    let prepared = app.prepare_proposal(RequestPrepareProposal {
        txs: vec![good.clone(), replay, vec![1, 2].into()],
        max_tx_bytes: 1 << 20,
        height: 2,
        ..Default::default()
    });
    assert_eq!(prepared.txs, vec![good]);
}

#[test]
fn failed_actions_consume_nonce_and_fee_but_change_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let net = keys();
    let app = open_app(dir.path());
    init(&app, &net);
    let bad_wasm = TxKind::Deploy(FunctionSpec {
        name: "broken".into(),
        version: "1".into(),
        code: b"\0asm\x01\0\0\0garbage".to_vec(),
        args: vec![],
        env: vec![],
        fuel: None,
        memory_pages: None,
    });
    let unknown = TxKind::Invoke {
        function: "nope".into(),
        input: vec![],
    };
    let b = block(
        &app,
        1,
        vec![tx(&net.alice, 0, bad_wasm), tx(&net.alice, 1, unknown)],
    );
    assert_eq!(b.tx_results[0].code, 12, "{}", b.tx_results[0].log);
    assert_eq!(b.tx_results[1].code, 14, "{}", b.tx_results[1].log);
    let acct = account(&app, &net.alice.address());
    assert_eq!(acct.nonce, 2);
    assert!(acct.balance < 1_000_000_000_000);
    assert!(app
        .store()
        .get_with_proof(b"fn/broken", 1)
        .unwrap()
        .0
        .is_none());
}

fn validator(app: &NexusApp, op: &Address) -> Validator {
    let (v, _) = app
        .store()
        .get_with_proof(&ledger::validator_key(op), app.store().latest_height())
        .unwrap();
    borsh::from_slice(&v.expect("validator exists")).unwrap()
}

#[test]
fn a_new_validator_joins_at_the_epoch_end_and_unbonding_returns_stake_later() {
    let dir = tempfile::tempdir().unwrap();
    let net = keys();
    let app = open_app(dir.path());
    init(&app, &net);
    let new_key = ed25519_dalek::SigningKey::from_bytes(&[8u8; 32])
        .verifying_key()
        .to_bytes();
    let create = TxKind::CreateValidator {
        consensus_key: new_key,
        amount: 2 * STAKE,
    };
    let b1 = block(&app, 1, vec![tx(&net.bob, 0, create)]);
    assert_eq!(b1.tx_results[0].code, 0, "{}", b1.tx_results[0].log);
    assert!(b1.validator_updates.is_empty(), "not before the epoch end");
    assert!(block(&app, 2, vec![]).validator_updates.is_empty());
    assert!(block(&app, 3, vec![]).validator_updates.is_empty());
    let b4 = block(&app, 4, vec![]);
    assert_eq!(
        b4.validator_updates.len(),
        1,
        "joins at the end of epoch (height 4)"
    );
    assert_eq!(b4.validator_updates[0].power, 20);
    // Unbonding more than bonded is refused; unbonding everything leaves at the next epoch.
    let too_much = TxKind::Undelegate {
        validator: net.bob.address(),
        amount: 3 * STAKE,
    };
    let all = TxKind::Undelegate {
        validator: net.bob.address(),
        amount: 2 * STAKE,
    };
    let b5 = block(
        &app,
        5,
        vec![tx(&net.bob, 1, too_much), tx(&net.bob, 2, all)],
    );
    assert_eq!(b5.tx_results[0].code, 17, "{}", b5.tx_results[0].log);
    assert_eq!(b5.tx_results[1].code, 0, "{}", b5.tx_results[1].log);
    // With no stake left it leaves the set at once (it cannot keep power it no longer backs).
    assert_eq!(b5.validator_updates.len(), 1);
    assert_eq!(b5.validator_updates[0].power, 0, "leaves the set");
    let balance_after_unbond = account(&app, &net.bob.address()).balance;
    let b6 = block(&app, 6, vec![]);
    assert!(b6.validator_updates.is_empty());
    block(&app, 7, vec![]);
    assert_eq!(
        account(&app, &net.bob.address()).balance,
        balance_after_unbond,
        "not before the unbonding period"
    );
    block(&app, 8, vec![]);
    assert_eq!(
        account(&app, &net.bob.address()).balance,
        balance_after_unbond + 2 * STAKE,
        "returned after 3 blocks"
    );
}

#[test]
fn double_sign_evidence_slashes_tombstones_and_removes_the_validator() {
    let dir = tempfile::tempdir().unwrap();
    let net = keys();
    let app = open_app(dir.path());
    init(&app, &net);
    // A second validator so the set never becomes empty.
    let new_key = ed25519_dalek::SigningKey::from_bytes(&[8u8; 32])
        .verifying_key()
        .to_bytes();
    let op = net.operator.address();
    let part = 1_000_000u128;
    let b1 = block(
        &app,
        1,
        vec![
            tx(
                &net.bob,
                0,
                TxKind::CreateValidator {
                    consensus_key: new_key,
                    amount: 2 * STAKE,
                },
            ),
            tx(
                &net.alice,
                0,
                TxKind::Delegate {
                    validator: op,
                    amount: 2 * part,
                },
            ),
        ],
    );
    assert!(b1.tx_results.iter().all(|r| r.code == 0));
    let undelegate = |nonce| {
        tx(
            &net.alice,
            nonce,
            TxKind::Undelegate {
                validator: op,
                amount: part,
            },
        )
    };
    // Alice leaves with half before the infraction (height 3) and half after it.
    assert_eq!(block(&app, 2, vec![undelegate(1)]).tx_results[0].code, 0);
    block(&app, 3, vec![]);
    assert_eq!(block(&app, 4, vec![undelegate(2)]).tx_results[0].code, 0);
    let alice_before = account(&app, &net.alice.address()).balance;
    let tokens_before = validator(&app, &op).tokens;
    let evidence = Misbehavior {
        r#type: MisbehaviorType::DuplicateVote as i32,
        validator: Some(tendermint_proto::v0_38::abci::Validator {
            address: ledger::consensus_address(&net.validator_key)
                .to_vec()
                .into(),
            power: 10,
        }),
        height: 3,
        ..Default::default()
    };
    let b5 = block_with(&app, 5, vec![], vec![evidence]);
    assert_eq!(b5.validator_updates.len(), 1);
    assert_eq!(b5.validator_updates[0].power, 0);
    let v = validator(&app, &net.operator.address());
    assert!(v.tombstoned);
    assert_eq!(v.tokens, tokens_before - tokens_before / 20, "5% slashed");
    // A tombstoned validator can never unjail.
    let b6 = block(&app, 6, vec![tx(&net.operator, 0, TxKind::Unjail)]);
    assert_eq!(b6.tx_results[0].code, 17, "{}", b6.tx_results[0].log);
    assert!(b6.tx_results[0].log.contains("tombstoned"));
    // Unbonding that began before the infraction returns whole; unbonding that began after it
    // was still at stake when the validator double-signed, and is slashed like the rest.
    block(&app, 7, vec![]);
    let returned = account(&app, &net.alice.address()).balance - alice_before;
    assert_eq!(returned, part + (part - part / 20));
}

#[test]
fn only_the_owner_may_upgrade_and_deploy_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let net = keys();
    let app = open_app(dir.path());
    init(&app, &net);
    let spec = |version: &str| FunctionSpec {
        name: "counter".into(),
        version: version.into(),
        code: counter_wasm(),
        args: vec![],
        env: vec![],
        fuel: None,
        memory_pages: None,
    };
    let b1 = block(
        &app,
        1,
        vec![
            tx(&net.alice, 0, TxKind::Upgrade(spec("0"))),
            tx(&net.alice, 1, TxKind::Deploy(spec("1"))),
            tx(&net.bob, 0, TxKind::Deploy(spec("x"))),
            tx(&net.bob, 1, TxKind::Upgrade(spec("x"))),
            tx(&net.alice, 2, TxKind::Upgrade(spec("2"))),
        ],
    );
    let codes: Vec<u32> = b1.tx_results.iter().map(|r| r.code).collect();
    assert_eq!(codes, vec![14, 0, 13, 15, 0], "{:?}", b1.tx_results);
    let (raw, _) = app.store().get_with_proof(b"fn/counter", 1).unwrap();
    let record: nexus_runtime::FunctionRecord = borsh::from_slice(&raw.unwrap()).unwrap();
    assert_eq!(record.version, "2");
    assert_eq!(record.owner, net.alice.address().to_string());
}
