//! With a real 4-validator devnet (see `main.rs`).

use std::time::{Duration, Instant};

use alloy::primitives::{Address, U256};
use nexus_cli::eth::relayer::consumer_result;
use nexus_cli::eth::EthClient;
use nexus_threshold::contracts::{ExampleConsumer, NexusGateway};

use super::devnet::Devnet;
use super::geth::Geth;
use super::{support, FINALITY_TIMEOUT};

/// With a real Nexus devnet: `nexus eth deploy-gateway` refuses a gateway the network's
/// signatures cannot reach (a devnet signs for its default domain), deploys with the network's
/// proven group key when told to anyway, and the relayer reads a real signed outbox item from
#[test]
fn deploy_gateway_takes_the_key_of_a_real_network() {
    let net = Devnet::up(4, 29500, &[]);
    let info = net.wait_for_group_key(0, FINALITY_TIMEOUT);
    let geth = Geth::start();
    let key = geth.funded_key();
    let key_hex = hex::encode(key.to_bytes());
    let node = net.rpc(0);
    let deploy = |extra: &[&str]| {
        let mut args: Vec<&str> = vec![
            "eth",
            "deploy-gateway",
            "--eth-rpc",
            &geth.url,
            "--from-key",
            &key_hex,
            "--node",
            &node,
        ];
        args.extend_from_slice(extra);
        support::nexus(&args, b"")
    };
    let out = deploy(&[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("the network signs for gateway"), "{stderr}");

    let out = deploy(&["--allow-domain-mismatch"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |name: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {stdout}"))
            .trim()
            .to_string()
    };
    let gateway: Address = field("gateway:").parse().unwrap();
    let consumer: Address = field("consumer:").parse().unwrap();
    let eth = EthClient::connect(&geth.url, None).unwrap();
    assert_eq!(
        eth.call(gateway, &NexusGateway::keyXCall {}).unwrap(),
        U256::from_be_bytes(info.eth_key_x)
    );
    assert_eq!(
        eth.call(gateway, &NexusGateway::epochCall {}).unwrap(),
        info.epoch
    );
    assert!(eth.has_code(consumer).unwrap());

    // A real output of the network, threshold-signed, read and checked by the relayer.
    net.deploy_counter();
    let (id, _) = net.invoke_counter_for_output(0);
    let id_hex = hex::encode(id);
    let start = Instant::now();
    while net
        .client(0)
        .output(&id)
        .unwrap()
        .and_then(|o| o.signature)
        .is_none()
    {
        assert!(start.elapsed() < FINALITY_TIMEOUT, "output not signed");
        std::thread::sleep(Duration::from_millis(500));
    }
    // The relayer, once, for one outbox id: it must fail with `expected` on stderr.
    let relayer_fails = |id: &str, expected: &str| {
        let gateway = gateway.to_string();
        let args = [
            "relayer",
            "--eth-rpc",
            &geth.url,
            "--from-key",
            &key_hex,
            "--gateway",
            &gateway,
            "--node",
            &node,
            "--id",
            id,
            "--once",
        ];
        let out = support::nexus(&args, b"");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "relayer --id {id} succeeded");
        assert!(stderr.contains(expected), "{stderr}");
    };
    relayer_fails(
        &id_hex,
        &format!("{id_hex}: gateway {gateway} has no request"),
    );
    let unknown = "cd".repeat(32);
    relayer_fails(&unknown, &format!("unknown outbox item {unknown}"));
}

/// The main job end to end: a contract's request on a real `geth --dev` is seen by the
/// validators' watchers in a finalized block, agreed through vote extensions, invoked on a real
/// 4-validator network, its answer threshold-signed, and `nexus relayer --request` delivers it
/// to the consumer through the gateway, which checks the network's signature. Then a validator
/// joins, the network rotates its key, and the relayer moves the gateway to the new key with the
/// network's own hand-over signature before delivering the next answer.
#[test]
fn a_gateway_request_is_answered_by_the_network_and_delivered_to_the_consumer() {
    let geth = Geth::start();
    // The deployer's first contract is the gateway: the network signs for that address.
    let deployer = geth.funded_key();
    let deployer_hex = hex::encode(deployer.to_bytes());
    let gateway = deployer.address().create(0);
    let eth = EthClient::connect(&geth.url, None).unwrap();
    let mut net = Devnet::up(
        4,
        29600,
        &[
            "--epoch-length",
            "4",
            "--eth-rpc",
            &geth.url,
            "--eth-gateway",
            &gateway.to_string(),
            "--eth-chain-id",
            &eth.chain_id().to_string(),
        ],
    );
    net.deploy_counter();
    net.wait_for_group_key(0, FINALITY_TIMEOUT);
    let node = net.rpc(0);
    let deployed = support::ok_stdout(&[
        "eth",
        "deploy-gateway",
        "--eth-rpc",
        &geth.url,
        "--from-key",
        &deployer_hex,
        "--node",
        &node,
    ]);
    let field = |name: &str| {
        deployed
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap_or_else(|| panic!("no {name} in {deployed}"))
            .trim()
            .to_string()
    };
    assert_eq!(field("gateway:").parse::<Address>().unwrap(), gateway);
    let consumer = field("consumer:");

    // `nexus eth request` by the user, and `nexus relayer` by the deployer, with the
    // arguments every call of this test shares.
    let user = geth.funded_key();
    let user_hex = hex::encode(user.to_bytes());
    let gateway_arg = gateway.to_string();
    let eth_request = |function: &str, extra: &[&str]| {
        let mut args: Vec<&str> = vec![
            "eth",
            "request",
            "--eth-rpc",
            &geth.url,
            "--from-key",
            &user_hex,
            "--gateway",
            &gateway_arg,
            "--function",
            function,
            "--callback",
            &consumer,
        ];
        args.extend_from_slice(extra);
        support::ok_stdout(&args)
    };
    let relayer = |extra: &[&str]| {
        let mut args: Vec<&str> = vec![
            "relayer",
            "--eth-rpc",
            &geth.url,
            "--from-key",
            &deployer_hex,
            "--gateway",
            &gateway_arg,
            "--node",
            &node,
        ];
        args.extend_from_slice(extra);
        support::ok_stdout(&args)
    };

    // A user asks for counter(by 7), answered to the consumer contract.
    let asked = eth_request("counter", &["--input", r#"{"by": 7}"#]);
    assert!(asked.starts_with("request: 0\n"), "{asked}");

    // Finalized on Ethereum (geth --dev: every 32 blocks), agreed and invoked on Nexus.
    let start = Instant::now();
    let record = loop {
        if let Some(r) = net.client(1).gateway_request(0).unwrap() {
            break r;
        }
        assert!(
            start.elapsed() < FINALITY_TIMEOUT,
            "request 0 not taken in (Ethereum finalized {:?})",
            geth.finalized()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(record.error, None);
    assert_eq!(record.request.requester, user.address().0 .0);
    let shown = net.cli(2, &["query", "request", "0"]);
    assert!(shown.contains("answer     outbox"), "{shown}");

    // The relayer waits for the signature and fulfills; the consumer has the answer.
    let relayed = relayer(&["--request", "0"]);
    assert!(relayed.contains("fulfilled request 0"), "{relayed}");
    assert!(relayed.contains("callback succeeded"), "{relayed}");
    let answer = consumer_result(&eth, consumer.parse().unwrap(), U256::ZERO).unwrap();
    assert_eq!(answer, 7u64.to_be_bytes());
    // Delivered once: a second run finds it fulfilled and sends nothing.
    let again = relayer(&["--request", "0", "--once"]);
    assert!(again.contains("already fulfilled"), "{again}");
    // Every validator took the request in at the same height with the same answer.
    for i in 0..4 {
        assert_eq!(
            net.client(i).gateway_request(0).unwrap().as_ref(),
            Some(&record)
        );
    }

    // A fifth validator joins: a new group key, handed over by the old one.
    let old = net.client(0).group_key().unwrap().unwrap();
    net.add_validator(100_000_000);
    let start = Instant::now();
    let new = loop {
        if let Some(k) = net.client(0).group_key().unwrap() {
            if k.epoch > old.epoch && k.handover.is_some() {
                break k;
            }
        }
        assert!(start.elapsed() < FINALITY_TIMEOUT, "no key rotation");
        std::thread::sleep(Duration::from_millis(500));
    };
    let asked = eth_request("counter", &["--input", r#"{"by": 1}"#]);
    assert!(asked.starts_with("request: 1\n"), "{asked}");
    // And one for a function that does not exist: it fails on Nexus and is answered all the
    // same, with the error.
    let asked = eth_request("no-such-function", &["--callback-gas", "1000000"]);
    assert!(asked.starts_with("request: 2\n"), "{asked}");
    // The answers are signed by the new key; the relayer sees the gateway a key behind, submits
    // the network's hand-over (rotateKey: the gateway checks it against the old key), then
    // fulfills.
    let relayed = relayer(&["--request", "1", "--request", "2"]);
    assert!(
        relayed.contains("rotated gateway key to epoch"),
        "{relayed}"
    );
    assert!(relayed.contains("fulfilled request 1"), "{relayed}");
    assert!(
        relayed.contains("answered request 2 with its failure on Nexus (no function"),
        "{relayed}"
    );
    let gateway_epoch = eth.call(gateway, &NexusGateway::epochCall {}).unwrap();
    assert!(
        gateway_epoch >= new.epoch,
        "gateway at epoch {gateway_epoch}"
    );
    let answer = consumer_result(&eth, consumer.parse().unwrap(), U256::from(1)).unwrap();
    assert_eq!(answer, 8u64.to_be_bytes(), "7 from request 0, plus 1");
    let consumer: Address = consumer.parse().unwrap();
    let error = consumer_result(&eth, consumer, U256::from(2)).unwrap();
    assert!(
        String::from_utf8_lossy(&error).contains("no function"),
        "{error:?}; relayer said: {relayed}"
    );
    assert!(eth
        .call(consumer, &ExampleConsumer::failedCall { id: U256::from(2) })
        .unwrap());
    assert!(!eth
        .call(consumer, &ExampleConsumer::failedCall { id: U256::from(1) })
        .unwrap());
}
