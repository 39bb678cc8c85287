#!/usr/bin/env bash
# Builds the meshroute Python package (abi3 wheel), installs it into a venv,
# runs the pytest suite, mypy --strict on the package and tests, and mypy's
# stubtest (the stub _native.pyi against the built module).
# Run from the repository root. Idempotent: reuses the venv and the tools in it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="${MESHROUTE_PY_VENV:-$ROOT/target/py-venv}"
PYTHON="${PYTHON:-python3}"

if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
export PIP_DISABLE_PIP_VERSION_CHECK=1

need() { # need MODULE VERSION-SPEC: install unless importable
    "$PY" -c "import $1" 2>/dev/null || "$PY" -m pip install -q "$2"
}
need maturin 'maturin>=1.5,<2'
need pytest 'pytest>=7'
need mypy 'mypy>=1.8'

# Build the wheel exactly as `pip install ./bindings-python` would, reusing
# the workspace target dir, then install it (replacing an older build).
rm -f target/wheels/meshroute-*.whl
"$PY" -m maturin build --release --quiet -m bindings-python/Cargo.toml -o target/wheels -i "$PY"
"$PY" -m pip install -q --force-reinstall --no-deps target/wheels/meshroute-*.whl

# Type checks: the package's stubs and code, and the tests that use them.
(cd bindings-python && "$PY" -m mypy --strict python/meshroute tests)

# The stub matches the module: every name, signature, default and property
# of meshroute._native as built, against _native.pyi (no allowlist: stubtest
# judges all of it). Run outside the source tree so the installed package,
# with the compiled module, is the one inspected.
(cd "$ROOT/target" && "$PY" -m mypy.stubtest meshroute._native)

# pytest exit 5 means "no tests collected": a failure here.
set +e
"$PY" -m pytest -q bindings-python/tests "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "bindings-python/test.sh: no tests were collected" >&2
    exit 1
fi
exit "$status"
