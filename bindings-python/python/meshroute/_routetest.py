"""Route-test files (spec: route-tests.md, "Route-test files").

Stand-in until the core crate's ``meshroute::routetest`` is on main: it then
replaces ``_run_file`` below (the native module exposes ``_run_route_test``)
and this file keeps only the report classes and the file discovery.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from . import _native
from ._errors import ConfigError, RequestError
from ._native import Mesh, Request

StrPath = Union[str, "os.PathLike[str]"]

#: Suffix of route-test files found when a directory is given.
ROUTE_TEST_SUFFIX = ".routetest.yaml"


@dataclass(frozen=True)
class CaseResult:
    """The result of one case of a route-test file."""

    #: The file the case is in.
    file: str
    #: The case's ``name``.
    name: str
    #: Whether the decision matched ``expect`` (or the error ``expectError``).
    passed: bool
    #: Why it failed: where, what was expected and what came out ("" when passed).
    detail: str = ""

    def __str__(self) -> str:
        status = "ok" if self.passed else "FAIL"
        text = f"{status} {self.file}: {self.name}"
        return text if self.passed else f"{text}\n    {self.detail}"


@dataclass(frozen=True)
class RouteTestReport:
    """The results of running route-test files; true when nothing failed."""

    cases: List[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        """Number of cases that passed."""
        return sum(1 for c in self.cases if c.passed)

    @property
    def failed(self) -> int:
        """Number of cases that failed."""
        return sum(1 for c in self.cases if not c.passed)

    @property
    def failures(self) -> List[CaseResult]:
        """The cases that failed."""
        return [c for c in self.cases if not c.passed]

    @property
    def summary(self) -> str:
        """``N passed, M failed``, as ``meshroute test`` ends."""
        return f"{self.passed} passed, {self.failed} failed"

    def __bool__(self) -> bool:
        return self.failed == 0

    def __str__(self) -> str:
        lines = [str(c) for c in self.failures]
        lines.append(self.summary)
        return "\n".join(lines)


def _files(paths: Tuple[StrPath, ...]) -> Iterator[Path]:
    for p in paths:
        path = Path(p)
        if path.is_dir():
            yield from sorted(path.glob("*" + ROUTE_TEST_SUFFIX))
        else:
            yield path


def run_route_tests(*paths: StrPath) -> RouteTestReport:
    """Runs route-test files (a directory stands for its ``*.routetest.yaml``
    files) and returns the report: ``report.summary`` is ``N passed, M
    failed``, ``bool(report)`` is true when nothing failed.

    A file that cannot be read raises ``OSError``; a file that is not a
    route-test file raises :class:`ConfigError`.
    """
    results: List[CaseResult] = []
    for path in _files(paths):
        results.extend(_run_file(path))
    return RouteTestReport(results)


def _run_file(path: Path) -> List[CaseResult]:
    text = path.read_text(encoding="utf-8")
    try:
        doc = _native.parse_yaml(text)
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from None
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: a route-test file is a mapping with config and cases")
    if "events" in doc:
        return [
            CaseResult(
                str(path),
                "resilience scenario",
                False,
                "resilience scenarios need meshroute.resilience, not built into this package yet",
            )
        ]
    config = doc.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: config must be a mapping with files and/or inline")
    sources: List[Tuple[str, str]] = []
    for name in config.get("files") or []:
        file = path.parent / str(name)
        sources.append((str(file), file.read_text(encoding="utf-8")))
    inline = config.get("inline")
    if inline:
        sources.append((f"{path} (inline)", str(inline)))
    mesh = Mesh.from_sources(sources)
    config_errors = [m.text for m in mesh.check() if m.is_error]
    defaults = doc.get("defaults") or {}
    cases = doc.get("cases") or []
    if not isinstance(cases, list) or not isinstance(defaults, dict):
        raise ConfigError(f"{path}: cases must be a list and defaults a mapping")
    return [_run_case(str(path), i, case, defaults, mesh, config_errors) for i, case in enumerate(cases)]


def _run_case(
    file: str,
    index: int,
    case: Any,
    defaults: Dict[str, Any],
    mesh: Mesh,
    config_errors: List[str],
) -> CaseResult:
    if not isinstance(case, dict):
        return CaseResult(file, f"case {index}", False, "a case is a mapping")
    name = str(case.get("name", f"case {index}"))
    expect_error = case.get("expectError")
    try:
        request = Request.from_dict(_merge(defaults, case.get("request") or {}))
        decision = mesh.decide(request).to_dict()
    except (RequestError, TypeError, ValueError) as e:
        if expect_error is not None and str(expect_error).lower() in str(e).lower():
            return CaseResult(file, name, True)
        return CaseResult(file, name, False, f"request rejected: {e}")
    if expect_error is not None:
        wanted = str(expect_error).lower()
        if any(wanted in text.lower() for text in config_errors):
            return CaseResult(file, name, True)
        return CaseResult(
            file, name, False, f"expected an error containing {expect_error!r}, got {config_errors!r}"
        )
    problem = _mismatch(case.get("expect") or {}, decision, "")
    return CaseResult(file, name, problem is None, problem or "")


def _merge(base: Dict[str, Any], over: Dict[str, Any]) -> Dict[str, Any]:
    """``over`` deep-merged onto ``base`` (mappings merge, anything else replaces)."""
    out = dict(base)
    for key, value in over.items():
        prior = out.get(key)
        out[key] = _merge(prior, value) if isinstance(prior, dict) and isinstance(value, dict) else value
    return out


_ABSENT = object()


def _duration(value: Any) -> Optional[timedelta]:
    if not isinstance(value, str):
        return None
    try:
        return _native.parse_duration(value)
    except ValueError:
        return None


def _mismatch(expected: Any, actual: Any, where: str) -> Optional[str]:
    """Every place where ``actual`` fails the deep partial match, joined by
    ``; ``, or ``None`` when it matches."""
    problems: List[str] = []
    _collect(expected, actual, where, problems)
    return "; ".join(problems) if problems else None


def _collect(expected: Any, actual: Any, where: str, problems: List[str]) -> None:
    at = where or "decision"
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            problems.append(f"{at}: expected {expected!r}, got {actual!r}")
            return
        for key, want in expected.items():
            got = actual.get(key, _ABSENT)
            path = f"{where}.{key}" if where else str(key)
            if want is None:
                if got is not _ABSENT:
                    problems.append(f"{path}: expected absent, got {got!r}")
            elif got is _ABSENT:
                problems.append(f"{path}: expected {want!r}, got nothing")
            else:
                _collect(want, got, path, problems)
        return
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            problems.append(f"{at}: expected {expected!r}, got {actual!r}")
            return
        for i, (want, got) in enumerate(zip(expected, actual)):
            _collect(want, got, f"{where}[{i}]", problems)
        return
    if expected == actual:
        return
    want_d, got_d = _duration(expected), _duration(actual)
    if want_d is not None and want_d == got_d:
        return
    problems.append(f"{at}: expected {expected!r}, got {actual!r}")
