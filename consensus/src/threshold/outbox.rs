//! The outbox: function outputs and gateway answers waiting to be threshold-signed for
//! Ethereum, and what exactly is signed for each queue entry.
//!
//! Outputs are signed by block: every output of block `H` becomes a leaf of the block's
//! [`OutputBatch`], sealed at the end of `FinalizeBlock(H)` and queued as one signing entry for
//! its Merkle root (see `nexus_threshold::batch`); the sessions that sign queue entries are in
//! [`super::sessions`]. Deterministic: called from `FinalizeBlock` only.

use nexus_runtime::RuntimeError;
use nexus_store::StateView;
use nexus_threshold::batch::OutputTree;
use nexus_threshold::eth::{rotation_digest, BatchMessage, GroupKey};
use tracing::info;

use super::state::{OutboxItem, OutputBatch, Signable, ThresholdState};
use crate::address::keccak256;
use crate::params::ChainParams;

const TARGET: &str = "nexus::threshold";

/// Where an output comes from.
pub struct OutputOrigin<'a> {
    pub function: &'a str,
    /// The transaction (or stand-in, for gateway requests) of the invocation.
    pub tx_hash: &'a [u8; 32],
    /// The output's position among the invocation's outputs.
    pub index: u32,
    /// The gateway request it answers (its `requestId` word); `None`: the item's own id.
    pub request_id: Option<[u8; 32]>,
}

/// The outbox item of output `index` of the invocation in transaction `tx_hash`.
pub fn push_output(
    view: &mut StateView,
    function: &str,
    tx_hash: &[u8; 32],
    index: u32,
    output: &[u8],
    height: u64,
) -> Result<[u8; 32], RuntimeError> {
    let origin = OutputOrigin {
        function,
        tx_hash,
        index,
        request_id: None,
    };
    push_item(view, &origin, output, height)
}

/// Puts an output in the outbox and its leaf in the block's batch; returns its id.
pub fn push_item(
    view: &mut StateView,
    origin: &OutputOrigin,
    output: &[u8],
    height: u64,
) -> Result<[u8; 32], RuntimeError> {
    let function_id = keccak256(origin.function.as_bytes());
    push(view, origin, function_id, true, output, height)
}

/// Puts the answer of a gateway request that failed on Nexus in the outbox (`success` false,
/// the error message, cut at [`MAX_FAILURE_ANSWER_BYTES`], as output); returns its id.
pub fn push_failure(
    view: &mut StateView,
    origin: &OutputOrigin,
    function_id: [u8; 32],
    error: &str,
    height: u64,
) -> Result<[u8; 32], RuntimeError> {
    let error = cut_at_char_boundary(error, MAX_FAILURE_ANSWER_BYTES);
    push(view, origin, function_id, false, error.as_bytes(), height)
}

/// Longest error message a failed request is answered with on Ethereum (bytes; cut at a
/// character boundary), so a failure answer costs little calldata.
pub const MAX_FAILURE_ANSWER_BYTES: usize = 1024;

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn cut_at_char_boundary(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn push(
    view: &mut StateView,
    origin: &OutputOrigin,
    function_id: [u8; 32],
    success: bool,
    output: &[u8],
    height: u64,
) -> Result<[u8; 32], RuntimeError> {
    let id = crate::threshold::state::outbox_id(origin.tx_hash, origin.index);
    let mut item = OutboxItem {
        id,
        request_id: origin.request_id.unwrap_or(id),
        function: origin.function.to_string(),
        function_id,
        output: output.to_vec(),
        output_hash: keccak256(output),
        success,
        nexus_height: height,
        batch_index: 0,
    };
    let mut ts = ThresholdState::new(view);
    item.batch_index = ts.push_leaf(height, &item.leaf())?;
    ts.set_outbox_item(&item);
    Ok(id)
}

/// End of block `height`: seals the outputs it made into its [`OutputBatch`] and queues the
/// batch's root for signing. Does nothing for a block without outputs.
pub fn seal_batch(view: &mut StateView, height: u64) -> Result<(), RuntimeError> {
    let mut ts = ThresholdState::new(view);
    let leaves = ts.take_leaves(height)?;
    if leaves.is_empty() {
        return Ok(());
    }
    let root = OutputTree::new(&leaves)
        .map_err(|e| RuntimeError::Corrupt(format!("output batch {height}: {e}")))?
        .root();
    info!(target: TARGET, height, outputs = leaves.len(), root = %hex::encode(root), "output batch sealed");
    ts.set_batch(&OutputBatch {
        height,
        leaves,
        root,
        signature: None,
    });
    ts.enqueue(Signable::Batch(height))?;
    Ok(())
}

/// The 32 bytes the key of `epoch` signs for a queue entry.
pub fn digest_for(
    ts: &ThresholdState,
    params: &ChainParams,
    epoch: u64,
    what: &Signable,
) -> Result<Option<[u8; 32]>, RuntimeError> {
    match what {
        Signable::Batch(height) => Ok(ts.batch(*height)?.map(|batch| {
            BatchMessage {
                chain_id: params.eth_chain_id,
                gateway: params.eth_gateway.0,
                epoch,
                root: batch.root,
                nexus_height: batch.height,
            }
            .digest()
        })),
        Signable::Handover { new_epoch } => {
            let Some(record) = ts.key_record(*new_epoch)? else {
                return Ok(None);
            };
            let key = GroupKey::from_compressed(&record.output.group_key)
                .map_err(|e| RuntimeError::Corrupt(format!("group key: {e}")))?;
            Ok(Some(rotation_digest(
                params.eth_chain_id,
                params.eth_gateway.0,
                *new_epoch,
                &key,
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_answers_are_cut_on_a_character_boundary() {
        assert_eq!(cut_at_char_boundary("short", 1024), "short");
        let long = "é".repeat(MAX_FAILURE_ANSWER_BYTES);
        let cut = cut_at_char_boundary(&long, MAX_FAILURE_ANSWER_BYTES);
        assert_eq!(cut.len(), MAX_FAILURE_ANSWER_BYTES);
        let odd = format!("a{long}");
        let cut = cut_at_char_boundary(&odd, MAX_FAILURE_ANSWER_BYTES);
        assert_eq!(cut.len(), MAX_FAILURE_ANSWER_BYTES - 1);
    }
}
