//! Filesystem tests: cost.

use super::*;

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
    base.reset_gets();
    let mut buf = [0; CHUNK_SIZE];
    assert_eq!(fs.read(f, CHUNK_SIZE as u64, &mut buf).unwrap(), CHUNK_SIZE);
    assert_eq!(base.gets(), 2);
}

#[test]
fn overwriting_whole_chunks_does_not_read_them() {
    let mut view = new_view();
    let f = write_file(&mut fs(&mut view), "f", &[1; 2 * CHUNK_SIZE]);
    let base = committed(&mut view);
    let mut view = StateView::new(base.clone());
    let mut fs = fs(&mut view);
    base.reset_gets();
    fs.write(f, 0, &[2; 2 * CHUNK_SIZE]).unwrap();
    // Only the inode: the size does not grow, so not even the counters.
    assert_eq!(base.gets(), 1);
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
