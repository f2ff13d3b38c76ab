//! Tree nodes with exactly the shape, hashing and on-disk encoding of jmt 0.12, without jmt's
//! types on the commit path.
//!
//! jmt's `Node` is borsh-encoded in `jmt_nodes`, and jmt itself still reads those bytes for
//! proofs and for the root check at open, so [`TreeNode::encode`] writes byte-for-byte what
//! `borsh::to_vec(&jmt::storage::Node)` writes (checked by the tests below and by the
//! differential tests of `batch`). Hashes follow jmt's definitions:
//!
//! - leaf: `SHA-256("JMT::LeafNode" || key_hash || value_hash)`;
//! - internal: a binary Merkle tree over the 16 child slots, where an empty range hashes to the
//!   placeholder, a range holding exactly one child that is a leaf hashes to that leaf's hash
//!   (leaves float up), a single slot hashes to its child's hash, and anything else is
//!   `SHA-256("JMT::IntrnalNode" || left || right)`.

use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub(crate) type Hash32 = [u8; 32];

/// Most nibbles of a path: two per byte of a 32-byte key hash.
pub(crate) const MAX_NIBBLES: usize = 64;
/// Children of an internal node (one per nibble value).
pub(crate) const RADIX: usize = 16;
/// Hash of an empty subtree (jmt's `SPARSE_MERKLE_PLACEHOLDER_HASH`).
pub(crate) const PLACEHOLDER_HASH: Hash32 = *b"SPARSE_MERKLE_PLACEHOLDER_HASH__";

const LEAF_DOMAIN: &[u8] = b"JMT::LeafNode";
const INTERNAL_DOMAIN: &[u8] = b"JMT::IntrnalNode";

/// borsh variant tags of jmt's `Node` (declaration order: `Null`, `Internal`, `Leaf`).
const TAG_NULL: u8 = 0;
const TAG_INTERNAL: u8 = 1;
const TAG_LEAF: u8 = 2;
/// borsh variant tags of jmt's `NodeType` (`Leaf`, `Internal { leaf_count }`).
const TYPE_LEAF: u8 = 0;
const TYPE_INTERNAL: u8 = 1;

/// Room for a `jmt_nodes` key: version, nibble count, byte length and up to 32 path bytes.
pub(crate) const NODE_DB_KEY_CAPACITY: usize = 8 + 8 + 4 + 32;

/// Nibble `i` of a 32-byte key hash (high half of each byte first, as jmt).
pub(crate) fn nibble(key: &Hash32, i: usize) -> u8 {
    let byte = key[i / 2];
    if i.is_multiple_of(2) {
        byte >> 4
    } else {
        byte & 0x0f
    }
}

/// A nibble path from the root (jmt's `NibblePath`), stored inline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct NodePath {
    len: u8,
    /// Nibbles packed two per byte, high half first; unused nibbles are zero.
    bytes: [u8; 32],
}

impl NodePath {
    pub(crate) const ROOT: NodePath = NodePath {
        len: 0,
        bytes: [0; 32],
    };

    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }

    /// This path extended by `nibble` (`None` past [`MAX_NIBBLES`]).
    pub(crate) fn child(&self, nibble: u8) -> Option<NodePath> {
        let i = self.len();
        if i >= MAX_NIBBLES {
            return None;
        }
        let mut out = *self;
        if i.is_multiple_of(2) {
            out.bytes[i / 2] = nibble << 4;
        } else {
            out.bytes[i / 2] |= nibble & 0x0f;
        }
        out.len += 1;
        Some(out)
    }

    fn byte_len(&self) -> usize {
        self.len().div_ceil(2)
    }

    /// Appends the `jmt_nodes` key of the node at `version` and this path:
    /// `version (u64 BE) || borsh(NibblePath)` (nibble count u64 LE, byte length u32 LE, bytes).
    pub(crate) fn write_db_key(&self, version: u64, out: &mut Vec<u8>) {
        out.extend_from_slice(&version.to_be_bytes());
        self.write_borsh(out);
    }

    /// Appends `borsh(NibblePath)`.
    pub(crate) fn write_borsh(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.len as u64).to_le_bytes());
        out.extend_from_slice(&(self.byte_len() as u32).to_le_bytes());
        out.extend_from_slice(&self.bytes[..self.byte_len()]);
    }
}

/// A child slot of an internal node (jmt's `Child`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Child {
    pub(crate) hash: Hash32,
    /// Version of the child node (its `NodeKey` is this version and the child's path).
    pub(crate) version: u64,
    /// `None` for a leaf, else the internal node's leaf count.
    pub(crate) leaf_count: Option<u64>,
}

impl Child {
    pub(crate) fn is_leaf(&self) -> bool {
        self.leaf_count.is_none()
    }

    fn leaves(&self) -> u64 {
        self.leaf_count.unwrap_or(1)
    }
}

/// A leaf: the key hash and the hash of its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Leaf {
    pub(crate) key_hash: Hash32,
    pub(crate) value_hash: Hash32,
}

impl Leaf {
    pub(crate) fn hash(&self) -> Hash32 {
        let mut buf = [0u8; 13 + 64];
        buf[..13].copy_from_slice(LEAF_DOMAIN);
        buf[13..45].copy_from_slice(&self.key_hash);
        buf[45..].copy_from_slice(&self.value_hash);
        Sha256::digest(buf).into()
    }
}

/// An internal node: the occupied slots (`existence` bitmap) and their children, in nibble order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Internal {
    existence: u16,
    leaves: u16,
    children: Box<[Child]>,
    leaf_count: u64,
}

fn internal_hash(left: &Hash32, right: &Hash32) -> Hash32 {
    let mut buf = [0u8; 16 + 64];
    buf[..16].copy_from_slice(INTERNAL_DOMAIN);
    buf[16..48].copy_from_slice(left);
    buf[48..].copy_from_slice(right);
    Sha256::digest(buf).into()
}

impl Internal {
    /// Builds a node from its 16 slots. `None` if the sum of leaf counts overflows.
    pub(crate) fn from_slots(slots: &[Option<Child>; RADIX]) -> Option<Internal> {
        let mut existence = 0u16;
        let mut leaves = 0u16;
        let mut children = Vec::with_capacity(slots.iter().flatten().count());
        let mut leaf_count = 0u64;
        for (n, slot) in slots.iter().enumerate() {
            if let Some(child) = slot {
                existence |= 1 << n;
                if child.is_leaf() {
                    leaves |= 1 << n;
                }
                leaf_count = leaf_count.checked_add(child.leaves())?;
                children.push(*child);
            }
        }
        Some(Internal {
            existence,
            leaves,
            children: children.into_boxed_slice(),
            leaf_count,
        })
    }

    /// The 16 slots.
    pub(crate) fn slots(&self) -> [Option<Child>; RADIX] {
        let mut slots = [None; RADIX];
        let mut it = self.children.iter();
        for (n, slot) in slots.iter_mut().enumerate() {
            if self.existence & (1 << n) != 0 {
                *slot = it.next().copied();
            }
        }
        slots
    }

    pub(crate) fn child(&self, nibble: u8) -> Option<&Child> {
        let bit = 1u16 << nibble;
        if self.existence & bit == 0 {
            return None;
        }
        let index = (self.existence & (bit - 1)).count_ones() as usize;
        self.children.get(index)
    }

    pub(crate) fn leaf_count(&self) -> u64 {
        self.leaf_count
    }

    pub(crate) fn hash(&self) -> Hash32 {
        self.merkle(0, RADIX as u8)
    }

    fn merkle(&self, start: u8, width: u8) -> Hash32 {
        let mask = (((1u32 << width) - 1) << start) as u16;
        let existence = self.existence & mask;
        let leaves = self.leaves & mask;
        if existence == 0 {
            return PLACEHOLDER_HASH;
        }
        if width == 1 || (existence.count_ones() == 1 && leaves != 0) {
            let only = existence.trailing_zeros() as u8;
            return self.child(only).map_or(PLACEHOLDER_HASH, |c| c.hash);
        }
        let half = width / 2;
        internal_hash(&self.merkle(start, half), &self.merkle(start + half, half))
    }
}

/// A tree node (jmt's `Node`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TreeNode {
    /// The root of an empty tree.
    Null,
    Internal(Internal),
    Leaf(Leaf),
}

impl TreeNode {
    pub(crate) fn hash(&self) -> Hash32 {
        match self {
            TreeNode::Null => PLACEHOLDER_HASH,
            TreeNode::Internal(n) => n.hash(),
            TreeNode::Leaf(l) => l.hash(),
        }
    }

    pub(crate) fn is_leaf(&self) -> bool {
        matches!(self, TreeNode::Leaf(_))
    }

    /// Length of [`TreeNode::encode`]'s output.
    pub(crate) fn encoded_len(&self) -> usize {
        match self {
            TreeNode::Null => 1,
            TreeNode::Leaf(_) => 1 + 64,
            TreeNode::Internal(n) => {
                let children: usize = n
                    .children
                    .iter()
                    .map(|c| 1 + 32 + 8 + 1 + if c.is_leaf() { 0 } else { 8 })
                    .sum();
                1 + (RADIX - n.children.len()) + children + 8 + 8
            }
        }
    }

    /// Appends `borsh(jmt::storage::Node)` of this node.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        match self {
            TreeNode::Null => out.push(TAG_NULL),
            TreeNode::Leaf(l) => {
                out.push(TAG_LEAF);
                out.extend_from_slice(&l.key_hash);
                out.extend_from_slice(&l.value_hash);
            }
            TreeNode::Internal(n) => {
                out.push(TAG_INTERNAL);
                for slot in n.slots() {
                    match slot {
                        None => out.push(0),
                        Some(c) => {
                            out.push(1);
                            out.extend_from_slice(&c.hash);
                            out.extend_from_slice(&c.version.to_le_bytes());
                            match c.leaf_count {
                                None => out.push(TYPE_LEAF),
                                Some(count) => {
                                    out.push(TYPE_INTERNAL);
                                    out.extend_from_slice(&count.to_le_bytes());
                                }
                            }
                        }
                    }
                }
                out.extend_from_slice(&(n.children.len() as u64).to_le_bytes());
                out.extend_from_slice(&n.leaf_count.to_le_bytes());
            }
        }
    }

    /// Decodes `borsh(jmt::storage::Node)`. Rejects truncated input, trailing bytes, unknown tags
    /// and internal nodes whose recorded child or leaf counts disagree with their slots.
    pub(crate) fn decode(raw: &[u8]) -> Result<TreeNode, String> {
        let mut r = Reader { raw, at: 0 };
        let node = match r.u8()? {
            TAG_NULL => TreeNode::Null,
            TAG_LEAF => TreeNode::Leaf(Leaf {
                key_hash: r.hash()?,
                value_hash: r.hash()?,
            }),
            TAG_INTERNAL => {
                let mut slots = [None; RADIX];
                for slot in slots.iter_mut() {
                    *slot = match r.u8()? {
                        0 => None,
                        1 => {
                            let hash = r.hash()?;
                            let version = r.u64()?;
                            let leaf_count = match r.u8()? {
                                TYPE_LEAF => None,
                                TYPE_INTERNAL => Some(r.u64()?),
                                t => return Err(format!("bad node type tag {t}")),
                            };
                            Some(Child {
                                hash,
                                version,
                                leaf_count,
                            })
                        }
                        t => return Err(format!("bad child option tag {t}")),
                    };
                }
                let num_children = r.u64()?;
                let leaf_count = r.u64()?;
                let node = Internal::from_slots(&slots).ok_or("leaf count overflows")?;
                if num_children != node.children.len() as u64 || leaf_count != node.leaf_count {
                    return Err("internal node counts disagree with its children".into());
                }
                TreeNode::Internal(node)
            }
            t => return Err(format!("bad node tag {t}")),
        };
        if r.at != raw.len() {
            return Err("trailing bytes after tree node".into());
        }
        Ok(node)
    }
}

struct Reader<'a> {
    raw: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.raw.len());
        let end = end.ok_or("truncated tree node")?;
        let s = &self.raw[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, String> {
        let mut b = [0u8; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(b))
    }

    fn hash(&mut self) -> Result<Hash32, String> {
        let mut h = [0u8; 32];
        h.copy_from_slice(self.take(32)?);
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jmt::storage::{LeafNode, Node, NodeKey};
    use jmt::KeyHash;
    use proptest::prelude::*;

    fn jmt_leaf(l: &Leaf) -> Node {
        Node::Leaf(LeafNode::new(
            KeyHash(l.key_hash),
            jmt::ValueHash(l.value_hash),
        ))
    }

    /// A jmt internal node with the same slots (built through jmt's own decoder, since its
    /// constructors need jmt's private `Nibble`).
    fn jmt_node(node: &TreeNode) -> Node {
        let mut raw = Vec::new();
        node.encode(&mut raw);
        borsh::from_slice(&raw).unwrap()
    }

    fn arb_child() -> impl Strategy<Value = Child> {
        (
            any::<[u8; 32]>(),
            any::<u64>(),
            prop::option::of(2u64..1_000_000),
        )
            .prop_map(|(hash, version, leaf_count)| Child {
                hash,
                version,
                leaf_count,
            })
    }

    fn arb_internal() -> impl Strategy<Value = Internal> {
        prop::array::uniform16(prop::option::weighted(0.4, arb_child()))
            .prop_filter("not empty", |s| s.iter().any(Option::is_some))
            .prop_map(|s| Internal::from_slots(&s).unwrap())
    }

    proptest! {
        #[test]
        fn internal_nodes_encode_and_hash_like_jmt(node in arb_internal()) {
            let ours = TreeNode::Internal(node);
            let theirs = jmt_node(&ours);
            let mut raw = Vec::new();
            ours.encode(&mut raw);
            prop_assert_eq!(&raw, &borsh::to_vec(&theirs).unwrap());
            prop_assert_eq!(raw.len(), ours.encoded_len());
            let Node::Internal(internal) = &theirs else { panic!("not internal") };
            prop_assert_eq!(ours.hash(), internal.hash::<Sha256>());
            prop_assert_eq!(TreeNode::decode(&raw).unwrap(), ours);
        }

        #[test]
        fn leaves_encode_and_hash_like_jmt(key_hash in any::<[u8; 32]>(), value_hash in any::<[u8; 32]>()) {
            let leaf = Leaf { key_hash, value_hash };
            let theirs = jmt_leaf(&leaf);
            let mut raw = Vec::new();
            TreeNode::Leaf(leaf).encode(&mut raw);
            prop_assert_eq!(&raw, &borsh::to_vec(&theirs).unwrap());
            prop_assert_eq!(raw.len(), TreeNode::Leaf(leaf).encoded_len());
            let Node::Leaf(l) = &theirs else { panic!("not a leaf") };
            prop_assert_eq!(leaf.hash(), l.hash::<Sha256>());
        }

        #[test]
        fn paths_encode_like_jmt_node_keys(key in any::<[u8; 32]>(), len in 0usize..=MAX_NIBBLES, version in any::<u64>()) {
            let mut path = NodePath::ROOT;
            for i in 0..len {
                path = path.child(nibble(&key, i)).unwrap();
            }
            prop_assert_eq!(path.len(), len);
            // jmt's own path of the same nibbles: a full key path, truncated through borsh.
            let mut ours = Vec::new();
            path.write_borsh(&mut ours);
            let theirs: jmt::storage::NibblePath = borsh::from_slice(&ours).unwrap();
            prop_assert_eq!(theirs.num_nibbles(), len);
            for i in 0..len {
                prop_assert_eq!(theirs.get_nibble(i).as_usize() as u8, nibble(&key, i));
            }
            let node_key = NodeKey::new(version, theirs);
            let mut db_key = Vec::new();
            path.write_db_key(version, &mut db_key);
            let mut expected = version.to_be_bytes().to_vec();
            borsh::to_writer(&mut expected, node_key.nibble_path()).unwrap();
            prop_assert_eq!(db_key, expected);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(raw in prop::collection::vec(any::<u8>(), 0..900)) {
            if let Ok(node) = TreeNode::decode(&raw) {
                let mut again = Vec::new();
                node.encode(&mut again);
                prop_assert_eq!(again, raw);
            }
        }
    }

    #[test]
    fn null_encodes_like_jmt_and_a_full_path_stops_growing() {
        let mut raw = Vec::new();
        TreeNode::Null.encode(&mut raw);
        assert_eq!(raw, borsh::to_vec(&Node::Null).unwrap());
        assert_eq!(raw.len(), TreeNode::Null.encoded_len());
        assert_eq!(TreeNode::Null.hash(), PLACEHOLDER_HASH);
        let mut path = NodePath::ROOT;
        for _ in 0..MAX_NIBBLES {
            path = path.child(0xa).unwrap();
        }
        assert_eq!(path.child(0), None);
    }

    #[test]
    fn corrupt_internal_counts_are_rejected() {
        let mut slots = [None; RADIX];
        slots[3] = Some(Child {
            hash: [1; 32],
            version: 7,
            leaf_count: Some(2),
        });
        let mut raw = Vec::new();
        TreeNode::Internal(Internal::from_slots(&slots).unwrap()).encode(&mut raw);
        let n = raw.len();
        raw[n - 1] ^= 1; // leaf count
        assert!(TreeNode::decode(&raw).is_err());
        raw.truncate(n - 3);
        assert!(TreeNode::decode(&raw).is_err());
    }
}
