#!/usr/bin/env bash
# The full test run: formatting, lints, unit and integration tests, docs,
# then the CLI over the conformance corpus and the project's route tests.
# Each stage is a function; add new ones (C, Python, WASM, Envoy) to STAGES.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
CONFORMANCE="${MESHROUTE_CONFORMANCE:-$ROOT/../shared/conformance}"
MESHROUTE="$ROOT/target/debug/meshroute"
# Every build here is a fresh build of its profile: incremental caches would
# only cost disk (gigabytes over the stages) and time.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# System packages the stages need, installed once (idempotent: only what is missing).
stage_setup() {
  local missing=()
  local pair cmd pkg
  for pair in gcc:gcc valgrind:valgrind pkg-config:pkg-config; do
    cmd=${pair%%:*} pkg=${pair##*:}
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "installing: ${missing[*]}"
    apt-get update -q
    apt-get install -y -q "${missing[@]}"
  fi
}

stage_fmt() { cargo fmt --all --check; }

stage_clippy() { cargo clippy --workspace --all-targets -- -D warnings; }

stage_test() { cargo test --workspace; }

stage_doc() { RUSTDOCFLAGS=-Dwarnings cargo doc --workspace --no-deps; }

# The CLI binary as the `test` stage built it: `cargo build -p meshroute-cli`
# alone would resolve other features for the shared dependencies (the
# workspace's dev-dependencies widen regex's and serde's) and build them all
# a second time.
build_cli() { cargo test --workspace --no-run -q; }

stage_check_conformance() {
  build_cli
  local configs=()
  local f
  for f in "$CONFORMANCE"/*.yaml; do
    case "$f" in *.routetest.yaml | *.scenario.yaml) ;; *) configs+=("$f") ;; esac
  done
  "$MESHROUTE" check "${configs[@]}"
  # Route-test files are checked on their own configuration.
  "$MESHROUTE" check "$CONFORMANCE"/*.routetest.yaml
}

stage_route_tests() {
  build_cli
  local targets=("$CONFORMANCE"/*.routetest.yaml "$CONFORMANCE"/*.scenario.yaml examples tests/scenarios)
  if [[ -d tests/routes ]]; then targets+=(tests/routes); fi
  "$MESHROUTE" test "${targets[@]}"
}

stage_c() { bindings-c/test.sh; }

stage_python() { bindings-python/test.sh; }

# The WASM packages (web, nodejs), node tests and the playground in headless Chromium.
stage_wasm() { bindings-wasm/test.sh; }

# The proxy-wasm filter and the generated native config in a real Envoy.
stage_envoy() { build_cli && MESHROUTE_BIN="$MESHROUTE" proxy-wasm/test.sh; }

# Short fuzz smoke of every target (fuzz/README.md) when the nightly toolchain is present
# (cargo-fuzz is installed if missing); `fuzz/run.sh 600` is the long run.
stage_fuzz_smoke() {
  if ! rustup toolchain list | grep -q '^nightly'; then
    echo "nightly toolchain absent: fuzz smoke skipped"
    return 0
  fi
  command -v cargo-fuzz >/dev/null 2>&1 || cargo install -q cargo-fuzz
  fuzz/run.sh smoke
}

# Dependency policy (deny.toml): licenses, crates.io-only sources, duplicate
# versions, for the workspace (proxy-wasm/ included) and fuzz/. Offline, so advisories
# are not checked (see deny.toml).
stage_deps() { python3 scripts/deps-check.py; }

STAGES=(setup fmt deps clippy test doc check_conformance route_tests c python wasm envoy fuzz_smoke)

main() {
  local results=() failed=0 stage start status elapsed
  for stage in "${STAGES[@]}"; do
    echo "=== $stage"
    start=$SECONDS
    # A subshell outside any `||`/`if`, so `set -e` holds inside the stage.
    set +e
    (
      set -e
      "stage_$stage"
    )
    status=$?
    set -e
    elapsed=$((SECONDS - start))
    if [[ $status -eq 0 ]]; then
      results+=("ok    ${elapsed}s  $stage")
    else
      results+=("FAIL  ${elapsed}s  $stage (exit $status)")
      failed=$((failed + 1))
    fi
  done
  echo
  echo "=== summary"
  printf '%s\n' "${results[@]}"
  if [[ $failed -gt 0 ]]; then
    echo "$failed of ${#STAGES[@]} stages failed"
    exit 1
  fi
  echo "all ${#STAGES[@]} stages passed"
}

main "$@"
