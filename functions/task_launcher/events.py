"""Parsing the three events the launcher handles into requests. A bad event raises
:class:`BadEventError`, whose message names the field: the handler answers it with a 4xx result,
and nothing is started or changed."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from common import (
    CLIENT_TOKEN,
    CLUSTER_ARN,
    SOURCES,
    START,
    STATE_CHANGE,
    STOP,
    TASK_ARN,
    TASK_DEFINITION_ARN,
    show,
)
from config import Service, Settings

START_KEYS = ("service", "count", "waitForHealthy")
STOP_KEYS = ("service", "taskArn")


class BadEventError(Exception):
    """The event is not one this function accepts; the result is a 4xx and nothing changes."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class StartRequest:
    service: Service
    count: int
    wait_for_healthy: bool
    event_id: str


@dataclass(frozen=True)
class StopRequest:
    service: Service
    task_arn: str | None
    event_id: str | None


@dataclass(frozen=True)
class TaskStopped:
    detail: dict[str, Any]
    event_id: str | None


def parse_event(event: Any, config: Settings) -> StartRequest | StopRequest | TaskStopped:
    """The request an event asks for; raises :class:`BadEventError` with a message naming the field."""
    kinds = ", ".join(SOURCES)
    if not isinstance(event, dict):
        raise BadEventError(
            f"expected an EventBridge event object with source, detail-type and detail (got {show(event)})"
        )
    kind = event.get("detail-type")
    if kind is None:
        raise BadEventError(f"detail-type is required: one of {kinds}")
    if not isinstance(kind, str) or kind not in SOURCES:
        raise BadEventError(f"detail-type {show(kind)} is not handled; allowed: {kinds}")
    source = event.get("source")
    if source != SOURCES[kind]:
        raise BadEventError(f"source must be {SOURCES[kind]} for detail-type {kind} (got {show(source)})")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise BadEventError(f"detail must be an object (got {show(detail)})")
    event_id = event.get("id")
    if kind == STATE_CHANGE:
        return _parse_task_stopped(detail, event_id)
    allowed = START_KEYS if kind == START else STOP_KEYS
    unknown = sorted(str(k) for k in detail if k not in allowed)
    if unknown:
        raise BadEventError(
            f"detail has unknown keys {', '.join(unknown)}; {kind} allows only {', '.join(allowed)}"
        )
    service = _requested_service(detail, config)
    if kind == STOP:
        return StopRequest(
            service, _requested_task_arn(detail, service), event_id if isinstance(event_id, str) else None
        )
    count = detail.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= config.max_count:
        raise BadEventError(
            f"detail.count must be an integer from 1 to {config.max_count} (got {show(count)})"
        )
    wait = detail.get("waitForHealthy", False)
    if not isinstance(wait, bool):
        raise BadEventError(f"detail.waitForHealthy must be true or false (got {show(wait)})")
    if not isinstance(event_id, str) or not CLIENT_TOKEN.match(event_id):
        raise BadEventError(
            f"id (the EventBridge event id) is required, 1 to 64 of letters, digits and + = . _ : / @ - "
            f"(got {show(event_id)}): it is RunTask's clientToken, so a redelivered event starts no second task"
        )
    return StartRequest(service, count, wait, event_id)


def _requested_service(detail: dict[str, Any], config: Settings) -> Service:
    known = ", ".join(sorted(config.services))
    name = detail.get("service")
    if name is None:
        raise BadEventError(f"detail.service is required: one of {known}")
    if not isinstance(name, str):
        raise BadEventError(f"detail.service must be a string, one of {known} (got {show(name)})")
    service = config.services.get(name)
    if service is None:
        raise BadEventError(
            f"unknown service {show(name)} in detail.service; known services: {known}", status=404
        )
    return service


def _requested_task_arn(detail: dict[str, Any], service: Service) -> str | None:
    arn = detail.get("taskArn")
    if arn is None:
        return None
    match = TASK_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise BadEventError(
            "detail.taskArn must be an ECS task ARN, arn:aws:ecs:<region>:<account>:task/<cluster>/<id> "
            f"(got {show(arn)})"
        )
    if match.group(1) and match.group(1) != service.cluster_name:
        raise BadEventError(
            f"detail.taskArn is a task of cluster {match.group(1)}, not of service {service.name}'s "
            f"cluster {service.cluster_name}"
        )
    return arn


def _parse_task_stopped(detail: dict[str, Any], event_id: Any) -> TaskStopped:
    checks = {
        "taskArn": TASK_ARN,
        "taskDefinitionArn": TASK_DEFINITION_ARN,
        "clusterArn": CLUSTER_ARN,
        "lastStatus": re.compile(r"^[A-Z_]+$"),
    }
    for key, pattern in checks.items():
        value = detail.get(key)
        if not isinstance(value, str) or not pattern.match(value):
            raise BadEventError(
                f"detail.{key} is missing or malformed in the {STATE_CHANGE} event (got {show(value)})"
            )
    return TaskStopped(detail, event_id if isinstance(event_id, str) else None)
