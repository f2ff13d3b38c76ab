//! `/v1/functions/{name}`, its KV and its files: the runtime's part of the state.

use super::error::{Absence, ApiError};
use super::model::{
    DirEntryJson, EnvVar, ErrorBody, FsKind, FsResponse, FunctionResponse, KvResponse,
};
use super::snapshot::{decode, Snapshot};
use super::{blocking, Ctx};
use crate::query::prove_reads;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use base64::Engine as _;
use nexus_runtime::inspect::{self, InspectError};
use nexus_runtime::limits::MAX_KV_KEY_BYTES;
use nexus_runtime::{keys, registry, FunctionRecord};
use nexus_store::StateView;
use nexus_vfs::{FsError, MAX_PATH_BYTES};

fn bad_path(e: PathRejection) -> ApiError {
    ApiError::BadRequest(e.body_text())
}

fn checked_name(name: &str) -> Result<(), ApiError> {
    registry::validate_name(name).map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn not_deployed(name: &str) -> ApiError {
    ApiError::not_found(format!("function `{name}` is not deployed"))
}

/// A deployed function's record.
#[utoipa::path(get, path = "/v1/functions/{name}", tag = "functions",
    params(("name" = String, Path, description = "Function name ([a-z][a-z0-9_-]*)")),
    responses(
        (status = 200, description = "Read at the latest committed height, with a proof", body = FunctionResponse),
        (status = 400, description = "Malformed name", body = ErrorBody),
        (status = 404, description = "Not deployed", body = ErrorBody),
        (status = 503, description = "No block is committed yet, or the node is busy", body = ErrorBody),
    ))]
pub async fn function(
    State(ctx): State<Ctx>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<FunctionResponse>, ApiError> {
    let Path(name) = name.map_err(bad_path)?;
    checked_name(&name)?;
    blocking(&ctx, move |snap| {
        let (raw, proof) = snap.proven(&keys::function(&name))?;
        let r: FunctionRecord =
            decode("function record", &raw.ok_or_else(|| not_deployed(&name))?)?;
        Ok(FunctionResponse {
            name: r.name,
            version: r.version,
            owner: r.owner,
            code_hash: hex::encode(r.code_hash),
            deployed_height: r.deployed_height,
            args: r.args,
            env: r
                .env
                .into_iter()
                .map(|(name, value)| EnvVar { name, value })
                .collect(),
            fuel: r.fuel,
            memory_pages: r.memory_pages,
            height: snap.height,
            app_hash: snap.app_hash_hex(),
            proof,
        })
    })
    .await
    .map(Json)
}

/// A value of the function's key-value store.
#[utoipa::path(get, path = "/v1/functions/{name}/kv/{key_hex}", tag = "functions",
    params(
        ("name" = String, Path, description = "Function name"),
        ("key_hex" = String, Path, description = "The key, hex (at most 1024 bytes: MAX_KV_KEY_BYTES)"),
    ),
    responses(
        (status = 200, description = "Read at the latest committed height, with a proof", body = KvResponse),
        (status = 400, description = "Malformed name or key", body = ErrorBody),
        (status = 404, description = "Not deployed, or the key is unset (then with a proof of absence)", body = ErrorBody),
        (status = 503, description = "No block is committed yet, or the node is busy", body = ErrorBody),
    ))]
pub async fn kv(
    State(ctx): State<Ctx>,
    params: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<KvResponse>, ApiError> {
    let Path((name, key_hex)) = params.map_err(bad_path)?;
    checked_name(&name)?;
    let key = hex::decode(&key_hex)
        .map_err(|e| ApiError::BadRequest(format!("key `{key_hex}` is not hex: {e}")))?;
    if key.len() > MAX_KV_KEY_BYTES {
        return Err(ApiError::BadRequest(format!(
            "key is {} bytes; the limit is {MAX_KV_KEY_BYTES}",
            key.len()
        )));
    }
    blocking(&ctx, move |snap| {
        if snap
            .store
            .get_at(&keys::function(&name), snap.height)?
            .is_none()
        {
            return Err(not_deployed(&name));
        }
        let (value, proof) = snap.proven(&keys::kv(&name, &key))?;
        let Some(value) = value else {
            return Err(ApiError::NotFound {
                error: format!("function `{name}` has no key {key_hex}"),
                absence: Some(Box::new(Absence {
                    height: snap.height,
                    app_hash: snap.app_hash_hex(),
                    proof,
                })),
            });
        };
        Ok(KvResponse {
            function: name,
            key: hex::encode(&key),
            value: hex::encode(value),
            height: snap.height,
            app_hash: snap.app_hash_hex(),
            proof,
        })
    })
    .await
    .map(Json)
}

/// The root directory of the function's filesystem.
#[utoipa::path(get, path = "/v1/functions/{name}/fs", tag = "functions",
    params(("name" = String, Path, description = "Function name")),
    responses(
        (status = 200, description = "Read at the latest committed height, with a proof", body = FsResponse),
        (status = 400, description = "Malformed name or path", body = ErrorBody),
        (status = 404, description = "Not deployed", body = ErrorBody),
        (status = 503, description = "No block is committed yet, or the node is busy", body = ErrorBody),
    ))]
pub async fn fs_root(
    State(ctx): State<Ctx>,
    name: Result<Path<String>, PathRejection>,
) -> Result<Json<FsResponse>, ApiError> {
    let Path(name) = name.map_err(bad_path)?;
    fs_read(ctx, name, "/".to_string()).await
}

/// A file (contents, base64) or directory (listing) of the function's filesystem.
#[utoipa::path(get, path = "/v1/functions/{name}/fs/{path}", tag = "functions",
    params(
        ("name" = String, Path, description = "Function name"),
        ("path" = String, Path, description = "Path inside the function's filesystem; may contain `/` (at most 4096 bytes: MAX_PATH_BYTES)"),
    ),
    responses(
        (status = 200, description = "Read at the latest committed height, with a proof", body = FsResponse),
        (status = 400, description = "Malformed name or path (too long, `..`)", body = ErrorBody),
        (status = 404, description = "Not deployed, or no such file or directory", body = ErrorBody),
        (status = 503, description = "No block is committed yet, or the node is busy", body = ErrorBody),
    ))]
pub async fn fs_path(
    State(ctx): State<Ctx>,
    params: Result<Path<(String, String)>, PathRejection>,
) -> Result<Json<FsResponse>, ApiError> {
    let Path((name, path)) = params.map_err(bad_path)?;
    fs_read(ctx, name, path).await
}

async fn fs_read(ctx: Ctx, name: String, path: String) -> Result<Json<FsResponse>, ApiError> {
    checked_name(&name)?;
    if path.len() > MAX_PATH_BYTES {
        return Err(ApiError::BadRequest(format!(
            "path is {} bytes; the limit is {MAX_PATH_BYTES}",
            path.len()
        )));
    }
    blocking(&ctx, move |snap| fs_answer(snap, name, path))
        .await
        .map(Json)
}

fn fs_answer(snap: &Snapshot, name: String, path: String) -> Result<FsResponse, ApiError> {
    let (result, proven) = prove_reads(&snap.store, snap.height, |view| {
        inspect::read_file(view, &name, &path)
    })?;
    let mut answer = FsResponse {
        function: name.clone(),
        path: path.clone(),
        kind: FsKind::File,
        content: None,
        size: None,
        entries: None,
        height: snap.height,
        app_hash: snap.app_hash_hex(),
        proof: hex::encode(borsh::to_vec(&proven).expect("borsh encoding into a Vec cannot fail")),
    };
    match result {
        Ok(bytes) => {
            answer.size = Some(bytes.len() as u64);
            answer.content = Some(base64::engine::general_purpose::STANDARD.encode(bytes));
        }
        Err(InspectError::Fs {
            source: FsError::IsDir,
            ..
        }) => {
            let mut view = StateView::new(snap.reader());
            let entries = inspect::list_dir(&mut view, &name, &path).map_err(inspect_error)?;
            answer.kind = FsKind::Dir;
            answer.entries = Some(
                entries
                    .into_iter()
                    .map(|e| DirEntryJson {
                        name: e.name,
                        is_dir: e.is_dir,
                        size: e.size,
                    })
                    .collect(),
            );
        }
        Err(e) => return Err(inspect_error(e)),
    }
    Ok(answer)
}

fn inspect_error(e: InspectError) -> ApiError {
    let message = e.to_string();
    match e {
        InspectError::UnknownFunction(name) => not_deployed(&name),
        InspectError::Fs {
            source: FsError::NotFound | FsError::NotDir | FsError::BadInode(_),
            ..
        } => ApiError::not_found(message),
        InspectError::Fs {
            source: FsError::Invalid(_) | FsError::NameTooLong | FsError::NotCapable,
            ..
        } => ApiError::BadRequest(message),
        InspectError::Fs { .. } => ApiError::Internal(message),
        InspectError::Runtime(e) => e.into(),
    }
}
