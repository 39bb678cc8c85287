"""Tests of scripts/scale-bench.py against stand-in binaries (small Python scripts).

Run: python3 -m unittest discover -s scripts -p 'test_*.py'
"""

import contextlib
import importlib.util
import io
import json
import os
import stat
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("scale_bench", os.path.join(HERE, "scale-bench.py"))
scale_bench = importlib.util.module_from_spec(spec)
sys.modules["scale_bench"] = scale_bench  # dataclasses look their module up there
spec.loader.exec_module(scale_bench)

# A stand-in for meshroute: `--help` mentions --limit when told to; a run
# appends its arguments to a log, touches MEGABYTES of memory, and exits with CODE.
FAKE = """#!/usr/bin/env python3
import sys
args = sys.argv[1:]
if "--help" in args:
    print("Usage: meshroute ..." + ({offers_limit} and "\\n  --limit NAME=VALUE" or ""))
    sys.exit(0)
with open({log!r}, "a") as f:
    f.write(" ".join(args) + "\\n")
block = bytearray({megabytes} * 1024 * 1024)
for i in range(0, len(block), 4096):
    block[i] = 1
sys.exit({code})
"""


class ScaleBench(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.meshes = os.path.join(self.dir, "meshes")
        # Meshes of 10 and 30 services have 52 and 152 documents: put the document limit between them.
        self.saved_limit = scale_bench.DEFAULT_MAX_DOCUMENTS
        scale_bench.DEFAULT_MAX_DOCUMENTS = 100

    def tearDown(self):
        scale_bench.DEFAULT_MAX_DOCUMENTS = self.saved_limit
        self.tmp.cleanup()

    def fake(self, name, offers_limit=True, megabytes=1, code=0):
        path = os.path.join(self.dir, name)
        log = path + ".log"
        with open(path, "w", encoding="utf-8") as f:
            f.write(FAKE.format(offers_limit=offers_limit, log=log, megabytes=megabytes, code=code))
        os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR)
        return path, log

    def run_bench(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        report = os.path.join(self.dir, "report.json")
        argv = [*argv, "--sizes", "10/2,30/2", "--repeats", "2", "--mesh-dir", self.meshes, "--json", report]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = scale_bench.main(argv)
        with open(report, encoding="utf-8") as f:
            return code, out.getvalue(), json.load(f)

    def test_limits_are_raised_only_for_meshes_over_them(self):
        binary, log = self.fake("meshroute")
        code, out, report = self.run_bench("--bin", binary)
        self.assertEqual(code, 0, out)
        with open(log, encoding="utf-8") as f:
            runs = f.read().splitlines()
        small = os.path.join(self.meshes, "mesh-10svc-2ns.yaml")
        big = os.path.join(self.meshes, "mesh-30svc-2ns.yaml")
        self.assertIn(f"route -f {small} --from ns-1 http://svc-1.ns-1:8080/", runs)
        self.assertIn(f"check {small}", runs)
        limits = "--limit max_input_bytes=1GiB --limit max_documents=1000000"
        self.assertIn(f"route {limits} -f {big} --from ns-1 http://svc-1.ns-1:8080/", runs)
        self.assertIn(f"check {limits} {big}", runs)
        self.assertEqual(len(runs), 2 * 2 * 2)
        self.assertEqual([(m["services"], m["resources"]) for m in report["meshes"]], [(10, 52), (30, 152)])
        self.assertIn("| 10 svc / 2 ns | 0.0 | 52 |", out)
        self.assertIn("30 svc / 2 ns route: run with --limit", out)

    def test_meshes_over_the_limits_are_skipped_when_the_binary_cannot_raise_them(self):
        binary, log = self.fake("meshroute", offers_limit=False)
        code, out, report = self.run_bench("--bin", binary)
        self.assertEqual(code, 0, out)
        with open(log, encoding="utf-8") as f:
            self.assertNotIn("30svc", f.read())
        skipped = {(r["services"], r["command"]) for r in report["results"] if r["skipped"]}
        self.assertEqual(skipped, {(30, "route"), (30, "check")})
        self.assertIn("| 30 svc / 2 ns | 0.0 | 152 | skipped | skipped | skipped | skipped |", out)
        self.assertIn("30 svc / 2 ns check: skipped, over the default limits", out)

    def test_compare_measures_each_child_on_its_own(self):
        # The big one runs first in each round: a maximum over all children would give the small one its memory.
        big, _ = self.fake("big", megabytes=80)
        small, _ = self.fake("small", megabytes=1)
        code, out, report = self.run_bench("--compare", big, small)
        self.assertEqual(code, 0, out)
        rss = {(r["binary"], r["services"], r["command"]): r["median_rss_mb"] for r in report["results"]}
        for services in (10, 30):
            for command in ("route", "check"):
                self.assertGreater(rss[(big, services, command)], 80)
                self.assertLess(rss[(small, services, command)], 40)
        self.assertIn("## after / before", out)
        ratio_row = next(line for line in out.splitlines() if line.startswith("| 10 svc / 2 ns | ") and "x (min" in line)
        memory_ratio = float(ratio_row.split(" | ")[3].split("x")[0])
        self.assertLess(memory_ratio, 0.5)

    def test_a_failing_run_is_reported_and_fails_the_bench(self):
        binary, log = self.fake("meshroute", code=3)
        code, out, report = self.run_bench("--bin", binary)
        self.assertEqual(code, 1)
        self.assertTrue(all(r["failure"].startswith("exit 3") for r in report["results"]))
        with open(log, encoding="utf-8") as f:
            # A failed command is not repeated.
            self.assertEqual(len(f.read().splitlines()), 4)
        self.assertIn("| 10 svc / 2 ns | 0.0 | 52 | failed | failed | failed | failed |", out)


class Sizes(unittest.TestCase):
    def test_sizes_are_services_over_namespaces(self):
        self.assertEqual(
            scale_bench.parse_sizes("1000/10, 2000/1000"),
            [scale_bench.Size(1000, 10), scale_bench.Size(2000, 1000)],
        )
        for bad in ("1000", "a/b", "1000/1", "1/10"):
            with self.subTest(bad=bad), self.assertRaises(Exception):
                scale_bench.parse_sizes(bad)

    def test_resources_are_counted_across_read_chunks(self):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            doc = "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n"
            f.write("---\n".join([doc] * 1000) + "padding " * ((1 << 22) // 8) + "\n---\n" + doc)
        try:
            self.assertEqual(scale_bench.count_resources(f.name), 1001)
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
