"""Every route test of the conformance corpora (tests/conformance/, and an extra
corpus such as ../shared/conformance/ when present), through run_route_tests."""

from __future__ import annotations

from pathlib import Path

import pytest

import meshroute
from conftest import CONFORMANCE, CONFORMANCE_DIRS

ROUTE_TESTS = sorted(CONFORMANCE.glob("*.routetest.yaml"))
ALL_ROUTE_TESTS = [p for d in CONFORMANCE_DIRS for p in sorted(d.glob("*.routetest.yaml"))]


def test_conformance_files_are_present() -> None:
    assert len(ROUTE_TESTS) >= 10, f"expected the conformance suite in {CONFORMANCE}"


@pytest.mark.parametrize("path", ALL_ROUTE_TESTS, ids=[f"{p.parent.parent.name}/{p.name}" for p in ALL_ROUTE_TESTS])
def test_route_test_file_passes(path: Path) -> None:
    report = meshroute.run_route_tests(path)
    assert report.cases, f"{path.name} has no cases"
    assert report.failed == 0, str(report)
    assert report.summary == f"{report.passed} passed, 0 failed"


def test_directory_runs_every_file() -> None:
    report = meshroute.run_route_tests(CONFORMANCE)
    files = {c.file for c in report.cases}
    assert len(files) == len(ROUTE_TESTS)
    assert report, str(report)


def _write(tmp: Path, expect: str) -> Path:
    (tmp / "bookinfo.yaml").write_text((CONFORMANCE / "bookinfo.yaml").read_text())
    f = tmp / "mine.routetest.yaml"
    f.write_text(
        "config: {files: [bookinfo.yaml]}\n"
        "defaults: {port: 9080}\n"
        "cases:\n"
        f"  - name: reviews\n    request: {{host: reviews}}\n    expect: {expect}\n"
    )
    return f


def test_runner_reports_a_failing_case(tmp_path: Path) -> None:
    report = meshroute.run_route_tests(_write(tmp_path, "{outcome: route, destinations: [{subset: v9}]}"))
    assert (report.passed, report.failed) == (0, 1)
    assert not report
    assert "outcome" in report.failures[0].detail
    assert str(report).endswith("0 passed, 1 failed")


def test_runner_partial_match_and_null_means_absent(tmp_path: Path) -> None:
    ok = meshroute.run_route_tests(
        _write(tmp_path, "{outcome: defaultRoute, timeout: null, destinations: [{port: 9080}]}")
    )
    assert (ok.passed, ok.failed) == (1, 0)
    bad = meshroute.run_route_tests(_write(tmp_path, "{outcome: defaultRoute, retries: null}"))
    assert bad.failed == 1 and "retries" in bad.failures[0].detail


def test_runner_compares_durations_by_value(tmp_path: Path) -> None:
    ok = meshroute.run_route_tests(_write(tmp_path, "{destinations: [{weight: 100}]}"))
    assert ok
    f = tmp_path / "t.routetest.yaml"
    f.write_text(
        "config:\n  inline: |\n"
        "    apiVersion: networking.istio.io/v1\n    kind: VirtualService\n    metadata: {name: a}\n"
        "    spec: {hosts: [a.example.com], http: [{timeout: 0.5s, route: [{destination: {host: a.example.com}}]}]}\n"
        "    ---\n    apiVersion: networking.istio.io/v1\n    kind: ServiceEntry\n    metadata: {name: a}\n"
        "    spec: {hosts: [a.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}\n"
        "cases:\n  - name: t\n    request: {host: a.example.com}\n    expect: {timeout: 500ms}\n"
        "  - name: u\n    request: {host: a.example.com}\n    expect: {timeout: 501ms}\n"
    )
    report = meshroute.run_route_tests(f)
    assert [c.passed for c in report.cases] == [True, False]


def test_runner_expect_error(tmp_path: Path) -> None:
    f = tmp_path / "e.routetest.yaml"
    f.write_text(
        "config:\n  inline: |\n    apiVersion: networking.istio.io/v1\n    kind: VirtualService\n"
        "    metadata: {name: a}\n    spec: {hosts: [a], htpp: []}\n"
        "cases:\n  - name: rejected\n    request: {host: a}\n    expectError: htpp\n"
        "  - name: wrong text\n    request: {host: a}\n    expectError: something else\n"
        "  - name: bad request\n    request: {host: ''}\n    expectError: host is empty\n"
    )
    report = meshroute.run_route_tests(f)
    assert [c.passed for c in report.cases] == [True, False, True]


def test_not_a_route_test_file_is_a_config_error(tmp_path: Path) -> None:
    f = tmp_path / "x.yaml"
    f.write_text("- just\n- a list\n")
    with pytest.raises(meshroute.ConfigError):
        meshroute.run_route_tests(f)
