#!/usr/bin/env python3
"""One-command set-up and entry points, for a machine with nothing but Python 3.11+.

    python3 dev.py synth <stack> [--resources] [--outputs] [--json PATH] [--policy]
                                             offline synth of a stack (e.g. python3 dev.py synth prod)
    python3 dev.py cost <stack>              its monthly cost estimate, offline
    python3 dev.py test [pytest args]        the whole test suite

Any other verb of `python -m ops` (preflight, which needs AWS credentials; preview, up, destroy,
refresh, outputs, which need the Pulumi CLI too) is passed through the same way: `python3 dev.py <verb> <stack> ...` runs
`.venv/bin/python -m ops <verb> <stack> ...`. Each creates .venv (the virtualenv Pulumi.yaml
names) on first use and installs the pinned requirements into it; it reinstalls only when a
requirements file changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent

# The README's Quick start is rendered from these (tests/test_docs.py keeps the two equal): the
# command, what it does, and how long it takes.
QUICK_START = (
    (
        "python3 dev.py synth prod",
        "the real program, offline under mocks, against Pulumi.prod.yaml",
        "about a minute and a half the first time (it creates `.venv` and installs the pinned "
        "requirements); about 15 seconds after that",
    ),
    (
        "python3 dev.py test",
        "the whole test suite, as CI runs it",
        "5 to 8 minutes (it installs first, too, if `.venv` is missing or stale)",
    ),
)


def quick_start_markdown() -> str:
    """The README's Quick start block."""
    width = max(len(command) for command, _, _ in QUICK_START)
    lines = ["```sh", *(f"{command:<{width}}    # {what}" for command, what, _ in QUICK_START), "```", ""]
    lines += [f"- `{command.removeprefix('python3 dev.py ')}`: {took}." for command, _, took in QUICK_START]
    return "\n".join(lines) + "\n"

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


# The verbs of `python -m ops` (ops/__main__.py's VERBS; dev.py runs before .venv exists, so it
# cannot import them).
OPS_VERBS = ("synth", "preview", "up", "destroy", "refresh", "outputs", "cost", "preflight")


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in (*OPS_VERBS, "test"):
        print(__doc__, file=sys.stderr)
        return 2
    python = str(ensure_venv())
    verb, rest = argv[0], argv[1:]
    module = ["pytest"] if verb == "test" else ["ops", verb]
    return subprocess.run([python, "-m", *module, *rest], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
