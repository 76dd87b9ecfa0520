"""Delivery under mocks: the pipeline's stages and actions, its IAM, storage, triggers and staging."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from ops.harness import Graph, Registration
from tests.conftest import forward_targets, namespace_of

REGIONS = ("us-east-1", "us-east-2")
PIPELINE = "aws:codepipeline/pipeline:Pipeline"
PROJECT = "aws:codebuild/project:Project"
RULE = "aws:lb/listenerRule:ListenerRule"
POLICY = "aws:iam/rolePolicy:RolePolicy"
CONNECTION = "arn:aws:codeconnections:us-east-1:111122223333:connection/0f0f0f0f-1111-2222-3333-444455556666"
# Statements AWS accepts only with "*" as the resource (each commented where it is made).
STAR_ONLY = {"EcrLogin", "DescribeTaskDefinitions", "ListClusterTasks"}


def pipeline_of(graph: Graph, region: str) -> dict[str, Any]:
    return graph.named(f"{region}-delivery-pipeline").inputs


def stages(graph: Graph, region: str) -> dict[str, list[dict[str, Any]]]:
    return {s["name"]: s["actions"] for s in pipeline_of(graph, region)["stages"]}


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge matching for the pattern forms the program uses: exact values and nesting."""
    for key, expected in pattern.items():
        if key not in event:
            return False
        value = event[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches(expected, value):
                return False
        elif isinstance(value, list):
            if not set(value) & set(expected):
                return False
        elif value not in expected:
            return False
    return True


def push(repository_arn: str, *, branch: str = "main", event: str = "referenceUpdated", kind: str = "branch") -> dict[str, Any]:
    """A CodeCommit push event as EventBridge delivers it."""
    return {
        "source": "aws.codecommit",
        "detail-type": "CodeCommit Repository State Change",
        "resources": [repository_arn],
        "detail": {"event": event, "referenceType": kind, "referenceName": branch, "commitId": "0" * 40},
    }


@pytest.mark.parametrize("region", REGIONS)
def test_prod_runs_the_seeds_five_stages_and_dev_the_short_chain(prod: Graph, dev: Graph, region: str):
    assert list(stages(prod, region)) == ["Source", "Build", "DeployStaging", "Approval", "DeployProduction"]
    assert list(stages(dev, region)) == ["Source", "Build", "Deploy"]
    for graph in (prod, dev):
        pipeline = pipeline_of(graph, region)
        assert pipeline["pipelineType"] == "V2"
        assert pipeline["name"] == f"devops-platform-{graph.stack}"


def _service_names(stack: str, mode: str = "service", compute: str | None = None) -> list[str]:
    """The stack's services of a mode (and, if given, a compute), in config order."""
    return [
        s["name"]
        for s in namespace_of(stack)["services"]
        if s.get("mode", "service") == mode and compute in (None, s.get("compute", "fargate"))
    ]


@pytest.mark.parametrize("region", REGIONS)
def test_each_deploy_action_targets_its_own_service_in_the_regions_cluster(prod: Graph, region: str):
    by_stage = stages(prod, region)
    cluster = prod.named(f"{region}-cluster").inputs["name"]
    builds = {a["name"]: a for a in by_stage["Build"]}
    built = {artifact for a in builds.values() for artifact in a["outputArtifacts"]}
    for stage, suffix in (("DeployStaging", "-staging"), ("DeployProduction", "")):
        deploys = [a for a in by_stage[stage] if a["provider"] == "ECS"]
        # Services on Lambda deploy through CodeBuild (tests/test_lambda_compute.py).
        assert sorted(a["name"] for a in deploys) == sorted(_service_names("prod", compute="fargate"))
        for action in deploys:
            config = action["configuration"]
            assert config["ClusterName"] == cluster
            assert config["ServiceName"] == action["name"] + suffix
            # Each reads its own service's imagedefinitions, which the build produces.
            assert action["inputArtifacts"] == ["images_" + action["name"].replace("-", "_")]
            assert set(action["inputArtifacts"]) <= built
            assert action["runOrder"] == 1  # every service in parallel
            # The ECS service it names exists in this region, with that name.
            service = prod.named(f"{region}-{action['name']}{suffix and '-staging'}-service").inputs
            assert service["name"] == config["ServiceName"]


@pytest.mark.parametrize("region", REGIONS)
def test_the_build_writes_the_artifact_each_deploy_action_reads(prod: Graph, region: str):
    (build,) = stages(prod, region)["Build"]
    project = prod.named(f"{region}-delivery-build").inputs
    assert build["configuration"]["ProjectName"] == project["name"]
    spec = yaml.safe_load(project["source"]["buildspec"])
    declared = spec["artifacts"]["secondary-artifacts"]
    assert sorted(declared) == sorted(build["outputArtifacts"])
    commands = "\n".join(spec["phases"]["build"]["commands"])
    for service in _service_names("prod") + _service_names("prod", "on-demand"):
        assert re.search(rf'docker build (--build-arg \S+ )?--tag "\$image" "{service}"\n', commands), service
    for artifact, where in declared.items():
        service = where["base-directory"].removeprefix("out/")
        assert artifact == "images_" + service.replace("-", "_")


@pytest.mark.parametrize("region", REGIONS)
def test_approval_emails_the_regions_topic_with_the_staging_url(prod: Graph, region: str):
    (approval,) = stages(prod, region)["Approval"]
    assert (approval["category"], approval["owner"], approval["provider"]) == ("Approval", "AWS", "Manual")
    topic = prod.named(f"{region}-notifications-topic")
    assert approval["configuration"]["NotificationArn"] == topic.id
    assert approval["configuration"]["ExternalEntityLink"] == f"https://{region}.app.example.com:8443/"
    assert prod.outputs["regions"][region]["staging_url"] == approval["configuration"]["ExternalEntityLink"]
    # The approvers, and monitoring's on-call (one topic per region), each subscribed once.
    emails = {r.inputs["endpoint"]: r.inputs for r in _emails(prod) if r.region == region}
    assert sorted(emails) == ["platform-approvals@example.com", "platform-oncall@example.com"]
    assert all(e["topic"] == topic.id and e["protocol"] == "email" for e in emails.values())


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_artifact_store_is_encrypted_with_a_rotated_customer_key(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    for region in REGIONS:
        key = graph.named(f"{region}-delivery-artifacts-key")
        assert key.inputs["enableKeyRotation"] is True
        # The key's policy is declared (the default one, written out): the account's IAM policies
        # decide who uses it, and nothing else may.
        assert json.loads(key.inputs["policy"])["Statement"] == [
            {"Sid": "DelegateToIam", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}
        ]
        (store,) = pipeline_of(graph, region)["artifactStores"]
        assert store["encryptionKey"] == {"id": f"arn:aws:kms:{region}:123456789012:key/{key.id}", "type": "KMS"}
        bucket = graph.named(f"{region}-delivery-artifacts")
        assert store["location"] == bucket.id
        for project in [r for r in graph.of_type(PROJECT) if r.region == region]:
            assert project.inputs["encryptionKey"] == store["encryptionKey"]["id"]


@pytest.fixture(scope="module")
def graphs(prod: Graph, dev: Graph) -> dict[str, Graph]:
    return {"prod": prod, "dev": dev}


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_artifact_bucket_is_versioned_private_tls_only_and_expires(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    days = namespace_of(stack)["pipeline"]["artifacts"]["expireAfterDays"]
    for region in REGIONS:
        bucket = graph.named(f"{region}-delivery-artifacts")
        name = f"{region}-delivery-artifacts"
        assert graph.named(f"{name}-versioning").inputs["versioningConfiguration"]["status"] == "Enabled"
        block = graph.named(f"{name}-public-access-block").inputs
        assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
        (rule,) = graph.named(f"{name}-encryption").inputs["rules"]
        assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
        assert rule["applyServerSideEncryptionByDefault"]["kmsMasterKeyId"] == pipeline_of(graph, region)["artifactStores"][0]["encryptionKey"]["id"]
        (statement,) = json.loads(graph.named(f"{name}-policy").inputs["policy"])["Statement"]
        assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        assert statement["Resource"] == [f"arn:aws:s3:::{bucket.id}", f"arn:aws:s3:::{bucket.id}/*"]
        (lifecycle,) = graph.named(f"{name}-lifecycle").inputs["rules"]
        assert lifecycle["expiration"]["days"] == days
        assert lifecycle["noncurrentVersionExpiration"]["noncurrentDays"] == days
        assert bucket.inputs["forceDestroy"] is (stack == "dev")


@pytest.mark.parametrize("region", REGIONS)
def test_pushes_to_the_branch_and_nothing_else_start_the_pipeline(prod: Graph, region: str):
    repository = prod.named(f"{region}-delivery-repository")
    arn = f"arn:aws:codecommit:{region}:123456789012:{repository.inputs['repositoryName']}"
    assert repository.inputs["repositoryName"] == "devops-platform-prod"
    pattern = json.loads(prod.named(f"{region}-delivery-trigger").inputs["eventPattern"])
    assert matches(pattern, push(arn))
    assert matches(pattern, push(arn, event="referenceCreated"))
    assert not matches(pattern, push(arn, branch="feature/x"))
    assert not matches(pattern, push(arn, kind="tag"))
    assert not matches(pattern, push(arn, event="referenceDeleted"))
    assert not matches(pattern, push(arn.replace("devops-platform-prod", "other-repo")))
    # No polling: EventBridge is the only trigger.
    (source,) = stages(prod, region)["Source"]
    assert source["configuration"]["PollForSourceChanges"] == "false"
    assert source["configuration"]["RepositoryName"] == repository.id
    target = prod.named(f"{region}-delivery-trigger-target").inputs
    assert target["arn"] == f"arn:aws:codepipeline:{region}:123456789012:devops-platform-prod"
    assert target["retryPolicy"] == {"maximumEventAgeInSeconds": 3600, "maximumRetryAttempts": 8}
    queue = prod.named(f"{region}-delivery-dead-letters")
    assert target["deadLetterConfig"] == {"arn": f"arn:aws:sqs:{region}:123456789012:{queue.id.rsplit('/', 1)[-1]}"}
    assert queue.inputs["sqsManagedSseEnabled"] is True
    # Only this pipeline's rules may drop undelivered events in the queue.
    # The queue admits EventBridge for these rules, and nothing without TLS (tests/test_iam_actions.py).
    allow, deny = json.loads(prod.named(f"{region}-delivery-dead-letters-policy").inputs["policy"])["Statement"]
    assert deny["Sid"] == "DenyInsecureTransport"
    rules = {prod.named(f"{region}-delivery-{n}").id for n in ("trigger", "failed")}
    assert {a.rsplit("/", 1)[-1] for a in allow["Condition"]["ArnEquals"]["aws:SourceArn"]} == rules


@pytest.mark.parametrize("region", REGIONS)
def test_failed_runs_notify_the_regions_topic(prod: Graph, region: str):
    pattern = json.loads(prod.named(f"{region}-delivery-failed").inputs["eventPattern"])
    failed = {
        "source": "aws.codepipeline",
        "detail-type": "CodePipeline Pipeline Execution State Change",
        "detail": {"pipeline": "devops-platform-prod", "state": "FAILED", "execution-id": "x"},
    }
    assert matches(pattern, failed)
    assert not matches(pattern, {**failed, "detail": {**failed["detail"], "state": "SUCCEEDED"}})
    assert not matches(pattern, {**failed, "detail": {**failed["detail"], "pipeline": "someone-else"}})
    target = prod.named(f"{region}-delivery-failed-target").inputs
    assert target["arn"] == prod.named(f"{region}-notifications-topic").id
    assert "deadLetterConfig" in target and "retryPolicy" in target
    # EventBridge may publish to the topic and use its key, for this account only.
    topic_policy = json.loads(prod.named(f"{region}-notifications-topic-policy").inputs["policy"])["Statement"]
    events = next(s for s in topic_policy if s["Effect"] == "Allow" and "events.amazonaws.com" in s["Principal"]["Service"])
    assert events["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    key = prod.named(f"{region}-notifications-key").inputs
    assert key["enableKeyRotation"] is True
    assert prod.named(f"{region}-notifications-topic").inputs["kmsMasterKeyId"].endswith(prod.named(f"{region}-notifications-key").id)


def _emails(graph: Graph) -> list[Registration]:
    return [r for r in graph.of_type("aws:sns/topicSubscription:TopicSubscription") if r.inputs["protocol"] == "email"]


def _statements(graph: Graph, region: str) -> dict[str, list[dict[str, Any]]]:
    """Role-policy statements of the region's delivery roles, by policy name."""
    return {
        r.name: json.loads(r.inputs["policy"])["Statement"]
        for r in graph.of_type(POLICY)
        if r.region == region and r.name.startswith(f"{region}-delivery-")
    }


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_delivery_roles_name_resources_and_never_grant_star_actions(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    for region in REGIONS:
        policies = _statements(graph, region)
        # Both stacks have services on Lambda, so both have the Lambda deploy project's role.
        assert set(policies) == {
            f"{region}-delivery-{n}-policy" for n in ("build", "release", "pipeline", "trigger", "lambda-deploy")
        } | ({f"{region}-delivery-staging-release-policy"} if stack == "prod" else set())  # dev has no staging
        for name, statements in policies.items():
            for s in statements:
                actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
                assert all("*" not in a for a in actions), (name, s)
                resources = s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]]
                if s.get("Sid") in STAR_ONLY:
                    assert resources == ["*"], (name, s)
                else:
                    assert resources and all(r.startswith("arn:aws:") for r in resources), (name, s)
                    assert all(f":{region}:" in r or ":s3:::" in r or ":iam::" in r for r in resources), (name, s)


def test_each_role_reaches_only_its_own_resources(prod: Graph):
    region = "us-east-1"
    policies = {k.removeprefix(f"{region}-delivery-"): {s["Sid"]: s for s in v} for k, v in _statements(prod, region).items()}
    build, release, pipeline = policies["build-policy"], policies["release-policy"], policies["pipeline-policy"]
    repos = sorted(f"arn:aws:ecr:{region}:123456789012:repository/devops-platform-prod/{s}" for s in _service_names("prod") + _service_names("prod", "on-demand"))
    assert sorted(build["PushServiceImages"]["Resource"]) == repos
    assert "s3:PutObject" in build["Artifacts"]["Action"] and "s3:PutObject" not in release["Artifacts"]["Action"]
    assert release["RecordDeployedImages"]["Resource"] == sorted(
        f"arn:aws:ssm:{region}:123456789012:parameter/devops-platform-prod/images/{n}"
        for n in _service_names("prod") + _service_names("prod", "on-demand")
    )
    assert release["RecordDeployedImages"]["Action"] == "ssm:PutParameter"
    # The release may pass exactly the on-demand services' roles, to ECS tasks only.
    on_demand_roles = {
        f"arn:aws:iam::123456789012:role/{prod.named(f'{region}-{s}-{k}-role').id}"
        for s in _service_names("prod", "on-demand")
        for k in ("task", "execution")
    }
    # Revisions of exactly the on-demand families (release) and the deployed services' (pipeline).
    family = f"arn:aws:ecs:{region}:123456789012:task-definition/devops-platform-prod-{{}}:*"
    assert release["ReviseOnDemandTaskDefinitions"]["Resource"] == [family.format(s) for s in sorted(_service_names("prod", "on-demand"))]
    revised = sorted([*_service_names("prod", compute="fargate"), *[f"{n}-staging" for n in _service_names("prod", compute="fargate")]])
    assert pipeline["ReviseTaskDefinitions"]["Resource"] == [family.format(s) for s in revised]
    assert pipeline["ReviseTaskDefinitions"]["Action"] == "ecs:RegisterTaskDefinition"
    passed = release["PassTaskRoles"]
    assert set(passed["Resource"]) == on_demand_roles
    assert passed["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
    deployed = {r.rsplit("/", 2)[-1] for r in pipeline["DeployServices"]["Resource"]}
    on_fargate = _service_names("prod", compute="fargate")
    assert deployed == set(on_fargate) | {f"{s}-staging" for s in on_fargate}
    assert all(r.startswith(f"arn:aws:ecs:{region}:123456789012:service/devops-platform-prod/") for r in pipeline["DeployServices"]["Resource"])
    assert pipeline["ReadSource"]["Resource"] == f"arn:aws:codecommit:{region}:123456789012:devops-platform-prod"
    assert pipeline["RequestApproval"]["Resource"] == prod.named(f"{region}-notifications-topic").id
    assert sorted(pipeline["RunBuilds"]["Resource"]) == sorted(r.id for r in prod.of_type(PROJECT) if r.region == region)
    (trigger,) = policies["trigger-policy"].values()
    assert trigger["Action"] == "codepipeline:StartPipelineExecution"
    assert trigger["Resource"] == f"arn:aws:codepipeline:{region}:123456789012:devops-platform-prod"


@pytest.mark.parametrize("region", REGIONS)
def test_only_the_image_build_runs_privileged_and_builds_log_with_retention(prod: Graph, region: str):
    build = prod.named(f"{region}-delivery-build").inputs
    release = prod.named(f"{region}-delivery-release").inputs
    assert build["environment"]["privilegedMode"] is True
    assert release["environment"]["privilegedMode"] is False
    for role, project in (("build", build), ("release", release)):
        logs = prod.named(f"{region}-delivery-{role}-logs").inputs
        assert logs["retentionInDays"] == namespace_of("prod")["logs"]["retentionDays"]
        assert project["logsConfig"]["cloudwatchLogs"] == {"status": "ENABLED", "groupName": logs["name"]}
        assert project["source"]["type"] == "CODEPIPELINE"


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_release_records_images_only_after_the_production_deploys(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    region = "us-east-1"
    by_stage = stages(graph, region)
    production = "DeployProduction" if stack == "prod" else "Deploy"
    release = next(a for a in by_stage[production] if a["name"] == "Release")
    assert release["runOrder"] == 2 and all(a["runOrder"] == 1 for a in by_stage[production] if a is not release)
    assert release["configuration"]["ProjectName"] == graph.named(f"{region}-delivery-release").inputs["name"]
    for stage, actions in by_stage.items():
        if stage != production:
            assert all(a["name"] != "Release" for a in actions)
    spec = yaml.safe_load(graph.named(f"{region}-delivery-release").inputs["source"]["buildspec"])
    commands = "\n".join(spec["phases"]["build"]["commands"])
    for service in _service_names(stack) + _service_names(stack, "on-demand"):
        assert f'--name "/devops-platform-{stack}/images/{service}"' in commands
    for service in _service_names(stack, "on-demand"):
        assert f'--task-definition "devops-platform-{stack}-{service}"' in commands


@pytest.mark.parametrize("region", REGIONS)
def test_staging_copies_are_reachable_only_through_the_staging_listener(prod: Graph, region: str):
    listeners = {r.name: r for r in prod.of_type("aws:lb/listener:Listener") if r.region == region}
    staging = listeners[f"{region}-traffic-staging"]
    assert (staging.inputs["port"], staging.inputs["protocol"]) == (8443, "HTTPS")
    assert staging.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-")
    rules = [r for r in prod.of_type(RULE) if r.region == region]
    staging_tgs = {r.id for r in prod.of_type("aws:lb/targetGroup:TargetGroup") if r.region == region and "-staging-" in r.name}
    assert len(staging_tgs) == len(_service_names("prod"))
    for rule in rules:
        forwards = {arn for a in rule.inputs["actions"] for arn in forward_targets(a)}
        if rule.inputs["listenerArn"] == staging.id:
            assert forwards <= staging_tgs, rule.name
        else:
            assert not forwards & staging_tgs, rule.name
    assert {r.name for r in rules if r.inputs["listenerArn"] == staging.id} == {f"{region}-{s}-staging-rule" for s in _service_names("prod")}


@pytest.mark.parametrize("region", REGIONS)
def test_staging_is_a_reduced_copy_on_fargate_spot(prod: Graph, region: str):
    ns = namespace_of("prod")
    for name in _service_names("prod", compute="fargate"):
        service = prod.named(f"{region}-{name}-staging-service").inputs
        production = prod.named(f"{region}-{name}-service").inputs
        assert service["name"] == f"{name}-staging"
        assert service["desiredCount"] == ns["pipeline"]["staging"]["desiredCount"] == 1
        assert service["capacityProviderStrategies"] == [{"capacityProvider": "FARGATE_SPOT", "weight": 1}]
        assert "launchType" not in service and production["launchType"] == "FARGATE"
        assert service["networkConfiguration"]["assignPublicIp"] is False
        assert service["taskDefinition"] != production["taskDefinition"]
        task = prod.named(f"{region}-{name}-staging-task").inputs
        assert task["family"] == f"devops-platform-prod-{name}-staging"
        # The container keeps the service's name, so one imagedefinitions file fits both copies.
        assert json.loads(task["containerDefinitions"])[0]["name"] == name
        with pytest.raises(KeyError):
            prod.named(f"{region}-{name}-staging-scaling-target")
    capacity = prod.named(f"{region}-cluster-capacity").inputs
    assert set(capacity["capacityProviders"]) == {"FARGATE", "FARGATE_SPOT"}
    # On-demand services have no staging copy.
    for name in _service_names("prod", "on-demand"):
        with pytest.raises(KeyError):
            prod.named(f"{region}-{name}-staging-task")


def test_staging_open_to_the_internet_warns(prod: Graph, run_program: Callable[..., Graph]):
    assert not any("reachable from the internet" in w for w in prod.warnings)
    for region in REGIONS:
        staging_ports = {
            r.inputs["cidrIpv4"]
            for r in prod.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
            if r.region == region and r.inputs["fromPort"] == 8443
        }
        assert staging_ports == {"203.0.113.0/24"}
    graph = run_program("prod", edit=lambda ns: ns["pipeline"]["staging"].pop("ingressCidrs"))
    assert any("reachable from the internet" in w for w in graph.warnings)


def test_dev_has_no_staging_and_no_approval(dev: Graph):
    assert not [r for r in dev.resources if "-staging" in r.name]
    assert _emails(dev) == []
    for region in REGIONS:
        assert "RequestApproval" not in {s["Sid"] for s in _statements(dev, region)[f"{region}-delivery-pipeline-policy"]}


def test_a_connection_source_uses_a_v2_push_trigger_instead_of_codecommit(run_program: Callable[..., Graph]):
    def edit(ns: dict[str, Any]) -> None:
        ns["pipeline"]["source"] = {"type": "connection", "connectionArn": CONNECTION, "fullRepositoryId": "acme/app", "branch": "release"}

    graph = run_program("dev", edit=edit)
    assert graph.of_type("aws:codecommit/repository:Repository") == []
    for region in REGIONS:
        with pytest.raises(KeyError):
            graph.named(f"{region}-delivery-trigger")
        pipeline = pipeline_of(graph, region)
        (source,) = stages(graph, region)["Source"]
        assert source["provider"] == "CodeStarSourceConnection"
        assert source["configuration"]["ConnectionArn"] == CONNECTION  # a connection works in every region
        assert source["configuration"]["FullRepositoryId"] == "acme/app"
        (trigger,) = pipeline["triggers"]
        assert trigger["gitConfiguration"]["sourceActionName"] == "Source"
        assert trigger["gitConfiguration"]["pushes"] == [{"branches": {"includes": ["release"]}}]
        policy = {s["Sid"]: s for s in _statements(graph, region)[f"{region}-delivery-pipeline-policy"]}
        assert policy["UseConnection"]["Resource"] == CONNECTION
        assert "ReadSource" not in policy


def test_more_than_five_deployed_services_split_the_build(run_program: Callable[..., Graph]):
    def edit(ns: dict[str, Any]) -> None:
        ns["services"] += [{"name": f"extra{i}", "port": 8080, "paths": [f"/extra{i}/*"]} for i in range(4)]

    graph = run_program("prod", edit=edit)
    build = stages(graph, "us-east-1")["Build"]
    assert [a["name"] for a in build] == ["Build", "Build-2"]
    assert all(len(a["outputArtifacts"]) <= 5 for a in build)
    assert sum(len(a["outputArtifacts"]) for a in build) == len(_service_names("prod")) + 4
    for action in build:
        project = next(r for r in graph.of_type(PROJECT) if r.region == "us-east-1" and r.inputs["name"] == action["configuration"]["ProjectName"])
        spec = yaml.safe_load(project.inputs["source"]["buildspec"])
        artifacts = spec["artifacts"].get("secondary-artifacts") or {"single": spec["artifacts"]}
        assert len(artifacts) == len(action["outputArtifacts"])


def test_existing_topics_are_used_as_given(run_program: Callable[..., Graph]):
    topics = {r: f"arn:aws:sns:{r}:111122223333:approvals" for r in REGIONS}

    def edit(ns: dict[str, Any]) -> None:
        ns["pipeline"]["notifications"] = {"topicArns": topics}

    graph = run_program("prod", edit=edit)
    assert graph.of_type("aws:sns/topic:Topic") == []
    for region in REGIONS:
        (approval,) = stages(graph, region)["Approval"]
        assert approval["configuration"]["NotificationArn"] == topics[region]
        assert graph.named(f"{region}-delivery-failed-target").inputs["arn"] == topics[region]


def test_a_stack_without_services_has_no_pipeline(run_program: Callable[..., Graph]):
    def edit(ns: dict[str, Any]) -> None:
        ns["services"] = []

    graph = run_program("dev", edit=edit)
    assert graph.of_type(PIPELINE) == []
    assert graph.outputs["regions"]["us-east-1"]["pipeline"] is None


# --- staging runs the candidate it was deployed --------------------------------------------------

IMAGES = "/devops-platform-prod/images"


def _image(service: str, commit: str) -> str:
    return f"123456789012.dkr.ecr.us-east-1.amazonaws.com/devops-platform-prod/{service}:{commit * 40}"


def _task_image(graph: Graph, name: str) -> str:
    (container,) = json.loads(graph.named(name).inputs["containerDefinitions"])
    return container["image"]


def test_a_pulumi_up_while_a_candidate_awaits_approval_keeps_it_on_staging(run_program: Callable[..., Graph]):
    """Production runs the released image (a); the staging deploy recorded the candidate (b) for auth
    and go-demo only. A pulumi up now must leave the candidate on staging, which the approver is
    reviewing, and the released image in production."""
    held = {f"{IMAGES}/{s}": _image(s, "a") for s in ("auth", "pdf", "go-demo")}
    held |= {f"{IMAGES}/staging/{s}": _image(s, "b") for s in ("auth", "go-demo")}
    graph = run_program("prod", ssm_parameters=held)
    region = "us-east-1"
    assert _task_image(graph, f"{region}-auth-staging-task") == _image("auth", "b")
    assert _task_image(graph, f"{region}-auth-task") == _image("auth", "a")
    # No candidate recorded for pdf's staging copy: the released image, then (users) the bootstrap image.
    assert _task_image(graph, f"{region}-pdf-staging-task") == _image("pdf", "a")
    assert _task_image(graph, f"{region}-users-staging-task") == "us-docker.pkg.dev/google-samples/containers/gke/hello-app:1.0"
    # The same on Lambda: staging's function runs the candidate, production's the released image.
    assert graph.named(f"{region}-go-demo-staging-function").inputs["imageUri"] == _image("go-demo", "b")
    assert graph.named(f"{region}-go-demo-function").inputs["imageUri"] == _image("go-demo", "a")


@pytest.mark.parametrize("region", REGIONS)
def test_the_staging_stage_records_each_candidate_after_deploying_it(prod: Graph, region: str):
    actions = stages(prod, region)["DeployStaging"]
    (record,) = [a for a in actions if a["name"] == "RecordStaging"]
    assert record["runOrder"] == 2 and all(a["runOrder"] == 1 for a in actions if a is not record)
    project = prod.named(f"{region}-delivery-staging-release").inputs
    assert record["configuration"]["ProjectName"] == project["name"]
    spec = "\n".join(yaml.safe_load(project["source"]["buildspec"])["phases"]["build"]["commands"])
    staged = sorted(a["name"] for a in actions if a is not record)
    for service in staged:
        assert f'--name "{IMAGES}/staging/{service}"' in spec
    # It may write exactly those parameters; the Release, exactly production's.
    policy = {s["Sid"]: s for s in _statements(prod, region)[f"{region}-delivery-staging-release-policy"]}
    parameter = f"arn:aws:ssm:{region}:123456789012:parameter{IMAGES}"
    assert policy["RecordStagedImages"]["Resource"] == [f"{parameter}/staging/{s}" for s in staged]
    release = {s["Sid"]: s for s in _statements(prod, region)[f"{region}-delivery-release-policy"]}
    released = sorted([*_service_names("prod"), *_service_names("prod", "on-demand")])
    assert release["RecordDeployedImages"]["Resource"] == [f"{parameter}/{s}" for s in released]


# --- base images through the account's pull-through cache --------------------------------------------

CACHE_RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
CACHE_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_build_pulls_base_images_through_the_regions_cache_of_ecr_public(graphs: dict[str, Graph], stack: str):
    import fnmatch

    from tests.test_examples import ALL_SERVICES, base_images

    graph = graphs[stack]
    prefix = f"ecr-public-{stack}"
    for region in REGIONS:
        rule = graph.named(f"{region}-delivery-base-image-cache")
        assert rule.inputs == {"ecrRepositoryPrefix": prefix, "upstreamRegistryUrl": "public.ecr.aws"}
        assert rule.provider == graph.named(f"{region}-delivery-build").provider
        template = graph.named(f"{region}-delivery-base-image-template")
        assert template.inputs["prefix"] == prefix and template.inputs["appliedFors"] == ["PULL_THROUGH_CACHE"]
        assert template.inputs["encryptionConfigurations"] == [{"encryptionType": "AES256"}]
        assert json.loads(template.inputs["lifecyclePolicy"])["rules"]
        # The template exists before the rule can create a repository, and both before a build runs.
        assert template.urn in rule.depends_on
        build = graph.named(f"{region}-delivery-build")
        assert {rule.urn, template.urn} <= set(build.depends_on)

        registry = f"123456789012.dkr.ecr.{region}.amazonaws.com"
        spec = "\n".join(yaml.safe_load(build.inputs["source"]["buildspec"])["phases"]["build"]["commands"])
        builds = [line for line in spec.splitlines() if "docker build" in line]
        assert builds and all(f'--build-arg BASE_REGISTRY="{registry}/{prefix}"' in line for line in builds)

        # Every base image every example pulls, through the cache, is a repository the build role
        # may create, import into and pull from; nothing outside the cache's namespace is.
        (cache,) = [s for s in _statements(graph, region)[f"{region}-delivery-build-policy"] if s["Sid"] == "PullBaseImagesThroughCache"]
        assert sorted(cache["Action"]) == [
            "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:BatchImportUpstreamImage",
            "ecr:CreateRepository", "ecr:GetDownloadUrlForLayer",
        ]  # fmt: skip
        arn = f"arn:aws:ecr:{region}:123456789012:repository/"
        for service in ALL_SERVICES:
            for image in base_images(service, {"BASE_REGISTRY": f"{registry}/{prefix}"}):
                repository = image.removeprefix(f"{registry}/").split(":")[0]
                assert fnmatch.fnmatchcase(arn + repository, cache["Resource"]), (image, cache["Resource"])
        assert not fnmatch.fnmatchcase(arn + "devops-platform-prod/auth", cache["Resource"])


def test_without_the_cache_the_build_pulls_as_the_dockerfiles_say_and_may_not_import(run_program: Callable[..., Graph]):
    def edit(ns: dict[str, Any]) -> None:
        ns["pipeline"].setdefault("build", {})["baseImageCache"] = {"enabled": False}

    graph = run_program("dev", edit=edit)
    assert graph.of_type(CACHE_RULE) == [] and graph.of_type(CACHE_TEMPLATE) == []
    for region in REGIONS:
        spec = graph.named(f"{region}-delivery-build").inputs["source"]["buildspec"]
        assert "docker build --tag" in spec and "BASE_REGISTRY" not in spec
        sids = {s["Sid"] for s in _statements(graph, region)[f"{region}-delivery-build-policy"]}
        assert "PullBaseImagesThroughCache" not in sids


def test_a_configured_cache_prefix_names_the_rule_the_template_and_the_grant(run_program: Callable[..., Graph]):
    def edit(ns: dict[str, Any]) -> None:
        ns["pipeline"].setdefault("build", {})["baseImageCache"] = {"prefix": "team-a/public"}

    graph = run_program("dev", edit=edit)
    region = "us-east-1"
    assert graph.named(f"{region}-delivery-base-image-cache").inputs["ecrRepositoryPrefix"] == "team-a/public"
    assert graph.named(f"{region}-delivery-base-image-template").inputs["prefix"] == "team-a/public"
    (cache,) = [s for s in _statements(graph, region)[f"{region}-delivery-build-policy"] if s["Sid"] == "PullBaseImagesThroughCache"]
    assert cache["Resource"] == f"arn:aws:ecr:{region}:123456789012:repository/team-a/public/*"
