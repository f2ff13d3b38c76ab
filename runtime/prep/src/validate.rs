//! WebAssembly validation with Nexus's deterministic feature set, and the structural
//! deploy-time rules (memory, tables, counts, imports, exports, `_start`).

use wasmparser::{
    CompositeInnerType, ExternalKind, FuncType, Parser, Payload, TypeRef, Validator, WasmFeatures,
};

use crate::imports::check_import;
use crate::{PrepError, PrepLimits, STACK_DEPTH_GLOBAL_EXPORT};

/// The WebAssembly features a Nexus Function may use: WebAssembly 2.0 (MVP, mutable
/// globals, saturating float-to-int, sign extension, multi-value, bulk memory,
/// reference types, fixed-width SIMD) minus GC reference types (`externref`), which the
/// runtime's wasmtime build (no `gc` feature) does not support.
///
/// Everything else is off: threads/shared memory and relaxed SIMD (nondeterministic),
/// memory64, multi-memory, tail calls (the stack-depth instrumentation relies on every
/// call returning through the callee's epilogue), exceptions, GC, typed function
/// references, extended constant expressions, wide arithmetic, custom page sizes, stack
/// switching and the component model.
pub const FEATURES: WasmFeatures = WasmFeatures::WASM2.difference(WasmFeatures::GC_TYPES);

/// Disabled features, probed in this order to name the one a rejected module uses
/// (a proposal may need the ones it builds on to get past the failing instruction).
const DISABLED_FEATURES: &[(WasmFeatures, &str)] = &[
    (WasmFeatures::THREADS, "threads (atomics / shared memory)"),
    (WasmFeatures::RELAXED_SIMD, "relaxed SIMD"),
    (WasmFeatures::MEMORY64, "memory64"),
    (WasmFeatures::MULTI_MEMORY, "multi-memory"),
    (WasmFeatures::TAIL_CALL, "tail calls"),
    (WasmFeatures::EXCEPTIONS, "exception handling"),
    (WasmFeatures::LEGACY_EXCEPTIONS, "legacy exception handling"),
    (WasmFeatures::GC_TYPES, "GC reference types (externref)"),
    (
        WasmFeatures::FUNCTION_REFERENCES,
        "typed function references",
    ),
    (
        WasmFeatures::GC
            .union(WasmFeatures::GC_TYPES)
            .union(WasmFeatures::FUNCTION_REFERENCES),
        "garbage collection (GC)",
    ),
    (
        WasmFeatures::EXTENDED_CONST,
        "extended constant expressions",
    ),
    (WasmFeatures::WIDE_ARITHMETIC, "wide arithmetic"),
    (WasmFeatures::CUSTOM_PAGE_SIZES, "custom page sizes"),
    (WasmFeatures::STACK_SWITCHING, "stack switching"),
    (
        WasmFeatures::SHARED_EVERYTHING_THREADS,
        "shared-everything threads",
    ),
    (WasmFeatures::MEMORY_CONTROL, "memory control"),
    (WasmFeatures::CUSTOM_DESCRIPTORS, "custom descriptors"),
    (WasmFeatures::COMPACT_IMPORTS, "compact imports"),
    (WasmFeatures::COMPONENT_MODEL, "the component model"),
];

/// Validates `wasm` against [`FEATURES`]. When the module is rejected because it uses a
/// disabled feature, the error names that feature.
pub(crate) fn validate(wasm: &[u8]) -> Result<(), PrepError> {
    let Err(err) = Validator::new_with_features(FEATURES).validate_all(wasm) else {
        return Ok(());
    };
    let (message, offset) = (err.message().to_owned(), err.offset());
    // The feature that lets validation get past the failing offset is the one in use.
    for &(flag, feature) in DISABLED_FEATURES {
        let progressed = match Validator::new_with_features(FEATURES | flag).validate_all(wasm) {
            Ok(_) => true,
            Err(e) => e.offset() > offset,
        };
        if progressed {
            return Err(PrepError::UnsupportedFeature {
                feature,
                message,
                offset,
            });
        }
    }
    Err(PrepError::Invalid { message, offset })
}

/// What [`crate::instrument`] and [`crate::prepare`] need to know about a valid module.
#[derive(Debug, Default)]
pub(crate) struct ModuleInfo {
    /// The type section; `None` for non-function types (impossible with [`FEATURES`]).
    pub types: Vec<Option<FuncType>>,
    /// Type index of every function, imported ones first.
    pub func_types: Vec<u32>,
    pub imported_funcs: u32,
    pub imported_globals: u32,
    pub defined_globals: u32,
    pub imports: Vec<(String, String)>,
    pub declared_max_pages: Option<u64>,
}

impl ModuleInfo {
    /// The type of function `index`.
    pub fn func_type(&self, index: u32) -> Option<&FuncType> {
        let ty = *self.func_types.get(index as usize)?;
        self.types.get(ty as usize)?.as_ref()
    }
}

fn kind_name(kind: ExternalKind) -> &'static str {
    match kind {
        ExternalKind::Func | ExternalKind::FuncExact => "function",
        ExternalKind::Table => "table",
        ExternalKind::Memory => "memory",
        ExternalKind::Global => "global",
        ExternalKind::Tag => "tag",
    }
}

fn bound(what: &'static str, count: u64, max: u32) -> Result<(), PrepError> {
    if count > u64::from(max) {
        return Err(PrepError::TooMany {
            what,
            count,
            max: u64::from(max),
        });
    }
    Ok(())
}

fn invalid(err: wasmparser::BinaryReaderError) -> PrepError {
    PrepError::Invalid {
        message: err.message().to_owned(),
        offset: err.offset(),
    }
}

/// Checks the deploy-time rules on a module that already passed [`validate`], and
/// collects what instrumentation needs.
pub(crate) fn check(wasm: &[u8], limits: &PrepLimits) -> Result<ModuleInfo, PrepError> {
    let mut info = ModuleInfo::default();
    let mut memories = 0u64;
    let mut tables = 0u64;
    let mut exports = Vec::new();
    let mut exported_memory = None;
    let mut bodies = 0u32;

    for payload in Parser::new(0).parse_all(wasm) {
        match payload.map_err(invalid)? {
            Payload::TypeSection(reader) => {
                bound("types", u64::from(reader.count()), limits.max_types)?;
                for group in reader {
                    for sub in group.map_err(invalid)?.into_types() {
                        info.types.push(match sub.composite_type.inner {
                            CompositeInnerType::Func(f) => Some(f),
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import.map_err(invalid)?;
                    let kind = match import.ty {
                        TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                            info.imported_funcs += 1;
                            info.func_types.push(ty);
                            None
                        }
                        TypeRef::Table(_) => Some("table"),
                        TypeRef::Memory(_) => Some("memory"),
                        TypeRef::Global(_) => {
                            info.imported_globals += 1;
                            Some("global")
                        }
                        TypeRef::Tag(_) => Some("tag"),
                    };
                    check_import(import.module, import.name, kind)?;
                    info.imports
                        .push((import.module.to_owned(), import.name.to_owned()));
                    bound("imports", info.imports.len() as u64, limits.max_imports)?;
                }
            }
            Payload::FunctionSection(reader) => {
                let total = u64::from(info.imported_funcs) + u64::from(reader.count());
                bound("functions", total, limits.max_functions)?;
                for ty in reader {
                    info.func_types.push(ty.map_err(invalid)?);
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let ty = table.map_err(invalid)?.ty;
                    let index = tables as u32;
                    tables += 1;
                    bound("tables", tables, limits.max_tables)?;
                    let sizes = [
                        ("starts with", Some(ty.initial)),
                        ("declares a maximum of", ty.maximum),
                    ];
                    for (what, elements) in sizes {
                        if let Some(elements) = elements.filter(|&e| e > limits.max_table_elements)
                        {
                            return Err(PrepError::TableTooLarge {
                                index,
                                what,
                                elements,
                                max: limits.max_table_elements,
                            });
                        }
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let ty = memory.map_err(invalid)?;
                    memories += 1;
                    if memories > 1 {
                        return Err(PrepError::TooManyMemories { count: memories });
                    }
                    if ty.initial > limits.max_memory_pages {
                        return Err(PrepError::InitialMemoryTooLarge {
                            pages: ty.initial,
                            max: limits.max_memory_pages,
                        });
                    }
                    if let Some(pages) = ty.maximum.filter(|&p| p > limits.max_memory_pages) {
                        return Err(PrepError::MaximumMemoryTooLarge {
                            pages,
                            max: limits.max_memory_pages,
                        });
                    }
                    info.declared_max_pages = ty.maximum;
                }
            }
            Payload::GlobalSection(reader) => {
                bound("globals", u64::from(reader.count()), limits.max_globals)?;
                info.defined_globals = reader.count();
            }
            Payload::ExportSection(reader) => {
                bound("exports", u64::from(reader.count()), limits.max_exports)?;
                for export in reader {
                    let export = export.map_err(invalid)?;
                    if export.name == STACK_DEPTH_GLOBAL_EXPORT {
                        return Err(PrepError::ReservedExport {
                            name: export.name.to_owned(),
                        });
                    }
                    if export.name == "memory" {
                        exported_memory = Some(export.kind);
                    }
                    exports.push((export.name.to_owned(), export.kind, export.index));
                }
            }
            Payload::ElementSection(reader) => {
                bound(
                    "element segments",
                    u64::from(reader.count()),
                    limits.max_element_segments,
                )?;
            }
            Payload::DataSection(reader) => {
                bound(
                    "data segments",
                    u64::from(reader.count()),
                    limits.max_data_segments,
                )?;
            }
            Payload::CodeSectionEntry(body) => {
                let mut locals = 0u64;
                for group in body.get_locals_reader().map_err(invalid)? {
                    locals += u64::from(group.map_err(invalid)?.0);
                }
                let index = info.imported_funcs + bodies;
                bodies += 1;
                let params = info.func_type(index).map_or(0, |f| f.params().len() as u64);
                bound(
                    "locals in one function",
                    locals + params,
                    limits.max_locals_per_function,
                )?;
            }
            _ => {}
        }
    }

    match exported_memory {
        None => return Err(PrepError::MissingMemoryExport),
        Some(ExternalKind::Memory) => {}
        Some(kind) => {
            return Err(PrepError::MemoryExportNotMemory {
                kind: kind_name(kind),
            })
        }
    }
    let Some((_, kind, index)) = exports.iter().find(|(name, _, _)| name == "_start") else {
        return Err(PrepError::MissingStart);
    };
    if *kind != ExternalKind::Func {
        return Err(PrepError::BadStart {
            found: format!("a {}", kind_name(*kind)),
        });
    }
    let ty = info.func_type(*index).ok_or_else(|| PrepError::Internal {
        message: format!("function {index} has no function type"),
    })?;
    if !ty.params().is_empty() || !ty.results().is_empty() {
        return Err(PrepError::BadStart {
            found: format!("a function of type {ty}"),
        });
    }
    Ok(info)
}
