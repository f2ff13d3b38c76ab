#![allow(dead_code)]

use nexus_store::ChangeSet;

pub fn changes(entries: &[(&str, Option<&str>)]) -> ChangeSet {
    let mut cs = ChangeSet::new();
    for (k, v) in entries {
        match v {
            Some(v) => cs.put(k.as_bytes().to_vec(), v.as_bytes().to_vec()),
            None => cs.delete(k.as_bytes().to_vec()),
        }
    }
    cs
}
