"""The on-demand task launcher (seed 002's start-engines): a Start ECS Task event starts a Fargate
task of a ``mode: on-demand`` service and registers it in the service's target group."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pulumi

from . import iam
from .event_function import EventFunction, EventFunctionArgs, EventRule

EVENT_SOURCE = "custom.app"
START = "Start ECS Task"
STOP = "Stop ECS Task"
CODE_PATH = Path(__file__).resolve().parent.parent / "functions" / "task_launcher"


@dataclass(frozen=True)
class LaunchTarget:
    """One ``mode: on-demand`` service, as the launcher starts it.

    Attributes:
        task_definition_arn: The revision the program declared. The launcher runs its family's
            latest ACTIVE revision, which includes the ones the pipeline's release registers.
        family: That task definition's family (scopes RunTask).
        container_name / port: The container and port registered in the target group.
        target_group_arn: The service's ip target group.
        subnet_ids / security_group_ids: Private subnets and the service's group; no public IP.
        task_role_arn / execution_role_arn: The only roles the launcher may pass.
    """

    task_definition_arn: pulumi.Input[str]
    family: str
    container_name: str
    port: int
    target_group_arn: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    security_group_ids: Sequence[pulumi.Input[str]]
    task_role_arn: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]


@dataclass(frozen=True)
class Schedule:
    """An EventBridge schedule that sends the launcher a Start (or Stop) event.

    Attributes:
        name: Unique key; the rule is ``{name}-schedule-{name}``.
        service: The on-demand service.
        expression: ``cron(...)`` or ``rate(...)``, UTC.
        action: ``start`` (default) or ``stop``.
        count: Tasks to start. Default 1.
    """

    name: str
    service: str
    expression: str
    action: Literal["start", "stop"] = "start"
    count: int = 1


@dataclass(frozen=True)
class LauncherSettings:
    """The launcher's settings: plain data, from the validated stack config (``taskLauncher``).

    Attributes:
        function_name: Physical name, ``{prefix}-task-launcher``.
        started_by: ECS ``startedBy`` on every task it starts (at most 128 characters); the
            task-stopped rule matches on it, so only the launcher's own tasks are handled.
        schedules: Default none.
        max_count: Largest ``count`` one event may ask for. Default 5.
        timeout_seconds / memory_mb: Default 300 / 256.
        log_retention_days: Default 365.
    """

    function_name: str
    started_by: str
    schedules: Sequence[Schedule] = ()
    max_count: int = 5
    timeout_seconds: int = 300
    memory_mb: int = 256
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        if len(self.started_by) > 128:
            raise ValueError("started_by is at most 128 characters (ECS startedBy)")
        for s in self.schedules:
            if not 1 <= s.count <= self.max_count:
                raise ValueError(f"schedule {s.name}: count {s.count} is outside 1..{self.max_count}")


@dataclass(frozen=True)
class TaskLauncherArgs:
    """Inputs of :class:`TaskLauncher`: its settings, and what it launches where.

    Attributes:
        settings: What the launcher is (:class:`LauncherSettings`).
        context: Account, partition and region (for ARNs in the policy).
        cluster_name / cluster_arn: The region's cluster.
        services: The on-demand services by name (at least one).
    """

    settings: LauncherSettings
    context: iam.AwsContext
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    services: Mapping[str, LaunchTarget]

    def __post_init__(self) -> None:
        if not self.services:
            raise ValueError("the task launcher needs at least one on-demand service")
        for s in self.settings.schedules:
            if s.service not in self.services:
                raise ValueError(f"schedule {s.name}: {s.service} is not an on-demand service")


class TaskLauncher(pulumi.ComponentResource):
    """Starts and stops on-demand tasks on events (``functions/task_launcher``).

    Creates ``{name}-function`` (:class:`~components.event_function.EventFunction`) with rules:

    - ``requests``: ``custom.app`` Start ECS Task / Stop ECS Task events;
    - ``task-stopped``: ECS Task State Change to STOPPED of tasks it started in this cluster, so
      a stopped task's IP leaves its target group;
    - per schedule, ``schedule-{name}``: sends the Start/Stop event on the expression.

    ``SERVICE_MAP`` is generated from ``services``. Its role may run those families only in this
    cluster, pass their two roles only, and register targets in their target groups only.
    Async retries are 0: a retry would reuse the event id as RunTask's clientToken and find the
    task it stopped, so a failed launch goes straight to the dead-letter queue.
    """

    def __init__(self, name: str, args: TaskLauncherArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:events:TaskLauncher", name, None, opts)
        self.function = EventFunction(
            f"{name}-function",
            EventFunctionArgs(
                function_name=args.settings.function_name,
                code_path=CODE_PATH,
                description="Starts on-demand Fargate tasks and registers them in their target groups",
                rules=[*_rules(args), *(_schedule_rule(s) for s in args.settings.schedules)],
                statements=statements(args),
                environment={
                    "SERVICE_MAP": service_map(args),
                    "STARTED_BY": args.settings.started_by,
                    "MAX_COUNT": str(args.settings.max_count),
                    # The handler's own deadline (remaining time less 20 s) is what bounds the wait.
                    "WAIT_SECONDS": str(args.settings.timeout_seconds),
                },
                memory_mb=args.settings.memory_mb,
                timeout_seconds=args.settings.timeout_seconds,
                async_retries=0,
                log_retention_days=args.settings.log_retention_days,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.outputs: dict[str, pulumi.Input[object]] = {
            **self.function.outputs,
            "started_by": args.settings.started_by,
            "services": sorted(args.services),
            "schedules": {s.name: s.expression for s in args.settings.schedules},
        }
        self.register_outputs(self.outputs)


def service_map(args: TaskLauncherArgs) -> pulumi.Output[str]:
    """``SERVICE_MAP``: the JSON the handler reads, from the resources themselves."""
    return pulumi.Output.json_dumps(
        {
            svc: {
                "cluster": args.cluster_name,
                "taskDefinition": t.task_definition_arn,
                "containerName": t.container_name,
                "port": t.port,
                "targetGroupArn": t.target_group_arn,
                "subnets": t.subnet_ids,
                "securityGroups": list(t.security_group_ids),
                "assignPublicIp": False,
            }
            for svc, t in sorted(args.services.items())
        }
    )


def request_pattern() -> dict[str, object]:
    return {"source": [EVENT_SOURCE], "detail-type": [START, STOP]}


def stopped_pattern(cluster_arn: pulumi.Input[str], started_by: str) -> dict[str, object]:
    return {
        "source": ["aws.ecs"],
        "detail-type": ["ECS Task State Change"],
        "detail": {"clusterArn": [cluster_arn], "lastStatus": ["STOPPED"], "startedBy": [started_by]},
    }


def _rules(args: TaskLauncherArgs) -> list[EventRule]:
    return [
        EventRule("requests", "Start ECS Task / Stop ECS Task requests for on-demand services", event_pattern=request_pattern()),
        EventRule(
            "task-stopped",
            "Launched tasks that stopped: their IPs leave the target groups",
            event_pattern=stopped_pattern(args.cluster_arn, args.settings.started_by),
        ),
    ]


def schedule_input(schedule: Schedule) -> str:
    """The input template: the Start/Stop event, carrying the schedule event's own id (the
    handler's RunTask clientToken) and time."""
    detail: dict[str, Any] = {"service": schedule.service}
    if schedule.action == "start":
        detail["count"] = schedule.count
    body = {
        "id": "__ID__",
        "time": "__TIME__",
        "source": EVENT_SOURCE,
        "detail-type": START if schedule.action == "start" else STOP,
        "detail": detail,
    }
    # EventBridge substitutes <id> and <time> inside the quotes it finds them in.
    return json.dumps(body, sort_keys=True).replace("__ID__", "<id>").replace("__TIME__", "<time>")


def _schedule_rule(schedule: Schedule) -> EventRule:
    return EventRule(
        f"schedule-{schedule.name}",
        f"{schedule.action} {schedule.service} on {schedule.expression}",
        schedule_expression=schedule.expression,
        input_paths={"id": "$.id", "time": "$.time"},
        input_template=schedule_input(schedule),
    )


def statements(args: TaskLauncherArgs) -> list[dict[str, object]]:
    ctx = args.context
    on_cluster = {"ArnEquals": {"ecs:cluster": args.cluster_arn}}
    tasks = ctx.arn("ecs", pulumi.Output.concat("task/", args.cluster_name, "/*"))
    targets = sorted(args.services.items())
    return [
        {
            "Sid": "RunOnDemandTasks",
            "Effect": "Allow",
            "Action": "ecs:RunTask",
            "Resource": [ctx.arn("ecs", f"task-definition/{t.family}:*") for _, t in targets],
            "Condition": on_cluster,
        },
        {
            # RunTask with tags is also authorized as TagResource on the new task.
            "Sid": "TagLaunchedTasks",
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            # ecs:cluster is not a TagResource condition key (a missing key fails ArnEquals);
            # the resource already limits it to this cluster's tasks.
            "Resource": tasks,
            "Condition": {"StringEquals": {"ecs:CreateAction": "RunTask"}},
        },
        {
            "Sid": "WatchAndStopTasks",
            "Effect": "Allow",
            "Action": ["ecs:DescribeTasks", "ecs:StopTask"],
            "Resource": tasks,
            "Condition": on_cluster,
        },
        {
            # ListTasks authorizes against no task resource; the condition keeps it to this cluster.
            "Sid": "ListClusterTasks",
            "Effect": "Allow",
            "Action": "ecs:ListTasks",
            "Resource": "*",
            "Condition": on_cluster,
        },
        {
            "Sid": "PassTaskRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": [r for _, t in targets for r in (t.task_role_arn, t.execution_role_arn)],
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
        {
            "Sid": "RegisterTargets",
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            "Resource": [t.target_group_arn for _, t in targets],
        },
        {
            # Elastic Load Balancing's Describe* actions have no resource-level permissions.
            "Sid": "ReadTargetHealth",
            "Effect": "Allow",
            "Action": "elasticloadbalancing:DescribeTargetHealth",
            "Resource": "*",
        },
    ]
