//! Gateway requests observed on Ethereum, agreed through vote extensions and invoked by the
//! app, on the simulated network of `support::sim` (validators' watchers are fed by hand).

#[path = "../../threshold/tests/common/mod.rs"]
mod evm;

mod support;

use nexus_consensus::ethereum::execute::request_id_word;
use nexus_consensus::ethereum::{EthState, RequestRecord};
use support::sim::*;

fn request(id: u64, function: &str, input: &[u8]) -> GatewayRequest {
    GatewayRequest {
        id,
        function_id: nexus_consensus::address::keccak256(function.as_bytes()),
        requester: [0x11; 20],
        callback: [0x22; 20],
        input: input.to_vec(),
        eth_block: 5,
    }
}

fn next_request(net: &Net) -> u64 {
    let mut view = net.reference().view();
    EthState::new(&mut view).next_request().unwrap()
}

fn record(net: &Net, id: u64) -> Option<RequestRecord> {
    let mut view = net.reference().view();
    EthState::new(&mut view).request(id).unwrap()
}

fn counter(net: &Net) -> u64 {
    let view = net.reference().view();
    let raw = nexus_runtime::inspect::kv_get(&view, "counter", b"count").unwrap();
    raw.map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
}

/// Runs blocks until the chain's next request id is `want` (a proposer whose own watcher has
/// not seen a request cannot carry it: the next one does); returns the blocks it took.
fn until_next_request(net: &mut Net, want: u64, max_blocks: usize) -> usize {
    for blocks in 0..=max_blocks {
        let next = next_request(net);
        assert!(next <= want, "took in {next}, more than the {want} agreed");
        if next == want {
            return blocks;
        }
        net.block(vec![]);
    }
    panic!("next request id not {want} within {max_blocks} blocks");
}

fn ready_net() -> Net {
    let mut net = Net::new(4, 0, params(1000));
    net.until_key(12);
    net.deploy_counter();
    net
}

#[test]
fn a_request_all_watchers_saw_is_invoked_and_its_answer_is_signed() {
    let mut net = ready_net();
    let r = request(0, "counter", br#"{"by": 5}"#);
    for n in &net.nodes {
        n.eth.see(r.clone());
    }
    // Reported in the extensions of the next height, taken in by the block after.
    net.block(vec![]);
    net.block(vec![]);
    assert_eq!(next_request(&net), 1);
    assert_eq!(counter(&net), 5);
    let rec = record(&net, 0).expect("the request is recorded");
    assert_eq!(rec.error, None);
    let id = rec.outbox_id.expect("its first output answers it");
    let (out, _) = net.until_signed(&id, 4);
    assert_eq!(out.item.request_id, request_id_word(0));
    assert_eq!(out.item.function_id, r.function_id);
    assert_eq!(out.item.output, 5u64.to_be_bytes());
    assert_verifies(&net, &out, &net.group_key().unwrap().group_key);
    // Taken in once: the same request seen again changes nothing.
    for _ in 0..3 {
        net.block(vec![]);
    }
    assert_eq!(counter(&net), 5);
}

#[test]
fn requests_wait_until_validators_with_more_than_two_thirds_report_them() {
    let mut net = ready_net();
    let r = request(0, "counter", b"{}");
    net.nodes[0].eth.see(r.clone());
    net.nodes[1].eth.see(r.clone());
    for _ in 0..4 {
        net.block(vec![]);
    }
    assert_eq!(next_request(&net), 0, "half of the power is not enough");
    assert_eq!(counter(&net), 0);
    net.nodes[2].eth.see(r);
    until_next_request(&mut net, 1, 6);
    assert_eq!(counter(&net), 1);
}

#[test]
fn the_agreed_prefix_is_taken_when_watchers_are_at_different_points() {
    let mut net = ready_net();
    let reqs: Vec<GatewayRequest> = (0..3).map(|i| request(i, "counter", b"{}")).collect();
    // Everyone has 0; three have 0 and 1; only one has all three.
    for (n, seen) in net.nodes.iter().zip([3usize, 2, 2, 1]) {
        for r in &reqs[..seen] {
            n.eth.see(r.clone());
        }
    }
    until_next_request(&mut net, 2, 6);
    for _ in 0..4 {
        net.block(vec![]);
    }
    assert_eq!(next_request(&net), 2, "0 and 1 have > 2/3, 2 does not");
    assert_eq!(counter(&net), 2);
}

#[test]
fn a_proposer_can_neither_alter_a_request_nor_add_one_nobody_reported() {
    let mut net = ready_net();
    let r = request(0, "counter", br#"{"by": 1}"#);
    for n in &net.nodes {
        n.eth.see(r.clone());
    }
    net.block(vec![]);
    let (h, txs) = net.propose_next();
    let record = ThresholdRecord::decode(&txs[0]).expect("a record");
    assert_eq!(record.eth_requests, vec![r.clone()]);
    let decided = decided_commit(&net.extended_commit());
    let process = |record: &ThresholdRecord| -> Vec<i32> {
        net.online()
            .map(|n| {
                n.app()
                    .process_proposal(RequestProcessProposal {
                        txs: vec![record.encode().into()],
                        height: h,
                        proposed_last_commit: Some(decided.clone()),
                        ..Default::default()
                    })
                    .status
            })
            .collect()
    };
    assert_eq!(
        process(&record),
        vec![1; 4],
        "the honest record is accepted"
    );
    let mut altered = record.clone();
    altered.eth_requests[0].input = br#"{"by": 1000}"#.to_vec();
    assert_eq!(process(&altered), vec![2; 4], "an altered input is refused");
    let mut redirected = record.clone();
    redirected.eth_requests[0].callback = [0x66; 20];
    assert_eq!(
        process(&redirected),
        vec![2; 4],
        "an altered callback is refused"
    );
    let mut extra = record.clone();
    extra.eth_requests.push(request(1, "counter", b"{}"));
    assert_eq!(
        process(&extra),
        vec![2; 4],
        "an unreported request is refused"
    );
    let mut skipped = record.clone();
    skipped.eth_requests[0].id = 1;
    assert_eq!(
        process(&skipped),
        vec![2; 4],
        "ids must continue the chain's"
    );
    // The honest proposal goes through.
    net.block(vec![]);
    assert_eq!(next_request(&net), 1);
    assert_eq!(counter(&net), 1);
}

#[test]
fn a_request_for_an_unknown_function_or_a_failing_one_is_recorded_and_the_chain_moves_on() {
    let mut net = ready_net();
    let unknown = request(0, "no-such-function", b"");
    let bad_input = request(1, "counter", b"not json");
    let good = request(2, "counter", b"{}");
    for n in &net.nodes {
        for r in [&unknown, &bad_input, &good] {
            n.eth.see(r.clone());
        }
    }
    net.block(vec![]);
    net.block(vec![]);
    assert_eq!(next_request(&net), 3);
    let e0 = record(&net, 0).unwrap();
    let e0_error = e0.error.clone().unwrap();
    assert!(e0_error.contains("no function"));
    let e1 = record(&net, 1).unwrap();
    assert!(e1.error.is_some(), "a failing invocation is recorded");
    assert!(record(&net, 2).unwrap().outbox_id.is_some());
    assert_eq!(counter(&net), 1, "the failed invocation left no trace");
    // Both failures are answered on Ethereum with their error, signed like any output.
    let key = net.group_key().unwrap().group_key;
    for (rec, r) in [(&e0, &unknown), (&e1, &bad_input)] {
        let (out, _) = net.until_signed(&rec.outbox_id.expect("a failure answer"), 4);
        assert!(!out.item.success);
        assert_eq!(out.item.request_id, request_id_word(rec.request.id));
        assert_eq!(out.item.function_id, r.function_id);
        assert_eq!(out.item.output, rec.error.as_ref().unwrap().as_bytes());
        assert_verifies(&net, &out, &key);
    }
    let (ok, _) = net.until_signed(&record(&net, 2).unwrap().outbox_id.unwrap(), 4);
    assert!(ok.item.success);
}
