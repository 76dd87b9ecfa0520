"""The test suite's wall time, today against a base revision, side by side on this machine.

    .venv/bin/python benchmarks/tests.py [--base REV] [--runs 2]

Checks out ``--base`` (default: the last revision before the suite ran in parallel) into a
temporary git worktree and runs, alternately, ``--runs`` times each:

- the base's suite as its ``python3 dev.py test`` ran it: ``python -m pytest`` in the worktree;
- this tree's suite as ``python3 dev.py test`` runs it now (``dev.TEST_ARGS``: every core).

Both use this checkout's ``.venv``, so the interpreter, the packages and the machine are the same;
alternating spreads any background load over both. Before timing, it counts each tree's tests
(``pytest --collect-only``) and its ``assert`` statements (``pytest.raises``/``pytest.warns`` blocks
included), so a faster suite cannot hide fewer checks. Prints each run, the medians and
``now / base: 0.NNx (target <= 0.5x)``. Measures; never fails a build.
"""

from __future__ import annotations

import argparse
import ast
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import dev  # noqa: E402

# The last revision whose suite ran on one core (issue 13-18's closing state).
DEFAULT_BASE = "2d44e5c"
TEST_DIRS = ("tests", "functions")


def count_tests(tree: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", "-n", "0"],
        cwd=tree, capture_output=True, text=True, env=_env(),
    ).stdout
    return sum(1 for line in out.splitlines() if "::" in line)


def count_assertions(tree: Path) -> int:
    """``assert`` statements plus ``pytest.raises``/``pytest.warns`` blocks in the test code."""
    found = 0
    for directory in TEST_DIRS:
        for path in sorted((tree / directory).rglob("*.py")):
            if ".venv" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if isinstance(node, ast.Assert) or (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("raises", "warns")
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "pytest"
                ):
                    found += 1
    return found


def _env() -> dict[str, str]:
    # Not a CI run (CI=true only changes messages), and no user-level pytest options.
    return {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "CI")}


def timed(tree: Path, args: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=tree, capture_output=True, text=True, env=_env(),
    )
    elapsed = time.perf_counter() - start
    last = (result.stdout.strip().splitlines() or ["(no output)"])[-1]
    return elapsed, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default=DEFAULT_BASE, help=f"the revision to compare with (default {DEFAULT_BASE})")
    parser.add_argument("--runs", type=int, default=2, help="runs of each suite (default 2)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="suite-base-") as tmp:
        base = Path(tmp) / "base"
        subprocess.run(["git", "worktree", "add", "--detach", str(base), args.base], cwd=ROOT, check=True, capture_output=True)
        try:
            print(f"cores: {os.cpu_count()}; base {args.base}, this tree {ROOT}")
            for label, tree in (("base", base), ("now", ROOT)):
                print(f"{label:<4} tests: {count_tests(tree)}, assertions: {count_assertions(tree)}")
            times: dict[str, list[float]] = {"base": [], "now": []}
            for run in range(1, args.runs + 1):
                for label, tree, extra in (("base", base, []), ("now", ROOT, list(dev.TEST_ARGS))):
                    elapsed, last = timed(tree, extra)
                    times[label].append(elapsed)
                    print(f"run {run} {label:<4} {elapsed:7.1f} s  {last}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False, capture_output=True)
    base_median, now_median = statistics.median(times["base"]), statistics.median(times["now"])
    spread = ", ".join(f"{n / b:.2f}x" for n, b in zip(times["now"], times["base"], strict=True))
    print(f"median: base {base_median:.1f} s, now {now_median:.1f} s")
    print(f"now / base: {now_median / base_median:.2f}x (target <= 0.5x; per run pair: {spread})")


if __name__ == "__main__":
    main()
