"""The event-driven functions under mocks: rules, targets, dead letters, SERVICE_MAP and IAM."""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from components.event_function import bounded_name
from components.python_function import package
from components.repo_replicator import CODE_PATH as REPLICATOR_CODE
from components.task_launcher import CODE_PATH as LAUNCHER_CODE
from functions.loading import load_function
from ops.harness import Graph
from tests.conftest import namespace_of, under
from tests.test_delivery import matches

REGIONS = ("us-east-1", "us-east-2")
ACCOUNT = "123456789012"
FUNCTION = "aws:lambda/function:Function"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
QUEUE = "aws:sqs/queue:Queue"
# Statements AWS accepts only with "*" as the resource (each commented where it is made).
STAR_ONLY = {"ListClusterTasks", "ReadTargetHealth", "PublishLag"}


def on_demand(stack: str = "prod") -> list[str]:
    return [s["name"] for s in namespace_of(stack)["services"] if s.get("mode") == "on-demand"]


def launcher(region: str) -> str:
    return f"{region}-task-launcher-function"


REPLICATOR = "us-east-1-replicator-function"
DEMO_CODE = LAUNCHER_CODE.parent / "lambda_demo"
SMOKE_CODE = LAUNCHER_CODE.parent / "smoke_test"


def statements(graph: Graph, fn: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(graph.named(f"{fn}-policy").inputs["policy"])["Statement"]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def pattern(graph: Graph, name: str) -> dict[str, Any]:
    return json.loads(graph.named(name).inputs["eventPattern"])


def function_modules(code: Path) -> SimpleNamespace:
    return load_function(code)


def service_map(graph: Graph, region: str) -> dict[str, Any]:
    env = graph.named(f"{launcher(region)}-function").inputs["environment"]["variables"]
    return json.loads(env["SERVICE_MAP"])


# --- where they exist --------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_launcher_in_every_region_and_replicator_in_the_primary_only(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    functions = {(r.region, r.inputs["name"]) for r in graph.of_type(FUNCTION)}
    prefix = f"devops-platform-{stack}"
    for region in REGIONS:
        assert (region, f"{prefix}-task-launcher") in functions
    assert ("us-east-1", f"{prefix}-repo-replicator") in functions
    assert ("us-east-2", f"{prefix}-repo-replicator") not in functions
    # The replicator is part of the primary region, under its provider.
    assert graph.named("us-east-1-replicator").parent == graph.named("us-east-1").urn
    assert {r.region for r in under(graph, "us-east-1-replicator") if r.custom} == {"us-east-1"}


def test_no_launcher_without_on_demand_services_and_no_replicator_when_off(run_program):
    def edit(ns: dict[str, Any]) -> None:
        for svc in ns["services"]:
            svc["mode"] = "service"
        del ns["taskLauncher"]
        ns["replication"] = {"enabled": False}

    graph = run_program("prod", edit=edit)
    names = {r.inputs["name"] for r in graph.of_type(FUNCTION)}
    assert not any(n.endswith(("-task-launcher", "-repo-replicator")) for n in names), names
    assert graph.outputs.get("replication") is None
    assert all(graph.outputs["regions"][r].get("task_launcher") is None for r in REGIONS)


def test_a_connection_source_has_nothing_to_replicate(run_program):
    def edit(ns: dict[str, Any]) -> None:
        ns["pipeline"]["source"] = {
            "type": "connection",
            "connectionArn": "arn:aws:codeconnections:us-east-1:111122223333:connection/0f0f0f0f-1111-2222-3333-444455556666",
            "fullRepositoryId": "acme/app",
        }

    graph = run_program("dev", edit=edit)
    assert graph.outputs.get("replication") is None
    assert not [r for r in graph.resources if r.name.startswith("us-east-1-replicator")]


# --- rule patterns -------------------------------------------------------------------------------


def start(service: str = "fa", kind: str = "Start ECS Task", source: str = "custom.app") -> dict[str, Any]:
    return {"id": "e-1", "source": source, "detail-type": kind, "detail": {"service": service}}


def stopped(cluster_arn: str, started_by: str, status: str = "STOPPED") -> dict[str, Any]:
    return {
        "source": "aws.ecs",
        "detail-type": "ECS Task State Change",
        "detail": {"clusterArn": cluster_arn, "lastStatus": status, "startedBy": started_by},
    }


@pytest.mark.parametrize("region", REGIONS)
def test_launcher_rules_match_requests_and_its_own_stopped_tasks_only(prod: Graph, region: str):
    requests = pattern(prod, f"{launcher(region)}-requests")
    assert matches(requests, start()) and matches(requests, start(kind="Stop ECS Task"))
    assert not matches(requests, start(kind="Restart ECS Task"))
    assert not matches(requests, start(source="aws.ecs"))

    task_stopped = pattern(prod, f"{launcher(region)}-task-stopped")
    cluster_arn = f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/devops-platform-prod"
    ours = "devops-platform-prod-task-launcher"
    assert matches(task_stopped, stopped(cluster_arn, ours))
    assert not matches(task_stopped, stopped(cluster_arn, ours, status="RUNNING"))
    # ECS services' own tasks (startedBy ecs-svc/...) and other clusters' are not ours to touch.
    assert not matches(task_stopped, stopped(cluster_arn, "ecs-svc/1234567890"))
    assert not matches(task_stopped, stopped(cluster_arn.replace(region, "eu-west-1"), ours))
    assert prod.named(f"{launcher(region)}-function").inputs["environment"]["variables"]["STARTED_BY"] == ours


def test_replicator_rule_matches_branch_changes_of_the_primary_repository_only(prod: Graph):
    rule = pattern(prod, f"{REPLICATOR}-pushes")
    primary = f"arn:aws:codecommit:us-east-1:{ACCOUNT}:devops-platform-prod"

    def change(event: str, repo: str = primary, kind: str = "branch") -> dict[str, Any]:
        return {
            "source": "aws.codecommit",
            "detail-type": "CodeCommit Repository State Change",
            "resources": [repo],
            "detail": {"event": event, "referenceType": kind, "referenceName": "feature/x"},
        }

    for event in ("referenceCreated", "referenceUpdated", "referenceDeleted"):
        assert matches(rule, change(event)), event
    assert not matches(rule, change("referenceUpdated", kind="tag"))
    assert not matches(rule, change("pullRequestCreated"))
    # The secondary's own pushes (including the replicated ones) must not loop back.
    assert not matches(rule, change("referenceUpdated", repo=primary.replace("us-east-1", "us-east-2")))


# --- targets and dead letters ----------------------------------------------------------------------


@pytest.mark.parametrize("fn", [launcher("us-east-1"), launcher("us-east-2"), REPLICATOR])
def test_every_target_retries_then_parks_in_the_functions_encrypted_queue(prod: Graph, fn: str):
    queue = prod.named(f"{fn}-dead-letters")
    queue_arn = f"arn:aws:sqs:{queue.region}:{ACCOUNT}:{queue.id.rsplit('/', 1)[-1]}"
    assert queue.inputs["sqsManagedSseEnabled"] is True
    assert queue.inputs["messageRetentionSeconds"] == 14 * 24 * 3600
    function_arn = f"arn:aws:lambda:{queue.region}:{ACCOUNT}:function:{prod.named(f'{fn}-function').id}"

    rules = [r for r in under(prod, fn) if r.type == RULE]
    targets = [r for r in under(prod, fn) if r.type == TARGET]
    assert rules and len(targets) == len(rules)
    for target in targets:
        assert target.inputs["arn"] == function_arn
        assert target.inputs["retryPolicy"] == {"maximumEventAgeInSeconds": 3600, "maximumRetryAttempts": 8}
        assert target.inputs["deadLetterConfig"] == {"arn": queue_arn}
    # Failed invocations (after Lambda's own retries) land in the same queue.
    invoke = prod.named(f"{fn}-async").inputs
    assert invoke["destinationConfig"] == {"onFailure": {"destination": queue_arn}}
    assert invoke["maximumEventAgeInSeconds"] == 3600
    # EventBridge may send to the queue only for this function's rules.
    grant, deny = json.loads(prod.named(f"{fn}-dead-letters-policy").inputs["policy"])["Statement"]
    assert deny["Sid"] == "DenyInsecureTransport"  # tests/test_iam_actions.py pins it
    assert grant["Principal"] == {"Service": "events.amazonaws.com"} and grant["Resource"] == queue_arn
    assert sorted(grant["Condition"]["ArnEquals"]["aws:SourceArn"]) == sorted(
        f"arn:aws:events:{queue.region}:{ACCOUNT}:rule/{r.id}" for r in rules
    )
    # Each rule alone may invoke the function.
    for rule in rules:
        permission = prod.named(f"{rule.name}-permission").inputs
        assert permission["principal"] == "events.amazonaws.com"
        assert permission["sourceArn"] == f"arn:aws:events:{queue.region}:{ACCOUNT}:rule/{rule.id}"
    assert prod.named(f"{fn}-logs").inputs["retentionInDays"] == 365


def test_event_names_fit_eventbridge_limits_in_the_longest_region(run_program):
    def edit(ns: dict[str, Any]) -> None:
        ns["regions"][1]["name"] = "ap-southeast-2"
        ns["taskLauncher"]["schedules"][0]["name"] = "weekday-morning-fa01"  # 20, the longest allowed

    graph = run_program("prod", edit=edit)
    rules = graph.of_type(RULE)
    assert len(rules) > 10
    for rule in rules:
        assert len(rule.id) <= 64, rule.name
    for target in graph.of_type(TARGET):
        # Without an explicit id the provider names it after the logical name plus "-" and 7 hex.
        target_id = target.inputs.get("targetId") or f"{target.name}-0123abc"
        assert len(target_id) <= 64, target.name
    names = [(r.region, r.id) for r in rules]  # rule names are per region
    assert len(set(names)) == len(names)


def test_bounded_names_stay_distinct_and_stable():
    long = "devops-platform-prod-task-launcher-schedule-"
    a, b = bounded_name(long + "weekday-morning-fa01", 64), bounded_name(long + "weekday-morning-fa02", 64)
    assert len(a) == len(b) == 64 and a != b
    assert a == bounded_name(long + "weekday-morning-fa01", 64)
    assert bounded_name("short", 64) == "short"


def test_retries_and_concurrency_suit_each_function(prod: Graph):
    # A retried launch would find its clientToken's stopped task: straight to the queue instead.
    assert prod.named(f"{launcher('us-east-1')}-async").inputs["maximumRetryAttempts"] == 0
    # Replication is idempotent (retry is safe) and serialized (no two runs race for a head).
    assert prod.named(f"{REPLICATOR}-async").inputs["maximumRetryAttempts"] == 2
    assert prod.named(f"{REPLICATOR}-function").inputs["reservedConcurrentExecutions"] == 1
    for fn in (launcher("us-east-1"), REPLICATOR):
        inputs = prod.named(f"{fn}-function").inputs
        assert inputs["runtime"] == "python3.13" and inputs["timeout"] == 300
        assert inputs["loggingConfig"]["logFormat"] == "JSON"


# --- what the functions are told -----------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_service_map_names_the_real_task_definitions_target_groups_and_private_subnets(prod: Graph, region: str):
    smap = service_map(prod, region)
    assert sorted(smap) == sorted(on_demand())
    ports = {s["name"]: s["port"] for s in namespace_of("prod")["services"]}
    private = [prod.named(f"{region}-network-private-az{i}").id for i in (1, 2)]
    public = {prod.named(f"{region}-network-public-az{i}").id for i in (1, 2)}
    for svc, entry in smap.items():
        assert entry["cluster"] == prod.named(f"{region}-cluster").inputs["name"]
        family = prod.named(f"{region}-{svc}-task").inputs["family"]
        assert entry["taskDefinition"].startswith(f"arn:aws:ecs:{region}:{ACCOUNT}:task-definition/{family}:")
        assert entry["containerName"] == svc and entry["port"] == ports[svc]
        assert entry["targetGroupArn"] == prod.named(f"{region}-{svc}-tg").id
        assert entry["subnets"] == private and not set(entry["subnets"]) & public
        assert entry["securityGroups"] == [prod.named(f"{region}-{svc}-sg").id]
        assert entry["assignPublicIp"] is False


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_handlers_accept_the_environment_the_program_gives_them(graphs: dict[str, Graph], stack: str):
    """The contract from both sides: what the program generates, the functions' own parsers take."""
    graph = graphs[stack]
    launcher_code = function_modules(LAUNCHER_CODE).config
    for region in REGIONS:
        env = graph.named(f"{launcher(region)}-function").inputs["environment"]["variables"]
        parsed = launcher_code.parse_service_map(env["SERVICE_MAP"])
        assert sorted(parsed) == sorted(on_demand(stack))
        for svc, entry in parsed.items():
            assert entry.family == graph.named(f"{region}-{svc}-task").inputs["family"]
    replicator_code = function_modules(REPLICATOR_CODE).config
    env = graph.named(f"{REPLICATOR}-function").inputs["environment"]["variables"]
    settings = replicator_code.load_settings({**env, "AWS_REGION": "us-east-1"})
    assert [t.region for t in settings.targets] == ["us-east-2"]
    assert settings.source_repository == env["SOURCE_REPOSITORY"]


def test_replicator_is_told_its_source_and_each_secondary_repository(prod: Graph):
    env = prod.named(f"{REPLICATOR}-function").inputs["environment"]["variables"]
    assert env["SOURCE_REPOSITORY"] == prod.named("us-east-1-delivery-repository").inputs["repositoryName"]
    secondary = prod.named("us-east-2-delivery-repository").inputs["repositoryName"]
    assert json.loads(env["TARGETS"]) == [{"region": "us-east-2", "repositoryName": secondary}]
    assert env["METRIC_NAMESPACE"] == "DevOpsPlatform/Replication"


def test_schedules_send_the_start_and_stop_events_with_their_own_ids(prod: Graph):
    schedules = {s["name"]: s for s in namespace_of("prod")["taskLauncher"]["schedules"]}
    assert schedules  # prod shows the pattern
    for region in REGIONS:
        for name, sched in schedules.items():
            rule = prod.named(f"{launcher(region)}-schedule-{name}").inputs
            assert rule["scheduleExpression"] == sched["expression"]
            transformer = prod.named(f"{launcher(region)}-schedule-{name}-target").inputs["inputTransformer"]
            assert transformer["inputPaths"] == {"id": "$.id", "time": "$.time"}
            # What EventBridge delivers once it substitutes the schedule event's id and time.
            event = json.loads(
                transformer["inputTemplate"].replace("<id>", "5c0ffee0-0000-4000-8000-000000000000").replace("<time>", "2026-11-23T07:00:00Z")
            )
            assert event["id"] == "5c0ffee0-0000-4000-8000-000000000000"
            assert event["source"] == "custom.app" and event["detail"]["service"] == sched["service"]
            if sched["action"] == "start":
                assert event["detail-type"] == "Start ECS Task" and event["detail"]["count"] == sched["count"]
            else:
                assert event["detail-type"] == "Stop ECS Task" and "count" not in event["detail"]


# What Lambda's Python runtime provides besides the standard library.
RUNTIME_PACKAGES = {"boto3", "botocore"}


def imported_modules(path: Path) -> set[str]:
    """The top-level names a module imports, at any depth of its code."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names - {"__future__"}


@pytest.mark.parametrize("code", [LAUNCHER_CODE, REPLICATOR_CODE, DEMO_CODE, SMOKE_CODE], ids=lambda p: p.name)
def test_each_archive_carries_every_module_its_handler_imports_and_nothing_else(code: Path):
    assets = set(package(code).assets)
    assert assets == {p.name for p in code.glob("*.py")}
    assert not any(name.startswith(("test_", "fake_", "conftest")) for name in assets)
    shipped = {name.removesuffix(".py") for name in assets}
    reached, todo = set(), ["handler"]
    while todo:
        module = todo.pop()
        if module in reached:
            continue
        reached.add(module)
        for name in imported_modules(code / f"{module}.py"):
            if name in shipped:
                todo.append(name)
            else:
                # Anything else must come with the runtime: the standard library, boto3, botocore.
                assert name in sys.stdlib_module_names or name in RUNTIME_PACKAGES, f"{module}.py imports {name}"
    # Every shipped module is reached from the entry point: none is dead weight or a forgotten split.
    assert reached == shipped


# --- IAM ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [launcher("us-east-1"), launcher("us-east-2"), REPLICATOR])
def test_function_roles_name_their_resources_and_grant_no_star_actions(prod: Graph, fn: str):
    for sid, s in statements(prod, fn).items():
        assert all("*" not in a for a in as_list(s["Action"])), s
        resources = as_list(s["Resource"])
        if sid in STAR_ONLY:
            assert resources == ["*"], s
            # Scoped by condition where AWS offers one (ELB's Describe* offers none).
            assert "Condition" in s or sid == "ReadTargetHealth", s
        else:
            assert resources and all(r.startswith("arn:aws:") for r in resources), s


@pytest.mark.parametrize("region", REGIONS)
def test_launcher_may_run_only_on_demand_families_in_its_cluster_and_pass_their_roles(prod: Graph, region: str):
    s = statements(prod, launcher(region))
    cluster_arn = f"arn:aws:ecs:{region}:{ACCOUNT}:cluster/devops-platform-prod"
    families = [prod.named(f"{region}-{svc}-task").inputs["family"] for svc in sorted(on_demand())]
    assert s["RunOnDemandTasks"]["Action"] == "ecs:RunTask"
    assert s["RunOnDemandTasks"]["Resource"] == [f"arn:aws:ecs:{region}:{ACCOUNT}:task-definition/{f}:*" for f in families]
    tasks = f"arn:aws:ecs:{region}:{ACCOUNT}:task/devops-platform-prod/*"
    for sid in ("RunOnDemandTasks", "WatchAndStopTasks", "ListClusterTasks"):
        assert s[sid]["Condition"]["ArnEquals"] == {"ecs:cluster": cluster_arn}, sid
    assert s["WatchAndStopTasks"]["Resource"] == tasks and sorted(s["WatchAndStopTasks"]["Action"]) == ["ecs:DescribeTasks", "ecs:StopTask"]
    # Tagging only as part of RunTask, on this cluster's tasks (ecs:cluster is no TagResource key).
    assert s["TagLaunchedTasks"]["Condition"] == {"StringEquals": {"ecs:CreateAction": "RunTask"}}
    assert s["TagLaunchedTasks"]["Resource"] == tasks
    roles = {
        f"arn:aws:iam::{ACCOUNT}:role/{prod.named(f'{region}-{svc}-{kind}-role').id}"
        for svc in on_demand()
        for kind in ("task", "execution")
    }
    assert set(s["PassTaskRoles"]["Resource"]) == roles and len(s["PassTaskRoles"]["Resource"]) == 4
    assert s["PassTaskRoles"]["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    assert sorted(s["RegisterTargets"]["Resource"]) == sorted(prod.named(f"{region}-{svc}-tg").id for svc in on_demand())
    # No always-on service's target group: the ECS services own those.
    assert prod.named(f"{region}-auth-tg").id not in s["RegisterTargets"]["Resource"]
    assert s["ReadTargetHealth"]["Action"] == "elasticloadbalancing:DescribeTargetHealth"


def test_replicator_reads_the_primary_and_writes_only_the_secondaries(prod: Graph):
    s = statements(prod, REPLICATOR)
    primary = f"arn:aws:codecommit:us-east-1:{ACCOUNT}:devops-platform-prod"
    secondary = f"arn:aws:codecommit:us-east-2:{ACCOUNT}:devops-platform-prod"
    assert s["ReadPrimary"]["Resource"] == primary
    assert all(a.split(":")[1].startswith("Get") for a in s["ReadPrimary"]["Action"])
    assert s["WriteSecondaries"]["Resource"] == [secondary]
    assert {"codecommit:CreateCommit", "codecommit:CreateBranch", "codecommit:DeleteBranch"} <= set(s["WriteSecondaries"]["Action"])
    writes = [sid for sid, st in s.items() if primary in as_list(st["Resource"]) and any("Create" in a or "Delete" in a for a in as_list(st["Action"]))]
    assert not writes
    assert s["PublishLag"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "DevOpsPlatform/Replication"}}


@pytest.fixture(scope="module")
def graphs(prod: Graph, dev: Graph) -> dict[str, Graph]:
    return {"prod": prod, "dev": dev}


def test_the_replicator_role_covers_every_codecommit_call_in_its_code():
    """Every CodeCommit operation the handler can call is granted, and writes only on secondaries."""
    import botocore.session

    from components.repo_replicator import SOURCE_ACTIONS, TARGET_ACTIONS

    model = botocore.session.get_session().get_service_model("codecommit")
    by_method = {botocore.xform_name(op): op for op in model.operation_names}
    source = "\n".join(p.read_text() for p in sorted(REPLICATOR_CODE.glob("*.py")))
    called = {op for method, op in by_method.items() if f".{method}(" in source}
    assert {"GetDifferences", "GetBlob", "CreateCommit"} <= called
    granted = {a.split(":", 1)[1] for a in (*SOURCE_ACTIONS, *TARGET_ACTIONS)}
    assert called <= granted, called - granted
    assert not {a for a in SOURCE_ACTIONS if not a.split(":", 1)[1].startswith("Get")}
