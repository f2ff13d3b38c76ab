//! Rust bindings (alloy `sol!`) of the contracts in `threshold/contracts/`, and loading of their
//! compiled bytecode from `$NEXUS_CONTRACTS_OUT` (written by `deploy/build-contracts.sh`).

use std::path::PathBuf;

/// Environment variable naming the directory with `<Contract>.bin` / `<Contract>.abi`.
pub const CONTRACTS_OUT_ENV: &str = "NEXUS_CONTRACTS_OUT";

alloy_sol_types::sol! {
    /// `NexusGateway.Signature`.
    #[derive(Debug, PartialEq, Eq)]
    struct GatewaySignature {
        uint256 rx;
        uint256 ry;
        uint256 z;
    }

    /// `NexusGateway.sol` (same ABI).
    interface NexusGateway {
        event Requested(uint256 indexed id, bytes32 indexed functionId, address indexed requester, address callback, bytes input);
        event Fulfilled(uint256 indexed id, bool success, bool callbackSucceeded);
        event KeyRotated(uint64 indexed epoch, uint256 keyX);

        error InvalidPublicKey();
        error InvalidSignature();
        error StaleEpoch(uint64 current, uint64 proposed);
        error NotPending(uint256 id);
        error InputTooLarge(uint256 length);
        error InsufficientCallbackGas();
        error CallbackGasTooHigh(uint64 requested, uint64 max);

        function keyX() external view returns (uint256);
        function epoch() external view returns (uint64);
        function nextRequestId() external view returns (uint256);
        function requests(uint256 id) external view returns (address callback, uint64 callbackGas, bytes32 functionId);
        function DEFAULT_CALLBACK_GAS() external view returns (uint64);
        function MAX_CALLBACK_GAS() external view returns (uint64);
        function domainSeparator() external view returns (bytes32);
        function verify(bytes32 digest, GatewaySignature sig) external view returns (bool);
        function request(bytes32 functionId, bytes input, address callback, uint64 callbackGas) external returns (uint256 id);
        function outputLeaf(uint256 id, bytes32 functionId, bool success, bytes output) external pure returns (bytes32);
        function fulfill(uint256 id, bool success, bytes output, uint64 nexusHeight, bytes32[] proof, GatewaySignature sig) external;
        function rotateKey(uint64 newEpoch, uint256 newKeyX, GatewaySignature sig) external;
    }

    /// Constructor arguments of `NexusGateway`.
    struct GatewayConstructor {
        uint256 initialKeyX;
        uint64 initialEpoch;
    }

    /// `ExampleConsumer.sol`.
    interface ExampleConsumer {
        event ResultReceived(uint256 indexed id, bool success, bytes output);
        function ask(bytes32 functionId, bytes input) external returns (uint256);
        function results(uint256 id) external view returns (bytes);
        function failed(uint256 id) external view returns (bool);
    }

    /// `FrostVerifierHarness.sol`.
    interface FrostVerifierHarness {
        function verify(uint256 px, uint8 parity, bytes message, uint256 rx, uint256 ry, uint256 z) external view returns (bool);
        function challenge(uint256 rx, uint256 ry, uint256 px, uint8 parity, bytes message) external view returns (uint256);
        function verifyGas(uint256 px, uint8 parity, bytes message, uint256 rx, uint256 ry, uint256 z) external view returns (bool ok, uint256 gasUsed);
        function verifyWithChallenge(uint256 px, uint8 parity, uint256 c, uint256 rx, uint256 ry, uint256 z) external view returns (bool);
        function isValidPublicKeyX(uint256 x) external view returns (bool);
    }
}

impl From<crate::eth::EthSignature> for GatewaySignature {
    fn from(s: crate::eth::EthSignature) -> Self {
        use alloy_primitives::U256;
        Self {
            rx: U256::from_be_bytes(s.rx),
            ry: U256::from_be_bytes(s.ry),
            z: U256::from_be_bytes(s.z),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ContractsError {
    #[error(
        "{CONTRACTS_OUT_ENV} is not set: run deploy/build-contracts.sh (after `. deploy/env.sh`)"
    )]
    NotConfigured,
    #[error("cannot read {path}: {source} (run deploy/build-contracts.sh)")]
    Missing {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not hex bytecode")]
    NotHex { path: String },
}

/// Creation bytecode of `contract` (e.g. `"NexusGateway"`) from `$NEXUS_CONTRACTS_OUT`.
pub fn creation_bytecode(contract: &str) -> Result<Vec<u8>, ContractsError> {
    let dir = std::env::var_os(CONTRACTS_OUT_ENV).ok_or(ContractsError::NotConfigured)?;
    let path = PathBuf::from(dir).join(format!("{contract}.bin"));
    let text = std::fs::read_to_string(&path).map_err(|source| ContractsError::Missing {
        path: path.display().to_string(),
        source,
    })?;
    let bytes =
        hex::decode(text.trim().trim_start_matches("0x")).map_err(|_| ContractsError::NotHex {
            path: path.display().to_string(),
        })?;
    if bytes.is_empty() {
        return Err(ContractsError::NotHex {
            path: path.display().to_string(),
        });
    }
    Ok(bytes)
}
