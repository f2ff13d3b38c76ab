//! One height's tree update, computed as a single batch over sorted key hashes (puts and
//! deletes), giving the same tree as jmt 0.12: same shape, same node hashes, hence the same root
//! and the same proofs.
//!
//! The jmt tree is canonical: an internal node sits at path `p` exactly when at least two keys
//! start with `p`; a leaf sits at the shortest prefix of its key shared with no other key (the
//! root, if it is the only key). A batch therefore walks down the old tree once, splits the
//! sorted changes by nibble, and rebuilds only the nodes above an *effective* change (every put,
//! and the delete of a present key), bottom-up:
//!
//! - an internal node left with no child is removed; left with one child that is a leaf, it is
//!   replaced by that leaf (which moves up to its path, possibly several levels);
//! - a leaf hit by changes is replaced by the subtree of the surviving keys below its path.
//!
//! New nodes get the height's version; untouched subtrees keep theirs. The root of an unchanged
//! tree is copied to the new version (as jmt does), so every height has a root node.
//!
//! Where jmt's one-key-at-a-time path would, for some orders of changes, first collapse a leaf
//! upwards and then push it back down to the path it started at (rewriting it with the new
//! version), the batch leaves that leaf untouched: same hashes, root and proofs; only the
//! version recorded for that unchanged leaf differs (`tests` below check roots and proofs against
//! jmt, and the exact nodes against jmt's batch path where jmt has one).

use std::borrow::Cow;

use crate::node::{nibble, Child, Hash32, Internal, Leaf, NodePath, TreeNode, RADIX};
use crate::StoreError;

/// One change of a height, keyed by the SHA-256 of the state key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Op {
    pub(crate) key_hash: Hash32,
    /// `None`: delete.
    pub(crate) value_hash: Option<Hash32>,
}

/// Where the update reads the previous height's nodes.
pub(crate) trait NodeSource: Sync {
    /// The node written at `version` with `path`; an error if there is none.
    fn node(&self, version: u64, path: &NodePath) -> Result<Cow<'_, TreeNode>, StoreError>;
}

/// Everything one height changes in the tree.
#[derive(Debug, Default)]
pub(crate) struct TreeDelta {
    pub(crate) root: Hash32,
    /// New nodes, all at the height's version, in no particular order.
    pub(crate) new_nodes: Vec<(NodePath, TreeNode)>,
    /// `(version, path)` of the nodes of the previous tree that the new tree no longer uses.
    pub(crate) stale: Vec<(u64, NodePath)>,
}

/// Changes from which the subtrees below the root are updated on two threads (each rebuilds
/// its own half of the root's children; the root is rebuilt after both are done). Lower in unit
/// tests so the differential tests below cover both paths.
#[cfg(not(test))]
const PARALLEL_MIN_OPS: usize = 512;
#[cfg(test)]
const PARALLEL_MIN_OPS: usize = 64;

/// Result of updating one subtree.
enum Outcome {
    /// Nothing below changed: the parent keeps its child slot.
    Unchanged,
    /// No key left below.
    Removed,
    /// Exactly one key left below: the leaf is not written yet, the parent decides its path.
    Leaf(Leaf),
    /// A new internal node, already added to the delta at its path.
    Internal(Child),
}

struct Update<'a, S> {
    source: &'a S,
    version: u64,
    delta: TreeDelta,
}

/// Computes the tree of `version` from the tree of `version - 1` and `ops` (sorted by key hash,
/// each key hash at most once).
pub(crate) fn update_tree<S: NodeSource>(
    source: &S,
    version: u64,
    ops: &[Op],
) -> Result<TreeDelta, StoreError> {
    if version == 0 {
        return Err(StoreError::Tree(
            "batch update of the genesis version".into(),
        ));
    }
    if ops.windows(2).any(|w| w[0].key_hash >= w[1].key_hash) {
        return Err(StoreError::Tree(
            "changes are not sorted by unique key hash".into(),
        ));
    }
    let mut up = Update {
        source,
        version,
        delta: TreeDelta::default(),
    };
    let old_root = source.node(version - 1, &NodePath::ROOT)?.into_owned();
    let outcome = match &old_root {
        TreeNode::Null => up.create_from_ops(NodePath::ROOT, ops)?,
        TreeNode::Leaf(leaf) => up.update_leaf(version - 1, NodePath::ROOT, leaf, ops)?,
        TreeNode::Internal(node) if ops.len() >= PARALLEL_MIN_OPS => {
            up.update_root_in_parallel(node, ops)?
        }
        TreeNode::Internal(node) => up.update_internal(version - 1, NodePath::ROOT, node, ops)?,
    };
    let root_node = match outcome {
        Outcome::Unchanged => Some(old_root),
        Outcome::Removed => Some(TreeNode::Null),
        Outcome::Leaf(leaf) => Some(TreeNode::Leaf(leaf)),
        Outcome::Internal(child) => {
            up.delta.root = child.hash;
            None
        }
    };
    if let Some(node) = root_node {
        up.delta.root = node.hash();
        up.delta.new_nodes.push((NodePath::ROOT, node));
    }
    Ok(up.delta)
}

fn too_deep() -> StoreError {
    StoreError::Tree("tree path longer than a key hash".into())
}

/// Splits `ops` (sorted, all sharing the nibbles before `depth`) into runs with the same nibble
/// at `depth`.
fn runs(ops: &[Op], depth: usize) -> impl Iterator<Item = (u8, &[Op])> {
    let mut rest = ops;
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let n = nibble(&first.key_hash, depth);
        let len = rest.partition_point(|op| nibble(&op.key_hash, depth) <= n);
        let (run, tail) = rest.split_at(len);
        rest = tail;
        Some((n, run))
    })
}

impl<'a, S: NodeSource> Update<'a, S> {
    /// [`Update::update_internal`] of the root, with the root's child slots split into two halves
    /// of about the same number of changes, the first half updated on a scoped thread.
    fn update_root_in_parallel(
        &mut self,
        root: &Internal,
        ops: &[Op],
    ) -> Result<Outcome, StoreError> {
        let slots = root.slots();
        let all: Vec<(u8, &[Op])> = runs(ops, 0).collect();
        let mut seen = 0;
        let split = all
            .iter()
            .position(|(_, run)| {
                seen += run.len();
                seen * 2 >= ops.len()
            })
            .map_or(all.len(), |i| i + 1);
        let (first, second) = all.split_at(split);
        let (source, version) = (self.source, self.version);
        let half = |runs: &[(u8, &[Op])]| -> Result<(Vec<(u8, Outcome)>, TreeDelta), StoreError> {
            let mut up = Update {
                source,
                version,
                delta: TreeDelta::default(),
            };
            let mut outcomes = Vec::with_capacity(runs.len());
            for (n, run) in runs {
                outcomes.push((
                    *n,
                    up.child_outcome(NodePath::ROOT, slots[*n as usize], *n, run)?,
                ));
            }
            Ok((outcomes, up.delta))
        };
        let (a, b) = std::thread::scope(|s| {
            let worker = s.spawn(|| half(first));
            let b = half(second);
            (worker.join(), b)
        });
        let a = a.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let (mut outcomes, delta_a) = a?;
        let (outcomes_b, delta_b) = b?;
        outcomes.extend(outcomes_b);
        for part in [delta_a, delta_b] {
            self.delta.new_nodes.extend(part.new_nodes);
            self.delta.stale.extend(part.stale);
        }
        self.rebuild_internal(version - 1, NodePath::ROOT, slots, outcomes)
    }

    /// A subtree that did not exist, holding the puts of `ops` (deletes there change nothing).
    fn create_from_ops(&mut self, path: NodePath, ops: &[Op]) -> Result<Outcome, StoreError> {
        let leaves: Vec<Leaf> = ops
            .iter()
            .filter_map(|op| {
                op.value_hash.map(|value_hash| Leaf {
                    key_hash: op.key_hash,
                    value_hash,
                })
            })
            .collect();
        if leaves.is_empty() {
            return Ok(Outcome::Unchanged);
        }
        self.create(path, &leaves)
    }

    /// A new subtree at `path` holding exactly `leaves` (sorted, unique, non-empty).
    fn create(&mut self, path: NodePath, leaves: &[Leaf]) -> Result<Outcome, StoreError> {
        match leaves {
            [] => Ok(Outcome::Removed),
            [leaf] => Ok(Outcome::Leaf(*leaf)),
            _ => {
                let depth = path.len();
                let mut slots = [None; RADIX];
                let mut pending = [None; RADIX];
                let mut rest = leaves;
                while let Some(first) = rest.first() {
                    let n = nibble(&first.key_hash, depth);
                    let len = rest.partition_point(|l| nibble(&l.key_hash, depth) <= n);
                    let (run, tail) = rest.split_at(len);
                    rest = tail;
                    let child_path = path.child(n).ok_or_else(too_deep)?;
                    let outcome = self.create(child_path, run)?;
                    self.place(&mut slots, &mut pending, n, outcome);
                }
                self.finish_internal(path, &slots, &pending)
            }
        }
    }

    /// Records a child's outcome in the slots of the node being rebuilt. Returns whether the
    /// slot changed.
    fn place(
        &self,
        slots: &mut [Option<Child>; RADIX],
        pending: &mut [Option<Leaf>; RADIX],
        n: u8,
        outcome: Outcome,
    ) -> bool {
        let i = n as usize;
        match outcome {
            Outcome::Unchanged => return false,
            Outcome::Removed => {
                slots[i] = None;
                pending[i] = None;
            }
            Outcome::Leaf(leaf) => {
                slots[i] = Some(Child {
                    hash: leaf.hash(),
                    version: self.version,
                    leaf_count: None,
                });
                pending[i] = Some(leaf);
            }
            Outcome::Internal(child) => {
                slots[i] = Some(child);
                pending[i] = None;
            }
        }
        true
    }

    /// Writes the new internal node at `path` (and the new leaves right below it), unless it has
    /// fewer than two leaves below, in which case it disappears or becomes its only leaf.
    fn finish_internal(
        &mut self,
        path: NodePath,
        slots: &[Option<Child>; RADIX],
        pending: &[Option<Leaf>; RADIX],
    ) -> Result<Outcome, StoreError> {
        let mut present = slots
            .iter()
            .enumerate()
            .filter_map(|(n, s)| Some((n, (*s)?)));
        let first = present.next();
        let only = if present.next().is_none() {
            first
        } else {
            None
        };
        match (first, only) {
            (None, _) => return Ok(Outcome::Removed),
            (Some(_), Some((n, child))) if child.is_leaf() => {
                // The only leaf floats up to this path: the pending new leaf, or an old one
                // that moves (and whose old node becomes stale).
                if let Some(leaf) = pending[n] {
                    return Ok(Outcome::Leaf(leaf));
                }
                let child_path = path.child(n as u8).ok_or_else(too_deep)?;
                let node = self.source.node(child.version, &child_path)?;
                let TreeNode::Leaf(leaf) = &*node else {
                    return Err(corrupt_child(child.version, &child_path));
                };
                let leaf = *leaf;
                drop(node);
                self.delta.stale.push((child.version, child_path));
                return Ok(Outcome::Leaf(leaf));
            }
            _ => {}
        }
        for (n, leaf) in pending.iter().enumerate() {
            if let Some(leaf) = leaf {
                let child_path = path.child(n as u8).ok_or_else(too_deep)?;
                self.delta
                    .new_nodes
                    .push((child_path, TreeNode::Leaf(*leaf)));
            }
        }
        let node = Internal::from_slots(slots)
            .ok_or_else(|| StoreError::Corrupt("leaf count overflow".into()))?;
        let child = Child {
            hash: node.hash(),
            version: self.version,
            leaf_count: Some(node.leaf_count()),
        };
        self.delta.new_nodes.push((path, TreeNode::Internal(node)));
        Ok(Outcome::Internal(child))
    }

    /// Applies `ops` (all below `path`) to the existing internal node `node`.
    fn update_internal(
        &mut self,
        node_version: u64,
        path: NodePath,
        node: &Internal,
        ops: &[Op],
    ) -> Result<Outcome, StoreError> {
        let slots = node.slots();
        let mut outcomes = Vec::with_capacity(RADIX);
        for (n, run) in runs(ops, path.len()) {
            outcomes.push((n, self.child_outcome(path, slots[n as usize], n, run)?));
        }
        self.rebuild_internal(node_version, path, slots, outcomes)
    }

    /// The outcome of applying `run` (all below `path` ‖ `n`) to the child in slot `n`.
    fn child_outcome(
        &mut self,
        path: NodePath,
        slot: Option<Child>,
        n: u8,
        run: &[Op],
    ) -> Result<Outcome, StoreError> {
        let child_path = path.child(n).ok_or_else(too_deep)?;
        let Some(child) = slot else {
            return self.create_from_ops(child_path, run);
        };
        let source: &'a S = self.source;
        match (source.node(child.version, &child_path)?, child.is_leaf()) {
            (Cow::Borrowed(TreeNode::Internal(inner)), false) => {
                self.update_internal(child.version, child_path, inner, run)
            }
            (Cow::Owned(TreeNode::Internal(inner)), false) => {
                self.update_internal(child.version, child_path, &inner, run)
            }
            (node, true) => match &*node {
                TreeNode::Leaf(leaf) => {
                    let leaf = *leaf;
                    self.update_leaf(child.version, child_path, &leaf, run)
                }
                _ => Err(corrupt_child(child.version, &child_path)),
            },
            _ => Err(corrupt_child(child.version, &child_path)),
        }
    }

    /// Rebuilds the internal node at `path` (written at `node_version`, with `slots`) from its
    /// children's outcomes.
    fn rebuild_internal(
        &mut self,
        node_version: u64,
        path: NodePath,
        mut slots: [Option<Child>; RADIX],
        outcomes: Vec<(u8, Outcome)>,
    ) -> Result<Outcome, StoreError> {
        let mut pending = [None; RADIX];
        let mut changed = false;
        for (n, outcome) in outcomes {
            changed |= self.place(&mut slots, &mut pending, n, outcome);
        }
        if !changed {
            return Ok(Outcome::Unchanged);
        }
        self.delta.stale.push((node_version, path));
        self.finish_internal(path, &slots, &pending)
    }

    /// Applies `ops` (all below `path`) to the existing leaf `leaf`.
    fn update_leaf(
        &mut self,
        leaf_version: u64,
        path: NodePath,
        leaf: &Leaf,
        ops: &[Op],
    ) -> Result<Outcome, StoreError> {
        let mut effective = false;
        let mut survives = true;
        for op in ops {
            if op.key_hash == leaf.key_hash {
                effective = true;
                survives = false;
            } else if op.value_hash.is_some() {
                effective = true;
            }
        }
        if !effective {
            return Ok(Outcome::Unchanged);
        }
        self.delta.stale.push((leaf_version, path));
        let mut leaves: Vec<Leaf> = Vec::with_capacity(ops.len() + 1);
        let mut old = survives.then_some(*leaf);
        for op in ops {
            if let Some(l) = old.filter(|l| l.key_hash < op.key_hash) {
                leaves.push(l);
                old = None;
            }
            if let Some(value_hash) = op.value_hash {
                leaves.push(Leaf {
                    key_hash: op.key_hash,
                    value_hash,
                });
            }
        }
        leaves.extend(old);
        self.create(path, &leaves)
    }
}

fn corrupt_child(version: u64, path: &NodePath) -> StoreError {
    StoreError::Corrupt(format!(
        "tree node at version {version}, depth {} does not match its parent",
        path.len()
    ))
}

/// Differential tests: the batch update against jmt 0.12 itself, on random put/delete batches
/// over several heights.
#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashMap};

    use jmt::storage::{LeafNode, NibblePath, Node, NodeKey, TreeReader, TreeUpdateBatch};
    use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, Version};
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::node::PLACEHOLDER_HASH;

    /// An in-memory jmt store.
    #[derive(Default)]
    struct JmtMem {
        nodes: HashMap<NodeKey, Node>,
        values: BTreeMap<(KeyHash, Version), Option<OwnedValue>>,
    }

    impl TreeReader for JmtMem {
        fn get_node_option(&self, key: &NodeKey) -> anyhow::Result<Option<Node>> {
            Ok(self.nodes.get(key).cloned())
        }

        fn get_value_option(
            &self,
            max_version: Version,
            key_hash: KeyHash,
        ) -> anyhow::Result<Option<OwnedValue>> {
            Ok(self
                .values
                .range((key_hash, 0)..=(key_hash, max_version))
                .next_back()
                .and_then(|(_, v)| v.clone()))
        }

        fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
            anyhow::bail!("not used")
        }
    }

    impl JmtMem {
        fn apply(&mut self, batch: &TreeUpdateBatch) {
            let nodes = batch.node_batch.nodes();
            self.nodes
                .extend(nodes.iter().map(|(k, n)| (k.clone(), n.clone())));
            for ((version, key_hash), value) in batch.node_batch.values() {
                self.values.insert((*key_hash, *version), value.clone());
            }
        }
    }

    fn jmt_key(version: u64, path: &NodePath) -> NodeKey {
        let mut raw = Vec::new();
        path.write_borsh(&mut raw);
        NodeKey::new(version, borsh::from_slice::<NibblePath>(&raw).unwrap())
    }

    fn jmt_node(node: &TreeNode) -> Node {
        let mut raw = Vec::new();
        node.encode(&mut raw);
        borsh::from_slice(&raw).unwrap()
    }

    /// Our tree, plus the same nodes as jmt sees them on disk (so jmt can prove from them).
    #[derive(Default)]
    struct OursMem {
        nodes: HashMap<(u64, NodePath), TreeNode>,
        as_jmt: JmtMem,
    }

    impl NodeSource for OursMem {
        fn node(&self, version: u64, path: &NodePath) -> Result<Cow<'_, TreeNode>, StoreError> {
            self.nodes
                .get(&(version, *path))
                .map(Cow::Borrowed)
                .ok_or_else(|| StoreError::Corrupt(format!("no node at {version}")))
        }
    }

    impl OursMem {
        fn insert(&mut self, version: u64, path: NodePath, node: TreeNode) {
            self.as_jmt
                .nodes
                .insert(jmt_key(version, &path), jmt_node(&node));
            self.nodes.insert((version, path), node);
        }
    }

    type Changes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

    fn key_hash(key: &[u8]) -> [u8; 32] {
        Sha256::digest(key).into()
    }

    fn ops_of(changes: &Changes) -> Vec<Op> {
        let mut ops: Vec<Op> = changes
            .iter()
            .map(|(k, v)| Op {
                key_hash: key_hash(k),
                value_hash: v.as_ref().map(|v| Sha256::digest(v).into()),
            })
            .collect();
        ops.sort_by_key(|op| op.key_hash);
        ops
    }

    fn stale_set(stale: &[(u64, NodePath)]) -> Vec<NodeKey> {
        let mut keys: Vec<NodeKey> = stale.iter().map(|(v, p)| jmt_key(*v, p)).collect();
        keys.sort();
        keys
    }

    /// Runs `heights` through jmt's one-key-at-a-time path and through [`update_tree`]: equal
    /// roots, equal proofs (which carry the whole shape along a key's path) that verify, a root
    /// node at every height, and, for heights of puts only, exactly the nodes and stale nodes of
    /// jmt's own batch path over the same previous tree.
    fn check_against_jmt(heights: &[Changes], keys: &[Vec<u8>]) -> Result<(), TestCaseError> {
        let mut reference = JmtMem::default();
        let tree = JellyfishMerkleTree::<_, Sha256>::new(&reference);
        let (_, genesis) = tree
            .put_value_set(Vec::<(KeyHash, Option<Vec<u8>>)>::new(), 0)
            .unwrap();
        reference.apply(&genesis);
        let mut ours = OursMem::default();
        ours.insert(0, NodePath::ROOT, TreeNode::Null);
        let mut roots = vec![PLACEHOLDER_HASH];
        for (i, changes) in heights.iter().enumerate() {
            let version = i as u64 + 1;
            let tree = JellyfishMerkleTree::<_, Sha256>::new(&reference);
            let value_set: Vec<(KeyHash, Option<Vec<u8>>)> = changes
                .iter()
                .map(|(k, v)| (KeyHash(key_hash(k)), v.clone()))
                .collect();
            let (root, batch) = tree.put_value_set(value_set, version).unwrap();
            reference.apply(&batch);

            let ops = ops_of(changes);
            let delta = update_tree(&ours, version, &ops).unwrap();
            prop_assert_eq!(delta.root, root.0, "root at height {}", version);
            let puts_only = !changes.is_empty() && changes.values().all(Option::is_some);
            if puts_only {
                let tree = JellyfishMerkleTree::<_, Sha256>::new(&ours.as_jmt);
                let puts: Vec<(KeyHash, Vec<u8>)> = changes
                    .iter()
                    .map(|(k, v)| (KeyHash(key_hash(k)), v.clone().unwrap()))
                    .collect();
                let (_, jmt_batch) = tree
                    .batch_put_value_sets(vec![puts], None, version)
                    .unwrap();
                let mut expected: Vec<(NodeKey, Node)> = jmt_batch
                    .node_batch
                    .nodes()
                    .iter()
                    .map(|(k, n)| (k.clone(), n.clone()))
                    .collect();
                let mut got: Vec<(NodeKey, Node)> = delta
                    .new_nodes
                    .iter()
                    .map(|(p, n)| (jmt_key(version, p), jmt_node(n)))
                    .collect();
                expected.sort_by(|a, b| a.0.cmp(&b.0));
                got.sort_by(|a, b| a.0.cmp(&b.0));
                prop_assert_eq!(got, expected, "nodes at height {}", version);
                let jmt_stale: Vec<NodeKey> = jmt_batch
                    .stale_node_index_batch
                    .iter()
                    .map(|s| s.node_key.clone())
                    .collect();
                prop_assert_eq!(stale_set(&delta.stale), jmt_stale);
            }
            prop_assert!(delta.new_nodes.iter().any(|(p, _)| *p == NodePath::ROOT));
            for (path, node) in delta.new_nodes {
                ours.insert(version, path, node);
            }
            for (k, v) in changes {
                ours.as_jmt
                    .values
                    .insert((KeyHash(key_hash(k)), version), v.clone());
            }
            roots.push(root.0);
        }
        // Every height of both trees answers every key with the same value and proof.
        let ours_tree = JellyfishMerkleTree::<_, Sha256>::new(&ours.as_jmt);
        let reference_tree = JellyfishMerkleTree::<_, Sha256>::new(&reference);
        for (version, root) in roots.iter().enumerate() {
            for key in keys {
                let kh = KeyHash(key_hash(key));
                let (value, proof) = ours_tree.get_with_proof(kh, version as u64).unwrap();
                let expected = reference_tree.get_with_proof(kh, version as u64).unwrap();
                prop_assert_eq!(&(value.clone(), proof.clone()), &expected);
                prop_assert!(proof
                    .verify(jmt::RootHash(*root), kh, value.as_deref())
                    .is_ok());
            }
        }
        Ok(())
    }

    /// Heights of changes over `key_space` keys: puts of short values (sometimes the same value
    /// again), and deletes with weight `delete_weight` (of present and absent keys).
    fn heights(
        key_space: u16,
        max_changes: usize,
        max_heights: usize,
    ) -> impl Strategy<Value = Vec<Changes>> {
        let change = (
            0..key_space,
            prop::option::weighted(0.6, prop::collection::vec(0u8..3, 0..3)),
        );
        let height = prop::collection::vec(change, 0..max_changes).prop_map(|cs| {
            cs.into_iter()
                .map(|(k, v)| (k.to_be_bytes().to_vec(), v))
                .collect::<Changes>()
        });
        prop::collection::vec(height, 1..max_heights)
    }

    fn all_keys(key_space: u16) -> Vec<Vec<u8>> {
        (0..key_space).map(|k| k.to_be_bytes().to_vec()).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn small_trees_match_jmt(hs in heights(24, 16, 10)) {
            check_against_jmt(&hs, &all_keys(24))?;
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

        #[test]
        fn larger_trees_match_jmt(hs in heights(600, 400, 6)) {
            check_against_jmt(&hs, &all_keys(600))?;
        }
    }

    #[test]
    fn unsorted_or_duplicate_changes_are_rejected() {
        let mut ours = OursMem::default();
        ours.insert(0, NodePath::ROOT, TreeNode::Null);
        let op = |b: u8| Op {
            key_hash: [b; 32],
            value_hash: Some([0; 32]),
        };
        assert!(update_tree(&ours, 1, &[op(2), op(1)]).is_err());
        assert!(update_tree(&ours, 1, &[op(1), op(1)]).is_err());
        assert!(update_tree(&ours, 0, &[op(1)]).is_err());
        assert!(
            update_tree(&ours, 2, &[op(1)]).is_err(),
            "no root at version 1"
        );
    }
}
