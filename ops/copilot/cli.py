"""``python -m ops import-copilot DIR [--environment ENV] [--out FILE] [--stack STACK]``.

Reads the Copilot workspace in DIR and writes a stack-file fragment (YAML, a ``config:`` map of
this project's keys) to FILE or stdout. On stderr: the report, one line per manifest key (imported,
defaulted, placeholder, differs, not imported, skipped, note) and per file under copilot/ it did not
read (addons, overrides, a buildspec), then one line saying whether
Pulumi.<STACK>.yaml (default dev) with the fragment merged passes the config model.

Merging: each key of the fragment replaces the stack file's key, except that maps merge key by key
(a list or a value replaces), the rule Copilot's environment overrides follow too.

Exit 0: the merged config is valid; 1: it is not (the model's own message, one line); 2: a
manifest or the stack file cannot be read, or a bad command line (one line naming file and key).
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path
from typing import Any, TextIO

import yaml

from stack_config import ConfigError, StackConfig
from stack_config.load import decode, validate
from stack_config.placeholders import find_placeholders

from .. import stackfiles
from .manifests import ManifestError, Workspace, read_workspace
from .mapping import Context, map_app, map_environment, map_workloads
from .pipelines import choose, map_pipeline
from .report import DEFAULTED, NOT_IMPORTED, NOTE, Report

EXIT_OK, EXIT_INVALID, EXIT_INPUT = 0, 1, 2
APP_VARIABLE, ENV_VARIABLE = "COPILOT_APPLICATION_NAME", "COPILOT_ENVIRONMENT_NAME"


def build_parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Import an AWS Copilot workspace's manifests (services, jobs, pipeline, environment) as "
        "this platform's stack config: a fragment for Pulumi.<stack>.yaml on stdout (or --out), and a report "
        "of every key imported, defaulted and not imported on stderr. Exit 0: the stack file with the "
        "fragment merged passes the config model; 1: it does not; 2: unreadable input. "
        "docs/migrating-from-copilot.md has the rules.",
    )
    parser.add_argument("dir", metavar="DIR", type=Path, help="the Copilot workspace: the directory holding copilot/")
    parser.add_argument(
        "--environment",
        metavar="ENV",
        help="the Copilot environment this stack replaces: its manifest's overrides (environments.ENV) are "
        "applied, its environment manifest read, and its pipeline stage made the production deploy",
    )
    parser.add_argument("--out", metavar="FILE", type=Path, help="write the fragment to FILE (default: stdout)")
    parser.add_argument(
        "--stack", default="dev", help="validate the fragment merged into Pulumi.<STACK>.yaml (default: dev)"
    )
    return parser


def merge(base: Any, fragment: Any) -> Any:
    """``fragment`` over ``base``: maps merge key by key, anything else replaces."""
    if isinstance(base, dict) and isinstance(fragment, dict):
        merged = dict(base)
        for key, value in fragment.items():
            merged[key] = merge(base.get(key), value)
        return merged
    return copy.deepcopy(fragment)


def import_workspace(ws: Workspace, base: dict[str, Any], environment: str | None, report: Report) -> dict[str, Any]:
    """The fragment's keys (without the project namespace) for ``ws``, validated against nothing yet."""
    primary = next((r for r in base.get("regions") or [] if isinstance(r, dict) and r.get("role") == "primary"), {})
    notifications = (base.get("pipeline") or {}).get("notifications") or {}
    ctx = Context(
        report=report,
        region=str(primary.get("name") or "us-east-1"),
        environment=environment,
        stack_environment=str(base.get("environment")),
        has_notifications=bool(notifications.get("emails") or notifications.get("topicArns")),
        root=ws.root,
        stack_name=str(base.get("name") or "devops-platform"),
    )
    ctx.variables = _variables(ws, ctx, base)
    fragment: dict[str, Any] = {}
    name = map_app(ws, ctx)
    if name is not None:
        fragment["name"] = name
    imported = map_workloads(ws, ctx)
    if imported.services:
        fragment["services"] = imported.services
    else:
        # A list replaces on merge: an empty one would delete every service the stack already runs.
        report.add(NOTE, "copilot", "(services)", "no service or job imported: the fragment leaves "
                   "devops-platform:services out, so merging it keeps the stack's own services")
    if imported.schedules:
        fragment["taskLauncher"] = {"schedules": imported.schedules}
    if imported.alarms:
        fragment["monitoring"] = {"services": imported.alarms}
    chosen = choose(ws, ctx)
    if chosen is not None:
        pipeline = map_pipeline(chosen, ctx, imported)
        if pipeline is not None:
            fragment["pipeline"] = pipeline
    for key, value in map_environment(ws, ctx).items():
        fragment[key] = merge(fragment.get(key), value)
    for file, reason in ws.unread():
        report.add(NOT_IMPORTED, file, "(file)", reason)
    return fragment


def _variables(ws: Workspace, ctx: Context, base: dict[str, Any]) -> dict[str, str]:
    """Copilot's predefined variables: the app from copilot/.workspace and the environment from
    --environment; where those are missing, the stack's name and environment (reported when a
    manifest uses them)."""
    used = {
        var
        for m in [*ws.workloads, *ws.environments.values()]
        for var in (APP_VARIABLE, ENV_VARIABLE)
        if "${" + var + "}" in m.path.read_text()
    }
    app = ws.app or str(base.get("name") or "devops-platform")
    env = ctx.environment or ctx.stack_environment
    if APP_VARIABLE in used and ws.app is None:
        ctx.report.add(DEFAULTED, "copilot/.workspace", APP_VARIABLE, f"no application named here -> ${{{APP_VARIABLE}}} "
                       f"is {app} (the stack's name)")
    if ENV_VARIABLE in used and ctx.environment is None:
        ctx.report.add(DEFAULTED, "(command line)", ENV_VARIABLE, f"no --environment -> ${{{ENV_VARIABLE}}} is {env} "
                       "(the stack's environment)")
    return {APP_VARIABLE: app, ENV_VARIABLE: env}


def check_fragment(
    fragment: dict[str, Any], base: dict[str, Any], namespace: str
) -> tuple[StackConfig | None, ConfigError | None]:
    """Validate the stack's config with the fragment merged: the config, or the model's error."""
    try:
        return validate(merge(base, fragment), namespace), None
    except ConfigError as exc:
        return None, exc


def render(fragment: dict[str, Any], namespace: str, source: Path, environment: str | None, stack: str) -> str:
    header = [
        f"# Imported from the AWS Copilot workspace {source} by python -m ops import-copilot"
        + (f" --environment {environment}." if environment else "."),
        f"# Merge these keys under config: in Pulumi.{stack}.yaml (a map merges key by key, a list or a value",
        "# replaces), replace every placeholder the report lists, then: python -m ops synth " + stack,
    ]
    body = {"config": {f"{namespace}:{key}": value for key, value in fragment.items()}}
    return "\n".join(header) + "\n" + yaml.safe_dump(body, sort_keys=False, default_flow_style=False, width=100)


def verdict(
    fragment: dict[str, Any], base: dict[str, Any], namespace: str, stack_file: str
) -> tuple[int, str]:
    """The exit status and the one line that says whether the merged config is valid."""
    cfg, error = check_fragment(fragment, base, namespace)
    if error is not None:
        problems = " | ".join(f"{namespace}:{line}" for line in error.lines())
        return EXIT_INVALID, f"invalid: {stack_file} with the fragment merged fails the config model: {problems}"
    assert cfg is not None
    try:
        before = {(p.key, p.value) for p in find_placeholders(validate(base, namespace))}
    except ConfigError:  # the stack file alone is invalid: every placeholder counts as the import's
        before = set()
    added = [p for p in find_placeholders(cfg) if (p.key, p.value) not in before]
    stages = len(cfg.pipeline.stages) if cfg.has_pipeline else 0
    counts = ", ".join(
        _plural(n, what)
        for n, what in ((len(cfg.services), "service"), (len(cfg.task_launcher.schedules), "schedule"), (stages, "pipeline stage"))
    )
    line = f"valid: {stack_file} with the fragment merged passes the config model ({counts})"
    if added:
        line += f"; replace {_plural(len(added), 'placeholder')} before python -m ops up: " + ", ".join(p.key for p in added)
    return EXIT_OK, line


def _plural(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def main(
    argv: list[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    prog: str = "python -m ops.copilot",
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser(prog)
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return int(exc.code or 0)
    try:
        files = stackfiles.load(args.stack)
        base = decode(files.project_config, files.project)
    except stackfiles.StackFileError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_INPUT
    except ConfigError as exc:
        print(f"error: {files.path.name}: " + " | ".join(exc.lines()), file=err)
        return EXIT_INPUT
    report = Report()
    try:
        ws = read_workspace(args.dir)
        fragment = import_workspace(ws, base, args.environment, report)
    except ManifestError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_INPUT
    text = render(fragment, files.project, args.dir, args.environment, args.stack)
    if args.out is not None:
        try:
            args.out.write_text(text)
        except OSError as exc:
            print(f"error: --out {args.out}: {exc.strerror or exc}", file=err)
            return EXIT_INPUT
    else:
        out.write(text)
    for line in report.lines():
        print(line, file=err)
    print(report.summary(), file=err)
    status, line = verdict(fragment, base, files.project, files.path.name)
    print(line, file=err)
    return status
