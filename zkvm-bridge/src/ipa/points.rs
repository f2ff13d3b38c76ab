//! Curve points for the IPA: the engines it runs on, an uncompressed key encoding that
//! decodes without square roots, and one public scalar times many points.

use ff::{Field, PrimeField};
use group::{WnafBase, WnafScalar};
use halo2curves::group::prime::PrimeCurveAffine;
use halo2curves::{CurveAffine, CurveExt};
use nova_snark::provider::pedersen::{Commitment, CommitmentEngine, CommitmentKey};
use nova_snark::provider::traits::DlogGroupExt;
use nova_snark::provider::{Bn256EngineIPA, GrumpkinEngine};
use nova_snark::traits::commitment::CommitmentTrait;
use nova_snark::traits::{Engine, TranscriptReprTrait};
use rayon::prelude::*;
use serde::de::{Error as _, Visitor};
use serde::{Deserializer, Serializer};

/// A Nova engine with Pedersen commitments over a `halo2curves` curve, which is what the
/// IPA needs: the generators, the commitments as points, and the curve arithmetic.
pub trait IpaEngine:
    Engine<CE = CommitmentEngine<Self>, GE: DlogGroupExt, Base: super::msm::LaneField>
{
    /// Affine points of the curve.
    type Affine: CurveAffine<ScalarExt = Self::Scalar, CurveExt = Self::Point, Base: super::msm::LaneField>
        + serde::Serialize
        + for<'de> serde::Deserialize<'de>;
    /// Projective points of the curve.
    type Point: CurveExt<AffineExt = Self::Affine, ScalarExt = Self::Scalar>;

    /// The commitment key's generators.
    fn generators(ck: &CommitmentKey<Self>) -> &[Self::Affine];
}

impl IpaEngine for Bn256EngineIPA {
    type Affine = halo2curves::bn256::G1Affine;
    type Point = halo2curves::bn256::G1;

    fn generators(ck: &CommitmentKey<Self>) -> &[Self::Affine] {
        ck.generators()
    }
}

impl IpaEngine for GrumpkinEngine {
    type Affine = halo2curves::grumpkin::G1Affine;
    type Point = halo2curves::grumpkin::G1;

    fn generators(ck: &CommitmentKey<Self>) -> &[Self::Affine] {
        ck.generators()
    }
}

/// The point a Pedersen commitment is.
pub fn commitment_point<E: IpaEngine>(c: &Commitment<E>) -> Option<E::Affine>
where
    E::Affine: CurveAffine<Base = E::Base>,
{
    let (x, y, infinity) = c.to_coordinates();
    if infinity {
        return Some(E::Affine::identity());
    }
    Option::from(E::Affine::from_xy(x, y))
}

/// How a point enters the transcript: `x || y || infinity`, like a Nova commitment, and
/// defined for the identity (which `halo2curves`' own representation is not).
pub struct TranscriptPoint<A>(pub A);

impl<A: CurveAffine, G: nova_snark::traits::Group> TranscriptReprTrait<G> for TranscriptPoint<A> {
    fn to_transcript_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(2 * 32 + 1);
        match Option::<halo2curves::Coordinates<A>>::from(self.0.coordinates()) {
            Some(c) if !bool::from(self.0.is_identity()) => {
                out.extend_from_slice(c.x().to_repr().as_ref());
                out.extend_from_slice(c.y().to_repr().as_ref());
                out.push(0);
            }
            _ => {
                let zero = A::Base::ZERO.to_repr();
                out.extend_from_slice(zero.as_ref());
                out.extend_from_slice(zero.as_ref());
                out.push(1);
            }
        }
        out
    }
}

/// Points that serialize uncompressed ([`serialize_raw`] / [`deserialize_raw`]).
#[derive(Clone, Debug, PartialEq)]
pub struct RawPoints<A>(pub Vec<A>);

impl<A: CurveAffine> serde::Serialize for RawPoints<A> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_raw(&self.0, s)
    }
}

impl<'de, A: CurveAffine> serde::Deserialize<'de> for RawPoints<A> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        deserialize_raw(d).map(RawPoints)
    }
}

/// Bytes of one base-field element in the raw encoding.
const BASE_BYTES: usize = 32;

/// Serializes points as `x || y` per point (canonical little-endian coordinates), one byte
/// string. Decoding checks each coordinate is canonical and each point is on the curve and
/// not the identity; it needs no square root, unlike the compressed encoding, which is what
/// makes a verifier key of ~80k generators load in milliseconds instead of a second.
pub fn serialize_raw<A: CurveAffine, S: Serializer>(points: &[A], s: S) -> Result<S::Ok, S::Error> {
    let mut bytes = vec![0u8; points.len() * 2 * BASE_BYTES];
    bytes
        .par_chunks_mut(2 * BASE_BYTES)
        .zip(points.par_iter())
        .for_each(|(out, p)| {
            let c = Option::<halo2curves::Coordinates<A>>::from(p.coordinates())
                .expect("generators are never the identity");
            out[..BASE_BYTES].copy_from_slice(c.x().to_repr().as_ref());
            out[BASE_BYTES..].copy_from_slice(c.y().to_repr().as_ref());
        });
    s.serialize_bytes(&bytes)
}

/// Inverse of [`serialize_raw`].
pub fn deserialize_raw<'de, A: CurveAffine, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<A>, D::Error> {
    struct Bytes;
    impl<'de> Visitor<'de> for Bytes {
        type Value = Vec<u8>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a byte string of uncompressed curve points")
        }
        fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
            Ok(v.to_vec())
        }
        fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
            Ok(v)
        }
    }
    let bytes = d.deserialize_bytes(Bytes)?;
    decode_raw(&bytes).map_err(D::Error::custom)
}

/// Decodes `x || y` points; see [`serialize_raw`].
pub fn decode_raw<A: CurveAffine>(bytes: &[u8]) -> Result<Vec<A>, &'static str> {
    if !bytes.len().is_multiple_of(2 * BASE_BYTES) {
        return Err("point bytes are not a whole number of points");
    }
    bytes
        .par_chunks(2 * BASE_BYTES)
        .map(|chunk| {
            let coord = |b: &[u8]| {
                let mut repr = <A::Base as PrimeField>::Repr::default();
                repr.as_mut().copy_from_slice(b);
                Option::<A::Base>::from(A::Base::from_repr(repr)).ok_or("non-canonical coordinate")
            };
            let (x, y) = (coord(&chunk[..BASE_BYTES])?, coord(&chunk[BASE_BYTES..])?);
            let p = Option::<A>::from(A::from_xy(x, y)).ok_or("point not on the curve")?;
            if bool::from(p.is_identity()) {
                return Err("identity point");
            }
            Ok(p)
        })
        .collect()
}

/// Window of the signed-digit (wNAF) recoding of the public scalar in [`mul_all`].
const WNAF_WINDOW: usize = 5;

/// `k · p` for every `p` (variable time: `k` is public, a Fiat–Shamir challenge). The scalar
/// is recoded once (`group`'s [`WnafScalar`]); each point gets its table of odd multiples.
pub fn mul_all<A: CurveAffine>(points: &[A], k: &A::ScalarExt) -> Vec<A::CurveExt> {
    let scalar = WnafScalar::<A::ScalarExt, WNAF_WINDOW>::new(k);
    points
        .par_iter()
        .map(|p| &WnafBase::<A::CurveExt, WNAF_WINDOW>::new(p.to_curve()) * &scalar)
        .collect()
}

/// Projective points to affine, one field inversion for all of them.
pub fn normalize<C: CurveExt>(points: &[C]) -> Vec<C::AffineExt> {
    let mut out = vec![C::AffineExt::identity(); points.len()];
    const CHUNK: usize = 1 << 12;
    out.par_chunks_mut(CHUNK)
        .zip(points.par_chunks(CHUNK))
        .for_each(|(o, p)| C::batch_normalize(p, o));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2curves::bn256::{Fr, G1Affine, G1};
    use halo2curves::group::{Curve, Group};
    use rand_core::OsRng;

    #[test]
    fn mul_all_matches_the_curve_library() {
        let points: Vec<G1Affine> = (0..9).map(|_| G1::random(OsRng).to_affine()).collect();
        for k in [
            Fr::ZERO,
            Fr::ONE,
            -Fr::ONE,
            Fr::from(31),
            Fr::random(OsRng),
            Fr::random(OsRng),
        ] {
            let got = mul_all(&points, &k);
            for (p, g) in points.iter().zip(&got) {
                assert_eq!(p.to_curve() * k, *g, "k = {k:?}");
            }
        }
    }

    #[test]
    fn raw_points_round_trip_and_reject_bad_bytes() {
        let points: Vec<G1Affine> = (0..5).map(|_| G1::random(OsRng).to_affine()).collect();
        let bytes =
            bincode::serde::encode_to_vec(RawPoints(points.clone()), bincode::config::legacy())
                .unwrap();
        let (back, _): (RawPoints<G1Affine>, _) =
            bincode::serde::decode_from_slice(&bytes, bincode::config::legacy()).unwrap();
        assert_eq!(back.0, points);

        let mut raw = vec![0u8; 64];
        raw.copy_from_slice(&bytes[8..72]);
        assert!(decode_raw::<G1Affine>(&raw).is_ok());
        raw[40] ^= 1; // y changes: off the curve
        assert!(decode_raw::<G1Affine>(&raw).is_err());
        assert!(decode_raw::<G1Affine>(&[0u8; 64]).is_err(), "identity");
        assert!(
            decode_raw::<G1Affine>(&[0xffu8; 64]).is_err(),
            "non-canonical"
        );
        assert!(decode_raw::<G1Affine>(&[0u8; 63]).is_err(), "partial point");
    }

    proptest::proptest! {
        #[test]
        fn decoding_arbitrary_bytes_never_panics(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
        ) {
            if let Ok(points) = decode_raw::<G1Affine>(&bytes) {
                proptest::prop_assert!(points.iter().all(|p| bool::from(p.is_on_curve())));
            }
        }
    }
}
