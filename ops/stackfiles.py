"""Read Pulumi.yaml and Pulumi.<stack>.yaml into the config map the Pulumi CLI would pass.

Mirrors the CLI: keys are ``namespace:name``; scalars are passed as text and objects and lists
as JSON; a project-level default fills a key the stack leaves unset. Secure values cannot be
decrypted offline, so they reach the program as the text ``<secret>``, marked secret. (Not
``[secret]``: text starting with ``[`` or ``{`` is read as JSON.)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .harness import PROJECT_ROOT

SECRET_PLACEHOLDER = "<secret>"


class StackFileError(Exception):
    """A stack or project file that cannot be read; the message is one line."""


@dataclass(frozen=True)
class StackFiles:
    project: str
    stack: str
    path: Path
    config: dict[str, str]
    secret_keys: tuple[str, ...]
    # The file's top-level ``environment:`` as written (Pulumi ESC imports), or None; read once here
    # so nothing parses the file again (``stack_config.load.esc_environments`` checks its shape).
    environment: Any = None

    @property
    def project_config(self) -> dict[str, str]:
        """The project's own keys (``devops-platform:x``) without the namespace: what
        ``stack_config.validate`` takes."""
        namespace = f"{self.project}:"
        return {k.removeprefix(namespace): v for k, v in self.config.items() if k.startswith(namespace)}


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return str(value)
    return json.dumps(value)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        # libyaml's loader when PyYAML has it: the pure-Python scanner is several times slower.
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise StackFileError(f"{path.name}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from None
    if not isinstance(data, dict):
        raise StackFileError(f"{path.name}: expected a mapping at the top level")
    return data


def available_stacks(root: Path = PROJECT_ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def load(stack: str, root: Path = PROJECT_ROOT) -> StackFiles:
    project_file = _read_yaml(root / "Pulumi.yaml")
    project = str(project_file.get("name"))
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackFileError(
            f"stack {stack!r}: no {path.name} here; stacks: {', '.join(available_stacks(root)) or 'none'}"
        )
    stack_file = _read_yaml(path)
    stack_config = stack_file.get("config") or {}
    if not isinstance(stack_config, dict):
        raise StackFileError(f"{path.name}: 'config' must be a mapping of namespace:key to value")

    config: dict[str, str] = {}
    secrets: list[str] = []
    for key, value in stack_config.items():
        if ":" not in str(key):
            raise StackFileError(
                f"{path.name}: config key {key!r} has no namespace; write it as {project}:{key}"
            )
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key] = SECRET_PLACEHOLDER
            secrets.append(key)
            continue
        config[key] = _text(value)

    for name, declaration in (project_file.get("config") or {}).items():
        key = name if ":" in name else f"{project}:{name}"
        if key in config:
            continue
        if isinstance(declaration, dict) and "default" in declaration:
            config[key] = _text(declaration["default"])
        elif not isinstance(declaration, dict):
            config[key] = _text(declaration)
    return StackFiles(project, stack, path, config, tuple(secrets), stack_file.get("environment"))
