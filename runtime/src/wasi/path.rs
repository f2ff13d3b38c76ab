//! Path calls, relative to a directory descriptor. The sandbox rules (no absolute paths, no `..`,
//! no symlinks) are enforced by `nexus-vfs`; here only descriptors and encodings are handled.

use nexus_vfs::{FileKind, OpenOptions};
use wasmtime::Linker;

use super::fd::{set_times, write_filestat};
use super::fd_table::FdKind;
use super::types::*;
use super::{run, WasiResult, C, MODULE};
use crate::limits::MAX_OPEN_FDS;
use crate::state::HostState;

pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    let m = MODULE;
    linker.func_wrap(
        m,
        "path_create_directory",
        |mut c: C, fd: i32, p: i32, l: i32| {
            run(&mut c, |mem, s| {
                let dir = s.fds.dir(fd)?;
                let path = &mem.str(p, l)?.to_owned();
                s.fs().mkdir(dir, path)?;
                Ok(path.len() as u64)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "path_filestat_get",
        |mut c: C, fd: i32, _flags: i32, p: i32, l: i32, out: i32| {
            run(&mut c, |mem, s| {
                let dir = s.fds.dir(fd)?;
                let path = &mem.str(p, l)?.to_owned();
                let fs = s.fs();
                let ino = fs.resolve(dir, path)?;
                let st = fs.stat(ino)?;
                write_filestat(mem, out, &st)?;
                Ok(path.len() as u64)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "path_filestat_set_times",
        |mut c: C, fd: i32, _flags: i32, p: i32, l: i32, atim: i64, mtim: i64, fst: i32| {
            run(&mut c, |mem, s| {
                let dir = s.fds.dir(fd)?;
                let path = &mem.str(p, l)?.to_owned();
                let ino = s.fs().resolve(dir, path)?;
                set_times(s, ino, atim as u64, mtim as u64, fst as u16)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "path_link",
        |mut c: C, _fd: i32, _f: i32, _p: i32, _l: i32, _nfd: i32, _np: i32, _nl: i32| {
            run(&mut c, |_, _| Err(ENOTSUP.into()))
        },
    )?;
    linker.func_wrap(
        m,
        "path_open",
        |mut c: C,
         fd: i32,
         _dirflags: i32,
         p: i32,
         l: i32,
         oflags: i32,
         rights: i64,
         _inheriting: i64,
         fdflags: i32,
         out: i32| {
            run(&mut c, |mem, s| {
                open(
                    mem,
                    s,
                    fd,
                    p,
                    l,
                    oflags as u16,
                    rights as u64,
                    fdflags as u16,
                    out,
                )
            })
        },
    )?;
    linker.func_wrap(
        m,
        "path_readlink",
        |mut c: C, fd: i32, p: i32, l: i32, _buf: i32, _len: i32, _out: i32| {
            run(&mut c, |mem, s| {
                let dir = s.fds.dir(fd)?;
                let path = &mem.str(p, l)?.to_owned();
                // No symlinks exist: an existing path is "not a link".
                s.fs().resolve(dir, path)?;
                Err(EINVAL.into())
            })
        },
    )?;
    linker.func_wrap(
        m,
        "path_remove_directory",
        |mut c: C, fd: i32, p: i32, l: i32| {
            run(&mut c, |mem, s| {
                let dir = s.fds.dir(fd)?;
                let path = &mem.str(p, l)?.to_owned();
                s.fs().rmdir(dir, path)?;
                Ok(path.len() as u64)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "path_rename",
        |mut c: C, fd: i32, p: i32, l: i32, nfd: i32, np: i32, nl: i32| {
            run(&mut c, |mem, s| {
                let from_dir = s.fds.dir(fd)?;
                let to_dir = s.fds.dir(nfd)?;
                let from = &mem.str(p, l)?.to_owned();
                let to = &mem.str(np, nl)?.to_owned();
                s.fs().rename(from_dir, from, to_dir, to)?;
                Ok((from.len() + to.len()) as u64)
            })
        },
    )?;
    linker.func_wrap(
        m,
        "path_symlink",
        |mut c: C, _p: i32, _l: i32, _fd: i32, _np: i32, _nl: i32| {
            run(&mut c, |_, _| Err(ENOTSUP.into()))
        },
    )?;
    linker.func_wrap(
        m,
        "path_unlink_file",
        |mut c: C, fd: i32, p: i32, l: i32| {
            run(&mut c, |mem, s| {
                let dir = s.fds.dir(fd)?;
                let path = &mem.str(p, l)?.to_owned();
                s.fs().unlink(dir, path)?;
                Ok(path.len() as u64)
            })
        },
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn open(
    mem: &mut GuestMemory<'_>,
    s: &mut HostState,
    fd: i32,
    p: i32,
    l: i32,
    oflags: u16,
    rights: u64,
    fdflags: u16,
    out: i32,
) -> WasiResult {
    let dir = s.fds.dir(fd)?;
    let path = &mem.str(p, l)?.to_owned();
    // Check the table before touching the filesystem, so EMFILE leaves no file behind.
    if s.fds.len() >= MAX_OPEN_FDS {
        return Err(EMFILE.into());
    }
    let want_write = rights & RIGHTS_FD_WRITE != 0 || oflags & OFLAGS_TRUNC != 0;
    let opts = OpenOptions {
        create: oflags & OFLAGS_CREAT != 0,
        exclusive: oflags & OFLAGS_EXCL != 0,
        truncate: oflags & OFLAGS_TRUNC != 0,
        directory: oflags & OFLAGS_DIRECTORY != 0,
    };
    let mut fs = s.fs();
    let ino = fs.open(dir, path, opts)?;
    let kind = fs.stat(ino)?.kind;
    let entry = match kind {
        FileKind::Dir if want_write => return Err(EISDIR.into()),
        FileKind::Dir => FdKind::Dir {
            ino,
            preopen: None,
            listing: None,
        },
        FileKind::File => FdKind::File {
            ino,
            pos: 0,
            read: rights & RIGHTS_FD_READ != 0 || !want_write,
            write: want_write,
            append: fdflags & FDFLAGS_APPEND != 0,
        },
    };
    let new_fd = s.fds.insert(entry)?;
    mem.write_u32(out, new_fd)?;
    Ok(path.len() as u64)
}
