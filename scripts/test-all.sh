#!/usr/bin/env bash
# The full test run: formatting, lints, unit and integration tests, docs,
# then the CLI over the conformance corpus and the project's route tests.
# Each stage is a function; add new ones (C, Python, WASM, Envoy) to STAGES.
# `scripts/test-all.sh STAGE...` runs only the named stages.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# The conformance corpora: the repository's own, then an optional extra one
# ($MESHROUTE_CONFORMANCE, else ../shared/conformance beside the checkout) when it exists.
CONFORMANCE_DIRS=("$ROOT/tests/conformance")
EXTRA_CONFORMANCE="${MESHROUTE_CONFORMANCE:-}"
if [[ -z "$EXTRA_CONFORMANCE" && -d "$ROOT/../shared/conformance" ]]; then
  EXTRA_CONFORMANCE="$ROOT/../shared/conformance"
fi
if [[ -n "$EXTRA_CONFORMANCE" ]]; then CONFORMANCE_DIRS+=("$EXTRA_CONFORMANCE"); fi
MESHROUTE="$ROOT/target/debug/meshroute"
# Every build here is a fresh build of its profile: incremental caches would
# only cost disk (gigabytes over the stages) and time.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# System packages the stages need, installed once (idempotent: only what is missing).
stage_setup() {
  local missing=()
  local pair cmd pkg
  for pair in gcc:gcc valgrind:valgrind pkg-config:pkg-config strace:strace; do
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

# `meshroute check` over each corpus: its plain configuration files as one mesh,
# then every route-test file on its own configuration.
# The docs' destination-rule-all.yaml defines ratings subsets (v2-mysql,
# v2-mysql-vm) that bookinfo.yaml does not deploy: istioctl analyze reports
# IST0173 for them too (istio/istio.io#17329), so the corpus suppresses it there.
check_corpus() {
  local dir=$1 configs=() f
  local suppress=(--suppress "IST0173=DestinationRule default/ratings")
  for f in "$dir"/*.yaml; do
    case "$f" in *.routetest.yaml | *.scenario.yaml) ;; *) configs+=("$f") ;; esac
  done
  if [[ ${#configs[@]} -gt 0 ]]; then "$MESHROUTE" check "${suppress[@]}" "${configs[@]}"; fi
  "$MESHROUTE" check "${suppress[@]}" "$dir"/*.routetest.yaml
}

stage_check_conformance() {
  build_cli
  local dir
  for dir in "${CONFORMANCE_DIRS[@]}"; do check_corpus "$dir"; done
}

stage_route_tests() {
  build_cli
  local targets=(examples tests/scenarios) dir
  for dir in "${CONFORMANCE_DIRS[@]}"; do targets+=("$dir"/*.routetest.yaml "$dir"/*.scenario.yaml); done
  if [[ -d tests/routes ]]; then targets+=(tests/routes); fi
  # Istio's own tests, converted (tests/istio/README.md).
  targets+=(tests/istio)
  "$MESHROUTE" test "${targets[@]}"
  # The scale mesh generator's layout (cli/tests/genmesh.rs checks and routes its meshes).
  python3 -m unittest discover -s scripts -p 'test_*.py'
}

# The README's promise: a clone of the repository alone runs the corpus stages.
# Clones the committed tree into a folder with no `shared` beside it, with the
# variables that name an extra corpus unset, then runs the check and route-test
# commands and the core tests that read the corpus there (sharing this build's
# target directory, so only the clone's copy of the core crates is compiled).
# When strace is present, every file the commands open or look for is traced:
# a corpus or schema file outside the clone, or anything under a `shared/`
# folder, fails the stage.
stage_fresh_clone() {
  build_cli
  local tmp status=0
  tmp=$(mktemp -d)
  git clone -q "$ROOT" "$tmp/meshroute"
  (
    set -euo pipefail
    clone="$tmp/meshroute"
    cd "$clone"
    [[ ! -e ../shared ]]
    unset MESHROUTE_CONFORMANCE MESHROUTE_SHARED MESHROUTE_SHARED_DIR MESHROUTE_CRD_SCHEMA
    export CARGO_TARGET_DIR="$ROOT/target"
    # `--workspace` resolves the dependencies' features as build_cli does, so they are not rebuilt.
    local_tests=(--workspace --test scenarios --test analyze --test validate --test model_schema --test istio)
    cargo test -q --no-run "${local_tests[@]}"
    trace=()
    if command -v strace >/dev/null 2>&1; then
      trace=(strace -f -qq -e trace=open,openat,stat,newfstatat,statx,access -o "$tmp/files.trace")
    fi
    "${trace[@]}" bash -c '
      set -euo pipefail
      configs=()
      for f in tests/conformance/*.yaml; do
        case "$f" in *.routetest.yaml | *.scenario.yaml) ;; *) configs+=("$f") ;; esac
      done
      "$1" check "${configs[@]}"
      "$1" check tests/conformance/*.routetest.yaml
      "$1" test tests/conformance examples tests/scenarios tests/istio
      shift
      cargo test -q "$@"
    ' fresh_clone "$MESHROUTE" "${local_tests[@]}"
    if [[ -f "$tmp/files.trace" ]]; then
      grep -oE '"/[^"]*"' "$tmp/files.trace" | tr -d '"' | sort -u \
        | grep -E '/shared/|conformance|\.routetest\.yaml|\.scenario\.yaml|istio-networking-crds' \
        | grep -v -e "^$clone/" -e "^$ROOT/target/" >"$tmp/outside" || true
      if [[ -s "$tmp/outside" ]]; then
        echo "fresh_clone: read outside the clone:"
        head -20 "$tmp/outside"
        exit 1
      fi
      echo "fresh_clone: no file read outside the clone ($(grep -c . "$tmp/files.trace") calls traced)"
    fi
  ) || status=$?
  rm -rf "$tmp"
  return "$status"
}

stage_c() { bindings-c/test.sh; }

stage_python() { bindings-python/test.sh; }

# The WASM packages (web, nodejs), node tests and the playground in headless Chromium.
stage_wasm() { bindings-wasm/test.sh; }

# The proxy-wasm filter and the generated native config in a real Envoy: feature tests,
# then the agreement over every corpus (tests/conformance, examples, tests/istio per area,
# proxy-wasm/e2e/corpus), printing per corpus served / agree / not servable by reason;
# the counts, the unservable and the disagreeing cases also go to target/envoy-agreement.json.
stage_envoy() {
  build_cli && MESHROUTE_BIN="$MESHROUTE" \
    MESHROUTE_AGREEMENT_REPORT="${MESHROUTE_AGREEMENT_REPORT:-$PWD/target/envoy-agreement.json}" \
    proxy-wasm/test.sh
}

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

STAGES=(setup fmt deps clippy test doc check_conformance route_tests fresh_clone c python wasm envoy fuzz_smoke)

main() {
  local results=() failed=0 stage start status elapsed
  if [[ $# -gt 0 ]]; then STAGES=("$@"); fi
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
