"""Shared fixtures: the shared folder (conformance cases) and a bookinfo mesh."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List

import pytest

import meshroute

REPO = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """$MESHROUTE_SHARED, else ../shared beside the checkout (as CI has it),
    else beside the worktrees folder. Missing is a failure, not a skip."""
    env = os.environ.get("MESHROUTE_SHARED")
    candidates: List[Path] = [Path(env)] if env else []
    candidates += [REPO.parent / "shared", REPO.parent.parent / "shared"]
    for c in candidates:
        if (c / "conformance").is_dir():
            return c
    raise RuntimeError(f"shared/conformance not found (tried {candidates}); set MESHROUTE_SHARED")


CONFORMANCE = shared_dir() / "conformance"

REVIEWS = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews, namespace: default}
spec:
  host: reviews
  trafficPolicy:
    connectionPool:
      tcp: {maxConnections: 100}
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: default}
spec:
  hosts: [reviews]
  http:
  - name: jason
    match:
    - headers:
        end-user: {exact: jason}
    route:
    - destination: {host: reviews, subset: v2}
    timeout: 2.5s
    retries: {attempts: 3, perTryTimeout: 500ms, retryOn: "5xx,reset"}
  - match:
    - uri: {prefix: /old}
    redirect: {uri: /new, redirectCode: 301}
  - match:
    - uri: {prefix: /teapot}
    directResponse: {status: 418, body: {string: "short and stout"}}
  - match:
    - uri: {prefix: /faulty}
    fault:
      delay: {fixedDelay: 7s, percentage: {value: 100}}
      abort: {httpStatus: 503, percentage: {value: 50}}
    route:
    - destination: {host: reviews, subset: v3}
  - match:
    - uri: {prefix: /api}
    rewrite: {uri: /v2/api}
    mirror: {host: reviews, subset: v3}
    route:
    - destination: {host: reviews, subset: v1}
  - route:
    - destination: {host: reviews, subset: v1}
      weight: 90
    - destination: {host: reviews, subset: v2}
      weight: 10
"""


@pytest.fixture(scope="session")
def bookinfo_text() -> str:
    return (CONFORMANCE / "bookinfo.yaml").read_text()


@pytest.fixture(scope="session")
def mesh(bookinfo_text: str) -> meshroute.Mesh:
    return meshroute.Mesh.from_sources(
        [("bookinfo.yaml", bookinfo_text), ("reviews.yaml", REVIEWS)], strict=True
    )
