//! Invocation semantics: one invocation (with its nested calls) commits all of its effects, or
//! none of them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use nexus_store::StateView;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use sha2::{Digest, Sha256};
use wasmtime::{Caller, InstancePre, Linker, Store, StoreLimitsBuilder, Trap};

use crate::engine::Engine;
use crate::limits::*;
use crate::registry::{self, FunctionConfig, FunctionRecord, LoadedFunction, RecordCache};
use crate::state::{HostState, TailBuffer};
use crate::wasi::fd_table::FdTable;
use crate::wasi::{charge, split};
use crate::{DeployError, Failure, HostTrap, InvokeError, RuntimeError};

const WASM_PAGE_BYTES: u64 = 64 << 10;

/// The block an invocation runs in. Everything time- or randomness-like derives from it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockContext {
    pub height: u64,
    pub time_unix_nanos: u64,
    pub hash: [u8; 32],
}

/// One request to run a function.
#[derive(Clone, Debug, Default)]
pub struct Invocation {
    pub function: String,
    pub input: Vec<u8>,
    /// Who asks: an account address (`0x…`), or `local` for `nexus run`.
    pub caller: String,
    /// Fuel for this invocation; the function's default (or [`DEFAULT_FUEL`]) when `None`.
    pub fuel: Option<u64>,
    /// Hash of the transaction carrying the invocation (zero for local runs).
    pub tx_hash: [u8; 32],
    /// Position of this invocation within its transaction/block.
    pub call_index: u32,
}

/// An event emitted by `nexus_v1.emit_event`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    pub topic: String,
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

mod hex_bytes {
    pub fn serialize<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
}

/// What a successful invocation produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Receipt {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub events: Vec<Event>,
    /// Bytes to be threshold-signed for Ethereum.
    pub outputs: Vec<Vec<u8>>,
    pub fuel_used: u64,
}

/// The deterministic function runtime. Cheap to clone (shared engine, linker and caches).
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    engine: Engine,
    linker: Linker<HostState>,
    ready: Mutex<BTreeMap<[u8; 32], InstancePre<HostState>>>,
    records: RecordCache,
}

/// Budgets that nested calls share with their caller.
struct Budget {
    events: usize,
    outputs: usize,
}

impl Runtime {
    pub fn new(engine: Engine) -> Result<Self, RuntimeError> {
        let mut linker = Linker::new(engine.wasmtime());
        crate::wasi::add_to_linker(&mut linker)
            .and_then(|()| crate::host::add_to_linker(&mut linker))
            .map_err(|e| RuntimeError::Engine(format!("{e:#}")))?;
        Ok(Self {
            inner: Arc::new(Inner {
                engine,
                linker,
                ready: Mutex::default(),
                records: RecordCache::default(),
            }),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Validates a function, links it against the host ABI (so a wrong import signature is a
    /// deploy error), compiles it, and only then stores it in `view`.
    pub fn deploy(
        &self,
        view: &mut StateView,
        wasm: &[u8],
        config: &FunctionConfig,
        owner: &str,
        height: u64,
    ) -> Result<FunctionRecord, DeployError> {
        let prepared = registry::check(wasm, config)?;
        self.link(&prepared)?;
        registry::store(view, wasm, &prepared, config, owner, height)
    }

    /// Runs `call` against `view`. On success its effects are in `view`'s innermost layer; on
    /// failure `view` is exactly as before.
    pub fn invoke(
        &self,
        view: &mut StateView,
        block: &BlockContext,
        call: &Invocation,
    ) -> Result<Receipt, InvokeError> {
        if call.input.len() > MAX_INPUT_BYTES {
            return Err(InvokeError::InputTooLarge {
                size: call.input.len(),
                max: MAX_INPUT_BYTES,
            });
        }
        if let Some(fuel) = call.fuel.filter(|f| *f > MAX_FUEL_PER_INVOCATION) {
            return Err(InvokeError::FuelAboveMaximum {
                requested: fuel,
                max: MAX_FUEL_PER_INVOCATION,
            });
        }
        let record = self
            .inner
            .records
            .lookup(view, &call.function)?
            .ok_or_else(|| InvokeError::UnknownFunction(call.function.clone()))?;
        let fuel = call
            .fuel
            .or(record.fuel)
            .unwrap_or(DEFAULT_FUEL)
            .min(MAX_FUEL_PER_INVOCATION);
        let seed: [u8; 32] = Sha256::new()
            .chain_update(b"nexus/random/v1")
            .chain_update(block.hash)
            .chain_update(call.tx_hash)
            .chain_update(call.call_index.to_le_bytes())
            .finalize()
            .into();
        let owned = std::mem::replace(view, StateView::new(view.base()));
        let (returned, result) = self.execute(
            owned,
            record,
            block.clone(),
            call.caller.clone(),
            call.input.clone(),
            fuel,
            0,
            seed,
            Budget {
                events: MAX_EVENTS,
                outputs: MAX_OUTPUTS,
            },
        );
        *view = returned;
        result
    }

    /// Compiles and links a prepared module; a module that does not link is the deployer's
    /// fault (e.g. a `nexus_v1` import with the wrong signature).
    fn link(&self, prepared: &nexus_wasm_prep::PreparedModule) -> Result<(), DeployError> {
        if self
            .inner
            .ready
            .lock()
            .expect("cache lock")
            .contains_key(&prepared.code_hash)
        {
            return Ok(());
        }
        let module = self
            .inner
            .engine
            .module(&prepared.code_hash, &prepared.code)?;
        let pre = self
            .inner
            .linker
            .instantiate_pre(&module)
            .map_err(|e| DeployError::Link(format!("{e:#}")))?;
        self.inner
            .ready
            .lock()
            .expect("cache lock")
            .insert(prepared.code_hash, pre);
        Ok(())
    }

    fn instance_pre_from_code(
        &self,
        code_hash: &[u8; 32],
        prepared_code: &[u8],
    ) -> Result<InstancePre<HostState>, RuntimeError> {
        if let Some(pre) = self.inner.ready.lock().expect("cache lock").get(code_hash) {
            return Ok(pre.clone());
        }
        let module = self.inner.engine.module(code_hash, prepared_code)?;
        let pre = self
            .inner
            .linker
            .instantiate_pre(&module)
            .map_err(|e| RuntimeError::Compile(format!("linking: {e:#}")))?;
        self.inner
            .ready
            .lock()
            .expect("cache lock")
            .insert(*code_hash, pre.clone());
        Ok(pre)
    }

    fn instance_pre(
        &self,
        view: &StateView,
        record: &FunctionRecord,
    ) -> Result<InstancePre<HostState>, RuntimeError> {
        if let Some(pre) = self
            .inner
            .ready
            .lock()
            .expect("cache lock")
            .get(&record.code_hash)
        {
            return Ok(pre.clone());
        }
        let wasm = registry::code(view, &record.code_hash)?;
        let prepared = nexus_wasm_prep::prepare(&wasm, &registry::prep_limits()).map_err(|e| {
            RuntimeError::Corrupt(format!(
                "deployed code of `{}` no longer validates: {e}",
                record.name
            ))
        })?;
        self.instance_pre_from_code(&record.code_hash, &prepared.code)
    }

    /// The wasmtime store of one invocation (or nested call) of `record`, over `view`.
    #[allow(clippy::too_many_arguments)]
    fn new_store(
        &self,
        view: StateView,
        function: Arc<LoadedFunction>,
        block: BlockContext,
        caller: String,
        input: Vec<u8>,
        nested_depth: u32,
        seed: [u8; 32],
    ) -> Store<HostState> {
        let memory_pages = function
            .memory_pages
            .unwrap_or(MAX_MEMORY_PAGES)
            .min(MAX_MEMORY_PAGES);
        let state = HostState {
            view: Some(view),
            runtime: self.clone(),
            function,
            block,
            caller,
            stdin: input,
            stdin_pos: 0,
            stdout: Vec::new(),
            stderr: TailBuffer::default(),
            events: Vec::new(),
            outputs: Vec::new(),
            fds: FdTable::new(),
            rng: ChaCha20Rng::from_seed(seed),
            memory: None,
            limits: StoreLimitsBuilder::new()
                .memory_size((memory_pages * WASM_PAGE_BYTES) as usize)
                .table_elements(MAX_TABLE_ELEMENTS as usize)
                .instances(1)
                .memories(1)
                .tables(1)
                .trap_on_grow_failure(true)
                .build(),
            nested_depth,
            seed,
            nested_calls: 0,
            last_call_result: Vec::new(),
        };
        let mut store = Store::new(self.inner.engine.wasmtime(), state);
        store.limiter(|s| &mut s.limits);
        store
    }

    /// Benchmark hook: everything [`Runtime::invoke`] does before running `_start` (record
    /// lookup, host state, store, fuel, instantiation), then drops the instance. `view` is left
    /// as it was. Not part of the stable API.
    #[doc(hidden)]
    pub fn instantiate_only(
        &self,
        view: &mut StateView,
        block: &BlockContext,
        call: &Invocation,
    ) -> Result<(), InvokeError> {
        let record = self
            .inner
            .records
            .lookup(view, &call.function)?
            .ok_or_else(|| InvokeError::UnknownFunction(call.function.clone()))?;
        let pre = self.instance_pre(view, &record)?;
        let owned = std::mem::replace(view, StateView::new(view.base()));
        let mut store = self.new_store(
            owned,
            record,
            block.clone(),
            call.caller.clone(),
            call.input.clone(),
            0,
            [0; 32],
        );
        let result = store
            .set_fuel(DEFAULT_FUEL)
            .and_then(|()| pre.instantiate(&mut store))
            .map(|instance| {
                store.data_mut().memory = instance.get_memory(&mut store, "memory");
            })
            .map_err(|e| InvokeError::Runtime(RuntimeError::Engine(format!("{e:#}"))));
        *view = store.into_data().view.expect("no nested call ran");
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn execute(
        &self,
        mut view: StateView,
        record: Arc<LoadedFunction>,
        block: BlockContext,
        caller: String,
        input: Vec<u8>,
        fuel: u64,
        nested_depth: u32,
        seed: [u8; 32],
        budget: Budget,
    ) -> (StateView, Result<Receipt, InvokeError>) {
        let pre = match self.instance_pre(&view, &record) {
            Ok(pre) => pre,
            Err(e) => return (view, Err(e.into())),
        };
        view.push_layer();
        let mut store = self.new_store(view, record, block, caller, input, nested_depth, seed);
        // Nested calls run inside their caller's host call: each level needs its own headroom.
        let outcome = stacker::maybe_grow(
            NATIVE_STACK_RED_ZONE_BYTES,
            2 * NATIVE_STACK_RED_ZONE_BYTES,
            || run_start(&mut store, &pre, fuel),
        );
        let fuel_used = fuel - store.get_fuel().unwrap_or(0);
        let state = store.into_data();
        let mut view = state.view.expect("view returned by nested calls");
        let function = state.function.clone();
        let function = function.name.as_str();
        let outcome = outcome.and_then(|()| {
            if state.events.len() > budget.events || state.outputs.len() > budget.outputs {
                Err(Outcome::Failed(Failure::Limit(format!(
                    "more than {MAX_EVENTS} events or {MAX_OUTPUTS} outputs in one invocation"
                ))))
            } else {
                Ok(())
            }
        });
        match outcome {
            Ok(()) => {
                view.commit_layer();
                tracing::debug!(target: "nexus::runtime", %function, fuel_used, "invocation succeeded");
                let receipt = Receipt {
                    stdout: state.stdout,
                    stderr: state.stderr.into_bytes(),
                    events: state.events,
                    outputs: state.outputs,
                    fuel_used,
                };
                (view, Ok(receipt))
            }
            Err(outcome) => {
                view.discard_layer();
                let err = match outcome {
                    Outcome::Fatal(e) => InvokeError::Runtime(e),
                    Outcome::Failed(failure) => {
                        tracing::debug!(target: "nexus::runtime", %function, %failure, fuel_used, "invocation failed");
                        InvokeError::Failed {
                            function: function.to_owned(),
                            failure,
                            fuel_used,
                            stderr_tail: state.stderr.tail(),
                        }
                    }
                };
                (view, Err(err))
            }
        }
    }
}

enum Outcome {
    Failed(Failure),
    Fatal(RuntimeError),
}

/// Instantiates and runs `_start`, classifying how it ended.
fn run_start(
    store: &mut Store<HostState>,
    pre: &InstancePre<HostState>,
    fuel: u64,
) -> Result<(), Outcome> {
    store
        .set_fuel(fuel)
        .map_err(|e| Outcome::Fatal(RuntimeError::Engine(format!("{e:#}"))))?;
    let instance = pre
        .instantiate(&mut *store)
        .map_err(|e| Outcome::Failed(classify(&e, false)))?;
    let memory = instance.get_memory(&mut *store, "memory");
    store.data_mut().memory = memory;
    let start = instance
        .get_typed_func::<(), ()>(&mut *store, "_start")
        .map_err(|e| Outcome::Failed(Failure::Trap(format!("no `_start`: {e}"))))?;
    let result = start.call(&mut *store, ());
    let Err(err) = result else { return Ok(()) };
    if let Some(HostTrap::Exit(0)) = err.downcast_ref::<HostTrap>() {
        return Ok(());
    }
    if let Some(HostTrap::Fatal(msg)) = err.downcast_ref::<HostTrap>() {
        return Err(Outcome::Fatal(RuntimeError::Engine(msg.clone())));
    }
    let depth_exceeded = instance
        .get_global(&mut *store, nexus_wasm_prep::STACK_DEPTH_GLOBAL_EXPORT)
        .and_then(|g| g.get(&mut *store).i32())
        .is_some_and(|d| d as u32 > MAX_CALL_STACK_DEPTH);
    Err(Outcome::Failed(classify(&err, depth_exceeded)))
}

fn classify(err: &wasmtime::Error, depth_exceeded: bool) -> Failure {
    if depth_exceeded {
        return Failure::StackOverflow {
            max_depth: MAX_CALL_STACK_DEPTH,
        };
    }
    if let Some(t) = err.downcast_ref::<HostTrap>() {
        return match t {
            HostTrap::Exit(code) => Failure::Exit(*code),
            HostTrap::OutOfFuel => Failure::OutOfFuel,
            HostTrap::Limit(msg) => Failure::Limit(msg.clone()),
            other => Failure::Trap(other.to_string()),
        };
    }
    if let Some(trap) = err.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => Failure::OutOfFuel,
            Trap::StackOverflow => Failure::StackOverflow {
                max_depth: MAX_CALL_STACK_DEPTH,
            },
            other => Failure::Trap(other.to_string()),
        };
    }
    let message = format!("{err:#}");
    if message.contains("forcing trap when growing memory")
        || message.contains("memory minimum size")
    {
        return Failure::MemoryLimit;
    }
    Failure::Trap(message)
}

/// `nexus_v1.call`: runs another function inside the caller's invocation.
pub(crate) fn nested_call(
    c: &mut Caller<'_, HostState>,
    np: i32,
    nl: i32,
    ip: i32,
    il: i32,
) -> wasmtime::Result<i64> {
    use crate::host::{CALL_FAILED, LIMIT, NOT_FOUND};
    charge(c, HOST_CALL_BASE_FUEL)?;
    let (name, input) = {
        let (mem, _) = split(c).ok_or(HostTrap::BadPointer("call"))?;
        let name = mem
            .str(np, nl)
            .map_err(|_| HostTrap::BadPointer("call"))?
            .to_string();
        let input = mem
            .slice(ip, il as u32 as usize)
            .map_err(|_| HostTrap::BadPointer("call"))?
            .to_vec();
        (name, input)
    };
    charge(
        c,
        (name.len() + input.len()) as u64 * HOST_CALL_FUEL_PER_BYTE,
    )?;
    let fuel_left = c.get_fuel()?;
    let s = c.data_mut();
    if s.nested_depth + 1 > MAX_NESTED_CALL_DEPTH || input.len() > MAX_INPUT_BYTES {
        return Ok(LIMIT);
    }
    let record = match s.runtime.inner.records.lookup(s.view_ref(), &name) {
        Ok(Some(r)) => r,
        Ok(None) => return Ok(NOT_FOUND),
        Err(e) => return Err(wasmtime::Error::new(HostTrap::Fatal(e.to_string()))),
    };
    s.nested_calls += 1;
    let seed: [u8; 32] = Sha256::new()
        .chain_update(b"nexus/random/nested/v1")
        .chain_update(s.seed)
        .chain_update(s.nested_calls.to_le_bytes())
        .finalize()
        .into();
    let budget = Budget {
        events: MAX_EVENTS - s.events.len(),
        outputs: MAX_OUTPUTS - s.outputs.len(),
    };
    let view = s.view.take().expect("view present in caller");
    let runtime = s.runtime.clone();
    let (view, result) = runtime.execute(
        view,
        record,
        s.block.clone(),
        format!("fn:{}", s.function.name),
        input,
        fuel_left,
        s.nested_depth + 1,
        seed,
        budget,
    );
    s.view = Some(view);
    let fuel_used = match &result {
        Ok(r) => r.fuel_used,
        Err(e) => e.fuel_used(),
    };
    let value = match result {
        Ok(receipt) => {
            s.events.extend(receipt.events);
            s.outputs.extend(receipt.outputs);
            s.stderr.push(&receipt.stderr);
            s.last_call_result = receipt.stdout;
            s.last_call_result.len() as i64
        }
        Err(InvokeError::Runtime(e)) => {
            return Err(wasmtime::Error::new(HostTrap::Fatal(e.to_string())))
        }
        Err(e) => {
            s.stderr.push(format!("nested call: {e}\n").as_bytes());
            CALL_FAILED
        }
    };
    c.set_fuel(fuel_left.saturating_sub(fuel_used))?;
    Ok(value)
}
