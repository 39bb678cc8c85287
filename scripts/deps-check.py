#!/usr/bin/env python3
"""Dependency policy check (the test command's `deps` stage).

An offline equivalent of `cargo deny check licenses bans sources`, driven by
the same deny.toml: for the workspace (proxy-wasm/ included) and the separate
fuzz/ project it reads `cargo metadata` and checks

* licenses: every crates.io dependency's SPDX expression is satisfiable with
  the `[licenses] allow` list (the project's own unpublished crates need none);
* sources: every dependency comes from crates.io or is a local path;
* duplicates: no crate is resolved at two versions unless `[bans] skip` lists
  it with a reason.

Advisories are not checked: the RustSec database is on GitHub, which the
project's machines cannot reach (see deny.toml).
"""
import json
import os
import re
import subprocess
import sys
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROJECTS = ["Cargo.toml", "fuzz/Cargo.toml"]
CRATES_IO = {
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
}


def tokens(expr):
    # Old crates write `MIT/Apache-2.0`, meaning OR.
    expr = expr.replace("/", " OR ")
    return re.findall(r"\(|\)|[A-Za-z0-9.+-]+", expr)


def satisfiable(expr, allowed):
    """Whether an SPDX expression can be met with the allowed licenses."""
    toks = tokens(expr)
    pos = 0

    def peek():
        return toks[pos] if pos < len(toks) else None

    def take():
        nonlocal pos
        pos += 1
        return toks[pos - 1]

    def primary():
        if peek() == "(":
            take()
            v = disjunction()
            if take() != ")":
                raise ValueError(f"unbalanced parentheses in {expr!r}")
            return v
        lic = take()
        if peek() == "WITH":
            take()
            lic = f"{lic} WITH {take()}"
        return lic in allowed

    def conjunction():
        v = primary()
        while peek() == "AND":
            take()
            v = primary() and v
        return v

    def disjunction():
        v = conjunction()
        while peek() == "OR":
            take()
            v = conjunction() or v
        return v

    result = disjunction()
    if pos != len(toks):
        raise ValueError(f"cannot parse license {expr!r}")
    return result


def metadata(manifest):
    lock = os.path.join(ROOT, os.path.dirname(manifest), "Cargo.lock")
    cmd = ["cargo", "metadata", "--format-version", "1", "--manifest-path", os.path.join(ROOT, manifest)]
    if subprocess.run(["git", "ls-files", "--error-unmatch", lock], cwd=ROOT,
                      capture_output=True).returncode == 0:
        cmd.append("--locked")  # a committed lockfile is what is checked
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"deps: cargo metadata failed for {manifest}:\n{out.stderr}")
    return json.loads(out.stdout)


def check(manifest, policy):
    allowed = set(policy["licenses"]["allow"])
    skip = {s["crate"]: s.get("reason", "") for s in policy["bans"].get("skip", [])}
    meta = metadata(manifest)
    resolved = {n["id"] for n in meta["resolve"]["nodes"]}
    packages = [p for p in meta["packages"] if p["id"] in resolved]
    problems = []
    versions = {}
    for p in packages:
        name, version, source = p["name"], p["version"], p["source"]
        versions.setdefault(name, set()).add(version)
        if source is None:
            # A local crate: the project's own. Unpublished ones need no license.
            if p.get("publish") == [] or not p.get("license"):
                continue
        elif source not in CRATES_IO:
            problems.append(f"{name} {version}: source {source} is not crates.io")
            continue
        lic = p.get("license")
        if not lic:
            problems.append(f"{name} {version}: no SPDX license (license-file only)")
        elif not satisfiable(lic, allowed):
            problems.append(f"{name} {version}: license {lic!r} is not allowed by deny.toml")
    for name, vs in sorted(versions.items()):
        if len(vs) > 1 and name not in skip:
            problems.append(f"{name}: several versions {sorted(vs)}; unify them or add a [bans] skip entry with a reason")
    return len(packages), problems


def main():
    with open(os.path.join(ROOT, "deny.toml"), "rb") as f:
        policy = tomllib.load(f)
    failed = 0
    for manifest in PROJECTS:
        count, problems = check(manifest, policy)
        for p in problems:
            print(f"deps: {manifest}: {p}")
        failed += len(problems)
        print(f"deps: {manifest}: {count} crates, {len(problems)} problems")
    print("deps: advisories not checked (the RustSec database cannot be fetched offline; see deny.toml)")
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
