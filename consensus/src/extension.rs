//! A validator's vote extension as the app sends it: the threshold-signing part
//! (`nexus_threshold::vote_extension`, at most 960 bytes) and the Ethereum requests it saw
//! ([`crate::ethereum::EthVote`], 42 bytes): at most 1,007 bytes, within the 1 KiB budget.
//!
//! Encoding: empty when there is nothing to say; otherwise borsh of
//! `(threshold part bytes (empty: none), Option<EthVote>)`. Borsh is canonical for these types
//! (one encoding per value; trailing bytes and option tags other than 0/1 are refused).

use borsh::{BorshDeserialize, BorshSerialize};
use nexus_threshold::vote_extension::{MAX_VOTE_EXTENSION_BYTES, VOTE_EXTENSION_BUDGET_BYTES};

use crate::ethereum::{EthVote, ETH_VOTE_BYTES};

/// Largest extension: the threshold part's limit, the Ethereum vote, and borsh framing.
pub const MAX_APP_EXTENSION_BYTES: usize = 4 + MAX_VOTE_EXTENSION_BYTES + 1 + ETH_VOTE_BYTES;
// The whole extension stays within the 1 KiB per validator per height.
const _: () = assert!(MAX_APP_EXTENSION_BYTES <= VOTE_EXTENSION_BUDGET_BYTES);

/// The two parts of a vote extension.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AppExtension {
    /// An encoded `nexus_threshold::vote_extension::VoteExtension`, or empty.
    pub threshold: Vec<u8>,
    pub eth: Option<EthVote>,
}

impl AppExtension {
    pub fn is_empty(&self) -> bool {
        self.threshold.is_empty() && self.eth.is_none()
    }

    pub fn encode(&self) -> Vec<u8> {
        if self.is_empty() {
            return Vec::new();
        }
        borsh::to_vec(self).expect("borsh encoding into a Vec cannot fail")
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        if bytes.is_empty() {
            return Ok(Self::default());
        }
        if bytes.len() > MAX_APP_EXTENSION_BYTES {
            return Err(format!(
                "vote extension of {} bytes exceeds {MAX_APP_EXTENSION_BYTES}",
                bytes.len()
            ));
        }
        let ext: Self =
            borsh::from_slice(bytes).map_err(|e| format!("malformed vote extension: {e}"))?;
        if ext.is_empty() {
            return Err("a vote extension with nothing in it must be empty".into());
        }
        if ext.threshold.len() > MAX_VOTE_EXTENSION_BYTES {
            return Err(format!(
                "threshold part of {} bytes exceeds {MAX_VOTE_EXTENSION_BYTES}",
                ext.threshold.len()
            ));
        }
        Ok(ext)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn round_trips_and_the_empty_extension_is_empty() {
        assert_eq!(AppExtension::default().encode(), Vec::<u8>::new());
        assert_eq!(AppExtension::decode(&[]), Ok(AppExtension::default()));
        let ext = AppExtension {
            threshold: vec![1, 2, 3],
            eth: Some(EthVote {
                first: 7,
                count: 2,
                digest: [9; 32],
            }),
        };
        let bytes = ext.encode();
        assert_eq!(AppExtension::decode(&bytes), Ok(ext));
        // The eth vote costs what the limit reserves for it.
        let only_eth = AppExtension {
            threshold: Vec::new(),
            eth: Some(EthVote {
                first: 0,
                count: 1,
                digest: [0; 32],
            }),
        };
        assert_eq!(only_eth.encode().len(), 4 + 1 + ETH_VOTE_BYTES);
    }

    #[test]
    fn an_encoded_nothing_trailing_bytes_and_oversize_are_refused() {
        assert!(AppExtension::decode(&borsh::to_vec(&AppExtension::default()).unwrap()).is_err());
        let mut bytes = AppExtension {
            threshold: vec![1],
            eth: None,
        }
        .encode();
        bytes.push(0);
        assert!(AppExtension::decode(&bytes).is_err());
        assert!(AppExtension::decode(&vec![1; MAX_APP_EXTENSION_BYTES + 1]).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_accepted_ones_re_encode_identically(
            bytes in proptest::collection::vec(any::<u8>(), 0..128)
        ) {
            if let Ok(ext) = AppExtension::decode(&bytes) {
                prop_assert_eq!(ext.encode(), bytes);
            }
        }
    }
}
