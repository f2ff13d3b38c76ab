//! Taking agreed gateway requests into a block: each is invoked like an `Invoke` transaction
//! (its own state layer, [`REQUEST_FUEL_LIMIT`], no Nexus fee) and its first output becomes
//! the outbox item that answers it on Ethereum. A request that fails (unknown function, failed
//! invocation, no output) is answered too, with `success` false and the error as output, so
//! the requester always hears back.

use nexus_runtime::{BlockContext, Invocation, Runtime, RuntimeError};
use nexus_store::StateView;
use tracing::{info, warn};

use super::state::{EthState, RequestRecord};
use super::{GatewayRequest, REQUEST_FUEL_LIMIT};
use crate::threshold::outbox::{push_failure, push_item, OutputOrigin};

const TARGET: &str = "nexus::eth";

/// The 32 bytes standing in for a transaction hash in a request's invocation (PRNG seed,
/// outbox ids): `keccak256("nexus/eth-request/v1" ‖ id BE 8)`.
pub fn request_tx_hash(id: u64) -> [u8; 32] {
    crate::address::keccak256(&[b"nexus/eth-request/v1".as_slice(), &id.to_be_bytes()].concat())
}

/// The gateway's `requestId` (a uint256) as 32 big-endian bytes.
pub fn request_id_word(id: u64) -> [u8; 32] {
    let mut word = [0u8; 32];
    word[24..].copy_from_slice(&id.to_be_bytes());
    word
}

/// The caller a function sees for a gateway request: `eth:0x<requester>`.
pub fn request_caller(r: &GatewayRequest) -> String {
    format!("eth:0x{}", hex::encode(r.requester))
}

/// Invokes `requests` (the agreed prefix, starting at the chain's next request id) and advances
/// the next id past them. Node failures are `Err`; a failed invocation is recorded and loses
/// nothing else.
pub fn take_in(
    view: &mut StateView,
    runtime: &Runtime,
    block: &BlockContext,
    requests: &[GatewayRequest],
    call_index: u32,
) -> Result<(), RuntimeError> {
    let Some(last) = requests.last() else {
        return Ok(());
    };
    for r in requests {
        let mut record = invoke_one(view, runtime, block, r, call_index)?;
        if let Some(error) = &record.error {
            let tx_hash = request_tx_hash(r.id);
            // Index u32::MAX: never one of the invocation's own outputs (which were discarded
            // or, for "no output", do not exist).
            let function = EthState::new(view)
                .function_name(&r.function_id)?
                .unwrap_or_default();
            let origin = OutputOrigin {
                function: &function,
                tx_hash: &tx_hash,
                index: u32::MAX,
                request_id: Some(request_id_word(r.id)),
            };
            let id = push_failure(view, &origin, r.function_id, error, block.height)?;
            record.outbox_id = Some(id);
        }
        match &record.error {
            None => {
                info!(target: TARGET, id = r.id, height = block.height, "gateway request invoked")
            }
            Some(e) => {
                warn!(target: TARGET, id = r.id, height = block.height, error = %e, "gateway request failed")
            }
        }
        EthState::new(view).set_request(&record);
    }
    EthState::new(view).set_next_request(last.id + 1);
    Ok(())
}

fn invoke_one(
    view: &mut StateView,
    runtime: &Runtime,
    block: &BlockContext,
    r: &GatewayRequest,
    call_index: u32,
) -> Result<RequestRecord, RuntimeError> {
    let mut record = RequestRecord {
        request: r.clone(),
        height: block.height,
        outbox_id: None,
        error: None,
    };
    let Some(function) = EthState::new(view).function_name(&r.function_id)? else {
        record.error = Some(format!(
            "no function with id 0x{}",
            hex::encode(r.function_id)
        ));
        return Ok(record);
    };
    let tx_hash = request_tx_hash(r.id);
    let call = Invocation {
        function: function.clone(),
        input: r.input.clone(),
        caller: request_caller(r),
        fuel: Some(REQUEST_FUEL_LIMIT),
        tx_hash,
        call_index,
    };
    view.push_layer();
    let receipt = match runtime.invoke(view, block, &call) {
        Ok(receipt) => receipt,
        Err(e) => {
            view.discard_layer();
            if let nexus_runtime::InvokeError::Runtime(e) = e {
                return Err(e);
            }
            record.error = Some(e.to_string());
            return Ok(record);
        }
    };
    for (i, output) in receipt.outputs.iter().enumerate() {
        let origin = OutputOrigin {
            function: &function,
            tx_hash: &tx_hash,
            index: i as u32,
            // The first output answers the request; any further one is an ordinary output.
            request_id: (i == 0).then(|| request_id_word(r.id)),
        };
        let id = push_item(view, &origin, output, block.height)?;
        if i == 0 {
            record.outbox_id = Some(id);
        }
    }
    view.commit_layer();
    if record.outbox_id.is_none() {
        record.error = Some(format!("{function} emitted no output to answer with"));
    }
    Ok(record)
}
