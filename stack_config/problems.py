"""Config problems and the error that carries them: one line per problem, no traceback."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

_MISSING = object()
# A list entry's name is shown in its key path up to this length (names are short; a garbled
# value is not repeated at length in every key path).
_LABEL_MAX = 40


def show(value: Any) -> str:
    """A short, JSON-like rendering of a config value for an error line."""
    if value is _MISSING:
        return "nothing"
    text = json.dumps(value, default=str, separators=(", ", ": "))
    return text if len(text) <= 80 else text[:77] + "..."


def entry(path: str, index: int, name: Any = None) -> str:
    """The key path of a list entry, with its name when it has one: ``services[3] (users)``.

    Errors name entries as the user wrote them: the index alone makes them count the list."""
    if isinstance(name, str) and name.strip() and name.isprintable():
        label = name if len(name) <= _LABEL_MAX else name[: _LABEL_MAX - 3] + "..."
        return f"{path}[{index}] ({label})"
    return f"{path}[{index}]"


def entries(path: str, items: Any) -> list[tuple[str, Any]]:
    """(key path, item) for every entry of a list of named objects: ``("services[0] (auth)", svc)``."""
    return [(entry(path, i, getattr(item, "name", None)), item) for i, item in enumerate(items)]


@dataclass(frozen=True)
class Problem:
    """One config mistake: where it is, what was given, and what would be accepted.

    ``needed`` is set when the value has the wrong type ("a number", "a list"): the line then says
    what was given (``given``, for example 'the string "10"') and what kind of value is needed.
    """

    path: str
    allowed: str
    value: Any = _MISSING
    what: str = "got"
    needed: str | None = None
    given: str | None = None

    def line(self) -> str:
        if self.what != "got":
            return f"{self.path}: {self.what}; {self.allowed}"
        if self.needed is not None:
            return f"{self.path}: got {self.given or show(self.value)}; {self.needed} is needed: {self.allowed}"
        return f"{self.path}: got {show(self.value)}; allowed: {self.allowed}"


def missing(path: str, allowed: str) -> Problem:
    return Problem(path, f"required: {allowed}", what="missing")


def unknown_key(path: str, allowed_keys: list[str], suggestion: str | None) -> Problem:
    hint = f" (did you mean {suggestion}?)" if suggestion else ""
    return Problem(path, f"allowed keys here: {', '.join(allowed_keys)}{hint}", what="unknown key")


def string_for(path: str, needed: str, allowed: str, value: str) -> Problem:
    """A quoted value where a number or true/false is needed: ``got the string "10"; a number is
    needed: ...`` (YAML reads ``"10"`` and ``'true'`` as text)."""
    return Problem(path, allowed, value, needed=needed, given=f"the string {show(value)}")


def single_for_list(path: str, allowed: str, value: Any) -> Problem:
    """One value (or an object) where a list is needed: ``got "a@b.com", a single value; a list is
    needed: ...``."""
    shape = "an object" if isinstance(value, dict) else "a single value"
    return Problem(path, allowed, value, needed="a list", given=f"{show(value)}, {shape}")


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
