"""What every module of the task launcher shares: event kinds, the ARN and name patterns, the
errors that fail an invocation, and the log and result formats."""

from __future__ import annotations

import json
import re
from typing import Any

APP_SOURCE = "custom.app"
ECS_SOURCE = "aws.ecs"
START = "Start ECS Task"
STOP = "Stop ECS Task"
STATE_CHANGE = "ECS Task State Change"
SOURCES = {START: APP_SOURCE, STOP: APP_SOURCE, STATE_CHANGE: ECS_SOURCE}

_ARN_PREFIX = r"arn:aws(?:-[a-z]+)*:{service}:[a-z0-9-]+:\d{{12}}:"
TASK_DEFINITION_ARN = re.compile(
    "^" + _ARN_PREFIX.format(service="ecs") + r"task-definition/([A-Za-z0-9_-]{1,255}):([1-9][0-9]*)$"
)
CLUSTER_ARN = re.compile("^" + _ARN_PREFIX.format(service="ecs") + r"cluster/([A-Za-z0-9_-]{1,255})$")
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
TASK_ARN = re.compile(
    "^"
    + _ARN_PREFIX.format(service="ecs")
    + r"task/(?:([A-Za-z0-9_-]{1,255})/)?([A-Za-z0-9][A-Za-z0-9-]{0,63})$"
)
TARGET_GROUP_ARN = re.compile(
    "^" + _ARN_PREFIX.format(service="elasticloadbalancing") + r"targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$"
)
SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CONTAINER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
STARTED_BY = re.compile(r"^[A-Za-z0-9_/-]{1,128}$")  # ECS startedBy: at most 128 of these.
# RunTask's clientToken takes 1-64 printable ASCII characters, but the id is also a tag value,
# which takes fewer; EventBridge ids (UUIDs) fit both.
CLIENT_TOKEN = re.compile(r"^[A-Za-z0-9+=._:/@-]{1,64}$")


class TaskLauncherError(RuntimeError):
    """Raised instead of a result: the invocation fails and the event goes to the on-failure destination."""


def family_of(task_definition_arn: Any) -> str | None:
    """The family of a task definition ARN, or None if it is not one."""
    match = TASK_DEFINITION_ARN.match(task_definition_arn) if isinstance(task_definition_arn, str) else None
    return match.group(1) if match else None


def cluster_name_of(cluster: str) -> str:
    """A cluster's name, from its name or ARN."""
    match = CLUSTER_ARN.match(cluster)
    return match.group(1) if match else cluster


def task_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


def show(value: Any) -> str:
    """A value as it appears in an error message: JSON, cut at 80 characters."""
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def result(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "body": body}


def log(level: str, event: str, **fields: Any) -> None:
    """One JSON object per line (the function's log format is JSON)."""
    print(json.dumps({"level": level, "event": event, **fields}, sort_keys=True, default=str))
