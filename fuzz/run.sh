#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 30), seeding the corpora
# from examples/ and ../shared/conformance. Needs the nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`). A crash leaves its input under
# fuzz/artifacts/<target>/ and makes this script fail.
#   fuzz/run.sh 30      # smoke (the test command runs this)
#   fuzz/run.sh 600     # a long run
set -euo pipefail
seconds="${1:-30}"
cd "$(dirname "$0")"
root=..
mkdir -p corpus/load corpus/decide corpus/regex
cp "$root"/examples/bookinfo/*.yaml corpus/load/ 2>/dev/null || true
cp "$root"/../shared/conformance/*.yaml corpus/load/ 2>/dev/null || true
cargo +nightly fuzz build >/dev/null
for target in load decide regex; do
  echo "fuzz: $target for ${seconds}s"
  out=$(cargo +nightly fuzz run "$target" "corpus/$target" -- \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 2>&1) || { echo "$out" | tail -40; exit 1; }
  echo "$out" | grep -E "^Done" || true
done
