"""The Pythonic API: building a mesh, messages, decisions and their parts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

import meshroute
from conftest import REVIEWS


def test_jason_is_routed_to_v2_with_typed_attributes(mesh: meshroute.Mesh) -> None:
    d = mesh.route("reviews", "/reviews/0", headers={"end-user": "jason"}, port=9080)
    assert d.outcome == "route"
    assert d.virtual_service == "default/reviews"
    assert d.rule is not None and d.rule.index == 0 and d.rule.name == "jason"
    [dest] = d.destinations
    assert (dest.host, dest.subset, dest.port, dest.weight) == (
        "reviews.default.svc.cluster.local",
        "v2",
        9080,
        100,
    )
    assert dest.cluster == "outbound|9080|v2|reviews.default.svc.cluster.local"
    assert dest.policy == {"connectionPool": {"tcp": {"maxConnections": 100}}}
    assert d.timeout == timedelta(seconds=2.5)
    assert d.retries is not None
    assert d.retries.attempts == 3
    assert d.retries.per_try_timeout == timedelta(milliseconds=500)
    assert d.retries.retry_on == ["5xx", "reset"]
    assert d.retries.default is False


def test_other_users_get_the_weighted_split_and_no_timeout(mesh: meshroute.Mesh) -> None:
    d = mesh.route("reviews", "/reviews/0", headers={"end-user": "mary"}, port=9080)
    assert d.rule is not None and d.rule.index == 5 and d.rule.name is None
    assert [(x.subset, x.weight) for x in d.destinations] == [("v1", 90), ("v2", 10)]
    assert d.timeout is None
    assert d.retries is not None and d.retries.default is True
    # Envoy's weighted pick: random % 100 walks the list in order.
    assert d.pick(89) is not None and d.pick(89).subset == "v1"  # type: ignore[union-attr]
    picked = d.pick(90)
    assert picked is not None and picked.subset == "v2"


def test_header_values_as_lists_and_pairs_are_joined_like_envoy(mesh: meshroute.Mesh) -> None:
    as_list = mesh.route("reviews", headers={"End-User": ["jason"]}, port=9080)
    as_pairs = mesh.route("reviews", headers=[("end-user", "jason")], port=9080)
    two_lines = mesh.route("reviews", headers={"end-user": ["jason", "x"]}, port=9080)
    assert as_list.destinations[0].subset == "v2"
    assert as_pairs.destinations[0].subset == "v2"
    # Two lines are matched as "jason,x", which is not exactly "jason".
    assert two_lines.rule is not None and two_lines.rule.index == 5


def test_redirect_direct_response_fault_rewrite_and_mirror(mesh: meshroute.Mesh) -> None:
    r = mesh.route("reviews", "/old/page", port=9080)
    assert r.outcome == "redirect" and r.destinations == []
    assert r.redirect is not None and r.redirect.status == 301
    assert r.redirect.location.endswith("/new")

    t = mesh.route("reviews", "/teapot", port=9080)
    assert t.outcome == "directResponse"
    assert t.direct_response is not None
    assert (t.direct_response.status, t.direct_response.body) == (418, "short and stout")

    f = mesh.route("reviews", "/faulty", port=9080)
    assert f.fault is not None and f.fault.delay is not None and f.fault.abort is not None
    assert f.fault.delay.fixed_delay == timedelta(seconds=7)
    assert f.fault.delay.percent == 100.0
    assert (f.fault.abort.http_status, f.fault.abort.grpc_status, f.fault.abort.percent) == (503, None, 50.0)

    a = mesh.route("reviews", "/api/x", port=9080)
    assert a.rewrite is not None and a.rewrite.path == "/v2/api/x" and a.rewrite.authority is None
    [mirror] = a.mirrors
    assert (mirror.subset, mirror.percent) == ("v3", 100.0)
    assert not a.request_headers and a.request_headers.set == {}


def test_no_virtual_service_means_default_route(mesh: meshroute.Mesh) -> None:
    d = mesh.route("ratings", port=9080)
    assert d.outcome == "defaultRoute" and d.virtual_service is None and d.rule is None
    assert d.destinations[0].subset is None


def test_unknown_host_passes_through(mesh: meshroute.Mesh) -> None:
    assert mesh.route("example.com").outcome == "passthrough"


def test_to_dict_is_the_spec_json(mesh: meshroute.Mesh) -> None:
    d = mesh.route("reviews", headers={"end-user": "jason"}, port=9080).to_dict()
    assert d["outcome"] == "route"
    assert d["virtualService"] == "default/reviews"
    assert d["timeout"] == "2.5s"
    assert d["retries"]["perTryTimeout"] == "500ms"
    assert "redirect" not in d
    text = mesh.route("ratings", port=9080).to_json(indent=2)
    assert '"outcome": "defaultRoute"' in text


def test_explain_text_says_why(mesh: meshroute.Mesh) -> None:
    routed = mesh.route("reviews", "/reviews/0", headers={"end-user": "mary"}, port=9080)
    assert routed.trace == []
    text = routed.explain()
    # The core's text, as `meshroute explain` prints it.
    assert text.startswith("GET http://reviews:9080/reviews/0  from namespace default, via mesh\n  end-user: mary\n")
    assert "\n  \u2718 rule            default/reviews http[0] (jason)" in text
    assert "\n\u2192 route  by VirtualService default/reviews rule 5\n" in text
    explained = mesh.explain("reviews", "/reviews/0", headers={"end-user": "mary"}, port=9080)
    assert explained.trace, "explain fills the trace"
    assert all(t.verdict in ("matched", "failed", "skipped", "note") for t in explained.trace)
    assert any(t.verdict == "failed" for t in explained.trace), "rule 0 (jason) must be shown failing"
    assert explained.explain() == text


def test_prepared_request_decides_like_route(mesh: meshroute.Mesh) -> None:
    req = meshroute.Request("reviews", "/reviews/0", headers={"end-user": "jason"}, port=9080)
    assert (req.host, req.path, req.method, req.port, req.gateway) == ("reviews", "/reviews/0", "GET", 9080, "mesh")
    assert req.headers == [("end-user", "jason")]
    assert mesh.decide(req).to_dict() == mesh.route(req).to_dict()
    assert mesh.decide(req).to_dict() == mesh.route("reviews", "/reviews/0", headers={"end-user": "jason"}, port=9080).to_dict()
    with pytest.raises(TypeError):
        mesh.route(req, "/other")


def test_request_from_dict_uses_the_spec_shape(mesh: meshroute.Mesh) -> None:
    req = meshroute.Request.from_dict(
        {"host": "reviews", "port": 9080, "headers": {"end-user": "jason"}, "source": {"namespace": "default"}}
    )
    assert req.to_dict()["headers"] == {"end-user": "jason"}
    assert mesh.decide(req).destinations[0].subset == "v2"


def test_source_namespace_resolves_short_hosts(mesh: meshroute.Mesh) -> None:
    # From another namespace, "reviews" is reviews.<that namespace>: unknown.
    assert mesh.route("reviews", source_namespace="other", port=9080).outcome == "passthrough"
    fq = mesh.route("reviews.default.svc.cluster.local", source_namespace="other", port=9080)
    assert fq.outcome == "route"


def test_check_reports_messages_with_locations() -> None:
    text = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec:\n  hosts: [a]\n  htpp: []\n"
    mesh = meshroute.Mesh.from_yaml(text, name="bad.yaml")
    errors = [m for m in mesh.check() if m.is_error]
    assert errors, "an unknown field is an error"
    m = errors[0]
    assert m.severity == "Error"
    assert m.code.startswith("MR")
    assert m.file == "bad.yaml"
    assert m.line == 6 and m.column is not None
    assert m.resource == "VirtualService default/x"
    assert "htpp" in m.text
    assert m.to_dict()["code"] == m.code
    assert "bad.yaml:6" in str(m)


def test_clean_config_has_no_error_messages(bookinfo_text: str) -> None:
    mesh = meshroute.Mesh.from_sources([("b.yaml", bookinfo_text), ("r.yaml", REVIEWS)])
    assert [m for m in mesh.check() if m.is_error] == []


def test_from_files_reads_in_order(tmp_path: Path, bookinfo_text: str) -> None:
    (tmp_path / "bookinfo.yaml").write_text(bookinfo_text)
    (tmp_path / "reviews.yaml").write_text(REVIEWS)
    mesh = meshroute.Mesh.from_files(tmp_path / "bookinfo.yaml", str(tmp_path / "reviews.yaml"))
    assert mesh.route("reviews", headers={"end-user": "jason"}, port=9080).destinations[0].subset == "v2"
    assert "virtual_services=1" in repr(mesh)


def test_namespace_option_places_unnamespaced_resources(bookinfo_text: str) -> None:
    mesh = meshroute.Mesh.from_yaml(bookinfo_text, namespace="shop")
    assert mesh.route("reviews", source_namespace="shop", port=9080).outcome == "defaultRoute"
    assert mesh.route("reviews", source_namespace="default", port=9080).outcome == "passthrough"


def test_parse_duration_reads_istio_durations() -> None:
    assert meshroute.parse_duration("1m30s") == timedelta(seconds=90)
    assert meshroute.parse_duration("100ms") == timedelta(milliseconds=100)
    with pytest.raises(ValueError):
        meshroute.parse_duration("soon")


def test_reprs_are_readable(mesh: meshroute.Mesh) -> None:
    d = mesh.route("reviews", headers={"end-user": "jason"}, port=9080)
    assert repr(d).startswith("Decision(outcome='route', virtual_service='default/reviews'")
    assert "subset='v2'" in repr(d.destinations[0])


def test_a_kind_meshroute_does_not_model_is_an_info_message() -> None:
    text = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\nspec: {}\n"
    mesh = meshroute.Mesh.from_yaml(text, name="route.yaml", strict=True)
    [m] = mesh.check()
    assert (m.code, m.severity, m.is_error) == ("MR0007", "Info", False)
    assert m.resource == "HTTPRoute default/r"
    assert (m.file, m.line, m.column) == ("route.yaml", 1, 1)
    assert m.text == "HTTPRoute default/r is not modelled: ignored"


def test_mesh_config_registry_only_refuses_unknown_hosts() -> None:
    """Istio's MeshConfig as ``mesh_config=`` (YAML or a mapping): REGISTRY_ONLY
    turns the passthrough of an unknown host into istiod's 502, explain names it."""
    allowed = meshroute.Mesh.from_yaml(REVIEWS)
    assert allowed.route("example.com").outcome == "passthrough"
    for mesh_config in (
        "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n",
        {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}},
    ):
        mesh = meshroute.Mesh.from_yaml(REVIEWS, mesh_config=mesh_config)
        d = mesh.route("example.com")
        assert d.outcome == "directResponse"
        assert d.direct_response is not None and d.direct_response.status == 502
        explained = mesh.explain("example.com").explain()
        assert "REGISTRY_ONLY (meshConfig.outboundTrafficPolicy, mesh config file" in explained
    sources = meshroute.Mesh.from_sources(
        [("r.yaml", REVIEWS)], mesh_config={"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}
    )
    assert sources.route("example.com").outcome == "directResponse"


def test_mesh_config_problems_are_messages_and_a_wrong_type_is_refused() -> None:
    mesh = meshroute.Mesh.from_yaml(
        REVIEWS, mesh_config="outboundTraficPolicy: {mode: REGISTRY_ONLY}\n"
    )
    [warning] = [m for m in mesh.check() if m.file == "<mesh_config>"]
    assert warning.severity == "Warning"
    assert warning.fix is not None and "outboundTrafficPolicy" in warning.fix
    with pytest.raises(meshroute.ConfigError):
        meshroute.Mesh.from_yaml(
            REVIEWS, mesh_config="outboundTrafficPolicy: {mode: NOPE}\n", strict=True
        )
    with pytest.raises(TypeError):
        meshroute.Mesh.from_yaml(REVIEWS, mesh_config=3)  # type: ignore[arg-type]
