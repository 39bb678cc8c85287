"""python -m meshroute: check, route, explain, test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import List

from conftest import CONFORMANCE, REVIEWS


def run(args: List[str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "meshroute", *args], capture_output=True, text=True, timeout=60
    )


def _files(tmp: Path) -> List[str]:
    (tmp / "reviews.yaml").write_text(REVIEWS)
    return [str(CONFORMANCE / "bookinfo.yaml"), str(tmp / "reviews.yaml")]


def test_check_clean_and_broken(tmp_path: Path) -> None:
    ok = run(["check", *_files(tmp_path)])
    assert ok.returncode == 0, ok.stderr
    assert "0 errors" in ok.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {htpp: []}\n")
    r = run(["check", str(bad)])
    assert r.returncode == 1
    assert "bad.yaml:4" in r.stdout
    j = run(["check", "--json", str(bad)])
    assert any(m["severity"] == "Error" for m in json.loads(j.stdout))


def test_route_prints_the_decision_json(tmp_path: Path) -> None:
    files = ",".join(_files(tmp_path))
    r = run(["route", "-f", files, "-H", "end-user: jason", "GET", "http://reviews:9080/reviews/0"])
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["outcome"] == "route" and d["destinations"][0]["subset"] == "v2"


def test_explain_prints_text(tmp_path: Path) -> None:
    f = _files(tmp_path)
    r = run(["explain", "-f", f[0], "-f", f[1], "--from", "default", "reviews:9080/x?y=1"])
    assert r.returncode == 0, r.stderr
    assert "default/reviews" in r.stdout and "\u2192 route" in r.stdout


def test_bad_request_and_missing_file_exit_2(tmp_path: Path) -> None:
    r = run(["route", "-f", str(CONFORMANCE / "bookinfo.yaml"), "--request-json", '{"host": ""}'])
    assert r.returncode == 2 and "host is empty" in r.stderr
    m = run(["check", str(tmp_path / "missing.yaml")])
    assert m.returncode == 2 and "missing.yaml" in m.stderr


def test_route_reads_a_directory_and_json_requests(tmp_path: Path) -> None:
    _files(tmp_path)
    (tmp_path / "bookinfo.yaml").write_text((CONFORMANCE / "bookinfo.yaml").read_text())
    r = run(["route", "-f", str(tmp_path), "-r", '{"host": "reviews", "port": 9080, "headers": {"end-user": "jason"}}'])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["destinations"][0]["subset"] == "v2"


def test_test_command_summary_and_status(tmp_path: Path) -> None:
    files = sorted(CONFORMANCE.glob("*.routetest.yaml"))
    r = run(["test", *map(str, files)])
    assert r.returncode == 0, r.stdout
    assert r.stdout.strip().splitlines()[-1].endswith(" passed, 0 failed")
    f = tmp_path / "f.routetest.yaml"
    f.write_text("cases:\n  - name: nothing routes\n    request: {host: a}\n    expect: {outcome: route}\n")
    bad = run(["test", str(f)])
    assert bad.returncode == 1
    assert bad.stdout.strip().endswith("0 passed, 1 failed")
    assert "nothing routes" in bad.stdout
