//! Column families and key encodings of the on-disk layout (see the crate documentation).

/// Flat latest state: raw key -> raw value. Serves `get` and ordered prefix scans.
pub(crate) const CF_STATE: &str = "state";
/// Jellyfish Merkle nodes: `version (u64 BE) || borsh(NibblePath)` -> `borsh(Node)`.
pub(crate) const CF_JMT_NODES: &str = "jmt_nodes";
/// Versioned values: `key_hash (32) || version (u64 big-endian)` -> `0x00` (deleted) or
/// `0x01 || value`.
pub(crate) const CF_JMT_VALUES: &str = "jmt_values";
/// Stale node index (for future pruning): `stale_since_version (u64 BE)` -> `borsh(Vec<NodeKey>)`,
/// the nodes no longer reachable from that version on.
pub(crate) const CF_JMT_STALE: &str = "jmt_stale";
/// Metadata: latest height, per-height roots, format version.
pub(crate) const CF_META: &str = "meta";
/// Commit records of heights not yet written out: `height (u64 BE)` -> the height's changes
/// (`changelog` module).
pub(crate) const CF_CHANGELOG: &str = "changelog";

/// Every column family, in the order they are opened.
pub(crate) const ALL_CFS: [&str; 6] = [
    CF_STATE,
    CF_JMT_NODES,
    CF_JMT_VALUES,
    CF_JMT_STALE,
    CF_META,
    CF_CHANGELOG,
];

/// `meta` key of the latest committed height: value `height (u64 BE) || root (32)`.
pub(crate) const META_LATEST: &[u8] = b"latest";
/// `meta` key of the on-disk format version: value `u32 BE`.
pub(crate) const META_FORMAT: &[u8] = b"format";
/// Prefix of the per-height root keys in `meta`: `root/ || height (u64 BE)` -> root (32).
pub(crate) const META_ROOT_PREFIX: &[u8] = b"root/";

/// `meta` key of the newest height whose flat state, nodes and values are in their column
/// families: value `u64 BE`. Heights after it up to `latest` have only their changelog record.
pub(crate) const META_PERSISTED: &[u8] = b"persisted";

/// Current on-disk format version: 2 added the changelog and `persisted`.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// Format 1 (every height written out in its commit) opens as format 2 with
/// `persisted = latest`.
pub(crate) const FORMAT_VERSION_WRITE_THROUGH: u32 = 1;

/// Length of a `jmt_values` key.
pub(crate) const VALUE_KEY_LEN: usize = 32 + 8;

/// Tag byte of a deleted value in `jmt_values`.
pub(crate) const VALUE_TAG_DELETED: u8 = 0;
/// Tag byte of a present value in `jmt_values`.
pub(crate) const VALUE_TAG_PRESENT: u8 = 1;

pub(crate) fn root_key(height: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(META_ROOT_PREFIX.len() + 8);
    k.extend_from_slice(META_ROOT_PREFIX);
    k.extend_from_slice(&height.to_be_bytes());
    k
}

pub(crate) fn changelog_key(height: u64) -> [u8; 8] {
    height.to_be_bytes()
}

pub(crate) fn decode_height(raw: &[u8], what: &str) -> Result<u64, String> {
    let bytes: [u8; 8] = raw
        .try_into()
        .map_err(|_| format!("{what} record has {} bytes, expected 8", raw.len()))?;
    Ok(u64::from_be_bytes(bytes))
}

pub(crate) fn value_key(key_hash: &[u8; 32], version: u64) -> [u8; VALUE_KEY_LEN] {
    let mut k = [0u8; VALUE_KEY_LEN];
    k[..32].copy_from_slice(key_hash);
    k[32..].copy_from_slice(&version.to_be_bytes());
    k
}

/// Appends the `jmt_values` encoding of `value` (`0x00` deleted, `0x01 || value`).
pub(crate) fn encode_value_into(value: Option<&[u8]>, out: &mut Vec<u8>) {
    match value {
        None => out.push(VALUE_TAG_DELETED),
        Some(v) => {
            out.push(VALUE_TAG_PRESENT);
            out.extend_from_slice(v);
        }
    }
}

/// `Err` carries a description of the corruption.
pub(crate) fn decode_value(raw: &[u8]) -> Result<Option<Vec<u8>>, String> {
    match raw.split_first() {
        Some((&VALUE_TAG_DELETED, [])) => Ok(None),
        Some((&VALUE_TAG_PRESENT, rest)) => Ok(Some(rest.to_vec())),
        _ => Err("bad versioned value encoding".into()),
    }
}

/// The `jmt_nodes` key of the root node of `version`: version (u64 BE) and the borsh of the empty
/// nibble path (nibble count u64 LE 0, path bytes u32 LE length 0). See
/// `node::NodePath::write_db_key`.
#[cfg(test)]
pub(crate) fn root_node_key(version: u64) -> [u8; 20] {
    let mut k = [0u8; 20];
    k[..8].copy_from_slice(&version.to_be_bytes());
    k
}

pub(crate) fn encode_latest(height: u64, root: &[u8; 32]) -> [u8; 40] {
    let mut v = [0u8; 40];
    v[..8].copy_from_slice(&height.to_be_bytes());
    v[8..].copy_from_slice(root);
    v
}

pub(crate) fn decode_latest(raw: &[u8]) -> Result<(u64, [u8; 32]), String> {
    if raw.len() != 40 {
        return Err(format!(
            "latest-height record has {} bytes, expected 40",
            raw.len()
        ));
    }
    let mut h = [0u8; 8];
    h.copy_from_slice(&raw[..8]);
    let mut root = [0u8; 32];
    root.copy_from_slice(&raw[8..]);
    Ok((u64::from_be_bytes(h), root))
}

pub(crate) fn decode_root(raw: &[u8]) -> Result<[u8; 32], String> {
    raw.try_into()
        .map_err(|_| format!("root record has {} bytes, expected 32", raw.len()))
}
