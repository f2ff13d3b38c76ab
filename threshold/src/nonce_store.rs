//! Durable, single-use signing nonces.
//!
//! A validator's FROST nonces for a signing slot are written to disk and fsynced **before** their
//! commitments are returned (so they can be published), and handed out at most once, ever: taking
//! a slot's nonces first writes and fsyncs a tombstone for the slot, then deletes the nonces.
//! After a crash a slot with a tombstone is refused even if its nonce file survived; a slot whose
//! nonces were written but not yet used returns the same commitments again (re-publishing a
//! commitment is harmless; signing twice with one nonce would leak the key).
//!
//! Layout of the directory (files are `0600`): `slot-<16 hex>.nonces` (borsh list of
//! `(share id, serialized SigningNonces)`), `slot-<16 hex>.used` (tombstone), `floor` (8-byte
//! big-endian: every slot below it is refused; [`NonceStore::prune_below`] raises it and deletes
//! older files).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rand_core::{CryptoRng, RngCore};
use tracing::{debug, warn};

use crate::{frost, ShareId};

#[derive(Debug, thiserror::Error)]
pub enum NonceError {
    #[error("nonces of slot {0} were already used (or pruned)")]
    AlreadyUsed(u64),
    #[error("no nonces for slot {0}")]
    Missing(u64),
    #[error("nonce store I/O at {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("corrupt nonce file {0}")]
    Corrupt(String),
    #[error("FROST: {0}")]
    Frost(String),
}

/// One slot's nonces on disk.
type SlotRecord = Vec<(ShareId, Vec<u8>)>;

/// The nonce store of one validator (one directory, one process).
#[derive(Debug)]
pub struct NonceStore {
    dir: PathBuf,
    floor: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NonceError + '_ {
    move |source| NonceError::Io {
        path: path.display().to_string(),
        source,
    }
}

impl NonceStore {
    /// Opens (creating) the store in `dir` and finishes any interrupted hand-out.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, NonceError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let floor_path = dir.join("floor");
        let floor = match fs::read(&floor_path) {
            Ok(b) => u64::from_be_bytes(
                b.as_slice()
                    .try_into()
                    .map_err(|_| NonceError::Corrupt(floor_path.display().to_string()))?,
            ),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(io(&floor_path)(e)),
        };
        let store = Self { dir, floor };
        // A tombstone with a surviving nonce file: the hand-out was interrupted; drop the nonces.
        for entry in fs::read_dir(&store.dir).map_err(io(&store.dir))? {
            let entry = entry.map_err(io(&store.dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".tmp") {
                let _ = fs::remove_file(entry.path());
            } else if let Some(slot) = parse_slot(&name, ".nonces") {
                if store.used_path(slot).exists() || slot < store.floor {
                    fs::remove_file(entry.path()).map_err(io(&entry.path()))?;
                }
            }
        }
        sync_dir(&store.dir)?;
        Ok(store)
    }

    fn nonces_path(&self, slot: u64) -> PathBuf {
        self.dir.join(format!("slot-{slot:016x}.nonces"))
    }

    fn used_path(&self, slot: u64) -> PathBuf {
        self.dir.join(format!("slot-{slot:016x}.used"))
    }

    /// Whether `slot`'s nonces have been handed out (or pruned).
    pub fn is_used(&self, slot: u64) -> bool {
        slot < self.floor || self.used_path(slot).exists()
    }

    /// Commitments for `slot`, one per key package. New nonces are generated and made durable
    /// before this returns; if the slot already has unused nonces, their commitments are returned
    /// again. Refused for a used slot.
    pub fn commit(
        &self,
        slot: u64,
        key_packages: &[(ShareId, frost::keys::KeyPackage)],
        rng: &mut (impl RngCore + CryptoRng),
    ) -> Result<Vec<(ShareId, frost::round1::SigningCommitments)>, NonceError> {
        if self.is_used(slot) {
            return Err(NonceError::AlreadyUsed(slot));
        }
        let path = self.nonces_path(slot);
        if path.exists() {
            let existing = self.read(slot)?;
            let ids: Vec<ShareId> = existing.iter().map(|(id, _)| *id).collect();
            let wanted: Vec<ShareId> = key_packages.iter().map(|(id, _)| *id).collect();
            if ids == wanted {
                return Ok(existing
                    .into_iter()
                    .map(|(id, n)| (id, *n.commitments()))
                    .collect());
            }
            // Different shares (new epoch's keys): these nonces were never published for them.
            return Err(NonceError::Corrupt(format!(
                "slot {slot} holds nonces for other shares"
            )));
        }
        let mut record: SlotRecord = Vec::with_capacity(key_packages.len());
        let mut out = Vec::with_capacity(key_packages.len());
        for (id, kp) in key_packages {
            let (nonces, commitments) = frost::round1::commit(kp.signing_share(), rng);
            record.push((
                *id,
                nonces
                    .serialize()
                    .map_err(|e| NonceError::Frost(e.to_string()))?,
            ));
            out.push((*id, commitments));
        }
        let bytes = borsh::to_vec(&record).map_err(|e| NonceError::Corrupt(e.to_string()))?;
        write_durably(&self.dir, &path, &bytes)?;
        debug!(target: "nexus_threshold::nonces", slot, shares = out.len(), "nonces persisted");
        Ok(out)
    }

    fn read(&self, slot: u64) -> Result<Vec<(ShareId, frost::round1::SigningNonces)>, NonceError> {
        let path = self.nonces_path(slot);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(NonceError::Missing(slot))
            }
            Err(e) => return Err(io(&path)(e)),
        };
        let record: SlotRecord = borsh::from_slice(&bytes)
            .map_err(|_| NonceError::Corrupt(path.display().to_string()))?;
        record
            .into_iter()
            .map(|(id, n)| {
                frost::round1::SigningNonces::deserialize(&n)
                    .map(|n| (id, n))
                    .map_err(|_| NonceError::Corrupt(path.display().to_string()))
            })
            .collect()
    }

    /// Hands out `slot`'s nonces exactly once: the tombstone is durable before they are returned.
    pub fn take(
        &self,
        slot: u64,
    ) -> Result<Vec<(ShareId, frost::round1::SigningNonces)>, NonceError> {
        if self.is_used(slot) {
            return Err(NonceError::AlreadyUsed(slot));
        }
        let nonces = self.read(slot)?;
        write_durably(&self.dir, &self.used_path(slot), b"")?;
        let path = self.nonces_path(slot);
        fs::remove_file(&path).map_err(io(&path))?;
        sync_dir(&self.dir)?;
        debug!(target: "nexus_threshold::nonces", slot, "nonces handed out");
        Ok(nonces)
    }

    /// Refuses every slot below `floor` from now on and deletes their files.
    pub fn prune_below(&mut self, floor: u64) -> Result<(), NonceError> {
        if floor <= self.floor {
            return Ok(());
        }
        write_durably(&self.dir, &self.dir.join("floor"), &floor.to_be_bytes())?;
        self.floor = floor;
        for entry in fs::read_dir(&self.dir).map_err(io(&self.dir))? {
            let entry = entry.map_err(io(&self.dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let slot = parse_slot(&name, ".nonces").or_else(|| parse_slot(&name, ".used"));
            if slot.is_some_and(|s| s < floor) {
                if let Err(e) = fs::remove_file(entry.path()) {
                    warn!(target: "nexus_threshold::nonces", file = %name, error = %e, "prune failed");
                }
            }
        }
        sync_dir(&self.dir)
    }
}

fn parse_slot(name: &str, suffix: &str) -> Option<u64> {
    let hex = name.strip_prefix("slot-")?.strip_suffix(suffix)?;
    u64::from_str_radix(hex, 16).ok()
}

/// Writes `bytes` to `path` atomically and durably: temp file, fsync, rename, fsync directory.
fn write_durably(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), NonceError> {
    let tmp = path.with_extension("tmp");
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io(&tmp))?;
        f.write_all(bytes).map_err(io(&tmp))?;
        f.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))?;
    sync_dir(dir)
}

fn sync_dir(dir: &Path) -> Result<(), NonceError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))
}
