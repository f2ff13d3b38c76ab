//! Filesystem tests: file data.

use super::*;

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
