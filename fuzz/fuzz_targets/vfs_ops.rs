//! Arbitrary sequences of filesystem operations (paths, offsets, sizes and bytes chosen by the
//! fuzzer) over an in-memory state: no operation may panic, and a failed operation must leave the
//! state unchanged (the crate's documented all-or-nothing rule). Errors are fine.
//!
//! Paths are built from a few names plus `.`, `..`, empty components, leading and trailing `/`
//! and arbitrary raw components, so most operations hit entries that exist. Inodes returned by
//! `open`/`mkdir` are remembered and used as directory handles and file handles (including
//! stale ones after removal, which must fail cleanly). Between operations the pending changes
//! may be committed to the base state, or put in a layer that is then kept or discarded.
#![no_main]

use std::sync::Arc;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use nexus_store::{KeyValues, MemoryState, StateView};
use nexus_vfs::{Fs, FsError, FsQuota, Ino, OpenOptions, ROOT_INO};

const PREFIX: &[u8] = b"fs/fuzz/";
/// Most operations per input (bounds the work of one input).
const MAX_OPS: usize = 64;
/// Largest read buffer.
const MAX_READ: usize = 1 << 16;

#[derive(Arbitrary, Debug)]
enum Comp {
    A,
    B,
    C,
    Dot,
    DotDot,
    Empty,
    Raw(String),
}

#[derive(Arbitrary, Debug)]
struct FuzzPath {
    absolute: bool,
    comps: Vec<Comp>,
    trailing_slash: bool,
}

impl FuzzPath {
    fn render(&self) -> String {
        let mut s = String::new();
        if self.absolute {
            s.push('/');
        }
        for (i, c) in self.comps.iter().enumerate() {
            if i > 0 {
                s.push('/');
            }
            s.push_str(match c {
                Comp::A => "a",
                Comp::B => "b",
                Comp::C => "c",
                Comp::Dot => ".",
                Comp::DotDot => "..",
                Comp::Empty => "",
                Comp::Raw(r) => r,
            });
        }
        if self.trailing_slash {
            s.push('/');
        }
        s
    }
}

/// A directory or file handle: the root, or the `n`-th remembered inode (modulo their number),
/// or a raw inode number.
#[derive(Arbitrary, Debug)]
enum Handle {
    Root,
    Known(u8),
    Raw(u64),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Open {
        dir: Handle,
        path: FuzzPath,
        create: bool,
        exclusive: bool,
        truncate: bool,
        directory: bool,
    },
    Mkdir(Handle, FuzzPath),
    Rmdir(Handle, FuzzPath),
    Unlink(Handle, FuzzPath),
    Rename(Handle, FuzzPath, Handle, FuzzPath),
    Write(Handle, Offset, Vec<u8>),
    Read(Handle, Offset, u16),
    SetSize(Handle, Offset),
    Stat(Handle),
    SetTimes(Handle, Option<u64>, Option<u64>),
    Readdir(Handle, Option<Vec<u8>>, u8),
    Resolve(Handle, FuzzPath),
    /// Commit the block's pending changes into the base state.
    Commit,
    /// Run the next operations in a layer ...
    PushLayer,
    /// ... and keep (`true`) or discard it.
    PopLayer(bool),
}

/// Offsets and sizes: mostly near chunk boundaries and limits, sometimes anything.
#[derive(Arbitrary, Debug)]
enum Offset {
    Small(u16),
    Chunks(u8, i8),
    Big(u32),
    Any(u64),
}

impl Offset {
    fn value(&self) -> u64 {
        match *self {
            Offset::Small(n) => n.into(),
            Offset::Chunks(n, d) => {
                (u64::from(n) * nexus_vfs::CHUNK_SIZE as u64).wrapping_add_signed(d.into())
            }
            Offset::Big(n) => n.into(),
            Offset::Any(n) => n,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// Small quotas are the interesting ones (EDQUOT/EFBIG paths).
    max_total_bytes: u32,
    max_files: u8,
    max_file_size: u32,
    ops: Vec<Op>,
}

fn snapshot(view: &StateView) -> KeyValues {
    view.scan_prefix(PREFIX, None, usize::MAX)
        .expect("in-memory scan")
}

fuzz_target!(|input: Input| {
    let base = Arc::new(MemoryState::new());
    let mut view = StateView::new(base.clone());
    let quota = FsQuota {
        max_total_bytes: input.max_total_bytes.into(),
        max_files: input.max_files.into(),
        max_file_size: input.max_file_size.into(),
    };
    let mut known: Vec<Ino> = Vec::new();
    let mut now = 1_000u64;
    for op in input.ops.iter().take(MAX_OPS) {
        now += 1;
        let pick = |h: &Handle| -> Ino {
            match *h {
                Handle::Root => ROOT_INO,
                Handle::Known(i) if !known.is_empty() => known[i as usize % known.len()],
                Handle::Known(_) => ROOT_INO,
                Handle::Raw(n) => n,
            }
        };
        let mut created: Option<Ino> = None;
        match op {
            Op::Commit => {
                if view.depth() == 0 {
                    base.apply(view.take_block_changes());
                }
                continue;
            }
            Op::PushLayer => {
                if view.depth() < 4 {
                    view.push_layer();
                }
                continue;
            }
            Op::PopLayer(keep) => {
                if view.depth() > 0 {
                    if *keep {
                        view.commit_layer();
                    } else {
                        view.discard_layer();
                    }
                }
                continue;
            }
            _ => {}
        }
        let before = snapshot(&view);
        let mut fs = Fs::new(&mut view, PREFIX, now, quota);
        let result: Result<(), FsError> = match op {
            Op::Open {
                dir,
                path,
                create,
                exclusive,
                truncate,
                directory,
            } => {
                let opts = OpenOptions {
                    create: *create,
                    exclusive: *exclusive,
                    truncate: *truncate,
                    directory: *directory,
                };
                fs.open(pick(dir), &path.render(), opts)
                    .map(|ino| created = Some(ino))
            }
            Op::Mkdir(dir, path) => fs
                .mkdir(pick(dir), &path.render())
                .map(|ino| created = Some(ino)),
            Op::Rmdir(dir, path) => fs.rmdir(pick(dir), &path.render()),
            Op::Unlink(dir, path) => fs.unlink(pick(dir), &path.render()),
            Op::Rename(fd, from, td, to) => {
                fs.rename(pick(fd), &from.render(), pick(td), &to.render())
            }
            Op::Write(h, offset, data) => fs.write(pick(h), offset.value(), data).map(|n| {
                assert_eq!(n, data.len(), "writes are all or nothing");
            }),
            Op::Read(h, offset, len) => {
                let mut buf = vec![0xaa; usize::from(*len).min(MAX_READ)];
                fs.read(pick(h), offset.value(), &mut buf).map(|n| {
                    assert!(n <= buf.len());
                })
            }
            Op::SetSize(h, size) => fs.set_size(pick(h), size.value()),
            Op::Stat(h) => fs.stat(pick(h)).map(drop),
            Op::SetTimes(h, a, m) => fs.set_times(pick(h), *a, *m),
            Op::Readdir(h, after, limit) => fs
                .readdir(pick(h), after.as_deref(), usize::from(*limit))
                .map(|entries| assert!(entries.len() <= usize::from(*limit))),
            Op::Resolve(h, path) => fs.resolve(pick(h), &path.render()).map(drop),
            Op::Commit | Op::PushLayer | Op::PopLayer(_) => unreachable!("handled above"),
        };
        if let Ok(usage) = fs.usage() {
            assert!(usage.bytes <= quota.max_total_bytes, "byte quota exceeded");
            assert!(usage.files <= quota.max_files, "file quota exceeded");
        }
        if result.is_err() {
            assert!(
                snapshot(&view) == before,
                "failed {op:?} changed the state: {result:?}"
            );
        }
        if let Some(ino) = created {
            if known.len() < 256 {
                known.push(ino);
            }
        }
    }
});
