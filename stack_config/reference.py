"""The config reference, generated from the model so the docs cannot drift from it.

    .venv/bin/python -m stack_config.reference          # the README's table
    .venv/bin/python -m stack_config.reference --docs   # docs/config.md: type and example too
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


# Examples for keys neither stack file sets and whose default says nothing useful.
EXAMPLES: dict[str, object] = {
    "allowedAccountIds": ["111122223333"],
    "network.interfaceEndpoints": ["ecr.api", "ecr.dkr", "logs"],
    "regions[].assumeRoleArn": "arn:aws:iam::111122223333:role/platform-deploy",
    "loadBalancer.certificateArns": {"us-east-1": "arn:aws:acm:us-east-1:111122223333:certificate/0f0f0f0f-1111-2222-3333-444455556666"},
    "services[].priority": 120,
    "services[].healthCheck.containerCommand": ["CMD-SHELL", "curl -f http://localhost:8080/health || exit 1"],
    "services[].secrets": {"DB_PASSWORD": "arn:aws:secretsmanager:us-east-1:111122223333:secret:db-AbCdEf"},
    "services[].taskPolicy[].actions": ["s3:GetObject"],
    "services[].taskPolicy[].resources": ["arn:aws:s3:::reports-bucket/*"],
    "services[].environment": {"LOG_LEVEL": "info"},
    "services[].lambda.reservedConcurrency": 50,
    "services[].lambda.provisionedConcurrency": 1,
    "services[].lambda.architecture": "X86_64",
    "functions[].source": "lambda_demo",
    "functions[].priority": 300,
    "functions[].environment": {"GREETING": "hello"},
    "functions[].sns.topicArn": "arn:aws:sns:us-east-1:111122223333:events",
    "pipeline.source.repositoryName": "devops-platform-prod",
    "pipeline.source.connectionArn": "arn:aws:codeconnections:us-east-1:111122223333:connection/0f0f0f0f-1111-2222-3333-444455556666",
    "pipeline.source.fullRepositoryId": "acme/app",
    "pipeline.build.baseImageCache.prefix": "team-a/ecr-public",
    "pipeline.stages[].services": ["auth", "pdf"],
    "pipeline.stages[].actionName": "Deploy-auth",
    "pipeline.notifications.topicArns": {"us-east-1": "arn:aws:sns:us-east-1:111122223333:approvals"},
    "taskLauncher.enabled": True,
    "replication.enabled": True,
    "monitoring.services": {"pdf": {"responseTimeSeconds": 3}},
}


def _stack_value(namespace: object, path: str) -> object:
    """The value at ``path`` (``services[].name``) in a decoded stack namespace, or None."""
    values = [namespace]
    for part in path.split("."):
        listed, key = part.endswith("[]"), part.removesuffix("[]")
        found = [v[key] for v in values if isinstance(v, dict) and key in v]
        values = [item for v in found for item in v] if listed else found
    return next((v for v in values if v not in (None, {}, [])), None)


def example(path: str, default: str, namespaces: typing.Sequence[object]) -> str:
    for ns in namespaces:
        value = _stack_value(ns, path)
        if value is not None:
            return f"`{json.dumps(value, default=_plain)}`"
    if path in EXAMPLES:
        return f"`{json.dumps(EXAMPLES[path])}`"
    return default if default not in ("required", "see below", "`null`", "`{}`", "`[]`") else ""


def type_of(model: type[BaseModel], name: str) -> str:
    return _type_text(model.model_fields[name].annotation)


def _type_text(annotation: object) -> str:
    inner = _unwrap(annotation)
    origin = typing.get_origin(inner)
    if origin is list:
        return f"list of {_type_text(typing.get_args(inner)[0])}"
    if origin is dict:
        return f"map of {_type_text(typing.get_args(inner)[1])}"
    if origin is typing.Literal:
        options = typing.get_args(inner)
        if len(options) > 4:  # the allowed column lists them
            return "string" if all(isinstance(o, str) for o in options) else "one of the allowed"
        return " \\| ".join(json.dumps(o) for o in options)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return "object"
    return getattr(inner, "__name__", str(inner)).replace("str", "string").replace("int", "integer")


def _typed_rows(model: type[BaseModel] = StackConfig, prefix: str = "") -> list[tuple[str, str]]:
    """(key path, type) in the same order as :func:`rows`."""
    out: list[tuple[str, str]] = []
    for name, info in model.model_fields.items():
        path = f"{prefix}{info.alias or name}"
        inner = _unwrap(info.annotation)
        out.append((path + ("[]" if typing.get_origin(inner) is list and _model_of(inner) else ""), type_of(model, name)))
        nested = _model_of(inner)
        if nested is not None:
            out.extend(_typed_rows(nested, out[-1][0] + "."))
    return out


def _model_of(inner: object) -> type[BaseModel] | None:
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner
    if typing.get_origin(inner) is list:
        item = _unwrap(typing.get_args(inner)[0])
        if isinstance(item, type) and issubclass(item, BaseModel):
            return item
    return None


def docs_page(namespaces: typing.Sequence[object]) -> str:
    """docs/config.md: every key with its type, default, allowed values and an example."""
    types = dict(_typed_rows())
    lines = [
        "# Configuration reference",
        "",
        "Every key of the `devops-platform:` namespace in `Pulumi.<stack>.yaml`, generated from the",
        "model (`.venv/bin/python -m stack_config.reference --docs > docs/config.md`); a test keeps",
        "this page equal to the model. Examples come from `Pulumi.prod.yaml`, then `Pulumi.dev.yaml`,",
        "then the defaults. Objects and lists are written as YAML flow values, e.g.",
        "`devops-platform:monitoring: {emails: [oncall@example.com]}`.",
        "",
        "| key | type | default | allowed | example | what it does |",
        "|---|---|---|---|---|---|",
    ]
    for path, default, description, allowed in rows():
        lines.append(
            f"| `{path}` | {types[path]} | {default} | {allowed} | {example(path, default, namespaces)} | {description} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    if "--docs" in sys.argv[1:]:
        from ops import stackfiles

        from .load import decode

        spaces = []
        for stack in ("prod", "dev"):
            raw = {k.split(":", 1)[1]: v for k, v in stackfiles.load(stack).config.items() if k.startswith("devops-platform:")}
            spaces.append(decode(raw, "devops-platform"))
        print(docs_page(spaces), end="")
    else:
        print(markdown())
