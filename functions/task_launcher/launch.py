"""What the launcher does for each request: start tasks and register them (undoing all of it if
any step fails), stop tasks after deregistering them, and deregister a stopped task's IP."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from aws import client, deregister, describe_tasks, error_text, ips_in_use, running_task_arns, task_ip
from botocore.exceptions import BotoCoreError, ClientError
from common import TaskLauncherError, cluster_name_of, family_of, log, result, show, task_id
from config import Service, Settings
from events import BadEventError, StartRequest, StopRequest, TaskStopped

# DescribeTargetHealth reasons that mean waiting for "healthy" is pointless.
_GONE_REASONS = ("Target.NotRegistered", "Target.DeregistrationInProgress", "Target.NotInUse")


class LaunchError(TaskLauncherError):
    """A start failed. What it had started or registered was cleaned up; the message says how far."""


class DeregisterError(TaskLauncherError):
    """A Stop ECS Task or a stopped task's deregistration failed part way; the message says how far."""


@dataclass
class _Launch:
    """What one start did so far, so a failure can undo exactly that."""

    service: Service
    task_arns: list[str]
    stopping: set[str] = field(default_factory=set)  # seen with desiredStatus STOPPED: no StopTask
    registered: list[dict[str, Any]] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Start ECS Task.


def start(request: StartRequest, config: Settings, context: Any) -> dict[str, Any]:
    service = request.service
    fields = {"service": service.name, "eventId": request.event_id}
    budget = _budget(context, config)
    if budget <= 0:
        message = (
            f"start {service.name} (event {request.event_id}): no time left to wait for a task "
            f"(remaining time minus SAFETY_SECONDS is {budget:.1f}s); nothing was started"
        )
        log("ERROR", "start-refused", error=message, **fields)
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
    log(
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
        message = f"start {service.name} (event {request.event_id}): RunTask failed: {error_text(exc)}"
        log("ERROR", "start-failed", error=message, **fields)
        raise LaunchError(message) from exc

    launch = _Launch(service, [t["taskArn"] for t in response.get("tasks") or []])
    try:
        failures = response.get("failures") or []
        if failures or len(launch.task_arns) != request.count:
            raise LaunchError(
                f"RunTask started {len(launch.task_arns)} of {request.count} task(s); "
                f"failures: {_failures(failures) or 'none reported'}"
            )
        log("INFO", "tasks-started", taskArns=launch.task_arns, **fields)
        tasks = _wait_running(launch, deadline, config, fields)
        targets = []
        for task in tasks:
            ip = task_ip(task, service.container_name)
            if ip is None:
                raise LaunchError(
                    f"task {task['taskArn']} is RUNNING but its ENI has no private IPv4 address"
                )
            targets.append({"Id": ip, "Port": service.port})
        launch.registered = targets  # before the call: a failed call may have registered some
        client("elbv2").register_targets(TargetGroupArn=service.target_group_arn, Targets=targets)
        log("INFO", "targets-registered", targetGroupArn=service.target_group_arn, targets=targets, **fields)
        health = _health(service, targets, deadline, config, request.wait_for_healthy, fields)
    except Exception as exc:
        reason = str(exc) if isinstance(exc, LaunchError) else f"{type(exc).__name__}: {error_text(exc)}"
        cleanup = _cleanup(launch, f"task-launcher: start failed: {reason}", fields)
        message = f"start {service.name} (event {request.event_id}) failed: {reason}; {cleanup}"
        log("ERROR", "start-failed", error=message, taskArns=launch.task_arns, **fields)
        raise LaunchError(message) from exc

    results = [
        {
            "taskArn": task["taskArn"],
            "taskId": task_id(task["taskArn"]),
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
    log("INFO", "start-succeeded", tasks=results, **fields)
    return result(200, body)


def _budget(context: Any, config: Settings) -> float:
    """Seconds the start may wait: WAIT_SECONDS, and never past the invocation's end minus the margin."""
    budget = config.wait_seconds
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        budget = min(budget, remaining() / 1000 - config.safety_seconds)
    return budget


def _wait_running(
    launch: _Launch, deadline: float, config: Settings, fields: dict[str, Any]
) -> list[dict[str, Any]]:
    """The tasks once all are RUNNING; raises if one stops first or the deadline passes."""
    while True:
        found = {t["taskArn"]: t for t in describe_tasks(launch.service, launch.task_arns)}
        stopped = [
            t
            for t in found.values()
            if t.get("desiredStatus") == "STOPPED" or t.get("lastStatus") == "STOPPED"
        ]
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
        statuses = {
            arn: found[arn].get("lastStatus") if arn in found else "MISSING" for arn in launch.task_arns
        }
        if all(status == "RUNNING" for status in statuses.values()):
            log("INFO", "tasks-running", taskArns=launch.task_arns, **fields)
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
        response = client("elbv2").describe_target_health(
            TargetGroupArn=service.target_group_arn, Targets=targets
        )
        observed = {
            d["Target"]["Id"]: (d["TargetHealth"].get("State", "unknown"), d["TargetHealth"].get("Reason"))
            for d in response.get("TargetHealthDescriptions", [])
        }
        states = {t["Id"]: observed.get(t["Id"], ("unknown", None)) for t in targets}
        health = {ip: state for ip, (state, _) in states.items()}
        log("INFO", "target-health", targetGroupArn=service.target_group_arn, health=health, **fields)
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
            deregistered += deregister(service, target)
        except (ClientError, BotoCoreError) as exc:
            problems.append(f"deregistering {target['Id']}:{target['Port']}: {error_text(exc)}")
            log("ERROR", "cleanup-deregister-failed", target=target, error=error_text(exc), **fields)
    for arn in launch.task_arns:
        if arn in launch.stopping:
            continue  # already stopping or stopped: keep ECS's own stoppedReason
        try:
            client("ecs").stop_task(cluster=service.cluster, task=arn, reason=reason[:255])
            stopped += 1
            log("INFO", "task-stop-requested", taskArn=arn, reason=reason[:255], **fields)
        except (ClientError, BotoCoreError) as exc:
            problems.append(f"stopping {arn}: {error_text(exc)}")
            log("ERROR", "cleanup-stop-failed", taskArn=arn, error=error_text(exc), **fields)
    note = f"cleanup deregistered {deregistered} target(s) and stopped {stopped} task(s)"
    if problems:
        note += "; cleanup INCOMPLETE: " + "; ".join(problems)
    return note


# --------------------------------------------------------------------------------------------
# Stop ECS Task.


def stop(request: StopRequest, config: Settings) -> dict[str, Any]:
    service = request.service
    fields = {"service": service.name, "eventId": request.event_id}
    if request.task_arn is not None:
        tasks = describe_tasks(service, [request.task_arn])
        if not tasks:
            entry = {"taskArn": request.task_arn, "taskId": task_id(request.task_arn), "result": "not-found"}
            log("INFO", "stop-succeeded", stopped=[], tasks=[entry], **fields)
            return result(200, {"service": service.name, "stopped": [], "tasks": [entry]})
        task = tasks[0]
        family = family_of(task.get("taskDefinitionArn"))
        cluster = cluster_name_of(task.get("clusterArn") or "")
        if family != service.family or cluster != service.cluster_name:
            raise BadEventError(
                f"detail.taskArn {request.task_arn} is a task of family {family} in cluster {cluster}, not of "
                f"service {service.name} (family {service.family} in cluster {service.cluster_name})"
            )
    else:
        tasks = [
            t
            for t in describe_tasks(service, running_task_arns(service))
            if t.get("startedBy") == config.started_by
        ]

    reason = f"task-launcher: Stop ECS Task event {request.event_id or '(no id)'}"[:255]
    live = {t["taskArn"] for t in tasks if t.get("desiredStatus") != "STOPPED"}
    entries: list[dict[str, Any]] = []
    try:
        # Every deregistration before any stop, so the load balancer stops sending first. A task
        # that had already stopped may have left its IP to another live task of ours: keep that.
        in_use = ips_in_use(service, config) if len(live) < len(tasks) else set()
        for task in tasks:
            ip = task_ip(task, service.container_name)
            if ip is None:
                outcome = "no-ip"
            elif task["taskArn"] not in live and ip in in_use:
                outcome = "ip-in-use"
            else:
                outcome = (
                    "deregistered"
                    if deregister(service, {"Id": ip, "Port": service.port})
                    else "not-registered"
                )
            log(
                "INFO",
                "target-deregistered",
                taskArn=task["taskArn"],
                privateIp=ip,
                outcome=outcome,
                **fields,
            )
            entries.append(
                {
                    "taskArn": task["taskArn"],
                    "taskId": task_id(task["taskArn"]),
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
                log("INFO", "task-stop-requested", taskArn=task["taskArn"], reason=reason, **fields)
            else:
                entry["result"] = "already-stopped"
    except (ClientError, BotoCoreError) as exc:
        message = f"stop {service.name} (event {request.event_id}) failed: {error_text(exc)}; done so far: {entries}"
        log("ERROR", "stop-failed", error=message, **fields)
        raise DeregisterError(message) from exc
    stopped = [e["taskArn"] for e in entries if e["result"] == "stopped"]
    log("INFO", "stop-succeeded", stopped=stopped, tasks=entries, **fields)
    return result(200, {"service": service.name, "stopped": stopped, "tasks": entries})


# --------------------------------------------------------------------------------------------
# ECS Task State Change (STOPPED).


def task_stopped(request: TaskStopped, config: Settings) -> dict[str, Any]:
    detail = request.detail
    task_arn = detail["taskArn"]
    fields = {"taskArn": task_arn, "eventId": request.event_id}

    def ignored(reason: str) -> dict[str, Any]:
        log("INFO", "task-state-ignored", reason=reason, **fields)
        return result(200, {"result": "ignored", "reason": reason, "taskArn": task_arn})

    if detail["lastStatus"] != "STOPPED":
        return ignored(f"lastStatus is {detail['lastStatus']}, not STOPPED")
    if detail.get("startedBy") != config.started_by:
        return ignored(
            f"startedBy {show(detail.get('startedBy'))} is not this launcher's ({config.started_by})"
        )
    family = family_of(detail["taskDefinitionArn"])
    service = config.by_family(family or "")
    if service is None:
        return ignored(f"family {family} is not in SERVICE_MAP")
    if cluster_name_of(detail["clusterArn"]) != service.cluster_name:
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
        if ip in ips_in_use(service, config, exclude=task_arn):
            body["result"] = "ip-in-use"
        else:
            registered = deregister(service, {"Id": ip, "Port": service.port})
            body["result"] = "deregistered" if registered else "not-registered"
    except (ClientError, BotoCoreError) as exc:
        message = f"deregistering stopped task {task_arn} ({ip}:{service.port}) failed: {error_text(exc)}"
        log("ERROR", "deregister-failed", error=message, **fields)
        raise DeregisterError(message) from exc
    log("INFO", "stopped-task-deregistered", outcome=body["result"], privateIp=ip, **fields)
    return result(200, body)


def _sleep(deadline: float, config: Settings) -> None:
    time.sleep(max(0.0, min(config.poll_seconds, deadline - time.monotonic())))


def _failures(failures: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{f.get('arn') or '-'}: {f.get('reason')} {f.get('detail') or ''}".strip() for f in failures
    )


def _statuses(statuses: dict[str, Any]) -> str:
    return ", ".join(f"{key} {value}" for key, value in statuses.items())
