#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""sluice against each target over repeated runs of the adaptive benchmark.

    tools/bench/adaptive/repeat.py OUT RUN_DIR...

Reads each run's csv/SCENARIO-summary.json (written by analyze.py) and
writes OUT/repeat.md: for every target, in how many runs sluice met it,
the median of the number it is judged by, and each run's result. On a
small shared machine one run can land in a quiet or a busy minute; the
count and the median say what a change to the law did, one run does not.
"""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from analyze import SCEN, table, target_rows  # noqa: E402


def fmt(v):
    if v is None:
        return "-"
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


def main():
    if len(sys.argv) < 3:
        print("usage: repeat.py OUT RUN_DIR...", file=sys.stderr)
        return 2
    out, dirs = sys.argv[1], sys.argv[2:]
    targets = {}  # (scenario, target) -> [(met, value, text) per run]
    order = []
    for d in dirs:
        for key, _, _ in SCEN:
            path = os.path.join(d, "csv", f"{key}-summary.json")
            try:
                s = json.load(open(path)).get("sluice")
            except (OSError, ValueError):
                continue
            if s is None:
                continue
            for scen, target, text, met, value in target_rows(key, s):
                if (scen, target) not in targets:
                    targets[(scen, target)] = []
                    order.append((scen, target))
                targets[(scen, target)].append((met, value, text))
    if not targets:
        print(f"repeat: no csv/*-summary.json with a sluice run under {' '.join(dirs)}",
              file=sys.stderr)
        return 1
    rows = []
    for scen, target in order:
        got = targets[(scen, target)]
        met = sum(1 for m, _, _ in got if m)
        values = [v for _, v, _ in got if v is not None]
        median = statistics.median(values) if values else None
        rows.append([scen, target, f"{met} of {len(got)}",
                     f"{fmt(median)} ({len(values)} of {len(got)} runs had one)",
                     " / ".join(t for _, _, t in got)])
    md = ["# sluice against each target, over repeated runs", "",
          f"Runs: {', '.join(os.path.basename(d.rstrip('/')) for d in dirs)}. The number a "
          "target is judged by: ping p99 in ms (flows), seconds (step, blackhole, heal, "
          "stall), with / alone (surge), share of the bottleneck (loss goodput), openings, "
          "lost segments. A run where the event did not happen has none.", "",
          table(["scenario", "target", "met in", "median", "each run"], rows), ""]
    with open(os.path.join(out, "repeat.md"), "w") as f:
        f.write("\n".join(md))
    print("\n".join(md))
    return 0


if __name__ == "__main__":
    sys.exit(main())
