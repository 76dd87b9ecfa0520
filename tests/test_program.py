"""The whole program: providers per region, stable names, preview mode, and its outputs."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from ops.harness import UNKNOWN, Graph
from tests.conftest import under

REGIONS = ("us-east-1", "us-east-2")


def test_each_region_is_built_with_its_own_explicit_provider(prod: Graph):
    providers = {p.urn: p for p in prod.of_type("pulumi:providers:aws")}
    # One per region, and aws-global for the stack's Route 53 records (tests/test_traffic_compute.py).
    assert sorted(p.name for p in providers.values()) == ["aws-global", "aws-us-east-1", "aws-us-east-2"]
    for region in REGIONS:
        resources = [r for r in under(prod, region) if r.custom]
        assert resources
        for r in resources:
            # Every AWS resource names its provider, and that provider is this region's.
            assert r.provider is not None, r.name
            provider = providers[r.provider.rsplit("::", 1)[0]]
            assert provider.inputs["region"] == region, r.name
            assert r.region == region


def test_every_resource_names_an_explicit_provider(prod: Graph, dev: Graph):
    # Under mocks no default provider is ever registered, so the check is on each resource.
    for graph in (prod, dev):
        for r in graph.custom():
            if not r.type.startswith("pulumi:providers:"):
                assert r.provider and "::pulumi:providers:aws::aws-" in r.provider, r.name


def test_stack_files_make_the_engine_refuse_default_providers():
    from ops import stackfiles

    for stack in ("dev", "prod"):
        assert json.loads(stackfiles.load(stack).config["pulumi:disable-default-providers"]) == ["*"]


def test_every_data_source_call_goes_to_a_regional_provider(prod: Graph):
    assert prod.calls
    for call in prod.calls:
        assert call.provider, call.token
        assert call.provider.split("::")[3] in {f"aws-{r}" for r in REGIONS}


def test_providers_tag_everything_with_project_stack_region_and_owner(prod: Graph):
    for provider in prod.of_type("pulumi:providers:aws"):
        # Provider config reaches the engine JSON-encoded, as it does from the CLI.
        tags = json.loads(provider.inputs["defaultTags"])["tags"]
        assert tags["project"] == "devops-platform"
        assert tags["stack"] == "prod"
        assert tags["environment"] == "prod"
        assert tags["region"] == provider.inputs["region"]
        assert tags["managed-by"] == "pulumi/devops-platform"
        assert tags["cost-center"] == "platform"  # from the stack's tags


def test_assume_role_and_account_guard_reach_the_provider(run_program: Callable[..., Graph]):
    def edit(ns: dict) -> None:
        ns["regions"][1]["assumeRoleArn"] = "arn:aws:iam::210987654321:role/deployer"
        ns["allowedAccountIds"] = ["210987654321"]

    graph = run_program("prod", edit=edit)
    providers = {p.inputs["region"]: p.inputs for p in graph.of_type("pulumi:providers:aws") if p.name != "aws-global"}
    assert json.loads(providers["us-east-2"]["assumeRoles"]) == [
        {"roleArn": "arn:aws:iam::210987654321:role/deployer", "sessionName": "devops-platform-prod"}
    ]
    assert "assumeRoles" not in providers["us-east-1"]
    assert all(json.loads(p["allowedAccountIds"]) == ["210987654321"] for p in providers.values())


# Stateful resources: renaming any of these replaces it in a live stack (a new VPC, new NAT IPs
# that partners allowlist, lost flow logs). A rename must come with an alias; this list is the tripwire.
PINNED = [
    "urn:pulumi:prod::devops-platform::pulumi:providers:aws::aws-{r}",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region::{r}",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network::{r}-network",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:ec2/vpc:Vpc::{r}-network-vpc",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:ec2/subnet:Subnet::{r}-network-public-az1",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:ec2/subnet:Subnet::{r}-network-public-az2",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:ec2/subnet:Subnet::{r}-network-private-az1",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:ec2/subnet:Subnet::{r}-network-private-az2",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:ec2/internetGateway:InternetGateway::{r}-network-igw",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:ec2/eip:Eip::{r}-network-nat-eip-az1",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:ec2/eip:Eip::{r}-network-nat-eip-az2",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:ec2/natGateway:NatGateway::{r}-network-nat-az1",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:ec2/natGateway:NatGateway::{r}-network-nat-az2",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:cloudwatch/logGroup:LogGroup::{r}-network-flow-logs-group",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:ec2/flowLog:FlowLog::{r}-network-flow-logs",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:network:Network$aws:ec2/defaultSecurityGroup:DefaultSecurityGroup::{r}-network-default-sg",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:traffic:LoadBalancer$aws:lb/loadBalancer:LoadBalancer::{r}-traffic-alb",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:traffic:LoadBalancer$aws:s3/bucket:Bucket::{r}-traffic-access-logs",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:traffic:LoadBalancer$aws:acm/certificate:Certificate::{r}-traffic-certificate",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:traffic:LoadBalancer$aws:lb/listener:Listener::{r}-traffic-https",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$aws:ecs/cluster:Cluster::{r}-cluster",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:compute:ContainerRegistry$aws:ecr/repository:Repository::{r}-auth-registry-repository",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:compute:ContainerRegistry$aws:ecr/repository:Repository::{r}-fa-registry-repository",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:compute:FargateService$aws:lb/targetGroup:TargetGroup::{r}-auth-tg",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:compute:FargateService$aws:ecs/service:Service::{r}-auth-service",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:compute:FargateService$aws:cloudwatch/logGroup:LogGroup::{r}-auth-logs",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:compute:AlbFunction$aws:lambda/function:Function::{r}-lambda-demo-function",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:compute:AlbFunction$aws:cloudwatch/logGroup:LogGroup::{r}-lambda-demo-logs",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:compute:AlbFunction$aws:lb/targetGroup:TargetGroup::{r}-lambda-demo-tg",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:delivery:Pipeline$aws:s3/bucket:Bucket::{r}-delivery-artifacts",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:delivery:Pipeline$aws:kms/key:Key::{r}-delivery-artifacts-key",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:delivery:Pipeline$aws:codecommit/repository:Repository::{r}-delivery-repository",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:delivery:Pipeline$aws:codepipeline/pipeline:Pipeline::{r}-delivery-pipeline",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:delivery:Pipeline$aws:sqs/queue:Queue::{r}-delivery-dead-letters",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:delivery:Pipeline$aws:cloudwatch/logGroup:LogGroup::{r}-delivery-build-logs",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:observability:Notifications$aws:sns/topic:Topic::{r}-notifications-topic",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:observability:Notifications$aws:kms/key:Key::{r}-notifications-key",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:compute:FargateService$aws:lb/targetGroup:TargetGroup::{r}-auth-staging-tg",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:events:TaskLauncher$devops-platform:events:EventFunction$aws:sqs/queue:Queue::{r}-task-launcher-function-dead-letters",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:events:TaskLauncher$devops-platform:events:EventFunction$aws:cloudwatch/logGroup:LogGroup::{r}-task-launcher-function-logs",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:events:TaskLauncher$devops-platform:events:EventFunction$aws:lambda/function:Function::{r}-task-launcher-function-function",
    # Replacing the domain's record or its health check would blip the failover.
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:dns:RegionalDns$aws:route53/record:Record::{r}-dns-record",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:dns:RegionalDns$aws:route53/healthCheck:HealthCheck::{r}-dns-health-check",
]
# The replicator exists in the primary region only.
PINNED_PRIMARY = [
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:events:RepoReplicator$devops-platform:events:EventFunction$aws:sqs/queue:Queue::us-east-1-replicator-function-dead-letters",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:events:RepoReplicator$devops-platform:events:EventFunction$aws:cloudwatch/logGroup:LogGroup::us-east-1-replicator-function-logs",
    "urn:pulumi:prod::devops-platform::devops-platform:platform:Region$devops-platform:events:RepoReplicator$devops-platform:events:EventFunction$aws:lambda/function:Function::us-east-1-replicator-function-function",
]


@pytest.mark.parametrize("region", REGIONS)
def test_stateful_resources_keep_their_logical_names(prod: Graph, region: str):
    urns = {r.urn for r in prod.resources}
    pinned = [u.format(r=region) for u in PINNED] + (PINNED_PRIMARY if region == "us-east-1" else [])
    missing = [u for u in pinned if u not in urns]
    assert not missing


def test_every_child_is_parented_and_uniquely_named(prod: Graph):
    urns = [r.urn for r in prod.resources]
    assert len(urns) == len(set(urns))
    by_urn = prod.by_urn()
    for r in prod.resources:
        if r.type == "pulumi:pulumi:Stack":
            assert r.parent is None
        else:
            assert r.parent in by_urn, r.name
        if r.parent and by_urn[r.parent].type.startswith("devops-platform:"):
            # Children are named after their component: f"{name}-<role>".
            assert r.name.startswith(by_urn[r.parent].name + "-"), r.name


def test_stack_outputs_are_keyed_by_region(prod: Graph):
    assert prod.outputs["primary_region"] == "us-east-1"
    regions = prod.outputs["regions"]
    assert set(regions) == set(REGIONS)
    east1 = regions["us-east-1"]
    assert east1["role"] == "primary" and regions["us-east-2"]["role"] == "secondary"
    assert east1["vpc_id"].startswith("vpc-")
    assert len(east1["public_subnet_ids"]) == 2 and all(s.startswith("subnet-") for s in east1["private_subnet_ids"])
    assert east1["public_route_table_id"].startswith("rtb-")
    assert len(east1["private_route_table_ids"]) == 2
    assert len(east1["nat_public_ips"]) == 2
    assert east1["availability_zones"] == ["us-east-1a", "us-east-1b"]


def test_preview_declares_the_same_resources_with_computed_values_unknown(prod: Graph, prod_preview: Graph):
    # Under a real `pulumi preview` IDs and ARNs are unknown. If anything formatted, compared or
    # branched on an Output's value while declaring, the preview would differ or fail.
    assert sorted(r.urn for r in prod_preview.resources) == sorted(r.urn for r in prod.resources)
    east1 = prod_preview.outputs["regions"]["us-east-1"]
    assert east1["vpc_id"] == UNKNOWN
    assert east1["public_subnet_ids"] == UNKNOWN
    vpc = prod_preview.named("us-east-1-network-vpc")
    subnet = prod_preview.named("us-east-1-network-public-az1")
    assert subnet.inputs["vpcId"] == UNKNOWN and vpc.inputs["cidrBlock"] == "10.0.0.0/16"


@pytest.mark.parametrize("graph_name", ["prod", "dev", "prod_preview"])
def test_no_output_was_turned_into_text_while_declaring(graph_name: str, request: pytest.FixtureRequest):
    graph: Graph = request.getfixturevalue(graph_name)
    text = json.dumps([[r.name, r.inputs] for r in graph.resources]) + json.dumps(graph.outputs)
    text += "\n".join(graph.warnings)
    # What str() of a pulumi Output yields.
    assert "Calling __str__ on an Output" not in text
    assert "pulumi.output.Output object" not in text
