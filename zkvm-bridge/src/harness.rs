//! Runs the step circuit over a witness without folding, checking satisfiability of every step
//! with `nova-snark`'s test constraint system. Used by the soundness tests (fast: no
//! commitments) and for constraint counting.

use nova_snark::frontend::num::AllocatedNum;
use nova_snark::frontend::test_cs::TestConstraintSystem;
use nova_snark::frontend::ConstraintSystem;
use nova_snark::traits::circuit::StepCircuit;

use crate::circuit::{StepHints, Tamper, ZkvmStep};
use crate::F;

/// Why a step was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepRejection {
    /// Witness generation for the step failed (e.g. a value could not be assigned).
    Synthesis { step: usize, error: String },
    /// The step's constraints are not satisfied; `constraint` names the first failing one.
    Unsatisfied { step: usize, constraint: String },
}

/// Synthesises every step on `z0` and returns the final state, or the first rejection.
/// `tamper = Some((step, t))` corrupts the witness of one step.
pub fn run_steps(
    k: usize,
    m: usize,
    steps: &[StepHints],
    z0: &[F],
    tamper: Option<(usize, Tamper)>,
) -> Result<Vec<F>, StepRejection> {
    let mut z = z0.to_vec();
    let constants = crate::circuit::hash_constants();
    for (i, hints) in steps.iter().enumerate() {
        let circuit = ZkvmStep {
            k,
            m,
            hints: Some(hints.clone()),
            constants: constants.clone(),
            tamper: tamper.filter(|(s, _)| *s == i).map(|(_, t)| t),
        };
        let mut cs = TestConstraintSystem::<F>::new();
        let mut zin = Vec::with_capacity(z.len());
        for (j, v) in z.iter().enumerate() {
            let v = *v;
            let n =
                AllocatedNum::alloc(cs.namespace(|| format!("z{j}")), || Ok(v)).map_err(|e| {
                    StepRejection::Synthesis {
                        step: i,
                        error: e.to_string(),
                    }
                })?;
            zin.push(n);
        }
        let out = circuit
            .synthesize(&mut cs.namespace(|| "step"), &zin)
            .map_err(|e| StepRejection::Synthesis {
                step: i,
                error: e.to_string(),
            })?;
        if !cs.is_satisfied() {
            return Err(StepRejection::Unsatisfied {
                step: i,
                constraint: cs.which_is_unsatisfied().unwrap_or("?").to_string(),
            });
        }
        z = out
            .iter()
            .map(|n| {
                n.get_value().ok_or(StepRejection::Synthesis {
                    step: i,
                    error: "missing output value".into(),
                })
            })
            .collect::<Result<_, _>>()?;
    }
    Ok(z)
}

/// Number of constraints of the step circuit for `k` slots and `m` audit rows (without Nova's
/// augmentation), measured on the shape synthesiser.
pub fn step_constraints(k: usize, m: usize) -> usize {
    use nova_snark::frontend::shape_cs::ShapeCS;
    let circuit = ZkvmStep::blank(k, m);
    let mut cs = ShapeCS::<crate::E1>::new();
    let zin: Vec<AllocatedNum<F>> = (0..crate::circuit::ARITY)
        .map(|j| {
            AllocatedNum::alloc(cs.namespace(|| format!("z{j}")), || Ok(F::from(0u64)))
                .expect("shape allocation never fails")
        })
        .collect();
    let _ = circuit.synthesize(&mut cs.namespace(|| "step"), &zin);
    cs.num_constraints()
}
