"""``python -m ops.preflight <stack> [--json PATH]``: read-only checks of the target account."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

import boto3

from stack_config import ConfigError, StackConfig
from stack_config.load import esc_environments, unseen_keys, validate

from .. import driver, stackfiles
from .accounts import SessionFactory
from .checks import run_checks
from .report import render, summary_line, write_json

EXIT_OK, EXIT_FAIL, EXIT_CONFIG = 0, 1, 2


def build_parser(prog: str = "python -m ops.preflight") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Read-only checks of the target AWS account, in every region of the stack, before "
        "`pulumi up`: identity, Lambda concurrency, CodeCommit or the connection, the hosted zone, "
        "certificates, service-linked roles, notification emails, VPC, NAT gateway and Elastic IP quotas. "
        "Uses the caller's AWS credentials (and each region's assumeRoleArn, assumed read-only); "
        "makes no call that changes anything. Exit 0: no fail; 1: at least one fail; 2: bad stack or config.",
    )
    driver.add_stack_argument(parser)
    parser.add_argument("--json", metavar="PATH", type=Path, help="also write every result as JSON to PATH")
    driver.show_stack_as_required(parser)
    return parser


def load_config(stack: str, err: TextIO) -> tuple[stackfiles.StackFiles, StackConfig] | None:
    """The stack's validated config, or None after printing why (as the synth does)."""
    try:
        files = stackfiles.load(stack)
    except stackfiles.StackFileError as exc:
        print(f"error: {exc}", file=err)
        return None
    try:
        return files, validate(files.project_config, files.project)
    except ConfigError as exc:
        print(f"error: {files.path.name}: invalid stack config:", file=err)
        for line in exc.lines():
            print(f"  {exc.namespace}:{line}", file=err)
        try:
            imported = esc_environments({"environment": files.environment})
        except ValueError:
            imported = ()
        if imported:
            unseen = unseen_keys(exc)
            print(
                f"note: {files.path.name} imports the Pulumi ESC environment(s) {', '.join(imported)}, which the "
                "preflight does not open" + (f"; required keys it could not see: {', '.join(unseen)}" if unseen else ""),
                file=err,
            )
        return None


def main(
    argv: list[str] | None = None,
    *,
    new_session: SessionFactory = boto3.Session,
    out: TextIO | None = None,
    err: TextIO | None = None,
    prog: str = "python -m ops.preflight",
) -> int:
    """Run the preflight; returns the exit status. ``new_session`` makes every boto3 session
    (tests pass one that records and answers calls)."""
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser(prog)
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return int(exc.code or 0)
    try:
        stack = driver.stack_of(args, "preflight")
    except driver.UsageError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_CONFIG
    loaded = load_config(stack, err)
    if loaded is None:
        return EXIT_CONFIG
    files, cfg = loaded
    regions = ", ".join(f"{r.name}{' (assumes ' + r.assume_role_arn + ', read-only)' if r.assume_role_arn else ''}" for r in cfg.regions)
    print(f"preflight {stack}: read-only checks of the account for {files.path.name}, regions {regions}", file=out)
    results = run_checks(cfg, project=files.project, stack=stack, new_session=new_session)
    code = EXIT_FAIL if any(r.status == "fail" for r in results) else EXIT_OK
    render(results, out)
    print(summary_line(stack, results, code), file=out)
    if args.json is not None:
        write_json(args.json, stack=stack, header={"project": files.project, "regions": [r.name for r in cfg.regions]},
                   results=results, exit_code=code)  # fmt: skip
    return code
