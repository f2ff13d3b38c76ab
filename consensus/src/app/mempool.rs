//! The mempool's view of each sender between commits: CheckTx and CometBFT's re-check after
//! every block admit a sender's transactions in nonce order against what its balance can still
//! pay, and PrepareProposal applies the same rule to the transactions it picks.

use super::*;

/// Per-sender expectations of the mempool since the last commit (CheckTx and ReCheckTx).
#[derive(Default)]
pub(super) struct MempoolState {
    senders: HashMap<Address, SenderState>,
    /// The chain id and parameters of the committed state, read once per height: after each
    /// block CometBFT re-checks every pending transaction, and reading them from the store for
    /// each one cost more than the rest of the check.
    chain: Option<(String, ChainParams)>,
}

#[derive(Clone, Copy)]
pub(super) struct SenderState {
    next_nonce: u64,
    balance_left: u128,
}

impl NexusApp {
    pub(super) fn check_tx_inner(&self, req: &RequestCheckTx) -> Result<VerifiedTx, (u32, String)> {
        let tx = decode_and_verify(&req.tx).map_err(|e| {
            let e = crate::error::TxError::from(e);
            (e.code(), e.to_string())
        })?;
        let mut view = {
            let cs = self.consensus();
            self.base_view(&cs)
        };
        admit_duty(&mut view, &tx).map_err(|e| (e.code(), e.to_string()))?;
        let mut mempool = self
            .shared
            .mempool
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mempool = &mut *mempool;
        if mempool.chain.is_none() {
            mempool.chain =
                Some(Self::chain_id_and_params(&mut view).map_err(|e| (100, e.to_string()))?);
        }
        let (chain_id, params) = mempool.chain.as_ref().expect("set just above");
        let state = match mempool.senders.get(&tx.sender) {
            Some(s) => *s,
            None => {
                let acct = Ledger::new(&mut view)
                    .account(&tx.sender)
                    .map_err(|e| (100, e.to_string()))?;
                SenderState {
                    next_nonce: acct.nonce,
                    balance_left: acct.balance,
                }
            }
        };
        admit(chain_id, params, &tx, state.next_nonce, state.balance_left)
            .map_err(|e| (e.code(), e.to_string()))?;
        mempool.senders.insert(
            tx.sender,
            SenderState {
                next_nonce: state.next_nonce + 1,
                balance_left: state.balance_left - max_fee(&tx),
            },
        );
        Ok(tx)
    }
}

pub(super) fn admit_in_sequence(
    view: &mut StateView,
    chain_id: &str,
    params: &ChainParams,
    tx: &VerifiedTx,
    senders: &mut HashMap<Address, SenderState>,
) -> Result<(), String> {
    let state = match senders.get(&tx.sender) {
        Some(s) => *s,
        None => {
            let acct = Ledger::new(view)
                .account(&tx.sender)
                .map_err(|e| e.to_string())?;
            SenderState {
                next_nonce: acct.nonce,
                balance_left: acct.balance,
            }
        }
    };
    admit(chain_id, params, tx, state.next_nonce, state.balance_left).map_err(|e| e.to_string())?;
    admit_duty(view, tx).map_err(|e| e.to_string())?;
    senders.insert(
        tx.sender,
        SenderState {
            next_nonce: state.next_nonce + 1,
            balance_left: state.balance_left - max_fee(tx),
        },
    );
    Ok(())
}
