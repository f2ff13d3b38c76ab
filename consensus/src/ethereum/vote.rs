//! Agreement on gateway requests: the vote a validator casts, the chained digest it votes on,
//! and the count a block may take in.

use borsh::{BorshDeserialize, BorshSerialize};

use super::{GatewayRequest, MAX_REQUESTS_PER_BLOCK, MAX_REQUEST_INPUT_BYTES};

/// A validator's report in its vote extension: "the gateway's requests `first ..
/// first + count` are in finalized blocks, and their chained digest is `digest`"
/// ([`chain_digests`]). A vote vouches for every prefix of what it reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct EthVote {
    pub first: u64,
    pub count: u16,
    pub digest: [u8; 32],
}

/// `D_0 = keccak256("nexus/eth-requests/v1" ‖ first BE 8)`, `D_i = keccak256(D_{i-1} ‖
/// borsh(request_i))`: `D_1 ..= D_n` for the requests given (which start at `first`).
pub fn chain_digests(first: u64, requests: &[GatewayRequest]) -> Vec<[u8; 32]> {
    let mut d = crate::address::keccak256(
        &[b"nexus/eth-requests/v1".as_slice(), &first.to_be_bytes()].concat(),
    );
    requests
        .iter()
        .map(|r| {
            let mut pre = d.to_vec();
            pre.extend(borsh::to_vec(r).expect("borsh encoding into a Vec cannot fail"));
            d = crate::address::keccak256(&pre);
            d
        })
        .collect()
}

/// The vote a validator whose source knows `requests` (from `first`) casts.
pub fn vote_for(first: u64, requests: &[GatewayRequest]) -> Option<EthVote> {
    let requests = &requests[..requests.len().min(MAX_REQUESTS_PER_BLOCK)];
    let digest = *chain_digests(first, requests).last()?;
    Some(EthVote {
        first,
        count: requests.len() as u16,
        digest,
    })
}

/// Checks request bodies a proposer put in a block: contiguous ids from `first`, at most
/// [`MAX_REQUESTS_PER_BLOCK`], inputs within the gateway's limit.
pub fn check_bodies(first: u64, bodies: &[GatewayRequest]) -> Result<(), String> {
    if bodies.len() > MAX_REQUESTS_PER_BLOCK {
        return Err(format!(
            "{} Ethereum requests in one block (most {MAX_REQUESTS_PER_BLOCK})",
            bodies.len()
        ));
    }
    for (i, r) in bodies.iter().enumerate() {
        if r.id != first + i as u64 {
            return Err(format!(
                "Ethereum request {} where {} was due",
                r.id,
                first + i as u64
            ));
        }
        if r.input.len() > MAX_REQUEST_INPUT_BYTES {
            return Err(format!(
                "Ethereum request {} has {} input bytes",
                r.id,
                r.input.len()
            ));
        }
    }
    Ok(())
}

/// How many of `bodies` (starting at `first`) validators with more than 2/3 of `total_power`
/// vouched for, given their `(power, vote)`s. A vote vouches for the first `count` bodies when
/// its digest equals the chained digest of exactly those bodies; any other vote (stale
/// `first`, different requests, more than the block carries) vouches for none.
pub fn agreed_prefix(
    first: u64,
    bodies: &[GatewayRequest],
    votes: &[(u64, EthVote)],
    total_power: u64,
) -> usize {
    let digests = chain_digests(first, bodies);
    let mut vouching = vec![0u128; bodies.len() + 1];
    for (power, vote) in votes {
        let n = usize::from(vote.count);
        if vote.first != first || n == 0 || n > bodies.len() || digests[n - 1] != vote.digest {
            continue;
        }
        vouching[n] += u128::from(*power);
    }
    // Power vouching for at least k bodies, from the longest prefix down.
    let mut at_least = 0u128;
    for k in (1..=bodies.len()).rev() {
        at_least += vouching[k];
        if 3 * at_least > 2 * u128::from(total_power) {
            return k;
        }
    }
    0
}

/// The largest count some vote vouches for among `bodies` (a proposer must not carry bodies
/// beyond it: nobody asked for them).
pub fn longest_vouched(first: u64, bodies: &[GatewayRequest], votes: &[EthVote]) -> usize {
    let digests = chain_digests(first, bodies);
    votes
        .iter()
        .filter(|v| v.first == first)
        .map(|v| (usize::from(v.count), v.digest))
        .filter(|(n, d)| *n > 0 && *n <= bodies.len() && digests[n - 1] == *d)
        .map(|(n, _)| n)
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(id: u64) -> GatewayRequest {
        GatewayRequest {
            id,
            function_id: [1; 32],
            requester: [2; 20],
            callback: [3; 20],
            input: vec![id as u8],
            eth_block: 9,
        }
    }

    #[test]
    fn longer_votes_vouch_for_shorter_prefixes() {
        let bodies: Vec<_> = (4..7).map(req).collect();
        let v = |n: usize| vote_for(4, &bodies[..n]).unwrap();
        // 1 + 1 + 1 of 4: only the first request has three votes behind it.
        let votes = [(1, v(3)), (1, v(2)), (1, v(1))];
        assert_eq!(agreed_prefix(4, &bodies, &votes, 4), 1);
        let votes = [(1, v(3)), (1, v(3)), (1, v(2))];
        assert_eq!(agreed_prefix(4, &bodies, &votes, 4), 2);
        // Exactly 2/3 is not enough.
        assert_eq!(agreed_prefix(4, &bodies, &[(2, v(3))], 3), 0);
        assert_eq!(longest_vouched(4, &bodies, &[v(1), v(2)]), 2);
    }

    #[test]
    fn stale_or_different_votes_vouch_for_nothing() {
        let bodies: Vec<_> = (4..6).map(req).collect();
        let stale = vote_for(3, &[req(3)]).unwrap();
        let mut other = bodies.clone();
        other[1].input = b"changed".to_vec();
        let different = vote_for(4, &other).unwrap();
        let too_long = vote_for(4, &(4..8).map(req).collect::<Vec<_>>()).unwrap();
        let votes = [(5, stale), (5, different), (5, too_long)];
        assert_eq!(agreed_prefix(4, &bodies, &votes, 15), 0);
        assert_eq!(longest_vouched(4, &bodies, &[stale, too_long]), 0);
        // `different` agrees on the first request only.
        assert_eq!(longest_vouched(4, &bodies, &[different]), 0);
    }

    #[test]
    fn bodies_must_continue_the_chain_and_respect_the_limits() {
        assert!(check_bodies(4, &[req(4), req(5)]).is_ok());
        assert!(check_bodies(4, &[req(5)]).is_err());
        assert!(check_bodies(4, &[req(4), req(6)]).is_err());
        let many: Vec<_> = (0..=MAX_REQUESTS_PER_BLOCK as u64).map(req).collect();
        assert!(check_bodies(0, &many).is_err());
        let mut big = req(0);
        big.input = vec![0; MAX_REQUEST_INPUT_BYTES + 1];
        assert!(check_bodies(0, &[big]).is_err());
    }
}
