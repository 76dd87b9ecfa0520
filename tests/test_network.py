"""The network each region gets, asserted on the graph the real program declares under mocks."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable

import pytest

from components.network import Network, NetworkArgs, NotEnoughAvailabilityZones
from ops.harness import Graph, Registration, cause_of_type
from tests.conftest import under

REGIONS = ("us-east-1", "us-east-2")
VPC = "aws:ec2/vpc:Vpc"
SUBNET = "aws:ec2/subnet:Subnet"
NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ROUTE = "aws:ec2/route:Route"
RT = "aws:ec2/routeTable:RouteTable"
RTA = "aws:ec2/routeTableAssociation:RouteTableAssociation"
IGW = "aws:ec2/internetGateway:InternetGateway"


def in_region(graph: Graph, region: str, type_: str) -> list[Registration]:
    """The region's network resources of one type (other components have roles, groups, logs too)."""
    return [r for r in under(graph, f"{region}-network") if r.type == type_]


def _id_of(graph: Graph, name: str) -> str:
    """The ID the mocks gave a resource; other resources' inputs refer to it."""
    rid = graph.named(name).id
    assert rid is not None
    return rid


@pytest.mark.parametrize("region", REGIONS)
def test_vpc_has_dns_on_and_two_tiers_over_two_azs(prod: Graph, region: str):
    (vpc,) = in_region(prod, region, VPC)
    assert vpc.inputs["enableDnsSupport"] is True
    assert vpc.inputs["enableDnsHostnames"] is True
    subnets = in_region(prod, region, SUBNET)
    tiers = sorted(s.inputs["tags"]["tier"] for s in subnets)
    assert tiers == ["private", "private", "public", "public"]
    # AZ names come from the availability-zones data source of this region's provider.
    assert sorted({s.inputs["availabilityZone"] for s in subnets}) == [f"{region}a", f"{region}b"]


@pytest.mark.parametrize("graph_name", ["prod", "dev"])
def test_subnets_lie_inside_their_vpc_and_never_overlap(graph_name: str, request: pytest.FixtureRequest):
    graph: Graph = request.getfixturevalue(graph_name)
    for region in REGIONS:
        (vpc,) = in_region(graph, region, VPC)
        vpc_net = ipaddress.IPv4Network(vpc.inputs["cidrBlock"])
        nets = [ipaddress.IPv4Network(s.inputs["cidrBlock"]) for s in in_region(graph, region, SUBNET)]
        assert len(nets) == 4
        assert all(n.subnet_of(vpc_net) for n in nets)
        assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_prod_subnets_follow_the_seed_plan(prod: Graph):
    cidrs = {s.name: s.inputs["cidrBlock"] for s in prod.of_type(SUBNET)}
    assert cidrs["us-east-1-network-public-az1"] == "10.0.1.0/24"
    assert cidrs["us-east-1-network-private-az2"] == "10.0.12.0/24"
    assert cidrs["us-east-2-network-public-az2"] == "10.1.2.0/24"
    assert cidrs["us-east-2-network-private-az1"] == "10.1.11.0/24"


def test_no_subnet_assigns_public_ips(prod: Graph, dev: Graph):
    for graph in (prod, dev):
        assert all(s.inputs["mapPublicIpOnLaunch"] is False for s in graph.of_type(SUBNET))


@pytest.mark.parametrize("region", REGIONS)
def test_prod_has_a_nat_gateway_per_az_in_its_public_subnet(prod: Graph, region: str):
    nats = in_region(prod, region, NAT)
    assert len(nats) == 2
    public = {_id_of(prod, s.name): s for s in in_region(prod, region, SUBNET) if s.inputs["tags"]["tier"] == "public"}
    homes = {public[n.inputs["subnetId"]].inputs["availabilityZone"] for n in nats}
    assert homes == {f"{region}a", f"{region}b"}
    eips = {_id_of(prod, e.name) for e in in_region(prod, region, EIP)}
    assert {n.inputs["allocationId"] for n in nats} == eips


@pytest.mark.parametrize("region", REGIONS)
def test_dev_has_a_single_nat_gateway_per_region(dev: Graph, region: str):
    assert len(in_region(dev, region, NAT)) == 1
    assert len(in_region(dev, region, EIP)) == 1


@pytest.mark.parametrize(("graph_name", "per_az"), [("prod", True), ("dev", False)])
def test_private_subnets_route_to_the_internet_through_a_nat(graph_name: str, per_az: bool, request: pytest.FixtureRequest):
    graph: Graph = request.getfixturevalue(graph_name)
    for region in REGIONS:
        nat_by_id = {_id_of(graph, n.name): n for n in in_region(graph, region, NAT)}
        subnets = {_id_of(graph, s.name): s for s in in_region(graph, region, SUBNET)}
        routes = {r.inputs["routeTableId"]: r for r in in_region(graph, region, ROUTE)}
        igw_id = _id_of(graph, in_region(graph, region, IGW)[0].name)
        for assoc in in_region(graph, region, RTA):
            subnet = subnets[assoc.inputs["subnetId"]]
            route = routes.get(assoc.inputs["routeTableId"])
            assert route is not None and route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
            if subnet.inputs["tags"]["tier"] == "public":
                assert route.inputs["gatewayId"] == igw_id
                assert "natGatewayId" not in route.inputs
            else:
                nat = nat_by_id[route.inputs["natGatewayId"]]
                if per_az:  # each AZ keeps its own egress, so one AZ's failure leaves the other's up
                    nat_subnet = subnets[nat.inputs["subnetId"]]
                    assert nat_subnet.inputs["availabilityZone"] == subnet.inputs["availabilityZone"]


@pytest.mark.parametrize("region", REGIONS)
def test_flow_logs_are_on_and_written_through_a_least_privilege_role(prod: Graph, region: str):
    (vpc,) = in_region(prod, region, VPC)
    (flow,) = in_region(prod, region, "aws:ec2/flowLog:FlowLog")
    (group,) = in_region(prod, region, "aws:cloudwatch/logGroup:LogGroup")
    (role,) = in_region(prod, region, "aws:iam/role:Role")
    (policy,) = in_region(prod, region, "aws:iam/rolePolicy:RolePolicy")
    group_arn = f"arn:aws:logs:{region}:123456789012:log-group:{group.inputs['name']}"

    assert flow.inputs["vpcId"] == _id_of(prod, vpc.name)
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["logDestinationType"] == "cloud-watch-logs"
    assert flow.inputs["logDestination"] == group_arn
    assert group.inputs["retentionInDays"] == 365

    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {"aws:SourceAccount": "123456789012"}
    assert trust["Condition"]["ArnLike"]["aws:SourceArn"].startswith(f"arn:aws:ec2:{region}:123456789012:")

    (statement,) = json.loads(policy.inputs["policy"])["Statement"]
    assert statement["Effect"] == "Allow"
    assert set(statement["Action"]) == {"logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"}
    assert statement["Resource"] == [group_arn, f"{group_arn}:log-stream:*"]


def test_dev_flow_logs_keep_the_configured_retention(dev: Graph):
    assert {g.inputs["retentionInDays"] for g in dev.of_type("aws:cloudwatch/logGroup:LogGroup")} == {30}


@pytest.mark.parametrize("region", REGIONS)
def test_default_security_group_is_adopted_and_empty(prod: Graph, region: str):
    (vpc,) = in_region(prod, region, VPC)
    (sg,) = in_region(prod, region, "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert sg.inputs["vpcId"] == _id_of(prod, vpc.name)
    # Explicit empty lists, not omitted ones: only then does the provider also remove rules that
    # someone adds later, instead of leaving them as unmanaged drift.
    assert sg.inputs["ingress"] == []
    assert sg.inputs["egress"] == []


def test_s3_gateway_endpoint_serves_the_private_route_tables(prod: Graph):
    for region in REGIONS:
        (endpoint,) = in_region(prod, region, "aws:ec2/vpcEndpoint:VpcEndpoint")
        assert endpoint.inputs["vpcEndpointType"] == "Gateway"
        assert endpoint.inputs["serviceName"] == f"com.amazonaws.{region}.s3"
        private_rts = {_id_of(prod, rt.name) for rt in in_region(prod, region, RT) if "private" in rt.name}
        assert set(endpoint.inputs["routeTableIds"]) == private_rts


def test_no_nat_with_interface_endpoints(run_program: Callable[..., Graph]):
    def edit(ns: dict) -> None:
        ns["network"] = {
            "natStrategy": "none",
            "interfaceEndpoints": ["ecr.api", "ecr.dkr", "logs"],
            "gatewayEndpoints": ["s3"],
        }
        # Smoke tests reach the test listener through NAT, so a NAT-less stack has none.
        for svc in ns["services"]:
            svc.get("deployment", {}).pop("smokeTest", None)

    graph = run_program("prod", edit=edit)
    assert graph.of_type(NAT) == [] and graph.of_type(EIP) == []
    assert all("natGatewayId" not in r.inputs for r in graph.of_type(ROUTE))
    for region in REGIONS:
        endpoints = {e.inputs["serviceName"]: e for e in in_region(graph, region, "aws:ec2/vpcEndpoint:VpcEndpoint")}
        assert set(endpoints) == {f"com.amazonaws.{region}.{s}" for s in ("ecr.api", "ecr.dkr", "logs", "s3")}
        private = {_id_of(graph, s.name) for s in in_region(graph, region, SUBNET) if s.inputs["tags"]["tier"] == "private"}
        (sg,) = in_region(graph, region, "aws:ec2/securityGroup:SecurityGroup")
        sg_id = _id_of(graph, sg.name)
        for service in ("ecr.api", "ecr.dkr", "logs"):
            e = endpoints[f"com.amazonaws.{region}.{service}"]
            assert e.inputs["privateDnsEnabled"] is True
            assert set(e.inputs["subnetIds"]) == private
            assert e.inputs["securityGroupIds"] == [sg_id]
        (rule,) = sg.inputs["ingress"]
        assert (rule["fromPort"], rule["toPort"], rule["protocol"]) == (443, 443, "tcp")
        assert rule["cidrBlocks"] == [in_region(graph, region, VPC)[0].inputs["cidrBlock"]]
        assert sg.inputs.get("egress", []) == []


def test_az_count_three_spreads_subnets_and_nats_over_three_azs(run_program: Callable[..., Graph]):
    def edit(ns: dict) -> None:
        ns["regions"][0].pop("subnets")
        ns["regions"][0]["azCount"] = 3

    graph = run_program("prod", edit=edit)
    subnets = in_region(graph, "us-east-1", SUBNET)
    assert len(subnets) == 6 and len(in_region(graph, "us-east-1", NAT)) == 3
    assert {s.inputs["availabilityZone"] for s in subnets} == {"us-east-1a", "us-east-1b", "us-east-1c"}


def test_asking_for_more_azs_than_the_region_has_fails_clearly(run_program: Callable[..., Graph]):
    # The mocks give us-east-2 three AZs, as AWS does.
    def edit(ns: dict) -> None:
        ns["regions"][1].pop("subnets")
        ns["regions"][1]["azCount"] = 4

    with pytest.raises(Exception) as caught:
        run_program("prod", edit=edit)
    # The SDK wraps errors raised inside an apply; the RunError underneath is what Pulumi prints.
    error = cause_of_type(caught.value, NotEnoughAvailabilityZones)
    assert error is not None
    assert str(error) == (
        "azCount: got 4; allowed: at most 3, the standard availability zones this region offers "
        "(us-east-2a, us-east-2b, us-east-2c)"
    )


def test_flow_logs_can_be_turned_off_with_a_warning(run_program: Callable[..., Graph]):
    graph = run_program("dev", edit=lambda ns: ns["network"]["flowLogs"].update(enabled=False))
    assert graph.of_type("aws:ec2/flowLog:FlowLog") == []
    assert any("EC2.6" in w for w in graph.warnings)


def _network(**overrides: object) -> NetworkArgs:
    args = dict(
        name_prefix="t",
        vpc_cidr="10.0.0.0/16",
        public_subnet_cidrs=("10.0.0.0/20", "10.0.16.0/20"),
        private_subnet_cidrs=("10.0.128.0/20", "10.0.144.0/20"),
    )
    args.update(overrides)
    return NetworkArgs(**args)  # type: ignore[arg-type]


def test_network_args_reject_a_plan_they_cannot_build():
    with pytest.raises(ValueError, match="one CIDR per AZ"):
        _network(private_subnet_cidrs=("10.0.128.0/20",))
    with pytest.raises(ValueError, match="at least 2 AZs"):
        _network(public_subnet_cidrs=("10.0.0.0/20",), private_subnet_cidrs=("10.0.128.0/20",))
    with pytest.raises(ValueError, match="nat_strategy"):
        _network(nat_strategy="two")


def test_network_component_on_its_own(run_component: Callable[..., Graph]):
    import pulumi

    def build(provider: object) -> None:
        Network("solo", _network(nat_strategy="single", flow_logs=None), pulumi.ResourceOptions(providers=[provider]))

    graph = run_component(build, region="eu-west-1")
    assert len(graph.of_type(NAT)) == 1
    assert graph.of_type("aws:ec2/flowLog:FlowLog") == []
    assert {s.inputs["availabilityZone"] for s in graph.of_type(SUBNET)} == {"eu-west-1a", "eu-west-1b"}
    assert all(r.region == "eu-west-1" for r in graph.custom())


@pytest.mark.parametrize("region", REGIONS)
def test_creation_order_that_aws_needs(prod: Graph, region: str):
    # A NAT gateway made before the IGW is attached cannot route; a flow log made before its
    # role may write is refused delivery. Both wait explicitly.
    igw = prod.named(f"{region}-network-igw").urn
    for nat in in_region(prod, region, NAT):
        assert igw in nat.dependencies
    policy = prod.named(f"{region}-network-flow-logs-policy").urn
    assert policy in prod.named(f"{region}-network-flow-logs").dependencies
