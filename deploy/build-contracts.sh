#!/usr/bin/env bash
# Compiles the Solidity contracts in threshold/contracts/ with a pinned solc (npm package `solc`,
# the solcjs compiler) into $NEXUS_CONTRACTS_OUT (<Contract>.bin + <Contract>.abi; see
# deploy/env.sh). Installs solc and the OpenZeppelin contracts the gateway imports (npm
# `@openzeppelin/contracts`, pinned) into $NEXUS_SOLC_DIR (default ~/.cache/nexus-solc) once,
# skipped when those versions are present. The Rust tests in threshold/tests load the bytecode from there;
# compiled artifacts are never committed.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
. "$HERE/env.sh"

SOLC_VERSION="0.8.30"   # pinned: the gateway's bytecode (and gas figures) depend on it
OZ_VERSION="5.4.0"      # pinned: @openzeppelin/contracts (the gateway's MerkleProof)
SRC="$ROOT/threshold/contracts"
NEXUS_SOLC_DIR="${NEXUS_SOLC_DIR:-$HOME/.cache/nexus-solc}"

if ! command -v npm >/dev/null 2>&1; then
  echo "npm is missing (deploy/install-deps.sh installs it)" >&2
  exit 1
fi

mkdir -p "$NEXUS_SOLC_DIR"
installed="$(node -p "require('$NEXUS_SOLC_DIR/node_modules/solc/package.json').version" 2>/dev/null || true)"
if [[ "$installed" != "$SOLC_VERSION" ]]; then
  echo "installing solc@$SOLC_VERSION into $NEXUS_SOLC_DIR"
  (cd "$NEXUS_SOLC_DIR" && { [[ -f package.json ]] || echo '{"private":true}' > package.json; } \
    && npm install --no-audit --no-fund --save-exact "solc@$SOLC_VERSION" >/dev/null)
else
  echo "solc@$SOLC_VERSION present in $NEXUS_SOLC_DIR"
fi

oz_installed="$(node -p "require('$NEXUS_SOLC_DIR/node_modules/@openzeppelin/contracts/package.json').version" 2>/dev/null || true)"
if [[ "$oz_installed" != "$OZ_VERSION" ]]; then
  echo "installing @openzeppelin/contracts@$OZ_VERSION into $NEXUS_SOLC_DIR"
  (cd "$NEXUS_SOLC_DIR" && npm install --no-audit --no-fund --save-exact "@openzeppelin/contracts@$OZ_VERSION" >/dev/null)
else
  echo "@openzeppelin/contracts@$OZ_VERSION present in $NEXUS_SOLC_DIR"
fi

mkdir -p "$NEXUS_CONTRACTS_OUT"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$SRC" && "$NEXUS_SOLC_DIR/node_modules/.bin/solcjs" --bin --abi --optimize --optimize-runs 200 \
  --base-path . --include-path "$NEXUS_SOLC_DIR/node_modules" -o "$tmp" ./*.sol)
# solcjs names outputs <path>_<Contract>.{bin,abi}; keep <Contract>.{bin,abi}.
n=0
for f in "$tmp"/*.bin "$tmp"/*.abi; do
  base="$(basename "$f")"
  name="${base##*_}"
  cp "$f" "$NEXUS_CONTRACTS_OUT/$name"
  n=$((n + 1))
done
echo "contracts: $((n / 2)) compiled with solc $SOLC_VERSION -> $NEXUS_CONTRACTS_OUT"
