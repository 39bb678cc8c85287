#!/usr/bin/env bash
# Builds the meshroute C library and runs its C tests: header up to date,
# static + shared + pkg-config linking, valgrind, ASan/UBSan, the example.
# Run from the repository root. Set MESHROUTE_CAPI_BENCH=1 to also run the
# C-ABI-versus-Rust benchmarks (criterion, and instructions by callgrind).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
CAPI=bindings-c
OUT=target/capi
CFLAGS=(-Wall -Wextra -Werror -std=c11 -pthread -I"$CAPI/include")

need() { # need COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  echo "capi: installing $2"
  if [ "$(id -u)" = 0 ]; then apt-get install -y -q "$2"; else sudo apt-get install -y -q "$2"; fi
}
need gcc gcc
need valgrind valgrind
need pkg-config pkg-config
command -v cargo >/dev/null || { echo "capi: cargo not found" >&2; exit 1; }

echo "capi: building (release)"
cargo build --release -q -p meshroute-capi

# build.rs has just regenerated the header: it must equal the committed one.
if ! git ls-files --error-unmatch "$CAPI/include/meshroute.h" >/dev/null 2>&1; then
  echo "capi: $CAPI/include/meshroute.h is not committed" >&2; exit 1
fi
if ! git diff --exit-code -- "$CAPI/include/meshroute.h"; then
  echo "capi: $CAPI/include/meshroute.h is out of date: commit the regenerated header" >&2; exit 1
fi

LIB=target/release
NATIVE_LIBS=$(cargo rustc --release -q -p meshroute-capi --lib --crate-type staticlib -- --print native-static-libs 2>&1 \
  | sed -n 's/.*native-static-libs: //p' | tail -n 1)
[ -n "$NATIVE_LIBS" ] || NATIVE_LIBS="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"
read -r -a NATIVE <<<"$NATIVE_LIBS"

mkdir -p "$OUT"
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
sed -e "s|@LIBDIR@|$ROOT/$LIB|" -e "s|@INCLUDEDIR@|$ROOT/$CAPI/include|" \
    -e "s|@VERSION@|$VERSION|" -e "s|@NATIVE_STATIC_LIBS@|$NATIVE_LIBS|" \
    "$CAPI/meshroute.pc.in" > "$OUT/meshroute.pc"
echo "capi: wrote $OUT/meshroute.pc"

CONFIG="$CAPI/tests/reviews.yaml"
fails=0
run() { # run NAME COMMAND...: runs a step, records a failure without stopping
  local name=$1; shift
  if RUST_BACKTRACE=0 "$@" >"$OUT/$name.log" 2>&1; then
    echo "capi: $name ok ($(grep -m1 'passed' "$OUT/$name.log" || echo done))"
  else
    echo "capi: $name FAILED; log:" >&2; cat "$OUT/$name.log" >&2; fails=$((fails + 1))
  fi
}

# Static library, passed by path (-lmeshroute would pick the .so).
gcc "${CFLAGS[@]}" "$CAPI/tests/test_capi.c" "$LIB/libmeshroute.a" "${NATIVE[@]}" -o "$OUT/test_static"
run static "$OUT/test_static" "$CONFIG"

# Shared library through the pkg-config file.
# shellcheck disable=SC2046
gcc "${CFLAGS[@]}" "$CAPI/tests/test_capi.c" $(PKG_CONFIG_PATH="$OUT" pkg-config --cflags --libs meshroute) \
    -Wl,-rpath,"$ROOT/$LIB" -o "$OUT/test_shared"
run shared "$OUT/test_shared" "$CONFIG"

run valgrind valgrind -q --leak-check=full --show-leak-kinds=all --errors-for-leak-kinds=all \
    --error-exitcode=99 "$OUT/test_static" "$CONFIG"

gcc "${CFLAGS[@]}" -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
    "$CAPI/tests/test_capi.c" "$LIB/libmeshroute.a" "${NATIVE[@]}" -o "$OUT/test_asan"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 run sanitizers "$OUT/test_asan" "$CONFIG"

# The example: a YAML file and a request from argv.
gcc "${CFLAGS[@]}" "$CAPI/examples/route.c" "$LIB/libmeshroute.a" "${NATIVE[@]}" -o "$OUT/route"
example() { # example EXPECTED-LINE ARGS...
  local want=$1; shift
  local got
  if got=$(RUST_BACKTRACE=0 "$OUT/route" "$@" 2>&1) && grep -qxF -- "$want" <<<"$got"; then
    echo "capi: example ok (route $*: $want)"
  else
    echo "capi: example FAILED: route $* did not print '$want':" >&2; echo "$got" >&2; fails=$((fails + 1))
  fi
}
example "destination: reviews.default.svc.cluster.local subset=v2 port=9080 weight=100" \
  "$CONFIG" reviews:9080 /reviews/1 -H end-user:jason
example "destination: reviews.default.svc.cluster.local subset=v1 port=9080 weight=75" "$CONFIG" reviews:9080 /reviews/1
example "redirect: 301 http://reviews:9080/new" "$CONFIG" reviews:9080 /old/x -m GET
example "destination: reviews.default.svc.cluster.local subset=v3 port=9080 weight=100" \
  "$CONFIG" reviews.default.svc.cluster.local:9080 / -n test -l app=canary -g mesh -x
if "$OUT/route" "$CONFIG" >/dev/null 2>&1; then
  echo "capi: example FAILED: no usage error without a request" >&2; fails=$((fails + 1))
fi

if [ "${MESHROUTE_CAPI_BENCH:-0}" = 1 ]; then
  cargo bench -q -p meshroute-capi --bench decide -- --warm-up-time 1 --measurement-time 2
  bindings-c/count-instructions.sh
fi

if [ "$fails" -eq 0 ]; then
  echo "capi: all steps passed (static, shared via pkg-config, valgrind, sanitizers, example)"
else
  echo "capi: $fails step(s) failed" >&2
  exit 1
fi
