//! Applying transactions and blocks to a [`StateView`]: the deterministic state machine.
//!
//! Stateless checks (size, encoding, signature) happen in [`crate::tx::decode_and_verify`].
//! [`admit`] adds the checks against state every node repeats (chain id, nonce, fuel price and
//! limit, balance for the maximum fee). [`BlockExecutor::apply`] then runs the transaction: the
//! nonce is consumed and the fee for the fuel burned is charged even when the action fails, and
//! the action's own writes are kept only on success (its own state layer).

use crate::address::Address;
use crate::error::TxError;
use crate::ledger::Ledger;
use crate::params::ChainParams;
use crate::staking;
use crate::tx::{decode_and_verify, TxKind, VerifiedTx};
use crate::zk;
use borsh::{BorshDeserialize, BorshSerialize};
use nexus_runtime::limits::MAX_FUEL_PER_INVOCATION;
use nexus_runtime::{registry, BlockContext, Invocation, Runtime};
use nexus_store::StateView;
use serde::Serialize;
use tracing::debug;

const TARGET: &str = "nexus::execute";

/// Fuel charged per byte of deployed code on top of the transaction bytes (compilation cost).
pub const DEPLOY_FUEL_PER_CODE_BYTE: u64 = 20;

/// What a client gets back for one transaction (the `data` of its result, borsh).
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize)]
pub struct TxOutcome {
    pub fuel_used: u64,
    pub fee: u128,
    /// Invocations: stdout.
    pub stdout: Vec<u8>,
    /// Invocations: outputs for Ethereum.
    pub outputs: Vec<Vec<u8>>,
    /// Invocations: events (topic, data).
    pub events: Vec<(String, Vec<u8>)>,
}

/// The result of one transaction in a block.
#[derive(Debug)]
pub struct TxResult {
    pub outcome: TxOutcome,
    pub error: Option<TxError>,
    pub sender: Option<Address>,
    pub kind: &'static str,
}

/// Fuel a transaction costs before any execution.
pub fn intrinsic_fuel(params: &ChainParams, tx: &VerifiedTx) -> u64 {
    let mut fuel = params.base_tx_fuel.saturating_add(
        params
            .fuel_per_tx_byte
            .saturating_mul(tx.encoded_len as u64),
    );
    if let TxKind::Deploy(spec) | TxKind::Upgrade(spec) = &tx.body.kind {
        fuel =
            fuel.saturating_add(DEPLOY_FUEL_PER_CODE_BYTE.saturating_mul(spec.code.len() as u64));
    }
    fuel.saturating_add(crate::zk::extra_intrinsic_fuel(&params.zk, &tx.body.kind))
}

pub fn kind_name(kind: &TxKind) -> &'static str {
    match kind {
        TxKind::Transfer { .. } => "transfer",
        TxKind::Deploy(_) => "deploy",
        TxKind::Upgrade(_) => "upgrade",
        TxKind::Invoke { .. } => "invoke",
        TxKind::CreateValidator { .. } => "create_validator",
        TxKind::Delegate { .. } => "delegate",
        TxKind::Undelegate { .. } => "undelegate",
        TxKind::Unjail => "unjail",
        TxKind::RegisterEncryptionKey { .. } => "register_encryption_key",
        TxKind::Dkg { .. } => "dkg",
        TxKind::DeployZk { .. } => "deploy_zk",
        TxKind::RequestProof { .. } => "request_proof",
        TxKind::RegisterProver => "register_prover",
        TxKind::SubmitProof { .. } => "submit_proof",
    }
}

/// Checks a verified transaction against an account's state: chain id, exact nonce, fuel price,
/// intrinsic fuel, and a balance that covers the maximum fee.
pub fn admit(
    chain_id: &str,
    params: &ChainParams,
    tx: &VerifiedTx,
    nonce: u64,
    balance: u128,
) -> Result<(), TxError> {
    if tx.body.chain_id != chain_id {
        return Err(TxError::WrongChainId {
            expected: chain_id.to_string(),
            got: tx.body.chain_id.clone(),
        });
    }
    if tx.body.nonce < nonce {
        return Err(TxError::NonceReplayed {
            address: tx.sender,
            expected: nonce,
            got: tx.body.nonce,
        });
    }
    if tx.body.nonce > nonce {
        return Err(TxError::NonceFuture {
            address: tx.sender,
            expected: nonce,
            got: tx.body.nonce,
        });
    }
    crate::zk::check_stateless(&params.zk, &tx.body.kind)?;
    if tx.body.fuel_price < params.min_fuel_price && !tx.body.kind.is_validator_duty() {
        return Err(TxError::FuelPriceTooLow {
            got: tx.body.fuel_price,
            min: params.min_fuel_price,
        });
    }
    let needed = intrinsic_fuel(params, tx);
    if tx.body.fuel_limit < needed {
        return Err(TxError::FuelLimitTooLow {
            got: tx.body.fuel_limit,
            needed,
        });
    }
    let max_fee = max_fee(tx);
    if balance < max_fee {
        return Err(TxError::InsufficientFee {
            address: tx.sender,
            balance,
            needed: max_fee,
        });
    }
    Ok(())
}

/// Validator duty transactions are free, so only validators may send them (checked against
/// state wherever [`admit`] is: CheckTx, proposals, execution).
pub fn admit_duty(view: &mut StateView, tx: &VerifiedTx) -> Result<(), TxError> {
    if tx.body.kind.is_validator_duty() && Ledger::new(view).validator(&tx.sender)?.is_none() {
        return Err(TxError::NotAValidator(kind_name(&tx.body.kind)));
    }
    Ok(())
}

pub fn max_fee(tx: &VerifiedTx) -> u128 {
    u128::from(tx.body.fuel_limit) * u128::from(tx.body.fuel_price)
}

/// Executes the transactions of one block against a view.
pub struct BlockExecutor<'a> {
    pub runtime: &'a Runtime,
    pub chain_id: &'a str,
    pub params: &'a ChainParams,
    pub block: BlockContext,
    pub fees: u128,
    pub fuel_reserved: u64,
    /// Proofs verified so far in this block (bounded by `zk.max_proofs_per_block`).
    pub zk_proofs: crate::zk::execute::BlockProofs,
}

impl<'a> BlockExecutor<'a> {
    /// Applies one encoded transaction. Node failures are returned as `Err` (the node must halt);
    /// everything else is a [`TxResult`], whose error (if any) left no trace but nonce and fee.
    pub fn apply(
        &mut self,
        view: &mut StateView,
        bytes: &[u8],
        index: u32,
    ) -> Result<TxResult, nexus_runtime::RuntimeError> {
        let tx = match decode_and_verify(bytes) {
            Ok(tx) => tx,
            Err(e) => {
                return Ok(TxResult {
                    outcome: TxOutcome::default(),
                    error: Some(e.into()),
                    sender: None,
                    kind: "unknown",
                })
            }
        };
        let kind = kind_name(&tx.body.kind);
        let sender = Some(tx.sender);
        let mut account = Ledger::new(view).account(&tx.sender)?;
        if let Err(e) = admit(
            self.chain_id,
            self.params,
            &tx,
            account.nonce,
            account.balance,
        )
        .and_then(|()| admit_duty(view, &tx))
        {
            return Ok(TxResult {
                outcome: TxOutcome::default(),
                error: Some(e),
                sender,
                kind,
            });
        }
        let reserved = self.fuel_reserved.saturating_add(tx.body.fuel_limit);
        if reserved > self.params.max_block_fuel {
            return Ok(TxResult {
                outcome: TxOutcome::default(),
                error: Some(TxError::BlockFuelExhausted),
                sender,
                kind,
            });
        }
        self.fuel_reserved = reserved;
        // The nonce is consumed whatever the action does.
        account.nonce += 1;
        Ledger::new(view).set_account(&tx.sender, &account);

        let intrinsic = intrinsic_fuel(self.params, &tx);
        view.push_layer();
        let mut outcome = TxOutcome::default();
        let result = self.run_action(view, &tx, index, intrinsic, &mut outcome);
        let error = match result {
            Ok(()) => {
                view.commit_layer();
                None
            }
            Err(TxError::Node(e)) => {
                view.discard_layer();
                return Err(e);
            }
            Err(e) => {
                view.discard_layer();
                Some(e)
            }
        };
        let fuel_used = outcome.fuel_used.max(intrinsic).min(tx.body.fuel_limit);
        outcome.fuel_used = fuel_used;
        let fee = u128::from(fuel_used) * u128::from(tx.body.fuel_price);
        outcome.fee = fee;
        // The balance covered the maximum fee at admission; the action may have spent some of it
        // (a transfer), in which case the fee takes what is left.
        let mut ledger = Ledger::new(view);
        let mut acct = ledger.account(&tx.sender)?;
        let charged = fee.min(acct.balance);
        acct.balance -= charged;
        ledger.set_account(&tx.sender, &acct);
        self.fees += charged;
        debug!(target: TARGET, kind, sender = %tx.sender, fuel_used, ok = error.is_none(), "tx applied");
        Ok(TxResult {
            outcome,
            error,
            sender,
            kind,
        })
    }

    fn run_action(
        &mut self,
        view: &mut StateView,
        tx: &VerifiedTx,
        index: u32,
        intrinsic: u64,
        outcome: &mut TxOutcome,
    ) -> Result<(), TxError> {
        outcome.fuel_used = intrinsic;
        let sender = tx.sender;
        let height = self.block.height;
        // Reserve the maximum fee so an action cannot spend what the fee needs.
        let max_fee = max_fee(tx);
        // What the sender may move out in this action: its balance minus the maximum fee.
        let require_spendable = |ledger: &Ledger, amount: u128| -> Result<(), TxError> {
            let available = ledger.account(&sender)?.balance.saturating_sub(max_fee);
            if available < amount {
                return Err(TxError::InsufficientBalance {
                    address: sender,
                    balance: available,
                    needed: amount,
                });
            }
            Ok(())
        };
        match &tx.body.kind {
            TxKind::Transfer { to, amount } => {
                if *amount == 0 {
                    return Err(TxError::ZeroAmount);
                }
                let mut ledger = Ledger::new(view);
                require_spendable(&ledger, *amount)?;
                let mut from = ledger.account(&sender)?;
                from.balance -= amount;
                ledger.set_account(&sender, &from);
                ledger.credit(to, *amount)?;
                Ok(())
            }
            TxKind::Deploy(spec) | TxKind::Upgrade(spec) => {
                let existing = registry::lookup(view, &spec.name)?;
                match (&tx.body.kind, existing) {
                    (TxKind::Deploy(_), Some(_)) => {
                        return Err(TxError::FunctionExists(spec.name.clone()))
                    }
                    (TxKind::Upgrade(_), None) => {
                        return Err(TxError::UnknownFunction(spec.name.clone()))
                    }
                    (TxKind::Upgrade(_), Some(record)) if record.owner != sender.to_string() => {
                        return Err(TxError::NotOwner {
                            function: spec.name.clone(),
                            owner: record.owner,
                        });
                    }
                    _ => {}
                }
                self.runtime.deploy(
                    view,
                    &spec.code,
                    &spec.config(),
                    &sender.to_string(),
                    height,
                )?;
                // Ethereum names functions by keccak256(name) in gateway requests.
                crate::ethereum::EthState::new(view).index_function(&spec.name);
                Ok(())
            }
            TxKind::Invoke { function, input } => {
                let fuel = (tx.body.fuel_limit - intrinsic).min(MAX_FUEL_PER_INVOCATION);
                let call = Invocation {
                    function: function.clone(),
                    input: input.clone(),
                    caller: sender.to_string(),
                    fuel: Some(fuel),
                    tx_hash: tx.hash,
                    call_index: index,
                };
                match self.runtime.invoke(view, &self.block, &call) {
                    Ok(receipt) => {
                        for (i, output) in receipt.outputs.iter().enumerate() {
                            crate::threshold::outbox::push_output(
                                view, function, &tx.hash, i as u32, output, height,
                            )?;
                        }
                        outcome.fuel_used = intrinsic.saturating_add(receipt.fuel_used);
                        outcome.stdout = receipt.stdout;
                        outcome.outputs = receipt.outputs;
                        outcome.events = receipt
                            .events
                            .into_iter()
                            .map(|e| (e.topic, e.data))
                            .collect();
                        Ok(())
                    }
                    Err(e) => {
                        outcome.fuel_used = intrinsic.saturating_add(e.fuel_used());
                        Err(e.into())
                    }
                }
            }
            TxKind::CreateValidator {
                consensus_key,
                amount,
            } => {
                let mut ledger = Ledger::new(view);
                require_spendable(&ledger, *amount)?;
                staking::create_validator(
                    &mut ledger,
                    self.params,
                    sender,
                    *consensus_key,
                    *amount,
                    true,
                )
            }
            TxKind::Delegate { validator, amount } => {
                let mut ledger = Ledger::new(view);
                require_spendable(&ledger, *amount)?;
                staking::delegate(&mut ledger, sender, *validator, *amount)
            }
            TxKind::Undelegate { validator, amount } => {
                let mut ledger = Ledger::new(view);
                staking::undelegate(
                    &mut ledger,
                    self.params,
                    height,
                    sender,
                    *validator,
                    *amount,
                )
                .map(|_| ())
            }
            TxKind::Unjail => staking::unjail(&mut Ledger::new(view), height, sender),
            TxKind::RegisterEncryptionKey { key } => {
                crate::threshold::keygen::register_encryption_key(view, sender, key)
            }
            TxKind::Dkg { message } => {
                crate::threshold::keygen::apply_dkg_message(view, sender, message)
            }
            TxKind::DeployZk { elf } => {
                let id = zk::execute::deploy(view, &self.params.zk, sender, elf, height)?;
                outcome
                    .events
                    .push((zk::execute::EVENT_PROGRAM.into(), id.to_vec()));
                Ok(())
            }
            TxKind::RequestProof {
                program,
                input,
                reward,
            } => {
                require_spendable(&Ledger::new(view), *reward)?;
                let id = zk::execute::request(
                    view,
                    &self.params.zk,
                    sender,
                    *program,
                    input,
                    *reward,
                    height,
                )?;
                outcome
                    .events
                    .push((zk::execute::EVENT_JOB.into(), id.to_be_bytes().to_vec()));
                Ok(())
            }
            TxKind::RegisterProver => zk::execute::register_prover(view, sender, height),
            TxKind::SubmitProof { job, proof } => {
                let result = zk::execute::submit(
                    view,
                    &self.params.zk,
                    &mut self.zk_proofs,
                    zk::execute::Submission {
                        prover: sender,
                        job: *job,
                        proof,
                        tx_hash: &tx.hash,
                    },
                    height,
                )?;
                outcome.outputs = result
                    .outbox_id
                    .map(|_| result.output.clone())
                    .into_iter()
                    .collect();
                outcome.events.push((
                    zk::execute::EVENT_PROVED.into(),
                    borsh::to_vec(&result).expect("borsh encoding into a Vec cannot fail"),
                ));
                Ok(())
            }
        }
    }
}
