#!/usr/bin/env python3
"""Turns bench_flipping's JSON into the spread table of benchmarks/README.md (flipping section).

usage: report.py flipping.json
Each cell: ns per page selected, as a ratio to BM_bare_pop at the same batch in the same run
(medians when the run has repetitions). CPU time: the machine is shared.
"""
import json
import re
import sys

SPREADS = {1: "guest's node", 2: "2 nodes, 50/50", 4: "4 nodes", 8: "8 nodes"}


def medians(path):
    with open(path) as f:
        runs = json.load(f)["benchmarks"]
    has_aggregates = any(b.get("run_type") == "aggregate" for b in runs)
    out = {}
    for b in runs:
        if has_aggregates and b.get("aggregate_name") != "median":
            continue
        name = b.get("run_name", b["name"])
        if "ns_per_page" in b:
            out[name] = b["ns_per_page"]
        elif "ns_per_byte" in b:
            out[name] = b["ns_per_byte"]
    return out


def main(path):
    m = medians(path)
    pop = {int(k.split("/")[1]): v for k, v in m.items() if k.startswith("BM_bare_pop/")}
    batches = sorted(pop)
    print("| policy | buffers on | " + " | ".join(f"batch {b}" for b in batches) + " |")
    print("|---|---|" + "---|" * len(batches))
    print("| bare pop (ns/page) | one node | " + " | ".join(f"{pop[b]:.2f} ns" for b in batches) + " |")
    rows = {}
    for k, v in m.items():
        r = re.match(r"BM_select<(\w+)>/(\d+)/(\d+)$", k)
        if r:
            rows.setdefault((r.group(1), int(r.group(3))), {})[int(r.group(2))] = v
    worst64 = {}
    for (policy, spread), cells in sorted(rows.items(), key=lambda x: (["numa_local", "informed", "xen_default_flip", "grant_copy"].index(x[0][0]), x[0][1])):
        ratios = [cells[b] / pop[b] if b in cells else None for b in batches]
        text = [f"{x:.1f}×" if x is not None else "" for x in ratios]
        if 64 in batches and 64 in cells:
            worst64[policy] = max(worst64.get(policy, 0), cells[64] / pop[64])
            text[batches.index(64)] = f"**{text[batches.index(64)]}**"
        print(f"| `{policy}` | {SPREADS.get(spread, spread)} | " + " | ".join(text) + " |")
    print()
    for policy, w in worst64.items():
        print(f"- `{policy}`: worst spread at batch 64 = {w:.2f}× the pop")
    copies = {int(k.split("/")[1]): v for k, v in m.items() if k.startswith("BM_copy_cold/")}
    if copies:
        print("- cold copy: " + ", ".join(f"{n} B: {v:.3f} ns/byte ({v * n:.0f} ns)" for n, v in sorted(copies.items())))


if __name__ == "__main__":
    main(sys.argv[1])
