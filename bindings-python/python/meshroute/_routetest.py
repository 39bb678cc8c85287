"""Route-test files (spec: route-tests.md, "Route-test files"), run by the
core's runner (``meshroute::routetest``); this module reads the files and
turns the core's report into Python objects."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple, Union

from . import _native
from ._errors import ConfigError

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
    #: ``"passed"``, ``"failed"`` or ``"pending"`` (scenario support not built; not a pass).
    status: str
    #: Why it did not pass: each difference, expected against actual ("" when passed).
    detail: str = ""
    #: 1-based line of the case in the file (0 when unknown).
    line: int = 0

    @property
    def passed(self) -> bool:
        """Whether every expectation held."""
        return self.status == "passed"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        text = f"{self.status.upper()} {where}: {self.name}"
        return text if self.passed else f"{text}\n    {self.detail}"


@dataclass(frozen=True)
class RouteTestReport:
    """The results of running route-test files; true when every case passed."""

    cases: List[CaseResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        """Number of cases that passed."""
        return sum(1 for c in self.cases if c.status == "passed")

    @property
    def failed(self) -> int:
        """Number of cases that failed."""
        return sum(1 for c in self.cases if c.status == "failed")

    @property
    def pending(self) -> int:
        """Number of cases not run (resilience scenarios, until supported)."""
        return sum(1 for c in self.cases if c.status == "pending")

    @property
    def failures(self) -> List[CaseResult]:
        """The cases that did not pass."""
        return [c for c in self.cases if not c.passed]

    @property
    def summary(self) -> str:
        """``N passed, M failed`` (then ``, P pending`` when some are), as ``meshroute test`` ends."""
        text = f"{self.passed} passed, {self.failed} failed"
        return f"{text}, {self.pending} pending" if self.pending else text

    def __bool__(self) -> bool:
        return self.failed == 0 and self.pending == 0

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
    failed``, ``bool(report)`` is true when every case passed.

    A file that cannot be read raises ``OSError``; a file that is not a
    route-test file, or whose ``config.files`` cannot be read, raises
    :class:`ConfigError`.
    """
    results: List[CaseResult] = []
    for path in _files(paths):
        results.extend(_run_file(path))
    return RouteTestReport(results)


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _detail(case: Dict[str, Any]) -> str:
    parts = [
        f"{m['path'] or 'decision'}: expected {_text(m['expected'])}, got "
        + (_text(m["actual"]) if m.get("actual") is not None else "nothing")
        for m in case.get("mismatches") or []
    ]
    if case.get("note"):
        parts.append(str(case["note"]))
    return "; ".join(parts)


def _run_file(path: Path) -> List[CaseResult]:
    text = path.read_text(encoding="utf-8")
    report = _native.run_route_test(text, str(path), path.parent)
    if report.get("error"):
        raise ConfigError(f"{path}: {report['error']}")
    out = []
    for case in report.get("cases") or []:
        status = str(case.get("status", "failed"))
        line = int((case.get("location") or {}).get("line") or 0)
        out.append(
            CaseResult(str(path), str(case.get("name", "")), status, "" if status == "passed" else _detail(case), line)
        )
    return out
