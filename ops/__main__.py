"""Command line: ``python -m ops <verb> ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import synth


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ops",
        description="Operate devops-platform. Offline verbs need no AWS account and no Pulumi CLI.",
    )
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    p = verbs.add_parser(
        "synth",
        help="run the program offline under mocks and summarize what it declares",
        description="Run __main__.py offline under Pulumi mocks with Pulumi.<stack>.yaml as its "
        "config. Exit 0: synthesized; 2: invalid config; 1: the program failed.",
    )
    p.add_argument("stack", help="stack name, e.g. dev or prod (reads Pulumi.<stack>.yaml)")
    p.add_argument("--json", metavar="PATH", type=Path, help="write the resource graph as JSON")
    p.add_argument(
        "--preview",
        action="store_true",
        help="synthesize as a preview: IDs, ARNs and other computed values stay unknown",
    )

    args = parser.parse_args(argv)
    if args.verb == "synth":
        return synth.synth(args.stack, json_path=args.json, preview=args.preview)
    parser.error(f"unknown verb {args.verb}")  # argparse exits; kept for type checkers
    return 2


if __name__ == "__main__":
    sys.exit(main())
