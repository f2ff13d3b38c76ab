//! Unit tests of the store (they look at its column families and internals).

use super::*;
use crate::keys::{root_node_key, CF_CHANGELOG, CF_JMT_NODES, META_FORMAT, META_PERSISTED};
use crate::tree::jmt_reference_update;
use crate::StateRead;
use rocksdb::IteratorMode;

fn changes(entries: &[(&str, Option<&str>)]) -> ChangeSet {
    let mut cs = ChangeSet::new();
    for (k, v) in entries {
        match v {
            Some(v) => cs.put(k.as_bytes().to_vec(), v.as_bytes().to_vec()),
            None => cs.delete(k.as_bytes().to_vec()),
        }
    }
    cs
}

#[test]
fn fresh_store_is_at_height_zero_with_the_empty_root() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.latest_height(), 0);
    assert_eq!(store.root_hash(), EMPTY_ROOT);
    assert_eq!(store.root_hash_at(0).unwrap(), EMPTY_ROOT);
    let (value, proof) = store.get_with_proof(b"k", 0).unwrap();
    assert_eq!(value, None);
    proof.verify(EMPTY_ROOT, b"k", None).unwrap();
}

#[test]
fn every_height_has_a_tree_root_node_even_when_empty() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.commit(ChangeSet::new()).unwrap();
    store.commit(changes(&[("a", Some("1"))])).unwrap();
    store.commit(ChangeSet::new()).unwrap();
    store.commit(changes(&[("missing", None)])).unwrap();
    store.flush().unwrap();
    let nodes = store.cf(CF_JMT_NODES).unwrap();
    for h in 0..=4 {
        assert!(
            store.db.get_cf(nodes, root_node_key(h)).unwrap().is_some(),
            "no root node at height {h}"
        );
    }
    assert_eq!(store.root_hash_at(1).unwrap(), EMPTY_ROOT);
    assert_eq!(
        store.root_hash_at(3).unwrap(),
        store.root_hash_at(2).unwrap()
    );
    assert_eq!(
        store.root_hash_at(4).unwrap(),
        store.root_hash_at(2).unwrap()
    );
}

#[test]
fn batch_and_sequential_tree_updates_give_the_same_roots() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let auto = Store::open(d1.path()).unwrap();
    let seq = Store::open(d2.path()).unwrap();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..12 {
        let mut cs = ChangeSet::new();
        for _ in 0..(next() % 300) {
            let k = (next() % 500).to_be_bytes().to_vec();
            if round % 3 == 2 && next() % 4 == 0 {
                cs.delete(k);
            } else {
                cs.put(k, next().to_le_bytes().to_vec());
            }
        }
        let a = auto.commit(cs.clone()).unwrap();
        // The same height through jmt's own one-key-at-a-time path (over what is on disk).
        seq.flush().unwrap();
        let reader = seq.tree_reader(&[]);
        let (root, _) = jmt_reference_update(&reader, &cs, a.height).unwrap();
        assert_eq!(root, a.root, "round {round}");
        let b = seq.commit(cs).unwrap();
        assert_eq!(b, a);
    }
}

#[test]
fn node_cache_holds_only_committed_nodes_identical_to_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for round in 0..6u32 {
        let mut cs = ChangeSet::new();
        for i in 0..200u32 {
            let k = format!("k{}", (i * 7 + round * 13) % 300).into_bytes();
            if round % 2 == 1 && i % 5 == 0 {
                cs.delete(k);
            } else {
                cs.put(k, format!("{round}/{i}").into_bytes());
            }
        }
        store.commit(cs).unwrap();
    }
    // A rejected commit adds nothing.
    store.flush().unwrap();
    let before = store.node_cache.lock().unwrap().len();
    let mut bad = ChangeSet::new();
    bad.put(b"x".to_vec(), vec![0; MAX_VALUE_BYTES + 1]);
    assert!(store.commit(bad).is_err());
    let cache = store.node_cache.lock().unwrap();
    assert_eq!(cache.len(), before);
    assert!(cache.len() > 100);
    for (path, (version, node)) in cache.iter() {
        assert!(*version <= store.latest_height());
        assert_eq!(
            crate::node_cache::read_node(&store.db, *version, path)
                .unwrap()
                .as_ref(),
            Some(node)
        );
    }
}

#[test]
fn root_after_predicts_the_committed_root_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    for round in 0..4u32 {
        let mut cs = ChangeSet::new();
        for i in 0..700u32 {
            let k = format!("k{}", (i * 13 + round * 7) % 900).into_bytes();
            if round > 0 && i % 3 == 0 {
                cs.delete(k);
            } else {
                cs.put(k, format!("{round}:{i}").into_bytes());
            }
        }
        let predicted = store.root_after(&cs).unwrap();
        assert_eq!(store.latest_height(), u64::from(round));
        assert_eq!(store.root_after(&cs).unwrap(), predicted);
        assert_eq!(store.commit(cs).unwrap().root, predicted, "round {round}");
    }
    assert_eq!(
        store.root_after(&ChangeSet::new()).unwrap(),
        store.root_hash()
    );
}

#[test]
fn oversized_keys_are_rejected_without_a_new_height() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut cs = ChangeSet::new();
    cs.put(vec![0; MAX_KEY_BYTES + 1], b"v".to_vec());
    assert!(matches!(
        store.commit(cs),
        Err(StoreError::TooLarge { what: "key", .. })
    ));
    assert_eq!(store.latest_height(), 0);
}

/// Everything a client can read of a store, for comparing two stores or two moments.
fn all_answers(store: &Store) -> Vec<String> {
    let mut out = Vec::new();
    let latest = store.latest_height();
    for i in 0..360u32 {
        let key = format!("k{i:03}");
        out.push(format!("{key} = {:?}", store.get(key.as_bytes()).unwrap()));
        for h in [1, latest.saturating_sub(1), latest] {
            let (value, proof) = store.get_with_proof(key.as_bytes(), h).unwrap();
            proof
                .verify(
                    store.root_hash_at(h).unwrap(),
                    key.as_bytes(),
                    value.as_deref(),
                )
                .unwrap();
            assert_eq!(store.get_at(key.as_bytes(), h).unwrap(), value);
            out.push(format!("{key}@{h} = {value:?}"));
        }
    }
    for (prefix, after, limit) in [
        (&b"k"[..], None, usize::MAX),
        (b"k", Some(&b"k100"[..]), 7),
        (b"k1", None, 5),
        (b"k2", Some(&b"k1"[..]), 30),
        (b"k3", None, 1),
        (b"x", None, 10),
    ] {
        let scan = store.scan_prefix(prefix, after, limit).unwrap();
        out.push(format!("scan {prefix:?} {after:?} {limit} = {scan:?}"));
    }
    for h in 0..=latest {
        out.push(hex::encode(store.root_hash_at(h).unwrap()));
    }
    let mut probe = ChangeSet::new();
    probe.put(b"k001".to_vec(), b"probe".to_vec());
    probe.delete(b"k150".to_vec());
    out.push(hex::encode(store.root_after(&probe).unwrap()));
    out
}

#[test]
fn pending_heights_read_like_written_ones_and_are_replayed_after_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let mut model = std::collections::BTreeMap::new();
    let mut commit = |store: &Store, cs: ChangeSet| {
        for (k, v) in cs.iter() {
            match v {
                Some(v) => model.insert(k.to_vec(), v.to_vec()),
                None => model.remove(k),
            };
        }
        store.commit(cs).unwrap();
        model.clone()
    };
    let mut base = ChangeSet::new();
    for i in 0..300u32 {
        base.put(format!("k{i:03}").into_bytes(), b"base".to_vec());
    }
    commit(&store, base);
    store.flush().unwrap();
    let written = all_answers(&store);

    store.write_behind.set_paused(true);
    let mut h2 = ChangeSet::new();
    for i in 100..160u32 {
        // A run of deletes longer than a scan page, so scans must page past it.
        h2.delete(format!("k{i:03}").into_bytes());
    }
    h2.put(b"k001".to_vec(), b"two".to_vec());
    h2.put(b"k310".to_vec(), b"new in two".to_vec());
    commit(&store, h2);
    let mut h3 = ChangeSet::new();
    h3.put(b"k120".to_vec(), b"back in three".to_vec());
    h3.put(b"k001".to_vec(), b"three".to_vec());
    h3.delete(b"k310".to_vec());
    h3.put(b"k355".to_vec(), b"three".to_vec());
    commit(&store, h3);
    let model = commit(&store, ChangeSet::new());
    assert_eq!(store.write_behind.snapshot().len(), 3);
    for (k, v) in &model {
        assert_eq!(store.get(k).unwrap().as_ref(), Some(v));
    }
    let everything = store.scan_prefix(b"", None, usize::MAX).unwrap();
    assert_eq!(everything, model.clone().into_iter().collect::<Vec<_>>());
    let pending = all_answers(&store);
    assert_ne!(pending, written);
    // Paged scans see the same as one big scan.
    let mut paged = Vec::new();
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.scan_prefix(b"k", after.as_deref(), 3).unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|(k, _)| k.clone());
        paged.extend(page);
    }
    assert_eq!(paged, everything);

    // Written out: the same answers.
    store.write_behind.set_paused(false);
    store.flush().unwrap();
    assert_eq!(all_answers(&store), pending);

    // A crash with heights pending: the next open replays them.
    store.write_behind.set_paused(true);
    let mut h5 = ChangeSet::new();
    h5.put(b"k002".to_vec(), b"five".to_vec());
    h5.delete(b"k003".to_vec());
    commit(&store, h5);
    commit(&store, ChangeSet::new());
    let before_crash = all_answers(&store);
    store.write_behind.fail("simulated crash".into());
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.latest_height(), 6);
    assert!(store.write_behind.snapshot().is_empty());
    assert_eq!(all_answers(&store), before_crash);
    let nodes = store.cf(CF_JMT_NODES).unwrap();
    assert!(store.db.get_cf(nodes, root_node_key(6)).unwrap().is_some());
    let log = store.cf(CF_CHANGELOG).unwrap();
    assert_eq!(store.db.iterator_cf(log, IteratorMode::Start).count(), 0);
}

#[test]
fn commits_wait_for_room_and_stop_after_a_failed_write_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(Store::open(dir.path()).unwrap());
    store.write_behind.set_paused(true);
    for i in 0..MAX_PENDING_HEIGHTS {
        store
            .commit(changes(&[("k", Some(&i.to_string()))]))
            .unwrap();
    }
    let waiting = {
        let store = store.clone();
        std::thread::spawn(move || store.commit(changes(&[("k", Some("last"))])))
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        !waiting.is_finished(),
        "a commit past the bound did not wait"
    );
    assert_eq!(store.latest_height(), MAX_PENDING_HEIGHTS as u64);
    store.write_behind.set_paused(false);
    let info = waiting.join().unwrap().unwrap();
    assert_eq!(info.height, MAX_PENDING_HEIGHTS as u64 + 1);
    store.flush().unwrap();
    assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"last"[..]));

    store.write_behind.fail("disk full".into());
    let err = store.commit(changes(&[("k", Some("lost"))])).unwrap_err();
    assert!(
        matches!(err, StoreError::WriteBehind(ref why) if why == "disk full"),
        "{err}"
    );
    assert!(store.flush().is_err());
    assert_eq!(store.latest_height(), MAX_PENDING_HEIGHTS as u64 + 1);
    assert_eq!(store.get(b"k").unwrap().as_deref(), Some(&b"last"[..]));
}

#[test]
fn format_1_databases_open_as_written_out() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let info = store.commit(changes(&[("a", Some("1"))])).unwrap();
    store.flush().unwrap();
    // What a format-1 store looked like: no `persisted` marker.
    let meta = store.cf(CF_META).unwrap();
    store
        .db
        .put_cf(meta, META_FORMAT, 1u32.to_be_bytes())
        .unwrap();
    store.db.delete_cf(meta, META_PERSISTED).unwrap();
    drop(store);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.root_hash(), info.root);
    assert_eq!(store.get(b"a").unwrap().as_deref(), Some(&b"1"[..]));
    store.commit(changes(&[("b", Some("2"))])).unwrap();
    drop(store);
    // Unknown formats are refused.
    let db = DB::open_cf_descriptors(&db_options(), dir.path(), cf_descriptors().unwrap()).unwrap();
    db.put_cf(
        db.cf_handle(CF_META).unwrap(),
        META_FORMAT,
        9u32.to_be_bytes(),
    )
    .unwrap();
    drop(db);
    let err = Store::open(dir.path()).unwrap_err();
    assert!(
        err.to_string().contains("unsupported on-disk format"),
        "{err}"
    );
}

#[test]
fn prepared_heights_commit_as_computed_and_only_on_their_base() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let reference_dir = tempfile::tempdir().unwrap();
    let reference = Store::open(reference_dir.path()).unwrap();
    for round in 0..3u32 {
        let cs = changes(&[
            ("a", Some(&round.to_string())),
            ("b", None),
            ("c", Some("x")),
        ]);
        let prepared = store.prepare(cs.clone()).unwrap();
        assert_eq!(prepared.height(), u64::from(round) + 1);
        assert_eq!(
            store.latest_height(),
            u64::from(round),
            "prepare wrote nothing"
        );
        assert_eq!(prepared.root(), store.root_after(&cs).unwrap());
        let info = store.commit_prepared(prepared).unwrap();
        assert_eq!(info, reference.commit(cs).unwrap());
    }
    let stale = store.prepare(changes(&[("a", Some("stale"))])).unwrap();
    store.commit(changes(&[("a", Some("won"))])).unwrap();
    let err = store.commit_prepared(stale).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::StalePreparation {
                height: 4,
                latest: 4
            }
        ),
        "{err}"
    );
    assert_eq!(store.get(b"a").unwrap().as_deref(), Some(&b"won"[..]));
    let mut bad = ChangeSet::new();
    bad.put(b"x".to_vec(), vec![0; MAX_VALUE_BYTES + 1]);
    assert!(matches!(
        store.prepare(bad),
        Err(StoreError::TooLarge { .. })
    ));
}
