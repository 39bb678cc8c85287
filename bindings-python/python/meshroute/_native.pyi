"""Type stubs for the native module ``meshroute._native`` (Rust, pyo3)."""

import os
from datetime import timedelta
from typing import (
    Any,
    Dict,
    Iterable,
    List,
    Literal,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
    final,
)

__all__ = [
    "Mesh",
    "Request",
    "Message",
    "Decision",
    "Destination",
    "Rule",
    "Redirect",
    "DirectResponse",
    "Rewrite",
    "Retries",
    "Fault",
    "FaultDelay",
    "FaultAbort",
    "Mirror",
    "HeaderOps",
    "TraceEntry",
    "OutlierDetector",
    "OutlierEvent",
    "ConnectionPool",
    "Admission",
    "parse_duration",
    "parse_yaml",
    "run_route_test",
    "__version__",
]

__version__: str

_Outcome = Literal["route", "redirect", "directResponse", "notFound", "defaultRoute", "passthrough"]
_Severity = Literal["Error", "Warning", "Info"]
_Verdict = Literal["matched", "failed", "skipped", "note"]
_Protocol = Literal["http", "tls", "tcp"]
_HeaderValues = Union[str, Sequence[str]]
_Headers = Union[Mapping[str, _HeaderValues], Iterable[Tuple[str, str]]]
_StrPath = Union[str, "os.PathLike[str]"]
# Istio's MeshConfig: YAML text, or a mapping in istiod's camelCase shape.
_MeshConfig = Union[str, Mapping[str, Any]]
# The limits a load raises (or lowers), by lower-case name (README "Limits"):
# {"max_input_bytes": "1GiB", "max_documents": 1_000_000}.
_LimitName = Literal[
    "max_input_bytes",
    "max_documents",
    "max_aliases",
    "max_anchor_expansion_events",
    "max_nodes",
    "max_rules_per_host",
    "max_request_headers",
    "max_request_header_bytes",
    "max_request_path_bytes",
    "max_scenario_hosts",
    "max_scenario_operations",
    "max_scenario_host_ticks",
]
_Limits = Mapping[Union[_LimitName, str], Union[int, str]]

def parse_duration(text: str) -> timedelta:
    """Parses a duration as Istio reads it (``5s``, ``0.5s``, ``1m30s``);
    raises ``ValueError`` when the text is not one."""

def parse_yaml(text: str, name: str = "<yaml>", *, limits: Optional[_Limits] = None) -> Any:
    """Parses one YAML (or JSON) document into plain Python objects, with the
    configuration loader's reader and limits (``limits`` as for
    ``Mesh.from_yaml``); raises ``ValueError`` naming ``name``, the position
    and, for a limit, the limit."""

def run_route_test(text: str, name: str, base_dir: _StrPath) -> Dict[str, Any]:
    """Runs one route-test file with the core's runner; ``config.files`` are
    read relative to ``base_dir``. Returns the report as plain objects."""

@final
class Message:
    """One diagnostic about one resource, as ``istioctl analyze`` reports."""

    @property
    def code(self) -> str:
        """Istio's analyzer code (``IST0101``) or meshroute's own (``MR0002``)."""
    @property
    def severity(self) -> _Severity:
        """``"Error"``, ``"Warning"`` or ``"Info"``."""
    @property
    def resource(self) -> Optional[str]:
        """``Kind namespace/name``, or ``None`` for messages about the text itself."""
    @property
    def field(self) -> Optional[str]:
        """Field path inside the resource (``spec.http[0].route[1].weight``), or ``None``."""
    @property
    def file(self) -> Optional[str]:
        """The input the message is about (file path or ``from_yaml`` name)."""
    @property
    def line(self) -> Optional[int]:
        """1-based line, or ``None`` when unknown."""
    @property
    def column(self) -> Optional[int]:
        """1-based column, or ``None`` when unknown."""
    @property
    def text(self) -> str:
        """What is wrong, in Istio's wording where Istio has one."""
    @property
    def fix(self) -> Optional[str]:
        """How to fix it, or ``None``."""
    @property
    def is_error(self) -> bool:
        """Whether the severity is ``"Error"``."""
    def to_dict(self) -> Dict[str, Any]:
        """The message as JSON-shaped plain objects (camelCase keys)."""
    def __eq__(self, other: object, /) -> bool: ...

@final
class Rule:
    """The matched rule of a VirtualService."""

    @property
    def index(self) -> int:
        """0-based position in the ``http`` (``tls``, ``tcp``) list."""
    @property
    def name(self) -> Optional[str]:
        """The rule's ``name``, or ``None``."""

@final
class Destination:
    """One weighted destination of a decision."""

    @property
    def host(self) -> str:
        """FQDN of the destination service."""
    @property
    def subset(self) -> Optional[str]:
        """DestinationRule subset, or ``None``."""
    @property
    def port(self) -> Optional[int]:
        """Destination service port, or ``None``."""
    @property
    def weight(self) -> int:
        """Configured weight; the share is weight / sum of weights."""
    @property
    def cluster(self) -> str:
        """Envoy cluster name ``outbound|PORT|SUBSET|HOST``."""
    @property
    def policy(self) -> Optional[Dict[str, Any]]:
        """Merged traffic policy in Istio's TrafficPolicy shape, or ``None``."""
    @property
    def problem(self) -> Optional[str]:
        """Why traffic to this destination fails at runtime, or ``None``."""
    def to_dict(self) -> Dict[str, Any]:
        """The destination as the spec's JSON, in plain Python objects."""

@final
class Redirect:
    """A redirect answered by the proxy."""

    @property
    def status(self) -> int:
        """301, 302, 303, 307 or 308."""
    @property
    def location(self) -> str:
        """The full Location header the client receives."""

@final
class DirectResponse:
    """A fixed response answered by the proxy."""

    @property
    def status(self) -> int:
        """Status code."""
    @property
    def body(self) -> Optional[str]:
        """Body, or ``None``."""

@final
class Rewrite:
    """Path and authority sent upstream after rewrites."""

    @property
    def path(self) -> Optional[str]:
        """Path (with query) sent upstream, or ``None`` when not rewritten."""
    @property
    def authority(self) -> Optional[str]:
        """Authority sent upstream, or ``None`` when not rewritten."""

@final
class Retries:
    """The retry policy in force."""

    @property
    def attempts(self) -> int:
        """Retries after the first attempt."""
    @property
    def per_try_timeout(self) -> Optional[timedelta]:
        """Per-attempt timeout, or ``None``."""
    @property
    def retry_on(self) -> List[str]:
        """Retry conditions (``["connect-failure", "refused-stream", ...]``)."""
    @property
    def backoff(self) -> Optional[timedelta]:
        """Base back-off interval, or ``None``."""
    @property
    def default(self) -> bool:
        """Whether Istio's default policy applied (the route set no ``retries``)."""

@final
class FaultDelay:
    """An injected delay."""

    @property
    def fixed_delay(self) -> timedelta:
        """How long."""
    @property
    def percent(self) -> float:
        """Percentage of requests delayed (0 to 100)."""

@final
class FaultAbort:
    """An injected abort."""

    @property
    def http_status(self) -> Optional[int]:
        """HTTP status answered, or ``None``."""
    @property
    def grpc_status(self) -> Optional[str]:
        """gRPC status answered, by name (``"UNAVAILABLE"``), or ``None``."""
    @property
    def percent(self) -> float:
        """Percentage of requests aborted (0 to 100)."""

@final
class Fault:
    """Fault injection on the route."""

    @property
    def delay(self) -> Optional[FaultDelay]:
        """The injected delay, or ``None``."""
    @property
    def abort(self) -> Optional[FaultAbort]:
        """The injected abort, or ``None``."""

@final
class Mirror:
    """One mirror target."""

    @property
    def host(self) -> str:
        """FQDN."""
    @property
    def subset(self) -> Optional[str]:
        """Subset, or ``None``."""
    @property
    def port(self) -> Optional[int]:
        """Port, or ``None``."""
    @property
    def cluster(self) -> str:
        """Envoy cluster name."""
    @property
    def percent(self) -> float:
        """Percentage of requests mirrored (0 to 100)."""

@final
class HeaderOps:
    """Header operations; false when there are none."""

    @property
    def set(self) -> Dict[str, str]:
        """Headers set (overwritten or added)."""
    @property
    def add(self) -> Dict[str, str]:
        """Headers appended."""
    @property
    def remove(self) -> List[str]:
        """Headers removed."""
    def __bool__(self) -> bool: ...

@final
class TraceEntry:
    """One step of an explanation."""

    @property
    def stage(self) -> str:
        """What was considered (``host``, ``virtualService``, ``rule``, ``match``, ...)."""
    @property
    def subject(self) -> str:
        """Which one (``default/reviews``, ``http[1]``, ``http[0].match[2]``)."""
    @property
    def verdict(self) -> _Verdict:
        """``"matched"``, ``"failed"``, ``"skipped"`` or ``"note"``."""
    @property
    def detail(self) -> str:
        """Why, in words."""

@final
class Decision:
    """Where a request goes and why."""

    @property
    def outcome(self) -> _Outcome:
        """What happens to the request."""
    @property
    def virtual_service(self) -> Optional[str]:
        """``namespace/name`` of the VirtualService whose rule matched, or ``None``."""
    @property
    def delegated_from(self) -> Optional[str]:
        """For a delegated rule, the root VirtualService; else ``None``."""
    @property
    def rule(self) -> Optional[Rule]:
        """The matched rule, or ``None``."""
    @property
    def destinations(self) -> List[Destination]:
        """Weighted destinations, in configuration order."""
    @property
    def redirect(self) -> Optional[Redirect]:
        """The redirect the proxy answers with, or ``None``."""
    @property
    def direct_response(self) -> Optional[DirectResponse]:
        """The fixed response the proxy answers with, or ``None``."""
    @property
    def rewrite(self) -> Optional[Rewrite]:
        """Path and authority sent upstream, or ``None``."""
    @property
    def timeout(self) -> Optional[timedelta]:
        """The route's overall timeout; ``None`` when there is none."""
    @property
    def retries(self) -> Optional[Retries]:
        """The retry policy in force, or ``None``."""
    @property
    def fault(self) -> Optional[Fault]:
        """Fault injection, or ``None``."""
    @property
    def mirrors(self) -> List[Mirror]:
        """Mirror targets."""
    @property
    def request_headers(self) -> HeaderOps:
        """Request header operations."""
    @property
    def response_headers(self) -> HeaderOps:
        """Response header operations."""
    @property
    def cors(self) -> Optional[Dict[str, Any]]:
        """The route's CORS policy in Istio's CorsPolicy shape, or ``None``."""
    @property
    def trace(self) -> List[TraceEntry]:
        """Why (filled by ``Mesh.explain``; empty otherwise)."""
    def pick(self, random: int) -> Optional[Destination]:
        """One destination picked as Envoy's weighted clusters do (``random % total``)."""
    def to_dict(self) -> Dict[str, Any]:
        """The decision as the spec's JSON, in plain Python objects (camelCase keys)."""
    def to_json(self, indent: Optional[int] = None) -> str:
        """The decision as the spec's JSON text."""
    def explain(self) -> str:
        """Why the request goes where it goes, as text."""

@final
class Request:
    """A prepared request: converted once, decided many times. A field left
    ``None`` takes its default: path ``/``, method ``GET``, source namespace
    ``default``, gateway ``mesh``, protocol ``http``. ``gateway`` is ``mesh``
    (a sidecar), ``namespace/name`` of one Gateway, or
    ``namespace/key=value[,key=value][@address]``: the gateway workload with
    those labels, which gets every Gateway selecting it, merged."""

    def __new__(
        cls,
        host: str,
        path: Optional[str] = None,
        method: Optional[str] = None,
        headers: Optional[_Headers] = None,
        source_namespace: Optional[str] = None,
        source_labels: Optional[Mapping[str, str]] = None,
        gateway: Optional[str] = None,
        port: Optional[int] = None,
        *,
        scheme: Optional[str] = None,
        protocol: Optional[_Protocol] = None,
        sni: Optional[str] = None,
        destination_ip: Optional[str] = None,
    ) -> Request: ...
    @staticmethod
    def from_dict(data: Mapping[str, Any]) -> Request:
        """A request from the spec's JSON shape (camelCase keys)."""
    def to_dict(self) -> Dict[str, Any]:
        """The request in the spec's JSON shape."""
    @property
    def host(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def port(self) -> Optional[int]: ...
    @property
    def headers(self) -> List[Tuple[str, str]]: ...
    @property
    def source_namespace(self) -> str: ...
    @property
    def source_labels(self) -> Dict[str, str]: ...
    @property
    def gateway(self) -> str: ...
    @property
    def protocol(self) -> _Protocol: ...

@final
class Mesh:
    """A compiled, immutable routing table; safe to use from many threads."""

    @staticmethod
    def from_yaml(
        text: str,
        *,
        name: str = "<string>",
        namespace: str = "default",
        strict: bool = False,
        mesh_config: Optional[_MeshConfig] = None,
        limits: Optional[_Limits] = None,
    ) -> Mesh:
        """Builds a mesh from YAML (one or more documents) or JSON text.
        With ``strict=True`` any error raises ``ConfigError``. ``mesh_config``
        is Istio's MeshConfig (YAML text or a camelCase mapping); it replaces a
        ConfigMap ``istio-system/istio`` among the resources. ``limits`` raises
        (or lowers) input limits by name, ``{"max_input_bytes": "1GiB"}``; the
        mesh decides within its request limits. ``ValueError`` names an
        unknown limit or a bad value."""
    @staticmethod
    def from_files(
        *paths: _StrPath,
        namespace: str = "default",
        strict: bool = False,
        mesh_config: Optional[_MeshConfig] = None,
        limits: Optional[_Limits] = None,
    ) -> Mesh:
        """Builds a mesh from files, loaded in order; ``OSError`` when one cannot be read."""
    @staticmethod
    def from_sources(
        sources: Iterable[Tuple[str, str]],
        *,
        namespace: str = "default",
        strict: bool = False,
        mesh_config: Optional[_MeshConfig] = None,
        limits: Optional[_Limits] = None,
    ) -> Mesh:
        """Builds a mesh from ``(name, text)`` pairs, loaded in order."""
    def check(self) -> List[Message]:
        """Every problem found in the configuration, in input order."""
    def route(
        self,
        host: Union[str, Request],
        path: Optional[str] = None,
        method: Optional[str] = None,
        headers: Optional[_Headers] = None,
        source_namespace: Optional[str] = None,
        source_labels: Optional[Mapping[str, str]] = None,
        gateway: Optional[str] = None,
        port: Optional[int] = None,
        *,
        scheme: Optional[str] = None,
        protocol: Optional[_Protocol] = None,
        sni: Optional[str] = None,
        destination_ip: Optional[str] = None,
    ) -> Decision:
        """Decides where a request goes; ``RequestError`` when it is malformed.
        A field left ``None`` takes its default, as in ``Request``."""
    def explain(
        self,
        host: Union[str, Request],
        path: Optional[str] = None,
        method: Optional[str] = None,
        headers: Optional[_Headers] = None,
        source_namespace: Optional[str] = None,
        source_labels: Optional[Mapping[str, str]] = None,
        gateway: Optional[str] = None,
        port: Optional[int] = None,
        *,
        scheme: Optional[str] = None,
        protocol: Optional[_Protocol] = None,
        sni: Optional[str] = None,
        destination_ip: Optional[str] = None,
    ) -> Decision:
        """Like ``route``, with the trace that says why."""
    def decide(self, request: Request) -> Decision:
        """Decides a prepared request (the fastest path)."""

_Time = Union[int, float, timedelta]

@final
class OutlierEvent:
    """One entry of an outlier detector's timeline."""

    @property
    def at(self) -> float:
        """Seconds from the origin."""
    @property
    def host(self) -> int:
        """Host index."""
    @property
    def kind(self) -> Literal["ejected", "ejectionOverflow", "notEnforced", "unejected"]:
        """What happened."""
    @property
    def cause(self) -> Optional[str]:
        """The detector that fired (``"consecutive 5xx"``, ...), or ``None``."""
    @property
    def duration(self) -> Optional[timedelta]:
        """Ejection time (``ejected``) or time spent ejected (``unejected``)."""

@final
class OutlierDetector:
    """Envoy's outlier detector for one cluster's hosts (0..hosts), configured
    as Istio translates ``outlierDetection``; time and randomness from the caller."""

    def __new__(
        cls,
        hosts: int,
        *,
        consecutive_5xx_errors: Optional[int] = None,
        consecutive_gateway_errors: Optional[int] = None,
        split_external_local_origin_errors: bool = False,
        consecutive_local_origin_failures: Optional[int] = None,
        interval: Optional[timedelta] = None,
        base_ejection_time: Optional[timedelta] = None,
        max_ejection_percent: int = 0,
        min_health_percent: int = 0,
        start: Optional[_Time] = None,
        seed: int = 0,
    ) -> OutlierDetector: ...
    @staticmethod
    def from_policy(
        policy: Mapping[str, Any], hosts: int, *, start: Optional[_Time] = None, seed: int = 0
    ) -> OutlierDetector:
        """A detector from ``Destination.policy`` (Istio's TrafficPolicy shape)."""
    def report(
        self, host: int, result: Union[int, str], now: _Time, random: Optional[Sequence[int]] = None
    ) -> List[OutlierEvent]:
        """Reports one result (HTTP status, ``"reset"``, ``"connect-failure"``,
        ``"timeout"``, ``"connect-success"``) for ``host`` at ``now``."""
    def advance_to(self, now: _Time) -> List[OutlierEvent]:
        """Runs the interval ticks due by ``now``."""
    def is_ejected(self, host: int) -> bool:
        """Whether ``host`` is ejected now."""
    @property
    def ejected(self) -> List[int]:
        """The hosts ejected now."""
    @property
    def next_tick(self) -> float:
        """When the next interval tick happens, in seconds from the origin."""
    @property
    def stats(self) -> Dict[str, int]:
        """Running totals."""

@final
class Admission:
    """The result of ``ConnectionPool.start``."""

    @property
    def status(self) -> Literal["active", "pending", "overflow"]:
        """Runs now, is queued, or failed with 503 UO."""
    @property
    def request_id(self) -> Optional[int]:
        """The request's id (for ``finish``), or ``None`` on overflow."""
    @property
    def overflow(self) -> Optional[Literal["pending", "active"]]:
        """Which limit overflowed, or ``None``."""

@final
class ConnectionPool:
    """Envoy's circuit breakers and per-host pools for one cluster (hosts
    0..hosts), configured as Istio translates ``connectionPool``."""

    def __new__(
        cls,
        hosts: int,
        *,
        max_connections: int = 0,
        http1_max_pending_requests: int = 0,
        http2_max_requests: int = 0,
        max_requests_per_connection: int = 0,
        max_retries: int = 0,
        max_concurrent_streams: int = 0,
        http2: bool = False,
    ) -> ConnectionPool: ...
    @staticmethod
    def from_policy(policy: Mapping[str, Any], hosts: int, *, http2: bool = False) -> ConnectionPool:
        """A pool from ``Destination.policy`` (Istio's TrafficPolicy shape)."""
    def start(self, host: int) -> Admission:
        """A request begins on ``host``."""
    def finish(self, request_id: int) -> List[Tuple[Literal["active", "overflow"], int]]:
        """A request ends; returns what became of queued requests."""
    def try_acquire_retry(self) -> bool:
        """Takes a retry slot; false when the retry overflows."""
    def release_retry(self) -> None:
        """Gives back a retry slot."""
    @property
    def stats(self) -> Dict[str, int]:
        """Running totals and current counts."""
