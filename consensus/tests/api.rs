//! The node's HTTP/JSON API, served on 127.0.0.1 with an ephemeral port over state built by
//! driving the real ABCI application (real counter and notes modules, a real RocksDB store):
//! values match the ledger and the runtime, every proof verifies against the app hash, bad input
//! is 400, unknown things are 404, and the OpenAPI document lists exactly the served routes.

use base64::Engine as _;
use bytes::Bytes;
use nexus_consensus::address::AccountKey;
use nexus_consensus::api::{self, ApiServer, MAX_URI_BYTES};
use nexus_consensus::genesis::{power_of, AppGenesis, GenesisAccount, GenesisValidator};
use nexus_consensus::ledger::{self, Account, ActiveSet, Validator};
use nexus_consensus::query::{verify_file, verify_key, VerifyError};
use nexus_consensus::tx::{FunctionSpec, TxBody, TxKind};
use nexus_consensus::{ChainParams, NexusApp};
use nexus_runtime::{Engine, FunctionRecord, Runtime};
use nexus_store::Store;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::PathBuf;

#[path = "support/zk_guest.rs"]
mod zk_guest;
use std::sync::Arc;
use tendermint_abci::Application;
use tendermint_proto::v0_38::abci::{RequestFinalizeBlock, RequestInitChain};

const CHAIN: &str = "nexus-api-test";
const STAKE: u128 = 10_000_000;
const FUNDS: u128 = 1_000_000_000_000;

fn guest(name: &str) -> Vec<u8> {
    let dir = std::env::var("NEXUS_GUESTS_DIR").expect(
        "NEXUS_GUESTS_DIR must point at built guests (deploy/build-examples.sh; . deploy/env.sh)",
    );
    let path = PathBuf::from(dir).join(format!("{name}.wasm"));
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run deploy/build-examples.sh", path.display()))
}

struct Node {
    app: NexusApp,
    api: ApiServer,
    agent: ureq::Agent,
    alice: AccountKey,
    operator: AccountKey,
    consensus_key: [u8; 32],
    counter_wasm: Vec<u8>,
    /// App hash of the last committed block.
    app_hash: [u8; 32],
    _dir: tempfile::TempDir,
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

fn spec(name: &str, code: Vec<u8>) -> FunctionSpec {
    FunctionSpec {
        name: name.into(),
        version: "1".into(),
        code,
        args: vec![],
        env: vec![("NOTES_ROOT".into(), "notes".into())],
        fuel: None,
        memory_pages: None,
    }
}

fn invoke(function: &str, input: &str) -> TxKind {
    TxKind::Invoke {
        function: function.into(),
        input: input.as_bytes().to_vec(),
    }
}

/// Finalizes and commits block `height`; every transaction must succeed. Returns the app hash.
fn commit_block(app: &NexusApp, height: u64, txs: Vec<Bytes>) -> [u8; 32] {
    let height = height as i64;
    let resp = app.finalize_block(RequestFinalizeBlock {
        txs,
        height,
        hash: vec![height as u8; 32].into(),
        time: Some(tendermint_proto::google::protobuf::Timestamp {
            seconds: 1_700_000_000 + height,
            nanos: 0,
        }),
        ..Default::default()
    });
    for r in &resp.tx_results {
        assert_eq!(r.code, 0, "{}", r.log);
    }
    app.commit();
    resp.app_hash.to_vec().try_into().unwrap()
}

/// A node after genesis and, with `blocks`, two blocks: deploys of `counter` and `notes` by
/// alice, then `counter` += 5 and the note `notes/work/todo.txt`.
fn node(blocks: bool) -> Node {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("state")).unwrap());
    let app = NexusApp::new(store.clone(), Runtime::new(Engine::new().unwrap()).unwrap());
    let validator = ed25519_dalek::SigningKey::from_bytes(&[3u8; 32]);
    let operator = AccountKey::from_bytes(&[1u8; 32]).unwrap();
    let alice = AccountKey::from_bytes(&[2u8; 32]).unwrap();
    let genesis = AppGenesis {
        accounts: vec![
            GenesisAccount {
                address: alice.address(),
                balance: FUNDS,
            },
            GenesisAccount {
                address: operator.address(),
                balance: FUNDS,
            },
        ],
        validators: vec![GenesisValidator {
            operator: operator.address(),
            consensus_key: validator.verifying_key().to_bytes(),
            stake: STAKE,
        }],
        params: ChainParams::default(),
    };
    let init = app.init_chain(RequestInitChain {
        chain_id: CHAIN.into(),
        app_state_bytes: serde_json::to_vec(&genesis).unwrap().into(),
        initial_height: 1,
        ..Default::default()
    });
    let mut app_hash: [u8; 32] = init.app_hash.to_vec().try_into().unwrap();
    let counter_wasm = guest("counter");
    if blocks {
        let txs = [
            vec![
                tx(
                    &alice,
                    0,
                    TxKind::Deploy(spec("counter", counter_wasm.clone())),
                ),
                tx(&alice, 1, TxKind::Deploy(spec("notes", guest("notes")))),
            ],
            vec![
                tx(&alice, 2, invoke("counter", r#"{"by": 5}"#)),
                tx(
                    &alice,
                    3,
                    invoke(
                        "notes",
                        r#"{"cmd": "add", "topic": "work", "title": "todo", "text": "buy milk\n"}"#,
                    ),
                ),
            ],
        ];
        for (i, txs) in txs.into_iter().enumerate() {
            app_hash = commit_block(&app, i as u64 + 1, txs);
        }
    }
    let api = ApiServer::start(store, "127.0.0.1:0").unwrap();
    Node {
        app,
        api,
        agent: ureq::AgentBuilder::new()
            .timeout(std::time::Duration::from_secs(30))
            .build(),
        alice,
        operator,
        consensus_key: validator.verifying_key().to_bytes(),
        counter_wasm,
        app_hash,
        _dir: dir,
    }
}

impl Node {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.api.local_addr())
    }

    /// Status code and JSON body of `GET path`.
    fn get(&self, path: &str) -> (u16, Value) {
        let resp = match self.agent.get(&self.url(path)).call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("GET {path}: {e}"),
        };
        let status = resp.status();
        let content_type = resp.content_type().to_string();
        let body: Value = resp.into_json().unwrap();
        assert_eq!(content_type, "application/json", "GET {path}");
        (status, body)
    }

    fn ok(&self, path: &str) -> Value {
        let (status, body) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {body}");
        assert_eq!(body["height"], self.height(), "GET {path}");
        assert_eq!(body["app_hash"], hex::encode(self.app_hash), "GET {path}");
        body
    }

    fn error(&self, path: &str, status: u16) -> Value {
        let (got, body) = self.get(path);
        assert_eq!(got, status, "GET {path}: {body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
        body
    }

    fn height(&self) -> u64 {
        self.app.store().latest_height()
    }
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap_or_else(|| panic!("{v} is not a string"))).unwrap()
}

/// Checks a `KeyProof` against `app_hash`; returns the proven value.
fn verified(app_hash: [u8; 32], proof: &Value) -> Option<Vec<u8>> {
    let value = (!proof["value"].is_null()).then(|| unhex(&proof["value"]));
    verify_key(
        app_hash,
        &unhex(&proof["key"]),
        value.as_deref(),
        &unhex(&proof["proof"]),
    )
    .unwrap();
    value
}

#[test]
fn status_reports_the_latest_height_app_hash_and_a_proven_chain_id() {
    let n = node(true);
    let body = n.ok("/v1/status");
    assert_eq!(body["height"], 2);
    assert_eq!(body["chain_id"], CHAIN);
    assert_eq!(
        verified(n.app_hash, &body["proof"]).unwrap(),
        CHAIN.as_bytes()
    );
}

#[test]
fn before_the_first_block_the_api_is_unavailable() {
    let n = node(false);
    n.error("/v1/status", 503);
    n.error(&format!("/v1/accounts/{}", n.alice.address()), 503);
}

#[test]
fn an_account_answer_matches_the_ledger_and_its_proof_verifies() {
    let n = node(true);
    let alice = n.alice.address();
    let body = n.ok(&format!("/v1/accounts/{alice}"));
    let stored: Account = borsh::from_slice(
        &n.app
            .store()
            .get_at(&ledger::account_key(&alice), n.height())
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(body["address"], alice.to_string());
    assert_eq!(body["nonce"], 4);
    assert_eq!(body["balance"], stored.balance.to_string());
    assert!(stored.balance < FUNDS, "fees were paid");
    let proven: Account =
        borsh::from_slice(&verified(n.app_hash, &body["proof"]).unwrap()).unwrap();
    assert_eq!(proven, stored);
}

#[test]
fn an_unknown_address_is_an_empty_account_proven_unset() {
    let n = node(true);
    let body = n.ok("/v1/accounts/0x00000000000000000000000000000000000000ff");
    assert_eq!(body["balance"], "0");
    assert_eq!(body["nonce"], 0);
    assert_eq!(verified(n.app_hash, &body["proof"]), None);
}

#[test]
fn validators_show_the_genesis_validator_with_its_stake_and_power() {
    let n = node(true);
    let body = n.ok("/v1/validators");
    let list = body["validators"].as_array().unwrap();
    assert_eq!(list.len(), 1);
    let v = &list[0];
    assert_eq!(v["operator"], n.operator.address().to_string());
    assert_eq!(v["consensus_key"], hex::encode(n.consensus_key));
    assert_eq!(v["active"], true);
    assert_eq!(v["jailed_until"], Value::Null);
    assert_eq!(v["tombstoned"], false);
    let record: Validator = borsh::from_slice(&verified(n.app_hash, &v["proof"]).unwrap()).unwrap();
    // The genesis self-stake plus the fee rewards compounded into it since.
    assert!(record.tokens >= STAKE, "{} < {STAKE}", record.tokens);
    assert_eq!(v["tokens"], record.tokens.to_string());
    let active: ActiveSet =
        borsh::from_slice(&verified(n.app_hash, &body["active_set_proof"]).unwrap()).unwrap();
    assert_eq!(active.members[0].power, power_of(STAKE));
    assert_eq!(v["power"], active.members[0].power);
}

#[test]
fn a_function_record_shows_owner_code_hash_and_version_and_its_proof_verifies() {
    let n = node(true);
    let body = n.ok("/v1/functions/counter");
    assert_eq!(body["name"], "counter");
    assert_eq!(body["version"], "1");
    assert_eq!(body["owner"], n.alice.address().to_string());
    assert_eq!(
        body["code_hash"],
        hex::encode(Sha256::digest(&n.counter_wasm))
    );
    assert_eq!(body["deployed_height"], 1);
    assert_eq!(body["env"][0]["name"], "NOTES_ROOT");
    let record: FunctionRecord =
        borsh::from_slice(&verified(n.app_hash, &body["proof"]).unwrap()).unwrap();
    assert_eq!(
        hex::encode(record.code_hash),
        body["code_hash"].as_str().unwrap()
    );
}

#[test]
fn a_kv_value_is_returned_in_hex_with_a_proof() {
    let n = node(true);
    let body = n.ok(&format!(
        "/v1/functions/counter/kv/{}",
        hex::encode("count")
    ));
    assert_eq!(body["value"], hex::encode(5u64.to_le_bytes()));
    assert_eq!(
        verified(n.app_hash, &body["proof"]).unwrap(),
        5u64.to_le_bytes()
    );
}

#[test]
fn an_unset_kv_key_is_404_with_a_proof_of_absence() {
    let n = node(true);
    let body = n.error(
        &format!("/v1/functions/counter/kv/{}", hex::encode("nope")),
        404,
    );
    assert_eq!(body["height"], 2);
    assert_eq!(verified(n.app_hash, &body["proof"]), None);
}

#[test]
fn a_file_is_returned_in_base64_and_verifies_by_replaying_the_read() {
    let n = node(true);
    let path = "notes/work/todo.txt";
    let body = n.ok(&format!("/v1/functions/notes/fs/{path}"));
    assert_eq!(body["kind"], "file");
    assert_eq!(body["size"], 9);
    let content = base64::engine::general_purpose::STANDARD
        .decode(body["content"].as_str().unwrap())
        .unwrap();
    assert_eq!(content, b"buy milk\n");
    let proven = verify_file(n.app_hash, "notes", path, &unhex(&body["proof"])).unwrap();
    assert_eq!(proven, content);
}

#[test]
fn a_directory_is_listed_and_its_proof_shows_it_is_a_directory() {
    let n = node(true);
    let root = n.ok("/v1/functions/notes/fs");
    assert_eq!(root["kind"], "dir");
    assert_eq!(root["entries"][0]["name"], "notes");
    assert_eq!(root["entries"][0]["is_dir"], true);
    let work = n.ok("/v1/functions/notes/fs/notes/work");
    assert_eq!(work["entries"].as_array().unwrap().len(), 1);
    assert_eq!(work["entries"][0]["name"], "todo.txt");
    assert_eq!(work["entries"][0]["size"], 9);
    match verify_file(n.app_hash, "notes", "notes/work", &unhex(&work["proof"])) {
        Err(VerifyError::Inspect(e)) => assert!(e.contains("is a directory"), "{e}"),
        other => panic!("expected a proven `is a directory`, got {other:?}"),
    }
}

#[test]
fn an_output_carries_its_batch_inclusion_proof_and_both_state_proofs_verify() {
    use nexus_consensus::threshold::state::{outbox_id, OutboxItem, OutputBatch};
    let n = node(true);
    // The counter invocation of block 2 (transactions sign deterministically, RFC 6979).
    let raw = tx(&n.alice, 2, invoke("counter", r#"{"by": 5}"#));
    let id = outbox_id(&nexus_consensus::tx::tx_hash(&raw), 0);
    let body = n.ok(&format!("/v1/outputs/0x{}", hex::encode(id)));
    assert_eq!(body["id"], hex::encode(id));
    assert_eq!(body["function"], "counter");
    assert_eq!(body["output"], hex::encode(5u64.to_be_bytes()));
    assert_eq!(body["nexus_height"], 2);
    assert!(
        body["signature"].is_null(),
        "a node without validator duties runs no DKG: nothing is signed"
    );
    let item: OutboxItem =
        borsh::from_slice(&verified(n.app_hash, &body["item_proof"]).unwrap()).unwrap();
    let batch: OutputBatch =
        borsh::from_slice(&verified(n.app_hash, &body["batch_proof"]).unwrap()).unwrap();
    assert_eq!(item.output, 5u64.to_be_bytes());
    assert_eq!(batch.height, 2);
    assert_eq!(
        hex::encode(batch.root),
        body["batch_root"].as_str().unwrap()
    );
    assert_eq!(batch.leaves[item.batch_index as usize], item.leaf());
    let proof: Vec<[u8; 32]> = body["inclusion_proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| unhex(p).try_into().unwrap())
        .collect();
    assert_eq!(
        nexus_threshold::batch::process_proof(&item.leaf(), &proof),
        batch.root
    );
    n.error(&format!("/v1/outputs/{}", hex::encode([9u8; 32])), 404);
    n.error("/v1/outputs/1234", 400);
    n.error("/v1/outputs/not-hex", 400);
}

#[test]
fn a_zk_job_shows_its_program_reward_and_status_with_a_proof() {
    use nexus_consensus::zk::state::ZkJob;
    let n = node(true);
    let elf = zk_guest::build_echo(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")));
    let program = Sha256::digest(&elf).into();
    let height = n.height();
    commit_block(
        &n.app,
        height + 1,
        vec![tx(&n.alice, 4, TxKind::DeployZk { elf })],
    );
    let app_hash = commit_block(
        &n.app,
        height + 2,
        vec![tx(
            &n.alice,
            5,
            TxKind::RequestProof {
                program,
                input: b"hello".to_vec(),
                reward: 1_000,
            },
        )],
    );
    let (status, body) = n.get("/v1/zk/jobs/0");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["program"], hex::encode(program));
    assert_eq!(body["input"], hex::encode(b"hello"));
    assert_eq!(body["requester"], n.alice.address().to_string());
    assert_eq!(body["reward"], "1000");
    assert_eq!(body["status"], "open");
    assert!(body["result"].is_null());
    assert_eq!(body["app_hash"], hex::encode(app_hash));
    let job: ZkJob = borsh::from_slice(&verified(app_hash, &body["proof"]).unwrap()).unwrap();
    assert_eq!(job.program, program);
    assert_eq!(job.expires_at, body["expires_at"].as_u64().unwrap());
    let (status, _) = n.get("/v1/zk/jobs/1");
    assert_eq!(status, 404);
    let (status, _) = n.get("/v1/zk/jobs/x");
    assert_eq!(status, 400);
}

#[test]
fn bad_input_is_400_with_a_json_error() {
    let n = node(true);
    n.error("/v1/accounts/alice", 400);
    n.error("/v1/accounts/0x1234", 400);
    n.error("/v1/functions/Not_A_Name", 400);
    n.error("/v1/functions/counter/kv/zz", 400);
    let long_key = hex::encode(vec![7u8; nexus_runtime::limits::MAX_KV_KEY_BYTES + 1]);
    n.error(&format!("/v1/functions/counter/kv/{long_key}"), 400);
    // `..` reaches the handler percent-encoded inside one segment (clients fold literal ones).
    n.error("/v1/functions/notes/fs/notes/..%2Fsecret", 400);
    let long_path = "a/".repeat(MAX_URI_BYTES / 2 + 1);
    n.error(&format!("/v1/functions/notes/fs/{long_path}"), 400);
    let long_file = "a".repeat(nexus_vfs::MAX_PATH_BYTES + 1);
    n.error(&format!("/v1/functions/notes/fs/{long_file}"), 400);
}

#[test]
fn unknown_routes_functions_and_files_are_404() {
    let n = node(true);
    n.error("/v1/nothing", 404);
    n.error("/v1/functions/absent", 404);
    n.error(
        &format!("/v1/functions/absent/kv/{}", hex::encode("count")),
        404,
    );
    n.error("/v1/functions/absent/fs/x", 404);
    n.error("/v1/functions/notes/fs/notes/play/none.txt", 404);
}

#[test]
fn writes_are_refused_because_the_api_is_read_only() {
    let n = node(true);
    let resp = n.agent.post(&n.url("/v1/status")).send_string("{}");
    match resp {
        Err(ureq::Error::Status(405, r)) => {
            let body: Value = r.into_json().unwrap();
            assert!(body["error"].as_str().unwrap().contains("read-only"));
        }
        other => panic!("expected 405, got {other:?}"),
    }
}

const HTTP_METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[test]
fn the_openapi_document_lists_every_served_route_and_only_those() {
    let n = node(true);
    let (status, doc) = n.get("/openapi.json");
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            if HTTP_METHODS.contains(&method.as_str()) {
                documented.insert((method.clone(), path.clone()));
            }
        }
    }
    let served: BTreeSet<(String, String)> = api::served_routes()
        .into_iter()
        .map(|(m, p)| (m.to_string(), p))
        .collect();
    assert_eq!(served, documented);
    // The limits the document states are the ones enforced.
    let text = doc.to_string();
    for limit in [
        format!(
            "at most {} bytes: MAX_KV_KEY_BYTES",
            nexus_runtime::limits::MAX_KV_KEY_BYTES
        ),
        format!(
            "at most {} bytes: MAX_PATH_BYTES",
            nexus_vfs::MAX_PATH_BYTES
        ),
    ] {
        assert!(text.contains(&limit), "the document should say {limit:?}");
    }
    // Every documented response body names a schema the document defines.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "StatusResponse",
        "AccountResponse",
        "ValidatorsResponse",
        "FunctionResponse",
        "KvResponse",
        "FsResponse",
        "ErrorBody",
        "KeyProof",
    ] {
        assert!(schemas.contains_key(name), "schema {name} is missing");
    }
}

#[test]
fn answers_read_while_blocks_commit_are_each_consistent_with_their_height() {
    let n = node(true);
    let alice = n.alice.address();
    let bob = n.operator.address();
    let path = format!("/v1/accounts/{alice}");
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut answers = Vec::new();
            for _ in 0..40 {
                let (status, body) = n.get(&path);
                assert_eq!(status, 200, "{body}");
                answers.push(body);
            }
            answers
        });
        for height in 3..=8u64 {
            let transfer = TxKind::Transfer { to: bob, amount: 1 };
            commit_block(&n.app, height, vec![tx(&n.alice, height + 1, transfer)]);
        }
        let answers = reader.join().unwrap();
        let mut last = 0;
        for body in answers {
            let height = body["height"].as_u64().unwrap();
            assert!(height >= last, "heights never go back");
            last = height;
            let root = n.app.store().root_hash_at(height).unwrap();
            assert_eq!(body["app_hash"], hex::encode(root));
            let account: Account =
                borsh::from_slice(&verified(root, &body["proof"]).unwrap()).unwrap();
            assert_eq!(body["nonce"], account.nonce);
            assert_eq!(body["balance"], account.balance.to_string());
            assert_eq!(account.nonce, height + 2, "nonce after block {height}");
        }
    });
}
