//! How the API says no: a status code and a JSON [`ErrorBody`].

use super::model::{ErrorBody, KeyProof};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ApiError {
    /// The request is malformed (bad address, hex, name or path, or too large): 400.
    #[error("{0}")]
    BadRequest(String),
    /// Nothing is there: 404. `absence` proves it when the store can (a KV key).
    #[error("{error}")]
    NotFound {
        error: String,
        absence: Option<Box<Absence>>,
    },
    /// The node cannot answer now (no block committed yet, too busy, too slow): 503.
    #[error("{0}")]
    Unavailable(String),
    /// The node's own state or storage failed: 500.
    #[error("{0}")]
    Internal(String),
}

/// A proof that a key is unset at `height`.
#[derive(Debug)]
pub struct Absence {
    pub height: u64,
    pub app_hash: String,
    pub proof: KeyProof,
}

impl ApiError {
    pub fn not_found(error: impl Into<String>) -> ApiError {
        ApiError::NotFound {
            error: error.into(),
            absence: None,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<nexus_store::StoreError> for ApiError {
    fn from(e: nexus_store::StoreError) -> ApiError {
        ApiError::Internal(format!("state store: {e}"))
    }
}

impl From<nexus_runtime::RuntimeError> for ApiError {
    fn from(e: nexus_runtime::RuntimeError) -> ApiError {
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            ApiError::NotFound {
                error,
                absence: Some(a),
            } => ErrorBody {
                error,
                height: Some(a.height),
                app_hash: Some(a.app_hash),
                proof: Some(a.proof),
            },
            other => ErrorBody {
                error: other.to_string(),
                height: None,
                app_hash: None,
                proof: None,
            },
        };
        (status, Json(body)).into_response()
    }
}
