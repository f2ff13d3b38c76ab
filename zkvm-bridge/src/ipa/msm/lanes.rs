//! Eight affine additions at a time: the batched additions of [`super`] in AVX-512 IFMA
//! lanes, where the CPU has them.
//!
//! Why: the MSM's cost is ~six field multiplications per affine addition, and a 4-limb
//! Montgomery multiplication with `mulx` takes ~17 ns here. IFMA multiplies eight 52-bit
//! pairs per instruction, so eight multiplications in 52-bit limbs cost about as much as
//! two scalar ones.
//!
//! Representation: an element is held as the same integer `halo2curves` stores (Montgomery
//! form, `R = 2^256`), split into five 52-bit limbs, one lane per element; a limb vector
//! holds one limb of eight elements. Values stay below `2p` between operations; the
//! Montgomery reduction shifts by 4·52 + 48 = 256 bits so that products stay in the
//! library's form and nothing is converted but the limb split.
//!
//! Safety: the arithmetic is `#[target_feature]` code, reached only through
//! [`batch_add`], which checks the features at run time ([`available`]).

use ff::PrimeField;
use halo2curves::bn256;

/// A prime field below 2^254 stored as `halo2curves` stores it: four little-endian 64-bit
/// limbs of `a·2^256 mod p`. Implemented (sealed) for the base fields of BN254 and
/// Grumpkin, the curves the inner product argument runs on: the lane arithmetic's bounds
/// (`4p < 2^256`) are checked for those moduli only.
pub trait LaneField: PrimeField + sealed::Sealed {
    /// The modulus, four little-endian 64-bit limbs.
    const MODULUS_LIMBS: [u64; 4];
    /// The stored limbs.
    fn montgomery_limbs(&self) -> [u64; 4];
    /// The element whose stored limbs these are (which must be below the modulus).
    fn from_montgomery_limbs(limbs: [u64; 4]) -> Self;
}

impl LaneField for bn256::Fq {
    const MODULUS_LIMBS: [u64; 4] = [
        0x3c20_8c16_d87c_fd47,
        0x9781_6a91_6871_ca8d,
        0xb850_45b6_8181_585d,
        0x3064_4e72_e131_a029,
    ];
    fn montgomery_limbs(&self) -> [u64; 4] {
        self.0
    }
    fn from_montgomery_limbs(limbs: [u64; 4]) -> Self {
        bn256::Fq(limbs)
    }
}

/// Also Grumpkin's base field.
impl LaneField for bn256::Fr {
    const MODULUS_LIMBS: [u64; 4] = [
        0x43e1_f593_f000_0001,
        0x2833_e848_79b9_7091,
        0xb850_45b6_8181_585d,
        0x3064_4e72_e131_a029,
    ];
    fn montgomery_limbs(&self) -> [u64; 4] {
        self.0
    }
    fn from_montgomery_limbs(limbs: [u64; 4]) -> Self {
        bn256::Fr(limbs)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for halo2curves::bn256::Fq {}
    impl Sealed for halo2curves::bn256::Fr {}
}

/// Two points to add, as affine coordinates.
pub(crate) type Pair<F> = ((F, F), (F, F));

/// Five rows of 52-bit limbs of eight elements, row `i` holding limb `i` of each.
type Rows = [[u64; LANES]; 5];

/// Elements per vector.
pub(crate) const LANES: usize = 8;

/// Whether this CPU runs the lane arithmetic (AVX-512 F and IFMA).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512ifma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `p + q` for every pair, reported as `sum(index, p + q)`, with one field inversion per
/// batch, as `super::batch_add` but eight pairs at a time.
///
/// # Panics
/// If the CPU lacks the features ([`available`]), or a pair's points share their `x`
/// (doubling and cancelling are the caller's: they need another slope).
pub(crate) fn batch_add<F: LaneField>(
    pairs: &[Pair<F>],
    scratch: &mut Scratch,
    sum: impl FnMut(usize, (F, F)),
) {
    assert!(available(), "AVX-512 IFMA lanes on this CPU");
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the target features were checked just above.
    unsafe {
        ifma::batch_add(pairs, scratch, sum)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (pairs, scratch, sum);
        unreachable!("lanes are x86-64 only")
    }
}

/// Working space of [`batch_add`], kept between batches.
#[derive(Default)]
pub(crate) struct Scratch {
    /// Per group of eight pairs: `x_p`, `y_p`, `x_p + x_q`, `y_q - y_p`, the denominator
    /// `x_q - x_p` and the product of the earlier denominators, each as 5 × 8 limbs.
    groups: Vec<[Rows; 6]>,
}

/// Five 52-bit limbs per element (for any 256-bit integer).
fn split52(w: [u64; 4]) -> [u64; 5] {
    const M: u64 = (1 << 52) - 1;
    [
        w[0] & M,
        (w[0] >> 52 | w[1] << 12) & M,
        (w[1] >> 40 | w[2] << 24) & M,
        (w[2] >> 28 | w[3] << 36) & M,
        w[3] >> 16,
    ]
}

/// `-p⁻¹ mod 2^52`, for Montgomery reduction by 52-bit words.
const fn minus_inverse_52(p0: u64) -> u64 {
    // Newton's iteration doubles the correct low bits of p⁻¹ mod 2^64 each round.
    let mut inv: u64 = 1;
    let mut i = 0;
    while i < 6 {
        inv = inv.wrapping_mul(2u64.wrapping_sub(p0.wrapping_mul(inv)));
        i += 1;
    }
    inv.wrapping_neg() & ((1 << 52) - 1)
}

#[cfg(target_arch = "x86_64")]
mod ifma {
    use super::{minus_inverse_52, split52, LaneField, Pair, Rows, Scratch, LANES};
    use std::arch::x86_64::*;

    const MASK52: i64 = (1 << 52) - 1;

    /// Eight elements, limb-major: `limb[i]` holds limb `i` of every lane.
    #[derive(Clone, Copy)]
    struct Lanes([__m512i; 5]);

    /// The modulus and its constants, broadcast to every lane.
    struct Modulus {
        p: [__m512i; 5],
        two_p: [__m512i; 5],
        minus_inverse: __m512i,
    }

    impl Modulus {
        /// `F`'s modulus in 52-bit limbs, `2p` and `-p⁻¹ mod 2^52`.
        #[target_feature(enable = "avx512f")]
        fn of<F: LaneField>() -> Self {
            let p = split52(F::MODULUS_LIMBS);
            let mut doubled = [0u64; 4];
            let mut carry = 0;
            for (d, w) in doubled.iter_mut().zip(F::MODULUS_LIMBS) {
                *d = w << 1 | carry;
                carry = w >> 63;
            }
            let two_p = split52(doubled);
            Modulus {
                p: p.map(|l| _mm512_set1_epi64(l as i64)),
                two_p: two_p.map(|l| _mm512_set1_epi64(l as i64)),
                minus_inverse: _mm512_set1_epi64(minus_inverse_52(F::MODULUS_LIMBS[0]) as i64),
            }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load(limbs: &Rows) -> Lanes {
        let mut v = [_mm512_setzero_si512(); 5];
        for (v, row) in v.iter_mut().zip(limbs) {
            // SAFETY: each row is exactly one 64-byte vector; unaligned loads are allowed.
            *v = unsafe { _mm512_loadu_si512(row.as_ptr().cast()) };
        }
        Lanes(v)
    }

    #[inline]
    #[target_feature(enable = "avx512f")]
    fn store_into(v: Lanes, out: &mut Rows) {
        for (row, limb) in out.iter_mut().zip(v.0) {
            // SAFETY: each row is exactly one 64-byte vector; unaligned stores are allowed.
            unsafe { _mm512_storeu_si512(row.as_mut_ptr().cast(), limb) };
        }
    }

    #[cfg(test)]
    #[target_feature(enable = "avx512f")]
    fn store(v: Lanes) -> Rows {
        let mut out = [[0u64; LANES]; 5];
        store_into(v, &mut out);
        out
    }

    /// Carries every limb's excess (signed) into the next; the top limb keeps its own.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn carry(mut t: [__m512i; 5]) -> [__m512i; 5] {
        let mask = _mm512_set1_epi64(MASK52);
        for i in 0..4 {
            t[i + 1] = _mm512_add_epi64(t[i + 1], _mm512_srai_epi64::<52>(t[i]));
            t[i] = _mm512_and_si512(t[i], mask);
        }
        t
    }

    /// `t - m` where it is not negative, else `t` (both normalized).
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn subtract_if_not_below(t: [__m512i; 5], m: &[__m512i; 5]) -> [__m512i; 5] {
        let mut s = t;
        for (s, m) in s.iter_mut().zip(m) {
            *s = _mm512_sub_epi64(*s, *m);
        }
        let mut s = carry(s);
        let negative = _mm512_cmplt_epi64_mask(s[4], _mm512_setzero_si512());
        for (s, t) in s.iter_mut().zip(t) {
            *s = _mm512_mask_blend_epi64(negative, *s, t);
        }
        s
    }

    /// `a - b` below `2p`, for `a`, `b` below `2p`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn sub(a: Lanes, b: Lanes, m: &Modulus) -> Lanes {
        let mut t = a.0;
        for ((t, p), b) in t.iter_mut().zip(m.two_p).zip(b.0) {
            *t = _mm512_sub_epi64(_mm512_add_epi64(*t, p), b);
        }
        Lanes(subtract_if_not_below(carry(t), &m.two_p))
    }

    /// `a + b` below `2p`, for `a`, `b` below `2p`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn add(a: Lanes, b: Lanes, m: &Modulus) -> Lanes {
        let mut t = a.0;
        for (t, b) in t.iter_mut().zip(b.0) {
            *t = _mm512_add_epi64(*t, b);
        }
        Lanes(subtract_if_not_below(carry(t), &m.two_p))
    }

    /// The element below `p`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn canonical(a: Lanes, m: &Modulus) -> Lanes {
        Lanes(subtract_if_not_below(a.0, &m.p))
    }

    /// Montgomery product `a·b·2^-256 mod p`, below `2p` for `a`, `b` below `2p`
    /// (`4p² < p·2^256`). The full 10-limb product first, then four 52-bit reduction
    /// steps and one of 48 bits.
    #[inline]
    #[target_feature(enable = "avx512f,avx512ifma")]
    fn mul(a: Lanes, b: Lanes, m: &Modulus) -> Lanes {
        let zero = _mm512_setzero_si512();
        let mut t = [zero; 10];
        for i in 0..5 {
            for j in 0..5 {
                t[i + j] = _mm512_madd52lo_epu64(t[i + j], a.0[i], b.0[j]);
                t[i + j + 1] = _mm512_madd52hi_epu64(t[i + j + 1], a.0[i], b.0[j]);
            }
        }
        for i in 0..5 {
            let mut q = _mm512_madd52lo_epu64(zero, t[i], m.minus_inverse);
            if i == 4 {
                q = _mm512_and_si512(q, _mm512_set1_epi64((1 << 48) - 1));
            }
            for j in 0..5 {
                t[i + j] = _mm512_madd52lo_epu64(t[i + j], q, m.p[j]);
                t[i + j + 1] = _mm512_madd52hi_epu64(t[i + j + 1], q, m.p[j]);
            }
            if i < 4 {
                t[i + 1] = _mm512_add_epi64(t[i + 1], _mm512_srli_epi64::<52>(t[i]));
            }
        }
        let mask = _mm512_set1_epi64(MASK52);
        for i in 4..9 {
            t[i + 1] = _mm512_add_epi64(t[i + 1], _mm512_srli_epi64::<52>(t[i]));
            t[i] = _mm512_and_si512(t[i], mask);
        }
        let mut r = [zero; 5];
        for (j, r) in r.iter_mut().enumerate() {
            let high = _mm512_slli_epi64::<4>(t[5 + j]);
            let high = if j < 4 {
                _mm512_and_si512(high, mask)
            } else {
                high
            };
            *r = _mm512_or_si512(_mm512_srli_epi64::<48>(t[4 + j]), high);
        }
        Lanes(r)
    }

    /// Five 52-bit limb rows of up to eight elements (the rest zero).
    #[cfg(test)]
    fn rows<F: LaneField>(elements: impl Iterator<Item = F>) -> Rows {
        let mut rows = [[0u64; LANES]; 5];
        for (lane, e) in elements.enumerate() {
            for (row, limb) in rows.iter_mut().zip(split52(e.montgomery_limbs())) {
                row[lane] = limb;
            }
        }
        rows
    }

    /// Lane `lane`'s element, which must be below `p`.
    #[cfg(test)]
    fn element<F: LaneField>(rows: &Rows, lane: usize) -> F {
        let l: [u64; 5] = std::array::from_fn(|i| rows[i][lane]);
        F::from_montgomery_limbs([
            l[0] | l[1] << 52,
            l[1] >> 12 | l[2] << 40,
            l[2] >> 24 | l[3] << 28,
            l[3] >> 36 | l[4] << 16,
        ])
    }

    /// The limbs of `element(0)` to `element(7)`: eight elements' four 64-bit words
    /// transposed into word vectors, then split into 52-bit limbs.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn gather<F: LaneField>(element: impl Fn(usize) -> F) -> Lanes {
        let half = |k: usize| {
            let words = element(k).montgomery_limbs();
            // SAFETY: reads one [u64; 4], exactly 32 bytes; unaligned is allowed.
            unsafe { _mm256_loadu_si256(words.as_ptr().cast()) }
        };
        let mut v = [_mm512_setzero_si512(); 4];
        for (i, v) in v.iter_mut().enumerate() {
            *v = _mm512_inserti64x4::<1>(_mm512_castsi256_si512(half(2 * i)), half(2 * i + 1));
        }
        let [w0, w1, w2, w3] = transpose_4x8(v);
        let mask = _mm512_set1_epi64(MASK52);
        let or = |lo: __m512i, hi: __m512i| _mm512_and_si512(_mm512_or_si512(lo, hi), mask);
        Lanes([
            _mm512_and_si512(w0, mask),
            or(_mm512_srli_epi64::<52>(w0), _mm512_slli_epi64::<12>(w1)),
            or(_mm512_srli_epi64::<40>(w1), _mm512_slli_epi64::<24>(w2)),
            or(_mm512_srli_epi64::<28>(w2), _mm512_slli_epi64::<36>(w3)),
            _mm512_srli_epi64::<16>(w3),
        ])
    }

    /// The eight elements of canonical (below `p`) lanes, the inverse of [`gather`].
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn scatter<F: LaneField>(a: Lanes) -> [F; LANES] {
        let l = a.0;
        let words = [
            _mm512_or_si512(l[0], _mm512_slli_epi64::<52>(l[1])),
            _mm512_or_si512(_mm512_srli_epi64::<12>(l[1]), _mm512_slli_epi64::<40>(l[2])),
            _mm512_or_si512(_mm512_srli_epi64::<24>(l[2]), _mm512_slli_epi64::<28>(l[3])),
            _mm512_or_si512(_mm512_srli_epi64::<36>(l[3]), _mm512_slli_epi64::<16>(l[4])),
        ];
        let v = transpose_8x4(words);
        let mut words = [[0u64; 4]; LANES];
        for (k, limbs) in words.iter_mut().enumerate() {
            let half = if k % 2 == 0 {
                _mm512_castsi512_si256(v[k / 2])
            } else {
                _mm512_extracti64x4_epi64::<1>(v[k / 2])
            };
            // SAFETY: writes one [u64; 4], exactly 32 bytes; unaligned is allowed.
            unsafe { _mm256_storeu_si256(limbs.as_mut_ptr().cast(), half) };
        }
        words.map(F::from_montgomery_limbs)
    }

    /// Element-major to word-major: `v[i]` holds elements `2i` and `2i + 1`, four words
    /// each; the result's vector `j` holds word `j` of all eight.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn transpose_4x8(v: [__m512i; 4]) -> [__m512i; 4] {
        // Words 0-1 and 2-3 of four elements: [e0w0 e1w0 e2w0 e3w0 e0w1 e1w1 e2w1 e3w1].
        let (low, high) = interleave_indices();
        let a0 = _mm512_permutex2var_epi64(v[0], low, v[1]);
        let a1 = _mm512_permutex2var_epi64(v[0], high, v[1]);
        let b0 = _mm512_permutex2var_epi64(v[2], low, v[3]);
        let b1 = _mm512_permutex2var_epi64(v[2], high, v[3]);
        [
            _mm512_shuffle_i64x2::<0x44>(a0, b0),
            _mm512_shuffle_i64x2::<0xEE>(a0, b0),
            _mm512_shuffle_i64x2::<0x44>(a1, b1),
            _mm512_shuffle_i64x2::<0xEE>(a1, b1),
        ]
    }

    /// The inverse of [`transpose_4x8`].
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn transpose_8x4(w: [__m512i; 4]) -> [__m512i; 4] {
        let (low, high) = interleave_indices();
        let a0 = _mm512_shuffle_i64x2::<0x44>(w[0], w[1]);
        let b0 = _mm512_shuffle_i64x2::<0xEE>(w[0], w[1]);
        let a1 = _mm512_shuffle_i64x2::<0x44>(w[2], w[3]);
        let b1 = _mm512_shuffle_i64x2::<0xEE>(w[2], w[3]);
        [
            _mm512_permutex2var_epi64(a0, low, a1),
            _mm512_permutex2var_epi64(a0, high, a1),
            _mm512_permutex2var_epi64(b0, low, b1),
            _mm512_permutex2var_epi64(b0, high, b1),
        ]
    }

    /// `permutex2var` indices taking, from two vectors of two 4-word elements each, words
    /// 0-1 (`low`) or 2-3 (`high`) of the four elements, element-minor.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn interleave_indices() -> (__m512i, __m512i) {
        (
            _mm512_set_epi64(13, 9, 5, 1, 12, 8, 4, 0),
            _mm512_set_epi64(15, 11, 7, 3, 14, 10, 6, 2),
        )
    }

    /// See [`super::batch_add`].
    ///
    /// # Safety
    /// The CPU must support AVX-512 F and IFMA.
    #[target_feature(enable = "avx512f,avx512ifma")]
    pub(super) fn batch_add<F: LaneField>(
        pairs: &[Pair<F>],
        scratch: &mut Scratch,
        mut sum: impl FnMut(usize, (F, F)),
    ) {
        let m = Modulus::of::<F>();
        let groups = pairs.len().div_ceil(LANES);
        scratch.groups.resize(groups, [[[0; LANES]; 5]; 6]);
        // Unused lanes of the last group add (0, 0) + (1, 0): a nonzero denominator, a
        // result dropped.
        let padding = ((F::ZERO, F::ZERO), (F::ONE, F::ZERO));
        // Forward: every lane its own product chain over its pairs.
        let mut product = gather(|_| F::ONE);
        for (g, saved) in scratch.groups.iter_mut().enumerate() {
            let group = &pairs[g * LANES..pairs.len().min((g + 1) * LANES)];
            assert!(
                group.iter().all(|((px, _), (qx, _))| px != qx),
                "generic pairs"
            );
            let pair = |lane: usize| group.get(lane).unwrap_or(&padding);
            let xp = gather(|lane| pair(lane).0 .0);
            let yp = gather(|lane| pair(lane).0 .1);
            let xq = gather(|lane| pair(lane).1 .0);
            let yq = gather(|lane| pair(lane).1 .1);
            let denominator = sub(xq, xp, &m);
            let values = [
                xp,
                yp,
                add(xp, xq, &m),
                sub(yq, yp, &m),
                denominator,
                product,
            ];
            for (rows, value) in saved.iter_mut().zip(values) {
                store_into(value, rows);
            }
            product = mul(product, denominator, &m);
        }
        // One inversion for the eight chains' products.
        let mut inverses: [F; LANES] = scatter(canonical(product, &m));
        let mut running = F::ONE;
        let mut before = [F::ONE; LANES];
        for (b, e) in before.iter_mut().zip(&inverses) {
            *b = running;
            running *= e;
        }
        let mut all = running.invert().expect("a product of nonzero denominators");
        for lane in (0..LANES).rev() {
            let inv = all * before[lane];
            all *= inverses[lane];
            inverses[lane] = inv;
        }
        let mut inverse = gather(|lane| inverses[lane]);
        // Backward: each pair's inverse, slope and sum.
        for (g, saved) in scratch.groups.iter().enumerate().rev() {
            let (xp, yp, x_sum) = (load(&saved[0]), load(&saved[1]), load(&saved[2]));
            let (dy, denominator, prefix) = (load(&saved[3]), load(&saved[4]), load(&saved[5]));
            let inv = mul(inverse, prefix, &m);
            inverse = mul(inverse, denominator, &m);
            let lambda = mul(dy, inv, &m);
            let x = sub(mul(lambda, lambda, &m), x_sum, &m);
            let y = sub(mul(lambda, sub(xp, x, &m), &m), yp, &m);
            let (x, y) = (
                scatter::<F>(canonical(x, &m)),
                scatter::<F>(canonical(y, &m)),
            );
            let used = (pairs.len() - g * LANES).min(LANES);
            for lane in 0..used {
                sum(g * LANES + lane, (x[lane], y[lane]));
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use halo2curves::bn256::{Fq, Fr};
        use rand_core::OsRng;

        use proptest::prelude::*;

        /// Eight random elements, with 0, 1 and -1 among them.
        fn samples<F: LaneField>() -> [F; LANES] {
            let mut e: [F; LANES] = std::array::from_fn(|_| F::random(OsRng));
            (e[0], e[1], e[2]) = (F::ZERO, F::ONE, -F::ONE);
            e
        }

        /// The elements' limb rows, and those of their unreduced twins `a + p`.
        fn rows_and_twins<F: LaneField>(e: [F; LANES]) -> (Rows, Rows) {
            let reduced = rows(e.into_iter());
            let p = split52(F::MODULUS_LIMBS);
            let mut twin = reduced;
            for lane in 0..LANES {
                let mut c = 0;
                for (row, p) in twin.iter_mut().zip(p) {
                    let v = row[lane] + p + c;
                    row[lane] = v & ((1 << 52) - 1);
                    c = v >> 52;
                }
                twin[4][lane] += c << 52;
            }
            (reduced, twin)
        }

        /// Lane products, differences and sums of `a` and `b` against the library's, with
        /// each operand reduced and unreduced.
        fn check<F: LaneField>(a: [F; LANES], b: [F; LANES]) {
            assert!(super::super::available());
            // SAFETY: checked just above.
            let m = unsafe { Modulus::of::<F>() };
            let ((a_rows, a_twin), (b_rows, b_twin)) = (rows_and_twins(a), rows_and_twins(b));
            for (x, y) in [
                (a_rows, b_rows),
                (a_twin, b_rows),
                (a_rows, b_twin),
                (a_twin, b_twin),
            ] {
                // SAFETY: checked above.
                let (prod, diff, total) = unsafe {
                    let (x, y) = (load(&x), load(&y));
                    (
                        store(canonical(mul(x, y, &m), &m)),
                        store(canonical(sub(x, y, &m), &m)),
                        store(canonical(add(x, y, &m), &m)),
                    )
                };
                for lane in 0..LANES {
                    assert_eq!(element::<F>(&prod, lane), a[lane] * b[lane]);
                    assert_eq!(element::<F>(&diff, lane), a[lane] - b[lane]);
                    assert_eq!(element::<F>(&total, lane), a[lane] + b[lane]);
                }
            }
        }

        /// An element whose stored limbs are these, the top one reduced below the
        /// modulus's: limbs of all ones, all zeros and single bits reach every carry path.
        fn from_limbs<F: LaneField>(mut w: [u64; 4]) -> F {
            w[3] %= F::MODULUS_LIMBS[3];
            F::from_montgomery_limbs(w)
        }

        /// Eight elements from 32 limbs ([`from_limbs`]).
        fn elements<F: LaneField>(limbs: &[u64]) -> [F; LANES] {
            std::array::from_fn(|i| from_limbs(limbs[4 * i..4 * i + 4].try_into().unwrap()))
        }

        fn limb() -> impl Strategy<Value = u64> {
            prop_oneof![
                Just(0u64),
                Just(1),
                Just(u64::MAX),
                Just((1 << 52) - 1),
                Just(1 << 52),
                (0u32..64).prop_map(|k| 1u64 << k),
                any::<u64>(),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(256))]

            #[test]
            fn lane_arithmetic_matches_the_field_library_on_structured_limbs(
                a in proptest::collection::vec(limb(), 4 * LANES),
                b in proptest::collection::vec(limb(), 4 * LANES),
            ) {
                if super::super::available() {
                    check::<Fq>(elements(&a), elements(&b));
                    check::<Fr>(elements(&a), elements(&b));
                }
            }
        }

        #[test]
        fn gather_and_scatter_are_the_limb_split_and_its_inverse() {
            if !super::super::available() {
                eprintln!("skipped: no AVX-512 IFMA on this CPU");
                return;
            }
            let e = samples::<Fq>();
            let rows = rows(e.into_iter());
            // SAFETY: guarded by `available` above.
            let (gathered, back) =
                unsafe { (store(gather(|k| e[k])), scatter::<Fq>(gather(|k| e[k]))) };
            assert_eq!(gathered, rows);
            assert_eq!(back, e);
        }

        #[test]
        fn lane_arithmetic_matches_the_field_library_on_random_elements() {
            if !super::super::available() {
                eprintln!("skipped: no AVX-512 IFMA on this CPU");
                return;
            }
            for _ in 0..64 {
                let (a, mut b) = (samples::<Fq>(), samples::<Fq>());
                b.rotate_left(3);
                check(a, b);
                let (a, mut b) = (samples::<Fr>(), samples::<Fr>());
                b.rotate_left(3);
                check(a, b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use halo2curves::bn256::{Fq, Fr, G1Affine};
    use halo2curves::group::{Curve, Group};
    use halo2curves::{grumpkin, CurveAffine};
    use rand_core::OsRng;

    #[test]
    fn moduli_match_the_field_library() {
        fn check<F: LaneField>() {
            let hex: String = F::MODULUS_LIMBS
                .iter()
                .rev()
                .map(|w| format!("{w:016x}"))
                .collect();
            assert_eq!(
                format!("0x{hex}"),
                <F as PrimeField>::MODULUS.to_ascii_lowercase()
            );
            // p - 1 is -1's canonical form.
            let mut minus_one = F::MODULUS_LIMBS;
            minus_one[0] -= 1;
            let bytes: Vec<u8> = minus_one.iter().flat_map(|w| w.to_le_bytes()).collect();
            assert_eq!(bytes, (-F::ONE).to_repr().as_ref());
            // The lane bounds: 4p < 2^256.
            assert!(F::MODULUS_LIMBS[3] < 1 << 62);
        }
        check::<Fq>();
        check::<Fr>();
    }

    #[test]
    fn minus_inverse_is_an_inverse() {
        for p0 in [Fq::MODULUS_LIMBS[0], Fr::MODULUS_LIMBS[0]] {
            let inv = minus_inverse_52(p0);
            assert_eq!(p0.wrapping_mul(inv).wrapping_add(1) & ((1 << 52) - 1), 0);
        }
    }

    fn random_pairs<C: CurveAffine>(n: usize) -> Vec<Pair<C::Base>> {
        (0..n)
            .map(|_| {
                let xy = |p: C| {
                    let c = p.coordinates().unwrap();
                    (*c.x(), *c.y())
                };
                (
                    xy(C::Curve::random(OsRng).to_affine()),
                    xy(C::Curve::random(OsRng).to_affine()),
                )
            })
            .collect()
    }

    fn check_batch<C: CurveAffine>(n: usize)
    where
        C::Base: LaneField,
    {
        let pairs = random_pairs::<C>(n);
        let mut got = vec![None; n];
        batch_add::<C::Base>(&pairs, &mut Scratch::default(), |k, s| {
            assert!(got[k].replace(s).is_none(), "pair {k} reported twice")
        });
        for (k, ((px, py), (qx, qy))) in pairs.iter().enumerate() {
            let want = (C::from_xy(*px, *py).unwrap() + C::from_xy(*qx, *qy).unwrap()).to_affine();
            let c = want.coordinates().unwrap();
            assert_eq!(got[k], Some((*c.x(), *c.y())), "n {n} pair {k}");
        }
    }

    #[test]
    fn batched_additions_match_the_curve_library() {
        if !available() {
            eprintln!("skipped: no AVX-512 IFMA on this CPU");
            return;
        }
        for n in [0, 1, 7, 8, 9, 64, 255, 256, 300] {
            check_batch::<G1Affine>(n);
            check_batch::<grumpkin::G1Affine>(n);
        }
    }

    #[test]
    #[should_panic(expected = "generic pairs")]
    fn a_doubling_is_refused() {
        if !available() {
            panic!("generic pairs (skipped: no AVX-512 IFMA on this CPU)");
        }
        let mut pairs = random_pairs::<G1Affine>(3);
        pairs[1].1 = pairs[1].0;
        batch_add::<Fq>(&pairs, &mut Scratch::default(), |_, _| {});
    }
}
