//! The layout of the runtime's part of the replicated state. Every key the runtime writes is
//! built here, so the layout can be read in one place.
//!
//! | key | value |
//! |---|---|
//! | `code/<sha256>` | original module bytes |
//! | `fn/<name>` | [`crate::registry::FunctionRecord`] (borsh) |
//! | `kv/<name>/<user key>` | user value |
//! | `fs/<name>/...` | the function's filesystem (layout owned by `nexus-vfs`) |
//!
//! Function names are `[a-z0-9_-]` and never contain `/`, so one function's prefix is never a
//! prefix of another's.

pub fn code(hash: &[u8; 32]) -> Vec<u8> {
    let mut k = b"code/".to_vec();
    k.extend_from_slice(hash);
    k
}

pub fn function(name: &str) -> Vec<u8> {
    [b"fn/", name.as_bytes()].concat()
}

pub fn kv_prefix(name: &str) -> Vec<u8> {
    [b"kv/", name.as_bytes(), b"/"].concat()
}

pub fn kv(name: &str, key: &[u8]) -> Vec<u8> {
    [b"kv/", name.as_bytes(), b"/", key].concat()
}

pub fn fs_prefix(name: &str) -> Vec<u8> {
    [b"fs/", name.as_bytes(), b"/"].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_functions_kv_prefix_never_covers_another_function() {
        assert!(!kv("ab", b"x").starts_with(&kv_prefix("a")));
        assert!(kv("a", b"x").starts_with(&kv_prefix("a")));
    }
}
