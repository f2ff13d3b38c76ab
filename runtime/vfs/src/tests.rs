//! Unit tests: one per rule of the filesystem.

mod model;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use nexus_store::{StateRead, StateView, StoreError};

use crate::*;

const PREFIX: &[u8] = b"fs/test/";
const NOW: u64 = 1_000;

/// In-memory committed state that counts `get` calls.
#[derive(Default)]
struct MemState {
    map: BTreeMap<Vec<u8>, Vec<u8>>,
    gets: AtomicUsize,
}

impl StateRead for MemState {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.gets.fetch_add(1, Ordering::Relaxed);
        Ok(self.map.get(key).cloned())
    }
    fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
        Ok(self
            .map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .filter(|(k, _)| after.is_none_or(|a| k.as_slice() > a))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

fn new_view() -> StateView {
    StateView::new(Arc::new(MemState::default()))
}

/// Commits the view's block changes into a fresh base and returns it.
fn committed(view: &mut StateView) -> Arc<MemState> {
    let mut map = BTreeMap::new();
    for (k, v) in view.scan_prefix(b"", None, usize::MAX).unwrap() {
        map.insert(k, v);
    }
    Arc::new(MemState {
        map,
        gets: AtomicUsize::new(0),
    })
}

fn fs(view: &mut StateView) -> Fs<'_> {
    Fs::new(view, PREFIX, NOW, FsQuota::default())
}

fn snapshot(fs: &Fs<'_>) -> Vec<(Vec<u8>, Vec<u8>)> {
    fs.state.scan_prefix(b"", None, usize::MAX).unwrap()
}

fn create(fs: &mut Fs<'_>, path: &str) -> Ino {
    let opts = OpenOptions {
        create: true,
        ..Default::default()
    };
    fs.open(ROOT_INO, path, opts).unwrap()
}

fn write_file(fs: &mut Fs<'_>, path: &str, data: &[u8]) -> Ino {
    let ino = create(fs, path);
    assert_eq!(fs.write(ino, 0, data).unwrap(), data.len());
    ino
}

fn read_all(fs: &Fs<'_>, ino: Ino) -> Vec<u8> {
    let size = fs.stat(ino).unwrap().size as usize;
    let mut buf = vec![0xAA; size + 10];
    let n = fs.read(ino, 0, &mut buf).unwrap();
    assert_eq!(n, size);
    buf.truncate(n);
    buf
}

fn errno_of<T: std::fmt::Debug>(r: Result<T, FsError>) -> u16 {
    r.unwrap_err().errno()
}

fn names(fs: &Fs<'_>, dir: Ino) -> Vec<String> {
    fs.readdir(dir, None, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8(e.name).unwrap())
        .collect()
}

/// Asserts `op` fails with `errno` and leaves the state byte-for-byte unchanged.
fn assert_fails_cleanly<T: std::fmt::Debug>(
    fs: &mut Fs<'_>,
    errno: u16,
    op: impl FnOnce(&mut Fs<'_>) -> Result<T, FsError>,
) {
    let before = snapshot(fs);
    assert_eq!(errno_of(op(fs)), errno);
    assert_eq!(snapshot(fs), before, "state changed by a failed operation");
}

// ---- errno ----

#[test]
fn errno_numbers_match_wasi_preview1() {
    assert_eq!(FsError::NotFound.errno(), 44);
    assert_eq!(FsError::Exists.errno(), 20);
    assert_eq!(FsError::NotDir.errno(), 54);
    assert_eq!(FsError::IsDir.errno(), 31);
    assert_eq!(FsError::NotEmpty.errno(), 55);
    assert_eq!(FsError::Invalid("x").errno(), 28);
    assert_eq!(FsError::NameTooLong.errno(), 37);
    assert_eq!(FsError::NotCapable.errno(), 76);
    assert_eq!(FsError::FileTooBig.errno(), 22);
    assert_eq!(FsError::QuotaExceeded.errno(), 19);
    assert_eq!(FsError::BadInode(9).errno(), 8);
    assert_eq!(FsError::Corrupt("x".into()).errno(), 29);
    assert_eq!(errno::NOSPC, 51);
    assert_eq!(errno::PERM, 63);
}

// ---- paths and the sandbox ----

#[test]
fn absolute_path_is_not_capable() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    create(&mut fs, "f");
    assert_eq!(errno_of(fs.resolve(ROOT_INO, "/f")), errno::NOTCAPABLE);
    assert_eq!(errno_of(fs.resolve(ROOT_INO, "/")), errno::NOTCAPABLE);
    assert_fails_cleanly(&mut fs, errno::NOTCAPABLE, |fs| fs.mkdir(ROOT_INO, "/d"));
}

#[test]
fn path_with_dotdot_is_not_capable() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    create(&mut fs, "f");
    for path in [
        "..",
        "../x",
        "d/..",
        "d/../f",
        "d/../../etc",
        "./..",
        "d/x/../..",
    ] {
        assert_eq!(
            errno_of(fs.resolve(ROOT_INO, path)),
            errno::NOTCAPABLE,
            "{path}"
        );
    }
    assert_eq!(errno_of(fs.resolve(d, "..")), errno::NOTCAPABLE);
    assert_eq!(errno_of(fs.lookup(d, b"..")), errno::NOTCAPABLE);
    assert_fails_cleanly(&mut fs, errno::NOTCAPABLE, |fs| fs.mkdir(d, "../e"));
    assert_fails_cleanly(&mut fs, errno::NOTCAPABLE, |fs| {
        fs.rename(ROOT_INO, "f", d, "../g")
    });
}

#[test]
fn dot_and_repeated_slashes_are_ignored() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    let f = create(&mut fs, "d/f");
    assert_eq!(fs.resolve(ROOT_INO, "./d//./f").unwrap(), f);
    assert_eq!(fs.resolve(ROOT_INO, "d///f").unwrap(), f);
    assert_eq!(fs.resolve(ROOT_INO, ".").unwrap(), ROOT_INO);
    assert_eq!(fs.resolve(ROOT_INO, "d/.").unwrap(), d);
    assert_eq!(fs.resolve(ROOT_INO, "d/").unwrap(), d);
    assert_eq!(fs.resolve(d, "./f").unwrap(), f);
    assert_eq!(fs.lookup(d, b".").unwrap(), d);
}

#[test]
fn empty_path_is_not_found() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    assert_eq!(errno_of(fs.resolve(ROOT_INO, "")), errno::NOENT);
    assert_eq!(errno_of(fs.lookup(ROOT_INO, b"")), errno::NOENT);
    assert_fails_cleanly(&mut fs, errno::NOENT, |fs| {
        fs.open(
            ROOT_INO,
            "",
            OpenOptions {
                create: true,
                ..Default::default()
            },
        )
    });
}

#[test]
fn name_containing_nul_is_invalid() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    assert_fails_cleanly(&mut fs, errno::INVAL, |fs| fs.mkdir(ROOT_INO, "a\0b"));
    assert_eq!(errno_of(fs.lookup(ROOT_INO, b"a\0")), errno::INVAL);
    assert_eq!(errno_of(fs.lookup(ROOT_INO, b"a/b")), errno::INVAL);
}

#[test]
fn name_longer_than_max_name_bytes_is_too_long() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let ok = "n".repeat(MAX_NAME_BYTES);
    fs.mkdir(ROOT_INO, &ok).unwrap();
    let long = "n".repeat(MAX_NAME_BYTES + 1);
    assert_fails_cleanly(&mut fs, errno::NAMETOOLONG, |fs| fs.mkdir(ROOT_INO, &long));
    assert_eq!(
        errno_of(fs.lookup(ROOT_INO, long.as_bytes())),
        errno::NAMETOOLONG
    );
}

#[test]
fn path_deeper_than_max_depth_is_too_long() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let mut path = String::from("d");
    fs.mkdir(ROOT_INO, &path).unwrap();
    for _ in 1..MAX_PATH_DEPTH {
        path.push_str("/d");
        fs.mkdir(ROOT_INO, &path).unwrap();
    }
    assert!(fs.resolve(ROOT_INO, &path).is_ok());
    // `.` components do not count towards the depth.
    assert!(fs.resolve(ROOT_INO, &format!("./{path}/.")).is_ok());
    let deeper = format!("{path}/d");
    assert_fails_cleanly(&mut fs, errno::NAMETOOLONG, |fs| {
        fs.mkdir(ROOT_INO, &deeper)
    });
}

#[test]
fn path_longer_than_max_path_bytes_is_too_long() {
    let mut view = new_view();
    let fs = fs(&mut view);
    let path = "./".repeat(MAX_PATH_BYTES / 2) + "x";
    assert!(path.len() > MAX_PATH_BYTES);
    assert_eq!(errno_of(fs.resolve(ROOT_INO, &path)), errno::NAMETOOLONG);
    assert_eq!(errno_of(fs.resolve(ROOT_INO, &path[2..])), errno::NOENT);
}

#[test]
fn path_through_a_file_is_not_a_directory() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let f = create(&mut fs, "f");
    assert_eq!(errno_of(fs.resolve(ROOT_INO, "f/x")), errno::NOTDIR);
    assert_eq!(errno_of(fs.resolve(ROOT_INO, "f/")), errno::NOTDIR);
    assert_eq!(errno_of(fs.resolve(ROOT_INO, "f/.")), errno::NOTDIR);
    assert_eq!(errno_of(fs.resolve(f, "x")), errno::NOTDIR);
    assert_eq!(errno_of(fs.lookup(f, b"x")), errno::NOTDIR);
    assert_eq!(errno_of(fs.readdir(f, None, 10)), errno::NOTDIR);
    assert_fails_cleanly(&mut fs, errno::NOTDIR, |fs| fs.mkdir(ROOT_INO, "f/d"));
    assert_fails_cleanly(&mut fs, errno::NOTDIR, |fs| fs.unlink(ROOT_INO, "f/"));
}

#[test]
fn resolve_parent_returns_parent_and_last_name() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    assert_eq!(
        fs.resolve_parent(ROOT_INO, "d/new").unwrap(),
        (d, b"new".to_vec())
    );
    assert_eq!(
        fs.resolve_parent(ROOT_INO, "./d//x/").unwrap(),
        (d, b"x".to_vec())
    );
    assert_eq!(
        fs.resolve_parent(ROOT_INO, "x").unwrap(),
        (ROOT_INO, b"x".to_vec())
    );
    assert_eq!(errno_of(fs.resolve_parent(ROOT_INO, ".")), errno::INVAL);
    assert_eq!(errno_of(fs.resolve_parent(ROOT_INO, "d/.")), errno::INVAL);
    assert_eq!(
        errno_of(fs.resolve_parent(ROOT_INO, "nope/x")),
        errno::NOENT
    );
}

#[test]
fn unknown_inode_is_a_bad_descriptor() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    assert_eq!(errno_of(fs.stat(42)), errno::BADF);
    assert_eq!(errno_of(fs.resolve(42, "x")), errno::BADF);
    assert_fails_cleanly(&mut fs, errno::BADF, |fs| fs.write(42, 0, b"x"));
    let f = create(&mut fs, "f");
    fs.unlink(ROOT_INO, "f").unwrap();
    assert_eq!(errno_of(fs.read(f, 0, &mut [0; 4])), errno::BADF);
}

// ---- namespace ----

#[test]
fn root_directory_exists_implicitly() {
    let mut view = new_view();
    let fs = fs(&mut view);
    let st = fs.stat(ROOT_INO).unwrap();
    assert_eq!(
        (st.ino, st.kind, st.size, st.nlink),
        (ROOT_INO, FileKind::Dir, 0, 2)
    );
    assert!(fs.readdir(ROOT_INO, None, 10).unwrap().is_empty());
    assert_eq!(fs.usage().unwrap(), FsUsage::default());
    assert!(snapshot(&fs).is_empty(), "reads must not write");
}

#[test]
fn open_options_create_exclusive_truncate_directory() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let plain = OpenOptions::default();
    let create_ = OpenOptions {
        create: true,
        ..plain
    };
    let excl = OpenOptions {
        exclusive: true,
        ..create_
    };
    let trunc = OpenOptions {
        truncate: true,
        ..plain
    };
    let dir = OpenOptions {
        directory: true,
        ..plain
    };

    assert_fails_cleanly(&mut fs, errno::NOENT, |fs| fs.open(ROOT_INO, "f", plain));
    let f = fs.open(ROOT_INO, "f", excl).unwrap();
    assert_fails_cleanly(&mut fs, errno::EXIST, |fs| fs.open(ROOT_INO, "f", excl));
    assert_eq!(fs.open(ROOT_INO, "f", create_).unwrap(), f);
    fs.write(f, 0, b"hello").unwrap();
    assert_eq!(fs.open(ROOT_INO, "f", plain).unwrap(), f);
    assert_eq!(fs.stat(f).unwrap().size, 5);
    assert_eq!(fs.open(ROOT_INO, "f", trunc).unwrap(), f);
    assert_eq!(fs.stat(f).unwrap().size, 0);
    assert_fails_cleanly(&mut fs, errno::NOTDIR, |fs| fs.open(ROOT_INO, "f", dir));

    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    assert_eq!(fs.open(ROOT_INO, "d", dir).unwrap(), d);
    assert_eq!(fs.open(ROOT_INO, "d", plain).unwrap(), d);
    assert_eq!(fs.open(ROOT_INO, ".", dir).unwrap(), ROOT_INO);
    assert_fails_cleanly(&mut fs, errno::ISDIR, |fs| fs.open(ROOT_INO, "d", trunc));
    assert_fails_cleanly(&mut fs, errno::EXIST, |fs| fs.open(ROOT_INO, "d", excl));
    assert_fails_cleanly(&mut fs, errno::INVAL, |fs| {
        fs.open(
            ROOT_INO,
            "new",
            OpenOptions {
                directory: true,
                ..create_
            },
        )
    });
    assert_fails_cleanly(&mut fs, errno::ISDIR, |fs| {
        fs.open(ROOT_INO, "new/", create_)
    });
}

#[test]
fn mkdir_rmdir_and_unlink_follow_posix() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    assert_eq!(fs.stat(d).unwrap().kind, FileKind::Dir);
    assert_fails_cleanly(&mut fs, errno::EXIST, |fs| fs.mkdir(ROOT_INO, "d"));
    assert_fails_cleanly(&mut fs, errno::EXIST, |fs| fs.mkdir(ROOT_INO, "."));
    assert_fails_cleanly(&mut fs, errno::NOENT, |fs| fs.mkdir(ROOT_INO, "x/y"));
    create(&mut fs, "d/f");
    create(&mut fs, "g");
    assert_fails_cleanly(&mut fs, errno::NOTEMPTY, |fs| fs.rmdir(ROOT_INO, "d"));
    assert_fails_cleanly(&mut fs, errno::NOTDIR, |fs| fs.rmdir(ROOT_INO, "g"));
    assert_fails_cleanly(&mut fs, errno::ISDIR, |fs| fs.unlink(ROOT_INO, "d"));
    assert_fails_cleanly(&mut fs, errno::NOENT, |fs| fs.unlink(ROOT_INO, "nope"));
    assert_fails_cleanly(&mut fs, errno::INVAL, |fs| fs.rmdir(ROOT_INO, "."));
    assert_fails_cleanly(&mut fs, errno::INVAL, |fs| fs.rmdir(ROOT_INO, "d/."));
    fs.unlink(d, "f").unwrap();
    fs.rmdir(ROOT_INO, "d/").unwrap();
    assert_eq!(errno_of(fs.stat(d)), errno::BADF);
    assert_eq!(names(&fs, ROOT_INO), ["g"]);
}

#[test]
fn directory_link_count_is_two_plus_subdirectories() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let a = fs.mkdir(ROOT_INO, "a").unwrap();
    fs.mkdir(ROOT_INO, "a/x").unwrap();
    fs.mkdir(ROOT_INO, "a/y").unwrap();
    create(&mut fs, "a/f");
    assert_eq!(fs.stat(a).unwrap().nlink, 4);
    assert_eq!(fs.stat(ROOT_INO).unwrap().nlink, 3);
    fs.rename(ROOT_INO, "a/x", ROOT_INO, "x").unwrap();
    assert_eq!(fs.stat(a).unwrap().nlink, 3);
    assert_eq!(fs.stat(ROOT_INO).unwrap().nlink, 4);
    fs.rmdir(ROOT_INO, "a/y").unwrap();
    assert_eq!(fs.stat(a).unwrap().nlink, 2);
    assert_eq!(
        fs.stat(fs.resolve(ROOT_INO, "a/f").unwrap()).unwrap().nlink,
        1
    );
}

#[test]
fn readdir_is_sorted_by_name_bytes_and_paginates_after_a_name() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    for name in ["b", "B", "a", "ab", "\u{e9}", "a.txt", "_", "0"] {
        create(&mut fs, &format!("d/{name}"));
    }
    let sub = fs.mkdir(d, "c").unwrap();
    let all = fs.readdir(d, None, usize::MAX).unwrap();
    let mut expected: Vec<Vec<u8>> = all.iter().map(|e| e.name.clone()).collect();
    expected.sort();
    assert_eq!(
        all.iter().map(|e| e.name.clone()).collect::<Vec<_>>(),
        expected
    );
    assert_eq!(
        names(&fs, d),
        ["0", "B", "_", "a", "a.txt", "ab", "b", "c", "\u{e9}"]
    );
    let c = all.iter().find(|e| e.name == b"c").unwrap();
    assert_eq!((c.ino, c.kind), (sub, FileKind::Dir));

    let mut paged = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = fs.readdir(d, after.as_deref(), 2).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 2);
        after = Some(page.last().unwrap().name.clone());
        paged.extend(page);
    }
    assert_eq!(paged, all);
    // `after` need not be an existing name.
    let rest = fs.readdir(d, Some(b"a0"), 2).unwrap();
    assert_eq!(rest[0].name, b"ab");
    assert_eq!(rest[1].name, b"b");
    assert!(fs.readdir(d, None, 0).unwrap().is_empty());
    // Entries of a subdirectory do not leak into the parent's listing.
    create(&mut fs, "d/c/zzz");
    assert_eq!(fs.readdir(d, None, usize::MAX).unwrap(), all);
}

// ---- state layout ----

#[test]
fn every_key_lives_under_the_prefix_and_filesystems_are_independent() {
    let mut view = new_view();
    {
        let mut fs = fs(&mut view);
        fs.mkdir(ROOT_INO, "d").unwrap();
        write_file(&mut fs, "d/f", &[7; 10_000]);
    }
    {
        let mut other = Fs::new(&mut view, b"fs/other/", NOW, FsQuota::default());
        assert!(other.readdir(ROOT_INO, None, 10).unwrap().is_empty());
        write_file(&mut other, "d", b"other");
        assert_eq!(other.usage().unwrap(), FsUsage { bytes: 5, files: 1 });
    }
    let fs = fs(&mut view);
    let keys = snapshot(&fs);
    assert!(keys
        .iter()
        .all(|(k, _)| k.starts_with(PREFIX) || k.starts_with(b"fs/other/")));
    assert_eq!(names(&fs, ROOT_INO), ["d"]);
    assert_eq!(
        fs.usage().unwrap(),
        FsUsage {
            bytes: 10_000,
            files: 2
        }
    );
}

#[test]
fn directory_entries_map_dir_and_name_to_the_child() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    let f = create(&mut fs, "d/f");
    let key = [PREFIX, b"d", &d.to_be_bytes(), b"f"].concat();
    let value = fs.state.get(&key).unwrap().expect("entry key");
    assert_eq!(value, borsh::to_vec(&(f, FileKind::File)).unwrap());
}

#[test]
fn file_data_is_stored_in_fixed_size_chunks() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
    let f = write_file(&mut fs, "f", &data);
    let chunks = fs
        .state
        .scan_prefix(&fs.chunk_prefix(f), None, 100)
        .unwrap();
    let sizes: Vec<usize> = chunks.iter().map(|(_, v)| v.len()).collect();
    assert_eq!(sizes, [CHUNK_SIZE, CHUNK_SIZE, 10_000 - 2 * CHUNK_SIZE]);
    assert_eq!(
        chunks[1].0,
        [PREFIX, b"c", &f.to_be_bytes(), &1u64.to_be_bytes()].concat()
    );
    assert_eq!(read_all(&fs, f), data);
    // Reads at any offset and length agree with the data.
    for (off, len) in [
        (0, 1),
        (4095, 2),
        (4096, 4096),
        (9_999, 5),
        (10_000, 3),
        (3, 9_000),
    ] {
        let mut buf = vec![0; len];
        let n = fs.read(f, off as u64, &mut buf).unwrap();
        let end = (off + len).min(data.len());
        assert_eq!(&buf[..n], &data[off.min(end)..end], "read at {off}+{len}");
    }
}

#[test]
fn inode_numbers_come_from_a_counter_and_are_never_reused() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let a = create(&mut fs, "a");
    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    assert_eq!((a, d), (ROOT_INO + 1, ROOT_INO + 2));
    fs.unlink(ROOT_INO, "a").unwrap();
    fs.rmdir(ROOT_INO, "d").unwrap();
    assert_eq!(create(&mut fs, "a"), ROOT_INO + 3);
    assert_eq!(fs.mkdir(ROOT_INO, "d").unwrap(), ROOT_INO + 4);
}

#[test]
fn the_same_operations_give_the_same_state() {
    fn run() -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut view = new_view();
        let mut fs = fs(&mut view);
        for i in 0..20 {
            let name = format!("f{}", (i * 7) % 13);
            let f = create(&mut fs, &name);
            fs.write(f, i * 1000, &[i as u8; 3000]).unwrap();
        }
        fs.rename(ROOT_INO, "f0", ROOT_INO, "f1").unwrap();
        snapshot(&fs)
    }
    assert_eq!(run(), run());
}

// ---- file data ----

#[test]
fn sparse_write_leaves_a_hole_that_reads_as_zeros() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let f = create(&mut fs, "f");
    let off = 3 * CHUNK_SIZE as u64 + 100;
    fs.write(f, off, b"tail").unwrap();
    assert_eq!(fs.stat(f).unwrap().size, off + 4);
    let chunks = fs
        .state
        .scan_prefix(&fs.chunk_prefix(f), None, 100)
        .unwrap();
    assert_eq!(chunks.len(), 1, "holes are not stored");
    let data = read_all(&fs, f);
    assert!(data[..off as usize].iter().all(|&b| b == 0));
    assert_eq!(&data[off as usize..], b"tail");
    // Writing inside a hole keeps the rest of it zero.
    fs.write(f, 5000, b"mid").unwrap();
    let data = read_all(&fs, f);
    assert_eq!(&data[5000..5003], b"mid");
    assert!(data[4096..5000]
        .iter()
        .chain(&data[5003..8192])
        .all(|&b| b == 0));
}

#[test]
fn overwrite_in_the_middle_keeps_surrounding_bytes() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let f = write_file(&mut fs, "f", &[1; 9000]);
    fs.write(f, 4000, &[2; 200]).unwrap();
    let data = read_all(&fs, f);
    assert_eq!(data.len(), 9000);
    assert!(data[..4000].iter().all(|&b| b == 1));
    assert!(data[4000..4200].iter().all(|&b| b == 2));
    assert!(data[4200..].iter().all(|&b| b == 1));
}

#[test]
fn shrinking_deletes_chunks_past_the_end_and_zeroes_the_tail() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let f = write_file(&mut fs, "f", &[9; 5 * CHUNK_SIZE]);
    fs.set_size(f, CHUNK_SIZE as u64 + 10).unwrap();
    let chunks = fs
        .state
        .scan_prefix(&fs.chunk_prefix(f), None, 100)
        .unwrap();
    let sizes: Vec<usize> = chunks.iter().map(|(_, v)| v.len()).collect();
    assert_eq!(sizes, [CHUNK_SIZE, 10]);
    assert_eq!(fs.usage().unwrap().bytes, CHUNK_SIZE as u64 + 10);
    // Growing again exposes zeros, not the old bytes.
    fs.set_size(f, 3 * CHUNK_SIZE as u64).unwrap();
    let data = read_all(&fs, f);
    assert!(data[..CHUNK_SIZE + 10].iter().all(|&b| b == 9));
    assert!(data[CHUNK_SIZE + 10..].iter().all(|&b| b == 0));
    fs.set_size(f, 0).unwrap();
    assert!(fs
        .state
        .scan_prefix(&fs.chunk_prefix(f), None, 100)
        .unwrap()
        .is_empty());
    assert_eq!(read_all(&fs, f), b"");
}

#[test]
fn truncate_on_a_chunk_boundary_keeps_whole_chunks() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let f = write_file(&mut fs, "f", &[3; 3 * CHUNK_SIZE]);
    fs.set_size(f, 2 * CHUNK_SIZE as u64).unwrap();
    let chunks = fs
        .state
        .scan_prefix(&fs.chunk_prefix(f), None, 100)
        .unwrap();
    assert_eq!(chunks.len(), 2);
    assert_eq!(read_all(&fs, f), vec![3; 2 * CHUNK_SIZE]);
}

#[test]
fn extending_with_set_size_reads_as_zeros() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let f = write_file(&mut fs, "f", b"abc");
    fs.set_size(f, 10_000).unwrap();
    let data = read_all(&fs, f);
    assert_eq!(&data[..3], b"abc");
    assert!(data[3..].iter().all(|&b| b == 0));
    assert_eq!(fs.usage().unwrap().bytes, 10_000);
}

#[test]
fn reading_or_writing_a_directory_is_an_error() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    assert_eq!(errno_of(fs.read(d, 0, &mut [0; 4])), errno::ISDIR);
    assert_fails_cleanly(&mut fs, errno::ISDIR, |fs| fs.write(d, 0, b"x"));
    assert_fails_cleanly(&mut fs, errno::ISDIR, |fs| fs.set_size(d, 0));
}

#[test]
fn zero_length_write_changes_nothing() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let f = create(&mut fs, "f");
    let before = snapshot(&fs);
    let mut later = Fs::new(fs.state, PREFIX, NOW + 5, FsQuota::default());
    assert_eq!(later.write(f, 1 << 20, b"").unwrap(), 0);
    assert_eq!(snapshot(&later), before);
}

// ---- times ----

#[test]
fn mtime_and_ctime_are_the_block_time_of_every_modification() {
    let mut view = new_view();
    let (f, d) = {
        let mut fs = Fs::new(&mut view, PREFIX, 10, FsQuota::default());
        let d = fs.mkdir(ROOT_INO, "d").unwrap();
        let f = create(&mut fs, "d/f");
        let st = fs.stat(f).unwrap();
        assert_eq!((st.atime_ns, st.mtime_ns, st.ctime_ns), (10, 10, 10));
        assert_eq!(fs.stat(ROOT_INO).unwrap().mtime_ns, 10);
        (f, d)
    };
    fn at(view: &mut StateView, now: u64) -> Fs<'_> {
        Fs::new(view, PREFIX, now, FsQuota::default())
    }
    at(&mut view, 20).write(f, 0, b"x").unwrap();
    let st = at(&mut view, 0).stat(f).unwrap();
    assert_eq!((st.atime_ns, st.mtime_ns, st.ctime_ns), (10, 20, 20));
    assert_eq!(
        at(&mut view, 0).stat(d).unwrap().mtime_ns,
        10,
        "writing data does not touch the dir"
    );

    at(&mut view, 30).set_size(f, 0).unwrap();
    assert_eq!(at(&mut view, 0).stat(f).unwrap().mtime_ns, 30);

    at(&mut view, 40).rename(d, "f", d, "g").unwrap();
    let st = at(&mut view, 0).stat(f).unwrap();
    assert_eq!(
        (st.mtime_ns, st.ctime_ns),
        (30, 40),
        "rename changes ctime only"
    );
    assert_eq!(at(&mut view, 0).stat(d).unwrap().mtime_ns, 40);

    at(&mut view, 50).unlink(d, "g").unwrap();
    let st = at(&mut view, 0).stat(d).unwrap();
    assert_eq!((st.mtime_ns, st.ctime_ns), (50, 50));

    at(&mut view, 60).rmdir(ROOT_INO, "d").unwrap();
    assert_eq!(at(&mut view, 0).stat(ROOT_INO).unwrap().mtime_ns, 60);

    // Reading never changes anything (no atime updates).
    let mut fs = at(&mut view, 70);
    let g = write_file(&mut fs, "g", b"data");
    let before = snapshot(&fs);
    let fs = at(fs.state, 80);
    fs.read(g, 0, &mut [0; 4]).unwrap();
    assert_eq!(snapshot(&fs), before);
}

#[test]
fn set_times_sets_atime_and_mtime_and_stamps_ctime() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let f = create(&mut fs, "f");
    let mut later = Fs::new(fs.state, PREFIX, 77, FsQuota::default());
    later.set_times(f, Some(5), None).unwrap();
    let st = later.stat(f).unwrap();
    assert_eq!((st.atime_ns, st.mtime_ns, st.ctime_ns), (5, NOW, 77));
    later.set_times(f, None, Some(6)).unwrap();
    let st = later.stat(f).unwrap();
    assert_eq!((st.atime_ns, st.mtime_ns, st.ctime_ns), (5, 6, 77));
    later.set_times(ROOT_INO, Some(1), Some(2)).unwrap();
    assert_eq!(later.stat(ROOT_INO).unwrap().mtime_ns, 2);
}

// ---- rename ----

#[test]
fn rename_moves_a_file_within_and_across_directories() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    let f = write_file(&mut fs, "a", b"data");
    fs.rename(ROOT_INO, "a", ROOT_INO, "b").unwrap();
    assert_eq!(names(&fs, ROOT_INO), ["b", "d"]);
    fs.rename(ROOT_INO, "b", d, "c").unwrap();
    assert_eq!(names(&fs, ROOT_INO), ["d"]);
    assert_eq!(fs.resolve(ROOT_INO, "d/c").unwrap(), f);
    assert_eq!(read_all(&fs, f), b"data");
    assert_eq!(fs.usage().unwrap(), FsUsage { bytes: 4, files: 2 });
}

#[test]
fn rename_replaces_an_existing_file_and_frees_its_data() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let a = write_file(&mut fs, "a", b"new");
    let b = write_file(&mut fs, "b", &[1; 3 * CHUNK_SIZE]);
    fs.rename(ROOT_INO, "a", ROOT_INO, "b").unwrap();
    assert_eq!(names(&fs, ROOT_INO), ["b"]);
    assert_eq!(fs.resolve(ROOT_INO, "b").unwrap(), a);
    assert_eq!(errno_of(fs.stat(b)), errno::BADF);
    assert!(fs
        .state
        .scan_prefix(&fs.chunk_prefix(b), None, 10)
        .unwrap()
        .is_empty());
    assert_eq!(fs.usage().unwrap(), FsUsage { bytes: 3, files: 1 });
}

#[test]
fn rename_replaces_an_empty_directory_but_not_a_full_one() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let a = fs.mkdir(ROOT_INO, "a").unwrap();
    create(&mut fs, "a/inner");
    let empty = fs.mkdir(ROOT_INO, "empty").unwrap();
    fs.mkdir(ROOT_INO, "full").unwrap();
    create(&mut fs, "full/x");
    assert_fails_cleanly(&mut fs, errno::NOTEMPTY, |fs| {
        fs.rename(ROOT_INO, "a", ROOT_INO, "full")
    });
    fs.rename(ROOT_INO, "a", ROOT_INO, "empty").unwrap();
    assert_eq!(names(&fs, ROOT_INO), ["empty", "full"]);
    assert_eq!(fs.resolve(ROOT_INO, "empty").unwrap(), a);
    assert_eq!(names(&fs, a), ["inner"]);
    assert_eq!(errno_of(fs.stat(empty)), errno::BADF);
    assert_eq!(fs.stat(ROOT_INO).unwrap().nlink, 4);
    assert_eq!(fs.usage().unwrap().files, 4);
}

#[test]
fn rename_between_files_and_directories_is_refused() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    create(&mut fs, "f");
    fs.mkdir(ROOT_INO, "d").unwrap();
    assert_fails_cleanly(&mut fs, errno::ISDIR, |fs| {
        fs.rename(ROOT_INO, "f", ROOT_INO, "d")
    });
    assert_fails_cleanly(&mut fs, errno::NOTDIR, |fs| {
        fs.rename(ROOT_INO, "d", ROOT_INO, "f")
    });
    assert_fails_cleanly(&mut fs, errno::NOTDIR, |fs| {
        fs.rename(ROOT_INO, "f/", ROOT_INO, "g")
    });
    assert_fails_cleanly(&mut fs, errno::NOTDIR, |fs| {
        fs.rename(ROOT_INO, "f", ROOT_INO, "g/")
    });
    assert_fails_cleanly(&mut fs, errno::NOENT, |fs| {
        fs.rename(ROOT_INO, "x", ROOT_INO, "y")
    });
    assert_fails_cleanly(&mut fs, errno::NOENT, |fs| {
        fs.rename(ROOT_INO, "f", ROOT_INO, "x/y")
    });
    assert_fails_cleanly(&mut fs, errno::INVAL, |fs| {
        fs.rename(ROOT_INO, "d", ROOT_INO, ".")
    });
}

#[test]
fn rename_of_a_directory_into_its_own_subtree_is_invalid() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let a = fs.mkdir(ROOT_INO, "a").unwrap();
    fs.mkdir(ROOT_INO, "a/b").unwrap();
    let c = fs.mkdir(ROOT_INO, "a/b/c").unwrap();
    assert_fails_cleanly(&mut fs, errno::INVAL, |fs| {
        fs.rename(ROOT_INO, "a", ROOT_INO, "a/x")
    });
    assert_fails_cleanly(&mut fs, errno::INVAL, |fs| fs.rename(ROOT_INO, "a", c, "x"));
    assert_fails_cleanly(&mut fs, errno::INVAL, |fs| {
        fs.rename(ROOT_INO, "a/b", a, "b/c/x")
    });
    // After moving `c` out, moving `a` under `c` is fine; moving `c` back under `a` is not
    // a subtree move any more either (parent links follow renames).
    fs.rename(ROOT_INO, "a/b/c", ROOT_INO, "c").unwrap();
    fs.rename(ROOT_INO, "a", c, "a").unwrap();
    assert_fails_cleanly(&mut fs, errno::INVAL, |fs| {
        fs.rename(ROOT_INO, "c", c, "a/b/c")
    });
    assert_eq!(
        fs.resolve(ROOT_INO, "c/a/b").unwrap(),
        fs.resolve(c, "a/b").unwrap()
    );
}

#[test]
fn rename_onto_itself_does_nothing() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    let d = fs.mkdir(ROOT_INO, "d").unwrap();
    write_file(&mut fs, "d/f", b"x");
    let before = snapshot(&fs);
    fs.rename(ROOT_INO, "d/f", d, "f").unwrap();
    fs.rename(ROOT_INO, "d", ROOT_INO, "./d").unwrap();
    assert_eq!(snapshot(&fs), before);
}

// ---- quotas ----

fn quota(max_total_bytes: u64, max_files: u64, max_file_size: u64) -> FsQuota {
    FsQuota {
        max_total_bytes,
        max_files,
        max_file_size,
    }
}

#[test]
fn default_quota_uses_the_named_constants() {
    assert_eq!(
        FsQuota::default(),
        quota(
            DEFAULT_MAX_TOTAL_BYTES,
            DEFAULT_MAX_FILES,
            DEFAULT_MAX_FILE_SIZE
        )
    );
}

#[test]
fn total_bytes_exactly_at_quota_is_ok_and_one_byte_over_fails_cleanly() {
    let mut view = new_view();
    let mut fs = Fs::new(&mut view, PREFIX, NOW, quota(10_000, 100, 1 << 20));
    let a = write_file(&mut fs, "a", &[1; 6_000]);
    let b = create(&mut fs, "b");
    fs.write(b, 0, &[2; 4_000]).unwrap();
    assert_eq!(fs.usage().unwrap().bytes, 10_000);
    assert_fails_cleanly(&mut fs, errno::DQUOT, |fs| fs.write(b, 4_000, b"x"));
    assert_fails_cleanly(&mut fs, errno::DQUOT, |fs| fs.set_size(a, 6_001));
    assert_fails_cleanly(&mut fs, errno::DQUOT, |fs| fs.write(a, 100_000, b"x"));
    // Overwriting inside the file does not grow usage.
    fs.write(a, 0, &[5; 6_000]).unwrap();
    // Freed bytes can be used again.
    fs.set_size(a, 5_999).unwrap();
    fs.write(b, 4_000, b"x").unwrap();
    assert_eq!(fs.usage().unwrap().bytes, 10_000);
}

#[test]
fn file_count_exactly_at_quota_is_ok_and_one_more_fails_cleanly() {
    let mut view = new_view();
    let mut fs = Fs::new(&mut view, PREFIX, NOW, quota(1 << 20, 3, 1 << 20));
    fs.mkdir(ROOT_INO, "d").unwrap();
    create(&mut fs, "d/a");
    create(&mut fs, "b");
    assert_eq!(fs.usage().unwrap().files, 3);
    assert_fails_cleanly(&mut fs, errno::DQUOT, |fs| fs.mkdir(ROOT_INO, "e"));
    assert_fails_cleanly(&mut fs, errno::DQUOT, |fs| {
        fs.open(
            ROOT_INO,
            "c",
            OpenOptions {
                create: true,
                ..Default::default()
            },
        )
    });
    // Opening an existing file needs no quota.
    create(&mut fs, "b");
    fs.unlink(ROOT_INO, "b").unwrap();
    create(&mut fs, "c");
}

#[test]
fn file_size_exactly_at_limit_is_ok_and_one_byte_over_is_too_big() {
    let mut view = new_view();
    let mut fs = Fs::new(&mut view, PREFIX, NOW, quota(1 << 20, 10, 5_000));
    let f = write_file(&mut fs, "f", &[1; 5_000]);
    assert_fails_cleanly(&mut fs, errno::FBIG, |fs| fs.write(f, 5_000, b"x"));
    assert_fails_cleanly(&mut fs, errno::FBIG, |fs| fs.write(f, 4_999, b"xy"));
    assert_fails_cleanly(&mut fs, errno::FBIG, |fs| fs.set_size(f, 5_001));
    assert_fails_cleanly(&mut fs, errno::FBIG, |fs| fs.write(f, u64::MAX, b"x"));
    fs.write(f, 4_999, b"z").unwrap();
    assert_eq!(fs.stat(f).unwrap().size, 5_000);
}

#[test]
fn lowering_the_quota_never_blocks_shrinking_or_deleting() {
    let mut view = new_view();
    let f = {
        let mut fs = fs(&mut view);
        fs.mkdir(ROOT_INO, "d").unwrap();
        write_file(&mut fs, "f", &[1; 10_000])
    };
    let mut fs = Fs::new(&mut view, PREFIX, NOW, quota(100, 1, 100));
    fs.set_size(f, 9_000).unwrap();
    fs.write(f, 0, b"overwrite").unwrap();
    fs.rmdir(ROOT_INO, "d").unwrap();
    fs.unlink(ROOT_INO, "f").unwrap();
    assert_eq!(fs.usage().unwrap(), FsUsage::default());
}

#[test]
fn usage_counts_file_sizes_and_entries_through_every_operation() {
    let mut view = new_view();
    let mut fs = fs(&mut view);
    fs.mkdir(ROOT_INO, "d").unwrap();
    let a = write_file(&mut fs, "d/a", &[1; 100]);
    fs.write(a, 1_000, b"x").unwrap();
    write_file(&mut fs, "b", &[1; 50]);
    assert_eq!(
        fs.usage().unwrap(),
        FsUsage {
            bytes: 1_051,
            files: 3
        }
    );
    fs.rename(ROOT_INO, "b", ROOT_INO, "d/a").unwrap();
    assert_eq!(
        fs.usage().unwrap(),
        FsUsage {
            bytes: 50,
            files: 2
        }
    );
    fs.open(
        ROOT_INO,
        "d/a",
        OpenOptions {
            truncate: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(fs.usage().unwrap(), FsUsage { bytes: 0, files: 2 });
}

// ---- cost ----

#[test]
fn writing_a_small_file_touches_a_handful_of_keys() {
    let mut view = new_view();
    {
        let mut fs = fs(&mut view);
        write_file(&mut fs, "f", &[1; CHUNK_SIZE]);
    }
    // Root inode, entry, file inode, counters, one chunk.
    assert_eq!(view.take_block_changes().len(), 5);
}

#[test]
fn reading_one_chunk_reads_the_inode_and_that_chunk_only() {
    let mut view = new_view();
    let f = write_file(&mut fs(&mut view), "f", &[1; 3 * CHUNK_SIZE]);
    let base = committed(&mut view);
    let mut view = StateView::new(base.clone());
    let fs = fs(&mut view);
    base.gets.store(0, Ordering::Relaxed);
    let mut buf = [0; CHUNK_SIZE];
    assert_eq!(fs.read(f, CHUNK_SIZE as u64, &mut buf).unwrap(), CHUNK_SIZE);
    assert_eq!(base.gets.load(Ordering::Relaxed), 2);
}

#[test]
fn overwriting_whole_chunks_does_not_read_them() {
    let mut view = new_view();
    let f = write_file(&mut fs(&mut view), "f", &[1; 2 * CHUNK_SIZE]);
    let base = committed(&mut view);
    let mut view = StateView::new(base.clone());
    let mut fs = fs(&mut view);
    base.gets.store(0, Ordering::Relaxed);
    fs.write(f, 0, &[2; 2 * CHUNK_SIZE]).unwrap();
    // Only the inode: the size does not grow, so not even the counters.
    assert_eq!(base.gets.load(Ordering::Relaxed), 1);
    drop(fs);
    assert_eq!(view.take_block_changes().len(), 3);
}

#[test]
fn a_failed_operation_inside_a_layer_leaves_the_layer_empty() {
    let mut view = new_view();
    view.push_layer();
    {
        let mut fs = Fs::new(&mut view, PREFIX, NOW, quota(10, 10, 10));
        let f = create(&mut fs, "f");
        let before = snapshot(&fs);
        assert_eq!(errno_of(fs.write(f, 0, &[0; 11])), errno::FBIG);
        assert_eq!(snapshot(&fs), before);
    }
    view.discard_layer();
    assert!(view.take_block_changes().is_empty());
}
