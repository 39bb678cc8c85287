#!/usr/bin/env python3
"""Write a synthetic Istio mesh of N services as one YAML file, for scale tests.

Per service `svc-I` (namespace `ns-(I mod K)`): a Kubernetes Service, two
Deployments (v1: 2 replicas, v2: 1), a DestinationRule (subsets v1 and v2,
connection pool, outlier detection) and a VirtualService (a header match
`end-user: jason` to v2 with timeout and retries, plus a regex path match on
a share of the services, then a 90/10 v1/v2 split). Ingress: Gateways
listening on port 8080 and gateway VirtualServices routing
`app-I.example.com` to `svc-I` (by default one Gateway, `ns-0/edge`, and a
route for every 100th service).

With the defaults the output is byte for byte the mesh the issue's figures
were measured on (five resources per service, ~1.5 KB of YAML per service).
The file is written as it is generated, so 100,000 services (~150 MB) never
sit in memory. The same parameters always give the same bytes; `--seed`
draws each service's namespace and whether it has a regex match from a
seeded generator instead of the round-robin layout.

Usage: genmesh.py --services 10000 --namespaces 50 -o mesh.yaml
       genmesh.py --services 100 --format list -o mesh.yaml   # one `kind: List`
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from fractions import Fraction
from typing import Callable, TextIO

GATEWAY_PORT = 8080
SERVICE_PORT = 8080
DEFAULT_NAMESPACES = 50
DEFAULT_REGEX_SHARE = "0.25"
# One gateway VirtualService for every this many services, by default.
DEFAULT_GATEWAY_ROUTE_EVERY = 100


def share(text: str) -> Fraction:
    """A fraction in [0, 1] from `0.25`, `1/4` or `25%`."""
    try:
        value = Fraction(text[:-1]) / 100 if text.endswith("%") else Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a fraction (e.g. 0.25, 1/4, 25%)")
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"{text!r} is outside 0..1")
    return value


def non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def positive(text: str) -> int:
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def spread(count: int, total: int) -> Callable[[int], bool]:
    """Whether item `i` of `total` is one of `count` picked evenly, item 0 first.

    Item i is picked when ceil(i*f) < ceil((i+1)*f) with f = count/total: for
    f = 1/4 that is every 4th item from 0, and exactly `count` items in all.
    """
    if total == 0:
        return lambda i: False
    return lambda i: -(-i * count // total) < -(-(i + 1) * count // total)


def every_fraction(fraction: Fraction) -> Callable[[int], bool]:
    """Whether item `i` is picked when a `fraction` of the items is, evenly from 0."""
    num, den = fraction.numerator, fraction.denominator
    return lambda i: -(-i * num // den) < -(-(i + 1) * num // den)


class Layout:
    """Which namespace, regex match and gateway each service gets."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.services = args.services
        self.namespaces = args.namespaces
        self.gateways = args.gateways
        self.rng = random.Random(args.seed) if args.seed is not None else None
        self.regex_share = args.regex_share
        self.has_regex_evenly = every_fraction(args.regex_share)
        if args.gateways == 0:
            self.has_gateway_route = lambda i: False
        elif args.gateway_routes is None:
            self.has_gateway_route = lambda i: i % DEFAULT_GATEWAY_ROUTE_EVERY == 0
        else:
            self.has_gateway_route = spread(args.gateway_routes, args.services)
        self.gateway_routes_so_far = 0

    def namespace(self, i: int) -> str:
        if self.rng is None:
            return f"ns-{i % self.namespaces}"
        return f"ns-{self.rng.randrange(self.namespaces)}"

    def has_regex(self, i: int) -> bool:
        if self.rng is None:
            return self.has_regex_evenly(i)
        return self.rng.random() < self.regex_share

    def gateway_for_route(self) -> int:
        """The gateway of the next gateway route: round-robin over the gateways."""
        g = self.gateway_routes_so_far % self.gateways
        self.gateway_routes_so_far += 1
        return g

    def gateway_namespace(self, g: int) -> str:
        return f"ns-{g % self.namespaces}"


def gateway_name(g: int) -> str:
    return "edge" if g == 0 else f"edge-{g}"


def gateway_domain(g: int) -> str:
    return "example.com" if g == 0 else f"gw-{g}.example.com"


def gateway_doc(g: int, namespace: str) -> str:
    # Every Gateway is served by the one default ingress workload, each for its own domain.
    return f"""apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {{name: {gateway_name(g)}, namespace: {namespace}}}
spec:
  selector: {{istio: ingressgateway}}
  servers:
  - port: {{number: {GATEWAY_PORT}, name: http, protocol: HTTP}}
    hosts: ["*.{gateway_domain(g)}"]
"""


def service_docs(i: int, ns: str, regex: bool) -> list[str]:
    regex_match = (
        f"""
    - uri: {{regex: "/api/v[0-9]+/items/[a-z0-9-]+/{i}"}}"""
        if regex
        else ""
    )
    return [
        f"""apiVersion: v1
kind: Service
metadata: {{name: svc-{i}, namespace: {ns}}}
spec:
  selector: {{app: svc-{i}}}
  ports: [{{name: http, port: {SERVICE_PORT}}}]
""",
        f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: svc-{i}-v1, namespace: {ns}}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: svc-{i}, version: v1}}}}
  template: {{metadata: {{labels: {{app: svc-{i}, version: v1}}}}}}
""",
        f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: svc-{i}-v2, namespace: {ns}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: svc-{i}, version: v2}}}}
  template: {{metadata: {{labels: {{app: svc-{i}, version: v2}}}}}}
""",
        f"""apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {{name: svc-{i}, namespace: {ns}}}
spec:
  host: svc-{i}
  trafficPolicy:
    connectionPool: {{http: {{http1MaxPendingRequests: 100}}, tcp: {{maxConnections: 100}}}}
    outlierDetection: {{consecutive5xxErrors: 5, interval: 10s, baseEjectionTime: 30s}}
  subsets:
  - {{name: v1, labels: {{version: v1}}}}
  - {{name: v2, labels: {{version: v2}}}}
""",
        f"""apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: svc-{i}, namespace: {ns}}}
spec:
  hosts: [svc-{i}]
  http:
  - match:
    - headers: {{end-user: {{exact: jason}}}}{regex_match}
    route: [{{destination: {{host: svc-{i}, subset: v2}}}}]
    timeout: 5s
    retries: {{attempts: 3, perTryTimeout: 2s, retryOn: "5xx,reset"}}
  - route:
    - {{destination: {{host: svc-{i}, subset: v1}}, weight: 90}}
    - {{destination: {{host: svc-{i}, subset: v2}}, weight: 10}}
""",
    ]


def gateway_route_doc(i: int, ns: str, g: int, gateway_ns: str) -> str:
    return f"""apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {{name: edge-{i}, namespace: {ns}}}
spec:
  hosts: [app-{i}.{gateway_domain(g)}]
  gateways: [{gateway_ns}/{gateway_name(g)}]
  http:
  - match: [{{uri: {{prefix: /}}}}]
    route: [{{destination: {{host: svc-{i}.{ns}.svc.cluster.local, port: {{number: {SERVICE_PORT}}}}}}}]
"""


class Writer:
    """Writes documents as a multi-document stream or as items of one `kind: List`."""

    def __init__(self, out: TextIO, as_list: bool) -> None:
        self.out = out
        self.as_list = as_list
        self.first = True
        self.documents = 0
        if as_list:
            out.write("apiVersion: v1\nkind: List\nitems:\n")

    def document(self, text: str) -> None:
        self.documents += 1
        if self.as_list:
            lines = text.splitlines(keepends=True)
            self.out.write("- " + lines[0])
            self.out.writelines("  " + line for line in lines[1:])
            return
        if not self.first:
            self.out.write("---\n")
        self.first = False
        self.out.write(text)


def generate(args: argparse.Namespace, out: TextIO) -> int:
    """Writes the mesh to `out`; returns the number of resources written."""
    layout = Layout(args)
    writer = Writer(out, args.format == "list")
    for g in range(args.gateways):
        writer.document(gateway_doc(g, layout.gateway_namespace(g)))
    for i in range(args.services):
        ns = layout.namespace(i)
        for doc in service_docs(i, ns, layout.has_regex(i)):
            writer.document(doc)
        if layout.has_gateway_route(i):
            g = layout.gateway_for_route()
            writer.document(gateway_route_doc(i, ns, g, layout.gateway_namespace(g)))
    return writer.documents


def default_file_name(args: argparse.Namespace) -> str:
    """The file name inside an output directory: every parameter that changes the bytes."""
    parts = [f"mesh-{args.services}svc-{args.namespaces}ns"]
    if args.regex_share != Fraction(DEFAULT_REGEX_SHARE):
        parts.append(f"regex{args.regex_share.numerator}-{args.regex_share.denominator}")
    if args.gateways != 1:
        parts.append(f"{args.gateways}gw")
    if args.gateway_routes is not None:
        parts.append(f"{args.gateway_routes}gwroutes")
    if args.seed is not None:
        parts.append(f"seed{args.seed}")
    if args.format == "list":
        parts.append("list")
    return "-".join(parts) + ".yaml"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Write a synthetic Istio mesh (Services, Deployments, DestinationRules, "
        "VirtualServices, Gateways) as one YAML file.",
    )
    p.add_argument("--services", "-n", type=non_negative, required=True, help="number of services")
    p.add_argument(
        "--namespaces",
        "-k",
        type=positive,
        default=DEFAULT_NAMESPACES,
        help=f"namespaces ns-0 .. ns-(K-1) (default {DEFAULT_NAMESPACES})",
    )
    p.add_argument(
        "--regex-share",
        type=share,
        default=Fraction(DEFAULT_REGEX_SHARE),
        help=f"fraction of services whose VirtualService has a regex path match "
        f"(default {DEFAULT_REGEX_SHARE}: every 4th)",
    )
    p.add_argument(
        "--gateways",
        type=non_negative,
        default=1,
        help="ingress Gateways; gateway routes are spread over them round-robin "
        "(default 1; 0: no Gateways and no gateway routes)",
    )
    p.add_argument(
        "--gateway-routes",
        type=non_negative,
        default=None,
        help=f"gateway VirtualServices, spread evenly over the services "
        f"(default: one for every {DEFAULT_GATEWAY_ROUTE_EVERY}th service)",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=None,
        help="draw namespaces and regex matches from a generator with this seed "
        "(default: round-robin namespaces, regex matches evenly spread)",
    )
    p.add_argument(
        "--format",
        choices=["documents", "list"],
        default="documents",
        help="`documents`: one YAML document per resource (default); `list`: one "
        "`kind: List` document (kubectl get -o yaml; one document, so the per-document "
        "node limit applies: small meshes only)",
    )
    p.add_argument(
        "--output",
        "-o",
        default="-",
        help="file to write, or an existing directory (the file is named after the "
        "parameters), or - for stdout (default)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.gateways == 0 and args.gateway_routes:
        p.error("--gateway-routes needs at least one gateway (--gateways)")
    if args.output == "-":
        count = generate(args, sys.stdout)
        path = "stdout"
    else:
        path = args.output
        if os.path.isdir(path):
            path = os.path.join(path, default_file_name(args))
        # Written to a temporary name and renamed, so an interrupted run never
        # leaves a truncated mesh under the final name (scale-bench.py caches by name).
        partial = path + ".partial"
        with open(partial, "w", encoding="utf-8", buffering=1 << 20) as out:
            count = generate(args, out)
        os.replace(partial, path)
    print(f"genmesh: {count} resources ({args.services} services) -> {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
