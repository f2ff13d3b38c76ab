// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {FrostSecp256k1} from "./FrostSecp256k1.sol";

/// @notice Implemented by contracts that receive Nexus function results.
interface INexusConsumer {
    /// @param success Whether the function ran and answered: then `output` is its first output;
    ///        otherwise `output` is Nexus's error message (UTF-8: unknown function, the
    ///        invocation failed, or it emitted no output), and the request is settled all the same.
    function onNexusResult(uint256 id, bool success, bytes calldata output) external;
}

/// @title NexusGateway: requests Nexus Function invocations and accepts their results signed
///        by the Nexus validator set's FROST(secp256k1, SHA-256) group key.
/// @notice What the group key signs is the 32-byte EIP-712 digest (domain: name "NexusGateway",
///         version "1", this chain id, this contract) of
///         `OutputBatch(uint64 epoch,bytes32 root,uint64 nexusHeight)` for results, and of
///         `KeyRotation(uint64 newEpoch,uint256 newKeyX)` for the hand-over to the next epoch's
///         key. `root` is the Merkle root of every output of Nexus block `nexusHeight`; a result
///         is accepted with its proof of inclusion (leaf
///         `keccak256(keccak256(abi.encode(requestId, functionId, success, keccak256(output))))`,
///         sorted pairs, OpenZeppelin's `MerkleProof`), so one signature serves a whole block.
///         A request that failed on Nexus is answered too (`success` false, the error as output).
///         Group keys always have an even y (the Nexus DKG normalises
///         them), so the key is stored as its x-coordinate alone: one storage slot to read.
contract NexusGateway {
    struct Signature {
        uint256 rx;
        uint256 ry;
        uint256 z;
    }

    struct Request {
        address callback;
        /// Gas the callback gets (packed with `callback` in one slot).
        uint64 callbackGas;
        bytes32 functionId;
    }

    bytes32 public constant BATCH_TYPEHASH = keccak256("OutputBatch(uint64 epoch,bytes32 root,uint64 nexusHeight)");
    bytes32 public constant ROTATION_TYPEHASH =
        keccak256("KeyRotation(uint64 newEpoch,uint256 newKeyX)");
    bytes32 private constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    /// Gas a consumer's callback gets when its request names none (`callbackGas` 0).
    uint64 public constant DEFAULT_CALLBACK_GAS = 200_000;
    /// Most gas a request may ask for its callback (a relayer must supply it).
    uint64 public constant MAX_CALLBACK_GAS = 5_000_000;
    /// Largest request input accepted (bytes), so a request stays cheap to observe.
    uint256 public constant MAX_INPUT_BYTES = 16_384;

    /// Current group key (x-coordinate of a point with even y) and the epoch it belongs to.
    uint256 public keyX;
    uint64 public epoch;
    uint256 public nextRequestId;
    mapping(uint256 => Request) public requests;

    event Requested(
        uint256 indexed id, bytes32 indexed functionId, address indexed requester, address callback, bytes input
    );
    event Fulfilled(uint256 indexed id, bool success, bool callbackSucceeded);
    event KeyRotated(uint64 indexed epoch, uint256 keyX);

    error InvalidPublicKey();
    error InvalidSignature();
    error StaleEpoch(uint64 current, uint64 proposed);
    error NotPending(uint256 id);
    error InputTooLarge(uint256 length);
    error InsufficientCallbackGas();
    error CallbackGasTooHigh(uint64 requested, uint64 max);

    constructor(uint256 initialKeyX, uint64 initialEpoch) {
        if (!FrostSecp256k1.isValidPublicKeyX(initialKeyX)) revert InvalidPublicKey();
        keyX = initialKeyX;
        epoch = initialEpoch;
        emit KeyRotated(initialEpoch, initialKeyX);
    }

    /// @notice EIP-712 domain separator (recomputed from the live chain id).
    function domainSeparator() public view returns (bytes32) {
        return keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("NexusGateway"), keccak256("1"), block.chainid, address(this))
        );
    }

    function _digest(bytes32 structHash) private view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator(), structHash));
    }

    /// @notice Whether `sig` is the current group key's signature on the 32-byte `digest`.
    function verify(bytes32 digest, Signature calldata sig) public view returns (bool) {
        return FrostSecp256k1.verifyDigest(keyX, 0, digest, sig.rx, sig.ry, sig.z);
    }

    /// @notice Asks the Nexus network to invoke `functionId` with `input`; the result is delivered
    ///         to `callback` (or the caller when zero) through `INexusConsumer.onNexusResult`,
    ///         with `callbackGas` gas (0: `DEFAULT_CALLBACK_GAS`; at most `MAX_CALLBACK_GAS`).
    ///         Storage is priced differently across forks: a consumer that stores what it gets
    ///         should ask for enough gas to store the largest answer it expects.
    function request(bytes32 functionId, bytes calldata input, address callback, uint64 callbackGas)
        external
        returns (uint256 id)
    {
        if (input.length > MAX_INPUT_BYTES) revert InputTooLarge(input.length);
        if (callbackGas > MAX_CALLBACK_GAS) revert CallbackGasTooHigh(callbackGas, MAX_CALLBACK_GAS);
        if (callbackGas == 0) callbackGas = DEFAULT_CALLBACK_GAS;
        if (callback == address(0)) callback = msg.sender;
        id = nextRequestId++;
        requests[id] = Request({callback: callback, callbackGas: callbackGas, functionId: functionId});
        emit Requested(id, functionId, msg.sender, callback, input);
    }

    /// @notice The leaf of request `id`'s answer in its block's output batch.
    function outputLeaf(uint256 id, bytes32 functionId, bool success, bytes calldata output)
        public
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(id, functionId, success, keccak256(output)))));
    }

    /// @notice Delivers the answer of request `id` (its output, or with `success` false the
    ///         error it failed with on Nexus), produced in Nexus block `nexusHeight`, with
    ///         its inclusion `proof` under that block's output root and the group key's signature
    ///         on the root. Rejects a wrong proof or signature (both surface as
    ///         `InvalidSignature`: the signed root is not the one the proof leads to) and a
    ///         request that is unknown or already fulfilled (replay).
    function fulfill(
        uint256 id,
        bool success,
        bytes calldata output,
        uint64 nexusHeight,
        bytes32[] calldata proof,
        Signature calldata sig
    ) external {
        Request memory req = requests[id];
        if (req.callback == address(0)) revert NotPending(id);
        bytes32 root = MerkleProof.processProofCalldata(proof, outputLeaf(id, req.functionId, success, output));
        bytes32 structHash = keccak256(abi.encode(BATCH_TYPEHASH, epoch, root, nexusHeight));
        if (!verify(_digest(structHash), sig)) revert InvalidSignature();
        delete requests[id];
        // EIP-150 keeps 1/64 back: make sure the callee really gets the gas it asked for.
        uint256 callbackGas = req.callbackGas;
        if (gasleft() < callbackGas + callbackGas / 63 + 10_000) revert InsufficientCallbackGas();
        (bool ok,) = req.callback.call{gas: callbackGas}(
            abi.encodeCall(INexusConsumer.onNexusResult, (id, success, output))
        );
        emit Fulfilled(id, success, ok);
    }

    /// @notice Moves to the next epoch's group key, authorised by the current key's signature on
    ///         the KeyRotation message. Cost does not depend on the validator count.
    function rotateKey(uint64 newEpoch, uint256 newKeyX, Signature calldata sig) external {
        if (newEpoch <= epoch) revert StaleEpoch(epoch, newEpoch);
        if (!FrostSecp256k1.isValidPublicKeyX(newKeyX)) revert InvalidPublicKey();
        bytes32 structHash = keccak256(abi.encode(ROTATION_TYPEHASH, newEpoch, newKeyX));
        if (!verify(_digest(structHash), sig)) revert InvalidSignature();
        keyX = newKeyX;
        epoch = newEpoch;
        emit KeyRotated(newEpoch, newKeyX);
    }
}
