"""The stack config model: every key of the project's config namespace, typed and described.

Keys are camelCase in the stack files (``vpcCidr``) and snake_case here (``vpc_cidr``). Only the
camelCase spelling is accepted, so a snake_case spelling is reported as an unknown key rather
than silently taking effect.

Each field's ``allowed`` text is what a config error prints after "allowed:", and each
``description`` feeds the config reference in the README (``python -m stack_config.reference``).
The traffic and compute sections live in ``workloads``, the others in ``pipeline``, ``events``
and ``monitoring``, each an optional field of ``StackConfig``; an unknown key is an error.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
)

from .aws_regions import is_known_region
from .base import RETENTION_ALLOWED, RetentionDays, _fail, _field, _Model, _strict_str, checked_str
from .events import ReplicationConfig, TaskLauncherConfig
from .monitoring import MonitoringConfig
from .pipeline import PipelineConfig
from .subnet_plan import MAX_PREFIX, MIN_PREFIX, SubnetPlan, derive
from .workloads import ContainerRegistryConfig, DnsConfig, FunctionConfig, LoadBalancerConfig, ServiceConfig

PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
PRIVATE_RANGES_TEXT = "10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16"

# Interface endpoints the platform's workloads use. A short list on purpose: a typo such as
# "ecr.dck" is caught here instead of failing at deploy time with "service not found".
INTERFACE_ENDPOINT_SERVICES = (
    "ecr.api", "ecr.dkr", "logs", "monitoring", "sts", "ssm", "ssmmessages", "ec2messages",
    "secretsmanager", "kms", "ecs", "ecs-agent", "ecs-telemetry", "sqs", "sns", "events",
    "lambda", "xray", "codecommit", "git-codecommit", "codebuild", "codepipeline",
    "elasticloadbalancing", "execute-api",
)  # fmt: skip
GATEWAY_ENDPOINT_SERVICES = ("s3", "dynamodb")

# Tag keys the program sets itself on every resource, through the providers' default tags.
RESERVED_TAG_KEYS = ("project", "stack", "environment", "region", "managed-by")

_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")
_ENV_RE = re.compile(r"^[a-z][a-z0-9]*$")
_ROLE_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")


# --- field types --------------------------------------------------------------------------------

NAME_ALLOWED = "2-20 characters: lowercase letters, digits and single hyphens, starting with a letter"


ENV_ALLOWED = "2-10 lowercase letters or digits, starting with a letter (for example dev, prod)"


REGION_ALLOWED = "an AWS region code such as us-east-1 or eu-west-2"


def _parse_cidr(value: str, allowed: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        if "host bits set" in str(exc):
            fixed = ipaddress.IPv4Network(value, strict=False)
            raise _fail("cidr", f"{allowed} (host bits are set: did you mean {fixed}?)") from None
        raise _fail("cidr", allowed) from None


VPC_CIDR_ALLOWED = (
    f"an IPv4 CIDR from /{MIN_PREFIX} to /{MAX_PREFIX} inside a private range "
    f"({PRIVATE_RANGES_TEXT})"
)


def _check_vpc_cidr(value: str) -> str:
    net = _parse_cidr(value, VPC_CIDR_ALLOWED)
    if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
        raise _fail("cidr_size", VPC_CIDR_ALLOWED)
    if not any(net.subnet_of(r) for r in PRIVATE_RANGES):
        raise _fail("cidr_range", VPC_CIDR_ALLOWED)
    return str(net)


SUBNET_CIDR_ALLOWED = f"an IPv4 CIDR from /{MIN_PREFIX} to /{MAX_PREFIX}"


def _check_subnet_cidr(value: str) -> str:
    net = _parse_cidr(value, SUBNET_CIDR_ALLOWED)
    if not MIN_PREFIX <= net.prefixlen <= MAX_PREFIX:
        raise _fail("cidr_size", SUBNET_CIDR_ALLOWED)
    return str(net)


def _whole_number(value: Any) -> Any:
    # pydantic's lax mode would turn 2.0 or "2" or True into 2; an AZ count must be written
    # as a whole number, so only real integers pass.
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail("whole_number", AZ_COUNT_ALLOWED)
    return value


AZ_COUNT_ALLOWED = "a whole number from 2 to 6"


def _check_az_count(value: int) -> int:
    if not 2 <= value <= 6:
        raise _fail("az_count", AZ_COUNT_ALLOWED)
    return value


ROLE_ARN_ALLOWED = "an IAM role ARN, arn:<partition>:iam::<12-digit account>:role/<name>"


ACCOUNT_ALLOWED = "a 12-digit AWS account ID, written as a quoted string"


Name = checked_str("name", NAME_ALLOWED, lambda value: 2 <= len(value) <= 20 and _NAME_RE.match(value) and "--" not in value)
Environment = checked_str("environment", ENV_ALLOWED, lambda value: 2 <= len(value) <= 10 and _ENV_RE.match(value))
Region = checked_str("region", REGION_ALLOWED, is_known_region)
VpcCidr = Annotated[str, _strict_str(VPC_CIDR_ALLOWED), AfterValidator(_check_vpc_cidr)]
SubnetCidr = Annotated[str, _strict_str(SUBNET_CIDR_ALLOWED), AfterValidator(_check_subnet_cidr)]
AzCount = Annotated[int, BeforeValidator(_whole_number), AfterValidator(_check_az_count)]
RoleArn = checked_str("role_arn", ROLE_ARN_ALLOWED, _ROLE_ARN_RE.match)
AccountId = checked_str("account", ACCOUNT_ALLOWED, _ACCOUNT_RE.match)

# --- sections -----------------------------------------------------------------------------------


class SubnetPlanConfig(_Model):
    """An explicit subnet layout: one CIDR per AZ and tier, in AZ order."""

    public: list[SubnetCidr] = _field(
        description="Public subnet CIDRs, one per AZ in AZ order (the ALB and NAT gateways live here).",
        allowed=f"a list of azCount CIDRs inside the VPC ({SUBNET_CIDR_ALLOWED})",
    )
    private: list[SubnetCidr] = _field(
        description="Private subnet CIDRs, one per AZ in AZ order (tasks and functions live here).",
        allowed=f"a list of azCount CIDRs inside the VPC ({SUBNET_CIDR_ALLOWED})",
    )


class RegionConfig(_Model):
    """One region the stack deploys to."""

    name: Region = _field(description="AWS region code, for example us-east-1.", allowed=REGION_ALLOWED)
    role: Literal["primary", "secondary"] = _field(
        description="primary: the region whose repository is the source of truth and whose "
        "pushes are replicated; secondary: a region that receives the replica. Exactly one primary.",
        allowed="primary or secondary",
    )
    vpc_cidr: VpcCidr = _field(
        description="The region's VPC CIDR. Must not overlap another region's, so VPCs stay peerable.",
        allowed=VPC_CIDR_ALLOWED,
    )
    az_count: AzCount = _field(
        2,
        description="How many availability zones to spread subnets (and, with natStrategy perAz, NAT gateways) over.",
        allowed=AZ_COUNT_ALLOWED,
    )
    subnets: SubnetPlanConfig | None = _field(
        None,
        description="Explicit subnet CIDRs. Omit it to derive /20s (for a /16) from the VPC CIDR: "
        "public from the bottom of the range, private from its middle.",
        allowed="an object with public and private lists of CIDRs",
    )
    assume_role_arn: RoleArn | None = _field(
        None,
        description="IAM role the region's provider assumes (for example a deployment role in "
        "the target account). Omitted: the ambient credentials are used.",
        allowed=ROLE_ARN_ALLOWED,
    )

    def subnet_plan(self) -> SubnetPlan:
        """The explicit plan if one is given, else the derived one."""
        if self.subnets is not None:
            return SubnetPlan(public=tuple(self.subnets.public), private=tuple(self.subnets.private))
        return derive(self.vpc_cidr, self.az_count)


class FlowLogsConfig(_Model):
    """VPC flow logs, delivered to a CloudWatch log group in each region."""

    enabled: bool = _field(
        True,
        description="Capture VPC flow logs (Security Hub EC2.6). Turning it off is reported by the synth.",
        allowed="true or false",
        strict=True,
    )
    retention_days: RetentionDays = _field(
        365, description="Days CloudWatch keeps flow logs.", allowed=RETENTION_ALLOWED
    )
    traffic_type: Literal["ALL", "ACCEPT", "REJECT"] = _field(
        "ALL", description="Which traffic to record.", allowed="ALL, ACCEPT or REJECT"
    )


class NetworkConfig(_Model):
    """Options shared by every region's network."""

    nat_strategy: Literal["perAz", "single", "none"] = _field(
        "perAz",
        description="perAz: a NAT gateway in each AZ (survives an AZ failure); single: one NAT "
        "gateway for the region (cheaper, dev); none: no NAT, so workloads reach AWS only through "
        "VPC endpoints.",
        allowed="perAz, single or none",
    )
    flow_logs: FlowLogsConfig = _field(
        FlowLogsConfig(),
        description="VPC flow log settings.",
        allowed="an object with enabled, retentionDays, trafficType",
    )
    interface_endpoints: list[Literal[INTERFACE_ENDPOINT_SERVICES]] = _field(  # type: ignore[valid-type]
        [],
        description="Interface VPC endpoints to create in the private subnets, by service "
        "(for example ecr.api, ecr.dkr, logs). Each costs an hourly fee per AZ.",
        allowed="a list of: " + ", ".join(INTERFACE_ENDPOINT_SERVICES),
    )
    gateway_endpoints: list[Literal[GATEWAY_ENDPOINT_SERVICES]] = _field(  # type: ignore[valid-type]
        ["s3"],
        description="Gateway VPC endpoints (free) attached to the private route tables. S3 "
        "keeps image-layer pulls from ECR off the NAT gateways.",
        allowed="a list of: " + ", ".join(GATEWAY_ENDPOINT_SERVICES),
    )


class LogsConfig(_Model):
    """CloudWatch log groups of services and functions."""

    retention_days: RetentionDays = _field(
        365, description="Days CloudWatch keeps service and function logs.", allowed=RETENTION_ALLOWED
    )


def _empty_is_none(value: Any) -> Any:
    # Pulumi.yaml declares {} as the default so the CLI does not treat the key as required.
    return None if value == {} else value


class StackConfig(_Model):
    """The whole ``devops-platform:*`` config namespace of one stack."""

    name: Name = _field(
        "devops-platform",
        description="Short name that prefixes physical names and Name tags.",
        allowed=NAME_ALLOWED,
    )
    environment: Environment = _field(
        description="Environment label (dev, prod ...), tagged on every resource and used in names.",
        allowed=ENV_ALLOWED,
    )
    tags: dict[str, str] = _field(
        {},
        description="Extra tags on every resource, through each provider's default tags. "
        "The keys " + ", ".join(RESERVED_TAG_KEYS) + " are set by the program.",
        allowed="a map of tag key to string value (keys up to 128 characters, values up to 256)",
    )
    allowed_account_ids: list[AccountId] = _field(
        [],
        description="If set, every provider refuses to act in any other AWS account: a guard "
        "against deploying prod with the wrong credentials.",
        allowed="a list of 12-digit AWS account IDs, each written as a quoted string",
    )
    regions: list[RegionConfig] = _field(
        description="The regions to deploy, each with its own provider and network. Exactly one is primary.",
        allowed="a non-empty list of region objects with name, role, vpcCidr",
    )
    network: NetworkConfig = _field(
        NetworkConfig(),
        description="Network options shared by every region.",
        allowed="an object with natStrategy, flowLogs, interfaceEndpoints, gatewayEndpoints",
    )
    load_balancer: LoadBalancerConfig = _field(
        LoadBalancerConfig(),
        description="The shared ALB of each region.",
        allowed="an object with ingressCidrs, deletionProtection, idleTimeoutSeconds, sslPolicy, "
        "certificateArns, accessLogs",
    )
    dns: Annotated[DnsConfig | None, BeforeValidator(_empty_is_none)] = _field(
        None,
        description="A domain and its Route 53 hosted zone. Without loadBalancer.certificateArns, "
        "ACM issues each region's certificate for it, validated through DNS.",
        allowed="an object with domain, hostedZoneId",
    )
    services: list[ServiceConfig] = _field(
        [],
        description="Fargate services behind the ALB, the same in every region.",
        allowed="a list of service objects with at least name, port, paths",
    )
    container_registry: ContainerRegistryConfig = _field(
        ContainerRegistryConfig(),
        description="ECR repository settings.",
        allowed="an object with keepTaggedImages, expireUntaggedAfterDays, forceDelete",
    )
    logs: LogsConfig = _field(
        LogsConfig(), description="Application log settings.", allowed="an object with retentionDays"
    )
    functions: list[FunctionConfig] = _field(
        [],
        description="Lambda functions behind the ALB (or subscribed to SNS), the same in every region.",
        allowed="a list of function objects with at least name",
    )
    pipeline: PipelineConfig = _field(
        PipelineConfig(),
        description="The delivery pipeline of each region: source, build, staging, approval, production.",
        allowed="an object with enabled, source, build, stages, deployTimeoutMinutes, staging, notifications, artifacts",
    )
    task_launcher: TaskLauncherConfig = _field(
        TaskLauncherConfig(),
        description="The Lambda that starts mode on-demand services' tasks on a Start ECS Task event "
        "and registers them in their target groups, in every region.",
        allowed="an object with enabled, maxCount, timeoutSeconds, memoryMb, schedules",
    )
    monitoring: MonitoringConfig = _field(
        MonitoringConfig(),
        description="Alarms (with the platform's default thresholds) and a dashboard in every region, to the notifications topic.",
        allowed="an object with enabled, emails, serviceAlarms, services, loadBalancer5xxCount, "
        "functionDurationPercent, replicationLagSeconds, dashboard",
    )
    replication: ReplicationConfig = _field(
        ReplicationConfig(),
        description="The Lambda in the primary region that replicates the primary CodeCommit "
        "repository's branches to each secondary region's repository.",
        allowed="an object with enabled, timeoutSeconds, memoryMb",
    )

    @property
    def has_pipeline(self) -> bool:
        """A stack without services has nothing to build or deploy, so no pipeline."""
        return self.pipeline.enabled and bool(self.services)

    @property
    def has_staging(self) -> bool:
        return self.has_pipeline and any(s.type == "deploy" and s.target == "staging" for s in self.pipeline.stages)

    @property
    def on_demand_services(self) -> list[ServiceConfig]:
        return [s for s in self.services if s.mode == "on-demand"]

    @property
    def has_task_launcher(self) -> bool:
        """Explicit ``enabled``, else on exactly when there is something to launch."""
        enabled = self.task_launcher.enabled
        return bool(self.on_demand_services) if enabled is None else enabled

    @property
    def has_replication(self) -> bool:
        """Explicit ``enabled``, else on when secondary regions have CodeCommit repositories to feed."""
        enabled = self.replication.enabled
        if enabled is not None:
            return enabled
        return self.has_pipeline and self.pipeline.source.type == "codecommit" and len(self.regions) > 1

    @property
    def routing(self) -> str:
        """How the domain resolves: ``dns.routing``, or failover with two regions, else none."""
        if self.dns is None:
            return "none"
        if self.dns.routing is not None:
            return self.dns.routing
        return "failover" if len(self.regions) == 2 else "none"

    @property
    def primary(self) -> RegionConfig:
        return next(r for r in self.regions if r.role == "primary")
