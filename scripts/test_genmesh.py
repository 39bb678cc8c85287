"""Tests of scripts/genmesh.py: the layout its parameters promise, byte for byte.

Run: python3 -m unittest discover -s scripts -p 'test_*.py'
(`cli/tests/genmesh.rs` loads, checks and routes the generated meshes with the CLI.)
"""

import contextlib
import io
import os
import re
import sys
import tempfile
import unittest
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import genmesh  # noqa: E402


def generate(*argv: str) -> str:
    out = io.StringIO()
    genmesh.generate(genmesh.parser().parse_args(list(argv)), out)
    return out.getvalue()


def documents(text: str) -> list[str]:
    return text.split("---\n")


def kinds(text: str) -> Counter:
    return Counter(re.findall(r"^kind: (\w+)$", text, re.M))


def names_in(text: str, kind: str) -> list[tuple[str, str]]:
    """(name, namespace) of every document of `kind`."""
    found = []
    for doc in documents(text):
        if re.search(rf"^kind: {kind}$", doc, re.M):
            m = re.search(r"^metadata: \{name: ([\w-]+), namespace: ([\w-]+)\}$", doc, re.M)
            found.append((m.group(1), m.group(2)))
    return found


def regex_services(text: str) -> list[int]:
    return [int(i) for i in re.findall(r'regex: "/api/v\[0-9\]\+/items/\[a-z0-9-\]\+/(\d+)"', text)]


class DefaultLayout(unittest.TestCase):
    def test_five_resources_per_service_plus_gateway_and_every_100th_route(self):
        text = generate("--services", "250", "--namespaces", "7")
        self.assertEqual(
            kinds(text),
            Counter(Service=250, Deployment=500, DestinationRule=250, VirtualService=253, Gateway=1),
        )
        self.assertEqual(len(documents(text)), 250 * 5 + 3 + 1)
        edges = [n for n, _ in names_in(text, "VirtualService") if n.startswith("edge-")]
        self.assertEqual(edges, ["edge-0", "edge-100", "edge-200"])

    def test_services_go_round_robin_over_the_namespaces(self):
        text = generate("--services", "20", "--namespaces", "6")
        services = names_in(text, "Service")
        self.assertEqual(services[0], ("svc-0", "ns-0"))
        self.assertEqual(services[13], ("svc-13", "ns-1"))
        self.assertEqual({ns for _, ns in services}, {f"ns-{k}" for k in range(6)})

    def test_every_fourth_service_has_a_regex_match_by_default(self):
        text = generate("--services", "40")
        self.assertEqual(regex_services(text), list(range(0, 40, 4)))

    def test_the_same_parameters_give_the_same_bytes(self):
        args = ("--services", "300", "--namespaces", "9", "--regex-share", "0.3", "--gateways", "3")
        self.assertEqual(generate(*args), generate(*args))


class Parameters(unittest.TestCase):
    def test_regex_share_picks_that_share_evenly(self):
        for share, expected in [("0", 0), ("1", 100), ("0.1", 10), ("1/3", 34), ("25%", 25)]:
            with self.subTest(share=share):
                found = regex_services(generate("--services", "100", "--regex-share", share))
                self.assertEqual(len(found), expected)
        self.assertEqual(regex_services(generate("-n", "10", "--regex-share", "0.5")), [0, 2, 4, 6, 8])

    def test_gateway_routes_are_spread_over_the_gateways(self):
        text = generate("--services", "60", "--namespaces", "4", "--gateways", "3", "--gateway-routes", "6")
        gateways = names_in(text, "Gateway")
        self.assertEqual(gateways, [("edge", "ns-0"), ("edge-1", "ns-1"), ("edge-2", "ns-2")])
        routes = re.findall(r"hosts: \[(app-\d+\.[\w.-]+)\]\n  gateways: \[([\w/-]+)\]", text)
        self.assertEqual(
            routes,
            [
                ("app-0.example.com", "ns-0/edge"),
                ("app-10.gw-1.example.com", "ns-1/edge-1"),
                ("app-20.gw-2.example.com", "ns-2/edge-2"),
                ("app-30.example.com", "ns-0/edge"),
                ("app-40.gw-1.example.com", "ns-1/edge-1"),
                ("app-50.gw-2.example.com", "ns-2/edge-2"),
            ],
        )
        # Each Gateway listens for its own domain, so none conflicts with another.
        self.assertEqual(
            re.findall(r'hosts: \["(\*\.[\w.-]+)"\]', text),
            ["*.example.com", "*.gw-1.example.com", "*.gw-2.example.com"],
        )

    def test_no_gateways_means_no_gateway_routes(self):
        text = generate("--services", "300", "--gateways", "0")
        self.assertEqual(kinds(text)["Gateway"], 0)
        self.assertEqual(kinds(text)["VirtualService"], 300)

    def test_a_seed_draws_namespaces_and_regex_matches_reproducibly(self):
        a = generate("--services", "200", "--namespaces", "10", "--seed", "7")
        self.assertEqual(a, generate("--services", "200", "--namespaces", "10", "--seed", "7"))
        self.assertNotEqual(a, generate("--services", "200", "--namespaces", "10", "--seed", "8"))
        self.assertNotEqual(a, generate("--services", "200", "--namespaces", "10"))
        self.assertNotEqual(regex_services(a), list(range(0, 200, 4)))
        self.assertTrue(20 <= len(regex_services(a)) <= 80, regex_services(a))
        # A service's resources stay together in its one namespace.
        per_service = {}
        for name, ns in names_in(a, "Service") + names_in(a, "DestinationRule"):
            per_service.setdefault(name, set()).add(ns)
        self.assertTrue(all(len(s) == 1 for s in per_service.values()))
        self.assertGreater(len({ns for s in per_service.values() for ns in s}), 5)

    def test_list_format_holds_the_same_resources_in_one_document(self):
        plain = generate("--services", "12", "--namespaces", "3")
        listed = generate("--services", "12", "--namespaces", "3", "--format", "list")
        self.assertTrue(listed.startswith("apiVersion: v1\nkind: List\nitems:\n- apiVersion: "))
        self.assertNotIn("---", listed)
        items = re.split(r"^- ", listed.split("items:\n", 1)[1], flags=re.M)[1:]
        unindented = [re.sub(r"^  ", "", item, flags=re.M) for item in items]
        self.assertEqual(unindented, documents(plain))

    def test_bad_values_are_refused_with_the_reason(self):
        for argv in (
            ["--services", "-1"],
            ["--services", "5", "--namespaces", "0"],
            ["--services", "5", "--regex-share", "1.5"],
            ["--services", "5", "--regex-share", "most"],
            ["--services", "5", "--gateways", "0", "--gateway-routes", "2"],
        ):
            with self.subTest(argv=argv):
                err = io.StringIO()
                with self.assertRaises(SystemExit) as exit, contextlib.redirect_stderr(err):
                    genmesh.main(argv)
                self.assertEqual(exit.exception.code, 2)
                self.assertIn("error:", err.getvalue())


class Output(unittest.TestCase):
    def test_a_directory_output_names_the_file_after_the_parameters(self):
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stderr(io.StringIO()):
            genmesh.main(["--services", "30", "--namespaces", "4", "-o", tmp])
            genmesh.main(
                ["--services", "30", "--namespaces", "4", "--seed", "1", "--regex-share", "0.5", "-o", tmp]
            )
            self.assertEqual(
                sorted(os.listdir(tmp)),
                ["mesh-30svc-4ns-regex1-2-seed1.yaml", "mesh-30svc-4ns.yaml"],
            )
            with open(os.path.join(tmp, "mesh-30svc-4ns.yaml"), encoding="utf-8") as f:
                self.assertEqual(f.read(), generate("--services", "30", "--namespaces", "4"))


if __name__ == "__main__":
    unittest.main()
