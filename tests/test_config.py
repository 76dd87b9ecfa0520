"""The stack config model: the stack files parse, and every kind of mistake is caught by key."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from ops import harness
from stack_config import ConfigError, read_pulumi_namespace, validate
from stack_config.model import StackConfig
from tests.conftest import PROJECT, assert_refused, encode, namespace_of

ROOT = Path(__file__).resolve().parent.parent


def test_prod_stack_file_matches_the_seeds():
    cfg = validate(namespace_of("prod"), PROJECT)
    assert cfg.environment == "prod"
    assert [(r.name, r.role, r.vpc_cidr, r.az_count) for r in cfg.regions] == [
        ("us-east-1", "primary", "10.0.0.0/16", 2),
        ("us-east-2", "secondary", "10.1.0.0/16", 2),
    ]
    assert cfg.network.nat_strategy == "perAz"
    east1 = cfg.regions[0].subnet_plan()
    assert east1.public == ("10.0.1.0/24", "10.0.2.0/24")
    assert east1.private == ("10.0.11.0/24", "10.0.12.0/24")


def test_dev_stack_file_has_two_regions_with_a_single_nat():
    cfg = validate(namespace_of("dev"), PROJECT)
    assert len(cfg.regions) == 2
    assert cfg.network.nat_strategy == "single"
    assert cfg.primary.name == "us-east-1"


def test_defaults_are_the_documented_ones():
    cfg = validate(
        {"environment": "qa", "regions": [{"name": "eu-west-1", "role": "primary", "vpcCidr": "10.9.0.0/16"}]},
        PROJECT,
    )
    assert cfg.name == "devops-platform"
    assert cfg.regions[0].az_count == 2
    assert cfg.network.nat_strategy == "perAz"
    assert cfg.network.flow_logs.enabled and cfg.network.flow_logs.retention_days == 365
    assert cfg.network.gateway_endpoints == ["s3"]
    assert cfg.network.interface_endpoints == []


def test_derived_subnet_plan_is_stable_when_az_count_grows():
    base = {"environment": "qa", "regions": [{"name": "us-east-1", "role": "primary", "vpcCidr": "10.9.0.0/16"}]}
    two = validate(base, PROJECT).regions[0].subnet_plan()
    three_cfg = copy.deepcopy(base)
    three_cfg["regions"][0]["azCount"] = 3
    three = validate(three_cfg, PROJECT).regions[0].subnet_plan()
    assert three.public[:2] == two.public and three.private[:2] == two.private
    assert two.public == ("10.9.0.0/20", "10.9.16.0/20")
    assert two.private == ("10.9.128.0/20", "10.9.144.0/20")


# --- every mistake the issue lists, each with the key path it must name ------------------------

Edit = Callable[[dict[str, Any]], None]


def region(i: int, **changes: Any) -> Edit:
    def edit(ns: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is _DROP:
                ns["regions"][i].pop(key, None)
            else:
                ns["regions"][i][key] = value

    return edit


def top(**changes: Any) -> Edit:
    def edit(ns: dict[str, Any]) -> None:
        for key, value in changes.items():
            if value is _DROP:
                ns.pop(key, None)
            else:
                ns[key] = value

    return edit


_DROP = object()


def service(i: int, **changes: Any) -> Edit:
    def edit(ns: dict[str, Any]) -> None:
        ns["services"][i].update(changes)

    return edit


def deployment(i: int, **changes: Any) -> Edit:
    """Update services[i].deployment (created if absent); ``_DROP`` removes a key."""

    def edit(ns: dict[str, Any]) -> None:
        entry = ns["services"][i].setdefault("deployment", {})
        entry.update(changes)
        for k in [k for k, v in entry.items() if v is _DROP]:
            del entry[k]

    return edit


def function(i: int, **changes: Any) -> Edit:
    def edit(ns: dict[str, Any]) -> None:
        ns["functions"][i].update(changes)

    return edit


def load_balancer(**changes: Any) -> Edit:
    def edit(ns: dict[str, Any]) -> None:
        ns.setdefault("loadBalancer", {}).update(changes)

    return edit


def both(*edits: Edit) -> Edit:
    def edit(ns: dict[str, Any]) -> None:
        for e in edits:
            e(ns)

    return edit


def section(key: str, **changes: Any) -> Edit:
    """Update a top-level section (created if absent); ``_DROP`` removes a key."""

    def edit(ns: dict[str, Any]) -> None:
        entry = ns.setdefault(key, {})
        entry.update(changes)
        for k in [k for k, v in entry.items() if v is _DROP]:
            del entry[k]

    return edit


def list_entry(key: str, items: str, i: int, **changes: Any) -> Edit:
    """Update entry ``i`` of ``ns[key][items]``; ``_DROP`` removes a key."""

    def edit(ns: dict[str, Any]) -> None:
        entry = ns[key][items][i]
        entry.update(changes)
        for k in [k for k, v in entry.items() if v is _DROP]:
            del entry[k]

    return edit


def pipeline(**changes: Any) -> Edit:
    return section("pipeline", **changes)


def stage(i: int, **changes: Any) -> Edit:
    return list_entry("pipeline", "stages", i, **changes)


def launcher(**changes: Any) -> Edit:
    return section("taskLauncher", **changes)


def schedule(i: int, **changes: Any) -> Edit:
    return list_entry("taskLauncher", "schedules", i, **changes)


def replication(**changes: Any) -> Edit:
    return section("replication", **changes)


def all_services(**changes: Any) -> Edit:
    def edit(ns: dict[str, Any]) -> None:
        for svc in ns["services"]:
            svc.update(changes)

    return edit


CONNECTION = "arn:aws:codeconnections:us-east-1:111122223333:connection/0f0f0f0f-1111-2222-3333-444455556666"
SHORT = [{"name": "Source", "type": "source"}, {"name": "Build", "type": "build"}, {"name": "Deploy", "type": "deploy"}]
CERT = "arn:aws:acm:{}:111122223333:certificate/0f0f0f0f-1111-2222-3333-444455556666"

BAD_CONFIGS: list[tuple[str, Edit, str, str]] = [
    # (case id, edit of the prod config, key path the error must start with, text it must contain)
    ("typo-in-region-entry", region(0, vpcCdir="10.0.0.0/16"), "regions[0] (us-east-1).vpcCdir", "did you mean vpcCidr"),
    ("snake-case-key", region(0, az_count=2), "regions[0] (us-east-1).az_count", "unknown key"),
    ("typo-at-top-level", top(regoins=[]), "regoins", "did you mean regions"),
    ("missing-vpc-cidr", region(1, vpcCidr=_DROP), "regions[1] (us-east-2).vpcCidr", "missing"),
    ("missing-role", region(0, role=_DROP), "regions[0] (us-east-1).role", "missing"),
    ("missing-regions", top(regions=_DROP), "regions", "missing"),
    ("missing-environment", top(environment=_DROP), "environment", "missing"),
    ("not-a-region", region(1, name="us-east-7"), "regions[1] (us-east-7).name", 'got "us-east-7"'),
    ("region-typo", region(0, name="useast-1"), "regions[0] (useast-1).name", "AWS region"),
    ("cidr-garbage", region(0, vpcCidr="banana"), "regions[0] (us-east-1).vpcCidr", 'got "banana"'),
    ("cidr-bad-prefix", region(0, vpcCidr="10.0.0.0/33"), "regions[0] (us-east-1).vpcCidr", "/16 to /28"),
    ("cidr-host-bits", region(0, vpcCidr="10.0.0.1/16"), "regions[0] (us-east-1).vpcCidr", "did you mean 10.0.0.0/16"),
    ("cidr-too-large", region(0, vpcCidr="10.0.0.0/12"), "regions[0] (us-east-1).vpcCidr", 'got "10.0.0.0/12"'),
    ("cidr-too-small", region(0, vpcCidr="10.0.0.0/29"), "regions[0] (us-east-1).vpcCidr", "/16 to /28"),
    ("cidr-public-range", region(0, vpcCidr="8.8.0.0/16"), "regions[0] (us-east-1).vpcCidr", "private range"),
    ("cidr-cgnat-range", region(0, vpcCidr="100.64.0.0/16"), "regions[0] (us-east-1).vpcCidr", "private range"),
    ("cidr-not-a-string", region(0, vpcCidr=10), "regions[0] (us-east-1).vpcCidr", "got 10"),
    ("cidrs-overlap", region(1, vpcCidr="10.0.128.0/17"), "regions[1] (us-east-2).vpcCidr", "does not overlap regions[0] (us-east-1).vpcCidr (10.0.0.0/16)"),
    ("no-regions", top(regions=[]), "regions", "got []"),
    ("no-primary", region(0, role="secondary"), "regions", "exactly one region with role primary"),
    ("two-primaries", region(1, role="primary"), "regions[1] (us-east-2).role", "exactly one region may be primary"),
    ("repeated-region", region(1, name="us-east-1"), "regions[1] (us-east-1).name", "not already listed"),
    ("unknown-role", region(1, role="standby"), "regions[1] (us-east-2).role", "primary or secondary"),
    ("az-count-low", region(0, azCount=1), "regions[0] (us-east-1).azCount", "from 2 to 6"),
    ("az-count-high", region(0, azCount=7), "regions[0] (us-east-1).azCount", "from 2 to 6"),
    ("az-count-fraction", region(0, azCount=2.5), "regions[0] (us-east-1).azCount", "whole number"),
    ("az-count-float", region(0, azCount=2.0), "regions[0] (us-east-1).azCount", "whole number"),
    ("az-count-text", region(0, azCount="2"), "regions[0] (us-east-1).azCount", "whole number"),
    ("az-count-bool", region(0, azCount=True), "regions[0] (us-east-1).azCount", "whole number"),
    (
        "plan-outside-vpc",
        region(0, subnets={"public": ["10.0.1.0/24", "10.9.2.0/24"], "private": ["10.0.11.0/24", "10.0.12.0/24"]}),
        "regions[0] (us-east-1).subnets.public[1]",
        "inside the VPC 10.0.0.0/16",
    ),
    (
        "plan-overlaps-itself",
        region(0, subnets={"public": ["10.0.1.0/24", "10.0.2.0/24"], "private": ["10.0.2.0/25", "10.0.12.0/24"]}),
        "regions[0] (us-east-1).subnets.private[0]",
        "does not overlap regions[0] (us-east-1).subnets.public[1]",
    ),
    (
        "plan-wrong-count",
        region(0, subnets={"public": ["10.0.1.0/24"], "private": ["10.0.11.0/24", "10.0.12.0/24"]}),
        "regions[0] (us-east-1).subnets.public",
        "exactly 2 CIDRs",
    ),
    (
        "plan-bad-cidr",
        region(0, subnets={"public": ["10.0.1.0/24", "10.0.2.0/30"], "private": ["10.0.11.0/24", "10.0.12.0/24"]}),
        "regions[0] (us-east-1).subnets.public[1]",
        "/16 to /28",
    ),
    (
        "derived-plan-does-not-fit",
        region(0, vpcCidr="10.0.0.0/26", subnets=_DROP, azCount=3),
        "regions[0] (us-east-1).azCount",
        "at most 2",
    ),
    ("bad-role-arn", region(0, assumeRoleArn="arn:aws:iam::12345:role/x"), "regions[0] (us-east-1).assumeRoleArn", "IAM role ARN"),
    ("mixed-partitions", region(1, name="cn-north-1"), "regions[1] (cn-north-1).name", "one stack cannot span partitions"),
    (
        "role-in-another-partition",
        region(0, assumeRoleArn="arn:aws-cn:iam::123456789012:role/deployer"),
        "regions[0] (us-east-1).assumeRoleArn",
        "a role in the aws partition",
    ),
    ("bad-account-id", top(allowedAccountIds=[123456789012]), "allowedAccountIds[0]", "quoted string"),
    ("nat-strategy-typo", top(network={"natStrategy": "per-az"}), "network.natStrategy", "perAz, single or none"),
    ("nat-none-without-endpoints", top(network={"natStrategy": "none"}), "network.natStrategy", "ecr.api, ecr.dkr, logs"),
    ("retention-not-allowed", top(network={"flowLogs": {"retentionDays": 10}}), "network.flowLogs.retentionDays", "got 10"),
    ("flow-logs-not-bool", top(network={"flowLogs": {"enabled": "yes"}}), "network.flowLogs.enabled", "true or false"),
    ("endpoint-typo", top(network={"interfaceEndpoints": ["ecr.dck"]}), "network.interfaceEndpoints[0]", "ecr.dkr"),
    ("endpoint-twice", top(network={"interfaceEndpoints": ["logs", "logs"]}), "network.interfaceEndpoints[1]", "each service once"),
    ("reserved-tag", top(tags={"stack": "x"}), "tags.stack", "set by the program"),
    ("bad-name", top(name="Devops_Platform"), "name", "lowercase"),
    ("bad-environment", top(environment="production-east"), "environment", "2-10"),
    ("unparseable-json", top(regions="[{oops"), "regions", "could not be parsed"),
    ("region-entry-not-an-object", top(regions=["us-east-1"]), "regions[0]", "an object with the keys name, role, vpcCidr"),
    ("section-not-an-object", top(network="perAz"), "network", "an object with the keys natStrategy"),
    ("tag-value-not-text", top(tags={"team": 7}), "tags.team", "string value"),
    # --- services, functions, load balancer, dns
    ("fargate-cpu-unknown", service(0, cpu=300), "services[0] (auth).cpu", "Fargate CPU units"),
    ("fargate-memory-mismatch", service(0, cpu=256, memory=4096), "services[0] (auth).memory", "for cpu 256"),
    ("fargate-memory-step", service(0, cpu=1024, memory=2500), "services[0] (auth).memory", "steps of 1024"),
    ("port-zero", service(0, port=0), "services[0] (auth).port", "a port from 1 to 65535"),
    ("port-too-high", service(0, port=70000), "services[0] (auth).port", "a port from 1 to 65535"),
    ("port-as-text", service(0, port="8080"), "services[0] (auth).port", "a port from 1 to 65535"),
    ("stop-timeout-above-fargate-limit", service(0, stopTimeoutSeconds=121), "services[0] (auth).stopTimeoutSeconds", "seconds from 2 to 120"),
    ("stop-timeout-as-text", service(0, stopTimeoutSeconds="60"), "services[0] (auth).stopTimeoutSeconds", 'got the string "60"; a number is needed: seconds from 2 to 120'),
    ("service-name-duplicate", service(1, name="auth"), "services[1] (auth).name", "not already used (auth is services[0])"),
    ("service-and-function-share-a-name", function(0, name="auth"), "functions[0] (auth).name", "not already used"),
    ("service-name-too-long-for-tg", both(top(environment="production"), service(0, name="authentication-svc")), "services[0] (authentication-svc).name", "at most 14 characters with environment 'production'"),
    ("service-name-uppercase", service(0, name="Auth"), "services[0] (Auth).name", "lowercase"),
    ("desired-above-max", service(0, desiredCount=11), "services[0] (auth).desiredCount", "from autoscaling.minCapacity (2) to maxCapacity (10)"),
    ("desired-below-min", service(0, desiredCount=1), "services[0] (auth).desiredCount", "minCapacity (2)"),
    ("min-above-max", service(0, autoscaling={"minCapacity": 5, "maxCapacity": 3}), "services[0] (auth).autoscaling.minCapacity", "at most"),
    ("scale-in-faster-than-out", service(0, autoscaling={"scaleInCooldownSeconds": 30}), "services[0] (auth).autoscaling.scaleInCooldownSeconds", "at least scaleOutCooldownSeconds"),
    ("health-path-relative", service(0, healthCheck={"path": "health"}), "services[0] (auth).healthCheck.path", "starting with /"),
    ("health-timeout-too-long", service(0, healthCheck={"timeoutSeconds": 30, "intervalSeconds": 30}), "services[0] (auth).healthCheck.timeoutSeconds", "less than"),
    ("path-without-slash", service(0, paths=["api/auth/*"]), "services[0] (auth).paths[0]", "starting with /"),
    ("path-too-long", service(0, paths=["/" + "a" * 128]), "services[0] (auth).paths[0]", "at most 128"),
    ("path-bad-character", service(0, paths=["/api/<auth>"]), "services[0] (auth).paths[0]", "wildcards"),
    ("six-patterns-in-a-rule", service(0, paths=[f"/p{i}/*" for i in range(6)]), "services[0] (auth).paths", "at most 5"),
    ("no-patterns", service(0, paths=[]), "services[0] (auth).paths", "1 to 5"),
    ("pattern-twice", service(1, paths=["/api/auth/*"]), "services[1] (pdf).paths[0]", "(services[0] (auth).paths[0] has it)"),
    ("pattern-twice-function", function(0, paths=["/fargate/*"]), "functions[0] (lambda-demo).paths[0]", "no other route"),
    ("priority-zero", service(0, priority=0), "services[0] (auth).priority", "from 1 to 50000"),
    ("priority-too-high", service(0, priority=50001), "services[0] (auth).priority", "from 1 to 50000"),
    ("priority-collision", both(service(0, priority=10), service(1, priority=10)), "services[1] (pdf).priority", "a priority no other rule has"),
    (
        "same-literal-prefix-needs-an-order",
        service(1, paths=["/api/auth/*.json"]),
        "services[1] (pdf).priority",
        "an explicit priority",
    ),
    ("credentials-in-env", service(0, environment={"AWS_SECRET_ACCESS_KEY": "x"}), "services[0] (auth).environment.AWS_SECRET_ACCESS_KEY", "only through secrets"),
    ("reserved-env", service(0, environment={"PORT": "1"}), "services[0] (auth).environment.PORT", "set by the program"),
    ("bad-secret", service(0, secrets={"DB": "plain-text-password"}), "services[0] (auth).secrets.DB", "SSM parameter"),
    ("star-action", service(0, taskPolicy=[{"actions": ["*"], "resources": ["arn:aws:s3:::b/*"]}]), "services[0] (auth).taskPolicy[0].actions[0]", "no *"),
    ("service-star-action", service(0, taskPolicy=[{"actions": ["s3:*"], "resources": ["arn:aws:s3:::b/*"]}]), "services[0] (auth).taskPolicy[0].actions[0]", "no service:*"),
    ("star-resource", service(0, taskPolicy=[{"actions": ["s3:GetObject"], "resources": ["*"]}]), "services[0] (auth).taskPolicy[0].resources[0]", "resource ARN"),
    ("mode-typo", service(0, mode="ondemand"), "services[0] (auth).mode", "service or on-demand"),
    ("bad-bootstrap-image", service(0, bootstrapImage="not an image"), "services[0] (auth).bootstrapImage", "container image"),
    ("cert-arn-garbage", both(top(dns=_DROP), load_balancer(certificateArns={"us-east-1": "arn:aws:acm:cert", "us-east-2": CERT.format("us-east-2")})), "loadBalancer.certificateArns.us-east-1", "ACM certificate ARN"),
    ("cert-in-wrong-region", load_balancer(certificateArns={"us-east-1": CERT.format("us-east-2"), "us-east-2": CERT.format("us-east-2")}), "loadBalancer.certificateArns.us-east-1", "a certificate in us-east-1"),
    ("cert-for-one-region-only", load_balancer(certificateArns={"us-east-1": CERT.format("us-east-1")}), "loadBalancer.certificateArns", "every region or for none"),
    ("cert-for-unlisted-region", load_balancer(certificateArns={r: CERT.format(r) for r in ("us-east-1", "us-east-2", "eu-west-1")}), "loadBalancer.certificateArns.eu-west-1", "one of the stack's regions"),
    ("ssl-policy-without-tls13", load_balancer(sslPolicy="ELBSecurityPolicy-2016-08"), "loadBalancer.sslPolicy", "TLS 1.3"),
    ("ingress-cidr-garbage", load_balancer(ingressCidrs=["everyone"]), "loadBalancer.ingressCidrs[0]", "IPv4 CIDR"),
    ("dns-zone-garbage", top(dns={"domain": "app.example.com", "hostedZoneId": "example.com"}), "dns.hostedZoneId", "hosted zone ID"),
    ("dns-domain-garbage", top(dns={"domain": "App Example", "hostedZoneId": "Z0123456789EXAMPLE"}), "dns.domain", "DNS name"),
    ("function-source-missing", function(0, source="no_such_function"), "functions[0] (lambda-demo).source", "a directory under functions/"),
    ("function-runtime-old", function(0, runtime="python3.8"), "functions[0] (lambda-demo).runtime", "python3.13"),
    ("provisioned-above-reserved", function(0, provisionedConcurrency=200), "functions[0] (lambda-demo).provisionedConcurrency", "at most reservedConcurrency (100)"),
    ("function-typo", function(0, memorySize=512), "functions[0] (lambda-demo).memorySize", "did you mean memoryMb"),
    ("source-not-first", stage(0, type="build"), "pipeline.stages[0] (Source).type", "the first stage is the source stage"),
    ("source-twice", stage(3, type="source"), "pipeline.stages[3] (Approval).type", "source only in the first stage"),
    ("no-build-stage", stage(1, type="approval"), "pipeline.stages", "a stage with type build"),
    ("deploy-before-build", pipeline(stages=[SHORT[0], SHORT[2], SHORT[1]]), "pipeline.stages[1] (Deploy).type", "after the build stage"),
    ("stage-name-twice", stage(3, name="Build"), "pipeline.stages[3] (Build).name", "not already used (Build is pipeline.stages[1])"),
    ("stage-name-bad", stage(3, name="Manual Approval"), "pipeline.stages[3] (Manual Approval).name", "letters, digits"),
    ("action-name-twice", stage(4, services=["auth", "pdf", "auth"]), "pipeline.stages[4] (DeployProduction).services[2]", "action names unique in the stage"),
    ("approval-without-anyone", pipeline(notifications={}), "pipeline.stages[3] (Approval).type", "notifications.emails or topicArns"),
    ("deploy-unknown-service", stage(4, services=["auth", "billing"]), "pipeline.stages[4] (DeployProduction).services[1]", "one of the services"),
    ("deploy-on-demand-service", stage(2, services=["fa"]), "pipeline.stages[2] (DeployStaging).services[0]", "mode service"),
    ("connection-without-arn", pipeline(source={"type": "connection", "fullRepositoryId": "acme/app"}), "pipeline.source.connectionArn", "required"),
    ("connection-without-repo", pipeline(source={"type": "connection", "connectionArn": CONNECTION}), "pipeline.source.fullRepositoryId", "required"),
    ("connection-arn-garbage", pipeline(source={"type": "connection", "connectionArn": "github", "fullRepositoryId": "acme/app"}), "pipeline.source.connectionArn", "CodeConnections"),
    ("connection-arn-on-codecommit", pipeline(source={"connectionArn": CONNECTION}), "pipeline.source.connectionArn", "unless type is connection"),
    ("two-production-stages", stage(2, target="production"), "pipeline.stages[4] (DeployProduction).target", "each target once"),
    ("staging-after-production", both(stage(2, target="production"), stage(4, target="staging")), "pipeline.stages[4] (DeployProduction).target", "staging before"),
    ("no-production-stage", stage(4, type="approval", target=_DROP), "pipeline.stages", "target production"),
    ("target-on-approval", stage(3, target="staging"), "pipeline.stages[3] (Approval).target", "only deploy stages"),
    ("staging-on-port-443", pipeline(staging={"listenerPort": 443}), "pipeline.staging.listenerPort", "other than 80 and 443"),
    ("bad-email", pipeline(notifications={"emails": ["ops at example"]}), "pipeline.notifications.emails[0]", "email address"),
    ("topic-in-wrong-region", pipeline(notifications={"topicArns": {"us-east-1": "arn:aws:sns:us-east-2:111122223333:t", "us-east-2": "arn:aws:sns:us-east-2:111122223333:t"}}), "pipeline.notifications.topicArns.us-east-1", "a topic in us-east-1"),
    ("topic-for-one-region", pipeline(notifications={"topicArns": {"us-east-1": "arn:aws:sns:us-east-1:111122223333:t"}}), "pipeline.notifications.topicArns", "every region or for none"),
    ("mixed-architectures", service(1, architecture="ARM64"), "services[1] (pdf).architecture", "one CodeBuild architecture"),
    ("staging-name-too-long", service(0, name="authentication-svc"), "services[0] (authentication-svc).name", "with a staging stage"),
    ("branch-garbage", pipeline(source={"branch": "../main"}), "pipeline.source.branch", "git branch name"),
    ("build-timeout-too-long", pipeline(build={"timeoutMinutes": 600}), "pipeline.build.timeoutMinutes", "from 5 to 480"),
    ("lax-boolean-monitoring", section("monitoring", enabled="yes"), "monitoring.enabled", 'got the string "yes"; a boolean is needed: true or false'),
    ("lax-boolean-dashboard", section("monitoring", dashboard="true"), "monitoring.dashboard", "a boolean is needed"),
    ("lax-boolean-launcher", section("taskLauncher", enabled="true"), "taskLauncher.enabled", "a boolean is needed"),
    ("lax-boolean-replication", section("replication", enabled="no"), "replication.enabled", "a boolean is needed"),
    ("cache-prefix-uppercase", pipeline(build={"baseImageCache": {"prefix": "ECR-Public"}}), "pipeline.build.baseImageCache.prefix", "lowercase letters and digits"),
    ("cache-prefix-too-long", pipeline(build={"baseImageCache": {"prefix": "a" * 31}}), "pipeline.build.baseImageCache.prefix", "2-30 characters"),
    ("cache-prefix-trailing-slash", pipeline(build={"baseImageCache": {"prefix": "ecr-public/"}}), "pipeline.build.baseImageCache.prefix", "separated by single"),
    ("approval-before-staging", pipeline(stages=[SHORT[0], SHORT[1], {"name": "Approve", "type": "approval"}, {"name": "Stg", "type": "deploy", "target": "staging"}, SHORT[2]]), "pipeline.stages[2] (Approve).type", "after the staging deploy"),
    ("spot-with-arm64", both(*(service(i, architecture="ARM64") for i in range(6))), "pipeline.staging.spot", "X86_64 tasks only"),
    ("stage-typo", stage(2, targets="staging"), "pipeline.stages[2] (DeployStaging).targets", "did you mean target"),
    ("cron-without-question-mark", schedule(0, expression="cron(0 7 * * MON-FRI *)"), "taskLauncher.schedules[0] (fa-morning).expression", "with ? in"),
    ("cron-five-fields", schedule(0, expression="cron(0 7 ? * MON-FRI)"), "taskLauncher.schedules[0] (fa-morning).expression", "EventBridge schedule"),
    ("cron-out-of-range", schedule(0, expression="cron(99 25 ? * FOO *)"), "taskLauncher.schedules[0] (fa-morning).expression", "EventBridge schedule"),
    ("cron-bad-nth-weekday", schedule(0, expression="cron(0 7 ? * MON#6 *)"), "taskLauncher.schedules[0] (fa-morning).expression", "EventBridge schedule"),
    ("rate-singular-mismatch", schedule(0, expression="rate(5 minute)"), "taskLauncher.schedules[0] (fa-morning).expression", "rate(1 minute), rate(N minutes)"),
    ("schedule-for-a-service-mode", schedule(0, service="auth"), "taskLauncher.schedules[0] (fa-morning).service", "mode on-demand (fa, batch)"),
    ("schedule-for-unknown-service", schedule(0, service="engine"), "taskLauncher.schedules[0] (fa-morning).service", "mode on-demand"),
    ("schedule-count-over-max", schedule(0, count=7), "taskLauncher.schedules[0] (fa-morning).count", "at most taskLauncher.maxCount (5)"),
    ("schedule-count-on-stop", schedule(1, count=2), "taskLauncher.schedules[1] (fa-evening).count", "no count on a stop schedule"),
    ("schedule-duplicate-name", schedule(1, name="fa-morning"), "taskLauncher.schedules[1] (fa-morning).name", "not used by another schedule"),
    ("schedule-bad-action", schedule(0, action="restart"), "taskLauncher.schedules[0] (fa-morning).action", "start or stop"),
    ("schedule-missing-expression", schedule(0, expression=_DROP), "taskLauncher.schedules[0] (fa-morning).expression", "missing"),
    ("launcher-max-count-11", launcher(maxCount=11), "taskLauncher.maxCount", "from 1 to 10"),
    ("launcher-timeout-too-long", launcher(timeoutSeconds=901), "taskLauncher.timeoutSeconds", "from 60 to 900"),
    ("launcher-without-on-demand", both(all_services(mode="service"), launcher(enabled=True, schedules=[])), "taskLauncher.enabled", "a service with mode on-demand"),
    ("schedules-with-launcher-off", launcher(enabled=False), "taskLauncher.schedules", "while the task launcher is off"),
    ("launcher-typo", launcher(maxcount=3), "taskLauncher.maxcount", "did you mean maxCount"),
    ("replication-with-connection", both(pipeline(source={"type": "connection", "connectionArn": CONNECTION, "fullRepositoryId": "acme/app"}), replication(enabled=True)), "replication.enabled", "reads directly"),
    ("replication-without-pipeline", both(pipeline(enabled=False), replication(enabled=True)), "replication.enabled", "no pipeline"),
    ("replication-one-region", both(top(regions=[{"name": "us-east-1", "role": "primary", "vpcCidr": "10.0.0.0/16"}]), replication(enabled=True)), "replication.enabled", "no secondary region"),
    ("replication-across-accounts", both(region(0, assumeRoleArn="arn:aws:iam::111122223333:role/deploy"), region(1, assumeRoleArn="arn:aws:iam::444455556666:role/deploy"), replication(enabled=True)), "replication.enabled", "different accounts"),
    ("replication-account-unknown", region(1, assumeRoleArn="arn:aws:iam::444455556666:role/deploy"), "replication.enabled", "allowedAccountIds"),
    ("alarm-cpu-over-100", section("monitoring", serviceAlarms={"cpuPercent": 120}), "monitoring.serviceAlarms.cpuPercent", "a percentage from 1 to 100"),
    ("alarm-latency-text", section("monitoring", serviceAlarms={"responseTimeSeconds": "1s"}), "monitoring.serviceAlarms.responseTimeSeconds", "seconds from 0.01 to 60"),
    ("alarm-5xx-zero", section("monitoring", loadBalancer5xxCount=0), "monitoring.loadBalancer5xxCount", "a count from 1 to 100000"),
    ("alarm-unknown-service", section("monitoring", services={"billing": {"cpuPercent": 90}}), "monitoring.services.billing", "the name of a service (auth, pdf"),
    ("alarm-override-typo", section("monitoring", services={"auth": {"cpuPercnt": 90}}), "monitoring.services.auth.cpuPercnt", "did you mean cpuPercent"),
    ("alarm-email-garbage", section("monitoring", emails=["oncall"]), "monitoring.emails[0]", "email address"),
    ("alarm-duration-below-half", section("monitoring", functionDurationPercent=30), "monitoring.functionDurationPercent", "from 50 to 100"),
    ("alarm-lag-zero", section("monitoring", replicationLagSeconds=0), "monitoring.replicationLagSeconds", "seconds from 10"),
    ("routing-garbage", section("dns", routing="geo"), "dns.routing", "failover, latency or none"),
    ("routing-failover-three-regions", both(top(regions=[{"name": "us-east-1", "role": "primary", "vpcCidr": "10.0.0.0/16"}, {"name": "us-east-2", "role": "secondary", "vpcCidr": "10.1.0.0/16"}, {"name": "us-west-2", "role": "secondary", "vpcCidr": "10.2.0.0/16"}]), section("dns", routing="failover")), "dns.routing", "failover has one primary and one secondary"),
    ("routing-latency-one-region", both(top(regions=[{"name": "us-east-1", "role": "primary", "vpcCidr": "10.0.0.0/16"}]), replication(enabled=False), section("dns", routing="latency")), "dns.routing", "latency routing chooses between regions"),
    ("health-path-garbage", section("dns", healthCheckPath="health"), "dns.healthCheckPath", "starting with /"),
    ("health-interval-15", section("dns", healthCheckIntervalSeconds=15), "dns.healthCheckIntervalSeconds", "10 or 30"),
    ("health-path-missing", section("dns", healthCheckPath=_DROP), "dns.healthCheckPath", "routing is failover"),
    ("health-path-routed-nowhere", section("dns", healthCheckPath="/healthz"), "dns.healthCheckPath", "a path one of the routes serves (/api/auth/*, /api/pdf/*"),
    ("health-path-on-an-on-demand-service", section("dns", healthCheckPath="/api/fa/health"), "dns.healthCheckPath", "goes to services[2] (fa), an on-demand service"),
    ("routing-behind-restricted-ingress", load_balancer(ingressCidrs=["203.0.113.0/24"]), "loadBalancer.ingressCidrs", "Route 53's health checkers"),
    ("function-named-like-the-launcher", function(0, name="task-launcher"), "functions[0] (task-launcher).name", "the platform's own functions"),
    ("replication-memory-garbage", replication(memoryMb="lots"), "replication.memoryMb", "MB from 128 to 10240"),
    # prod's services: 0 auth (canary), 1 pdf (blueGreen), 2 fa (on demand), 3 users (linear),
    # 4 batch (on demand), 5 fargate-demo (rolling, scaling on requests per target).
    ("strategy-unknown", deployment(0, strategy="bluegreen"), "services[0] (auth).deployment.strategy", "rolling, blueGreen, canary or linear"),
    ("canary-percent-too-small", deployment(0, canaryPercent=0.05), "services[0] (auth).deployment.canaryPercent", "a percentage from 0.1 to 100"),
    ("canary-percent-not-tenths", deployment(0, canaryPercent=10.25), "services[0] (auth).deployment.canaryPercent", "in steps of 0.1"),
    ("canary-percent-as-text", deployment(0, canaryPercent="10"), "services[0] (auth).deployment.canaryPercent", 'got the string "10"; a number is needed'),
    ("step-percent-below-ecs-minimum", deployment(3, stepPercent=2), "services[3] (users).deployment.stepPercent", "a percentage from 3 to 100"),
    ("bake-longer-than-a-day", deployment(0, bakeMinutes=1441), "services[0] (auth).deployment.bakeMinutes", "minutes from 0 to 1440"),
    ("canary-key-on-linear", deployment(3, canaryPercent=5), "services[3] (users).deployment.canaryPercent", "only with strategy canary (strategy is linear)"),
    ("step-key-on-canary", deployment(0, stepBakeMinutes=2), "services[0] (auth).deployment.stepBakeMinutes", "only with strategy linear (strategy is canary)"),
    ("bake-on-rolling", deployment(5, bakeMinutes=5), "services[5] (fargate-demo).deployment.bakeMinutes", "only with strategy blueGreen, canary or linear"),
    ("smoke-test-on-rolling", deployment(5, smokeTest={"path": "/fargate/health"}), "services[5] (fargate-demo).deployment.smokeTest", "sends no test traffic"),
    ("progressive-on-demand", deployment(2, strategy="canary"), "services[2] (fa).deployment.strategy", "rolling for a mode on-demand service"),
    ("progressive-scaling-on-requests", deployment(5, strategy="linear"), "services[5] (fargate-demo).autoscaling.requestsPerTarget", "after a deployment production traffic runs on the other"),
    ("alternate-group-name-too-long", service(0, name="authentication-svc"), "services[0] (authentication-svc).name", "so the alternate target group authentication-svc-alt-prod-xxxxxx fits"),
    ("smoke-path-outside-the-routes", deployment(0, smokeTest={"path": "/health"}), "services[0] (auth).deployment.smokeTest.path", "services[0] (auth)'s own patterns matches (/api/auth/*)"),
    ("smoke-status-not-http", deployment(0, smokeTest={"path": "/api/auth/health", "expectedStatus": [99]}), "services[0] (auth).deployment.smokeTest.expectedStatus[0]", "HTTP status codes"),
    ("smoke-status-not-a-list", deployment(0, smokeTest={"path": "/api/auth/health", "expectedStatus": 200}), "services[0] (auth).deployment.smokeTest.expectedStatus", "HTTP status codes"),
    ("smoke-wait-too-long", deployment(0, smokeTest={"path": "/api/auth/health", "waitSeconds": 3601}), "services[0] (auth).deployment.smokeTest.waitSeconds", "seconds from 0 to 3600"),
    ("smoke-test-without-nat", section("network", natStrategy="none", interfaceEndpoints=["ecr.api", "ecr.dkr", "logs"], gatewayEndpoints=["s3"]), "services[0] (auth).deployment.smokeTest", "natStrategy none"),
    ("smoke-test-with-certificates-only", both(top(dns=_DROP), load_balancer(certificateArns={r: CERT.format(r) for r in ("us-east-1", "us-east-2")})), "services[0] (auth).deployment.smokeTest", "dns as well as loadBalancer.certificateArns"),
    ("deploy-timeout-shorter-than-a-canary", pipeline(deployTimeoutMinutes=20), "pipeline.deployTimeoutMinutes", "at least 25 for services[0] (auth): its canary deployment bakes 15 minutes"),
    ("deployment-longer-than-the-pipeline-waits", deployment(3, stepPercent=3, stepBakeMinutes=10), "pipeline.deployTimeoutMinutes", "the deploy action waits at most 60"),
    ("test-listener-on-the-staging-port", load_balancer(testListenerPort=8443), "loadBalancer.testListenerPort", "which pipeline.staging.listenerPort use"),
    ("test-listener-on-443", load_balancer(testListenerPort=443), "loadBalancer.testListenerPort", "the production listeners"),
    ("window-cron-with-seconds", pipeline(productionWindow={"cron": "0 * 9-16 ? * MON-FRI"}), "pipeline.productionWindow.cron", "a CodePipeline deployment-window cron"),
    ("window-cron-both-day-fields", pipeline(productionWindow={"cron": "* * 9-16 * * MON-FRI"}), "pipeline.productionWindow.cron", "with ? in day-of-month or day-of-week"),
    ("window-time-zone-unknown", pipeline(productionWindow={"cron": "* * 9-16 ? * MON-FRI", "timeZone": "Mars/Olympus"}), "pipeline.productionWindow.timeZone", "an IANA time zone"),
]


@pytest.mark.parametrize(("edit", "path", "text"), [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_is_rejected_naming_the_key(edit: Edit, path: str, text: str):
    assert_refused(edit, path, text)


# --- what the user wrote: list entries by name, the wrong kind of value, one root cause ------------

ROUTE_NAME_RULE = "2-20 characters: lowercase letters, digits and single hyphens, starting with a letter"

# (case id, edit of the prod config, a line the error must have, exactly). prod's list entries:
# services 0 auth, 1 pdf, 2 fa, 3 users, 4 batch, 5 fargate-demo, 6 go-demo; functions 0
# lambda-demo; pipeline.stages 0 Source, 1 Build, 2 DeployStaging, 3 Approval, 4 DeployProduction;
# taskLauncher.schedules 0 fa-morning, 1 fa-evening; regions 0 us-east-1, 1 us-east-2.
NAMED_ENTRIES: list[tuple[str, Edit, str]] = [
    ("service-field", service(3, port=0), "services[3] (users).port: got 0; allowed: a port from 1 to 65535"),
    ("service-cross-check", service(3, desiredCount=11), "services[3] (users).desiredCount: got 11; allowed: from autoscaling.minCapacity (2) to maxCapacity (10)"),
    ("service-referring-to-another", service(1, paths=["/api/auth/*"]), 'services[1] (pdf).paths[0]: got "/api/auth/*"; allowed: a pattern no other route has (services[0] (auth).paths[0] has it)'),
    ("service-deployment-check", deployment(5, bakeMinutes=5), "services[5] (fargate-demo).deployment.bakeMinutes: got 5; allowed: only with strategy blueGreen, canary or linear: a rolling deployment keeps no old tasks to bake against and sends no test traffic"),
    ("service-compute-check", service(6, cpu=512), "services[6] (go-demo).cpu: got 512; allowed: nothing with compute lambda (go-demo runs on Lambda): Lambda sizes a function by lambda.memoryMb (its CPU grows with memory)"),
    ("service-architecture-check", service(1, architecture="ARM64"), 'services[1] (pdf).architecture: got "ARM64"; allowed: X86_64, like services[0] (auth): the pipeline builds every image on one CodeBuild architecture'),
    ("service-named-in-dns-check", section("dns", healthCheckPath="/api/fa/health"), 'dns.healthCheckPath: got "/api/fa/health"; allowed: a path a mode service service or a function serves: /api/fa/health goes to services[2] (fa), an on-demand service whose tasks run only when the task launcher starts them'),
    ("unnamed-entry-inside-a-named-one", service(0, taskPolicy=[{"actions": ["*"], "resources": ["arn:aws:s3:::b/*"]}]), 'services[0] (auth).taskPolicy[0].actions[0]: got "*"; allowed: an IAM action service:Action (for example s3:GetObject); no *, and no service:* (grant the actions the task needs)'),
    ("name-that-is-not-text", service(0, name=7), f"services[0].name: got 7; allowed: {ROUTE_NAME_RULE} (it names the target group, ECS service, task family and ECR repository)"),
    ("function-field", function(0, timeoutSeconds=0), "functions[0] (lambda-demo).timeoutSeconds: got 0; allowed: seconds from 1 to 900"),
    ("function-cross-check", function(0, provisionedConcurrency=200), "functions[0] (lambda-demo).provisionedConcurrency: got 200; allowed: at most reservedConcurrency (100)"),
    ("function-monitoring-check", function(0, name="task-launcher"), 'functions[0] (task-launcher).name: got "task-launcher"; allowed: a name other than task-launcher, repo-replicator, replicator (the platform\'s own functions)'),
    ("stage-field", stage(3, name="Manual Approval"), 'pipeline.stages[3] (Manual Approval).name: got "Manual Approval"; allowed: 1-100 characters: letters, digits and . @ - _'),
    ("stage-unknown-key", stage(2, targets="staging"), "pipeline.stages[2] (DeployStaging).targets: unknown key; allowed keys here: name, type, target, services, actionName (did you mean target?)"),
    ("stage-cross-check", stage(3, target="staging"), 'pipeline.stages[3] (Approval).target: got "staging"; allowed: nothing here: only deploy stages have it'),
    ("stage-referring-to-another", stage(2, target="production"), 'pipeline.stages[4] (DeployProduction).target: got "production"; allowed: each target once (pipeline.stages[2] (DeployStaging) deploys production)'),
    ("schedule-field", schedule(0, action="restart"), 'taskLauncher.schedules[0] (fa-morning).action: got "restart"; allowed: start or stop'),
    ("schedule-cross-check", schedule(0, count=7), "taskLauncher.schedules[0] (fa-morning).count: got 7; allowed: at most taskLauncher.maxCount (5)"),
    ("schedule-duplicate", schedule(1, name="fa-morning"), 'taskLauncher.schedules[1] (fa-morning).name: got "fa-morning"; allowed: a name not used by another schedule (fa-morning is taskLauncher.schedules[0])'),
    ("region-field", region(1, role="standby"), 'regions[1] (us-east-2).role: got "standby"; allowed: primary or secondary'),
    ("region-cross-check", region(1, vpcCidr="10.0.128.0/17"), "regions[1] (us-east-2).vpcCidr: got \"10.0.128.0/17\"; allowed: a CIDR that does not overlap regions[0] (us-east-1).vpcCidr (10.0.0.0/16), so the regions' VPCs stay peerable"),
    ("region-subnet-check", region(0, subnets={"public": ["10.0.1.0/24"], "private": ["10.0.11.0/24", "10.0.12.0/24"]}), 'regions[0] (us-east-1).subnets.public: got ["10.0.1.0/24"]; allowed: exactly 2 CIDRs, one per AZ (regions[0] (us-east-1).azCount is 2)'),
]


@pytest.mark.parametrize(("edit", "line"), [c[1:] for c in NAMED_ENTRIES], ids=[c[0] for c in NAMED_ENTRIES])
def test_errors_name_list_entries_by_index_and_name(edit: Edit, line: str):
    assert line in _error_lines(edit)


def _error_lines(edit: Edit) -> list[str]:
    namespace = namespace_of("prod")
    edit(namespace)
    with pytest.raises(ConfigError) as caught:
        validate(namespace, PROJECT)
    return caught.value.lines()


DUPLICATE_NAMES: list[tuple[str, Edit, list[str]]] = [
    # Without the root cause alone, users -> auth was also reported as a repeated action of
    # pipeline.stages[2].services[2] and pipeline.stages[4].services[2], keys no one wrote.
    ("service-like-another", service(3, name="auth"), ['services[3] (auth).name: got "auth"; allowed: a name not already used (auth is services[0])']),
    # Same name, same band of literal prefix: the same computed priority, again only the name.
    ("service-like-another-same-priority", service(5, name="auth", paths=["/fargate1/*"]), ['services[5] (auth).name: got "auth"; allowed: a name not already used (auth is services[0])']),
    ("function-like-a-service", function(0, name="auth", source="lambda_demo"), ['functions[0] (auth).name: got "auth"; allowed: a name not already used (auth is services[0])']),
    # A services list the user wrote twice over is still the user's: reported where it was written.
    ("service-listed-twice-in-a-stage", stage(4, services=["auth", "pdf", "auth"]), ['pipeline.stages[4] (DeployProduction).services[2]: got "auth"; allowed: action names unique in the stage: each service once']),
]


@pytest.mark.parametrize(("edit", "lines"), [c[1:] for c in DUPLICATE_NAMES], ids=[c[0] for c in DUPLICATE_NAMES])
def test_a_duplicate_name_is_reported_once_not_through_its_consequences(edit: Edit, lines: list[str]):
    assert _error_lines(edit) == lines


WRONG_KIND: list[tuple[str, Edit, str]] = [
    ("int-field", service(0, autoscaling={"minCapacity": 2, "maxCapacity": "10"}), 'services[0] (auth).autoscaling.maxCapacity: got the string "10"; a number is needed: a task count from 0 to 1000'),
    ("strict-int-field", service(0, cpu="256"), 'services[0] (auth).cpu: got the string "256"; a number is needed: Fargate CPU units: 256, 512, 1024, 2048, 4096, 8192, 16384'),
    ("whole-number-field", region(0, azCount="2"), 'regions[0] (us-east-1).azCount: got the string "2"; a number is needed: a whole number from 2 to 6'),
    ("fraction-field", deployment(0, canaryPercent="10"), 'services[0] (auth).deployment.canaryPercent: got the string "10"; a number is needed: a percentage from 0.1 to 100, in steps of 0.1'),
    ("one-of-numbers-field", section("dns", healthCheckIntervalSeconds="10"), 'dns.healthCheckIntervalSeconds: got the string "10"; a number is needed: 10 or 30'),
    ("number-in-a-list", deployment(0, smokeTest={"path": "/api/auth/health", "expectedStatus": ["200"]}), 'services[0] (auth).deployment.smokeTest.expectedStatus[0]: got the string "200"; a number is needed: HTTP status codes from 100 to 599, for example [200] or [200, 204]'),
    ("number-in-a-map", section("monitoring", services={"pdf": {"cpuPercent": "90"}}), 'monitoring.services.pdf.cpuPercent: got the string "90"; a number is needed: a percentage from 1 to 100'),
    ("seconds-text", section("monitoring", serviceAlarms={"responseTimeSeconds": "1s"}), 'monitoring.serviceAlarms.responseTimeSeconds: got the string "1s"; a number is needed: seconds from 0.01 to 60, for example 1 or 0.5'),
    ("bool-field", top(network={"flowLogs": {"enabled": "yes"}}), 'network.flowLogs.enabled: got the string "yes"; a boolean is needed: true or false'),
    ("quoted-true", function(0, vpc="true"), 'functions[0] (lambda-demo).vpc: got the string "true"; a boolean is needed: true or false'),
    ("text-field-keeps-got", region(0, vpcCidr="banana"), 'regions[0] (us-east-1).vpcCidr: got "banana"; allowed: an IPv4 CIDR from /16 to /28 inside a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)'),
    ("email-instead-of-a-list", section("monitoring", emails="a@b.com"), 'monitoring.emails: got "a@b.com", a single value; a list is needed: a list of email addresses such as ops@example.com'),
    ("pattern-instead-of-a-list", service(0, paths="/api/*"), 'services[0] (auth).paths: got "/api/*", a single value; a list is needed: 1 to 5 path patterns (an ALB rule takes at most 5 condition values)'),
    ("pipeline-email-instead-of-a-list", pipeline(notifications={"emails": "ops@example.com"}), 'pipeline.notifications.emails: got "ops@example.com", a single value; a list is needed: a list of email addresses such as ops@example.com'),
    ("number-instead-of-a-list", deployment(0, smokeTest={"path": "/api/auth/health", "expectedStatus": 200}), 'services[0] (auth).deployment.smokeTest.expectedStatus: got 200, a single value; a list is needed: HTTP status codes from 100 to 599, for example [200] or [200, 204]'),
    ("top-level-scalar-instead-of-a-list", top(allowedAccountIds="111122223333"), 'allowedAccountIds: got "111122223333", a single value; a list is needed: a list of 12-digit AWS account IDs, each written as a quoted string'),
    ("object-instead-of-a-list", top(regions={"name": "us-east-1", "role": "primary", "vpcCidr": "10.0.0.0/16"}), 'regions: got {"name": "us-east-1", "role": "primary", "vpcCidr": "10.0.0.0/16"}, an object; a list is needed: a non-empty list of region objects with name, role, vpcCidr'),
]


@pytest.mark.parametrize(("edit", "line"), [c[1:] for c in WRONG_KIND], ids=[c[0] for c in WRONG_KIND])
def test_a_value_of_the_wrong_kind_says_what_kind_is_needed(edit: Edit, line: str):
    lines = _error_lines(edit)
    assert line in lines, lines


def test_reference_texts_say_what_each_key_takes():
    from stack_config.reference import rows

    allowed = {path: text for path, _, _, text in rows()}
    assert allowed["monitoring.emails"] == "a list of email addresses such as ops@example.com"
    assert allowed["pipeline.notifications.emails"] == "a list of email addresses such as ops@example.com"
    assert allowed["services[].taskPolicy[].actions"] == (
        "a non-empty list of IAM actions service:Action (for example s3:GetObject); no *, and no service:* "
        "(grant the actions the task needs)"
    )
    # A function has no ECS service, task family or ECR repository (wiring.function_settings).
    assert allowed["functions[].name"] == (
        f"{ROUTE_NAME_RULE} (it names the Lambda function and its log group, its target group when it has paths, "
        "and its code directory unless source is set)"
    )
    assert allowed["services[].name"] == f"{ROUTE_NAME_RULE} (it names the target group, ECS service, task family and ECR repository)"
    assert _error_lines(function(0, name="Lambda-Demo")) == [
        f'functions[0] (Lambda-Demo).name: got "Lambda-Demo"; allowed: {allowed["functions[].name"]}'
    ]
    worded = [row[0] for row in rows() if "seed" in (row[2] + row[3]).lower()]
    assert worded == []


def test_a_stack_without_services_has_no_pipeline_to_check():
    namespace = namespace_of("prod")
    namespace["services"] = []
    namespace["pipeline"]["notifications"] = {}  # an approval with nobody to ask: moot without a pipeline
    del namespace["taskLauncher"]  # its schedules name services
    del namespace["monitoring"]  # its overrides name services
    namespace["dns"]["healthCheckPath"] = "/lambda/health"  # auth is gone; the function answers it
    cfg = validate(namespace, PROJECT)
    assert cfg.pipeline.stages[3].type == "approval"
    # Nothing to launch and no repositories to replicate: both functions default to off.
    assert not cfg.has_pipeline and not cfg.has_task_launcher and not cfg.has_replication


def test_event_functions_default_on_where_they_have_work():
    prod = validate(namespace_of("prod"), PROJECT)
    assert prod.has_task_launcher and prod.has_replication
    assert [s.name for s in prod.on_demand_services] == ["fa", "batch"]
    namespace = namespace_of("prod")
    namespace["pipeline"]["source"] = {"type": "connection", "connectionArn": CONNECTION, "fullRepositoryId": "acme/app"}
    for svc in namespace["services"]:
        svc["mode"] = "service"
    del namespace["taskLauncher"]
    cfg = validate(namespace, PROJECT)
    assert not cfg.has_replication and not cfg.has_task_launcher


def test_replication_across_assumed_roles_is_accepted_when_the_account_is_known():
    namespace = namespace_of("prod")
    namespace["regions"][1]["assumeRoleArn"] = "arn:aws:iam::444455556666:role/deploy"
    namespace["allowedAccountIds"] = ["444455556666"]
    assert validate(namespace, PROJECT).has_replication
    for r in namespace["regions"]:
        r["assumeRoleArn"] = "arn:aws:iam::444455556666:role/deploy"
    del namespace["allowedAccountIds"]
    assert validate(namespace, PROJECT).has_replication


def test_every_problem_in_a_pass_is_reported_at_once():
    namespace = namespace_of("prod")
    namespace["regions"][0]["vpcCidr"] = "8.8.0.0/16"
    namespace["regions"][1]["role"] = "standby"
    namespace["regoins"] = []
    with pytest.raises(ConfigError) as caught:
        validate(namespace, PROJECT)
    paths = {line.split(":")[0] for line in caught.value.lines()}
    assert paths == {"regions[0] (us-east-1).vpcCidr", "regions[1] (us-east-2).role", "regoins"}


def test_config_error_is_a_pulumi_run_error():
    # pulumi's language host prints a RunError's message without a traceback.
    assert issubclass(ConfigError, pulumi.RunError)


def test_program_declares_nothing_when_the_config_is_invalid():
    namespace = namespace_of("prod")
    namespace["regions"][1]["vpcCidr"] = "10.0.0.0/16"  # overlaps the primary
    with pytest.raises(ConfigError) as caught:
        harness.run_program(stack="prod", config=encode(namespace))
    declared = [r.type for r in caught.value.registrations]  # type: ignore[attr-defined]
    assert declared == ["pulumi:pulumi:Stack"]


def test_reads_config_the_cli_passes_in_the_environment(monkeypatch: pytest.MonkeyPatch):
    # Under `pulumi up` the language host passes config as PULUMI_CONFIG; in-process runs
    # (Automation API inline programs, the synth) set it in the runtime. Both are read.
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps({f"{PROJECT}:environment": "prod", "aws:region": "x"}))
    seen = {}

    def program() -> None:
        pulumi.runtime.set_config(f"{PROJECT}:regoins", "[]")
        seen.update(read_pulumi_namespace(PROJECT))

    harness.run(program, project=PROJECT, stack="t")
    assert seen == {"environment": "prod", "regoins": "[]"}


def test_pulumi_yaml_declares_every_top_level_key():
    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    model_keys = {info.alias for info in StackConfig.model_fields.values()}
    assert set(declared) == model_keys
    # Optional keys need a default, or the CLI reports them missing from a stack that omits them.
    required = {info.alias for info in StackConfig.model_fields.values() if info.is_required()}
    assert {k for k, d in declared.items() if "default" not in d} == required
