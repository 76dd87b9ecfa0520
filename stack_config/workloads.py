"""Config sections for traffic and compute: the load balancer, DNS, services and functions.

Every region the stack lists runs the same services and functions behind its own ALB; what
differs per region (certificates) is keyed by region.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import AfterValidator

from .base import HEALTH_PATH_ALLOWED, HealthPath, _fail, _field, _int, _Model, _strict_str, checked_str
from .deployment import DeploymentConfig

# --- field types --------------------------------------------------------------------------------

_ROUTE_NAME_RULE = "2-20 characters: lowercase letters, digits and single hyphens, starting with a letter"
ROUTE_NAME_ALLOWED = _ROUTE_NAME_RULE + " (it names the target group, ECS service, task family and ECR repository)"
# A function has no ECS service, task family or repository: wiring.function_settings names the
# function {name}-{environment}-<name> (so its log group, /aws/lambda/<that>), its target group
# when it has paths, and its code directory when source is not given.
FUNCTION_NAME_ALLOWED = (
    _ROUTE_NAME_RULE + " (it names the Lambda function and its log group, its target group when it has "
    "paths, and its code directory unless source is set)"
)
_ROUTE_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*[a-z0-9]$")


def _is_route_name(value: str) -> bool:
    return 2 <= len(value) <= 20 and bool(_ROUTE_NAME_RE.match(value)) and "--" not in value


PATH_ALLOWED = (
    "a path pattern of at most 128 characters starting with /, using letters, digits, "
    "_ - . $ / ~ \" ' @ : + & and the wildcards * and ?"
)
_PATH_RE = re.compile(r"""^/[A-Za-z0-9_\-.$/~"'@:+&*?]*$""")




CIDR_ALLOWED = "an IPv4 CIDR such as 0.0.0.0/0 or 203.0.113.0/24"


def _check_ingress_cidr(value: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value, strict=True))
    except ValueError:
        raise _fail("cidr", CIDR_ALLOWED) from None


CERT_ARN_ALLOWED = "an ACM certificate ARN, arn:<partition>:acm:<region>:<12-digit account>:certificate/<id>"
_CERT_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}$")


SSL_POLICY_ALLOWED = (
    "an ELB security policy with TLS 1.3, ELBSecurityPolicy-TLS13-... "
    "(for example ELBSecurityPolicy-TLS13-1-2-2021-06)"
)
_SSL_POLICY_RE = re.compile(r"^ELBSecurityPolicy-TLS13-[A-Za-z0-9-]+$")


DOMAIN_ALLOWED = "a DNS name such as app.example.com (lowercase, at most 253 characters)"
_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


def _is_domain(value: str) -> bool:
    labels = value.split(".")
    return len(value) <= 253 and len(labels) >= 2 and all(_LABEL_RE.match(label) for label in labels)


ZONE_ALLOWED = "a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ"
_ZONE_RE = re.compile(r"^Z[A-Z0-9]{1,31}$")


SECRET_ALLOWED = (
    "the ARN of an SSM parameter (arn:<partition>:ssm:<region>:<account>:parameter/...) or a Secrets "
    "Manager secret (arn:<partition>:secretsmanager:<region>:<account>:secret:...)"
)
_SECRET_RE = re.compile(
    r"^arn:aws(-[a-z]+)*:(ssm:[a-z0-9-]+:\d{12}:parameter/[\w./-]+"
    r"|secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+(:[\w-]*){0,3})$"
)


ENV_NAME_ALLOWED = "an environment variable name: letters, digits and _, not starting with a digit"
_ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

ACTION_ALLOWED = (
    "an IAM action service:Action (for example s3:GetObject); no *, and no service:* "
    "(grant the actions the task needs)"
)
ACTIONS_ALLOWED = (
    "a non-empty list of IAM actions service:Action (for example s3:GetObject); no *, and no service:* "
    "(grant the actions the task needs)"
)
_ACTION_RE = re.compile(r"^[a-z0-9-]+:[A-Za-z0-9]+\*?$")


RESOURCE_ALLOWED = "a resource ARN (arn:...), wildcards allowed inside it but not * on its own"
_RESOURCE_RE = re.compile(r"^arn:aws(-[a-z]+)*:[a-z0-9-]+:[a-z0-9-*]*:(\d{12}|\*)?:.+$")


IMAGE_ALLOWED = "a container image reference, registry/repository:tag or @sha256 digest"
_IMAGE_RE = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*(:\d+)?(/[a-z0-9]+([._/-][a-z0-9]+)*)+(:[\w.-]{1,128}|@sha256:[0-9a-f]{64})$")


RouteName = checked_str("route_name", ROUTE_NAME_ALLOWED, _is_route_name)
FunctionName = checked_str("function_name", FUNCTION_NAME_ALLOWED, _is_route_name)
PathPattern = checked_str("path_pattern", PATH_ALLOWED, lambda value: len(value) <= 128 and bool(_PATH_RE.match(value)))
IngressCidr = Annotated[str, _strict_str(CIDR_ALLOWED), AfterValidator(_check_ingress_cidr)]
CertificateArn = checked_str("certificate_arn", CERT_ARN_ALLOWED, _CERT_ARN_RE.match)
SslPolicy = checked_str("ssl_policy", SSL_POLICY_ALLOWED, _SSL_POLICY_RE.match)
Domain = checked_str("domain", DOMAIN_ALLOWED, _is_domain)
ZoneId = checked_str("zone", ZONE_ALLOWED, _ZONE_RE.match)
SecretArn = checked_str("secret_arn", SECRET_ALLOWED, _SECRET_RE.match)
IamAction = checked_str("iam_action", ACTION_ALLOWED, _ACTION_RE.match)
IamResource = checked_str("iam_resource", RESOURCE_ALLOWED, _RESOURCE_RE.match)
Image = checked_str("image", IMAGE_ALLOWED, _IMAGE_RE.match)

Port, PORT_ALLOWED = _int(1, 65535, "a port")
FailureThreshold, FAILURE_THRESHOLD_ALLOWED = _int(1, 10, "a count")
Priority, PRIORITY_ALLOWED = _int(1, 50_000, "a listener-rule priority")
Seconds300, SECONDS300_ALLOWED = _int(5, 300, "seconds")
Timeout120, TIMEOUT120_ALLOWED = _int(2, 120, "seconds")
Threshold, THRESHOLD_ALLOWED = _int(2, 10)
Grace, GRACE_ALLOWED = _int(0, 3600, "seconds")
# Fargate waits at most 120 s between SIGTERM and SIGKILL.
StopTimeout, STOP_TIMEOUT_ALLOWED = _int(2, 120, "seconds")
Capacity, CAPACITY_ALLOWED = _int(0, 1000, "a task count")
Percent, PERCENT_ALLOWED = _int(10, 95, "a utilization percentage")
Cooldown, COOLDOWN_ALLOWED = _int(0, 3600, "seconds")
IdleTimeout, IDLE_TIMEOUT_ALLOWED = _int(1, 4000, "seconds")
ExpireDays, EXPIRE_DAYS_ALLOWED = _int(1, 3650, "days")
RequestsPerTarget, REQUESTS_ALLOWED = _int(1, 1_000_000, "requests per target per minute")
MemoryMb, MEMORY_MB_ALLOWED = _int(128, 10_240, "megabytes")
LambdaTimeout, LAMBDA_TIMEOUT_ALLOWED = _int(1, 900, "seconds")
Concurrency, CONCURRENCY_ALLOWED = _int(1, 10_000, "concurrent executions")

# Fargate's task sizes: CPU units -> allowed memory (MiB). Linux, platform version 1.4.0.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
CPU_ALLOWED = "Fargate CPU units: " + ", ".join(map(str, FARGATE_SIZES))
MEMORY_ALLOWED = "MiB, a Fargate size that goes with cpu (for 256: 512, 1024 or 2048)"

# Supported by Lambda (not deprecated) at the pinned provider's date.
LAMBDA_PYTHON_RUNTIMES = ("python3.11", "python3.12", "python3.13")

# A public image that answers 200 on every path, on the port in $PORT: what each service runs
# until its pipeline publishes the first real image. Mirror it into ECR to avoid public pulls.
DEFAULT_BOOTSTRAP_IMAGE = "us-docker.pkg.dev/google-samples/containers/gke/hello-app:1.0"
RESERVED_ENV = ("AWS_REGION", "ENVIRONMENT", "PORT")


# --- sections -----------------------------------------------------------------------------------


class AccessLogsConfig(_Model):
    """ALB access logs, written to an S3 bucket the stack creates in each region."""

    enabled: bool = _field(
        True, description="Write access logs (Security Hub ELB.5).", allowed="true or false", strict=True
    )
    expire_after_days: ExpireDays = _field(  # type: ignore[valid-type]
        90, description="Days before a log object is deleted.", allowed=EXPIRE_DAYS_ALLOWED
    )


RateLimit, RATE_LIMIT_ALLOWED = _int(10, 2_000_000_000, "requests per 5 minutes from one IP address")


class ManagedRulesConfig(_Model):
    """AWS managed rule groups of the web ACL, each on or off."""

    common: bool = _field(
        True,
        description="AWSManagedRulesCommonRuleSet: the OWASP-style core rules (cross-site scripting, "
        "local file inclusion, oversized bodies: a request body over 8 KB is blocked).",
        allowed="true or false",
        strict=True,
    )
    known_bad_inputs: bool = _field(
        True,
        description="AWSManagedRulesKnownBadInputsRuleSet: request patterns known to exploit vulnerabilities "
        "(Log4j's JNDI lookups and the like).",
        allowed="true or false",
        strict=True,
    )
    ip_reputation: bool = _field(
        True,
        description="AWSManagedRulesAmazonIpReputationList: addresses Amazon's threat intelligence lists as "
        "bots or sources of attacks.",
        allowed="true or false",
        strict=True,
    )


class WafConfig(_Model):
    """A WAF web ACL in front of each region's ALB."""

    enabled: bool = _field(
        True,
        description="A web ACL associated with each region's ALB, logging to aws-waf-logs-{name}-{environment} "
        "(Security Hub's WAF controls). dev turns it off to save its fixed monthly fee.",
        allowed="true or false",
        strict=True,
    )
    managed_rules: ManagedRulesConfig = _field(
        ManagedRulesConfig(), description="The AWS managed rule groups.", allowed="an object with common, knownBadInputs, ipReputation"
    )
    rate_limit: RateLimit | None = _field(  # type: ignore[valid-type]
        2000,
        description="Block an IP address that sends more than this many requests in 5 minutes; null: no rate rule.",
        allowed=RATE_LIMIT_ALLOWED,
    )


class LoadBalancerConfig(_Model):
    """The shared Application Load Balancer of each region."""

    ingress_cidrs: list[IngressCidr] = _field(
        ["0.0.0.0/0"],
        description="Client CIDRs allowed to reach ports 80 and 443.",
        allowed="a non-empty list of IPv4 CIDRs",
        min_length=1,
    )
    deletion_protection: bool = _field(
        True,
        description="Refuse to delete the ALB until this is turned off (Security Hub ELB.6).",
        allowed="true or false",
        strict=True,
    )
    idle_timeout_seconds: IdleTimeout = _field(  # type: ignore[valid-type]
        60, description="Seconds an idle connection is kept open.", allowed=IDLE_TIMEOUT_ALLOWED
    )
    ssl_policy: SslPolicy = _field(
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        description="TLS policy of the HTTPS listener (TLS 1.3 and 1.2 by default).",
        allowed=SSL_POLICY_ALLOWED,
    )
    certificate_arns: dict[str, CertificateArn] = _field(
        {},
        description="An ACM certificate per region (region code to ARN). With certificates, or "
        "with dns, the ALB serves HTTPS and redirects HTTP; without either it serves plain HTTP.",
        allowed="a map of every listed region to an ACM certificate ARN in that region",
    )
    access_logs: AccessLogsConfig = _field(
        AccessLogsConfig(), description="Access log settings.", allowed="an object with enabled, expireAfterDays"
    )
    test_listener_port: Port = _field(  # type: ignore[valid-type]
        9443,
        description="Port of the test listener, created when a service deploys blueGreen, canary or linear: "
        "ECS points its test rule at the new tasks, and the smoke tests request them there. It admits only "
        "the region's NAT gateways' addresses, where the smoke-test function's requests come from.",
        allowed=PORT_ALLOWED + ", other than 80, 443 and pipeline.staging.listenerPort",
    )
    waf: WafConfig = _field(
        WafConfig(),
        description="A web application firewall on the ALB: AWS managed rules and a rate limit per IP.",
        allowed="an object with enabled, managedRules, rateLimit",
    )


class DnsConfig(_Model):
    """A domain in a Route 53 hosted zone of this account: ACM issues each region's certificate."""

    domain: Domain = _field(description="The domain clients use, for example app.example.com.", allowed=DOMAIN_ALLOWED)
    hosted_zone_id: ZoneId = _field(
        description="The hosted zone that holds the domain (for DNS validation of certificates).",
        allowed=ZONE_ALLOWED,
    )
    routing: Literal["failover", "latency", "none"] | None = _field(
        None,
        description="How the domain itself resolves: failover (the primary region while its health "
        "check passes, else the secondary), latency (the nearest healthy region) or none (only the "
        "<region>.<domain> names). Default: failover with two regions, none with one.",
        allowed="failover, latency or none",
    )
    health_check_path: HealthPath | None = _field(  # type: ignore[valid-type]
        None,
        description="What Route 53 requests from each region, over HTTPS on <region>.<domain>, e.g. "
        "/api/auth/health. The ALB forwards it unchanged, so a production service must answer it with "
        "2xx or 3xx. Required unless routing is none.",
        allowed=HEALTH_PATH_ALLOWED,
    )
    health_check_interval_seconds: Literal[10, 30] = _field(
        10, description="Seconds between Route 53's checks from each checker location (10 costs more).", allowed="10 or 30"
    )
    failure_threshold: FailureThreshold = _field(  # type: ignore[valid-type]
        3, description="Consecutive failed checks before a region counts as down.", allowed=FAILURE_THRESHOLD_ALLOWED
    )


class HealthCheckConfig(_Model):
    """How the ALB (and optionally ECS) decides a task is healthy."""

    path: HealthPath = _field("/health", description="Path the ALB probes.", allowed=HEALTH_PATH_ALLOWED)
    matcher: str = _field(
        "200-399",
        description="HTTP codes that count as healthy.",
        allowed="codes or ranges such as 200, 200,204 or 200-399",
        pattern=r"^[1-5][0-9][0-9]([,-][1-5][0-9][0-9])*$",
    )
    interval_seconds: Seconds300 = _field(30, description="Seconds between probes.", allowed=SECONDS300_ALLOWED)  # type: ignore[valid-type]
    timeout_seconds: Timeout120 = _field(  # type: ignore[valid-type]
        5, description="Seconds a probe may take (less than intervalSeconds).", allowed=TIMEOUT120_ALLOWED
    )
    healthy_threshold: Threshold = _field(3, description="Passes before healthy.", allowed=THRESHOLD_ALLOWED)  # type: ignore[valid-type]
    unhealthy_threshold: Threshold = _field(3, description="Failures before unhealthy.", allowed=THRESHOLD_ALLOWED)  # type: ignore[valid-type]
    grace_period_seconds: Grace = _field(  # type: ignore[valid-type]
        60,
        description="Seconds ECS ignores failing ALB health checks after a task starts.",
        allowed=GRACE_ALLOWED,
    )
    container_command: list[str] | None = _field(
        None,
        description="Optional container health check, as ECS's CMD-SHELL form's command (for "
        "example \"curl -fs localhost:8080/health\"). The image must contain the tool it runs.",
        allowed="a list with one shell command string",
        min_length=1,
        max_length=1,
    )


class AutoscalingConfig(_Model):
    """Application Auto Scaling of a service's task count (target tracking)."""

    min_capacity: Capacity = _field(2, description="Fewest tasks.", allowed=CAPACITY_ALLOWED)  # type: ignore[valid-type]
    max_capacity: Capacity = _field(10, description="Most tasks.", allowed=CAPACITY_ALLOWED)  # type: ignore[valid-type]
    cpu_target: Percent | None = _field(  # type: ignore[valid-type]
        60, description="Average CPU % to hold; null turns the CPU policy off.", allowed=PERCENT_ALLOWED
    )
    memory_target: Percent | None = _field(  # type: ignore[valid-type]
        70, description="Average memory % to hold; null turns the memory policy off.", allowed=PERCENT_ALLOWED
    )
    requests_per_target: RequestsPerTarget | None = _field(  # type: ignore[valid-type]
        None,
        description="ALB requests per task per minute to hold; null (default) for no request policy.",
        allowed=REQUESTS_ALLOWED,
    )
    scale_out_cooldown_seconds: Cooldown = _field(  # type: ignore[valid-type]
        60, description="Seconds between scale-outs.", allowed=COOLDOWN_ALLOWED
    )
    scale_in_cooldown_seconds: Cooldown = _field(  # type: ignore[valid-type]
        300,
        description="Seconds between scale-ins; longer than scale-out so capacity is released slowly.",
        allowed=COOLDOWN_ALLOWED,
    )


class GrantConfig(_Model):
    """One IAM statement for a service's task role."""

    actions: list[IamAction] = _field(description="IAM actions.", allowed=ACTIONS_ALLOWED, min_length=1)
    resources: list[IamResource] = _field(
        description="Resource ARNs.", allowed="a non-empty list of resource ARNs", min_length=1
    )


class LambdaComputeConfig(_Model):
    """How a service runs when its compute is lambda: its container image as a Lambda function."""

    memory_mb: MemoryMb = _field(512, description="Memory (MB); Lambda's CPU grows with it.", allowed=MEMORY_MB_ALLOWED)  # type: ignore[valid-type]
    timeout_seconds: LambdaTimeout = _field(  # type: ignore[valid-type]
        30,
        description="How long one request may run; at most loadBalancer.idleTimeoutSeconds, which ends "
        "the client's connection first.",
        allowed=LAMBDA_TIMEOUT_ALLOWED,
    )
    reserved_concurrency: Concurrency | None = _field(  # type: ignore[valid-type]
        None,
        description="Concurrent executions reserved for the service (null: the account's unreserved pool).",
        allowed=CONCURRENCY_ALLOWED,
    )
    provisioned_concurrency: Concurrency | None = _field(  # type: ignore[valid-type]
        None,
        description="Pre-initialized executions on the live alias (billed whether used or not).",
        allowed=CONCURRENCY_ALLOWED,
    )
    architecture: Literal["X86_64", "ARM64"] | None = _field(
        None, description="The function's architecture; null: the service's architecture.", allowed="X86_64 or ARM64"
    )


class ServiceConfig(_Model):
    """A service behind the shared ALB: on Fargate, or its image on Lambda."""

    name: RouteName = _field(description="Service name, unique among services and functions.", allowed=ROUTE_NAME_ALLOWED)
    mode: Literal["service", "on-demand"] = _field(
        "service",
        description="service: an ECS service keeps desiredCount tasks running; on-demand: "
        "everything but the ECS service (the task launcher starts tasks and registers them).",
        allowed="service or on-demand",
    )
    compute: Literal["fargate", "lambda"] = _field(
        "fargate",
        description="fargate: ECS tasks; lambda: the same image as a Lambda function behind the same path "
        "(the AWS Lambda Web Adapter in the image turns the ALB's invocations into HTTP requests on $PORT), "
        "answering 503 until the pipeline's first release. cpu, memory, desiredCount, autoscaling, "
        "stopTimeoutSeconds, writablePaths, bootstrapImage and every healthCheck key but path are Fargate's "
        "and refused with lambda; mode on-demand needs fargate. A change on a live service moves it "
        "keeping its listener rule (docs/lambda-compute.md: the order, and the move that takes two updates).",
        allowed="fargate or lambda",
    )
    lambda_settings: LambdaComputeConfig | None = _field(
        None,
        alias="lambda",
        description="compute lambda: the function's size and limits (default: each key's default below); "
        "refused with compute fargate.",
        allowed="an object with memoryMb, timeoutSeconds, reservedConcurrency, provisionedConcurrency, architecture",
    )
    port: Port = _field(description="The container port; the app listens on $PORT.", allowed=PORT_ALLOWED)  # type: ignore[valid-type]
    paths: list[PathPattern] = _field(
        description="ALB path patterns routed to this service (one listener rule).",
        allowed="1 to 5 path patterns (an ALB rule takes at most 5 condition values)",
        min_length=1,
        max_length=5,
    )
    priority: Priority | None = _field(  # type: ignore[valid-type]
        None,
        description="Listener-rule priority. Omitted: computed from the name and paths "
        "(longer literal prefixes first), stable when other routes change.",
        allowed=PRIORITY_ALLOWED,
    )
    cpu: int = _field(256, description="Task CPU units (Fargate).", allowed=CPU_ALLOWED, strict=True)
    memory: int = _field(512, description="Task memory (MiB; Fargate).", allowed=MEMORY_ALLOWED, strict=True)
    architecture: Literal["X86_64", "ARM64"] = _field(
        "X86_64",
        description="CPU architecture of the image (the pipeline builds one image, for this architecture) and "
        "so of the task or function.",
        allowed="X86_64 or ARM64",
    )
    desired_count: Capacity = _field(  # type: ignore[valid-type]
        2,
        description="Tasks at first deploy; autoscaling owns the count afterwards (Fargate).",
        allowed=CAPACITY_ALLOWED,
    )
    autoscaling: AutoscalingConfig = _field(
        AutoscalingConfig(), description="Task-count scaling (Fargate).", allowed="an object (see below)"
    )
    health_check: HealthCheckConfig = _field(
        HealthCheckConfig(), description="Health checks.", allowed="an object (see below)"
    )
    writable_paths: list[HealthPath] = _field(
        ["/tmp"],
        description="Directories mounted as writable scratch volumes; the root filesystem is read-only (Fargate; "
        "Lambda gives /tmp).",
        allowed="a list of absolute paths",
    )
    environment: dict[str, str] = _field(
        {},
        description="Extra environment variables. The program sets ENVIRONMENT and PORT, and AWS_REGION on "
        "Fargate (Lambda sets it itself); on Lambda also AWS_LWA_READINESS_CHECK_PATH and PLATFORM_SECRETS, "
        "within Lambda's 4 KB for all of them.",
        allowed="a map of " + ENV_NAME_ALLOWED + " to a string",
    )
    secrets: dict[str, SecretArn] = _field(
        {},
        description="Environment variables filled from SSM parameters or Secrets Manager at task "
        "start; the execution role may read exactly these. On Lambda the app reads them itself at start-up: "
        "PLATFORM_SECRETS holds {variable: ARN}, and the function's role may read exactly these.",
        allowed="a map of variable name to " + SECRET_ALLOWED,
    )
    task_policy: list[GrantConfig] = _field(
        [],
        description="IAM statements for the task role, which has no permissions otherwise.",
        allowed="a list of {actions, resources}",
    )
    stop_timeout_seconds: StopTimeout | None = _field(  # type: ignore[valid-type]
        None,
        description="Seconds a task's container has between SIGTERM and SIGKILL when it stops (a "
        "deploy, a scale-in, a Stop ECS Task), to finish its requests; null: ECS's default, 30.",
        allowed=STOP_TIMEOUT_ALLOWED,
    )
    deployment: DeploymentConfig = _field(
        DeploymentConfig(),
        description="How a new revision reaches production traffic (mode service only). On Lambda CodeDeploy "
        "moves the live alias: rolling is all at once, canary and linear shift gradually (whole percentages).",
        allowed="an object with strategy, canaryPercent, canaryBakeMinutes, stepPercent, stepBakeMinutes, "
        "bakeMinutes, smokeTest",
    )
    bootstrap_image: Image = _field(
        DEFAULT_BOOTSTRAP_IMAGE,
        description="Image the service runs until its pipeline publishes one; it must answer the "
        "health check on $PORT (Fargate; on Lambda the path answers 503 until the first release).",
        allowed=IMAGE_ALLOWED,
    )

    @property
    def ecs_progressive(self) -> bool:
        """A Fargate service that ECS deploys blue/green, canary or linear (a second target group,
        the test listener); a service on Lambda shifts its alias instead."""
        return self.compute == "fargate" and self.deployment.progressive


class ContainerRegistryConfig(_Model):
    """ECR repositories: one per service per region."""

    keep_tagged_images: Capacity = _field(  # type: ignore[valid-type]
        30, description="Tagged images kept per repository; older ones expire.", allowed=CAPACITY_ALLOWED
    )
    expire_untagged_after_days: ExpireDays = _field(  # type: ignore[valid-type]
        7, description="Days before an untagged image expires.", allowed=EXPIRE_DAYS_ALLOWED
    )
    force_delete: bool = _field(
        False,
        description="Let pulumi destroy delete repositories that still hold images.",
        allowed="true or false",
        strict=True,
    )


class SnsSubscriptionConfig(_Model):
    """An SNS topic that invokes the function."""

    topic_arn: str | None = _field(
        None,
        description="An existing topic in the same region, or null to create an encrypted topic per region.",
        allowed="an SNS topic ARN, arn:<partition>:sns:<region>:<account>:<name>",
        pattern=r"^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$",
    )


class FunctionConfig(_Model):
    """A Lambda function, behind the shared ALB and/or subscribed to SNS."""

    name: FunctionName = _field(description="Function name, unique among services and functions.", allowed=FUNCTION_NAME_ALLOWED)
    source: str | None = _field(
        None,
        description="Directory under functions/ with the code (default: name with - as _).",
        allowed="the name of a directory under functions/ that holds handler.py",
        pattern=r"^[a-z][a-z0-9_]*$",
    )
    handler: str = _field(
        "handler.handler",
        description="module.function Lambda calls.",
        allowed="module.function",
        pattern=r"^[A-Za-z_][A-Za-z0-9_.]*\.[A-Za-z_][A-Za-z0-9_]*$",
    )
    runtime: Literal[LAMBDA_PYTHON_RUNTIMES] = _field(  # type: ignore[valid-type]
        "python3.13", description="Python runtime.", allowed=", ".join(LAMBDA_PYTHON_RUNTIMES)
    )
    paths: list[PathPattern] = _field(
        [],
        description="ALB path patterns routed to the function; empty: not behind the ALB.",
        allowed="0 to 5 path patterns",
        max_length=5,
    )
    priority: Priority | None = _field(  # type: ignore[valid-type]
        None, description="Listener-rule priority (as for services).", allowed=PRIORITY_ALLOWED
    )
    memory_mb: MemoryMb = _field(256, description="Memory (MB).", allowed=MEMORY_MB_ALLOWED)  # type: ignore[valid-type]
    timeout_seconds: LambdaTimeout = _field(30, description="Timeout.", allowed=LAMBDA_TIMEOUT_ALLOWED)  # type: ignore[valid-type]
    reserved_concurrency: Concurrency | None = _field(  # type: ignore[valid-type]
        None, description="Reserved concurrent executions (null: the account's unreserved pool).", allowed=CONCURRENCY_ALLOWED
    )
    provisioned_concurrency: Concurrency | None = _field(  # type: ignore[valid-type]
        None,
        description="Pre-initialized executions on a 'live' alias, which the ALB then targets.",
        allowed=CONCURRENCY_ALLOWED,
    )
    vpc: bool = _field(
        False,
        description="Run in the private subnets with a security group that admits only the ALB.",
        allowed="true or false",
        strict=True,
    )
    environment: dict[str, str] = _field(
        {}, description="Extra environment variables.", allowed="a map of variable name to string"
    )
    sns: SnsSubscriptionConfig | None = _field(
        None, description="Subscribe the function to an SNS topic.", allowed="an object with topicArn"
    )


# Re-exported for the cross-checks.
__all__ = [
    "FARGATE_SIZES",
    "RESERVED_ENV",
    "AccessLogsConfig",
    "AutoscalingConfig",
    "ContainerRegistryConfig",
    "DnsConfig",
    "FunctionConfig",
    "GrantConfig",
    "HealthCheckConfig",
    "LoadBalancerConfig",
    "ServiceConfig",
    "SnsSubscriptionConfig",
]
