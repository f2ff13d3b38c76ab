use std::sync::Arc;

use crate::overlay::scan_overlaid;
use crate::{ChangeSet, KeyValues, StateRead, StoreError};

/// Committed state plus a stack of uncommitted layers.
///
/// The bottom layer holds the pending changes of the current block; every invocation (and every
/// nested call) pushes a layer, and on success folds it into the one below
/// ([`StateView::commit_layer`]) or throws it away ([`StateView::discard_layer`]). This is how an
/// invocation's effects become all-or-nothing.
pub struct StateView {
    base: Arc<dyn StateRead>,
    layers: Vec<ChangeSet>,
}

impl StateView {
    /// A view over `base` with one empty (block) layer.
    pub fn new(base: Arc<dyn StateRead>) -> Self {
        Self {
            base,
            layers: vec![ChangeSet::new()],
        }
    }

    /// The committed state under the layers.
    pub fn base(&self) -> Arc<dyn StateRead> {
        self.base.clone()
    }

    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        for layer in self.layers.iter().rev() {
            if let Some(v) = layer.lookup(key) {
                return Ok(v.map(<[u8]>::to_vec));
            }
        }
        self.base.get(key)
    }

    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.top().put(key, value);
    }

    pub fn delete(&mut self, key: Vec<u8>) {
        self.top().delete(key);
    }

    /// Merged scan over the base and every layer: keys with `prefix`, `> after`, ascending,
    /// at most `limit`. Deleted keys are skipped.
    pub fn scan_prefix(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KeyValues, StoreError> {
        let base_page = |cursor: Option<&[u8]>, n: usize| self.base.scan_prefix(prefix, cursor, n);
        scan_overlaid(base_page, &self.layers, prefix, after, limit)
    }

    /// Starts a new innermost layer (an invocation or a nested call).
    pub fn push_layer(&mut self) {
        self.layers.push(ChangeSet::new());
    }

    /// Folds the innermost layer into the one below it.
    pub fn commit_layer(&mut self) {
        assert!(self.layers.len() > 1, "commit_layer without push_layer");
        let top = self.layers.pop().expect("checked above");
        self.top().merge(top);
    }

    /// Throws the innermost layer away.
    pub fn discard_layer(&mut self) {
        assert!(self.layers.len() > 1, "discard_layer without push_layer");
        self.layers.pop();
    }

    /// Number of layers above the block layer.
    pub fn depth(&self) -> usize {
        self.layers.len() - 1
    }

    /// Takes the block's pending changes out of the view (all inner layers must be closed).
    pub fn take_block_changes(&mut self) -> ChangeSet {
        assert_eq!(self.layers.len(), 1, "open layers at end of block");
        std::mem::take(&mut self.layers[0])
    }

    fn top(&mut self) -> &mut ChangeSet {
        self.layers
            .last_mut()
            .expect("a view always has a block layer")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(entries: &[(&str, &str)]) -> Arc<dyn StateRead> {
        Arc::new(crate::MemoryState::from_entries(
            entries
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec())),
        ))
    }

    #[test]
    fn discarded_layer_leaves_no_trace() {
        let mut view = StateView::new(base(&[("a", "1")]));
        view.push_layer();
        view.put(b"a".to_vec(), b"2".to_vec());
        view.delete(b"a".to_vec());
        view.discard_layer();
        assert_eq!(view.get(b"a").unwrap(), Some(b"1".to_vec()));
        assert!(view.take_block_changes().is_empty());
    }

    #[test]
    fn committed_layer_folds_into_parent() {
        let mut view = StateView::new(base(&[]));
        view.push_layer();
        view.put(b"k".to_vec(), b"v".to_vec());
        view.push_layer();
        view.delete(b"k".to_vec());
        view.commit_layer();
        assert_eq!(view.get(b"k").unwrap(), None);
        view.commit_layer();
        assert_eq!(view.take_block_changes().len(), 1);
    }

    #[test]
    fn scan_merges_layers_and_hides_deletes_across_pages() {
        let entries: Vec<(String, String)> = (0..50)
            .map(|i| (format!("p/{i:03}"), i.to_string()))
            .collect();
        let pairs: Vec<(&str, &str)> = entries
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut view = StateView::new(base(&pairs));
        view.push_layer();
        for i in 0..40 {
            view.delete(format!("p/{i:03}").into_bytes());
        }
        view.put(b"p/100".to_vec(), b"new".to_vec());
        view.put(b"q/000".to_vec(), b"other".to_vec());
        let got = view.scan_prefix(b"p/", None, 5).unwrap();
        let keys: Vec<String> = got
            .iter()
            .map(|(k, _)| String::from_utf8(k.clone()).unwrap())
            .collect();
        assert_eq!(keys, ["p/040", "p/041", "p/042", "p/043", "p/044"]);
        let rest = view.scan_prefix(b"p/", Some(b"p/049"), 10).unwrap();
        assert_eq!(rest, vec![(b"p/100".to_vec(), b"new".to_vec())]);
        assert!(view.scan_prefix(b"p/", None, 0).unwrap().is_empty());
    }
}
