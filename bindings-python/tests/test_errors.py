"""Errors are exceptions in meshroute's hierarchy (or Python's own), never a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import meshroute

BAD = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec: {hosts: [a], http: [{route: 7}]}\n"


def test_hierarchy() -> None:
    assert issubclass(meshroute.ConfigError, meshroute.Error)
    assert issubclass(meshroute.RequestError, meshroute.Error)
    assert issubclass(meshroute.Error, Exception)
    # Both are about bad values, so `except ValueError` catches them too.
    assert issubclass(meshroute.ConfigError, ValueError)
    assert issubclass(meshroute.RequestError, ValueError)
    assert meshroute.ConfigError("x").messages == []


def test_strict_raises_config_error_with_messages() -> None:
    with pytest.raises(meshroute.ConfigError) as info:
        meshroute.Mesh.from_yaml(BAD, name="bad.yaml", strict=True)
    messages = info.value.messages
    assert messages and all(isinstance(m, meshroute.Message) and m.is_error for m in messages)
    assert "bad.yaml" in str(info.value)


def test_lenient_loading_keeps_going_and_reports() -> None:
    mesh = meshroute.Mesh.from_yaml(BAD)
    assert any(m.is_error for m in mesh.check())
    # The broken VirtualService is left out, as Istio rejects it.
    assert mesh.route("a").outcome == "passthrough"


def test_strict_accepts_clean_config() -> None:
    ok = (
        "apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: b}\n"
        "spec: {hosts: [b.example.com], ports: [{number: 80, name: http, protocol: HTTP}], resolution: DNS}\n---\n"
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\n"
        "spec: {hosts: [b.example.com], http: [{route: [{destination: {host: b.example.com}}]}]}\n"
    )
    assert meshroute.Mesh.from_yaml(ok, strict=True).route("b.example.com").outcome == "route"


def test_not_yaml_is_a_message_not_a_crash() -> None:
    mesh = meshroute.Mesh.from_yaml("{{{{ : : [")
    assert [m.code for m in mesh.check()] == ["MR0001"]
    with pytest.raises(meshroute.ConfigError):
        meshroute.Mesh.from_yaml("{{{{ : : [", strict=True)


@pytest.mark.parametrize(
    "kwargs, wanted",
    [
        ({"host": ""}, "host is empty"),
        ({"host": "a", "port": 0}, "port 0"),
        ({"host": "a", "port": 70000}, "port 70000"),
        ({"host": "a", "port": -1}, "port -1"),
        ({"host": "a", "protocol": "udp"}, "protocol"),
        ({"host": "a", "path": "/" + "x" * 100_000}, "MAX_REQUEST_PATH_BYTES"),
        ({"host": "a", "headers": {f"h{i}": "v" for i in range(10_000)}}, "headers"),
    ],
)
def test_bad_requests_raise_request_error(mesh: meshroute.Mesh, kwargs: Any, wanted: str) -> None:
    with pytest.raises(meshroute.RequestError, match=wanted):
        mesh.route(**kwargs)
    with pytest.raises(meshroute.RequestError):
        meshroute.Request(**kwargs)


def test_a_good_request_next_to_the_bad_ones_is_fine(mesh: meshroute.Mesh) -> None:
    assert mesh.route("a", port=65535, protocol="tcp").outcome == "passthrough"


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.route(None),
        lambda m: m.route(42),
        lambda m: m.route("a", headers={"x": 1}),
        lambda m: m.route("a", headers={1: "x"}),
        lambda m: m.route("a", headers=5),
        lambda m: m.route("a", source_labels={"a": 1}),
        lambda m: m.route("a", port="80"),
        lambda m: meshroute.Mesh.from_yaml(b"bytes"),  # type: ignore[arg-type]
        lambda m: meshroute.Mesh.from_sources([("only-a-name",)]),  # type: ignore[list-item]
    ],
)
def test_wrong_types_raise_type_error(mesh: meshroute.Mesh, call: Any) -> None:
    with pytest.raises(TypeError):
        call(mesh)


def test_request_from_dict_rejects_unknown_keys() -> None:
    with pytest.raises(meshroute.RequestError, match="hedaers"):
        meshroute.Request.from_dict({"host": "a", "hedaers": {}})
    with pytest.raises(TypeError):
        meshroute.Request.from_dict({"host": object()})


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        meshroute.Mesh.from_files(tmp_path / "nope.yaml")


def test_hostile_yaml_is_handled() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(12)
    )
    mesh = meshroute.Mesh.from_yaml(bomb)
    assert mesh.route("a").outcome == "passthrough"
    with pytest.raises(ValueError):
        meshroute._native.parse_yaml(bomb)


def over_the_rules_per_host_limit() -> str:
    """A root VirtualService whose ``delegate`` entries, each counted as the
    leaf's routes, carry more HTTP routes than ``limits::MAX_RULES_PER_HOST``
    (317 x 317 = 100,489 > 100,000) in a few kilobytes of text."""
    per_side = 317
    return (
        "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: root}\n"
        "spec:\n  hosts: [t.example]\n  http:\n"
        + "  - delegate: {name: leaf}\n" * per_side
        + "---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: leaf}\n"
        "spec:\n  http:\n"
        + "  - route: [{destination: {host: t.example}}]\n" * per_side
        + "---\napiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: {name: t}\n"
        "spec:\n  hosts: [t.example]\n  ports: [{number: 80, name: http, protocol: HTTP}]\n  resolution: DNS\n"
    )


def test_a_virtual_service_over_the_rules_limit_is_reported() -> None:
    text = over_the_rules_per_host_limit()
    mesh = meshroute.Mesh.from_yaml(text, name="limit.yaml")
    [limit] = [m for m in mesh.check() if m.code == "MR0005"]
    assert limit.severity == "Error"
    assert limit.resource == "VirtualService default/root"
    assert (limit.file, limit.line) == ("limit.yaml", 6)
    assert "MAX_RULES_PER_HOST" in limit.text
    # Left out of the table: the host is not routed by it.
    assert mesh.route("t.example").virtual_service is None
    with pytest.raises(meshroute.ConfigError, match="MAX_RULES_PER_HOST"):
        meshroute.Mesh.from_yaml(text, strict=True)


def test_parse_yaml_reads_with_the_loaders_limits() -> None:
    assert meshroute._native.parse_yaml("a: [1, x, {b: null}]\n") == {"a": [1, "x", {"b": None}]}
    deep = "[" * 40 + "1" + "]" * 40
    with pytest.raises(ValueError, match="MAX_NESTING_DEPTH") as info:
        meshroute._native.parse_yaml(deep, "deep.yaml")
    assert "deep.yaml:1:" in str(info.value)
    with pytest.raises(ValueError, match=r"bad\.yaml:\d+:\d+ invalid YAML"):
        meshroute._native.parse_yaml("a: 1\nb: [\n", "bad.yaml")
