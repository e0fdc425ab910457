#!/usr/bin/env python3
"""Instructions per decision of bench_placement's rounds, counted by callgrind (repeatable on a
shared machine, where times are not), as ratios to xen_default's plan counted the same way.

usage: instructions.py path/to/bench_placement [guests]

Each benchmark runs alone under `valgrind --tool=callgrind --collect-atstart=no
--toggle-collect='*timed_decide*'`: only the timed decisions are counted (placement.cpp sends each
one through timed_decide), and the count is divided by the calls to timed_decide in the profile.
"""
import os
import re
import subprocess
import sys
import tempfile

BASELINE = "baseline<placement::xen_default, 8>"
ROWS = [
    BASELINE,
    "full_plan<placement::closer, 8>",
    "closer_first_plan<8>",
    "first_plan_floating<closer_alone, 8>",
    "first_plan_floating<dynamic_then_closer, 8>",
    "changed_round<closer_alone, 8>",
    "changed_round<dynamic_then_closer, 8>",
    "settled_round<dynamic_then_closer, 8>",
]


def count(binary, name, guests):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "callgrind.out")
        subprocess.run(
            ["valgrind", "--tool=callgrind", "--collect-atstart=no", "--toggle-collect=*timed_decide*",
             f"--callgrind-out-file={out}", binary, f"--benchmark_filter=^{name}/{guests}$",
             "--benchmark_min_time=0.01"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        names, total, calls, into_timed = {}, 0, 0, False
        with open(out) as f:
            for line in f:
                if line.startswith("summary:") or line.startswith("totals:"):
                    total = int(line.split()[1])
                m = re.match(r"c?fn=\((\d+)\)(?: (.*))?", line)
                if m:
                    if m.group(2):
                        names[m.group(1)] = m.group(2)
                    into_timed = line.startswith("cfn=") and "timed_decide<" in names.get(m.group(1), "")
                    continue
                if into_timed and line.startswith("calls="):
                    calls += int(line.split("=")[1].split()[0])
                    into_timed = False
        if calls == 0:
            raise SystemExit(f"{name}/{guests}: no call to timed_decide counted")
        return total / calls, calls


if __name__ == "__main__":
    binary = sys.argv[1]
    guests = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
    base = None
    print(f"| benchmark ({guests} guests) | instructions per decision | vs `xen_default` |")
    print("|---|---|---|")
    for row in ROWS:
        ir, _ = count(binary, row, guests)
        base = base or ir
        print(f"| `{row}` | {ir:,.0f} | {ir / base:.2f}× |", flush=True)
