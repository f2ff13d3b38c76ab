//! Every bound the runtime enforces, as a named constant.
//!
//! These are protocol constants: changing one changes which invocations succeed, so they change
//! only with a protocol version. Chain parameters may lower (never raise) the per-invocation ones.

/// Fuel given to an invocation when the caller does not ask for a specific amount.
pub const DEFAULT_FUEL: u64 = 1_000_000_000;
/// The most fuel one invocation (including its nested calls) may be given.
pub const MAX_FUEL_PER_INVOCATION: u64 = 10_000_000_000;

/// Linear memory limit, in 64 KiB wasm pages (128 MiB).
pub const MAX_MEMORY_PAGES: u64 = 2048;
/// Table elements limit (function pointers of big Go/C++ modules need thousands).
pub const MAX_TABLE_ELEMENTS: u64 = 100_000;
/// Logical call-stack depth, counted by instrumentation (deterministic across machines).
pub const MAX_CALL_STACK_DEPTH: u32 = 2_048;
/// Native stack given to wasm (wasmtime caps it at its 2 MiB async stack size). At 1 KiB per
/// frame, [`MAX_CALL_STACK_DEPTH`] trips first; frames bigger than that hit this bound instead,
/// which is the same failure (stack overflow) with the same wasmtime build and architecture.
pub const MAX_NATIVE_WASM_STACK_BYTES: usize = 2 << 20;
/// Native stack an invocation needs free before it starts (wasm plus host frames); when the
/// calling thread has less, the invocation runs on a freshly allocated stack segment.
pub const NATIVE_STACK_RED_ZONE_BYTES: usize = MAX_NATIVE_WASM_STACK_BYTES + (512 << 10);
/// Maximum size of a deployed module.
pub const MAX_MODULE_BYTES: usize = 8 << 20;

/// Fuel charged for every host call (WASI or `nexus_v1`), before the per-byte part.
pub const HOST_CALL_BASE_FUEL: u64 = 200;
/// Fuel charged per byte moved across the host boundary.
pub const HOST_CALL_FUEL_PER_BYTE: u64 = 1;
/// Fuel charged per byte written to replicated state (KV values, file data).
pub const STATE_WRITE_FUEL_PER_BYTE: u64 = 4;

/// Largest input (stdin) of an invocation.
pub const MAX_INPUT_BYTES: usize = 1 << 20;
/// Largest stdout an invocation may produce; more is an error.
pub const MAX_STDOUT_BYTES: usize = 1 << 20;
/// stderr kept per invocation; older bytes are dropped (the tail is kept).
pub const MAX_STDERR_BYTES: usize = 64 << 10;
/// Bytes of stderr quoted in an invocation error.
pub const STDERR_TAIL_IN_ERRORS: usize = 2 << 10;
/// Total bytes of args plus environment given to a function.
pub const MAX_ARGS_ENV_BYTES: usize = 64 << 10;

/// Open descriptors per invocation, including stdio and the root preopen.
pub const MAX_OPEN_FDS: usize = 128;
/// Directory entries listed by one `fd_readdir` listing.
pub const MAX_READDIR_ENTRIES: usize = 100_000;
/// Fuel charged per directory entry a `fd_readdir` pass reads from the state (the listing is
/// read once per pass, at cookie 0, and served from memory after that).
pub const READDIR_FUEL_PER_ENTRY: u64 = 100;
/// Largest single read or write a host call performs (longer iovecs are served partially).
pub const MAX_IO_CHUNK_BYTES: usize = 4 << 20;

/// KV key size.
pub const MAX_KV_KEY_BYTES: usize = 1024;
/// KV value size.
pub const MAX_KV_VALUE_BYTES: usize = 256 << 10;
/// Entries returned by one `kv_scan`.
pub const MAX_KV_SCAN_ENTRIES: usize = 1_000;
/// Encoded bytes returned by one `kv_scan` (at least one entry is always returned).
pub const MAX_KV_SCAN_BYTES: usize = 1 << 20;

/// Events one invocation (with its nested calls) may emit.
pub const MAX_EVENTS: usize = 256;
/// Size of one event (topic plus data).
pub const MAX_EVENT_BYTES: usize = 16 << 10;
/// Outputs one invocation (with its nested calls) may emit.
pub const MAX_OUTPUTS: usize = 16;
/// Size of one output (it is threshold-signed and posted to Ethereum).
pub const MAX_OUTPUT_BYTES: usize = 16 << 10;

/// Depth of nested `call`s (the top-level invocation is depth 0).
pub const MAX_NESTED_CALL_DEPTH: u32 = 8;

/// Filesystem quota per function: total bytes of file contents.
pub const FS_MAX_TOTAL_BYTES: u64 = 64 << 20;
/// Filesystem quota per function: files plus directories.
pub const FS_MAX_FILES: u64 = 10_000;
/// Filesystem quota per function: size of one file.
pub const FS_MAX_FILE_SIZE: u64 = 16 << 20;

/// Length of a function name.
pub const MAX_FUNCTION_NAME_BYTES: usize = 64;
/// Instances kept ready in the pooling allocator (nested calls need one each).
pub const POOL_TOTAL_INSTANCES: u32 = 64;
