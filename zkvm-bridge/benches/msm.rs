//! The IPA verifier's multi-scalar multiplications at the default shape's sizes (2^16 BN254
//! and 2^14 Grumpkin points, random scalars), with the baseline in the same run:
//! `halo2curves::msm::msm_best` (what the verifier used before), our variable-base
//! `ipa::msm::msm`, and our fixed-base `ipa::msm::FixedBases::msm` (generator tables), the
//! last two with scalar field arithmetic and (where the CPU has AVX-512 IFMA) with lanes.

use criterion::{criterion_group, criterion_main, Criterion};
use ff::Field;
use halo2curves::group::{Curve, Group};
use halo2curves::msm::msm_best;
use halo2curves::CurveAffine;
use nexus_zkvm_bridge::ipa::msm::{msm_with, Arithmetic, FixedBases, LaneField};
use rand_core::OsRng;

fn compare<C: CurveAffine>(c: &mut Criterion, curve: &str, log_n: u32)
where
    C::Base: LaneField,
{
    let n = 1usize << log_n;
    let projective: Vec<C::Curve> = (0..n).map(|_| C::Curve::random(OsRng)).collect();
    let mut bases = vec![C::identity(); n];
    C::Curve::batch_normalize(&projective, &mut bases);
    let scalars: Vec<C::Scalar> = (0..n).map(|_| C::Scalar::random(OsRng)).collect();
    let t = std::time::Instant::now();
    let fixed = FixedBases::new(&bases).expect("no identity");
    eprintln!(
        "{curve} 2^{log_n}: tables precomputed in {:.2?}",
        t.elapsed()
    );
    assert_eq!(fixed.msm(&scalars), msm_best(&scalars, &bases));

    let mut g = c.benchmark_group(format!("msm_{curve}_2^{log_n}"));
    g.sample_size(20);
    g.bench_function("halo2curves_msm_best", |b| {
        b.iter(|| msm_best(&scalars, &bases))
    });
    let mut arithmetics = vec![Arithmetic::Scalar];
    arithmetics.extend((Arithmetic::best() == Arithmetic::Lanes).then_some(Arithmetic::Lanes));
    for arithmetic in arithmetics {
        let name = format!("{arithmetic:?}").to_lowercase();
        g.bench_function(format!("variable_base_{name}"), |b| {
            b.iter(|| msm_with(&scalars, &bases, arithmetic))
        });
        g.bench_function(format!("fixed_base_tables_{name}"), |b| {
            b.iter(|| fixed.msm_with(&scalars, arithmetic))
        });
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    compare::<halo2curves::bn256::G1Affine>(c, "bn254", 16);
    compare::<halo2curves::grumpkin::G1Affine>(c, "grumpkin", 14);
}

criterion_group!(benches, bench);
criterion_main!(benches);
