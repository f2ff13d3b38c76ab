//! Threshold signing driven by the consensus app: the outbox, the DKG per key epoch, signing
//! sessions through vote extensions, key rotation, and the validator's own duties.
//!
//! The library (`nexus-threshold`, see `docs/threshold.md`) does the cryptography; this module
//! decides when to call it and how messages travel:
//!
//! - [`state`]: every storage key and record (outbox items, queue, sessions, commitment pool,
//!   keys, hand-overs).
//! - [`keygen`]: encryption-key registration and DKG transactions, phase deadlines by height,
//!   the result, rotation at epoch ends, jailing of proven DKG faults. Deterministic.
//! - [`outbox`]: outputs and gateway answers to sign, sealed into one batch per block, and the
//!   digest signed for each queue entry. Deterministic.
//! - [`sessions`]: the proposer's threshold record, opening and closing sessions, storing
//!   signatures, naming and jailing signers of invalid shares. Deterministic.
//! - [`duty`]: the validator's local side (secrets on disk, its DKG and registration
//!   transactions, its vote extension). Never reachable from `FinalizeBlock`.
//!
//! Nothing is signed that is not committed: sessions are created by `FinalizeBlock` for outbox
//! items in the same block, and a validator only makes shares in `ExtendVote(h)` for sessions in
//! the committed state of `h − 1`; its nonces are durable before their commitments leave it and
//! consumed (durably) before a share is made.

pub mod duty;
pub mod keygen;
pub mod outbox;
pub mod sessions;
pub mod state;

pub use duty::{DutyError, ValidatorDuty};
