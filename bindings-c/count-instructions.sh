#!/usr/bin/env bash
# Instructions per decision through the C ABI and from Rust, counted by
# callgrind (repeatable, unlike wall-clock time on a shared machine): the
# decisions of benches/decide.rs, each kind in its own function of
# examples/decide_loop.rs. Needs valgrind. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }
cargo build -q --release -p meshroute-capi --example decide_loop
bin=target/release/examples/decide_loop
n=2000
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
count() { # instructions per call of the function named $1
  KIND=$1 N=$n valgrind -q --tool=callgrind --collect-atstart=no --toggle-collect="decide_loop::measured" \
    --callgrind-out-file="$out/$1" "$bin" >/dev/null 2>&1
  callgrind_annotate "$out/$1" | awk -v n=$n '/PROGRAM TOTALS/ { gsub(",", "", $1); printf "%d", $1 / n }'
}
compare() { # label, Rust function, C function
  local rust c
  rust=$(count "$2")
  c=$(count "$3")
  awk -v l="$1" -v r="$rust" -v c="$c" 'BEGIN { printf "%-48s rust %5d  c %5d  %.2fx\n", l, r, c, c / r }'
}
compare "kept buffers (decide_into), one header" rust_kept_one c_kept_one
compare "kept buffers (decide_into), eight headers" rust_kept_eight c_kept_eight
compare "new request / new handle, one header" rust_new c_new
