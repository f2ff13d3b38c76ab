//! Versioned binary formats: proofs and cached keys.
//!
//! Proof file (`.nxproof`), all integers little-endian:
//!
//! ```text
//! magic "NXZKPRF\0" | version u32 | k u32 | m u32 | num_steps u64
//! | program_hash [32] | input_hash [32] | exit_code u32 | cycles u64
//! | output_len u32 | output [output_len] | digest [32] | snark_len u32 | snark [snark_len]
//! ```
//!
//! `snark` is the bincode (legacy config) encoding of nova-snark's `CompressedSNARK`, decoded
//! with a size limit. Decoding never panics on untrusted bytes.

use crate::prover::{Snark, MAX_SLOTS_PER_STEP};
use crate::witness::{field_bytes, field_from_bytes, PublicValues, MAX_IO_BYTES};
use crate::F;

/// Proof file magic.
pub const PROOF_MAGIC: &[u8; 8] = b"NXZKPRF\0";
/// Proof format version. 2: the evaluation arguments are [`crate::ipa`]'s, not
/// `nova_snark`'s `ipa_pc` (a version-1 proof is refused by version, not by a decoding error).
pub const PROOF_VERSION: u32 = 2;
/// Largest proof file accepted.
pub const MAX_PROOF_BYTES: usize = 16 << 20;
/// Largest encoded SNARK accepted (also the bincode decoding limit).
pub const MAX_SNARK_BYTES: usize = 8 << 20;
/// Most folding steps a proof may claim.
pub const MAX_STEPS: u64 = 1 << 28;

/// Why a proof or key file could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    #[error("file is {0} bytes, larger than the limit")]
    TooLarge(usize),
    #[error("bad magic: not a {0} file")]
    BadMagic(&'static str),
    #[error("unsupported format version {0}")]
    BadVersion(u32),
    #[error("truncated file ({0})")]
    Truncated(&'static str),
    #[error("field {0} out of range")]
    OutOfRange(&'static str),
    #[error("{0} trailing bytes")]
    Trailing(usize),
    #[error("encoding failed: {0}")]
    Encode(String),
    #[error("SNARK decoding failed: {0}")]
    Decode(String),
}

/// A compressed proof of one run, with its claimed public values.
pub struct Proof {
    pub k: usize,
    pub m: usize,
    pub num_steps: u64,
    pub public: PublicValues,
    /// Final value of the hint hash chain (the commitment γ was drawn from).
    pub digest: F,
    pub snark: Snark,
}

pub(crate) fn bincode_cfg() -> impl bincode::config::Config {
    bincode::config::legacy().with_limit::<MAX_SNARK_BYTES>()
}

struct Reader<'a> {
    b: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], ProofError> {
        if self.b.len() < n {
            return Err(ProofError::Truncated(what));
        }
        let (h, t) = self.b.split_at(n);
        self.b = t;
        Ok(h)
    }
    fn u32(&mut self, what: &'static str) -> Result<u32, ProofError> {
        let s = self.take(4, what)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self, what: &'static str) -> Result<u64, ProofError> {
        let s = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(u64::from_le_bytes(a))
    }
    fn arr32(&mut self, what: &'static str) -> Result<[u8; 32], ProofError> {
        let s = self.take(32, what)?;
        let mut a = [0u8; 32];
        a.copy_from_slice(s);
        Ok(a)
    }
}

impl Proof {
    pub fn to_bytes(&self) -> Result<Vec<u8>, ProofError> {
        let snark = bincode::serde::encode_to_vec(&self.snark, bincode_cfg())
            .map_err(|e| ProofError::Encode(e.to_string()))?;
        let mut out = Vec::with_capacity(snark.len() + self.public.output.len() + 256);
        out.extend_from_slice(PROOF_MAGIC);
        out.extend_from_slice(&PROOF_VERSION.to_le_bytes());
        out.extend_from_slice(&(self.k as u32).to_le_bytes());
        out.extend_from_slice(&(self.m as u32).to_le_bytes());
        out.extend_from_slice(&self.num_steps.to_le_bytes());
        out.extend_from_slice(&self.public.program_hash);
        out.extend_from_slice(&self.public.input_hash);
        out.extend_from_slice(&self.public.exit_code.to_le_bytes());
        out.extend_from_slice(&self.public.cycles.to_le_bytes());
        out.extend_from_slice(&(self.public.output.len() as u32).to_le_bytes());
        out.extend_from_slice(&self.public.output);
        out.extend_from_slice(&field_bytes(&self.digest));
        out.extend_from_slice(&(snark.len() as u32).to_le_bytes());
        out.extend_from_slice(&snark);
        Ok(out)
    }

    /// Decodes an untrusted proof file.
    pub fn from_bytes(bytes: &[u8]) -> Result<Proof, ProofError> {
        if bytes.len() > MAX_PROOF_BYTES {
            return Err(ProofError::TooLarge(bytes.len()));
        }
        let mut r = Reader { b: bytes };
        if r.take(8, "magic")? != PROOF_MAGIC {
            return Err(ProofError::BadMagic("proof"));
        }
        let version = r.u32("version")?;
        if version != PROOF_VERSION {
            return Err(ProofError::BadVersion(version));
        }
        let k = r.u32("k")? as usize;
        let m = r.u32("m")? as usize;
        if k == 0 || k > MAX_SLOTS_PER_STEP || m == 0 || m > MAX_SLOTS_PER_STEP {
            return Err(ProofError::OutOfRange("k/m"));
        }
        let num_steps = r.u64("num_steps")?;
        if num_steps == 0 || num_steps > MAX_STEPS {
            return Err(ProofError::OutOfRange("num_steps"));
        }
        let program_hash = r.arr32("program hash")?;
        let input_hash = r.arr32("input hash")?;
        let exit_code = r.u32("exit code")?;
        let cycles = r.u64("cycles")?;
        let out_len = r.u32("output length")? as usize;
        if out_len > MAX_IO_BYTES {
            return Err(ProofError::OutOfRange("output length"));
        }
        let output = r.take(out_len, "output")?.to_vec();
        let digest =
            field_from_bytes(&r.arr32("digest")?).ok_or(ProofError::OutOfRange("digest"))?;
        let snark_len = r.u32("snark length")? as usize;
        if snark_len > MAX_SNARK_BYTES {
            return Err(ProofError::OutOfRange("snark length"));
        }
        let snark_bytes = r.take(snark_len, "snark")?;
        if !r.b.is_empty() {
            return Err(ProofError::Trailing(r.b.len()));
        }
        let (snark, used): (Snark, usize) =
            bincode::serde::decode_from_slice(snark_bytes, bincode_cfg())
                .map_err(|e| ProofError::Decode(e.to_string()))?;
        if used != snark_len {
            return Err(ProofError::Trailing(snark_len - used));
        }
        Ok(Proof {
            k,
            m,
            num_steps,
            public: PublicValues {
                program_hash,
                input_hash,
                output,
                exit_code,
                cycles,
            },
            digest,
            snark,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header(snark: &[u8], out: &[u8]) -> Vec<u8> {
        let mut b = PROOF_MAGIC.to_vec();
        b.extend(PROOF_VERSION.to_le_bytes());
        b.extend(4u32.to_le_bytes());
        b.extend(8u32.to_le_bytes());
        b.extend(3u64.to_le_bytes());
        b.extend([7u8; 64]);
        b.extend(0u32.to_le_bytes());
        b.extend(10u64.to_le_bytes());
        b.extend((out.len() as u32).to_le_bytes());
        b.extend(out);
        b.extend([0u8; 32]);
        b.extend((snark.len() as u32).to_le_bytes());
        b.extend(snark);
        b
    }

    proptest! {
        #[test]
        fn decoder_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = Proof::from_bytes(&data);
        }

        #[test]
        fn garbage_snark_is_an_error(
            snark in proptest::collection::vec(any::<u8>(), 0..2048),
            out in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            prop_assert!(Proof::from_bytes(&header(&snark, &out)).is_err());
        }
    }

    #[test]
    fn header_errors_are_specific() {
        let good = header(&[], b"");
        assert!(matches!(
            Proof::from_bytes(&good[..7]),
            Err(ProofError::Truncated(_))
        ));
        let mut b = good.clone();
        b[0] = b'X';
        assert_eq!(
            Proof::from_bytes(&b).err(),
            Some(ProofError::BadMagic("proof"))
        );
        let mut b = good.clone();
        b[8..12].copy_from_slice(&1u32.to_le_bytes()); // `nova_snark`'s own IPA
        assert_eq!(Proof::from_bytes(&b).err(), Some(ProofError::BadVersion(1)));
        let mut b = good.clone();
        b[12..16].copy_from_slice(&0u32.to_le_bytes());
        assert_eq!(
            Proof::from_bytes(&b).err(),
            Some(ProofError::OutOfRange("k/m"))
        );
        let mut b = good;
        b.extend([0; 40]);
        assert!(Proof::from_bytes(&b).is_err());
        assert_eq!(
            Proof::from_bytes(&vec![0; MAX_PROOF_BYTES + 1]).err(),
            Some(ProofError::TooLarge(MAX_PROOF_BYTES + 1))
        );
    }
}
