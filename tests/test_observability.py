"""Observability and failover under mocks: alarms, the topic they notify, dashboards, Route 53."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ops.harness import Graph, Registration
from tests.conftest import namespace_of, under

REGIONS = ("us-east-1", "us-east-2")
ACCOUNT = "123456789012"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
RECORD = "aws:route53/record:Record"
CHECK = "aws:route53/healthCheck:HealthCheck"
SEED_001 = {"cpu": 80, "memory": 80, "5xx": 10, "latency": 1.0, "unhealthy": 0}
# A service on Lambda: the target group's two, and the function's errors, throttles and duration.
LAMBDA_ALARMS = {"5xx", "latency", "errors", "throttles", "duration"}


def services(stack: str = "prod") -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in namespace_of(stack)["services"]}


def alarms_in(graph: Graph, region: str) -> dict[str, dict[str, Any]]:
    return {r.inputs["name"]: r.inputs for r in graph.of_type(ALARM) if r.region == region}


def service_alarms(graph: Graph, region: str, svc: str) -> dict[str, dict[str, Any]]:
    """The service's own alarms, by kind (the part of the logical name after ``-alarm-``)."""
    return {
        r.name.rsplit("-alarm-", 1)[1]: r.inputs
        for r in under(graph, f"{region}-{svc}")
        if r.type == ALARM and not r.name.startswith(f"{region}-{svc}-staging")
    }


@pytest.fixture(scope="module")
def graphs(prod: Graph, dev: Graph) -> dict[str, Graph]:
    return {"prod": prod, "dev": dev}


# --- service alarms ------------------------------------------------------------------------------


def metrics_of(alarm: dict[str, Any]) -> list[dict[str, Any]]:
    """An alarm's metrics: its own, or those its metric math combines."""
    if "metricQueries" not in alarm:
        return [{"period": alarm["period"], "stat": alarm["statistic"], "dimensions": alarm["dimensions"]}]
    return [q["metric"] for q in alarm["metricQueries"] if "metric" in q]


def has(graph: Graph, name: str) -> bool:
    return any(r.name == name for r in graph.resources)


@pytest.mark.parametrize("region", REGIONS)
def test_each_service_has_seed_001s_alarms_with_its_overrides(prod: Graph, region: str):
    overrides = namespace_of("prod")["monitoring"]["services"]
    for name, svc in services().items():
        alarms = service_alarms(prod, region, name)
        if svc.get("compute") == "lambda":
            assert set(alarms) == LAMBDA_ALARMS, name
        elif svc.get("mode") == "on-demand":  # no ECS service: no CPU/memory per service
            assert set(alarms) == {"5xx", "latency", "unhealthy"}, name
        else:
            assert set(alarms) == {"cpu", "memory", "5xx", "latency", "unhealthy"}, name
        timeout = svc.get("lambda", {}).get("timeoutSeconds", 30)
        expected = {**SEED_001, "errors": 0, "throttles": 0, "duration": timeout * 1000 * 0.9}
        if "responseTimeSeconds" in overrides.get(name, {}):
            expected["latency"] = overrides[name]["responseTimeSeconds"]
        for kind, alarm in alarms.items():
            assert alarm["threshold"] == expected[kind], (name, kind)
            assert alarm["comparisonOperator"] == "GreaterThanThreshold"
            assert alarm["name"] == f"devops-platform-prod-svc-{name}-{kind}"
            assert alarm["treatMissingData"] == "notBreaching"
    # Seed 001's windows: CPU and memory over 10 minutes, 5XX counted over 5.
    auth = service_alarms(prod, region, "auth")
    assert (auth["cpu"]["period"], auth["cpu"]["evaluationPeriods"], auth["cpu"]["statistic"]) == (300, 2, "Average")
    # auth deploys as a canary: its target-group alarms read both groups (test_progressive).
    for metric in metrics_of(auth["5xx"]):
        assert (metric["period"], auth["5xx"]["evaluationPeriods"], metric["stat"]) == (300, 1, "Sum")
    demo = service_alarms(prod, region, "fargate-demo")
    assert (demo["5xx"]["period"], demo["5xx"]["evaluationPeriods"], demo["5xx"]["statistic"]) == (300, 1, "Sum")
    assert service_alarms(prod, region, "pdf")["latency"]["threshold"] == 3  # prod's override


@pytest.mark.parametrize("region", REGIONS)
def test_service_alarms_watch_the_services_own_target_group_and_ecs_service(prod: Graph, region: str):
    cluster = prod.named(f"{region}-cluster").inputs["name"]
    alb = prod.named(f"{region}-traffic-alb").inputs["name"]
    for name in services():
        tg_names = [prod.named(f"{region}-{name}-{tg}").inputs["name"] for tg in ("tg", "tg-alt") if has(prod, f"{region}-{name}-{tg}")]
        for kind, alarm in service_alarms(prod, region, name).items():
            if kind in ("cpu", "memory"):
                assert alarm["dimensions"] == {"ClusterName": cluster, "ServiceName": name}
                continue
            if kind in ("errors", "throttles", "duration"):
                function = prod.named(f"{region}-{name}-function").inputs["name"]
                assert alarm["dimensions"] == {"FunctionName": function} == {"FunctionName": f"devops-platform-prod-{name}"}
                continue
            # The service's own group, and a progressive service's second group too.
            watched = [m["dimensions"] for m in metrics_of(alarm)]
            assert len(watched) == len(tg_names), (name, kind)
            for dims, tg_name in zip(watched, tg_names, strict=True):
                assert dims["TargetGroup"].startswith(f"targetgroup/{tg_name}/"), (name, kind)
                assert dims["LoadBalancer"].startswith(f"app/{alb}/"), (name, kind)


@pytest.mark.parametrize("region", REGIONS)
def test_failing_deployments_roll_back_on_the_5xx_and_unhealthy_alarms(prod: Graph, region: str):
    for name, svc in services().items():
        if svc.get("mode") == "on-demand" or svc.get("compute") == "lambda":  # Lambda: tests/test_lambda_compute.py
            continue
        ecs = prod.named(f"{region}-{name}-service").inputs
        assert ecs["alarms"] == {
            "alarmNames": [f"devops-platform-prod-svc-{name}-5xx", f"devops-platform-prod-svc-{name}-unhealthy"],
            "enable": True,
            "rollback": True,
        }
        # Staging copies run unapproved builds on Spot: no alarms, no alarm-driven rollback.
        assert "alarms" not in prod.named(f"{region}-{name}-staging-service").inputs


# --- the rest of the alarms -----------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_every_alarm_notifies_the_regions_topic_when_it_fires_and_clears(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    for region in REGIONS:
        topic = graph.named(f"{region}-notifications-topic").id
        alarms = alarms_in(graph, region)
        assert len(alarms) > 20
        for name, alarm in alarms.items():
            assert alarm["alarmActions"] == [topic], name
            assert alarm["okActions"] == [topic], name


@pytest.mark.parametrize("region", REGIONS)
def test_alb_functions_and_dead_letter_queues_are_alarmed(prod: Graph, region: str):
    alarms = alarms_in(prod, region)
    prefix = "devops-platform-prod"
    alb = alarms[f"{prefix}-alb-5xx"]
    assert (alb["metricName"], alb["threshold"]) == ("HTTPCode_ELB_5XX_Count", 10)
    functions = {r.inputs["name"]: r.inputs for r in prod.of_type("aws:lambda/function:Function") if r.region == region}
    keys = {"lambda-demo": "lambda-demo", "task-launcher": "task-launcher", "replicator": "repo-replicator"}
    for key, suffix in keys.items():
        function = functions.get(f"{prefix}-{suffix}")
        if function is None:
            assert region != "us-east-1" and key == "replicator"
            assert f"{prefix}-fn-{key}-errors" not in alarms
            continue
        for kind in ("errors", "throttles"):
            assert alarms[f"{prefix}-fn-{key}-{kind}"]["threshold"] == 0
            assert alarms[f"{prefix}-fn-{key}-{kind}"]["dimensions"] == {"FunctionName": function["name"]}
        if key == "replicator":
            # It stops 30 s before its timeout by design and resumes: a duration alarm would page
            # on every large push.
            assert f"{prefix}-fn-{key}-duration" not in alarms
            continue
        # Near the timeout: the longest run above functionDurationPercent (90) of it, in ms.
        duration = alarms[f"{prefix}-fn-{key}-duration"]
        assert (duration["statistic"], duration["threshold"]) == ("Maximum", function["timeout"] * 1000 * 0.9)
    queues = {r.id.rsplit("/", 1)[-1] for r in prod.of_type("aws:sqs/queue:Queue") if r.region == region}
    watched = {a["dimensions"]["QueueName"] for n, a in alarms.items() if n.startswith(f"{prefix}-dlq-")}
    # Every queue in the region is a dead-letter queue, and each is watched.
    assert watched == queues and queues


def test_replication_lag_is_alarmed_in_the_primary_against_the_rpo(prod: Graph):
    primary, secondary = alarms_in(prod, "us-east-1"), alarms_in(prod, "us-east-2")
    lag = primary["devops-platform-prod-replication-lag-us-east-2"]
    assert (lag["namespace"], lag["metricName"], lag["threshold"]) == ("DevOpsPlatform/Replication", "ReplicationLagSeconds", 60)
    # One-minute periods: a slow push is reported within about two minutes.
    assert (lag["statistic"], lag["period"], lag["evaluationPeriods"]) == ("Maximum", 60, 1)
    repo = prod.named("us-east-1-delivery-repository").inputs["repositoryName"]
    assert lag["dimensions"] == {"Repository": repo, "TargetRegion": "us-east-2"}
    # The replicator's own environment says the namespace the alarm reads.
    env = prod.named("us-east-1-replicator-function-function").inputs["environment"]["variables"]
    assert env["METRIC_NAMESPACE"] == lag["namespace"]
    assert not [n for n in secondary if "replication" in n]


def test_monitoring_off_means_no_alarms_and_no_dashboard(run_program):
    def edit(ns: dict[str, Any]) -> None:
        ns["monitoring"] = {"enabled": False}

    graph = run_program("dev", edit=edit)
    assert not graph.of_type(ALARM) and not graph.of_type(DASHBOARD)
    assert all("alarms" not in r.inputs for r in graph.of_type("aws:ecs/service:Service"))


# --- the topic -------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_the_topic_key_and_policy_admit_cloudwatch_alarms_and_eventbridge_of_this_account(prod: Graph, region: str):
    key = json.loads(prod.named(f"{region}-notifications-key").inputs["policy"])["Statement"]
    services_granted = {p for s in key if "Service" in s.get("Principal", {}) for p in s["Principal"]["Service"]}
    assert {"cloudwatch.amazonaws.com", "events.amazonaws.com"} <= services_granted
    grant = next(s for s in key if s.get("Sid") == "PublishingServices")
    assert sorted(grant["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    topic = json.loads(prod.named(f"{region}-notifications-topic-policy").inputs["policy"])["Statement"]
    by_sid = {s["Sid"]: s for s in topic}
    alarms = by_sid["AlarmsOfThisAccount"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT},
        "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:*"},
    }
    for s in topic:
        if s["Effect"] == "Allow":
            assert s["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}, s["Sid"]


# --- dashboards ----------------------------------------------------------------------------------


def _metrics(body: dict[str, Any]) -> list[list[Any]]:
    return [m for w in body["widgets"] if w["type"] == "metric" for m in w["properties"]["metrics"]]


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_dashboard_is_valid_json_naming_only_resources_that_exist(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    for region in REGIONS:
        (dashboard,) = [r for r in graph.of_type(DASHBOARD) if r.region == region]
        assert dashboard.inputs["dashboardName"] == f"devops-platform-{stack}-{region}"
        body = json.loads(dashboard.inputs["dashboardBody"])
        assert all(w["properties"].get("region", region) == region for w in body["widgets"])
        existing = _existing(graph, region)
        seen: dict[str, set[str]] = {}
        for metric in _metrics(body):
            namespace, name, *dims = metric
            if dims and isinstance(dims[-1], dict):  # a metric's own rendering options (stat, axis)
                dims = dims[:-1]
            assert namespace and name
            for key, value in zip(dims[::2], dims[1::2], strict=True):
                seen.setdefault(key, set()).add(value)
                assert value in existing[key], (key, value)
        # Every service, function, queue and build project is on it.
        expected = {"TargetGroup", "FunctionName", "QueueName", "ProjectName"}
        if existing["ServiceName"]:  # dev runs no ECS service: its services are on Lambda
            expected |= {"ClusterName", "ServiceName"}
        if existing["WebACL"]:  # prod's WAF: its blocked requests are on the dashboard
            expected |= {"WebACL"}
        assert expected <= set(seen)
        assert seen["TargetGroup"] == {v for v in existing["TargetGroup"] if "-stg-" not in v}
        # Staging copies run unapproved builds: not on the dashboard, on Fargate or on Lambda.
        assert seen["FunctionName"] == {f for f in existing["FunctionName"] if not f.endswith("-staging")}
        assert seen["QueueName"] == existing["QueueName"]
        # The alarm widget lists exactly the region's alarms.
        (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
        arns = {f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{n}" for n in alarms_in(graph, region) if "-dns-health-" not in n}
        assert set(alarm_widget["properties"]["alarms"]) == arns


def _existing(graph: Graph, region: str) -> dict[str, set[str]]:
    """Dimension values a metric of this region could carry, from the resources themselves."""

    def of(typ: str) -> list[Registration]:
        return [r for r in graph.of_type(typ) if r.region == region]

    alb = of("aws:lb/loadBalancer:LoadBalancer")[0].inputs["name"]
    repo = [r.inputs["repositoryName"] for r in of("aws:codecommit/repository:Repository")]
    return {
        "ClusterName": {r.inputs["name"] for r in of("aws:ecs/cluster:Cluster")},
        "ServiceName": {r.inputs["name"] for r in of("aws:ecs/service:Service")},
        "LoadBalancer": {v for v in _suffixes(graph, region, "aws:lb/loadBalancer:LoadBalancer") if alb in v},
        "TargetGroup": set(_suffixes(graph, region, "aws:lb/targetGroup:TargetGroup"))
        - {s for s in _suffixes(graph, region, "aws:lb/targetGroup:TargetGroup") if "lambda" in s},
        "FunctionName": {r.inputs["name"] for r in of("aws:lambda/function:Function")},
        "QueueName": {r.id.rsplit("/", 1)[-1] for r in of("aws:sqs/queue:Queue")},
        "ProjectName": {r.inputs["name"] for r in of("aws:codebuild/project:Project") if r.name.rsplit("-", 1)[-1] != "release"},
        "Repository": set(repo),
        "TargetRegion": {r for r in REGIONS if r != region},
        "WebACL": {r.inputs["name"] for r in of("aws:wafv2/webAcl:WebAcl")},
        "Region": {region},
        "Rule": {"ALL"},
    }


def _suffixes(graph: Graph, region: str, typ: str) -> list[str]:
    """ARN suffixes (``app/<name>/<id>``, ``targetgroup/<name>/<id>``) from the registered ids."""
    return [r.id.split(":", 5)[5].removeprefix("loadbalancer/") for r in graph.of_type(typ) if r.region == region]


# --- failover ----------------------------------------------------------------------------------------


def _domain_records(graph: Graph) -> list[Registration]:
    return [r for r in graph.of_type(RECORD) if r.name.endswith("-dns-record")]


def test_failover_has_one_primary_and_one_secondary_each_with_its_regions_health_check(prod: Graph):
    records = {r.region: r.inputs for r in _domain_records(prod)}
    assert sorted(records) == list(REGIONS)
    roles = {region: rec["failoverRoutingPolicies"][0]["type"] for region, rec in records.items()}
    assert roles == {"us-east-1": "PRIMARY", "us-east-2": "SECONDARY"}
    for region, rec in records.items():
        assert rec["name"] == "app.example.com" and rec["type"] == "A" and rec["setIdentifier"] == region
        check = prod.named(f"{region}-dns-health-check")
        assert rec["healthCheckId"] == check.id
        assert check.inputs["fqdn"] == f"{region}.app.example.com"
        assert (check.inputs["type"], check.inputs["port"], check.inputs["resourcePath"]) == ("HTTPS", 443, "/api/auth/health")
        assert (check.inputs["requestInterval"], check.inputs["failureThreshold"]) == (10, 3)
        (alias,) = rec["aliases"]
        alb = prod.named(f"{region}-traffic-alb")
        # The health check is the only signal: the ALB's target health would count staging and
        # idle on-demand target groups.
        assert alias["evaluateTargetHealth"] is False and alias["name"].startswith(alb.inputs["name"])
        assert alias["name"].endswith(f".{region}.elb.amazonaws.com")


def test_no_dns_no_failover(dev: Graph):
    assert not _domain_records(dev) and not dev.of_type(CHECK)


def test_latency_routing_instead_of_failover(run_program):
    def edit(ns: dict[str, Any]) -> None:
        ns["dns"] = {**ns["dns"], "routing": "latency", "healthCheckPath": "/fargate/health"}

    graph = run_program("prod", edit=edit)
    records = {r.region: r.inputs for r in _domain_records(graph)}
    assert sorted(records) == list(REGIONS)
    for region, rec in records.items():
        assert rec["latencyRoutingPolicies"] == [{"region": region}]
        assert "failoverRoutingPolicies" not in rec
    assert {c.inputs["resourcePath"] for c in graph.of_type(CHECK)} == {"/fargate/health"}


def test_routing_none_keeps_only_the_regional_names(run_program):
    def edit(ns: dict[str, Any]) -> None:
        ns["dns"] = {**ns["dns"], "routing": "none"}

    graph = run_program("prod", edit=edit)
    assert not _domain_records(graph) and not graph.of_type(CHECK)
    assert [r for r in graph.of_type(RECORD) if r.name.endswith("-regional-record")]


def test_health_checks_are_alarmed_in_us_east_1_where_route_53_reports_them(prod: Graph):
    alarms = alarms_in(prod, "us-east-1")
    for region in REGIONS:
        alarm = alarms[f"devops-platform-prod-dns-health-{region}"]
        assert alarm["namespace"] == "AWS/Route53" and alarm["metricName"] == "HealthCheckStatus"
        assert alarm["dimensions"] == {"HealthCheckId": prod.named(f"{region}-dns-health-check").id}
        assert (alarm["comparisonOperator"], alarm["threshold"], alarm["statistic"]) == ("LessThanThreshold", 1, "Minimum")
        # A check that stops reporting is as bad as a failing one.
        assert alarm["treatMissingData"] == "breaching"
    assert not [n for n in alarms_in(prod, "us-east-2") if "-dns-health-" in n]
