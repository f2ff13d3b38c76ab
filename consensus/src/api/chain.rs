//! `/v1/status`, `/v1/accounts/{address}`, `/v1/validators`: the ledger's part of the state.

use super::error::ApiError;
use super::model::{AccountResponse, ErrorBody, StatusResponse, ValidatorJson, ValidatorsResponse};
use super::snapshot::decode;
use super::{blocking, Ctx};
use crate::address::Address;
use crate::app::CHAIN_ID_KEY;
use crate::ledger::{self, Account, ActiveSet, Ledger, Validator};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::Json;
use nexus_store::StateView;

/// Latest committed height, its app hash and the chain id.
#[utoipa::path(get, path = "/v1/status", tag = "chain",
    responses(
        (status = 200, description = "The latest committed height", body = StatusResponse),
        (status = 503, description = "No block is committed yet", body = ErrorBody),
    ))]
pub async fn status(State(ctx): State<Ctx>) -> Result<Json<StatusResponse>, ApiError> {
    blocking(&ctx, |snap| {
        let (value, proof) = snap.proven(CHAIN_ID_KEY)?;
        let chain_id = value
            .and_then(|v| String::from_utf8(v).ok())
            .ok_or_else(|| ApiError::Internal("chain id missing or not UTF-8".into()))?;
        Ok(StatusResponse {
            chain_id,
            height: snap.height,
            app_hash: snap.app_hash_hex(),
            proof,
        })
    })
    .await
    .map(Json)
}

/// An account's balance and nonce (an unknown address is an empty account, proven unset).
#[utoipa::path(get, path = "/v1/accounts/{address}", tag = "chain",
    params(("address" = String, Path, description = "0x followed by 40 hex digits")),
    responses(
        (status = 200, description = "Read at the latest committed height, with a proof", body = AccountResponse),
        (status = 400, description = "Malformed address", body = ErrorBody),
        (status = 503, description = "No block is committed yet, or the node is busy", body = ErrorBody),
    ))]
pub async fn account(
    State(ctx): State<Ctx>,
    address: Result<Path<String>, PathRejection>,
) -> Result<Json<AccountResponse>, ApiError> {
    let Path(address) = address.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let address: Address = address
        .parse()
        .map_err(|e: crate::address::AddressError| ApiError::BadRequest(e.to_string()))?;
    blocking(&ctx, move |snap| {
        let (value, proof) = snap.proven(&ledger::account_key(&address))?;
        let account: Account = match value {
            Some(raw) => decode("account", &raw)?,
            None => Account::default(),
        };
        Ok(AccountResponse {
            address: address.to_string(),
            balance: account.balance.to_string(),
            nonce: account.nonce,
            height: snap.height,
            app_hash: snap.app_hash_hex(),
            proof,
        })
    })
    .await
    .map(Json)
}

/// Every validator record with its stake, power and jail state.
#[utoipa::path(get, path = "/v1/validators", tag = "chain",
    responses(
        (status = 200, description = "Read at the latest committed height, with a proof", body = ValidatorsResponse),
        (status = 503, description = "No block is committed yet, or the node is busy", body = ErrorBody),
    ))]
pub async fn validators(State(ctx): State<Ctx>) -> Result<Json<ValidatorsResponse>, ApiError> {
    blocking(&ctx, |snap| {
        let (active_raw, active_set_proof) = snap.proven(ledger::ACTIVE_SET_KEY)?;
        let active: ActiveSet = match active_raw {
            Some(raw) => decode("active set", &raw)?,
            None => ActiveSet::default(),
        };
        // The listing is a range read (unproven); each record is then read with its proof.
        let mut view = StateView::new(snap.reader());
        let listed = Ledger::new(&mut view).all_validators()?;
        let mut validators = Vec::with_capacity(listed.len());
        for operator in listed.iter().map(|v| v.operator) {
            let (raw, proof) = snap.proven(&ledger::validator_key(&operator))?;
            let Some(raw) = raw else {
                continue; // created after this height
            };
            let v: Validator = decode("validator", &raw)?;
            let member = active.members.iter().find(|m| m.operator == v.operator);
            validators.push(ValidatorJson {
                operator: v.operator.to_string(),
                consensus_key: hex::encode(v.consensus_key),
                tokens: v.tokens.to_string(),
                total_shares: v.total_shares.to_string(),
                power: member.map_or(0, |m| m.power),
                active: member.is_some(),
                jailed_until: v.jailed_until,
                tombstoned: v.tombstoned,
                missed_in_window: v.missed_in_window,
                window_start: v.window_start,
                proof,
            });
        }
        Ok(ValidatorsResponse {
            height: snap.height,
            app_hash: snap.app_hash_hex(),
            validators,
            active_set_proof,
        })
    })
    .await
    .map(Json)
}
