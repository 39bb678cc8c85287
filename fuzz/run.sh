#!/usr/bin/env bash
# Runs every fuzz target. Needs the nightly toolchain and cargo-fuzz
# (`cargo install cargo-fuzz`). Corpora are seeded from examples/ and
# ../shared/conformance. A crash leaves its input under
# fuzz/artifacts/<target>/ and makes this script fail.
#   fuzz/run.sh smoke     # the test command: a fixed seed and a fixed number
#                         # of runs per target on a fresh corpus, so CI sees
#                         # exactly what a developer sees
#   fuzz/run.sh 600       # a long run: 600 s per target, random seed
set -euo pipefail
mode="${1:-smoke}"
cd "$(dirname "$0")"
root=..
if [[ "$mode" == smoke ]]; then
  rm -rf corpus
fi
mkdir -p corpus/load corpus/decide corpus/regex
cp "$root"/examples/bookinfo/*.yaml corpus/load/ 2>/dev/null || true
cp "$root"/../shared/conformance/*.yaml corpus/load/ 2>/dev/null || true
cargo +nightly fuzz build >/dev/null
declare -A smoke_runs=([load]=8000 [decide]=8000 [regex]=10000)
for target in load decide regex; do
  if [[ "$mode" == smoke ]]; then
    args=(-seed=1 -runs="${smoke_runs[$target]}")
    echo "fuzz: $target, ${smoke_runs[$target]} runs (seed 1)"
  else
    args=(-max_total_time="$mode")
    echo "fuzz: $target for ${mode}s"
  fi
  out=$(cargo +nightly fuzz run "$target" "corpus/$target" -- \
        "${args[@]}" -rss_limit_mb=2048 -timeout=10 2>&1) || { echo "$out" | tail -40; exit 1; }
  echo "$out" | grep -E "^Done" || true
done
