"""Command line: ``python -m ops <verb> <stack> ...``.

Every verb takes the stack as the word after it (``--stack <stack>`` is accepted too; both given
and different, or none: exit 2). ``synth`` runs offline under mocks. ``preview``, ``up``,
``destroy``, ``refresh`` and ``outputs`` drive the Pulumi CLI through the Automation API
(ops/driver.py, docs/ci.md). ``cost`` hands its arguments to ops/cost.py, ``preflight`` (read-only
checks of the AWS account, docs/preflight.md) to ops/preflight, ``import-copilot`` (an AWS Copilot
workspace as stack config, docs/migrating-from-copilot.md) to ops/copilot. ``timeline`` estimates the
first ``pulumi up``, offline (ops/timeline.py, docs/timeline.md).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import driver, synth, timeline

VERBS = ("synth", *driver.DRIVER_VERBS, "cost", "preflight", "import-copilot", "timeline")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops",
        description="Operate devops-platform. synth needs no AWS account and no Pulumi CLI; "
        "preflight needs AWS credentials (read-only); "
        "preview, up, destroy, refresh and outputs need the Pulumi CLI (exit 0 ok, 1 failed, "
        "2 refused to start, 3 drift; see docs/ci.md).",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser(
        "synth",
        help="run the program offline under mocks and summarize what it declares",
        description="Run __main__.py offline under Pulumi mocks with Pulumi.<stack>.yaml as its "
        "config, and print per region the resource count, routes, pipeline, launcher, alarms and DNS, "
        "then every warning and a status line. Exit 0: synthesized; 2: invalid config or command line; "
        "1: the program failed; 4: policy violations (--policy).",
    )
    driver.add_stack_argument(p)
    p.add_argument(
        "--resources", action="store_true", help="list every resource type per region (by default: one line of counts)"
    )
    p.add_argument(
        "--outputs", action="store_true", help="print the stack outputs (also in the --json file)"
    )
    p.add_argument("--json", metavar="PATH", type=Path, help="write the resource graph as JSON")
    p.add_argument("--diagram", metavar="PATH", type=Path, help="write a Mermaid flowchart of the graph")
    p.add_argument(
        "--policy",
        action="store_true",
        help="check the graph against the policy pack's rules (policy/); exit 4 and list them on violations",
    )
    p.add_argument(
        "--preview",
        action="store_true",
        help="synthesize as a preview: IDs, ARNs and other computed values stay unknown",
    )
    p.add_argument(
        "--published-images",
        action="store_true",
        help="synthesize as if every service's pipeline had released an image (the steady state: services "
        "on Lambda run their image instead of the 503 stub); by default none has, as in a new account",
    )
    driver.show_stack_as_required(p)
    driver.add_verbs(verbs)
    timeline.add_parser(verbs)
    verbs.add_parser(
        "import-copilot",
        help="import an AWS Copilot workspace as stack config (`python -m ops import-copilot --help`)",
    )
    return parser


def main(argv: list[str] | None = None, **driver_options: object) -> int:
    """``driver_options`` (``open_stack``, ``which``, ``work_dir``) reach ``driver.run``; tests use them."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["cost"]:
        # cost has its own argparse (ops/cost.py): everything after the verb is its to parse.
        return driver.run_cost(argv[1:])
    if argv[:1] == ["preflight"]:
        from . import preflight  # boto3 sessions: only when asked

        return preflight.main(argv[1:], prog="python -m ops preflight")
    if argv[:1] == ["import-copilot"]:
        # Its first argument is a directory, not a stack: ops/copilot parses its own command line.
        from .copilot import cli as copilot

        return copilot.main(argv[1:], prog="python -m ops import-copilot")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.stack = driver.stack_of(args, args.verb)
    except driver.UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return driver.EXIT_USAGE
    if args.verb == "synth":
        return synth.synth(
            args.stack,
            json_path=args.json,
            diagram_path=args.diagram,
            preview=args.preview,
            policy=args.policy,
            published=args.published_images,
            resources=args.resources,
            outputs=args.outputs,
        )
    if args.verb == "timeline":
        return timeline.run(args.stack, parallel=args.parallel, output=args.output)
    if args.verb in driver.DRIVER_VERBS:
        return driver.run(args, **driver_options)  # type: ignore[arg-type]
    parser.error(f"unknown verb {args.verb}")  # argparse exits; kept for type checkers
    return 2


if __name__ == "__main__":
    sys.exit(main())
