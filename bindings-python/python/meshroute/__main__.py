"""``python -m meshroute``: the CLI's ``check``, ``route``, ``explain`` and
``test`` commands, each a thin call into the package.

Exit status: 0 on success, 1 when ``check`` finds an error or ``test`` a
failing case, 2 on a usage error, an unreadable file or a rejected request.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Dict, List, Optional, Sequence, Tuple

from ._errors import Error
from ._native import Mesh
from ._routetest import run_route_tests


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m meshroute",
        description="Istio traffic management decided as a mesh decides it.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="report problems in Istio configuration files")
    check.add_argument("files", nargs="+", help="YAML or JSON files")
    check.add_argument("--json", action="store_true", help="print the messages as JSON")
    check.add_argument("-n", "--namespace", default="default", help="namespace of resources naming none")

    for name, text in (
        ("route", "print the decision for one request as JSON"),
        ("explain", "explain the decision for one request"),
    ):
        r = sub.add_parser(name, help=text)
        r.add_argument("files", nargs="+", help="YAML or JSON files")
        r.add_argument("--host", required=True, help="the :authority (may carry :port)")
        r.add_argument("--path", default="/", help="path with optional ?query (default /)")
        r.add_argument("--method", default="GET")
        r.add_argument("--port", type=int, default=None)
        r.add_argument("-H", "--header", action="append", default=[], metavar="NAME:VALUE")
        r.add_argument("--source-namespace", default="default")
        r.add_argument("--source-label", action="append", default=[], metavar="KEY=VALUE")
        r.add_argument("--gateway", default="mesh", help="mesh, or namespace/name of a Gateway")
        r.add_argument("--scheme", default=None)
        r.add_argument("--protocol", default="http", choices=["http", "tls", "tcp"])
        r.add_argument("--sni", default=None)
        r.add_argument("-n", "--namespace", default="default", help="namespace of resources naming none")

    t = sub.add_parser("test", help="run route-test files; ends with 'N passed, M failed'")
    t.add_argument("files", nargs="+", help="route-test files or directories of *.routetest.yaml")
    return p


def _pairs(items: Sequence[str], sep: str, what: str) -> List[Tuple[str, str]]:
    out = []
    for item in items:
        key, found, value = item.partition(sep)
        if not found:
            raise SystemExit(f"meshroute: {what} {item!r} is not {'NAME:VALUE' if sep == ':' else 'KEY=VALUE'}")
        out.append((key.strip(), value.strip()))
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs one command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "test":
            report = run_route_tests(*args.files)
            for case in report.failures:
                print(case)
            print(report.summary)
            return 0 if report else 1
        mesh = Mesh.from_files(*args.files, namespace=args.namespace)
        if args.command == "check":
            messages = mesh.check()
            if args.json:
                print(json.dumps([m.to_dict() for m in messages], indent=2))
            else:
                for m in messages:
                    print(m)
                errors = sum(1 for m in messages if m.is_error)
                print(f"{errors} errors, {len(messages) - errors} other messages")
            return 1 if any(m.is_error for m in messages) else 0
        labels: Dict[str, str] = dict(_pairs(args.source_label, "=", "label"))
        call = mesh.explain if args.command == "explain" else mesh.route
        decision = call(
            args.host,
            args.path,
            args.method,
            _pairs(args.header, ":", "header"),
            args.source_namespace,
            labels,
            args.gateway,
            args.port,
            scheme=args.scheme,
            protocol=args.protocol,
            sni=args.sni,
        )
        print(decision.explain() if args.command == "explain" else decision.to_json(indent=2))
        return 0
    except (OSError, Error) as e:
        print(f"meshroute: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
