//! The `nexus_v1` host ABI (see `docs/host-abi.md`): KV, events, outputs, context, nested calls.

use wasmtime::{Caller, Linker};

use crate::limits::*;
use crate::state::HostState;
use crate::wasi::types::{GuestMemory, EIO};
use crate::wasi::{charge, split, WasiError};
use crate::{Event, HostTrap};

pub const MODULE: &str = "nexus_v1";

pub const NOT_FOUND: i64 = -1;
pub const LIMIT: i64 = -2;
pub const INVALID: i64 = -3;
pub const CALL_FAILED: i64 = -4;

/// Entries fetched from the state per step of a `kv_scan`.
const KV_SCAN_PAGE: usize = 64;

/// Length of the `block_info` record.
pub const BLOCK_INFO_BYTES: usize = 48;

type C<'a> = Caller<'a, HostState>;

/// A `nexus_v1` result: a value for the guest (with fuel units to charge), or a trap.
type HostResult = Result<(i64, u64), HostTrap>;

/// Maps a filesystem error to an errno, or a trap if the store itself failed.
pub(crate) fn fs_error(e: nexus_vfs::FsError) -> WasiError {
    match e.errno() {
        EIO => WasiError::Trap(HostTrap::Fatal(e.to_string())),
        errno => WasiError::Errno(errno),
    }
}

fn fatal(e: nexus_store::StoreError) -> HostTrap {
    HostTrap::Fatal(e.to_string())
}

fn host(
    caller: &mut C<'_>,
    name: &'static str,
    f: impl FnOnce(&mut GuestMemory<'_>, &mut HostState) -> HostResult,
) -> wasmtime::Result<i64> {
    charge(caller, HOST_CALL_BASE_FUEL)?;
    let (mut mem, state) = split(caller).ok_or(HostTrap::BadPointer(name))?;
    let (value, fuel) = f(&mut mem, state)?;
    charge(caller, fuel.saturating_mul(HOST_CALL_FUEL_PER_BYTE))?;
    Ok(value)
}

/// [`host`] for the calls whose ABI result is `i32`.
fn host32(
    caller: &mut C<'_>,
    name: &'static str,
    f: impl FnOnce(&mut GuestMemory<'_>, &mut HostState) -> HostResult,
) -> wasmtime::Result<i32> {
    host(caller, name, f).map(|v| v as i32)
}

/// Reads guest bytes; an out-of-range pointer traps.
fn bytes(
    mem: &GuestMemory<'_>,
    ptr: i32,
    len: i32,
    call: &'static str,
) -> Result<Vec<u8>, HostTrap> {
    mem.slice(ptr, len as u32 as usize)
        .map(<[u8]>::to_vec)
        .map_err(|_| HostTrap::BadPointer(call))
}

/// Copies `min(len, cap)` bytes of `data` to the guest.
fn copy_out(
    mem: &mut GuestMemory<'_>,
    ptr: i32,
    cap: i32,
    data: &[u8],
    call: &'static str,
) -> Result<(), HostTrap> {
    let n = data.len().min(cap.max(0) as usize);
    mem.write(ptr, &data[..n])
        .map_err(|_| HostTrap::BadPointer(call))
}

fn optional(
    mem: &GuestMemory<'_>,
    ptr: i32,
    len: i32,
    call: &'static str,
) -> Result<Option<Vec<u8>>, HostTrap> {
    if len == -1 {
        Ok(None)
    } else {
        bytes(mem, ptr, len, call).map(Some)
    }
}

pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let m = MODULE;
    linker.func_wrap(
        m,
        "kv_get",
        |mut c: C, kp: i32, kl: i32, vp: i32, vc: i32| {
            host(&mut c, "kv_get", |mem, s| {
                let key = bytes(mem, kp, kl, "kv_get")?;
                if key.len() > MAX_KV_KEY_BYTES {
                    return Ok((LIMIT, 0));
                }
                let full = [s.function.kv_prefix.as_slice(), &key].concat();
                match s.view_ref().get(&full).map_err(fatal)? {
                    None => Ok((NOT_FOUND, key.len() as u64)),
                    Some(v) => {
                        copy_out(mem, vp, vc, &v, "kv_get")?;
                        Ok((v.len() as i64, (key.len() + v.len()) as u64))
                    }
                }
            })
        },
    )?;
    linker.func_wrap(
        m,
        "kv_set",
        |mut c: C, kp: i32, kl: i32, vp: i32, vl: i32| {
            host32(&mut c, "kv_set", |mem, s| {
                let key = bytes(mem, kp, kl, "kv_set")?;
                let value = bytes(mem, vp, vl, "kv_set")?;
                if key.len() > MAX_KV_KEY_BYTES || value.len() > MAX_KV_VALUE_BYTES {
                    return Ok((LIMIT, 0));
                }
                let fuel = (key.len() + value.len()) as u64 * (1 + STATE_WRITE_FUEL_PER_BYTE);
                let full = [s.function.kv_prefix.as_slice(), &key].concat();
                s.view().put(full, value);
                Ok((0, fuel))
            })
        },
    )?;
    linker.func_wrap(m, "kv_delete", |mut c: C, kp: i32, kl: i32| {
        host32(&mut c, "kv_delete", |mem, s| {
            let key = bytes(mem, kp, kl, "kv_delete")?;
            if key.len() > MAX_KV_KEY_BYTES {
                return Ok((LIMIT, 0));
            }
            let full = [s.function.kv_prefix.as_slice(), &key].concat();
            let existed = s.view_ref().get(&full).map_err(fatal)?.is_some();
            if existed {
                s.view().delete(full);
            }
            Ok((i64::from(existed), key.len() as u64))
        })
    })?;
    linker.func_wrap(
        m,
        "kv_cas",
        |mut c: C, kp: i32, kl: i32, ep: i32, el: i32, np: i32, nl: i32| {
            host32(&mut c, "kv_cas", |mem, s| {
                let key = bytes(mem, kp, kl, "kv_cas")?;
                let expected = optional(mem, ep, el, "kv_cas")?;
                let new = optional(mem, np, nl, "kv_cas")?;
                if key.len() > MAX_KV_KEY_BYTES
                    || new.as_ref().is_some_and(|v| v.len() > MAX_KV_VALUE_BYTES)
                {
                    return Ok((LIMIT, 0));
                }
                let full = [s.function.kv_prefix.as_slice(), &key].concat();
                let current = s.view_ref().get(&full).map_err(fatal)?;
                let moved = (key.len()
                    + expected.as_ref().map_or(0, Vec::len)
                    + new.as_ref().map_or(0, Vec::len)) as u64;
                if current != expected {
                    return Ok((0, moved));
                }
                match new {
                    Some(v) => s.view().put(full, v),
                    None => s.view().delete(full),
                }
                Ok((1, moved * (1 + STATE_WRITE_FUEL_PER_BYTE)))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "kv_scan",
        |mut c: C, pp: i32, pl: i32, ap: i32, al: i32, limit: i32, bp: i32, bc: i32| {
            host(&mut c, "kv_scan", |mem, s| {
                let prefix = bytes(mem, pp, pl, "kv_scan")?;
                let after = optional(mem, ap, al, "kv_scan")?;
                if limit < 0 || prefix.len() > MAX_KV_KEY_BYTES {
                    return Ok((INVALID, 0));
                }
                let limit = (limit as usize).min(MAX_KV_SCAN_ENTRIES);
                let full_prefix = [s.function.kv_prefix.as_slice(), &prefix].concat();
                let full_after = after.map(|a| [s.function.kv_prefix.as_slice(), &a].concat());
                // Page through the state so a scan of big values stops at MAX_KV_SCAN_BYTES
                // instead of materialising `limit` of them first.
                let mut encoded = Vec::new();
                let mut cursor = full_after;
                let mut taken = 0;
                'pages: while taken < limit {
                    let page = s
                        .view_ref()
                        .scan_prefix(
                            &full_prefix,
                            cursor.as_deref(),
                            KV_SCAN_PAGE.min(limit - taken),
                        )
                        .map_err(fatal)?;
                    let exhausted = page.len() < KV_SCAN_PAGE.min(limit - taken);
                    for (full_key, v) in page {
                        let k = &full_key[s.function.kv_prefix.len()..];
                        let size = 8 + k.len() + v.len();
                        if taken > 0 && encoded.len() + size > MAX_KV_SCAN_BYTES {
                            break 'pages;
                        }
                        encoded.extend_from_slice(&(k.len() as u32).to_le_bytes());
                        encoded.extend_from_slice(k);
                        encoded.extend_from_slice(&(v.len() as u32).to_le_bytes());
                        encoded.extend_from_slice(&v);
                        taken += 1;
                        cursor = Some(full_key);
                    }
                    if exhausted {
                        break;
                    }
                }
                if encoded.len() <= bc.max(0) as usize {
                    mem.write(bp, &encoded)
                        .map_err(|_| HostTrap::BadPointer("kv_scan"))?;
                }
                Ok((encoded.len() as i64, encoded.len() as u64))
            })
        },
    )?;
    linker.func_wrap(
        m,
        "emit_event",
        |mut c: C, tp: i32, tl: i32, dp: i32, dl: i32| {
            host32(&mut c, "emit_event", |mem, s| {
                let topic = bytes(mem, tp, tl, "emit_event")?;
                let data = bytes(mem, dp, dl, "emit_event")?;
                let Ok(topic) = String::from_utf8(topic) else {
                    return Ok((INVALID, 0));
                };
                if s.events.len() >= MAX_EVENTS || topic.len() + data.len() > MAX_EVENT_BYTES {
                    return Ok((LIMIT, 0));
                }
                let moved = (topic.len() + data.len()) as u64;
                s.events.push(Event { topic, data });
                Ok((0, moved))
            })
        },
    )?;
    linker.func_wrap(m, "emit_output", |mut c: C, p: i32, l: i32| {
        host32(&mut c, "emit_output", |mem, s| {
            let data = bytes(mem, p, l, "emit_output")?;
            if s.outputs.len() >= MAX_OUTPUTS || data.len() > MAX_OUTPUT_BYTES {
                return Ok((LIMIT, 0));
            }
            let moved = data.len() as u64;
            s.outputs.push(data);
            Ok((0, moved))
        })
    })?;
    linker.func_wrap(m, "caller", |mut c: C, p: i32, cap: i32| {
        host32(&mut c, "caller", |mem, s| {
            copy_out(mem, p, cap, s.caller.as_bytes(), "caller")?;
            Ok((s.caller.len() as i64, s.caller.len() as u64))
        })
    })?;
    linker.func_wrap(m, "self_name", |mut c: C, p: i32, cap: i32| {
        host32(&mut c, "self_name", |mem, s| {
            let name = s.function.name.as_bytes();
            copy_out(mem, p, cap, name, "self_name")?;
            Ok((name.len() as i64, name.len() as u64))
        })
    })?;
    linker.func_wrap(m, "block_info", |mut c: C, p: i32| {
        host32(&mut c, "block_info", |mem, s| {
            let mut info = [0u8; BLOCK_INFO_BYTES];
            info[..8].copy_from_slice(&s.block.height.to_le_bytes());
            info[8..16].copy_from_slice(&s.block.time_unix_nanos.to_le_bytes());
            info[16..48].copy_from_slice(&s.block.hash);
            mem.write(p, &info)
                .map_err(|_| HostTrap::BadPointer("block_info"))?;
            Ok((BLOCK_INFO_BYTES as i64, BLOCK_INFO_BYTES as u64))
        })
    })?;
    linker.func_wrap(m, "call_result", |mut c: C, p: i32, cap: i32| {
        host32(&mut c, "call_result", |mem, s| {
            copy_out(mem, p, cap, &s.last_call_result, "call_result")?;
            let n = s.last_call_result.len();
            Ok((n as i64, n as u64))
        })
    })?;
    linker.func_wrap(m, "call", |mut c: C, np: i32, nl: i32, ip: i32, il: i32| {
        crate::invoke::nested_call(&mut c, np, nl, ip, il)
    })?;
    Ok(())
}
