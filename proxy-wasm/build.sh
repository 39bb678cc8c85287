#!/usr/bin/env bash
# Builds the filter for Envoy: target/wasm32-wasip1/release/meshroute_filter.wasm
# (stable toolchain; the nightly lacks wasm32-wasip1), and beside it the floor
# filter the benchmark compares with, examples/floor_filter.wasm. The crate is
# a member of the main workspace, so its build settings are given here, for
# this build only: opt-level 3 (in a side-by-side `test.sh --bench` run, ~6 us
# less Envoy CPU per request than `s`, for a .wasm ~14% larger),
# whole-program LTO, no unwinding, stripped.
# MESHROUTE_FILTER_OPT_LEVEL and MESHROUTE_FILTER_LTO override the first two
# (to measure others with `test.sh --bench`).
# Run from anywhere; prints the filter's path.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target list --installed | grep -qx wasm32-wasip1 || rustup target add wasm32-wasip1 >&2
CARGO_PROFILE_RELEASE_OPT_LEVEL="${MESHROUTE_FILTER_OPT_LEVEL:-3}" \
CARGO_PROFILE_RELEASE_LTO="${MESHROUTE_FILTER_LTO:-true}" \
CARGO_PROFILE_RELEASE_STRIP=true \
CARGO_PROFILE_RELEASE_PANIC=abort \
CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1 \
  cargo build -q --release -p meshroute-proxy-wasm --target wasm32-wasip1 --lib --example floor_filter
echo "$PWD/target/wasm32-wasip1/release/meshroute_filter.wasm"
