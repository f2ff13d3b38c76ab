//! Filesystem tests: state layout.

use super::*;

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
