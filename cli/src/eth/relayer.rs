//! The relayer: takes threshold-signed outbox items of gateway requests from the Nexus network
//! and submits them to `NexusGateway.fulfill` on Ethereum.
//!
//! Before a fulfillment the gateway's key must be the one that signed it: if the gateway's
//! `epoch()` is behind the signature's epoch, the relayer first submits the hand-overs
//! (`rotateKey`) that lead from the gateway's epoch to it, following each hand-over's
//! `old_epoch` back from the signature's epoch (at most [`MAX_HANDOVER_HOPS`]). An id the
//! gateway no longer holds (`requests(id).callback == 0`) was fulfilled already and is skipped
//! without sending anything, so replays cost no gas.

use std::collections::BTreeMap;

use alloy::primitives::{Address, Bytes, B256, U256};
use alloy::sol_types::SolEvent;
use anyhow::{anyhow, bail, Context, Result};
use nexus_consensus::client::Client;
use nexus_consensus::threshold::state::{handover_key, Handover, OutboxItem, SignedOutput};
use nexus_threshold::contracts::{
    ExampleConsumer, GatewayConstructor, GatewaySignature, NexusGateway,
};
use nexus_threshold::eth::{rotation_digest, BatchMessage, EthSignature, GroupKey};

use super::client::EthClient;

/// Most hand-overs the relayer submits to bring a gateway's key up to date in one go.
pub const MAX_HANDOVER_HOPS: usize = 64;

const TARGET: &str = "nexus::eth::relayer";

/// Where the relayer finds hand-over signatures (`thr/rot/<new epoch>` on the network).
pub trait HandoverSource {
    /// The hand-over to the key of `new_epoch`, if there is one.
    fn handover(&self, new_epoch: u64) -> Result<Option<Handover>>;
}

impl HandoverSource for Client {
    fn handover(&self, new_epoch: u64) -> Result<Option<Handover>> {
        self.get_proven(&handover_key(new_epoch))
            .with_context(|| format!("reading the hand-over to epoch {new_epoch}"))?
            .value
            .map(|raw| {
                borsh::from_slice(&raw)
                    .map_err(|e| anyhow!("undecodable hand-over to epoch {new_epoch}: {e}"))
            })
            .transpose()
    }
}

/// Hand-overs held in memory (tests, or a relayer fed from elsewhere).
impl HandoverSource for BTreeMap<u64, Handover> {
    fn handover(&self, new_epoch: u64) -> Result<Option<Handover>> {
        Ok(self.get(&new_epoch).cloned())
    }
}

/// What relaying one outbox item did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Relayed {
    /// `fulfill` was sent and included.
    Fulfilled {
        tx: B256,
        /// Whether the answer was the function's output (`false`: the request failed on Nexus
        /// and was answered with the error).
        success: bool,
        /// Whether the consumer's callback succeeded (the request counts as fulfilled either way).
        callback_succeeded: bool,
        /// Epochs the gateway's key was rotated to first.
        rotated_to: Vec<u64>,
    },
    /// The gateway holds no pending request with this id: fulfilled before; nothing sent.
    AlreadyFulfilled,
    /// The item's batch has no threshold signature yet; nothing sent.
    NotSigned,
}

/// The gateway's `Signature` from a 65-byte FROST signature (compressed R ‖ z).
pub fn gateway_signature(frost_sig: &[u8]) -> Result<GatewaySignature> {
    Ok(EthSignature::from_frost_bytes(frost_sig)
        .map_err(|e| anyhow!("bad FROST signature: {e}"))?
        .into())
}

/// The gateway request id an outbox item answers (its `request_id`, a big-endian uint256).
pub fn request_id(item: &OutboxItem) -> U256 {
    U256::from_be_bytes(item.request_id)
}

/// Submits `out` (an outbox item, its batch proof and the batch root's signature) to the
/// gateway at `gateway` (rotating the gateway's key first if needed).
pub fn relay_item(
    eth: &EthClient,
    gateway: Address,
    out: &SignedOutput,
    handovers: &dyn HandoverSource,
) -> Result<Relayed> {
    let item = &out.item;
    let id = request_id(item);
    let Some(sig) = &out.signature else {
        return Ok(Relayed::NotSigned);
    };
    let pending = eth.call(gateway, &NexusGateway::requestsCall { id })?;
    if pending.callback == Address::ZERO {
        let next = eth.call(gateway, &NexusGateway::nextRequestIdCall {})?;
        if id >= next {
            bail!("gateway {gateway} has no request {id} (it has issued {next})");
        }
        tracing::info!(target: TARGET, %id, "already fulfilled; skipping");
        return Ok(Relayed::AlreadyFulfilled);
    }
    if pending.functionId.0 != item.function_id {
        bail!(
            "outbox item for request {id} answers function 0x{} but the gateway's request is for 0x{}",
            hex::encode(item.function_id),
            hex::encode(pending.functionId.0)
        );
    }
    if nexus_threshold::batch::process_proof(&item.leaf(), &out.proof) != out.root {
        bail!("outbox item for request {id} is not in its batch: the proof does not lead to the signed root");
    }
    let expected = BatchMessage {
        chain_id: eth.chain_id(),
        gateway: gateway.0 .0,
        epoch: sig.epoch,
        root: out.root,
        nexus_height: item.nexus_height,
    }
    .digest();
    if expected != sig.digest {
        bail!(
            "outbox item for request {id} was signed for another EIP-712 domain or message than \
             this gateway's (chain {}, gateway {gateway}): check the network's eth_chain_id and \
             eth_gateway parameters",
            eth.chain_id()
        );
    }
    let rotated_to = catch_up_key(eth, gateway, sig.epoch, handovers)?;
    let receipt = eth
        .send(
            gateway,
            &NexusGateway::fulfillCall {
                id,
                success: item.success,
                output: Bytes::from(item.output.clone()),
                nexusHeight: item.nexus_height,
                proof: out.proof.iter().map(|p| B256::from(*p)).collect(),
                sig: gateway_signature(&sig.signature)?,
            },
        )
        .with_context(|| format!("fulfilling request {id}"))?;
    let callback_succeeded = receipt
        .logs()
        .iter()
        .filter(|log| log.address() == gateway)
        .find_map(|log| NexusGateway::Fulfilled::decode_log(&log.inner).ok())
        .map(|e| e.data.callbackSucceeded)
        .ok_or_else(|| anyhow!("fulfill of {id} emitted no Fulfilled event"))?;
    tracing::info!(target: TARGET, %id, tx = %receipt.transaction_hash, callback_succeeded, "fulfilled");
    Ok(Relayed::Fulfilled {
        tx: receipt.transaction_hash,
        success: item.success,
        callback_succeeded,
        rotated_to,
    })
}

/// Brings the gateway's key to `target_epoch` by submitting the hand-overs leading there.
/// Returns the epochs rotated to (empty when the gateway already uses it).
pub fn catch_up_key(
    eth: &EthClient,
    gateway: Address,
    target_epoch: u64,
    handovers: &dyn HandoverSource,
) -> Result<Vec<u64>> {
    let current = eth.call(gateway, &NexusGateway::epochCall {})?;
    if current == target_epoch {
        return Ok(Vec::new());
    }
    if current > target_epoch {
        bail!(
            "the gateway's key is at epoch {current}, past the signature's epoch {target_epoch}: \
             this signature can no longer be verified there"
        );
    }
    // Walk back from the target to the gateway's epoch, then apply forwards.
    let mut chain = Vec::new();
    let mut epoch = target_epoch;
    while epoch != current {
        if chain.len() >= MAX_HANDOVER_HOPS {
            bail!("more than {MAX_HANDOVER_HOPS} hand-overs between epochs {current} and {target_epoch}");
        }
        let handover = handovers.handover(epoch)?.ok_or_else(|| {
            anyhow!("no hand-over to epoch {epoch} (the gateway is at {current})")
        })?;
        if handover.new_epoch != epoch
            || handover.old_epoch >= epoch
            || handover.old_epoch < current
        {
            bail!(
                "hand-over to epoch {epoch} comes from epoch {} (the gateway is at {current})",
                handover.old_epoch
            );
        }
        epoch = handover.old_epoch;
        chain.push(handover);
    }
    let mut rotated = Vec::new();
    for handover in chain.into_iter().rev() {
        let key =
            nexus_threshold::CompressedPoint::from_slice(&handover.new_key).ok_or_else(|| {
                anyhow!(
                    "hand-over to epoch {}: key is not 33 bytes",
                    handover.new_epoch
                )
            })?;
        let key = GroupKey::from_compressed(&key)
            .map_err(|e| anyhow!("hand-over to epoch {}: {e}", handover.new_epoch))?;
        let expected = rotation_digest(eth.chain_id(), gateway.0 .0, handover.new_epoch, &key);
        if expected != handover.digest {
            bail!(
                "hand-over to epoch {} was signed for another EIP-712 domain than this gateway's \
                 (chain {}, gateway {gateway})",
                handover.new_epoch,
                eth.chain_id()
            );
        }
        eth.send(
            gateway,
            &NexusGateway::rotateKeyCall {
                newEpoch: handover.new_epoch,
                newKeyX: key.x_u256(),
                sig: gateway_signature(&handover.signature)?,
            },
        )
        .with_context(|| format!("rotating the gateway's key to epoch {}", handover.new_epoch))?;
        tracing::info!(target: TARGET, epoch = handover.new_epoch, "rotated the gateway's key");
        rotated.push(handover.new_epoch);
    }
    Ok(rotated)
}

/// Addresses of a fresh deployment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deployment {
    pub gateway: Address,
    pub consumer: Address,
    /// Block of the gateway's deployment (where a watcher starts).
    pub block: u64,
}

/// Deploys `NexusGateway(key, epoch)` and an `ExampleConsumer` of it, with the bytecode that
/// `deploy/build-contracts.sh` wrote to `$NEXUS_CONTRACTS_OUT`.
pub fn deploy_contracts(eth: &EthClient, key: &GroupKey, epoch: u64) -> Result<Deployment> {
    use alloy::sol_types::SolValue;
    let mut code = nexus_threshold::contracts::creation_bytecode("NexusGateway")?;
    code.extend(
        GatewayConstructor {
            initialKeyX: key.x_u256(),
            initialEpoch: epoch,
        }
        .abi_encode_params(),
    );
    let (gateway, receipt) = eth.deploy("deploying NexusGateway", code)?;
    let block = receipt
        .block_number
        .ok_or_else(|| anyhow!("NexusGateway's receipt has no block number"))?;
    let mut code = nexus_threshold::contracts::creation_bytecode("ExampleConsumer")?;
    code.extend((gateway,).abi_encode_params());
    let (consumer, _) = eth.deploy("deploying ExampleConsumer", code)?;
    Ok(Deployment {
        gateway,
        consumer,
        block,
    })
}

/// A sent `NexusGateway.request`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SentRequest {
    pub id: U256,
    pub block: u64,
    pub tx: B256,
}

/// Calls `NexusGateway.request(functionId, input, callback, callbackGas)` (callback zero = the
/// sender; callback gas 0 = the gateway's default).
pub fn send_request(
    eth: &EthClient,
    gateway: Address,
    function_id: [u8; 32],
    input: Vec<u8>,
    callback: Address,
    callback_gas: u64,
) -> Result<SentRequest> {
    if !eth.has_code(gateway)? {
        bail!("no contract at gateway address {gateway}");
    }
    let receipt = eth.send(
        gateway,
        &NexusGateway::requestCall {
            functionId: B256::from(function_id),
            input: Bytes::from(input),
            callback,
            callbackGas: callback_gas,
        },
    )?;
    let event = receipt
        .logs()
        .iter()
        .filter(|log| log.address() == gateway)
        .find_map(|log| NexusGateway::Requested::decode_log(&log.inner).ok())
        .ok_or_else(|| anyhow!("request emitted no Requested event"))?;
    Ok(SentRequest {
        id: event.data.id,
        block: receipt.block_number.unwrap_or_default(),
        tx: receipt.transaction_hash,
    })
}

/// What an `ExampleConsumer` stored for request `id` (empty if nothing yet).
pub fn consumer_result(eth: &EthClient, consumer: Address, id: U256) -> Result<Vec<u8>> {
    Ok(eth
        .call(consumer, &ExampleConsumer::resultsCall { id })?
        .to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_signatures_are_refused() {
        assert!(gateway_signature(&[0u8; 64]).is_err());
        assert!(gateway_signature(&[0u8; 65]).is_err(), "R is not a point");
    }

    #[test]
    fn request_id_is_big_endian() {
        let mut item = OutboxItem {
            id: [0; 32],
            request_id: [0; 32],
            function: "f".into(),
            function_id: [0; 32],
            output: vec![],
            output_hash: [0; 32],
            success: true,
            nexus_height: 1,
            batch_index: 0,
        };
        item.request_id[31] = 7;
        item.request_id[30] = 1;
        assert_eq!(request_id(&item), U256::from(263u64));
    }
}
