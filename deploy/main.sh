#!/usr/bin/env bash
# The main job, from a fresh machine: installs what it needs (Debian packages, CometBFT, guest
# toolchains), builds the nexus CLI and the example counter function, starts a 4-validator
# network on loopback (real CometBFT processes), deploys the counter with a transaction, invokes
# it with transactions, reads its state back from every validator (each read proven against
# an app hash signed by more than 2/3 of the validators), and shows the FROST signature the
# validator set made over the last output for Ethereum.
#
#   deploy/main.sh [DEVNET_DIR]      (default: ~/.nexus/devnet-main; replaced on every run)
#
# The network keeps running afterwards; the script prints how to use it and how to stop it.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
cd "$ROOT"

"$HERE/install-deps.sh" >/dev/null
. "$HERE/env.sh"

echo "==> building the nexus CLI"
cargo build -q -p nexus-cli
NEXUS="$CARGO_TARGET_DIR/debug/nexus"

echo "==> building examples/counter with 'nexus build'"
"$NEXUS" build examples/counter --out "$NEXUS_GUESTS_DIR"

DEVNET="${1:-$HOME/.nexus/devnet-main}"
BASE_PORT="${NEXUS_BASE_PORT:-26600}"
if [ -f "$DEVNET/devnet.json" ]; then
  echo "==> removing the previous devnet in $DEVNET"
  "$NEXUS" devnet down --dir "$DEVNET" --purge >/dev/null
fi
echo "==> starting 4 validators (CometBFT $(${NEXUS_COMETBFT:-cometbft} version)) in $DEVNET"
"$NEXUS" devnet up --dir "$DEVNET" --validators 4 --base-port "$BASE_PORT"
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
cat <<MSG

The devnet keeps running. Try:
  export NEXUS_NODE=$NEXUS_NODE
  $NEXUS invoke counter --input '{"by": 10}' --from $FAUCET
  $NEXUS query validators
Stop it with:
  $NEXUS devnet down --dir $DEVNET
MSG
