"""``python -m ops.graphcheck [--base REV] [STACK ...]``: did a change alter what the program
declares?

Synthesizes each stack (default: prod and dev) twice, at ``REV`` (default ``HEAD``, in a
temporary git worktree) and in the working tree, and compares the two ``--json`` graphs. Keys the
working tree's graph adds to the contract (for example a new resource field) are left out of the
comparison, so an additive change to the contract reads as no change; everything the base graph
has must be byte-identical.

A refactor must leave the graphs identical: a resource whose URN moves would be replaced in real
state. A moved URN is accepted only where the new resource carries an alias to the old one
(``options.aliases``), and it is listed either way.

Exit status: 0 identical (aliased moves allowed), 1 different, 2 could not synthesize.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _restrict(new: Any, base: Any) -> Any:
    """``new`` without the object keys ``base`` lacks, at the top level and in each resource."""
    if isinstance(new, dict) and isinstance(base, dict):
        return {k: new[k] for k in new if k in base}
    return new


def alias_urn(resource: dict[str, Any], alias: Any) -> str | None:
    """The URN an alias stands for: a URN as given, or a spec's name, type and parent (the engine's
    rule: the parent's type chain, then the type). None for a spec without a parent URN (a type alias
    at the resource's own place, pulumi-aws's renamed types)."""
    if isinstance(alias, str):
        return alias
    if not isinstance(alias, dict) or not alias.get("parentUrn"):
        return None
    parent = alias["parentUrn"]
    head, _, rest = parent.partition("::")
    project, _, rest = rest.partition("::")
    chain = rest.rsplit("::", 1)[0]
    typ, name = alias.get("type", resource["type"]), alias.get("name", resource["name"])
    qualified = typ if chain == "pulumi:pulumi:Stack" else f"{chain}${typ}"
    return f"{head}::{project}::{qualified}::{name}"


def _aliases_name(resource: dict[str, Any], old: dict[str, Any]) -> bool:
    for alias in resource.get("options", {}).get("aliases", []):
        if alias_urn(resource, alias) == old["urn"]:
            return True
        if isinstance(alias, dict) and not alias.get("parentUrn") and alias.get("name") == old["name"] and alias.get("type", old["type"]) == old["type"]:
            return True
    return False


def compare(base: dict[str, Any], new: dict[str, Any]) -> tuple[list[str], list[str]]:
    """The differences that matter (first list) and the URN moves that aliases cover (second)."""
    problems: list[str] = []
    for key in base:
        if key != "resources" and base[key] != new.get(key):
            problems.append(f"{key}: differs")
    old = {r["urn"]: r for r in base.get("resources", [])}
    now = {r["urn"]: r for r in new.get("resources", [])}
    gone = [u for u in old if u not in now]
    added = [u for u in now if u not in old]
    moved: list[str] = []
    for urn in gone:
        heir = next((now[a] for a in added if _aliases_name(now[a], old[urn])), None)
        if heir is not None:
            moved.append(f"{urn} -> {heir['urn']} (aliased)")
            added.remove(heir["urn"])
        else:
            problems.append(f"removed: {urn}")
    problems += [f"added: {u}" for u in added]
    for urn in old:
        if urn in now:
            before, after = old[urn], _restrict(now[urn], old[urn])
            changed = sorted(k for k in before if before[k] != after.get(k))
            if changed:
                problems.append(f"changed: {urn}: {', '.join(changed)}")
    return problems, moved


def synth_graph(tree: Path, stack: str, out: Path, python: str = sys.executable) -> dict[str, Any]:
    """The ``--json`` graph of ``stack`` synthesized by the program in ``tree``."""
    result = subprocess.run(
        [python, "-m", "ops", "synth", stack, "--json", str(out)], cwd=tree, capture_output=True, text=True
    )
    if result.returncode != 0:
        raise RuntimeError(f"synth {stack} in {tree} failed (exit {result.returncode}):\n{result.stderr}")
    return json.loads(out.read_text())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ops.graphcheck", description=__doc__.split("\n\n")[0])
    parser.add_argument("stacks", nargs="*", default=["prod", "dev"], metavar="STACK")
    parser.add_argument("--base", default="HEAD", help="the git revision to compare with (default HEAD)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="graphcheck-") as tmp:
        worktree = Path(tmp) / "base"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "--quiet", str(worktree), args.base], cwd=ROOT, check=True
        )
        try:
            status = 0
            for stack in args.stacks:
                try:
                    base = synth_graph(worktree, stack, Path(tmp) / f"{stack}-base.json")
                    new = synth_graph(ROOT, stack, Path(tmp) / f"{stack}-new.json")
                except RuntimeError as exc:
                    print(exc, file=sys.stderr)
                    return 2
                problems, moved = compare(base, new)
                for line in moved:
                    print(f"{stack}: moved {line}")
                if problems:
                    status = 1
                    print(f"{stack}: {len(problems)} difference(s) from {args.base}:")
                    print("\n".join(f"  {p}" for p in problems))
                else:
                    print(f"{stack}: {len(base['resources'])} resources, identical to {args.base} (new keys left out)")
            return status
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=ROOT, check=False)


if __name__ == "__main__":
    sys.exit(main())
