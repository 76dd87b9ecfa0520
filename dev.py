#!/usr/bin/env python3
"""One-command set-up and entry points, for a machine with nothing but Python 3.11+.

    python3 dev.py synth prod [--json out.json] [--preview]   offline synth of a stack
    python3 dev.py test [pytest args]                          the whole test suite

Each creates .venv (the virtualenv Pulumi.yaml names) on first use and installs the pinned
requirements into it; it reinstalls only when a requirements file changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt")
STAMP = VENV / ".requirements.sha256"


def _python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _digest() -> str:
    h = hashlib.sha256()
    for name in REQUIREMENTS:
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def ensure_venv() -> Path:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under whatever python3 the user has
        sys.exit(f"dev.py: Python 3.11 or newer is required (this is {sys.version.split()[0]})")
    if not _python().exists():
        print(f"dev.py: creating {VENV.relative_to(ROOT)}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = _digest()
    if not STAMP.exists() or STAMP.read_text().strip() != digest:
        print("dev.py: installing pinned requirements", file=sys.stderr)
        pip = [str(_python()), "-m", "pip", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "install", "-r", str(ROOT / "requirements-dev.txt")], check=True)
        STAMP.write_text(digest + "\n")
    return _python()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("synth", "test"):
        print(__doc__, file=sys.stderr)
        return 2
    python = str(ensure_venv())
    verb, rest = argv[0], argv[1:]
    module = ["ops", "synth"] if verb == "synth" else ["pytest"]
    return subprocess.run([python, "-m", *module, *rest], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
