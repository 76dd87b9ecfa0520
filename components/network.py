"""A region's VPC network: subnets over N AZs, internet and NAT egress, flow logs, endpoints."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

NatStrategy = Literal["perAz", "single", "none"]


@dataclass(frozen=True)
class FlowLogSettings:
    """Where and how long flow logs are kept.

    Attributes:
        retention_days: Days the CloudWatch log group keeps records. Default 365.
        traffic_type: ALL, ACCEPT or REJECT. Default ALL.
    """

    retention_days: int = 365
    traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = "ALL"


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of :class:`Network`.

    Attributes:
        name_prefix: Prefix of Name tags and of the flow-log group name, e.g. ``devops-platform-prod``.
        vpc_cidr: The VPC's IPv4 CIDR.
        public_subnet_cidrs: One CIDR per AZ, in AZ order. Length sets the AZ count.
        private_subnet_cidrs: One CIDR per AZ, in AZ order; same length as the public list.
        nat_strategy: ``perAz`` (default) one NAT gateway per AZ; ``single`` one NAT gateway in
            the first AZ; ``none`` no NAT, private subnets have no default route.
        flow_logs: Flow-log settings, or None to record no flow logs. Default: on, 365 days, ALL.
        interface_endpoints: Interface endpoint services (``ecr.api``, ``logs`` ...) placed in the
            private subnets with private DNS. Default none.
        gateway_endpoints: Gateway endpoint services (``s3``, ``dynamodb``) attached to the
            private route tables. Default ``("s3",)``.
    """

    name_prefix: str
    vpc_cidr: str
    public_subnet_cidrs: Sequence[str]
    private_subnet_cidrs: Sequence[str]
    nat_strategy: NatStrategy = "perAz"
    flow_logs: FlowLogSettings | None = field(default_factory=FlowLogSettings)
    interface_endpoints: Sequence[str] = ()
    gateway_endpoints: Sequence[str] = ("s3",)

    def __post_init__(self) -> None:
        # The stack config validator checks all of this with key-named errors; a component used on
        # its own still refuses a plan it cannot build.
        if len(self.public_subnet_cidrs) != len(self.private_subnet_cidrs):
            raise ValueError("public_subnet_cidrs and private_subnet_cidrs need one CIDR per AZ each")
        if len(self.public_subnet_cidrs) < 2:
            raise ValueError("a network needs at least 2 AZs")
        if self.nat_strategy not in ("perAz", "single", "none"):
            raise ValueError(f"unknown nat_strategy {self.nat_strategy!r}")

    @property
    def az_count(self) -> int:
        return len(self.public_subnet_cidrs)


class Network(pulumi.ComponentResource):
    """A VPC spread over ``az_count`` availability zones.

    Creates, with ``name`` as the prefix of every child's logical name:

    - ``{name}-vpc``: the VPC, DNS support and DNS hostnames on.
    - ``{name}-public-az{n}`` / ``{name}-private-az{n}``: a subnet of each tier per AZ. None
      assigns public IPs on launch (Security Hub EC2.15); the ALB and NAT gateways get theirs
      explicitly.
    - ``{name}-igw``, ``{name}-public-rt`` and its ``0.0.0.0/0`` route to the IGW.
    - ``{name}-nat-eip-az{n}`` / ``{name}-nat-az{n}``: NAT gateways per the strategy (the single
      NAT is ``az1``'s, so moving to ``perAz`` adds gateways without replacing it).
    - ``{name}-private-rt-az{n}``: a route table per AZ, with ``0.0.0.0/0`` to that AZ's NAT (or
      the single NAT). One per AZ even with a single NAT, so changing strategy only edits routes.
    - ``{name}-flow-logs*``: a CloudWatch log group with retention, a role that can write only to
      it, and the VPC flow log (Security Hub EC2.6).
    - ``{name}-default-sg``: the VPC's default security group, adopted with no rules (EC2.2).
    - ``{name}-endpoint-*``: the requested gateway and interface endpoints.

    ``private_egress`` lists what a workload in the private subnets needs before it can reach
    anything outside them (images, AWS APIs): each subnet's association with its route table, the
    tables' default routes through the NAT gateways, and the endpoints.
    """

    vpc_id: pulumi.Output[str]
    vpc_cidr_block: pulumi.Output[str]
    availability_zones: pulumi.Output[list[str]]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    public_route_table_id: pulumi.Output[str]
    private_route_table_ids: pulumi.Output[list[str]]
    nat_gateway_ids: pulumi.Output[list[str]]
    nat_public_ips: pulumi.Output[list[str]]
    flow_log_group_name: pulumi.Output[str | None]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("devops-platform:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.name_prefix

        def tags(role: str) -> Mapping[str, str]:
            return {"Name": f"{prefix}-{role}"}

        zones = aws.get_availability_zones_output(
            # Standard AZs only: Local and Wavelength Zones are opt-in. No `state` filter on
            # purpose: AZ n is names[n], and a zone dropping out while impaired would shift every
            # later index and replace subnets in the middle of an incident.
            filters=[{"name": "opt-in-status", "values": ["opt-in-not-required"]}],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        az_names = [zones.names.apply(_pick_zone(i, args.az_count)) for i in range(args.az_count)]
        az_keys = [f"az{i + 1}" for i in range(args.az_count)]

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=tags("vpc"),
            opts=child,
        )

        # Adopting the default group strips its rules; the explicit empty lists keep stripping any
        # rule added later, so nothing can quietly open the group that unassigned ENIs fall into.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags=tags("default-sg-unused"),
            opts=child,
        )

        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags("igw"), opts=child)

        def subnets(tier: str, cidrs: Sequence[str]) -> list[aws.ec2.Subnet]:
            return [
                aws.ec2.Subnet(
                    f"{name}-{tier}-{key}",
                    vpc_id=vpc.id,
                    cidr_block=cidr,
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags={**tags(f"{tier}-{key}"), "tier": tier},
                    opts=child,
                )
                for key, az, cidr in zip(az_keys, az_names, cidrs, strict=True)
            ]

        public_subnets = subnets("public", args.public_subnet_cidrs)
        private_subnets = subnets("private", args.private_subnet_cidrs)

        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags=tags("public-rt"), opts=child
        )
        aws.ec2.Route(
            f"{name}-public-default-route",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        for key, subnet in zip(az_keys, public_subnets, strict=True):
            aws.ec2.RouteTableAssociation(
                f"{name}-public-rta-{key}",
                subnet_id=subnet.id,
                route_table_id=public_rt.id,
                opts=child,
            )

        nat_keys = {"perAz": az_keys, "single": az_keys[:1], "none": []}[args.nat_strategy]
        nats: dict[str, aws.ec2.NatGateway] = {}
        eips: dict[str, aws.ec2.Eip] = {}
        for key in nat_keys:
            eip = aws.ec2.Eip(f"{name}-nat-eip-{key}", domain="vpc", tags=tags(f"nat-{key}"), opts=child)
            eips[key] = eip
            nats[key] = aws.ec2.NatGateway(
                f"{name}-nat-{key}",
                allocation_id=eip.id,
                subnet_id=public_subnets[az_keys.index(key)].id,
                connectivity_type="public",
                tags=tags(f"nat-{key}"),
                # A NAT gateway created before the IGW is attached fails to route.
                opts=pulumi.ResourceOptions(parent=self, depends_on=[igw]),
            )

        private_rts: list[aws.ec2.RouteTable] = []
        self.private_egress: list[pulumi.Resource] = []
        for key, subnet in zip(az_keys, private_subnets, strict=True):
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{key}", vpc_id=vpc.id, tags=tags(f"private-rt-{key}"), opts=child
            )
            private_rts.append(rt)
            nat = nats.get(key) or (nats[nat_keys[0]] if nat_keys else None)
            if nat is not None:
                route = aws.ec2.Route(
                    f"{name}-private-default-route-{key}",
                    route_table_id=rt.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat.id,
                    opts=child,
                )
                self.private_egress.append(route)
            self.private_egress.append(
                aws.ec2.RouteTableAssociation(
                    f"{name}-private-rta-{key}", subnet_id=subnet.id, route_table_id=rt.id, opts=child
                )
            )

        flow_log_group = self._flow_logs(name, prefix, vpc, args.flow_logs) if args.flow_logs else None
        self._endpoints(name, prefix, vpc, args, private_subnets, private_rts)

        self.vpc_id = vpc.id
        self.vpc_cidr_block = vpc.cidr_block
        self.availability_zones = pulumi.Output.all(*az_names)
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public_subnets])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private_subnets])
        self.public_route_table_id = public_rt.id
        self.private_route_table_ids = pulumi.Output.all(*[rt.id for rt in private_rts])
        self.nat_gateway_ids = pulumi.Output.all(*[n.id for n in nats.values()])
        self.nat_public_ips = pulumi.Output.all(*[e.public_ip for e in eips.values()])
        self.nat_public_ip_by_az: dict[str, pulumi.Output[str]] = {key: e.public_ip for key, e in eips.items()}
        self.flow_log_group_name = (
            flow_log_group.name if flow_log_group is not None else pulumi.Output.from_input(None)
        )
        self.outputs: dict[str, pulumi.Output] = {
            "vpc_id": self.vpc_id,
            "vpc_cidr_block": self.vpc_cidr_block,
            "availability_zones": self.availability_zones,
            "public_subnet_ids": self.public_subnet_ids,
            "private_subnet_ids": self.private_subnet_ids,
            "public_route_table_id": self.public_route_table_id,
            "private_route_table_ids": self.private_route_table_ids,
            "nat_gateway_ids": self.nat_gateway_ids,
            "nat_public_ips": self.nat_public_ips,
            "flow_log_group_name": self.flow_log_group_name,
        }
        self.register_outputs(self.outputs)

    def _flow_logs(
        self, name: str, prefix: str, vpc: aws.ec2.Vpc, settings: FlowLogSettings
    ) -> aws.cloudwatch.LogGroup:
        child = pulumi.ResourceOptions(parent=self)
        # Encrypted at rest with the CloudWatch Logs service key; a customer-managed key is not
        # required by FSBP for log groups and would add a key policy per region to maintain.
        group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs-group",
            name=f"/{prefix}/vpc-flow-logs",
            retention_in_days=settings.retention_days,
            tags={"Name": f"{prefix}-vpc-flow-logs"},
            opts=child,
        )
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(parent=self))
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self))
        # Confused-deputy guard: the service may assume the role only for this account's flow logs
        # in this region.
        assume = pulumi.Output.all(
            identity.account_id, partition.partition, region.region
        ).apply(
            lambda a: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                            "Condition": {
                                "StringEquals": {"aws:SourceAccount": a[0]},
                                "ArnLike": {"aws:SourceArn": f"arn:{a[1]}:ec2:{a[2]}:{a[0]}:vpc-flow-log/*"},
                            },
                        }
                    ],
                }
            )
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=assume,
            description="Lets VPC Flow Logs write to one log group",
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "logs:CreateLogStream",
                                    "logs:PutLogEvents",
                                    "logs:DescribeLogStreams",
                                ],
                                "Resource": [arn, f"{arn}:log-stream:*"],
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-logs",
            vpc_id=vpc.id,
            traffic_type=settings.traffic_type,
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": f"{prefix}-vpc-flow-logs"},
            # Without the policy in place the first deliveries are refused.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        return group

    def _endpoints(
        self,
        name: str,
        prefix: str,
        vpc: aws.ec2.Vpc,
        args: NetworkArgs,
        private_subnets: Sequence[aws.ec2.Subnet],
        private_rts: Sequence[aws.ec2.RouteTable],
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)

        def endpoint(service: str, kind: str, **placement: object) -> None:
            # The service name comes from AWS (it differs by partition), never from a template.
            svc = aws.ec2.get_vpc_endpoint_service_output(
                service=service, service_type=kind, opts=pulumi.InvokeOutputOptions(parent=self)
            )
            created = aws.ec2.VpcEndpoint(
                f"{name}-endpoint-{service.replace('.', '-')}",
                vpc_id=vpc.id,
                service_name=svc.service_name,
                vpc_endpoint_type=kind,
                tags={"Name": f"{prefix}-endpoint-{service}"},
                opts=child,
                **placement,  # type: ignore[arg-type]
            )
            self.private_egress.append(created)

        for service in args.gateway_endpoints:
            endpoint(service, "Gateway", route_table_ids=[rt.id for rt in private_rts])
        if not args.interface_endpoints:
            return
        # Exception to "security groups reference security groups": an interface endpoint serves
        # every workload in the VPC, including ones declared after it, so it admits HTTPS from
        # the VPC's own CIDR. It has no egress rules; endpoints never initiate connections.
        sg = aws.ec2.SecurityGroup(
            f"{name}-endpoint-sg",
            vpc_id=vpc.id,
            description="HTTPS from inside the VPC to its interface endpoints",
            ingress=[
                {
                    "protocol": "tcp",
                    "from_port": 443,
                    "to_port": 443,
                    "cidr_blocks": [args.vpc_cidr],
                    "description": "HTTPS from the VPC",
                }
            ],
            egress=[],
            tags={"Name": f"{prefix}-endpoints"},
            opts=child,
        )
        for service in args.interface_endpoints:
            endpoint(
                service,
                "Interface",
                private_dns_enabled=True,
                subnet_ids=[s.id for s in private_subnets],
                security_group_ids=[sg.id],
            )


class NotEnoughAvailabilityZones(pulumi.RunError):
    """The region has fewer standard AZs than the network spans (known only once AWS answers)."""


def _pick_zone(index: int, wanted: int):
    def pick(names: list[str]) -> str:
        if len(names) < wanted:
            raise NotEnoughAvailabilityZones(
                f"azCount: got {wanted}; allowed: at most {len(names)}, the standard availability "
                f"zones this region offers ({', '.join(names)})"
            )
        return names[index]

    return pick
