//! Deploy-time bounds. Every bound is a named constant; [`PrepLimits::default`] uses them.

/// Largest accepted module, in bytes.
pub const MAX_MODULE_BYTES: usize = 8 * 1024 * 1024;
/// Largest initial or declared maximum linear memory, in 64 KiB pages (64 MiB).
pub const MAX_MEMORY_PAGES: u64 = 1024;
/// Largest initial or declared maximum table size, in elements.
pub const MAX_TABLE_ELEMENTS: u64 = 65_536;
/// Most tables a module may define (LLVM emits one, the pooling allocator expects one).
pub const MAX_TABLES: u32 = 1;
/// Logical call-depth bound enforced by instrumentation: the number of defined
/// (non-host) wasm function frames that may be active at once.
pub const MAX_CALL_DEPTH: u32 = 1024;
/// Most defined plus imported functions.
pub const MAX_FUNCTIONS: u32 = 100_000;
/// Most globals defined by the module (the instrumentation adds one more).
pub const MAX_GLOBALS: u32 = 1024;
/// Most imports.
pub const MAX_IMPORTS: u32 = 256;
/// Most exports.
pub const MAX_EXPORTS: u32 = 1024;
/// Most data segments. Go's `wasip1` port emits one segment per data symbol (about
/// 32,000 for hello world), so this is wasmparser's own ceiling; the module size
/// bounds the total work of initializing them.
pub const MAX_DATA_SEGMENTS: u32 = 100_000;
/// Most element segments.
pub const MAX_ELEMENT_SEGMENTS: u32 = 1024;
/// Most entries in the type section.
pub const MAX_TYPES: u32 = 10_000;
/// Most locals (parameters included) in one function; bounds the native frame size
/// that the logical call-depth bound multiplies.
pub const MAX_LOCALS_PER_FUNCTION: u32 = 8192;

/// Bounds checked by [`crate::prepare`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepLimits {
    pub max_module_bytes: usize,
    pub max_memory_pages: u64,
    pub max_table_elements: u64,
    pub max_tables: u32,
    /// Deepest logical call stack; must be at least 1. Values above `i32::MAX` are
    /// treated as `i32::MAX`.
    pub max_call_depth: u32,
    pub max_functions: u32,
    pub max_globals: u32,
    pub max_imports: u32,
    pub max_exports: u32,
    pub max_data_segments: u32,
    pub max_element_segments: u32,
    pub max_types: u32,
    pub max_locals_per_function: u32,
}

impl Default for PrepLimits {
    fn default() -> Self {
        Self {
            max_module_bytes: MAX_MODULE_BYTES,
            max_memory_pages: MAX_MEMORY_PAGES,
            max_table_elements: MAX_TABLE_ELEMENTS,
            max_tables: MAX_TABLES,
            max_call_depth: MAX_CALL_DEPTH,
            max_functions: MAX_FUNCTIONS,
            max_globals: MAX_GLOBALS,
            max_imports: MAX_IMPORTS,
            max_exports: MAX_EXPORTS,
            max_data_segments: MAX_DATA_SEGMENTS,
            max_element_segments: MAX_ELEMENT_SEGMENTS,
            max_types: MAX_TYPES,
            max_locals_per_function: MAX_LOCALS_PER_FUNCTION,
        }
    }
}
