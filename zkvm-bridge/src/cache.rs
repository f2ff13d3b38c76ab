//! On-disk cache of public parameters and keys, one pair of files per `(k, m)` shape.
//!
//! File layout: `magic "NXZKKEY\0" | version u32 | circuit u32 | k u32 | m u32 | kind u8 |
//! sha256(body) [32] | body_len u64 | body`, where `body` is bincode of `(pp, pk)` (kind 1) or
//! `vk` (kind 2). A file whose header, hash or body does not check out is regenerated, never
//! used. Files are written to a temporary name and renamed into place. File names carry the key
//! and circuit versions (`zkvm-v{KEY}-c{CIRCUIT}-k{k}-m{m}.{pk,vk}`); writing a shape's keys
//! removes that shape's files of other versions.
//!
//! The cache is local state of this machine: the hash protects against corruption, not against
//! someone who can write the cache directory (they could replace both body and hash).

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::prover::{setup, Keys, Params, Pk, ProveError, Vk};

/// Key file magic.
pub const KEY_MAGIC: &[u8; 8] = b"NXZKKEY\0";
/// Key file format version: bump when the keys' types or encoding change (2: the
/// evaluation-argument keys are [`crate::ipa`]'s, generators stored uncompressed).
pub const KEY_VERSION: u32 = 2;
/// Version of the step circuit; bump on every constraint change so stale caches regenerate.
pub const CIRCUIT_VERSION: u32 = 1;
/// SHA-256 of the canonical encoding ([`verifier_key_digest`]) of the verifier key of the
/// default shape (`prover::DEFAULT_K`, `prover::DEFAULT_M`) of circuit [`CIRCUIT_VERSION`].
/// Chains pin it in their genesis (`zk.verifier_key_sha256`), so a node whose binary derives
/// another key (a changed circuit) refuses to verify instead of disagreeing with the others.
/// A test derives the key afresh and compares; change it in the same commit as the circuit
/// ([`CIRCUIT_VERSION`]) or the keys' encoding ([`KEY_VERSION`]).
pub const DEFAULT_VERIFIER_KEY_SHA256: [u8; 32] = [
    0x51, 0x19, 0xa0, 0x2b, 0x27, 0x57, 0xf1, 0x1e, 0xe2, 0xd7, 0x93, 0x47, 0xc0, 0x1d, 0x0f, 0xe7,
    0x0a, 0x5b, 0x5e, 0xf1, 0x0b, 0x83, 0xda, 0x9d, 0x35, 0x78, 0x9f, 0x12, 0xa5, 0x98, 0x43, 0x1e,
];
/// Largest key body decoded.
pub const MAX_KEY_BYTES: usize = 1 << 30;
const HEADER: usize = 8 + 4 * 4 + 1 + 32 + 8;
const KIND_PROVER: u8 = 1;
const KIND_VERIFIER: u8 = 2;

/// Cache failures that cannot be repaired by regenerating.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("cache directory {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error(transparent)]
    Setup(#[from] ProveError),
    #[error("encoding keys: {0}")]
    Encode(String),
    #[error("decoding a just-generated verifier key: {0}")]
    Decode(String),
}

/// `$NEXUS_ZK_CACHE`, else `$XDG_CACHE_HOME/nexus/zk`, else `$HOME/.cache/nexus/zk`.
pub fn default_cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("NEXUS_ZK_CACHE") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("nexus/zk");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".cache/nexus/zk")
}

fn file(dir: &Path, k: usize, m: usize, kind: u8) -> PathBuf {
    let suffix = if kind == KIND_PROVER { "pk" } else { "vk" };
    dir.join(format!(
        "zkvm-v{KEY_VERSION}-c{CIRCUIT_VERSION}-k{k}-m{m}.{suffix}"
    ))
}

fn cfg() -> impl bincode::config::Config {
    bincode::config::legacy().with_limit::<MAX_KEY_BYTES>()
}

fn header(k: usize, m: usize, kind: u8, body: &[u8]) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER + body.len());
    h.extend_from_slice(KEY_MAGIC);
    h.extend_from_slice(&KEY_VERSION.to_le_bytes());
    h.extend_from_slice(&CIRCUIT_VERSION.to_le_bytes());
    h.extend_from_slice(&(k as u32).to_le_bytes());
    h.extend_from_slice(&(m as u32).to_le_bytes());
    h.push(kind);
    h.extend_from_slice(&Sha256::digest(body));
    h.extend_from_slice(&(body.len() as u64).to_le_bytes());
    h.extend_from_slice(body);
    h
}

/// The checked body of a key file and its SHA-256 (from the header, checked), or `None` when
/// it is missing or corrupt.
fn read_checked(path: &Path, k: usize, m: usize, kind: u8) -> Option<(Vec<u8>, [u8; 32])> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() < HEADER {
        return None;
    }
    let mut expect = header(k, m, kind, &[]);
    expect.truncate(8 + 16 + 1);
    if bytes[..expect.len()] != expect[..] {
        return None;
    }
    let mut hash = [0u8; 32];
    hash.copy_from_slice(&bytes[25..57]);
    let mut len = [0u8; 8];
    len.copy_from_slice(&bytes[57..65]);
    let mut body = bytes;
    let body_len = body.len() - HEADER;
    if u64::from_le_bytes(len) != body_len as u64 || Sha256::digest(&body[HEADER..])[..] != hash {
        return None;
    }
    body.drain(..HEADER);
    Some((body, hash))
}

/// Removes the key files of `(k, m)` written by older key or circuit versions (each pair is
/// tens of MB and nothing reads them again). Files of newer versions stay: a newer binary
/// sharing the directory still uses them, and removing each other's files would make two
/// binaries regenerate their keys in turn. Best effort: a file that cannot be removed stays.
fn remove_stale(dir: &Path, k: usize, m: usize) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let ours = (KEY_VERSION, CIRCUIT_VERSION);
    for entry in entries.flatten() {
        let path = entry.path();
        let Some((key, circuit)) = entry
            .file_name()
            .to_str()
            .and_then(|name| file_versions(name, k, m))
        else {
            continue;
        };
        let older = key <= ours.0 && circuit <= ours.1 && (key, circuit) != ours;
        if older && std::fs::remove_file(&path).is_ok() {
            tracing::info!(target: "nexus::zkvm", file = %path.display(), "removed stale key file");
        }
    }
}

/// The key and circuit versions in the name of a key file of shape `(k, m)`:
/// `zkvm-v{key}-c{circuit}-k{k}-m{m}.pk` (or `.vk`), or `zkvm-c{circuit}-…` from before key
/// versions (key version 1). `None` for any other name.
fn file_versions(name: &str, k: usize, m: usize) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("zkvm-")?;
    let rest = rest
        .strip_suffix(".pk")
        .or_else(|| rest.strip_suffix(".vk"))?
        .strip_suffix(&format!("-k{k}-m{m}"))?;
    let (key, circuit) = match rest.split_once('-') {
        Some((key, circuit)) => (key.strip_prefix('v')?.parse().ok()?, circuit),
        None => (1, rest),
    };
    Some((key, circuit.strip_prefix('c')?.parse().ok()?))
}

fn write(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    std::fs::create_dir_all(dir).map_err(|e| CacheError::Io(dir.into(), e))?;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(|e| CacheError::Io(tmp.clone(), e))?;
    std::fs::rename(&tmp, path).map_err(|e| CacheError::Io(path.into(), e))
}

fn store(dir: &Path, keys: &Keys) -> Result<(), CacheError> {
    let enc = |e: bincode::error::EncodeError| CacheError::Encode(e.to_string());
    let body = bincode::serde::encode_to_vec((&keys.pp, &keys.pk), cfg()).map_err(enc)?;
    write(
        dir,
        &file(dir, keys.k, keys.m, KIND_PROVER),
        &header(keys.k, keys.m, KIND_PROVER, &body),
    )?;
    let body = bincode::serde::encode_to_vec(&keys.vk, cfg()).map_err(enc)?;
    write(
        dir,
        &file(dir, keys.k, keys.m, KIND_VERIFIER),
        &header(keys.k, keys.m, KIND_VERIFIER, &body),
    )?;
    remove_stale(dir, keys.k, keys.m);
    Ok(())
}

/// Prover keys from the cache, regenerated (and stored) when missing or corrupt.
pub fn prover_keys(dir: &Path, k: usize, m: usize) -> Result<Keys, CacheError> {
    let pk_path = file(dir, k, m, KIND_PROVER);
    let vk_path = file(dir, k, m, KIND_VERIFIER);
    if let (Some((pb, _)), Some((vb, _))) = (
        read_checked(&pk_path, k, m, KIND_PROVER),
        read_checked(&vk_path, k, m, KIND_VERIFIER),
    ) {
        let p: Result<((Params, Pk), usize), _> = bincode::serde::decode_from_slice(&pb, cfg());
        let v: Result<(Vk, usize), _> = bincode::serde::decode_from_slice(&vb, cfg());
        if let (Ok(((pp, pk), _)), Ok((vk, _))) = (p, v) {
            tracing::debug!(target: "nexus::zkvm", k, m, "keys loaded from cache");
            return Ok(Keys { k, m, pp, pk, vk });
        }
    }
    tracing::info!(target: "nexus::zkvm", k, m, dir = %dir.display(), "generating public parameters");
    let keys = setup(k, m)?;
    store(dir, &keys)?;
    Ok(keys)
}

/// The verifier key from the cache, regenerated when missing or corrupt.
pub fn verifier_key(dir: &Path, k: usize, m: usize) -> Result<Vk, CacheError> {
    Ok(verifier_key_with_digest(dir, k, m)?.0)
}

/// The verifier key from the cache (regenerated when missing or corrupt) and its
/// [`verifier_key_digest`]. The key is always decoded from its encoding, also when just
/// generated, so a caller inside [`crate::ipa::decoding_with_tables`] gets the tables.
pub fn verifier_key_with_digest(
    dir: &Path,
    k: usize,
    m: usize,
) -> Result<(Vk, [u8; 32]), CacheError> {
    if let Some(found) = read_verifier_key(dir, k, m) {
        return Ok(found);
    }
    let vk = prover_keys(dir, k, m)?.vk;
    let body =
        bincode::serde::encode_to_vec(&vk, cfg()).map_err(|e| CacheError::Encode(e.to_string()))?;
    drop(vk);
    let (vk, _) = bincode::serde::decode_from_slice::<Vk, _>(&body, cfg())
        .map_err(|e| CacheError::Decode(e.to_string()))?;
    Ok((vk, Sha256::digest(&body).into()))
}

/// The verifier key and its digest from an intact cache file.
fn read_verifier_key(dir: &Path, k: usize, m: usize) -> Option<(Vk, [u8; 32])> {
    let (body, digest) = read_checked(&file(dir, k, m, KIND_VERIFIER), k, m, KIND_VERIFIER)?;
    match bincode::serde::decode_from_slice::<Vk, _>(&body, cfg()) {
        Ok((vk, used)) if used == body.len() => Some((vk, digest)),
        _ => None,
    }
}

/// SHA-256 of a verifier key's canonical encoding (the body of its cache file). The key is a
/// deterministic function of the circuit and shape (transparent setup), so this digest names
/// the circuit a proof is checked against.
pub fn verifier_key_digest(vk: &Vk) -> Result<[u8; 32], CacheError> {
    let body =
        bincode::serde::encode_to_vec(vk, cfg()).map_err(|e| CacheError::Encode(e.to_string()))?;
    Ok(Sha256::digest(&body).into())
}

/// Path of the verifier-key file for a shape (for tests and diagnostics).
pub fn verifier_key_path(dir: &Path, k: usize, m: usize) -> PathBuf {
    file(dir, k, m, KIND_VERIFIER)
}
