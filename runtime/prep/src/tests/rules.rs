use sha2::{Digest, Sha256};

use super::{module, wat};
use crate::*;

fn prep(wasm: &[u8]) -> Result<PreparedModule, PrepError> {
    prepare(wasm, &PrepLimits::default())
}

fn err(wasm: &[u8]) -> PrepError {
    prep(wasm).expect_err("module should be rejected")
}

fn feature_of(wasm: &[u8]) -> &'static str {
    match err(wasm) {
        PrepError::UnsupportedFeature { feature, .. } => feature,
        other => panic!("expected an unsupported-feature error, got: {other}"),
    }
}

#[test]
fn a_minimal_command_module_is_accepted() {
    let prepared = prep(&module("")).unwrap();
    assert!(prepared.imports.is_empty());
    assert_eq!(prepared.declared_max_pages, None);
}

#[test]
fn a_module_larger_than_the_size_limit_is_rejected_before_parsing() {
    let limits = PrepLimits {
        max_module_bytes: 16,
        ..PrepLimits::default()
    };
    let e = prepare(&[0u8; 17], &limits).unwrap_err();
    assert_eq!(e, PrepError::TooLarge { size: 17, max: 16 });
    assert_eq!(
        e.to_string(),
        "module is 17 bytes, more than the maximum of 16 bytes"
    );
}

#[test]
fn bytes_that_are_not_wasm_are_rejected_as_invalid() {
    let e = err(b"not a wasm module");
    assert!(matches!(e, PrepError::Invalid { .. }), "{e}");
    assert!(e.to_string().starts_with("invalid wasm module: "), "{e}");
}

#[test]
fn a_module_with_a_shared_memory_is_rejected_naming_threads() {
    let wasm = wat(r#"(module (memory (export "memory") 1 1 shared) (func (export "_start")))"#);
    let e = err(&wasm);
    assert!(
        e.to_string().contains("threads (atomics / shared memory)"),
        "{e}"
    );
}

#[test]
fn a_module_using_an_atomic_instruction_is_rejected_naming_threads() {
    let wasm = module(r#"(func (result i32) (i32.atomic.load (i32.const 0)))"#);
    assert_eq!(feature_of(&wasm), "threads (atomics / shared memory)");
}

#[test]
fn a_module_using_a_relaxed_simd_instruction_is_rejected_naming_relaxed_simd() {
    let wasm = module(
        r#"(func (param v128 v128 v128) (result v128)
             (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2)))"#,
    );
    assert_eq!(feature_of(&wasm), "relaxed SIMD");
    assert!(err(&wasm).to_string().contains("relaxed SIMD"));
}

#[test]
fn other_disabled_proposals_are_rejected_naming_the_proposal() {
    let memory64 = wat(r#"(module (memory (export "memory") i64 1) (func (export "_start")))"#);
    assert_eq!(feature_of(&memory64), "memory64");
    let two_memories = module("(memory 1)");
    assert_eq!(feature_of(&two_memories), "multi-memory");
    let tail_call = module("(func $f (return_call $f))");
    assert_eq!(feature_of(&tail_call), "tail calls");
    let exceptions = module("(tag $t) (func (throw $t))");
    assert_eq!(feature_of(&exceptions), "exception handling");
    let externref = module("(func (param externref))");
    assert_eq!(feature_of(&externref), "GC reference types (externref)");
    let extended_const = module("(global i32 (i32.add (i32.const 1) (i32.const 2)))");
    assert_eq!(feature_of(&extended_const), "extended constant expressions");
    let gc = module("(type (struct (field i32)))");
    assert!(matches!(err(&gc), PrepError::UnsupportedFeature { .. }));
}

#[test]
fn the_deterministic_post_mvp_features_are_accepted() {
    let wasm = module(
        r#"(global $g (mut i32) (i32.const 0))
           (table 2 funcref)
           (elem declare func $multi)
           (func $multi (param i32) (result i32 i32) (local.get 0) (local.get 0))
           (func (param f32 v128) (result i32 v128)
             (i32.extend8_s (i32.trunc_sat_f32_s (local.get 0)))
             (f32x4.add (local.get 1) (local.get 1)))
           (func (memory.fill (i32.const 0) (i32.const 0) (i32.const 0))
                 (drop (ref.func $multi))
                 (global.set $g (table.size 0)))"#,
    );
    prep(&wasm).unwrap();
}

#[test]
fn an_import_from_env_is_rejected_with_the_allowed_modules_in_the_message() {
    let wasm = module(r#"(import "env" "foo" (func))"#);
    assert_eq!(
        err(&wasm).to_string(),
        "import `env.foo` is not allowed (allowed modules: wasi_snapshot_preview1, nexus_v1)"
    );
}

#[test]
fn an_unknown_function_of_an_allowed_module_is_rejected() {
    let wasm = module(r#"(import "nexus_v1" "launch_missiles" (func))"#);
    let e = err(&wasm);
    assert!(matches!(e, PrepError::UnknownImport { .. }), "{e}");
    assert!(e
        .to_string()
        .contains("`nexus_v1` has no function named `launch_missiles`"));
}

#[test]
fn imported_memories_tables_and_globals_are_rejected() {
    let memory = wat(
        r#"(module (import "wasi_snapshot_preview1" "memory" (memory 1))
                   (export "memory" (memory 0)) (func (export "_start")))"#,
    );
    let table = module(r#"(import "nexus_v1" "table" (table 1 funcref))"#);
    let global = module(r#"(import "nexus_v1" "kv_get" (global i32))"#);
    for (wasm, kind) in [(memory, "memory"), (table, "table"), (global, "global")] {
        let e = err(&wasm);
        assert!(
            matches!(&e, PrepError::ImportKindNotAllowed { kind: k, .. } if *k == kind),
            "{e}"
        );
    }
    assert_eq!(
        err(&wat(r#"(module (import "env" "memory" (memory 1))
                       (export "memory" (memory 0)) (func (export "_start")))"#))
        .to_string(),
        "import `env.memory` is not allowed (allowed modules: wasi_snapshot_preview1, nexus_v1)"
    );
}

#[test]
fn every_whitelisted_host_function_may_be_imported_and_imports_are_reported_in_order() {
    let mut imports = String::new();
    let mut expected = Vec::new();
    for (m, names) in [
        (WASI_PREVIEW1_MODULE, WASI_PREVIEW1_FUNCTIONS),
        (NEXUS_V1_MODULE, NEXUS_V1_FUNCTIONS),
    ] {
        for name in names {
            imports.push_str(&format!(r#"(import "{m}" "{name}" (func))"#));
            expected.push((m.to_string(), name.to_string()));
        }
    }
    let wasm = wat(&format!(
        r#"(module {imports} (memory (export "memory") 1) (func (export "_start") (call 0)))"#
    ));
    assert_eq!(prep(&wasm).unwrap().imports, expected);
}

#[test]
fn a_module_without_a_memory_is_rejected() {
    let wasm = wat(r#"(module (func (export "_start")))"#);
    assert_eq!(err(&wasm), PrepError::MissingMemoryExport);
}

#[test]
fn a_memory_exported_under_another_name_is_rejected() {
    let wasm = wat(r#"(module (memory (export "mem") 1) (func (export "_start")))"#);
    assert_eq!(err(&wasm), PrepError::MissingMemoryExport);
}

#[test]
fn an_export_named_memory_that_is_not_a_memory_is_rejected() {
    let wasm = wat(
        r#"(module (memory 1) (global (export "memory") i32 (i32.const 0)) (func (export "_start")))"#,
    );
    assert_eq!(
        err(&wasm),
        PrepError::MemoryExportNotMemory { kind: "global" }
    );
}

#[test]
fn initial_memory_above_the_page_limit_is_rejected() {
    let wasm = wat(r#"(module (memory (export "memory") 1025) (func (export "_start")))"#);
    assert_eq!(
        err(&wasm),
        PrepError::InitialMemoryTooLarge {
            pages: 1025,
            max: MAX_MEMORY_PAGES
        }
    );
}

#[test]
fn a_declared_memory_maximum_above_the_page_limit_is_rejected() {
    let wasm = wat(r#"(module (memory (export "memory") 1 2000) (func (export "_start")))"#);
    assert_eq!(
        err(&wasm),
        PrepError::MaximumMemoryTooLarge {
            pages: 2000,
            max: MAX_MEMORY_PAGES
        }
    );
}

#[test]
fn the_declared_memory_maximum_is_reported_and_may_be_absent() {
    let wasm = wat(r#"(module (memory (export "memory") 1 17) (func (export "_start")))"#);
    assert_eq!(prep(&wasm).unwrap().declared_max_pages, Some(17));
    assert_eq!(prep(&module("")).unwrap().declared_max_pages, None);
}

#[test]
fn tables_above_the_element_limit_are_rejected() {
    let initial = module("(table 65537 funcref)");
    assert!(matches!(
        err(&initial),
        PrepError::TableTooLarge {
            elements: 65537,
            ..
        }
    ));
    let maximum = module("(table 1 100000 funcref)");
    let e = err(&maximum);
    assert_eq!(
        e.to_string(),
        "table 0 declares a maximum of 100000 elements, more than the maximum of 65536"
    );
    prep(&module("(table 10 65536 funcref)")).unwrap();
}

#[test]
fn more_than_one_table_is_rejected() {
    let wasm = module("(table 1 funcref) (table 1 funcref)");
    assert!(matches!(
        err(&wasm),
        PrepError::TooMany { what: "tables", .. }
    ));
}

#[test]
fn counts_of_functions_globals_imports_exports_segments_types_and_locals_are_bounded() {
    let tight = PrepLimits {
        max_functions: 3,
        max_globals: 1,
        max_imports: 1,
        max_exports: 3,
        max_data_segments: 1,
        max_element_segments: 1,
        max_types: 2,
        max_locals_per_function: 3,
        ..PrepLimits::default()
    };
    let cases = [
        ("(func) (func) (func)", "functions"),
        (
            "(global i32 (i32.const 0)) (global i32 (i32.const 0))",
            "globals",
        ),
        (
            r#"(import "nexus_v1" "kv_get" (func)) (import "nexus_v1" "kv_set" (func))"#,
            "imports",
        ),
        (r#"(func (export "a")) (func (export "b"))"#, "exports"),
        (
            r#"(data (i32.const 0) "a") (data (i32.const 1) "b")"#,
            "data segments",
        ),
        (
            "(table 2 funcref) (elem (i32.const 0) func 0) (elem (i32.const 1) func 0)",
            "element segments",
        ),
        (
            "(type (func (param i32))) (type (func (param i64)))",
            "types",
        ),
        (
            "(func (param i32 i32) (local i64 i64))",
            "locals in one function",
        ),
    ];
    for (extra, what) in cases {
        let e = prepare(&module(extra), &tight).unwrap_err();
        assert!(
            matches!(&e, PrepError::TooMany { what: w, .. } if *w == what),
            "{what}: {e}"
        );
        // The same module is fine under the default limits.
        prep(&module(extra)).unwrap();
    }
}

#[test]
fn a_module_without_a_start_export_is_rejected() {
    let wasm = wat(r#"(module (memory (export "memory") 1) (func (export "main")))"#);
    assert_eq!(err(&wasm), PrepError::MissingStart);
}

#[test]
fn a_start_export_with_parameters_or_results_is_rejected() {
    let wasm = wat(r#"(module (memory (export "memory") 1) (func (export "_start") (param i32)))"#);
    let e = err(&wasm);
    assert!(matches!(e, PrepError::BadStart { .. }), "{e}");
    assert!(e.to_string().contains("(func (param i32))"), "{e}");
    let wasm = wat(
        r#"(module (memory (export "memory") 1) (global (export "_start") i32 (i32.const 0)))"#,
    );
    assert_eq!(
        err(&wasm),
        PrepError::BadStart {
            found: "a global".into()
        }
    );
}

#[test]
fn a_module_exporting_the_reserved_depth_global_name_is_rejected() {
    let wasm = module(r#"(global (export "__nexus_call_depth") (mut i32) (i32.const 0))"#);
    assert!(matches!(err(&wasm), PrepError::ReservedExport { .. }));
}

#[test]
fn the_code_hash_is_the_sha256_of_the_original_bytes_and_preparation_is_deterministic() {
    let wasm = module("(func (result i32) (i32.const 1))");
    let a = prep(&wasm).unwrap();
    let b = prep(&wasm).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.code_hash, <[u8; 32]>::from(Sha256::digest(&wasm)));
    assert_ne!(a.code, wasm);
}

#[test]
fn custom_sections_including_names_are_kept() {
    let wasm = wat(
        r#"(module $m (memory (export "memory") 1) (func $entry (export "_start")) (@custom "producers-x" "hello"))"#,
    );
    let code = prep(&wasm).unwrap().code;
    let mut customs = Vec::new();
    for payload in wasmparser::Parser::new(0).parse_all(&code) {
        if let wasmparser::Payload::CustomSection(c) = payload.unwrap() {
            customs.push((c.name().to_owned(), c.data().to_vec()));
        }
    }
    assert!(
        customs
            .iter()
            .any(|(n, d)| n == "producers-x" && d == b"hello"),
        "{customs:?}"
    );
    assert!(customs.iter().any(|(n, _)| n == "name"), "{customs:?}");
}
