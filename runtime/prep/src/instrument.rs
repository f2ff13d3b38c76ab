//! Deterministic stack-depth instrumentation.
//!
//! Every defined function is rewritten as
//!
//! ```text
//! global.get $depth  i32.const 1  i32.add  global.set $depth      ;; prologue
//! global.get $depth  i32.const LIMIT  i32.gt_u  if unreachable end
//! block (result <function results>)
//!   <original body, `return` replaced by `br` to this block>
//! end
//! global.get $depth  i32.const 1  i32.sub  global.set $depth      ;; epilogue
//! end
//! ```
//!
//! so every normal exit (falling off the end, `return`, `br`/`br_if`/`br_table` to the
//! function label) passes through the epilogue. A trap leaves the counter as it was, so
//! after a "call depth exceeded" trap the exported global is `LIMIT + 1`. Tail calls and
//! exceptions are disabled by [`crate::validate::FEATURES`], so no other exit exists.
//!
//! The counter is a new mutable `i32` global appended after the module's own globals (no
//! global is imported, so no index shifts) and exported as
//! [`crate::STACK_DEPTH_GLOBAL_EXPORT`]. Function bodies of multi-result functions need
//! a `[] -> [results]` block type; missing ones are appended to the type section. Every
//! other index, section and custom section is copied unchanged.

use std::collections::HashMap;

use wasm_encoder::reencode::{self, Reencode};
use wasm_encoder::{
    BlockType, CodeSection, ConstExpr, ExportKind, ExportSection, Function, GlobalSection,
    GlobalType, Instruction, Module, SectionId, TypeSection, ValType,
};
use wasmparser::Operator;

use crate::validate::ModuleInfo;
use crate::STACK_DEPTH_GLOBAL_EXPORT;

/// Position of a section in the binary order (the numeric ids are not in order).
fn rank(id: SectionId) -> u8 {
    match id {
        SectionId::Custom => 0,
        SectionId::Type => 1,
        SectionId::Import => 2,
        SectionId::Function => 3,
        SectionId::Table => 4,
        SectionId::Memory => 5,
        SectionId::Tag => 6,
        SectionId::Global => 7,
        SectionId::Export => 8,
        SectionId::Start => 9,
        SectionId::Element => 10,
        SectionId::DataCount => 11,
        SectionId::Code => 12,
        SectionId::Data => 13,
    }
}

struct Instrumenter<'i> {
    info: &'i ModuleInfo,
    limit: i32,
    depth_global: u32,
    /// `[] -> results` type index for every multi-value result list, and the ones we add.
    /// Only looked up, never iterated: the output does not depend on hash order.
    multi_value_types: HashMap<Vec<wasmparser::ValType>, u32>,
    new_types: Vec<Vec<wasmparser::ValType>>,
    types_done: bool,
    globals_done: bool,
    exports_done: bool,
    next_body: u32,
}

type Error = reencode::Error<String>;

fn user(message: impl Into<String>) -> Error {
    reencode::Error::UserError(message.into())
}

impl<'i> Instrumenter<'i> {
    fn new(info: &'i ModuleInfo, limit: u32) -> Self {
        let mut multi_value_types = HashMap::new();
        for (index, ty) in info.types.iter().enumerate() {
            if let Some(ty) = ty.as_ref().filter(|t| t.params().is_empty()) {
                multi_value_types
                    .entry(ty.results().to_vec())
                    .or_insert(index as u32);
            }
        }
        let mut new_types = Vec::new();
        for index in info.imported_funcs..info.func_types.len() as u32 {
            if let Some(ty) = info.func_type(index).filter(|t| t.results().len() > 1) {
                let results = ty.results().to_vec();
                if !multi_value_types.contains_key(&results) {
                    let index = (info.types.len() + new_types.len()) as u32;
                    multi_value_types.insert(results.clone(), index);
                    new_types.push(results);
                }
            }
        }
        Self {
            info,
            limit: i32::try_from(limit).unwrap_or(i32::MAX),
            depth_global: info.imported_globals + info.defined_globals,
            multi_value_types,
            new_types,
            types_done: false,
            globals_done: false,
            exports_done: false,
            next_body: 0,
        }
    }

    fn append_types(&mut self, types: &mut TypeSection) -> Result<(), Error> {
        self.types_done = true;
        for results in std::mem::take(&mut self.new_types) {
            let results = results
                .into_iter()
                .map(|t| self.val_type(t))
                .collect::<Result<Vec<_>, _>>()?;
            types.ty().function([], results);
        }
        Ok(())
    }

    fn append_global(&mut self, globals: &mut GlobalSection) {
        self.globals_done = true;
        let ty = GlobalType {
            val_type: ValType::I32,
            mutable: true,
            shared: false,
        };
        globals.global(ty, &ConstExpr::i32_const(0));
    }

    fn append_export(&mut self, exports: &mut ExportSection) {
        self.exports_done = true;
        exports.export(
            STACK_DEPTH_GLOBAL_EXPORT,
            ExportKind::Global,
            self.depth_global,
        );
    }

    fn block_type(&mut self, func: u32) -> Result<BlockType, Error> {
        let ty = self
            .info
            .func_type(func)
            .ok_or_else(|| user(format!("function {func} has no function type")))?;
        Ok(match ty.results() {
            [] => BlockType::Empty,
            [one] => BlockType::Result(self.val_type(*one)?),
            many => BlockType::FunctionType(
                *self
                    .multi_value_types
                    .get(many)
                    .ok_or_else(|| user("missing multi-value block type"))?,
            ),
        })
    }

    fn adjust_depth(&self, f: &mut Function, delta: Instruction<'static>) {
        f.instruction(&Instruction::GlobalGet(self.depth_global));
        f.instruction(&Instruction::I32Const(1));
        f.instruction(&delta);
        f.instruction(&Instruction::GlobalSet(self.depth_global));
    }
}

impl Reencode for Instrumenter<'_> {
    type Error = String;

    fn parse_type_section(
        &mut self,
        types: &mut TypeSection,
        section: wasmparser::TypeSectionReader<'_>,
    ) -> Result<(), Error> {
        reencode::utils::parse_type_section(self, types, section)?;
        self.append_types(types)
    }

    fn parse_global_section(
        &mut self,
        globals: &mut GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), Error> {
        reencode::utils::parse_global_section(self, globals, section)?;
        self.append_global(globals);
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), Error> {
        reencode::utils::parse_export_section(self, exports, section)?;
        self.append_export(exports);
        Ok(())
    }

    /// Emits the sections the module lacks (global, export, type) at their place.
    fn intersperse_section_hook(
        &mut self,
        module: &mut Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), Error> {
        let next = before.map_or(u8::MAX, rank);
        if !self.types_done && next > rank(SectionId::Type) {
            let mut types = TypeSection::new();
            self.append_types(&mut types)?;
            if !types.is_empty() {
                module.section(&types);
            }
        }
        if !self.globals_done && next > rank(SectionId::Global) {
            let mut globals = GlobalSection::new();
            self.append_global(&mut globals);
            module.section(&globals);
        }
        if !self.exports_done && next > rank(SectionId::Export) {
            let mut exports = ExportSection::new();
            self.append_export(&mut exports);
            module.section(&exports);
        }
        Ok(())
    }

    /// Copies custom sections byte for byte (the `name` section stays valid: no index
    /// changes).
    fn parse_custom_section(
        &mut self,
        module: &mut Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), Error> {
        module.section(&reencode::utils::custom_section(self, section));
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut CodeSection,
        body: wasmparser::FunctionBody<'_>,
    ) -> Result<(), Error> {
        let func = self.info.imported_funcs + self.next_body;
        self.next_body += 1;
        let mut f = self.new_function_with_parsed_locals(&body)?;

        // Prologue: count this frame and trap past the limit.
        self.adjust_depth(&mut f, Instruction::I32Add);
        f.instruction(&Instruction::GlobalGet(self.depth_global));
        f.instruction(&Instruction::I32Const(self.limit));
        f.instruction(&Instruction::I32GtU);
        f.instruction(&Instruction::If(BlockType::Empty));
        f.instruction(&Instruction::Unreachable);
        f.instruction(&Instruction::End);
        f.instruction(&Instruction::Block(self.block_type(func)?));

        // Body: `nesting` counts the structured instructions open inside the original
        // body; the wrapper block is at label depth `nesting` from any point.
        let mut nesting: u32 = 0;
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            match op {
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::TryTable { .. }
                | Operator::Try { .. } => nesting += 1,
                Operator::End | Operator::Delegate { .. } if nesting > 0 => nesting -= 1,
                Operator::End => {
                    // End of the function: close the wrapper, run the epilogue.
                    f.instruction(&Instruction::End);
                    self.adjust_depth(&mut f, Instruction::I32Sub);
                    f.instruction(&Instruction::End);
                    continue;
                }
                Operator::Return => {
                    f.instruction(&Instruction::Br(nesting));
                    continue;
                }
                Operator::ReturnCall { .. }
                | Operator::ReturnCallIndirect { .. }
                | Operator::ReturnCallRef { .. } => {
                    return Err(user("tail calls cannot be instrumented"));
                }
                _ => {}
            }
            f.instruction(&self.instruction(op)?);
        }
        code.function(&f);
        Ok(())
    }
}

/// Instruments a module that passed [`crate::validate::check`].
pub(crate) fn instrument(wasm: &[u8], info: &ModuleInfo, limit: u32) -> Result<Vec<u8>, String> {
    let mut instrumenter = Instrumenter::new(info, limit);
    let mut module = Module::new();
    instrumenter
        .parse_core_module(&mut module, wasmparser::Parser::new(0), wasm)
        .map_err(|e| match e {
            reencode::Error::ParseError(e) => {
                format!("{} (at byte offset {})", e.message(), e.offset())
            }
            other => other.to_string(),
        })?;
    Ok(module.finish())
}
