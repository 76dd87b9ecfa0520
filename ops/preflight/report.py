"""One check's result, and how results are printed and written as JSON."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal, TextIO

Status = Literal["ok", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("fail", "warn", "ok", "skip")


@dataclass(frozen=True)
class Result:
    """What one check found in one place.

    ``check`` names the check (``lambda.concurrency``), ``where`` the region or account it looked
    at; ``saw`` is what the account showed (with the numbers), ``needs`` what the stack needs,
    ``fix`` how to get there (printed for warn and fail).
    """

    check: str
    where: str
    status: Status
    title: str
    saw: str = ""
    needs: str = ""
    fix: str = ""


def render(results: Sequence[Result], out: TextIO) -> None:
    width = max((len(r.check) for r in results), default=10)
    where_width = max((len(r.where) for r in results), default=9)
    for r in results:
        print(f"{r.status:<4}  {r.check:<{width}}  {r.where:<{where_width}}  {r.title}", file=out)
        for label, text in (("saw", r.saw), ("needs", r.needs), ("fix", r.fix if r.status in ("warn", "fail") else "")):
            if text:
                print(f"      {label + ':':<6} {text}", file=out)


def counts(results: Iterable[Result]) -> dict[str, int]:
    found = Counter(r.status for r in results)
    return {s: found.get(s, 0) for s in STATUSES}


def summary_line(stack: str, results: Sequence[Result], exit_code: int) -> str:
    c = counts(results)
    parts = ", ".join(f"{c[s]} {s}" for s in STATUSES)
    verdict = "fix every fail before `pulumi up`" if exit_code else "nothing blocks `pulumi up`; read the warnings"
    return f"preflight {stack}: {parts}; exit {exit_code}: {verdict}"


def write_json(path: Path, *, stack: str, header: dict[str, object], results: Sequence[Result], exit_code: int) -> None:
    path.write_text(
        json.dumps(
            {**header, "stack": stack, "exit": exit_code, "counts": counts(results), "results": [asdict(r) for r in results]},
            indent=2,
        )
        + "\n"
    )
