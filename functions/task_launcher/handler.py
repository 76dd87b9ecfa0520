"""The on-demand task launcher (seed 002's start-engines): one handler, three EventBridge events.

- ``custom.app`` / ``Start ECS Task``: run a service's task family on Fargate in its private
  subnets (never with a public IP), wait until RUNNING, register the task's private IP in the
  service's ip target group, and optionally wait until the target is healthy.
- ``custom.app`` / ``Stop ECS Task``: deregister, then stop, one task of the service or every
  task of it this launcher started.
- ``aws.ecs`` / ``ECS Task State Change`` with lastStatus STOPPED: take the stopped task's IP out
  of its service's target group.

A bad event gets a 4xx result and changes nothing. A broken configuration raises
:class:`ConfigError`; a start that fails after RunTask cleans up what it did (deregisters, stops)
and raises :class:`LaunchError`, so the event lands in the function's on-failure destination.
README.md is the contract. Only boto3 and the standard library at run time.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

APP_SOURCE = "custom.app"
ECS_SOURCE = "aws.ecs"
START = "Start ECS Task"
STOP = "Stop ECS Task"
STATE_CHANGE = "ECS Task State Change"
SOURCES = {START: APP_SOURCE, STOP: APP_SOURCE, STATE_CHANGE: ECS_SOURCE}

START_KEYS = ("service", "count", "waitForHealthy")
STOP_KEYS = ("service", "taskArn")
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

_ARN = r"arn:aws(?:-[a-z]+)*:{service}:[a-z0-9-]+:\d{{12}}:"
_TASK_DEFINITION_ARN = re.compile(
    "^" + _ARN.format(service="ecs") + r"task-definition/([A-Za-z0-9_-]{1,255}):([1-9][0-9]*)$"
)
_CLUSTER_ARN = re.compile("^" + _ARN.format(service="ecs") + r"cluster/([A-Za-z0-9_-]{1,255})$")
_CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_TASK_ARN = re.compile(
    "^" + _ARN.format(service="ecs") + r"task/(?:([A-Za-z0-9_-]{1,255})/)?([A-Za-z0-9][A-Za-z0-9-]{0,63})$"
)
_TARGET_GROUP_ARN = re.compile(
    "^" + _ARN.format(service="elasticloadbalancing") + r"targetgroup/[A-Za-z0-9-]{1,32}/[0-9a-f]{16}$"
)
_SERVICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_CONTAINER_NAME = re.compile(r"^[A-Za-z0-9_-]{1,255}$")
_STARTED_BY = re.compile(r"^[A-Za-z0-9_/-]{1,128}$")  # ECS startedBy: at most 128 of these.
# RunTask's clientToken takes 1-64 printable ASCII characters, but the id is also a tag value,
# which takes fewer; EventBridge ids (UUIDs) fit both.
_CLIENT_TOKEN = re.compile(r"^[A-Za-z0-9+=._:/@-]{1,64}$")

# DescribeTargetHealth reasons that mean waiting for "healthy" is pointless.
_GONE_REASONS = ("Target.NotRegistered", "Target.DeregistrationInProgress", "Target.NotInUse")


class TaskLauncherError(RuntimeError):
    """Raised instead of a result: the invocation fails and the event goes to the on-failure destination."""


class ConfigError(TaskLauncherError):
    """SERVICE_MAP or another environment variable is broken: fix the deployment, not the event."""


class LaunchError(TaskLauncherError):
    """A start failed. What it had started or registered was cleaned up; the message says how far."""


class DeregisterError(TaskLauncherError):
    """A Stop ECS Task or a stopped task's deregistration failed part way; the message says how far."""


class BadEventError(Exception):
    """The event is not one this function accepts; the result is a 4xx and nothing changes."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


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
        return _cluster_name(self.cluster)


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


@dataclass
class _Launch:
    """What one start did so far, so a failure can undo exactly that."""

    service: Service
    task_arns: list[str]
    stopping: set[str] = field(default_factory=set)  # seen with desiredStatus STOPPED: no StopTask
    registered: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Clients and configuration, created on first use and cached for the warm container.

_clients: dict[str, Any] = {}
_settings: dict[tuple[str | None, ...], Settings] = {}


# Short timeouts: one slow call must not eat the safety margin that cleanup needs before Lambda
# ends the invocation and leaves a started task running.
_CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=15, retries={"mode": "standard", "max_attempts": 3})


def client(name: str) -> Any:
    """The cached ``boto3.client(name)`` ("ecs", "elbv2")."""
    if name not in _clients:
        _clients[name] = boto3.client(name, config=_CLIENT_CONFIG)
    return _clients[name]


def reset() -> None:
    """Forget the cached clients and settings (tests; a warm Lambda never needs it)."""
    _clients.clear()
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
    if not isinstance(name, str) or not _SERVICE_NAME.match(name):
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
    if not isinstance(cluster, str) or not (_CLUSTER_NAME.match(cluster) or _CLUSTER_ARN.match(cluster)):
        raise ConfigError(f"{where}.cluster must be a cluster name or ARN (got {_show(cluster)})")
    task_definition = entry["taskDefinition"]
    match = _TASK_DEFINITION_ARN.match(task_definition) if isinstance(task_definition, str) else None
    if match is None:
        raise ConfigError(
            f"{where}.taskDefinition must be a task definition ARN with its revision, "
            f"arn:aws:ecs:<region>:<account>:task-definition/<family>:<revision> (got {_show(task_definition)})"
        )
    container = entry["containerName"]
    if not isinstance(container, str) or not _CONTAINER_NAME.match(container):
        raise ConfigError(f"{where}.containerName must be a container name (got {_show(container)})")
    port = entry["port"]
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ConfigError(f"{where}.port must be an integer from 1 to 65535 (got {_show(port)})")
    target_group = entry["targetGroupArn"]
    if not isinstance(target_group, str) or not _TARGET_GROUP_ARN.match(target_group):
        raise ConfigError(f"{where}.targetGroupArn must be a target group ARN (got {_show(target_group)})")
    subnets = _id_list(where, "subnets", entry["subnets"], "subnet", 16)
    groups = _id_list(where, "securityGroups", entry["securityGroups"], "sg", 5)
    public = entry["assignPublicIp"]
    if public is not False:
        raise ConfigError(
            f"{where}.assignPublicIp must be false (got {_show(public)}): the launcher only starts "
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
            f"{where}.{key} must be a list of 1 to {limit} distinct {prefix}-… ids (got {_show(value)})"
        )
    return tuple(value)


def _started_by(raw: str | None) -> str:
    if raw is None or not _STARTED_BY.match(raw):
        raise ConfigError(
            f"STARTED_BY must be set to 1 to 128 letters, digits, '-', '_' or '/' (got {_show(raw)}); "
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


# --------------------------------------------------------------------------------------------
# The handler.


def handler(event: Any, context: Any) -> dict[str, Any]:
    config = settings()
    try:
        request = parse_event(event, config)
        if isinstance(request, StartRequest):
            return _start(request, config, context)
        if isinstance(request, StopRequest):
            return _stop(request, config)
        return _task_stopped(request, config)
    except BadEventError as bad:
        _log("WARNING", "bad-event", error=bad.message, statusCode=bad.status, eventId=_event_id(event))
        return _result(bad.status, {"error": bad.message})


def parse_event(event: Any, config: Settings) -> StartRequest | StopRequest | TaskStopped:
    """The request an event asks for; raises :class:`BadEventError` with a message naming the field."""
    kinds = ", ".join(SOURCES)
    if not isinstance(event, dict):
        raise BadEventError(f"expected an EventBridge event object with source, detail-type and detail (got {_show(event)})")
    kind = event.get("detail-type")
    if kind is None:
        raise BadEventError(f"detail-type is required: one of {kinds}")
    if not isinstance(kind, str) or kind not in SOURCES:
        raise BadEventError(f"detail-type {_show(kind)} is not handled; allowed: {kinds}")
    source = event.get("source")
    if source != SOURCES[kind]:
        raise BadEventError(f"source must be {SOURCES[kind]} for detail-type {kind} (got {_show(source)})")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise BadEventError(f"detail must be an object (got {_show(detail)})")
    event_id = event.get("id")
    if kind == STATE_CHANGE:
        return _parse_task_stopped(detail, event_id)
    allowed = START_KEYS if kind == START else STOP_KEYS
    unknown = sorted(str(k) for k in detail if k not in allowed)
    if unknown:
        raise BadEventError(f"detail has unknown keys {', '.join(unknown)}; {kind} allows only {', '.join(allowed)}")
    service = _requested_service(detail, config)
    if kind == STOP:
        return StopRequest(service, _requested_task_arn(detail, service), event_id if isinstance(event_id, str) else None)
    count = detail.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= config.max_count:
        raise BadEventError(f"detail.count must be an integer from 1 to {config.max_count} (got {_show(count)})")
    wait = detail.get("waitForHealthy", False)
    if not isinstance(wait, bool):
        raise BadEventError(f"detail.waitForHealthy must be true or false (got {_show(wait)})")
    if not isinstance(event_id, str) or not _CLIENT_TOKEN.match(event_id):
        raise BadEventError(
            f"id (the EventBridge event id) is required, 1 to 64 of letters, digits and + = . _ : / @ - "
            f"(got {_show(event_id)}): it is RunTask's clientToken, so a redelivered event starts no second task"
        )
    return StartRequest(service, count, wait, event_id)


def _requested_service(detail: dict[str, Any], config: Settings) -> Service:
    known = ", ".join(sorted(config.services))
    name = detail.get("service")
    if name is None:
        raise BadEventError(f"detail.service is required: one of {known}")
    if not isinstance(name, str):
        raise BadEventError(f"detail.service must be a string, one of {known} (got {_show(name)})")
    service = config.services.get(name)
    if service is None:
        raise BadEventError(f"unknown service {_show(name)} in detail.service; known services: {known}", status=404)
    return service


def _requested_task_arn(detail: dict[str, Any], service: Service) -> str | None:
    arn = detail.get("taskArn")
    if arn is None:
        return None
    match = _TASK_ARN.match(arn) if isinstance(arn, str) else None
    if match is None:
        raise BadEventError(
            "detail.taskArn must be an ECS task ARN, arn:aws:ecs:<region>:<account>:task/<cluster>/<id> "
            f"(got {_show(arn)})"
        )
    if match.group(1) and match.group(1) != service.cluster_name:
        raise BadEventError(
            f"detail.taskArn is a task of cluster {match.group(1)}, not of service {service.name}'s "
            f"cluster {service.cluster_name}"
        )
    return arn


def _parse_task_stopped(detail: dict[str, Any], event_id: Any) -> TaskStopped:
    checks = {
        "taskArn": _TASK_ARN,
        "taskDefinitionArn": _TASK_DEFINITION_ARN,
        "clusterArn": _CLUSTER_ARN,
        "lastStatus": re.compile(r"^[A-Z_]+$"),
    }
    for key, pattern in checks.items():
        value = detail.get(key)
        if not isinstance(value, str) or not pattern.match(value):
            raise BadEventError(f"detail.{key} is missing or malformed in the {STATE_CHANGE} event (got {_show(value)})")
    return TaskStopped(detail, event_id if isinstance(event_id, str) else None)


# --------------------------------------------------------------------------------------------
# Start ECS Task.


def _start(request: StartRequest, config: Settings, context: Any) -> dict[str, Any]:
    service = request.service
    fields = {"service": service.name, "eventId": request.event_id}
    budget = _budget(context, config)
    if budget <= 0:
        message = (
            f"start {service.name} (event {request.event_id}): no time left to wait for a task "
            f"(remaining time minus SAFETY_SECONDS is {budget:.1f}s); nothing was started"
        )
        _log("ERROR", "start-refused", error=message, **fields)
        raise LaunchError(message)
    deadline = time.monotonic() + budget
    params = {
        "cluster": service.cluster,
        # The family, not the revision: ECS runs its latest ACTIVE revision, so the revisions the
        # delivery pipeline registers with each release are the ones started.
        "taskDefinition": service.family,
        "count": request.count,
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": list(service.subnets),
                "securityGroups": list(service.security_groups),
                "assignPublicIp": "DISABLED",
            }
        },
        "startedBy": config.started_by,
        "clientToken": request.event_id,
        "enableECSManagedTags": True,
        "propagateTags": "TASK_DEFINITION",
        "tags": [
            {"key": "launched-by-event", "value": request.event_id},
            {"key": "service", "value": service.name},
        ],
    }
    _log(
        "INFO",
        "run-task",
        cluster=service.cluster,
        family=service.family,
        count=request.count,
        waitForHealthy=request.wait_for_healthy,
        waitSeconds=round(budget, 3),
        **fields,
    )
    try:
        response = client("ecs").run_task(**params)
    except (ClientError, BotoCoreError) as exc:
        message = f"start {service.name} (event {request.event_id}): RunTask failed: {_error(exc)}"
        _log("ERROR", "start-failed", error=message, **fields)
        raise LaunchError(message) from exc

    launch = _Launch(service, [t["taskArn"] for t in response.get("tasks") or []])
    try:
        failures = response.get("failures") or []
        if failures or len(launch.task_arns) != request.count:
            raise LaunchError(
                f"RunTask started {len(launch.task_arns)} of {request.count} task(s); "
                f"failures: {_failures(failures) or 'none reported'}"
            )
        _log("INFO", "tasks-started", taskArns=launch.task_arns, **fields)
        tasks = _wait_running(launch, deadline, config, fields)
        targets = []
        for task in tasks:
            ip = task_ip(task, service.container_name)
            if ip is None:
                raise LaunchError(f"task {task['taskArn']} is RUNNING but its ENI has no private IPv4 address")
            targets.append({"Id": ip, "Port": service.port})
        launch.registered = targets  # before the call: a failed call may have registered some
        client("elbv2").register_targets(TargetGroupArn=service.target_group_arn, Targets=targets)
        _log("INFO", "targets-registered", targetGroupArn=service.target_group_arn, targets=targets, **fields)
        health = _health(service, targets, deadline, config, request.wait_for_healthy, fields)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, LaunchError) else f"{type(exc).__name__}: {_error(exc)}"
        cleanup = _cleanup(launch, f"task-launcher: start failed: {reason}", fields)
        message = f"start {service.name} (event {request.event_id}) failed: {reason}; {cleanup}"
        _log("ERROR", "start-failed", error=message, taskArns=launch.task_arns, **fields)
        raise LaunchError(message) from exc

    results = [
        {
            "taskArn": task["taskArn"],
            "taskId": _task_id(task["taskArn"]),
            "taskDefinitionArn": task.get("taskDefinitionArn"),
            "privateIp": target["Id"],
            "port": service.port,
            "targetGroupArn": service.target_group_arn,
            "healthStatus": health[target["Id"]],
        }
        for task, target in zip(tasks, targets, strict=True)
    ]
    body: dict[str, Any] = {"service": service.name, **results[0]}
    if request.count > 1:
        body["tasks"] = results
    _log("INFO", "start-succeeded", tasks=results, **fields)
    return _result(200, body)


def _budget(context: Any, config: Settings) -> float:
    """Seconds the start may wait: WAIT_SECONDS, and never past the invocation's end minus the margin."""
    budget = config.wait_seconds
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = min(budget, remaining() / 1000 - config.safety_seconds)
    return budget


def _wait_running(launch: _Launch, deadline: float, config: Settings, fields: dict[str, Any]) -> list[dict[str, Any]]:
    """The tasks once all are RUNNING; raises if one stops first or the deadline passes."""
    while True:
        found = {t["taskArn"]: t for t in _describe(launch.service, launch.task_arns)}
        stopped = [t for t in found.values() if t.get("desiredStatus") == "STOPPED" or t.get("lastStatus") == "STOPPED"]
        launch.stopping.update(t["taskArn"] for t in stopped)
        if stopped:
            raise LaunchError(
                "task(s) stopped before RUNNING: "
                + "; ".join(
                    f"{t['taskArn']} is {t.get('lastStatus')} ({t.get('stopCode') or 'no stop code'}: "
                    f"{t.get('stoppedReason') or 'no reason given'})"
                    for t in stopped
                )
            )
        statuses = {arn: found[arn].get("lastStatus") if arn in found else "MISSING" for arn in launch.task_arns}
        if all(status == "RUNNING" for status in statuses.values()):
            _log("INFO", "tasks-running", taskArns=launch.task_arns, **fields)
            return [found[arn] for arn in launch.task_arns]
        if time.monotonic() >= deadline:
            raise LaunchError(f"deadline passed before the task(s) were RUNNING: {_statuses(statuses)}")
        _sleep(deadline, config)


def _health(
    service: Service,
    targets: list[dict[str, Any]],
    deadline: float,
    config: Settings,
    wait: bool,
    fields: dict[str, Any],
) -> dict[str, str]:
    """Each target's health state: right after registration, or (wait) once all are healthy."""
    while True:
        response = client("elbv2").describe_target_health(TargetGroupArn=service.target_group_arn, Targets=targets)
        observed = {
            d["Target"]["Id"]: (d["TargetHealth"].get("State", "unknown"), d["TargetHealth"].get("Reason"))
            for d in response.get("TargetHealthDescriptions", [])
        }
        states = {t["Id"]: observed.get(t["Id"], ("unknown", None)) for t in targets}
        health = {ip: state for ip, (state, _) in states.items()}
        _log("INFO", "target-health", targetGroupArn=service.target_group_arn, health=health, **fields)
        if not wait or all(state == "healthy" for state in health.values()):
            return health
        gone = {ip: reason for ip, (_, reason) in states.items() if reason in _GONE_REASONS}
        if gone:
            raise LaunchError(f"target(s) can no longer become healthy: {_statuses(gone)}")
        if time.monotonic() >= deadline:
            raise LaunchError(f"deadline passed before the target(s) were healthy: {_statuses(health)}")
        _sleep(deadline, config)


def _cleanup(launch: _Launch, reason: str, fields: dict[str, Any]) -> str:
    """Deregister what was registered, stop what was started; best effort, every step logged."""
    service = launch.service
    deregistered = stopped = 0
    problems = []
    for target in launch.registered:
        try:
            deregistered += _deregister(service, target)
        except (ClientError, BotoCoreError) as exc:
            problems.append(f"deregistering {target['Id']}:{target['Port']}: {_error(exc)}")
            _log("ERROR", "cleanup-deregister-failed", target=target, error=_error(exc), **fields)
    for arn in launch.task_arns:
        if arn in launch.stopping:
            continue  # already stopping or stopped: keep ECS's own stoppedReason
        try:
            client("ecs").stop_task(cluster=service.cluster, task=arn, reason=reason[:255])
            stopped += 1
            _log("INFO", "task-stop-requested", taskArn=arn, reason=reason[:255], **fields)
        except (ClientError, BotoCoreError) as exc:
            problems.append(f"stopping {arn}: {_error(exc)}")
            _log("ERROR", "cleanup-stop-failed", taskArn=arn, error=_error(exc), **fields)
    note = f"cleanup deregistered {deregistered} target(s) and stopped {stopped} task(s)"
    if problems:
        note += "; cleanup INCOMPLETE: " + "; ".join(problems)
    return note


# --------------------------------------------------------------------------------------------
# Stop ECS Task.


def _stop(request: StopRequest, config: Settings) -> dict[str, Any]:
    service = request.service
    fields = {"service": service.name, "eventId": request.event_id}
    if request.task_arn is not None:
        tasks = _describe(service, [request.task_arn])
        if not tasks:
            entry = {"taskArn": request.task_arn, "taskId": _task_id(request.task_arn), "result": "not-found"}
            _log("INFO", "stop-succeeded", stopped=[], tasks=[entry], **fields)
            return _result(200, {"service": service.name, "stopped": [], "tasks": [entry]})
        task = tasks[0]
        family = _family(task.get("taskDefinitionArn"))
        cluster = _cluster_name(task.get("clusterArn") or "")
        if family != service.family or cluster != service.cluster_name:
            raise BadEventError(
                f"detail.taskArn {request.task_arn} is a task of family {family} in cluster {cluster}, not of "
                f"service {service.name} (family {service.family} in cluster {service.cluster_name})"
            )
    else:
        tasks = [t for t in _describe(service, _running_arns(service)) if t.get("startedBy") == config.started_by]

    reason = f"task-launcher: Stop ECS Task event {request.event_id or '(no id)'}"[:255]
    live = {t["taskArn"] for t in tasks if t.get("desiredStatus") != "STOPPED"}
    entries: list[dict[str, Any]] = []
    try:
        # Every deregistration before any stop, so the load balancer stops sending first. A task
        # that had already stopped may have left its IP to another live task of ours: keep that.
        in_use = _ips_in_use(service, config) if len(live) < len(tasks) else set()
        for task in tasks:
            ip = task_ip(task, service.container_name)
            if ip is None:
                outcome = "no-ip"
            elif task["taskArn"] not in live and ip in in_use:
                outcome = "ip-in-use"
            else:
                outcome = "deregistered" if _deregister(service, {"Id": ip, "Port": service.port}) else "not-registered"
            _log("INFO", "target-deregistered", taskArn=task["taskArn"], privateIp=ip, outcome=outcome, **fields)
            entries.append(
                {
                    "taskArn": task["taskArn"],
                    "taskId": _task_id(task["taskArn"]),
                    "privateIp": ip,
                    "port": service.port,
                    "targetGroupArn": service.target_group_arn,
                    "lastStatus": task.get("lastStatus"),
                    "target": outcome,
                }
            )
        for task, entry in zip(tasks, entries, strict=True):
            if task["taskArn"] in live:
                client("ecs").stop_task(cluster=service.cluster, task=task["taskArn"], reason=reason)
                entry["result"] = "stopped"
                _log("INFO", "task-stop-requested", taskArn=task["taskArn"], reason=reason, **fields)
            else:
                entry["result"] = "already-stopped"
    except (ClientError, BotoCoreError) as exc:
        message = f"stop {service.name} (event {request.event_id}) failed: {_error(exc)}; done so far: {entries}"
        _log("ERROR", "stop-failed", error=message, **fields)
        raise DeregisterError(message) from exc
    stopped = [e["taskArn"] for e in entries if e["result"] == "stopped"]
    _log("INFO", "stop-succeeded", stopped=stopped, tasks=entries, **fields)
    return _result(200, {"service": service.name, "stopped": stopped, "tasks": entries})


# --------------------------------------------------------------------------------------------
# ECS Task State Change (STOPPED).


def _task_stopped(request: TaskStopped, config: Settings) -> dict[str, Any]:
    detail = request.detail
    task_arn = detail["taskArn"]
    fields = {"taskArn": task_arn, "eventId": request.event_id}

    def ignored(reason: str) -> dict[str, Any]:
        _log("INFO", "task-state-ignored", reason=reason, **fields)
        return _result(200, {"result": "ignored", "reason": reason, "taskArn": task_arn})

    if detail["lastStatus"] != "STOPPED":
        return ignored(f"lastStatus is {detail['lastStatus']}, not STOPPED")
    if detail.get("startedBy") != config.started_by:
        return ignored(f"startedBy {_show(detail.get('startedBy'))} is not this launcher's ({config.started_by})")
    family = _family(detail["taskDefinitionArn"])
    service = config.by_family(family or "")
    if service is None:
        return ignored(f"family {family} is not in SERVICE_MAP")
    if _cluster_name(detail["clusterArn"]) != service.cluster_name:
        return ignored(f"cluster {detail['clusterArn']} is not service {service.name}'s ({service.cluster})")
    ip = task_ip(detail, service.container_name)
    if ip is None:
        return ignored("the event carries no private IPv4 address")
    fields = {"service": service.name, **fields}
    body = {
        "service": service.name,
        "taskArn": task_arn,
        "privateIp": ip,
        "port": service.port,
        "targetGroupArn": service.target_group_arn,
    }
    try:
        if ip in _ips_in_use(service, config, exclude=task_arn):
            body["result"] = "ip-in-use"
        else:
            registered = _deregister(service, {"Id": ip, "Port": service.port})
            body["result"] = "deregistered" if registered else "not-registered"
    except (ClientError, BotoCoreError) as exc:
        message = f"deregistering stopped task {task_arn} ({ip}:{service.port}) failed: {_error(exc)}"
        _log("ERROR", "deregister-failed", error=message, **fields)
        raise DeregisterError(message) from exc
    _log("INFO", "stopped-task-deregistered", outcome=body["result"], privateIp=ip, **fields)
    return _result(200, body)


# --------------------------------------------------------------------------------------------
# AWS helpers.


def _describe(service: Service, arns: list[str]) -> list[dict[str, Any]]:
    """DescribeTasks in the service's cluster, in the order asked; unknown tasks are left out."""
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(arns), 100):
        response = client("ecs").describe_tasks(cluster=service.cluster, tasks=arns[i : i + 100])
        for task in response.get("tasks", []):
            found[task["taskArn"]] = task
    return [found[arn] for arn in arns if arn in found]


def _running_arns(service: Service) -> list[str]:
    """The family's tasks with desiredStatus RUNNING in the service's cluster. ListTasks refuses
    startedBy combined with another filter, so the caller filters startedBy from DescribeTasks."""
    arns: list[str] = []
    pages = client("ecs").get_paginator("list_tasks").paginate(
        cluster=service.cluster, family=service.family, desiredStatus="RUNNING"
    )
    for page in pages:
        arns.extend(page.get("taskArns", []))
    return arns


def _ips_in_use(service: Service, config: Settings, exclude: str | None = None) -> set[str]:
    """Private IPs of this launcher's live tasks of the service (a stopped task's IP may be reused)."""
    live = _describe(service, [a for a in _running_arns(service) if a != exclude])
    return {
        ip
        for t in live
        if t.get("startedBy") == config.started_by and (ip := task_ip(t, service.container_name)) is not None
    }


def _deregister(service: Service, target: dict[str, Any]) -> bool:
    """DeregisterTargets for one target; False when it was not registered (idempotent)."""
    try:
        client("elbv2").deregister_targets(TargetGroupArn=service.target_group_arn, Targets=[target])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "InvalidTarget":
            return False
        raise
    return True


def task_ip(task: dict[str, Any], container_name: str | None = None) -> str | None:
    """A task's private IPv4 address: its ENI attachment's, else a container's network interface's
    (the named container first). Works on DescribeTasks tasks and Task State Change details."""
    for attachment in task.get("attachments") or []:
        if attachment.get("type") == "ElasticNetworkInterface":
            for detail in attachment.get("details") or []:
                if detail.get("name") == "privateIPv4Address" and detail.get("value"):
                    return str(detail["value"])
    containers = sorted(task.get("containers") or [], key=lambda c: c.get("name") != container_name)
    for container in containers:
        for interface in container.get("networkInterfaces") or []:
            if interface.get("privateIpv4Address"):
                return str(interface["privateIpv4Address"])
    return None


# --------------------------------------------------------------------------------------------
# Small things.


def _sleep(deadline: float, config: Settings) -> None:
    time.sleep(max(0.0, min(config.poll_seconds, deadline - time.monotonic())))


def _family(task_definition_arn: Any) -> str | None:
    match = _TASK_DEFINITION_ARN.match(task_definition_arn) if isinstance(task_definition_arn, str) else None
    return match.group(1) if match else None


def _cluster_name(cluster: str) -> str:
    match = _CLUSTER_ARN.match(cluster)
    return match.group(1) if match else cluster


def _task_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


def _failures(failures: list[dict[str, Any]]) -> str:
    return "; ".join(f"{f.get('arn') or '-'}: {f.get('reason')} {f.get('detail') or ''}".strip() for f in failures)


def _statuses(statuses: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in statuses.items())


def _error(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
    return str(exc)


def _show(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def _event_id(event: Any) -> Any:
    return event.get("id") if isinstance(event, dict) else None


def _result(status: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": status, "body": body}


def _log(level: str, event: str, **fields: Any) -> None:
    print(json.dumps({"level": level, "event": event, **fields}, sort_keys=True, default=str))
