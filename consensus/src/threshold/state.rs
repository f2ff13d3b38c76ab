//! Every storage key of threshold signing, the records behind them, and typed access over a
//! [`StateView`].
//!
//! | key | value (borsh) |
//! |---|---|
//! | `thr/meta` | [`Meta`]: signing key epoch, pending key, slot and queue counters |
//! | `thr/enc/<operator 20>` | the validator's registered encryption key (33 bytes) |
//! | `thr/dkg` | [`DkgRun`]: the latest DKG (kept after it ends, nodes derive key shares from it) |
//! | `thr/key/<epoch BE 8>` | [`KeyRecord`]: a finished DKG's public output |
//! | `thr/out/<id 32>` | [`OutboxItem`]: an output, and its place in its block's batch |
//! | `thr/leaf/<height BE 8><index BE 4>` | a leaf of the current block's batch (32 bytes; folded into `thr/batch/` and deleted at the block's end) |
//! | `thr/batch/<height BE 8>` | [`OutputBatch`]: the leaves and root of a block's outputs, and the root's signature once signed |
//! | `thr/queue/<seq BE 8>` | [`QueueEntry`]: something waiting for a signature, in order |
//! | `thr/sess/<slot BE 8>` | [`OpenSession`]: a signing session fixed in state |
//! | `thr/pool/<slot BE 8><operator 20>` | a validator's published nonce commitments for a slot |
//! | `thr/rot/<new epoch BE 8>` | [`Handover`]: the old key's signature naming the new key |

use std::collections::BTreeSet;

use borsh::{BorshDeserialize, BorshSerialize};
use nexus_runtime::RuntimeError;
use nexus_store::StateView;
use nexus_threshold::dkg::{DkgOutput, DkgState};
use nexus_threshold::signing::SigningSession;
use nexus_threshold::vote_extension::CommitmentEntry;
use nexus_threshold::{Address as ThrAddress, CompressedPoint};
use serde::Serialize;

pub const META_KEY: &[u8] = b"thr/meta";
pub const ENC_KEY_PREFIX: &[u8] = b"thr/enc/";
pub const DKG_KEY: &[u8] = b"thr/dkg";
pub const KEY_PREFIX: &[u8] = b"thr/key/";
pub const OUTBOX_PREFIX: &[u8] = b"thr/out/";
pub const LEAF_PREFIX: &[u8] = b"thr/leaf/";
pub const BATCH_PREFIX: &[u8] = b"thr/batch/";
pub const QUEUE_PREFIX: &[u8] = b"thr/queue/";
pub const SESSION_PREFIX: &[u8] = b"thr/sess/";
pub const POOL_PREFIX: &[u8] = b"thr/pool/";
pub const HANDOVER_PREFIX: &[u8] = b"thr/rot/";

/// Counters and the key in use.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Meta {
    /// Epoch of the group key that signs new sessions (`None` until the first DKG finishes).
    pub current_epoch: Option<u64>,
    /// A finished DKG whose key waits for the hand-over signature of the current key.
    pub next_epoch: Option<u64>,
    /// Epoch number of the next DKG run (every run, retries included, gets a fresh one).
    pub next_dkg_epoch: u64,
    /// The validator set changed at an epoch end: run a DKG as soon as possible.
    pub rotation_wanted: bool,
    /// Height since which a DKG has been wanted but not started (waiting for validators to
    /// register encryption keys; see `keygen::REGISTRATION_GRACE_BLOCKS`).
    pub key_wanted_since: Option<u64>,
    /// The next nonce slot a session will use (slots are used in order, never twice).
    pub next_slot: u64,
    /// The next queue sequence number.
    pub next_seq: u64,
    /// The batch the current block's outputs go into: its height and how many leaves it has.
    pub open_batch: Option<(u64, u32)>,
}

/// The latest DKG and when its current phase closes.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DkgRun {
    pub state: DkgState,
    /// Height at whose end the current phase closes (earlier once everyone has spoken).
    pub phase_deadline: u64,
    pub started_at: u64,
}

/// A finished DKG's public result.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct KeyRecord {
    pub output: DkgOutput,
    pub finished_at: u64,
    /// Height from which the key signs (`None` while it waits for the hand-over).
    pub active_from: Option<u64>,
}

/// The group key's signature on a batch root, as a relayer submits it to the gateway.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct ItemSignature {
    /// Key epoch (the `epoch` field of the EIP-712 `OutputBatch`).
    pub epoch: u64,
    /// The EIP-712 digest that was signed.
    pub digest: [u8; 32],
    /// FROST signature, compressed R ‖ z (65 bytes).
    pub signature: Vec<u8>,
    /// Nexus height whose block carried the signature.
    pub height: u64,
}

/// The id of output `index` of the transaction `tx_hash`:
/// `keccak256("nexus/outbox/v1" ‖ tx hash ‖ index BE 4)`.
pub fn outbox_id(tx_hash: &[u8; 32], index: u32) -> [u8; 32] {
    let mut pre = b"nexus/outbox/v1".to_vec();
    pre.extend_from_slice(tx_hash);
    pre.extend_from_slice(&index.to_be_bytes());
    crate::address::keccak256(&pre)
}

/// An answer to be signed for Ethereum: an invocation's output, or the error of a failed request.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct OutboxItem {
    /// `keccak256("nexus/outbox/v1" ‖ tx hash ‖ output index BE 4)`.
    pub id: [u8; 32],
    /// The `requestId` of the gateway's `fulfill` (a uint256, big-endian). For invocations by
    /// transaction it is the id itself; gateway requests carry the gateway's id.
    pub request_id: [u8; 32],
    pub function: String,
    /// `keccak256(function name)`, the `functionId` of the gateway request.
    pub function_id: [u8; 32],
    pub output: Vec<u8>,
    /// `keccak256(output)`, hashed into the item's leaf.
    pub output_hash: [u8; 32],
    /// Whether this answers with the function's output; `false`: a gateway request that
    /// failed on Nexus, answered with the error message as `output`.
    pub success: bool,
    /// Height of the block that produced the output (`nexusHeight`): its batch.
    pub nexus_height: u64,
    /// Position of the item's leaf in its batch.
    pub batch_index: u32,
}

impl OutboxItem {
    /// The item's leaf in its block's batch ([`nexus_threshold::batch::output_leaf`]).
    pub fn leaf(&self) -> [u8; 32] {
        nexus_threshold::batch::output_leaf(
            &self.request_id,
            &self.function_id,
            self.success,
            &self.output_hash,
        )
    }
}

/// Every output of one block: the leaves in the order the outputs were made, their Merkle
/// root (what the group key signs, with the height) and, once signed, the signature.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct OutputBatch {
    pub height: u64,
    pub leaves: Vec<[u8; 32]>,
    pub root: [u8; 32],
    pub signature: Option<ItemSignature>,
}

/// An outbox item with what the gateway needs to accept it: its proof of inclusion under its
/// block's batch root and, once signed, the group key's signature on that root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SignedOutput {
    pub item: OutboxItem,
    /// Root of the item's batch (the outputs of block `item.nexus_height`).
    pub root: [u8; 32],
    /// The item's leaf's siblings, bottom-up (`NexusGateway.fulfill`'s `proof`).
    pub proof: Vec<[u8; 32]>,
    pub signature: Option<ItemSignature>,
}

impl SignedOutput {
    /// Joins an item with its batch, checking that the batch holds the item's leaf at the item's
    /// index and that the leaves give the batch's root.
    pub fn new(item: OutboxItem, batch: &OutputBatch) -> Result<Self, String> {
        if batch.height != item.nexus_height {
            return Err(format!(
                "batch of height {} for an output of height {}",
                batch.height, item.nexus_height
            ));
        }
        if batch.leaves.get(item.batch_index as usize) != Some(&item.leaf()) {
            return Err(format!(
                "batch {} does not hold the output's leaf at index {}",
                batch.height, item.batch_index
            ));
        }
        let tree =
            nexus_threshold::batch::OutputTree::new(&batch.leaves).map_err(|e| e.to_string())?;
        if tree.root() != batch.root {
            return Err(format!(
                "batch {} leaves do not give its root",
                batch.height
            ));
        }
        let proof = tree
            .proof(item.batch_index as usize)
            .map_err(|e| e.to_string())?;
        Ok(Self {
            item,
            root: batch.root,
            proof,
            signature: batch.signature.clone(),
        })
    }
}

/// What a queue entry asks to have signed.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Signable {
    /// The output batch of a block, by height.
    Batch(u64),
    /// The current key's hand-over to the key of `new_epoch`.
    Handover { new_epoch: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct QueueEntry {
    pub what: Signable,
    /// Validators left out of this entry's next session (cheaters and absentees).
    pub excluded: BTreeSet<ThrAddress>,
    /// The slot of its open session, if any.
    pub open_slot: Option<u64>,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OpenSession {
    pub session: SigningSession,
    /// Queue entry it signs.
    pub seq: u64,
    /// Key epoch that signs it.
    pub epoch: u64,
    pub opened_at: u64,
}

/// The old key's signature on `KeyRotation(new_epoch, new key x)`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct Handover {
    pub old_epoch: u64,
    pub new_epoch: u64,
    pub new_key: Vec<u8>,
    pub digest: [u8; 32],
    pub signature: Vec<u8>,
    pub height: u64,
}

pub fn enc_key_key(op: &ThrAddress) -> Vec<u8> {
    [ENC_KEY_PREFIX, op].concat()
}
pub fn key_record_key(epoch: u64) -> Vec<u8> {
    [KEY_PREFIX, &epoch.to_be_bytes()[..]].concat()
}
pub fn outbox_key(id: &[u8; 32]) -> Vec<u8> {
    [OUTBOX_PREFIX, id].concat()
}
pub fn leaf_key(height: u64, index: u32) -> Vec<u8> {
    [
        LEAF_PREFIX,
        &height.to_be_bytes()[..],
        &index.to_be_bytes()[..],
    ]
    .concat()
}
pub fn batch_key(height: u64) -> Vec<u8> {
    [BATCH_PREFIX, &height.to_be_bytes()[..]].concat()
}
pub fn queue_key(seq: u64) -> Vec<u8> {
    [QUEUE_PREFIX, &seq.to_be_bytes()[..]].concat()
}
pub fn session_key(slot: u64) -> Vec<u8> {
    [SESSION_PREFIX, &slot.to_be_bytes()[..]].concat()
}
pub fn pool_key(slot: u64, op: &ThrAddress) -> Vec<u8> {
    [POOL_PREFIX, &slot.to_be_bytes()[..], op].concat()
}
pub fn handover_key(new_epoch: u64) -> Vec<u8> {
    [HANDOVER_PREFIX, &new_epoch.to_be_bytes()[..]].concat()
}

fn be_u64(bytes: &[u8]) -> Result<u64, RuntimeError> {
    bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| RuntimeError::Corrupt("threshold key suffix".into()))
}

/// Typed reads and writes of the threshold state.
pub struct ThresholdState<'v> {
    pub view: &'v mut StateView,
}

fn encode<T: BorshSerialize>(value: &T) -> Vec<u8> {
    borsh::to_vec(value).expect("borsh encoding into a Vec cannot fail")
}

impl<'v> ThresholdState<'v> {
    pub fn new(view: &'v mut StateView) -> Self {
        ThresholdState { view }
    }

    fn read<T: BorshDeserialize>(&self, what: &str, key: &[u8]) -> Result<Option<T>, RuntimeError> {
        match self.view.get(key)? {
            Some(raw) => borsh::from_slice(&raw)
                .map(Some)
                .map_err(|e| RuntimeError::Corrupt(format!("{what}: {e}"))),
            None => Ok(None),
        }
    }

    /// Every entry under `prefix` (in key order), decoded.
    fn scan<T: BorshDeserialize>(
        &self,
        what: &str,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>, RuntimeError> {
        let mut out = Vec::new();
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self.view.scan_prefix(prefix, after.as_deref(), 256)?;
            let done = page.len() < 256;
            for (k, v) in page {
                let value = borsh::from_slice(&v)
                    .map_err(|e| RuntimeError::Corrupt(format!("{what}: {e}")))?;
                after = Some(k.clone());
                out.push((k[prefix.len()..].to_vec(), value));
            }
            if done {
                return Ok(out);
            }
        }
    }

    pub fn meta(&self) -> Result<Meta, RuntimeError> {
        Ok(self.read("threshold meta", META_KEY)?.unwrap_or_default())
    }
    pub fn set_meta(&mut self, meta: &Meta) {
        self.view.put(META_KEY.to_vec(), encode(meta));
    }

    pub fn encryption_key(&self, op: &ThrAddress) -> Result<Option<CompressedPoint>, RuntimeError> {
        Ok(self
            .view
            .get(&enc_key_key(op))?
            .and_then(|raw| CompressedPoint::from_slice(&raw)))
    }
    pub fn set_encryption_key(&mut self, op: &ThrAddress, key: &CompressedPoint) {
        self.view.put(enc_key_key(op), key.0.to_vec());
    }

    pub fn dkg(&self) -> Result<Option<DkgRun>, RuntimeError> {
        self.read("DKG run", DKG_KEY)
    }
    pub fn set_dkg(&mut self, run: &DkgRun) {
        self.view.put(DKG_KEY.to_vec(), encode(run));
    }

    pub fn key_record(&self, epoch: u64) -> Result<Option<KeyRecord>, RuntimeError> {
        self.read("key record", &key_record_key(epoch))
    }
    pub fn set_key_record(&mut self, epoch: u64, record: &KeyRecord) {
        self.view.put(key_record_key(epoch), encode(record));
    }

    /// The key that signs now, with its epoch.
    pub fn current_key(&self) -> Result<Option<(u64, KeyRecord)>, RuntimeError> {
        let Some(epoch) = self.meta()?.current_epoch else {
            return Ok(None);
        };
        Ok(self.key_record(epoch)?.map(|r| (epoch, r)))
    }

    pub fn outbox_item(&self, id: &[u8; 32]) -> Result<Option<OutboxItem>, RuntimeError> {
        self.read("outbox item", &outbox_key(id))
    }
    pub fn set_outbox_item(&mut self, item: &OutboxItem) {
        self.view.put(outbox_key(&item.id), encode(item));
    }
    /// An outbox item with its batch proof and signature.
    pub fn signed_output(&self, id: &[u8; 32]) -> Result<Option<SignedOutput>, RuntimeError> {
        let Some(item) = self.outbox_item(id)? else {
            return Ok(None);
        };
        let batch = self.batch(item.nexus_height)?.ok_or_else(|| {
            RuntimeError::Corrupt(format!("no output batch for height {}", item.nexus_height))
        })?;
        SignedOutput::new(item, &batch)
            .map(Some)
            .map_err(RuntimeError::Corrupt)
    }

    /// Adds `leaf` to the batch of block `height` and returns its index there.
    pub fn push_leaf(&mut self, height: u64, leaf: &[u8; 32]) -> Result<u32, RuntimeError> {
        let mut meta = self.meta()?;
        let index = match meta.open_batch {
            Some((h, len)) if h == height => len,
            _ => 0,
        };
        let len = index
            .checked_add(1)
            .filter(|&l| l as usize <= nexus_threshold::batch::MAX_BATCH_LEAVES)
            .ok_or_else(|| RuntimeError::Corrupt("a block's output batch is full".into()))?;
        meta.open_batch = Some((height, len));
        self.set_meta(&meta);
        self.view.put(leaf_key(height, index), leaf.to_vec());
        Ok(index)
    }
    /// Takes the leaves pushed for block `height` out of the open batch (empty if none).
    pub fn take_leaves(&mut self, height: u64) -> Result<Vec<[u8; 32]>, RuntimeError> {
        let mut meta = self.meta()?;
        let len = match meta.open_batch {
            Some((h, len)) if h == height => len,
            _ => return Ok(Vec::new()),
        };
        meta.open_batch = None;
        self.set_meta(&meta);
        let mut leaves = Vec::with_capacity(len as usize);
        for index in 0..len {
            let key = leaf_key(height, index);
            let leaf = self
                .view
                .get(&key)?
                .and_then(|raw| <[u8; 32]>::try_from(raw.as_slice()).ok())
                .ok_or_else(|| RuntimeError::Corrupt(format!("batch {height} leaf {index}")))?;
            self.view.delete(key);
            leaves.push(leaf);
        }
        Ok(leaves)
    }
    pub fn batch(&self, height: u64) -> Result<Option<OutputBatch>, RuntimeError> {
        self.read("output batch", &batch_key(height))
    }
    pub fn set_batch(&mut self, batch: &OutputBatch) {
        self.view.put(batch_key(batch.height), encode(batch));
    }

    /// Every queue entry, in order.
    pub fn queue(&self) -> Result<Vec<(u64, QueueEntry)>, RuntimeError> {
        self.scan::<QueueEntry>("queue entry", QUEUE_PREFIX)?
            .into_iter()
            .map(|(k, v)| Ok((be_u64(&k)?, v)))
            .collect()
    }
    /// The first `limit` queue entries, in order.
    pub fn queue_head(&self, limit: usize) -> Result<Vec<(u64, QueueEntry)>, RuntimeError> {
        self.view
            .scan_prefix(QUEUE_PREFIX, None, limit)?
            .into_iter()
            .map(|(k, v)| {
                let entry = borsh::from_slice(&v)
                    .map_err(|e| RuntimeError::Corrupt(format!("queue entry: {e}")))?;
                Ok((be_u64(&k[QUEUE_PREFIX.len()..])?, entry))
            })
            .collect()
    }
    pub fn queue_entry(&self, seq: u64) -> Result<Option<QueueEntry>, RuntimeError> {
        self.read("queue entry", &queue_key(seq))
    }
    pub fn set_queue_entry(&mut self, seq: u64, entry: &QueueEntry) {
        self.view.put(queue_key(seq), encode(entry));
    }
    pub fn delete_queue_entry(&mut self, seq: u64) {
        self.view.delete(queue_key(seq));
    }
    /// Appends to the queue.
    pub fn enqueue(&mut self, what: Signable) -> Result<u64, RuntimeError> {
        let mut meta = self.meta()?;
        let seq = meta.next_seq;
        meta.next_seq += 1;
        self.set_meta(&meta);
        self.set_queue_entry(
            seq,
            &QueueEntry {
                what,
                excluded: BTreeSet::new(),
                open_slot: None,
            },
        );
        Ok(seq)
    }

    pub fn sessions(&self) -> Result<Vec<OpenSession>, RuntimeError> {
        Ok(self
            .scan::<OpenSession>("signing session", SESSION_PREFIX)?
            .into_iter()
            .map(|(_, s)| s)
            .collect())
    }
    pub fn set_session(&mut self, s: &OpenSession) {
        self.view.put(session_key(s.session.slot), encode(s));
    }
    pub fn delete_session(&mut self, slot: u64) {
        self.view.delete(session_key(slot));
    }

    /// Published commitments for `slot`, by validator.
    pub fn pool(&self, slot: u64) -> Result<Vec<(ThrAddress, Vec<CommitmentEntry>)>, RuntimeError> {
        let prefix = [POOL_PREFIX, &slot.to_be_bytes()[..]].concat();
        self.scan::<Vec<CommitmentEntry>>("commitment pool", &prefix)?
            .into_iter()
            .map(|(k, v)| {
                let op: ThrAddress = k
                    .try_into()
                    .map_err(|_| RuntimeError::Corrupt("commitment pool key".into()))?;
                Ok((op, v))
            })
            .collect()
    }
    pub fn has_pooled(&self, slot: u64, op: &ThrAddress) -> Result<bool, RuntimeError> {
        Ok(self.view.get(&pool_key(slot, op))?.is_some())
    }
    pub fn set_pooled(&mut self, slot: u64, op: &ThrAddress, entries: &Vec<CommitmentEntry>) {
        self.view.put(pool_key(slot, op), encode(entries));
    }
    /// Drops the pooled commitments of every slot below `below` (all slots when `None`).
    pub fn clear_pool(&mut self, below: Option<u64>) -> Result<(), RuntimeError> {
        loop {
            let page = self.view.scan_prefix(POOL_PREFIX, None, 256)?;
            let mut deleted = 0;
            for (k, _) in &page {
                let slot = be_u64(&k[POOL_PREFIX.len()..])?;
                if below.is_some_and(|b| slot >= b) {
                    return Ok(());
                }
                self.view.delete(k.clone());
                deleted += 1;
            }
            if deleted < 256 {
                return Ok(());
            }
        }
    }

    pub fn handover(&self, new_epoch: u64) -> Result<Option<Handover>, RuntimeError> {
        self.read("hand-over", &handover_key(new_epoch))
    }
    pub fn set_handover(&mut self, h: &Handover) {
        self.view.put(handover_key(h.new_epoch), encode(h));
    }
}
