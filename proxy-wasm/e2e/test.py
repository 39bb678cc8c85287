#!/usr/bin/env python3
"""End-to-end tests: a real Envoy with (a) the meshroute proxy-wasm filter and
(b) the native config from `meshroute envoy-config`, loopback upstreams that
answer with their own name, and meshroute's own decisions to compare with.

Run by proxy-wasm/test.sh (which builds everything first). Everything listens
on 127.0.0.1; every process started here is stopped on exit.
Usage: test.py MESHROUTE WASM UPSTREAM DECIDE WORKDIR [--bench]
"""
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid

import yaml

MESHROUTE, WASM, UPSTREAM, DECIDE, WORK = sys.argv[1:6]
BENCH = "--bench" in sys.argv
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLE = os.path.join(HERE, "..", "example")
# The repository's conformance corpus, then an optional extra one
# ($MESHROUTE_CONFORMANCE, else ../shared/conformance beside the checkout).
CONFORMANCE = os.path.join(HERE, "..", "..", "tests", "conformance")
EXTRA_CONFORMANCE = os.environ.get("MESHROUTE_CONFORMANCE") or os.path.join(HERE, "..", "..", "..", "shared", "conformance")
CONFORMANCE_DIRS = [CONFORMANCE] + ([EXTRA_CONFORMANCE] if os.path.isdir(EXTRA_CONFORMANCE) else [])

PROCS = []
RESULTS = {"passed": 0, "failed": 0}


def cleanup(*_):
    for p in PROCS:
        if p.poll() is None:
            p.terminate()
    for p in PROCS:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()


signal.signal(signal.SIGTERM, lambda *a: (cleanup(), sys.exit(1)))


def check(name, ok, detail=""):
    RESULTS["passed" if ok else "failed"] += 1
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else "  -- " + detail), flush=True)


def generate(files, out, listen, admin, endpoints=None, wasm=False):
    cmd = [MESHROUTE, "envoy-config", *files, "--listen", str(listen), "--admin", str(admin)]
    if endpoints:
        cmd += ["--endpoints", endpoints]
    if wasm:
        cmd += ["--wasm", WASM]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError("envoy-config failed: " + res.stderr)
    with open(out, "w") as f:
        f.write(res.stdout)
    return json.loads(res.stdout)


def start_envoy(config, admin, base_id, log):
    p = subprocess.Popen(
        ["envoy", "-c", config, "--base-id", str(base_id), "--concurrency", "1", "-l", "warning",
         "--log-path", log],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    PROCS.append(p)
    deadline = time.time() + 20
    while time.time() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"envoy exited ({p.returncode}); see {log}:\n" + open(log).read()[-3000:])
        try:
            c = http.client.HTTPConnection("127.0.0.1", admin, timeout=1)
            c.request("GET", "/ready")
            if c.getresponse().status == 200:
                return p
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("envoy not ready in 20 s; see " + log)


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()


def start_upstreams(pairs):
    p = subprocess.Popen([UPSTREAM, *[f"{n}={port}" for n, port in pairs]],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    PROCS.append(p)
    time.sleep(0.2)
    return p


def send(port, authority, path="/", method="GET", headers=None, conn=None, timeout=10):
    """One request; returns (status, headers dict, body, seconds)."""
    own = conn is None
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    h = {"Host": authority}
    h.update(headers or {})
    t = time.time()
    c.request(method, path, headers=h)
    r = c.getresponse()
    body = r.read().decode(errors="replace")
    hs = {k.lower(): v for k, v in r.getheaders()}
    if own:
        c.close()
    return r.status, hs, body, time.time() - t


def upstream_of(hs):
    return hs.get("x-upstream")


# ---------------------------------------------------------------------------
# Feature tests on the shipped example
# ---------------------------------------------------------------------------

def features(label, port):
    A = "reviews:9080"
    s, hs, body, _ = send(port, A, "/", headers={"end-user": "jason"})
    others = [upstream_of(send(port, A, "/", headers={"end-user": "mary"})[1]) for _ in range(5)]
    check(f"[{label}] header routing: end-user jason -> v2", s == 200 and upstream_of(hs) == "v2",
          f"{s} {upstream_of(hs)}")
    check(f"[{label}] header routing: exact match only (Jason is not jason)",
          upstream_of(send(port, A, "/", headers={"end-user": "Jason"})[1]) in ("v1", "v2") and all(o in ("v1", "v2") for o in others))

    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    counts = {}
    for _ in range(2000):
        _, hs, _, _ = send(port, A, "/split", conn=c)
        u = upstream_of(hs)
        counts[u] = counts.get(u, 0) + 1
    c.close()
    v1 = counts.get("v1", 0)
    # Binomial(2000, 0.9): sd = 13.4; +-4.5 sd.
    check(f"[{label}] 90/10 split over 2000 requests: v1={v1} v2={counts.get('v2', 0)}",
          1740 <= v1 <= 1860 and v1 + counts.get("v2", 0) == 2000, str(counts))

    s, hs, body, _ = send(port, A, "/abort")
    check(f"[{label}] fault abort 100% -> 503 'fault filter abort', no upstream",
          s == 503 and "fault filter abort" in body and upstream_of(hs) is None, f"{s} {body!r}")

    s, hs, body, dt = send(port, A, "/delay")
    check(f"[{label}] fault delay 1s then v1 ({dt:.2f}s)", s == 200 and upstream_of(hs) == "v1" and 0.95 <= dt < 3,
          f"{s} {upstream_of(hs)} {dt:.2f}")

    s, hs, body, _ = send(port, A, "/moved/x?q=1")
    check(f"[{label}] redirect -> 301 {hs.get('location')}",
          s == 301 and hs.get("location") == "http://reviews.example.com/new-place?q=1", f"{s} {hs.get('location')}")

    s, hs, body, _ = send(port, A, "/teapot")
    check(f"[{label}] direct response 418", s == 418 and body == "short and stout", f"{s} {body!r}")

    s, hs, body, _ = send(port, A, "/api/users?id=7")
    check(f"[{label}] prefix rewrite /api/ -> /v3-api/ at v3, request and response header ops",
          s == 200 and upstream_of(hs) == "v3" and "path=/v3-api/users?id=7" in body
          and "x-routed-by=meshroute" in body and hs.get("x-served-via") == "meshroute",
          f"{s} {upstream_of(hs)} {body!r} {hs.get('x-served-via')}")

    s, hs, body, dt = send(port, A, "/sleep/1500")
    check(f"[{label}] route timeout 0.3s -> 504 in {dt:.2f}s", s == 504 and dt < 1.2, f"{s} {dt:.2f}")

    key = uuid.uuid4().hex
    s, hs, body, _ = send(port, A, f"/fail-once/{key}")
    check(f"[{label}] retries (attempts 2, 5xx) recover from an upstream that fails once",
          s == 200 and upstream_of(hs) == "v1", f"{s} {body!r}")
    key = uuid.uuid4().hex
    s, hs, body, _ = send(port, A, f"/no-retry/fail-once/{key}")
    check(f"[{label}] without retries the same upstream failure reaches the client", s == 503, f"{s}")


# ---------------------------------------------------------------------------
# Conformance: every route test Envoy can serve, through both configs
# ---------------------------------------------------------------------------

def conformance(listen_filter, listen_native):
    files = [os.path.join(d, f) for d in CONFORMANCE_DIRS
             for f in sorted(os.listdir(d)) if f.endswith(".routetest.yaml")]
    base_port = 19200
    skipped = {}
    for fi, fname in enumerate(files):
        started = len(PROCS)
        try:
            conformance_file(fi, fname, base_port, listen_filter, listen_native, skipped)
        except Exception as e:  # one broken file must not hide the others
            check(f"[conformance] {fname}: harness", False, repr(e)[-1500:])
        finally:
            for p in PROCS[started:]:
                stop(p)
    for why, items in skipped.items():
        print(f"skipped {len(items)} case(s): {why}")
        for i in items:
            print(f"    {i}")


def conformance_file(fi, fname, base_port, listen_filter, listen_native, skipped):
        doc = yaml.safe_load(open(fname))
        cfg = doc.get("config") or {}
        inputs = [os.path.join(os.path.dirname(fname), f) for f in cfg.get("files", [])]
        if cfg.get("inline"):
            p = os.path.join(WORK, f"inline-{fi}.yaml")
            open(p, "w").write(cfg["inline"])
            inputs.append(p)
        defaults = doc.get("defaults") or {}
        # Clusters of this configuration, each with its own upstream named after it.
        native = generate(inputs, os.path.join(WORK, "probe.json"), listen_native, 18992)
        names = [c["name"] for c in native["static_resources"]["clusters"]]
        pairs = [(n, base_port + i) for i, n in enumerate(names)]
        ep = os.path.join(WORK, f"endpoints-{fi}.json")
        json.dump({n: f"127.0.0.1:{p}" for n, p in pairs}, open(ep, "w"))
        generate(inputs, os.path.join(WORK, "c-native.json"), listen_native, 18992, ep)
        generate(inputs, os.path.join(WORK, "c-filter.json"), listen_filter, 18991, ep, wasm=True)
        ups = start_upstreams(pairs)
        e1 = start_envoy(os.path.join(WORK, "c-filter.json"), 18991, 31, os.path.join(WORK, "c-filter.log"))
        e2 = start_envoy(os.path.join(WORK, "c-native.json"), 18992, 32, os.path.join(WORK, "c-native.log"))
        cases = []
        for case in doc.get("cases", []):
            req = dict(defaults)
            req.update(case.get("request") or {})
            cases.append((case.get("name", "?"), req))
        dec = subprocess.run([DECIDE, *inputs], input="\n".join(json.dumps(r) for _, r in cases),
                             capture_output=True, text=True, timeout=60).stdout.splitlines()
        for (name, req), dline in zip(cases, dec):
            d = json.loads(dline)
            why = None
            if req.get("protocol", "http") != "http":
                why = "TCP/TLS (filter and listener are HTTP)"
            elif req.get("gateway", "mesh") != "mesh":
                why = "gateway request (the generated config is a sidecar's)"
            elif d.get("outcome") == "passthrough":
                why = "passthrough to an original destination (no such address on loopback)"
            elif ((d.get("fault") or {}).get("delay") or {}).get("percent", 0) > 0:
                why = "fault delay of several seconds (delay covered by the feature tests)"
            if why:
                skipped.setdefault(why, []).append(f"{fname}: {name}")
                continue
            port = req.get("port")
            host = req["host"]
            if ":" not in host:
                port = port or 80
                authority = host if port == 80 else f"{host}:{port}"
            else:
                authority = host
            headers = {}
            for k, v in (req.get("headers") or {}).items():
                headers[k] = ",".join(v) if isinstance(v, list) else str(v)
            results = []
            for lp in (listen_filter, listen_native):
                s, hs, body, _ = send(lp, authority, req.get("path", "/"), req.get("method", "GET"), headers)
                results.append((s, upstream_of(hs), hs.get("location")))
            out = d.get("outcome")
            fault = d.get("fault") or {}
            abort = fault.get("abort")
            if out in ("route", "defaultRoute"):
                ok_dests = [x["cluster"] for x in d["destinations"] if x["weight"] > 0 and not x.get("problem")]
                if abort and abort.get("percent", 0) >= 100:
                    want = lambda r: r[0] == abort.get("httpStatus") and r[1] is None
                    desc = f"abort {abort.get('httpStatus')}"
                elif ok_dests:
                    want = lambda r: r[1] in ok_dests and r[0] == 200
                    desc = " or ".join(ok_dests)
                else:
                    want = lambda r: r[0] == 503 and r[1] is None
                    desc = "503 (no usable cluster)"
            elif out in ("redirect", "directResponse"):
                want = lambda r: r[0] == d.get("status") and (out != "redirect" or r[2] == d.get("location"))
                desc = f"{d.get('status')} {d.get('location') or ''}"
            elif out == "notFound":
                want = lambda r: r[0] == 404
                desc = "404"
            else:
                want = lambda r: False
                desc = out
            check(f"[conformance] {fname}: {name}: filter {results[0][:2]} native {results[1][:2]} want {desc}",
                  want(results[0]) and want(results[1]), str(results))
        for p in (e1, e2, ups):
            stop(p)


# ---------------------------------------------------------------------------
# Load benchmark: filter vs native, wrk, 10 s, 64 connections
# ---------------------------------------------------------------------------

def wrk(port, path):
    out = subprocess.run(["timeout", "30", "wrk", "-t2", "-c64", "-d10s", "--latency",
                          "-H", "Host: reviews:9080", f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True).stdout

    def ms(pat):
        m = re.search(pat + r"\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            return float("nan")
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"p50_ms": ms("50%"), "p99_ms": ms("99%"), "rps": float(rps.group(1)) if rps else float("nan"),
            "non2xx": int(non2xx.group(1)) if non2xx else 0}


def main():
    os.makedirs(WORK, exist_ok=True)
    example = [os.path.join(EXAMPLE, "istio.yaml")]
    ep = os.path.join(EXAMPLE, "endpoints.json")
    generate(example, os.path.join(WORK, "filter.json"), 18080, 18901, ep, wasm=True)
    generate(example, os.path.join(WORK, "native.json"), 18090, 18902, ep)
    start_upstreams([("v1", 18181), ("v2", 18182), ("v3", 18183)])
    ef = start_envoy(os.path.join(WORK, "filter.json"), 18901, 21, os.path.join(WORK, "filter.log"))
    en = start_envoy(os.path.join(WORK, "native.json"), 18902, 22, os.path.join(WORK, "native.log"))
    features("filter", 18080)
    features("native", 18090)

    # A broken configuration fails the plugin start with meshroute's messages.
    bad = os.path.join(WORK, "bad.yaml")
    open(bad, "w").write(open(example[0]).read().replace("subset: v3}}]", "subst: v3}}]"))
    generate([os.path.join(EXAMPLE, "istio.yaml")], os.path.join(WORK, "bad.json"), 18085, 18905, ep, wasm=True)
    cfg = json.load(open(os.path.join(WORK, "bad.json")))
    wasm_cfg = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"][0]["typed_config"]["config"]["configuration"]
    plugin = json.loads(wasm_cfg["value"])
    plugin["config"] = open(bad).read()
    wasm_cfg["value"] = json.dumps(plugin)
    json.dump(cfg, open(os.path.join(WORK, "bad.json"), "w"))
    res = subprocess.run(["envoy", "--mode", "validate", "-c", os.path.join(WORK, "bad.json"), "--base-id", "25"],
                         capture_output=True, text=True, timeout=60)
    log = res.stdout + res.stderr
    check("broken Istio config: Envoy refuses the plugin with meshroute's message, no crash",
          res.returncode != 0 and "meshroute:" in log and "subst" in log and "Segmentation" not in log,
          log[-800:])

    if BENCH:
        for path in ("/split",):
            f = wrk(18080, path)
            n = wrk(18090, path)
            print(f"bench {path}: filter {f}")
            print(f"bench {path}: native {n}")
            print(f"bench ratios filter/native: p50 {f['p50_ms'] / n['p50_ms']:.2f}x, "
                  f"p99 {f['p99_ms'] / n['p99_ms']:.2f}x, req/s {f['rps'] / n['rps']:.2f}x")
    stop(ef)
    stop(en)
    conformance(18080, 18090)


try:
    main()
except Exception as e:  # a harness failure is a failed test, reported as such
    check("harness", False, repr(e))
finally:
    cleanup()
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)
