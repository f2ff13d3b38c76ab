//! Filesystem tests: times.

use super::*;

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
