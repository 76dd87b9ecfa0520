"""The launcher's configuration: SERVICE_MAP and the other environment variables, validated once
per warm container. A broken configuration raises :class:`ConfigError`: fix the deployment, not
the event."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any

from common import (
    CLUSTER_ARN,
    CLUSTER_NAME,
    CONTAINER_NAME,
    SERVICE_NAME,
    STARTED_BY,
    TARGET_GROUP_ARN,
    TASK_DEFINITION_ARN,
    TaskLauncherError,
    cluster_name_of,
    show,
)

MAP_KEYS = (
    "cluster",
    "taskDefinition",
    "containerName",
    "port",
    "targetGroupArn",
    "subnets",
    "securityGroups",
    "assignPublicIp",
)

RUN_TASK_COUNT_LIMIT = 10  # RunTask starts at most 10 tasks per call.
DEFAULT_MAX_COUNT = 5
DEFAULT_POLL_SECONDS = 5.0
DEFAULT_WAIT_SECONDS = 300.0
DEFAULT_SAFETY_SECONDS = 20.0
ENV_NAMES = ("SERVICE_MAP", "STARTED_BY", "MAX_COUNT", "POLL_SECONDS", "WAIT_SECONDS", "SAFETY_SECONDS")


class ConfigError(TaskLauncherError):
    """SERVICE_MAP or another environment variable is broken: fix the deployment, not the event."""


@dataclass(frozen=True)
class Service:
    """One SERVICE_MAP entry, validated."""

    name: str
    cluster: str
    family: str
    task_definition: str
    container_name: str
    port: int
    target_group_arn: str
    subnets: tuple[str, ...]
    security_groups: tuple[str, ...]

    @property
    def cluster_name(self) -> str:
        return cluster_name_of(self.cluster)


@dataclass(frozen=True)
class Settings:
    services: dict[str, Service]
    started_by: str
    max_count: int
    poll_seconds: float
    wait_seconds: float
    safety_seconds: float

    def by_family(self, family: str) -> Service | None:
        return next((s for s in self.services.values() if s.family == family), None)


# Validated once for the warm container, again only when the environment changes (tests).
_settings: dict[tuple[str | None, ...], Settings] = {}


def reset() -> None:
    """Forget the cached settings (tests; a warm Lambda never needs it)."""
    _settings.clear()


def settings() -> Settings:
    """The validated environment; raises :class:`ConfigError` when it is broken."""
    key = tuple(os.environ.get(name) for name in ENV_NAMES)
    if key not in _settings:
        _settings.clear()
        _settings[key] = Settings(
            services=parse_service_map(os.environ.get("SERVICE_MAP")),
            started_by=_started_by(os.environ.get("STARTED_BY")),
            max_count=int(_number("MAX_COUNT", DEFAULT_MAX_COUNT, 1, RUN_TASK_COUNT_LIMIT, integer=True)),
            poll_seconds=_number("POLL_SECONDS", DEFAULT_POLL_SECONDS, 0.001, 60),
            wait_seconds=_number("WAIT_SECONDS", DEFAULT_WAIT_SECONDS, 0.001, 900),
            safety_seconds=_number("SAFETY_SECONDS", DEFAULT_SAFETY_SECONDS, 0, 300),
        )
    return _settings[key]


def parse_service_map(raw: str | None) -> dict[str, Service]:
    """Validate SERVICE_MAP (a JSON object of services); raises :class:`ConfigError` naming the key."""
    if raw is None or not raw.strip():
        raise ConfigError("SERVICE_MAP is not set: it must be a JSON object of services")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"SERVICE_MAP is not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise ConfigError("SERVICE_MAP must be a non-empty JSON object of services")
    services = {name: _service_entry(name, entry) for name, entry in data.items()}
    families: dict[str, str] = {}
    for service in services.values():
        other = families.setdefault(service.family, service.name)
        if other != service.name:
            raise ConfigError(
                f"SERVICE_MAP: services {other} and {service.name} share task definition family "
                f"{service.family}; a stopped task could not be mapped back to one service"
            )
    return services


def _service_entry(name: Any, entry: Any) -> Service:
    if not isinstance(name, str) or not SERVICE_NAME.match(name):
        raise ConfigError(f"SERVICE_MAP key {name!r} is not a service name (letters, digits, '-', '_', '.')")
    where = f"SERVICE_MAP[{name}]"
    if not isinstance(entry, dict):
        raise ConfigError(f"{where} must be an object with keys {', '.join(MAP_KEYS)}")
    missing = [k for k in MAP_KEYS if k not in entry]
    unknown = sorted(k for k in entry if k not in MAP_KEYS)
    if missing or unknown:
        raise ConfigError(
            f"{where}: missing keys {missing or 'none'}, unknown keys {unknown or 'none'}; "
            f"the keys are exactly {', '.join(MAP_KEYS)}"
        )
    cluster = entry["cluster"]
    if not isinstance(cluster, str) or not (CLUSTER_NAME.match(cluster) or CLUSTER_ARN.match(cluster)):
        raise ConfigError(f"{where}.cluster must be a cluster name or ARN (got {show(cluster)})")
    task_definition = entry["taskDefinition"]
    match = TASK_DEFINITION_ARN.match(task_definition) if isinstance(task_definition, str) else None
    if match is None:
        raise ConfigError(
            f"{where}.taskDefinition must be a task definition ARN with its revision, "
            f"arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision> (got {show(task_definition)})"
        )
    container = entry["containerName"]
    if not isinstance(container, str) or not CONTAINER_NAME.match(container):
        raise ConfigError(f"{where}.containerName must be a container name (got {show(container)})")
    port = entry["port"]
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"{where}.port must be an integer from 1 to 65535 (got {show(port)})")
    target_group = entry["targetGroupArn"]
    if not isinstance(target_group, str) or not TARGET_GROUP_ARN.match(target_group):
        raise ConfigError(f"{where}.targetGroupArn must be a target group ARN (got {show(target_group)})")
    subnets = _id_list(where, "subnets", entry["subnets"], "subnet", 16)
    groups = _id_list(where, "securityGroups", entry["securityGroups"], "sg", 5)
    public = entry["assignPublicIp"]
    if public is not False:
        raise ConfigError(
            f"{where}.assignPublicIp must be false (got {show(public)}): the launcher only starts "
            "tasks in private subnets without a public IP"
        )
    return Service(
        name=name,
        cluster=cluster,
        family=match.group(1),
        task_definition=task_definition,
        container_name=container,
        port=port,
        target_group_arn=target_group,
        subnets=subnets,
        security_groups=groups,
    )


def _id_list(where: str, key: str, value: Any, prefix: str, limit: int) -> tuple[str, ...]:
    pattern = re.compile(rf"^{prefix}-[0-9a-f]{{8,17}}$")
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= limit
        or not all(isinstance(v, str) and pattern.match(v) for v in value)
        or len(set(value)) != len(value)
    ):
        raise ConfigError(
            f"{where}.{key} must be a list of 1 to {limit} distinct {prefix}-… ids (got {show(value)})"
        )
    return tuple(value)


def _started_by(raw: str | None) -> str:
    if raw is None or not STARTED_BY.match(raw):
        raise ConfigError(
            f"STARTED_BY must be set to 1 to 128 letters, digits, '-', '_' or '/' (got {show(raw)}); "
            "it marks the tasks this launcher starts"
        )
    return raw


def _number(name: str, default: float, low: float, high: float, *, integer: bool = False) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        value = None
    if value is None or value != value or not low <= value <= high:  # value != value: NaN
        kind = "an integer" if integer else "a number of seconds"
        raise ConfigError(f"{name} must be {kind} from {low:g} to {high:g} (got {raw!r})")
    return value
