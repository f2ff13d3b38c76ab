//! Spartan as `nova-snark` implements it (the non-preprocessing `RelaxedR1CSSNARK`), with a
//! verifier key that computes its transcript digest when a validator decodes it.
//!
//! Why: Spartan's verifier absorbs a digest of its verifier key (a hash of the key's ~50 MB
//! encoding, ~0.26 s in a release build), which `nova-snark` computes at the first
//! verification and keeps in a private cell. A validator decodes the key once, on a background
//! thread, inside [`crate::ipa::decoding_with_tables`]; computing the digest there too takes
//! the 0.26 s off the first block that verifies a proof. Both wrappers are transparent to
//! serde, so key and proof encodings are exactly `nova-snark`'s.

use nova_snark::errors::NovaError;
use nova_snark::r1cs::{R1CSShape, RelaxedR1CSInstance, RelaxedR1CSWitness};
use nova_snark::spartan::snark::{ProverKey, RelaxedR1CSSNARK, VerifierKey};
use nova_snark::traits::commitment::CommitmentEngineTrait;
use nova_snark::traits::evaluation::EvaluationEngineTrait;
use nova_snark::traits::snark::{DigestHelperTrait, RelaxedR1CSSNARKTrait};
use nova_snark::traits::Engine;
use serde::{Deserialize, Serialize};

type CommitmentKey<E> = <<E as Engine>::CE as CommitmentEngineTrait<E>>::CommitmentKey;

/// A Spartan proof of a relaxed R1CS instance.
#[derive(Serialize, Deserialize)]
#[serde(transparent, bound = "")]
pub struct Spartan<E: Engine, EE: EvaluationEngineTrait<E>>(RelaxedR1CSSNARK<E, EE>);

/// Spartan's verifier key; decoded inside [`crate::ipa::decoding_with_tables`], it computes
/// its digest at once.
#[derive(Serialize)]
#[serde(transparent, bound = "")]
pub struct SpartanVerifierKey<E: Engine, EE: EvaluationEngineTrait<E>>(VerifierKey<E, EE>);

impl<'de, E: Engine, EE: EvaluationEngineTrait<E>> Deserialize<'de> for SpartanVerifierKey<E, EE> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let key = VerifierKey::<E, EE>::deserialize(d)?;
        if crate::ipa::decoding_for_many_verifications() {
            // Cached inside the key from now on.
            let _ = key.digest();
        }
        Ok(SpartanVerifierKey(key))
    }
}

impl<E: Engine, EE: EvaluationEngineTrait<E>> DigestHelperTrait<E> for SpartanVerifierKey<E, EE> {
    fn digest(&self) -> E::Scalar {
        self.0.digest()
    }
}

impl<E: Engine, EE: EvaluationEngineTrait<E>> RelaxedR1CSSNARKTrait<E> for Spartan<E, EE> {
    type ProverKey = ProverKey<E, EE>;
    type VerifierKey = SpartanVerifierKey<E, EE>;

    fn ck_floor() -> Box<dyn for<'a> Fn(&'a R1CSShape<E>) -> usize> {
        RelaxedR1CSSNARK::<E, EE>::ck_floor()
    }

    fn setup(
        ck: &CommitmentKey<E>,
        shape: &R1CSShape<E>,
    ) -> Result<(Self::ProverKey, Self::VerifierKey), NovaError> {
        let (pk, vk) = RelaxedR1CSSNARK::<E, EE>::setup(ck, shape)?;
        Ok((pk, SpartanVerifierKey(vk)))
    }

    fn prove(
        ck: &CommitmentKey<E>,
        pk: &Self::ProverKey,
        shape: &R1CSShape<E>,
        instance: &RelaxedR1CSInstance<E>,
        witness: &RelaxedR1CSWitness<E>,
    ) -> Result<Self, NovaError> {
        RelaxedR1CSSNARK::prove(ck, pk, shape, instance, witness).map(Spartan)
    }

    fn verify(
        &self,
        vk: &Self::VerifierKey,
        instance: &RelaxedR1CSInstance<E>,
    ) -> Result<(), NovaError> {
        self.0.verify(&vk.0, instance)
    }
}
