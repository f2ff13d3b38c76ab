// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title FROST(secp256k1, SHA-256) signature verification (RFC 9591, ciphersuite
///        "FROST-secp256k1-SHA256-v1").
/// @notice A signature (R, z) on `message` under public key PK is valid iff
///         z·G = R + c·PK with c = H2(enc(R) || enc(PK) || message), where enc is the
///         33-byte compressed SEC1 encoding and H2 is hash_to_field with RFC 9380
///         expand_message_xmd(SHA-256), DST = "FROST-secp256k1-SHA256-v1chal", 48 bytes
///         reduced mod n.
/// @dev    The curve equation is checked with the `ecrecover` trick: with r = PK.x,
///         v = 27 + parity(PK.y), s = -c·PK.x and h = -z·PK.x (all mod n), the precompile
///         returns the address of z·G - c·PK, which must equal the address of R (passed
///         in full so no point decompression is needed).
library FrostSecp256k1 {
    /// secp256k1 group order.
    uint256 internal constant N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    /// secp256k1 field prime.
    uint256 internal constant P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;

    /// `DST || I2OSP(len(DST), 1)` for DST = "FROST-secp256k1-SHA256-v1chal" (29 bytes),
    /// left-aligned in one word (30 bytes used).
    bytes32 private constant DST_PRIME = "FROST-secp256k1-SHA256-v1chal\x1d";

    /// @notice Whether `x` is the x-coordinate of a usable public key: 0 < x < n (so it is a
    ///         valid `ecrecover` r) and x^3 + 7 is a square mod p (a point with that x exists).
    function isValidPublicKeyX(uint256 x) internal view returns (bool) {
        if (x == 0 || x >= N) return false;
        uint256 rhs = addmod(mulmod(mulmod(x, x, P), x, P), 7, P);
        // y = rhs^((p+1)/4) via the modexp precompile; rhs is a square iff y^2 == rhs.
        uint256 y;
        bool ok;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, 0x20)
            mstore(add(m, 0x20), 0x20)
            mstore(add(m, 0x40), 0x20)
            mstore(add(m, 0x60), rhs)
            mstore(add(m, 0x80), 0x3fffffffffffffffffffffffffffffffffffffffffffffffffffffffbfffff0c)
            mstore(add(m, 0xa0), P)
            ok := staticcall(gas(), 0x05, m, 0xc0, m, 0x20)
            y := mload(m)
        }
        return ok && mulmod(y, y, P) == rhs;
    }

    /// @notice The RFC 9591 challenge c = H2(enc(R) || enc(PK) || message) mod n.
    function challenge(uint256 rx, uint256 ry, uint256 px, uint8 parity, bytes memory message)
        internal
        view
        returns (uint256 c)
    {
        uint256 ptr;
        uint256 len;
        assembly ("memory-safe") {
            ptr := add(message, 0x20)
            len := mload(message)
        }
        return _challenge(rx, ry, px, parity, ptr, len);
    }

    /// @notice The challenge for a 32-byte message (an EIP-712 digest), without a memory copy.
    function challengeDigest(uint256 rx, uint256 ry, uint256 px, uint8 parity, bytes32 digest)
        internal
        view
        returns (uint256)
    {
        // The digest is read from scratch space before anything else is written there.
        assembly ("memory-safe") {
            mstore(0x00, digest)
        }
        return _challenge(rx, ry, px, parity, 0x00, 0x20);
    }

    /// @dev expand_message_xmd(SHA-256, msg = enc(R) || enc(PK) || message, DST, 48) mod n,
    ///      with `message` at memory [ptr, ptr + len).
    function _challenge(uint256 rx, uint256 ry, uint256 px, uint8 parity, uint256 ptr, uint256 len)
        private
        view
        returns (uint256 c)
    {
        bytes32 dstPrime = DST_PRIME;
        bool ok;
        assembly ("memory-safe") {
            // Scratch space past the free memory pointer (not allocated: nothing else runs
            // in between). The message is copied first (it may sit in scratch space 0x00).
            let m := mload(0x40)
            let p := add(m, 0x82)
            mcopy(p, ptr, len)
            // msg_prime = Z_pad(64) || enc(R) || enc(PK) || message || I2OSP(48, 2) || I2OSP(0, 1) || DST_prime
            mstore(m, 0)
            mstore(add(m, 0x20), 0)
            mstore8(add(m, 0x40), add(2, and(ry, 1)))
            mstore(add(m, 0x41), rx)
            mstore8(add(m, 0x61), add(2, parity))
            mstore(add(m, 0x62), px)
            p := add(p, len)
            mstore(p, shl(232, 0x003000))
            mstore(add(p, 3), dstPrime)
            ok := staticcall(gas(), 0x02, m, add(len, 0xa3), 0x00, 0x20)
            let b0 := mload(0x00)
            // b1 = H(b0 || I2OSP(1, 1) || DST_prime)
            mstore(m, b0)
            mstore8(add(m, 0x20), 1)
            mstore(add(m, 0x21), dstPrime)
            ok := and(ok, staticcall(gas(), 0x02, m, 0x3f, 0x00, 0x20))
            let b1 := mload(0x00)
            // b2 = H((b0 xor b1) || I2OSP(2, 1) || DST_prime)
            mstore(m, xor(b0, b1))
            mstore8(add(m, 0x20), 2)
            ok := and(ok, staticcall(gas(), 0x02, m, 0x3f, 0x00, 0x20))
            let b2 := mload(0x00)
            // uniform_bytes = b1 || b2[0..16], a 384-bit big-endian integer, reduced mod n.
            c := addmod(mulmod(b1, shl(128, 1), N), shr(128, b2), N)
        }
        if (!ok) c = 0;
    }

    /// @notice Verifies the FROST signature (R = (rx, ry), z) on `message` under the public key
    ///         with x-coordinate `px` and y parity `parity` (0 even, 1 odd). The key must have
    ///         passed `isValidPublicKeyX` when it was stored.
    function verify(uint256 px, uint8 parity, bytes memory message, uint256 rx, uint256 ry, uint256 z)
        internal
        view
        returns (bool)
    {
        return verifyWithChallenge(px, parity, challenge(rx, ry, px, parity, message), rx, ry, z);
    }

    /// @notice `verify` for a 32-byte message (what the gateway signs: an EIP-712 digest).
    function verifyDigest(uint256 px, uint8 parity, bytes32 digest, uint256 rx, uint256 ry, uint256 z)
        internal
        view
        returns (bool)
    {
        return verifyWithChallenge(px, parity, challengeDigest(rx, ry, px, parity, digest), rx, ry, z);
    }

    /// @notice The verification equation z·G = R + c·PK for a given challenge `c` (which must be
    ///         non-zero: c = 0 would accept R = z·G under any key).
    function verifyWithChallenge(uint256 px, uint8 parity, uint256 c, uint256 rx, uint256 ry, uint256 z)
        internal
        view
        returns (bool ok)
    {
        if (z == 0 || z >= N || px == 0 || px >= N || parity > 1) return false;
        if (rx >= P || ry >= P || c == 0 || c >= N) return false;
        assembly ("memory-safe") {
            // ecrecover(h = -z·px, v = 27 + parity, r = px, s = -c·px) = address(z·G - c·PK)
            let m := mload(0x40)
            mstore(m, sub(N, mulmod(z, px, N)))
            mstore(add(m, 0x20), add(27, parity))
            mstore(add(m, 0x40), px)
            mstore(add(m, 0x60), sub(N, mulmod(c, px, N)))
            mstore(0x00, 0)
            let success := staticcall(gas(), 0x01, m, 0x80, 0x00, 0x20)
            let q := mload(0x00)
            // address(R) = low 20 bytes of keccak256(rx || ry)
            mstore(0x00, rx)
            mstore(0x20, ry)
            let expected := and(keccak256(0x00, 0x40), 0xffffffffffffffffffffffffffffffffffffffff)
            ok := and(and(success, iszero(iszero(q))), eq(q, expected))
        }
    }
}
