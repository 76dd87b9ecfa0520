"""Speed and memory of the offline synth: the local main job should stay interactive.

    .venv/bin/python benchmarks/synth.py [--runs 5]

Reports, per stack, the wall time of an in-process synth (median of N runs, after one warm-up
that pays for imports) and of a cold `python -m ops synth` subprocess, plus the subprocess's peak
RSS. Targets (README, "Benchmarks"): cold synth of prod under 5 s and 300 MiB on the project's
reference machine (2 cores). Measures; never fails a build.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops import harness, stackfiles  # noqa: E402


def in_process(stack: str, runs: int) -> float:
    files = stackfiles.load(stack)
    harness.run_program(stack=stack, config=files.config)  # warm-up: imports
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        harness.run_program(stack=stack, config=files.config)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def cold(stack: str) -> tuple[float, float]:
    start = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-m", "ops", "synth", stack], cwd=ROOT, check=True, capture_output=True)
    elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak_kib, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(f"{'stack':<6} {'resources':>9} {'in-process (median)':>20} {'cold subprocess':>16} {'peak RSS':>10}")
    for stack in ("dev", "prod"):
        count = len(harness.run_program(stack=stack, config=stackfiles.load(stack).config).resources)
        warm = in_process(stack, args.runs)
        wall, rss = cold(stack)
        print(f"{stack:<6} {count:>9} {warm:>19.2f}s {wall:>15.2f}s {rss:>7.0f} MiB")


if __name__ == "__main__":
    main()
