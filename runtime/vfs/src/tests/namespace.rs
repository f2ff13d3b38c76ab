//! Filesystem tests: namespace.

use super::*;

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
