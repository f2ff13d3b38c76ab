//! Block execution: the proposal checks, `FinalizeBlock` (threshold record, requests,
//! transactions, end-of-block staking and signing work) and `Commit`, plus the conversions of
//! their results into ABCI types.

use super::*;

impl NexusApp {
    /// Stateful admission shared by PrepareProposal and ProcessProposal: every transaction must
    /// decode, verify, and fit the sender's nonce sequence, balance and the block fuel limit.
    pub(super) fn check_block_txs(
        &self,
        height: u64,
        txs: &[Bytes],
        powers: &BTreeMap<[u8; 20], u64>,
    ) -> Result<(), (usize, String)> {
        let cs = self.consensus();
        let mut view = self.base_view(&cs);
        drop(cs);
        let (chain_id, params) =
            Self::chain_id_and_params(&mut view).map_err(|e| (0, e.to_string()))?;
        let mut senders: HashMap<Address, SenderState> = HashMap::new();
        let mut fuel: u64 = 0;
        for (i, raw) in txs.iter().enumerate() {
            if is_record(raw) {
                if i != 0 {
                    return Err((i, "a threshold record must come first".into()));
                }
                sessions::check_record(&mut view, &chain_id, height, raw, powers)
                    .map_err(|e| (i, e))?;
                continue;
            }
            let tx = decode_and_verify(raw).map_err(|e| (i, e.to_string()))?;
            admit_in_sequence(&mut view, &chain_id, &params, &tx, &mut senders)
                .map_err(|e| (i, e))?;
            fuel = fuel.saturating_add(tx.body.fuel_limit);
            if fuel > params.max_block_fuel {
                return Err((i, "block fuel limit exceeded".into()));
            }
        }
        Ok(())
    }

    pub(super) fn finalize_inner(
        &self,
        req: RequestFinalizeBlock,
    ) -> Result<ResponseFinalizeBlock, RuntimeError> {
        let height = u64::try_from(req.height)
            .map_err(|_| RuntimeError::Corrupt("negative block height".into()))?;
        let expected = self.shared.store.latest_height() + 1;
        if height != expected {
            return Err(RuntimeError::Corrupt(format!(
                "FinalizeBlock for height {height}, but the store expects {expected}"
            )));
        }
        let mut cs = self.consensus();
        let mut view = self.base_view(&cs);
        let (chain_id, params) = Self::chain_id_and_params(&mut view)?;
        let time_unix_nanos = req
            .time
            .map(|t| (t.seconds.max(0) as u64) * 1_000_000_000 + t.nanos.max(0) as u64)
            .unwrap_or(0);
        let mut hash = [0u8; 32];
        if req.hash.len() == 32 {
            hash.copy_from_slice(&req.hash);
        }
        let block = BlockContext {
            height,
            time_unix_nanos,
            hash,
        };
        let mut exec = BlockExecutor {
            runtime: &self.shared.runtime,
            chain_id: &chain_id,
            params: &params,
            block: block.clone(),
            fees: 0,
            fuel_reserved: 0,
            zk_proofs: Default::default(),
        };
        let mut tx_results = Vec::with_capacity(req.txs.len());
        let powers = commit_powers(req.decided_last_commit.as_ref());
        for (i, raw) in req.txs.iter().enumerate() {
            if i == 0 && is_record(raw) {
                tx_results
                    .push(self.apply_record(&mut view, &chain_id, &params, &block, raw, &powers)?);
                continue;
            }
            let result = exec.apply(&mut view, raw, i as u32)?;
            tx_results.push(exec_tx_result(result));
        }
        let fees = exec.fees;

        let mut absent = std::collections::BTreeSet::new();
        let mut ledger = Ledger::new(&mut view);
        if let Some(commit) = &req.decided_last_commit {
            for v in &commit.votes {
                let Some(addr) = v
                    .validator
                    .as_ref()
                    .and_then(|v| <[u8; 20]>::try_from(v.address.as_ref()).ok())
                else {
                    continue;
                };
                if v.block_id_flag != BlockIdFlag::Commit as i32 {
                    if let Some(op) = ledger.operator_of(&addr)? {
                        absent.insert(op.0);
                    }
                }
            }
            let votes: Vec<([u8; 20], bool)> = commit
                .votes
                .iter()
                .filter_map(|v| {
                    let addr: [u8; 20] = v.validator.as_ref()?.address.as_ref().try_into().ok()?;
                    Some((addr, v.block_id_flag == BlockIdFlag::Commit as i32))
                })
                .collect();
            if height > 1 {
                staking::track_liveness(&mut ledger, &params, height, &votes)?;
            }
        }
        for m in &req.misbehavior {
            if m.r#type != MisbehaviorType::DuplicateVote as i32 {
                warn!(target: TARGET, kind = m.r#type, "ignoring misbehavior of an unsupported kind");
                continue;
            }
            let Some(addr) = m
                .validator
                .as_ref()
                .and_then(|v| <[u8; 20]>::try_from(v.address.as_ref()).ok())
            else {
                continue;
            };
            let infraction = u64::try_from(m.height).unwrap_or(0);
            staking::punish_double_sign(&mut ledger, &params, &addr, height, infraction)?;
        }
        staking::release_unbonded(&mut ledger, height)?;
        staking::distribute_fees(&mut ledger, &params, fees)?;
        let updates = staking::end_block_updates(&mut ledger, &params, height)?;
        keygen::end_block(&mut view, &params, height)?;
        crate::zk::execute::end_block(&mut view, &params.zk, height)?;
        outbox::seal_batch(&mut view, height)?;
        sessions::open_sessions(&mut view, &params, height, &absent)?;

        let prepared = self.shared.store.prepare(view.take_block_changes())?;
        let app_hash = prepared.root();
        cs.pending = Some(PendingBlock {
            height,
            prepared,
            app_hash,
        });
        info!(target: TARGET, height, txs = req.txs.len(), app_hash = %hex::encode(app_hash), "finalized");
        Ok(ResponseFinalizeBlock {
            events: Vec::new(),
            tx_results,
            validator_updates: updates.iter().map(validator_update).collect(),
            consensus_param_updates: None,
            app_hash: Bytes::copy_from_slice(&app_hash),
        })
    }

    /// The threshold record at the start of a block (ProcessProposal accepted it, so it checks
    /// out; if it does not, it is ignored, the same way on every node).
    pub(super) fn apply_record(
        &self,
        view: &mut StateView,
        chain_id: &str,
        params: &ChainParams,
        block: &BlockContext,
        raw: &[u8],
        powers: &BTreeMap<[u8; 20], u64>,
    ) -> Result<ExecTxResult, RuntimeError> {
        let height = block.height;
        let (code, log) = match sessions::check_record(view, chain_id, height, raw, powers) {
            Ok(record) => {
                let jailed = sessions::apply_record(view, params, height, &record)?;
                ethereum::execute::take_in(
                    view,
                    &self.shared.runtime,
                    block,
                    &record.eth_accepted,
                    0,
                )?;
                let log = if jailed.is_empty() {
                    String::new()
                } else {
                    let names: Vec<String> = jailed.iter().map(|a| a.to_string()).collect();
                    format!("jailed for invalid signature shares: {}", names.join(", "))
                };
                (0, log)
            }
            Err(e) => {
                warn!(target: TARGET, height, error = %e, "ignoring an invalid threshold record");
                (19, e)
            }
        };
        Ok(ExecTxResult {
            code,
            log,
            events: vec![Event {
                r#type: "nexus_threshold_record".into(),
                attributes: vec![attr("kind", "threshold_record")],
            }],
            ..Default::default()
        })
    }

    pub(super) fn commit_inner(&self) -> Result<(), RuntimeError> {
        let mut cs = self.consensus();
        let pending = cs
            .pending
            .take()
            .ok_or_else(|| RuntimeError::Corrupt("Commit without FinalizeBlock".into()))?;
        let info = self.shared.store.commit_prepared(pending.prepared)?;
        if info.height != pending.height || info.root != pending.app_hash {
            return Err(RuntimeError::Corrupt(format!(
                "committed height {} root {} but finalized height {} root {}",
                info.height,
                hex::encode(info.root),
                pending.height,
                hex::encode(pending.app_hash)
            )));
        }
        cs.genesis = None;
        drop(cs);
        *self
            .shared
            .mempool
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = MempoolState::default();
        if let Some(mut duty) = self.duty() {
            let mut view = self.committed_view();
            let (chain_id, params) = Self::chain_id_and_params(&mut view)?;
            duty.after_commit(&mut view, &chain_id, &params, pending.height)?;
        }
        Ok(())
    }
}

pub(super) fn check_cometbft_validators(
    given: &[ValidatorUpdate],
    ours: &[ActiveValidator],
) -> Result<(), String> {
    if given.is_empty() {
        return Ok(());
    }
    let mut given_keys: Vec<(Vec<u8>, i64)> = given
        .iter()
        .filter_map(|u| match u.pub_key.as_ref()?.sum.as_ref()? {
            Sum::Ed25519(k) => Some((k.clone(), u.power)),
            Sum::Secp256k1(_) => None,
        })
        .collect();
    let mut our_keys: Vec<(Vec<u8>, i64)> = ours
        .iter()
        .map(|m| (m.consensus_key.to_vec(), m.power))
        .collect();
    given_keys.sort();
    our_keys.sort();
    if given_keys != our_keys {
        return Err(format!(
            "CometBFT genesis has {} validators, app_state has {} (keys or powers differ)",
            given.len(),
            ours.len()
        ));
    }
    Ok(())
}

pub(super) fn validator_update(m: &ActiveValidator) -> ValidatorUpdate {
    ValidatorUpdate {
        pub_key: Some(PublicKey {
            sum: Some(Sum::Ed25519(m.consensus_key.to_vec())),
        }),
        power: m.power,
    }
}

pub(super) fn attr(key: &str, value: impl Into<String>) -> EventAttribute {
    EventAttribute {
        key: key.into(),
        value: value.into(),
        index: true,
    }
}

pub(super) fn exec_tx_result(r: TxResult) -> ExecTxResult {
    let mut attributes = vec![attr("kind", r.kind)];
    if let Some(sender) = r.sender {
        attributes.push(attr("sender", sender.to_string()));
    }
    let events = vec![Event {
        r#type: "nexus_tx".into(),
        attributes,
    }];
    let data = borsh::to_vec(&r.outcome).expect("borsh encoding into a Vec cannot fail");
    let gas_used = i64::try_from(r.outcome.fuel_used).unwrap_or(i64::MAX);
    match r.error {
        None => ExecTxResult {
            code: 0,
            data: data.into(),
            log: String::new(),
            info: String::new(),
            gas_wanted: gas_used,
            gas_used,
            events,
            codespace: String::new(),
        },
        Some(e) => ExecTxResult {
            code: e.code(),
            data: data.into(),
            log: e.to_string(),
            info: String::new(),
            gas_wanted: gas_used,
            gas_used,
            events,
            codespace: e.codespace_name().into(),
        },
    }
}

/// Voting power by CometBFT address of a block's last commit.
pub(super) fn commit_powers(commit: Option<&CommitInfo>) -> BTreeMap<[u8; 20], u64> {
    let mut powers = BTreeMap::new();
    for vote in commit.map(|c| c.votes.as_slice()).unwrap_or_default() {
        if let Some(v) = &vote.validator {
            if let Ok(addr) = <[u8; 20]>::try_from(v.address.as_ref()) {
                powers.insert(addr, u64::try_from(v.power).unwrap_or(0));
            }
        }
    }
    powers
}
