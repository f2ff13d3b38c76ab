//! A KV counter. Input `{"by": n}` (default 1; empty input counts as `{}`): adds `n` to the
//! key `count` (stored as u64 little-endian), emits the event `incremented` (data: the new
//! value in decimal) and an output (the new value as 8 bytes big-endian, i.e. a Solidity
//! `uint64`), and prints `{"count": N}`.

use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    #[serde(default = "one")]
    by: u64,
}

fn one() -> u64 {
    1
}

#[derive(Serialize)]
struct Output {
    count: u64,
}

const KEY: &[u8] = b"count";

fn increment(input: Input) -> Result<Output, String> {
    let current = match nexus_sdk::kv::get(KEY).map_err(|e| format!("kv get: {e}"))? {
        None => 0,
        Some(bytes) => {
            let bytes: [u8; 8] = bytes
                .try_into()
                .map_err(|_| "corrupt counter value".to_string())?;
            u64::from_le_bytes(bytes)
        }
    };
    let count = current
        .checked_add(input.by)
        .ok_or_else(|| format!("overflow: {current} + {}", input.by))?;
    nexus_sdk::kv::set(KEY, &count.to_le_bytes()).map_err(|e| format!("kv set: {e}"))?;
    nexus_sdk::event("incremented", count.to_string().as_bytes())
        .map_err(|e| format!("event: {e}"))?;
    nexus_sdk::output(&count.to_be_bytes()).map_err(|e| format!("output: {e}"))?;
    Ok(Output { count })
}

nexus_sdk::entry!(increment);

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_sdk::mock;

    #[test]
    fn counts() {
        mock::reset();
        assert_eq!(increment(Input { by: 1 }).unwrap().count, 1);
        assert_eq!(increment(Input { by: 41 }).unwrap().count, 42);
        assert_eq!(
            mock::events().last().unwrap(),
            &("incremented".to_string(), b"42".to_vec())
        );
        assert_eq!(
            mock::outputs().last().unwrap(),
            &42u64.to_be_bytes().to_vec()
        );
        assert!(increment(Input { by: u64::MAX }).is_err());
    }
}
