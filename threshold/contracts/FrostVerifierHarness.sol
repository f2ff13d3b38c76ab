// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {FrostSecp256k1} from "./FrostSecp256k1.sol";

/// @title Exposes the FROST verifier for arbitrary keys and messages (test vectors, gas
///        measurements). Holds no state and authorises nothing.
contract FrostVerifierHarness {
    function verify(uint256 px, uint8 parity, bytes calldata message, uint256 rx, uint256 ry, uint256 z)
        external
        view
        returns (bool)
    {
        return FrostSecp256k1.verify(px, parity, message, rx, ry, z);
    }

    /// @notice `verify` plus the gas the library call itself used (no ABI decoding, no call).
    function verifyGas(uint256 px, uint8 parity, bytes calldata message, uint256 rx, uint256 ry, uint256 z)
        external
        view
        returns (bool ok, uint256 gasUsed)
    {
        bytes memory m = message;
        uint256 before = gasleft();
        ok = FrostSecp256k1.verify(px, parity, m, rx, ry, z);
        gasUsed = before - gasleft();
    }

    function challenge(uint256 rx, uint256 ry, uint256 px, uint8 parity, bytes calldata message)
        external
        view
        returns (uint256)
    {
        return FrostSecp256k1.challenge(rx, ry, px, parity, message);
    }

    function verifyWithChallenge(uint256 px, uint8 parity, uint256 c, uint256 rx, uint256 ry, uint256 z)
        external
        view
        returns (bool)
    {
        return FrostSecp256k1.verifyWithChallenge(px, parity, c, rx, ry, z);
    }

    function isValidPublicKeyX(uint256 x) external view returns (bool) {
        return FrostSecp256k1.isValidPublicKeyX(x);
    }
}
