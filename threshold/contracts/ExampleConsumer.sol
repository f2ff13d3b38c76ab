// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {NexusGateway, INexusConsumer} from "./NexusGateway.sol";

/// @title A minimal consumer: asks the gateway for a Nexus Function's result and stores it.
contract ExampleConsumer is INexusConsumer {
    NexusGateway public immutable gateway;
    mapping(uint256 => bytes) public results;
    /// Requests answered with an error: `results[id]` holds the error message.
    mapping(uint256 => bool) public failed;

    event ResultReceived(uint256 indexed id, bool success, bytes output);

    /// Gas asked for each callback: enough to store an answer of a few hundred bytes where
    /// new storage slots cost more than 20,000 gas each.
    uint64 public constant CALLBACK_GAS = 1_000_000;

    error OnlyGateway();

    constructor(NexusGateway gateway_) {
        gateway = gateway_;
    }

    function ask(bytes32 functionId, bytes calldata input) external returns (uint256) {
        return gateway.request(functionId, input, address(this), CALLBACK_GAS);
    }

    function onNexusResult(uint256 id, bool success, bytes calldata output) external {
        if (msg.sender != address(gateway)) revert OnlyGateway();
        results[id] = output;
        if (!success) failed[id] = true;
        emit ResultReceived(id, success, output);
    }
}
