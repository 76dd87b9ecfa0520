"""The policy pack (policy/): both stacks pass, every rule can fire, every exception is narrow,
and the CrossGuard pack wires every rule."""

from __future__ import annotations

import dataclasses
import json
import runpy
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from policy import rules
from policy.offline import evaluate_graph
from policy.rules import EXCEPTIONS, RULES, Resource

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"


def res(type_: str, logical: str = "x", /, *, id: str | None = None, **inputs: Any) -> Resource:
    return Resource(
        type=type_, name=logical, urn=f"urn:pulumi:prod::p::{type_}::{logical}", inputs=inputs, id=id
    )


def ids(resources: list[Resource], environment: str = "prod", has_certificate: bool = True) -> set[str]:
    return {
        v.rule_id for v in rules.evaluate(resources, environment=environment, has_certificate=has_certificate)
    }


# --- the stacks --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "dev", "prod_published", "dev_published"])
def test_stack_has_no_violations(stack: str, request: pytest.FixtureRequest) -> None:
    """Both stacks, before any image is published and in the steady state (services on Lambda run
    their images: Lambda.1, Lambda.2, Lambda.image and the VPC rules judge image functions)."""
    graph = request.getfixturevalue(stack)
    assert [(v.rule_id, v.urn, v.message) for v in evaluate_graph(graph)] == []


def test_exceptions_are_used_by_the_stacks(prod, dev) -> None:
    """Each written exception covers something real (else it is dead and should go)."""
    used = set()
    for graph in (prod, dev):
        from policy.offline import resources_of

        resources = resources_of(graph)
        ctx = rules.Context(resources, graph.stack, rules.has_certificate(resources))
        for rule in RULES:
            for r in resources:
                if r.type in rule.resource_types:
                    for m in rule.check(r, ctx):
                        e = rules.exception_for(rule.id, r, m, ctx)
                        if e is not None:
                            used.add(id(e))
    assert used == {id(e) for e in EXCEPTIONS}


def test_stack_evaluation_sees_a_broken_program(dev) -> None:
    """The zero-violation test can fail: a dev graph judged as prod breaks ELB.6 (and ELB.1)."""
    found = {v.rule_id for v in evaluate_graph(dev, environment="prod")}
    assert {"ELB.1", "ELB.6"} <= found


# --- one negative test per rule ----------------------------------------------------------------------

GOOD_LB = dict(
    loadBalancerType="application",
    dropInvalidHeaderFields=True,
    accessLogs={"bucket": "logs", "enabled": True},
    enableDeletionProtection=True,
    desyncMitigationMode="defensive",
    securityGroups=["sg-alb"],
)
GOOD_CONTAINER = {
    "name": "app",
    "privileged": False,
    "readonlyRootFilesystem": True,
    "environment": [{"name": "PORT", "value": "80"}],
    "logConfiguration": {"logDriver": "awslogs"},
}
GOOD_PROJECT = dict(
    name="p-release",
    environment={"privilegedMode": False, "environmentVariables": [{"name": "X", "value": "1"}]},
    logsConfig={"cloudwatchLogs": {"status": "ENABLED"}, "s3Logs": {"status": "DISABLED"}},
    source={"type": "CODEPIPELINE"},
)


WEIGHTED = [{"type": "forward", "forward": {"targetGroups": [{"arn": "arn:tg-a", "weight": 100}, {"arn": "arn:tg-b", "weight": 0}]}}]


def taskdef(**container: Any) -> Resource:
    return res(rules.ECS_TASKDEF, containerDefinitions=json.dumps([{**GOOD_CONTAINER, **container}]))


def role_policy(statement: dict[str, Any], name: str = "rp", role: str = "role-1") -> Resource:
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", **statement}]}
    return res(rules.IAM_ROLE_POLICY, name, role=role, policy=json.dumps(doc))


def bucket_set(*, pab: bool = True, tls: bool = True, sse: bool = True) -> list[Resource]:
    out = [res(rules.BUCKET, "b", id="bkt")]
    if pab:
        out.append(
            res(
                rules.BUCKET_PAB,
                "pab",
                bucket="bkt",
                blockPublicAcls=True,
                blockPublicPolicy=True,
                ignorePublicAcls=True,
                restrictPublicBuckets=True,
            )
        )
    if tls:
        doc = {
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": ["arn:aws:s3:::bkt", "arn:aws:s3:::bkt/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ]
        }
        out.append(res(rules.BUCKET_POLICY, "pol", bucket="bkt", policy=json.dumps(doc)))
    if sse:
        out.append(
            res(
                rules.BUCKET_SSE,
                "sse",
                bucket="bkt",
                rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}],
            )
        )
    return out


def vpc_set(*, flow: bool = True, default_sg: bool = True, sg_rules: bool = False) -> list[Resource]:
    out = [res(rules.VPC, "vpc", id="vpc-1")]
    if flow:
        out.append(res(rules.FLOW_LOG, "fl", vpcId="vpc-1", trafficType="ALL"))
    if default_sg:
        out.append(res(rules.DEFAULT_SG, "dsg", id="sg-d", vpcId="vpc-1", ingress=[], egress=[]))
    if sg_rules:
        out.append(
            res(
                rules.SG_INGRESS,
                "open",
                securityGroupId="sg-d",
                cidrIpv4="10.0.0.0/8",
                ipProtocol="tcp",
                fromPort=22,
                toPort=22,
            )
        )
    return out


def repo_set(*, lifecycle: bool = True) -> list[Resource]:
    out = [
        res(
            rules.ECR_REPO,
            "repo",
            id="p/app",
            name="p/app",
            imageScanningConfiguration={"scanOnPush": True},
            imageTagMutability="IMMUTABLE",
        )
    ]
    if lifecycle:
        out.append(
            res(
                rules.ECR_LIFECYCLE,
                "lc",
                repository="p/app",
                policy=json.dumps({"rules": [{"rulePriority": 1}]}),
            )
        )
    return out


IMAGE = "111122223333.dkr.ecr.us-east-1.amazonaws.com/devops-platform-dev/auth:" + "a" * 40
IN_VPC = {"subnetIds": ["subnet-1", "subnet-2"], "securityGroupIds": ["sg-1"]}
FUNCTION_ARN = "arn:aws:lambda:us-east-1:111122223333:function:devops-platform-dev-auth"


def pull_policy(condition: dict[str, Any] | None) -> dict[str, Any]:
    statement = {"Sid": "LambdaPulls", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                 "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}  # fmt: skip
    return {"Version": "2012-10-17", "Statement": [{**statement, **({"Condition": condition} if condition else {})}]}


# (rule id, good resources, bad resources): good must pass that rule, bad must break it.
CASES: list[tuple[str, list[Resource], list[Resource]]] = [
    (
        "ELB.1",
        [
            res(
                rules.LISTENER,
                protocol="HTTP",
                defaultActions=[{"type": "redirect", "redirect": {"protocol": "HTTPS", "port": "443"}}],
            )
        ],
        [res(rules.LISTENER, protocol="HTTP", defaultActions=[{"type": "fixed-response"}])],
    ),
    ("ELB.4", [res(rules.LB, **GOOD_LB)], [res(rules.LB, **{**GOOD_LB, "dropInvalidHeaderFields": False})]),
    (
        "ELB.5",
        [res(rules.LB, **GOOD_LB)],
        [res(rules.LB, **{**GOOD_LB, "accessLogs": {"bucket": "l", "enabled": False}})],
    ),
    ("ELB.6", [res(rules.LB, **GOOD_LB)], [res(rules.LB, **{**GOOD_LB, "enableDeletionProtection": False})]),
    ("ELB.12", [res(rules.LB, **GOOD_LB)], [res(rules.LB, **{**GOOD_LB, "desyncMitigationMode": "monitor"})]),
    (
        "WAF.alb",
        [
            res(rules.LB, "alb", id="arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1", **GOOD_LB),
            res(rules.WAF_ASSOCIATION, resourceArn="arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1"),
            res(rules.LB, "internal", **{**GOOD_LB, "internal": True}),  # not internet-facing: no WAF needed
        ],
        [
            res(rules.LB, "alb", id="arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/x/1", **GOOD_LB),
            res(rules.WAF_ASSOCIATION, resourceArn="arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/app/other/2"),
        ],
    ),
    (
        "ELB.17",
        [res(rules.LISTENER, protocol="HTTPS", sslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06")],
        [res(rules.LISTENER, protocol="HTTPS", sslPolicy="ELBSecurityPolicy-2016-08")],
    ),
    (
        "ECS.2",
        [res(rules.ECS_SERVICE, networkConfiguration={"assignPublicIp": False})],
        [res(rules.ECS_SERVICE, networkConfiguration={"assignPublicIp": True})],
    ),
    (
        "ECS.3",
        [taskdef()],
        [res(rules.ECS_TASKDEF, pidMode="host", containerDefinitions=json.dumps([GOOD_CONTAINER]))],
    ),
    ("ECS.4", [taskdef()], [taskdef(privileged=True)]),
    ("ECS.5", [taskdef()], [taskdef(readonlyRootFilesystem=False)]),
    ("ECS.8", [taskdef()], [taskdef(environment=[{"name": "AWS_SECRET_ACCESS_KEY", "value": "x"}])]),
    ("ECS.9", [taskdef()], [taskdef(logConfiguration=None)]),
    (
        "ECS.12",
        [res(rules.ECS_CLUSTER, settings=[{"name": "containerInsights", "value": "enabled"}])],
        [res(rules.ECS_CLUSTER, settings=[{"name": "containerInsights", "value": "disabled"}])],
    ),
    (
        "ECR.1",
        repo_set(),
        [
            res(
                rules.ECR_REPO,
                imageScanningConfiguration={"scanOnPush": False},
                imageTagMutability="IMMUTABLE",
            )
        ],
    ),
    (
        "ECR.2",
        repo_set(),
        [res(rules.ECR_REPO, imageScanningConfiguration={"scanOnPush": True}, imageTagMutability="MUTABLE")],
    ),
    ("ECR.3", repo_set(), repo_set(lifecycle=False)),
    (
        "ECR.cache",
        [
            res(rules.ECR_CACHE_RULE, ecrRepositoryPrefix="ecr-public-prod", upstreamRegistryUrl="public.ecr.aws"),
            res(
                rules.ECR_TEMPLATE,
                "tpl",
                prefix="ecr-public-prod",
                appliedFors=["PULL_THROUGH_CACHE"],
                encryptionConfigurations=[{"encryptionType": "AES256"}],
                lifecyclePolicy=json.dumps({"rules": [{"rulePriority": 1}]}),
            ),
        ],
        [
            res(rules.ECR_CACHE_RULE, ecrRepositoryPrefix="ecr-public-prod", upstreamRegistryUrl="public.ecr.aws"),
            # A template for another prefix, or for replication, does not cover the cache.
            res(rules.ECR_TEMPLATE, "tpl", prefix="other", appliedFors=["PULL_THROUGH_CACHE"]),
            res(rules.ECR_TEMPLATE, "tpl2", prefix="ecr-public-prod", appliedFors=["REPLICATION"]),
        ],
    ),
    ("EC2.2", vpc_set(), vpc_set(sg_rules=True)),
    ("EC2.6", vpc_set(), vpc_set(flow=False)),
    ("EC2.15", [res(rules.SUBNET, mapPublicIpOnLaunch=False)], [res(rules.SUBNET, mapPublicIpOnLaunch=True)]),
    (
        "EC2.18",
        [
            res(rules.LB, **GOOD_LB),
            res(
                rules.SG_INGRESS,
                securityGroupId="sg-alb",
                cidrIpv4="0.0.0.0/0",
                ipProtocol="tcp",
                fromPort=443,
                toPort=443,
            ),
        ],
        [
            res(rules.LB, **GOOD_LB),
            res(
                rules.SG_INGRESS,
                securityGroupId="sg-alb",
                cidrIpv4="0.0.0.0/0",
                ipProtocol="tcp",
                fromPort=22,
                toPort=22,
            ),
        ],
    ),
    ("S3.8", bucket_set(), bucket_set(pab=False)),
    ("S3.5", bucket_set(), bucket_set(tls=False)),
    ("S3.encryption", bucket_set(), bucket_set(sse=False)),
    ("SNS.1", [res(rules.SNS_TOPIC, kmsMasterKeyId="alias/aws/sns")], [res(rules.SNS_TOPIC, name="t")]),
    (
        "SQS.1",
        [res(rules.SQS_QUEUE, sqsManagedSseEnabled=True)],
        [res(rules.SQS_QUEUE, sqsManagedSseEnabled=False)],
    ),
    (
        "Lambda.1",
        [
            res(
                rules.LAMBDA_PERMISSION,
                principal="events.amazonaws.com",
                sourceArn="arn:aws:events:us-east-1:1:rule/r",
            )
        ],
        [res(rules.LAMBDA_PERMISSION, principal="events.amazonaws.com")],
    ),
    (
        "Lambda.2",
        [res(rules.LAMBDA_FUNCTION, runtime="python3.13")],
        [res(rules.LAMBDA_FUNCTION, runtime="python3.8")],
    ),
    (
        "CodeBuild.1",
        [res(rules.CODEBUILD, **GOOD_PROJECT)],
        [
            res(
                rules.CODEBUILD,
                **{**GOOD_PROJECT, "source": {"type": "GITHUB", "location": "https://u:p@github.com/o/r"}},
            )
        ],
    ),
    (
        "CodeBuild.2",
        [res(rules.CODEBUILD, **GOOD_PROJECT)],
        [
            res(
                rules.CODEBUILD,
                **{
                    **GOOD_PROJECT,
                    "environment": {"environmentVariables": [{"name": "AWS_ACCESS_KEY_ID", "value": "AKIA"}]},
                },
            )
        ],
    ),
    (
        "CodeBuild.3",
        [res(rules.CODEBUILD, **GOOD_PROJECT)],
        [
            res(
                rules.CODEBUILD,
                **{
                    **GOOD_PROJECT,
                    "logsConfig": {"s3Logs": {"status": "ENABLED", "encryptionDisabled": True}},
                },
            )
        ],
    ),
    (
        "CodeBuild.4",
        [res(rules.CODEBUILD, **GOOD_PROJECT)],
        [res(rules.CODEBUILD, **{**GOOD_PROJECT, "logsConfig": {"cloudwatchLogs": {"status": "DISABLED"}}})],
    ),
    (
        "CodeBuild.5",
        [res(rules.CODEBUILD, **GOOD_PROJECT)],
        [res(rules.CODEBUILD, **{**GOOD_PROJECT, "environment": {"privilegedMode": True}})],
    ),
    (
        "IAM.21",
        [role_policy({"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})],
        [role_policy({"Action": "s3:*", "Resource": "arn:aws:s3:::b/*"})],
    ),
    (
        "IAM.resources",
        [role_policy({"Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"})],
        [role_policy({"Action": "s3:GetObject", "Resource": "*"})],
    ),
    (
        "Deploy.rollback",
        [
            res(rules.ECS_SERVICE, deploymentConfiguration={"strategy": "CANARY"},
                alarms={"enable": True, "rollback": True, "alarmNames": ["svc-5xx"]}),
            res(rules.ECS_SERVICE, deploymentCircuitBreaker={"enable": True, "rollback": True}),
        ],
        [
            res(rules.ECS_SERVICE, deploymentConfiguration={"strategy": "LINEAR"}),
            res(rules.ECS_SERVICE, deploymentConfiguration={"strategy": "BLUE_GREEN"},
                alarms={"enable": True, "rollback": False, "alarmNames": ["svc-5xx"]}),
        ],
    ),
    (
        "Deploy.weights",
        [
            dataclasses.replace(res(rules.LISTENER_RULE, actions=WEIGHTED), ignore_changes=("actions",)),
            res(rules.LISTENER_RULE, actions=[{"type": "forward", "targetGroupArn": "arn:tg-a"}]),
        ],
        [
            res(rules.LISTENER_RULE, actions=WEIGHTED),
            dataclasses.replace(res(rules.LISTENER_RULE, actions=WEIGHTED), ignore_changes=("conditions",)),
        ],
    ),
    (
        "Lambda.image",
        [
            res(rules.LAMBDA_FUNCTION, packageType="Image", region="us-east-1", imageUri=IMAGE, vpcConfig=IN_VPC,
                role="arn:aws:iam::111122223333:role/fn"),
            res(rules.LAMBDA_FUNCTION, packageType="Zip", runtime="python3.13"),  # the 503 stub: Lambda.2's
        ],
        [
            res(rules.LAMBDA_FUNCTION, packageType="Image", region="us-east-1", imageUri="public.ecr.aws/nginx/nginx:1.27", vpcConfig=IN_VPC),
            res(rules.LAMBDA_FUNCTION, packageType="Image", region="us-east-2", imageUri=IMAGE, vpcConfig=IN_VPC),
            res(rules.LAMBDA_FUNCTION, packageType="Image", region="us-east-1", imageUri=IMAGE),
            res(rules.LAMBDA_FUNCTION, packageType="Image", region="us-east-1", imageUri=IMAGE,
                vpcConfig={"subnetIds": ["subnet-1"], "securityGroupIds": []}),
            res(rules.LAMBDA_FUNCTION, packageType="Image", region="us-east-1", imageUri=IMAGE, vpcConfig=IN_VPC,
                role="arn:aws:iam::444455556666:role/fn"),  # another account's image
        ],
    ),
    (
        "ECR.policy",
        [res(rules.ECR_POLICY, policy=json.dumps(pull_policy({"StringLike": {"aws:sourceArn": [FUNCTION_ARN, FUNCTION_ARN + ":*"]}})))],
        [
            res(rules.ECR_POLICY, policy=json.dumps(pull_policy(None))),
            res(rules.ECR_POLICY, policy=json.dumps(pull_policy({"StringLike": {"aws:sourceArn": "arn:aws:lambda:us-east-1:111122223333:function:*"}}))),
            res(rules.ECR_POLICY, policy=json.dumps(pull_policy({"StringLike": {"aws:sourceArn": "arn:aws:lambda:*:*:*"}}))),
            res(rules.ECR_POLICY, policy=json.dumps(pull_policy({"StringLike": {"aws:sourceArn": [FUNCTION_ARN, "arn:aws:lambda:us-east-1:111122223333:function:prod-*"]}}))),
            res(rules.ECR_POLICY, policy=json.dumps({"Statement": [{"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]})),
        ],
    ),
    ("KMS.4", [res(rules.KMS_KEY, enableKeyRotation=True)], [res(rules.KMS_KEY, enableKeyRotation=False)]),
    (
        "ECR.kms",
        [res(rules.ECR_REPO, encryptionConfigurations=[{"encryptionType": "KMS", "kmsKey": "arn:k"}])],
        [res(rules.ECR_REPO, encryptionConfigurations=[{"encryptionType": "AES256"}])],
    ),
    ("CloudWatch.kms", [res(rules.LOG_GROUP, kmsKeyId="arn:k", retentionInDays=30)], [res(rules.LOG_GROUP, retentionInDays=30)]),
    (
        "ELB.targets-tls",
        [res(rules.TARGET_GROUP, protocol="HTTPS", targetType="ip"), res(rules.TARGET_GROUP, targetType="lambda")],
        [res(rules.TARGET_GROUP, protocol="HTTP", targetType="ip")],
    ),
    (
        "S3.14",
        [res(rules.BUCKET, "b", id="b"), res(rules.BUCKET_VERSIONING, bucket="b", versioningConfiguration={"status": "Enabled"})],
        [res(rules.BUCKET, "b", id="b"), res(rules.BUCKET_VERSIONING, bucket="b", versioningConfiguration={"status": "Suspended"})],
    ),
    (
        "S3.9",
        [res(rules.BUCKET, "b", id="b"), res(rules.BUCKET_LOGGING, bucket="b", targetBucket="logs")],
        [res(rules.BUCKET, "b", id="b")],
    ),
    (
        "Lambda.vpc",
        [res(rules.LAMBDA_FUNCTION, vpcConfig=IN_VPC, runtime="python3.13")],
        [res(rules.LAMBDA_FUNCTION, runtime="python3.13")],
    ),
    (
        "S3.kms",
        [res(rules.BUCKET, "b", id="b"), res(rules.BUCKET_SSE, bucket="b", rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}])],
        [res(rules.BUCKET, "b", id="b"), res(rules.BUCKET_SSE, bucket="b", rules=[{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}])],
    ),
    ("CloudWatch.16", [res(rules.LOG_GROUP, retentionInDays=365)], [res(rules.LOG_GROUP, retentionInDays=30)]),
    (
        "IAM.trust",
        [res(rules.IAM_ROLE, assumeRolePolicy=json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"},
                                                                          "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}}]}))],
        [res(rules.IAM_ROLE, assumeRolePolicy=json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"},
                                                                          "Action": "sts:AssumeRole"}]}))],
    ),
    ("CloudWatch.retention", [res(rules.LOG_GROUP, retentionInDays=30)], [res(rules.LOG_GROUP, name="/x")]),
]


def test_every_rule_has_a_case() -> None:
    assert sorted(c[0] for c in CASES) == sorted(r.id for r in RULES)
    assert len({r.id for r in RULES}) == len(RULES)


@pytest.mark.parametrize(("rule_id", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_rule_flags_a_bad_resource(rule_id: str, good: list[Resource], bad: list[Resource]) -> None:
    assert rule_id not in ids(good)
    violations = rules.evaluate(bad, environment="prod", has_certificate=True)
    assert rule_id in {v.rule_id for v in violations}
    assert all(v.message and v.urn.startswith("urn:pulumi:") for v in violations)


# --- every exception is narrow ------------------------------------------------------------------------


def _exc(rule_id: str, type_: str, words: str) -> rules.PolicyException:
    found = [e for e in EXCEPTIONS if e.rule_id == rule_id and e.resource_type == type_ and words in e.reason]
    assert len(found) == 1, (rule_id, words)
    return found[0]


def test_exceptions_are_written_and_narrow() -> None:
    section = (ROOT / "docs" / "security.md").read_text()
    section = " ".join(section.replace("**", "").replace("`", "").split())
    for e in EXCEPTIONS:
        assert e.reason.startswith("Exception: "), e
        assert e.rule_id in rules.RULES_BY_ID
        assert e.resource_type in rules.RULES_BY_ID[e.rule_id].resource_types
        # The reason quotes the written exception in docs/security.md (its first clause, markup removed).
        head = e.reason.removeprefix("Exception: ").split(":")[0].split(" (")[0].split(",")[0]
        assert " ".join(head.split()) in section, head


PLAIN_HTTP = res(rules.LISTENER, protocol="HTTP", defaultActions=[{"type": "fixed-response"}])


@pytest.mark.parametrize(
    ("environment", "has_certificate", "flagged"),
    [("dev", False, False), ("prod", False, True), ("dev", True, True)],
)
def test_elb1_exception_only_for_dev_without_certificate(
    environment: str, has_certificate: bool, flagged: bool
) -> None:
    assert ("ELB.1" in ids([PLAIN_HTTP], environment, has_certificate)) is flagged


def test_elb6_exception_only_outside_prod() -> None:
    lb = res(rules.LB, **{**GOOD_LB, "enableDeletionProtection": False})
    assert "ELB.6" not in ids([lb], "dev")
    assert "ELB.6" in ids([lb], "prod")
    # The exception is ELB.6's only: the same dev LB without access logs still breaks ELB.5.
    assert "ELB.5" in ids([res(rules.LB, **{**GOOD_LB, "accessLogs": None})], "dev")


def test_codebuild5_exception_only_for_build_projects() -> None:
    def project(logical: str, name: str) -> Resource:
        return res(
            rules.CODEBUILD,
            logical,
            **{**GOOD_PROJECT, "name": name, "environment": {"privilegedMode": True}},
        )

    assert "CodeBuild.5" not in ids([project("us-east-1-delivery-build", "p-prod-build")])
    assert "CodeBuild.5" not in ids([project("us-east-1-delivery-build-2", "p-prod-build-2")])
    assert "CodeBuild.5" in ids([project("us-east-1-delivery-release", "p-prod-release")])
    assert "CodeBuild.5" in ids([project("us-east-1-delivery-builder", "p-prod-builder")])


@pytest.mark.parametrize(
    ("statement", "flagged"),
    [
        ({"Action": "ecr:GetAuthorizationToken", "Resource": "*"}, False),
        ({"Action": ["ecr:GetAuthorizationToken", "ecr:BatchGetImage"], "Resource": "*"}, True),
        ({"Action": "ecs:DescribeTaskDefinition", "Resource": "*"}, False),
        ({"Action": ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"], "Resource": "*"}, True),
        ({"Action": "ecs:UpdateService", "Resource": "*"}, True),
        (
            {
                "Action": "ecs:ListTasks",
                "Resource": "*",
                "Condition": {"ArnEquals": {"ecs:cluster": "arn:c"}},
            },
            False,
        ),
        ({"Action": "ecs:ListTasks", "Resource": "*"}, True),
        ({"Action": "elasticloadbalancing:DescribeTargetHealth", "Resource": "*"}, False),
        ({"Action": "elasticloadbalancing:RegisterTargets", "Resource": "*"}, True),
        (
            {
                "Action": "cloudwatch:PutMetricData",
                "Resource": "*",
                "Condition": {"StringEquals": {"cloudwatch:namespace": "DevOpsPlatform/Replication"}},
            },
            False,
        ),
        ({"Action": "cloudwatch:PutMetricData", "Resource": "*"}, True),
    ],
)
def test_star_resource_exceptions_are_narrow(statement: dict[str, Any], flagged: bool) -> None:
    assert ("IAM.resources" in ids([role_policy(statement)])) is flagged


def test_eni_exception_only_for_a_vpc_functions_role() -> None:
    statement = {"Action": ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"], "Resource": "*"}
    policy = role_policy(statement, role="fn-role")
    in_vpc = res(
        rules.LAMBDA_FUNCTION,
        "fn",
        runtime="python3.13",
        role=f"arn:aws:iam::{ACCOUNT}:role/fn-role",
        vpcConfig={"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]},
    )
    no_vpc = res(
        rules.LAMBDA_FUNCTION, "fn", runtime="python3.13", role=f"arn:aws:iam::{ACCOUNT}:role/fn-role"
    )
    other_role = res(
        rules.LAMBDA_FUNCTION,
        "fn",
        runtime="python3.13",
        role=f"arn:aws:iam::{ACCOUNT}:role/other",
        vpcConfig={"subnetIds": ["subnet-1"]},
    )
    assert "IAM.resources" not in ids([policy, in_vpc])
    assert "IAM.resources" in ids([policy, no_vpc])
    assert "IAM.resources" in ids([policy, other_role])
    # ENI actions plus another action on "*" in the same statement: the other action is flagged.
    wider = role_policy({**statement, "Action": [*statement["Action"], "ec2:RunInstances"]}, role="fn-role")
    assert {v.message for v in rules.evaluate([wider, in_vpc], environment="prod", has_certificate=True)} == {
        "policy: Allow 'ec2:RunInstances' on Resource '*'"
    }


def test_kms_root_exception_is_a_key_policy_root_statement_only() -> None:
    def key(principal: Any, action: Any = "kms:*") -> Resource:
        doc = {"Statement": [{"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "*"}]}
        return res(rules.KMS_KEY, enableKeyRotation=True, policy=json.dumps(doc))

    assert "IAM.21" not in ids([key({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})])
    assert "IAM.21" in ids([key({"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"})])
    assert "IAM.21" in ids([key({"AWS": "*"})])
    assert "IAM.21" in ids([key({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "*")])
    # A role policy granting kms:* is never excepted, whatever it names.
    assert "IAM.21" in ids(
        [role_policy({"Action": "kms:*", "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k"})]
    )


def test_ec2_18_allows_80_443_only_on_a_load_balancer_group() -> None:
    lb = res(rules.LB, **GOOD_LB)
    open_443 = dict(cidrIpv4="0.0.0.0/0", ipProtocol="tcp", fromPort=443, toPort=443)
    assert "EC2.18" not in ids([lb, res(rules.SG_INGRESS, securityGroupId="sg-alb", **open_443)])
    assert "EC2.18" in ids([lb, res(rules.SG_INGRESS, securityGroupId="sg-app", **open_443)])
    assert "EC2.18" in ids(
        [lb, res(rules.SG_INGRESS, securityGroupId="sg-alb", **{**open_443, "toPort": 444})]
    )
    assert "EC2.18" in ids(
        [lb, res(rules.SG_INGRESS, securityGroupId="sg-alb", **{**open_443, "ipProtocol": "-1"})]
    )


def test_companions_link_by_dependency_when_names_are_unknown() -> None:
    """In a preview the bucket's name is unknown: the PAB links through its property dependency."""
    bucket = res(rules.BUCKET, "b")
    pab = Resource(
        rules.BUCKET_PAB,
        "pab",
        "urn:pab",
        {
            "bucket": rules.UNKNOWN,
            "blockPublicAcls": True,
            "blockPublicPolicy": True,
            "ignorePublicAcls": True,
            "restrictPublicBuckets": True,
        },
        property_dependencies={"bucket": (bucket.urn,)},
    )
    other = Resource(
        rules.BUCKET_PAB, "pab", "urn:pab", dict(pab.inputs), property_dependencies={"bucket": ("urn:other",)}
    )
    assert "S3.8" not in ids([bucket, pab])
    assert "S3.8" in ids([bucket, other])


# --- the CrossGuard pack -------------------------------------------------------------------------------


class _Policy:
    def __init__(
        self, name: str, description: str, validate: Any, enforcement_level: Any = None, **_: Any
    ) -> None:
        self.name, self.description, self.validate, self.enforcement_level = (
            name,
            description,
            validate,
            enforcement_level,
        )


class _Args:
    def __init__(self, r: Resource) -> None:
        self.resource_type, self.urn, self.name = r.type, r.urn, r.name
        self.props = {**r.inputs, **({"id": r.id} if r.id else {})}  # outputs carry the id
        self.dependencies: list[Any] = []
        self.property_dependencies: dict[str, Any] = {}
        self.opts = types.SimpleNamespace(ignore_changes=list(r.ignore_changes))


@pytest.fixture
def pack(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """policy/__main__.py run against a stub pulumi_policy that records the PolicyPack."""
    stub = types.ModuleType("pulumi_policy")
    made: dict[str, Any] = {}
    stub.EnforcementLevel = types.SimpleNamespace(MANDATORY="mandatory", ADVISORY="advisory")
    stub.ResourceValidationPolicy = type("ResourceValidationPolicy", (_Policy,), {})
    stub.StackValidationPolicy = type("StackValidationPolicy", (_Policy,), {})
    stub.PolicyPack = lambda **kw: made.update(kw)
    monkeypatch.setitem(sys.modules, "pulumi_policy", stub)
    runpy.run_path(str(ROOT / "policy" / "__main__.py"), run_name="__main__")
    return made


def test_pack_wires_every_rule_once(pack: dict[str, Any]) -> None:
    policies = pack["policies"]
    assert [p.name for p in policies] == [r.id for r in RULES]
    assert all(p.enforcement_level == "mandatory" for p in policies)
    for p, rule in zip(policies, RULES, strict=True):
        assert type(p).__name__ == ("StackValidationPolicy" if rule.stack else "ResourceValidationPolicy")
        assert p.description == rule.description


@pytest.mark.parametrize(("rule_id", "good", "bad"), CASES, ids=[c[0] for c in CASES])
def test_pack_policies_report_what_evaluate_reports(
    pack: dict[str, Any], rule_id: str, good: list[Resource], bad: list[Resource]
) -> None:
    policy = next(p for p in pack["policies"] if p.name == rule_id)

    def run(resources: list[Resource]) -> list[tuple[str, str]]:
        reported: list[tuple[str, str]] = []
        report = lambda message, urn=None: reported.append((message, urn))  # noqa: E731
        if type(policy).__name__ == "StackValidationPolicy":
            policy.validate(types.SimpleNamespace(resources=[_Args(r) for r in resources]), report)
        else:
            for r in resources:
                policy.validate(_Args(r), report)
        return reported

    assert run(good) == []
    reported = run(bad)
    assert reported and all(m.startswith(f"[{rule_id}] ") for m, _ in reported)


def test_pack_runs_unknowns_without_judging_them(pack: dict[str, Any]) -> None:
    class Proxy(dict):
        def __getitem__(self, key: str) -> Any:
            raise RuntimeError("unknown")  # what UnknownValueError does on access

    policy = next(p for p in pack["policies"] if p.name == "ELB.17")
    reported: list[Any] = []
    args = _Args(res(rules.LISTENER, protocol="HTTPS"))
    args.props = Proxy(protocol="HTTPS", sslPolicy="x")
    policy.validate(args, lambda *a: reported.append(a))
    assert reported == []


def test_the_synth_policy_flag_passes_both_stacks_and_fails_listing_a_violation(prod, capsys):
    """``python -m ops synth <stack> --policy``: the same rules over the synth graph."""
    import dataclasses
    import io

    from ops import synth

    out = io.StringIO()
    assert synth._policy(prod, "prod", out) == synth.EXIT_OK
    assert "0 violations" in out.getvalue()
    mutable = [
        dataclasses.replace(r, inputs={**r.inputs, "imageTagMutability": "MUTABLE"})
        if r.type == "aws:ecr/repository:Repository" and r.name == "us-east-1-auth-registry-repository"
        else r
        for r in prod.resources
    ]
    out = io.StringIO()
    assert synth._policy(dataclasses.replace(prod, resources=mutable), "prod", out) == synth.EXIT_POLICY
    assert "ECR.2" in out.getvalue() and "us-east-1-auth-registry-repository" in out.getvalue()


def test_the_pack_runs_with_the_real_crossguard_sdk(monkeypatch):
    """policy/__main__.py with pulumi-policy itself: each rule becomes a mandatory policy of the
    right kind, and a policy's own validate reports what the rule finds."""
    import runpy
    from types import SimpleNamespace

    import pulumi_policy

    made: dict = {}
    monkeypatch.setattr(pulumi_policy, "PolicyPack", lambda **kw: made.update(kw))  # no gRPC server
    runpy.run_path(str(ROOT / "policy" / "__main__.py"), run_name="__main__")
    policies = {p.name: p for p in made["policies"]}
    assert sorted(policies) == sorted(r.id for r in rules.RULES)
    for rule in rules.RULES:
        kind = pulumi_policy.StackValidationPolicy if rule.stack else pulumi_policy.ResourceValidationPolicy
        assert isinstance(policies[rule.id], kind), rule.id
    assert made["enforcement_level"] == pulumi_policy.EnforcementLevel.MANDATORY

    def report(mutability: str) -> list[str]:
        found: list[str] = []
        args = SimpleNamespace(
            resource_type="aws:ecr/repository:Repository",
            props={"imageTagMutability": mutability, "imageScanningConfiguration": {"scanOnPush": True}},
            urn="urn:pulumi:prod::devops-platform::aws:ecr/repository:Repository::r",
            name="r",
        )
        policies["ECR.2"].validate(args, lambda message, urn=None: found.append(message))
        return found

    assert report("IMMUTABLE") == []
    assert report("MUTABLE") and "ECR.2" in report("MUTABLE")[0]


@pytest.mark.parametrize("rule_id", ["Lambda.image", "ECR.policy"])
def test_each_bad_case_of_the_lambda_compute_rules_is_flagged_on_its_own(rule_id: str) -> None:
    """Every bad resource of these rules' cases breaks the rule by itself (not only one of them)."""
    (case,) = [c for c in CASES if c[0] == rule_id]
    for bad in case[2]:
        assert rule_id in ids([bad]), bad.inputs
