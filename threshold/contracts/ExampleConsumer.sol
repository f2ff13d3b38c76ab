// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {NexusGateway, INexusConsumer} from "./NexusGateway.sol";

/// @title A minimal consumer: asks the gateway for a Nexus Function's result and stores it.
contract ExampleConsumer is INexusConsumer {
    NexusGateway public immutable gateway;
    mapping(uint256 => bytes) public results;

    event ResultReceived(uint256 indexed id, bytes output);

    error OnlyGateway();

    constructor(NexusGateway gateway_) {
        gateway = gateway_;
    }

    function ask(bytes32 functionId, bytes calldata input) external returns (uint256) {
        return gateway.request(functionId, input, address(this));
    }

    function onNexusResult(uint256 id, bytes calldata output) external {
        if (msg.sender != address(gateway)) revert OnlyGateway();
        results[id] = output;
        emit ResultReceived(id, output);
    }
}
