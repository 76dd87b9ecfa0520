"""``python -m ops preview|up|destroy|refresh|outputs <stack>``: the CI driver.

Each verb drives the Pulumi Automation API on a LocalWorkspace rooted at this project, so the
program that runs is the project's own ``__main__.py`` (the local-program form, not an inline
program), with the stack's ``Pulumi.<stack>.yaml`` as its config. The Pulumi CLI does the work;
this module streams its output, turns its failures into exit codes and writes the outputs.

Exit status (see docs/ci.md):

- 0: the operation succeeded (and, with ``--expect-no-changes``, found no changes);
- 1: the Pulumi operation failed: a program or config error, a policy violation, a failed
  resource, a missing stack, a locked stack. One ``error:`` line on stderr, after the CLI's own
  streamed output;
- 2: the driver refused to start: the Pulumi CLI is not on PATH, ``destroy`` without ``--yes``,
  a missing policy pack directory, ``cost`` without ops/cost.py, bad arguments, or (preview, up)
  a service on Lambda that the config moves to Fargate with a progressive strategy in one update,
  or (up) a stack file that still holds documentation values, without ``--allow-placeholders``,
  or a failed ``python -m ops preflight`` check, without ``--skip-preflight``;
- 3: drift: ``--expect-no-changes`` was given and Pulumi found changes.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import shutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from stack_config import StackConfig

ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_DRIFT = 0, 1, 2, 3
SECRET = "[secret]"  # what `pulumi stack output --json` prints for a secret, and what the synth uses
INSTALL_HINT = (
    "the Pulumi CLI is not on PATH; install it with `curl -fsSL https://get.pulumi.com | sh` "
    "(see https://www.pulumi.com/docs/install/) and retry"
)
# The CLI's message when --expect-no-changes finds changes: "... were proposed" (preview,
# refresh --preview-only) or "... occurred" (up, refresh). CLI 3.226.1 and later also exit 7.
_NO_CHANGES_EXPECTED = re.compile(r"no changes were expected")
_CODE = re.compile(r"^ code: (-?\d+)$", re.MULTILINE)
DRIFT_EXIT_CODE_OF_CLI = 7

DRIVER_VERBS = ("preview", "up", "destroy", "refresh", "outputs")


class StackLike(Protocol):
    """The part of ``pulumi.automation.Stack`` the driver uses (a test double stands in)."""

    def preview(self, **kwargs: Any) -> Any: ...
    def up(self, **kwargs: Any) -> Any: ...
    def destroy(self, **kwargs: Any) -> Any: ...
    def refresh(self, **kwargs: Any) -> Any: ...
    def preview_refresh(self, **kwargs: Any) -> Any: ...
    def outputs(self) -> Mapping[str, Any]: ...


OpenStack = Callable[..., StackLike]


def open_stack(stack_name: str, work_dir: Path, *, create: bool) -> StackLike:
    """The real stack: a LocalWorkspace on ``work_dir`` running its own ``__main__.py``.

    ``create``: create the stack in the backend if it does not exist (preview, up); otherwise
    select it, and a missing stack is an error (destroy, refresh, outputs).
    """
    from pulumi import automation as auto

    if create:
        return auto.create_or_select_stack(stack_name=stack_name, work_dir=str(work_dir))
    return auto.select_stack(stack_name=stack_name, work_dir=str(work_dir))


def add_stack_argument(p: argparse.ArgumentParser) -> None:
    """The stack, as ``<verb> <stack>`` (the documented form) or ``<verb> --stack <stack>``
    (accepted, not shown in --help). :func:`stack_of` reconciles the two after parsing."""
    p.add_argument("stack", nargs="?", metavar="<stack>", help="stack name, e.g. dev or prod (reads Pulumi.<stack>.yaml)")
    p.add_argument("--stack", dest="stack_flag", metavar="<stack>", help=argparse.SUPPRESS)


def show_stack_as_required(p: argparse.ArgumentParser) -> None:
    """Usage lines read ``<verb> <stack> [options]``: the parser takes the stack as an optional
    positional only so that ``--stack`` can stand in for it. Call after every argument is added."""
    usage = p.format_usage().removeprefix("usage: ").replace(" [<stack>]", "")
    lines = [line.rstrip() for line in usage.splitlines() if line.strip()]
    p.usage = "\n".join(lines).replace(p.prog, f"{p.prog} <stack>", 1)


def stack_of(args: argparse.Namespace, verb: str) -> str:
    """The stack named by ``<stack>`` or ``--stack``: both may be given if they agree.

    UsageError (one line) when neither is given, or both and they differ."""
    positional, flag = getattr(args, "stack", None), getattr(args, "stack_flag", None)
    if positional and flag and positional != flag:
        raise UsageError(f"{verb}: two stacks given, {positional} and --stack {flag}; give one: python -m ops {verb} <stack>")
    stack = positional or flag
    if not stack:
        stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
        raise UsageError(f"{verb}: no stack given: python -m ops {verb} <stack> (stacks here: {', '.join(stacks) or 'none'})")
    return stack


# What preview, up, destroy and refresh pass as --parallel. The CLI's own default is 4 x the
# machine's CPUs (defaultParallel() in pulumi/pulumi's pkg/cmd/pulumi; pulumi/pulumi#14989), so the
# same stack deploys at 8 on a 2-vCPU CI runner and at 64 on a laptop. The steps wait on AWS, not
# on the CPU: a NAT gateway or a certificate validation holds its slot for minutes. 16 finishes a
# first up of prod in about 8 minutes instead of 11.5 at 8 (python -m ops timeline prod; estimated,
# not observed) while staying close to Terraform's 10, which AWS's API rate limits are used to.
DEFAULT_PARALLEL = 16


def positive_int(text: str) -> int:
    """argparse type of a count such as --parallel: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"got {text!r}; allowed: a whole number, 1 or more")
    return value


class UsageError(Exception):
    """A command line the CLI refuses before doing anything: exit 2, the message on one line."""


def add_verbs(verbs: argparse._SubParsersAction) -> None:
    """Register the driver's verbs (and ``cost``) on the ``python -m ops`` parser."""

    def stack_arg(p: argparse.ArgumentParser) -> None:
        add_stack_argument(p)
        added.append(p)

    added: list[argparse.ArgumentParser] = []

    def expect_arg(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument(
            "--expect-no-changes",
            action="store_true",
            help=f"drift check: exit 3 if {what} finds any change",
        )

    def policy_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--policy-pack",
            action="append",
            default=[],
            metavar="DIR",
            help="apply the policy pack in DIR (repeatable), e.g. --policy-pack policy",
        )

    def parallel_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--parallel",
            type=positive_int,
            default=DEFAULT_PARALLEL,
            metavar="N",
            help=f"resource operations at once (default {DEFAULT_PARALLEL}, whatever the machine; `pulumi up` alone "
            "uses 4 x its CPUs)",
        )

    def outputs_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--outputs-json", metavar="PATH", type=Path, help="write the stack outputs to PATH as JSON")
        p.add_argument("--show-secrets", action="store_true", help="write secret outputs in plain text (masked otherwise)")

    p = verbs.add_parser(
        "preview",
        help="preview the stack with the Pulumi CLI (Automation API)",
        description="Preview what `up` would change. Creates the stack in the backend if it does not exist.",
    )
    stack_arg(p)
    expect_arg(p, "the preview")
    policy_arg(p)
    parallel_arg(p)

    p = verbs.add_parser(
        "up",
        help="deploy the stack (no prompt: run preview first)",
        description="Deploy the stack. There is no confirmation prompt (the Automation API runs "
        "`pulumi up --yes --skip-preview`): review a preview first.",
    )
    stack_arg(p)
    expect_arg(p, "the update (it is applied first, then checked)")
    policy_arg(p)
    parallel_arg(p)
    outputs_args(p)
    p.add_argument(
        "--skip-preflight",
        action="store_true",
        help="do not run `python -m ops preflight <stack>` first (by default a failed check refuses the update)",
    )
    p.add_argument(
        "--allow-placeholders",
        action="store_true",
        help="deploy even though the stack file still holds documentation values (example.com, EXAMPLE zone IDs, "
        "RFC 5737 ranges, AWS's example account IDs); refused otherwise",
    )

    p = verbs.add_parser(
        "destroy",
        help="destroy every resource of the stack (requires --yes)",
        description="Destroy every resource of the stack. Always requires --yes.",
    )
    stack_arg(p)
    p.add_argument("--yes", action="store_true", help="confirm the destroy (required, there is no prompt)")
    parallel_arg(p)

    p = verbs.add_parser(
        "refresh",
        help="refresh the state from the cloud (with --expect-no-changes: a read-only drift check)",
        description="Refresh the stack's state from the cloud. With --expect-no-changes it runs "
        "`refresh --preview-only`: state is not written, and any drift exits 3.",
    )
    stack_arg(p)
    expect_arg(p, "the refresh")
    parallel_arg(p)

    p = verbs.add_parser(
        "outputs",
        help="print the stack outputs as JSON (or write them with --outputs-json)",
        description="Print the stack outputs as JSON, secrets masked unless --show-secrets.",
    )
    stack_arg(p)
    outputs_args(p)

    for p in added:
        show_stack_as_required(p)

    verbs.add_parser(
        "preflight",
        help="read-only checks of the AWS account before `up` (ops/preflight; `python -m ops preflight --help`)",
        add_help=False,
    )
    verbs.add_parser(
        "cost",
        help="estimate the stack's monthly cost, offline (ops/cost.py; `python -m ops cost --help`)",
        add_help=False,
    )


def _print(text: str, *, err: bool = False) -> None:
    stream = sys.stderr if err else sys.stdout
    stream.write(text + "\n")
    stream.flush()


def _stream_out(line: str) -> None:
    _print(line)


def _stream_err(line: str) -> None:
    _print(line, err=True)


def mask(outputs: Mapping[str, Any], *, show_secrets: bool) -> dict[str, Any]:
    """Output values as plain JSON; a secret becomes ``"[secret]"`` unless ``show_secrets``."""
    masked = {}
    for key, output in outputs.items():
        value = getattr(output, "value", output)
        masked[key] = value if show_secrets or not getattr(output, "secret", False) else SECRET
    return masked


def _write_outputs(outputs: Mapping[str, Any], path: Path | None, *, show_secrets: bool) -> None:
    text = json.dumps(mask(outputs, show_secrets=show_secrets), indent=2, sort_keys=True) + "\n"
    if path is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    _print(f"outputs: {len(outputs)} written to {path}" + ("" if show_secrets else " (secrets masked)"))


def _changes(change_summary: Mapping[str, int] | None) -> dict[str, int]:
    """The operations of a change summary other than ``same``, with a non-zero count."""
    return {str(op): n for op, n in (change_summary or {}).items() if str(op) != "same" and n}


def _failure_line(exc: Exception) -> str:
    """One line for a CLI failure: the exception's kind, the CLI's exit code, its last error line."""
    text = str(exc)
    code = _CODE.search(text)
    stderr = text.split("\n stderr: ", 1)[1] if "\n stderr: " in text else ""
    errors = [line.strip() for line in stderr.splitlines() if line.strip().startswith("error:")]
    detail = errors[-1].removeprefix("error:").strip() if errors else ""
    kind = getattr(exc, "name", type(exc).__name__)
    where = f"{kind}, exit {code.group(1)}" if code else kind
    return f"({where})" + (f": {detail}" if detail else "; see the output above")


def _is_drift(exc: Exception) -> bool:
    text = str(exc)
    code = _CODE.search(text)
    return bool(_NO_CHANGES_EXPECTED.search(text)) or (code is not None and int(code.group(1)) == DRIFT_EXIT_CODE_OF_CLI)


def _stack_config(stack_name: str, work_dir: Path) -> StackConfig | None:
    """The stack file's validated config, or None when it does not load or validate: the
    driver's checks then stand aside and the update itself reports the problem."""
    from ops import stackfiles
    from stack_config import ConfigError, validate

    try:
        files = stackfiles.load(stack_name, root=work_dir)
        return validate(files.project_config, files.project)
    except (stackfiles.StackFileError, ConfigError):
        return None


def compute_flip_problems(outputs: Mapping[str, Any], stack_name: str, work_dir: Path) -> list[str]:
    """Services the stack runs on Lambda now (its last outputs) that the stack file moves to Fargate
    with a blue/green, canary or linear deployment. ECS owns such a service's listener rule's actions
    (``ignoreChanges``), so ``pulumi up`` would leave the rule forwarding to the Lambda target group it
    deletes: the move takes two updates (docs/lambda-compute.md). Empty when the
    stack is new or its file does not validate (the update then reports that itself)."""
    regions = outputs.get("regions")
    regions = getattr(regions, "value", regions)
    if not isinstance(regions, Mapping):
        return []
    cfg = _stack_config(stack_name, work_dir)
    if cfg is None:
        return []
    problems = []
    for i, svc in enumerate(cfg.services):
        if not svc.ecs_progressive:
            continue
        on_lambda = sorted(
            region for region, exports in regions.items()
            if isinstance(exports, Mapping) and ((exports.get("services") or {}).get(svc.name) or {}).get("compute") == "lambda"
        )  # fmt: skip
        if on_lambda:
            problems.append(
                f"services[{i}] ({svc.name}) runs on Lambda now ({', '.join(on_lambda)}); moving it to Fargate with "
                f"deployment.strategy {svc.deployment.strategy} in one update would leave its listener rule forwarding "
                "to the Lambda target group the update deletes. Move it with strategy rolling, run up, then set "
                f"{svc.deployment.strategy} (docs/lambda-compute.md)"
            )
    return problems


def placeholder_problem(stack_name: str, work_dir: Path) -> str | None:
    """The one-line refusal of an ``up`` whose stack file still holds documentation values, or None.
    A stack file that does not load or validate is left to the update, which reports it."""
    from stack_config.placeholders import find_placeholders

    cfg = _stack_config(stack_name, work_dir)
    if cfg is None:
        return None
    found = find_placeholders(cfg)
    if not found:
        return None
    return (
        f"stack {stack_name!r} still holds documentation values at {', '.join(p.key for p in found)} "
        f"(python -m ops synth {stack_name} lists them): replace them in Pulumi.{stack_name}.yaml, or pass "
        "--allow-placeholders"
    )


def run_cost(argv: list[str]) -> int:
    """``python -m ops cost ...``: hand the rest of the command line to ``ops.cost.main``."""
    try:
        cost = importlib.import_module("ops.cost")
    except ModuleNotFoundError as exc:
        if exc.name != "ops.cost":
            raise
        _print("error: the cost verb is not available: ops/cost.py is missing", err=True)
        return EXIT_USAGE
    if not callable(getattr(cost, "main", None)):
        _print("error: the cost verb is not available: ops/cost.py has no main(argv)", err=True)
        return EXIT_USAGE
    return int(cost.main(argv) or 0)


def run_preflight(stack_name: str) -> int:
    """``python -m ops preflight <stack>``: its exit status (0 ok, 1 a check failed, 2 bad config)."""
    from ops import preflight

    return preflight.main([stack_name], prog="python -m ops preflight")


def run(
    args: argparse.Namespace,
    *,
    open_stack: OpenStack = open_stack,
    which: Callable[[str], str | None] = shutil.which,
    work_dir: Path = ROOT,
    preflight: Callable[[str], int] = run_preflight,
) -> int:
    """Run one driver verb from parsed arguments. ``open_stack``, ``which`` and ``preflight`` are
    for tests."""
    verb, stack_name = args.verb, args.stack
    if verb == "destroy" and not args.yes:
        _print(f"error: destroy deletes every resource of stack {stack_name!r}; pass --yes to confirm", err=True)
        return EXIT_USAGE
    if verb == "up" and not getattr(args, "allow_placeholders", False):
        problem = placeholder_problem(stack_name, work_dir)
        if problem:
            _print(f"error: {problem}", err=True)
            return EXIT_USAGE
    policy_packs: list[str] = []
    for pack in getattr(args, "policy_pack", []):
        path = Path(pack).resolve()
        if not path.is_dir():
            _print(f"error: policy pack directory {pack!r} not found", err=True)
            return EXIT_USAGE
        policy_packs.append(str(path))
    if which("pulumi") is None:
        _print(f"error: {INSTALL_HINT}", err=True)
        return EXIT_USAGE
    if verb == "up" and not getattr(args, "skip_preflight", False):
        checked = preflight(stack_name)
        if checked != 0:
            _print(
                f"error: the preflight of stack {stack_name!r} "
                + ("found failures (above): fix them, or pass --skip-preflight" if checked == 1 else "could not run (above)"),
                err=True,
            )
            return EXIT_USAGE

    from pulumi.automation.errors import CommandError, InvalidVersionError

    expect = bool(getattr(args, "expect_no_changes", False))
    parallel = getattr(args, "parallel", DEFAULT_PARALLEL)
    streams = {"on_output": _stream_out, "on_error": _stream_err}
    label = f"pulumi {verb}" + (" --expect-no-changes" if expect else "") + f" of stack {stack_name!r}"
    try:
        stack = open_stack(stack_name, work_dir, create=verb in ("preview", "up"))
        if verb in ("preview", "up"):
            problems = compute_flip_problems(stack.outputs(), stack_name, work_dir)
            for problem in problems:
                _print(f"error: {problem}", err=True)
            if problems:
                return EXIT_USAGE
        if verb == "preview":
            result = stack.preview(expect_no_changes=expect or None, policy_packs=policy_packs or None, parallel=parallel, **streams)
            changes = _changes(result.change_summary)
            if expect and changes:
                _print(f"drift: {label} found changes: {changes}", err=True)
                return EXIT_DRIFT
            _print(f"preview of stack {stack_name!r}: {changes or 'no changes'}")
        elif verb == "up":
            result = stack.up(expect_no_changes=expect or None, policy_packs=policy_packs or None, parallel=parallel, **streams)
            if args.outputs_json is not None:
                _write_outputs(result.outputs, args.outputs_json, show_secrets=args.show_secrets)
        elif verb == "destroy":
            stack.destroy(parallel=parallel, **streams)
        elif verb == "refresh":
            if expect:
                # A dry-run refresh: state is not written, so the check changes nothing.
                result = stack.preview_refresh(expect_no_changes=True, parallel=parallel, **streams)
                changes = _changes(result.change_summary)
                if changes:
                    _print(f"drift: {label} found changes: {changes}", err=True)
                    return EXIT_DRIFT
            else:
                stack.refresh(parallel=parallel, **streams)
        elif verb == "outputs":
            _write_outputs(stack.outputs(), args.outputs_json, show_secrets=args.show_secrets)
        else:  # pragma: no cover - argparse only lets the verbs above through
            raise ValueError(f"unknown verb {verb}")
    except CommandError as exc:
        if expect and _is_drift(exc):
            _print(f"drift: {label} found changes {_failure_line(exc)}", err=True)
            return EXIT_DRIFT
        _print(f"error: {label} failed {_failure_line(exc)}", err=True)
        return EXIT_FAILED
    except (InvalidVersionError, RuntimeError) as exc:
        # InvalidVersionError: the CLI is too old for the SDK; RuntimeError: the SDK's own checks
        # (for example a preview that produced no summary event).
        _print(f"error: {label} failed: {str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__}", err=True)
        return EXIT_FAILED
    return EXIT_OK
