#!/usr/bin/env python3
"""One-command set-up and entry points, for a machine with nothing but Python 3.11+.

    python3 dev.py synth <stack> [--resources] [--outputs] [--json PATH] [--policy]
                                             offline synth of a stack (e.g. python3 dev.py synth prod)
    python3 dev.py cost <stack>              its monthly cost estimate, offline
    python3 dev.py test [pytest args]        the whole test suite, on every core (TEST_ARGS; pass -n 0
                                             to run it in one process)

Any other verb of `python -m ops` (preflight, which needs AWS credentials; preview, up, destroy,
refresh, outputs, which need the Pulumi CLI too; timeline) is passed through the same way:
`python3 dev.py <verb> <stack> ...` runs `.venv/bin/python -m ops <verb> <stack> ...`, and
`python3 dev.py import-copilot DIR ...` (a directory, not a stack) runs
`.venv/bin/python -m ops import-copilot DIR ...`.

Each creates .venv (the virtualenv Pulumi.yaml names) on first use and installs the pinned
requirements into it, printing each step on stderr; it reinstalls only when a requirements file
changes. The install uses uv (the version UV_REQUIREMENT pins, put into .venv by its pip): a
first run takes about a third of the time it takes with pip (docs/benchmarks.md, "Install"). When
uv cannot be installed or its install fails, it says why and installs with pip instead.
DEVPY_INSTALLER=pip skips uv and installs with pip.
requirements.txt and requirements-dev.txt stay the only lists of what is installed.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent

# The README's Quick start is rendered from these (tests/test_docs.py keeps the two equal): the
# command, what it does, and how long it takes.
QUICK_START = (
    (
        "python3 dev.py synth prod",
        "the real program, offline under mocks, against Pulumi.prod.yaml",
        "about half a minute the first time (it creates `.venv` and installs the pinned requirements "
        "with uv, printing each step); under 10 seconds after that",
    ),
    (
        "python3 dev.py test",
        "the whole test suite, as CI runs it",
        "about 3 minutes on 2 cores, every core at once (it installs first, too, if `.venv` is missing "
        "or stale)",
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

# The installer's one pin (tests/test_dev.py and benchmarks/install.py read it from here). uv is
# the installer only, never a requirement: pip puts it into .venv, and what it installs is what
# the requirements files list, so `pulumi install` (pip) installs the same.
UV_REQUIREMENT = "uv==0.13.9"
INSTALLER_ENV = "DEVPY_INSTALLER"
INSTALLERS = ("uv", "pip")

# Installer lines that name one package each (uv's " + name==1.0" and " Downloaded name", pip's
# download and already-satisfied lines): off a terminal they would be most of the log, so they are left out;
# the phases, the installers' summaries, warnings and errors are kept.
_PER_PACKAGE = re.compile(
    r"^( [+~-] \S| Downloaded |Requirement already satisfied|\s+(Downloading|Using cached|Found existing|"
    r"Attempting uninstall|Uninstalling|Successfully uninstalled)\b)"
)


def _bin(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / (f"{name}.exe" if os.name == "nt" else name)


def _python() -> Path:
    return _bin("python")


def _digest() -> str:
    h = hashlib.sha256()
    for name in REQUIREMENTS:
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def _pinned() -> int:
    """How many requirements the two files pin: their lines that are neither comments nor options."""
    lines = [line.split("#", 1)[0].strip() for name in REQUIREMENTS for line in (ROOT / name).read_text().splitlines()]
    return sum(1 for line in lines if line and not line.startswith("-"))


def _packages() -> int:
    """How many distributions .venv holds (pip and uv included)."""
    patterns = ("lib/python*/site-packages/*.dist-info", "Lib/site-packages/*.dist-info")  # POSIX, Windows
    return sum(1 for pattern in patterns for _ in VENV.glob(pattern))


def _say(message: str) -> None:
    print(f"dev.py: {message}", file=sys.stderr, flush=True)


def _installer() -> str:
    """The installer DEVPY_INSTALLER asks for: uv (the default, with pip as its fallback) or pip.
    Anything else exits 2 with one line."""
    given = os.environ.get(INSTALLER_ENV, "")
    chosen = given.strip().lower() or "uv"
    if chosen not in INSTALLERS:
        _say(f"{INSTALLER_ENV}: got {given!r}; allowed: uv (the default) or pip")
        raise SystemExit(2)
    return chosen


def _run(command: list[str]) -> tuple[int, str]:
    """Run an installer with all its output on stderr (stdout stays the verb's own). On a
    terminal the installer draws its own progress; elsewhere (CI, a pipe) its lines are streamed
    through as they come, less the one-line-per-package ones. Returns the exit status and, off a
    terminal, the last line printed (on a failure, the error), to name what went wrong."""
    try:
        if sys.stderr.isatty():
            return subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr).returncode, ""
        last = ""
        pipe = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True, "errors": "replace"}
        with subprocess.Popen(command, **pipe) as proc:
            for line in proc.stdout:
                line = line.rstrip()
                if line.strip():
                    last = line.strip()
                    if not _PER_PACKAGE.match(line):
                        print(line, file=sys.stderr, flush=True)
        return proc.returncode, last
    except OSError as error:  # the installer could not be started at all
        return 1, f"{type(error).__name__}: {error}"


def _installed(pinned: int, started: float) -> str:
    took = time.monotonic() - started
    return f"installed {pinned} pinned requirements ({_packages()} packages in .venv) in {took:.0f} s"


def _failed(step: str, code: int, last: str) -> str:
    return f"{step} exited {code}" + (f": {last[:200]}" if last else "")


def _install() -> None:
    """Install requirements-dev.txt (which includes requirements.txt) into .venv: with uv unless
    DEVPY_INSTALLER=pip, with pip when any uv step fails. Exits 1 when pip fails too."""
    installer, pinned, started = _installer(), _pinned(), time.monotonic()
    requirements = str(ROOT / "requirements-dev.txt")
    tty = sys.stderr.isatty()
    pip = [str(_python()), "-m", "pip", "--disable-pip-version-check"]
    pip_install = [*pip, "install", *([] if tty else ["--progress-bar", "off"])]
    if installer == "pip":
        why = f"{INSTALLER_ENV}=pip"
    else:
        _say(f"installing {UV_REQUIREMENT} into .venv, a faster installer ({INSTALLER_ENV}=pip skips it)")
        # A wheel or nothing: uv's source distribution needs a Rust toolchain and would take many
        # minutes to build where there is no wheel; pip is the faster choice there.
        code, last = _run([*pip_install, "--only-binary", ":all:", UV_REQUIREMENT])
        if code:
            why = _failed(f"pip install {UV_REQUIREMENT}", code, last)
        else:
            _say(f"installing {pinned} pinned requirements with uv")
            code, last = _run([str(_bin("uv")), "pip", "install", "--python", str(_python()), "-r", requirements])
            if not code:
                _say(f"{_installed(pinned, started)} with uv")
                return
            why = _failed("uv pip install", code, last)
        why = f"uv unavailable: {why}"
        _say(f"{why}; installing with pip instead")
    _say(f"installing {pinned} pinned requirements with pip (a minute or two)")
    code, last = _run([*pip_install, "-r", requirements])
    if code:
        failed = _failed("pip install -r requirements-dev.txt", code, last)
        _say(f"{failed}; nothing was marked installed, so the next run tries again")
        raise SystemExit(1)
    _say(f"{_installed(pinned, started)} with pip ({why})")


def ensure_venv() -> Path:
    """Create .venv if it is missing, and install the pinned requirements into it when they
    changed since the last successful install (the stamp holds their digest; it is written only
    after an install succeeded). Returns .venv's python."""
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py runs under whatever python3 the user has
        sys.exit(f"dev.py: Python 3.11 or newer is required (this is {sys.version.split()[0]})")
    _installer()  # a bad DEVPY_INSTALLER is refused before anything is created
    if not _python().exists():
        _say(f"creating {VENV.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = _digest()
    if not STAMP.exists() or STAMP.read_text().strip() != digest:
        _install()
        STAMP.write_text(digest + "\n")
    return _python()


# The verbs of `python -m ops` (ops/__main__.py's VERBS; dev.py runs before .venv exists, so it
# cannot import them).
OPS_VERBS = (
    "synth", "preview", "up", "destroy", "refresh", "outputs", "cost", "preflight", "timeline", "import-copilot",
)


# `dev.py test` runs the suite on every core with pytest-xdist: each worker synthesizes a stack
# once (tests/conftest.py's session fixtures) and starts its own moto server. worksteal, because a
# few tests (the Go example's build, the subprocess synths) take far longer than the rest.
TEST_ARGS = ("-n", "auto", "--dist", "worksteal")


def test_args(rest: list[str]) -> list[str]:
    """pytest's arguments: ``TEST_ARGS`` first, unless the caller chose the workers (``-n``,
    ``--numprocesses``) or turned xdist off (``-p no:xdist``)."""
    chose = any(a in ("--numprocesses", "no:xdist") or a.startswith(("-n", "--numprocesses=")) for a in rest)
    return [*([] if chose else TEST_ARGS), *rest]


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in (*OPS_VERBS, "test"):
        print(__doc__, file=sys.stderr)
        return 2
    python = str(ensure_venv())
    verb, rest = argv[0], argv[1:]
    if verb == "test":
        rest = test_args(rest)
    module = ["pytest"] if verb == "test" else ["ops", verb]
    return subprocess.run([python, "-m", *module, *rest], cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
