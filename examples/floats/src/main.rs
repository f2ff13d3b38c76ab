//! Float-heavy math whose results include NaNs, printed as bit patterns, so that the runtime's
//! NaN canonicalization (and the determinism of everything else float) is observable.
//!
//! Input (stdin, optional): a decimal number `x` (default 1.5) mixed into a few computations.
//! Output: one line per case, `<case> <f32|f64> 0x<bits> <value>`, then a summary line.
//! All operands go through `black_box`, so every operation runs in wasm at run time instead of
//! being constant-folded by the compiler.
//!
//! With canonicalization every arithmetic NaN is `0x7ff8000000000000` (f64) / `0x7fc00000`
//! (f32); without it, e.g. on x86 `0.0 / 0.0` gives the negative "default NaN" `0xfff8…` and
//! NaN payloads propagate. Sign operations (`neg`, `abs`, `copysign`) and plain loads are bit
//! operations in wasm: they are not canonicalized and keep their payloads everywhere.

use std::fmt::Write as _;
use std::hint::black_box as bb;
use std::io::Read;

const CANON_F64: u64 = 0x7ff8_0000_0000_0000;
const CANON_F32: u32 = 0x7fc0_0000;

struct Report {
    text: String,
    nans: u32,
    canonical: u32,
}

impl Report {
    fn f64(&mut self, case: &str, v: f64) {
        let bits = v.to_bits();
        if v.is_nan() {
            self.nans += 1;
            self.canonical += u32::from(bits == CANON_F64);
        }
        writeln!(self.text, "{case} f64 0x{bits:016x} {v:?}").unwrap();
    }
    fn f32(&mut self, case: &str, v: f32) {
        let bits = v.to_bits();
        if v.is_nan() {
            self.nans += 1;
            self.canonical += u32::from(bits == CANON_F32);
        }
        writeln!(self.text, "{case} f32 0x{bits:08x} {v:?}").unwrap();
    }
    fn int(&mut self, case: &str, v: i64) {
        writeln!(self.text, "{case} i64 {v}").unwrap();
    }
}

fn main() {
    let mut input = String::new();
    std::io::stdin().read_to_string(&mut input).expect("stdin");
    let x: f64 = input.trim().parse().unwrap_or(1.5);

    let zero = bb(0.0f64);
    let one = bb(1.0f64);
    let inf = bb(f64::INFINITY);
    let zero32 = bb(0.0f32);
    let inf32 = bb(f32::INFINITY);
    // NaNs with payloads, built from bits (a plain load: no arithmetic yet).
    let payload = bb(f64::from_bits(0x7ff8_dead_beef_0001));
    let neg_nan = bb(f64::from_bits(0xfff8_0000_0000_0000));
    let signaling = bb(f64::from_bits(0x7ff0_0000_0000_0001));
    let payload32 = bb(f32::from_bits(0x7fc0_beef));
    let signaling32 = bb(f32::from_bits(0x7f80_0001));

    let mut r = Report {
        text: String::new(),
        nans: 0,
        canonical: 0,
    };

    // Invalid operations.
    r.f64("zero_div_zero", zero / zero);
    r.f32("zero_div_zero", zero32 / zero32);
    r.f64("sqrt_neg_one", (-one).sqrt());
    r.f32("sqrt_neg_one", (-bb(1.0f32)).sqrt());
    r.f64("inf_minus_inf", inf - inf);
    r.f32("inf_minus_inf", inf32 - inf32);
    r.f64("inf_times_zero", inf * zero);
    r.f64("inf_div_inf", inf / inf);
    r.f64("rem_by_zero", one % zero);

    // Payload propagation through arithmetic.
    r.f64("payload_plus_one", payload + one);
    r.f64("payload_times_x", payload * bb(x));
    r.f64("neg_nan_plus_zero", neg_nan + zero);
    r.f64("signaling_plus_zero", signaling + zero);
    r.f32("payload32_plus_one", payload32 + bb(1.0f32));
    r.f32("signaling32_mul_one", signaling32 * bb(1.0f32));
    r.f64("payload_floor", payload.floor());
    r.f64("payload_trunc", payload.trunc());
    r.f64("payload_sqrt", payload.sqrt());

    // f32 <-> f64 conversions of NaNs (promote / demote).
    r.f64("promote_f32_payload", payload32 as f64);
    r.f64("promote_f32_div", (zero32 / zero32) as f64);
    r.f32("demote_f64_payload", payload as f32);
    r.f32("demote_f64_div", (zero / zero) as f32);
    r.f64(
        "mixed_f32_f64",
        (bb(0.1f32) as f64) * bb(3.0) + (bb(0.2f64) as f32) as f64,
    );

    // Bit operations: not canonicalized anywhere.
    r.f64("load_payload", payload);
    r.f64("neg_payload", -payload);
    r.f64("abs_neg_nan", neg_nan.abs());
    r.f64("copysign_payload", payload.copysign(-1.0));

    // min/max with NaN (Rust semantics: the non-NaN operand), and NaN -> int casts (saturating).
    r.f64("min_nan_one", payload.min(one));
    r.f64("max_nan_nan", payload.max(neg_nan));
    r.int("nan_as_i64", (zero / zero) as i64);
    r.int("inf_as_i64", inf as i64);
    r.int("big_as_i32", bb(1e20f64) as i32 as i64);

    // Ordinary math: determinism of libm and rounding.
    r.f64("sum_tenths", (0..10).map(|_| bb(0.1f64)).sum());
    r.f64("x_pow_pi", bb(x).powf(std::f64::consts::PI));
    r.f64("sin_big", bb(1e22f64).sin());
    r.f64("exp_x", bb(x).exp());
    r.f64("ln_neg", (-bb(x)).ln());
    r.f64("mul_add", bb(0.1f64).mul_add(bb(10.0), -1.0));
    r.f32("f32_sqrt2", bb(2.0f32).sqrt());
    r.f64("subnormal", bb(f64::MIN_POSITIVE) / bb(3.0));
    r.f64("atan2", bb(x).atan2(-bb(x)));

    print!("{}", r.text);
    println!(
        "summary nans={} canonical={} non_canonical={}",
        r.nans,
        r.canonical,
        r.nans - r.canonical
    );
}
