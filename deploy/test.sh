#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs what it needs (skipping what is there),
# builds the nexus CLI and every example guest, then runs formatting, lints and all tests.
#
#   deploy/test.sh            # what CI runs (.ci/run)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
cd "$ROOT"

"$HERE/install-deps.sh"
. "$HERE/env.sh"

step() { printf '\n==> %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "build the nexus CLI"
cargo build -p nexus-cli

step "build example guests (nexus build)"
NEXUS_BIN="$CARGO_TARGET_DIR/debug/nexus" "$HERE/build-examples.sh"

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

step "compile the Solidity contracts (pinned solc) into \$NEXUS_CONTRACTS_OUT"
"$HERE/build-contracts.sh"

step "cargo test"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
cargo test --workspace 2>&1 | tee "$log"
# One closing line for the whole suite (cargo prints one per test binary, the last often a
# doc-test binary with nothing in it).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "\n%d passed, %d failed\n", p, f }' "$log"
