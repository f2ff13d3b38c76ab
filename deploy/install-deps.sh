#!/usr/bin/env bash
# Installs the Debian packages Nexus builds with: the host toolchain's native deps and the
# guest toolchains (Rust -> wasm32-wasip1 via Debian's rustc-web + rust-web-src, C via clang +
# wasi-libc). Idempotent: installs only what is missing; `apt-get update` only then.
# Go (for Go guests) is not a Debian package at the needed version (>= 1.21 for wasip1): it is
# checked, not installed.
set -euo pipefail

PACKAGES=(
  rustc-web cargo-web rust-web-src   # Debian's Rust 1.96 + std sources (for -Zbuild-std)
  wasi-libc lld clang libclang-rt-dev-wasm32   # C -> wasm32-wasi, wasm-ld, compiler-rt builtins
  librocksdb-dev libclang-dev pkg-config       # host: rocksdb, bindgen
  python3                                      # deploy/wasm-imports.py
  gcc-riscv64-unknown-elf qemu-user            # zk-Functions: RV32IM guests, differential tests
)
# npm (runs the pinned solc of deploy/build-contracts.sh): Debian's `npm` (pulls nodejs) unless
# a Node.js with npm is already installed (e.g. a nodejs package that bundles npm).
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(npm)
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO=sudo; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "all Debian packages present: ${PACKAGES[*]}"
fi

# Sanity checks of what the guest routes rely on.
fail=0
check() { if ! eval "$2" >/dev/null 2>&1; then echo "MISSING: $1" >&2; fail=1; fi; }
check "/usr/bin/rustc (rustc-web)" "test -x /usr/bin/rustc"
check "/usr/bin/cargo (cargo-web)" "test -x /usr/bin/cargo"
check "std sources /usr/lib/rustlib/src/rust/library" "test -f /usr/lib/rustlib/src/rust/library/Cargo.lock"
check "wasm-ld" "command -v wasm-ld"
check "clang" "command -v clang"
check "wasi-libc /usr/lib/wasm32-wasi/libc.a" "test -f /usr/lib/wasm32-wasi/libc.a"
check "wasi-libc crt1-command.o" "test -f /usr/lib/wasm32-wasi/crt1-command.o"
check "riscv64-unknown-elf-gcc (zkVM guests)" "command -v riscv64-unknown-elf-gcc"
check "qemu-riscv32 (zkVM differential tests)" "command -v qemu-riscv32"
check "npm (solc for the contracts)" "command -v npm"
check "compiler-rt wasm32 builtins" "ls /usr/lib/llvm-*/lib/clang/*/lib/wasi/libclang_rt.builtins-wasm32.a"
GO=$(command -v go || { test -x /usr/local/go/bin/go && echo /usr/local/go/bin/go; } || true)
if [[ -n "$GO" ]]; then
  echo "go: $("$GO" version)"
else
  echo "note: no Go toolchain (needed only for Go guests, e.g. examples/go-hello; Go >= 1.21)" >&2
fi

# Pinned Go programs from the Go module proxy, into $GOBIN (default ~/go/bin); each is skipped
# when the pinned version is already there.
#   go_install NAME MODULE/CMD VERSION EXPECTED-LINE-OF-`NAME version` WHY
GOBIN_DIR="${GOBIN:-$HOME/go/bin}"
go_install() {
  local name=$1 cmd=$2 version=$3 expected=$4 why=$5
  if [[ -z "$GO" ]]; then
    echo "MISSING: Go (needed to install $name: $why)" >&2
    fail=1
  elif "$GOBIN_DIR/$name" version 2>/dev/null | grep -qx "$expected"; then
    echo "$name $version present"
  else
    echo "installing $name $version (go install)"
    GOBIN="$GOBIN_DIR" "$GO" install "$cmd@$version" || fail=1
  fi
}

COMETBFT_VERSION="v0.38.26"
go_install cometbft github.com/cometbft/cometbft/cmd/cometbft "$COMETBFT_VERSION" \
  "${COMETBFT_VERSION#v}" "the consensus engine every node supervises"
GETH_VERSION="v1.17.10"
go_install geth github.com/ethereum/go-ethereum/cmd/geth "$GETH_VERSION" \
  "Version: ${GETH_VERSION#v}-stable" "the Ethereum end of the round trip runs geth --dev"
exit $fail
