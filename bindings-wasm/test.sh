#!/usr/bin/env bash
# Installs what the WASM packages need (idempotent), builds them and the
# playground, and runs every test: node's test runner on the nodejs package
# (API, types, conformance) and the playground end to end in headless Chromium.
# Run from the repository root: bindings-wasm/test.sh
set -euo pipefail

WASM_BINDGEN_VERSION=0.2.130   # must equal the `wasm-bindgen` pin in bindings-wasm/Cargo.toml
cd "$(dirname "$0")"
CRATE_DIR=$PWD

step() { printf '\n==> %s\n' "$*"; }

step "rustup target wasm32-unknown-unknown"
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown

step "wasm-bindgen-cli $WASM_BINDGEN_VERSION"
if ! wasm-bindgen --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  # Without --locked: the tool's lockfile names crate versions the registry may not have yet.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
wasm-bindgen --version

step "Chromium"
if [ ! -x /usr/bin/chromium ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium
fi
/usr/bin/chromium --version

step "npm ci"
if ! npm ls --depth=0 >/dev/null 2>&1; then
  npm ci --no-audit --no-fund
fi

step "build (cargo, wasm-bindgen, wasm-opt, esbuild)"
node scripts/build.mjs

step "node tests (nodejs package: API, TypeScript declarations, conformance)"
node --test --test-reporter=spec test/ 2>&1 | tee "$CRATE_DIR/test-output.node.log" || NODE_FAILED=1

step "end-to-end tests (headless Chromium)"
mkdir -p test-output
node --test --test-reporter=spec e2e/ 2>&1 | tee "$CRATE_DIR/test-output/e2e.log" || E2E_FAILED=1
mv -f "$CRATE_DIR/test-output.node.log" test-output/node.log

summary() { grep -E '^ℹ (pass|fail) ' "$1" | tr '\n' ' '; }
echo
echo "bindings-wasm node: $(summary test-output/node.log)"
echo "bindings-wasm e2e:  $(summary test-output/e2e.log) (screenshots in bindings-wasm/test-output/)"
if [ -n "${NODE_FAILED:-}" ] || [ -n "${E2E_FAILED:-}" ]; then
  echo "bindings-wasm: FAILED"
  exit 1
fi
echo "bindings-wasm: all passed"
