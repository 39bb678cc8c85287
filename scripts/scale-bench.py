#!/usr/bin/env python3
"""Wall time and peak memory of the release CLI against mesh size.

For each size SERVICES/NAMESPACES the mesh is generated once with
scripts/genmesh.py (cached under target/scale-meshes/), then each command is
run REPEATS times in a fresh process:

  route: meshroute route -f MESH --from ns-1 http://svc-1.ns-1:8080/   (the first decision)
  check: meshroute check MESH

Time is the wall time of the process (and its CPU time, user + sys, which a
busy machine disturbs less), memory its peak resident set size (os.wait4's
rusage of that one child). Prints a Markdown table of the medians (and of the
minima, and of CPU time), the growth between sizes of equal namespace count,
and the issue's targets met or missed; --json writes every sample.

Meshes over the default input limits (64 MiB, 100,000 documents) are run
with `--limit max_input_bytes=1GiB --limit max_documents=1000000` when the
binary's --help offers --limit, and skipped with a note otherwise.

  scripts/scale-bench.py                       # every default size, release CLI built first
  scripts/scale-bench.py --quick               # the small sizes
  scripts/scale-bench.py --sizes 10000/50,100000/50 --repeats 5 --json out.json
  scripts/scale-bench.py --compare old/meshroute target/release/meshroute   # before/after, alternating
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENMESH = os.path.join(ROOT, "scripts", "genmesh.py")
DEFAULT_SIZES = "1000/10,1000/200,2000/1000,10000/50,100000/50"
QUICK_SIZES = "1000/10,1000/200,2000/1000"
COMMANDS = ("route", "check")
# core/src/limits.rs defaults, and the raised values passed over them.
DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_DOCUMENTS = 100_000
RAISED_LIMITS = ["--limit", "max_input_bytes=1GiB", "--limit", "max_documents=1000000"]
MB = 1024 * 1024

# The targets: (services, namespaces, command) -> (seconds, MB).
TARGETS = {
    (1000, 200, "route"): (0.3, 100),
    (2000, 1000, "route"): (0.5, None),
    (10000, 50, "route"): (1.5, 400),
    (10000, 50, "check"): (1.5, None),
    (100000, 50, "route"): (15, 3000),
    (100000, 50, "check"): (15, 3000),
}
# Growth from 10,000 to 100,000 services (50 namespaces): at most this factor.
TARGET_GROWTH = ((10000, 50), (100000, 50), 11.0)


@dataclass(frozen=True)
class Size:
    services: int
    namespaces: int

    def __str__(self) -> str:
        return f"{self.services}/{self.namespaces}"

    def label(self) -> str:
        return f"{self.services:,} svc / {self.namespaces:,} ns"


@dataclass
class Mesh:
    size: Size
    path: str
    yaml_bytes: int
    resources: int

    def over_default_limits(self) -> bool:
        return self.yaml_bytes > DEFAULT_MAX_INPUT_BYTES or self.resources > DEFAULT_MAX_DOCUMENTS


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    failure: str | None = None
    skipped: str | None = None
    limits_raised: bool = False

    def stat(self, which: str, kind: str) -> float | None:
        values = {"s": self.seconds, "cpu": self.cpu_seconds, "mb": self.rss_mb}[kind]
        if not values:
            return None
        return min(values) if which == "min" else statistics.median(values)


def parse_sizes(text: str) -> list[Size]:
    sizes = []
    for part in text.split(","):
        services, _, namespaces = part.strip().partition("/")
        try:
            sizes.append(Size(int(services), int(namespaces)))
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r}: sizes are SERVICES/NAMESPACES, e.g. 1000/10")
        if sizes[-1].services < 2 or sizes[-1].namespaces < 2:
            raise argparse.ArgumentTypeError(
                f"{part!r}: at least 2 services and 2 namespaces (the request goes to svc-1 in ns-1)"
            )
    return sizes


def mesh_for(size: Size, mesh_dir: str) -> Mesh:
    """The generated mesh of `size`, generated on first use and kept."""
    os.makedirs(mesh_dir, exist_ok=True)
    path = os.path.join(mesh_dir, f"mesh-{size.services}svc-{size.namespaces}ns.yaml")
    if not os.path.exists(path):
        print(f"generating {size.label()} -> {os.path.relpath(path)}", file=sys.stderr)
        argv = [sys.executable, GENMESH, "--services", str(size.services), "--namespaces", str(size.namespaces)]
        done = subprocess.run([*argv, "-o", path], capture_output=True, text=True)
        print(done.stderr, end="", file=sys.stderr)
        if done.returncode != 0:
            raise SystemExit(f"scale-bench: {' '.join(argv)} failed (exit {done.returncode})")
    return Mesh(size, path, os.path.getsize(path), count_resources(path))


def count_resources(path: str) -> int:
    """Documents in a generated mesh: every one has a top-level `kind:` line."""
    count = 0
    with open(path, "rb") as f:
        if f.read(5) == b"kind:":
            count += 1
        f.seek(0)
        tail = b""
        while chunk := f.read(1 << 22):
            data = tail + chunk
            count += data.count(b"\nkind: ")
            tail = data[-6:]
    return count


def offers_limit_flag(binary: str) -> bool:
    help_text = ""
    for args in (["route", "--help"], ["check", "--help"]):
        out = subprocess.run([binary, *args], capture_output=True, text=True)
        help_text += out.stdout + out.stderr
    return "--limit" in help_text


def command_line(binary: str, command: str, mesh: Mesh, raise_limits: bool) -> list[str]:
    limits = RAISED_LIMITS if raise_limits else []
    if command == "route":
        return [binary, "route", *limits, "-f", mesh.path, "--from", "ns-1", "http://svc-1.ns-1:8080/"]
    return [binary, "check", *limits, mesh.path]


def run_once(argv: list[str], timeout: float) -> tuple[float, float, float, int, str]:
    """(wall seconds, CPU seconds, peak RSS MB, exit code, stderr tail) of one run of `argv`."""
    with tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        # Killed by a timer so the wait below stays one blocking wait4 (exact time, this child's rusage).
        timer = threading.Timer(timeout, child.kill)
        timer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-2000:].decode("utf-8", "replace")
    # ru_maxrss is in KiB on Linux.
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, child.returncode, tail


def measure(
    binaries: list[str], meshes: list[Mesh], repeats: int, timeout: float, commands: tuple[str, ...]
) -> dict[tuple[int, Size, str], Samples]:
    """Every (binary, size, command) `repeats` times, the binaries and sizes alternating in each round."""
    limit_flag = {b: offers_limit_flag(b) for b in binaries}
    # Keyed by the binary's index: --compare may name one binary twice (to see the noise).
    results: dict[tuple[int, Size, str], Samples] = {}
    for i, b in enumerate(binaries):
        for mesh in meshes:
            for command in commands:
                samples = Samples()
                if mesh.over_default_limits():
                    if limit_flag[b]:
                        samples.limits_raised = True
                    else:
                        samples.skipped = "over the default limits; this binary has no --limit"
                results[(i, mesh.size, command)] = samples
    for round_ in range(repeats):
        for mesh in meshes:
            for command in commands:
                for i, b in enumerate(binaries):
                    samples = results[(i, mesh.size, command)]
                    if samples.skipped or samples.failure:
                        continue
                    argv = command_line(b, command, mesh, samples.limits_raised)
                    seconds, cpu, rss, code, stderr = run_once(argv, timeout)
                    if code != 0:
                        samples.failure = f"exit {code}: {stderr.strip()[-500:]}"
                        print(f"{' '.join(argv)}\n  failed: {samples.failure}", file=sys.stderr)
                        continue
                    samples.seconds.append(seconds)
                    samples.cpu_seconds.append(cpu)
                    samples.rss_mb.append(rss)
                    print(
                        f"[{round_ + 1}/{repeats}] {mesh.size} {command:5} {seconds:7.3f} s (CPU {cpu:7.3f} s) "
                        f"{rss:8.1f} MB  {b}",
                        file=sys.stderr,
                    )
    return results


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value >= 0.1 else f"{value:.3f}"


def fmt_mb(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def cell(samples: Samples, which: str, kind: str) -> str:
    if samples.skipped:
        return "skipped"
    if samples.failure and not samples.seconds:
        return "failed"
    value = samples.stat(which, kind)
    return fmt_mb(value) if kind == "mb" else fmt_seconds(value)


def table(binary: int, meshes: list[Mesh], results, which: str, commands, clock: str = "s") -> str:
    """Time (`clock`: "s" wall or "cpu") and peak RSS of each size; with `clock` "cpu", time only."""
    head = ["mesh", "YAML MB", "resources"]
    for command in commands:
        head += [f"{command} CPU s"] if clock == "cpu" else [f"{command} s", f"{command} MB"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for mesh in meshes:
        row = [mesh.size.label(), f"{mesh.yaml_bytes / MB:.1f}", f"{mesh.resources:,}"]
        for command in commands:
            samples = results[(binary, mesh.size, command)]
            row += [cell(samples, which, clock)]
            if clock == "s":
                row += [cell(samples, which, "mb")]
        lines.append("| " + " | ".join(row) + " |")
    if clock == "cpu":
        return "\n".join(lines)
    notes = []
    for mesh in meshes:
        for command in commands:
            samples = results[(binary, mesh.size, command)]
            if samples.skipped:
                notes.append(f"{mesh.size.label()} {command}: skipped, {samples.skipped}")
            elif samples.failure:
                notes.append(f"{mesh.size.label()} {command}: failed, {samples.failure}")
            elif samples.limits_raised:
                notes.append(f"{mesh.size.label()} {command}: run with {' '.join(RAISED_LIMITS)}")
    if notes:
        lines += [""] + [f"- {n}" for n in notes]
    return "\n".join(lines)


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or a == 0:
        return "-"
    return f"{b / a:.2f}x"


def growth(binary: int, meshes: list[Mesh], results, commands) -> list[str]:
    """Growth between consecutive sizes of equal namespace count (e.g. 10k -> 100k services)."""
    lines = []
    by_ns: dict[int, list[Mesh]] = {}
    for mesh in meshes:
        by_ns.setdefault(mesh.size.namespaces, []).append(mesh)
    for group in by_ns.values():
        group.sort(key=lambda m: m.size.services)
        for small, big in zip(group, group[1:]):
            parts = [
                f"{small.size.label()} -> {big.size.label()}: "
                f"resources {ratio(small.resources, big.resources)}, YAML {ratio(small.yaml_bytes, big.yaml_bytes)}"
            ]
            for command in commands:
                a, b = results[(binary, small.size, command)], results[(binary, big.size, command)]
                parts.append(
                    f"{command} time {ratio(a.stat('median', 's'), b.stat('median', 's'))} "
                    f"(CPU {ratio(a.stat('median', 'cpu'), b.stat('median', 'cpu'))}), "
                    f"memory {ratio(a.stat('median', 'mb'), b.stat('median', 'mb'))}"
                )
            lines.append("; ".join(parts))
    return lines


def targets(binary: int, meshes: list[Mesh], results) -> list[str]:
    """The issue's targets this run can judge, met or missed (medians)."""
    lines = []
    sizes = {m.size for m in meshes}
    for (services, namespaces, command), (seconds, mb) in TARGETS.items():
        size = Size(services, namespaces)
        samples = results.get((binary, size, command))
        if size not in sizes or samples is None:
            continue
        if samples.skipped or not samples.seconds:
            lines.append(f"- {size.label()} {command}: not measured ({samples.skipped or samples.failure})")
            continue
        t, m = samples.stat("median", "s"), samples.stat("median", "mb")
        cpu = samples.stat("median", "cpu")
        checks = [f"{fmt_seconds(t)} s (CPU {fmt_seconds(cpu)} s) < {seconds} s: {'met' if t < seconds else 'MISSED'}"]
        if mb is not None:
            checks.append(f"{fmt_mb(m)} MB < {mb} MB: {'met' if m < mb else 'MISSED'}")
        lines.append(f"- {size.label()} {command}: " + "; ".join(checks))
    (s1, n1), (s2, n2), limit = TARGET_GROWTH
    small, big = Size(s1, n1), Size(s2, n2)
    if small in sizes and big in sizes:
        for command in COMMANDS:
            a, b = results.get((binary, small, command)), results.get((binary, big, command))
            if not a or not b or not a.seconds or not b.seconds:
                continue
            for kind, name in (("s", "time"), ("mb", "memory")):
                g = b.stat("median", kind) / a.stat("median", kind)
                lines.append(
                    f"- {small.label()} -> {big.label()} {command} {name} grows {g:.1f}x <= {limit}x: "
                    f"{'met' if g <= limit else 'MISSED'}"
                )
    return lines


def comparison(before: int, after: int, meshes: list[Mesh], results, commands) -> str:
    """after / before for each size and command (medians and minima): < 1 is faster or leaner."""
    head = ["mesh"]
    for command in commands:
        head += [f"{command} time", f"{command} CPU", f"{command} memory"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for mesh in meshes:
        row = [mesh.size.label()]
        for command in commands:
            a, b = results[(before, mesh.size, command)], results[(after, mesh.size, command)]
            for kind in ("s", "cpu", "mb"):
                med = ratio(a.stat("median", kind), b.stat("median", kind))
                low = ratio(a.stat("min", kind), b.stat("min", kind))
                row.append(f"{med} (min {low})" if med != "-" else "-")
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def machine() -> str:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return f"{os.cpu_count()} cores{', ' + model if model else ''}, {platform.system()} {platform.machine()}"


def build_release() -> str:
    print("building the release CLI: cargo build --release -p meshroute-cli", file=sys.stderr)
    subprocess.run(["cargo", "build", "--release", "-p", "meshroute-cli"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "meshroute")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description="Wall time and peak RSS of `meshroute route` (first decision) and `meshroute check` "
        "against mesh size (meshes from scripts/genmesh.py).",
    )
    p.add_argument("--sizes", type=parse_sizes, default=None, help=f"SERVICES/NAMESPACES,... (default {DEFAULT_SIZES})")
    p.add_argument("--quick", action="store_true", help=f"the small sizes only ({QUICK_SIZES})")
    p.add_argument("--repeats", type=int, default=3, help="runs of each command per size (default 3)")
    p.add_argument("--bin", help="the meshroute binary (default: build and use target/release/meshroute)")
    p.add_argument(
        "--compare",
        nargs=2,
        metavar=("BEFORE", "AFTER"),
        help="two binaries, run alternately; prints both tables and AFTER/BEFORE ratios",
    )
    p.add_argument("--commands", default=",".join(COMMANDS), help="route,check (default both)")
    p.add_argument(
        "--mesh-dir",
        default=os.path.join(ROOT, "target", "scale-meshes"),
        help="where generated meshes are kept (default target/scale-meshes)",
    )
    p.add_argument("--timeout", type=float, default=600, help="seconds before a run is killed (default 600)")
    p.add_argument("--json", metavar="FILE", help="write every sample as JSON to FILE (- for stdout)")
    args = p.parse_args(argv)
    if args.bin and args.compare:
        p.error("--bin and --compare exclude each other")
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    commands = tuple(c.strip() for c in args.commands.split(",") if c.strip())
    if not commands or any(c not in COMMANDS for c in commands):
        p.error(f"--commands takes a list of {', '.join(COMMANDS)}")
    sizes = args.sizes or parse_sizes(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    if args.compare:
        binaries = [os.path.abspath(b) for b in args.compare]
    else:
        binaries = [os.path.abspath(args.bin) if args.bin else build_release()]
    for b in binaries:
        if not os.access(b, os.X_OK):
            p.error(f"{b} is not an executable file")

    meshes = [mesh_for(size, args.mesh_dir) for size in sizes]
    results = measure(binaries, meshes, args.repeats, args.timeout, commands)

    out = sys.stderr if args.json == "-" else sys.stdout
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    print(f"\n{date}, {machine()}, {args.repeats} runs each", file=out)
    for b, path in enumerate(binaries):
        print(f"\n## {path}\n\nmedian of {args.repeats} runs (time: wall seconds; memory: peak RSS MB)\n", file=out)
        print(table(b, meshes, results, "median", commands), file=out)
        print(f"\nminimum of {args.repeats} runs\n", file=out)
        print(table(b, meshes, results, "min", commands), file=out)
        print(f"\nCPU time (user + sys, median of {args.repeats}: steadier than wall time on a busy machine)\n", file=out)
        print(table(b, meshes, results, "median", commands, clock="cpu"), file=out)
        lines = growth(b, meshes, results, commands)
        if lines:
            print("\ngrowth (medians)\n", file=out)
            print("\n".join(f"- {line}" for line in lines), file=out)
        lines = targets(b, meshes, results)
        if lines:
            print("\nissue 18 targets (medians)\n", file=out)
            print("\n".join(lines), file=out)
    if args.compare:
        before, after = binaries
        print(f"\n## after / before\n\nafter: {after}\nbefore: {before}\n", file=out)
        print(comparison(0, 1, meshes, results, commands), file=out)

    if args.json:
        report = {
            "date": date,
            "machine": machine(),
            "repeats": args.repeats,
            "binaries": binaries,
            "meshes": [
                {
                    "services": m.size.services,
                    "namespaces": m.size.namespaces,
                    "path": m.path,
                    "yaml_bytes": m.yaml_bytes,
                    "resources": m.resources,
                }
                for m in meshes
            ],
            "results": [
                {
                    "binary": binaries[b],
                    "services": size.services,
                    "namespaces": size.namespaces,
                    "command": command,
                    "seconds": s.seconds,
                    "cpu_seconds": s.cpu_seconds,
                    "rss_mb": s.rss_mb,
                    "median_seconds": s.stat("median", "s"),
                    "min_seconds": s.stat("min", "s"),
                    "median_cpu_seconds": s.stat("median", "cpu"),
                    "median_rss_mb": s.stat("median", "mb"),
                    "min_rss_mb": s.stat("min", "mb"),
                    "limits_raised": s.limits_raised,
                    "skipped": s.skipped,
                    "failure": s.failure,
                }
                for (b, size, command), s in results.items()
            ],
        }
        text = json.dumps(report, indent=2)
        if args.json == "-":
            print(text)
        else:
            with open(args.json, "w", encoding="utf-8") as f:
                f.write(text + "\n")
    failed = any(s.failure for s in results.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
