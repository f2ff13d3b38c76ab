//! The Ethereum watcher: reads `NexusGateway.Requested` events from **finalized** blocks and
//! hands them to the node as a [`RequestSource`].
//!
//! A background thread owns a small current-thread tokio runtime and an alloy HTTP provider.
//! Every `poll_interval` it asks for the `finalized` block, then fetches the gateway's
//! `Requested` logs from the block after the last one it scanned up to that finalized block, in
//! ranges of at most [`LOG_RANGE_BLOCKS`] blocks per `eth_getLogs`. Decoded requests wait in a
//! map by id (at most [`MAX_BUFFERED_REQUESTS`]) until the node has taken them in: a call of
//! [`RequestSource::requests_from`] with `first` drops every id below it. When the map is full
//! the watcher stops advancing (it scans those blocks again later), so it never loses one.
//!
//! Nothing here panics on bad input: RPC errors and timeouts are logged (target
//! `nexus::eth::watcher`) and retried on the next poll; a log that does not decode, an id that
//! does not fit a `u64`, or an input over [`MAX_REQUEST_INPUT_BYTES`] is skipped with a warning.
//! Blocks that are not finalized are never read, so a reported request is never reorganised away.

use std::collections::BTreeMap;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use alloy::eips::BlockNumberOrTag;
use alloy::primitives::Address;
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEvent;
use anyhow::{Context, Result};
use nexus_consensus::ethereum::{GatewayRequest, RequestSource, MAX_REQUEST_INPUT_BYTES};
use nexus_threshold::contracts::NexusGateway::Requested;

/// Most blocks one `eth_getLogs` asks for (public RPC providers cap ranges near this).
pub const LOG_RANGE_BLOCKS: u64 = 1_000;
/// Most requests kept waiting for the node to take them in.
pub const MAX_BUFFERED_REQUESTS: usize = 10_000;
/// Longest one poll (finalized block plus every log range it scans) may take before it is
/// abandoned and retried.
pub const POLL_TIMEOUT: Duration = Duration::from_secs(30);
/// Most `eth_getLogs` ranges one poll scans (bounds a poll's work when far behind; the next poll
/// goes on from there).
pub const MAX_RANGES_PER_POLL: u64 = 100;
/// Default time between polls.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// Shortest time between polls (a smaller configured interval is raised to it).
pub const MIN_POLL_INTERVAL: Duration = Duration::from_millis(50);

const TARGET: &str = "nexus::eth::watcher";

/// What the watcher knows, shared between its thread and the node.
#[derive(Debug, Default)]
pub struct WatchState {
    /// Requests from finalized blocks not yet taken in, by id.
    requests: BTreeMap<u64, GatewayRequest>,
    /// The next block to scan.
    next_block: u64,
    /// The latest finalized block seen.
    finalized: Option<u64>,
    /// Ids below this were taken in by the node (never buffered again).
    floor: u64,
}

impl WatchState {
    pub fn new(from_block: u64) -> Self {
        Self {
            next_block: from_block,
            ..Self::default()
        }
    }

    /// The latest finalized block seen.
    pub fn finalized(&self) -> Option<u64> {
        self.finalized
    }

    /// The next block range to scan, given the finalized block `finalized`.
    pub fn next_range(&self, finalized: u64) -> Option<(u64, u64)> {
        if self.next_block > finalized || self.requests.len() >= MAX_BUFFERED_REQUESTS {
            return None;
        }
        let last = finalized.min(self.next_block.saturating_add(LOG_RANGE_BLOCKS - 1));
        Some((self.next_block, last))
    }

    /// Takes in the decoded logs of blocks `from..=to` (ordered by block). Returns whether the
    /// whole range was taken in (false when the buffer filled up; the rest is scanned again).
    pub fn ingest(&mut self, from: u64, to: u64, logs: Vec<GatewayRequest>) -> bool {
        debug_assert!(from == self.next_block);
        for request in logs {
            if request.id < self.floor || self.requests.contains_key(&request.id) {
                continue;
            }
            if self.requests.len() >= MAX_BUFFERED_REQUESTS {
                // Scan this request's block again once the node has taken some in.
                tracing::warn!(
                    target: TARGET,
                    buffered = self.requests.len(),
                    block = request.eth_block,
                    "request buffer full; pausing the scan until the node takes requests in"
                );
                self.next_block = request.eth_block.max(from);
                return false;
            }
            self.requests.insert(request.id, request);
        }
        self.next_block = to + 1;
        true
    }

    /// The last block whose logs were taken in.
    pub fn scanned_through(&self) -> Option<u64> {
        self.next_block
            .checked_sub(1)
            .filter(|_| self.finalized.is_some())
    }

    /// Records the finalized block seen by a poll.
    pub fn set_finalized(&mut self, block: u64) {
        self.finalized = Some(self.finalized.map_or(block, |f| f.max(block)));
    }

    fn take_from(&mut self, first: u64, max: usize) -> Vec<GatewayRequest> {
        if first > self.floor {
            self.floor = first;
            self.requests = self.requests.split_off(&first);
        }
        self.requests
            .range(first..)
            .zip(first..=u64::MAX)
            .take_while(|((id, _), want)| *id == want)
            .take(max)
            .map(|((_, request), _)| request.clone())
            .collect()
    }
}

/// A `Requested` log turned into a [`GatewayRequest`], or why it is skipped.
pub fn decode_request(gateway: Address, log: &Log) -> Result<GatewayRequest, String> {
    if log.inner.address != gateway {
        return Err(format!("log of {} is not the gateway's", log.inner.address));
    }
    if log.removed {
        return Err("log was removed by a reorganisation".into());
    }
    let block = log.block_number.ok_or("log has no block number")?;
    let event = Requested::decode_log(&log.inner).map_err(|e| format!("undecodable: {e}"))?;
    let id = u64::try_from(event.data.id)
        .map_err(|_| format!("request id {} does not fit a u64", event.data.id))?;
    if event.data.input.len() > MAX_REQUEST_INPUT_BYTES {
        return Err(format!(
            "request {id}: input of {} bytes is over {MAX_REQUEST_INPUT_BYTES}",
            event.data.input.len()
        ));
    }
    Ok(GatewayRequest {
        id,
        function_id: event.data.functionId.0,
        requester: event.data.requester.0 .0,
        callback: event.data.callback.0 .0,
        input: event.data.input.to_vec(),
        eth_block: block,
    })
}

/// Where and how often to watch.
#[derive(Clone, Debug)]
pub struct WatcherConfig {
    pub rpc_url: String,
    pub gateway: Address,
    pub poll_interval: Duration,
    /// First block to scan (the gateway's deployment block, or 0).
    pub from_block: u64,
}

/// A running watcher; stops its thread when dropped.
pub struct EthWatcher {
    state: Arc<Mutex<WatchState>>,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl EthWatcher {
    /// Watches `gateway` through the JSON-RPC endpoint `rpc_url` from block 0.
    pub fn spawn(rpc_url: &str, gateway: Address, poll_interval: Duration) -> Result<EthWatcher> {
        Self::spawn_with(WatcherConfig {
            rpc_url: rpc_url.to_string(),
            gateway,
            poll_interval,
            from_block: 0,
        })
    }

    /// Starts the watcher thread. Fails only on a malformed URL or if the thread or runtime
    /// cannot be created; an unreachable node is retried in the background.
    pub fn spawn_with(config: WatcherConfig) -> Result<EthWatcher> {
        let url: alloy::transports::http::reqwest::Url = config
            .rpc_url
            .parse()
            .with_context(|| format!("bad Ethereum RPC URL {:?}", config.rpc_url))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("creating the watcher's runtime")?;
        let state = Arc::new(Mutex::new(WatchState::new(config.from_block)));
        let (stop_tx, stop_rx) = mpsc::channel();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("eth-watcher".into())
            .spawn(move || {
                let provider = ProviderBuilder::new().connect_http(url).erased();
                tracing::info!(target: TARGET, gateway = %config.gateway, url = %config.rpc_url, "watching");
                loop {
                    let poll = runtime.block_on(async {
                        tokio::time::timeout(
                            POLL_TIMEOUT,
                            poll_once(&provider, config.gateway, &thread_state),
                        )
                        .await
                    });
                    match poll {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => {
                            tracing::warn!(target: TARGET, error = %format!("{e:#}"), "poll failed; retrying")
                        }
                        Err(_) => {
                            tracing::warn!(target: TARGET, timeout = ?POLL_TIMEOUT, "poll timed out; retrying")
                        }
                    }
                    match stop_rx.recv_timeout(config.poll_interval.max(MIN_POLL_INTERVAL)) {
                        Err(RecvTimeoutError::Timeout) => continue,
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => break,
                    }
                }
            })
            .context("spawning the watcher thread")?;
        Ok(EthWatcher {
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }

    /// The latest finalized block the watcher has seen.
    pub fn finalized_block(&self) -> Option<u64> {
        lock(&self.state).finalized()
    }

    /// The last block whose logs the watcher has taken in (`None` before the first range).
    pub fn scanned_through(&self) -> Option<u64> {
        lock(&self.state).scanned_through()
    }
}

impl RequestSource for EthWatcher {
    fn requests_from(&self, first: u64, max: usize) -> Vec<GatewayRequest> {
        lock(&self.state).take_from(first, max)
    }
}

impl Drop for EthWatcher {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn lock(state: &Mutex<WatchState>) -> std::sync::MutexGuard<'_, WatchState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One poll: the finalized block, then the logs of every unscanned finalized block (bounded).
async fn poll_once(
    provider: &DynProvider,
    gateway: Address,
    state: &Mutex<WatchState>,
) -> Result<()> {
    let Some(block) = provider
        .get_block_by_number(BlockNumberOrTag::Finalized)
        .await
        .context("reading the finalized block")?
    else {
        tracing::debug!(target: TARGET, "no finalized block yet");
        return Ok(());
    };
    let finalized = block.header.number;
    lock(state).set_finalized(finalized);
    for _ in 0..MAX_RANGES_PER_POLL {
        let Some((from, to)) = lock(state).next_range(finalized) else {
            break;
        };
        let filter = Filter::new()
            .address(gateway)
            .event_signature(Requested::SIGNATURE_HASH)
            .from_block(from)
            .to_block(to);
        let logs = provider
            .get_logs(&filter)
            .await
            .with_context(|| format!("eth_getLogs of blocks {from}..={to}"))?;
        let mut requests = Vec::with_capacity(logs.len());
        for log in &logs {
            match decode_request(gateway, log) {
                Ok(request) => requests.push(request),
                Err(why) => tracing::warn!(
                    target: TARGET,
                    block = ?log.block_number,
                    tx = ?log.transaction_hash,
                    "skipping a Requested log: {why}"
                ),
            }
        }
        requests.sort_by_key(|r| (r.eth_block, r.id));
        tracing::debug!(target: TARGET, from, to, found = requests.len(), "scanned");
        if !lock(state).ingest(from, to, requests) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::{Bytes, LogData, B256, U256};

    fn request(id: u64, block: u64) -> GatewayRequest {
        GatewayRequest {
            id,
            function_id: [1; 32],
            requester: [2; 20],
            callback: [3; 20],
            input: vec![id as u8],
            eth_block: block,
        }
    }

    fn requested_log(gateway: Address, id: U256, input: Vec<u8>, block: Option<u64>) -> Log {
        let event = Requested {
            id,
            functionId: B256::repeat_byte(1),
            requester: Address::repeat_byte(2),
            callback: Address::repeat_byte(3),
            input: Bytes::from(input),
        };
        let data: LogData = event.encode_log_data();
        Log {
            inner: alloy::primitives::Log {
                address: gateway,
                data,
            },
            block_number: block,
            ..Log::default()
        }
    }

    #[test]
    fn ranges_are_bounded_and_stop_at_finalized() {
        let mut s = WatchState::new(5);
        assert_eq!(s.next_range(4), None, "nothing finalized past the start");
        assert_eq!(s.next_range(5), Some((5, 5)));
        assert_eq!(s.next_range(10_000), Some((5, 5 + LOG_RANGE_BLOCKS - 1)));
        assert!(s.ingest(5, 1_004, vec![]));
        assert_eq!(s.next_range(1_004), None);
        assert_eq!(s.next_range(1_010), Some((1_005, 1_010)));
    }

    #[test]
    fn reports_contiguous_ids_in_order_and_forgets_taken_ones() {
        let mut s = WatchState::new(0);
        assert!(s.ingest(0, 9, vec![request(0, 1), request(1, 3), request(3, 9)]));
        assert_eq!(s.take_from(0, 10), vec![request(0, 1), request(1, 3)]);
        assert_eq!(s.take_from(0, 1), vec![request(0, 1)]);
        // 2 is missing: nothing from 2 on, and 0 and 1 are forgotten.
        assert_eq!(s.take_from(2, 10), vec![]);
        assert_eq!(s.take_from(0, 10), vec![]);
        assert!(s.ingest(10, 12, vec![request(2, 11)]));
        assert_eq!(s.take_from(2, 10), vec![request(2, 11), request(3, 9)]);
        // A rescan never brings back what was taken in.
        let mut again = WatchState::new(0);
        again.floor = 3;
        assert!(again.ingest(0, 12, vec![request(2, 11), request(3, 9)]));
        assert_eq!(again.take_from(0, 10), vec![]);
        assert_eq!(again.take_from(3, 10), vec![request(3, 9)]);
    }

    #[test]
    fn a_full_buffer_pauses_the_scan_without_losing_requests() {
        let mut s = WatchState::new(0);
        let many: Vec<_> = (0..MAX_BUFFERED_REQUESTS as u64)
            .map(|id| request(id, 1))
            .collect();
        assert!(s.ingest(0, 1, many));
        assert_eq!(s.next_range(100), None, "full: no more scanning");
        let extra = MAX_BUFFERED_REQUESTS as u64;
        // (ingest of an already-planned range while full keeps its block for later)
        s.next_block = 2;
        assert!(!s.ingest(2, 5, vec![request(extra, 4)]));
        assert_eq!(s.next_block, 4);
        assert_eq!(s.take_from(10, 1).len(), 1, "the node takes in ids < 10");
        assert_eq!(s.next_range(100), Some((4, 100)));
        assert!(s.ingest(4, 100, vec![request(extra, 4)]));
        let tail = s.take_from(extra, 10);
        assert_eq!(tail, vec![request(extra, 4)]);
    }

    #[test]
    fn an_unreachable_node_is_retried_quietly_and_a_bad_url_refused() {
        let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", dead.local_addr().unwrap());
        drop(dead);
        let w = EthWatcher::spawn(&url, Address::repeat_byte(1), Duration::from_millis(20))
            .expect("spawns even if the node is down");
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(w.requests_from(0, 10), vec![]);
        assert_eq!(w.finalized_block(), None);
        drop(w); // joins the thread: it stops between polls

        let e = EthWatcher::spawn("not a url", Address::ZERO, DEFAULT_POLL_INTERVAL)
            .err()
            .expect("bad URL");
        assert!(format!("{e:#}").contains("bad Ethereum RPC URL"), "{e:#}");
    }

    #[test]
    fn finalized_never_goes_back() {
        let mut s = WatchState::new(0);
        s.set_finalized(10);
        s.set_finalized(7);
        assert_eq!(s.finalized(), Some(10));
    }

    #[test]
    fn decodes_good_logs_and_skips_bad_ones() {
        let gw = Address::repeat_byte(9);
        let ok = decode_request(
            gw,
            &requested_log(gw, U256::from(7u64), b"hi".to_vec(), Some(3)),
        )
        .unwrap();
        assert_eq!(ok.id, 7);
        assert_eq!(ok.eth_block, 3);
        assert_eq!(ok.input, b"hi");
        assert_eq!(ok.function_id, [1; 32]);
        assert_eq!(ok.requester, [2; 20]);
        assert_eq!(ok.callback, [3; 20]);

        let huge_id = U256::from(u64::MAX) + U256::from(1u8);
        let e = decode_request(gw, &requested_log(gw, huge_id, vec![], Some(3))).unwrap_err();
        assert!(e.contains("does not fit a u64"), "{e}");

        let big = vec![0u8; MAX_REQUEST_INPUT_BYTES + 1];
        let e = decode_request(gw, &requested_log(gw, U256::from(1u8), big, Some(3))).unwrap_err();
        assert!(e.contains("over"), "{e}");

        let other = Address::repeat_byte(8);
        let e = decode_request(gw, &requested_log(other, U256::from(1u8), vec![], Some(3)))
            .unwrap_err();
        assert!(e.contains("not the gateway"), "{e}");

        let e = decode_request(gw, &requested_log(gw, U256::from(1u8), vec![], None)).unwrap_err();
        assert!(e.contains("no block"), "{e}");

        let mut garbled = requested_log(gw, U256::from(1u8), vec![], Some(3));
        garbled.inner.data = LogData::new_unchecked(
            garbled.inner.data.topics().to_vec(),
            Bytes::from(vec![1, 2, 3]),
        );
        let e = decode_request(gw, &garbled).unwrap_err();
        assert!(e.contains("undecodable"), "{e}");
    }
}
