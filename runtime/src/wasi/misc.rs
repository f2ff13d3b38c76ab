//! Args, environment, clocks, randomness and polling: all pure functions of the invocation.

use rand_core::RngCore;

use super::types::*;
use super::WasiResult;
use crate::state::HostState;

fn args(s: &HostState) -> Vec<Vec<u8>> {
    std::iter::once(s.function.name.as_bytes().to_vec())
        .chain(s.function.args.iter().map(|a| a.as_bytes().to_vec()))
        .collect()
}

fn environ(s: &HostState) -> Vec<Vec<u8>> {
    s.function
        .env
        .iter()
        .map(|(k, v)| format!("{k}={v}").into_bytes())
        .collect()
}

/// Writes NUL-terminated strings into `buf` and their pointers into `ptrs`.
fn write_strings(mem: &mut GuestMemory<'_>, items: &[Vec<u8>], ptrs: i32, buf: i32) -> WasiResult {
    let mut offset = 0u32;
    for (i, item) in items.iter().enumerate() {
        let at = (buf as u32).wrapping_add(offset) as i32;
        mem.write_u32(ptrs.wrapping_add((i * 4) as i32), at as u32)?;
        mem.write(at, item)?;
        mem.write((at as u32 + item.len() as u32) as i32, &[0])?;
        offset += item.len() as u32 + 1;
    }
    Ok(u64::from(offset))
}

fn write_sizes(mem: &mut GuestMemory<'_>, items: &[Vec<u8>], count: i32, size: i32) -> WasiResult {
    mem.write_u32(count, items.len() as u32)?;
    mem.write_u32(size, items.iter().map(|i| i.len() as u32 + 1).sum())?;
    Ok(0)
}

pub fn args_get(mem: &mut GuestMemory<'_>, s: &mut HostState, argv: i32, buf: i32) -> WasiResult {
    write_strings(mem, &args(s), argv, buf)
}

pub fn args_sizes_get(
    mem: &mut GuestMemory<'_>,
    s: &mut HostState,
    count: i32,
    size: i32,
) -> WasiResult {
    write_sizes(mem, &args(s), count, size)
}

pub fn environ_get(mem: &mut GuestMemory<'_>, s: &mut HostState, env: i32, buf: i32) -> WasiResult {
    write_strings(mem, &environ(s), env, buf)
}

pub fn environ_sizes_get(
    mem: &mut GuestMemory<'_>,
    s: &mut HostState,
    count: i32,
    size: i32,
) -> WasiResult {
    write_sizes(mem, &environ(s), count, size)
}

pub fn clock_res_get(mem: &mut GuestMemory<'_>, id: i32, out: i32) -> WasiResult {
    if id as u32 > CLOCK_THREAD_CPUTIME {
        return Err(EINVAL.into());
    }
    mem.write_u64(out, 1)?;
    Ok(0)
}

/// Every clock reads the block time: wall, monotonic and CPU clocks alike.
pub fn clock_time_get(
    mem: &mut GuestMemory<'_>,
    s: &mut HostState,
    id: i32,
    out: i32,
) -> WasiResult {
    if id as u32 > CLOCK_THREAD_CPUTIME {
        return Err(EINVAL.into());
    }
    let _ = CLOCK_REALTIME;
    mem.write_u64(out, s.block.time_unix_nanos)?;
    Ok(0)
}

pub fn random_get(mem: &mut GuestMemory<'_>, s: &mut HostState, buf: i32, len: i32) -> WasiResult {
    let out = mem.slice_mut(buf, len as u32 as usize)?;
    s.rng.fill_bytes(out);
    Ok(out.len() as u64)
}

/// Every subscription fires at once: time does not pass inside a block, and stdin is all there.
pub fn poll_oneoff(
    mem: &mut GuestMemory<'_>,
    _s: &mut HostState,
    inp: i32,
    out: i32,
    n: i32,
    nout: i32,
) -> WasiResult {
    let n = n as u32 as usize;
    if n == 0 {
        return Err(EINVAL.into());
    }
    mem.slice(inp, n.checked_mul(SUBSCRIPTION_SIZE).ok_or(EFAULT)?)?;
    mem.slice(out, n.checked_mul(EVENT_SIZE).ok_or(EFAULT)?)?;
    for i in 0..n {
        let sub = inp.wrapping_add((i * SUBSCRIPTION_SIZE) as i32);
        let userdata = mem.read_u64(sub)?;
        let tag = mem.slice(sub.wrapping_add(8), 1)?[0];
        let mut event = [0u8; EVENT_SIZE];
        event[..8].copy_from_slice(&userdata.to_le_bytes());
        event[10] = tag;
        if tag != EVENTTYPE_CLOCK {
            // fd_read / fd_write readiness: report one byte available, no flags.
            event[16..24].copy_from_slice(&1u64.to_le_bytes());
        }
        mem.write(out.wrapping_add((i * EVENT_SIZE) as i32), &event)?;
    }
    mem.write_u32(nout, n as u32)?;
    Ok((n * EVENT_SIZE) as u64)
}
