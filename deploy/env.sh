# Nexus build environment. Source it: `. deploy/env.sh` (safe to source repeatedly).
# Every value keeps one already set in the environment.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/nexus-target}"
export ROCKSDB_LIB_DIR="${ROCKSDB_LIB_DIR:-/usr/lib/x86_64-linux-gnu}"
# Built guest modules (<name>.wasm + <name>.toml); host tests load them from here.
export NEXUS_GUESTS_DIR="${NEXUS_GUESTS_DIR:-$CARGO_TARGET_DIR/guests}"
# Cargo target dir shared by all Rust guest builds (std is built once, by -Zbuild-std).
export NEXUS_GUEST_TARGET_DIR="${NEXUS_GUEST_TARGET_DIR:-$CARGO_TARGET_DIR/guest-build}"
# rocksdb 0.20 (librocksdb-sys 0.10) generates its bindings from Debian's 7.8 headers and links
# Debian's librocksdb 7.8: a cold build takes under a minute instead of 16-25 min for the bundled
# C++ build. (rocksdb 0.21 calls RocksDB 8 functions that 7.8 lacks.)
export ROCKSDB_INCLUDE_DIR="${ROCKSDB_INCLUDE_DIR:-/usr/include}"
# Compiled Solidity contracts (deploy/build-contracts.sh writes <Contract>.bin/.abi here).
export NEXUS_CONTRACTS_OUT="${NEXUS_CONTRACTS_OUT:-$HOME/.cache/nexus-contracts}"
# The pinned CometBFT binary installed by deploy/install-deps.sh (`go install`).
export NEXUS_COMETBFT="${NEXUS_COMETBFT:-${GOBIN:-$HOME/go/bin}/cometbft}"
# The pinned geth binary installed by deploy/install-deps.sh (`go install`); the Ethereum tests
# run it as `geth --dev` on loopback.
export NEXUS_GETH="${NEXUS_GETH:-${GOBIN:-$HOME/go/bin}/geth}"
