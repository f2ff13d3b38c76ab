//! The node's HTTP/JSON API: the reads of `nexus query` (status, accounts, validators, functions,
//! KV, files) over HTTP, each with the height it was read at and a Merkle proof against that
//! height's app hash, described by an OpenAPI document at `/openapi.json`.
//!
//! | route | answer |
//! |---|---|
//! | `GET /v1/status` | height, app hash, chain id |
//! | `GET /v1/accounts/{address}` | balance, nonce |
//! | `GET /v1/validators` | every validator: operator, consensus key, tokens, power, jail state |
//! | `GET /v1/functions/{name}` | owner, code hash, version, configuration |
//! | `GET /v1/functions/{name}/kv/{key_hex}` | a KV value (404 with a proof of absence if unset) |
//! | `GET /v1/functions/{name}/fs[/{path}]` | a file (base64) or a directory listing |
//! | `GET /v1/outputs/{id}` | a function output for Ethereum: batch inclusion proof, signature once signed |
//! | `GET /v1/zk/jobs/{id}` | a zk proof request: program, reward, deadline, status and result |
//! | `GET /openapi.json` | the OpenAPI document |
//!
//! JSON shapes are in [`model`]; errors are `{"error": "..."}` with 400 (bad input), 404
//! (unknown), 503 (nothing committed yet, busy, slow) or 500 (the node's own state failed).
//!
//! The server listens on loopback (`ports.api` of `nexus.toml`) on its own thread with a
//! current-thread tokio runtime; reads run on at most [`BLOCKING_THREADS`] blocking threads
//! against the same `Arc<Store>` as the ABCI application, read-only, at the latest committed
//! height. Nothing here takes a lock `FinalizeBlock` or `Commit` waits on for more than a
//! RocksDB read.
//!
//! Why `axum` + `utoipa`: both are widely used and maintained, `axum` routes with the same
//! `{param}` syntax OpenAPI uses, and `utoipa` derives the document from attributes next to
//! each handler, so the document cannot drift from the handlers silently (a test checks that
//! every served route is documented and the reverse). The cost is tokio + hyper (~40 crates,
//! about 2 minutes of a cold build on two cores); the rest of the node stays synchronous.

mod chain;
mod error;
mod functions;
pub mod model;
mod openapi;
mod outputs;
mod snapshot;
mod zk;

pub use error::ApiError;
pub use openapi::ApiDoc;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use axum::Router;
use nexus_store::Store;
use snapshot::Snapshot;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{oneshot, Semaphore};
use tracing::{error, info};

const TARGET: &str = "nexus::api";

/// Longest request target (path and query) accepted: a maximal file path, percent-encoded.
pub const MAX_URI_BYTES: usize = 16 << 10;
/// Requests served at once; more get 503.
pub const MAX_CONCURRENT_REQUESTS: usize = 32;
/// Threads that read the store for requests.
pub const BLOCKING_THREADS: usize = 2;
/// Longest a read may take before the request gets 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct Ctx {
    store: Arc<Store>,
    permits: Arc<Semaphore>,
}

/// Runs `read` on a blocking thread over the latest committed height, bounded in concurrency
/// and time.
pub(crate) async fn blocking<T: Send + 'static>(
    ctx: &Ctx,
    read: impl FnOnce(&Snapshot) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let permit = ctx.permits.clone().try_acquire_owned().map_err(|_| {
        ApiError::Unavailable(format!(
            "the node is already serving {MAX_CONCURRENT_REQUESTS} API requests; retry later"
        ))
    })?;
    let store = ctx.store.clone();
    // The permit moves into the task: a timed-out read still counts until it really ends.
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        read(&Snapshot::latest(&store)?)
    });
    match tokio::time::timeout(REQUEST_TIMEOUT, task).await {
        Ok(Ok(result)) => result,
        Ok(Err(e)) => Err(ApiError::Internal(format!("the read failed: {e}"))),
        Err(_) => Err(ApiError::Unavailable(format!(
            "the read took longer than {} s",
            REQUEST_TIMEOUT.as_secs()
        ))),
    }
}

/// Every route, in `axum` syntax (`{*path}` is OpenAPI's `{path}` holding `/`s). The API is
/// read-only: every route is a `GET`.
fn route_table() -> Vec<(&'static str, MethodRouter<Ctx>)> {
    vec![
        ("/v1/status", get(chain::status)),
        ("/v1/accounts/{address}", get(chain::account)),
        ("/v1/validators", get(chain::validators)),
        ("/v1/functions/{name}", get(functions::function)),
        ("/v1/functions/{name}/kv/{key_hex}", get(functions::kv)),
        ("/v1/functions/{name}/fs", get(functions::fs_root)),
        ("/v1/functions/{name}/fs/{*path}", get(functions::fs_path)),
        ("/v1/outputs/{id}", get(outputs::output)),
        ("/v1/zk/jobs/{id}", get(zk::job)),
        ("/openapi.json", get(openapi::document)),
    ]
}

/// `(method, path)` of every served route, paths as the OpenAPI document writes them.
pub fn served_routes() -> Vec<(&'static str, String)> {
    route_table()
        .into_iter()
        .map(|(path, _)| ("get", path.replace("{*", "{")))
        .collect()
}

/// The API's router over `store`.
pub fn router(store: Arc<Store>) -> Router {
    let ctx = Ctx {
        store,
        permits: Arc::new(Semaphore::new(MAX_CONCURRENT_REQUESTS)),
    };
    let mut router = Router::new();
    for (path, method) in route_table() {
        router = router.route(path, method);
    }
    router
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn(limit_uri))
        .with_state(ctx)
}

async fn unknown_route(req: Request) -> ApiError {
    ApiError::not_found(format!("no route {}; see /openapi.json", req.uri().path()))
}

async fn method_not_allowed(req: Request) -> Response {
    let status = axum::http::StatusCode::METHOD_NOT_ALLOWED;
    let body = model::ErrorBody {
        error: format!(
            "{} is not allowed; the API is read-only (GET)",
            req.method()
        ),
        height: None,
        app_hash: None,
        proof: None,
    };
    (status, axum::Json(body)).into_response()
}

async fn limit_uri(req: Request, next: Next) -> Response {
    let uri = req.uri();
    let len = uri.path().len() + uri.query().map_or(0, |q| q.len() + 1);
    if len > MAX_URI_BYTES {
        return ApiError::BadRequest(format!(
            "request target is {len} bytes; the limit is {MAX_URI_BYTES}"
        ))
        .into_response();
    }
    next.run(req).await
}

/// A running API server; dropping it stops the server and joins its thread.
pub struct ApiServer {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ApiServer {
    /// Binds `addr` (e.g. `127.0.0.1:26603`, or port 0 for any) now, so a taken port is an
    /// error here, and serves on a new thread.
    pub fn start(store: Arc<Store>, addr: &str) -> std::io::Result<ApiServer> {
        let listener = std::net::TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .max_blocking_threads(BLOCKING_THREADS)
            .thread_name("api-read")
            .build()?;
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = router(store);
        let thread = std::thread::Builder::new()
            .name("api".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(e) => return error!(target: TARGET, "API listener: {e}"),
                    };
                    let stop = async {
                        let _ = stopped.await;
                    };
                    if let Err(e) = axum::serve(listener, app)
                        .with_graceful_shutdown(stop)
                        .await
                    {
                        error!(target: TARGET, "API server stopped: {e}");
                    }
                });
            })?;
        info!(target: TARGET, addr = %local, "HTTP API listening");
        Ok(ApiServer {
            addr: local,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
