//! Write-behind of committed heights.
//!
//! [`crate::Store::commit`] makes a height durable with one small synced write: its changelog
//! record, its root and the `latest` marker. Everything else the height implies (flat state,
//! tree nodes, versioned values, stale-node index; ~4 entries per change) is computed during the
//! commit but written to RocksDB afterwards by one persister thread, oldest height first, each
//! height as one write batch that also advances the `persisted` marker and deletes the height's
//! changelog record. Until then the height is served from memory ([`PendingHeight`]).
//!
//! These writes are not synced: RocksDB's write-ahead log keeps them in order, so after a crash
//! the database holds every height up to some `persisted <= latest`, and
//! [`crate::Store::open`] replays the changelog records of the heights after it. At most
//! [`MAX_PENDING_HEIGHTS`] heights wait; a commit beyond that waits for the persister.
//!
//! If a write-out fails the persister stops and records why; every later commit (and
//! [`crate::Store::flush`]) returns that error, and reads keep being served (pending heights stay
//! in memory). Reopening the store replays what was not written.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use rocksdb::{WriteOptions, DB};
use tracing::{debug, error};

use crate::fault::{Fault, FaultPoint};
use crate::keys::{changelog_key, META_PERSISTED};
use crate::pending::PendingHeight;
use crate::raw_batch::RawBatch;
use crate::store::TRACING_TARGET;
use crate::tree::CfIds;
use crate::StoreError;

/// Most committed heights held in memory waiting to be written out. A height of 10,000 changes
/// takes ~6 MB here; the persister writes one in ~100 ms, far below a block interval, so the
/// bound only matters under back-to-back commits.
pub const MAX_PENDING_HEIGHTS: usize = 4;

/// The queue shared by the store and its persister thread.
#[derive(Default)]
pub(crate) struct WriteBehind {
    state: Mutex<QueueState>,
    changed: Condvar,
}

#[derive(Default)]
struct QueueState {
    /// Oldest first. A height leaves the queue only after its write-out is in RocksDB.
    queue: VecDeque<Arc<PendingHeight>>,
    failure: Option<String>,
    shutdown: bool,
    /// Tests only: the persister writes nothing while set (unless shutting down).
    #[cfg(test)]
    paused: bool,
}

impl WriteBehind {
    fn lock(&self) -> MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` over the pending heights (oldest first) while they cannot change.
    pub(crate) fn with_pending<R>(&self, f: impl FnOnce(&VecDeque<Arc<PendingHeight>>) -> R) -> R {
        f(&self.lock().queue)
    }

    /// The pending heights now, oldest first.
    pub(crate) fn snapshot(&self) -> Vec<Arc<PendingHeight>> {
        self.lock().queue.iter().cloned().collect()
    }

    /// Blocks until fewer than `max` heights wait; the persister's failure, if any.
    pub(crate) fn wait_for_room(&self, max: usize) -> Result<(), StoreError> {
        let mut state = self.lock();
        loop {
            if let Some(why) = &state.failure {
                return Err(StoreError::WriteBehind(why.clone()));
            }
            if state.queue.len() < max {
                return Ok(());
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Queues a durably committed height.
    pub(crate) fn push(&self, height: Arc<PendingHeight>) {
        self.lock().queue.push_back(height);
        self.changed.notify_all();
    }

    /// Blocks until every queued height is written out.
    pub(crate) fn wait_empty(&self) -> Result<(), StoreError> {
        self.wait_for_room(1)
    }

    /// Asks the persister to write out what is queued and stop.
    pub(crate) fn shutdown(&self) {
        self.lock().shutdown = true;
        self.changed.notify_all();
    }

    /// The oldest queued height, waiting for one; `None` once shut down and drained (or failed).
    fn next(&self) -> Option<Arc<PendingHeight>> {
        let mut state = self.lock();
        loop {
            if state.failure.is_some() {
                return None;
            }
            #[cfg(test)]
            let hold = state.paused && !state.shutdown;
            #[cfg(not(test))]
            let hold = false;
            if let Some(front) = state.queue.front().filter(|_| !hold) {
                return Some(front.clone());
            }
            if state.shutdown {
                return None;
            }
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    fn done(&self, height: u64) {
        let mut state = self.lock();
        if state.queue.front().is_some_and(|p| p.height == height) {
            state.queue.pop_front();
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Tests only: stops (or resumes) writing out.
    #[cfg(test)]
    pub(crate) fn set_paused(&self, paused: bool) {
        self.lock().paused = paused;
        self.changed.notify_all();
    }

    pub(crate) fn fail(&self, why: String) {
        self.lock().failure = Some(why);
        self.changed.notify_all();
    }
}

/// Records per write batch of a write-out. RocksDB applies writes one batch at a time, so a
/// commit arriving during a write-out waits for at most one chunk, not the whole height.
const WRITE_OUT_CHUNK_RECORDS: u32 = 4096;

/// Writes `pending` to the main column families, then advances `persisted` to its height and
/// deletes its changelog record (in the last write batch).
///
/// The height is written in several batches: a crash in between leaves part of it on disk with
/// `persisted` still below it, and replay rewrites the same entries. Readers are not affected:
/// the height stays pending (and is read from memory) until this returns.
pub(crate) fn write_out(
    db: &DB,
    cfs: &CfIds,
    pending: &PendingHeight,
    sync: bool,
) -> Result<(), StoreError> {
    let mut batch = RawBatch::with_chunks(pending.batch_capacity(), WRITE_OUT_CHUNK_RECORDS);
    pending.write_to(&mut batch, cfs)?;
    batch.put(cfs.meta, META_PERSISTED, &pending.height.to_be_bytes())?;
    batch.delete(cfs.changelog, &changelog_key(pending.height))?;
    let chunks = batch.into_chunks();
    let last = chunks.len() - 1;
    for (i, chunk) in chunks.into_iter().enumerate() {
        let mut opts = WriteOptions::default();
        opts.set_sync(sync && i == last);
        db.write_opt(chunk, &opts)?;
    }
    Ok(())
}

/// Scheduling niceness of the persister thread. Writing out is background work: on a busy
/// machine it must not take CPU time from executing and committing the next block (on two
/// shared cores, four validators at full load lost 15-20 % of their throughput to a persister at
/// normal priority). It still gets the CPU whenever a commit waits for it
/// ([`MAX_PENDING_HEIGHTS`]), since the waiting thread then sleeps.
pub const PERSISTER_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to [`PERSISTER_NICE`] (Linux: niceness is
/// per thread). Best effort: failing leaves the thread at normal priority.
fn lower_own_priority() {
    // SAFETY: setpriority only reads its integer arguments; `who = 0` is the calling thread.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, PERSISTER_NICE) };
    if rc != 0 {
        debug!(target: TRACING_TARGET, error = %std::io::Error::last_os_error(),
               "could not lower the persister's priority");
    }
}

/// The persister thread's loop: writes queued heights out, oldest first, until shut down.
pub(crate) fn run_persister(
    db: Arc<DB>,
    cfs: CfIds,
    queue: Arc<WriteBehind>,
    fault: Option<Fault>,
) {
    lower_own_priority();
    while let Some(pending) = queue.next() {
        Fault::fire(fault, FaultPoint::BeforePersist, pending.height);
        let started = std::time::Instant::now();
        match write_out(&db, &cfs, &pending, false) {
            Ok(()) => {
                debug!(target: TRACING_TARGET, height = pending.height,
                       changes = pending.len(),
                       write_us = started.elapsed().as_micros() as u64, "height written out");
                queue.done(pending.height);
            }
            Err(e) => {
                error!(target: TRACING_TARGET, height = pending.height, error = %e,
                       "writing out a committed height failed; commits stop until reopened");
                queue.fail(format!("writing out height {}: {e}", pending.height));
            }
        }
    }
}
