//! Guest SDK for Nexus Functions (`wasm32-wasip1`).
//!
//! A Nexus Function is an ordinary WASI command: it reads its input from stdin, writes its result
//! to stdout, logs to stderr, and may use `std::fs` and `std::env` (the runtime implements
//! `wasi_snapshot_preview1` deterministically). This crate adds safe wrappers over the
//! `nexus_v1` host ABI (`docs/host-abi.md`):
//!
//! * [`kv`]: the function's key-value namespace (`get`, `set`, `delete`, compare-and-swap, `scan`);
//! * [`event`] and [`output`]: events, and outputs the network threshold-signs for Ethereum;
//! * [`caller`], [`self_name`], [`block`]: invocation context;
//! * [`call`]: invoke another deployed function;
//! * [`entry!`] / [`entry_raw!`]: generate `fn main` around a handler (JSON or raw bytes).
//!
//! ```ignore
//! #[derive(serde::Deserialize)]
//! struct Input { by: u64 }
//!
//! fn handler(input: Input) -> Result<u64, String> {
//!     let n = nexus_sdk::kv::get_json::<u64>(b"count").map_err(|e| e.to_string())?.unwrap_or(0);
//!     nexus_sdk::kv::set_json(b"count", &(n + input.by)).map_err(|e| e.to_string())?;
//!     Ok(n + input.by)
//! }
//! nexus_sdk::entry!(handler);
//! ```
//!
//! The SDK owns only the guest side of the ABI; it must not depend on any host (runtime)
//! crate. On non-wasm targets the host imports are replaced by an in-memory [`mock`], so a
//! function's logic (and this crate's encoding helpers) can be unit-tested with plain
//! `cargo test`.

use std::fmt;

mod sys;

#[cfg(not(target_family = "wasm"))]
pub use sys::mock;

#[doc(hidden)]
pub mod __private;

pub use serde;
pub use serde_json;

/// Error codes of the `nexus_v1` ABI.
pub mod code {
    pub const NOT_FOUND: i64 = -1;
    pub const LIMIT: i64 = -2;
    pub const INVALID: i64 = -3;
    pub const CALL_FAILED: i64 = -4;
}

/// An error returned by a host call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// `NOT_FOUND` (-1): the key or function does not exist.
    NotFound,
    /// `LIMIT` (-2): a bound was exceeded (key/value size, events, outputs, scan size, call depth).
    Limit,
    /// `INVALID` (-3): a malformed argument.
    Invalid,
    /// `CALL_FAILED` (-4): a nested call trapped, ran out of fuel or exited non-zero.
    CallFailed,
    /// Any other negative code (a newer host than this SDK).
    Other(i64),
}

/// The error of [`call`].
pub type CallError = Error;

impl Error {
    /// Maps a negative ABI return code to an error.
    pub fn from_code(code: i64) -> Error {
        match code {
            code::NOT_FOUND => Error::NotFound,
            code::LIMIT => Error::Limit,
            code::INVALID => Error::Invalid,
            code::CALL_FAILED => Error::CallFailed,
            other => Error::Other(other),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotFound => f.write_str("not found"),
            Error::Limit => f.write_str("a host limit was exceeded"),
            Error::Invalid => f.write_str("invalid argument"),
            Error::CallFailed => f.write_str("the nested call failed"),
            Error::Other(code) => write!(f, "host error code {code}"),
        }
    }
}

impl std::error::Error for Error {}

/// Turns a non-negative return value into a length, a negative one into an error.
fn check(ret: i64) -> Result<usize, Error> {
    if ret < 0 {
        Err(Error::from_code(ret))
    } else {
        usize::try_from(ret).map_err(|_| Error::Limit)
    }
}

/// A slice's `(ptr, len)` for the ABI; slices longer than `i32::MAX` are a [`Error::Limit`].
fn raw(bytes: &[u8]) -> Result<(*const u8, i32), Error> {
    Ok((
        bytes.as_ptr(),
        i32::try_from(bytes.len()).map_err(|_| Error::Limit)?,
    ))
}

/// `(ptr, len)` of an optional slice, `len == -1` for `None`.
fn raw_opt(bytes: Option<&[u8]>) -> Result<(*const u8, i32), Error> {
    match bytes {
        Some(b) => raw(b),
        None => Ok((std::ptr::null(), -1)),
    }
}

/// Calls `f(buf_ptr, buf_cap)`, which returns the full length of a result (or a negative error)
/// and writes `min(len, cap)` bytes (`all_or_nothing == false`) or writes only if everything
/// fits (`all_or_nothing == true`); retries once with an exact-size buffer when it did not fit.
fn fetch(initial: usize, mut f: impl FnMut(*mut u8, i32) -> i64) -> Result<Vec<u8>, Error> {
    let mut buf: Vec<u8> = vec![0; initial];
    loop {
        let cap = i32::try_from(buf.len()).map_err(|_| Error::Limit)?;
        let len = check(f(buf.as_mut_ptr(), cap))?;
        if len <= buf.len() {
            buf.truncate(len);
            return Ok(buf);
        }
        buf = vec![0; len];
    }
}

/// Key-value storage in the function's own namespace.
pub mod kv {
    use super::{check, fetch, raw, raw_opt, sys, Error};

    /// A `(key, value)` pair returned by [`scan`].
    pub type Entry = (Vec<u8>, Vec<u8>);

    /// Initial buffer for values; larger values cost one more host call.
    pub const INITIAL_VALUE_BUF: usize = 256;
    /// Initial buffer for scans.
    pub const INITIAL_SCAN_BUF: usize = 4096;

    /// The value of `key`, `None` if absent.
    pub fn get(key: &[u8]) -> Result<Option<Vec<u8>>, Error> {
        let (kp, kl) = raw(key)?;
        match fetch(INITIAL_VALUE_BUF, |p, c| unsafe {
            sys::kv_get(kp, kl, p, c)
        }) {
            Ok(v) => Ok(Some(v)),
            Err(Error::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores `value` under `key`.
    pub fn set(key: &[u8], value: &[u8]) -> Result<(), Error> {
        let (kp, kl) = raw(key)?;
        let (vp, vl) = raw(value)?;
        check(i64::from(unsafe { sys::kv_set(kp, kl, vp, vl) })).map(drop)
    }

    /// Deletes `key`; returns whether it existed.
    pub fn delete(key: &[u8]) -> Result<bool, Error> {
        let (kp, kl) = raw(key)?;
        check(i64::from(unsafe { sys::kv_delete(kp, kl) })).map(|n| n == 1)
    }

    /// Compare-and-swap: if the current value equals `expected` (`None`: the key is absent),
    /// stores `new` (`None`: deletes the key) and returns `true`; otherwise returns `false`.
    pub fn cas(key: &[u8], expected: Option<&[u8]>, new: Option<&[u8]>) -> Result<bool, Error> {
        let (kp, kl) = raw(key)?;
        let (ep, el) = raw_opt(expected)?;
        let (np, nl) = raw_opt(new)?;
        check(i64::from(unsafe { sys::kv_cas(kp, kl, ep, el, np, nl) })).map(|n| n == 1)
    }

    /// Up to `limit` entries whose keys start with `prefix` and are strictly greater than
    /// `after` (`None`: from the start), ascending by key bytes.
    pub fn scan(prefix: &[u8], after: Option<&[u8]>, limit: u32) -> Result<Vec<Entry>, Error> {
        let (pp, pl) = raw(prefix)?;
        let (ap, al) = raw_opt(after)?;
        let limit = i32::try_from(limit).map_err(|_| Error::Limit)?;
        let encoded = fetch(INITIAL_SCAN_BUF, |p, c| unsafe {
            sys::kv_scan(pp, pl, ap, al, limit, p, c)
        })?;
        decode_scan(&encoded).ok_or(Error::Invalid)
    }

    /// All entries with `prefix`, fetched page by page (`page` entries per host call).
    pub fn scan_all(prefix: &[u8], page: u32) -> Result<Vec<Entry>, Error> {
        let mut all: Vec<Entry> = Vec::new();
        loop {
            let after = all.last().map(|(k, _)| k.clone());
            let batch = scan(prefix, after.as_deref(), page)?;
            // The host may return fewer than `page` entries (entry and byte caps): only an
            // empty page is the end.
            if batch.is_empty() {
                return Ok(all);
            }
            all.extend(batch);
        }
    }

    /// Decodes the `kv_scan` encoding: `u32le key_len, key, u32le val_len, val` repeated.
    /// `None` if the bytes are malformed.
    pub fn decode_scan(mut bytes: &[u8]) -> Option<Vec<Entry>> {
        fn take<'a>(bytes: &mut &'a [u8]) -> Option<&'a [u8]> {
            let len_bytes: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
            let len = u32::from_le_bytes(len_bytes) as usize;
            let item = bytes.get(4..4usize.checked_add(len)?)?;
            *bytes = &bytes[4 + len..];
            Some(item)
        }
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let key = take(&mut bytes)?.to_vec();
            let value = take(&mut bytes)?.to_vec();
            out.push((key, value));
        }
        Some(out)
    }

    /// Encodes entries the way `kv_scan` does (the inverse of [`decode_scan`]).
    pub fn encode_scan<K: AsRef<[u8]>, V: AsRef<[u8]>>(entries: &[(K, V)]) -> Vec<u8> {
        let mut out = Vec::new();
        for (k, v) in entries {
            for part in [k.as_ref(), v.as_ref()] {
                out.extend_from_slice(&(part.len() as u32).to_le_bytes());
                out.extend_from_slice(part);
            }
        }
        out
    }

    /// `get` + JSON decoding. A value that is not valid JSON for `T` is [`Error::Invalid`].
    pub fn get_json<T: serde::de::DeserializeOwned>(key: &[u8]) -> Result<Option<T>, Error> {
        match get(key)? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| Error::Invalid),
            None => Ok(None),
        }
    }

    /// JSON encoding + `set`.
    pub fn set_json<T: serde::Serialize + ?Sized>(key: &[u8], value: &T) -> Result<(), Error> {
        let bytes = serde_json::to_vec(value).map_err(|_| Error::Invalid)?;
        set(key, &bytes)
    }
}

/// Records an event (`topic` is UTF-8).
pub fn event(topic: &str, data: &[u8]) -> Result<(), Error> {
    let (tp, tl) = raw(topic.as_bytes())?;
    let (dp, dl) = raw(data)?;
    check(i64::from(unsafe { sys::emit_event(tp, tl, dp, dl) })).map(drop)
}

/// Records an output: bytes the network threshold-signs for Ethereum.
pub fn output(bytes: &[u8]) -> Result<(), Error> {
    let (p, l) = raw(bytes)?;
    check(i64::from(unsafe { sys::emit_output(p, l) })).map(drop)
}

fn context_string(mut f: impl FnMut(*mut u8, i32) -> i32) -> String {
    let bytes = fetch(64, |p, c| i64::from(f(p, c))).unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}

/// Who invoked this function: an account address `0x…`, or `fn:<name>` for a nested call.
pub fn caller() -> String {
    context_string(|p, c| unsafe { sys::caller(p, c) })
}

/// This function's name.
pub fn self_name() -> String {
    context_string(|p, c| unsafe { sys::self_name(p, c) })
}

/// The block the invocation runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BlockInfo {
    pub height: u64,
    /// Block time (also what the WASI clocks return).
    pub time_unix_nanos: u64,
    pub hash: [u8; 32],
}

impl BlockInfo {
    /// Size of the `block_info` encoding.
    pub const ENCODED_LEN: usize = 48;

    /// Decodes `height u64le, time_unix_nanos u64le, block_hash [32]`.
    pub fn decode(bytes: &[u8; 48]) -> BlockInfo {
        let mut hash = [0u8; 32];
        hash.copy_from_slice(&bytes[16..48]);
        BlockInfo {
            height: u64::from_le_bytes(bytes[0..8].try_into().expect("8 bytes")),
            time_unix_nanos: u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes")),
            hash,
        }
    }

    /// The inverse of [`BlockInfo::decode`].
    pub fn encode(&self) -> [u8; 48] {
        let mut out = [0u8; 48];
        out[0..8].copy_from_slice(&self.height.to_le_bytes());
        out[8..16].copy_from_slice(&self.time_unix_nanos.to_le_bytes());
        out[16..48].copy_from_slice(&self.hash);
        out
    }
}

/// Height, time and hash of the current block.
pub fn block() -> BlockInfo {
    let mut buf = [0u8; BlockInfo::ENCODED_LEN];
    unsafe { sys::block_info(buf.as_mut_ptr()) };
    BlockInfo::decode(&buf)
}

/// Invokes the deployed function `name` with `input` as its stdin and returns its stdout.
/// Its effects commit with this invocation's (or vanish with them).
pub fn call(name: &str, input: &[u8]) -> Result<Vec<u8>, CallError> {
    let (np, nl) = raw(name.as_bytes())?;
    let (ip, il) = raw(input)?;
    let len = check(unsafe { sys::call(np, nl, ip, il) })?;
    let mut buf = vec![0u8; len];
    let cap = i32::try_from(len).map_err(|_| Error::Limit)?;
    let got = check(i64::from(unsafe {
        sys::call_result(buf.as_mut_ptr(), cap)
    }))?;
    buf.truncate(got.min(len));
    Ok(buf)
}

/// [`call`] with JSON input and output. A callee output that is not valid JSON for `O`
/// is [`Error::Invalid`].
pub fn call_json<I: serde::Serialize + ?Sized, O: serde::de::DeserializeOwned>(
    name: &str,
    input: &I,
) -> Result<O, CallError> {
    let bytes = serde_json::to_vec(input).map_err(|_| Error::Invalid)?;
    let out = call(name, &bytes)?;
    serde_json::from_slice(&out).map_err(|_| Error::Invalid)
}

/// Generates `fn main` around a JSON handler `fn(I) -> R`.
///
/// `main` reads all of stdin and deserializes it into `I` (`serde::Deserialize`; empty stdin is
/// read as `null`, then as `{}`, so `()`, `Option<_>` and all-default structs accept it). It calls
/// the handler, then:
/// * `R = Result<T, E>` with `T: Serialize, E: Display`: on `Ok` writes `T` as JSON to stdout;
///   on `Err` writes the error to stderr and exits with code 1;
/// * any other `R: Serialize`: writes it as JSON to stdout.
///
/// Input that does not deserialize is reported on stderr with exit code 2.
#[macro_export]
macro_rules! entry {
    ($handler:path) => {
        fn main() {
            #[allow(unused_imports)]
            use $crate::__private::{FinishJson as _, FinishJsonResult as _};
            let input = $crate::__private::read_json_input();
            let out = $handler(input);
            (&&$crate::__private::Wrap(out)).__nexus_finish();
        }
    };
}

/// Generates `fn main` around a raw-bytes handler `fn(Vec<u8>) -> R`, where `R` is
/// `T: AsRef<[u8]>` (written to stdout as is) or `Result<T, E: Display>` (on `Err`: error on
/// stderr, exit code 1).
#[macro_export]
macro_rules! entry_raw {
    ($handler:path) => {
        fn main() {
            #[allow(unused_imports)]
            use $crate::__private::{FinishRaw as _, FinishRawResult as _};
            let input = $crate::__private::read_stdin();
            let out = $handler(input);
            (&&$crate::__private::RawWrap(out)).__nexus_finish();
        }
    };
}

#[cfg(test)]
mod tests;
