"""Read the project's config namespace and validate it into a ``StackConfig``.

Validation runs in two passes. pydantic checks each key on its own (types, ranges, unknown keys);
if that passes, the cross-checks look at keys together (one primary, no overlapping CIDRs,
subnet plans that fit). Every problem of a pass is reported at once.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import types
import typing
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from . import (
    compute,
    deployment_checks,
    event_checks,
    monitoring_checks,
    pipeline_checks,
    subnet_plan,
    workload_checks,
)
from .aws_regions import partition_of
from .model import RESERVED_TAG_KEYS, StackConfig
from .problems import ConfigError, Problem, entry, missing, single_for_list, string_for, unknown_key

# Without these, a stack that sets natStrategy none would deploy tasks that cannot pull images
# (ECR API, ECR registry, image layers in S3) or ship their logs.
_NO_NAT_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs")
_NO_NAT_GATEWAY_ENDPOINTS = ("s3",)


# --- reading ------------------------------------------------------------------------------------


def read_pulumi_namespace(namespace: str) -> dict[str, str]:
    """Every ``<namespace>:<key>`` config value the Pulumi engine handed this program.

    ``pulumi.Config`` can only fetch keys by name, and catching typos needs the full set, so this
    reads the runtime's config map: values set in-process (Automation API inline programs, the
    offline synth) and the ``PULUMI_CONFIG`` bag the CLI's language host passes.
    """
    from pulumi.runtime import config as runtime_config

    merged: dict[str, Any] = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{namespace}:"
    return {k[len(prefix) :]: v for k, v in merged.items() if k.startswith(prefix)}


def _decode(key: str, value: Any, problems: list[Problem]) -> Any:
    # The engine passes objects and lists as JSON text and scalars as plain text.
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            problems.append(Problem(key, "valid YAML/JSON (the value could not be parsed)", value))
    return value


# --- pass 1: pydantic errors as problems ----------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """Strip Annotated and Optional so the walk sees the model, list or dict underneath."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _field_by_alias(model: type[BaseModel], alias: str) -> FieldInfo | None:
    for info in model.model_fields.values():
        if info.alias == alias:
            return info
    return None


def _aliases(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _named(model: Any) -> bool:
    return isinstance(model, type) and issubclass(model, BaseModel) and _field_by_alias(model, "name") is not None


def _walk(loc: tuple[Any, ...], raw: Any) -> tuple[str, FieldInfo | None, type[BaseModel] | None, Any]:
    """Follow an error location through the model, and through ``raw``, the values as given.

    Returns the key path as written in the stack file (a list entry with a name is named:
    ``services[3] (users).port``), the field the error belongs to (for its ``allowed`` text), if
    the last step is a key the model lacks, the model that lacks it, and the type expected at the
    location.
    """
    path = ""
    current: Any = StackConfig
    info: FieldInfo | None = None
    data: Any = raw
    for step in loc:
        if isinstance(step, int):
            data = data[step] if isinstance(data, list) and 0 <= step < len(data) else None
            origin = typing.get_origin(current)
            current = _unwrap(typing.get_args(current)[0]) if origin is list else None
            name = data.get("name") if isinstance(data, dict) and _named(current) else None
            path = entry(path, step, name)
            continue
        data = data.get(step) if isinstance(data, dict) else None
        path += f".{step}" if path else str(step)
        if isinstance(current, type) and issubclass(current, BaseModel):
            found = _field_by_alias(current, str(step))
            if found is None:
                return path, None, current, None
            info, current = found, _unwrap(found.annotation)
        elif typing.get_origin(current) is dict:
            current = _unwrap(typing.get_args(current)[1])
        else:
            current = None
    return path, info, None, current


def _allowed_text(info: FieldInfo | None, fallback: str) -> str:
    extra = info.json_schema_extra if info is not None else None
    if isinstance(extra, dict) and isinstance(extra.get("allowed"), str):
        return extra["allowed"]
    return fallback


def _needed_scalar(expected: Any) -> str | None:
    """What a scalar field takes, when a quoted value cannot be it: "a number" or "a boolean"."""
    if expected is bool:
        return "a boolean"
    if expected in (int, float):
        return "a number"
    if typing.get_origin(expected) is typing.Literal:
        options = typing.get_args(expected)
        if options and all(isinstance(o, int | float) and not isinstance(o, bool) for o in options):
            return "a number"
    return None


def _value_problem(path: str, allowed: str, value: Any, expected: Any, kind: str) -> Problem:
    """A value the field refused; when it has the wrong shape (a string where a number is
    needed, one value where a list is), the line says so."""
    if kind == "list_type" and not isinstance(value, list):
        return single_for_list(path, allowed, value)
    needed = _needed_scalar(expected) if isinstance(value, str) else None
    if needed is not None:
        return string_for(path, needed, allowed, value)
    return Problem(path, allowed, value)


def _from_validation_error(exc: ValidationError, raw: Any) -> list[Problem]:
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        path, info, lacking, expected = _walk(tuple(err["loc"]), raw)
        kind = err["type"]
        if kind in ("model_type", "model_attributes_type") and isinstance(expected, type):
            keys = ", ".join(_aliases(expected))
            problems.append(Problem(path, f"an object with the keys {keys}", err["input"]))
        elif kind == "extra_forbidden" and lacking is not None:
            keys = _aliases(lacking)
            key = path.rsplit(".", 1)[-1]
            close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
            problems.append(unknown_key(path, keys, close[0] if close else None))
        elif kind == "missing":
            problems.append(missing(path, _allowed_text(info, err["msg"])))
        else:
            # Our own validators raise PydanticCustomError whose message is the allowed text.
            allowed = err["msg"] if kind not in _PYDANTIC_BUILTIN else _allowed_text(info, err["msg"])
            problems.append(_value_problem(path, allowed, err["input"], expected, kind))
    return problems


# pydantic's own error kinds; their messages are replaced with the field's "allowed" text.
_PYDANTIC_BUILTIN = frozenset(
    {
        "literal_error", "bool_type", "bool_parsing", "int_type", "int_parsing", "int_from_float",
        "string_type", "list_type", "dict_type", "model_type", "model_attributes_type",
        "too_short", "too_long", "value_error", "assertion_error",
    }
)  # fmt: skip


# --- pass 2: cross-checks -------------------------------------------------------------------------


def _region_problems(cfg: StackConfig) -> list[Problem]:
    problems: list[Problem] = []
    if not cfg.regions:
        return [Problem("regions", "a non-empty list of regions, exactly one with role primary", [])]

    where = [entry("regions", i, r.name) for i, r in enumerate(cfg.regions)]
    primaries = [i for i, r in enumerate(cfg.regions) if r.role == "primary"]
    if not primaries:
        problems.append(
            Problem(
                "regions",
                "exactly one region with role primary (none has it)",
                [r.role for r in cfg.regions],
            )
        )
    for i in primaries[1:]:
        problems.append(
            Problem(
                f"{where[i]}.role",
                f"secondary: exactly one region may be primary, and {where[primaries[0]]} already is",
                "primary",
            )
        )

    seen: dict[str, int] = {}
    for i, region in enumerate(cfg.regions):
        if region.name in seen:
            problems.append(
                Problem(
                    f"{where[i]}.name",
                    f"a region not already listed ({region.name} is regions[{seen[region.name]}])",
                    region.name,
                )
            )
        seen.setdefault(region.name, i)

    nets = [ipaddress.IPv4Network(r.vpc_cidr) for r in cfg.regions]
    for j, net in enumerate(nets):
        for i in range(j):
            if net.overlaps(nets[i]):
                problems.append(
                    Problem(
                        f"{where[j]}.vpcCidr",
                        f"a CIDR that does not overlap {where[i]}.vpcCidr ({nets[i]}), "
                        "so the regions' VPCs stay peerable",
                        str(net),
                    )
                )
                break
    problems.extend(_partition_problems(cfg))
    for i, region in enumerate(cfg.regions):
        problems.extend(_subnet_problems(i, region))
    return problems


def _partition_problems(cfg: StackConfig) -> list[Problem]:
    """One stack, one partition; and a region's role lives in that region's partition."""
    problems: list[Problem] = []
    first = partition_of(cfg.regions[0].name)
    for i, region in enumerate(cfg.regions):
        partition = partition_of(region.name)
        where = entry("regions", i, region.name)
        if partition != first:
            problems.append(
                Problem(
                    f"{where}.name",
                    f"a region in the {first} partition, like {entry('regions', 0, cfg.regions[0].name)}; "
                    "one stack cannot span partitions",
                    region.name,
                )
            )
        arn = region.assume_role_arn
        if arn is not None and arn.split(":")[1] != partition:
            problems.append(
                Problem(
                    f"{where}.assumeRoleArn",
                    f"a role in the {partition} partition, where {region.name} is (arn:{partition}:iam::...)",
                    arn,
                )
            )
    return problems


def _subnet_problems(i: int, region: Any) -> list[Problem]:
    vpc = ipaddress.IPv4Network(region.vpc_cidr)
    base = entry("regions", i, region.name)
    if region.subnets is None:
        most = subnet_plan.max_derived_azs(vpc)
        if region.az_count > most:
            return [
                Problem(
                    f"{base}.azCount",
                    f"at most {most} for a derived subnet plan in {vpc}; "
                    f"use a larger {base}.vpcCidr or give {base}.subnets",
                    region.az_count,
                )
            ]
        return []

    problems: list[Problem] = []
    placed: list[tuple[str, ipaddress.IPv4Network]] = []
    for tier in ("public", "private"):
        cidrs = getattr(region.subnets, tier)
        path = f"{base}.subnets.{tier}"
        if len(cidrs) != region.az_count:
            problems.append(
                Problem(
                    path,
                    f"exactly {region.az_count} CIDRs, one per AZ ({base}.azCount is {region.az_count})",
                    list(cidrs),
                )
            )
        for k, cidr in enumerate(cidrs):
            net = ipaddress.IPv4Network(cidr)
            where = f"{path}[{k}]"
            if not net.subnet_of(vpc):
                problems.append(Problem(where, f"a CIDR inside the VPC {vpc}", cidr))
                continue
            clash = next((p for p, other in placed if net.overlaps(other)), None)
            if clash is not None:
                problems.append(
                    Problem(where, f"a CIDR that does not overlap {clash}", cidr)
                )
                continue
            placed.append((where, net))
    return problems


def _network_problems(cfg: StackConfig) -> list[Problem]:
    net = cfg.network
    problems: list[Problem] = []
    for field, values in (
        ("interfaceEndpoints", net.interface_endpoints),
        ("gatewayEndpoints", net.gateway_endpoints),
    ):
        for k, service in enumerate(values):
            if service in values[:k]:
                problems.append(
                    Problem(f"network.{field}[{k}]", "each service once", service)
                )
    if net.nat_strategy == "none":
        lacking = [s for s in _NO_NAT_INTERFACE_ENDPOINTS if s not in net.interface_endpoints]
        lacking += [s for s in _NO_NAT_GATEWAY_ENDPOINTS if s not in net.gateway_endpoints]
        if lacking:
            problems.append(
                Problem(
                    "network.natStrategy",
                    "perAz or single; none also needs the endpoints without which tasks cannot "
                    f"pull images or write logs (add {', '.join(lacking)} to "
                    "network.interfaceEndpoints / network.gatewayEndpoints)",
                    "none",
                )
            )
    return problems


def _tag_problems(cfg: StackConfig) -> list[Problem]:
    problems: list[Problem] = []
    for key, value in cfg.tags.items():
        path = f"tags.{key}"
        if key.lower() in RESERVED_TAG_KEYS:
            problems.append(
                Problem(path, "a key other than " + ", ".join(RESERVED_TAG_KEYS) + " (set by the program)", value)
            )
        elif not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            problems.append(Problem(path, "a key of 1-128 characters not starting with aws:", key))
        elif len(value) > 256:
            problems.append(Problem(path, "a value of at most 256 characters", value))
    return problems


# --- entry points ---------------------------------------------------------------------------------


def decode(raw: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """The engine's text values as data (objects and lists parsed), or ConfigError."""
    problems: list[Problem] = []
    decoded = {key: _decode(key, value, problems) for key, value in raw.items()}
    if problems:
        raise ConfigError(problems, namespace)
    return decoded


def validate(raw: Mapping[str, Any], namespace: str) -> StackConfig:
    """Validate the namespace's values (keys without the namespace prefix) or raise ConfigError."""
    decoded = decode(raw, namespace)
    try:
        cfg = StackConfig.model_validate(decoded)
    except ValidationError as exc:
        raise ConfigError(_from_validation_error(exc, decoded), namespace) from None
    problems = _region_problems(cfg) + _network_problems(cfg) + _tag_problems(cfg)
    problems += workload_checks.workload_problems(cfg)
    problems += pipeline_checks.pipeline_problems(cfg)
    problems += event_checks.event_problems(cfg)
    problems += monitoring_checks.monitoring_problems(cfg)
    problems += deployment_checks.deployment_problems(cfg)
    problems += compute.compute_problems(cfg)
    if problems:
        raise ConfigError(problems, namespace)
    return cfg


def load_stack_config(namespace: str) -> StackConfig:
    """Read and validate this program's config namespace, as the Pulumi engine passed it."""
    return validate(read_pulumi_namespace(namespace), namespace)


# --- Pulumi ESC -----------------------------------------------------------------------------------


def esc_environments(stack_file: Mapping[str, Any]) -> tuple[str, ...]:
    """The Pulumi ESC environments a stack file imports, in order: its top-level ``environment:``,
    a list of names (``[myorg/common, myorg/dev]``; ``{imports: [...]}`` is read too).

    The Pulumi CLI opens them and passes their ``pulumiConfig`` values to the program as config;
    offline nothing opens them, so only the file's own ``config:`` is seen. ValueError (one line)
    for any other shape."""
    value = stack_file.get("environment")
    if value is None:
        return ()
    if isinstance(value, dict) and set(value) == {"imports"}:
        value = value["imports"] or []
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(
            "'environment' must be a list of Pulumi ESC environment names, e.g. [myorg/common, myorg/dev]"
        )
    return tuple(value)


def unseen_keys(error: ConfigError) -> list[str]:
    """The top-level keys ``error`` reports missing, with their namespace: with ESC environments
    imported, keys they may set that offline validation could not see."""
    return [
        f"{error.namespace}:{p.path}"
        for p in error.problems
        if p.what == "missing" and p.path.isidentifier()
    ]
