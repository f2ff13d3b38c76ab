//! Filesystem tests: quotas.

use super::*;

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
