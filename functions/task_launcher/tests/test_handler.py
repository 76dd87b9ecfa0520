"""The task launcher against moto's server: real RunTask/DescribeTasks/StopTask/ListTasks, target
group registration and EC2 network interfaces; hooks only watch the handler's calls or stand in for
what moto does not model (PENDING, health checks, clientToken idempotency)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from functions.loading import load_module

# conftest.py loads it first; the same module either way.
support = load_module("task_launcher_test_support", Path(__file__).with_name("support.py"))
Context = support.Context
start_event, stop_event, stopped_event = support.start_event, support.stop_event, support.stopped_event
STARTED_BY = support.STARTED_BY


def log_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def start(launcher: Any, service: str = "fa", **detail: Any) -> dict[str, Any]:
    result = launcher.handler(start_event(service, **detail), Context())
    assert result["statusCode"] == 200, result
    return result["body"]


# --------------------------------------------------------------------------------------------
# Start ECS Task: the happy paths.


def test_start_runs_a_private_fargate_task_and_registers_its_eni_ip(launcher, world, calls, capsys):
    event = start_event("fa")
    result = launcher.handler(event, Context())

    assert result["statusCode"] == 200
    body = result["body"]
    assert isinstance(body, dict) and "tasks" not in body
    fa = world.service_map["fa"]
    [task] = world.tasks("fa")
    assert task["lastStatus"] == "RUNNING" and task["startedBy"] == STARTED_BY
    assert {"key": "launched-by-event", "value": event["id"]} in task["tags"]
    assert {"key": "service", "value": "fa"} in task["tags"]

    # The IP is the task's ENI's, in one of the private subnets, with the service's group and no public IP.
    details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
    [eni] = world.ec2.describe_network_interfaces(NetworkInterfaceIds=[details["networkInterfaceId"]])["NetworkInterfaces"]
    assert eni["SubnetId"] in world.subnets and eni["VpcId"] == world.vpc_id
    assert [g["GroupId"] for g in eni["Groups"]] == [world.security_group]
    assert "Association" not in eni
    assert body == {
        "service": "fa",
        "taskArn": task["taskArn"],
        "taskId": task["taskArn"].rsplit("/", 1)[1],
        "taskDefinitionArn": fa["taskDefinition"],
        "privateIp": eni["PrivateIpAddress"],
        "port": 2531,
        "targetGroupArn": fa["targetGroupArn"],
        "healthStatus": "healthy",  # moto: healthy as soon as registered
    }
    assert world.registered("fa") == {eni["PrivateIpAddress"]: 2531}
    assert world.registered("batch") == {}

    [run] = calls.of("RunTask")
    assert run == {
        "cluster": "platform-test",
        "taskDefinition": "devops-platform-test-fa",  # the family: ECS picks the latest ACTIVE revision
        "count": 1,
        "launchType": "FARGATE",
        "networkConfiguration": {
            "awsvpcConfiguration": {"subnets": world.subnets, "securityGroups": [world.security_group], "assignPublicIp": "DISABLED"}
        },
        "startedBy": STARTED_BY,
        "clientToken": event["id"],
        "enableECSManagedTags": True,
        "propagateTags": "TASK_DEFINITION",
        "tags": [{"key": "launched-by-event", "value": event["id"]}, {"key": "service", "value": "fa"}],
    }
    assert calls.names() == ["RunTask", "DescribeTasks", "RegisterTargets", "DescribeTargetHealth"]

    lines = log_lines(capsys)
    assert all({"level", "event"} <= line.keys() for line in lines)
    assert [line["event"] for line in lines] == ["run-task", "tasks-started", "tasks-running", "targets-registered", "target-health", "start-succeeded"]
    assert all(line["eventId"] == event["id"] and line["service"] == "fa" for line in lines)


def test_start_runs_the_familys_latest_revision_not_the_one_in_the_map(launcher, world):
    # What the delivery pipeline does on a release: a new revision with the new image.
    definition = world.ecs.describe_task_definition(taskDefinition=world.service_map["fa"]["taskDefinition"])["taskDefinition"]
    container = {**definition["containerDefinitions"][0], "image": "registry/fa:2"}
    newer = world.ecs.register_task_definition(
        family=definition["family"],
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[container],
    )["taskDefinition"]["taskDefinitionArn"]
    assert newer.endswith(":2") and world.service_map["fa"]["taskDefinition"].endswith(":1")

    body = start(launcher, "fa")

    assert body["taskDefinitionArn"] == newer
    assert world.task(body["taskArn"])["taskDefinitionArn"] == newer


def test_count_two_starts_and_registers_two_tasks(launcher, world, calls):
    body = start(launcher, "fa", count=2)

    tasks = world.tasks("fa")
    assert len(tasks) == 2 and all(t["lastStatus"] == "RUNNING" for t in tasks)
    assert [t["taskArn"] for t in body["tasks"]] == calls.of("DescribeTasks")[0]["tasks"]
    assert {t["taskArn"] for t in body["tasks"]} == {t["taskArn"] for t in tasks}
    ips = {t["taskArn"]: {d["name"]: d["value"] for d in t["attachments"][0]["details"]}["privateIPv4Address"] for t in tasks}
    assert {t["privateIp"] for t in body["tasks"]} == set(ips.values()) and len(set(ips.values())) == 2
    assert world.registered("fa") == dict.fromkeys(ips.values(), 2531)
    first = body["tasks"][0]
    assert {k: body[k] for k in first} == first  # the seed's single-task fields describe the first task
    assert calls.of("RunTask")[0]["count"] == 2
    assert calls.of("RegisterTargets") == [
        {"TargetGroupArn": world.service_map["fa"]["targetGroupArn"], "Targets": [{"Id": t["privateIp"], "Port": 2531} for t in body["tasks"]]}
    ]


def test_start_waits_for_pending_tasks_to_be_running(launcher, world, calls):
    describes = support.pending_until(launcher, running_at=4)

    body = start(launcher, "fa")

    assert describes[0] == 4  # three PENDING answers, then RUNNING
    assert calls.names() == ["RunTask", *["DescribeTasks"] * 4, "RegisterTargets", "DescribeTargetHealth"]
    assert world.registered("fa") == {body["privateIp"]: 2531}


def test_wait_for_healthy_polls_target_health_until_healthy(launcher, world, calls):
    checks = support.health_states(launcher, ["initial", "initial", "healthy"])

    body = start(launcher, "fa", waitForHealthy=True)

    assert checks[0] == 3
    assert body["healthStatus"] == "healthy"
    assert calls.of("DescribeTargetHealth")[0]["Targets"] == [{"Id": body["privateIp"], "Port": 2531}]


def test_without_wait_the_state_right_after_registration_is_reported(launcher, world):
    checks = support.health_states(launcher, ["initial", "healthy"])

    body = start(launcher, "fa")

    assert checks[0] == 1
    assert body["healthStatus"] == "initial"
    assert world.registered("fa") == {body["privateIp"]: 2531}


def test_redelivered_event_sends_the_same_client_token_and_starts_no_second_task(launcher, world, calls):
    # moto ignores clientToken (every RunTask starts tasks), so the hook replays the first answer
    # for a repeated token, as ECS does for 24 hours.
    support.idempotent_run_task(launcher)
    event = start_event("fa")

    first = launcher.handler(event, Context())
    second = launcher.handler(event, Context())

    assert [r["statusCode"] for r in (first, second)] == [200, 200]
    assert [p["clientToken"] for p in calls.of("RunTask")] == [event["id"], event["id"]]
    assert second["body"]["taskArn"] == first["body"]["taskArn"]
    assert len(world.tasks()) == 1
    assert world.registered("fa") == {first["body"]["privateIp"]: 2531}


def test_redelivery_of_a_failed_start_fails_fast_on_the_stopped_task(launcher, world, calls):
    support.idempotent_run_task(launcher)
    support.pending_until(launcher, running_at=None)
    event = start_event("fa")
    with pytest.raises(launcher.LaunchError, match="deadline"):
        launcher.handler(event, Context(remaining_ms=1_200))  # 0.2 s to wait
    [task] = world.tasks()
    assert task["lastStatus"] == "STOPPED"
    calls.clear()

    began = time.monotonic()
    with pytest.raises(launcher.LaunchError, match=r"stopped before RUNNING: .* is STOPPED"):
        launcher.handler(event, Context())  # 4 s to wait: it must not

    assert time.monotonic() - began < 1
    assert calls.names() == ["RunTask", "DescribeTasks"]  # no StopTask: it is stopped already
    assert calls.of("RunTask")[0]["clientToken"] == event["id"]
    assert len(world.tasks()) == 1


# --------------------------------------------------------------------------------------------
# Bad events: a 4xx, and nothing started.


def _bad_events() -> list[tuple[str, Any, int, str]]:
    good = start_event("fa")
    without_id = {k: v for k, v in good.items() if k != "id"}
    return [
        ("not a dict", ["Start ECS Task"], 400, "EventBridge event object"),
        ("none", None, 400, "EventBridge event object"),
        ("no detail-type", {k: v for k, v in good.items() if k != "detail-type"}, 400, "detail-type is required"),
        ("unknown detail-type", {**good, "detail-type": "Launch"}, 400, "detail-type \"Launch\" is not handled"),
        ("detail-type not a string", {**good, "detail-type": ["Start ECS Task"]}, 400, "detail-type"),
        ("wrong source", {**good, "source": "aws.ecs"}, 400, "source must be custom.app"),
        ("no detail", {k: v for k, v in good.items() if k != "detail"}, 400, "detail must be an object"),
        ("detail not an object", {**good, "detail": "fa"}, 400, "detail must be an object"),
        ("no service", {**good, "detail": {}}, 400, "detail.service is required: one of batch, fa"),
        ("service not a string", {**good, "detail": {"service": ["fa"]}}, 400, "detail.service must be a string"),
        ("unknown service", {**good, "detail": {"service": "auth"}}, 404, "unknown service \"auth\" in detail.service; known services: batch, fa"),
        ("count zero", {**good, "detail": {"service": "fa", "count": 0}}, 400, "detail.count must be an integer from 1 to 5"),
        ("count over MAX_COUNT", {**good, "detail": {"service": "fa", "count": 6}}, 400, "from 1 to 5 (got 6)"),
        ("count a bool", {**good, "detail": {"service": "fa", "count": True}}, 400, "detail.count"),
        ("count a string", {**good, "detail": {"service": "fa", "count": "2"}}, 400, "detail.count"),
        ("count a float", {**good, "detail": {"service": "fa", "count": 2.0}}, 400, "detail.count"),
        ("waitForHealthy a string", {**good, "detail": {"service": "fa", "waitForHealthy": "yes"}}, 400, "detail.waitForHealthy must be true or false"),
        ("waitForHealthy a number", {**good, "detail": {"service": "fa", "waitForHealthy": 1}}, 400, "detail.waitForHealthy"),
        ("unknown detail key", {**good, "detail": {"service": "fa", "cpu": 4096}}, 400, "unknown keys cpu; Start ECS Task allows only service, count, waitForHealthy"),
        ("override attempt", {**good, "detail": {"service": "fa", "overrides": {}}}, 400, "unknown keys overrides"),
        ("stop key on a start", {**good, "detail": {"service": "fa", "taskArn": "x"}}, 400, "unknown keys taskArn"),
        ("no id", without_id, 400, "id (the EventBridge event id) is required"),
        ("empty id", {**good, "id": ""}, 400, "id (the EventBridge event id)"),
        ("id too long", {**good, "id": "x" * 65}, 400, "1 to 64 of letters, digits"),
        ("id a tag value cannot hold", {**good, "id": 'a{"b"}'}, 400, "clientToken"),
        ("id with a space", {**good, "id": "a b"}, 400, "clientToken"),
        ("id not a string", {**good, "id": 7}, 400, "id (the EventBridge event id)"),
    ]


def test_a_bad_start_event_is_a_4xx_and_starts_nothing(launcher, world, calls, monkeypatch, capsys):
    for case, event, status, message in _bad_events():  # one world for all: each case must change nothing
        result = launcher.handler(event, Context())

        assert (case, result["statusCode"]) == (case, status)
        assert message in result["body"]["error"], case
        assert calls.names() == [], case
        [line] = log_lines(capsys)
        assert (line["level"], line["event"], line["statusCode"]) == ("WARNING", "bad-event", status), case
        assert line["eventId"] == (event.get("id") if isinstance(event, dict) else None), case
    monkeypatch.setenv("MAX_COUNT", "2")  # count's bound follows MAX_COUNT
    result = launcher.handler(start_event("fa", count=3), Context())
    assert result["statusCode"] == 400 and "from 1 to 2 (got 3)" in result["body"]["error"]
    assert launcher.handler(start_event("fa", count=2), Context())["statusCode"] == 200
    assert calls.of("RunTask")[0]["count"] == 2
    assert len(world.tasks()) == 2  # those two, and nothing from the bad events


def test_a_scheduled_start_with_the_schedule_events_id_is_accepted(launcher, world, calls):
    # The schedule rule's input transformer output: only id, time, source, detail-type, detail.
    event = {"id": "7bf73129-1428-4cd3-a780-95db273d1602", "time": "2026-01-05T07:00:00Z", "source": "custom.app", "detail-type": "Start ECS Task", "detail": {"count": 1, "service": "batch"}}

    result = launcher.handler(event, Context())

    assert result["statusCode"] == 200 and result["body"]["port"] == 8080
    assert calls.of("RunTask")[0]["clientToken"] == event["id"]
    assert len(world.tasks("batch")) == 1


# --------------------------------------------------------------------------------------------
# Start failures: clean up, then raise.


def test_failed_registration_stops_the_task_and_raises(launcher, world, calls, monkeypatch, capsys):
    gone = world.elbv2.create_target_group(Name="test-gone", Protocol="HTTP", Port=2531, VpcId=world.vpc_id, TargetType="ip")["TargetGroups"][0]["TargetGroupArn"]
    world.elbv2.delete_target_group(TargetGroupArn=gone)
    broken = {**world.service_map, "fa": {**world.service_map["fa"], "targetGroupArn": gone}}
    monkeypatch.setenv("SERVICE_MAP", json.dumps(broken))

    with pytest.raises(launcher.LaunchError, match="TargetGroupNotFound") as raised:
        launcher.handler(start_event("fa"), Context())

    [task] = world.tasks("fa")
    assert task["lastStatus"] == "STOPPED" and task["desiredStatus"] == "STOPPED"
    assert task["stoppedReason"].startswith("task-launcher: start failed") and len(task["stoppedReason"]) <= 255
    assert "stopped 1 task(s)" in str(raised.value)
    assert calls.names()[-1] == "StopTask"
    assert "DeregisterTargets" in calls.names()  # it tried to undo the registration, too
    errors = [line for line in log_lines(capsys) if line["level"] == "ERROR"]
    assert [line["event"] for line in errors] == ["cleanup-deregister-failed", "start-failed"]
    assert errors[-1]["taskArns"] == [task["taskArn"]]


def test_deadline_while_pending_stops_the_task_and_raises(launcher, world, calls):
    support.pending_until(launcher, running_at=None)

    began = time.monotonic()
    with pytest.raises(launcher.LaunchError, match=r"deadline passed before the task\(s\) were RUNNING"):
        launcher.handler(start_event("fa"), Context(remaining_ms=1_300))  # SAFETY_SECONDS=1: 0.3 s

    elapsed = time.monotonic() - began
    assert 0.3 <= elapsed < 1.0
    [task] = world.tasks("fa")
    assert task["lastStatus"] == "STOPPED" and "deadline" in task["stoppedReason"]
    assert "RegisterTargets" not in calls.names()
    assert len(calls.of("DescribeTasks")) > 3  # it polled
    assert world.registered("fa") == {}


def test_wait_seconds_caps_the_wait_below_the_remaining_time(launcher, world, monkeypatch):
    monkeypatch.setenv("WAIT_SECONDS", "0.3")
    support.pending_until(launcher, running_at=None)

    began = time.monotonic()
    with pytest.raises(launcher.LaunchError, match="deadline"):
        launcher.handler(start_event("fa"), Context(remaining_ms=900_000))

    assert 0.3 <= time.monotonic() - began < 1.0
    assert world.tasks("fa")[0]["lastStatus"] == "STOPPED"


def test_no_time_left_starts_nothing_and_raises(launcher, world, calls):
    with pytest.raises(launcher.LaunchError, match="nothing was started"):
        launcher.handler(start_event("fa"), Context(remaining_ms=900))  # below SAFETY_SECONDS

    assert calls.names() == []
    assert world.tasks() == []


def test_deadline_while_waiting_for_healthy_deregisters_stops_and_raises(launcher, world, calls):
    support.health_states(launcher, ["unhealthy"])

    with pytest.raises(launcher.LaunchError, match=r"before the target\(s\) were healthy: .* unhealthy"):
        launcher.handler(start_event("fa", waitForHealthy=True), Context(remaining_ms=1_300))

    [task] = world.tasks("fa")
    assert task["lastStatus"] == "STOPPED"
    assert world.registered("fa") == {}
    names = calls.names()
    assert names.index("DeregisterTargets") < names.index("StopTask")


def test_a_target_removed_while_waiting_for_healthy_fails_fast(launcher, world):
    # Another actor (the task-stopped rule, an operator) takes the target out mid-wait.
    fa = world.service_map["fa"]

    def deregister_everything(parsed: dict[str, Any], **_: Any) -> None:
        for d in parsed["TargetHealthDescriptions"]:
            if d["TargetHealth"]["State"] == "healthy":  # the first answer: report initial, then remove it
                world.elbv2.deregister_targets(TargetGroupArn=fa["targetGroupArn"], Targets=[d["Target"]])
                d["TargetHealth"] = {"State": "initial"}

    launcher.client("elbv2").meta.events.register_first("after-call.elastic-load-balancing-v2.DescribeTargetHealth", deregister_everything)
    began = time.monotonic()
    with pytest.raises(launcher.LaunchError, match=r"can no longer become healthy: .*Target\.NotRegistered"):
        launcher.handler(start_event("fa", waitForHealthy=True), Context())

    assert time.monotonic() - began < 1  # not the 4 s budget
    assert world.tasks("fa")[0]["lastStatus"] == "STOPPED"


def test_a_task_that_stops_before_running_fails_with_its_reason(launcher, world, calls):
    support.pending_until(launcher, running_at=None)
    reason = "Essential container in task exited"
    support.on_describe(launcher, 2, lambda: world.ecs.stop_task(cluster="platform-test", task=world.tasks()[0]["taskArn"], reason=reason))

    with pytest.raises(launcher.LaunchError, match=f"stopped before RUNNING: .*{reason}"):
        launcher.handler(start_event("fa"), Context())

    [task] = world.tasks("fa")
    assert task["stoppedReason"] == reason  # the handler did not stop it again over ECS's reason
    assert "StopTask" not in calls.names() and "RegisterTargets" not in calls.names()


def test_runtask_failures_stop_the_tasks_that_did_start(launcher, world, calls):
    def partial(parsed: dict[str, Any], **_: Any) -> None:
        parsed["tasks"] = parsed["tasks"][:1]  # ECS placed one of two
        parsed["failures"] = [{"arn": "arn:aws:ecs:us-east-1:123456789012:container-instance/x", "reason": "RESOURCE:ENI"}]

    launcher.client("ecs").meta.events.register("after-call.ecs.RunTask", partial)

    with pytest.raises(launcher.LaunchError, match=r"RunTask started 1 of 2 task\(s\); failures: .*RESOURCE:ENI"):
        launcher.handler(start_event("fa", count=2), Context())

    reported = calls.of("StopTask")
    assert len(reported) == 1
    assert world.task(reported[0]["task"])["lastStatus"] == "STOPPED"
    assert "DescribeTasks" not in calls.names()


def test_runtask_error_raises_without_cleanup(launcher, world, calls, monkeypatch):
    monkeypatch.setenv("SERVICE_MAP", _map_with(world, cluster="no-such-cluster"))

    with pytest.raises(launcher.LaunchError, match="RunTask failed: ClusterNotFoundException"):
        launcher.handler(start_event("fa"), Context())

    assert calls.names() == ["RunTask"]


# --------------------------------------------------------------------------------------------
# Stop ECS Task.


def test_stop_one_task_deregisters_then_stops_and_is_idempotent(launcher, world, calls):
    started = start(launcher, "fa", count=2)
    keep, target = started["tasks"]
    calls.clear()

    result = launcher.handler(stop_event("fa", target["taskArn"]), Context())

    assert result["statusCode"] == 200
    assert result["body"]["stopped"] == [target["taskArn"]]
    [entry] = result["body"]["tasks"]
    assert entry["result"] == "stopped" and entry["target"] == "deregistered" and entry["privateIp"] == target["privateIp"]
    assert calls.names() == ["DescribeTasks", "DeregisterTargets", "StopTask"]
    assert calls.of("DeregisterTargets")[0]["Targets"] == [{"Id": target["privateIp"], "Port": 2531}]
    assert world.registered("fa") == {keep["privateIp"]: 2531}
    assert world.task(target["taskArn"])["lastStatus"] == "STOPPED"
    assert world.task(keep["taskArn"])["lastStatus"] == "RUNNING"

    calls.clear()
    again = launcher.handler(stop_event("fa", target["taskArn"]), Context())

    assert again["statusCode"] == 200 and again["body"]["stopped"] == []
    assert again["body"]["tasks"][0]["result"] == "already-stopped"
    assert again["body"]["tasks"][0]["target"] == "not-registered"
    assert "StopTask" not in calls.names()
    assert world.registered("fa") == {keep["privateIp"]: 2531}


def test_stop_without_task_arn_stops_only_this_launchers_tasks_of_that_service(launcher, world, calls):
    ours = start(launcher, "fa", count=2)["tasks"]
    batch = start(launcher, "batch")
    foreign = world.run_foreign_task("fa")
    calls.clear()

    result = launcher.handler(stop_event("fa"), Context())

    assert result["statusCode"] == 200
    assert sorted(result["body"]["stopped"]) == sorted(t["taskArn"] for t in ours)
    names = calls.names()
    assert names.count("DeregisterTargets") == 2 and names.count("StopTask") == 2
    assert max(i for i, n in enumerate(names) if n == "DeregisterTargets") < names.index("StopTask")
    # ListTasks refuses startedBy together with another filter: the handler filters it itself.
    [listing] = calls.of("ListTasks")
    assert "startedBy" not in listing and listing["family"] == "devops-platform-test-fa"
    assert world.registered("fa") == {}
    assert all(world.task(t["taskArn"])["lastStatus"] == "STOPPED" for t in ours)
    assert world.task(foreign["taskArn"])["lastStatus"] == "RUNNING"
    assert world.task(batch["taskArn"])["lastStatus"] == "RUNNING"
    assert world.registered("batch") == {batch["privateIp"]: 8080}

    calls.clear()
    again = launcher.handler(stop_event("fa"), Context())

    assert again["statusCode"] == 200 and again["body"] == {"service": "fa", "stopped": [], "tasks": []}
    assert "StopTask" not in calls.names()


def test_stop_of_an_unknown_task_is_an_idempotent_success(launcher, world, calls):
    arn = "arn:aws:ecs:us-east-1:123456789012:task/platform-test/0123456789abcdef0123456789abcdef"

    result = launcher.handler(stop_event("fa", arn), Context())

    assert result == {"statusCode": 200, "body": {"service": "fa", "stopped": [], "tasks": [{"taskArn": arn, "taskId": "0123456789abcdef0123456789abcdef", "result": "not-found"}]}}
    assert calls.names() == ["DescribeTasks"]


def test_stop_of_another_services_task_is_a_400_and_changes_nothing(launcher, world, calls):
    batch = start(launcher, "batch")
    calls.clear()

    result = launcher.handler(stop_event("fa", batch["taskArn"]), Context())

    assert result["statusCode"] == 400
    assert "family devops-platform-test-batch" in result["body"]["error"] and "service fa" in result["body"]["error"]
    assert calls.names() == ["DescribeTasks"]
    assert world.task(batch["taskArn"])["lastStatus"] == "RUNNING"
    assert world.registered("batch") == {batch["privateIp"]: 8080}


def test_a_bad_stop_event_is_a_4xx_and_calls_nothing(launcher, world, calls):
    running = start(launcher, "fa")
    calls.clear()
    cases = [
        ({"service": "fa", "taskArn": "0123456789abcdef"}, 400, "detail.taskArn must be an ECS task ARN"),
        ({"service": "fa", "taskArn": 7}, 400, "detail.taskArn must be an ECS task ARN"),
        ({"service": "fa", "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/other-cluster/0123456789abcdef"}, 400, "cluster other-cluster"),
        ({"service": "fa", "count": 1}, 400, "unknown keys count; Stop ECS Task allows only service, taskArn"),
        ({"taskArn": running["taskArn"]}, 400, "detail.service is required"),
        ({"service": "auth"}, 404, "unknown service \"auth\""),
    ]
    for detail, status, message in cases:
        result = launcher.handler(support.envelope("Stop ECS Task", detail), Context())

        assert (detail, result["statusCode"]) == (detail, status)
        assert message in result["body"]["error"], detail
    assert calls.names() == []
    assert world.task(running["taskArn"])["lastStatus"] == "RUNNING"


# --------------------------------------------------------------------------------------------
# ECS Task State Change (STOPPED).


def test_a_stopped_task_event_deregisters_its_ip_without_touching_the_task(launcher, world, calls):
    started = start(launcher, "fa", count=2)
    crashed, survivor = started["tasks"]
    world.ecs.stop_task(cluster="platform-test", task=crashed["taskArn"], reason="Essential container in task exited")
    event = stopped_event(world.task(crashed["taskArn"]))
    calls.clear()

    result = launcher.handler(event, Context())

    assert result["statusCode"] == 200
    assert result["body"] == {
        "result": "deregistered",
        "service": "fa",
        "taskArn": crashed["taskArn"],
        "privateIp": crashed["privateIp"],
        "port": 2531,
        "targetGroupArn": world.service_map["fa"]["targetGroupArn"],
    }
    assert world.registered("fa") == {survivor["privateIp"]: 2531}
    assert calls.of("DeregisterTargets") == [{"TargetGroupArn": world.service_map["fa"]["targetGroupArn"], "Targets": [{"Id": crashed["privateIp"], "Port": 2531}]}]
    assert "StopTask" not in calls.names() and "RunTask" not in calls.names()

    again = launcher.handler(event, Context())

    assert again["statusCode"] == 200 and again["body"]["result"] == "not-registered"
    assert world.registered("fa") == {survivor["privateIp"]: 2531}


def test_a_stopped_task_event_without_attachments_uses_the_containers_ip(launcher, world):
    started = start(launcher, "fa")
    world.ecs.stop_task(cluster="platform-test", task=started["taskArn"], reason="x")
    task = world.task(started["taskArn"])
    task["attachments"] = []
    task["containers"] = [{"name": "fa", "networkInterfaces": [{"attachmentId": "a", "privateIpv4Address": started["privateIp"]}]}]

    result = launcher.handler(stopped_event(task), Context())

    assert result["body"]["result"] == "deregistered"
    assert world.registered("fa") == {}


def test_a_stopped_event_whose_ip_another_live_task_now_has_leaves_the_target(launcher, world, calls):
    live = start(launcher, "fa")
    old = world.task(live["taskArn"])
    # An earlier task with the same IP, stopped long ago; its event arrives late.
    late = stopped_event(old, taskArn="arn:aws:ecs:us-east-1:123456789012:task/platform-test/0123456789abcdef0123456789abcdef", lastStatus="STOPPED", desiredStatus="STOPPED")

    result = launcher.handler(late, Context())

    assert result["statusCode"] == 200 and result["body"]["result"] == "ip-in-use"
    assert world.registered("fa") == {live["privateIp"]: 2531}
    assert "DeregisterTargets" not in calls.names()


def test_state_change_events_that_are_not_ours_are_ignored(launcher, world, calls):
    started = start(launcher, "fa")
    calls.clear()
    task = world.task(started["taskArn"])
    cases = [
        ({"startedBy": "ecs-svc/1234567890"}, "is not this launcher's"),
        ({"startedBy": None}, "is not this launcher's"),
        ({"lastStatus": "RUNNING", "desiredStatus": "RUNNING"}, "lastStatus is RUNNING, not STOPPED"),
        ({"taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/someone-elses:3"}, "family someone-elses is not in SERVICE_MAP"),
        ({"clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/elsewhere"}, "cluster arn:aws:ecs:us-east-1:123456789012:cluster/elsewhere"),
        ({"attachments": [], "containers": []}, "no private IPv4 address"),
    ]
    for changes, reason in cases:
        result = launcher.handler(stopped_event(task, **{"lastStatus": "STOPPED", **changes}), Context())

        assert result["statusCode"] == 200, changes
        assert result["body"]["result"] == "ignored" and reason in result["body"]["reason"], changes
    assert calls.names() == []
    assert world.registered("fa") == {started["privateIp"]: 2531}


def test_a_malformed_state_change_event_is_a_400(launcher, world, calls):
    task_arn = "arn:aws:ecs:us-east-1:123456789012:task/platform-test/0123456789abcdef0123456789abcdef"
    detail = {"taskArn": task_arn, "lastStatus": "STOPPED", "startedBy": STARTED_BY, "clusterArn": world.cluster_arn}
    cases = [
        (support.envelope("ECS Task State Change", {"lastStatus": "STOPPED", "startedBy": STARTED_BY}, source="aws.ecs"), "detail.taskArn"),
        (support.envelope("ECS Task State Change", {**detail, "taskDefinitionArn": "fa:1"}, source="aws.ecs"), "detail.taskDefinitionArn"),
        (support.envelope("ECS Task State Change", [], source="aws.ecs"), "detail must be an object"),
        (support.envelope("ECS Task State Change", detail, source="custom.app"), "source must be aws.ecs"),
    ]
    for event, message in cases:
        result = launcher.handler(event, Context())

        assert result["statusCode"] == 400 and message in result["body"]["error"], message
    assert calls.names() == []


# --------------------------------------------------------------------------------------------
# Configuration.


def _map_with(world: Any, **changes: Any) -> str:
    return json.dumps({**world.service_map, "fa": {**world.service_map["fa"], **changes}})


def test_a_broken_service_map_raises_and_starts_nothing(launcher, world, calls, monkeypatch):
    cases = (
        ("{not json", "SERVICE_MAP is not valid JSON"),
        ("{}", "non-empty JSON object"),
        ("[]", "non-empty JSON object"),
        (json.dumps({"fa": "cluster"}), "SERVICE_MAP[fa] must be an object"),
        (json.dumps({"fa": {k: v for k, v in world.service_map["fa"].items() if k != "port"}}), "missing keys ['port']"),
        (_map_with(world, memory=512), "unknown keys ['memory']"),
        (_map_with(world, port="2531"), "SERVICE_MAP[fa].port must be an integer from 1 to 65535"),
        (_map_with(world, port=True), "SERVICE_MAP[fa].port"),
        (_map_with(world, port=70000), "SERVICE_MAP[fa].port"),
        (_map_with(world, assignPublicIp=True), "SERVICE_MAP[fa].assignPublicIp must be false"),
        (_map_with(world, assignPublicIp="false"), "SERVICE_MAP[fa].assignPublicIp must be false"),
        (_map_with(world, taskDefinition="devops-platform-test-fa"), "SERVICE_MAP[fa].taskDefinition must be a task definition ARN"),
        (_map_with(world, taskDefinition=world.service_map["fa"]["taskDefinition"].rsplit(":", 1)[0]), "with its revision"),
        (_map_with(world, subnets=[]), "SERVICE_MAP[fa].subnets must be a list of 1 to 16"),
        (_map_with(world, subnets=["sg-0123456789abcdef0"]), "SERVICE_MAP[fa].subnets"),
        (_map_with(world, securityGroups="sg-0123456789abcdef0"), "SERVICE_MAP[fa].securityGroups"),
        (_map_with(world, targetGroupArn="test-fa"), "SERVICE_MAP[fa].targetGroupArn"),
        (_map_with(world, cluster="arn:aws:ecs:us-east-1:123456789012:service/x"), "SERVICE_MAP[fa].cluster"),
        (_map_with(world, taskDefinition=world.service_map["batch"]["taskDefinition"]), "share task definition family"),
    )
    for raw, message in cases:
        monkeypatch.setenv("SERVICE_MAP", raw)

        with pytest.raises(launcher.ConfigError) as raised:
            launcher.handler(start_event("fa"), Context())

        assert message in str(raised.value), raw
    assert calls.names() == []
    assert world.tasks() == []


def test_broken_settings_raise_for_every_event(launcher, world, calls, monkeypatch):
    cases = [
        ("SERVICE_MAP", None, "SERVICE_MAP is not set"),
        ("STARTED_BY", None, "STARTED_BY must be set"),
        ("STARTED_BY", "has spaces", "STARTED_BY must be set"),
        ("MAX_COUNT", "11", "MAX_COUNT must be an integer from 1 to 10"),
        ("MAX_COUNT", "two", "MAX_COUNT"),
        ("POLL_SECONDS", "0", "POLL_SECONDS must be a number of seconds"),
        ("WAIT_SECONDS", "nan", "WAIT_SECONDS"),
        ("SAFETY_SECONDS", "-1", "SAFETY_SECONDS"),
    ]
    for name, value, message in cases:
        with monkeypatch.context() as env:
            if value is None:
                env.delenv(name)
            else:
                env.setenv(name, value)
            for event in (start_event("fa"), stop_event("fa"), {"detail-type": "nonsense"}):
                with pytest.raises(launcher.ConfigError, match=message):
                    launcher.handler(event, Context())
    assert calls.names() == []
    assert world.tasks() == []


def test_settings_are_read_once_per_environment_with_their_defaults(monkeypatch):
    launcher = support.LAUNCHER
    launcher.reset()
    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/fam:7"
    tg = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/0123456789abcdef"
    entry = {"cluster": "c", "taskDefinition": arn, "containerName": "app", "port": 80, "targetGroupArn": tg,
             "subnets": ["subnet-0123456789abcdef0"], "securityGroups": ["sg-0123456789abcdef0"], "assignPublicIp": False}
    monkeypatch.setenv("SERVICE_MAP", json.dumps({"svc": entry}))
    monkeypatch.setenv("STARTED_BY", "devops-platform-prod-launcher")
    for name in ("MAX_COUNT", "POLL_SECONDS", "WAIT_SECONDS", "SAFETY_SECONDS"):
        monkeypatch.delenv(name, raising=False)

    first = launcher.settings()

    assert launcher.settings() is first
    assert (first.max_count, first.poll_seconds, first.wait_seconds, first.safety_seconds) == (5, 5.0, 300.0, 20.0)
    assert first.services["svc"].family == "fam" and first.services["svc"].cluster_name == "c"
    monkeypatch.setenv("MAX_COUNT", "3")
    assert launcher.settings().max_count == 3
    launcher.reset()
