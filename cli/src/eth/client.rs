//! A blocking Ethereum JSON-RPC client for the CLI: an alloy HTTP provider (with a local signing
//! key when the command sends transactions) driven by its own current-thread tokio runtime.
//!
//! Every RPC is bounded by [`RPC_TIMEOUT`] and every transaction by [`RECEIPT_TIMEOUT`]; a
//! transaction that would revert is refused before it is sent (gas estimation fails) and the
//! gateway's custom error is decoded into the message.

use std::future::Future;
use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, Instant};

use alloy::network::{EthereumWallet, TransactionBuilder};
use alloy::primitives::{Address, Bytes, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use alloy::transports::{RpcError, TransportErrorKind};
use anyhow::{anyhow, bail, Context, Result};
use nexus_threshold::contracts::NexusGateway;

/// Longest one JSON-RPC request may take.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(20);
/// Longest a sent transaction may take to be included.
pub const RECEIPT_TIMEOUT: Duration = Duration::from_secs(120);
/// Time between receipt polls.
pub const RECEIPT_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Longest accepted key file (a hex key and a newline; anything larger is not a key file).
pub const MAX_KEY_FILE_BYTES: u64 = 1_024;

/// An Ethereum account key from `--from-key`: 32 bytes of hex (optionally `0x`-prefixed), or
/// the path of a file holding them.
pub fn parse_key(arg: &str) -> Result<PrivateKeySigner> {
    let text = arg.trim();
    let hex_text = text.strip_prefix("0x").unwrap_or(text);
    if hex_text.len() == 64 && hex_text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return key_from_hex(hex_text).context("--from-key");
    }
    let path = Path::new(text);
    let meta = std::fs::metadata(path).with_context(|| {
        format!("--from-key {arg:?} is neither a 32-byte hex private key nor a readable file")
    })?;
    if meta.len() > MAX_KEY_FILE_BYTES {
        bail!(
            "--from-key file {} is not a key file (too large)",
            path.display()
        );
    }
    let contents = std::fs::read_to_string(path)
        .with_context(|| format!("reading key file {}", path.display()))?;
    let contents = contents.trim();
    key_from_hex(contents.strip_prefix("0x").unwrap_or(contents))
        .with_context(|| format!("key file {}", path.display()))
}

fn key_from_hex(hex_text: &str) -> Result<PrivateKeySigner> {
    let bytes = B256::from_str(hex_text).map_err(|_| anyhow!("not a 32-byte hex private key"))?;
    PrivateKeySigner::from_bytes(&bytes).map_err(|_| {
        anyhow!("not a valid secp256k1 private key (zero or not below the group order)")
    })
}

/// An Ethereum address argument (`0x` + 40 hex digits).
pub fn parse_address(what: &str, text: &str) -> Result<Address> {
    Address::from_str(text.trim())
        .map_err(|_| anyhow!("{what} {text:?} is not an Ethereum address (0x + 40 hex digits)"))
}

/// A blocking JSON-RPC client, with the signer's wallet when it has one.
pub struct EthClient {
    runtime: tokio::runtime::Runtime,
    provider: DynProvider,
    from: Option<Address>,
    chain_id: u64,
    url: String,
}

impl EthClient {
    /// Connects to `rpc_url` (checked by reading the chain id); `key` signs transactions.
    pub fn connect(rpc_url: &str, key: Option<PrivateKeySigner>) -> Result<EthClient> {
        let url: alloy::transports::http::reqwest::Url = rpc_url
            .parse()
            .map_err(|e| anyhow!("bad Ethereum RPC URL {rpc_url:?}: {e}"))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("creating a tokio runtime")?;
        let from = key.as_ref().map(|k| k.address());
        // The nonce comes from the node's pending count for every transaction: alloy's default
        // (cached) nonce manager counts a nonce as used even when the transaction is refused
        // before it is sent (e.g. a fulfill that would revert), leaving a gap that stalls every
        // later transaction of the account.
        let builder = ProviderBuilder::new()
            .disable_recommended_fillers()
            .with_gas_estimation()
            .with_simple_nonce_management()
            .fetch_chain_id();
        let provider = match key {
            Some(key) => builder
                .wallet(EthereumWallet::from(key))
                .connect_http(url)
                .erased(),
            None => builder.connect_http(url).erased(),
        };
        let mut client = EthClient {
            runtime,
            provider,
            from,
            chain_id: 0,
            url: rpc_url.to_string(),
        };
        client.chain_id = client
            .rpc("eth_chainId", client.provider.get_chain_id())
            .with_context(|| format!("cannot reach the Ethereum RPC at {rpc_url}"))?;
        Ok(client)
    }

    pub fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// The sending account, if the client has a key.
    pub fn from(&self) -> Option<Address> {
        self.from
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// Runs one RPC future to completion, bounded by [`RPC_TIMEOUT`].
    pub fn rpc<T, F>(&self, what: &str, fut: F) -> Result<T>
    where
        F: Future<Output = Result<T, RpcError<TransportErrorKind>>>,
    {
        self.runtime
            .block_on(async { tokio::time::timeout(RPC_TIMEOUT, fut).await })
            .map_err(|_| anyhow!("{what}: no answer within {RPC_TIMEOUT:?}"))?
            .map_err(|e| anyhow!("{what}: {}", describe_rpc_error(&e)))
    }

    /// The latest block number.
    pub fn block_number(&self) -> Result<u64> {
        self.rpc("eth_blockNumber", self.provider.get_block_number())
    }

    /// Whether `address` holds code.
    pub fn has_code(&self, address: Address) -> Result<bool> {
        let code = self.rpc("eth_getCode", async {
            self.provider.get_code_at(address).await
        })?;
        Ok(!code.is_empty())
    }

    /// A read-only call of `to`, decoded.
    pub fn call<C: SolCall>(&self, to: Address, call: &C) -> Result<C::Return> {
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_input(call.abi_encode());
        let out: Bytes = self.rpc(C::SIGNATURE, async { self.provider.call(tx).await })?;
        C::abi_decode_returns(&out)
            .map_err(|e| anyhow!("{}: undecodable answer from {to}: {e}", C::SIGNATURE))
    }

    /// Sends a call of `to` and waits for its receipt; fails if it reverted.
    pub fn send<C: SolCall>(&self, to: Address, call: &C) -> Result<TransactionReceipt> {
        let tx = TransactionRequest::default()
            .with_to(to)
            .with_input(call.abi_encode());
        self.transact(C::SIGNATURE, tx)
    }

    /// Deploys `creation_code` (constructor arguments appended) and returns the new address.
    pub fn deploy(
        &self,
        what: &str,
        creation_code: Vec<u8>,
    ) -> Result<(Address, TransactionReceipt)> {
        let tx = TransactionRequest::default().with_deploy_code(creation_code);
        let receipt = self.transact(what, tx)?;
        let address = receipt
            .contract_address
            .ok_or_else(|| anyhow!("{what}: receipt names no created contract"))?;
        Ok((address, receipt))
    }

    fn transact(&self, what: &str, tx: TransactionRequest) -> Result<TransactionReceipt> {
        let Some(from) = self.from else {
            bail!("{what}: no key to send transactions with");
        };
        let tx = tx.with_from(from);
        let pending = self.rpc(what, async { self.provider.send_transaction(tx).await })?;
        let hash = *pending.tx_hash();
        let receipt = self.wait_receipt(what, hash)?;
        if !receipt.status() {
            bail!("{what}: transaction {hash} reverted");
        }
        Ok(receipt)
    }
}

impl EthClient {
    /// Polls for the receipt of `hash` until [`RECEIPT_TIMEOUT`]. Errors are retried too: a
    /// node that just started answers "transaction indexing is in progress" for a while.
    pub fn wait_receipt(&self, what: &str, hash: B256) -> Result<TransactionReceipt> {
        let deadline = Instant::now() + RECEIPT_TIMEOUT;
        loop {
            let last = match self.rpc("eth_getTransactionReceipt", async {
                self.provider.get_transaction_receipt(hash).await
            }) {
                Ok(Some(receipt)) => return Ok(receipt),
                Ok(None) => "not included yet".to_string(),
                Err(e) => format!("{e:#}"),
            };
            if Instant::now() >= deadline {
                bail!(
                    "{what}: transaction {hash} not confirmed within {RECEIPT_TIMEOUT:?} ({last})"
                );
            }
            std::thread::sleep(RECEIPT_POLL_INTERVAL);
        }
    }
}

/// An RPC error, with the gateway's custom revert reason decoded when there is one.
pub fn describe_rpc_error(e: &RpcError<TransportErrorKind>) -> String {
    if let Some(err) = e
        .as_error_resp()
        .and_then(|p| p.as_decoded_interface_error::<NexusGateway::NexusGatewayErrors>())
    {
        return format!("reverted: NexusGateway.{}", gateway_error(&err));
    }
    e.to_string()
}

/// A `NexusGateway` custom error as Solidity would write it.
pub fn gateway_error(err: &NexusGateway::NexusGatewayErrors) -> String {
    use NexusGateway::NexusGatewayErrors as E;
    match err {
        E::InvalidPublicKey(_) => "InvalidPublicKey()".into(),
        E::InvalidSignature(_) => "InvalidSignature()".into(),
        E::StaleEpoch(e) => format!(
            "StaleEpoch(current: {}, proposed: {})",
            e.current, e.proposed
        ),
        E::NotPending(e) => format!(
            "NotPending(id: {}) (already fulfilled or never requested)",
            e.id
        ),
        E::InputTooLarge(e) => format!("InputTooLarge(length: {})", e.length),
        E::InsufficientCallbackGas(_) => {
            "InsufficientCallbackGas() (supply the callback gas the request asked for)".into()
        }
        E::CallbackGasTooHigh(e) => format!(
            "CallbackGasTooHigh(requested: {}, max: {})",
            e.requested, e.max
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_from_hex_or_file_and_bad_ones_are_refused() {
        let hex_key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
        let k = parse_key(hex_key).unwrap();
        assert_eq!(
            parse_key(&format!("0x{hex_key}")).unwrap().address(),
            k.address()
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("eth.key");
        std::fs::write(&file, format!("0x{hex_key}\n")).unwrap();
        assert_eq!(
            parse_key(file.to_str().unwrap()).unwrap().address(),
            k.address()
        );

        let zero = "0".repeat(64);
        let e = format!("{:#}", parse_key(&zero).unwrap_err());
        assert!(e.contains("not a valid secp256k1 private key"), "{e}");
        let e = format!("{:#}", parse_key("nope").unwrap_err());
        assert!(
            e.contains("neither a 32-byte hex private key nor a readable file"),
            "{e}"
        );
        std::fs::write(&file, "xyz").unwrap();
        let e = format!("{:#}", parse_key(file.to_str().unwrap()).unwrap_err());
        assert!(e.contains("not a 32-byte hex private key"), "{e}");
    }

    #[test]
    fn addresses_parse_and_bad_ones_are_refused() {
        let a = parse_address("--gateway", "0x5FbDB2315678afecb367f032d93F642f64180aa3").unwrap();
        assert_eq!(a.0[0], 0x5f);
        let e = parse_address("--gateway", "0x1234")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("--gateway \"0x1234\" is not an Ethereum address"),
            "{e}"
        );
    }
}
