#!/usr/bin/env python3
"""Turns the placement/sizing benchmark JSON into the markdown tables of benchmarks/README.md.

usage: report.py placement.json [sizing.json]
CPU time is reported (the machines are shared; wall time includes waiting for a core).
"""
import json
import re
import sys


def load(path):
    with open(path) as f:
        return json.load(f)["benchmarks"]


def table(runs, baseline_name):
    rows = {}
    bigo = {}
    for b in runs:
        name = b["name"]
        if name.endswith("_BigO"):
            bigo[name[: -len("_BigO")]] = (b["cpu_coefficient"], b.get("big_o", ""))
            continue
        if name.endswith("_RMS") or b.get("run_type") == "aggregate":
            continue
        m = re.match(r"(.*)/(\d+)$", name)
        if not m:
            continue
        family, n = m.group(1), int(m.group(2))
        t = b["cpu_time"] * {"ns": 1e-3, "us": 1.0, "ms": 1e3}[b["time_unit"]]
        rows.setdefault(family, {})[n] = t
    sizes = sorted({n for r in rows.values() for n in r})
    base = rows.get(baseline_name, {})
    out = ["| benchmark | " + " | ".join(f"{n} guests" for n in sizes) + " | ns/guest at 1024 | vs baseline at 1024 | fit (ns × N) |",
           "|---|" + "---|" * (len(sizes) + 3)]
    for family, r in rows.items():
        cells = [f"{r[n]:.3g} µs" if n in r else "" for n in sizes]
        per = f"{r[1024] * 1e3 / 1024:.1f}" if 1024 in r else ""
        ratio = f"{r[1024] / base[1024]:.2f}×" if 1024 in r and 1024 in base else ""
        coef = f"{bigo[family][0]:.1f}" if family in bigo else ""
        out.append(f"| `{family}` | " + " | ".join(cells) + f" | {per} | {ratio} | {coef} |")
    return "\n".join(out)


if __name__ == "__main__":
    print(table(load(sys.argv[1]), "baseline<placement::xen_default, 8>"))
    if len(sys.argv) > 2:
        print()
        print(table(load(sys.argv[2]), "sizing_round<sizing::static_xen_default, make_xen, 8>"))
