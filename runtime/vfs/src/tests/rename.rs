//! Filesystem tests: rename.

use super::*;

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
