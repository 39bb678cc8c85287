"""meshroute: Istio traffic management decided exactly as a mesh (istiod +
Envoy) decides it, from Python, with no cluster.

>>> import meshroute
>>> mesh = meshroute.Mesh.from_files("bookinfo.yaml", "reviews.yaml")  # doctest: +SKIP
>>> d = mesh.route("reviews", port=9080, path="/reviews/0", headers={"end-user": "jason"})  # doctest: +SKIP
>>> d.outcome, d.destinations[0].subset  # doctest: +SKIP
('route', 'v2')

The routing table (:class:`Mesh`) is compiled once, is immutable and can be
used from many threads at once: compiling and deciding release the GIL.
Problems in the configuration are :class:`Message` objects from
:meth:`Mesh.check`; exceptions derive from :class:`Error`.
"""

from __future__ import annotations

from ._errors import ConfigError, Error, RequestError
from ._native import (
    Admission,
    ConnectionPool,
    OutlierDetector,
    OutlierEvent,
    Decision,
    Destination,
    DirectResponse,
    Fault,
    FaultAbort,
    FaultDelay,
    HeaderOps,
    Mesh,
    Message,
    Mirror,
    Redirect,
    Request,
    Retries,
    Rewrite,
    Rule,
    TraceEntry,
    __version__,
    parse_duration,
)
from ._routetest import CaseResult, RouteTestReport, run_route_tests

__all__ = [
    "Admission",
    "ConnectionPool",
    "OutlierDetector",
    "OutlierEvent",
    "CaseResult",
    "ConfigError",
    "Decision",
    "Destination",
    "DirectResponse",
    "Error",
    "Fault",
    "FaultAbort",
    "FaultDelay",
    "HeaderOps",
    "Mesh",
    "Message",
    "Mirror",
    "Redirect",
    "Request",
    "RequestError",
    "Retries",
    "Rewrite",
    "RouteTestReport",
    "Rule",
    "TraceEntry",
    "__version__",
    "parse_duration",
    "run_route_tests",
]
