"""Decisions per second from Python for bookinfo (one thread, one core).

Run: python bindings-python/bench/bench_route.py [seconds-per-case]
The configuration is bookinfo with the "request routing" VirtualServices and
DestinationRules of the conformance suite (reviews: jason -> v2, else v1).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Callable, List, Tuple

import meshroute

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent


CONFORMANCE = REPO / "tests" / "conformance"
CASE_FILE = CONFORMANCE / "bookinfo-request-routing-jason.routetest.yaml"


def load_mesh() -> meshroute.Mesh:
    doc = meshroute._native.parse_yaml(CASE_FILE.read_text())
    bookinfo = CONFORMANCE / "bookinfo.yaml"
    return meshroute.Mesh.from_sources(
        [(str(bookinfo), bookinfo.read_text()), ("inline", doc["config"]["inline"])], strict=True
    )


def rate(fn: Callable[[], object], seconds: float) -> Tuple[float, float]:
    """Calls fn in batches for about `seconds` of CPU time; returns calls per
    CPU second (the one-core figure, fair on a shared machine) and per wall
    second."""
    batch = 10_000
    calls = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while True:
        for _ in range(batch):
            fn()
        calls += batch
        cpu = time.process_time() - cpu0
        if cpu >= seconds:
            return calls / cpu, calls / (time.perf_counter() - wall0)


def main() -> int:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    mesh = load_mesh()
    jason = {"end-user": "jason"}
    prepared = meshroute.Request("reviews", "/reviews/0", headers=jason, port=9080)
    assert mesh.decide(prepared).destinations[0].subset == "v2"
    assert mesh.route("reviews", "/reviews/0", port=9080).destinations[0].subset == "v1"
    cases: List[Tuple[str, Callable[[], object]]] = [
        ("decide(prepared Request)", lambda: mesh.decide(prepared)),
        ("route(host, path, port=)", lambda: mesh.route("reviews", "/reviews/0", port=9080)),
        (
            "route(host, path, headers=, port=)",
            lambda: mesh.route("reviews", "/reviews/0", headers=jason, port=9080),
        ),
        (
            "route(...) + .destinations[0].subset",
            lambda: mesh.route("reviews", "/reviews/0", headers=jason, port=9080).destinations[0].subset,
        ),
    ]
    for name, fn in cases:
        rate(fn, 0.2)  # warm up
        per_cpu, per_wall = rate(fn, seconds)
        print(f"{name:40s} {per_cpu:>12,.0f} decisions/s per CPU second ({per_wall:,.0f}/s wall)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
