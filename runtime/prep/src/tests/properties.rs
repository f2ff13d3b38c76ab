//! `prepare` never panics, whatever the bytes.

use proptest::prelude::*;

use super::wat;
use crate::*;

/// A valid module touching most sections, for mutation.
fn seed() -> Vec<u8> {
    wat(r#"(module $seed
      (import "nexus_v1" "emit_output" (func $emit (param i32 i32) (result i32)))
      (memory (export "memory") 1 4)
      (global $g (mut i32) (i32.const 0))
      (table 2 funcref)
      (elem (i32.const 0) $f $_start)
      (data (i32.const 8) "seed")
      (func $f (param i32) (result i32 i64)
        (block (result i32) (br_if 1 (local.get 0) (i64.const 1) (i32.const 0)) (drop) (drop) (i32.const 2))
        (if (result i64) (local.get 0) (then (return (i32.const 3) (i64.const 4))) (else (i64.const 5))))
      (func $_start (export "_start")
        (drop (call $emit (i32.const 8) (i32.const 4)))
        (loop (br_if 0 (global.get $g)))))"#)
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
    ]
}

proptest! {
    #[test]
    fn prepare_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = prepare(&bytes, &PrepLimits::default());
        let mut with_header = b"\0asm\x01\0\0\0".to_vec();
        with_header.extend_from_slice(&bytes);
        let _ = prepare(&with_header, &PrepLimits::default());
    }

    #[test]
    fn prepare_never_panics_on_mutations_of_a_valid_module(mutations in proptest::collection::vec(mutation(), 1..8)) {
        let mut wasm = seed();
        for m in mutations {
            match m {
                Mutation::Set(i, b) => { let i = i % wasm.len(); wasm[i] = b; }
                Mutation::Insert(i, b) => { let i = i % (wasm.len() + 1); wasm.insert(i, b); }
                Mutation::Remove(i) => { if !wasm.is_empty() { let i = i % wasm.len(); wasm.remove(i); } }
            }
        }
        if let Ok(prepared) = prepare(&wasm, &PrepLimits::default()) {
            // Whatever is accepted is valid and prepares again (instrumenting twice
            // is rejected: the depth global's export name is reserved).
            prop_assert!(wasmparser::Validator::new_with_features(FEATURES).validate_all(&prepared.code).is_ok());
            let again = prepare(&prepared.code, &PrepLimits::default());
            prop_assert!(matches!(again, Err(PrepError::ReservedExport { .. })), "{again:?}");
        }
    }
}

#[test]
fn the_mutation_seed_is_accepted() {
    prepare(&seed(), &PrepLimits::default()).unwrap();
}
