"""The config reference table in the README, generated from the model so the two cannot drift.

    .venv/bin/python -m stack_config.reference   # prints the Markdown table
"""

from __future__ import annotations

import json
import typing

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from .load import _unwrap
from .model import StackConfig


def rows(model: type[BaseModel] = StackConfig, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """(key path, default, description, allowed) for every key, depth first."""
    out: list[tuple[str, str, str, str]] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{info.alias or name}"
        inner = _unwrap(info.annotation)
        nested: type[BaseModel] | None = None
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            nested = inner
        elif typing.get_origin(inner) is list:
            item = _unwrap(typing.get_args(inner)[0])
            if isinstance(item, type) and issubclass(item, BaseModel):
                nested, path = item, path + "[]"
        if info.default is PydanticUndefined:
            default = "required"
        elif isinstance(info.default, BaseModel):
            default = "see below"
        else:
            default = f"`{json.dumps(info.default, default=_plain)}`"
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        out.append((path, default, info.description or "", str(extra.get("allowed", ""))))
        if nested is not None:
            out.extend(rows(nested, path + "."))
    return out


def _plain(value: object) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    raise TypeError(type(value).__name__)


def markdown() -> str:
    lines = ["| key (under `devops-platform:`) | default | what it does | allowed |", "|---|---|---|---|"]
    for path, default, description, allowed in rows():
        lines.append(f"| `{path}` | {default} | {description} | {allowed} |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
