"""Progressive delivery under mocks: the ECS strategies, the second target group, the listener rules
ECS owns after creation, its role, the smoke-test hook, alarms on both groups, and the pipeline's
gates."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ops.harness import Graph, Registration
from tests.conftest import namespace_of

REGIONS = ("us-east-1", "us-east-2")
PROGRESSIVE = {"auth": "CANARY", "users": "LINEAR", "pdf": "BLUE_GREEN"}
ROLLING = ("fargate-demo",)
SERVICE_ALARMS_ON_GROUPS = ("5xx", "latency", "unhealthy")


def config(name: str) -> dict[str, Any]:
    return next(s for s in namespace_of("prod")["services"] if s["name"] == name)


def policy(graph: Graph, name: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(graph.named(name).inputs["policy"])["Statement"]}


def by_id(graph: Graph, type_suffix: str) -> dict[str, Registration]:
    return {r.id: r for r in graph.resources if r.type.endswith(type_suffix) and r.id}


def suffix(graph: Graph, target_group: str) -> str:
    """A target group's ARN suffix, the metrics' TargetGroup dimension (its id is its ARN)."""
    return graph.named(target_group).id.split(":")[-1]  # type: ignore[union-attr]


def test_prod_shows_canary_linear_and_blue_green_and_dev_stays_rolling(prod: Graph, dev: Graph):
    for region in REGIONS:
        for service, strategy in PROGRESSIVE.items():
            assert prod.named(f"{region}-{service}-service").inputs["deploymentConfiguration"]["strategy"] == strategy
    for svc in dev.of_type("aws:ecs/service:Service"):
        assert "deploymentConfiguration" not in svc.inputs, svc.name
        assert svc.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    ecs_traffic = ("-test", "-tg-alt", "-deploy-role", "-smoke-test")
    # (The pipeline's Lambda deploy project, {region}-delivery-lambda-deploy-role, is another thing.)
    assert not [r.name for r in dev.resources if r.name.endswith(ecs_traffic) and "-delivery-" not in r.name]


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("service", sorted(PROGRESSIVE))
def test_the_service_names_the_right_rules_groups_and_role(prod: Graph, region: str, service: str):
    prefix = f"{region}-{service}"
    svc = prod.named(f"{prefix}-service")
    (lb,) = svc.inputs["loadBalancers"]
    advanced = lb["advancedConfiguration"]
    groups = by_id(prod, "targetGroup:TargetGroup")
    rules = by_id(prod, "listenerRule:ListenerRule")
    listeners = by_id(prod, "listener:Listener")
    assert groups[lb["targetGroupArn"]].name == f"{prefix}-tg"
    assert groups[advanced["alternateTargetGroupArn"]].name == f"{prefix}-tg-alt"
    production, test = rules[advanced["productionListenerRule"]], rules[advanced["testListenerRule"]]
    assert production.name == f"{prefix}-rule" and test.name == f"{prefix}-test-rule"
    # The production rule hangs on the serving (HTTPS) listener, the test rule on the test listener.
    assert listeners[production.inputs["listenerArn"]].name == f"{region}-traffic-https"
    assert listeners[test.inputs["listenerArn"]].name == f"{region}-traffic-test"
    assert production.inputs["conditions"] == test.inputs["conditions"]
    assert production.inputs["priority"] == test.inputs["priority"]
    assert advanced["roleArn"] == prod.named(f"{prefix}-deploy-role").inputs.get("arn", advanced["roleArn"])
    # Both rules exist, and ECS may use the role, before the service is created.
    for need in (production, test, prod.named(f"{prefix}-deploy-policy")):
        assert need.urn in svc.dependencies


@pytest.mark.parametrize("service", sorted(PROGRESSIVE))
def test_ecs_owns_the_weights_and_the_live_group_so_pulumi_up_never_resets_them(prod: Graph, service: str):
    for region in REGIONS:
        prefix = f"{region}-{service}"
        live, alternate = prod.named(f"{prefix}-tg").id, prod.named(f"{prefix}-tg-alt").id
        for rule in (prod.named(f"{prefix}-rule"), prod.named(f"{prefix}-test-rule")):
            (action,) = rule.inputs["actions"]
            assert action["forward"]["targetGroups"] == [{"arn": live, "weight": 100}, {"arn": alternate, "weight": 0}]
            # The whole actions list, not a nested path (pulumi-aws#5771: nested weight paths did not hold).
            assert rule.options()["ignoreChanges"] == ["actions"]
        assert prod.named(f"{prefix}-service").options()["ignoreChanges"] == ["desiredCount", "loadBalancers"]
    for service_name in ROLLING:
        rule = prod.named(f"us-east-1-{service_name}-rule")
        assert "ignoreChanges" not in rule.options() and rule.inputs["actions"][0]["targetGroupArn"]


def test_strategies_carry_their_ecs_settings(prod: Graph):
    settings = {name: config(name)["deployment"] for name in PROGRESSIVE}
    auth = prod.named("us-east-1-auth-service").inputs["deploymentConfiguration"]
    assert auth["canaryConfiguration"] == {
        "canaryPercent": settings["auth"]["canaryPercent"],
        "canaryBakeTimeInMinutes": str(settings["auth"]["canaryBakeMinutes"]),
    }
    assert auth["bakeTimeInMinutes"] == str(settings["auth"]["bakeMinutes"]) and "linearConfiguration" not in auth
    users = prod.named("us-east-1-users-service").inputs["deploymentConfiguration"]
    assert users["linearConfiguration"] == {
        "stepPercent": settings["users"]["stepPercent"],
        "stepBakeTimeInMinutes": str(settings["users"]["stepBakeMinutes"]),
    }
    pdf = prod.named("us-east-1-pdf-service").inputs["deploymentConfiguration"]
    assert pdf["strategy"] == "BLUE_GREEN" and set(pdf) == {"strategy", "bakeTimeInMinutes", "lifecycleHooks"}


def test_failure_detection_is_the_alarms_for_progressive_services_and_the_breaker_for_rolling(prod: Graph):
    for region in REGIONS:
        for service in PROGRESSIVE:
            svc = prod.named(f"{region}-{service}-service").inputs
            assert "deploymentCircuitBreaker" not in svc  # ECS's API documents it for rolling only
            assert svc["alarms"]["enable"] is True and svc["alarms"]["rollback"] is True
            assert sorted(svc["alarms"]["alarmNames"]) == sorted(
                f"devops-platform-prod-svc-{service}-{kind}" for kind in ("5xx", "unhealthy")
            )
        rolling = prod.named(f"{region}-fargate-demo-service").inputs
        assert rolling["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}


@pytest.mark.parametrize("region", REGIONS)
def test_the_smoke_test_hook_requests_the_service_on_the_test_listener(prod: Graph, region: str):
    function_arn = prod.named(f"{region}-smoke-test-function").inputs.get("arn")
    for service in PROGRESSIVE:
        smoke = config(service)["deployment"]["smokeTest"]
        (hook,) = prod.named(f"{region}-{service}-service").inputs["deploymentConfiguration"]["lifecycleHooks"]
        assert hook["lifecycleStages"] == ["POST_TEST_TRAFFIC_SHIFT"]
        assert hook["hookTargetArn"] == (function_arn or hook["hookTargetArn"]).replace("[unknown]", hook["hookTargetArn"])
        assert hook["hookTargetArn"].endswith(":function:devops-platform-prod-smoke-test")
        assert hook["roleArn"].split("/")[-1].startswith(f"{region}-{service}-deploy-role")
        details = json.loads(hook["hookDetails"])
        assert details == {
            "service": service,
            # A name on the certificate, on the test port: TLS is verified against it.
            "url": f"https://{region}.app.example.com:9443{smoke['path']}",
            "expectedStatus": smoke.get("expectedStatus", [200]),
            "timeoutSeconds": 5,
            "waitSeconds": smoke.get("waitSeconds", 300),
        }


@pytest.mark.parametrize("region", REGIONS)
def test_the_deploy_role_reaches_only_its_own_rules_groups_and_the_smoke_test(prod: Graph, region: str):
    for service in PROGRESSIVE:
        prefix = f"{region}-{service}"
        trust = json.loads(prod.named(f"{prefix}-deploy-role").inputs["assumeRolePolicy"])["Statement"]
        assert [s["Principal"] for s in trust] == [{"Service": "ecs.amazonaws.com"}]
        statements = policy(prod, f"{prefix}-deploy-policy")
        rules = {prod.named(f"{prefix}-rule").id, prod.named(f"{prefix}-test-rule").id}
        groups = {prod.named(f"{prefix}-tg").id, prod.named(f"{prefix}-tg-alt").id}
        assert statements["ShiftTrafficOnTheServiceRules"]["Action"] == "elasticloadbalancing:ModifyRule"
        assert set(statements["ShiftTrafficOnTheServiceRules"]["Resource"]) == rules
        assert set(statements["MoveTasksBetweenTheServiceGroups"]["Resource"]) == groups
        assert statements["RunTheSmokeTest"] == {
            "Sid": "RunTheSmokeTest",
            "Effect": "Allow",
            "Action": "lambda:InvokeFunction",
            "Resource": f"arn:aws:lambda:{region}:123456789012:function:devops-platform-prod-smoke-test",
        }
        # The only "*": ELB's Describe actions, which have no resource-level permissions.
        star = [sid for sid, s in statements.items() if s["Resource"] == "*"]
        assert star == ["ReadLoadBalancing"]
        assert all(a.startswith("elasticloadbalancing:Describe") for a in statements["ReadLoadBalancing"]["Action"])


@pytest.mark.parametrize("region", REGIONS)
def test_the_test_listener_admits_only_the_nat_gateways(prod: Graph, region: str):
    listener = prod.named(f"{region}-traffic-test").inputs
    assert listener["port"] == 9443 and listener["protocol"] == "HTTPS"
    assert listener["sslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    assert listener["defaultActions"][0]["fixedResponse"]["statusCode"] == "404"
    ingress = [
        r for r in prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
        if r.region == region and r.inputs.get("fromPort") == 9443
    ]  # fmt: skip
    nat_ips = set(prod.outputs["regions"][region]["nat_public_ips"])
    assert len(nat_ips) == 2
    assert {r.inputs["cidrIpv4"] for r in ingress} == {f"{ip}/32" for ip in nat_ips}
    assert {r.name for r in ingress} == {f"{region}-traffic-test-ingress-az1", f"{region}-traffic-test-ingress-az2"}


@pytest.mark.parametrize("region", REGIONS)
def test_the_smoke_test_function_sits_in_the_private_subnets_and_reaches_only_the_test_port(prod: Graph, region: str):
    function = prod.named(f"{region}-smoke-test-function").inputs
    private = {prod.named(f"{region}-network-private-az{n}").id for n in (1, 2)}
    assert set(function["vpcConfig"]["subnetIds"]) == private
    (sg_id,) = function["vpcConfig"]["securityGroupIds"]
    rules = [
        r for r in prod.resources
        if r.type.startswith("aws:vpc/securityGroup") and r.inputs.get("securityGroupId") == sg_id
    ]  # fmt: skip
    assert [(r.type.rsplit(":", 1)[-1], r.inputs["fromPort"], r.inputs["toPort"]) for r in rules] == [
        ("SecurityGroupEgressRule", 9443, 9443)
    ]
    statements = policy(prod, f"{region}-smoke-test-policy")
    assert set(statements) == {"WriteLogs", "VpcNetworkInterfaces"}  # it calls no AWS API


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize("service", sorted(PROGRESSIVE))
def test_alarms_on_target_groups_cover_both_groups(prod: Graph, region: str, service: str):
    live, alternate = suffix(prod, f"{region}-{service}-tg"), suffix(prod, f"{region}-{service}-tg-alt")
    combine = {"5xx": "FILL(m1, 0) + FILL(m2, 0)", "latency": "MAX([FILL(m1, 0), FILL(m2, 0)])",
               "unhealthy": "MAX([FILL(m1, 0), FILL(m2, 0)])"}  # fmt: skip
    for kind in SERVICE_ALARMS_ON_GROUPS:
        alarm = prod.named(f"{region}-{service}-alarm-{kind}").inputs
        assert "metricName" not in alarm and "dimensions" not in alarm
        queries = {q["id"]: q for q in alarm["metricQueries"]}
        assert [q["metric"]["dimensions"]["TargetGroup"] for k, q in sorted(queries.items()) if k != "combined"] == [
            live,
            alternate,
        ]
        assert queries["combined"]["expression"] == combine[kind] and queries["combined"]["returnData"] is True
        assert not any(q.get("returnData") for k, q in queries.items() if k != "combined")
    # CPU and memory are the ECS service's, whichever group is live.
    assert prod.named(f"{region}-{service}-alarm-cpu").inputs["namespace"] == "AWS/ECS"


def test_rolling_services_keep_single_metric_alarms(prod: Graph):
    alarm = prod.named("us-east-1-fargate-demo-alarm-5xx").inputs
    assert alarm["metricName"] == "HTTPCode_Target_5XX_Count" and "metricQueries" not in alarm


def test_the_dashboard_plots_both_groups_of_a_progressive_service(prod: Graph):
    body = json.loads(prod.named("us-east-1-monitoring-dashboard").inputs["dashboardBody"])
    widgets = {w["properties"]["title"]: w for w in body["widgets"] if w["type"] == "metric"}
    suffixes = [suffix(prod, f"us-east-1-auth-{tg}") for tg in ("tg", "tg-alt")]
    for title in ("auth: requests", "auth: target 5XX", "auth: latency (s)"):
        assert [m[3] for m in widgets[title]["properties"]["metrics"]] == suffixes
    assert len(widgets["fargate-demo: requests"]["properties"]["metrics"]) == 1


def test_staging_copies_deploy_rolling_without_ecs_owned_rules(prod: Graph):
    for region in REGIONS:
        for service in PROGRESSIVE:
            copy = prod.named(f"{region}-{service}-staging-service")
            assert "deploymentConfiguration" not in copy.inputs
            assert "advancedConfiguration" not in copy.inputs["loadBalancers"][0]
            assert "ignoreChanges" not in prod.named(f"{region}-{service}-staging-rule").options()
            assert not [r for r in prod.resources if r.name.startswith(f"{region}-{service}-staging-deploy")]


def pipeline_stage(graph: Graph, region: str, name: str) -> dict[str, Any]:
    stages = graph.named(f"{region}-delivery-pipeline").inputs["stages"]
    return next(s for s in stages if s["name"] == name)


@pytest.mark.parametrize("region", REGIONS)
def test_production_waits_for_the_window_and_for_no_production_alarm_and_rolls_back_on_failure(prod: Graph, region: str):
    stage = pipeline_stage(prod, region, "DeployProduction")
    condition = stage["beforeEntry"]["condition"]
    assert condition["result"] == "FAIL"
    rules = {r["name"]: r for r in condition["rules"]}
    window = namespace_of("prod")["pipeline"]["productionWindow"]
    assert rules["ProductionWindow"]["ruleTypeId"] == {"category": "Rule", "owner": "AWS", "provider": "DeploymentWindow", "version": "1"}
    assert rules["ProductionWindow"]["configuration"] == {"Cron": window["cron"], "TimeZone": window["timeZone"]}
    gate = rules["NoProductionAlarm"]
    assert gate["ruleTypeId"]["provider"] == "CloudWatchAlarm"
    assert gate["configuration"] == {"AlarmName": "devops-platform-prod-production-health", "AlarmStates": "ALARM"}
    assert stage["onFailure"] == {"result": "ROLLBACK"}
    # Only production is gated.
    assert "beforeEntry" not in pipeline_stage(prod, region, "DeployStaging")
    assert "onFailure" not in pipeline_stage(prod, region, "DeployStaging")


@pytest.mark.parametrize("region", REGIONS)
def test_the_gate_alarm_covers_every_production_service_alarm_and_the_pipeline_may_read_only_it(prod: Graph, region: str):
    composite = prod.named(f"{region}-monitoring-production-health").inputs
    assert composite["alarmName"] == "devops-platform-prod-production-health"
    assert composite["actionsEnabled"] is False
    service_alarms = sorted(
        r.inputs["name"] for r in prod.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
        if r.region == region and r.inputs["name"].startswith("devops-platform-prod-svc-")
    )  # fmt: skip
    assert len(service_alarms) == 31  # 4 services x 5 + 2 on-demand x 3 + go-demo on Lambda x 5
    terms = composite["alarmRule"].split(" OR ")
    # go-demo on Lambda answers 503 until its first image: not gated on until then
    # (tests/test_lambda_compute.py).
    assert sorted(terms) == [f'ALARM("{n}")' for n in service_alarms if "-go-demo-" not in n]
    statement = policy(prod, f"{region}-delivery-pipeline-policy")["ReadProductionGateAlarm"]
    assert statement["Action"] == "cloudwatch:DescribeAlarms"
    assert statement["Resource"] == f"arn:aws:cloudwatch:{region}:123456789012:alarm:devops-platform-prod-production-health"


def test_without_monitoring_or_a_window_production_has_no_entry_condition(run_program):
    def edit(ns: dict[str, Any]) -> None:
        ns["monitoring"] = {"enabled": False}
        del ns["pipeline"]["productionWindow"]

    graph = run_program("prod", edit=edit)
    stage = pipeline_stage(graph, "us-east-1", "DeployProduction")
    assert "beforeEntry" not in stage and stage["onFailure"] == {"result": "ROLLBACK"}
    assert "ReadProductionGateAlarm" not in policy(graph, "us-east-1-delivery-pipeline-policy")
