//! Our own `wasi_snapshot_preview1`, deterministic by construction.
//!
//! wasmtime-wasi cannot serve a filesystem that lives in replicated state, so the runtime
//! implements preview1 itself: args/env come from the function record, every clock reads block
//! time, `random_get` is a ChaCha20 stream seeded from (block hash, transaction hash, call index),
//! stdin is the input, stdout the result, stderr the log, the filesystem is `nexus-vfs` rooted at
//! the function's own namespace (preopened as `/`, descriptor 3), and sockets are `ENOSYS`.

mod fd;
pub(crate) mod fd_table;
mod misc;
mod path;
pub(crate) mod types;

use wasmtime::{Caller, Linker};

use crate::limits::{HOST_CALL_BASE_FUEL, HOST_CALL_FUEL_PER_BYTE};
use crate::state::HostState;
use crate::HostTrap;
use types::{Errno, GuestMemory, EFAULT};

pub const MODULE: &str = "wasi_snapshot_preview1";

/// Why a WASI call did not succeed: an errno for the guest, or a trap that ends the invocation.
pub(crate) enum WasiError {
    Errno(Errno),
    Trap(HostTrap),
}

impl From<Errno> for WasiError {
    fn from(e: Errno) -> Self {
        WasiError::Errno(e)
    }
}

impl From<HostTrap> for WasiError {
    fn from(t: HostTrap) -> Self {
        WasiError::Trap(t)
    }
}

impl From<nexus_vfs::FsError> for WasiError {
    fn from(e: nexus_vfs::FsError) -> Self {
        crate::host::fs_error(e)
    }
}

/// Bytes that crossed the boundary (charged per byte), or an error.
pub(crate) type WasiResult = Result<u64, WasiError>;

/// Takes `fuel` from the store, trapping with out-of-fuel if there is not enough.
pub(crate) fn charge(caller: &mut Caller<'_, HostState>, fuel: u64) -> wasmtime::Result<()> {
    let left = caller.get_fuel()?;
    if left < fuel {
        caller.set_fuel(0)?;
        return Err(wasmtime::Error::new(HostTrap::OutOfFuel));
    }
    caller.set_fuel(left - fuel)
}

/// Splits the caller into its linear memory and host state.
pub(crate) fn split<'a>(
    caller: &'a mut Caller<'_, HostState>,
) -> Option<(GuestMemory<'a>, &'a mut HostState)> {
    let memory = caller.data().memory?;
    let (bytes, state) = memory.data_and_store_mut(caller);
    Some((GuestMemory::new(bytes), state))
}

/// Runs one WASI call: base fuel, the call, per-byte fuel; errno out, or a trap.
fn run(
    caller: &mut Caller<'_, HostState>,
    f: impl FnOnce(&mut GuestMemory<'_>, &mut HostState) -> WasiResult,
) -> wasmtime::Result<i32> {
    charge(caller, HOST_CALL_BASE_FUEL)?;
    let result = match split(caller) {
        None => Err(WasiError::Errno(EFAULT)),
        Some((mut mem, state)) => f(&mut mem, state),
    };
    match result {
        Ok(bytes) => {
            charge(caller, bytes.saturating_mul(HOST_CALL_FUEL_PER_BYTE))?;
            Ok(0)
        }
        Err(WasiError::Errno(e)) => Ok(i32::from(e)),
        Err(WasiError::Trap(t)) => Err(wasmtime::Error::new(t)),
    }
}

type C<'a> = Caller<'a, HostState>;

/// Adds every preview1 function to `linker`.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let m = MODULE;
    // args, environment, clocks, randomness, process, scheduling, polling, sockets
    linker.func_wrap(m, "args_get", |mut c: C, argv: i32, buf: i32| {
        run(&mut c, |mem, s| misc::args_get(mem, s, argv, buf))
    })?;
    linker.func_wrap(m, "args_sizes_get", |mut c: C, argc: i32, size: i32| {
        run(&mut c, |mem, s| misc::args_sizes_get(mem, s, argc, size))
    })?;
    linker.func_wrap(m, "environ_get", |mut c: C, env: i32, buf: i32| {
        run(&mut c, |mem, s| misc::environ_get(mem, s, env, buf))
    })?;
    linker.func_wrap(m, "environ_sizes_get", |mut c: C, count: i32, size: i32| {
        run(&mut c, |mem, s| {
            misc::environ_sizes_get(mem, s, count, size)
        })
    })?;
    linker.func_wrap(m, "clock_res_get", |mut c: C, id: i32, out: i32| {
        run(&mut c, |mem, _| misc::clock_res_get(mem, id, out))
    })?;
    linker.func_wrap(
        m,
        "clock_time_get",
        |mut c: C, id: i32, _precision: i64, out: i32| {
            run(&mut c, |mem, s| misc::clock_time_get(mem, s, id, out))
        },
    )?;
    linker.func_wrap(m, "random_get", |mut c: C, buf: i32, len: i32| {
        run(&mut c, |mem, s| misc::random_get(mem, s, buf, len))
    })?;
    linker.func_wrap(m, "proc_exit", |_c: C, code: i32| -> wasmtime::Result<()> {
        Err(wasmtime::Error::new(HostTrap::Exit(code as u32)))
    })?;
    linker.func_wrap(m, "proc_raise", |mut c: C, _sig: i32| {
        run(&mut c, |_, _| Err(types::ENOSYS.into()))
    })?;
    linker.func_wrap(m, "sched_yield", |mut c: C| run(&mut c, |_, _| Ok(0)))?;
    linker.func_wrap(
        m,
        "poll_oneoff",
        |mut c: C, inp: i32, out: i32, n: i32, nout: i32| {
            run(&mut c, |mem, s| {
                misc::poll_oneoff(mem, s, inp, out, n, nout)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "sock_accept",
        |mut c: C, _fd: i32, _fl: i32, _out: i32| run(&mut c, |_, _| Err(types::ENOSYS.into())),
    )?;
    linker.func_wrap(
        m,
        "sock_recv",
        |mut c: C, _fd: i32, _d: i32, _dl: i32, _f: i32, _o1: i32, _o2: i32| {
            run(&mut c, |_, _| Err(types::ENOSYS.into()))
        },
    )?;
    linker.func_wrap(
        m,
        "sock_send",
        |mut c: C, _fd: i32, _d: i32, _dl: i32, _f: i32, _o: i32| {
            run(&mut c, |_, _| Err(types::ENOSYS.into()))
        },
    )?;
    linker.func_wrap(m, "sock_shutdown", |mut c: C, _fd: i32, _how: i32| {
        run(&mut c, |_, _| Err(types::ENOSYS.into()))
    })?;
    fd::add_to_linker(linker)?;
    path::add_to_linker(linker)?;
    Ok(())
}
