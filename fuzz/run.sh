#!/usr/bin/env bash
# Runs every fuzz target. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`). Corpora are seeded from examples/,
# tests/scenarios/, tests/conformance/ and, when it exists, ../shared/conformance.
# A crash leaves its input under
# fuzz/artifacts/<target>/ and makes this script fail.
#   fuzz/run.sh smoke          # the test command: a fixed seed and a fixed number
#                              # of runs per target on a fresh corpus, so CI sees
#                              # exactly what a developer sees
#   fuzz/run.sh 600            # a long run: 600 s per target, random seed
#   fuzz/run.sh 600 pool capi  # only these targets
set -euo pipefail
mode="${1:-smoke}"
shift || true
cd "$(dirname "$0")"
root=..
all_targets=(load decide regex routetest outlier pool balancer retry capi)
if [[ $# -gt 0 ]]; then targets=("$@"); else targets=("${all_targets[@]}"); fi
if [[ "$mode" == smoke ]]; then
  rm -rf corpus
fi
for t in "${all_targets[@]}"; do mkdir -p "corpus/$t"; done
cp "$root"/examples/bookinfo/*.yaml corpus/load/ 2>/dev/null || true
cp "$root"/tests/conformance/bookinfo.yaml corpus/load/
cp "$root"/examples/*.routetest.yaml "$root"/tests/scenarios/*.yaml corpus/routetest/ 2>/dev/null || true
cp "$root"/tests/conformance/*.routetest.yaml "$root"/tests/conformance/*.scenario.yaml corpus/routetest/
# The shared corpus is an optional extra; its files go in under their own prefix.
if [[ -d "$root"/../shared/conformance ]]; then
  for f in "$root"/../shared/conformance/*.yaml; do
    case "$f" in
      *.routetest.yaml | *.scenario.yaml) cp "$f" "corpus/routetest/shared-$(basename "$f")" ;;
      *) cp "$f" "corpus/load/shared-$(basename "$f")" ;;
    esac
  done
fi
cargo +nightly fuzz build >/dev/null
# Runs per target in the smoke: each target takes a few seconds (the
# structured targets start from an empty corpus, load and routetest replay
# their seed files first).
declare -A smoke_runs=([load]=4000 [decide]=2000 [regex]=10000 [routetest]=1500
                       [outlier]=60000 [pool]=60000 [balancer]=15000 [retry]=150000 [capi]=3000)
for target in "${targets[@]}"; do
  if [[ "$mode" == smoke ]]; then
    args=(-seed=1 -runs="${smoke_runs[$target]}")
    echo "fuzz: $target, ${smoke_runs[$target]} runs (seed 1)"
  else
    args=(-max_total_time="$mode")
    echo "fuzz: $target for ${mode}s"
  fi
  # Inputs that once crashed a target are replayed first, every run.
  extra=(); [[ -d "regressions/$target" ]] && extra=("regressions/$target")
  out=$(cargo +nightly fuzz run "$target" "corpus/$target" "${extra[@]}" -- \
        "${args[@]}" -rss_limit_mb=2048 -timeout=10 2>&1) || { echo "$out" | tail -40; exit 1; }
  echo "$out" | grep -E "^Done" || true
done
