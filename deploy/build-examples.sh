#!/usr/bin/env bash
# Builds every example function (examples/*/ with a nexus.toml) into $NEXUS_GUESTS_DIR
# (<name>.wasm + <name>.toml) with `nexus build` (building the nexus binary first if needed),
# then checks that each module imports only wasi_snapshot_preview1 / nexus_v1.
#
#   build-examples.sh [EXAMPLE_NAME...]     (default: all)
#
# Up to date examples are cheap: cargo and go are incremental, and outputs are rewritten only
# when their content changes.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
. "$HERE/env.sh"

if (($#)); then
  DIRS=()
  for n in "$@"; do DIRS+=("$ROOT/examples/$n"); done
else
  DIRS=()
  for d in "$ROOT"/examples/*/; do
    [[ -f "$d/nexus.toml" ]] && DIRS+=("${d%/}")
  done
fi

NEXUS_BIN="${NEXUS_BIN:-$CARGO_TARGET_DIR/debug/nexus}"
if [[ ! -x "$NEXUS_BIN" ]]; then
  (cd "$ROOT" && cargo build -q -p nexus-cli)
fi

mkdir -p "$NEXUS_GUESTS_DIR"
start=$SECONDS
for d in "${DIRS[@]}"; do
  t=$SECONDS
  "$NEXUS_BIN" build "$d" --out "$NEXUS_GUESTS_DIR"
  echo "  ($((SECONDS - t)) s)"
done
/usr/bin/python3 "$HERE/wasm-imports.py" --check "$NEXUS_GUESTS_DIR"/*.wasm >/dev/null \
  || { /usr/bin/python3 "$HERE/wasm-imports.py" --check "$NEXUS_GUESTS_DIR"/*.wasm | grep 'NOT ALLOWED'; exit 1; }
echo "all examples built into $NEXUS_GUESTS_DIR in $((SECONDS - start)) s; imports OK"

# zk-Function guests (RV32IM ELFs): the C test guests and the Rust no_std examples.
if [[ -z "${NEXUS_SKIP_ZK_GUESTS:-}" ]]; then
  t=$SECONDS
  make -s -C "$ROOT/zkvm-bridge/guests" all rust OUT="$NEXUS_GUESTS_DIR/zk"
  echo "zk guests built into $NEXUS_GUESTS_DIR/zk in $((SECONDS - t)) s"
fi
