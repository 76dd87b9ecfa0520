"""Traffic and compute, under mocks, for both stacks: routes, isolation, scaling, ECR, the Lambda."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from ops.harness import Graph, Registration
from stack_config import routes
from tests.conftest import live_target, namespace_of, under

REGIONS = ("us-east-1", "us-east-2")
RULE = "aws:lb/listenerRule:ListenerRule"
TG = "aws:lb/targetGroup:TargetGroup"
LISTENER = "aws:lb/listener:Listener"
SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
STACKS = ("prod", "dev")


@pytest.fixture(scope="module")
def graphs(prod: Graph, dev: Graph) -> dict[str, Graph]:
    return {"prod": prod, "dev": dev}


def in_region(graph: Graph, region: str, type_: str) -> list[Registration]:
    """A region's production resources of a type; staging copies are tested in test_delivery,
    progressive deployments' second groups and test rules in test_progressive."""
    return [
        r for r in graph.of_type(type_)
        if r.region == region and "-staging" not in r.name and not r.name.endswith(("-tg-alt", "-test-rule"))
    ]  # fmt: skip


def route_names(stack: str) -> dict[str, list[str]]:
    ns = namespace_of(stack)
    return {r["name"]: r["paths"] for r in ns.get("services", []) + ns.get("functions", []) if r.get("paths")}


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("region", REGIONS)
def test_each_pattern_routes_to_its_own_target_group(graphs: dict[str, Graph], stack: str, region: str):
    graph = graphs[stack]
    tg_by_arn = {r.id: r for r in in_region(graph, region, TG)}
    seen: dict[str, list[str]] = {}
    for rule in in_region(graph, region, RULE):
        (action,) = rule.inputs["actions"]
        assert action["type"] == "forward"
        tg = tg_by_arn[live_target(action)]
        route = tg.name.removeprefix(f"{region}-").removesuffix("-tg")
        # The rule and its target group belong to the same route.
        assert rule.name == f"{region}-{route}-rule"
        (condition,) = rule.inputs["conditions"]
        seen[route] = condition["pathPattern"]["values"]
    assert seen == route_names(stack)
    assert len({live_target(r.inputs["actions"][0]) for r in in_region(graph, region, RULE)}) == len(seen)


@pytest.mark.parametrize("stack", STACKS)
def test_rules_attach_to_the_serving_listener_with_unique_priorities(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    for region in REGIONS:
        listeners = {r.name.rsplit("-", 1)[-1]: r for r in in_region(graph, region, LISTENER)}
        serving = listeners["https"] if stack == "prod" else listeners["http"]
        rules = in_region(graph, region, RULE)
        assert {r.inputs["listenerArn"] for r in rules} == {serving.id}
        priorities = [r.inputs["priority"] for r in rules]
        assert len(set(priorities)) == len(priorities)
        assert all(1 <= p <= 50_000 for p in priorities)


def test_more_specific_patterns_are_evaluated_first():
    broad = routes.auto_priority("api", ["/api/*"])
    specific = routes.auto_priority("auth", ["/api/auth/*"])
    assert specific < broad
    assert routes.auto_priority("x", ["/*"]) > broad


def _priorities(graph: Graph, region: str = "us-east-1") -> dict[str, int]:
    return {r.name: r.inputs["priority"] for r in in_region(graph, region, RULE)}


def test_priorities_stay_put_when_a_service_is_inserted_or_removed(run_program: Callable[..., Graph], prod: Graph):
    before = _priorities(prod)

    def insert(ns: dict) -> None:
        ns["services"].insert(1, {"name": "billing", "port": 8081, "paths": ["/api/billing/*"]})

    def remove(ns: dict) -> None:
        del ns["services"][2]
        ns["taskLauncher"]["schedules"] = []  # they start fa, which is gone

    inserted = _priorities(run_program("prod", edit=insert))
    assert "us-east-1-billing-rule" in inserted
    assert {k: v for k, v in inserted.items() if k != "us-east-1-billing-rule"} == before
    removed = _priorities(run_program("prod", edit=remove))
    assert removed == {k: v for k, v in before.items() if k != "us-east-1-fa-rule"}


def test_an_explicit_priority_is_used(run_program: Callable[..., Graph]):
    def edit(ns: dict) -> None:
        ns["services"][0]["priority"] = 7

    assert _priorities(run_program("prod", edit=edit))["us-east-1-auth-rule"] == 7


@pytest.mark.parametrize("stack", STACKS)
def test_service_security_groups_admit_only_the_alb(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    for region in REGIONS:
        alb_sg = graph.named(f"{region}-traffic-sg").id
        configured = namespace_of(stack)["services"]
        service_sgs = {
            graph.named(f"{region}-{s['name']}-sg").id: s["port"] for s in configured if s.get("compute", "fargate") == "fargate"
        }
        # A function is invoked through the Lambda API: its group admits nothing at all.
        function_sgs = {graph.named(f"{region}-{s['name']}-sg").id for s in configured if s.get("compute") == "lambda"}
        assert not {r.inputs["securityGroupId"] for r in in_region(graph, region, INGRESS)} & function_sgs
        for rule in in_region(graph, region, INGRESS):
            target = rule.inputs["securityGroupId"]
            if target in service_sgs:
                assert rule.inputs["referencedSecurityGroupId"] == alb_sg
                assert "cidrIpv4" not in rule.inputs
                assert rule.inputs["fromPort"] == rule.inputs["toPort"] == service_sgs[target]
        admitted = {r.inputs["securityGroupId"] for r in in_region(graph, region, INGRESS)}
        assert set(service_sgs) <= admitted
        # The ALB's own egress goes only to service groups, on their ports.
        alb_egress = [r for r in in_region(graph, region, EGRESS) if r.inputs["securityGroupId"] == alb_sg]
        assert {(r.inputs["referencedSecurityGroupId"], r.inputs["fromPort"]) for r in alb_egress} == set(
            service_sgs.items()
        )
        assert all("cidrIpv4" not in r.inputs for r in alb_egress)
        alb = graph.named(f"{region}-traffic-sg")
        assert "egress" not in alb.inputs and "ingress" not in alb.inputs


@pytest.mark.parametrize("stack", STACKS)
def test_no_task_gets_a_public_ip_and_tasks_run_in_private_subnets(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    for region in REGIONS:
        private = {
            r.id for r in in_region(graph, region, "aws:ec2/subnet:Subnet") if r.inputs["tags"]["tier"] == "private"
        }
        services = in_region(graph, region, SERVICE)
        # dev runs every mode service service on Lambda (tests/test_lambda_compute.py), prod on Fargate.
        assert bool(services) == (stack == "prod")
        for svc in services:
            net = svc.inputs["networkConfiguration"]
            assert net["assignPublicIp"] is False
            assert set(net["subnets"]) == private
            assert svc.inputs["launchType"] == "FARGATE"
            # Rolling deployments stop on the circuit breaker; progressive ones on their alarms
            # (test_progressive).
            if "deploymentConfiguration" not in svc.inputs:
                assert svc.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
            else:
                assert svc.inputs["alarms"]["rollback"] is True
            assert svc.inputs["healthCheckGracePeriodSeconds"] == 60


def test_on_demand_services_get_everything_but_the_ecs_service(prod: Graph):
    for region in REGIONS:
        names = {r.name for r in in_region(prod, region, SERVICE)}
        assert names == {f"{region}-{n}-service" for n in ("auth", "pdf", "users", "fargate-demo")}
        for engine in ("fa", "batch"):
            for role in ("task", "tg", "rule", "sg", "execution-role", "task-role", "logs"):
                prod.named(f"{region}-{engine}-{role}")
            with pytest.raises(KeyError):
                prod.named(f"{region}-{engine}-scaling-target")


def test_autoscaling_bounds_and_policies_come_from_config(prod: Graph, dev: Graph):
    target = prod.named("us-east-1-auth-scaling-target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 10)
    assert target["scalableDimension"] == "ecs:service:DesiredCount"
    assert target["resourceId"] == "service/devops-platform-prod/auth"
    policies = {
        r.name.rsplit("-", 1)[-1]: r.inputs["targetTrackingScalingPolicyConfiguration"]
        for r in prod.of_type("aws:appautoscaling/policy:Policy")
        if r.name.startswith("us-east-1-fargate-demo-")
    }
    assert {k: v["targetValue"] for k, v in policies.items()} == {"cpu": 60, "memory": 70, "requests": 1000}
    for p in policies.values():
        assert p["scaleInCooldown"] > p["scaleOutCooldown"]
    label = policies["requests"]["predefinedMetricSpecification"]["resourceLabel"]
    assert label.startswith("app/devops-platform-prod/") and "/targetgroup/fargate-demo-prod-" in label
    # A service on Lambda scales per request by itself: no scaling target, no policies.
    assert not [r for r in dev.resources if r.type.startswith("aws:appautoscaling/")]


def test_autoscaling_owns_the_count_and_the_image_follows_what_the_pipeline_published(
    prod: Graph, run_program: Callable[..., Graph]
):
    svc = prod.named("us-east-1-auth-service")
    # With auth's canary, ECS also owns which target group is live (test_progressive).
    assert svc.ignore_changes == ("desiredCount", "loadBalancers")
    assert prod.named("us-east-1-fargate-demo-service").ignore_changes == ("desiredCount",)
    assert svc.inputs["desiredCount"] == 2
    (container,) = json.loads(prod.named("us-east-1-auth-task").inputs["containerDefinitions"])
    assert container["image"] == "us-docker.pkg.dev/google-samples/containers/gke/hello-app:1.0"

    published = "123456789012.dkr.ecr.us-east-1.amazonaws.com/devops-platform-prod/auth:3f9c2ab"
    from ops import harness, stackfiles

    graph = harness.run_program(
        stack="prod",
        config=stackfiles.load("prod").config,
        ssm_parameters={"/devops-platform-prod/images/auth": published},
    )
    images = {
        r.name: json.loads(r.inputs["containerDefinitions"])[0]["image"] for r in graph.of_type(TASK)
    }
    # SSM is regional; the mocks answer the same in both regions.
    assert images["us-east-1-auth-task"] == published
    assert images["us-east-1-pdf-task"] == container["image"]


@pytest.mark.parametrize("stack", STACKS)
def test_task_definitions_log_to_their_group_with_a_read_only_root(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    for task in graph.of_type(TASK):
        region = task.region
        name = task.name.removeprefix(f"{region}-").removesuffix("-task")
        (container,) = json.loads(task.inputs["containerDefinitions"])
        assert container["readonlyRootFilesystem"] is True and container["privileged"] is False
        log = container["logConfiguration"]
        assert log["logDriver"] == "awslogs"
        assert log["options"]["awslogs-group"] == f"/ecs/devops-platform-{stack}/{name}"
        assert log["options"]["awslogs-region"] == region
        env = {e["name"]: e["value"] for e in container["environment"]}
        assert env["AWS_REGION"] == region and env["ENVIRONMENT"] == stack and env["PORT"] == str(
            container["portMappings"][0]["containerPort"]
        )
        assert [m["containerPath"] for m in container["mountPoints"]] == ["/tmp"]
        assert task.inputs["networkMode"] == "awsvpc" and task.inputs["requiresCompatibilities"] == ["FARGATE"]
        group = graph.named(f"{region}-{name}-logs").inputs
        assert group["name"] == log["options"]["awslogs-group"]
        assert group["retentionInDays"] == (365 if stack == "prod" else 30)


def test_a_stop_timeout_reaches_the_container_of_its_service_and_of_its_staging_copy(prod: Graph):
    configured = {s["name"]: s.get("stopTimeoutSeconds") for s in namespace_of("prod")["services"]}
    assert configured["pdf"] == 60  # prod shows the key
    for task in prod.of_type(TASK):
        service = task.name.removeprefix(f"{task.region}-").removesuffix("-task").removesuffix("-staging")
        (container,) = json.loads(task.inputs["containerDefinitions"])
        # Unset, the key is left out, and ECS applies its own 30 s.
        assert container.get("stopTimeout") == configured[service], task.name


def test_roles_are_separate_and_least_privilege(prod: Graph):
    execution = json.loads(prod.named("us-east-1-auth-execution-policy").inputs["policy"])["Statement"]
    by_sid = {s["Sid"]: s for s in execution}
    assert by_sid["PullServiceImage"]["Resource"] == "arn:aws:ecr:us-east-1:123456789012:repository/devops-platform-prod/auth"
    assert by_sid["WriteContainerLogs"]["Resource"].endswith(":log-group:/ecs/devops-platform-prod/auth:log-stream:*")
    assert all("*" not in a for s in execution for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]))
    # The task role has no policy unless the config grants one.
    with pytest.raises(KeyError):
        prod.named("us-east-1-auth-task-policy")
    assert prod.named("us-east-1-auth-task-role").inputs["assumeRolePolicy"] != ""


def test_secrets_and_grants_reach_exactly_the_named_resources(run_program: Callable[..., Graph]):
    param = "arn:aws:ssm:us-east-1:111122223333:parameter/auth/db-url"
    secret = "arn:aws:secretsmanager:us-east-1:111122223333:secret:auth/jwt-AbCdEf:key::"

    def edit(ns: dict) -> None:
        ns["services"][0]["secrets"] = {"DB_URL": param, "JWT_KEY": secret}
        ns["services"][0]["taskPolicy"] = [
            {"actions": ["s3:GetObject"], "resources": ["arn:aws:s3:::auth-assets/*"]}
        ]

    graph = run_program("prod", edit=edit)
    (container,) = json.loads(graph.named("us-east-1-auth-task").inputs["containerDefinitions"])
    assert container["secrets"] == [{"name": "DB_URL", "valueFrom": param}, {"name": "JWT_KEY", "valueFrom": secret}]
    assert {"DB_URL", "JWT_KEY"}.isdisjoint(e["name"] for e in container["environment"])
    by_sid = {s["Sid"]: s for s in json.loads(graph.named("us-east-1-auth-execution-policy").inputs["policy"])["Statement"]}
    assert by_sid["ReadParameters"]["Resource"] == [param]
    base = "arn:aws:secretsmanager:us-east-1:111122223333:secret:auth/jwt-AbCdEf"
    assert by_sid["ReadSecrets"]["Resource"] == [base, base + "-??????"]
    (grant,) = json.loads(graph.named("us-east-1-auth-task-policy").inputs["policy"])["Statement"]
    assert grant == {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::auth-assets/*"]}


@pytest.mark.parametrize("stack", STACKS)
def test_ecr_repositories_scan_on_push_are_immutable_encrypted_and_expire(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    services = [s["name"] for s in namespace_of(stack)["services"]]
    for region in REGIONS:
        repos = in_region(graph, region, "aws:ecr/repository:Repository")
        assert sorted(r.inputs["name"] for r in repos) == sorted(f"devops-platform-{stack}/{s}" for s in services)
        for repo in repos:
            assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
            assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
            assert repo.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
            assert repo.inputs["forceDelete"] is (stack == "dev")
        for lifecycle in in_region(graph, region, "aws:ecr/lifecyclePolicy:LifecyclePolicy"):
            rules = {r["selection"]["tagStatus"]: r for r in json.loads(lifecycle.inputs["policy"])["rules"]}
            assert rules["untagged"]["selection"]["countNumber"] == (7 if stack == "prod" else 1)
            assert rules["tagged"]["selection"]["countType"] == "imageCountMoreThan"
            assert rules["tagged"]["selection"]["countNumber"] == (30 if stack == "prod" else 10)


@pytest.mark.parametrize("stack", STACKS)
def test_the_lambda_permission_is_scoped_to_its_target_group(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    for region in REGIONS:
        tg = graph.named(f"{region}-lambda-demo-tg")
        assert tg.inputs["targetType"] == "lambda"
        permission = graph.named(f"{region}-lambda-demo-alb-permission")
        assert permission.inputs["principal"] == "elasticloadbalancing.amazonaws.com"
        assert permission.inputs["action"] == "lambda:InvokeFunction"
        assert permission.inputs["sourceArn"] == tg.id
        attachment = graph.named(f"{region}-lambda-demo-attachment")
        assert attachment.inputs["targetGroupArn"] == tg.id
        assert permission.urn in attachment.dependencies
        fn = graph.named(f"{region}-lambda-demo-function").inputs
        assert fn["runtime"] in ("python3.11", "python3.12", "python3.13")
        assert fn["loggingConfig"]["logFormat"] == "JSON"
        assert graph.named(f"{region}-lambda-demo-logs").inputs["retentionInDays"] == (365 if stack == "prod" else 30)


def test_prod_lambda_runs_in_the_vpc_with_warm_capacity_behind_its_alias(prod: Graph):
    fn = prod.named("us-east-1-lambda-demo-function").inputs
    assert fn["reservedConcurrentExecutions"] == 100 and fn["publish"] is True
    sg = prod.named("us-east-1-lambda-demo-sg").id
    assert fn["vpcConfig"]["securityGroupIds"] == [sg]
    ingress = prod.named("us-east-1-lambda-demo-ingress-from-alb").inputs
    assert ingress["referencedSecurityGroupId"] == prod.named("us-east-1-traffic-sg").id
    provisioned = prod.named("us-east-1-lambda-demo-provisioned").inputs
    assert (provisioned["qualifier"], provisioned["provisionedConcurrentExecutions"]) == ("live", 2)
    # The ALB invokes the alias, so the permission is for the alias too.
    assert prod.named("us-east-1-lambda-demo-alb-permission").inputs["qualifier"] == "live"
    assert prod.named("us-east-1-lambda-demo-attachment").inputs["targetId"].endswith(":live")


def test_dev_lambda_subscribes_to_its_own_encrypted_topic(dev: Graph):
    topic = dev.named("us-east-1-lambda-demo-topic")
    assert topic.inputs["kmsMasterKeyId"] == "alias/aws/sns"
    permission = dev.named("us-east-1-lambda-demo-sns-permission").inputs
    assert permission["principal"] == "sns.amazonaws.com" and permission["sourceArn"] == topic.id
    subscription = dev.named("us-east-1-lambda-demo-subscription")
    assert subscription.inputs["topic"] == topic.id and subscription.inputs["protocol"] == "lambda"
    assert dev.named("us-east-1-lambda-demo-sns-permission").urn in subscription.dependencies


def test_prod_serves_https_with_tls13_and_redirects_http(prod: Graph):
    assert not any("plain HTTP" in w for w in prod.warnings)
    for region in REGIONS:
        https = prod.named(f"{region}-traffic-https").inputs
        assert (https["port"], https["protocol"]) == (443, "HTTPS")
        assert https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
        validation = prod.named(f"{region}-traffic-certificate-validation")
        assert https["certificateArn"] == validation.id
        (default,) = https["defaultActions"]
        assert default["type"] == "fixed-response"
        assert default["fixedResponse"]["statusCode"] == "404"
        assert json.loads(default["fixedResponse"]["messageBody"])["status"] == 404
        (redirect,) = prod.named(f"{region}-traffic-http").inputs["defaultActions"]
        assert redirect["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}
        cert = prod.named(f"{region}-traffic-certificate").inputs
        assert cert["validationMethod"] == "DNS"
        assert (cert["domainName"], cert["subjectAlternativeNames"]) == ("app.example.com", [f"{region}.app.example.com"])
        records = [prod.named(f"{region}-traffic-certificate-record-2").inputs, prod.named("certificate-validation-app-example-com").inputs]
        assert {r["zoneId"] for r in records} == {"Z0123456789EXAMPLE"}
        ports = {r.inputs["fromPort"] for r in in_region(prod, region, INGRESS) if r.name.startswith(f"{region}-traffic-")}
        # 8443: the staging listener (test_delivery); 9443: the test listener (test_progressive).
        assert ports == {80, 443, 8443, 9443}


RECORD = "aws:route53/record:Record"


def test_each_validation_record_has_one_owner_and_every_region_waits_for_its_names(prod: Graph):
    """ACM asks for the same CNAME for the domain in both regions: one record, owned by the stack;
    each region's own name keeps its own record."""
    validation_records = [r for r in prod.of_type(RECORD) if r.inputs["type"] == "CNAME" and r.inputs["name"].startswith("_")]
    names = [r.inputs["name"] for r in validation_records]
    assert len(names) == len(set(names)) == 3  # the domain's, and each region's own name's
    shared = prod.named("certificate-validation-app-example-com")
    assert shared.parent == prod.named("certificate-validation").urn  # the stack's, under no region
    for region in REGIONS:
        options = prod.named(f"{region}-traffic-certificate")
        own = prod.named(f"{region}-traffic-certificate-record-2").inputs["name"]
        fqdns = prod.named(f"{region}-traffic-certificate-validation").inputs["validationRecordFqdns"]
        assert sorted(fqdns) == sorted([shared.inputs["name"].rstrip("."), own.rstrip(".")]), options.name
        with pytest.raises(KeyError):
            prod.named(f"{region}-traffic-certificate-record-1")


def test_removing_a_region_leaves_the_shared_validation_record_in_place(prod: Graph, run_program: Callable[..., Graph]):
    def only_the_primary(ns: dict) -> None:
        ns["regions"] = ns["regions"][:1]
        ns["dns"]["routing"] = "none"  # failover needs two regions

    alone = run_program("prod", edit=only_the_primary)
    for name in ("certificate-validation-app-example-com", "us-east-1-traffic-certificate-record-2"):
        before, after = prod.named(name), alone.named(name)
        assert (after.urn, after.inputs, after.provider) == (before.urn, before.inputs, before.provider), name
    assert not [r for r in alone.of_type(RECORD) if r.region == "us-east-2"]


def test_dev_serves_plain_http_and_the_synth_warns(dev: Graph):
    assert any("plain HTTP" in w for w in dev.warnings)
    for region in REGIONS:
        listeners = in_region(dev, region, LISTENER)
        assert [(r.inputs["port"], r.inputs["protocol"]) for r in listeners] == [(80, "HTTP")]
        assert listeners[0].inputs["defaultActions"][0]["type"] == "fixed-response"


def test_certificate_arns_are_used_as_given(run_program: Callable[..., Graph]):
    arns = {r: f"arn:aws:acm:{r}:111122223333:certificate/0f0f0f0f-1111-2222-3333-444455556666" for r in REGIONS}

    def edit(ns: dict) -> None:
        ns.pop("dns")
        ns["loadBalancer"]["certificateArns"] = arns
        # A smoke test needs a name on the certificate (dns): refused without it (test_config).
        for svc in ns["services"]:
            svc.get("deployment", {}).pop("smokeTest", None)

    graph = run_program("prod", edit=edit)
    assert graph.of_type("aws:acm/certificate:Certificate") == []
    for region in REGIONS:
        assert graph.named(f"{region}-traffic-https").inputs["certificateArn"] == arns[region]


@pytest.mark.parametrize("stack", STACKS)
def test_the_alb_is_hardened_and_logs_to_a_locked_down_bucket(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    for region in REGIONS:
        alb = graph.named(f"{region}-traffic-alb")
        inputs = alb.inputs
        assert inputs["name"] == f"devops-platform-{stack}" and len(inputs["name"]) <= 32
        assert inputs["dropInvalidHeaderFields"] is True
        assert inputs["desyncMitigationMode"] == "defensive"
        assert inputs["enableDeletionProtection"] is (stack == "prod")
        assert inputs["internal"] is False
        public = {r.id for r in in_region(graph, region, "aws:ec2/subnet:Subnet") if r.inputs["tags"]["tier"] == "public"}
        assert set(inputs["subnets"]) == public
        bucket = graph.named(f"{region}-traffic-access-logs")
        assert inputs["accessLogs"] == {"bucket": bucket.id, "enabled": True}
        policy = graph.named(f"{region}-traffic-access-logs-policy")
        assert policy.urn in alb.dependencies
        statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
        deny = statements["DenyInsecureTransport"]
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        put = statements["AlbAccessLogDelivery"]
        assert put["Action"] == "s3:PutObject"
        assert put["Resource"] == f"arn:aws:s3:::{bucket.id}/AWSLogs/123456789012/*"
        assert put["Principal"]["AWS"].startswith("arn:aws:iam::")
        block = graph.named(f"{region}-traffic-access-logs-public-access-block").inputs
        assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
        sse = graph.named(f"{region}-traffic-access-logs-encryption").inputs["rules"][0]
        assert sse["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
        (rule,) = graph.named(f"{region}-traffic-access-logs-lifecycle").inputs["rules"]
        assert rule["expiration"]["days"] == (90 if stack == "prod" else 14)


def test_target_group_names_fit_and_change_only_when_aws_would_replace(prod: Graph, run_program: Callable[..., Graph]):
    names = {r.name: r.inputs["name"] for r in prod.of_type(TG)}
    assert all(len(n) <= 32 for n in names.values())
    assert len(set(names.values())) == len(names)

    def edit(ns: dict) -> None:
        ns["services"][0]["port"] = 8443  # a port change replaces the group in AWS
        ns["services"][1]["healthCheck"] = {"path": "/ready"}  # updated in place

    changed = {r.name: r.inputs["name"] for r in run_program("prod", edit=edit).of_type(TG)}
    assert changed["us-east-1-auth-tg"] != names["us-east-1-auth-tg"]
    assert changed["us-east-1-pdf-tg"] == names["us-east-1-pdf-tg"]


def test_route_table_is_exported_per_region_in_evaluation_order(prod: Graph):
    table = prod.outputs["regions"]["us-east-1"]["routes"]
    assert [r["priority"] for r in table] == sorted(r["priority"] for r in table)
    assert {p: r["target"] for r in table for p in r["paths"]}["/api/pdf/*"] == "service pdf:9080"
    assert {p: r["target"] for r in table for p in r["paths"]}["/lambda/*"] == "function lambda-demo"


def test_everything_in_a_region_sits_under_its_component(prod: Graph):
    # The stack's global records (Route 53, under the pinned aws-global provider) belong to no region.
    stack_wide = {r.urn for r in under(prod, "certificate-validation")}
    assert stack_wide and all(prod.by_urn()[u].provider.split("::")[-2] == "aws-global" for u in stack_wide)
    for region in REGIONS:
        inside = {r.urn for r in under(prod, region)}
        for r in prod.custom():
            if r.region == region and not r.type.startswith("pulumi:providers:") and r.urn not in stack_wide:
                assert r.urn in inside, r.name
