"""Services on Lambda (``compute: lambda``), under mocks: the function before and after the first
image, its route and the order ELB needs, its IAM scopes and alarms, its staging copy, its CodeDeploy
release through the pipeline, a flip between the computes, and the config that is refused."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from ops.graphcheck import alias_urn
from ops.harness import Graph, Registration
from ops.synth import PUBLISHED_COMMIT
from stack_config import validate
from tests.conftest import PROJECT, assert_refused, forward_targets, namespace_of, under
from tests.test_config import _DROP, Edit, deployment, service

REGIONS = ("us-east-1", "us-east-2")
ACCOUNT = "123456789012"
FUNCTION = "aws:lambda/function:Function"
RULE = "aws:lb/listenerRule:ListenerRule"


def on_lambda(stack: str) -> list[dict[str, Any]]:
    return [s for s in namespace_of(stack)["services"] if s.get("compute") == "lambda"]


def statements(graph: Graph, name: str) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in json.loads(graph.named(name).inputs["policy"])["Statement"]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_dev_runs_every_service_on_lambda_but_the_on_demand_engines_and_prod_runs_go_demo_there():
    dev = namespace_of("dev")["services"]
    assert {s["name"] for s in dev if s.get("compute") == "lambda"} == {
        s["name"] for s in dev if s.get("mode", "service") == "service"
    }
    assert [s["name"] for s in on_lambda("prod")] == ["go-demo"]


# --- the function, before and after the first image -------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_before_the_first_release_the_function_is_the_503_stub(dev: Graph, region: str):
    for svc in on_lambda("dev"):
        name = svc["name"]
        fn = dev.named(f"{region}-{name}-function").inputs
        assert fn["packageType"] == "Zip" and fn.get("imageUri") is None
        assert (fn["handler"], fn["runtime"]) == ("handler.handler", "python3.13")
        assert "archive" in fn["code"]
        # The stub names the service and the parameter the pipeline records its image in.
        assert fn["environment"]["variables"] == {"SERVICE_NAME": name, "IMAGE_PARAMETER": f"/devops-platform-dev/images/{name}"}
        assert dev.outputs["regions"][region]["services"][name]["image_pending"] is True
        assert dev.outputs["regions"][region]["services"][name]["compute"] == "lambda"


@pytest.mark.parametrize("region", REGIONS)
def test_once_published_the_function_runs_the_services_own_image_from_its_regions_repository(dev_published: Graph, region: str):
    graph = dev_published
    private = {r.id for r in graph.of_type("aws:ec2/subnet:Subnet") if r.region == region and r.inputs["tags"]["tier"] == "private"}
    for svc in on_lambda("dev"):
        name = svc["name"]
        fn = graph.named(f"{region}-{name}-function").inputs
        repository = graph.named(f"{region}-{name}-registry-repository")
        assert fn["packageType"] == "Image"
        image, tag = fn["imageUri"].rsplit(":", 1)
        assert image == f"{ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{repository.inputs['name']}" and len(tag) == 40
        assert not {"handler", "runtime", "code"} & {k for k, v in fn.items() if v is not None}
        # Its variables: the platform's (no AWS_REGION: Lambda sets it) and the adapter's readiness path.
        assert fn["environment"]["variables"] == {
            "ENVIRONMENT": "dev", "PORT": str(svc["port"]), "AWS_LWA_READINESS_CHECK_PATH": "/health"
        }  # fmt: skip
        assert fn["architectures"] == ["X86_64"]
        assert fn["memorySize"] == svc.get("lambda", {}).get("memoryMb", 512)
        assert fn["timeout"] == 30 and fn["publish"] is True
        assert set(fn["vpcConfig"]["subnetIds"]) == private
        assert fn["vpcConfig"]["securityGroupIds"] == [graph.named(f"{region}-{name}-sg").id]
        assert graph.outputs["regions"][region]["services"][name]["image_pending"] is False


def test_the_stub_and_the_image_are_one_function_replaced_with_its_dependents(dev: Graph, dev_published: Graph):
    for graph in (dev, dev_published):
        fn = graph.named("us-east-1-auth-function")
        # Lambda cannot change a function's package type, and its name is fixed: replaced, old one first.
        assert fn.delete_before_replace is True
        registry = graph.named("us-east-1-auth-registry-lambda-pull").urn
        assert {registry, graph.named("us-east-1-auth-policy").urn} <= set(fn.depends_on)
        for dependent in ("alias", "alb-permission", "attachment"):
            assert graph.named(f"us-east-1-auth-{dependent}").replace_with == (fn.urn,), dependent
    # The same logical resources either way: the image takes the stub's place.
    assert {r.urn for r in dev.resources} == {r.urn for r in dev_published.resources}


def test_pulumi_up_leaves_codedeploys_alias_weights_alone_but_renders_the_published_image(prod_published: Graph):
    alias = prod_published.named("us-east-1-go-demo-alias")
    # CodeDeploy sets routingConfig while it shifts; the version follows the function pulumi renders,
    # which runs the image the pipeline recorded (so `pulumi up` never brings an older one back).
    assert alias.ignore_changes == ("routingConfig",)
    assert alias.inputs["name"] == "live"
    # Its version is the function's own output: the version pulumi last published, of the image the
    # function renders, which is the recorded one.
    function = prod_published.named("us-east-1-go-demo-function")
    assert alias.property_dependencies["functionVersion"] == (function.urn,)
    assert function.inputs["imageUri"].endswith("/devops-platform-prod/go-demo:" + PUBLISHED_COMMIT)


# --- the route -----------------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_the_alb_invokes_the_live_alias_with_a_permission_scoped_to_its_target_group_registered_first(dev: Graph, region: str):
    listener = dev.named(f"{region}-traffic-http").id
    for svc in on_lambda("dev"):
        prefix = f"{region}-{svc['name']}"
        tg = dev.named(f"{prefix}-tg")
        assert tg.inputs["targetType"] == "lambda" and tg.inputs["healthCheck"] == {"enabled": False}
        permission = dev.named(f"{prefix}-alb-permission")
        assert permission.inputs["principal"] == "elasticloadbalancing.amazonaws.com"
        assert permission.inputs["sourceArn"] == tg.id and permission.inputs["qualifier"] == "live"
        alias = dev.named(f"{prefix}-alias")
        attachment = dev.named(f"{prefix}-attachment")
        assert attachment.inputs["targetGroupArn"] == tg.id and attachment.inputs["targetId"] == alias.id
        # ELB checks its invoke permission when the target registers: the permission comes first.
        assert permission.urn in attachment.depends_on
        rule = dev.named(f"{prefix}-rule")
        assert rule.inputs["listenerArn"] == listener
        assert forward_targets(rule.inputs["actions"][0]) == {tg.id: 1}
        assert [c["pathPattern"]["values"] for c in rule.inputs["conditions"]] == [svc["paths"]]
        # The path forwards only once its group has the function in it.
        assert attachment.urn in rule.depends_on


def test_the_functions_security_group_admits_nothing_and_sends_only_https(dev: Graph):
    ingress = [r for r in dev.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")]
    for region in REGIONS:
        for svc in on_lambda("dev"):
            sg = dev.named(f"{region}-{svc['name']}-sg").id
            assert not [r for r in ingress if r.inputs["securityGroupId"] == sg]
            (egress,) = [r for r in dev.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule") if r.inputs["securityGroupId"] == sg]
            assert (egress.inputs["fromPort"], egress.inputs["toPort"], egress.inputs["cidrIpv4"]) == (443, 443, "0.0.0.0/0")


# --- IAM -----------------------------------------------------------------------------------------


def _function_arn(region: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"


@pytest.mark.parametrize("region", REGIONS)
def test_the_function_may_pull_only_its_own_repository_and_write_only_its_own_logs(dev: Graph, region: str):
    for svc in on_lambda("dev"):
        prefix = f"{region}-{svc['name']}"
        policy = statements(dev, f"{prefix}-policy")
        repository = dev.named(f"{prefix}-registry-repository").inputs
        assert policy["PullServiceImage"]["Resource"] == f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repository['name']}"
        assert sorted(policy["PullServiceImage"]["Action"]) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
        logs = dev.named(f"{prefix}-logs").inputs["name"]
        assert logs == f"/aws/lambda/devops-platform-dev-{svc['name']}"
        assert policy["WriteLogs"]["Resource"] == f"arn:aws:logs:{region}:{ACCOUNT}:log-group:{logs}:log-stream:*"
        assert set(policy) == {"WriteLogs", "VpcNetworkInterfaces", "PullServiceImage"}  # no secrets configured
        # The app itself may do nothing else unless the config grants it.
        with pytest.raises(KeyError):
            dev.named(f"{prefix}-task-policy")


@pytest.mark.parametrize("region", REGIONS)
def test_lambda_pulls_each_repository_for_that_services_functions_only(prod: Graph, region: str):
    doc = json.loads(prod.named(f"{region}-go-demo-registry-lambda-pull").inputs["policy"])
    (statement,) = doc["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert sorted(statement["Action"]) == ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
    fns = [_function_arn(region, n) for n in ("devops-platform-prod-go-demo", "devops-platform-prod-go-demo-staging")]
    assert statement["Condition"] == {"StringLike": {"aws:sourceArn": [a for f in fns for a in (f, f"{f}:*")]}}
    # Fargate services' repositories have no policy: their tasks pull with the execution role.
    with pytest.raises(KeyError):
        prod.named(f"{region}-auth-registry-lambda-pull")


def test_secrets_reach_the_app_as_arns_it_alone_may_read():
    parameter = f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/dev/auth/token"
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:dev/db-AbCdEf"

    def edit(ns: dict[str, Any]) -> None:
        ns["services"][0]["secrets"] = {"API_TOKEN": parameter, "DB": secret}

    from tests.conftest import run_stack

    graph = run_stack("dev", edit=edit, published=True)
    env = graph.named("us-east-1-auth-function").inputs["environment"]["variables"]
    assert json.loads(env["PLATFORM_SECRETS"]) == {"API_TOKEN": parameter, "DB": secret}
    assert "API_TOKEN" not in env and "DB" not in env  # never the values
    policy = statements(graph, "us-east-1-auth-policy")
    assert policy["ReadParameters"]["Resource"] == [parameter]
    assert policy["ReadSecrets"]["Resource"] == [secret, secret + "-??????"]


def test_the_lambda_deploy_project_may_update_exactly_the_services_functions_and_groups(prod: Graph):
    region = "us-east-1"
    policy = statements(prod, f"{region}-delivery-lambda-deploy-policy")
    fns = [_function_arn(region, n) for n in ("devops-platform-prod-go-demo-staging", "devops-platform-prod-go-demo")]
    assert sorted(policy["UpdateServiceFunctions"]["Resource"]) == sorted(fns + [f"{f}:*" for f in fns])
    assert "lambda:UpdateFunctionCode" in policy["UpdateServiceFunctions"]["Action"]
    # It moves an alias itself only for the staging copy; production's is CodeDeploy's to move.
    assert "lambda:UpdateAlias" not in policy["UpdateServiceFunctions"]["Action"]
    assert policy["MoveStagingAliases"] == {
        "Sid": "MoveStagingAliases", "Effect": "Allow", "Action": "lambda:UpdateAlias", "Resource": [f"{fns[0]}:*"]
    }  # fmt: skip
    # Lambda reads the image with the repository's policy: the project needs no ECR action.
    assert not [s for s in policy.values() if any(str(a).startswith("ecr:") for a in as_list(s["Action"]))]
    group = f"arn:aws:codedeploy:{region}:{ACCOUNT}:deploymentgroup:devops-platform-prod-go-demo/devops-platform-prod-go-demo"
    assert policy["ShiftWithCodeDeploy"]["Resource"] == [group]
    assert policy["RegisterRevisions"]["Resource"] == [f"arn:aws:codedeploy:{region}:{ACCOUNT}:application:devops-platform-prod-go-demo"]
    config = prod.named(f"{region}-go-demo-codedeploy-group").inputs["deploymentConfigName"]
    assert policy["ReadDeploymentConfigs"]["Resource"] == [f"arn:aws:codedeploy:{region}:{ACCOUNT}:deploymentconfig:{config}"]
    for s in policy.values():
        assert "*" not in as_list(s["Resource"]), s["Sid"]
    pipeline = statements(prod, f"{region}-delivery-pipeline-policy")
    assert prod.named(f"{region}-delivery-lambda-deploy").id in pipeline["RunBuilds"]["Resource"]


def test_codedeploy_may_move_only_the_services_alias_and_read_only_its_rollback_alarms(prod: Graph):
    region = "us-east-1"
    trust = json.loads(prod.named(f"{region}-go-demo-codedeploy-role").inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "codedeploy.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    policy = statements(prod, f"{region}-go-demo-codedeploy-policy")
    fn = _function_arn(region, "devops-platform-prod-go-demo")
    assert policy["ShiftTheLiveAlias"]["Resource"] == [fn, f"{fn}:*"]
    alarms = [f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:devops-platform-prod-svc-go-demo-{k}" for k in ("5xx", "errors")]
    assert policy["WatchTheRollbackAlarms"]["Resource"] == alarms


# --- alarms and releases ----------------------------------------------------------------------------


@pytest.mark.parametrize("region", REGIONS)
def test_a_service_on_lambda_is_alarmed_on_its_function_and_its_target_group(prod: Graph, prod_published: Graph, region: str):
    prefix = f"{region}-go-demo"
    alarms = {r.name.rsplit("-alarm-", 1)[1]: r.inputs for r in under(prod, prefix) if r.type.endswith("MetricAlarm")}
    assert set(alarms) == {"5xx", "latency", "errors", "throttles", "duration"}
    for kind in ("errors", "throttles", "duration"):
        assert alarms[kind]["namespace"] == "AWS/Lambda"
        assert alarms[kind]["dimensions"] == {"FunctionName": "devops-platform-prod-go-demo"}
    assert alarms["duration"]["threshold"] == 30 * 1000 * 0.9
    tg = prod.named(f"{prefix}-tg").inputs["name"]
    for kind in ("5xx", "latency"):
        assert alarms[kind]["namespace"] == "AWS/ApplicationELB"
        assert alarms[kind]["dimensions"]["TargetGroup"].startswith(f"targetgroup/{tg}/")
    # The production gate waits for them once the service runs its image (next test).
    gate = prod_published.named(f"{region}-monitoring-production-health").inputs["alarmRule"]
    for alarm in alarms.values():
        assert f'ALARM("{alarm["name"]}")' in gate


@pytest.mark.parametrize("region", REGIONS)
def test_the_production_gate_leaves_out_a_service_that_still_answers_503(dev: Graph, dev_published: Graph, region: str):
    """The stub's 503s fire its 5XX alarm; gating on it would keep production, and with it the release
    that records the first image, from ever running."""
    def gated(graph: Graph) -> set[str]:
        rule = graph.named(f"{region}-monitoring-production-health").inputs["alarmRule"]
        return {term.removeprefix('ALARM("').removesuffix('")') for term in rule.split(" OR ")}

    lambda_alarms = {f"devops-platform-dev-svc-{s['name']}-{k}" for s in on_lambda("dev")
                 for k in ("5xx", "latency", "errors", "throttles", "duration")}  # fmt: skip
    engines = {f"devops-platform-dev-svc-{s}-{k}" for s in ("fa", "batch") for k in ("5xx", "latency", "unhealthy")}
    assert gated(dev) == engines
    assert gated(dev_published) == engines | lambda_alarms


@pytest.mark.parametrize("region", REGIONS)
def test_codedeploy_shifts_the_alias_by_the_services_strategy_and_rolls_back_on_its_alarms(prod: Graph, region: str):
    group = prod.named(f"{region}-go-demo-codedeploy-group").inputs
    config = prod.named(f"{region}-go-demo-codedeploy-config").inputs
    assert config["computePlatform"] == "Lambda"
    assert config["trafficRoutingConfig"] == {"type": "TimeBasedCanary", "timeBasedCanary": {"percentage": 10, "interval": 5}}
    assert group["deploymentConfigName"] == config["deploymentConfigName"]
    assert group["deploymentStyle"] == {"deploymentOption": "WITH_TRAFFIC_CONTROL", "deploymentType": "BLUE_GREEN"}
    assert group["autoRollbackConfiguration"] == {"enabled": True, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]}
    assert group["alarmConfiguration"] == {
        "alarms": ["devops-platform-prod-svc-go-demo-5xx", "devops-platform-prod-svc-go-demo-errors"], "enabled": True
    }  # fmt: skip
    assert group["serviceRoleArn"].endswith(prod.named(f"{region}-go-demo-codedeploy-role").id)
    assert prod.named(f"{region}-go-demo-codedeploy-app").inputs["computePlatform"] == "Lambda"


def test_rolling_is_all_at_once_and_linear_gets_its_own_configuration(dev: Graph, run_program: Callable[..., Graph]):
    assert dev.named("us-east-1-auth-codedeploy-group").inputs["deploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce"
    with pytest.raises(KeyError):
        dev.named("us-east-1-auth-codedeploy-config")

    def edit(ns: dict[str, Any]) -> None:
        ns["services"][0]["deployment"] = {"strategy": "linear", "stepPercent": 20, "stepBakeMinutes": 2}

    graph = run_program("dev", edit=edit)
    config = graph.named("us-east-1-auth-codedeploy-config").inputs
    assert config["trafficRoutingConfig"] == {"type": "TimeBasedLinear", "timeBasedLinear": {"percentage": 20, "interval": 2}}
    assert config["deploymentConfigName"] == "devops-platform-dev-auth-linear-20pct-every-2min"


def _stage(graph: Graph, region: str, name: str) -> dict[str, dict[str, Any]]:
    pipeline = next(r for r in graph.of_type("aws:codepipeline/pipeline:Pipeline") if r.region == region)
    (stage,) = [s for s in pipeline.inputs["stages"] if s["name"] == name]
    return {a["name"]: a for a in stage["actions"]}


@pytest.mark.parametrize("region", REGIONS)
def test_staging_gets_the_image_first_then_production_shifts_with_codedeploy_and_release_records_it(prod: Graph, region: str):
    project = prod.named(f"{region}-delivery-lambda-deploy").inputs["name"]
    staging = _stage(prod, region, "DeployStaging")["go-demo"]
    production = _stage(prod, region, "DeployProduction")["go-demo"]
    for action in (staging, production):
        assert (action["category"], action["provider"]) == ("Build", "CodeBuild")
        assert action["configuration"]["ProjectName"] == project
        assert action["inputArtifacts"] == ["images_go_demo"] and action["runOrder"] == 1
    variables = lambda a: {v["name"]: v["value"] for v in json.loads(a["configuration"]["EnvironmentVariables"])}  # noqa: E731
    # Staging moves its alias at once; production names its CodeDeploy group.
    assert variables(staging) == {"SERVICE": "go-demo", "FUNCTION_NAME": "devops-platform-prod-go-demo-staging"}
    assert variables(production) == {
        "SERVICE": "go-demo", "FUNCTION_NAME": "devops-platform-prod-go-demo",
        "APPLICATION": "devops-platform-prod-go-demo", "DEPLOYMENT_GROUP": "devops-platform-prod-go-demo",
    }  # fmt: skip
    release = _stage(prod, region, "DeployProduction")["Release"]
    assert release["runOrder"] == 2
    spec = prod.named(f"{region}-delivery-release").inputs["source"]["buildspec"]
    assert '--name "/devops-platform-prod/images/go-demo"' in spec
    # The build makes go-demo's image once, whichever compute runs it.
    assert spec.count("go-demo") >= 1
    build = yaml.safe_load(prod.named(f"{region}-delivery-build").inputs["source"]["buildspec"])
    assert len(re.findall(r'docker build [^\n]*--tag "\$image" "go-demo"\n', "\n".join(build["phases"]["build"]["commands"]))) == 1
    # The deploy project waits for CodeDeploy, and a little longer.
    timeout = namespace_of("prod")["pipeline"].get("deployTimeoutMinutes", 30)
    assert prod.named(f"{region}-delivery-lambda-deploy").inputs["buildTimeout"] == timeout + 10


@pytest.mark.parametrize("region", REGIONS)
def test_the_staging_copy_is_its_own_function_behind_the_staging_listener_without_alarms_or_codedeploy(prod: Graph, region: str):
    prefix = f"{region}-go-demo-staging"
    fn = prod.named(f"{prefix}-function").inputs
    assert fn["name"] == "devops-platform-prod-go-demo-staging"
    rule = prod.named(f"{prefix}-rule").inputs
    assert rule["listenerArn"] == prod.named(f"{region}-traffic-staging").id
    assert forward_targets(rule["actions"][0]) == {prod.named(f"{prefix}-tg").id: 1}
    kinds = {r.type for r in under(prod, prefix)}
    assert "aws:cloudwatch/metricAlarm:MetricAlarm" not in kinds
    assert not [t for t in kinds if t.startswith("aws:codedeploy/")]
    assert prod.outputs["regions"][region]["services"]["go-demo"]["staging"]["function_name"] == fn["name"]


# --- flipping a service between the computes ------------------------------------------------------


def alias_urns(r: Registration) -> set[str]:
    """The URNs a resource's aliases stand for (ops.graphcheck's reading, the engine's rule)."""
    found = {alias_urn({"type": r.type, "name": r.name}, alias) for alias in r.aliases}
    return {u for u in found if u}


def _to_lambda(i: int) -> Callable[[dict[str, Any]], None]:
    def edit(ns: dict[str, Any]) -> None:
        svc = ns["services"][i]
        for key in ("cpu", "memory", "desiredCount", "autoscaling", "stopTimeoutSeconds"):
            svc.pop(key, None)
        svc["compute"] = "lambda"
        svc["deployment"] = {"strategy": "canary", "canaryPercent": 10, "canaryBakeMinutes": 5}

    return edit


def _to_fargate(name: str) -> Callable[[dict[str, Any]], None]:
    def edit(ns: dict[str, Any]) -> None:
        svc = next(s for s in ns["services"] if s["name"] == name)
        svc.pop("lambda", None)
        svc["compute"] = "fargate"

    return edit


@pytest.mark.parametrize(("stack", "edit", "service"), [("prod", _to_lambda(0), "auth"), ("dev", _to_fargate("users"), "users")])
def test_a_flip_keeps_the_rule_and_the_shared_alarms_and_moves_the_path_to_the_new_target_group(
    graphs: dict[str, Graph], run_program: Callable[..., Graph], stack: str, edit: Callable[..., None], service: str
):
    before, after = graphs[stack], run_program(stack, edit=edit)
    for region in REGIONS:
        for name in (f"{region}-{service}-rule", f"{region}-{service}-alarm-5xx", f"{region}-{service}-alarm-latency"):
            old, new = before.named(name), after.named(name)
            assert old.urn != new.urn  # another component type is its parent now ...
            # ... and the new one names the old as its alias: pulumi updates it in place.
            assert old.urn in alias_urns(new), name
            assert new.urn in alias_urns(old), name  # and back again
            assert new.inputs.get("name") == old.inputs.get("name")
        old_rule, new_rule = before.named(f"{region}-{service}-rule").inputs, after.named(f"{region}-{service}-rule").inputs
        assert (new_rule["priority"], new_rule["conditions"], new_rule["listenerArn"]) == (
            old_rule["priority"], old_rule["conditions"], old_rule["listenerArn"]
        )  # fmt: skip
        # The path forwards to the new compute's own group, which has a new name (both exist while
        # the rule moves).
        new_tg = after.named(f"{region}-{service}-tg")
        assert set(forward_targets(new_rule["actions"][0])) == {new_tg.id}
        assert new_tg.inputs["name"] != before.named(f"{region}-{service}-tg").inputs["name"]
        # The route keeps its place in every other rule's order (auth's canary test rule goes with
        # ECS: a service on Lambda has no test listener rule).
        assert _priorities(after, region, service) == _priorities(before, region, service)


def _priorities(graph: Graph, region: str, service: str) -> dict[str, int]:
    skip = f"{region}-{service}-test-rule"
    return {r.name: r.inputs["priority"] for r in graph.of_type(RULE) if r.region == region and r.name != skip}


@pytest.fixture(scope="module")
def graphs(prod: Graph, dev: Graph) -> dict[str, Graph]:
    return {"prod": prod, "dev": dev}


# --- what the config refuses ----------------------------------------------------------------------

# prod's services: 0 auth (Fargate, canary), 2 fa (on demand), 5 fargate-demo (Fargate, rolling), 6 go-demo (Lambda, canary).
svc = service


def lam(**changes: Any) -> Edit:
    def edit(ns: dict[str, Any]) -> None:
        ns["services"][6].setdefault("lambda", {}).update(changes)

    return edit


def deploy(**changes: Any) -> Edit:
    """go-demo's deployment (tests/test_config.py's helper; ``_DROP`` removes a key)."""
    return deployment(6, **changes)


def alarms(**changes: Any) -> Edit:
    def edit(ns: dict[str, Any]) -> None:
        ns["monitoring"]["services"]["go-demo"] = changes

    return edit


REFUSED: list[tuple[str, Edit, str, str]] = [
    ("on-demand-on-lambda", svc(2, compute="lambda"), "services[2] (fa).compute", "fargate for a mode on-demand service (fa)"),
    ("lambda-settings-on-fargate", svc(0, **{"lambda": {"memoryMb": 1024}}), "services[0] (auth).lambda", "nothing with compute fargate (auth runs on Fargate"),
    ("cpu", svc(6, cpu=512), "services[6] (go-demo).cpu", "nothing with compute lambda (go-demo runs on Lambda)"),
    ("memory", svc(6, memory=1024), "services[6] (go-demo).memory", "lambda.memoryMb"),
    ("desired-count", svc(6, desiredCount=2), "services[6] (go-demo).desiredCount", "reservedConcurrency"),
    ("autoscaling", svc(6, autoscaling={"maxCapacity": 4}), "services[6] (go-demo).autoscaling", "scales per request"),
    ("stop-timeout", svc(6, stopTimeoutSeconds=60), "services[6] (go-demo).stopTimeoutSeconds", "SIGTERM"),
    ("writable-paths", svc(6, writablePaths=["/data"]), "services[6] (go-demo).writablePaths", "/tmp"),
    ("bootstrap-image", svc(6, bootstrapImage="public.ecr.aws/nginx/nginx:1.27"), "services[6] (go-demo).bootstrapImage", "answers 503"),
    ("container-health-check", svc(6, healthCheck={"containerCommand": ["curl -f localhost:8080/health"]}), "services[6] (go-demo).healthCheck.containerCommand", "only healthCheck.path applies"),
    ("grace-period", svc(6, healthCheck={"gracePeriodSeconds": 30}), "services[6] (go-demo).healthCheck.gracePeriodSeconds", "only healthCheck.path applies"),
    ("memory-too-small", lam(memoryMb=64), "services[6] (go-demo).lambda.memoryMb", "megabytes from 128 to 10240"),
    ("memory-too-large", lam(memoryMb=20480), "services[6] (go-demo).lambda.memoryMb", "megabytes from 128 to 10240"),
    ("timeout-past-lambdas", lam(timeoutSeconds=901), "services[6] (go-demo).lambda.timeoutSeconds", "seconds from 1 to 900"),
    ("timeout-past-the-albs", lam(timeoutSeconds=120), "services[6] (go-demo).lambda.timeoutSeconds", "at most loadBalancer.idleTimeoutSeconds (60) for go-demo"),
    ("architecture-unlike-the-image", lam(architecture="ARM64"), "services[6] (go-demo).lambda.architecture", "X86_64, go-demo's architecture"),
    ("provisioned-over-reserved", lam(reservedConcurrency=2, provisionedConcurrency=3), "services[6] (go-demo).lambda.provisionedConcurrency", "at most lambda.reservedConcurrency (2) for go-demo"),
    ("environment-over-4kb", svc(6, environment={"BIG": "x" * 4100}), "services[6] (go-demo).environment", "within Lambda's 4096 bytes for go-demo"),
    ("secrets-count-toward-4kb", svc(6, secrets={f"S{k}": f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/{'p' * 60}/{k}" for k in range(60)}), "services[6] (go-demo).environment", "PLATFORM_SECRETS"),
    ("lambda-reserved-variable", svc(6, environment={"AWS_LAMBDA_RUNTIME_API": "x"}), "services[6] (go-demo).environment.AWS_LAMBDA_RUNTIME_API", "a name Lambda accepts for go-demo"),
    ("lambda-one-letter-variable", svc(6, environment={"X": "1"}), "services[6] (go-demo).environment.X", "two characters at least"),
    ("lambda-underscore-variable", svc(6, environment={"_DEBUG": "1"}), "services[6] (go-demo).environment._DEBUG", "a letter, then letters"),
    ("program-variable", svc(6, environment={"PLATFORM_SECRETS": "{}"}), "services[6] (go-demo).environment.PLATFORM_SECRETS", "set by the program for go-demo on Lambda"),
    ("secret-with-a-json-key", svc(6, secrets={"DB": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:db-AbCdEf:password::"}), "services[6] (go-demo).secrets.DB", "the secret's own ARN for go-demo"),
    ("blue-green", deploy(strategy="blueGreen"), "services[6] (go-demo).deployment.strategy", "every Lambda release is blue/green already"),
    ("bake-minutes", deploy(bakeMinutes=10), "services[6] (go-demo).deployment.bakeMinutes", "nothing with compute lambda (go-demo)"),
    ("smoke-test", deploy(smokeTest={"path": "/go/health"}), "services[6] (go-demo).deployment.smokeTest", "nothing with compute lambda (go-demo)"),
    ("fractional-canary", deploy(canaryPercent=2.5), "services[6] (go-demo).deployment.canaryPercent", "a whole percentage from 1 to 99 for go-demo"),
    ("canary-of-everything", deploy(canaryPercent=100), "services[6] (go-demo).deployment.canaryPercent", "a whole percentage from 1 to 99"),
    ("canary-without-interval", deploy(canaryBakeMinutes=0), "services[6] (go-demo).deployment.canaryBakeMinutes", "at least 1 for go-demo"),
    ("linear-step-too-small", deploy(strategy="linear", canaryPercent=_DROP, canaryBakeMinutes=_DROP, stepPercent=3.5), "services[6] (go-demo).deployment.stepPercent", "a whole percentage"),
    ("shift-longer-than-the-deploy-wait", deploy(canaryBakeMinutes=40), "pipeline.deployTimeoutMinutes", "at least 45 for services[6] (go-demo): CodeDeploy moves its live alias over 40 minutes"),
    ("cpu-alarm-on-lambda", alarms(cpuPercent=70), "monitoring.services.go-demo.cpuPercent", "nothing with compute lambda (go-demo runs on Lambda)"),
    ("unhealthy-alarm-on-lambda", alarms(unhealthyHosts=1), "monitoring.services.go-demo.unhealthyHosts", "nothing with compute lambda (go-demo runs on Lambda): a function is alarmed"),
]


@pytest.mark.parametrize(("edit", "path", "text"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_config_that_cannot_run_on_lambda_is_refused_naming_the_key_and_the_service(edit: Edit, path: str, text: str):
    assert_refused(edit, path, text)


def test_a_service_on_lambda_with_its_defaults_is_accepted():
    namespace = namespace_of("prod")
    namespace["services"].append({"name": "plain", "compute": "lambda", "port": 8080, "paths": ["/plain/*"],
                                  # Lambda lets these through: not every AWS_ name is its own.
                                  "environment": {"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrap", "AWS_LWA_INVOKE_MODE": "buffered"}})  # fmt: skip
    cfg = validate(namespace, PROJECT)
    plain = cfg.services[-1]
    assert plain.compute == "lambda" and plain.lambda_settings is None  # every lambda key at its default


def test_a_health_check_that_reaches_a_service_on_lambda_is_warned_about(prod: Graph, run_program: Callable[..., Graph]):
    assert not [w for w in prod.warnings if "healthCheckPath" in w]

    def edit(ns: dict[str, Any]) -> None:
        ns["dns"]["healthCheckPath"] = "/go/health"

    graph = run_program("prod", edit=edit)
    (warning,) = [w for w in graph.warnings if "healthCheckPath" in w]
    assert warning.startswith("dns.healthCheckPath /go/health reaches services[6] (go-demo) on Lambda")


def test_a_staging_copy_on_lambda_takes_no_reserved_or_provisioned_concurrency(run_program: Callable[..., Graph]):
    def edit(ns: dict[str, Any]) -> None:
        ns["services"][6]["lambda"].update(reservedConcurrency=20, provisionedConcurrency=2)

    graph = run_program("prod", edit=edit)
    for region in REGIONS:
        production = graph.named(f"{region}-go-demo-function").inputs
        staging = graph.named(f"{region}-go-demo-staging-function").inputs
        assert production["reservedConcurrentExecutions"] == 20
        assert graph.named(f"{region}-go-demo-provisioned").inputs["provisionedConcurrentExecutions"] == 2
        assert "reservedConcurrentExecutions" not in staging and staging["memorySize"] == production["memorySize"]
        with pytest.raises(KeyError):
            graph.named(f"{region}-go-demo-staging-provisioned")
