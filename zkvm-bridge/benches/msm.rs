//! The IPA verifier's multi-scalar multiplications at the default shape's sizes (2^16 BN254
//! and 2^14 Grumpkin points, random scalars), with the baseline in the same run:
//! `halo2curves::msm::msm_best` (what the verifier used before), our variable-base
//! `ipa::msm::msm`, and our fixed-base `ipa::msm::FixedBases::msm` (generator tables).

use criterion::{criterion_group, criterion_main, Criterion};
use ff::Field;
use halo2curves::group::{Curve, Group};
use halo2curves::msm::msm_best;
use halo2curves::CurveAffine;
use nexus_zkvm_bridge::ipa::msm::{msm, FixedBases};
use rand_core::OsRng;

fn compare<C: CurveAffine>(c: &mut Criterion, curve: &str, log_n: u32) {
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
    g.bench_function("variable_base", |b| b.iter(|| msm(&scalars, &bases)));
    g.bench_function("fixed_base_tables", |b| b.iter(|| fixed.msm(&scalars)));
    g.finish();
}

fn bench(c: &mut Criterion) {
    compare::<halo2curves::bn256::G1Affine>(c, "bn254", 16);
    compare::<halo2curves::grumpkin::G1Affine>(c, "grumpkin", 14);
}

criterion_group!(benches, bench);
criterion_main!(benches);
