#!/usr/bin/env bash
# Builds the filter for Envoy: target/wasm32-wasip1/release/meshroute_filter.wasm
# (stable toolchain; the nightly lacks wasm32-wasip1). The crate is a member
# of the main workspace, so its size settings are given here, for this build
# only: small (`s`), whole-program LTO, no unwinding, stripped.
# Run from anywhere; prints the .wasm's path.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1 >&2
CARGO_PROFILE_RELEASE_OPT_LEVEL=s \
CARGO_PROFILE_RELEASE_LTO=true \
CARGO_PROFILE_RELEASE_STRIP=true \
CARGO_PROFILE_RELEASE_PANIC=abort \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  cargo build -q --release -p meshroute-proxy-wasm --target wasm32-wasip1
echo "$PWD/target/wasm32-wasip1/release/meshroute_filter.wasm"
