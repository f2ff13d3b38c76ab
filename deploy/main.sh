#!/usr/bin/env bash
# The main job, from a fresh machine: installs what it needs, builds the nexus CLI and the
# example counter function, deploys it into a local state directory and invokes it, then reads
# its key-value state back with a Merkle proof checked against the state root.
#
#   deploy/main.sh [STATE_DIR]      (default: a new temporary directory)
#
# (The local network of validators and the Ethereum round trip arrive with later issues.)
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

STATE="${1:-$(mktemp -d -t nexus-state.XXXXXX)}"
echo "==> state directory: $STATE"
for by in 1 2 3; do
  echo "==> nexus run counter.wasm  (input {\"by\": $by})"
  echo "{\"by\": $by}" | "$NEXUS" run "$NEXUS_GUESTS_DIR/counter.wasm" --state "$STATE" --input -
done
echo "==> nexus kv get counter count (little-endian u64, proven against the state root)"
"$NEXUS" kv get counter count --state "$STATE"
