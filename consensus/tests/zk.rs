//! zk jobs through the ABCI application, in-process: deploy a real RV32IM guest, request a proof,
//! submit a real proof (Nova + compressed SNARK) and watch every state transition and every
//! refusal. Proving takes a while, so one proof is made per guest ELF and input and kept as a
//! file under the target directory (keyed by their hashes); later runs reuse it.
//!
//! The last test runs four validators in-process (`support::sim`): each verifies the proof in
//! its own FinalizeBlock, they agree on the app hash, and they threshold-sign the output.

#[path = "../../threshold/tests/common/mod.rs"]
mod evm;
mod support;
#[path = "support/zk_guest.rs"]
mod zk_guest;

use bytes::Bytes;
use nexus_consensus::address::AccountKey;
use nexus_consensus::execute::TxOutcome;
use nexus_consensus::genesis::{AppGenesis, GenesisAccount, GenesisValidator};
use nexus_consensus::ledger::{self, Account};
use nexus_consensus::params::ChainParams;
use nexus_consensus::threshold::state::{outbox_key, OutboxItem};
use nexus_consensus::tx::{TxBody, TxKind};
use nexus_consensus::zk::state::{job_key, program_key, prover_key};
use nexus_consensus::zk::{self, JobStatus, ProverRecord, ZkJob, ZkParams, ZkProgram};
use nexus_consensus::{Address, NexusApp};
use nexus_runtime::{Engine, Runtime};
use nexus_store::Store;
use nexus_zkvm_bridge::proof::Proof;
use nexus_zkvm_bridge::{cache, prover, DEFAULT_MAX_CYCLES};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci::*;

const CHAIN: &str = "nexus-zk-test";
const FUNDS: u128 = 1_000_000_000_000;
const REWARD: u128 = 5_000;
/// The echo guest reverses its input and exits with a checksum, which is 0 for `ef`.
const INPUT: &[u8] = b"ef";
const OUTPUT: &[u8] = b"len=2 reversed=fe\n";
/// `TxError::Zk`'s result code.
const CODE_ZK: u32 = 21;

fn tmp() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// The public-parameter cache shared by the tests of the workspace (and the node's verifier
/// in this process: `NEXUS_ZK_CACHE`).
fn key_cache() -> PathBuf {
    let dir = std::env::var_os("NEXUS_ZK_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| tmp().join("zk-cache"));
    std::env::set_var("NEXUS_ZK_CACHE", &dir);
    dir
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(nexus_zkvm_bridge::witness::sha256(bytes))
}

/// A real proof of `elf` on `input` with the chain's circuit shape, from the file cache or
/// made now (and stored for the next run).
fn proof_for(elf: &[u8], input: &[u8]) -> Vec<u8> {
    let (k, m) = ZkParams::default().shape();
    let dir = tmp().join("zk-proofs");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!(
        "{}-{}-k{k}-m{m}.nxproof",
        sha256_hex(elf),
        sha256_hex(input),
    ));
    if let Ok(bytes) = std::fs::read(&path) {
        if Proof::from_bytes(&bytes).is_ok() {
            return bytes;
        }
    }
    let keys = cache::prover_keys(&key_cache(), k, m).unwrap();
    let proof = prover::prove(&keys, elf, input, DEFAULT_MAX_CYCLES, |_, _| {}).unwrap();
    let bytes = proof.to_bytes().unwrap();
    let part = path.with_extension(format!("part{}", std::process::id()));
    std::fs::write(&part, &bytes).unwrap();
    std::fs::rename(&part, &path).unwrap();
    bytes
}

struct Fixture {
    elf: Vec<u8>,
    proof: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        key_cache();
        let elf = zk_guest::build_echo(&tmp());
        let proof = proof_for(&elf, INPUT);
        Fixture { elf, proof }
    })
}

struct Chain {
    _dir: tempfile::TempDir,
    app: NexusApp,
    height: i64,
    requester: AccountKey,
    prover: AccountKey,
    nonces: std::collections::BTreeMap<Address, u64>,
}

impl Chain {
    fn new() -> Chain {
        Chain::with_params(ChainParams::default())
    }

    fn with_params(params: ChainParams) -> Chain {
        key_cache();
        let dir = tempfile::tempdir().unwrap();
        let validator = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
        let operator = AccountKey::from_bytes(&[1u8; 32]).unwrap();
        let requester = AccountKey::from_bytes(&[2u8; 32]).unwrap();
        let prover = AccountKey::from_bytes(&[4u8; 32]).unwrap();
        let genesis = AppGenesis {
            accounts: [&operator, &requester, &prover]
                .iter()
                .map(|k| GenesisAccount {
                    address: k.address(),
                    balance: FUNDS,
                })
                .collect(),
            validators: vec![GenesisValidator {
                operator: operator.address(),
                consensus_key: validator.verifying_key().to_bytes(),
                stake: 10_000_000,
            }],
            params,
        };
        let store = Arc::new(Store::open(&dir.path().join("state")).unwrap());
        let app = NexusApp::new(store, Runtime::new(Engine::new().unwrap()).unwrap());
        app.init_chain(RequestInitChain {
            chain_id: CHAIN.into(),
            app_state_bytes: serde_json::to_vec(&genesis).unwrap().into(),
            initial_height: 1,
            ..Default::default()
        });
        Chain {
            _dir: dir,
            app,
            height: 0,
            requester,
            prover,
            nonces: Default::default(),
        }
    }

    fn tx(&mut self, key: &AccountKey, kind: TxKind) -> Bytes {
        let nonce = self.nonces.entry(key.address()).or_default();
        let body = TxBody {
            chain_id: CHAIN.into(),
            nonce: *nonce,
            fuel_limit: 2_000_000_000,
            fuel_price: 1,
            kind,
        };
        *nonce += 1;
        body.sign(key).encode().into()
    }

    fn block(&mut self, txs: Vec<Bytes>) -> Vec<ExecTxResult> {
        self.height += 1;
        let resp = self.app.finalize_block(RequestFinalizeBlock {
            txs,
            height: self.height,
            hash: vec![self.height as u8; 32].into(),
            time: Some(tendermint_proto::google::protobuf::Timestamp {
                seconds: 1_700_000_000 + self.height,
                nanos: 0,
            }),
            ..Default::default()
        });
        self.app.commit();
        resp.tx_results
    }

    /// [`Chain::send`] for a transaction refused at admission (its nonce stays unused).
    fn refused(&mut self, key: &AccountKey, kind: TxKind) -> ExecTxResult {
        let r = self.send(key, kind);
        *self.nonces.get_mut(&key.address()).unwrap() -= 1;
        r
    }

    /// One transaction in its own block; returns its result.
    fn send(&mut self, key: &AccountKey, kind: TxKind) -> ExecTxResult {
        let tx = self.tx(key, kind);
        self.block(vec![tx]).remove(0)
    }

    fn get<T: borsh::BorshDeserialize>(&self, key: &[u8]) -> Option<T> {
        let store = self.app.store();
        let (v, _) = store.get_with_proof(key, store.latest_height()).unwrap();
        v.map(|v| borsh::from_slice(&v).unwrap())
    }

    fn balance(&self, who: &AccountKey) -> u128 {
        self.get::<Account>(&ledger::account_key(&who.address()))
            .unwrap_or_default()
            .balance
    }

    fn job(&self, id: u64) -> ZkJob {
        self.get(&job_key(id)).expect("job in state")
    }

    /// Offers `n` (unverifiable) `SubmitProof`s of `prover` to PrepareProposal; returns the
    /// offered transactions and the proposal's.
    fn propose_proofs(&mut self, prover: &AccountKey, n: usize) -> (Vec<Bytes>, Vec<Bytes>) {
        let offered: Vec<Bytes> = (0..n as u64)
            .map(|job| {
                self.tx(
                    prover,
                    TxKind::SubmitProof {
                        job,
                        proof: vec![1; 64],
                    },
                )
            })
            .collect();
        let resp = self.app.prepare_proposal(RequestPrepareProposal {
            txs: offered.clone(),
            max_tx_bytes: 1 << 20,
            height: self.height + 1,
            ..Default::default()
        });
        (offered, resp.txs)
    }

    /// Deploys the echo guest, registers the prover and opens job 0 on [`INPUT`].
    fn with_open_job(elf: &[u8], input: &[u8]) -> (Chain, [u8; 32]) {
        let mut c = Chain::new();
        let requester = c.requester.clone();
        let prover = c.prover.clone();
        let r = c.send(&requester, TxKind::DeployZk { elf: elf.to_vec() });
        assert_eq!(r.code, 0, "{}", r.log);
        let program = nexus_zkvm_bridge::witness::sha256(elf);
        assert_eq!(outcome(&r).events[0].1, program.to_vec());
        let r = c.send(&prover, TxKind::RegisterProver);
        assert_eq!(r.code, 0, "{}", r.log);
        let r = c.send(
            &requester,
            TxKind::RequestProof {
                program,
                input: input.to_vec(),
                reward: REWARD,
            },
        );
        assert_eq!(r.code, 0, "{}", r.log);
        assert_eq!(outcome(&r).events[0].1, 0u64.to_be_bytes().to_vec());
        (c, program)
    }
}

fn outcome(r: &ExecTxResult) -> TxOutcome {
    borsh::from_slice(&r.data).unwrap()
}

fn fee(r: &ExecTxResult) -> u128 {
    outcome(r).fee
}

#[test]
fn a_verified_proof_finishes_the_job_pays_the_prover_and_queues_the_output_for_signing() {
    let f = fixture();
    let (mut c, program) = Chain::with_open_job(&f.elf, INPUT);
    let stored: ZkProgram = c.get(&program_key(&program)).unwrap();
    assert_eq!(stored.elf, f.elf);
    let job = c.job(0);
    assert_eq!(job.status, JobStatus::Open);
    assert_eq!(job.reward, REWARD);
    assert_eq!(
        job.expires_at,
        job.requested_at + ZkParams::default().job_ttl_blocks
    );

    let prover = c.prover.clone();
    let before = c.balance(&prover);
    // Time the block alone, with the verifier key already in memory (the node loads it in the
    // background once a block touched the zk subsystem).
    zk::verifier::verifier_key(&ZkParams::default()).expect("verifier key");
    // Baseline in the same run: a block with one cheap transaction.
    let started = std::time::Instant::now();
    let r = c.send(&prover, TxKind::RegisterProver);
    assert_eq!(r.code, CODE_ZK, "already registered: {}", r.log);
    let baseline = started.elapsed();
    let before = before - fee(&r);
    let started = std::time::Instant::now();
    let r = c.send(
        &prover,
        TxKind::SubmitProof {
            job: 0,
            proof: f.proof.clone(),
        },
    );
    eprintln!(
        "FinalizeBlock + Commit of a block with one proof verification: {:.2?} \
         (a block with one failing RegisterProver: {baseline:.2?})",
        started.elapsed()
    );
    assert_eq!(r.code, 0, "{}", r.log);
    assert!(outcome(&r).fuel_used >= ZkParams::default().verify_fuel);
    assert_eq!(c.balance(&prover), before + REWARD - fee(&r));

    let JobStatus::Done(result) = c.job(0).status else {
        panic!("job 0 is not done: {:?}", c.job(0).status);
    };
    assert_eq!(result.output, OUTPUT);
    assert_eq!(result.exit_code, 0);
    assert_eq!(result.prover, prover.address());
    let outbox_id = result.outbox_id.expect("exit code 0 is signed");
    let item: OutboxItem = c.get(&outbox_key(&outbox_id)).expect("outbox item");
    assert_eq!(item.output, OUTPUT);
    assert_eq!(item.function, zk::outbox_function(&program));
    assert_eq!(outcome(&r).outputs, vec![OUTPUT.to_vec()]);
    let record: ProverRecord = c.get(&prover_key(&prover.address())).unwrap();
    assert_eq!((record.proofs, record.earned), (1, REWARD));

    // The first valid proof won: the same proof again is refused before verification.
    let before = c.balance(&prover);
    let r = c.send(
        &prover,
        TxKind::SubmitProof {
            job: 0,
            proof: f.proof.clone(),
        },
    );
    assert_eq!(r.code, CODE_ZK);
    assert!(r.log.contains("zk job 0 is already proved"), "{}", r.log);
    assert_eq!(c.balance(&prover), before - fee(&r));
}

#[test]
fn a_tampered_proof_is_rejected_and_changes_nothing_but_the_fee() {
    let f = fixture();
    let (mut c, _) = Chain::with_open_job(&f.elf, INPUT);
    let prover = c.prover.clone();
    let requester = c.requester.clone();
    // Claim another output: the proof still decodes, the SNARK's public values do not match.
    let mut tampered = f.proof.clone();
    let at = tampered
        .windows(OUTPUT.len())
        .position(|w| w == OUTPUT)
        .expect("the proof carries its output");
    tampered[at + 15] = b'X';
    let (p_before, r_before) = (c.balance(&prover), c.balance(&requester));
    let r = c.send(
        &prover,
        TxKind::SubmitProof {
            job: 0,
            proof: tampered,
        },
    );
    assert_eq!(r.code, CODE_ZK);
    assert!(r.log.contains("proof rejected for zk job 0"), "{}", r.log);
    assert_eq!(c.balance(&prover), p_before - fee(&r));
    assert_eq!(c.balance(&requester), r_before);
    assert_eq!(c.job(0).status, JobStatus::Open);

    // A flipped byte inside the SNARK is refused too (undecodable or unverifiable).
    let mut flipped = f.proof.clone();
    let n = flipped.len();
    flipped[n - 100] ^= 1;
    let r = c.send(
        &prover,
        TxKind::SubmitProof {
            job: 0,
            proof: flipped,
        },
    );
    assert_eq!(r.code, CODE_ZK);
    assert!(
        r.log.contains("proof rejected") || r.log.contains("proof is malformed"),
        "{}",
        r.log
    );
    assert_eq!(c.job(0).status, JobStatus::Open);
}

#[test]
fn a_proof_of_another_input_does_not_finish_the_job() {
    let f = fixture();
    let (mut c, _) = Chain::with_open_job(&f.elf, b"something else");
    let prover = c.prover.clone();
    let r = c.send(
        &prover,
        TxKind::SubmitProof {
            job: 0,
            proof: f.proof.clone(),
        },
    );
    assert_eq!(r.code, CODE_ZK);
    assert!(r.log.contains("another input"), "{}", r.log);
    assert_eq!(c.job(0).status, JobStatus::Open);
}

#[test]
fn only_registered_provers_may_submit_and_only_for_open_jobs() {
    let f = fixture();
    let (mut c, _) = Chain::with_open_job(&f.elf, INPUT);
    let requester = c.requester.clone();
    let prover = c.prover.clone();
    let r = c.send(
        &requester,
        TxKind::SubmitProof {
            job: 0,
            proof: f.proof.clone(),
        },
    );
    assert_eq!(r.code, CODE_ZK);
    assert!(r.log.contains("is not a registered prover"), "{}", r.log);

    let r = c.send(
        &prover,
        TxKind::SubmitProof {
            job: 7,
            proof: f.proof.clone(),
        },
    );
    assert_eq!(r.code, CODE_ZK);
    assert!(r.log.contains("no zk job 7"), "{}", r.log);

    let r = c.send(&prover, TxKind::RegisterProver);
    assert_eq!(r.code, CODE_ZK);
    assert!(r.log.contains("already a registered prover"), "{}", r.log);

    // Oversized proofs are refused at admission (CheckTx too), before any state is read.
    let r = c.refused(
        &prover,
        TxKind::SubmitProof {
            job: 0,
            proof: vec![0; ZkParams::default().max_proof_bytes as usize + 1],
        },
    );
    assert_eq!(r.code, CODE_ZK);
    assert!(r.log.contains("zk.max_proof_bytes"), "{}", r.log);
    assert_eq!(c.job(0).status, JobStatus::Open);
}

#[test]
fn deploys_and_requests_with_bad_inputs_are_refused_with_clear_errors() {
    let mut c = Chain::new();
    let requester = c.requester.clone();
    let r = c.send(
        &requester,
        TxKind::DeployZk {
            elf: b"\0asm\x01\0\0\0 not a RISC-V ELF".to_vec(),
        },
    );
    assert_eq!(r.code, CODE_ZK);
    assert!(r.log.contains("not a valid RV32IM executable"), "{}", r.log);

    let r = c.refused(
        &requester,
        TxKind::DeployZk {
            elf: vec![0x7f; ZkParams::default().max_elf_bytes as usize + 1],
        },
    );
    assert_eq!(r.code, CODE_ZK);
    assert!(r.log.contains("zk.max_elf_bytes"), "{}", r.log);

    let r = c.send(
        &requester,
        TxKind::RequestProof {
            program: [9; 32],
            input: vec![],
            reward: 1,
        },
    );
    assert_eq!(r.code, CODE_ZK);
    assert!(r.log.contains("no zk program 0x0909"), "{}", r.log);

    let r = c.refused(
        &requester,
        TxKind::RequestProof {
            program: [9; 32],
            input: vec![],
            reward: 0,
        },
    );
    assert_eq!(r.code, CODE_ZK);
    assert!(r.log.contains("reward"), "{}", r.log);
}

#[test]
fn a_reward_above_the_balance_is_refused_and_an_unproved_job_is_refunded_at_expiry() {
    let f = fixture();
    let mut c = Chain::new();
    let requester = c.requester.clone();
    let r = c.send(&requester, TxKind::DeployZk { elf: f.elf.clone() });
    assert_eq!(r.code, 0, "{}", r.log);
    let program = nexus_zkvm_bridge::witness::sha256(&f.elf);
    let balance = c.balance(&requester);
    let r = c.send(
        &requester,
        TxKind::RequestProof {
            program,
            input: INPUT.to_vec(),
            reward: balance,
        },
    );
    assert_eq!(r.code, 10, "insufficient_balance: {}", r.log);

    let r = c.send(
        &requester,
        TxKind::RequestProof {
            program,
            input: INPUT.to_vec(),
            reward: REWARD,
        },
    );
    assert_eq!(r.code, 0, "{}", r.log);
    let after_request = c.balance(&requester);
    let job = c.job(0);
    while (c.height as u64) < job.expires_at - 1 {
        c.block(vec![]);
    }
    assert_eq!(c.job(0).status, JobStatus::Open);
    c.block(vec![]);
    assert_eq!(
        c.job(0).status,
        JobStatus::Expired {
            height: job.expires_at
        }
    );
    assert_eq!(c.balance(&requester), after_request + REWARD);
}

#[test]
fn four_validators_verify_the_proof_agree_and_threshold_sign_the_output() {
    use support::sim::{assert_verifies, params, Net};
    let f = fixture();
    let mut net = Net::new(4, 0, params(1000));
    net.until_key(12);
    let program = nexus_zkvm_bridge::witness::sha256(&f.elf);
    let txs = vec![
        net.alice_tx(TxKind::DeployZk { elf: f.elf.clone() }),
        net.alice_tx(TxKind::RegisterProver),
        net.alice_tx(TxKind::RequestProof {
            program,
            input: INPUT.to_vec(),
            reward: REWARD,
        }),
    ];
    let resp = net.block(txs);
    for r in resp.tx_results.iter().rev().take(3) {
        assert_eq!(r.code, 0, "{}", r.log);
    }
    let submit = net.alice_tx(TxKind::SubmitProof {
        job: 0,
        proof: f.proof.clone(),
    });
    let hash = nexus_consensus::tx::tx_hash(&submit);
    // `block` checks that every validator computed the same app hash.
    let resp = net.block(vec![submit]);
    let r = resp.tx_results.last().unwrap();
    assert_eq!(r.code, 0, "{}", r.log);
    let id = nexus_consensus::threshold::state::outbox_id(&hash, 0);
    let (out, _) = net.until_signed(&id, 6);
    assert_eq!(out.item.output, OUTPUT);
    assert_eq!(out.item.function, zk::outbox_function(&program));
    assert_verifies(&net, &out, &net.group_key().unwrap().group_key);
}

#[test]
fn a_proposal_carries_no_more_proofs_than_a_block_verifies() {
    let mut c = Chain::new();
    c.block(vec![]);
    let prover = c.prover.clone();
    let max = ZkParams::default().max_proofs_per_block as usize;
    let (offered, proposed) = c.propose_proofs(&prover, max + 2);
    assert_eq!(proposed, offered[..max].to_vec());
}

#[test]
fn the_zk_limits_and_prices_are_the_genesis_parameters() {
    let zk = ZkParams {
        max_proofs_per_block: 2,
        job_ttl_blocks: 3,
        max_input_bytes: 8,
        verify_fuel: 123_456_789,
        ..ZkParams::default()
    };
    let mut c = Chain::with_params(ChainParams {
        zk: zk.clone(),
        ..ChainParams::default()
    });
    let f = fixture();
    let (requester, prover) = (c.requester.clone(), c.prover.clone());
    assert_eq!(
        c.send(&requester, TxKind::DeployZk { elf: f.elf.clone() })
            .code,
        0
    );
    assert_eq!(c.send(&prover, TxKind::RegisterProver).code, 0);
    let program = nexus_zkvm_bridge::witness::sha256(&f.elf);
    let request = |input: &[u8]| TxKind::RequestProof {
        program,
        input: input.to_vec(),
        reward: REWARD,
    };
    let r = c.refused(&requester, request(b"nine byte"));
    assert_eq!(r.code, CODE_ZK);
    assert!(r.log.contains("zk.max_input_bytes"), "{}", r.log);
    let r = c.send(&requester, request(INPUT));
    assert_eq!(r.code, 0, "{}", r.log);
    let job = c.job(0);
    assert_eq!(job.expires_at, job.requested_at + 3);

    // A proof that does not verify still pays the chain's verification fuel.
    let r = c.send(
        &prover,
        TxKind::SubmitProof {
            job: 0,
            proof: vec![1; 64],
        },
    );
    assert_eq!(r.code, CODE_ZK);
    assert!(outcome(&r).fuel_used >= zk.verify_fuel, "{:?}", outcome(&r));

    // Proposals carry the chain's number of proofs.
    let (offered, proposed) = c.propose_proofs(&prover, 4);
    assert_eq!(proposed, offered[..2].to_vec());

    // And the job expires after the chain's lifetime.
    while (c.height as u64) < job.expires_at {
        c.block(vec![]);
    }
    assert!(matches!(c.job(0).status, JobStatus::Expired { .. }));
}
