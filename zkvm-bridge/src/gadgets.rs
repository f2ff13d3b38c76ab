//! A tiny R1CS builder over `nova-snark`'s bellpepper-style frontend.
//!
//! [`Lc`] is a linear combination carrying its value (when the constraint system is a witness
//! generator); linear operations on it are free. [`Builder`] allocates variables and emits
//! constraints with unique, counter-based names, so the same code runs under the shape
//! synthesiser, the witness generator and the satisfiability-checking test system.

use ff::PrimeField;
use nova_snark::frontend::{
    num::AllocatedNum, ConstraintSystem, LinearCombination, SynthesisError, Variable,
};

/// A linear combination of circuit variables together with its value, if known.
#[derive(Clone)]
pub struct Lc<F: PrimeField> {
    pub lc: LinearCombination<F>,
    pub val: Option<F>,
}

/// Lowest 64 bits of a field element's canonical little-endian representation.
pub fn f_to_u64<F: PrimeField>(f: F) -> u64 {
    let repr = f.to_repr();
    let b = repr.as_ref();
    let mut out = [0u8; 8];
    out.copy_from_slice(&b[..8]);
    u64::from_le_bytes(out)
}

/// `2^k` as a field element.
pub fn pow2<F: PrimeField>(k: u32) -> F {
    let mut r = F::ONE;
    for _ in 0..k {
        r = r.double();
    }
    r
}

impl<F: PrimeField> Lc<F> {
    pub fn zero() -> Self {
        Lc {
            lc: LinearCombination::zero(),
            val: Some(F::ZERO),
        }
    }

    pub fn constant(c: F) -> Self {
        Lc {
            lc: LinearCombination::zero()
                + (
                    c,
                    Variable::new_unchecked(nova_snark::frontend::Index::Input(0)),
                ),
            val: Some(c),
        }
    }

    pub fn from_u64(c: u64) -> Self {
        Self::constant(F::from(c))
    }

    pub fn from_num(n: &AllocatedNum<F>) -> Self {
        Lc {
            lc: LinearCombination::zero() + n.get_variable(),
            val: n.get_value(),
        }
    }

    pub fn add(&self, o: &Lc<F>) -> Lc<F> {
        Lc {
            lc: self.lc.clone() + &o.lc,
            val: self.val.zip(o.val).map(|(a, b)| a + b),
        }
    }

    pub fn sub(&self, o: &Lc<F>) -> Lc<F> {
        Lc {
            lc: self.lc.clone() - &o.lc,
            val: self.val.zip(o.val).map(|(a, b)| a - b),
        }
    }

    pub fn scale(&self, c: F) -> Lc<F> {
        let mut lc = LinearCombination::zero();
        for (v, k) in self.lc.iter() {
            lc = lc + (*k * c, v);
        }
        Lc {
            lc,
            val: self.val.map(|a| a * c),
        }
    }

    pub fn scale_u64(&self, c: u64) -> Lc<F> {
        self.scale(F::from(c))
    }

    pub fn add_const(&self, c: F) -> Lc<F> {
        self.add(&Lc::constant(c))
    }

    /// Value as u64 (0 when unknown: only used to compute witness hints).
    pub fn u64(&self) -> Option<u64> {
        self.val.map(f_to_u64)
    }
}

/// Sums a list of linear combinations.
pub fn sum<F: PrimeField>(items: &[Lc<F>]) -> Lc<F> {
    items.iter().fold(Lc::zero(), |acc, x| acc.add(x))
}

/// `Σ 2^i · bits[i]`.
pub fn pack_bits<F: PrimeField>(bits: &[Lc<F>]) -> Lc<F> {
    let mut acc = Lc::zero();
    let mut c = F::ONE;
    for b in bits {
        acc = acc.add(&b.scale(c));
        c = c.double();
    }
    acc
}

/// Allocates variables and emits constraints on a borrowed constraint system.
pub struct Builder<'a, F: PrimeField, CS: ConstraintSystem<F>> {
    pub cs: &'a mut CS,
    n: usize,
    _f: std::marker::PhantomData<F>,
}

impl<'a, F: PrimeField, CS: ConstraintSystem<F>> Builder<'a, F, CS> {
    pub fn new(cs: &'a mut CS) -> Self {
        Builder {
            cs,
            n: 0,
            _f: std::marker::PhantomData,
        }
    }

    fn next(&mut self) -> usize {
        self.n += 1;
        self.n
    }

    /// A fresh witness variable.
    pub fn alloc(&mut self, val: Option<F>) -> Result<Lc<F>, SynthesisError> {
        let n = self.next();
        let v = self.cs.alloc(
            || format!("v{n}"),
            || val.ok_or(SynthesisError::AssignmentMissing),
        )?;
        Ok(Lc {
            lc: LinearCombination::zero() + v,
            val,
        })
    }

    pub fn alloc_u64(&mut self, val: Option<u64>) -> Result<Lc<F>, SynthesisError> {
        self.alloc(val.map(F::from))
    }

    /// Allocates `x` as a standalone [`AllocatedNum`] (1 constraint).
    pub fn to_num(&mut self, x: &Lc<F>) -> Result<AllocatedNum<F>, SynthesisError> {
        let n = self.next();
        let num = AllocatedNum::alloc(self.cs.namespace(|| format!("n{n}")), || {
            x.val.ok_or(SynthesisError::AssignmentMissing)
        })?;
        self.eq(&Lc::from_num(&num), x);
        Ok(num)
    }

    /// Enforces `a · b = c`.
    pub fn enforce(&mut self, a: &Lc<F>, b: &Lc<F>, c: &Lc<F>) {
        let n = self.next();
        self.cs.enforce(
            || format!("c{n}"),
            |_| a.lc.clone(),
            |_| b.lc.clone(),
            |_| c.lc.clone(),
        );
    }

    /// Enforces `a = b`.
    pub fn eq(&mut self, a: &Lc<F>, b: &Lc<F>) {
        let one = Lc::constant(F::ONE);
        self.enforce(&a.sub(b), &one, &Lc::zero());
    }

    /// Enforces `flag · x = 0` (x must vanish when `flag` is set).
    pub fn zero_if(&mut self, flag: &Lc<F>, x: &Lc<F>) {
        self.enforce(flag, x, &Lc::zero());
    }

    /// A new variable equal to `a · b`.
    pub fn mul(&mut self, a: &Lc<F>, b: &Lc<F>) -> Result<Lc<F>, SynthesisError> {
        let c = self.alloc(a.val.zip(b.val).map(|(x, y)| x * y))?;
        self.enforce(a, b, &c);
        Ok(c)
    }

    /// A boolean variable.
    pub fn bit(&mut self, v: Option<bool>) -> Result<Lc<F>, SynthesisError> {
        let b = self.alloc(v.map(|x| if x { F::ONE } else { F::ZERO }))?;
        let one_minus = Lc::constant(F::ONE).sub(&b);
        self.enforce(&b, &one_minus, &Lc::zero());
        Ok(b)
    }

    /// Decomposes `x` into `n ≤ 64` little-endian bits (range check `0 ≤ x < 2^n`; n + 1
    /// constraints).
    pub fn bits(&mut self, x: &Lc<F>, n: u32) -> Result<Vec<Lc<F>>, SynthesisError> {
        let v = x.u64();
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            out.push(self.bit(v.map(|v| (v >> i) & 1 == 1))?);
        }
        let packed = pack_bits(&out);
        self.eq(&packed, x);
        Ok(out)
    }

    /// Range check `0 ≤ x < 2^n`.
    pub fn range(&mut self, x: &Lc<F>, n: u32) -> Result<(), SynthesisError> {
        self.bits(x, n).map(|_| ())
    }

    /// `1` if `x = 0` else `0` (2 constraints).
    pub fn is_zero(&mut self, x: &Lc<F>) -> Result<Lc<F>, SynthesisError> {
        let inv = x.val.map(|v| v.invert().unwrap_or(F::ZERO));
        let inv = self.alloc(inv)?;
        let z = self.alloc(
            x.val
                .map(|v| if v.is_zero_vartime() { F::ONE } else { F::ZERO }),
        )?;
        // x · inv = 1 - z ; x · z = 0
        self.enforce(x, &inv, &Lc::constant(F::ONE).sub(&z));
        self.enforce(x, &z, &Lc::zero());
        Ok(z)
    }

    /// One-hot selector over `0..n` (n booleans summing to `enable`, with `Σ i·s_i = idx`).
    pub fn one_hot(
        &mut self,
        idx: Option<u64>,
        n: usize,
        idx_lc: &Lc<F>,
        enable: &Lc<F>,
    ) -> Result<Vec<Lc<F>>, SynthesisError> {
        let on = enable.val.map(|e| !e.is_zero_vartime());
        let mut sel = Vec::with_capacity(n);
        for i in 0..n {
            sel.push(self.bit(idx.zip(on).map(|(k, on)| on && k == i as u64))?);
        }
        self.eq(&sum(&sel), enable);
        let weighted = sel
            .iter()
            .enumerate()
            .fold(Lc::zero(), |acc, (i, s)| acc.add(&s.scale_u64(i as u64)));
        self.eq(&weighted, idx_lc);
        Ok(sel)
    }

    /// Number of constraints emitted so far (approximate: counts builder calls).
    pub fn count(&self) -> usize {
        self.n
    }
}
