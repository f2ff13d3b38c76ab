//! Filesystem tests: paths and the sandbox.

use super::*;

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
