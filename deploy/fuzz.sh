#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ (one per decoder of untrusted bytes; see fuzz/README.md).
#
#   deploy/fuzz.sh [TARGET|all] [SECONDS]      (default: all targets, 60 s each)
#
# Not part of the default test run. Installs cargo-fuzz (from crates.io) once if it is missing.
# cargo-fuzz needs nightly-only flags (-Zsanitizer=address, sancov): we use the stable rustup
# toolchain with RUSTC_BOOTSTRAP=1 rather than a nightly toolchain (none can be downloaded here).
# Builds go to $CARGO_TARGET_DIR/fuzz (instrumented artifacts never mix with normal ones).
# Corpora grow in fuzz/corpus/<target>/ and crashes land in fuzz/artifacts/<target>/ (both
# git-ignored); committed seeds in fuzz/seeds/<target>/ are read too. Reproduce a crash with
# `deploy/fuzz.sh` env and `cargo fuzz run <target> fuzz/artifacts/<target>/crash-...` from fuzz/.
# Exit status: 0 if no target found a crash, 1 otherwise (every target is still run).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
. "$HERE/env.sh"

TARGET="${1:-all}"
SECONDS_PER_TARGET="${2:-60}"
CARGO_FUZZ_VERSION="0.13.2"

export CARGO_TARGET_DIR="$CARGO_TARGET_DIR/fuzz"
export RUSTC_BOOTSTRAP=1
# Pin the rustup stable toolchain even where a rust-toolchain file or override says otherwise.
export RUSTUP_TOOLCHAIN="${RUSTUP_TOOLCHAIN:-stable}"

if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  echo "installing cargo-fuzz $CARGO_FUZZ_VERSION"
  cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
fi

cd "$ROOT/fuzz"
if [[ "$TARGET" == all ]]; then
  mapfile -t TARGETS < <(cargo fuzz list)
else
  TARGETS=("$TARGET")
fi

# One build for every target (cargo fuzz run would otherwise rebuild per target).
cargo fuzz build

LOG_DIR="$CARGO_TARGET_DIR/logs"
mkdir -p "$LOG_DIR"
failed=()
printf '%-16s %8s %14s %8s %s\n' target seconds executions crashes "log"
for t in "${TARGETS[@]}"; do
  log="$LOG_DIR/$t.log"
  mkdir -p "corpus/$t"
  status=0
  # Committed seeds (fuzz/seeds/<target>/) are read as a second corpus; new inputs go to corpus/.
  seeds=()
  [[ -d "seeds/$t" ]] && seeds=("seeds/$t")
  cargo fuzz run "$t" "corpus/$t" "${seeds[@]}" -- \
    -max_total_time="$SECONDS_PER_TARGET" -print_final_stats=1 >"$log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=0
  if ((status != 0)); then
    crashes=1
    failed+=("$t")
  fi
  printf '%-16s %8s %14s %8s %s\n' "$t" "$SECONDS_PER_TARGET" "${execs:-?}" "$crashes" "$log"
  if ((status != 0)); then
    grep -E 'panicked at|ERROR: libFuzzer|SUMMARY|Test unit written|artifact_prefix' "$log" | head -8 | sed 's/^/    /'
  fi
done

if ((${#failed[@]})); then
  echo "crashes in: ${failed[*]}"
  exit 1
fi
echo "no crashes"
