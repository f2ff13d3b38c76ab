//! Multi-scalar multiplication `Σ sᵢ·Pᵢ` for the inner product argument: Pippenger's
//! bucket method with signed (Booth) digits, buckets kept in affine coordinates and filled
//! by additions batched under one field inversion, eight at a time in AVX-512 IFMA lanes
//! where the CPU has them (module `lanes`, [`Arithmetic`]).
//!
//! Why our own: the verifier's cost is dominated by one MSM over the commitment generators
//! per curve (2^16 BN254 and 2^14 Grumpkin points at the default shape). The generators are
//! fixed, so [`FixedBases`] precomputes `2^(j·c)·G` for every window `j`: all windows then
//! share one set of buckets, one reduction, no doublings, and a 16-bit window fits. With the
//! lanes that takes the two MSMs from 164 ms and 52 ms (`halo2curves::msm::msm_best`, which
//! batches 64 additions per inversion and scans the batch for every point) to 52 ms and 15
//! ms on two cores (`cargo bench --bench msm`). [`msm`] is the variable-base form, for the
//! prover (whose generators change every round) and a verifier without tables: 0.53× the
//! library's time with lanes, 0.92× without.
//!
//! A point whose bucket is already in the open batch waits for the next batch (rare: a
//! batch holds a few hundred of 2^(c-1) buckets). The final `Σ_b (b + 1)·B_b` is computed
//! from row and column sums of the bucket square, also batched, instead of two projective
//! additions per bucket.

use ff::{Field, PrimeField};
use halo2curves::group::{Curve, Group};
use halo2curves::msm::msm_best;
use halo2curves::{Coordinates, CurveAffine};
use rayon::prelude::*;

use batch::{batch_add, sum_groups, BatchScratch};

mod batch;
mod lanes;

pub use lanes::LaneField;

/// Below this many points the library's MSM is used: with few points per window the
/// bucket bookkeeping, not the additions, is the cost.
pub const MIN_POINTS: usize = 1 << 10;
/// Affine additions sharing one field inversion, with scalar arithmetic (measured best
/// against 128 and 512: the larger the batch, the more points find their bucket in it).
const SCALAR_BATCH: usize = 256;
/// The same with lanes, whose additions are cheaper, so the inversion weighs more
/// (measured best against 256 and 1024).
const LANES_BATCH: usize = 512;
/// Points waiting for the next batch, at most; fewer than a batch of either size.
const MAX_DEFERRED: usize = 128;
/// Narrowest and widest window in bits. The widest keeps a digit's `c + 1` bits, shifted
/// by at most 7, within the 32-bit read of [`booth_digit`].
const MIN_WINDOW_BITS: usize = 4;
const MAX_WINDOW_BITS: usize = 16;

/// `Σ scalars[i] · bases[i]`.
///
/// # Panics
/// If the slices differ in length (a caller's bug, like the library function it replaces).
pub fn msm<C: CurveAffine>(scalars: &[C::Scalar], bases: &[C]) -> C::Curve
where
    C::Base: LaneField,
{
    msm_with(scalars, bases, Arithmetic::best())
}

/// [`msm`] with the given field arithmetic (the result is the same; for benchmarks and
/// tests).
///
/// # Panics
/// As [`msm`], or for [`Arithmetic::Lanes`] on a CPU without them.
pub fn msm_with<C: CurveAffine>(
    scalars: &[C::Scalar],
    bases: &[C],
    arithmetic: Arithmetic,
) -> C::Curve
where
    C::Base: LaneField,
{
    assert_eq!(scalars.len(), bases.len(), "one scalar per base");
    if scalars.len() < MIN_POINTS {
        return msm_best(scalars, bases);
    }
    pippenger(scalars, bases, window_bits(scalars.len()), arithmetic)
}

/// How the batched affine additions multiply field elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arithmetic {
    /// One element at a time (`halo2curves`' 4-limb Montgomery multiplication).
    Scalar,
    /// Eight elements at a time in AVX-512 IFMA lanes (x86-64 CPUs that have them).
    Lanes,
}

impl Arithmetic {
    /// The fastest this CPU has.
    pub fn best() -> Self {
        if lanes::available() {
            Arithmetic::Lanes
        } else {
            Arithmetic::Scalar
        }
    }

    /// Affine additions sharing one field inversion.
    fn batch(self) -> usize {
        match self {
            Arithmetic::Scalar => SCALAR_BATCH,
            Arithmetic::Lanes => LANES_BATCH,
        }
    }
}

/// Window width for `n` variable bases: each window costs `n` additions plus a reduction
/// of `2^(c-1)` buckets; measured best `log₂ n - 2` (14 bits for 2^16 points).
fn window_bits(n: usize) -> usize {
    (n.max(1).ilog2() as usize)
        .saturating_sub(2)
        .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
}

/// The bucket method with `c`-bit windows, one set of buckets per window, for any number
/// of points.
fn pippenger<C: CurveAffine>(
    scalars: &[C::Scalar],
    bases: &[C],
    c: usize,
    arithmetic: Arithmetic,
) -> C::Curve
where
    C::Base: LaneField,
{
    debug_assert!((MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&c));
    // The identity adds nothing (and has no affine coordinates): drop it with its scalar.
    let (reprs, points): (Vec<_>, Vec<_>) = scalars
        .par_iter()
        .zip(bases.par_iter())
        .filter_map(|(s, p)| Some((s.to_repr(), xy_of(p)?)))
        .unzip();
    let windows = table_count::<C>(c);
    let sums: Vec<C::Curve> = (0..windows)
        .into_par_iter()
        .map(|w| {
            let mut buckets = Buckets::<C>::new(1 << (c - 1), arithmetic);
            for (i, repr) in reprs.iter().enumerate() {
                let digit = booth_digit(repr.as_ref(), w, c);
                if digit != 0 {
                    let point = signed::<C>(points[i], digit < 0);
                    buckets.add(digit.unsigned_abs() as usize - 1, point);
                }
            }
            buckets.weighted_sum()
        })
        .collect();
    sums.iter().rev().fold(C::Curve::identity(), |acc, sum| {
        (0..c).fold(acc, |a, _| a.double()) + sum
    })
}

/// Bases with their multiples `2^(j·c) · P` precomputed (`c` = the window), so that an MSM
/// over them is one bucket pass over all windows together: `n·⌈b/c⌉` batched additions and
/// a single bucket reduction, instead of one reduction and `c` doublings per window. This
/// allows a wider window than [`msm`] can afford (16 bits against 14 for 2^16 points), for
/// `⌈b/c⌉` times the memory of the bases (~67 MB for 2^16 BN254 points).
#[derive(Clone)]
pub struct FixedBases<C: CurveAffine> {
    window: usize,
    /// `tables[j][i] = 2^(j·window) · bases[i]`, affine coordinates.
    tables: Vec<Vec<Xy<C>>>,
}

impl<C: CurveAffine> FixedBases<C>
where
    C::Base: LaneField,
{
    /// Precomputes the tables; `None` if a base is the identity.
    pub fn new(bases: &[C]) -> Option<Self> {
        let window = fixed_window_bits(bases.len());
        let count = table_count::<C>(window);
        let mut tables = Vec::with_capacity(count);
        let mut current: Vec<C> = bases.to_vec();
        for j in 0..count {
            tables.push(affine_xy(&current)?);
            if j + 1 < count {
                let doubled: Vec<C::Curve> = current
                    .par_iter()
                    .map(|p| (0..window).fold(p.to_curve(), |q, _| q.double()))
                    .collect();
                current = super::points::normalize(&doubled);
            }
        }
        Some(FixedBases { window, tables })
    }

    /// `Σ scalars[i] · bases[i]` over the first `scalars.len()` bases. The tables are split
    /// between the threads, each with its own buckets.
    ///
    /// # Panics
    /// If there are more scalars than bases.
    pub fn msm(&self, scalars: &[C::Scalar]) -> C::Curve {
        self.msm_with(scalars, Arithmetic::best())
    }

    /// [`Self::msm`] with the given field arithmetic (the result is the same; for
    /// benchmarks and tests).
    ///
    /// # Panics
    /// As [`Self::msm`], or for [`Arithmetic::Lanes`] on a CPU without them.
    pub fn msm_with(&self, scalars: &[C::Scalar], arithmetic: Arithmetic) -> C::Curve {
        assert!(scalars.len() <= self.len(), "more scalars than bases");
        let reprs: Vec<_> = scalars.par_iter().map(|s| s.to_repr()).collect();
        let c = self.window;
        let tables = self.tables.len();
        let parts = rayon::current_num_threads().clamp(1, tables);
        (0..parts)
            .into_par_iter()
            .map(|part| {
                let mut own = Buckets::<C>::new(1 << (c - 1), arithmetic);
                for j in tables * part / parts..tables * (part + 1) / parts {
                    for (repr, point) in reprs.iter().zip(&self.tables[j]) {
                        let digit = booth_digit(repr.as_ref(), j, c);
                        if digit != 0 {
                            let point = signed::<C>(*point, digit < 0);
                            own.add(digit.unsigned_abs() as usize - 1, point);
                        }
                    }
                }
                own.weighted_sum()
            })
            .reduce(C::Curve::identity, |a, b| a + b)
    }
}

impl<C: CurveAffine> FixedBases<C> {
    /// Number of bases.
    pub fn len(&self) -> usize {
        self.tables.first().map_or(0, Vec::len)
    }

    /// Whether there are no bases.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<C: CurveAffine> std::fmt::Debug for FixedBases<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FixedBases")
            .field("bases", &self.len())
            .field("window", &self.window)
            .field("tables", &self.tables.len())
            .finish()
    }
}

/// Tables (windows) a scalar needs at window `c`: Booth digits cover `c · count` bits,
/// which must exceed the scalar's bits.
fn table_count<C: CurveAffine>(c: usize) -> usize {
    C::Scalar::NUM_BITS as usize / c + 1
}

/// Window width for fixed bases: the reduction is paid once per thread, so the window can
/// be wider than the variable-base one, until the buckets (`2^(c-1)` points of 64 bytes)
/// outgrow a core's cache: measured best `log₂ n + 1`, at most 16.
fn fixed_window_bits(n: usize) -> usize {
    (n.max(1).ilog2() as usize + 1).clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS)
}

/// Affine coordinates of every point; `None` if one is the identity.
fn affine_xy<C: CurveAffine>(points: &[C]) -> Option<Vec<Xy<C>>> {
    points.par_iter().map(xy_of).collect()
}

/// A point's affine coordinates; `None` for the identity, which `halo2curves` stores as
/// `(0, 0)` and reports as having those coordinates.
fn xy_of<C: CurveAffine>(p: &C) -> Option<Xy<C>> {
    if bool::from(p.is_identity()) {
        return None;
    }
    let xy: Coordinates<C> = Option::from(p.coordinates())?;
    Some((*xy.x(), *xy.y()))
}

/// A point's affine coordinates.
type Xy<C> = (<C as CurveAffine>::Base, <C as CurveAffine>::Base);

/// Two points to add.
type Pair<C> = (Xy<C>, Xy<C>);

/// `-P` when `negate`, else `P`.
fn signed<C: CurveAffine>((x, y): Xy<C>, negate: bool) -> Xy<C> {
    (x, if negate { -y } else { y })
}

/// Window `w`'s signed digit of a little-endian scalar, in `[-2^(c-1), 2^(c-1)]`: bits
/// `w·c - 1 .. w·c + c` read as `b₋₁ + Σ_{k<c-1} 2^k b_k - 2^(c-1) b_{c-1}` (Booth), so
/// that `Σ_w digit_w 2^(w·c)` is the scalar when the top window lies above its bits.
fn booth_digit(bytes: &[u8], w: usize, c: usize) -> i32 {
    // Window 0 has no bit below it: read from bit 0 and shift a zero in.
    let (first_bit, shift_in) = if w == 0 { (0, 1) } else { (w * c - 1, 0) };
    let mut word = [0u8; 4];
    for (dst, src) in word.iter_mut().zip(bytes.iter().skip(first_bit / 8)) {
        *dst = *src;
    }
    let v = ((u32::from_le_bytes(word) >> (first_bit % 8)) << shift_in) & ((1 << (c + 1)) - 1);
    ((v + 1) >> 1) as i32 - (((v >> c) & 1) << c) as i32
}

/// One set of buckets (a window's, or a thread's share of the tables'): affine sums filled
/// by batched additions. A point that arrives while its bucket is in the open batch (~1 %:
/// a batch holds a few hundred of 2^(c-1) buckets) waits for the next batch, or, when
/// [`MAX_DEFERRED`] already wait (inputs that pile into a few buckets), goes to the
/// overflow, summed projectively at the end.
struct Buckets<C: CurveAffine> {
    /// Each bucket's sum, `x` and `y` side by side (one cache line for a 256-bit field).
    sums: Vec<Xy<C>>,
    filled: Vec<bool>,
    in_batch: Vec<bool>,
    deferred: Vec<(u32, Xy<C>)>,
    overflow: Vec<(u32, Xy<C>)>,
    /// The open batch: bucket `batch[k]` becomes `pairs[k].0 + pairs[k].1` (its sum when it
    /// joined the batch, which nothing else touches before the flush, plus the new point).
    batch: Vec<u32>,
    pairs: Vec<Pair<C>>,
    scratch: BatchScratch<C>,
}

impl<C: CurveAffine> Buckets<C>
where
    C::Base: LaneField,
{
    fn new(count: usize, arithmetic: Arithmetic) -> Self {
        Buckets {
            sums: vec![(C::Base::ZERO, C::Base::ZERO); count],
            filled: vec![false; count],
            in_batch: vec![false; count],
            deferred: Vec::with_capacity(MAX_DEFERRED),
            overflow: Vec::new(),
            batch: Vec::with_capacity(arithmetic.batch()),
            pairs: Vec::with_capacity(arithmetic.batch()),
            scratch: BatchScratch::new(arithmetic),
        }
    }

    fn add(&mut self, bucket: usize, (px, py): Xy<C>) {
        if self.in_batch[bucket] {
            let waiting = if self.deferred.len() < MAX_DEFERRED {
                &mut self.deferred
            } else {
                &mut self.overflow
            };
            waiting.push((bucket as u32, (px, py)));
        } else if !self.filled[bucket] {
            self.sums[bucket] = (px, py);
            self.filled[bucket] = true;
        } else {
            self.in_batch[bucket] = true;
            self.batch.push(bucket as u32);
            self.pairs.push((self.sums[bucket], (px, py)));
            if self.batch.len() == self.scratch.arithmetic.batch() {
                self.flush();
            }
        }
    }

    /// Performs the batch's additions ([`batch_add`]), then opens the next batch with the
    /// points that waited for this one.
    fn flush(&mut self) {
        let (batch, sums, filled, in_batch) = (
            &self.batch,
            &mut self.sums,
            &mut self.filled,
            &mut self.in_batch,
        );
        batch_add::<C>(&self.pairs, &mut self.scratch, |k, sum| {
            let b = batch[k] as usize;
            in_batch[b] = false;
            match sum {
                Some(sum) => sums[b] = sum,
                None => filled[b] = false,
            }
        });
        self.batch.clear();
        self.pairs.clear();
        // Fewer than a batch: re-adding them cannot flush again.
        let mut waited = std::mem::take(&mut self.deferred);
        for (bucket, point) in waited.drain(..) {
            self.add(bucket as usize, point);
        }
        if self.deferred.is_empty() {
            self.deferred = waited;
        }
    }

    /// Flushes until no point waits.
    fn flush_all(&mut self) {
        while !self.batch.is_empty() || !self.deferred.is_empty() {
            self.flush();
        }
    }

    /// `Σ_b (b + 1) · bucket_b`. With `b = hi·g + lo` (`g` ≈ √buckets, both powers of
    /// two) this is `g · Σ_hi hi · S_hi + Σ_lo lo · T_lo + Σ_hi S_hi`, where `S_hi` sums a
    /// row of buckets and `T_lo` a column: the row and column sums are batched affine
    /// additions, and only the ~2√buckets weighted terms take projective additions, where a
    /// running sum over all buckets would take two per bucket.
    fn weighted_sum(mut self) -> C::Curve {
        self.flush_all();
        self.absorb_overflow();
        let count = self.sums.len();
        debug_assert!(count.is_power_of_two());
        let g = 1usize << (count.ilog2() / 2);
        let rows = count / g;
        let buckets: Vec<Option<Xy<C>>> = (0..count)
            .map(|b| self.filled[b].then_some(self.sums[b]))
            .collect();
        let row_sums = sum_groups::<C>(buckets.clone(), g, self.scratch.arithmetic);
        let by_column: Vec<Option<Xy<C>>> = (0..count)
            .map(|i| buckets[(i % rows) * g + i / rows])
            .collect();
        let column_sums = sum_groups::<C>(by_column, rows, self.scratch.arithmetic);
        let (rows_weighted, all) = weighted_and_plain::<C>(&row_sums);
        let (columns_weighted, _) = weighted_and_plain::<C>(&column_sums);
        (0..g.ilog2()).fold(rows_weighted, |p, _| p.double()) + columns_weighted + all
    }

    /// Sums the overflow per bucket (projectively) and adds the sums to the buckets.
    fn absorb_overflow(&mut self) {
        if self.overflow.is_empty() {
            return;
        }
        let mut overflow = std::mem::take(&mut self.overflow);
        overflow.sort_unstable_by_key(|(bucket, _)| *bucket);
        let (spilled, projective): (Vec<usize>, Vec<C::Curve>) = overflow
            .chunk_by(|a, b| a.0 == b.0)
            .map(|run| {
                let sum = run.iter().fold(C::Curve::identity(), |acc, (_, (x, y))| {
                    acc + C::from_xy(*x, *y).expect("a base's coordinates")
                });
                (run[0].0 as usize, sum)
            })
            .unzip();
        let mut affine = vec![C::identity(); spilled.len()];
        C::Curve::batch_normalize(&projective, &mut affine);
        for (&b, p) in spilled.iter().zip(&affine) {
            if let Some(xy) = xy_of(p) {
                // Each bucket once and none in the batch: none waits or overflows again.
                self.add(b, xy);
            }
        }
        self.flush_all();
    }
}

/// `(Σ_i i · P_i, Σ_i P_i)` by a running sum from the top.
fn weighted_and_plain<C: CurveAffine>(points: &[Option<Xy<C>>]) -> (C::Curve, C::Curve) {
    let mut running = C::Curve::identity();
    let mut total = C::Curve::identity();
    for p in points.iter().skip(1).rev() {
        if let Some((x, y)) = p {
            running += C::from_xy(*x, *y).expect("sums of curve points");
        }
        total += running;
    }
    if let Some((x, y)) = points.first().copied().flatten() {
        running += C::from_xy(x, y).expect("sums of curve points");
    }
    (total, running)
}

#[cfg(test)]
mod tests {
    use super::batch::add_pairs;
    use super::*;
    use halo2curves::bn256::{Fr, G1Affine, G1};
    use halo2curves::group::prime::PrimeCurveAffine;
    use halo2curves::group::Curve;
    use halo2curves::grumpkin;
    use proptest::prelude::*;
    use rand_core::OsRng;

    fn naive<C: CurveAffine>(scalars: &[C::Scalar], bases: &[C]) -> C::Curve {
        scalars
            .iter()
            .zip(bases)
            .fold(C::Curve::identity(), |acc, (s, p)| acc + *p * s)
    }

    /// Both arithmetics where the CPU has lanes (which it must in CI, see
    /// `lanes_are_tested_where_ci_runs`), else the scalar one.
    fn arithmetics() -> Vec<Arithmetic> {
        let mut all = vec![Arithmetic::Scalar];
        all.extend((Arithmetic::best() == Arithmetic::Lanes).then_some(Arithmetic::Lanes));
        all
    }

    fn random_points<C: CurveAffine>(n: usize) -> Vec<C> {
        let projective: Vec<C::Curve> = (0..n).map(|_| C::Curve::random(OsRng)).collect();
        let mut affine = vec![C::identity(); n];
        C::Curve::batch_normalize(&projective, &mut affine);
        affine
    }

    #[test]
    fn booth_digits_recompose_the_scalar() {
        for c in MIN_WINDOW_BITS..=MAX_WINDOW_BITS {
            for s in [
                Fr::ZERO,
                Fr::ONE,
                -Fr::ONE,
                Fr::from(u64::MAX),
                Fr::random(OsRng),
            ] {
                let repr = s.to_repr();
                let windows = Fr::NUM_BITS as usize / c + 1;
                let mut acc = Fr::ZERO;
                for w in (0..windows).rev() {
                    let d = booth_digit(repr.as_ref(), w, c);
                    assert!(d.unsigned_abs() <= 1 << (c - 1), "c {c} w {w} d {d}");
                    acc *= Fr::from(1u64 << c);
                    acc += if d < 0 {
                        -Fr::from(u64::from(d.unsigned_abs()))
                    } else {
                        Fr::from(d as u64)
                    };
                }
                assert_eq!(acc, s, "c {c}");
            }
        }
    }

    #[test]
    fn pairwise_affine_additions_match_the_curve_library() {
        let p = random_points::<G1Affine>(3);
        let cases = [
            (p[0], p[1]),
            (p[0], p[0]),
            (p[2], -p[2]),
            (p[1], G1Affine::identity()),
            (G1Affine::identity(), p[2]),
            (G1Affine::identity(), G1Affine::identity()),
        ];
        let flat: Vec<_> = cases
            .iter()
            .flat_map(|(a, b)| [xy_of(a), xy_of(b)])
            .collect();
        // Twice over, so that the lanes get eight pairs and the special ones mixed in.
        let flat = [flat.clone(), flat].concat();
        for arithmetic in arithmetics() {
            let sums = add_pairs::<G1Affine>(&flat, arithmetic);
            for ((a, b), sum) in cases.iter().chain(&cases).zip(sums) {
                assert_eq!(sum, xy_of(&(*a + *b).to_affine()), "{arithmetic:?}");
            }
        }
    }

    #[test]
    fn matches_the_library_on_random_inputs_of_both_curves() {
        for n in [MIN_POINTS, 3000] {
            let bases = random_points::<G1Affine>(n);
            let scalars: Vec<Fr> = (0..n).map(|_| Fr::random(OsRng)).collect();
            let want = msm_best(&scalars, &bases);
            for arithmetic in arithmetics() {
                assert_eq!(msm_with(&scalars, &bases, arithmetic), want);
            }
            let bases = random_points::<grumpkin::G1Affine>(n);
            let scalars: Vec<grumpkin::Fr> = (0..n).map(|_| grumpkin::Fr::random(OsRng)).collect();
            let want = msm_best(&scalars, &bases);
            for arithmetic in arithmetics() {
                assert_eq!(msm_with(&scalars, &bases, arithmetic), want);
            }
        }
    }

    #[test]
    fn fixed_bases_match_the_library_on_both_curves_and_any_prefix() {
        let bases = random_points::<G1Affine>(3000);
        let fixed = FixedBases::new(&bases).unwrap();
        assert_eq!(fixed.len(), 3000);
        for n in [0, 1, 17, 2048, 3000] {
            let scalars: Vec<Fr> = (0..n).map(|_| Fr::random(OsRng)).collect();
            let want = msm_best(&scalars, &bases[..n]);
            for arithmetic in arithmetics() {
                assert_eq!(fixed.msm_with(&scalars, arithmetic), want, "n {n}");
            }
        }
        let bases = random_points::<grumpkin::G1Affine>(1500);
        let scalars: Vec<grumpkin::Fr> = (0..1500).map(|_| grumpkin::Fr::random(OsRng)).collect();
        let fixed = FixedBases::new(&bases).unwrap();
        let want = msm_best(&scalars, &bases);
        for arithmetic in arithmetics() {
            assert_eq!(fixed.msm_with(&scalars, arithmetic), want);
        }
    }

    #[test]
    fn fixed_bases_handle_repeated_digits_and_refuse_the_identity() {
        let p = random_points::<G1Affine>(2);
        let bases = vec![p[0], p[0], -p[0], p[1], p[1]];
        let fixed = FixedBases::new(&bases).unwrap();
        let scalars = [Fr::from(3), Fr::from(3), Fr::from(3), -Fr::ONE, Fr::ZERO];
        for arithmetic in arithmetics() {
            assert_eq!(
                fixed.msm_with(&scalars, arithmetic),
                naive(&scalars, &bases)
            );
        }
        // Every scalar equal: every point of a table lands in one bucket.
        let bases = random_points::<G1Affine>(2 * LANES_BATCH + 3);
        let scalars = vec![-Fr::from(5); bases.len()];
        let fixed = FixedBases::new(&bases).unwrap();
        for arithmetic in arithmetics() {
            assert_eq!(
                fixed.msm_with(&scalars, arithmetic),
                naive(&scalars, &bases)
            );
        }
        assert!(FixedBases::new(&[p[0], G1Affine::identity()]).is_none());
    }

    #[test]
    fn doubling_cancelling_identity_and_extreme_scalars() {
        let p = random_points::<G1Affine>(3);
        let minus_one = -Fr::ONE;
        // Same base twice in one bucket (doubling), a base and its negation (cancelling),
        // the identity, zero, one, -1 and the top bit: every branch of the batch.
        let bases = vec![
            p[0],
            p[0],
            p[1],
            -p[1],
            G1Affine::identity(),
            p[2],
            p[2],
            p[0],
            p[1],
        ];
        let scalars = vec![
            Fr::from(5),
            Fr::from(5),
            Fr::from(7),
            Fr::from(7),
            Fr::from(9),
            Fr::ZERO,
            minus_one,
            Fr::from(1u64 << 40),
            Fr::ONE,
        ];
        for (c, arithmetic) in
            (MIN_WINDOW_BITS..=8).flat_map(|c| arithmetics().into_iter().map(move |a| (c, a)))
        {
            assert_eq!(
                pippenger(&scalars, &bases, c, arithmetic),
                naive(&scalars, &bases),
                "c {c} {arithmetic:?}"
            );
        }
        assert_eq!(
            pippenger::<G1Affine>(&[], &[], 4, Arithmetic::best()),
            G1::identity()
        );
    }

    #[test]
    fn one_bucket_for_every_point_overflows_correctly() {
        // All scalars equal: every point of a window lands in one bucket, so all but the
        // batched one go to the projective overflow.
        let bases = random_points::<G1Affine>(2 * LANES_BATCH + 3);
        let scalars = vec![Fr::from(3); bases.len()];
        for arithmetic in arithmetics() {
            assert_eq!(
                pippenger(&scalars, &bases, 6, arithmetic),
                naive(&scalars, &bases)
            );
        }
    }

    /// CI runs on this machine kind, which has AVX-512 IFMA: there the lanes must be what
    /// the tests above exercise, not silently skipped.
    #[test]
    fn lanes_are_tested_where_ci_runs() {
        if std::env::var_os("CI").is_some() {
            assert_eq!(
                Arithmetic::best(),
                Arithmetic::Lanes,
                "CI's CPU lost AVX-512 IFMA?"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Few distinct bases and scalars, so buckets collide, double and cancel often.
        #[test]
        fn matches_the_naive_sum(
            picks in proptest::collection::vec((0usize..4, 0u64..6, any::<bool>()), 0..200),
            c in MIN_WINDOW_BITS..=7usize,
        ) {
            let pool = random_points::<G1Affine>(4);
            let bases: Vec<G1Affine> = picks.iter().map(|(b, _, neg)| if *neg { -pool[*b] } else { pool[*b] }).collect();
            let scalars: Vec<Fr> = picks.iter().map(|(_, s, _)| Fr::from(*s) - Fr::from(2)).collect();
            let want = naive(&scalars, &bases).to_affine();
            for arithmetic in arithmetics() {
                prop_assert_eq!(pippenger(&scalars, &bases, c, arithmetic).to_affine(), want);
            }
        }
    }
}
