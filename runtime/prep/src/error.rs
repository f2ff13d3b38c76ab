//! Errors returned by [`crate::prepare`]. Every message says what the deployed module did wrong.

use thiserror::Error;

/// Why a module was rejected at deploy time.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PrepError {
    /// The module is larger than [`crate::PrepLimits::max_module_bytes`].
    #[error("module is {size} bytes, more than the maximum of {max} bytes")]
    TooLarge { size: usize, max: usize },

    /// The bytes are not a valid WebAssembly module.
    #[error("invalid wasm module: {message} (at byte offset {offset})")]
    Invalid { message: String, offset: usize },

    /// The module is valid WebAssembly but uses a proposal Nexus does not allow
    /// (nondeterministic or not supported by the pinned engine configuration).
    #[error(
        "module uses {feature}, which Nexus Functions may not use: {message} (at byte offset {offset})"
    )]
    UnsupportedFeature {
        feature: &'static str,
        message: String,
        offset: usize,
    },

    /// An import from a module other than the allowed host modules.
    #[error("import `{module}.{name}` is not allowed (allowed modules: {allowed})", allowed = crate::ALLOWED_IMPORT_MODULES.join(", "))]
    ImportNotAllowed { module: String, name: String },

    /// An import from an allowed host module, but of a function the host does not provide.
    #[error("import `{module}.{name}` is not allowed: `{module}` has no function named `{name}`")]
    UnknownImport { module: String, name: String },

    /// An imported memory, table, global or tag: only functions may be imported.
    #[error(
        "import `{module}.{name}` is a {kind}; only host functions may be imported (define and export your own memory and tables instead)"
    )]
    ImportKindNotAllowed {
        module: String,
        name: String,
        kind: &'static str,
    },

    /// More than one linear memory.
    #[error("module defines {count} memories; at most one is allowed")]
    TooManyMemories { count: u64 },

    /// No memory exported as `memory` (the host ABI reads and writes it).
    #[error(
        "module must define one linear memory and export it as `memory` (host functions read and write it)"
    )]
    MissingMemoryExport,

    /// The export named `memory` is not a memory.
    #[error("export `memory` must be a linear memory, found a {kind}")]
    MemoryExportNotMemory { kind: &'static str },

    /// The initial memory size is above the limit.
    #[error("memory starts with {pages} pages of 64 KiB, more than the maximum of {max} pages")]
    InitialMemoryTooLarge { pages: u64, max: u64 },

    /// The declared memory maximum is above the limit.
    #[error(
        "memory declares a maximum of {pages} pages of 64 KiB, more than the allowed {max} pages"
    )]
    MaximumMemoryTooLarge { pages: u64, max: u64 },

    /// A table's initial or maximum size is above the limit.
    #[error("table {index} {what} {elements} elements, more than the maximum of {max}")]
    TableTooLarge {
        index: u32,
        what: &'static str,
        elements: u64,
        max: u64,
    },

    /// Too many items of one kind (functions, globals, imports, ...).
    #[error("module has {count} {what}, more than the maximum of {max}")]
    TooMany {
        what: &'static str,
        count: u64,
        max: u64,
    },

    /// No `_start` export.
    #[error(
        "module must export a `_start` function of type () -> () (build it as a WASI command)"
    )]
    MissingStart,

    /// `_start` exists but is not a `() -> ()` function.
    #[error("export `_start` must be a function of type () -> (), found {found}")]
    BadStart { found: String },

    /// The module exports a name reserved for the runtime.
    #[error("export name `{name}` is reserved for the Nexus runtime")]
    ReservedExport { name: String },

    /// Instrumentation produced an invalid module. This is a bug in Nexus, not in the
    /// deployed module; the deployment is rejected rather than storing broken code.
    #[error("internal error while instrumenting the module (please report this): {message}")]
    Internal { message: String },
}
