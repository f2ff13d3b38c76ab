//! `/v1/outputs/{id}`: a function output for Ethereum, with what `NexusGateway.fulfill` needs
//! (its inclusion proof under its block's output-batch root and the root's threshold signature
//! once signed) and the state proofs of the item and of the batch.

use super::error::ApiError;
use super::model::{ErrorBody, OutputResponse, OutputSignatureJson};
use super::snapshot::decode;
use super::{blocking, Ctx};
use crate::threshold::state::{batch_key, outbox_key, OutboxItem, OutputBatch, SignedOutput};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;

/// An outbox item with its batch inclusion proof and, once signed, the batch signature.
#[utoipa::path(get, path = "/v1/outputs/{id}", tag = "outputs",
    params(("id" = String, Path, description = "Outbox id: 64 hex digits (0x optional), as `nexus invoke` prints it")),
    responses(
        (status = 200, description = "Read at the latest committed height, with proofs", body = OutputResponse),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "No such output", body = ErrorBody),
        (status = 503, description = "No block is committed yet, or the node is busy", body = ErrorBody),
    ))]
pub async fn output(
    State(ctx): State<Ctx>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<OutputResponse>, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let id: [u8; 32] = hex::decode(id.trim_start_matches("0x"))
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| ApiError::BadRequest("output id must be 32 bytes of hex".into()))?;
    blocking(&ctx, move |snap| {
        let (value, item_proof) = snap.proven(&outbox_key(&id))?;
        let raw = value.ok_or_else(|| {
            ApiError::not_found(format!(
                "no output {} at height {}",
                hex::encode(id),
                snap.height
            ))
        })?;
        let item: OutboxItem = decode("outbox item", &raw)?;
        let (value, batch_proof) = snap.proven(&batch_key(item.nexus_height))?;
        let raw = value.ok_or_else(|| {
            ApiError::Internal(format!("no output batch for height {}", item.nexus_height))
        })?;
        let batch: OutputBatch = decode("output batch", &raw)?;
        let out = SignedOutput::new(item, &batch).map_err(ApiError::Internal)?;
        let item = &out.item;
        Ok(OutputResponse {
            id: hex::encode(item.id),
            request_id: hex::encode(item.request_id),
            function: item.function.clone(),
            function_id: hex::encode(item.function_id),
            output: hex::encode(&item.output),
            success: item.success,
            nexus_height: item.nexus_height,
            batch_index: item.batch_index,
            batch_root: hex::encode(out.root),
            inclusion_proof: out.proof.iter().map(hex::encode).collect(),
            signature: out.signature.as_ref().map(|s| OutputSignatureJson {
                epoch: s.epoch,
                digest: hex::encode(s.digest),
                signature: hex::encode(&s.signature),
                signed_at: s.height,
            }),
            height: snap.height,
            app_hash: snap.app_hash_hex(),
            item_proof,
            batch_proof,
        })
    })
    .await
    .map(Json)
}
