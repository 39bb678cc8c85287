"""Input limits raised (or lowered) on purpose with ``limits=``."""

from typing import Any

import pytest

import meshroute

SERVICE = "apiVersion: v1\nkind: Service\nmetadata: {name: reviews}\nspec: {ports: [{name: http, port: 9080}]}\n"


def limit_messages(mesh: meshroute.Mesh) -> str:
    return "\n".join(m.text for m in mesh.check() if m.code == "MR0005")


def test_a_lowered_document_limit_is_hit_and_the_message_says_how_to_raise_it() -> None:
    two = f"{SERVICE}---\n{SERVICE.replace('reviews', 'ratings')}"
    assert limit_messages(meshroute.Mesh.from_yaml(two)) == ""
    mesh = meshroute.Mesh.from_yaml(two, limits={"max_documents": 1})
    assert "--limit max_documents=N" in limit_messages(mesh)
    mesh = meshroute.Mesh.from_sources([("a.yaml", two)], limits={"max_documents": "1_000"})
    assert limit_messages(mesh) == ""


def test_a_raised_input_size_lets_a_big_text_load(tmp_path: Any) -> None:
    big = SERVICE + "#" + "x" * (64 << 20) + "\n"
    assert "--limit max_input_bytes=SIZE" in limit_messages(meshroute.Mesh.from_yaml(big))
    path = tmp_path / "big.yaml"
    path.write_text(big)
    mesh = meshroute.Mesh.from_files(path, limits={"max_input_bytes": "65MiB"})
    assert limit_messages(mesh) == ""
    assert mesh.route("reviews", port=9080).destinations[0].host == "reviews.default.svc.cluster.local"


def test_a_raised_request_limit_applies_to_the_mesh_decisions() -> None:
    headers = {f"x-{i}": "v" for i in range(1100)}
    with pytest.raises(meshroute.RequestError, match="max_request_headers"):
        meshroute.Mesh.from_yaml(SERVICE).route("reviews", headers=headers, port=9080)
    mesh = meshroute.Mesh.from_yaml(SERVICE, limits={"max_request_headers": 2000})
    assert mesh.route("reviews", headers=headers, port=9080).outcome == "defaultRoute"


@pytest.mark.parametrize(
    "limits, wanted",
    [
        ({"max_documnets": 5}, "max_documnets.*did you mean max_documents"),
        ({"max_documents": "five"}, "max_documents.*a whole number"),
        ({"max_input_bytes": "64 parsecs"}, "max_input_bytes.*a size"),
        ({"max_documents": -1}, "max_documents.*negative"),
        ({"max_regex_len": 4096}, "max_regex_len is fixed"),
    ],
)
def test_a_bad_limit_is_a_value_error_naming_it(limits: Any, wanted: str) -> None:
    with pytest.raises(ValueError, match=wanted):
        meshroute.Mesh.from_yaml(SERVICE, limits=limits)


@pytest.mark.parametrize("limits", [["max_documents"], {"max_documents": 1.5}, {1: 2}, {"max_documents": True}])
def test_limits_of_the_wrong_type_are_a_type_error(limits: Any) -> None:
    with pytest.raises(TypeError):
        meshroute.Mesh.from_yaml(SERVICE, limits=limits)


def test_parse_yaml_reads_within_the_limits_given() -> None:
    text = "a: &a [1, 2]\nb: [*a, *a]\n"
    assert meshroute._native.parse_yaml(text) == {"a": [1, 2], "b": [[1, 2], [1, 2]]}
    with pytest.raises(ValueError, match="max_aliases"):
        meshroute._native.parse_yaml(text, limits={"max_aliases": 1})
