"""How long a new user's first ``python3 dev.py synth prod`` takes, installing with uv against pip.

    .venv/bin/python benchmarks/install.py [--runs 2] [--warm] [--python python3] [--keep]

Each run copies the working tree (the files git lists, tracked or new, so uncommitted changes to
dev.py count; never .venv) into a fresh temporary directory and times the first
``python3 dev.py synth prod`` there: with uv (dev.py's default) and with ``DEVPY_INSTALLER=pip``,
alternately (uv first in odd runs, pip first in even ones) so that a shared machine's load falls on
both alike. Caches start cold, as a new user's do: every run points ``UV_CACHE_DIR`` and
``PIP_CACHE_DIR`` at empty directories of its own. ``--warm`` adds, after each cold run, a second
first run in another fresh copy that reuses that run's now-full caches.

Prints every run (wall time of the whole command, and the install time dev.py reports), the
medians, and ``uv / pip: 0.NNx (target <= 0.4x)``. A uv run that fell back to pip is reported and
left out of the medians. Needs PyPI; measures, never fails a build.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 0.4
# dev.py's closing line, e.g. "dev.py: installed 16 pinned requirements (62 packages in .venv) in 14 s with uv"
INSTALLED = re.compile(r"^dev\.py: installed .* in (\d+) s with (uv|pip)\b", re.MULTILINE)


def tree_files() -> list[str]:
    """The working tree's files as a fresh clone would have them: tracked ones and new, unignored
    ones (so uncommitted work is measured), less any deleted since."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.split("\0")
    return sorted({name for name in listed if name and (ROOT / name).is_file()})


def copy_tree(files: list[str], into: Path) -> None:
    for name in files:
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)


def first_run(python: str, installer: str, work: Path, caches: Path, source: Path) -> dict:
    """Time ``python3 dev.py synth prod`` in a fresh copy of ``source`` under ``work``, with its
    installer caches in ``caches``. Returns the wall time, dev.py's install time and installer,
    exit status and log."""
    clone = work / "clone"
    shutil.copytree(source, clone, symlinks=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.update(DEVPY_INSTALLER=installer, UV_CACHE_DIR=str(caches / "uv"), PIP_CACHE_DIR=str(caches / "pip"))
    log = work / f"{installer}.log"
    started = time.monotonic()
    with log.open("w") as out:
        code = subprocess.run(
            [python, "dev.py", "synth", "prod"], cwd=clone, env=env, stdin=subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT,
        ).returncode
    wall = time.monotonic() - started
    text = log.read_text(errors="replace")
    found = INSTALLED.search(text)
    shutil.rmtree(clone)
    return {
        "installer": installer, "wall": wall, "code": code, "log": log,
        "install": int(found.group(1)) if found else None, "used": found.group(2) if found else None,
        "fallback": next((line for line in text.splitlines() if "uv unavailable" in line), None),
    }


def describe(run: dict) -> str:
    install = f"install {run['install']} s" if run["install"] is not None else "install time not reported"
    note = ""
    if run["code"]:
        tail = "\n      ".join(run["log"].read_text(errors="replace").splitlines()[-8:])
        note = f"  FAILED (exit {run['code']}); the log ends:\n      {tail}"
    elif run["used"] != run["installer"]:
        note = f"  fell back to {run['used']}: {run['fallback']}"
    return f"{run['wall']:6.1f} s  ({install}){note}"


def valid(run: dict) -> bool:
    return run["code"] == 0 and run["used"] == run["installer"]


def summary(label: str, runs: list[dict]) -> None:
    by = {name: [r for r in runs if r["installer"] == name and valid(r)] for name in ("uv", "pip")}
    if not by["uv"] or not by["pip"]:
        print(f"{label}: not enough successful runs for a ratio")
        return
    for name, good in by.items():
        walls = [r["wall"] for r in good]
        installs = [r["install"] for r in good]
        print(
            f"{label} {name:>3}: median {statistics.median(walls):.1f} s over {len(walls)} runs "
            f"(spread {min(walls):.1f}-{max(walls):.1f} s), install median {statistics.median(installs):.0f} s"
        )
    ratio = statistics.median(r["wall"] for r in by["uv"]) / statistics.median(r["wall"] for r in by["pip"])
    install_ratio = statistics.median(r["install"] for r in by["uv"]) / statistics.median(r["install"] for r in by["pip"])
    print(f"{label} uv / pip: {ratio:.2f}x (target <= {TARGET}x); install alone: {install_ratio:.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2, help="runs of each installer (at least 2)")
    parser.add_argument("--warm", action="store_true", help="also time a first run with the caches warm")
    parser.add_argument(
        "--python", default=getattr(sys, "_base_executable", sys.executable),
        help="the python3 a new user has (default: this interpreter's base, outside any venv)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the run logs (the copies are always removed)")
    args = parser.parse_args(argv)
    if args.runs < 2:
        parser.error(f"--runs: got {args.runs}; allowed: 2 or more (a spread needs two runs)")

    sys.path.insert(0, str(ROOT))
    import dev  # the working tree's dev.py: the pin it installs

    files = tree_files()
    base = Path(tempfile.mkdtemp(prefix="devpy-install-"))
    # One snapshot for all runs: edits made to the working tree while this runs are not measured.
    source = base / "source"
    copy_tree(files, source)
    print(f"{len(files)} files copied per run; {dev.UV_REQUIREMENT}; python {args.python}; logs under {base}")
    cold: list[dict] = []
    warm: list[dict] = []
    try:
        for i in range(args.runs):
            for installer in ("uv", "pip") if i % 2 == 0 else ("pip", "uv"):
                work = base / f"run{i + 1}-{installer}"
                caches = work / "caches"
                run = first_run(args.python, installer, work / "cold", caches, source)
                cold.append(run)
                print(f"run {i + 1} {installer:>3} cold: {describe(run)}", flush=True)
                if args.warm:
                    cached = caches / installer
                    if not cached.is_dir() or not any(cached.iterdir()):
                        # Seen on a network path that strips PyPI's Cache-Control headers: pip then
                        # caches nothing, and its warm run is another cold one.
                        print(f"run {i + 1} {installer:>3} warm: note: {installer}'s cache stayed empty", flush=True)
                    run = first_run(args.python, installer, work / "warm", caches, source)
                    warm.append(run)
                    print(f"run {i + 1} {installer:>3} warm: {describe(run)}", flush=True)
                shutil.rmtree(caches, ignore_errors=True)  # an installer that cached nothing made none
        summary("cold", cold)
        if args.warm:
            summary("warm", warm)
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
