"""Config problems and the error that carries them: one line per problem, no traceback."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

_MISSING = object()


def show(value: Any) -> str:
    """A short, JSON-like rendering of a config value for an error line."""
    if value is _MISSING:
        return "nothing"
    text = json.dumps(value, default=str, separators=(", ", ": "))
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class Problem:
    """One config mistake: where it is, what was given, and what would be accepted."""

    path: str
    allowed: str
    value: Any = _MISSING
    what: str = "got"

    def line(self) -> str:
        if self.what == "got":
            return f"{self.path}: got {show(self.value)}; allowed: {self.allowed}"
        return f"{self.path}: {self.what}; {self.allowed}"


def missing(path: str, allowed: str) -> Problem:
    return Problem(path, f"required: {allowed}", what="missing")


def unknown_key(path: str, allowed_keys: list[str], suggestion: str | None) -> Problem:
    hint = f" (did you mean {suggestion}?)" if suggestion else ""
    return Problem(path, f"allowed keys here: {', '.join(allowed_keys)}{hint}", what="unknown key")


class ConfigError(pulumi.RunError):
    """The stack config is invalid.

    A ``pulumi.RunError`` so that ``pulumi up`` prints the message without a Python traceback;
    the offline synth prints ``lines()`` itself.
    """

    def __init__(self, problems: list[Problem], namespace: str):
        self.problems = problems
        self.namespace = namespace
        count = len(problems)
        header = (
            f"invalid stack config ({count} problem{'s' if count != 1 else ''}; "
            f"keys are under the '{namespace}:' namespace):"
        )
        super().__init__("\n".join([header, *("  " + line for line in self.lines())]))

    def lines(self) -> list[str]:
        return [p.line() for p in self.problems]
