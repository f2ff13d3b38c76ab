//! The ABCI server's framing (`node::abci_server::read_request`): varint length prefix, bounded
//! frame, protobuf `Request`. Whatever the stream, reading must end (Ok(None) or an error)
//! without a panic and without allocating past `MAX_ABCI_MESSAGE_BYTES`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nexus_consensus::node::abci_server::read_request;
use std::io::BufReader;

fuzz_target!(|data: &[u8]| {
    let mut reader = BufReader::new(data);
    let mut frame = Vec::new();
    // Each successful read consumes at least one byte, so this ends.
    while let Ok(Some(_)) = read_request(&mut reader, &mut frame) {}
});
