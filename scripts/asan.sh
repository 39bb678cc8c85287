#!/usr/bin/env bash
# AddressSanitizer run, with the nightly toolchain: the C tests of bindings-c
# linked against the Rust static library built with -Zsanitizer=address
# (bindings-c/test.sh already runs them with gcc's ASan/UBSan against the
# normal Rust build; here the Rust side, which reads the C caller's buffers, is
# instrumented too). The core itself forbids unsafe code; its dependencies'
# unsafe code runs instrumented under the fuzz targets (fuzz/run.sh), which
# cargo-fuzz builds with ASan, so the core's tests are not repeated here.
# `--target` keeps build scripts and proc-macros uninstrumented. Run from
# anywhere; the build goes to target/asan.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-unknown-linux-gnu
OUT=target/asan
export RUSTFLAGS="-Zsanitizer=address"
export RUSTDOCFLAGS="$RUSTFLAGS"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1
cargo_asan() { # cargo_asan SUBCOMMAND ARGS...: the target flags go before any `--`
  local sub=$1; shift
  cargo +nightly "$sub" --target "$TARGET" --target-dir "$OUT" "$@"
}

echo "asan: C tests against the instrumented static library"
cargo_asan build -q -p meshroute-capi
LIB="$OUT/$TARGET/debug/libmeshroute.a"
gcc -Wall -Wextra -Werror -std=c11 -pthread -g -fsanitize=address -fno-omit-frame-pointer \
  -Ibindings-c/include bindings-c/tests/test_capi.c "$LIB" \
  -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc -o "$OUT/test_capi"
RUST_BACKTRACE=0 "$OUT/test_capi" bindings-c/tests/reviews.yaml >"$OUT/test_capi.log" 2>&1 || {
  cat "$OUT/test_capi.log" >&2
  exit 1
}
echo "asan: C tests $(grep -m1 passed "$OUT/test_capi.log" || echo ok)"
