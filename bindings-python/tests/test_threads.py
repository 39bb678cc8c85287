"""A Mesh is shared by many threads at once; compiling and deciding release the GIL."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List, Tuple

import meshroute


def _expected(user: str) -> Tuple[str, ...]:
    return ("v2",) if user == "jason" else ("v1", "v2")


def test_many_threads_route_on_one_mesh(mesh: meshroute.Mesh) -> None:
    users = ["jason", "mary", "jason", "bob"]

    def work(i: int) -> List[Tuple[str, ...]]:
        out = []
        for j in range(500):
            user = users[(i + j) % len(users)]
            d = mesh.route("reviews", "/reviews/0", headers={"end-user": user}, port=9080)
            got = tuple(x.subset or "" for x in d.destinations)
            assert got == _expected(user), (user, got)
            out.append(got)
        return out

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(16)))
    assert sum(len(r) for r in results) == 16 * 500


def test_threads_building_meshes_concurrently(bookinfo_text: str) -> None:
    def build(i: int) -> str:
        m = meshroute.Mesh.from_yaml(bookinfo_text, namespace=f"ns{i}")
        return m.route("reviews", source_namespace=f"ns{i}", port=9080).destinations[0].host

    with ThreadPoolExecutor(max_workers=4) as pool:
        hosts = list(pool.map(build, range(8)))
    assert hosts == [f"reviews.ns{i}.svc.cluster.local" for i in range(8)]


def _big_config(n: int) -> str:
    docs = []
    for i in range(n):
        docs.append(
            "apiVersion: networking.istio.io/v1\nkind: VirtualService\n"
            f"metadata: {{name: vs{i}, namespace: default}}\n"
            f"spec:\n  hosts: [svc{i}.example.com]\n  http:\n"
            "  - match: [{uri: {regex: '/a/[0-9]+/b'}}, {headers: {x-user: {prefix: abc}}}]\n"
            f"    route: [{{destination: {{host: svc{i}.example.com}}}}]\n"
        )
    return "---\n".join(docs)


def test_compiling_releases_the_gil() -> None:
    """While one thread compiles a large mesh, another Python thread keeps
    running: it records timestamps strictly inside the compile call."""
    text = _big_config(3000)
    stamps: List[float] = []
    stop = threading.Event()

    def ticker() -> None:
        while not stop.is_set():
            stamps.append(time.perf_counter())
            time.sleep(0.0005)

    t = threading.Thread(target=ticker)
    t.start()
    time.sleep(0.01)
    start = time.perf_counter()
    meshroute.Mesh.from_yaml(text)
    end = time.perf_counter()
    stop.set()
    t.join()
    assert end - start > 0.02, "the config must take a while to compile for this test to mean anything"
    inside = [s for s in stamps if start + 0.005 < s < end - 0.005]
    assert inside, f"no Python thread ran during a {end - start:.3f}s compile: the GIL was held"


def test_route_results_are_independent_objects(mesh: meshroute.Mesh) -> None:
    seen: Dict[int, str] = {}

    def work(i: int) -> None:
        d = mesh.route("reviews", headers={"end-user": "jason" if i % 2 else "x"}, port=9080)
        seen[i] = d.outcome + ":" + (d.destinations[0].subset or "")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(32)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert all(v == ("route:v2" if i % 2 else "route:v1") for i, v in seen.items()) and len(seen) == 32
