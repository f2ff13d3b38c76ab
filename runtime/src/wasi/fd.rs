//! Descriptor calls: stdio, files and directories of the function's filesystem.

use nexus_vfs::{FileKind, Stat};
use wasmtime::Linker;

use std::sync::Arc;

use super::fd_table::{FdKind, Listing};
use super::types::*;
use super::{run, WasiResult, C, MODULE};
use crate::limits::{
    MAX_IO_CHUNK_BYTES, MAX_READDIR_ENTRIES, MAX_STDOUT_BYTES, READDIR_FUEL_PER_ENTRY,
    STATE_WRITE_FUEL_PER_BYTE,
};
use crate::state::HostState;
use crate::HostTrap;

pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let m = MODULE;
    linker.func_wrap(
        m,
        "fd_advise",
        |mut c: C, fd: i32, _o: i64, _l: i64, _a: i32| {
            run(&mut c, |_, s| s.fds.get(fd).map(|_| 0).map_err(Into::into))
        },
    )?;
    linker.func_wrap(m, "fd_allocate", |mut c: C, fd: i32, off: i64, len: i64| {
        run(&mut c, |_, s| allocate(s, fd, off, len))
    })?;
    linker.func_wrap(m, "fd_close", |mut c: C, fd: i32| {
        run(&mut c, |_, s| {
            s.fds.remove(fd).map(|_| 0).map_err(Into::into)
        })
    })?;
    linker.func_wrap(m, "fd_datasync", |mut c: C, fd: i32| {
        run(&mut c, |_, s| s.fds.get(fd).map(|_| 0).map_err(Into::into))
    })?;
    linker.func_wrap(m, "fd_sync", |mut c: C, fd: i32| {
        run(&mut c, |_, s| s.fds.get(fd).map(|_| 0).map_err(Into::into))
    })?;
    linker.func_wrap(m, "fd_fdstat_get", |mut c: C, fd: i32, out: i32| {
        run(&mut c, |mem, s| fdstat_get(mem, s, fd, out))
    })?;
    linker.func_wrap(m, "fd_fdstat_set_flags", |mut c: C, fd: i32, flags: i32| {
        run(&mut c, |_, s| fdstat_set_flags(s, fd, flags as u16))
    })?;
    linker.func_wrap(
        m,
        "fd_fdstat_set_rights",
        |mut c: C, fd: i32, _b: i64, _i: i64| {
            run(&mut c, |_, s| s.fds.get(fd).map(|_| 0).map_err(Into::into))
        },
    )?;
    linker.func_wrap(m, "fd_filestat_get", |mut c: C, fd: i32, out: i32| {
        run(&mut c, |mem, s| filestat_get(mem, s, fd, out))
    })?;
    linker.func_wrap(m, "fd_filestat_set_size", |mut c: C, fd: i32, size: i64| {
        run(&mut c, |_, s| filestat_set_size(s, fd, size))
    })?;
    linker.func_wrap(
        m,
        "fd_filestat_set_times",
        |mut c: C, fd: i32, atim: i64, mtim: i64, flags: i32| {
            run(&mut c, |_, s| {
                let ino = match s.fds.get(fd)? {
                    FdKind::File { ino, .. } | FdKind::Dir { ino, .. } => *ino,
                    _ => return Err(EBADF.into()),
                };
                set_times(s, ino, atim as u64, mtim as u64, flags as u16)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_pread",
        |mut c: C, fd: i32, iovs: i32, n: i32, off: i64, out: i32| {
            run(&mut c, |mem, s| {
                read(mem, s, fd, iovs, n, Some(off as u64), out)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_read",
        |mut c: C, fd: i32, iovs: i32, n: i32, out: i32| {
            run(&mut c, |mem, s| read(mem, s, fd, iovs, n, None, out))
        },
    )?;
    linker.func_wrap(
        m,
        "fd_pwrite",
        |mut c: C, fd: i32, iovs: i32, n: i32, off: i64, out: i32| {
            run(&mut c, |mem, s| {
                write(mem, s, fd, iovs, n, Some(off as u64), out)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_write",
        |mut c: C, fd: i32, iovs: i32, n: i32, out: i32| {
            run(&mut c, |mem, s| write(mem, s, fd, iovs, n, None, out))
        },
    )?;
    linker.func_wrap(m, "fd_prestat_get", |mut c: C, fd: i32, out: i32| {
        run(&mut c, |mem, s| match s.fds.get(fd)? {
            FdKind::Dir {
                preopen: Some(name),
                ..
            } => {
                mem.write_u32(out, 0)?;
                mem.write_u32(out.wrapping_add(4), name.len() as u32)?;
                Ok(0)
            }
            _ => Err(EBADF.into()),
        })
    })?;
    linker.func_wrap(
        m,
        "fd_prestat_dir_name",
        |mut c: C, fd: i32, buf: i32, len: i32| {
            run(&mut c, |mem, s| match s.fds.get(fd)? {
                FdKind::Dir {
                    preopen: Some(name),
                    ..
                } => {
                    if (len as u32 as usize) < name.len() {
                        return Err(EINVAL.into());
                    }
                    mem.write(buf, name.as_bytes())?;
                    Ok(0)
                }
                _ => Err(EBADF.into()),
            })
        },
    )?;
    linker.func_wrap(
        m,
        "fd_readdir",
        |mut c: C, fd: i32, buf: i32, len: i32, cookie: i64, out: i32| {
            run(&mut c, |mem, s| {
                readdir(mem, s, fd, buf, len, cookie as u64, out)
            })
        },
    )?;
    linker.func_wrap(m, "fd_renumber", |mut c: C, from: i32, to: i32| {
        run(&mut c, |_, s| {
            s.fds.renumber(from, to).map(|_| 0).map_err(Into::into)
        })
    })?;
    linker.func_wrap(
        m,
        "fd_seek",
        |mut c: C, fd: i32, off: i64, whence: i32, out: i32| {
            run(&mut c, |mem, s| seek(mem, s, fd, off, whence as u8, out))
        },
    )?;
    linker.func_wrap(m, "fd_tell", |mut c: C, fd: i32, out: i32| {
        run(&mut c, |mem, s| seek(mem, s, fd, 0, WHENCE_CUR, out))
    })?;
    Ok(())
}

pub(crate) fn filetype(kind: FileKind) -> u8 {
    match kind {
        FileKind::File => FILETYPE_REGULAR_FILE,
        FileKind::Dir => FILETYPE_DIRECTORY,
    }
}

/// Encodes a preview1 `filestat`.
pub(crate) fn write_filestat(mem: &mut GuestMemory<'_>, out: i32, st: &Stat) -> Result<(), Errno> {
    let mut b = [0u8; FILESTAT_SIZE];
    b[8..16].copy_from_slice(&st.ino.to_le_bytes());
    b[16] = filetype(st.kind);
    b[24..32].copy_from_slice(&st.nlink.to_le_bytes());
    b[32..40].copy_from_slice(&st.size.to_le_bytes());
    b[40..48].copy_from_slice(&st.atime_ns.to_le_bytes());
    b[48..56].copy_from_slice(&st.mtime_ns.to_le_bytes());
    b[56..64].copy_from_slice(&st.ctime_ns.to_le_bytes());
    mem.write(out, &b)
}

fn fdstat_get(mem: &mut GuestMemory<'_>, s: &mut HostState, fd: i32, out: i32) -> WasiResult {
    let (filetype, flags) = match s.fds.get(fd)? {
        FdKind::Stdin | FdKind::Stdout | FdKind::Stderr => (FILETYPE_CHARACTER_DEVICE, 0),
        FdKind::Dir { .. } => (FILETYPE_DIRECTORY, 0),
        FdKind::File { append, .. } => (
            FILETYPE_REGULAR_FILE,
            if *append { FDFLAGS_APPEND } else { 0 },
        ),
    };
    let mut b = [0u8; 24];
    b[0] = filetype;
    b[2..4].copy_from_slice(&flags.to_le_bytes());
    b[8..16].copy_from_slice(&RIGHTS_ALL.to_le_bytes());
    b[16..24].copy_from_slice(&RIGHTS_ALL.to_le_bytes());
    mem.write(out, &b)?;
    Ok(0)
}

fn fdstat_set_flags(s: &mut HostState, fd: i32, flags: u16) -> WasiResult {
    match s.fds.get_mut(fd)? {
        FdKind::File { append, .. } => {
            *append = flags & FDFLAGS_APPEND != 0;
            Ok(0)
        }
        _ if flags & FDFLAGS_APPEND == 0 => Ok(0),
        _ => Err(EINVAL.into()),
    }
}

fn stdio_stat() -> Stat {
    Stat {
        ino: 0,
        kind: FileKind::File,
        size: 0,
        nlink: 1,
        mtime_ns: 0,
        ctime_ns: 0,
        atime_ns: 0,
    }
}

fn filestat_get(mem: &mut GuestMemory<'_>, s: &mut HostState, fd: i32, out: i32) -> WasiResult {
    let st = match s.fds.get(fd)? {
        FdKind::Stdin | FdKind::Stdout | FdKind::Stderr => {
            let mut b = [0u8; FILESTAT_SIZE];
            b[16] = FILETYPE_CHARACTER_DEVICE;
            mem.write(out, &b)?;
            let _ = stdio_stat;
            return Ok(0);
        }
        FdKind::Dir { ino, .. } | FdKind::File { ino, .. } => {
            let ino = *ino;
            s.fs().stat(ino)?
        }
    };
    write_filestat(mem, out, &st)?;
    Ok(0)
}

fn file_ino(s: &HostState, fd: i32, need_write: bool) -> Result<u64, Errno> {
    match s.fds.get(fd)? {
        FdKind::File { ino, write, .. } => {
            if need_write && !write {
                Err(EBADF)
            } else {
                Ok(*ino)
            }
        }
        FdKind::Dir { .. } => Err(EISDIR),
        _ => Err(EINVAL),
    }
}

fn filestat_set_size(s: &mut HostState, fd: i32, size: i64) -> WasiResult {
    let ino = file_ino(s, fd, true)?;
    if size < 0 {
        return Err(EINVAL.into());
    }
    s.fs().set_size(ino, size as u64)?;
    Ok(0)
}

fn allocate(s: &mut HostState, fd: i32, off: i64, len: i64) -> WasiResult {
    let ino = file_ino(s, fd, true)?;
    let end = (off as u64).checked_add(len as u64).ok_or(EFBIG_OR_INVAL)?;
    if off < 0 || len < 0 {
        return Err(EINVAL.into());
    }
    let mut fs = s.fs();
    if fs.stat(ino)?.size < end {
        fs.set_size(ino, end)?;
    }
    Ok(0)
}

const EFBIG_OR_INVAL: Errno = EINVAL;

pub(crate) fn set_times(
    s: &mut HostState,
    ino: u64,
    atim: u64,
    mtim: u64,
    flags: u16,
) -> WasiResult {
    let now = s.block.time_unix_nanos;
    let pick = |set: u16, set_now: u16, value: u64| -> Result<Option<u64>, Errno> {
        match (flags & set != 0, flags & set_now != 0) {
            (true, true) => Err(EINVAL),
            (true, false) => Ok(Some(value)),
            (false, true) => Ok(Some(now)),
            (false, false) => Ok(None),
        }
    };
    let a = pick(FSTFLAGS_ATIM, FSTFLAGS_ATIM_NOW, atim)?;
    let m = pick(FSTFLAGS_MTIM, FSTFLAGS_MTIM_NOW, mtim)?;
    s.fs().set_times(ino, a, m)?;
    Ok(0)
}

fn read(
    mem: &mut GuestMemory<'_>,
    s: &mut HostState,
    fd: i32,
    iovs: i32,
    n: i32,
    at: Option<u64>,
    out: i32,
) -> WasiResult {
    let iovs = mem.iovecs(iovs, n, MAX_IO_CHUNK_BYTES)?;
    let want: usize = iovs.iter().map(|(_, l)| l).sum();
    let data = match s.fds.get(fd)? {
        FdKind::Stdin => {
            if at.is_some() {
                return Err(ESPIPE.into());
            }
            let start = s.stdin_pos.min(s.stdin.len());
            let end = (start + want).min(s.stdin.len());
            s.stdin_pos = end;
            s.stdin[start..end].to_vec()
        }
        FdKind::File { ino, pos, read, .. } => {
            if !read {
                return Err(EBADF.into());
            }
            let (ino, offset) = (*ino, at.unwrap_or(*pos));
            let fs = s.fs();
            // Size the buffer by what the file holds, not by what the guest asked for: a huge
            // iovec at end of file must not cost the node a huge allocation for base fuel.
            let available = fs.stat(ino)?.size.saturating_sub(offset);
            let mut buf = vec![0u8; want.min(usize::try_from(available).unwrap_or(usize::MAX))];
            let got = fs.read(ino, offset, &mut buf)?;
            buf.truncate(got);
            if at.is_none() {
                if let FdKind::File { pos, .. } = s.fds.get_mut(fd)? {
                    *pos = offset + got as u64;
                }
            }
            buf
        }
        FdKind::Dir { .. } => return Err(EISDIR.into()),
        FdKind::Stdout | FdKind::Stderr => return Err(EBADF.into()),
    };
    let n = mem.scatter(&iovs, &data)?;
    mem.write_u32(out, n as u32)?;
    Ok(n as u64)
}

fn write(
    mem: &mut GuestMemory<'_>,
    s: &mut HostState,
    fd: i32,
    iovs: i32,
    n: i32,
    at: Option<u64>,
    out: i32,
) -> WasiResult {
    let iovs = mem.iovecs(iovs, n, MAX_IO_CHUNK_BYTES)?;
    let data = mem.gather(&iovs)?;
    let fuel = match s.fds.get(fd)? {
        FdKind::Stdout => {
            if s.stdout.len() + data.len() > MAX_STDOUT_BYTES {
                return Err(HostTrap::Limit(format!(
                    "stdout exceeds {MAX_STDOUT_BYTES} bytes (MAX_STDOUT_BYTES)"
                ))
                .into());
            }
            s.stdout.extend_from_slice(&data);
            data.len() as u64
        }
        FdKind::Stderr => {
            s.stderr.push(&data);
            data.len() as u64
        }
        FdKind::File {
            ino,
            pos,
            write,
            append,
            ..
        } => {
            if !write {
                return Err(EBADF.into());
            }
            let (ino, pos, append) = (*ino, *pos, *append);
            let mut fs = s.fs();
            let offset = match at {
                Some(off) => off,
                None if append => fs.stat(ino)?.size,
                None => pos,
            };
            let written = fs.write(ino, offset, &data)?;
            if at.is_none() {
                if let FdKind::File { pos, .. } = s.fds.get_mut(fd)? {
                    *pos = offset + written as u64;
                }
            }
            data.len() as u64 * (1 + STATE_WRITE_FUEL_PER_BYTE)
        }
        FdKind::Dir { .. } => return Err(EISDIR.into()),
        FdKind::Stdin => return Err(EBADF.into()),
    };
    mem.write_u32(out, data.len() as u32)?;
    Ok(fuel)
}

fn seek(
    mem: &mut GuestMemory<'_>,
    s: &mut HostState,
    fd: i32,
    off: i64,
    whence: u8,
    out: i32,
) -> WasiResult {
    let (ino, pos) = match s.fds.get(fd)? {
        FdKind::File { ino, pos, .. } => (*ino, *pos),
        FdKind::Dir { .. } => return Err(EISDIR.into()),
        _ => return Err(ESPIPE.into()),
    };
    let base = match whence {
        WHENCE_SET => 0i128,
        WHENCE_CUR => pos as i128,
        WHENCE_END => s.fs().stat(ino)?.size as i128,
        _ => return Err(EINVAL.into()),
    };
    let new = base + off as i128;
    if new < 0 || new > i64::MAX as i128 {
        return Err(EINVAL.into());
    }
    if let FdKind::File { pos, .. } = s.fds.get_mut(fd)? {
        *pos = new as u64;
    }
    mem.write_u64(out, new as u64)?;
    Ok(0)
}

/// Entries are `.`, `..`, then the directory's children sorted by name bytes; the cookie of an
/// entry is its index + 1 in that order.
fn readdir(
    mem: &mut GuestMemory<'_>,
    s: &mut HostState,
    fd: i32,
    buf: i32,
    len: i32,
    cookie: u64,
    out: i32,
) -> WasiResult {
    let (ino, cached) = match s.fds.get(fd)? {
        FdKind::Dir { ino, listing, .. } => (*ino, listing.clone()),
        _ => return Err(ENOTDIR.into()),
    };
    let mut fuel = 0;
    let listing = match cached {
        Some(listing) if cookie != 0 => listing,
        _ => {
            let children = s.fs().readdir(ino, None, MAX_READDIR_ENTRIES)?;
            fuel += children.len() as u64 * READDIR_FUEL_PER_ENTRY;
            let dots = [
                (b".".to_vec(), ino, FILETYPE_DIRECTORY),
                (b"..".to_vec(), ino, FILETYPE_DIRECTORY),
            ];
            let listing: Listing = Arc::new(
                dots.into_iter()
                    .chain(
                        children
                            .into_iter()
                            .map(|e| (e.name, e.ino, filetype(e.kind))),
                    )
                    .collect(),
            );
            if let FdKind::Dir { listing: slot, .. } = s.fds.get_mut(fd)? {
                *slot = Some(listing.clone());
            }
            listing
        }
    };
    let entries = listing.iter().cloned();
    let cap = len as u32 as usize;
    mem.slice(buf, cap)?;
    let mut bytes = Vec::with_capacity(cap);
    for (i, (name, ino, ty)) in entries
        .enumerate()
        .skip(cookie.min(usize::MAX as u64) as usize)
    {
        if bytes.len() >= cap {
            break;
        }
        let mut header = [0u8; DIRENT_HEADER_SIZE];
        header[..8].copy_from_slice(&(i as u64 + 1).to_le_bytes());
        header[8..16].copy_from_slice(&ino.to_le_bytes());
        header[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
        header[20] = ty;
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(&name);
    }
    // A full buffer (possibly ending in a cut entry) tells libc to call again.
    bytes.truncate(cap);
    mem.write(buf, &bytes)?;
    mem.write_u32(out, bytes.len() as u32)?;
    Ok(bytes.len() as u64 + fuel)
}
