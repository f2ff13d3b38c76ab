//! Batched affine additions: `p + q` for many pairs under one field inversion
//! (Montgomery's trick), in AVX-512 IFMA lanes ([`super::lanes`]) or one pair at a time,
//! and the pairwise sums the bucket reduction is built from.

use ff::Field;
use halo2curves::CurveAffine;

use super::{lanes, Arithmetic, LaneField, Pair, Xy, SCALAR_BATCH};

/// Sums each run of `group` consecutive points (`group` a power of two dividing the
/// length), by rounds of pairwise additions, each round under one inversion.
pub(super) fn sum_groups<C: CurveAffine>(
    mut points: Vec<Option<Xy<C>>>,
    group: usize,
    arithmetic: Arithmetic,
) -> Vec<Option<Xy<C>>>
where
    C::Base: LaneField,
{
    debug_assert!(group.is_power_of_two() && points.len().is_multiple_of(group));
    for _ in 0..group.ilog2() {
        points = add_pairs::<C>(&points, arithmetic);
    }
    points
}

/// `[p₀ + p₁, p₂ + p₃, …]`, the pairs of two points added under one inversion.
pub(super) fn add_pairs<C: CurveAffine>(
    points: &[Option<Xy<C>>],
    arithmetic: Arithmetic,
) -> Vec<Option<Xy<C>>>
where
    C::Base: LaneField,
{
    let mut out: Vec<Option<Xy<C>>> = points.chunks_exact(2).map(|p| p[0].or(p[1])).collect();
    let (both, pairs): (Vec<usize>, Vec<Pair<C>>) = points
        .chunks_exact(2)
        .enumerate()
        .filter_map(|(k, p)| Some((k, (p[0]?, p[1]?))))
        .unzip();
    batch_add::<C>(&pairs, &mut BatchScratch::new(arithmetic), |i, sum| {
        out[both[i]] = sum
    });
    out
}

/// Per-batch working space of [`batch_add`], kept between batches.
pub(super) struct BatchScratch<C: CurveAffine> {
    /// Per pair: the product of the earlier denominators of its chain, then its denominator.
    prefix: Vec<C::Base>,
    denominator: Vec<C::Base>,
    lanes: lanes::Scratch,
    pub(super) arithmetic: Arithmetic,
}

impl<C: CurveAffine> BatchScratch<C> {
    pub(super) fn new(arithmetic: Arithmetic) -> Self {
        BatchScratch {
            prefix: Vec::with_capacity(SCALAR_BATCH),
            denominator: Vec::with_capacity(SCALAR_BATCH),
            lanes: lanes::Scratch::default(),
            arithmetic,
        }
    }
}

/// `p + q` for every pair, reported as `sum(index, p + q)` (`None` for the identity), with
/// one field inversion for all (Montgomery's trick): eight at a time in AVX-512 IFMA lanes
/// where the CPU has them ([`lanes`]), except the rare pairs that double or cancel.
pub(super) fn batch_add<C: CurveAffine>(
    pairs: &[Pair<C>],
    scratch: &mut BatchScratch<C>,
    mut sum: impl FnMut(usize, Option<Xy<C>>),
) where
    C::Base: LaneField,
{
    if scratch.arithmetic == Arithmetic::Scalar {
        return batch_add_scalar::<C>(pairs, scratch, sum);
    }
    let shares_x = |&((px, _), (qx, _)): &Pair<C>| px == qx;
    if !pairs.iter().any(shares_x) {
        return lanes::batch_add(pairs, &mut scratch.lanes, |k, s| sum(k, Some(s)));
    }
    let (special, generic): (Vec<usize>, Vec<usize>) =
        (0..pairs.len()).partition(|&k| shares_x(&pairs[k]));
    let pick = |indices: &[usize]| -> Vec<Pair<C>> { indices.iter().map(|&k| pairs[k]).collect() };
    lanes::batch_add(&pick(&generic), &mut scratch.lanes, |i, s| {
        sum(generic[i], Some(s))
    });
    batch_add_scalar::<C>(&pick(&special), scratch, |i, s| sum(special[i], s));
}

/// [`batch_add`] one pair at a time, as two interleaved product chains so that consecutive
/// multiplications do not wait on each other (~22 ns latency against ~17 ns throughput
/// here).
fn batch_add_scalar<C: CurveAffine>(
    pairs: &[Pair<C>],
    scratch: &mut BatchScratch<C>,
    mut sum: impl FnMut(usize, Option<Xy<C>>),
) {
    scratch.prefix.clear();
    scratch.denominator.clear();
    let mut products = [C::Base::ONE; 2];
    for (k, &(p, q)) in pairs.iter().enumerate() {
        let den = addition_denominator::<C>(p, q);
        scratch.prefix.push(products[k & 1]);
        scratch.denominator.push(den);
        products[k & 1] *= den;
    }
    let both = (products[0] * products[1])
        .invert()
        .expect("a product of nonzero denominators");
    let mut inverses = [both * products[1], both * products[0]];
    for (k, &(p, q)) in pairs.iter().enumerate().rev() {
        let inv = inverses[k & 1] * scratch.prefix[k];
        inverses[k & 1] *= scratch.denominator[k];
        sum(k, affine_sum::<C>(p, q, inv));
    }
}

/// The denominator of `p + q`'s slope: `x_q - x_p`, or `2y` to double; 1 when `q = -p`
/// (nothing to invert). The curves have prime order, so no point has y = 0 and no
/// denominator is zero.
#[inline(always)]
fn addition_denominator<C: CurveAffine>((px, py): Xy<C>, (qx, qy): Xy<C>) -> C::Base {
    if px != qx {
        qx - px
    } else if py == qy {
        py.double()
    } else {
        C::Base::ONE
    }
}

/// `p + q` given the inverse of [`addition_denominator`]; `None` for the identity.
#[inline(always)]
fn affine_sum<C: CurveAffine>((px, py): Xy<C>, (qx, qy): Xy<C>, inv: C::Base) -> Option<Xy<C>> {
    let lambda = if px != qx {
        (qy - py) * inv
    } else if py == qy {
        (px.square().double() + px.square() + C::a()) * inv
    } else {
        return None;
    };
    let x = lambda.square() - px - qx;
    Some((x, lambda * (px - x) - py))
}
