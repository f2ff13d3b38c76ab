//! `/v1/zk/jobs/{id}`: a zk proof request, its reward and what became of it.

use super::error::ApiError;
use super::model::{ErrorBody, ZkJobResponse, ZkJobResultJson};
use super::snapshot::decode;
use super::{blocking, Ctx};
use crate::zk::state::{job_key, JobStatus, ZkJob};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;

/// A zk job: program, input, reward, deadline and status (with the verified result once done).
#[utoipa::path(get, path = "/v1/zk/jobs/{id}", tag = "zk",
    params(("id" = u64, Path, description = "Job id, as `nexus zk request` prints it")),
    responses(
        (status = 200, description = "Read at the latest committed height, with a proof", body = ZkJobResponse),
        (status = 400, description = "Malformed id", body = ErrorBody),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 503, description = "No block is committed yet, or the node is busy", body = ErrorBody),
    ))]
pub async fn job(
    State(ctx): State<Ctx>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<ZkJobResponse>, ApiError> {
    let Path(id) = id.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let id: u64 = id
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("job id {id:?} is not a number")))?;
    blocking(&ctx, move |snap| {
        let (value, proof) = snap.proven(&job_key(id))?;
        let raw = value.ok_or_else(|| {
            ApiError::not_found(format!("no zk job {id} at height {}", snap.height))
        })?;
        let job: ZkJob = decode("zk job", &raw)?;
        let (status, result, expired_at) = match &job.status {
            JobStatus::Open => ("open", None, None),
            JobStatus::Done(r) => (
                "done",
                Some(ZkJobResultJson {
                    prover: r.prover.to_string(),
                    output: hex::encode(&r.output),
                    exit_code: r.exit_code,
                    cycles: r.cycles,
                    proved_at: r.height,
                    outbox_id: r.outbox_id.map(hex::encode),
                }),
                None,
            ),
            JobStatus::Expired { height } => ("expired", None, Some(*height)),
        };
        Ok(ZkJobResponse {
            id: job.id,
            program: hex::encode(job.program),
            input: hex::encode(&job.input),
            requester: job.requester.to_string(),
            reward: job.reward.to_string(),
            requested_at: job.requested_at,
            expires_at: job.expires_at,
            status: status.into(),
            result,
            expired_at,
            height: snap.height,
            app_hash: snap.app_hash_hex(),
            proof,
        })
    })
    .await
    .map(Json)
}
