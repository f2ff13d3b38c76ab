//! Commit, reopen, determinism and reads of the on-disk store.

mod common;

use common::changes;
use nexus_store::{ChangeSet, StateRead, Store, StoreError, EMPTY_ROOT};

#[test]
fn values_heights_and_roots_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let (r1, r2);
    {
        let store = Store::open(dir.path()).unwrap();
        r1 = store
            .commit(changes(&[("a", Some("1")), ("b", Some("2"))]))
            .unwrap();
        r2 = store
            .commit(changes(&[("b", Some("3")), ("c", Some("4"))]))
            .unwrap();
        assert_eq!((r1.height, r2.height), (1, 2));
    }
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.latest_height(), 2);
    assert_eq!(store.root_hash(), r2.root);
    assert_eq!(store.root_hash_at(1).unwrap(), r1.root);
    assert_eq!(store.root_hash_at(2).unwrap(), r2.root);
    assert_eq!(store.get(b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(store.get(b"b").unwrap(), Some(b"3".to_vec()));
    assert_eq!(store.get_at(b"b", 1).unwrap(), Some(b"2".to_vec()));
    assert_eq!(store.get_at(b"c", 1).unwrap(), None);
    let next = store.commit(changes(&[("d", Some("5"))])).unwrap();
    assert_eq!(next.height, 3);
}

#[test]
fn root_changes_iff_content_changes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let a = store.commit(changes(&[("k", Some("v"))])).unwrap();
    assert_ne!(a.root, EMPTY_ROOT);
    // Rewriting the same value, an empty change set and deleting an absent key change nothing.
    let same = store.commit(changes(&[("k", Some("v"))])).unwrap();
    let empty = store.commit(ChangeSet::new()).unwrap();
    let absent = store.commit(changes(&[("nope", None)])).unwrap();
    assert_eq!((same.height, empty.height, absent.height), (2, 3, 4));
    assert_eq!(same.root, a.root);
    assert_eq!(empty.root, a.root);
    assert_eq!(absent.root, a.root);
    let changed = store.commit(changes(&[("k", Some("w"))])).unwrap();
    assert_ne!(changed.root, a.root);
    let back = store.commit(changes(&[("k", Some("v"))])).unwrap();
    assert_eq!(back.root, a.root);
}

#[test]
fn same_changes_on_two_fresh_stores_give_the_same_roots() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (s1, s2) = (
        Store::open(d1.path()).unwrap(),
        Store::open(d2.path()).unwrap(),
    );
    let batches = [
        changes(&[("x", Some("1")), ("y", Some("2")), ("z", Some("3"))]),
        changes(&[("y", None), ("w", Some("4"))]),
        ChangeSet::new(),
        changes(&[("x", Some("5"))]),
    ];
    for b in batches {
        assert_eq!(s1.commit(b.clone()).unwrap(), s2.commit(b).unwrap());
    }
    // Order of insertion across heights does not matter either: same content, same root.
    let d3 = tempfile::tempdir().unwrap();
    let s3 = Store::open(d3.path()).unwrap();
    s3.commit(changes(&[
        ("w", Some("4")),
        ("z", Some("3")),
        ("x", Some("5")),
    ]))
    .unwrap();
    assert_eq!(s3.root_hash(), s1.root_hash());
}

#[test]
fn deletes_remove_keys_now_but_not_from_history() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let one = store.commit(changes(&[("a", Some("1"))])).unwrap();
    store
        .commit(changes(&[("a", None), ("b", Some("2"))]))
        .unwrap();
    store.commit(changes(&[("b", None)])).unwrap();
    assert_eq!(store.get(b"a").unwrap(), None);
    assert_eq!(store.get(b"b").unwrap(), None);
    assert_eq!(store.get_at(b"a", 1).unwrap(), Some(b"1".to_vec()));
    assert_eq!(store.get_at(b"a", 2).unwrap(), None);
    assert_eq!(store.get_at(b"b", 2).unwrap(), Some(b"2".to_vec()));
    // Everything deleted: back to the empty root.
    assert_eq!(store.root_hash(), EMPTY_ROOT);
    assert_ne!(one.root, EMPTY_ROOT);
    assert!(store.scan_prefix(b"", None, 10).unwrap().is_empty());
}

#[test]
fn heights_above_the_latest_are_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.commit(changes(&[("a", Some("1"))])).unwrap();
    assert!(matches!(
        store.get_at(b"a", 2),
        Err(StoreError::HeightUnavailable {
            requested: 2,
            latest: 1
        })
    ));
    assert!(matches!(
        store.get_with_proof(b"a", 2),
        Err(StoreError::HeightUnavailable { .. })
    ));
    assert!(matches!(
        store.root_hash_at(5),
        Err(StoreError::HeightUnavailable { .. })
    ));
}

#[test]
fn scan_prefix_is_ordered_bounded_and_resumable() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut cs = ChangeSet::new();
    for i in 0..30u8 {
        cs.put(format!("p/{i:02}").into_bytes(), vec![i]);
    }
    cs.put(b"p".to_vec(), b"bare".to_vec());
    cs.put(b"q/00".to_vec(), b"other".to_vec());
    cs.put(b"o/99".to_vec(), b"before".to_vec());
    cs.put(vec![0xff, 0xff], b"ff".to_vec());
    cs.put(vec![0xff, 0xff, 0x01], b"ff1".to_vec());
    store.commit(cs).unwrap();

    let first = store.scan_prefix(b"p/", None, 10).unwrap();
    assert_eq!(first.len(), 10);
    assert_eq!(first[0].0, b"p/00");
    assert_eq!(first[9].0, b"p/09");
    let rest = store.scan_prefix(b"p/", Some(&first[9].0), 100).unwrap();
    assert_eq!(rest.len(), 20);
    assert_eq!(rest[0].0, b"p/10");
    assert_eq!(rest.last().unwrap().0, b"p/29");
    assert!(store
        .scan_prefix(b"p/", Some(b"p/29"), 5)
        .unwrap()
        .is_empty());
    // `after` before the prefix starts at the prefix; limit 0 returns nothing.
    assert_eq!(
        store.scan_prefix(b"p/", Some(b"a"), 1).unwrap()[0].0,
        b"p/00"
    );
    assert!(store.scan_prefix(b"p/", None, 0).unwrap().is_empty());
    // The all-0xff prefix has no upper bound.
    let ff = store.scan_prefix(&[0xff, 0xff], None, 10).unwrap();
    assert_eq!(ff.len(), 2);
    // The empty prefix scans everything in byte order.
    let all = store.scan_prefix(b"", None, 1000).unwrap();
    assert_eq!(all.len(), 35);
    assert!(all.windows(2).all(|w| w[0].0 < w[1].0));
}

#[test]
fn store_is_send_sync_and_usable_as_a_state_view_base() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Store>();
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path()).unwrap());
    store.commit(changes(&[("a", Some("1"))])).unwrap();
    let mut view = nexus_store::StateView::new(store.clone());
    view.put(b"b".to_vec(), b"2".to_vec());
    assert_eq!(view.get(b"a").unwrap(), Some(b"1".to_vec()));
    let info = store.commit(view.take_block_changes()).unwrap();
    assert_eq!(info.height, 2);
    assert_eq!(store.get(b"b").unwrap(), Some(b"2".to_vec()));
}

#[test]
fn concurrent_commits_get_distinct_consecutive_heights() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path()).unwrap());
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                (0..5)
                    .map(|i| {
                        let mut cs = ChangeSet::new();
                        cs.put(format!("t{t}/{i}").into_bytes(), b"v".to_vec());
                        store.commit(cs).unwrap().height
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut heights: Vec<u64> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    heights.sort_unstable();
    assert_eq!(heights, (1..=20).collect::<Vec<_>>());
    assert_eq!(store.scan_prefix(b"t", None, 100).unwrap().len(), 20);
}
