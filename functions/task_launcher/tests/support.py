"""Helpers for the task launcher's tests (loaded by path, as ``task_launcher_test_support``).

:func:`build_world` makes a small account in moto's server (``aws`` from functions/conftest.py):
a VPC, two private subnets, a security group, a cluster, two Fargate task definitions and their ip
target groups; SERVICE_MAP is built from those real ids and ARNs.

The handler talks to moto through plain ``boto3`` clients. Tests watch and steer it through
botocore event hooks on the handler's own (cached) clients; every call still goes to moto.
"""

from __future__ import annotations

import copy
import json
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

from functions.loading import load_function

CODE = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER = "platform-test"
STARTED_BY = "devops-platform-test-launcher"
SERVICES = {"fa": 2531, "batch": 8080}  # on-demand service -> container port


FUNCTION = load_function(CODE)
# What the tests reach: the entry point, the caches and clients they reset and hook, the errors.
LAUNCHER = SimpleNamespace(
    handler=FUNCTION.handler.handler,
    reset=FUNCTION.handler.reset,
    settings=FUNCTION.config.settings,
    client=FUNCTION.aws.client,
    ConfigError=FUNCTION.config.ConfigError,
    LaunchError=FUNCTION.launch.LaunchError,
)


class Context:
    """The part of the Lambda context the handler reads; the remaining time is fixed."""

    aws_request_id = "req-1"

    def __init__(self, remaining_ms: int = 60_000) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def moto_post(endpoint: str, path: str, body: dict[str, Any]) -> None:
    request = urllib.request.Request(f"{endpoint}{path}", data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(request).read()


def _moto_task(task_arn: str) -> Any:
    """moto's own Task object (the server runs in this process)."""
    from moto.ecs.models import ecs_backends

    return ecs_backends[ACCOUNT][REGION].tasks[CLUSTER][task_arn]


@dataclass
class World:
    endpoint: str
    ec2: Any
    ecs: Any
    elbv2: Any
    vpc_id: str
    subnets: list[str]
    security_group: str
    cluster_arn: str
    service_map: dict[str, dict[str, Any]]
    families: dict[str, str]

    def tasks(self, service: str | None = None) -> list[dict[str, Any]]:
        """Every task in the cluster, stopped ones included (moto's ListTasks has no default
        desiredStatus filter), optionally only one service's family."""
        arns = self.ecs.list_tasks(cluster=CLUSTER)["taskArns"]
        tasks = self.ecs.describe_tasks(cluster=CLUSTER, tasks=arns, include=["TAGS"])["tasks"] if arns else []
        if service is not None:
            tasks = [t for t in tasks if t["taskDefinitionArn"].split("/")[-1].split(":")[0] == self.families[service]]
        return tasks

    def task(self, arn: str) -> dict[str, Any]:
        return self.ecs.describe_tasks(cluster=CLUSTER, tasks=[arn], include=["TAGS"])["tasks"][0]

    def registered(self, service: str) -> dict[str, int]:
        """The target group's registered targets, IP -> port."""
        described = self.elbv2.describe_target_health(TargetGroupArn=self.service_map[service]["targetGroupArn"])
        return {d["Target"]["Id"]: d["Target"]["Port"] for d in described["TargetHealthDescriptions"]}

    def run_foreign_task(self, service: str, started_by: str = "someone-else") -> dict[str, Any]:
        """A task of the service's family that the launcher did not start."""
        entry = self.service_map[service]
        return self.ecs.run_task(
            cluster=CLUSTER,
            taskDefinition=self.families[service],
            launchType="FARGATE",
            startedBy=started_by,
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": entry["subnets"],
                    "securityGroups": entry["securityGroups"],
                    "assignPublicIp": "DISABLED",
                }
            },
        )["tasks"][0]

    @staticmethod
    def set_status(task_arn: str, status: str) -> None:
        """Pin a task's lastStatus (moto starts tasks RUNNING and has no PENDING phase)."""
        _moto_task(task_arn).last_status = status


_TEST_CLIENTS: dict[tuple[str, str], Any] = {}


def _test_client(name: str, endpoint: str) -> Any:
    """The tests' own clients (not the handler's): one per service for the session's server."""
    if (name, endpoint) not in _TEST_CLIENTS:
        _TEST_CLIENTS[name, endpoint] = boto3.client(name, endpoint_url=endpoint)
    return _TEST_CLIENTS[name, endpoint]


def build_world(endpoint: str, setenv: Callable[[str, str], None]) -> World:
    """Create the account's resources in moto and point the handler's environment at them."""
    ec2, ecs, elbv2 = (_test_client(name, endpoint) for name in ("ec2", "ecs", "elbv2"))
    vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for i, az in ((1, "a"), (2, "b"))
    ]
    group = ec2.create_security_group(GroupName="on-demand-tasks", Description="on-demand tasks", VpcId=vpc_id)["GroupId"]
    cluster_arn = ecs.create_cluster(clusterName=CLUSTER)["cluster"]["clusterArn"]
    service_map: dict[str, dict[str, Any]] = {}
    families = {}
    for name, port in SERVICES.items():
        families[name] = f"devops-platform-test-{name}"
        task_definition = ecs.register_task_definition(
            family=families[name],
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[
                {
                    "name": name,
                    "image": f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{name}:1",
                    "memory": 512,  # moto needs a container-level memory
                    "essential": True,
                    "portMappings": [{"containerPort": port, "protocol": "tcp"}],
                }
            ],
        )["taskDefinition"]["taskDefinitionArn"]
        target_group = elbv2.create_target_group(
            Name=f"test-{name}", Protocol="HTTP", Port=port, VpcId=vpc_id, TargetType="ip", HealthCheckPath="/health"
        )["TargetGroups"][0]["TargetGroupArn"]
        service_map[name] = {
            "cluster": CLUSTER,
            "taskDefinition": task_definition,
            "containerName": name,
            "port": port,
            "targetGroupArn": target_group,
            "subnets": subnets,
            "securityGroups": [group],
            "assignPublicIp": False,
        }
    setenv("SERVICE_MAP", json.dumps(service_map))
    setenv("STARTED_BY", STARTED_BY)
    setenv("POLL_SECONDS", "0.005")
    setenv("WAIT_SECONDS", "5")
    setenv("SAFETY_SECONDS", "1")
    setenv("MAX_COUNT", "5")
    return World(endpoint, ec2, ecs, elbv2, vpc_id, subnets, group, cluster_arn, service_map, families)


def hold_task_states(endpoint: str, hold: bool) -> None:
    """moto moves a task one state on (RUNNING, DEACTIVATING, ... STOPPED) per DescribeTasks by
    default, and /moto-api/reset keeps that setting: hold every task where it is (or undo that)."""
    if hold:
        transition = {"progression": "manual", "times": 10**9}
        moto_post(endpoint, "/moto-api/state-manager/set-transition", {"model_name": "ecs::task", "transition": transition})
    else:
        moto_post(endpoint, "/moto-api/state-manager/unset-transition", {"model_name": "ecs::task"})


@dataclass
class Calls:
    """Every API call the handler's clients make, in order, with the parameters it passed."""

    log: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def names(self) -> list[str]:
        return [name for name, _ in self.log]

    def of(self, operation: str) -> list[dict[str, Any]]:
        return [params for name, params in self.log if name == operation]

    def clear(self) -> None:
        self.log.clear()


def pending_until(launcher: Any, running_at: int | None) -> list[int]:
    """Tasks the handler starts are PENDING (as on Fargate) until its ``running_at``-th
    DescribeTasks call (never when None). Returns a one-item list counting DescribeTasks calls."""
    started: list[str] = []
    counter = [0]

    def after_run(parsed: dict[str, Any], **_: Any) -> None:
        for task in parsed.get("tasks", []):
            if _moto_task(task["taskArn"]).last_status == "RUNNING":  # just started, not a replayed answer
                World.set_status(task["taskArn"], "PENDING")
                task["lastStatus"] = "PENDING"
                started.append(task["taskArn"])

    def before_describe(**_: Any) -> None:
        counter[0] += 1
        if running_at is not None and counter[0] == running_at:
            for arn in started:
                World.set_status(arn, "RUNNING")

    events = launcher.client("ecs").meta.events
    events.register("after-call.ecs.RunTask", after_run)
    events.register("before-call.ecs.DescribeTasks", before_describe)
    return counter


def on_describe(launcher: Any, call: int, action: Callable[[], None]) -> None:
    """Run ``action`` just before the handler's ``call``-th DescribeTasks (1-based)."""
    counter = [0]

    def before_describe(**_: Any) -> None:
        counter[0] += 1
        if counter[0] == call:
            action()

    launcher.client("ecs").meta.events.register("before-call.ecs.DescribeTasks", before_describe)


def health_states(launcher: Any, states: list[str]) -> list[int]:
    """Report the i-th DescribeTargetHealth answer's states as ``states[i]`` (the last one from
    then on): moto reports a registered target healthy at once. Returns a call counter."""
    counter = [0]

    def after_health(parsed: dict[str, Any], **_: Any) -> None:
        state = states[min(counter[0], len(states) - 1)]
        counter[0] += 1
        for description in parsed.get("TargetHealthDescriptions", []):
            description["TargetHealth"] = {"State": state}

    launcher.client("elbv2").meta.events.register(
        "after-call.elastic-load-balancing-v2.DescribeTargetHealth", after_health
    )
    return counter


def idempotent_run_task(launcher: Any) -> None:
    """Emulate RunTask's clientToken idempotency, which moto ignores: a repeated token gets the
    first call's answer (the same tasks, now described as they are) and starts nothing."""
    answers: dict[str, dict[str, Any]] = {}
    token: list[str | None] = [None]

    def note_token(params: dict[str, Any], **_: Any) -> None:
        token[0] = params.get("clientToken")

    def replay(**_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if token[0] in answers:
            return AWSResponse("http://replayed", 200, {}, None), copy.deepcopy(answers[token[0]])
        return None

    def remember(parsed: dict[str, Any], **_: Any) -> None:
        if token[0] is not None and token[0] not in answers:
            answers[token[0]] = copy.deepcopy(parsed)

    events = launcher.client("ecs").meta.events
    events.register("provide-client-params.ecs.RunTask", note_token)
    events.register("before-call.ecs.RunTask", replay)
    events.register("after-call.ecs.RunTask", remember)


def envelope(detail_type: str, detail: Any, source: str = "custom.app", event_id: str | None = None) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT,
        "time": "2026-01-05T08:00:00Z",
        "region": REGION,
        "resources": [],
        "detail": detail,
    }


def start_event(service: str = "fa", event_id: str | None = None, **detail: Any) -> dict[str, Any]:
    return envelope("Start ECS Task", {"service": service, **detail}, event_id=event_id)


def stop_event(service: str = "fa", task_arn: str | None = None) -> dict[str, Any]:
    detail = {"service": service} if task_arn is None else {"service": service, "taskArn": task_arn}
    return envelope("Stop ECS Task", detail)


def stopped_event(task: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """An ECS Task State Change event for a DescribeTasks task, as EventBridge delivers it."""
    keys = ("taskArn", "clusterArn", "taskDefinitionArn", "lastStatus", "desiredStatus", "startedBy",
            "stoppedReason", "stopCode", "attachments", "containers", "group", "launchType")
    detail = json.loads(json.dumps({k: task[k] for k in keys if k in task}, default=str))
    detail.update(changes)
    return envelope("ECS Task State Change", detail, source="aws.ecs")
