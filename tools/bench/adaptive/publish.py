#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Publish an adaptive benchmark run in the tree.

    tools/bench/adaptive/publish.py [RESULTS_DIR] [--repeat REPEAT_DIR]
        (default bench-results/adaptive)

Copies the run's results.md into docs/BENCHMARKS_ADAPTIVE.md under "Latest
results", its summary table into README.md, and its plots into docs/bench/.
With --repeat, the table of REPEAT_DIR/repeat.md (a REPEAT=N run of
tools/bench_adaptive.sh) goes under the run, as "Over repeated runs".
A run that lacks a scenario's section or plot is refused, and nothing is
written: a published run is a whole one.
"""
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "BENCHMARKS_ADAPTIVE.md"
README = ROOT / "README.md"
PLOTS = ["flows16", "flows64", "step", "surge", "blackhole", "loss", "stall"]
LATEST = "## Latest results\n"
AFTER_LATEST = "## What the latest runs showed\n"
README_LEAD = "The latest adaptive run, sluice against each target"


def fail(msg):
    print(f"publish: {msg}", file=sys.stderr)
    sys.exit(1)


def run_body(results):
    """The run's header and sections, as subsections of "Latest results",
    with plot links that resolve from docs/."""
    text = results.read_text()
    start = text.find("- started ")
    if start < 0:
        fail(f"{results}: no '- started' line: not a results.md")
    kept = []
    for line in text[start:].splitlines():
        if line.startswith("- one run per sender") or line.startswith("How each scenario"):
            continue
        if line.startswith("## "):
            line = "#" + line
        line = re.sub(r"^Plot: \[(\w+\.png)\]\(\1\)", r"Plot: [docs/bench/\1](bench/\1)", line)
        kept.append(line)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip() + "\n"
    for name in PLOTS:
        if f"(bench/{name}.png)" not in body:
            fail(f"{results}: no {name} section with its plot: publish a full run")
    return body


def summary_table(body):
    m = re.search(r"### Summary: sluice against each target\n\n((?:\|.*\n)+)", body)
    if not m:
        fail("no summary table in the run")
    return m.group(1)


def repeated(repeat_dir):
    """REPEAT_DIR/repeat.md as a subsection of "Latest results"."""
    path = repeat_dir / "repeat.md"
    try:
        text = path.read_text()
    except OSError as e:
        fail(f"{path}: {e.strerror}")
    m = re.search(r"\n(Runs: .*?)\n\n((?:\|.*\n)+)", text)
    if not m:
        fail(f"{path}: no table: not a repeat.md")
    return ("### Over repeated runs\n\n"
            f"sluice in `REPEAT=N tools/bench_adaptive.sh`, each run whole. "
            f"{m.group(1)}\n\n{m.group(2)}")


def main():
    args = sys.argv[1:]
    repeat_dir = None
    if "--repeat" in args:
        i = args.index("--repeat")
        if i + 1 >= len(args):
            fail("--repeat needs a directory")
        repeat_dir = Path(args[i + 1])
        del args[i:i + 2]
    if len(args) > 1:
        fail("usage: publish.py [RESULTS_DIR] [--repeat REPEAT_DIR]")
    results_dir = Path(args[0] if args else ROOT / "bench-results" / "adaptive")
    results = results_dir / "results.md"
    if not results.is_file():
        fail(f"{results}: no such file")
    body = run_body(results)
    if repeat_dir is not None:
        body += "\n" + repeated(repeat_dir)
    missing = [p for p in PLOTS if not (results_dir / f"{p}.png").is_file()]
    if missing:
        fail(f"{results_dir}: no plot for {', '.join(missing)}")

    doc = DOC.read_text()
    i = doc.find(LATEST)
    if i < 0:
        fail(f"{DOC}: no '{LATEST.strip()}' section")
    intro_end = doc.find("\n- started ", i)
    if intro_end < 0:
        fail(f"{DOC}: no run under '{LATEST.strip()}'")
    j = doc.find(AFTER_LATEST, intro_end)
    if j < 0:
        fail(f"{DOC}: no '{AFTER_LATEST.strip()}' section after the run")
    doc = doc[:intro_end + 1] + body + "\n" + doc[j:]

    readme = README.read_text()
    i = readme.find(README_LEAD)
    if i < 0:
        fail(f"{README}: no '{README_LEAD}' paragraph")
    t0 = readme.find("\n| scenario |", i)
    t1 = readme.find("\n\n", t0 + 1)
    if t0 < 0 or t1 < 0:
        fail(f"{README}: no summary table after '{README_LEAD}'")
    readme = readme[:t0 + 1] + summary_table(body).rstrip("\n") + readme[t1:]

    DOC.write_text(doc)
    README.write_text(readme)
    for name in PLOTS:
        shutil.copyfile(results_dir / f"{name}.png", ROOT / "docs" / "bench" / f"{name}.png")
    print(f"publish: {results} -> {DOC.relative_to(ROOT)}, README.md, docs/bench/")


if __name__ == "__main__":
    main()
