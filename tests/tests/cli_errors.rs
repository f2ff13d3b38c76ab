//! Bad input to the CLI gets a clear error and loses nothing.

mod support;

use support::*;

fn fails_with(args: &[&str], stdin: &[u8], needle: &str) {
    let out = nexus(args, stdin);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "nexus {args:?} should fail");
    assert!(
        stderr.contains(needle),
        "nexus {args:?}: {stderr:?} lacks {needle:?}"
    );
}

#[test]
fn missing_module_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    fails_with(
        &["run", "/nonexistent/x.wasm", "--state", state],
        b"",
        "reading module /nonexistent/x.wasm",
    );
}

#[test]
fn invalid_module_is_refused_and_commits_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("junk.wasm");
    std::fs::write(&module, b"\0asmjunk").unwrap();
    let state = dir.path().join("state");
    fails_with(
        &[
            "run",
            module.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ],
        b"",
        "invalid module",
    );
    // The good counter still starts at height 1 in the same state dir: nothing was committed.
    let r = run_json("counter", &state, b"{}");
    assert_eq!(r["height"], 1, "{r}");
}

#[test]
fn invalid_manifest_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("bad.toml");
    std::fs::write(&manifest, "name = \"Bad Name\"\nversion = \"1\"\n").unwrap();
    let module = guest("counter");
    fails_with(
        &[
            "run",
            module.to_str().unwrap(),
            "--manifest",
            manifest.to_str().unwrap(),
            "--state",
            dir.path().join("s").to_str().unwrap(),
        ],
        b"",
        "manifest",
    );
}

#[test]
fn oversized_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let module = guest("counter");
    let big = vec![b' '; (1 << 20) + 1];
    let out = nexus(
        &[
            "run",
            module.to_str().unwrap(),
            "--state",
            dir.path().to_str().unwrap(),
            "--input",
            "-",
            "--json",
        ],
        &big,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("MAX_INPUT_BYTES"), "{stdout}");
}

#[test]
fn inspecting_unknown_functions_and_missing_paths_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().to_str().unwrap();
    fails_with(
        &["fs", "ls", "notes", "/", "--state", state],
        b"",
        "not a Nexus state directory",
    );
    run_json("counter", dir.path(), b"{}");
    fails_with(
        &["fs", "ls", "nobody", "/", "--state", state],
        b"",
        "function `nobody` is not deployed",
    );
    fails_with(
        &["fs", "cat", "counter", "no/such/file", "--state", state],
        b"",
        "no/such/file",
    );
    fails_with(
        &["kv", "get", "nobody", "k", "--state", state],
        b"",
        "not deployed",
    );
}

#[test]
fn unset_key_is_proven_absent() {
    let dir = tempfile::tempdir().unwrap();
    run_json("counter", dir.path(), b"{}");
    let out = nexus(
        &[
            "kv",
            "get",
            "counter",
            "nope",
            "--state",
            dir.path().to_str().unwrap(),
        ],
        b"",
    );
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("non-membership proven"));
}

/// A loopback port nothing listens on.
const DEAD_NODE: &str = "http://127.0.0.1:9";

#[test]
fn network_commands_refuse_bad_input_before_signing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().to_str().unwrap();
    let out = nexus(&["keys", "new", "alice", "--keys-dir", keys], b"");
    assert!(out.status.success());
    fails_with(
        &["keys", "new", "alice", "--keys-dir", keys],
        b"",
        "already exists",
    );
    fails_with(
        &["keys", "new", "../evil", "--keys-dir", keys],
        b"",
        "must be 1-64 characters",
    );
    fails_with(
        &["keys", "show", "bob", "--keys-dir", keys],
        b"",
        "no key named `bob`",
    );
    fails_with(
        &[
            "transfer",
            "--to",
            "0x1234",
            "--amount",
            "5",
            "--from",
            "alice",
            "--keys-dir",
            keys,
        ],
        b"",
        "is not 0x followed by 40 hex digits",
    );
    let to = "0x0000000000000000000000000000000000000001";
    fails_with(
        &[
            "transfer",
            "--to",
            to,
            "--amount",
            "0",
            "--from",
            "alice",
            "--keys-dir",
            keys,
        ],
        b"",
        "--amount must be positive",
    );
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asmjunk").unwrap();
    fails_with(
        &[
            "deploy",
            junk.to_str().unwrap(),
            "--from",
            "alice",
            "--keys-dir",
            keys,
            "--node",
            DEAD_NODE,
        ],
        b"",
        "cannot be deployed",
    );
    fails_with(
        &[
            "invoke",
            "Not A Name",
            "--input",
            "x",
            "--from",
            "alice",
            "--keys-dir",
            keys,
            "--node",
            DEAD_NODE,
        ],
        b"",
        "function name",
    );
    fails_with(
        &[
            "invoke",
            "counter",
            "--input",
            "x",
            "--from",
            "alice",
            "--keys-dir",
            keys,
            "--node",
            DEAD_NODE,
        ],
        b"",
        "cannot reach the node at http://127.0.0.1:9",
    );
    fails_with(
        &["query", "account", to, "--node", DEAD_NODE],
        b"",
        "cannot reach the node",
    );
}

#[test]
fn devnet_refuses_impossible_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().join("net");
    let d = d.to_str().unwrap();
    fails_with(
        &["devnet", "up", "--dir", d, "--validators", "0"],
        b"",
        "a devnet has 1 to 32 validators",
    );
    fails_with(
        &[
            "devnet",
            "up",
            "--dir",
            d,
            "--validators",
            "4",
            "--base-port",
            "65500",
        ],
        b"",
        "leaves no room",
    );
    fails_with(
        &["devnet", "status", "--dir", d],
        b"",
        "run `nexus devnet up` first",
    );
}

#[test]
fn zk_network_commands_refuse_bad_input_before_signing_anything() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().to_str().unwrap();
    let program = "00".repeat(32);
    let rpc = dead_rpc();
    let tx = [
        "--from",
        "alice",
        "--keys-dir",
        keys,
        "--node",
        rpc.as_str(),
    ];
    let args = |head: &[&'static str]| -> Vec<String> {
        head.iter()
            .map(|s| s.to_string())
            .chain(tx.iter().map(|s| s.to_string()))
            .collect()
    };
    let run = |v: Vec<String>, needle: &str| {
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        fails_with(&v, b"", needle);
    };
    run(
        args(&["zk", "request", "abc", "--reward", "1"]),
        "program id must be 32 bytes of hex",
    );
    let mut zero = args(&["zk", "request"]);
    zero.splice(2..2, [program.clone(), "--reward".into(), "0".into()]);
    run(zero, "--reward must be positive");
    let junk = dir.path().join("junk");
    std::fs::write(&junk, b"\x7fELF").unwrap();
    let mut deploy = args(&["zk", "deploy"]);
    deploy.insert(2, junk.to_str().unwrap().to_string());
    run(deploy, "truncated ELF");
}

/// A loopback URL where nothing listens (the port was free a moment ago).
fn dead_rpc() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn ethereum_commands_refuse_bad_input() {
    const KEY: &str = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
    const GATEWAY: &str = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
    let rpc = dead_rpc();
    let request = |gateway: &str, key: &str, rpc: &str| {
        vec![
            "eth".to_string(),
            "request".into(),
            "--eth-rpc".into(),
            rpc.into(),
            "--from-key".into(),
            key.into(),
            "--gateway".into(),
            gateway.into(),
            "--function".into(),
            "echo".into(),
        ]
    };
    let run = |args: Vec<String>, needle: &str| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails_with(&args, b"", needle);
    };
    run(
        request("0x1234", KEY, &rpc),
        "--gateway \"0x1234\" is not an Ethereum address",
    );
    let mut greedy = request(GATEWAY, KEY, &rpc);
    greedy.extend(["--callback-gas".to_string(), "5000001".into()]);
    run(greedy, "--callback-gas is at most 5000000");
    run(
        request(GATEWAY, "not-a-key", &rpc),
        "neither a 32-byte hex private key nor a readable file",
    );
    run(
        request(GATEWAY, &"0".repeat(64), &rpc),
        "not a valid secp256k1 private key",
    );
    run(
        request(GATEWAY, KEY, &rpc),
        &format!("cannot reach the Ethereum RPC at {rpc}"),
    );
    run(request(GATEWAY, KEY, "not a url"), "bad Ethereum RPC URL");
    let relayer = |id: &str| {
        vec![
            "relayer".to_string(),
            "--eth-rpc".into(),
            rpc.clone(),
            "--from-key".into(),
            KEY.into(),
            "--gateway".into(),
            GATEWAY.into(),
            "--id".into(),
            id.into(),
            "--once".into(),
        ]
    };
    run(
        relayer("0xabcd"),
        "--id \"0xabcd\" is not a 32-byte hex outbox id",
    );
    run(
        relayer(&"ab".repeat(32)),
        &format!("cannot reach the Ethereum RPC at {rpc}"),
    );
    // The round-trip helpers: dev funding, the next CREATE address, a consumer's result.
    fails_with(
        &["eth", "fund", "0x12", "--eth-rpc", &rpc],
        b"",
        "ADDRESS \"0x12\" is not an Ethereum address",
    );
    fails_with(
        &["eth", "fund", GATEWAY, "--eth-rpc", &rpc, "--ether", "0"],
        b"",
        "--ether must be 1 ..=",
    );
    fails_with(
        &["eth", "fund", GATEWAY, "--eth-rpc", &rpc],
        b"",
        &format!("cannot reach the Ethereum RPC at {rpc}"),
    );
    fails_with(
        &[
            "eth",
            "next-address",
            "--eth-rpc",
            &rpc,
            "--from-key",
            "nope",
        ],
        b"",
        "neither a 32-byte hex private key nor a readable file",
    );
    fails_with(
        &["eth", "result", "--eth-rpc", &rpc, "--consumer", "0xq", "0"],
        b"",
        "--consumer \"0xq\" is not an Ethereum address",
    );
    // The relayer needs something to relay, and request ids are numbers.
    fails_with(
        &[
            "relayer",
            "--eth-rpc",
            &rpc,
            "--from-key",
            KEY,
            "--gateway",
            GATEWAY,
        ],
        b"",
        "required",
    );
    fails_with(
        &[
            "relayer",
            "--eth-rpc",
            &rpc,
            "--from-key",
            KEY,
            "--gateway",
            GATEWAY,
            "--request",
            "first",
        ],
        b"",
        "invalid value 'first' for '--request",
    );
    // A validator's Ethereum RPC must be a URL, and a gateway needs an address.
    let home = tempfile::tempdir().unwrap();
    let home_arg = home.path().join("n").display().to_string();
    fails_with(
        &[
            "node",
            "init",
            "--home",
            &home_arg,
            "--eth-rpc",
            "localhost:8545",
        ],
        b"",
        "is not an http:// or https:// URL",
    );
    assert!(
        !home.path().join("n").exists(),
        "nothing written for bad input"
    );
    let dir = home.path().join("d").display().to_string();
    fails_with(
        &[
            "devnet",
            "up",
            "--dir",
            &dir,
            "--eth-rpc",
            "http://127.0.0.1:1",
        ],
        b"",
        "--eth-gateway",
    );
    fails_with(
        &[
            "devnet",
            "up",
            "--dir",
            &dir,
            "--eth-rpc",
            "http://127.0.0.1:1",
            "--eth-gateway",
            "0x12",
        ],
        b"",
        "--eth-gateway",
    );
    assert!(
        !home.path().join("d").exists(),
        "nothing written for bad input"
    );
    fails_with(
        &[
            "eth",
            "watch",
            "--eth-rpc",
            &rpc,
            "--gateway",
            GATEWAY,
            "--once",
        ],
        b"",
        &format!("cannot reach the Ethereum RPC at {rpc}"),
    );
    fails_with(
        &[
            "eth",
            "watch",
            "--eth-rpc",
            &rpc,
            "--gateway",
            "0xzz",
            "--once",
        ],
        b"",
        "--gateway \"0xzz\" is not an Ethereum address",
    );
    fails_with(
        &[
            "eth",
            "deploy-gateway",
            "--eth-rpc",
            &rpc,
            "--from-key",
            KEY,
            "--node",
            &dead_rpc(),
        ],
        b"",
        "reading the group key from the Nexus node",
    );
}
