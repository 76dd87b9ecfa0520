"""Config sections for the event-driven functions: the on-demand task launcher and the
cross-region repository replicator (``functions/task_launcher``, ``functions/repo_replicator``)."""

from __future__ import annotations

import re
from typing import Literal

from .base import _field, _Model, checked_str
from .workloads import RouteName, _int

SCHEDULE_NAME_ALLOWED = "2-20 characters: lowercase letters, digits and -, starting with a letter"
_SCHEDULE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$")

SCHEDULE_ALLOWED = (
    "an EventBridge schedule: cron(minutes hours day-of-month month day-of-week year), with ? in "
    "day-of-month or day-of-week, or rate(1 minute), rate(N minutes), likewise hour(s) and day(s); times are UTC"
)
_RATE_RE = re.compile(r"^rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)$")

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (low, high, names) per cron field: minutes, hours, day-of-month, month, day-of-week, year.
_CRON_FIELDS = ((0, 59, ()), (0, 23, ()), (1, 31, ()), (1, 12, _MONTHS), (1, 7, _DAYS), (1970, 2199, ()))


def _cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> bool:
    if text.upper() in names:
        return True
    return text.isdigit() and low <= int(text) <= high


def _cron_field(field: str, index: int) -> bool:
    low, high, names = _CRON_FIELDS[index]
    if field == "?":
        return index in (2, 4)
    for part in field.split(","):
        if index == 2 and (part in ("L", "LW") or (part.endswith("W") and _cron_value(part[:-1], 1, 31, ()))):
            continue
        if index == 4 and (part == "L" or (part.endswith("L") and _cron_value(part[:-1], 1, 7, _DAYS))):
            continue
        if index == 4 and "#" in part:
            day, _, nth = part.partition("#")
            if _cron_value(day, 1, 7, _DAYS) and nth in ("1", "2", "3", "4", "5"):
                continue
            return False
        base, _, step = part.partition("/")
        if step and not (step.isdigit() and 1 <= int(step) <= high):
            return False
        if base == "*":
            continue
        ends = base.split("-")
        if len(ends) > 2 or not all(_cron_value(e, low, high, names) for e in ends):
            return False
    return True


def _is_schedule(value: str) -> bool:
    if _RATE_RE.match(value):
        return True
    if not (value.startswith("cron(") and value.endswith(")")):
        return False
    fields = value[5:-1].split(" ")
    # EventBridge requires ? in exactly one of day-of-month and day-of-week.
    return (
        len(fields) == 6
        and all(_cron_field(f, i) for i, f in enumerate(fields))
        and (fields[2] == "?") != (fields[4] == "?")
    )


ScheduleName = checked_str("schedule_name", SCHEDULE_NAME_ALLOWED, _SCHEDULE_NAME_RE.match)
ScheduleExpression = checked_str("schedule", SCHEDULE_ALLOWED, _is_schedule)

# RunTask starts at most 10 tasks per call.
TaskCount, TASK_COUNT_ALLOWED = _int(1, 10, "a task count")
LauncherTimeout, LAUNCHER_TIMEOUT_ALLOWED = _int(60, 900, "seconds")
ReplicatorTimeout, REPLICATOR_TIMEOUT_ALLOWED = _int(60, 900, "seconds")
FunctionMemory, FUNCTION_MEMORY_ALLOWED = _int(128, 10240, "MB")

# The namespace the replicator's lag metric is published in; the observability alarms read it.
REPLICATION_METRIC_NAMESPACE = "DevOpsPlatform/Replication"


class ScheduleConfig(_Model):
    """A schedule that starts (or stops) an on-demand service's tasks (seed 002's cron pattern)."""

    name: ScheduleName = _field(  # type: ignore[valid-type]
        description="Unique among the schedules; part of the rule's logical name.", allowed=SCHEDULE_NAME_ALLOWED
    )
    service: RouteName = _field(  # type: ignore[valid-type]
        description="A service with mode on-demand.", allowed="the name of a service with mode on-demand"
    )
    expression: ScheduleExpression = _field(  # type: ignore[valid-type]
        description="When, in UTC: cron(0 7 ? * MON-FRI *) is 07:00 on weekdays.", allowed=SCHEDULE_ALLOWED
    )
    action: Literal["start", "stop"] = _field(
        "start",
        description="start sends a Start ECS Task event; stop sends Stop ECS Task (every task the launcher started for the service).",
        allowed="start or stop",
    )
    count: TaskCount = _field(  # type: ignore[valid-type]
        1, description="Tasks to start (start only); at most taskLauncher.maxCount.", allowed=TASK_COUNT_ALLOWED
    )


class TaskLauncherConfig(_Model):
    """The Lambda that starts ``mode: on-demand`` services' tasks on a Start ECS Task event."""

    enabled: bool | None = _field(
        None,
        description="Default: on when any service has mode on-demand. true without such a service is an error.",
        allowed="true or false",
        strict=True,
    )
    max_count: TaskCount = _field(  # type: ignore[valid-type]
        5, description="Largest count one event may ask for.", allowed=TASK_COUNT_ALLOWED
    )
    timeout_seconds: LauncherTimeout = _field(  # type: ignore[valid-type]
        300,
        description="The function's timeout. It waits for RUNNING (and optionally healthy) until 20 s "
        "before this, then stops what it started.",
        allowed=LAUNCHER_TIMEOUT_ALLOWED,
    )
    memory_mb: FunctionMemory = _field(  # type: ignore[valid-type]
        256, description="The function's memory.", allowed=FUNCTION_MEMORY_ALLOWED
    )
    schedules: list[ScheduleConfig] = _field(
        [],
        description="EventBridge schedules that send Start/Stop events, in every region.",
        allowed="a list of schedule objects with name, service, expression",
    )


class ReplicationConfig(_Model):
    """The Lambda, in the primary region, that copies the primary repository's branches into each
    secondary region's repository."""

    enabled: bool | None = _field(
        None,
        description="Default: on when the pipeline's source is codecommit and the stack has secondary "
        "regions. true otherwise is an error.",
        allowed="true or false",
        strict=True,
    )
    timeout_seconds: ReplicatorTimeout = _field(  # type: ignore[valid-type]
        300, description="The function's timeout.", allowed=REPLICATOR_TIMEOUT_ALLOWED
    )
    memory_mb: FunctionMemory = _field(  # type: ignore[valid-type]
        512,
        description="The function's memory; one commit's batch of blobs (up to 7 MB) is held at a time.",
        allowed=FUNCTION_MEMORY_ALLOWED,
    )
