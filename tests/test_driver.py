"""The CI driver (ops/driver.py) against a test double of the Automation API stack, and the workflow.

No test here reaches the Pulumi CLI except ``test_real_preview_of_dev``, which is skipped unless
``pulumi`` is on PATH (it needs a logged-in backend and AWS credentials too).
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi import automation
from pulumi.automation import OutputValue
from pulumi.automation._cmd import CommandResult
from pulumi.automation.errors import CommandError, create_command_error

from ops import driver
from ops.__main__ import VERBS, main

ROOT = Path(__file__).resolve().parent.parent
WORKFLOW = ROOT / ".github" / "workflows" / "deploy.yml"
DOC = ROOT / "docs" / "ci.md"
PULUMI = "/usr/local/bin/pulumi"


class Result:
    def __init__(self, change_summary: dict[str, int] | None = None, outputs: dict[str, Any] | None = None):
        self.change_summary = change_summary or {}
        self.outputs = outputs or {}


class FakeStack:
    """Stands in for ``pulumi.automation.Stack``: records each call and answers or raises as told."""

    def __init__(self, calls: list[tuple], *, result: Result | None = None, error: Exception | None = None,
                 outputs: dict[str, Any] | None = None, outputs_fail: bool = False):  # fmt: skip
        self.calls, self.result, self.error, self._outputs = calls, result or Result(), error, outputs or {}
        self._outputs_fail = outputs_fail

    def _call(self, method: str, kwargs: dict[str, Any]) -> Result:
        # The real Stack's signature: a misspelled keyword fails here as it would against the CLI.
        inspect.signature(getattr(automation.Stack, method)).bind(None, **kwargs)
        self.calls.append((method, kwargs))
        if self.error is not None:
            raise self.error
        return self.result

    def preview(self, **kwargs: Any) -> Result:
        return self._call("preview", kwargs)

    def up(self, **kwargs: Any) -> Result:
        return self._call("up", kwargs)

    def destroy(self, **kwargs: Any) -> Result:
        return self._call("destroy", kwargs)

    def refresh(self, **kwargs: Any) -> Result:
        return self._call("refresh", kwargs)

    def preview_refresh(self, **kwargs: Any) -> Result:
        return self._call("preview_refresh", kwargs)

    def outputs(self) -> dict[str, Any]:
        # Also read before preview and up (the compute flip check): ``error`` is the operation's,
        # so reading the outputs fails only when told to.
        inspect.signature(automation.Stack.outputs).bind(None)
        self.calls.append(("outputs", {}))
        if self.error is not None and self._outputs_fail:
            raise self.error
        return self._outputs


class Harness:
    """Runs ``python -m ops`` in-process with the double; ``opened`` records open_stack's arguments."""

    def __init__(self, preflight_exit: int = 0, **stack_options: Any):
        self.calls: list[tuple] = []
        self.opened: list[tuple] = []
        self.preflights: list[str] = []
        self.preflight_exit = preflight_exit
        self.stack_options = stack_options
        self.pulumi_on_path: str | None = PULUMI

    def preflight(self, stack_name: str) -> int:
        self.preflights.append(stack_name)
        return self.preflight_exit

    def open_stack(self, stack_name: str, work_dir: Path, *, create: bool) -> FakeStack:
        self.opened.append((stack_name, work_dir, create))
        return FakeStack(self.calls, **self.stack_options)

    def __call__(self, *argv: str) -> int:
        return main(list(argv), open_stack=self.open_stack, which=lambda _: self.pulumi_on_path, preflight=self.preflight)

    @property
    def methods(self) -> list[str]:
        return [method for method, _ in self.operations]

    @property
    def operations(self) -> list[tuple]:
        """The calls but the outputs read that precedes preview and up (the compute flip check)."""
        ops = [c for c in self.calls if c[0] != "outputs"]
        return ops or self.calls


def cli_error(code: int, stderr: str, stdout: str = "") -> CommandError:
    """The exception the SDK raises for a failed CLI run (built by the SDK's own factory)."""
    return create_command_error(CommandResult(stdout=stdout, stderr=stderr, code=code))


def test_preview_success_streams_output_and_exits_0(capsys):
    run = Harness(result=Result({"create": 2, "same": 5}))
    assert run("preview", "--stack", "dev") == 0
    assert run.opened == [("dev", ROOT, True)]
    [(method, kwargs)] = run.operations
    assert method == "preview"
    assert kwargs["expect_no_changes"] is None and kwargs["policy_packs"] is None
    kwargs["on_output"]("Previewing update (dev)")
    kwargs["on_error"]("a warning")
    out, err = capsys.readouterr()
    assert "Previewing update (dev)\n" in out and "a warning\n" in err
    assert "{'create': 2}" in out


def test_the_default_open_stack_is_a_local_program_on_the_project(monkeypatch):
    from pulumi import automation as auto

    seen = []
    monkeypatch.setattr(auto, "create_or_select_stack", lambda **kw: seen.append(("create_or_select", kw)))
    monkeypatch.setattr(auto, "select_stack", lambda **kw: seen.append(("select", kw)))
    driver.open_stack("prod", ROOT, create=True)
    driver.open_stack("prod", ROOT, create=False)
    assert seen == [
        ("create_or_select", {"stack_name": "prod", "work_dir": str(ROOT)}),
        ("select", {"stack_name": "prod", "work_dir": str(ROOT)}),
    ]
    assert (ROOT / "Pulumi.yaml").exists() and (ROOT / "__main__.py").exists()


def test_a_command_error_exits_1_with_one_line(capsys):
    failure = cli_error(255, "error: stack 'dev': regions[0].azCount: got 9\nerror: preview failed")
    run = Harness(error=failure)
    assert run("up", "--stack", "dev") == 1
    assert run.methods == ["up"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err == "error: pulumi up of stack 'dev' failed (CommandError, exit 255): preview failed\n"


def test_a_missing_stack_exits_1(capsys):
    run = Harness(error=cli_error(255, "error: no stack named 'ghost' found"))
    assert run("refresh", "--stack", "ghost") == 1
    assert run.opened == [("ghost", ROOT, False)]
    assert "StackNotFoundError" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("code", "stderr"),
    [
        (255, "error: no changes were expected but changes were proposed"),
        (7, "error: some newer wording"),
    ],
)
def test_drift_reported_by_the_cli_exits_3(capsys, code, stderr):
    run = Harness(error=cli_error(code, stderr))
    assert run("preview", "--stack", "prod", "--expect-no-changes") == 3
    [(method, kwargs)] = run.operations
    assert method == "preview" and kwargs["expect_no_changes"] is True
    assert capsys.readouterr().err.startswith("drift: pulumi preview --expect-no-changes of stack 'prod'")


def test_drift_in_the_change_summary_exits_3_and_no_drift_exits_0():
    assert Harness(result=Result({"update": 1, "same": 40}))("preview", "--stack", "prod", "--expect-no-changes") == 3
    assert Harness(result=Result({"same": 41}))("preview", "--stack", "prod", "--expect-no-changes") == 0


def test_the_drift_exit_code_needs_the_flag():
    """Without --expect-no-changes the same CLI failure is an ordinary failure, and changes are fine."""
    assert Harness(error=cli_error(7, "error: x"))("preview", "--stack", "prod") == 1
    assert Harness(result=Result({"update": 1}))("preview", "--stack", "prod") == 0


def test_refresh_drift_check_is_a_dry_run():
    run = Harness(result=Result({"update": 1, "same": 3}))
    assert run("refresh", "--stack", "prod", "--expect-no-changes") == 3
    [(method, kwargs)] = run.operations
    assert method == "preview_refresh" and kwargs["expect_no_changes"] is True
    plain = Harness()
    assert plain("refresh", "--stack", "prod") == 0
    assert plain.methods == ["refresh"]


def test_up_with_expect_no_changes_passes_the_flag_and_maps_drift_to_3():
    run = Harness(error=cli_error(255, "error: no changes were expected but changes occurred"))
    assert run("up", "--stack", "dev", "--expect-no-changes") == 3
    assert run.operations[0][1]["expect_no_changes"] is True


def test_policy_pack_reaches_preview_and_up_as_an_absolute_path(tmp_path, monkeypatch):
    (tmp_path / "policy").mkdir()
    monkeypatch.chdir(tmp_path)
    run = Harness()
    assert run("preview", "--stack", "prod", "--policy-pack", "policy") == 0
    assert run("up", "--stack", "prod", "--policy-pack", "policy", "--allow-placeholders") == 0
    assert [kw["policy_packs"] for _, kw in run.operations] == [[str(tmp_path / "policy")]] * 2


def test_a_missing_policy_pack_is_refused_before_pulumi_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = Harness()
    assert run("preview", "--stack", "prod", "--policy-pack", "policy") == 2
    assert run.opened == []
    assert "policy pack directory 'policy' not found" in capsys.readouterr().err


def test_missing_cli_exits_2_with_how_to_install(capsys):
    run = Harness()
    run.pulumi_on_path = None
    for verb in ("preview", "up", "refresh", "outputs"):
        assert run(verb, "--stack", "dev") == 2
    assert run("destroy", "--stack", "dev", "--yes") == 2
    assert run.opened == []
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 5 and all("get.pulumi.com" in line for line in lines)


def test_destroy_needs_yes(capsys):
    run = Harness()
    assert run("destroy", "--stack", "dev") == 2
    assert run.opened == []
    assert "--yes" in capsys.readouterr().err
    assert run("destroy", "--stack", "dev", "--yes") == 0
    assert run.opened == [("dev", ROOT, False)] and run.methods == ["destroy"]


OUTPUTS = {
    "primary_region": OutputValue("us-east-1", secret=False),
    "token": OutputValue("s3cr3t", secret=True),
}


def test_outputs_written_to_json_with_secrets_masked(tmp_path, capsys):
    path = tmp_path / "out" / "dev.json"
    run = Harness(outputs=OUTPUTS)
    assert run("outputs", "--stack", "dev", "--outputs-json", str(path)) == 0
    assert run.methods == ["outputs"] and run.opened == [("dev", ROOT, False)]
    assert json.loads(path.read_text()) == {"primary_region": "us-east-1", "token": "[secret]"}
    assert "s3cr3t" not in path.read_text() + capsys.readouterr().out
    assert run("outputs", "--stack", "dev", "--outputs-json", str(path), "--show-secrets") == 0
    assert json.loads(path.read_text())["token"] == "s3cr3t"


def test_outputs_verb_prints_json(capsys):
    assert Harness(outputs=OUTPUTS)("outputs", "--stack", "dev") == 0
    assert json.loads(capsys.readouterr().out) == {"primary_region": "us-east-1", "token": "[secret]"}


def test_up_writes_its_outputs(tmp_path):
    path = tmp_path / "up.json"
    run = Harness(result=Result(outputs=OUTPUTS))
    assert run("up", "--stack", "dev", "--outputs-json", str(path)) == 0
    assert json.loads(path.read_text()) == {"primary_region": "us-east-1", "token": "[secret]"}


# The stack: `<verb> <stack>` (documented) or `<verb> --stack <stack>` (accepted).

_EXTRA = {"destroy": ["--yes"]}


@pytest.mark.parametrize("verb", driver.DRIVER_VERBS)
def test_every_driver_verb_takes_the_stack_as_a_word_or_a_flag(verb):
    run = Harness()
    assert run(verb, "dev", *_EXTRA.get(verb, [])) == 0
    assert run(verb, "--stack", "dev", *_EXTRA.get(verb, [])) == 0
    assert run(verb, *_EXTRA.get(verb, []), "dev", "--stack", "dev") == 0  # both, agreeing
    assert [stack for stack, _, _ in run.opened] == ["dev", "dev", "dev"]


@pytest.mark.parametrize("verb", driver.DRIVER_VERBS)
def test_two_different_stacks_or_none_exit_2_with_one_line(verb, capsys):
    run = Harness()
    assert run(verb, "dev", "--stack", "prod", *_EXTRA.get(verb, [])) == 2
    assert run(verb, *_EXTRA.get(verb, [])) == 2
    assert run.opened == []
    assert capsys.readouterr().err.splitlines() == [
        f"error: {verb}: two stacks given, dev and --stack prod; give one: python -m ops {verb} <stack>",
        f"error: {verb}: no stack given: python -m ops {verb} <stack> (stacks here: dev, prod)",
    ]


def test_help_lists_every_verb(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert VERBS == ("synth", "preview", "up", "destroy", "refresh", "outputs", "cost", "preflight", "import-copilot", "timeline")
    for verb in VERBS:
        assert re.search(rf"\n    {verb}\s", out), verb


def test_cost_without_ops_cost_exits_2(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ops.cost", None)  # import of ops.cost raises ModuleNotFoundError
    assert main(["cost", "prod"]) == 2
    assert "ops/cost.py is missing" in capsys.readouterr().err


def test_cost_hands_the_rest_of_the_command_line_to_ops_cost(monkeypatch):
    import types

    seen = []
    fake = types.ModuleType("ops.cost")
    fake.main = lambda argv: seen.append(argv) or 5  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ops.cost", fake)
    assert main(["cost", "prod", "--json", "x", "--help"]) == 5
    assert seen == [["prod", "--json", "x", "--help"]]


def test_help_from_a_real_process():
    result = subprocess.run(
        [sys.executable, "-m", "ops", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert all(verb in result.stdout for verb in VERBS)


@pytest.mark.skipif(
    shutil.which("pulumi") is None or os.environ.get("OPS_REAL_PULUMI") != "1",
    reason="needs the Pulumi CLI, a backend and AWS credentials, and OPS_REAL_PULUMI=1 (it previews for real)",
)
def test_real_preview_of_dev():
    result = subprocess.run(
        [sys.executable, "-m", "ops", "preview", "--stack", "dev"], cwd=ROOT, capture_output=True, text=True, timeout=900
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert "preview of stack 'dev'" in result.stdout


# The workflow and the docs


def _workflow() -> dict[str, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def _runs(job: dict[str, Any]) -> str:
    return "\n".join(step.get("run", "") for step in job["steps"])


def test_workflow_parses_and_has_its_triggers_and_jobs():
    wf = _workflow()
    assert {"pull_request", "push", "schedule"} <= set(wf["on"])
    assert wf["on"]["push"]["branches"] == ["main"]
    assert wf["permissions"]["id-token"] == "write"
    jobs = wf["jobs"]
    assert all(job["runs-on"] == "ubuntu-latest" for job in jobs.values())
    assert "python3 dev.py test" in _runs(jobs["test"])
    preview = jobs["preview"]
    assert set(preview["strategy"]["matrix"]["stack"]) == {"dev", "prod"}
    assert ".venv/bin/python -m ops preview --stack ${{ matrix.stack }} --policy-pack policy" in _runs(preview)
    assert ".venv/bin/python -m ops up --stack dev" in _runs(jobs["up-dev"])
    prod = jobs["up-prod"]
    assert prod["environment"] in ("production", {"name": "production"}) or prod["environment"]["name"] == "production"
    assert "up-dev" in ([prod["needs"]] if isinstance(prod["needs"], str) else prod["needs"])
    assert ".venv/bin/python -m ops up --stack prod" in _runs(prod)
    drift = jobs["drift"]
    assert "--expect-no-changes" in _runs(drift) and "schedule" in drift["if"]


def _ops_commands() -> list[list[str]]:
    """The arguments of every ``-m ops`` command in the workflow's steps and the docs' sh blocks."""
    lines = [line for job in _workflow()["jobs"].values() for line in _runs(job).splitlines()]
    lines += [line for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(), re.S) for line in block.splitlines()]
    return [
        line.split("-m ops ", 1)[1].split("#")[0].replace("${{ matrix.stack }}", "dev").split()
        for line in lines
        if "-m ops " in line
    ]


def test_workflow_and_docs_use_only_real_verbs_and_flags():
    """Every `python -m ops ...` command in the workflow and docs/ci.md parses with the real parser."""
    from ops.__main__ import build_parser

    parser = build_parser()
    commands = _ops_commands()
    assert len(commands) >= 12
    assert {c[0] for c in commands} == {"preview", "up", "refresh", "outputs", "destroy"}
    for command in commands:
        parser.parse_args(command)  # SystemExit (a failure) on an unknown verb or flag


def test_docs_state_the_exit_codes():
    doc = DOC.read_text()
    for code, meaning in ((0, "succeeded"), (1, "failed"), (2, "refused"), (3, "drift")):
        assert f"| `{code}` |" in doc and meaning in doc.lower()
    assert (driver.EXIT_OK, driver.EXIT_FAILED, driver.EXIT_USAGE, driver.EXIT_DRIFT) == (0, 1, 2, 3)


# --- a compute flip that needs two updates -----------------------------------------------------------


def _on_lambda(*services: str) -> dict[str, Any]:
    """Stack outputs of a stack whose ``services`` run on Lambda in both regions."""
    region = {"services": {s: {"compute": "lambda", "deployment_strategy": "rolling"} for s in services}}
    return {"regions": OutputValue(value={"us-east-1": region, "us-east-2": region}, secret=False)}


@pytest.mark.parametrize("verb", ["preview", "up"])
def test_moving_a_service_from_lambda_to_a_progressive_fargate_deployment_in_one_update_is_refused(verb, capsys):
    # prod's auth deploys canary on Fargate: had the last update left it on Lambda, ECS would own a
    # listener rule that still forwards to the Lambda target group the update deletes.
    run = Harness(outputs=_on_lambda("auth", "go-demo"))
    assert run(verb, "--stack", "prod", *(["--allow-placeholders"] if verb == "up" else [])) == 2
    assert run.methods == ["outputs"]  # nothing ran
    err = capsys.readouterr().err
    assert err.startswith("error: services[0] (auth) runs on Lambda now (us-east-1, us-east-2); moving it to Fargate")
    assert "strategy rolling, run up, then set canary" in err and err.count("\n") == 1  # go-demo stays on Lambda


def test_a_rolling_move_from_lambda_and_a_new_stack_go_ahead():
    # dev's services deploy rolling: a move to Fargate is one update (the rule is updated in place).
    run = Harness(outputs=_on_lambda("auth", "users"))
    assert run("up", "--stack", "dev") == 0
    assert run.methods == ["up"]
    # A new stack has no outputs yet.
    fresh = Harness()
    assert fresh("up", "--stack", "prod", "--allow-placeholders") == 0 and fresh.methods == ["up"]


# --- documentation values in the stack file ----------------------------------------------------------


def test_up_refuses_a_stack_that_still_holds_documentation_values_naming_each_key(capsys):
    run = Harness()
    assert run("up", "prod") == 2
    assert run.opened == [] and run.calls == []  # refused before the CLI or the backend is touched
    err = capsys.readouterr().err
    assert err == (
        "error: stack 'prod' still holds documentation values at dns.domain, dns.hostedZoneId, monitoring.emails[0], "
        "pipeline.notifications.emails[0], pipeline.staging.ingressCidrs[0] (python -m ops synth prod lists them): "
        "replace them in Pulumi.prod.yaml, or pass --allow-placeholders\n"
    )


def test_allow_placeholders_lets_up_run_and_preview_never_refuses():
    run = Harness()
    assert run("up", "prod", "--allow-placeholders") == 0
    assert run.methods == ["up"]
    assert Harness()("preview", "prod") == 0  # a preview changes nothing: it only warns (the program does)


def test_a_stack_without_documentation_values_goes_ahead(tmp_path):
    import shutil as sh

    for name in ("Pulumi.yaml", "Pulumi.prod.yaml"):
        sh.copy(ROOT / name, tmp_path / name)
    text = (tmp_path / "Pulumi.prod.yaml").read_text()
    for old, new in (
        ("app.example.com", "app.acme-corp.io"), ("Z0123456789EXAMPLE", "Z0123456789ABCDEFGHIJ"),
        ("platform-oncall@example.com", "oncall@acme-corp.io"), ("platform-approvals@example.com", "approvals@acme-corp.io"),
        ("203.0.113.0/24", "10.20.0.0/16"),
    ):  # fmt: skip
        assert old in text
        text = text.replace(old, new)
    (tmp_path / "Pulumi.prod.yaml").write_text(text)
    run = Harness()
    assert main(["up", "prod"], open_stack=run.open_stack, which=lambda _: PULUMI, work_dir=tmp_path, preflight=run.preflight) == 0
    assert run.methods == ["up"]


# --- the workflow is pinned and checked ---------------------------------------------------------------

SHELLCHECK = Path(sys.executable).parent / "shellcheck"
INSTALL_PULUMI = ROOT / ".github" / "scripts" / "install-pulumi.sh"


def _steps() -> list[dict[str, Any]]:
    return [step for job in _workflow()["jobs"].values() for step in job["steps"]]


def test_every_action_is_pinned_by_commit_sha_with_its_tag_in_a_comment():
    lines = [line.strip() for line in WORKFLOW.read_text().splitlines() if line.strip().startswith(("- uses:", "uses:"))]
    assert len(lines) == len([s for s in _steps() if "uses" in s]) >= 10
    for line in lines:
        assert re.fullmatch(r"(- )?uses: [\w.-]+/[\w.-]+@[0-9a-f]{40} # v\d+(\.\d+){0,2}", line), line


def test_the_pulumi_cli_is_the_sdks_version_and_no_installer_is_piped_to_a_shell():
    text = WORKFLOW.read_text()
    assert not re.search(r"curl[^\n]*\|\s*(ba)?sh", text)
    installs = [s for s in _steps() if "install-pulumi.sh" in s.get("run", "")]
    pulumi_jobs = [job for job in _workflow()["jobs"].values() if "-m ops " in _runs(job)]
    assert len(installs) == len(pulumi_jobs) == 4


def test_the_install_script_fetches_the_sdks_version_and_refuses_a_bad_checksum(tmp_path):
    """Run the script with stand-ins for curl (which records the URLs and serves files) and uname."""
    sdk = next(line.split("==")[1] for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("pulumi=="))
    archive = f"pulumi-v{sdk}-linux-x64.tar.gz"
    payload = tmp_path / "payload"
    (payload / "pulumi").mkdir(parents=True)
    (payload / "pulumi" / "pulumi").write_text("#!/bin/sh\necho v" + sdk + "\n")
    (payload / "pulumi" / "pulumi").chmod(0o755)
    served = tmp_path / "served"
    served.mkdir()
    subprocess.run(["tar", "-czf", str(served / archive), "-C", str(payload), "pulumi"], check=True)
    digest = hashlib.sha256((served / archive).read_bytes()).hexdigest()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "curl").write_text(
        '#!/usr/bin/env bash\nout=""; url=""\nwhile [ $# -gt 0 ]; do case "$1" in -o) out=$2; shift 2 ;; -*) shift ;; *) url=$1; shift ;; esac; done\n'
        'echo "$url" >> "$CALLS"\ncp "$SERVED/${url##*/}" "$out"\n'
    )
    (bin_dir / "uname").write_text("#!/bin/sh\necho x86_64\n")
    for tool in ("curl", "uname"):
        (bin_dir / tool).chmod(0o755)

    def install(checksum: str) -> subprocess.CompletedProcess[str]:
        (served / f"pulumi-{sdk}-checksums.txt").write_text(f"{checksum}  {archive}\n0000  pulumi-v{sdk}-darwin-x64.tar.gz\n")
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "CALLS": str(tmp_path / "calls"),
               "SERVED": str(served), "PULUMI_HOME": str(tmp_path / "home"), "GITHUB_PATH": str(tmp_path / "github_path")}  # fmt: skip
        return subprocess.run(["bash", str(INSTALL_PULUMI)], env=env, capture_output=True, text=True, timeout=60)

    result = install(digest)
    assert result.returncode == 0, result.stderr
    base = f"https://github.com/pulumi/pulumi/releases/download/v{sdk}"
    assert (tmp_path / "calls").read_text().split() == [f"{base}/{archive}", f"{base}/pulumi-{sdk}-checksums.txt"]
    assert result.stdout.strip().endswith(f"v{sdk}")  # the installed CLI answered
    assert (tmp_path / "github_path").read_text() == f"{tmp_path / 'home' / 'bin'}\n"
    # A tampered archive (or checksum) installs nothing new and fails the step.
    (tmp_path / "home").rename(tmp_path / "first-home")
    bad = install("f" * 64)
    assert bad.returncode != 0 and not (tmp_path / "home" / "bin" / "pulumi").exists()


def test_dev_is_deployed_only_after_the_test_suite_passes():
    jobs = _workflow()["jobs"]
    assert "push" in jobs["test"]["if"] and "refs/heads/main" in jobs["test"]["if"]
    needs = jobs["up-dev"]["needs"]
    assert "test" in ([needs] if isinstance(needs, str) else needs)


def test_the_workflows_shell_steps_and_scripts_pass_shellcheck(tmp_path):
    scripts = [INSTALL_PULUMI, ROOT / ".ci" / "run"]
    for n, step in enumerate(s for s in _steps() if "run" in s):
        # GitHub substitutes ${{ ... }} before the shell runs: a plain word stands in for it.
        body = re.sub(r"\$\{\{[^}]*\}\}", "GITHUB_EXPRESSION", step["run"])
        script = tmp_path / f"step-{n}.sh"
        script.write_text("#!/usr/bin/env bash\nset -e\n" + body)
        scripts.append(script)
    result = subprocess.run([str(SHELLCHECK), "--severity=style", *map(str, scripts)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


# --- the preflight runs before up ---------------------------------------------------------------------


def test_up_runs_the_preflight_first_and_a_failed_check_refuses_it(capsys):
    run = Harness(preflight_exit=1)
    assert run("up", "dev") == 2
    assert run.preflights == ["dev"] and run.opened == []  # nothing reached the backend
    assert capsys.readouterr().err == "error: the preflight of stack 'dev' found failures (above): fix them, or pass --skip-preflight\n"
    bad_config = Harness(preflight_exit=2)
    assert bad_config("up", "dev") == 2 and bad_config.opened == []


def test_a_passing_preflight_lets_up_run_and_skip_preflight_does_not_run_it():
    run = Harness()
    assert run("up", "dev") == 0
    assert run.preflights == ["dev"] and run.methods == ["up"]
    skipped = Harness(preflight_exit=1)
    assert skipped("up", "dev", "--skip-preflight") == 0
    assert skipped.preflights == [] and skipped.methods == ["up"]
    # Only up changes the account: preview, refresh and outputs never run it.
    other = Harness(preflight_exit=1)
    assert other("preview", "dev") == 0 and other("refresh", "dev") == 0 and other.preflights == []


def test_the_preflight_verb_reaches_ops_preflight(monkeypatch):
    from ops import preflight

    seen: list[tuple] = []
    monkeypatch.setattr(preflight, "main", lambda argv, prog: seen.append((argv, prog)) or 1)
    assert main(["preflight", "prod", "--json", "out.json"]) == 1
    assert seen == [(["prod", "--json", "out.json"], "python -m ops preflight")]
    assert driver.run_preflight("dev") == 1 and seen[-1] == (["dev"], "python -m ops preflight")


@pytest.mark.parametrize(
    ("argv", "method"),
    [
        (("preview", "dev"), "preview"),
        (("up", "dev", "--skip-preflight", "--allow-placeholders"), "up"),
        (("destroy", "dev", "--yes"), "destroy"),
        (("refresh", "dev"), "refresh"),
        (("refresh", "dev", "--expect-no-changes"), "preview_refresh"),
    ],
)
def test_every_operation_runs_at_the_same_parallelism_whatever_the_machine(argv, method):
    """The CLI's own default follows the CPUs (8 on a 2-vCPU runner); the driver passes its own."""
    run = Harness()
    assert run(*argv) == 0
    [(called, kwargs)] = run.operations
    assert called == method and kwargs["parallel"] == driver.DEFAULT_PARALLEL == 16
    run = Harness()
    assert run(*argv, "--parallel", "4") == 0
    assert run.operations[0][1]["parallel"] == 4


@pytest.mark.parametrize("value", ["0", "-2", "many"])
def test_a_parallelism_below_one_is_refused_before_anything_runs(value, capsys):
    run = Harness()
    with pytest.raises(SystemExit) as exited:
        run("up", "dev", "--parallel", value)
    assert exited.value.code == 2 and run.calls == [] and run.preflights == []
    assert f"got {value!r}; allowed: a whole number, 1 or more" in capsys.readouterr().err
