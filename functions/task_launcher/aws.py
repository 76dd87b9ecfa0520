"""The launcher's AWS calls (ECS and Elastic Load Balancing), through clients cached for the warm
container."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from config import Service, Settings

_clients: dict[str, Any] = {}

# Short timeouts: one slow call must not eat the safety margin that cleanup needs before Lambda
# ends the invocation and leaves a started task running.
_CLIENT_CONFIG = Config(connect_timeout=5, read_timeout=15, retries={"mode": "standard", "max_attempts": 3})


def client(name: str) -> Any:
    """The cached ``boto3.client(name)`` ("ecs", "elbv2")."""
    if name not in _clients:
        _clients[name] = boto3.client(name, config=_CLIENT_CONFIG)
    return _clients[name]


def reset() -> None:
    """Forget the cached clients (tests; a warm Lambda never needs it)."""
    _clients.clear()


def describe_tasks(service: Service, arns: list[str]) -> list[dict[str, Any]]:
    """DescribeTasks in the service's cluster, in the order asked; unknown tasks are left out."""
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(arns), 100):
        response = client("ecs").describe_tasks(cluster=service.cluster, tasks=arns[i : i + 100])
        for task in response.get("tasks", []):
            found[task["taskArn"]] = task
    return [found[arn] for arn in arns if arn in found]


def running_task_arns(service: Service) -> list[str]:
    """The family's tasks with desiredStatus RUNNING in the service's cluster. ListTasks refuses
    startedBy combined with another filter, so the caller filters startedBy from DescribeTasks."""
    arns: list[str] = []
    pages = (
        client("ecs")
        .get_paginator("list_tasks")
        .paginate(cluster=service.cluster, family=service.family, desiredStatus="RUNNING")
    )
    for page in pages:
        arns.extend(page.get("taskArns", []))
    return arns


def ips_in_use(service: Service, config: Settings, exclude: str | None = None) -> set[str]:
    """Private IPs of this launcher's live tasks of the service (a stopped task's IP may be reused)."""
    live = describe_tasks(service, [a for a in running_task_arns(service) if a != exclude])
    return {
        ip
        for t in live
        if t.get("startedBy") == config.started_by and (ip := task_ip(t, service.container_name)) is not None
    }


def deregister(service: Service, target: dict[str, Any]) -> bool:
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


def error_text(exc: BaseException) -> str:
    """A boto error as ``Code: message``."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
    return str(exc)
