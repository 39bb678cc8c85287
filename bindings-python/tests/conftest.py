"""Shared fixtures: the conformance corpora and a bookinfo mesh."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import pytest

import meshroute

REPO = Path(__file__).resolve().parents[2]


def extra_conformance_dir() -> Optional[Path]:
    """An optional extra corpus: $MESHROUTE_CONFORMANCE, else the conformance
    folder of $MESHROUTE_SHARED_DIR or $MESHROUTE_SHARED, else ../shared/conformance
    beside the checkout, when it exists."""
    candidates: List[Path] = []
    if os.environ.get("MESHROUTE_CONFORMANCE"):
        candidates.append(Path(os.environ["MESHROUTE_CONFORMANCE"]))
    for var in ("MESHROUTE_SHARED_DIR", "MESHROUTE_SHARED"):
        if os.environ.get(var):
            candidates.append(Path(os.environ[var]) / "conformance")
    candidates.append(REPO.parent / "shared" / "conformance")
    return next((c for c in candidates if c.is_dir()), None)


# The repository's own corpus, which every test may rely on.
CONFORMANCE = REPO / "tests" / "conformance"
# Every corpus to run: the repository's, then the extra one when present.
CONFORMANCE_DIRS: List[Path] = [CONFORMANCE] + [d for d in [extra_conformance_dir()] if d is not None]

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
