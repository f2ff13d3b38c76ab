//! Unit tests of the deploy-time rules (one per rule, WAT modules) and of the
//! instrumentation (run through wasmtime).

mod instrumentation;
mod properties;
mod rules;

/// Compiles WAT text, panicking on syntax errors in the test itself.
pub(crate) fn wat(src: &str) -> Vec<u8> {
    wat::parse_str(src).unwrap_or_else(|e| panic!("bad test WAT: {e}"))
}

/// A minimal valid Nexus Function with `extra` spliced into the module before its
/// memory and `_start` (so `extra` may hold imports).
pub(crate) fn module(extra: &str) -> Vec<u8> {
    wat(&format!(
        r#"(module
             {extra}
             (memory (export "memory") 1)
             (func (export "_start")))"#
    ))
}
