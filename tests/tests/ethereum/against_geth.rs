//! Against `geth --dev` only: the gateway with an in-process FROST group key (see `main.rs`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alloy::primitives::{keccak256, Address, Bytes, B256, U256};
use nexus_cli::eth::relayer::{
    consumer_result, deploy_contracts, send_request, Deployment, Relayed,
};
use nexus_cli::eth::{relay_item, EthClient, EthWatcher, WatcherConfig};
use nexus_consensus::ethereum::{GatewayRequest, RequestSource};
use nexus_consensus::threshold::state::{
    Handover, ItemSignature, OutboxItem, OutputBatch, SignedOutput,
};
use nexus_threshold::batch::OutputTree;
use nexus_threshold::contracts::{ExampleConsumer, NexusGateway};
use nexus_threshold::eth::{rotation_digest, BatchMessage, GroupKey};
use nexus_threshold::frost;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

use super::geth::Geth;
use super::{support, FINALITY_TIMEOUT};
const WATCH_INTERVAL: Duration = Duration::from_millis(200);
/// geth --dev's `finalized` block: the head rounded down to a multiple of this
/// (eth/catalyst/simulated_beacon.go, `devEpochLength`).
const GETH_DEV_EPOCH: u64 = 32;

/// A 2-of-3 FROST group key from a trusted dealer, redrawn until its y is even (the gateway's
/// convention, which Nexus DKGs normalise to).
struct Group {
    /// The epoch whose group key this is.
    epoch: u64,
    key_packages: Vec<frost::keys::KeyPackage>,
    public: frost::keys::PublicKeyPackage,
    rng: ChaCha20Rng,
}

impl Group {
    fn new(seed: u64, epoch: u64) -> Group {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        loop {
            let (shares, public) = frost::keys::generate_with_dealer(
                3,
                2,
                frost::keys::IdentifierList::Default,
                &mut rng,
            )
            .expect("dealer");
            if public.verifying_key().serialize().expect("key")[0] != 2 {
                continue;
            }
            let key_packages = shares
                .into_values()
                .map(|s| frost::keys::KeyPackage::try_from(s).expect("key package"))
                .collect();
            return Group {
                epoch,
                key_packages,
                public,
                rng,
            };
        }
    }

    fn compressed(&self) -> Vec<u8> {
        self.public.verifying_key().serialize().expect("key")
    }

    fn eth_key(&self) -> GroupKey {
        GroupKey::from_verifying_key(self.public.verifying_key()).expect("even key")
    }

    /// FROST(secp256k1, SHA-256) signature over `msg` by two of the three shares: R ‖ z.
    fn sign(&mut self, msg: &[u8]) -> Vec<u8> {
        let chosen = &self.key_packages[..2];
        let mut nonces = BTreeMap::new();
        let mut commitments = BTreeMap::new();
        for kp in chosen {
            let (n, c) = frost::round1::commit(kp.signing_share(), &mut self.rng);
            nonces.insert(*kp.identifier(), n);
            commitments.insert(*kp.identifier(), c);
        }
        let package = frost::SigningPackage::new(commitments, msg);
        let shares: BTreeMap<_, _> = chosen
            .iter()
            .map(|kp| {
                let share =
                    frost::round2::sign(&package, &nonces[kp.identifier()], kp).expect("share");
                (*kp.identifier(), share)
            })
            .collect();
        frost::aggregate(&package, &shares, &self.public)
            .expect("aggregate")
            .serialize()
            .expect("signature")
    }
}

/// The outbox item the network would hold for gateway request `id`, in a block's batch of three
/// outputs (the other two answer nothing on this gateway) whose root `group` signed.
fn signed_item(
    eth: &EthClient,
    d: &Deployment,
    group: &mut Group,
    id: u64,
    function_id: [u8; 32],
    output: &[u8],
) -> SignedOutput {
    signed_answer(eth, d, group, id, function_id, true, output)
}

/// [`signed_item`] with `success` chosen (false: the answer of a request that failed on Nexus).
fn signed_answer(
    eth: &EthClient,
    d: &Deployment,
    group: &mut Group,
    id: u64,
    function_id: [u8; 32],
    success: bool,
    output: &[u8],
) -> SignedOutput {
    let (nexus_height, epoch) = (40 + id, group.epoch);
    let item = OutboxItem {
        id: keccak256(id.to_be_bytes()).0,
        request_id: U256::from(id).to_be_bytes(),
        function: "echo".into(),
        function_id,
        output: output.to_vec(),
        output_hash: keccak256(output).0,
        success,
        nexus_height,
        batch_index: 1,
    };
    let leaves = vec![[0xa0; 32], item.leaf(), [0xa2; 32]];
    let root = OutputTree::new(&leaves).unwrap().root();
    let digest = BatchMessage {
        chain_id: eth.chain_id(),
        gateway: d.gateway.0 .0,
        epoch,
        root,
        nexus_height,
    }
    .digest();
    let batch = OutputBatch {
        height: nexus_height,
        leaves,
        root,
        signature: Some(ItemSignature {
            epoch,
            digest,
            signature: group.sign(&digest),
            height: nexus_height + 1,
        }),
    };
    SignedOutput::new(item, &batch).unwrap()
}

/// Polls the watcher until it reports `want` requests from 0, checking on every poll that what
/// it reports is finalized. Returns them and whether a poll saw a mined request not yet
/// reported because its block was not finalized.
fn watch_until(
    geth: &Geth,
    watcher: &EthWatcher,
    want: usize,
    last_block: u64,
) -> (Vec<GatewayRequest>, bool) {
    let start = Instant::now();
    let mut held_back = false;
    loop {
        let got = watcher.requests_from(0, 16);
        // Read after: everything reported must be in a block finalized by now.
        let finalized = geth.finalized();
        for r in &got {
            assert!(
                finalized.is_some_and(|f| r.eth_block <= f),
                "request {} of block {} reported before finalization (finalized {finalized:?})",
                r.id,
                r.eth_block
            );
        }
        if got.len() < want && finalized.is_none_or(|f| f < last_block) {
            held_back = true;
        }
        if got.len() >= want {
            return (got, held_back);
        }
        assert!(
            start.elapsed() < FINALITY_TIMEOUT,
            "watcher reported {} of {want} requests within {FINALITY_TIMEOUT:?} (finalized {finalized:?})",
            got.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
#[test]
fn gateway_round_trip_against_geth() {
    let geth = Geth::start();
    let key = geth.funded_key();
    let relayer_address = key.address();
    let eth = EthClient::connect(&geth.url, Some(key)).expect("connect");
    let mut group = Group::new(7, 1);
    let d = deploy_contracts(&eth, &group.eth_key(), 1).expect("deploy");
    let watcher = EthWatcher::spawn_with(WatcherConfig {
        rpc_url: geth.url.clone(),
        gateway: d.gateway,
        poll_interval: WATCH_INTERVAL,
        from_block: d.block,
    })
    .expect("watcher");

    // Three requests: two through the consumer (called back), one straight from the account.
    let echo = keccak256(b"echo").0;
    let mut blocks = Vec::new();
    for input in [&b"first"[..], b"second"] {
        let receipt = eth
            .send(
                d.consumer,
                &ExampleConsumer::askCall {
                    functionId: B256::from(echo),
                    input: Bytes::copy_from_slice(input),
                },
            )
            .expect("ask");
        blocks.push(receipt.block_number.unwrap());
    }
    let direct =
        send_request(&eth, d.gateway, echo, b"third".to_vec(), Address::ZERO, 0).expect("request");
    assert_eq!(direct.id, U256::from(2u8));
    blocks.push(direct.block);

    let (got, held_back) = watch_until(&geth, &watcher, 3, direct.block);
    // geth --dev finalizes a block whose number is a multiple of GETH_DEV_EPOCH as it seals it;
    // any other block waits for the next such block.
    assert!(
        held_back || direct.block.is_multiple_of(GETH_DEV_EPOCH),
        "never saw a mined request held back for finality (is `finalized` the head?)"
    );
    let ids: Vec<u64> = got.iter().map(|r| r.id).collect();
    assert_eq!(ids, vec![0, 1, 2], "in order, contiguous");
    for (r, (input, block)) in got.iter().zip([
        (&b"first"[..], blocks[0]),
        (b"second", blocks[1]),
        (b"third", blocks[2]),
    ]) {
        assert_eq!(r.input, input);
        assert_eq!(r.function_id, echo);
        assert_eq!(r.eth_block, block);
    }
    assert_eq!(got[0].requester, d.consumer.0 .0);
    assert_eq!(got[0].callback, d.consumer.0 .0);
    assert_eq!(got[2].requester, relayer_address.0 .0);
    assert_eq!(
        got[2].callback, relayer_address.0 .0,
        "no callback = the sender"
    );
    // The node took 0 in: the watcher forgets it.
    assert_eq!(watcher.requests_from(1, 16).len(), 2);
    assert!(watcher.requests_from(0, 16).is_empty());

    // Fulfill request 0 with an in-process signature: the consumer gets its callback.
    let item0 = signed_item(&eth, &d, &mut group, 0, echo, b"FIRST");
    let relayed = relay_item(&eth, d.gateway, &item0, &BTreeMap::new()).expect("relay 0");
    let Relayed::Fulfilled {
        callback_succeeded,
        rotated_to,
        ..
    } = relayed
    else {
        panic!("request 0 not fulfilled: {relayed:?}");
    };
    assert!(callback_succeeded);
    assert!(rotated_to.is_empty());
    assert_eq!(
        consumer_result(&eth, d.consumer, U256::ZERO).unwrap(),
        b"FIRST"
    );

    // A replay sends nothing (no gas), and a forced one is refused by the gateway.
    let nonce = geth.nonce(relayer_address);
    assert_eq!(
        relay_item(&eth, d.gateway, &item0, &BTreeMap::new()).expect("replay"),
        Relayed::AlreadyFulfilled
    );
    assert_eq!(geth.nonce(relayer_address), nonce, "a replay spent no gas");
    let sig = item0.signature.as_ref().unwrap();
    let forced = eth
        .send(
            d.gateway,
            &NexusGateway::fulfillCall {
                id: U256::ZERO,
                success: true,
                output: Bytes::from(item0.item.output.clone()),
                nexusHeight: item0.item.nexus_height,
                proof: item0.proof.iter().map(|p| B256::from(*p)).collect(),
                sig: nexus_cli::eth::relayer::gateway_signature(&sig.signature).unwrap(),
            },
        )
        .expect_err("replayed fulfill");
    assert!(format!("{forced:#}").contains("NotPending"), "{forced:#}");

    // An output or proof that is not what was signed is refused before anything is sent; a
    // signature that does not verify is refused by the gateway (InvalidSignature).
    let mut tampered = signed_item(&eth, &d, &mut group, 1, echo, b"SECOND");
    tampered.item.output = b"SECOND!".to_vec();
    tampered.item.output_hash = keccak256(&tampered.item.output).0;
    let e = relay_item(&eth, d.gateway, &tampered, &BTreeMap::new()).unwrap_err();
    assert!(format!("{e:#}").contains("not in its batch"), "{e:#}");
    let mut bad_proof = signed_item(&eth, &d, &mut group, 1, echo, b"SECOND");
    bad_proof.proof[0][0] ^= 1;
    let e = relay_item(&eth, d.gateway, &bad_proof, &BTreeMap::new()).unwrap_err();
    assert!(format!("{e:#}").contains("not in its batch"), "{e:#}");
    let mut other_domain = signed_item(&eth, &d, &mut group, 1, echo, b"SECOND");
    other_domain.signature.as_mut().unwrap().digest[0] ^= 1;
    let e = relay_item(&eth, d.gateway, &other_domain, &BTreeMap::new()).unwrap_err();
    assert!(format!("{e:#}").contains("signed for another"), "{e:#}");
    let mut forged = signed_item(&eth, &d, &mut group, 1, echo, b"SECOND");
    forged.signature.as_mut().unwrap().signature[64] ^= 1;
    let e = relay_item(&eth, d.gateway, &forged, &BTreeMap::new()).unwrap_err();
    assert!(format!("{e:#}").contains("InvalidSignature"), "{e:#}");
    let unknown = signed_item(&eth, &d, &mut group, 99, echo, b"x");
    let e = relay_item(&eth, d.gateway, &unknown, &BTreeMap::new()).unwrap_err();
    assert!(format!("{e:#}").contains("has no request 99"), "{e:#}");

    // The network moved to a new key (epoch 2): the relayer submits the hand-over first.
    let mut next = Group::new(8, 2);
    let handover_digest = rotation_digest(eth.chain_id(), d.gateway.0 .0, 2, &next.eth_key());
    let handovers = BTreeMap::from([(
        2,
        Handover {
            old_epoch: 1,
            new_epoch: 2,
            new_key: next.compressed(),
            digest: handover_digest,
            signature: group.sign(&handover_digest),
            height: 50,
        },
    )]);
    let item1 = signed_item(&eth, &d, &mut next, 1, echo, b"SECOND");
    let relayed = relay_item(&eth, d.gateway, &item1, &handovers).expect("relay 1");
    assert!(
        matches!(&relayed, Relayed::Fulfilled { rotated_to, callback_succeeded: true, .. } if rotated_to == &vec![2]),
        "{relayed:?}"
    );
    assert_eq!(eth.call(d.gateway, &NexusGateway::epochCall {}).unwrap(), 2);
    assert_eq!(
        consumer_result(&eth, d.consumer, U256::from(1u8)).unwrap(),
        b"SECOND"
    );

    // Request 2's callback is the account itself (no code): the call succeeds, nothing stored.
    let item2 = signed_item(&eth, &d, &mut next, 2, echo, b"THIRD");
    assert!(matches!(
        relay_item(&eth, d.gateway, &item2, &handovers).expect("relay 2"),
        Relayed::Fulfilled { .. }
    ));
    // An item signed by the old key can no longer be used on this gateway.
    let fourth =
        send_request(&eth, d.gateway, echo, b"fourth".to_vec(), Address::ZERO, 0).expect("request");
    let stale = signed_item(&eth, &d, &mut group, 3, echo, b"FOURTH");
    assert_eq!(fourth.id, U256::from(3u8));
    let e = relay_item(&eth, d.gateway, &stale, &handovers).unwrap_err();
    assert!(
        format!("{e:#}").contains("past the signature's epoch"),
        "{e:#}"
    );
    // A request that failed on Nexus is answered with its error: the consumer hears back.
    // (It stores the error: under geth's current gas schedule the default 200,000 gas does
    // not cover the new storage slots, so the request asks for more.)
    let fifth = send_request(
        &eth,
        d.gateway,
        echo,
        b"fifth".to_vec(),
        d.consumer,
        1_000_000,
    )
    .expect("request");
    assert_eq!(fifth.id, U256::from(4u8));
    let error = format!("no function with id 0x{}", hex::encode(echo));
    let failure = signed_answer(&eth, &d, &mut next, 4, echo, false, error.as_bytes());
    let relayed = relay_item(&eth, d.gateway, &failure, &handovers).expect("relay 4");
    assert!(
        matches!(
            relayed,
            Relayed::Fulfilled {
                success: false,
                callback_succeeded: true,
                ..
            }
        ),
        "{relayed:?}"
    );
    assert_eq!(
        consumer_result(&eth, d.consumer, U256::from(4u8)).unwrap(),
        error.as_bytes()
    );
}

/// The CLI commands against the same kind of geth: `nexus eth request` sends a request the
/// watcher's event decodes; the relayer refuses a gateway address without code and reports an
/// unreachable Nexus node.
#[test]
fn cli_commands_against_geth() {
    let geth = Geth::start();
    let key = geth.funded_key();
    let key_hex = hex::encode(key.to_bytes());
    let eth = EthClient::connect(&geth.url, Some(key.clone())).expect("connect");
    let d = deploy_contracts(&eth, &Group::new(9, 1).eth_key(), 1).expect("deploy");
    let gateway = d.gateway.to_string();
    let out = support::ok_stdout(&[
        "eth",
        "request",
        "--eth-rpc",
        &geth.url,
        "--from-key",
        &key_hex,
        "--gateway",
        &gateway,
        "--function",
        "echo",
        "--input",
        "hello",
    ]);
    assert!(out.starts_with("request: 0\n"), "{out}");
    let pending = eth
        .call(d.gateway, &NexusGateway::requestsCall { id: U256::ZERO })
        .unwrap();
    assert_eq!(
        pending.callback,
        key.address(),
        "callback defaults to the sender"
    );
    assert_eq!(pending.functionId.0, keccak256(b"echo").0);

    // `nexus eth watch --once` prints it once its block is finalized, not before.
    let start = Instant::now();
    let line = loop {
        let out = support::ok_stdout(&[
            "eth",
            "watch",
            "--eth-rpc",
            &geth.url,
            "--gateway",
            &gateway,
            "--from-block",
            &d.block.to_string(),
            "--once",
        ]);
        let finalized = geth.finalized().unwrap_or(0);
        if let Some(line) = out.lines().next() {
            break line.to_string();
        }
        assert!(
            start.elapsed() < FINALITY_TIMEOUT,
            "eth watch printed nothing (finalized {finalized})"
        );
        std::thread::sleep(Duration::from_secs(1));
    };
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(v["id"], 0, "{v}");
    assert_eq!(v["input"], format!("0x{}", hex::encode(b"hello")), "{v}");
    assert_eq!(v["requester"], key.address().to_string(), "{v}");
    assert_eq!(
        v["function_id"],
        format!("0x{}", hex::encode(keccak256(b"echo"))),
        "{v}"
    );
    let block = v["eth_block"].as_u64().unwrap();
    assert!(geth.finalized().is_some_and(|f| f >= block));

    let relayer = |gateway: &str, node: &str| {
        support::nexus(
            &[
                "relayer",
                "--eth-rpc",
                &geth.url,
                "--from-key",
                &key_hex,
                "--gateway",
                gateway,
                "--node",
                node,
                "--id",
                &"ab".repeat(32),
                "--once",
            ],
            b"",
        )
    };
    let dead_node = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://127.0.0.1:{}", l.local_addr().unwrap().port())
    };
    let out = relayer(&key.address().to_string(), &dead_node);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("no contract at gateway address"),
        "{stderr}"
    );
    let out = relayer(&gateway, &dead_node);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("reading outbox item"), "{stderr}");
}
