#!/usr/bin/env python3
"""End-to-end tests: a real Envoy with (a) the meshroute proxy-wasm filter and
(b) the native config from `meshroute envoy-config`, loopback upstreams that
answer with their own name, and meshroute's own decisions to compare with.

Run by proxy-wasm/test.sh (which builds everything first). Everything listens
on 127.0.0.1; every process started here is stopped on exit.
Usage: test.py MESHROUTE WASM UPSTREAM DECIDE WORKDIR [--bench | --bench-only] [--agreement-only] [CORPUS_DIR...]
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
BENCH = "--bench" in sys.argv[6:] or "--bench-only" in sys.argv[6:]
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
EXAMPLE = os.path.join(HERE, "..", "example")
# Corpora: the directories given after the fixed arguments, else the
# repository's own that exist (walked recursively for *.routetest.yaml),
# plus $MESHROUTE_CONFORMANCE when set. $MESHROUTE_AGREEMENT_REPORT names a
# JSON file for the per-corpus counts, the unservable cases by reason and
# the disagreeing cases.
GIVEN_DIRS = [os.path.abspath(a) for a in sys.argv[6:] if not a.startswith("--")]
DEFAULT_DIRS = [os.path.join(ROOT, d) for d in ("tests/conformance", "examples", "tests/istio",
                                                 "proxy-wasm/e2e/corpus")]
CORPUS_DIRS = GIVEN_DIRS or [d for d in DEFAULT_DIRS if os.path.isdir(d)] + (
    [os.path.abspath(os.environ["MESHROUTE_CONFORMANCE"])] if os.environ.get("MESHROUTE_CONFORMANCE") else [])

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


def start_envoy(config, admin, log):
    p = subprocess.Popen(
        ["envoy", "-c", config, "--use-dynamic-base-id", "--concurrency", "1", "-l", "warning",
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
    import socket
    deadline = time.time() + 10
    for _, port in pairs:
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.01)
    return p


def send(port, authority, path="/", method="GET", headers=None, conn=None, timeout=5):
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
# Agreement: every route-test case of every corpus, through both configs
# ---------------------------------------------------------------------------
#
# Cases are grouped by (file, proxy): one native Envoy and one filter Envoy per
# group, many requests each. A case either is served (the request goes through
# both Envoys and must reach the decision's cluster, or get the same local
# reply) or is counted as not servable with its reason.

COUNTS = {}      # corpus -> {"served": n, "agree": n, "unservable": {reason: n}}
UNSERVABLE = {}  # reason -> [case names]
DISAGREE = []


def corpus_of(path):
    """The corpus directory holding `path`; tests/istio is counted per area
    (tests/istio/sidecar, tests/istio/gateway, ...)."""
    for d in CORPUS_DIRS:
        d = os.path.abspath(d)
        if os.path.abspath(path).startswith(d + os.sep):
            rel = os.path.relpath(os.path.abspath(path), d).split(os.sep)
            if os.path.basename(d) == "istio" and len(rel) > 1:
                d = os.path.join(d, rel[0])
            return os.path.relpath(d, ROOT) if d.startswith(ROOT + os.sep) else d
    return "?"


def tally(corpus, key, reason=None):
    c = COUNTS.setdefault(corpus, {"served": 0, "agree": 0, "unservable": {}})
    if key == "unservable":
        c["unservable"][reason] = c["unservable"].get(reason, 0) + 1
    else:
        c[key] += 1


def free_ports(n):
    """n consecutive free loopback ports."""
    import random
    import socket
    for _ in range(200):
        base = random.randint(21000, 60000 - n)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                s.bind(("127.0.0.1", p))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port range")


def envoy_config(inputs, proxy_args, listen, admin, wasm=False):
    cmd = [MESHROUTE, "envoy-config", *inputs, "--listen", str(listen), "--admin", str(admin), *proxy_args]
    if wasm:
        cmd += ["--wasm", WASM]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError("envoy-config failed: " + res.stderr[-2000:])
    return json.loads(res.stdout), res.stderr


def with_upstreams(config, ports):
    """Every cluster gets its own loopback upstream; the passthrough cluster
    too (an original destination on loopback would be Envoy itself)."""
    for c in config["static_resources"]["clusters"]:
        if c["name"] in ports:
            c["type"] = "STATIC"
            if c.get("lb_policy") == "CLUSTER_PROVIDED":
                c["lb_policy"] = "ROUND_ROBIN"
            c["load_assignment"] = {"cluster_name": c["name"], "endpoints": [{"lb_endpoints": [
                {"endpoint": {"address": {"socket_address": {"address": "127.0.0.1",
                                                             "port_value": ports[c["name"]]}}}}]}]}
    return config


def listener_ports(config):
    """Mesh port -> local port, from the listeners' names (meshroute_PORT)."""
    out = {}
    for l in config["static_resources"]["listeners"]:
        out[int(l["name"].rsplit("_", 1)[1])] = l["address"]["socket_address"]["port_value"]
    return out


def start_dynamic_envoy(config_path, admin, log):
    p = subprocess.Popen(
        ["envoy", "-c", config_path, "--use-dynamic-base-id", "--concurrency", "1", "-l", "warning",
         "--log-path", log],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    PROCS.append(p)
    return p


def wait_ready(p, admin, log):
    deadline = time.time() + 30
    while time.time() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"Envoy refused the configuration (exit {p.returncode}):\n"
                               + open(log).read()[-2500:])
        try:
            c = http.client.HTTPConnection("127.0.0.1", admin, timeout=1)
            c.request("GET", "/ready")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.03)
    raise RuntimeError("envoy not ready in 30 s; see " + log)


def request_port(req):
    if req.get("port"):
        return int(req["port"])
    host = req.get("host", "")
    if not host.startswith("[") and host.count(":") == 1:
        try:
            return int(host.rsplit(":", 1)[1])
        except ValueError:
            pass
    if host.startswith("[") and "]:" in host:
        return int(host.rsplit("]:", 1)[1])
    return 443 if req.get("scheme") == "https" else 80


def proxy_args(req):
    gw = req.get("gateway", "mesh")
    if gw != "mesh":
        return ("--gateway", gw)
    src = req.get("source") or {}
    labels = ",".join(f"{k}={v}" for k, v in sorted((src.get("labels") or {}).items()))
    args = ("--namespace", src.get("namespace", "default"))
    return args + (("--labels", labels) if labels else ())


def unservable_reason(req, d):
    if "error" in d:
        return "meshroute refuses the request (" + d["error"].split(",")[0][:70] + ")"
    if req.get("protocol", "http") != "http":
        return "TCP/TLS request (the harness speaks HTTP only)"
    if req.get("scheme", "http") == "https":
        return "https request (the harness speaks plain HTTP, no certificates)"
    if ((d.get("fault") or {}).get("delay") or {}).get("percent", 0) > 0:
        return "fault delay (seconds of waiting; delays are covered by the feature tests)"
    if any(k.startswith(":") or k.lower() in ("host", "content-length", "transfer-encoding", "connection")
           for k in (req.get("headers") or {})):
        return "request sets a pseudo or hop-by-hop header the client cannot send as such"
    return None


class PortAllocator:
    """Hands out ranges of consecutive free loopback ports."""

    def __init__(self):
        self.next = free_ports(1)

    def take(self, n):
        import socket
        while True:
            start = self.next
            if start + n > 65000:
                self.next = 21000
                continue
            ok = True
            for p in range(start, start + n):
                s = socket.socket()
                try:
                    s.bind(("127.0.0.1", p))
                except OSError:
                    ok = False
                finally:
                    s.close()
                if not ok:
                    self.next = p + 1
                    break
            if ok:
                self.next = start + n
                return start


def conformance():
    files = []
    for d in CORPUS_DIRS:
        if not os.path.isdir(d):
            check(f"[agreement] corpus {d}", False, "no such directory")
            continue
        for dirpath, _, names in sorted(os.walk(d)):
            files += [os.path.join(dirpath, f) for f in sorted(names) if f.endswith(".routetest.yaml")]
    t0 = time.time()
    groups = []
    for fi, fname in enumerate(files):
        try:
            groups += agreement_groups(fi, fname)
        except Exception as e:  # one broken file must not hide the others
            check(f"[agreement] {fname}: harness", False, repr(e)[-1500:])
    started = len(PROCS)
    try:
        serve_groups(groups)
    except Exception as e:
        check("[agreement] harness", False, repr(e)[-2500:])
    finally:
        for p in PROCS[started:]:
            stop(p)
    print(f"agreement: {len(files)} files, {len(groups)} proxy configurations, {time.time() - t0:.0f}s")
    for why, items in sorted(UNSERVABLE.items()):
        print(f"not servable, {len(items)} case(s): {why}")
        for i in items:
            print(f"    {i}")
    report = os.environ.get("MESHROUTE_AGREEMENT_REPORT")
    if report:
        json.dump({"corpora": COUNTS, "not_servable": UNSERVABLE, "disagree": DISAGREE},
                  open(report, "w"), indent=2, sort_keys=True)
    print("per corpus: served / agree / not servable (by reason)")
    for corpus, c in sorted(COUNTS.items()):
        n = sum(c["unservable"].values())
        print(f"  {corpus}: {c['served']} served, {c['agree']} agree, {n} not servable")
        for why, k in sorted(c["unservable"].items()):
            print(f"      {k:4d}  {why}")


def agreement_groups(fi, fname):
    """The file's servable cases grouped by proxy; the others counted. The
    decide helper loads the file and builds each request (defaults merged)
    as `meshroute test` does."""
    corpus = corpus_of(fname)
    short = os.path.relpath(fname, ROOT) if fname.startswith(ROOT + os.sep) else fname
    doc = yaml.safe_load(open(fname)) or {}
    cfg = doc.get("config") or {}
    inputs = [os.path.join(os.path.dirname(fname), f) for f in cfg.get("files", [])]
    if cfg.get("inline"):
        p = os.path.join(WORK, f"inline-{fi}.yaml")
        open(p, "w").write(cfg["inline"])
        inputs.append(p)
    if cfg.get("meshConfig") is not None:
        p = os.path.join(WORK, f"mesh-{fi}.yaml")
        mc = cfg["meshConfig"]
        open(p, "w").write(mc if isinstance(mc, str) else yaml.safe_dump(mc))
        inputs += ["--mesh-config", p]
    res = subprocess.run([DECIDE, "--routetest", fname], capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError("decide: " + res.stderr[-1000:])
    groups = {}
    for line in res.stdout.splitlines():
        d = json.loads(line)
        name, req = d["name"], d.get("request") or {}
        if not req:
            why = "no request (the case expects a configuration error)"
        else:
            why = unservable_reason(req, d)
        if why:
            UNSERVABLE.setdefault(why, []).append(f"{short}: {name}")
            tally(corpus, "unservable", why)
            continue
        groups.setdefault(proxy_args(req), []).append((name, req, d))
    return [{"tag": f"{fi}-{gi}", "short": short, "corpus": corpus, "inputs": inputs, "pargs": pargs,
             "items": items} for gi, (pargs, items) in enumerate(groups.items())]


def refuse_group(g, why):
    for name, _, _ in g["items"]:
        tally(g["corpus"], "served")
        DISAGREE.append(f"{g['short']}: {name}")
    check(f"[agreement] {g['short']} {' '.join(g['pargs'])}", False, why)


def serve_groups(groups):
    """All groups in one native and one filter Envoy: each group's listeners
    on ports of its own, clusters shared by name (one upstream each)."""
    ports = PortAllocator()
    usable = []
    for g in groups:
        try:
            probe, _ = envoy_config(g["inputs"], g["pargs"], 1, 2)
            n = max(1, len(probe["static_resources"]["listeners"]))
            g["native"], notes = envoy_config(g["inputs"], g["pargs"], ports.take(n), 2)
            g["filter"], _ = envoy_config(g["inputs"], g["pargs"], ports.take(n), 2, wasm=True)
            g["notes"] = notes
            usable.append(g)
        except Exception as e:
            refuse_group(g, str(e)[-1500:])
    if not usable:
        return
    clusters = {}
    for g in usable:
        g["own_clusters"] = {c["name"] for c in g["native"]["static_resources"]["clusters"]}
        for c in g["native"]["static_resources"]["clusters"]:
            clusters.setdefault(c["name"], c)
    for g in usable:
        g["foreign_clusters"] = set(clusters) - g["own_clusters"]
    up_base = ports.take(len(clusters)) if clusters else 0
    up_ports = {n: up_base + i for i, n in enumerate(clusters)}

    def merged(label, members):
        out = json.loads(json.dumps(members[0][label]))
        out["admin"]["address"]["socket_address"]["port_value"] = ports.take(1)
        out["static_resources"]["listeners"] = [
            l for g in members for l in rename(g, g[label]["static_resources"]["listeners"])]
        cs = {}
        for g in members:
            for c in g[label]["static_resources"]["clusters"]:
                cs.setdefault(c["name"], c)
        out["static_resources"]["clusters"] = list(cs.values())
        return with_upstreams(out, up_ports)

    def rename(g, listeners):
        for l in listeners:
            l = json.loads(json.dumps(l))
            l["name"] = f"g{g['tag']}_{l['name']}"
            yield l

    envoys = {}
    for label in ("native", "filter"):
        members = usable
        for attempt in range(2):
            conf = merged(label, members)
            path = os.path.join(WORK, f"{label}.json")
            log = os.path.join(WORK, f"{label}.log")
            json.dump(conf, open(path, "w"))
            admin = conf["admin"]["address"]["socket_address"]["port_value"]
            p = start_dynamic_envoy(path, admin, log)
            try:
                wait_ready(p, admin, log)
                envoys[label] = p
                break
            except RuntimeError as e:
                stop(p)
                if attempt == 1:
                    raise
                # Find the configurations Envoy refuses, one by one, and leave them out.
                kept = []
                for g in members:
                    one = os.path.join(WORK, f"{label}-{g['tag']}.json")
                    json.dump(g[label], open(one, "w"))
                    res = subprocess.run(["envoy", "--mode", "validate", "-c", one, "--use-dynamic-base-id"],
                                         capture_output=True, text=True, timeout=120)
                    if res.returncode == 0:
                        kept.append(g)
                    else:
                        refuse_group(g, f"Envoy refuses the {label} configuration: "
                                        + (res.stdout + res.stderr)[-1200:])
                usable = [g for g in usable if g in kept]
                members = usable
                if not members:
                    return
    if up_ports:
        start_upstreams(list(up_ports.items()))
    for g in usable:
        try:
            serve_group(g)
        except Exception as e:  # one broken group must not hide the others
            check(f"[agreement] {g['short']} {' '.join(g['pargs'])}: harness", False, repr(e)[-1500:])


def serve_group(g):
    short, corpus = g["short"], g["corpus"]
    lp = {label: listener_ports(g[label]) for label in ("native", "filter")}
    for name, req, d in g["items"]:
        port = request_port(req)
        out = d.get("outcome")
        blackhole = out == "directResponse" and d.get("status") == 502
        if port not in lp["native"] and (out in ("notFound", "passthrough") or blackhole):
            # Istio's virtual outbound listener takes such traffic (to the original destination or
            # the BlackHoleCluster); loopback has no original destination.
            why = f"no HTTP listener on the request's port (the decision: {'502 blackhole' if blackhole else out})"
            UNSERVABLE.setdefault(why, []).append(f"{short}: {name}")
            tally(corpus, "unservable", why)
            continue
        dests = d.get("destinations") or []
        if (out in ("route", "defaultRoute") and dests
                and all(x.get("problem") or x["weight"] == 0 for x in dests)
                and any(x["cluster"] in g["foreign_clusters"] for x in dests)):
            # Clusters are shared by name in one Envoy: another configuration defines the cluster
            # this one lacks (the decision's 503), so the request would reach it.
            why = "the decision's missing cluster is defined by another configuration sharing the Envoy"
            UNSERVABLE.setdefault(why, []).append(f"{short}: {name}")
            tally(corpus, "unservable", why)
            continue
        tally(corpus, "served")
        headers = {}
        for k, v in (req.get("headers") or {}).items():
            headers[k] = ",".join(v) if isinstance(v, list) else str(v)
        results = []
        for label in ("filter", "native"):
            local = lp[label].get(port)
            if local is None:
                results.append((f"no listener for port {port}", None, None, None, {}, {}))
                continue
            try:
                s, hs, body, _ = send(local, req.get("host", ""), req.get("path", "/"), req.get("method", "GET"),
                                      headers)
                path_seen = next((ln[5:] for ln in body.splitlines() if ln.startswith("path=")), None)
                seen = dict(ln.split("=", 1) for ln in body.splitlines()[3:] if "=" in ln)
                results.append((s, upstream_of(hs), hs.get("location"), path_seen, seen, hs))
            except Exception as e:  # the client refusing a request is a result too
                results.append(("client error: " + repr(e)[:80], None, None, None, {}, {}))
        ok, desc = agrees(d, results)
        if ok:
            tally(corpus, "agree")
        else:
            DISAGREE.append(f"{short}: {name}")
        check(f"[agreement] {short}: {name}: filter {results[0][:3]} native {results[1][:3]} want {desc}",
              ok, str([r[:5] for r in results])[:1500])


def echoed(name):
    """Whether the upstream echoes a request header (see upstream.rs)."""
    k = name.lower()
    return k.startswith("x-") and not k.startswith("x-envoy") and k not in ("x-request-id", "x-forwarded-proto")


def agrees(d, results):
    out = d.get("outcome")
    abort = (d.get("fault") or {}).get("abort") or {}
    rewrite = d.get("rewrite")
    if out in ("route", "defaultRoute"):
        ok_dests = [x["cluster"] for x in d["destinations"] if x["weight"] > 0 and not x.get("problem")]
        if ok_dests:
            # Header operations the upstream can show (it echoes x-* request headers).
            req_ops = d.get("requestHeaders") or {}
            upstream_set = {k: v for k, v in (req_ops.get("set") or {}).items() if echoed(k)}
            upstream_gone = [k for k in req_ops.get("remove") or [] if echoed(k)]
            resp_set = {k: v for k, v in ((d.get("responseHeaders") or {}).get("set") or {}).items()
                        if k.lower() not in ("content-length", "transfer-encoding", "connection")}

            def reached(r):
                return (r[1] in ok_dests and r[0] == 200 and (rewrite is None or r[3] == rewrite)
                        and all(r[4].get(k.lower()) == v for k, v in upstream_set.items())
                        and all(k.lower() not in r[4] for k in upstream_gone)
                        and all(r[5].get(k.lower()) == v for k, v in resp_set.items()))
            desc = " or ".join(ok_dests) + (f" path {rewrite}" if rewrite else "")
            if upstream_set or upstream_gone or resp_set:
                desc += f" headers set {upstream_set} removed {upstream_gone} response {resp_set}"
        else:
            def reached(r):
                return r[0] == 503 and r[1] is None
            desc = "503 (no usable cluster)"
        pct = abort.get("percent", 0) if abort.get("httpStatus") else 0
        if pct >= 100:
            def want(r):
                return r[0] == abort["httpStatus"] and r[1] is None
            desc = f"abort {abort['httpStatus']}"
        elif pct > 0:
            def want(r):
                return (r[0] == abort["httpStatus"] and r[1] is None) or reached(r)
            desc = f"abort {abort['httpStatus']} ({pct}%) or {desc}"
        else:
            want = reached
    elif out in ("redirect", "directResponse"):
        def want(r):
            return r[0] == d.get("status") and (out != "redirect" or r[2] == d.get("location"))
        desc = f"{d.get('status')} {d.get('location') or ''}"
    elif out == "notFound":
        def want(r):
            return r[0] == 404
        desc = "404"
    elif out == "passthrough":
        def want(r):
            return r[0] == 200 and r[1] == "PassthroughCluster"
        desc = "PassthroughCluster"
    else:
        def want(r):
            return False
        desc = str(out)
    return all(want(r) for r in results), desc


# ---------------------------------------------------------------------------
# Load benchmark: native routes, the floor filter and the meshroute filter
# ---------------------------------------------------------------------------
#
# Three Envoys (--concurrency 1, the same binary) in front of the same
# upstream process: (a) the native routes of `meshroute envoy-config`, (b) the
# floor filter (reads `:path`, sets the cluster header to a constant: what any
# proxy-wasm routing filter costs), (c) the meshroute filter on the same Istio
# config as (a). Rounds alternate a, b, c, so load from other processes falls
# on all three alike. Envoy's own CPU per request (user+sys from /proc over
# the run, divided by the requests wrk completed) does not depend on how
# wrk and the upstream share the cores; p50/p99 and req/s do.

BENCH_ROUNDS = int(os.environ.get("MESHROUTE_BENCH_ROUNDS", "12"))
BENCH_SECONDS = int(os.environ.get("MESHROUTE_BENCH_SECONDS", "3"))
BENCH_PATH = "/split"
# $MESHROUTE_BENCH_BASELINE_WASM adds a fourth Envoy, the meshroute filter
# from that .wasm (another build of it, to compare before and after in one run).
BASELINE_WASM = os.environ.get("MESHROUTE_BENCH_BASELINE_WASM")
# $MESHROUTE_BENCH_FLOOR_HEADERS=1 adds the floor filter setting the router
# headers the meshroute filter sets for /split too (Istio's default retries).
FLOOR_HEADERS = os.environ.get("MESHROUTE_BENCH_FLOOR_HEADERS") == "1"
BENCH_KINDS = (("native", "floor", "filter") + (("baseline",) if BASELINE_WASM else ())
               + (("floor_headers",) if FLOOR_HEADERS else ()))


def wrk(port, path, seconds):
    out = subprocess.run(["timeout", str(seconds + 20), "wrk", "-t2", "-c64", f"-d{seconds}s", "--latency",
                          "-H", "Host: reviews:9080", f"http://127.0.0.1:{port}{path}"],
                         capture_output=True, text=True).stdout

    def ms(pat):
        m = re.search(pat + r"\s+([\d.]+)(us|ms|s)\b", out)
        if not m:
            return float("nan")
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    done = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {"p50_ms": ms("50%"), "p99_ms": ms("99%"), "rps": float(rps.group(1)) if rps else float("nan"),
            "requests": int(done.group(1)) if done else 0, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(0) if errors else ""}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_times(pid):
    """(user, sys) seconds of a process (all its threads), from /proc/PID/stat."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLOCK_TICKS, int(fields[12]) / CLOCK_TICKS


def process_cpu_seconds(pid):
    """user+sys of a process (all its threads)."""
    return sum(process_cpu_times(pid))


def machine_cpu_seconds():
    """(busy, total) CPU seconds of the whole machine, from /proc/stat."""
    values = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / CLOCK_TICKS, sum(values[:8]) / CLOCK_TICKS


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def bench(example, endpoints_file, upstream_ports, ports, upstream=None):
    """The three Envoys, alternating rounds; prints one summary line per figure."""
    floor_wasm = os.environ.get("MESHROUTE_FLOOR_WASM") or os.path.join(
        os.path.dirname(WASM), "examples", "floor_filter.wasm")
    listen = {k: ports.take(1) for k in BENCH_KINDS}
    admin = {k: ports.take(1) for k in BENCH_KINDS}
    paths = {k: os.path.join(WORK, f"bench-{k}.json") for k in BENCH_KINDS}
    generate(example, paths["native"], listen["native"], admin["native"], endpoints_file)
    generate(example, paths["filter"], listen["filter"], admin["filter"], endpoints_file, wasm=True)
    floor = generate(example, paths["floor"], listen["floor"], admin["floor"], endpoints_file, wasm=True)
    wasm_filter = floor["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0][
        "typed_config"]["http_filters"][0]["typed_config"]["config"]
    cluster_header = json.loads(wasm_filter["configuration"]["value"])["clusterHeader"]
    wasm_filter["configuration"]["value"] = f"{cluster_header} outbound|9080|v1|reviews.default.svc.cluster.local"
    wasm_filter["vm_config"]["code"]["local"]["filename"] = floor_wasm
    wasm_filter["vm_config"]["vm_id"] = wasm_filter["root_id"] = wasm_filter["name"] = "floor"
    json.dump(floor, open(paths["floor"], "w"))
    if FLOOR_HEADERS:
        wasm_filter["configuration"]["value"] += (" x-envoy-upstream-rq-timeout-ms=0 x-envoy-max-retries=2"
                                                  " x-envoy-retry-on=connect-failure,refused-stream"
                                                  " x-envoy-retry-grpc-on=unavailable,cancelled")
        wasm_filter["vm_config"]["vm_id"] = wasm_filter["root_id"] = wasm_filter["name"] = "floor_headers"
        for l in floor["static_resources"]["listeners"]:
            l["address"]["socket_address"]["port_value"] = listen["floor_headers"]
        floor["admin"]["address"]["socket_address"]["port_value"] = admin["floor_headers"]
        json.dump(floor, open(paths["floor_headers"], "w"))
    if BASELINE_WASM:
        base = generate(example, paths["baseline"], listen["baseline"], admin["baseline"], endpoints_file, wasm=True)
        base["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"][
            "http_filters"][0]["typed_config"]["config"]["vm_config"]["code"]["local"]["filename"] = BASELINE_WASM
        json.dump(base, open(paths["baseline"], "w"))

    upstream = upstream or start_upstreams(list(upstream_ports.items()))
    envoys = {k: start_envoy(paths[k], admin[k], os.path.join(WORK, f"bench-{k}.log")) for k in BENCH_KINDS}
    results = {k: [] for k in BENCH_KINDS}
    load_start = open("/proc/loadavg").read().split()[:3]
    busy0, total0 = machine_cpu_seconds()
    ours0 = sum(process_cpu_seconds(p.pid) for p in [upstream, *envoys.values()])
    children0 = sum(os.times()[2:4])
    for k in BENCH_KINDS:  # warm-up: connections, the wasm VM's tiers
        wrk(listen[k], BENCH_PATH, 1)
    for r in range(BENCH_ROUNDS):
        for k in BENCH_KINDS:
            user0, sys0 = process_cpu_times(envoys[k].pid)
            res = wrk(listen[k], BENCH_PATH, BENCH_SECONDS)
            user1, sys1 = process_cpu_times(envoys[k].pid)
            n = max(res["requests"], 1)
            res["cpu_us_per_request"] = (user1 - user0 + sys1 - sys0) * 1e6 / n
            res["user_us_per_request"] = (user1 - user0) * 1e6 / n
            results[k].append(res)
            print(f"bench round {r + 1} {k}: " + " ".join(
                f"{key}={value:.3f}" if isinstance(value, float) else f"{key}={value}"
                for key, value in res.items() if value != ""), flush=True)
    busy1, total1 = machine_cpu_seconds()
    ours1 = sum(process_cpu_seconds(p.pid) for p in [upstream, *envoys.values()])
    children1 = sum(os.times()[2:4])
    for p in envoys.values():
        stop(p)

    bad = {k: sum(x["non2xx"] for x in results[k]) for k in BENCH_KINDS}
    check("bench: every benchmark request answered 2xx through all three Envoys", not any(bad.values()), str(bad))
    cores = os.cpu_count() or 1
    other = max(0.0, (busy1 - busy0) - (ours1 - ours0) - (children1 - children0))
    print(f"bench_machine cores={cores} loadavg_start={'/'.join(load_start)} "
          f"loadavg_end={'/'.join(open('/proc/loadavg').read().split()[:3])} "
          f"busy={100 * (busy1 - busy0) / max(total1 - total0, 1e-9):.0f}% "
          f"other_processes={100 * other / max(total1 - total0, 1e-9):.0f}% "
          f"rounds={BENCH_ROUNDS} seconds={BENCH_SECONDS} wrk=-t2,-c64 path={BENCH_PATH}")
    print(f"wasm_bytes filter={os.path.getsize(WASM)} floor={os.path.getsize(floor_wasm)}")
    figures = {}
    # (figure, wrk/proc key, which round is best)
    for figure, key, best in (("cpu_us_per_request", "cpu_us_per_request", min),
                              ("user_cpu_us_per_request", "user_us_per_request", min), ("p50_ms", "p50_ms", min),
                              ("p99_ms", "p99_ms", min), ("requests_per_second", "rps", max)):
        med = {k: median([x[key] for x in results[k]]) for k in BENCH_KINDS}
        top = {k: best(x[key] for x in results[k]) for k in BENCH_KINDS}
        figures[figure] = med
        best_name = "min" if best is min else "max"
        print(f"{figure} " + " ".join(f"{k}={med[k]:.3f}" for k in BENCH_KINDS)
              + "".join(f" {best_name}_{k}={top[k]:.3f}" for k in BENCH_KINDS)
              + "".join(f" ratio_{k}={med[k] / med['native']:.3f}" for k in BENCH_KINDS[1:])
              + "".join(f" {best_name}_ratio_{k}={top[k] / top['native']:.3f}" for k in BENCH_KINDS[1:]))
    # Paired by round (the kinds of one round ran back to back, under about
    # the same outside load): the median of the per-round differences is
    # steadier on a shared machine than the difference of the medians.
    def paired(a, b):
        return median([x["cpu_us_per_request"] - y["cpu_us_per_request"] for x, y in zip(results[a], results[b])])
    added_floor = paired("floor", "native")
    added_filter = paired("filter", "native")
    over_floor = paired("filter", "floor")
    ratio = added_filter / added_floor if added_floor > 0 else float("nan")
    extra = "".join(f" {k}={paired(k, 'native'):.3f}" for k in BENCH_KINDS[3:])
    print(f"added_cpu_us_per_request floor={added_floor:.3f} filter={added_filter:.3f}{extra} "
          f"filter_over_floor={over_floor:.3f} ratio_filter_to_floor={ratio:.3f}")
    print(f"bench_targets filter_minus_floor_us={over_floor:.3f} (target <= 5: "
          f"{'met' if over_floor <= 5 else 'missed'}) "
          f"added_ratio={ratio:.3f} (target <= 1.3: {'met' if ratio <= 1.3 else 'missed'})")


def main():
    os.makedirs(WORK, exist_ok=True)
    if "--agreement-only" in sys.argv[6:]:
        conformance()
        return
    bench_only = "--bench-only" in sys.argv[6:]
    example = [os.path.join(EXAMPLE, "istio.yaml")]
    # The example's endpoints file, moved onto ports free on this machine
    # (runs side by side do not collide).
    ports = PortAllocator()
    filter_port, native_port, filter_admin, native_admin = (ports.take(1) for _ in range(4))
    upstream_ports = {name: ports.take(1) for name in ("v1", "v2", "v3")}
    by_old = {18181: upstream_ports["v1"], 18182: upstream_ports["v2"], 18183: upstream_ports["v3"]}
    endpoints = json.load(open(os.path.join(EXAMPLE, "endpoints.json")))
    for key, value in endpoints.items():
        moved = [f"127.0.0.1:{by_old[int(a.rsplit(':', 1)[1])]}" for a in (value if isinstance(value, list) else [value])]
        endpoints[key] = moved if isinstance(value, list) else moved[0]
    ep = os.path.join(WORK, "endpoints.json")
    json.dump(endpoints, open(ep, "w"))
    generate(example, os.path.join(WORK, "filter.json"), filter_port, filter_admin, ep, wasm=True)
    generate(example, os.path.join(WORK, "native.json"), native_port, native_admin, ep)
    if bench_only:
        bench(example, ep, upstream_ports, ports)
        return
    upstream = start_upstreams(list(upstream_ports.items()))
    ef = start_envoy(os.path.join(WORK, "filter.json"), filter_admin, os.path.join(WORK, "filter.log"))
    en = start_envoy(os.path.join(WORK, "native.json"), native_admin, os.path.join(WORK, "native.log"))
    features("filter", filter_port)
    features("native", native_port)

    # A broken configuration fails the plugin start with meshroute's messages.
    bad = os.path.join(WORK, "bad.yaml")
    open(bad, "w").write(open(example[0]).read().replace("subset: v3}}]", "subst: v3}}]"))
    generate([os.path.join(EXAMPLE, "istio.yaml")], os.path.join(WORK, "bad.json"), ports.take(1), ports.take(1), ep,
             wasm=True)
    cfg = json.load(open(os.path.join(WORK, "bad.json")))
    wasm_cfg = cfg["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]["http_filters"][0]["typed_config"]["config"]["configuration"]
    plugin = json.loads(wasm_cfg["value"])
    plugin["config"] = open(bad).read()
    wasm_cfg["value"] = json.dumps(plugin)
    json.dump(cfg, open(os.path.join(WORK, "bad.json"), "w"))
    res = subprocess.run(["envoy", "--mode", "validate", "-c", os.path.join(WORK, "bad.json"), "--use-dynamic-base-id"],
                         capture_output=True, text=True, timeout=60)
    log = res.stdout + res.stderr
    check("broken Istio config: Envoy refuses the plugin with meshroute's message, no crash",
          res.returncode != 0 and "meshroute:" in log and "subst" in log and "Segmentation" not in log,
          log[-800:])

    # Resources Istio's webhook refuses are left out and named; Envoy loads the rest.
    refused = os.path.join(WORK, "refused.yaml")
    open(refused, "w").write(open(example[0]).read() + """
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: abort-700, namespace: default}
spec:
  hosts: [ratings]
  http:
  - fault: {abort: {httpStatus: 700, percentage: {value: 100}}}
    route: [{destination: {host: ratings}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: zero-weights, namespace: default}
spec:
  hosts: [zero.example.com]
  http:
  - route:
    - {destination: {host: reviews, subset: v1}, weight: 0}
    - {destination: {host: reviews, subset: v2}, weight: 0}
""")
    res = subprocess.run([MESHROUTE, "envoy-config", refused, "--listen", str(ports.take(1)),
                          "--admin", str(ports.take(1))],
                         capture_output=True, text=True, timeout=60)
    open(os.path.join(WORK, "refused.json"), "w").write(res.stdout)
    val = subprocess.run(["envoy", "--mode", "validate", "-c", os.path.join(WORK, "refused.json"),
                          "--use-dynamic-base-id"], capture_output=True, text=True, timeout=60)
    check("refused resources: envoy-config names them on stderr and Envoy loads the rest",
          res.returncode == 0 and "default/abort-700" in res.stderr and "default/zero-weights" in res.stderr
          and val.returncode == 0, res.stderr[-800:] + (val.stdout + val.stderr)[-800:])

    stop(ef)
    stop(en)
    if BENCH:
        bench(example, ep, upstream_ports, ports, upstream)
    conformance()


try:
    main()
except Exception as e:  # a harness failure is a failed test, reported as such
    check("harness", False, repr(e))
finally:
    cleanup()
    print(f"{RESULTS['passed']} passed, {RESULTS['failed']} failed")
    sys.exit(1 if RESULTS["failed"] else 0)
