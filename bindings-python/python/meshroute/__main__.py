"""``python -m meshroute``: the CLI's ``check``, ``route``, ``explain`` and
``test`` commands, each a thin call into the package.

Exit status: 0 on success, 1 when ``check`` finds an error or ``test`` a
failing case, 2 on a usage error, an unreadable file or a rejected request.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from ._errors import Error
from ._native import Mesh, Request
from ._routetest import run_route_tests


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m meshroute",
        description="Istio traffic management decided as a mesh decides it.",
    )
    sub = p.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="report problems in Istio configuration files")
    check.add_argument("files", nargs="+", help="YAML or JSON files, or directories of them")
    check.add_argument("--json", action="store_true", help="print the messages as JSON")
    check.add_argument("-n", "--namespace", default="default", help="namespace of resources naming none")

    for name, text in (
        ("route", "print where the mesh sends the request, as JSON"),
        ("explain", "show why the mesh sends the request where it does"),
    ):
        r = sub.add_parser(name, help=text, usage=f"python -m meshroute {name} -f FILES... [request options] [METHOD] URL")
        r.add_argument("request", nargs="*", metavar="[METHOD] URL", help="[http|https://]host[:port][/path?query]")
        r.add_argument("-f", "--filename", action="append", default=[], help="files or directories, repeatable or comma-separated")
        r.add_argument("-n", "--namespace", default="default", help="namespace of resources naming none")
        r.add_argument("-H", "--header", action="append", default=[], metavar="NAME:VALUE")
        r.add_argument("--from", dest="source_namespace", default="default", metavar="NS", help="namespace of the caller")
        r.add_argument("--labels", default="", metavar="K=V,...", help="labels of the caller")
        r.add_argument("--gateway", default="mesh", metavar="NS/NAME|NS/K=V,...[@IP]",
                       help="the Gateway the request enters by, or the gateway workload with these labels")
        r.add_argument("--port", type=int, default=None)
        r.add_argument("--protocol", default="http", choices=["http", "tls", "tcp"])
        r.add_argument("--sni", default=None)
        r.add_argument("--destination-ip", default=None)
        r.add_argument("-r", "--request-json", dest="request_json", default=None, metavar="JSON", help="the whole request as JSON")

    t = sub.add_parser("test", help="run route-test files; ends with 'N passed, M failed'")
    t.add_argument("files", nargs="+", help="route-test files or directories of *.routetest.yaml")
    return p


def _config_files(items: Sequence[str]) -> List[str]:
    """Files named, with directories standing for their YAML and JSON files."""
    out: List[str] = []
    for item in items:
        for part in filter(None, item.split(",")):
            path = Path(part)
            if path.is_dir():
                out += sorted(str(f) for f in path.iterdir() if f.suffix in (".yaml", ".yml", ".json"))
            else:
                out.append(part)
    return out


def _pairs(items: Sequence[str], sep: str, what: str) -> List[Tuple[str, str]]:
    out = []
    for item in items:
        key, found, value = item.partition(sep)
        if not found:
            raise SystemExit(f"meshroute: {what} {item!r} is not {'NAME:VALUE' if sep == ':' else 'KEY=VALUE'}")
        out.append((key.strip(), value.strip()))
    return out


def _request(args: argparse.Namespace) -> Request:
    if args.request_json is not None:
        return Request.from_dict(json.loads(args.request_json))
    if len(args.request) not in (1, 2):
        raise SystemExit("meshroute: give [METHOD] URL, or --request-json")
    method, url = (args.request if len(args.request) == 2 else ["GET", args.request[0]])
    scheme, found, rest = url.partition("://")
    if not found:
        scheme, rest = "", url
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    host, path = rest[:cut], rest[cut:] or "/"
    if path.startswith("?"):
        path = "/" + path
    labels = dict(_pairs([x for x in args.labels.split(",") if x], "=", "label"))
    return Request(
        host,
        path,
        method,
        _pairs(args.header, ":", "header"),
        args.source_namespace,
        labels,
        args.gateway,
        args.port,
        scheme=scheme or None,
        protocol=args.protocol,
        sni=args.sni,
        destination_ip=args.destination_ip,
    )


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
        if args.command == "check":
            mesh = Mesh.from_files(*_config_files(args.files), namespace=args.namespace)
            messages = mesh.check()
            if args.json:
                print(json.dumps([m.to_dict() for m in messages], indent=2))
            else:
                for m in messages:
                    print(m)
                errors = sum(1 for m in messages if m.is_error)
                print(f"{errors} errors, {len(messages) - errors} other messages")
            return 1 if any(m.is_error for m in messages) else 0
        mesh = Mesh.from_files(*_config_files(args.filename), namespace=args.namespace)
        request = _request(args)
        decision = mesh.explain(request) if args.command == "explain" else mesh.decide(request)
        print(decision.explain() if args.command == "explain" else decision.to_json(indent=2))
        return 0
    except (OSError, Error, ValueError) as e:
        print(f"meshroute: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
