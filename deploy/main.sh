#!/usr/bin/env bash
# The main job, from a fresh machine: installs what it needs (Debian packages, CometBFT, geth,
# solc, guest toolchains), builds the nexus CLI, the example counter function and the
# contracts, starts a local Ethereum (`geth --dev`) and a 4-validator Nexus network on loopback
# (real CometBFT processes) whose validators watch the gateway, deploys the counter with a
# transaction, invokes it with transactions, reads its state back from every validator (each
# read proven against an app hash signed by more than 2/3 of the validators), then does the
# Ethereum round trip: deploys NexusGateway with the validators' group key, a contract requests
# counter(by 100) through it, the validators see the request in a finalized block, agree on it,
# run it and threshold-sign the answer, and `nexus relayer` delivers it to the consumer
# contract, whose gateway checked the FROST signature.
#
#   deploy/main.sh [DEVNET_DIR]      (default: ~/.nexus/devnet-main; replaced on every run;
#                                     geth's data and keys go to DEVNET_DIR-eth)
#
# Both keep running afterwards; the script prints how to use them and how to stop them.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
cd "$ROOT"

"$HERE/install-deps.sh" >/dev/null
. "$HERE/env.sh"

echo "==> building the nexus CLI"
cargo build -q -p nexus-cli
NEXUS="$CARGO_TARGET_DIR/debug/nexus"

echo "==> building examples/counter with 'nexus build', and the contracts with solc"
"$NEXUS" build examples/counter --out "$NEXUS_GUESTS_DIR"
"$HERE/build-contracts.sh" >/dev/null

DEVNET="${1:-$HOME/.nexus/devnet-main}"
ETH_DIR="$DEVNET-eth"
BASE_PORT="${NEXUS_BASE_PORT:-26600}"
ETH_PORT="${NEXUS_ETH_PORT:-$((BASE_PORT - 55))}"
export NEXUS_ETH_RPC="http://127.0.0.1:$ETH_PORT"
if [ -f "$DEVNET/devnet.json" ]; then
  echo "==> removing the previous devnet in $DEVNET"
  "$NEXUS" devnet down --dir "$DEVNET" --purge >/dev/null
fi
if [ -f "$ETH_DIR/geth.pid" ]; then
  echo "==> stopping the previous geth"
  kill "$(cat "$ETH_DIR/geth.pid")" 2>/dev/null || true
  sleep 2
fi
rm -rf "$ETH_DIR"
mkdir -p "$ETH_DIR"

echo "==> starting Ethereum: $("$NEXUS_GETH" version | awk '/^Version/ {print "geth " $2}') --dev on $NEXUS_ETH_RPC"
setsid "$NEXUS_GETH" --dev --dev.period 1 --datadir "$ETH_DIR/data" \
  --http --http.addr 127.0.0.1 --http.port "$ETH_PORT" --http.api eth,net,web3 \
  --authrpc.addr 127.0.0.1 --authrpc.port "$((ETH_PORT + 1))" \
  --port 0 --nodiscover --maxpeers 0 --ipcdisable --verbosity 2 \
  </dev/null >"$ETH_DIR/geth.log" 2>&1 &
echo $! >"$ETH_DIR/geth.pid"
for _ in $(seq 1 120); do
  (exec 3<>"/dev/tcp/127.0.0.1/$ETH_PORT") 2>/dev/null && break
  sleep 0.5
done
KEYS=(--keys-dir "$ETH_DIR/keys")
"$NEXUS" keys new deployer "${KEYS[@]}" >/dev/null
"$NEXUS" keys new requester "${KEYS[@]}" >/dev/null
DEPLOYER="$ETH_DIR/keys/deployer.key"
REQUESTER="$ETH_DIR/keys/requester.key"
"$NEXUS" eth fund "$("$NEXUS" keys show deployer "${KEYS[@]}")"
"$NEXUS" eth fund "$("$NEXUS" keys show requester "${KEYS[@]}")"
# The network signs for the gateway at the deployer's next CREATE address, on geth's chain.
GATEWAY="$("$NEXUS" eth next-address --from-key "$DEPLOYER")"

echo "==> starting 4 validators (CometBFT $(${NEXUS_COMETBFT:-cometbft} version)) in $DEVNET, watching gateway $GATEWAY"
"$NEXUS" devnet up --dir "$DEVNET" --validators 4 --base-port "$BASE_PORT" \
  --eth-rpc "$NEXUS_ETH_RPC" --eth-gateway "$GATEWAY" --eth-chain-id 1337
export NEXUS_NODE="http://127.0.0.1:$((BASE_PORT + 1))"
FAUCET="$DEVNET/faucet.key"

echo "==> nexus deploy counter.wasm"
"$NEXUS" deploy "$NEXUS_GUESTS_DIR/counter.wasm" --from "$FAUCET"
for by in 1 2 3; do
  echo "==> nexus invoke counter --input '{\"by\": $by}'"
  "$NEXUS" invoke counter --input "{\"by\": $by}" --from "$FAUCET" | tee "$DEVNET/last-invoke.txt"
done
OUTPUT_ID="$(awk '/^outbox/ { print $2 }' "$DEVNET/last-invoke.txt")"

echo "==> the validators' group key (from the DKG at genesis) and the last output, threshold-signed for Ethereum"
"$NEXUS" query group-key
"$NEXUS" query output "$OUTPUT_ID" --wait 60

echo "==> the counter read back from every validator (little-endian u64, proven)"
for i in 0 1 2 3; do
  printf 'node%s  ' "$i"
  "$NEXUS" query kv counter count --node "http://127.0.0.1:$((BASE_PORT + 10 * i + 1))" 2>&1 | tr '\n' ' '
  echo
done
"$NEXUS" devnet status --dir "$DEVNET"

echo "==> Ethereum round trip: NexusGateway with the validators' group key, and a consumer"
"$NEXUS" eth deploy-gateway --from-key "$DEPLOYER" | tee "$ETH_DIR/deployment.txt"
CONSUMER="$(awk '/^consumer:/ { print $2 }' "$ETH_DIR/deployment.txt")"
echo "==> a contract asks the gateway for counter(by 100), answer to the consumer"
"$NEXUS" eth request --from-key "$REQUESTER" --gateway "$GATEWAY" --function counter \
  --input '{"by": 100}' --callback "$CONSUMER"
echo "==> waiting for Ethereum to finalize it (geth --dev: every 32 blocks) and the validators to take it in"
for _ in $(seq 1 240); do
  "$NEXUS" query request 0 >/dev/null 2>&1 && break
  sleep 1
done
"$NEXUS" query request 0
echo "==> nexus relayer: the threshold-signed answer to the gateway, which checks it and calls the consumer"
"$NEXUS" relayer --from-key "$DEPLOYER" --gateway "$GATEWAY" --request 0
printf 'consumer result for request 0: '
"$NEXUS" eth result --consumer "$CONSUMER" 0
cat <<MSG

The devnet and geth keep running. Try:
  export NEXUS_NODE=$NEXUS_NODE NEXUS_ETH_RPC=$NEXUS_ETH_RPC
  $NEXUS invoke counter --input '{"by": 10}' --from $FAUCET
  $NEXUS eth request --from-key $REQUESTER --gateway $GATEWAY --function counter --input '{"by": 1}' --callback $CONSUMER
  $NEXUS relayer --from-key $DEPLOYER --gateway $GATEWAY --follow 1
  $NEXUS query validators
Stop them with:
  $NEXUS devnet down --dir $DEVNET; kill \$(cat $ETH_DIR/geth.pid)
MSG
