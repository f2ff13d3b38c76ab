//! The polynomial evaluation argument of the compressed proof: a Bulletproofs-style inner
//! product argument over Pedersen commitments (transparent, like `nova_snark`'s
//! `ipa_pc::EvaluationEngine`, which it replaces; same protocol, different implementation).
//!
//! Why our own: the library's prover folds the generators each round with two full scalar
//! multiplications and one field inversion per generator, which was ~70 % of compression
//! time; its verifier key stores the generators compressed, so loading it costs one square
//! root per generator (~1 s for the default shape). Here:
//!
//! - the prover keeps the generators up to a common scalar factor, `G = c · H`, so a round
//!   folds `H' = H_lo + r² · H_hi` (one multiplication by a public scalar per generator,
//!   variable time, shared signed-digit recoding) and `c' = c · r⁻¹`, then normalizes all
//!   of `H'` with one inversion;
//! - the verifier checks the final equation as one multi-scalar multiplication over the
//!   generators plus one over the `2 log n + 2` proof points; `b̂ = <eq(point), s>` has a
//!   closed form, so the only linear-size work is building `s` and that MSM;
//! - the verifier key stores the generators uncompressed ([`points::RawPoints`]); a process
//!   that verifies many proofs precomputes their multiples for that MSM when it decodes
//!   the key ([`decoding_with_tables`]).
//!
//! Protocol (n = 2^ℓ, claim `<a, b> = v` for `b = eq(point)`, commitment `C = <a, G>`):
//! the transcript absorbs `C` and `v` and yields `r_q`; `Q' = r_q · Q` binds the inner
//! product. Round j sends `L = <a_lo, G_hi> + <a_lo, b_hi> Q'`, `R = <a_hi, G_lo> +
//! <a_hi, b_lo> Q'`, draws `r`, folds `a' = r a_lo + r⁻¹ a_hi`, `b' = r⁻¹ b_lo + r b_hi`,
//! `G' = r⁻¹ G_lo + r G_hi`. The proof is `(L_j, R_j)_j` and the last `a`. The verifier
//! accepts iff `C + v Q' + Σ r_j² L_j + Σ r_j⁻² R_j = â (<s, G> + <s, b> Q')` where
//! `s_i = Π_j r_j^(±1)` (`+` when bit j of `i`, counted from the top, is set).

pub mod msm;
pub mod points;

use ff::Field;
use halo2curves::group::{Curve, Group};
use halo2curves::msm::msm_best;
use halo2curves::CurveAffine;
use nova_snark::errors::NovaError;
use nova_snark::provider::pedersen::{Commitment, CommitmentKey};
use nova_snark::spartan::polys::eq::EqPolynomial;
use nova_snark::traits::commitment::CommitmentEngineTrait;
use nova_snark::traits::evaluation::EvaluationEngineTrait;
use nova_snark::traits::TranscriptEngineTrait;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use std::sync::Arc;

use msm::FixedBases;
use points::{commitment_point, IpaEngine, RawPoints, TranscriptPoint};

/// Most rounds (log2 of the largest committed vector) a proof may claim.
pub const MAX_IPA_ROUNDS: usize = 32;
/// Label the inner-product generator `Q` is hashed to the curve from.
const Q_LABEL: &[u8] = b"nexus-ipa-q";
/// Transcript domain separator.
const PROTOCOL: &[u8] = b"nexus-ipa";

/// The evaluation engine (a type-level marker; see the module docs).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Ipa<E: IpaEngine>(std::marker::PhantomData<E>);

/// Prover key: the inner-product generator.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct ProverKey<E: IpaEngine> {
    q: RawPoints<E::Affine>,
}

/// Verifier key: the commitment generators and the inner-product generator, uncompressed;
/// optionally the generators' precomputed multiples (see [`decoding_with_tables`]).
#[derive(Clone, Debug, Serialize)]
#[serde(bound = "")]
pub struct VerifierKey<E: IpaEngine> {
    generators: RawPoints<E::Affine>,
    q: RawPoints<E::Affine>,
    /// Not encoded, so neither the key files nor the key's digest depend on it.
    #[serde(skip)]
    tables: Option<Arc<FixedBases<E::Affine>>>,
}

/// The encoded fields of a [`VerifierKey`], in order.
#[derive(Deserialize)]
#[serde(bound = "")]
struct VerifierKeyFields<E: IpaEngine> {
    generators: RawPoints<E::Affine>,
    q: RawPoints<E::Affine>,
}

impl<'de, E: IpaEngine> Deserialize<'de> for VerifierKey<E> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let VerifierKeyFields { generators, q } = VerifierKeyFields::<E>::deserialize(d)?;
        let tables = TABLES_ON_DECODE
            .with(Cell::get)
            .then(|| FixedBases::new(&generators.0).map(Arc::new))
            .flatten();
        Ok(VerifierKey {
            generators,
            q,
            tables,
        })
    }
}

thread_local! {
    /// Whether verifier keys decoded on this thread precompute their tables.
    static TABLES_ON_DECODE: Cell<bool> = const { Cell::new(false) };
}

/// Runs `decode` so that every IPA verifier key it decodes on this thread also precomputes
/// its generators' multiples ([`FixedBases`]), which makes each verification faster (the
/// default shape: ~101 ms instead of ~145 ms with IFMA lanes, ~196 ms instead of ~235 ms
/// without) for ~2.8 s of work and ~85 MB of memory per key, and every Spartan verifier key
/// computes its digest ([`crate::spartan`], ~0.26 s that the first verification would
/// otherwise pay). Worth it for a process that verifies many proofs with one key (a
/// validator); not for a one-shot `nexus zk verify`. Neither is part of the key's encoding
/// (the keys sit inside `nova_snark`'s, whose fields are private, hence this scope).
pub fn decoding_with_tables<T>(decode: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            TABLES_ON_DECODE.with(|t| t.set(self.0));
        }
    }
    let _restore = Restore(TABLES_ON_DECODE.with(|t| t.replace(true)));
    decode()
}

/// Whether this thread is inside [`decoding_with_tables`].
pub(crate) fn decoding_for_many_verifications() -> bool {
    TABLES_ON_DECODE.with(Cell::get)
}

/// The argument: one `(L, R)` pair per round and the folded `a`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Argument<E: IpaEngine> {
    l: Vec<E::Affine>,
    r: Vec<E::Affine>,
    a_hat: E::Scalar,
}

fn inner_product<F: Field>(a: &[F], b: &[F]) -> F {
    a.par_iter().zip(b.par_iter()).map(|(x, y)| *x * y).sum()
}

fn transcript_start<E: IpaEngine>(
    transcript: &mut E::TE,
    comm: &Commitment<E>,
    eval: &E::Scalar,
) -> Result<E::Scalar, NovaError>
where
    E::Scalar: nova_snark::traits::TranscriptReprTrait<E::GE>,
{
    transcript.dom_sep(PROTOCOL);
    transcript.absorb(b"C", comm);
    transcript.absorb(b"v", eval);
    transcript.squeeze(b"q")
}

fn round_challenge<E: IpaEngine>(
    transcript: &mut E::TE,
    l: &E::Affine,
    r: &E::Affine,
) -> Result<E::Scalar, NovaError> {
    transcript.absorb(b"L", &TranscriptPoint(*l));
    transcript.absorb(b"R", &TranscriptPoint(*r));
    transcript.squeeze(b"r")
}

impl<E: IpaEngine> EvaluationEngineTrait<E> for Ipa<E>
where
    E::Affine: CurveAffine<Base = E::Base>,
    E::Scalar: nova_snark::traits::TranscriptReprTrait<E::GE>,
{
    type ProverKey = ProverKey<E>;
    type VerifierKey = VerifierKey<E>;
    type EvaluationArgument = Argument<E>;

    fn setup(ck: &CommitmentKey<E>) -> Result<(ProverKey<E>, VerifierKey<E>), NovaError> {
        let q = RawPoints(E::generators(&E::CE::setup(Q_LABEL, 1)?)[..1].to_vec());
        Ok((
            ProverKey { q: q.clone() },
            VerifierKey {
                generators: RawPoints(E::generators(ck).to_vec()),
                q,
                tables: None,
            },
        ))
    }

    fn prove(
        ck: &CommitmentKey<E>,
        pk: &ProverKey<E>,
        transcript: &mut E::TE,
        comm: &Commitment<E>,
        poly: &[E::Scalar],
        point: &[E::Scalar],
        eval: &E::Scalar,
    ) -> Result<Argument<E>, NovaError> {
        if point.len() > MAX_IPA_ROUNDS {
            return Err(NovaError::InvalidInputLength);
        }
        let n = 1usize << point.len();
        let generators = E::generators(ck);
        if poly.len() != n || generators.len() < n || pk.q.0.len() != 1 {
            return Err(NovaError::InvalidInputLength);
        }
        let r_q = transcript_start::<E>(transcript, comm, eval)?;
        let q = pk.q.0[0] * r_q;

        let mut a = poly.to_vec();
        let mut b = EqPolynomial::evals_from_points(point);
        let mut h: Vec<E::Affine> = generators[..n].to_vec();
        let mut c = E::Scalar::ONE;
        let (mut ls, mut rs) = (Vec::new(), Vec::new());
        while a.len() > 1 {
            let half = a.len() / 2;
            let (a_lo, a_hi) = a.split_at(half);
            let (b_lo, b_hi) = b.split_at(half);
            let (h_lo, h_hi) = h.split_at(half);
            let side = |a_side: &[E::Scalar], b_other: &[E::Scalar], h_other: &[E::Affine]| {
                let scaled: Vec<E::Scalar> = a_side.par_iter().map(|x| *x * c).collect();
                (msm::msm(&scaled, h_other) + q * inner_product(a_side, b_other)).to_affine()
            };
            let (l, r) = rayon::join(|| side(a_lo, b_hi, h_hi), || side(a_hi, b_lo, h_lo));
            let x = round_challenge::<E>(transcript, &l, &r)?;
            let x_inv = Option::<E::Scalar>::from(x.invert()).ok_or(NovaError::InternalError)?;
            ls.push(l);
            rs.push(r);

            let fold = |lo: &[E::Scalar], hi: &[E::Scalar], wl: E::Scalar, wh: E::Scalar| {
                lo.par_iter()
                    .zip(hi.par_iter())
                    .map(|(u, v)| *u * wl + *v * wh)
                    .collect::<Vec<_>>()
            };
            let (a_next, b_next) = (fold(a_lo, a_hi, x, x_inv), fold(b_lo, b_hi, x_inv, x));
            if half > 1 {
                let scaled_hi = points::mul_all(h_hi, &x.square());
                let sum: Vec<E::Point> = scaled_hi
                    .par_iter()
                    .zip(h_lo.par_iter())
                    .map(|(s, l)| *s + l)
                    .collect();
                h = points::normalize(&sum);
                c *= x_inv;
            }
            a = a_next;
            b = b_next;
        }
        Ok(Argument {
            l: ls,
            r: rs,
            a_hat: a[0],
        })
    }

    fn verify(
        vk: &VerifierKey<E>,
        transcript: &mut E::TE,
        comm: &Commitment<E>,
        point: &[E::Scalar],
        eval: &E::Scalar,
        arg: &Argument<E>,
    ) -> Result<(), NovaError> {
        let rounds = point.len();
        if rounds > MAX_IPA_ROUNDS
            || arg.l.len() != rounds
            || arg.r.len() != rounds
            || vk.generators.0.len() < (1usize << rounds)
            || vk.q.0.len() != 1
        {
            return Err(NovaError::InvalidInputLength);
        }
        let n = 1usize << rounds;
        let comm_point = commitment_point(comm).ok_or(NovaError::InvalidPCS)?;
        let r_q = transcript_start::<E>(transcript, comm, eval)?;
        let x: Vec<E::Scalar> = arg
            .l
            .iter()
            .zip(&arg.r)
            .map(|(l, r)| round_challenge::<E>(transcript, l, r))
            .collect::<Result<_, _>>()?;
        let x_inv = nova_snark::spartan::batch_invert(&x)?;

        // â s_i = â Π_j x_j^(±1): bit j of i, counted from the top, picks x_j (set) or
        // x_j⁻¹. b̂ = <eq(point), s> = Π_j ((1 - p_j) x_j⁻¹ + p_j x_j), in the same order.
        let x_squared: Vec<E::Scalar> = x.iter().map(|v| v.square()).collect();
        let mut scaled_s = vec![E::Scalar::ZERO; n];
        scaled_s[0] = arg.a_hat * x_inv.iter().product::<E::Scalar>();
        for i in 1..n {
            let top = (usize::BITS - 1 - i.leading_zeros()) as usize;
            scaled_s[i] = scaled_s[i - (1 << top)] * x_squared[rounds - 1 - top];
        }
        let b_hat: E::Scalar = point
            .iter()
            .zip(x.iter().zip(&x_inv))
            .map(|(p, (x, x_inv))| (E::Scalar::ONE - p) * x_inv + *p * x)
            .product();

        // â <s, G> + (â b̂ - v) r_q Q - C - Σ x_j² L_j - Σ x_j⁻² R_j = 0
        let mut bases = vec![vk.q.0[0], comm_point];
        bases.extend(arg.l.iter().chain(&arg.r).copied());
        let mut scalars = vec![(arg.a_hat * b_hat - eval) * r_q, -E::Scalar::ONE];
        scalars.extend(x_squared.iter().map(|v| -*v));
        scalars.extend(x_inv.iter().map(|v| -v.square()));
        let generators_sum = match &vk.tables {
            Some(tables) => tables.msm(&scaled_s),
            None => msm::msm(&scaled_s, &vk.generators.0[..n]),
        };
        let total = generators_sum + msm_best(&scalars, &bases);
        if bool::from(total.is_identity()) {
            Ok(())
        } else {
            Err(NovaError::InvalidPCS)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{E1, E2};
    use halo2curves::group::prime::PrimeCurveAffine;
    use nova_snark::traits::Engine;
    use rand_core::OsRng;

    type Setup<E> = (CommitmentKey<E>, ProverKey<E>, VerifierKey<E>);

    fn keys<E: IpaEngine>(n: usize) -> Setup<E>
    where
        E::Affine: CurveAffine<Base = E::Base>,
        E::Scalar: nova_snark::traits::TranscriptReprTrait<E::GE>,
    {
        let ck = E::CE::setup(b"ipa-test", n).unwrap();
        let (pk, vk) = Ipa::<E>::setup(&ck).unwrap();
        (ck, pk, vk)
    }

    struct Claim<E: IpaEngine> {
        comm: Commitment<E>,
        point: Vec<E::Scalar>,
        eval: E::Scalar,
        arg: Argument<E>,
    }

    fn prove<E: IpaEngine>(keys: &Setup<E>, poly: &[E::Scalar]) -> Claim<E>
    where
        E::Affine: CurveAffine<Base = E::Base>,
        E::Scalar: nova_snark::traits::TranscriptReprTrait<E::GE>,
    {
        let rounds = poly.len().trailing_zeros() as usize;
        let point: Vec<E::Scalar> = (0..rounds).map(|_| E::Scalar::random(OsRng)).collect();
        let eval = inner_product(poly, &EqPolynomial::evals_from_points(&point));
        let comm = E::CE::commit(&keys.0, poly, &E::Scalar::ZERO);
        let mut t = E::TE::new(b"test");
        let arg = Ipa::<E>::prove(&keys.0, &keys.1, &mut t, &comm, poly, &point, &eval).unwrap();
        Claim {
            comm,
            point,
            eval,
            arg,
        }
    }

    fn check<E: IpaEngine>(vk: &VerifierKey<E>, c: &Claim<E>) -> Result<(), NovaError>
    where
        E::Affine: CurveAffine<Base = E::Base>,
        E::Scalar: nova_snark::traits::TranscriptReprTrait<E::GE>,
    {
        let mut t = E::TE::new(b"test");
        Ipa::<E>::verify(vk, &mut t, &c.comm, &c.point, &c.eval, &c.arg)
    }

    fn random_poly<F: Field>(n: usize) -> Vec<F> {
        (0..n).map(|_| F::random(OsRng)).collect()
    }

    /// The key decoded again, with the generator tables.
    fn with_tables<E: IpaEngine>(vk: &VerifierKey<E>) -> VerifierKey<E> {
        let bytes = bincode::serde::encode_to_vec(vk, bincode::config::legacy()).unwrap();
        let (back, _): (VerifierKey<E>, _) = decoding_with_tables(|| {
            bincode::serde::decode_from_slice(&bytes, bincode::config::legacy()).unwrap()
        });
        assert!(back.tables.is_some());
        back
    }

    #[test]
    fn keys_with_tables_accept_and_reject_the_same_arguments() {
        let k1 = keys::<E1>(64);
        let k2 = keys::<E2>(64);
        let (t1, t2) = (with_tables(&k1.2), with_tables(&k2.2));
        for n in [1, 2, 8, 64] {
            let c1 = prove(&k1, &random_poly(n));
            assert!(check(&t1, &c1).is_ok(), "E1 n={n}");
            let c2 = prove(&k2, &random_poly(n));
            assert!(check(&t2, &c2).is_ok(), "E2 n={n}");
            let mut bad = prove(&k1, &random_poly(n));
            bad.arg.a_hat += <E1 as Engine>::Scalar::ONE;
            assert!(check(&t1, &bad).is_err(), "E1 n={n}: â tampered");
            let mut bad = prove(&k2, &random_poly(n));
            bad.eval += <E2 as Engine>::Scalar::ONE;
            assert!(check(&t2, &bad).is_err(), "E2 n={n}: evaluation tampered");
        }
        // The scope ends with the call: a later decode builds no tables.
        let bytes = bincode::serde::encode_to_vec(&k1.2, bincode::config::legacy()).unwrap();
        let (plain, _): (VerifierKey<E1>, _) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::legacy()).unwrap();
        assert!(plain.tables.is_none());
        // Tables are not part of the encoding.
        assert_eq!(
            bincode::serde::encode_to_vec(&t1, bincode::config::legacy()).unwrap(),
            bytes
        );
    }

    #[test]
    fn honest_arguments_verify_on_both_curves_and_all_sizes() {
        let k1 = keys::<E1>(64);
        let k2 = keys::<E2>(64);
        for n in [1, 2, 4, 8, 64] {
            assert!(
                check(&k1.2, &prove(&k1, &random_poly(n))).is_ok(),
                "E1 n={n}"
            );
            assert!(
                check(&k2.2, &prove(&k2, &random_poly(n))).is_ok(),
                "E2 n={n}"
            );
        }
        // Zero halves make some L and R the identity; they must still verify.
        let mut poly = random_poly(16);
        poly[..8].iter_mut().for_each(|v| *v = Default::default());
        let c = prove(&k1, &poly);
        assert!(c.arg.l.iter().any(|p| bool::from(p.is_identity())));
        assert!(check(&k1.2, &c).is_ok());
        assert!(check(&k1.2, &prove(&k1, &[<E1 as Engine>::Scalar::ZERO; 8])).is_ok());
    }

    #[test]
    fn any_tampering_is_rejected() {
        type S = <E1 as Engine>::Scalar;
        let k = keys::<E1>(32);
        let c = prove(&k, &random_poly(32));
        let other = prove(&k, &random_poly(32));
        let rejected = |c: &Claim<E1>| check(&k.2, c).is_err();
        assert!(!rejected(&c));

        let mut t = prove(&k, &random_poly(32));
        t.eval += S::ONE;
        assert!(rejected(&t), "wrong evaluation");
        let mut t = prove(&k, &random_poly(32));
        t.point[0] += S::ONE;
        assert!(rejected(&t), "wrong point");
        let mut t = prove(&k, &random_poly(32));
        t.comm = other.comm;
        assert!(rejected(&t), "another commitment");
        let mut t = prove(&k, &random_poly(32));
        t.arg.a_hat += S::ONE;
        assert!(rejected(&t), "wrong folded value");
        for i in 0..5 {
            let mut t = prove(&k, &random_poly(32));
            t.arg.l[i] = other.arg.l[i];
            assert!(rejected(&t), "L[{i}] replaced");
            let mut t = prove(&k, &random_poly(32));
            t.arg.r[i] = <E1 as IpaEngine>::Affine::identity();
            assert!(rejected(&t), "R[{i}] set to the identity");
            let mut t = prove(&k, &random_poly(32));
            t.arg.l.swap(i, (i + 1) % 5);
            assert!(rejected(&t), "L rounds reordered");
        }
        let mut t = prove(&k, &random_poly(32));
        std::mem::swap(&mut t.arg.l, &mut t.arg.r);
        assert!(rejected(&t), "L and R swapped");
    }

    #[test]
    fn malformed_arguments_are_errors_not_panics() {
        let k = keys::<E1>(16);
        let mut c = prove(&k, &random_poly(16));
        c.arg.l.pop();
        assert!(matches!(
            check(&k.2, &c),
            Err(NovaError::InvalidInputLength)
        ));
        let mut c = prove(&k, &random_poly(16));
        c.arg.r.push(c.arg.r[0]);
        assert!(matches!(
            check(&k.2, &c),
            Err(NovaError::InvalidInputLength)
        ));
        // A claim over more variables than the key has generators.
        let big = keys::<E1>(32);
        let c = prove(&big, &random_poly(32));
        assert!(matches!(
            check(&k.2, &c),
            Err(NovaError::InvalidInputLength)
        ));
        // The prover refuses a polynomial whose length does not match the point.
        let mut t = <E1 as Engine>::TE::new(b"test");
        let poly = random_poly(16);
        let comm = <E1 as Engine>::CE::commit(&k.0, &poly, &Default::default());
        let point = random_poly(3);
        let eval = Default::default();
        assert!(Ipa::<E1>::prove(&k.0, &k.1, &mut t, &comm, &poly, &point, &eval).is_err());
        // More rounds than any key supports: refused before anything is sized from it.
        let point = random_poly(MAX_IPA_ROUNDS + 40);
        let mut t = <E1 as Engine>::TE::new(b"test");
        assert!(Ipa::<E1>::prove(&k.0, &k.1, &mut t, &comm, &poly, &point, &eval).is_err());
        let c = prove(&k, &random_poly(16));
        let mut t = <E1 as Engine>::TE::new(b"test");
        assert!(Ipa::<E1>::verify(&k.2, &mut t, &c.comm, &point, &c.eval, &c.arg).is_err());
    }

    #[test]
    fn verifier_key_round_trips_uncompressed() {
        let (_, _, vk) = keys::<E2>(8);
        let bytes = bincode::serde::encode_to_vec(&vk, bincode::config::legacy()).unwrap();
        assert_eq!(
            bytes.len(),
            8 + 9 * 64 + 8,
            "two length-prefixed byte strings"
        );
        let (back, _): (VerifierKey<E2>, _) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::legacy()).unwrap();
        assert_eq!(back.generators, vk.generators);
        assert_eq!(back.q, vk.q);
    }
}
