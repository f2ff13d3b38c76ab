//! The raw `nexus_v1` imports (docs/host-abi.md). On wasm they are real imports; elsewhere an
//! in-memory [`mock`] with the same signatures and semantics stands in.

#[cfg(target_family = "wasm")]
#[link(wasm_import_module = "nexus_v1")]
extern "C" {
    pub fn kv_get(key_ptr: *const u8, key_len: i32, val_ptr: *mut u8, val_cap: i32) -> i64;
    pub fn kv_set(key_ptr: *const u8, key_len: i32, val_ptr: *const u8, val_len: i32) -> i32;
    pub fn kv_delete(key_ptr: *const u8, key_len: i32) -> i32;
    pub fn kv_cas(
        key_ptr: *const u8,
        key_len: i32,
        exp_ptr: *const u8,
        exp_len: i32,
        new_ptr: *const u8,
        new_len: i32,
    ) -> i32;
    #[allow(clippy::too_many_arguments)]
    pub fn kv_scan(
        prefix_ptr: *const u8,
        prefix_len: i32,
        after_ptr: *const u8,
        after_len: i32,
        limit: i32,
        buf_ptr: *mut u8,
        buf_cap: i32,
    ) -> i64;
    pub fn emit_event(
        topic_ptr: *const u8,
        topic_len: i32,
        data_ptr: *const u8,
        data_len: i32,
    ) -> i32;
    pub fn emit_output(ptr: *const u8, len: i32) -> i32;
    pub fn caller(buf_ptr: *mut u8, buf_cap: i32) -> i32;
    pub fn self_name(buf_ptr: *mut u8, buf_cap: i32) -> i32;
    pub fn block_info(buf_ptr: *mut u8) -> i32;
    pub fn call(name_ptr: *const u8, name_len: i32, input_ptr: *const u8, input_len: i32) -> i64;
    pub fn call_result(buf_ptr: *mut u8, buf_cap: i32) -> i32;
}

#[cfg(not(target_family = "wasm"))]
pub use mock::abi::*;

/// An in-memory stand-in for the host, for unit tests on non-wasm targets.
///
/// State is per thread (each `#[test]` runs on its own thread, so tests do not interfere);
/// call [`reset`] to start over within one test.
#[cfg(not(target_family = "wasm"))]
pub mod mock {
    use std::cell::RefCell;
    use std::collections::BTreeMap;
    use std::rc::Rc;

    use crate::code::{CALL_FAILED, INVALID, LIMIT, NOT_FOUND};
    use crate::BlockInfo;

    /// A mocked deployed function for [`crate::call`]: input to stdout, or an ABI error code.
    pub type MockFunction = Rc<dyn Fn(&[u8]) -> Result<Vec<u8>, i64>>;

    /// Bounds the mock enforces (answering `LIMIT`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct MockLimits {
        pub max_key_bytes: usize,
        pub max_value_bytes: usize,
        pub max_scan_entries: usize,
        pub max_events: usize,
        pub max_outputs: usize,
        pub max_output_bytes: usize,
    }

    impl Default for MockLimits {
        fn default() -> Self {
            MockLimits {
                max_key_bytes: 1024,
                max_value_bytes: 1 << 20,
                max_scan_entries: 1000,
                max_events: 256,
                max_outputs: 16,
                max_output_bytes: 64 * 1024,
            }
        }
    }

    #[derive(Default)]
    struct State {
        kv: BTreeMap<Vec<u8>, Vec<u8>>,
        events: Vec<(String, Vec<u8>)>,
        outputs: Vec<Vec<u8>>,
        caller: String,
        self_name: String,
        block: BlockInfo,
        functions: BTreeMap<String, MockFunction>,
        last_call: Vec<u8>,
        limits: MockLimits,
        host_calls: u64,
    }

    thread_local! {
        static STATE: RefCell<State> = RefCell::new(State {
            caller: "0x0000000000000000000000000000000000000000".into(),
            self_name: "mock".into(),
            ..State::default()
        });
    }

    fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
        STATE.with(|s| {
            let mut s = s.borrow_mut();
            s.host_calls += 1;
            f(&mut s)
        })
    }

    fn with_quiet<R>(f: impl FnOnce(&mut State) -> R) -> R {
        STATE.with(|s| f(&mut s.borrow_mut()))
    }

    /// Clears all state (KV, events, outputs, functions, limits, counters).
    pub fn reset() {
        with_quiet(|s| {
            *s = State {
                caller: "0x0000000000000000000000000000000000000000".into(),
                self_name: "mock".into(),
                ..State::default()
            }
        });
    }
    pub fn set_caller(caller: &str) {
        with_quiet(|s| s.caller = caller.to_owned());
    }
    pub fn set_self_name(name: &str) {
        with_quiet(|s| s.self_name = name.to_owned());
    }
    pub fn set_block(block: BlockInfo) {
        with_quiet(|s| s.block = block);
    }
    pub fn set_limits(limits: MockLimits) {
        with_quiet(|s| s.limits = limits);
    }
    /// Registers a function reachable through [`crate::call`].
    pub fn register_function(name: &str, f: impl Fn(&[u8]) -> Result<Vec<u8>, i64> + 'static) {
        with_quiet(|s| s.functions.insert(name.to_owned(), Rc::new(f)));
    }
    /// The KV store's contents, ascending by key.
    pub fn kv_entries() -> Vec<(Vec<u8>, Vec<u8>)> {
        with_quiet(|s| s.kv.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
    /// Events emitted so far: `(topic, data)`.
    pub fn events() -> Vec<(String, Vec<u8>)> {
        with_quiet(|s| s.events.clone())
    }
    /// Outputs emitted so far.
    pub fn outputs() -> Vec<Vec<u8>> {
        with_quiet(|s| s.outputs.clone())
    }
    /// How many host (ABI) calls were made (e.g. to observe buffer-growing retries).
    pub fn host_calls() -> u64 {
        with_quiet(|s| s.host_calls)
    }

    /// The mocked ABI functions, same signatures as the `nexus_v1` imports.
    #[allow(clippy::missing_safety_doc)]
    pub mod abi {
        use super::*;

        unsafe fn slice<'a>(ptr: *const u8, len: i32) -> Option<&'a [u8]> {
            if len < 0 {
                None
            } else if len == 0 {
                Some(&[])
            } else {
                // SAFETY: the SDK passes pointers/lengths of live slices.
                Some(unsafe { std::slice::from_raw_parts(ptr, len as usize) })
            }
        }

        /// Copies `min(data.len(), cap)` bytes to `buf`.
        unsafe fn copy_out(data: &[u8], buf: *mut u8, cap: i32) {
            let n = data.len().min(cap.max(0) as usize);
            if n > 0 {
                // SAFETY: the SDK passes a buffer of at least `cap` bytes.
                unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), buf, n) };
            }
        }

        fn key_ok(s: &State, key: &[u8]) -> bool {
            key.len() <= s.limits.max_key_bytes
        }

        pub unsafe fn kv_get(
            key_ptr: *const u8,
            key_len: i32,
            val_ptr: *mut u8,
            val_cap: i32,
        ) -> i64 {
            let Some(key) = (unsafe { slice(key_ptr, key_len) }) else {
                return INVALID;
            };
            with(|s| {
                if !key_ok(s, key) {
                    return LIMIT;
                }
                match s.kv.get(key) {
                    None => NOT_FOUND,
                    Some(v) => {
                        unsafe { copy_out(v, val_ptr, val_cap) };
                        v.len() as i64
                    }
                }
            })
        }

        pub unsafe fn kv_set(
            key_ptr: *const u8,
            key_len: i32,
            val_ptr: *const u8,
            val_len: i32,
        ) -> i32 {
            let (Some(key), Some(val)) = (unsafe { slice(key_ptr, key_len) }, unsafe {
                slice(val_ptr, val_len)
            }) else {
                return INVALID as i32;
            };
            with(|s| {
                if !key_ok(s, key) || val.len() > s.limits.max_value_bytes {
                    return LIMIT as i32;
                }
                s.kv.insert(key.to_vec(), val.to_vec());
                0
            })
        }

        pub unsafe fn kv_delete(key_ptr: *const u8, key_len: i32) -> i32 {
            let Some(key) = (unsafe { slice(key_ptr, key_len) }) else {
                return INVALID as i32;
            };
            with(|s| {
                if !key_ok(s, key) {
                    return LIMIT as i32;
                }
                i32::from(s.kv.remove(key).is_some())
            })
        }

        pub unsafe fn kv_cas(
            key_ptr: *const u8,
            key_len: i32,
            exp_ptr: *const u8,
            exp_len: i32,
            new_ptr: *const u8,
            new_len: i32,
        ) -> i32 {
            let Some(key) = (unsafe { slice(key_ptr, key_len) }) else {
                return INVALID as i32;
            };
            let expected = unsafe { slice(exp_ptr, exp_len) };
            let new = unsafe { slice(new_ptr, new_len) };
            with(|s| {
                if !key_ok(s, key) || new.is_some_and(|n| n.len() > s.limits.max_value_bytes) {
                    return LIMIT as i32;
                }
                if s.kv.get(key).map(Vec::as_slice) != expected {
                    return 0;
                }
                match new {
                    Some(n) => s.kv.insert(key.to_vec(), n.to_vec()),
                    None => s.kv.remove(key),
                };
                1
            })
        }

        #[allow(clippy::too_many_arguments)]
        pub unsafe fn kv_scan(
            prefix_ptr: *const u8,
            prefix_len: i32,
            after_ptr: *const u8,
            after_len: i32,
            limit: i32,
            buf_ptr: *mut u8,
            buf_cap: i32,
        ) -> i64 {
            let Some(prefix) = (unsafe { slice(prefix_ptr, prefix_len) }) else {
                return INVALID;
            };
            let after = unsafe { slice(after_ptr, after_len) };
            if limit < 0 {
                return INVALID;
            }
            with(|s| {
                if limit as usize > s.limits.max_scan_entries {
                    return LIMIT;
                }
                let entries: Vec<(&Vec<u8>, &Vec<u8>)> =
                    s.kv.range(prefix.to_vec()..)
                        .take_while(|(k, _)| k.starts_with(prefix))
                        .filter(|(k, _)| after.is_none_or(|a| k.as_slice() > a))
                        .take(limit as usize)
                        .collect();
                let encoded = crate::kv::encode_scan(&entries);
                if encoded.len() <= buf_cap.max(0) as usize {
                    unsafe { copy_out(&encoded, buf_ptr, buf_cap) };
                }
                encoded.len() as i64
            })
        }

        pub unsafe fn emit_event(
            topic_ptr: *const u8,
            topic_len: i32,
            data_ptr: *const u8,
            data_len: i32,
        ) -> i32 {
            let (Some(topic), Some(data)) = (unsafe { slice(topic_ptr, topic_len) }, unsafe {
                slice(data_ptr, data_len)
            }) else {
                return INVALID as i32;
            };
            let Ok(topic) = std::str::from_utf8(topic) else {
                return INVALID as i32;
            };
            with(|s| {
                if s.events.len() >= s.limits.max_events {
                    return LIMIT as i32;
                }
                s.events.push((topic.to_owned(), data.to_vec()));
                0
            })
        }

        pub unsafe fn emit_output(ptr: *const u8, len: i32) -> i32 {
            let Some(data) = (unsafe { slice(ptr, len) }) else {
                return INVALID as i32;
            };
            with(|s| {
                if s.outputs.len() >= s.limits.max_outputs || data.len() > s.limits.max_output_bytes
                {
                    return LIMIT as i32;
                }
                s.outputs.push(data.to_vec());
                0
            })
        }

        pub unsafe fn caller(buf_ptr: *mut u8, buf_cap: i32) -> i32 {
            with(|s| {
                unsafe { copy_out(s.caller.as_bytes(), buf_ptr, buf_cap) };
                s.caller.len() as i32
            })
        }

        pub unsafe fn self_name(buf_ptr: *mut u8, buf_cap: i32) -> i32 {
            with(|s| {
                unsafe { copy_out(s.self_name.as_bytes(), buf_ptr, buf_cap) };
                s.self_name.len() as i32
            })
        }

        pub unsafe fn block_info(buf_ptr: *mut u8) -> i32 {
            with(|s| {
                unsafe { copy_out(&s.block.encode(), buf_ptr, 48) };
                48
            })
        }

        pub unsafe fn call(
            name_ptr: *const u8,
            name_len: i32,
            input_ptr: *const u8,
            input_len: i32,
        ) -> i64 {
            let (Some(name), Some(input)) = (unsafe { slice(name_ptr, name_len) }, unsafe {
                slice(input_ptr, input_len)
            }) else {
                return INVALID;
            };
            let Ok(name) = std::str::from_utf8(name) else {
                return INVALID;
            };
            // Do not hold the state borrow while the mocked callee runs (it may use the SDK).
            let Some(f) = with(|s| s.functions.get(name).cloned()) else {
                return NOT_FOUND;
            };
            match f(input) {
                Ok(out) => {
                    let len = out.len() as i64;
                    with_quiet(|s| s.last_call = out);
                    len
                }
                Err(code) if code < 0 => code,
                Err(_) => CALL_FAILED,
            }
        }

        pub unsafe fn call_result(buf_ptr: *mut u8, buf_cap: i32) -> i32 {
            with(|s| {
                unsafe { copy_out(&s.last_call, buf_ptr, buf_cap) };
                s.last_call.len() as i32
            })
        }
    }
}
