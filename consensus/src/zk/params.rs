//! The zk-Function parameters of a chain (`ChainParams::zk`), fixed at genesis.
//!
//! Every value a validator must agree on to verify, price and bound proofs the same way lives
//! here rather than in the binary: the circuit shape and the digest of its verifier key, the
//! verification fuel, the per-block proof budget, the job lifetime and the size limits. Each
//! limit has a hard ceiling ([`ZkLimitCeilings`]) that a genesis cannot exceed, because the
//! transaction decoder and the block size bound them anyway.

use borsh::{BorshDeserialize, BorshSerialize};
use nexus_zkvm_bridge::{cache, prover};
use serde::{Deserialize, Serialize};

use crate::params::ParamsError;

/// Hard ceilings of the zk parameters (a genesis above them is refused).
pub struct ZkLimitCeilings;

impl ZkLimitCeilings {
    /// Largest `max_elf_bytes` a chain may choose.
    pub const ELF_BYTES: u32 = 4 << 20;
    /// Largest `max_input_bytes`.
    pub const INPUT_BYTES: u32 = 256 << 10;
    /// Largest `max_proof_bytes`.
    pub const PROOF_BYTES: u32 = 1 << 20;
    /// Largest `max_proofs_per_block`.
    pub const PROOFS_PER_BLOCK: u32 = 64;
    /// Largest `max_expiries_per_block`.
    pub const EXPIRIES_PER_BLOCK: u32 = 4096;
}

/// A chain's zk-Function parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ZkParams {
    /// Instruction slots per folding step of the one circuit shape the chain verifies.
    pub circuit_k: u32,
    /// Memory-audit rows per folding step of that shape.
    pub circuit_m: u32,
    /// SHA-256 of the canonical encoding of the shape's verifier key
    /// (`nexus_zkvm_bridge::cache::verifier_key_digest`). A node whose key differs (another
    /// circuit in its binary) halts at the first proof instead of disagreeing with the others.
    #[serde(with = "crate::genesis::hex32")]
    pub verifier_key_sha256: [u8; 32],
    /// Fuel every `SubmitProof` pays for its verification, on top of the base and per-byte fuel.
    pub verify_fuel: u64,
    /// Fuel per byte of a deployed ELF (loading and hashing it).
    pub deploy_fuel_per_byte: u64,
    /// Most proofs one block verifies.
    pub max_proofs_per_block: u32,
    /// Blocks a job stays open after the block that requested it.
    pub job_ttl_blocks: u64,
    /// Most expired jobs refunded at the end of one block (the rest follow).
    pub max_expiries_per_block: u32,
    /// Largest ELF a `DeployZk` may carry.
    pub max_elf_bytes: u32,
    /// Largest input of a proof request.
    pub max_input_bytes: u32,
    /// Largest proof a `SubmitProof` may carry.
    pub max_proof_bytes: u32,
}

impl Default for ZkParams {
    fn default() -> Self {
        ZkParams {
            circuit_k: prover::DEFAULT_K as u32,
            circuit_m: prover::DEFAULT_M as u32,
            verifier_key_sha256: cache::DEFAULT_VERIFIER_KEY_SHA256,
            // One verification of the default shape takes ~270 ms with the key in memory, up to
            // ~370 ms in a cold process (one unit of fuel is about one wasm instruction, ~1 ns).
            verify_fuel: 400_000_000,
            deploy_fuel_per_byte: 20,
            max_proofs_per_block: 4,
            job_ttl_blocks: 600,
            max_expiries_per_block: 64,
            max_elf_bytes: 1 << 20,
            max_input_bytes: 16 << 10,
            // A compressed proof of the default shape is ~12.6 KiB plus its output.
            max_proof_bytes: 64 << 10,
        }
    }
}

impl ZkParams {
    /// The circuit shape as the prover library takes it.
    pub fn shape(&self) -> (usize, usize) {
        (self.circuit_k as usize, self.circuit_m as usize)
    }

    pub fn validate(&self) -> Result<(), ParamsError> {
        let err = |name, reason: String| Err(ParamsError { name, reason });
        let slots = 1..=prover::MAX_SLOTS_PER_STEP as u32;
        if !slots.contains(&self.circuit_k) || !slots.contains(&self.circuit_m) {
            return err(
                "zk.circuit_k / zk.circuit_m",
                format!("each must be 1..={}", prover::MAX_SLOTS_PER_STEP),
            );
        }
        let bounded = [
            (
                "zk.max_proofs_per_block",
                self.max_proofs_per_block,
                ZkLimitCeilings::PROOFS_PER_BLOCK,
            ),
            (
                "zk.max_expiries_per_block",
                self.max_expiries_per_block,
                ZkLimitCeilings::EXPIRIES_PER_BLOCK,
            ),
            (
                "zk.max_elf_bytes",
                self.max_elf_bytes,
                ZkLimitCeilings::ELF_BYTES,
            ),
            (
                "zk.max_input_bytes",
                self.max_input_bytes,
                ZkLimitCeilings::INPUT_BYTES,
            ),
            (
                "zk.max_proof_bytes",
                self.max_proof_bytes,
                ZkLimitCeilings::PROOF_BYTES,
            ),
        ];
        for (name, value, ceiling) in bounded {
            if value == 0 || value > ceiling {
                return err(name, format!("must be 1..={ceiling}, not {value}"));
            }
        }
        if self.verify_fuel == 0 {
            return err(
                "zk.verify_fuel",
                "must be positive (a proof costs its verification)".into(),
            );
        }
        if self.job_ttl_blocks == 0 {
            return err("zk.job_ttl_blocks", "must be at least 1".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_pin_the_default_circuit() {
        let p = ZkParams::default();
        p.validate().unwrap();
        assert_eq!(p.shape(), (prover::DEFAULT_K, prover::DEFAULT_M));
        assert_eq!(p.verifier_key_sha256, cache::DEFAULT_VERIFIER_KEY_SHA256);
    }

    #[test]
    fn out_of_range_values_are_refused_by_name() {
        type Breaker = fn(&mut ZkParams);
        let cases: Vec<(&str, Breaker)> = vec![
            ("zk.circuit_k", |p| p.circuit_k = 0),
            ("zk.circuit_m", |p| {
                p.circuit_m = prover::MAX_SLOTS_PER_STEP as u32 + 1
            }),
            ("zk.max_proofs_per_block", |p| p.max_proofs_per_block = 0),
            ("zk.max_proofs_per_block", |p| {
                p.max_proofs_per_block = ZkLimitCeilings::PROOFS_PER_BLOCK + 1
            }),
            ("zk.max_expiries_per_block", |p| {
                p.max_expiries_per_block = 0
            }),
            ("zk.max_elf_bytes", |p| {
                p.max_elf_bytes = ZkLimitCeilings::ELF_BYTES + 1
            }),
            ("zk.max_input_bytes", |p| p.max_input_bytes = 0),
            ("zk.max_proof_bytes", |p| p.max_proof_bytes = u32::MAX),
            ("zk.verify_fuel", |p| p.verify_fuel = 0),
            ("zk.job_ttl_blocks", |p| p.job_ttl_blocks = 0),
        ];
        for (name, break_it) in cases {
            let mut p = ZkParams::default();
            break_it(&mut p);
            let e = p.validate().unwrap_err();
            assert!(e.name.contains(name), "{name}: got {e}");
        }
    }

    #[test]
    fn genesis_json_may_omit_any_field_and_names_the_digest_in_hex() {
        let p: ZkParams = serde_json::from_str(r#"{"max_proofs_per_block": 2}"#).unwrap();
        assert_eq!(p.max_proofs_per_block, 2);
        assert_eq!(p.job_ttl_blocks, ZkParams::default().job_ttl_blocks);
        let json = serde_json::to_value(ZkParams::default()).unwrap();
        assert_eq!(
            json["verifier_key_sha256"],
            hex::encode(cache::DEFAULT_VERIFIER_KEY_SHA256)
        );
        assert!(serde_json::from_str::<ZkParams>(r#"{"circuit_q": 1}"#).is_err());
        assert!(serde_json::from_str::<ZkParams>(r#"{"verifier_key_sha256": "00"}"#).is_err());
    }
}
