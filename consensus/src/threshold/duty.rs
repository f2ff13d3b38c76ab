//! A validator's own part of threshold signing: its secrets on disk, the DKG and registration
//! transactions it must send, and its vote extension.
//!
//! Everything here is local and non-deterministic (OS randomness, files); nothing here is
//! reachable from `FinalizeBlock`. The app calls [`ValidatorDuty::after_commit`] once a height is
//! committed (and before `ExtendVote`), and [`ValidatorDuty::extend_vote`] from `ExtendVote`.
//!
//! **How the node's own transactions travel.** `after_commit` signs them with the operator key
//! (fuel price 0: duty transactions pay no fee, only validators may send them) and queues them;
//! the node's duty thread ([`crate::node`]) takes them with [`crate::NexusApp::take_duty_txs`]
//! and broadcasts them to its own CometBFT through the RPC (`broadcast_tx_sync`), so they reach
//! every proposer's mempool like any transaction. We chose this over injecting them in our own
//! `PrepareProposal`: with injection a validator could only speak in blocks it proposes, so every
//! DKG phase would have to last as long as a full proposer rotation (≥ n blocks for n
//! validators); through the mempool a phase closes in one block once everyone has spoken. A
//! duty transaction not seen in state is sent again after [`RESUBMIT_BLOCKS`].
//!
//! **Secrets** (directory `<home>/data/threshold/`, files `0600`, each written to a temporary
//! file, fsynced, renamed, directory fsynced, before anything derived from it is published):
//!
//! | file | what |
//! |---|---|
//! | `encryption.key` | the DKG encryption secret (registered by `RegisterEncryptionKey`) |
//! | `dkg-<epoch>.participant` | the DKG polynomial and the round-1 message (before round 1 is sent) |
//! | `key-<epoch>.packages` | this validator's FROST key packages of a finished DKG |
//! | `nonces/` | the [`NonceStore`] (a nonce is durable before its commitment is published) |

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use borsh::{BorshDeserialize, BorshSerialize};
use nexus_runtime::RuntimeError;
use nexus_store::StateView;
use nexus_threshold::dkg::{DkgMessage, DkgParticipant, DkgPhase};
use nexus_threshold::encryption::EncryptionSecret;
use nexus_threshold::frost;
use nexus_threshold::nonce_store::NonceStore;
use nexus_threshold::signing::{Signer, SigningSession};
use nexus_threshold::Address as ThrAddress;
use rand_core::OsRng;
use thiserror::Error;
use tracing::{debug, info, warn};

use super::sessions::LOOKAHEAD_SLOTS;
use super::state::ThresholdState;
use crate::address::{AccountKey, Address};
use crate::ledger::Ledger;
use crate::params::ChainParams;
use crate::tx::{TxBody, TxKind};

const TARGET: &str = "nexus::threshold::duty";

/// A duty transaction not reflected in state is sent again after this many blocks.
pub const RESUBMIT_BLOCKS: u64 = 3;

#[derive(Debug, Error)]
pub enum DutyError {
    #[error("threshold secrets at {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt threshold secret file {0}")]
    Corrupt(String),
    #[error("nonce store: {0}")]
    Nonces(#[from] nexus_threshold::nonce_store::NonceError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> DutyError + '_ {
    move |source| DutyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes `bytes` to `dir/name` durably: temporary file, fsync, rename, fsync of the directory.
fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), DutyError> {
    let tmp = dir.join(format!("{name}.tmp"));
    let path = dir.join(name);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io(&tmp))?;
    f.write_all(bytes).map_err(io(&tmp))?;
    f.sync_all().map_err(io(&tmp))?;
    fs::rename(&tmp, &path).map_err(io(&path))?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io(dir))
}

fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, DutyError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(path)(e)),
    }
}

#[derive(BorshSerialize, BorshDeserialize)]
struct ParticipantFile {
    secret: Vec<u8>,
    round1: Vec<u8>,
}

/// Which duty message a submission was (for resubmission bookkeeping).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Duty {
    Register,
    Round1(u64),
    Round2(u64),
    Complaint(u64, ThrAddress),
}

/// A validator's threshold-signing side.
pub struct ValidatorDuty {
    dir: PathBuf,
    key: AccountKey,
    me: ThrAddress,
    encryption: EncryptionSecret,
    participant: Option<(u64, DkgParticipant, Vec<u8>)>,
    signer: Option<(u64, Signer)>,
    sent: BTreeMap<Duty, u64>,
    /// Next account nonce to use while earlier duty transactions are in flight.
    nonce_hint: Option<(u64, u64)>,
    outgoing: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ValidatorDuty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorDuty")
            .field("dir", &self.dir)
            .field("operator", &Address(self.me))
            .finish_non_exhaustive()
    }
}

impl ValidatorDuty {
    /// Opens (creating) the secrets directory of the validator whose operator key is `key`.
    pub fn open(dir: impl Into<PathBuf>, key: AccountKey) -> Result<Self, DutyError> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(io(&dir))?;
        let enc_path = dir.join("encryption.key");
        let encryption = match read_opt(&enc_path)? {
            Some(raw) => {
                let arr: [u8; 32] = raw
                    .as_slice()
                    .try_into()
                    .map_err(|_| DutyError::Corrupt(enc_path.display().to_string()))?;
                EncryptionSecret::from_bytes(&arr)
                    .map_err(|_| DutyError::Corrupt(enc_path.display().to_string()))?
            }
            None => {
                let secret = EncryptionSecret::random(&mut OsRng);
                write_durably(&dir, "encryption.key", &secret.to_bytes())?;
                secret
            }
        };
        let me = key.address().0;
        Ok(Self {
            dir,
            key,
            me,
            encryption,
            participant: None,
            signer: None,
            sent: BTreeMap::new(),
            nonce_hint: None,
            outgoing: Vec::new(),
        })
    }

    pub fn operator(&self) -> Address {
        Address(self.me)
    }

    /// Signed duty transactions waiting to be broadcast.
    pub fn take_outgoing(&mut self) -> Vec<Vec<u8>> {
        std::mem::take(&mut self.outgoing)
    }

    fn submit(
        &mut self,
        view: &mut StateView,
        chain_id: &str,
        params: &ChainParams,
        height: u64,
        duty: Duty,
        kind: TxKind,
    ) -> Result<(), RuntimeError> {
        if self
            .sent
            .get(&duty)
            .is_some_and(|at| height < at + RESUBMIT_BLOCKS)
        {
            return Ok(());
        }
        let committed = Ledger::new(view).account(&Address(self.me))?.nonce;
        let nonce = match self.nonce_hint {
            Some((next, at)) if next > committed && height < at + RESUBMIT_BLOCKS => next,
            _ => committed,
        };
        let payload = borsh::to_vec(&kind).map_or(0, |b| b.len()) as u64;
        let fuel_limit = params
            .base_tx_fuel
            .saturating_add(params.fuel_per_tx_byte.saturating_mul(payload + 512));
        let tx = TxBody {
            chain_id: chain_id.to_string(),
            nonce,
            fuel_limit,
            fuel_price: 0,
            kind,
        }
        .sign(&self.key)
        .encode();
        debug!(target: TARGET, ?duty, nonce, height, "duty transaction queued");
        self.outgoing.push(tx);
        self.nonce_hint = Some((nonce + 1, height));
        self.sent.insert(duty, height);
        Ok(())
    }

    fn participant_path(&self, epoch: u64) -> PathBuf {
        self.dir.join(format!("dkg-{epoch}.participant"))
    }

    fn key_file(epoch: u64) -> String {
        format!("key-{epoch}.packages")
    }

    /// The participant of `epoch` (memory, else disk).
    fn load_participant(&mut self, epoch: u64) -> Result<bool, DutyError> {
        if self
            .participant
            .as_ref()
            .is_some_and(|(e, _, _)| *e == epoch)
        {
            return Ok(true);
        }
        let path = self.participant_path(epoch);
        let Some(raw) = read_opt(&path)? else {
            return Ok(false);
        };
        let file: ParticipantFile =
            borsh::from_slice(&raw).map_err(|_| DutyError::Corrupt(path.display().to_string()))?;
        let p = DkgParticipant::from_secret_bytes(&file.secret)
            .map_err(|_| DutyError::Corrupt(path.display().to_string()))?;
        self.participant = Some((epoch, p, file.round1));
        Ok(true)
    }

    /// Makes sure the signer of the current key is loaded (after a restart, `ExtendVote` may
    /// come before any `Commit`).
    fn ensure_signer(&mut self, epoch: u64) -> Result<bool, DutyError> {
        if self.signer.as_ref().is_some_and(|(e, _)| *e == epoch) {
            return Ok(true);
        }
        let path = self.dir.join(Self::key_file(epoch));
        let Some(raw) = read_opt(&path)? else {
            return Ok(false);
        };
        let blobs: Vec<Vec<u8>> =
            borsh::from_slice(&raw).map_err(|_| DutyError::Corrupt(path.display().to_string()))?;
        let packages = blobs
            .iter()
            .map(|b| frost::keys::KeyPackage::deserialize(b))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| DutyError::Corrupt(path.display().to_string()))?;
        // One nonce store per directory: drop the old signer's before opening it again.
        self.signer = None;
        let nonces = NonceStore::open(self.dir.join("nonces"))?;
        let signer = Signer::new(self.me, packages, nonces)
            .map_err(|_| DutyError::Corrupt(path.display().to_string()))?;
        info!(target: TARGET, epoch, shares = ?signer.share_ids(), "signing key loaded");
        self.signer = Some((epoch, signer));
        Ok(true)
    }

    /// Work after height `height` is committed: registration, DKG messages, key shares, signer.
    /// `view` is the committed state.
    pub fn after_commit(
        &mut self,
        view: &mut StateView,
        chain_id: &str,
        params: &ChainParams,
        height: u64,
    ) -> Result<(), RuntimeError> {
        let me = Address(self.me);
        if Ledger::new(view).validator(&me)?.is_none() {
            return Ok(());
        }
        let public = self.encryption.public_key();
        if ThresholdState::new(view).encryption_key(&self.me)? != Some(public) {
            let kind = TxKind::RegisterEncryptionKey {
                key: public.0.to_vec(),
            };
            self.submit(view, chain_id, params, height, Duty::Register, kind)?;
        }
        if let Err(e) = self.dkg_duties(view, chain_id, params, height) {
            warn!(target: TARGET, height, error = %e, "DKG duty failed");
        }
        let ts = ThresholdState::new(view);
        let meta = ts.meta()?;
        if let Some(epoch) = meta.current_epoch {
            match self.ensure_signer(epoch) {
                Ok(true) => {
                    let floor = ts
                        .sessions()?
                        .iter()
                        .map(|s| s.session.slot)
                        .min()
                        .unwrap_or(meta.next_slot)
                        .min(meta.next_slot);
                    if let Some((_, signer)) = self.signer.as_mut() {
                        if let Err(e) = signer.nonce_store_mut().prune_below(floor) {
                            warn!(target: TARGET, error = %e, "cannot prune nonces");
                        }
                    }
                }
                Ok(false) => {}
                Err(e) => warn!(target: TARGET, epoch, error = %e, "cannot load the signing key"),
            }
        }
        Ok(())
    }

    fn dkg_duties(
        &mut self,
        view: &mut StateView,
        chain_id: &str,
        params: &ChainParams,
        height: u64,
    ) -> Result<(), Box<dyn std::error::Error>> {
        let Some(run) = ThresholdState::new(view).dkg()? else {
            return Ok(());
        };
        let state = &run.state;
        let epoch = state.config.epoch;
        if state.config.allocation.holder(&self.me).is_none() {
            return Ok(());
        }
        let have = self.load_participant(epoch)?;
        match state.phase {
            DkgPhase::Round1 if !state.round1.contains_key(&self.me) => {
                if !have {
                    let (p, round1) = DkgParticipant::new(
                        state.config.clone(),
                        self.me,
                        EncryptionSecret::from_bytes(&self.encryption.to_bytes())?,
                        &mut OsRng,
                    )?;
                    let round1 = DkgMessage::Round1(round1).encode();
                    let file = ParticipantFile {
                        secret: p.to_secret_bytes(),
                        round1: round1.clone(),
                    };
                    write_durably(
                        &self.dir,
                        &format!("dkg-{epoch}.participant"),
                        &borsh::to_vec(&file)?,
                    )?;
                    self.participant = Some((epoch, p, round1));
                }
                let message = self
                    .participant
                    .as_ref()
                    .map(|(_, _, r1)| r1.clone())
                    .unwrap_or_default();
                let kind = TxKind::Dkg { message };
                self.submit(view, chain_id, params, height, Duty::Round1(epoch), kind)?;
            }
            DkgPhase::Round2
                if have
                    && state.round1.contains_key(&self.me)
                    && !state.round2.contains_key(&self.me) =>
            {
                if self
                    .sent
                    .get(&Duty::Round2(epoch))
                    .is_some_and(|at| height < at + RESUBMIT_BLOCKS)
                {
                    return Ok(());
                }
                let Some((_, p, _)) = self.participant.as_ref() else {
                    return Ok(());
                };
                let message = DkgMessage::Round2(p.round2(&mut OsRng)?).encode();
                let kind = TxKind::Dkg { message };
                self.submit(view, chain_id, params, height, Duty::Round2(epoch), kind)?;
            }
            DkgPhase::Complaints if have => {
                let Some((_, p, _)) = self.participant.as_ref() else {
                    return Ok(());
                };
                let complaints = p.complaints(state, &mut OsRng);
                for c in complaints {
                    if state.complaints.contains_key(&(c.dealer, self.me)) {
                        continue;
                    }
                    warn!(target: TARGET, epoch, dealer = %Address(c.dealer), "complaining about a dealer");
                    let duty = Duty::Complaint(epoch, c.dealer);
                    let message = DkgMessage::Complaint(c).encode();
                    self.submit(
                        view,
                        chain_id,
                        params,
                        height,
                        duty,
                        TxKind::Dkg { message },
                    )?;
                }
            }
            DkgPhase::Finished if have => {
                let file = Self::key_file(epoch);
                let holds = state
                    .output
                    .as_ref()
                    .and_then(|o| o.allocation.holder(&self.me))
                    .is_some_and(|h| !h.shares.is_empty());
                if holds && !self.dir.join(&file).exists() {
                    let Some((_, p, _)) = self.participant.as_ref() else {
                        return Ok(());
                    };
                    let packages = p.key_packages(state)?;
                    let blobs = packages
                        .iter()
                        .map(|kp| kp.serialize())
                        .collect::<Result<Vec<_>, _>>()?;
                    write_durably(&self.dir, &file, &borsh::to_vec(&blobs)?)?;
                    info!(target: TARGET, epoch, shares = blobs.len(), "key shares stored");
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// This height's vote extension: shares for committed sessions that include us, then
    /// commitments for the slots of the window we have not published yet. `view` is the
    /// committed state (height − 1).
    pub fn extend_vote(&mut self, view: &mut StateView) -> Result<Vec<u8>, RuntimeError> {
        let ts = ThresholdState::new(view);
        let meta = ts.meta()?;
        let Some((epoch, key)) = ts.current_key()? else {
            return Ok(Vec::new());
        };
        if key.output.allocation.holder(&self.me).is_none() {
            return Ok(Vec::new());
        }
        let mut commit_slots = Vec::new();
        for slot in meta.next_slot..meta.next_slot + LOOKAHEAD_SLOTS {
            if !ts.has_pooled(slot, &self.me)? {
                commit_slots.push(slot);
            }
        }
        let sessions: Vec<SigningSession> = ts
            .sessions()?
            .into_iter()
            .filter(|s| s.epoch == epoch)
            .map(|s| s.session)
            .collect();
        match self.ensure_signer(epoch) {
            Ok(true) => {}
            Ok(false) => return Ok(Vec::new()),
            Err(e) => {
                warn!(target: TARGET, epoch, error = %e, "cannot load the signing key");
                return Ok(Vec::new());
            }
        }
        let Some((_, signer)) = self.signer.as_mut() else {
            return Ok(Vec::new());
        };
        let ids = signer.share_ids();
        let sessions: Vec<SigningSession> = sessions
            .into_iter()
            .filter(|s| ids.iter().any(|id| s.commitments.contains_key(id)))
            .filter(|s| !signer.nonce_store_mut().is_used(s.slot))
            .collect();
        let outcome = signer.extend(&commit_slots, &sessions, &mut OsRng);
        let ext = outcome.extension;
        if ext.commitments.is_empty() && ext.shares.is_empty() {
            return Ok(Vec::new());
        }
        Ok(ext.encode())
    }
}
