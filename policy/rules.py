"""The security rules the program promises (docs/security.md), as data.

Pure Python, no Pulumi imports: the same ``RULES`` and ``EXCEPTIONS`` run in the CrossGuard pack
(``policy/__main__.py``) and offline over the synth graph (``policy/offline.py``).

Property names are the engine's (camelCase), as both the recording monitor and CrossGuard's
``args.props`` see them. A value that is not known yet (a preview of new resources) is never
judged: ``pulumi up`` analyzes each resource again with its resolved inputs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The harness's marker for an unknown value, and the engine's own sentinels.
UNKNOWN = "[unknown]"
_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN,
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
    }
)


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in _UNKNOWN_SENTINELS


@dataclass(frozen=True, eq=False)
class Resource:
    """One resource as a policy sees it: type token, logical name, URN, inputs (camelCase)."""

    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    id: str | None = None
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # The resource option: property paths ``pulumi up`` leaves alone (camelCase).
    ignore_changes: tuple[str, ...] = ()
    # Where it is declared: its own ``region`` input, else its provider's region when known.
    region: str | None = None

    def get(self, *path: str, default: Any = None) -> Any:
        value: Any = self.inputs
        for key in path:
            if not isinstance(value, Mapping) or key not in value:
                return default
            value = value[key]
        return value

    def refers_to(self, prop: str, target: Resource) -> bool:
        """Whether this resource's ``prop`` names ``target``: by value when known (id, name, ARN),
        else by the engine's dependency of that property on the target."""
        value = self.inputs.get(prop)
        if isinstance(value, str) and not is_unknown(value):
            names = {
                target.id,
                target.inputs.get("name"),
                target.inputs.get("bucket"),
                target.inputs.get("arn"),
            }
            names.discard(None)
            return value in names or any(
                isinstance(n, str) and not is_unknown(n) and value.endswith(("/" + n, ":" + n)) for n in names
            )
        deps = self.property_dependencies.get(prop)
        return target.urn in (deps if deps is not None else self.dependencies)


@dataclass(frozen=True)
class Context:
    resources: Sequence[Resource]
    environment: str
    has_certificate: bool

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]


class Finding(str):
    """A violation message, with details an exception's predicate may look at."""

    detail: Mapping[str, Any]

    def __new__(cls, message: str, **detail: Any) -> Finding:
        obj = super().__new__(cls, message)
        obj.detail = detail
        return obj


Check = Callable[[Resource, Context], list[str]]


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    resource_types: tuple[str, ...]
    check: Check
    # A stack rule needs other resources (context.resources), or the stack's environment.
    stack: bool = False


@dataclass(frozen=True)
class PolicyException:
    """A written exception: one rule, one resource type, a predicate, and its written reason (docs/security.md)."""

    rule_id: str
    resource_type: str
    match: Callable[[Resource, str, Context], bool]
    reason: str

    def applies(self, rule_id: str, resource: Resource, message: str, context: Context) -> bool:
        return (
            rule_id == self.rule_id
            and resource.type == self.resource_type
            and self.match(resource, message, context)
        )


@dataclass(frozen=True)
class Violation:
    rule_id: str
    urn: str
    message: str


# --- resource types -------------------------------------------------------------------------------

LB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
ACM_CERT = "aws:acm/certificate:Certificate"
ECS_SERVICE = "aws:ecs/service:Service"
ECS_TASKDEF = "aws:ecs/taskDefinition:TaskDefinition"
ECS_CLUSTER = "aws:ecs/cluster:Cluster"
ECR_REPO = "aws:ecr/repository:Repository"
ECR_LIFECYCLE = "aws:ecr/lifecyclePolicy:LifecyclePolicy"
ECR_POLICY = "aws:ecr/repositoryPolicy:RepositoryPolicy"
ECR_TEMPLATE = "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate"
ECR_CACHE_RULE = "aws:ecr/pullThroughCacheRule:PullThroughCacheRule"
VPC = "aws:ec2/vpc:Vpc"
DEFAULT_SG = "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"
FLOW_LOG = "aws:ec2/flowLog:FlowLog"
SUBNET = "aws:ec2/subnet:Subnet"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG_EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
SG_RULE_LEGACY = "aws:ec2/securityGroupRule:SecurityGroupRule"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
BUCKET_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_SSE_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
SNS_TOPIC = "aws:sns/topic:Topic"
SQS_QUEUE = "aws:sqs/queue:Queue"
LAMBDA_PERMISSION = "aws:lambda/permission:Permission"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
CODEBUILD = "aws:codebuild/project:Project"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
IAM_POLICY = "aws:iam/policy:Policy"
KMS_KEY = "aws:kms/key:Key"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
WAF_ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
TARGET_GROUP = "aws:lb/targetGroup:TargetGroup"
BUCKET_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _json(value: Any) -> Any:
    """A JSON-document input (policies, container definitions): parsed, or None if unknown."""
    if value is None or is_unknown(value):
        return None
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


# --- ELB -------------------------------------------------------------------------------------------


def _is_alb(r: Resource) -> bool:
    return r.inputs.get("loadBalancerType", "application") == "application"


def check_elb1(r: Resource, ctx: Context) -> list[str]:
    if r.inputs.get("protocol") != "HTTP":
        return []
    actions = r.inputs.get("defaultActions")
    if is_unknown(actions):
        return []
    for action in _as_list(actions):
        redirect = action.get("redirect") or {}
        if action.get("type") == "redirect" and redirect.get("protocol") == "HTTPS":
            return []
    return [Finding("HTTP listener does not redirect to HTTPS", plain_http=True)]


def check_elb4(r: Resource, ctx: Context) -> list[str]:
    if _is_alb(r) and r.inputs.get("dropInvalidHeaderFields") is not True:
        return ["ALB does not drop invalid header fields (dropInvalidHeaderFields)"]
    return []


def check_elb5(r: Resource, ctx: Context) -> list[str]:
    enabled = r.get("accessLogs", "enabled")
    if is_unknown(enabled):
        return []
    if enabled is not True or not r.get("accessLogs", "bucket"):
        return ["load balancer access logs are not enabled (accessLogs.enabled, accessLogs.bucket)"]
    return []


def check_elb6(r: Resource, ctx: Context) -> list[str]:
    if r.inputs.get("enableDeletionProtection") is not True:
        return ["load balancer deletion protection is off (enableDeletionProtection)"]
    return []


def check_waf_alb(r: Resource, ctx: Context) -> list[str]:
    """An internet-facing ALB has a WAF web ACL (Security Hub's WAF controls; checkov CKV2_AWS_28)."""
    if not _is_alb(r) or r.inputs.get("internal") is True:
        return []
    if any(a.refers_to("resourceArn", r) for a in ctx.of_type(WAF_ASSOCIATION)):
        return []
    return ["internet-facing ALB without a WAF web ACL (a wafv2 WebAclAssociation naming it)"]


def check_elb12(r: Resource, ctx: Context) -> list[str]:
    # AWS's default is "defensive".
    mode = r.inputs.get("desyncMitigationMode", "defensive")
    if _is_alb(r) and not is_unknown(mode) and mode not in ("defensive", "strictest"):
        return [f"desync mitigation mode is {mode!r}, not defensive or strictest"]
    return []


def check_elb17(r: Resource, ctx: Context) -> list[str]:
    if r.inputs.get("protocol") not in ("HTTPS", "TLS"):
        return []
    policy = r.inputs.get("sslPolicy")
    if is_unknown(policy):
        return []
    if not isinstance(policy, str) or not policy.startswith("ELBSecurityPolicy-TLS13"):
        return [f"TLS listener uses SSL policy {policy!r}, not an ELBSecurityPolicy-TLS13 policy"]
    return []


# --- ECS -------------------------------------------------------------------------------------------

# Environment variable names that carry credentials (FSBP ECS.8 / CodeBuild.2).
CREDENTIAL_VARIABLES = frozenset(
    {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ECS_ENGINE_AUTH_DATA", "AWS_SESSION_TOKEN"}
)


def _containers(r: Resource) -> list[Mapping[str, Any]]:
    parsed = _json(r.inputs.get("containerDefinitions"))
    return [c for c in _as_list(parsed) if isinstance(c, Mapping)]


def check_ecs2(r: Resource, ctx: Context) -> list[str]:
    if r.get("networkConfiguration", "assignPublicIp") is True:
        return ["ECS service assigns public IPs (networkConfiguration.assignPublicIp)"]
    return []


def check_ecs3(r: Resource, ctx: Context) -> list[str]:
    if r.inputs.get("pidMode") == "host":
        return ["task definition shares the host's process namespace (pidMode: host)"]
    return []


def check_ecs4(r: Resource, ctx: Context) -> list[str]:
    return [
        f"container {c.get('name')!r} is privileged" for c in _containers(r) if c.get("privileged") is True
    ]


def check_ecs5(r: Resource, ctx: Context) -> list[str]:
    return [
        f"container {c.get('name')!r} has a writable root filesystem (readonlyRootFilesystem)"
        for c in _containers(r)
        if c.get("readonlyRootFilesystem") is not True
    ]


def check_ecs8(r: Resource, ctx: Context) -> list[str]:
    found = []
    for c in _containers(r):
        for var in _as_list(c.get("environment")):
            if isinstance(var, Mapping) and str(var.get("name", "")).upper() in CREDENTIAL_VARIABLES:
                found.append(
                    f"container {c.get('name')!r} has {var['name']} in plain environment (use secrets)"
                )
    return found


def check_ecs9(r: Resource, ctx: Context) -> list[str]:
    return [
        f"container {c.get('name')!r} has no logConfiguration"
        for c in _containers(r)
        if not isinstance(c.get("logConfiguration"), Mapping) or not c["logConfiguration"].get("logDriver")
    ]


def check_ecs12(r: Resource, ctx: Context) -> list[str]:
    for setting in _as_list(r.inputs.get("settings")):
        if (
            isinstance(setting, Mapping)
            and setting.get("name") == "containerInsights"
            and (setting.get("value") in ("enabled", "enhanced") or is_unknown(setting.get("value")))
        ):
            return []
    return ["cluster does not enable Container Insights (settings containerInsights)"]


# --- ECR -------------------------------------------------------------------------------------------


def check_ecr1(r: Resource, ctx: Context) -> list[str]:
    if r.type == ECR_TEMPLATE:
        # The repositories ECR creates from a template: a template has no scanning setting.
        return ["repositories created from this template do not scan on push (a template cannot set it)"]
    if r.get("imageScanningConfiguration", "scanOnPush") is not True:
        return ["repository does not scan on push (imageScanningConfiguration.scanOnPush)"]
    return []


def check_ecr2(r: Resource, ctx: Context) -> list[str]:
    mutability = r.inputs.get("imageTagMutability", "MUTABLE")
    if not str(mutability).startswith("IMMUTABLE"):
        return [f"repository tags are {mutability}, not IMMUTABLE"]
    return []


def check_ecr_cache(r: Resource, ctx: Context) -> list[str]:
    """A pull-through cache's repositories get encryption and a lifecycle policy from a template."""
    prefix = r.inputs.get("ecrRepositoryPrefix")
    for template in ctx.of_type(ECR_TEMPLATE):
        if template.inputs.get("prefix") == prefix and "PULL_THROUGH_CACHE" in _as_list(template.inputs.get("appliedFors")):
            found = []
            if not _as_list(template.inputs.get("encryptionConfigurations")):
                found.append(f"the creation template for {prefix!r} sets no encryption")
            doc = _json(template.inputs.get("lifecyclePolicy"))
            if not (isinstance(doc, Mapping) and _as_list(doc.get("rules"))):
                found.append(f"the creation template for {prefix!r} has no lifecycle policy with rules")
            return found
    return [f"no repository creation template for the cache's repositories ({prefix!r}, PULL_THROUGH_CACHE)"]


def check_ecr3(r: Resource, ctx: Context) -> list[str]:
    for policy in ctx.of_type(ECR_LIFECYCLE):
        if policy.refers_to("repository", r):
            doc = _json(policy.inputs.get("policy"))
            if doc is None or _as_list(doc.get("rules")):
                return []
    return ["repository has no lifecycle policy with rules"]


# --- EC2 -------------------------------------------------------------------------------------------


def check_ec2_2(r: Resource, ctx: Context) -> list[str]:
    adopted = [sg for sg in ctx.of_type(DEFAULT_SG) if sg.refers_to("vpcId", r)]
    if not adopted:
        return ["VPC's default security group is not adopted (aws.ec2.DefaultSecurityGroup) with no rules"]
    found = []
    for sg in adopted:
        if _as_list(sg.inputs.get("ingress")) or _as_list(sg.inputs.get("egress")):
            found.append(f"default security group {sg.name} has rules")
        for rule in ctx.of_type(SG_INGRESS, SG_EGRESS, SG_RULE_LEGACY):
            if rule.refers_to("securityGroupId", sg):
                found.append(f"default security group {sg.name} has rule {rule.name}")
    return found


def check_ec2_6(r: Resource, ctx: Context) -> list[str]:
    if any(log.refers_to("vpcId", r) for log in ctx.of_type(FLOW_LOG)):
        return []
    return ["VPC has no flow log"]


def check_ec2_15(r: Resource, ctx: Context) -> list[str]:
    if r.inputs.get("mapPublicIpOnLaunch") is True:
        return ["subnet assigns public IPs on launch (mapPublicIpOnLaunch)"]
    return []


# FSBP EC2.18's default authorizedTcpPorts: unrestricted ingress only on these, and (this
# program's promise) only to a security group attached to a load balancer.
PUBLIC_PORTS = frozenset({80, 443})
_OPEN_CIDRS = frozenset({"0.0.0.0/0", "::/0"})


def _open_ingress(r: Resource) -> list[tuple[str, Any, Any, Any]]:
    """(source, protocol, from, to) of each unrestricted ingress rule this resource declares."""
    rules: list[tuple[str, Any, Any, Any]] = []
    if r.type == SG_INGRESS:
        for key in ("cidrIpv4", "cidrIpv6"):
            if r.inputs.get(key) in _OPEN_CIDRS:
                rules.append(
                    (
                        r.inputs[key],
                        r.inputs.get("ipProtocol"),
                        r.inputs.get("fromPort"),
                        r.inputs.get("toPort"),
                    )
                )
    elif r.type == SG_RULE_LEGACY:
        if r.inputs.get("type") == "ingress":
            for cidr in _as_list(r.inputs.get("cidrBlocks")) + _as_list(r.inputs.get("ipv6CidrBlocks")):
                if cidr in _OPEN_CIDRS:
                    rules.append(
                        (cidr, r.inputs.get("protocol"), r.inputs.get("fromPort"), r.inputs.get("toPort"))
                    )
    else:
        for ingress in _as_list(r.inputs.get("ingress")):
            for cidr in _as_list(ingress.get("cidrBlocks")) + _as_list(ingress.get("ipv6CidrBlocks")):
                if cidr in _OPEN_CIDRS:
                    rules.append(
                        (cidr, ingress.get("protocol"), ingress.get("fromPort"), ingress.get("toPort"))
                    )
    return rules


def check_ec2_18(r: Resource, ctx: Context) -> list[str]:
    found = []
    for cidr, protocol, low, high in _open_ingress(r):
        port_ok = str(protocol).lower() in ("tcp", "6") and low == high and low in PUBLIC_PORTS
        if not port_ok:
            found.append(
                f"unrestricted ingress from {cidr} on {protocol} {low}-{high} (only TCP 80/443 may be open)"
            )
            continue
        group = r if r.type == SG else None
        on_lb = False
        for lb in ctx.of_type(LB):
            for sg_id in _as_list(lb.inputs.get("securityGroups")):
                if group is not None:
                    on_lb = on_lb or sg_id in (group.id, group.inputs.get("name"))
                elif r.inputs.get("securityGroupId") == sg_id:
                    on_lb = True
        if not on_lb:
            found.append(f"unrestricted ingress from {cidr} on port {low} to a group no load balancer uses")
    return found


# --- S3 ----------------------------------------------------------------------------------------------


def _companions(ctx: Context, types: tuple[str, ...], bucket: Resource) -> list[Resource]:
    return [c for c in ctx.of_type(*types) if c.refers_to("bucket", bucket)]


def check_s3_pab(r: Resource, ctx: Context) -> list[str]:
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    for pab in _companions(ctx, (BUCKET_PAB,), r):
        if all(pab.inputs.get(f) is True for f in flags):
            return []
    return ["bucket has no public access block with all four settings on"]


def _denies_insecure_transport(doc: Any) -> bool:
    for st in _as_list(doc.get("Statement")) if isinstance(doc, Mapping) else []:
        actions = _as_list(st.get("Action"))
        secure = (st.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport")
        if (
            st.get("Effect") == "Deny"
            and st.get("Principal") in ("*", {"AWS": "*"})
            and any(a in ("*", "s3:*") for a in actions)
            and str(secure).lower() == "false"
            and any(str(res).endswith("/*") for res in _as_list(st.get("Resource")))
            and any(not str(res).endswith("/*") for res in _as_list(st.get("Resource")))
        ):
            return True
    return False


def check_s3_tls(r: Resource, ctx: Context) -> list[str]:
    for policy in _companions(ctx, (BUCKET_POLICY,), r):
        doc = _json(policy.inputs.get("policy"))
        if doc is None or _denies_insecure_transport(doc):
            return []
    return [
        "bucket has no policy denying requests without TLS (aws:SecureTransport false) on it and its objects"
    ]


def check_s3_encryption(r: Resource, ctx: Context) -> list[str]:
    if _as_list(r.inputs.get("serverSideEncryptionConfiguration")):
        return []
    for sse in _companions(ctx, (BUCKET_SSE, BUCKET_SSE_V2), r):
        for rule in _as_list(sse.inputs.get("rules")):
            algorithm = (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
            if algorithm in ("AES256", "aws:kms", "aws:kms:dsse") or is_unknown(algorithm):
                return []
    return ["bucket has no default encryption configuration"]


# --- SNS, SQS ----------------------------------------------------------------------------------------


def check_sns1(r: Resource, ctx: Context) -> list[str]:
    if not r.inputs.get("kmsMasterKeyId"):
        return ["topic is not encrypted (kmsMasterKeyId)"]
    return []


def check_sqs1(r: Resource, ctx: Context) -> list[str]:
    if r.inputs.get("sqsManagedSseEnabled") is True or r.inputs.get("kmsMasterKeyId"):
        return []
    return ["queue is not encrypted (sqsManagedSseEnabled or kmsMasterKeyId)"]


# --- Lambda ------------------------------------------------------------------------------------------

# Lambda runtimes that AWS still supports for creation and updates (python 3.9 was deprecated
# 2025-12-15). Revisit with https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html.
SUPPORTED_RUNTIMES = frozenset(
    {
        "python3.11", "python3.12", "python3.13", "python3.14",
        "nodejs20.x", "nodejs22.x", "nodejs24.x",
        "java17", "java21", "java25",
        "dotnet8", "dotnet10",
        "ruby3.3", "ruby3.4",
        "provided.al2", "provided.al2023",
    }
)  # fmt: skip


def check_lambda1(r: Resource, ctx: Context) -> list[str]:
    principal = r.inputs.get("principal")
    if is_unknown(principal):
        return []
    if principal in (None, "*") or (isinstance(principal, str) and "*" in principal):
        return [f"invoke permission is public (principal {principal!r})"]
    if isinstance(principal, str) and principal.endswith(".amazonaws.com") and not r.inputs.get("sourceArn"):
        return [f"service principal {principal} is not limited to a sourceArn"]
    if r.inputs.get("functionUrlAuthType") == "NONE":
        return ["function URL permission has no authentication"]
    return []


def check_lambda2(r: Resource, ctx: Context) -> list[str]:
    runtime = r.inputs.get("runtime")
    if r.inputs.get("packageType") == "Image" or is_unknown(runtime):
        return []
    if runtime not in SUPPORTED_RUNTIMES:
        return [f"runtime {runtime!r} is not a supported runtime"]
    return []


# An image in this account's ECR: Lambda runs nothing else, and nothing public.
_ECR_IMAGE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/[a-z0-9._/-]+(:[\w.-]+|@sha256:[0-9a-f]{64})$")


def check_lambda_image(r: Resource, ctx: Context) -> list[str]:
    """An image function (a service on Lambda) runs its own region's ECR image, in a VPC."""
    if r.inputs.get("packageType") != "Image":
        return []
    found = []
    image = r.inputs.get("imageUri")
    if not is_unknown(image):
        match = _ECR_IMAGE.match(image) if isinstance(image, str) else None
        region = r.inputs.get("region") or r.region
        role = r.inputs.get("role")
        account = role.split(":")[4] if isinstance(role, str) and not is_unknown(role) and role.count(":") >= 5 else None
        if match is None:
            found.append(f"image {image!r} is not in an ECR repository of this account")
        elif isinstance(region, str) and not is_unknown(region) and match.group(2) != region:
            found.append(f"image {image!r} is in {match.group(2)}'s ECR, not {region}'s")
        elif account and match.group(1) != account:
            found.append(f"image {image!r} is in account {match.group(1)}'s ECR, not the function's account {account}")
    vpc = r.inputs.get("vpcConfig") or {}
    subnets, groups = vpc.get("subnetIds"), vpc.get("securityGroupIds")
    if not (is_unknown(subnets) or subnets) or not (is_unknown(groups) or groups):
        found.append("image function outside the VPC (vpcConfig with subnets and a security group)")
    return found


# One named function of one account and region, with any qualifier (":*"): no wildcard elsewhere.
_NAMED_FUNCTION = re.compile(r"^arn:aws(-[a-z]+)*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:\*)?$")


def check_ecr_policy(r: Resource, ctx: Context) -> list[str]:
    """A repository policy admits no one at large: no '*' principal, and an AWS service only for
    named resources of its own (aws:sourceArn), never for every resource of the service."""
    doc = _json(r.inputs.get("policy"))
    found = []
    for st in _allow_statements(doc):
        principal = st.get("Principal")
        if principal == "*" or (isinstance(principal, Mapping) and "*" in _as_list(principal.get("AWS"))):
            found.append(f"statement {st.get('Sid')!r} admits any principal")
            continue
        services = _as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        if services:
            conditions = {k.lower(): v for op in (st.get("Condition") or {}).values() if isinstance(op, Mapping) for k, v in op.items()}
            sources = _as_list(conditions.get("aws:sourcearn"))
            named = [s for s in sources if is_unknown(s) or (isinstance(s, str) and _NAMED_FUNCTION.match(s))]
            if not sources or len(named) != len(sources):
                found.append(f"statement {st.get('Sid')!r} admits {', '.join(services)} without naming its resources (aws:sourceArn)")
    return found


# --- encryption, transport and placement choices written down as exceptions --------------------------


def check_ecr_kms(r: Resource, ctx: Context) -> list[str]:
    kinds = [c.get("encryptionType") for c in _as_list(r.inputs.get("encryptionConfigurations")) if isinstance(c, Mapping)]
    if "KMS" in kinds or any(is_unknown(k) for k in kinds):
        return []
    return ["repository encrypts with ECR's own keys (AES256), not a KMS key"]


def check_log_group_kms(r: Resource, ctx: Context) -> list[str]:
    if r.inputs.get("kmsKeyId"):
        return []
    return ["log group uses CloudWatch Logs' own encryption, not a customer-managed KMS key (kmsKeyId)"]


def check_target_group_tls(r: Resource, ctx: Context) -> list[str]:
    protocol = r.inputs.get("protocol")
    if r.inputs.get("targetType") == "lambda" or protocol in (None, "HTTPS", "TLS") or is_unknown(protocol):
        return []
    return [f"target group speaks {protocol} to its targets, not HTTPS"]


def check_s3_versioning(r: Resource, ctx: Context) -> list[str]:
    for v in _companions(ctx, (BUCKET_VERSIONING,), r):
        status = (v.inputs.get("versioningConfiguration") or {}).get("status")
        if status == "Enabled" or is_unknown(status):
            return []
    return ["bucket has no versioning (a BucketVersioning with status Enabled)"]


def check_s3_access_logging(r: Resource, ctx: Context) -> list[str]:
    if _companions(ctx, (BUCKET_LOGGING,), r):
        return []
    return ["bucket has no server access logging (a BucketLogging)"]


def check_s3_kms(r: Resource, ctx: Context) -> list[str]:
    for sse in _companions(ctx, (BUCKET_SSE, BUCKET_SSE_V2), r):
        for rule in _as_list(sse.inputs.get("rules")):
            algorithm = (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm")
            if algorithm in ("aws:kms", "aws:kms:dsse") or is_unknown(algorithm):
                return []
    return ["bucket's default encryption is not a KMS key (SSE-S3 or none)"]


def check_log_retention_year(r: Resource, ctx: Context) -> list[str]:
    days = r.inputs.get("retentionInDays")
    if is_unknown(days) or (isinstance(days, int) and days >= 365):
        return []
    return [f"log group keeps events {days} days, less than a year (CloudWatch.16)"]


def check_trust_conditions(r: Resource, ctx: Context) -> list[str]:
    """A role an AWS service assumes names whose behalf it acts on (aws:SourceAccount or SourceArn)."""
    doc = _json(r.inputs.get("assumeRolePolicy"))
    found = []
    for st in _allow_statements(doc):
        principal = st.get("Principal")
        services = _as_list(principal.get("Service")) if isinstance(principal, Mapping) else []
        keys = {k.lower() for op in (st.get("Condition") or {}).values() if isinstance(op, Mapping) for k in op}
        if services and not keys & {"aws:sourceaccount", "aws:sourcearn"}:
            found.append(Finding(f"trusts {', '.join(services)} without aws:SourceAccount or aws:SourceArn", services=services))
    return found


def check_lambda_vpc(r: Resource, ctx: Context) -> list[str]:
    subnets = (r.inputs.get("vpcConfig") or {}).get("subnetIds")
    if subnets or is_unknown(subnets):
        return []
    return ["function runs outside the VPC (no vpcConfig)"]


# --- CodeBuild ---------------------------------------------------------------------------------------

_SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|ACCESS_KEY)", re.IGNORECASE)


def check_codebuild1(r: Resource, ctx: Context) -> list[str]:
    found = []
    for source in [r.inputs.get("source"), *_as_list(r.inputs.get("secondarySources"))]:
        if not isinstance(source, Mapping):
            continue
        if re.match(r"^https?://[^/@\s]+@", str(source.get("location", ""))):
            found.append("source URL carries credentials")
        if source.get("auth"):
            found.append("project declares source credentials (source.auth)")
    return found


def check_codebuild2(r: Resource, ctx: Context) -> list[str]:
    found = []
    for var in _as_list(r.get("environment", "environmentVariables")):
        name = str(var.get("name", ""))
        if var.get("type", "PLAINTEXT") == "PLAINTEXT" and (
            name.upper() in CREDENTIAL_VARIABLES or _SECRET_NAME.search(name)
        ):
            found.append(f"environment variable {name} holds a credential in plaintext")
    return found


def check_codebuild3(r: Resource, ctx: Context) -> list[str]:
    s3 = r.get("logsConfig", "s3Logs") or {}
    if s3.get("status") == "ENABLED" and s3.get("encryptionDisabled") is True:
        return ["S3 build logs are not encrypted (logsConfig.s3Logs.encryptionDisabled)"]
    return []


def check_codebuild4(r: Resource, ctx: Context) -> list[str]:
    status = r.get("logsConfig", "cloudwatchLogs", "status", default="ENABLED")
    if status != "ENABLED" and not is_unknown(status):
        return ["CloudWatch build logs are not enabled (logsConfig.cloudwatchLogs.status)"]
    return []


def check_codebuild5(r: Resource, ctx: Context) -> list[str]:
    if r.get("environment", "privilegedMode") is True:
        return [Finding("project runs privileged (environment.privilegedMode)", project=r.inputs.get("name"))]
    return []


# --- IAM, KMS, logs ----------------------------------------------------------------------------------


def policy_documents(r: Resource) -> Iterator[tuple[str, Any]]:
    """(label, parsed document) for each permissions policy a resource declares."""
    if r.type in (IAM_ROLE_POLICY, IAM_POLICY, KMS_KEY):
        doc = _json(r.inputs.get("policy"))
        if doc is not None:
            yield "policy", doc
    if r.type == IAM_ROLE:
        for inline in _as_list(r.inputs.get("inlinePolicies")):
            doc = _json(inline.get("policy")) if isinstance(inline, Mapping) else None
            if doc is not None:
                yield f"inline policy {inline.get('name')}", doc


def _allow_statements(doc: Any) -> Iterator[Mapping[str, Any]]:
    if not isinstance(doc, Mapping):
        return
    for st in _as_list(doc.get("Statement")):
        if isinstance(st, Mapping) and st.get("Effect") == "Allow":
            yield st


def check_iam_wildcard_actions(r: Resource, ctx: Context) -> list[str]:
    found: list[str] = []
    for label, doc in policy_documents(r):
        for st in _allow_statements(doc):
            if "NotAction" in st:
                found.append(
                    Finding(f"{label}: Allow with NotAction {st['NotAction']!r}", statement=st, action=None)
                )
            for action in _as_list(st.get("Action")):
                if action == "*" or (isinstance(action, str) and action.endswith(":*")):
                    found.append(
                        Finding(
                            f"{label}: Allow {action!r} on {st.get('Resource')!r}",
                            statement=st,
                            action=action,
                        )
                    )
    return found


def check_iam_star_resource(r: Resource, ctx: Context) -> list[str]:
    found: list[str] = []
    if r.type == KMS_KEY:  # in a key policy, "*" is the key itself
        return found
    for label, doc in policy_documents(r):
        for st in _allow_statements(doc):
            if "*" in _as_list(st.get("Resource")) or "NotResource" in st:
                found.extend(
                    Finding(f"{label}: Allow {action!r} on Resource '*'", statement=st, action=action)
                    for action in _as_list(st.get("Action")) or [None]
                )
    return found


def check_kms4(r: Resource, ctx: Context) -> list[str]:
    if (
        r.inputs.get("customerMasterKeySpec", r.inputs.get("keySpec", "SYMMETRIC_DEFAULT"))
        != "SYMMETRIC_DEFAULT"
    ):
        return []
    if r.inputs.get("enableKeyRotation") is not True:
        return ["key rotation is off (enableKeyRotation)"]
    return []


_PROGRESSIVE = frozenset({"BLUE_GREEN", "CANARY", "LINEAR"})


def check_deploy_rollback(r: Resource, ctx: Context) -> list[str]:
    strategy = r.get("deploymentConfiguration", "strategy")
    if not isinstance(strategy, str) or is_unknown(strategy) or strategy not in _PROGRESSIVE:
        return []
    alarms = r.get("alarms") or {}
    if alarms.get("enable") is True and alarms.get("rollback") is True and alarms.get("alarmNames"):
        return []
    return [f"a {strategy} deployment without alarm-based rollback (alarms with enable and rollback)"]


def _ignores(r: Resource, prop: str) -> bool:
    return any(path == prop or path.startswith((f"{prop}[", f"{prop}.")) for path in r.ignore_changes)


def check_deploy_weights(r: Resource, ctx: Context) -> list[str]:
    weighted = [
        a for a in _as_list(r.get("actions"))
        if isinstance(a, Mapping) and len(_as_list((a.get("forward") or {}).get("targetGroups"))) > 1
    ]  # fmt: skip
    if weighted and not _ignores(r, "actions"):
        return ["forward weights that ECS shifts, without ignoreChanges on actions: pulumi up would put them back"]
    return []


def check_log_retention(r: Resource, ctx: Context) -> list[str]:
    days = r.inputs.get("retentionInDays")
    if is_unknown(days):
        return []
    if not isinstance(days, int) or days <= 0:
        return ["log group keeps events forever (retentionInDays not set)"]
    return []


RULES: list[Rule] = [
    Rule("ELB.1", "HTTP listeners redirect to HTTPS", (LISTENER,), check_elb1, stack=True),
    Rule("ELB.4", "ALBs drop invalid HTTP header fields", (LB,), check_elb4),
    Rule("ELB.5", "Load balancers write access logs", (LB,), check_elb5),
    Rule("ELB.6", "Load balancers have deletion protection on", (LB,), check_elb6, stack=True),
    Rule("ELB.12", "ALB desync mitigation is defensive or strictest", (LB,), check_elb12),
    Rule("WAF.alb", "Internet-facing ALBs have a WAF web ACL", (LB,), check_waf_alb, stack=True),
    Rule("ELB.17", "HTTPS/TLS listeners use an ELBSecurityPolicy-TLS13 policy", (LISTENER,), check_elb17),
    Rule("ECS.2", "ECS services assign no public IPs", (ECS_SERVICE,), check_ecs2),
    Rule(
        "Deploy.rollback",
        "Blue/green, canary and linear ECS deployments roll back on alarms",
        (ECS_SERVICE,),
        check_deploy_rollback,
    ),
    Rule(
        "Deploy.weights",
        "Listener rules whose forward weights ECS shifts ignore changes to their actions",
        (LISTENER_RULE,),
        check_deploy_weights,
    ),
    Rule("ECS.3", "Task definitions do not share the host's PID namespace", (ECS_TASKDEF,), check_ecs3),
    Rule("ECS.4", "Containers are not privileged", (ECS_TASKDEF,), check_ecs4),
    Rule("ECS.5", "Containers have read-only root filesystems", (ECS_TASKDEF,), check_ecs5),
    Rule("ECS.8", "No credentials in containers' plain environment", (ECS_TASKDEF,), check_ecs8),
    Rule("ECS.9", "Every container has a log configuration", (ECS_TASKDEF,), check_ecs9),
    Rule("ECS.12", "ECS clusters enable Container Insights", (ECS_CLUSTER,), check_ecs12),
    Rule("ECR.1", "ECR repositories scan images on push", (ECR_REPO, ECR_TEMPLATE), check_ecr1),
    Rule("ECR.2", "ECR repositories have immutable tags", (ECR_REPO, ECR_TEMPLATE), check_ecr2),
    Rule(
        "ECR.cache",
        "A pull-through cache's repositories get encryption and a lifecycle policy from a creation template",
        (ECR_CACHE_RULE,),
        check_ecr_cache,
        stack=True,
    ),
    Rule("ECR.3", "Every ECR repository has a lifecycle policy", (ECR_REPO,), check_ecr3, stack=True),
    Rule(
        "EC2.2", "Each VPC's default security group is adopted with no rules", (VPC,), check_ec2_2, stack=True
    ),
    Rule("EC2.6", "Every VPC has a flow log", (VPC,), check_ec2_6, stack=True),
    Rule("EC2.15", "Subnets do not assign public IPs on launch", (SUBNET,), check_ec2_15),
    Rule(
        "EC2.18",
        "Unrestricted ingress only on TCP 80/443, to a load balancer's security group",
        (SG, SG_INGRESS, SG_RULE_LEGACY),
        check_ec2_18,
        stack=True,
    ),
    Rule(
        "S3.8",
        "Every bucket has a public access block with all four settings on",
        (BUCKET, BUCKET_V2),
        check_s3_pab,
        stack=True,
    ),
    Rule(
        "S3.5",
        "Every bucket's policy denies requests without TLS",
        (BUCKET, BUCKET_V2),
        check_s3_tls,
        stack=True,
    ),
    Rule(
        "S3.encryption",
        "Every bucket has a default encryption configuration",
        (BUCKET, BUCKET_V2),
        check_s3_encryption,
        stack=True,
    ),
    Rule("SNS.1", "SNS topics are encrypted with KMS", (SNS_TOPIC,), check_sns1),
    Rule("SQS.1", "SQS queues are encrypted (SSE-SQS or KMS)", (SQS_QUEUE,), check_sqs1),
    Rule(
        "Lambda.1",
        "Lambda invoke permissions are not public: a service principal with a sourceArn",
        (LAMBDA_PERMISSION,),
        check_lambda1,
    ),
    Rule("Lambda.2", "Lambda functions use a supported runtime", (LAMBDA_FUNCTION,), check_lambda2),
    Rule(
        "Lambda.image",
        "Image functions run an image from this account's ECR in their own region, in the VPC",
        (LAMBDA_FUNCTION,),
        check_lambda_image,
    ),
    Rule(
        "ECR.policy",
        "Repository policies admit no '*' principal, and a service only for named resources (aws:sourceArn)",
        (ECR_POLICY,),
        check_ecr_policy,
    ),
    Rule("CodeBuild.1", "No source credentials or credentialed source URLs", (CODEBUILD,), check_codebuild1),
    Rule(
        "CodeBuild.2",
        "No plaintext credentials in CodeBuild environment variables",
        (CODEBUILD,),
        check_codebuild2,
    ),
    Rule("CodeBuild.3", "CodeBuild S3 logs, if enabled, are encrypted", (CODEBUILD,), check_codebuild3),
    Rule("CodeBuild.4", "CodeBuild projects log to CloudWatch", (CODEBUILD,), check_codebuild4),
    Rule("CodeBuild.5", "CodeBuild projects do not run privileged", (CODEBUILD,), check_codebuild5),
    Rule(
        "IAM.21",
        "No Allow of '*' or 'service:*' actions (role policies, inline policies, managed policies, key policies)",
        (IAM_ROLE, IAM_ROLE_POLICY, IAM_POLICY, KMS_KEY),
        check_iam_wildcard_actions,
    ),
    Rule(
        "IAM.resources",
        "Role policies name their resources: Resource '*' only for the written star-only actions",
        (IAM_ROLE, IAM_ROLE_POLICY, IAM_POLICY),
        check_iam_star_resource,
        stack=True,
    ),
    Rule("KMS.4", "KMS keys rotate", (KMS_KEY,), check_kms4),
    Rule("ECR.kms", "ECR repositories encrypt with a KMS key", (ECR_REPO,), check_ecr_kms),
    Rule("CloudWatch.kms", "Log groups encrypt with a customer-managed KMS key", (LOG_GROUP,), check_log_group_kms),
    Rule("ELB.targets-tls", "Target groups speak HTTPS to their targets", (TARGET_GROUP,), check_target_group_tls),
    Rule("S3.14", "Buckets have versioning", (BUCKET, BUCKET_V2), check_s3_versioning, stack=True),
    Rule("S3.9", "Buckets have server access logging", (BUCKET, BUCKET_V2), check_s3_access_logging, stack=True),
    Rule("Lambda.vpc", "Lambda functions run in the VPC", (LAMBDA_FUNCTION,), check_lambda_vpc),
    Rule("S3.kms", "Buckets encrypt with a KMS key by default", (BUCKET, BUCKET_V2), check_s3_kms, stack=True),
    Rule("CloudWatch.16", "Log groups keep events at least a year", (LOG_GROUP,), check_log_retention_year),
    Rule("IAM.trust", "A role a service assumes is limited to this account (aws:SourceAccount or SourceArn)", (IAM_ROLE,), check_trust_conditions),
    Rule("CloudWatch.retention", "Every log group has a retention period", (LOG_GROUP,), check_log_retention),
]

RULES_BY_ID: dict[str, Rule] = {rule.id: rule for rule in RULES}


# --- written exceptions ---------------------------------------------------------------------------


def _statement(message: str) -> Mapping[str, Any]:
    detail = getattr(message, "detail", {})
    return detail.get("statement") or {}


def _action(message: str) -> Any:
    return getattr(message, "detail", {}).get("action")


def _only_action(message: str, actions: Iterable[str]) -> bool:
    return _action(message) in set(actions)


def _condition_key(message: str, key: str) -> bool:
    condition = _statement(message).get("Condition") or {}
    return any(isinstance(body, Mapping) and body.get(key) for body in condition.values())


def _unconditioned(message: str) -> bool:
    return not _statement(message).get("Condition")


ENI_ACTIONS = frozenset(
    {
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    }
)


def _role_of_vpc_function(r: Resource, ctx: Context) -> bool:
    """A RolePolicy whose role is the execution role of a Lambda function in a VPC."""
    for fn in ctx.of_type(LAMBDA_FUNCTION):
        if not (fn.get("vpcConfig", "subnetIds") or []):
            continue
        role_arn, role = fn.inputs.get("role"), r.inputs.get("role")
        if (
            isinstance(role_arn, str)
            and isinstance(role, str)
            and not is_unknown(role_arn)
            and not is_unknown(role)
        ):
            if role_arn.rsplit("/", 1)[-1] == role:
                return True
        elif set(fn.property_dependencies.get("role", ())) & set(r.property_dependencies.get("role", ())):
            return True
    return False


ELB_DESCRIBE_ACTIONS = frozenset(
    {
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups",
    }
)

_ROOT_PRINCIPAL = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:root$")


def _root_kms_statement(r: Resource, message: str, ctx: Context) -> bool:
    st = _statement(message)
    principal = st.get("Principal")
    aws = principal.get("AWS") if isinstance(principal, Mapping) else None
    return (
        _action(message) == "kms:*"
        and _as_list(st.get("Action")) == ["kms:*"]
        and isinstance(aws, str)
        and bool(_ROOT_PRINCIPAL.match(aws))
        and _unconditioned(message)
    )


# A build project's name: "<stack prefix>-build" or "<stack prefix>-build-<n>" (components/delivery.py).
_BUILD_PROJECT = re.compile(r"-build(-\d+)?$")


@dataclass(frozen=True)
class _Env:
    """Predicates on the stack's environment and certificates."""

    @staticmethod
    def plain_http_dev(r: Resource, message: str, ctx: Context) -> bool:
        return ctx.environment != "prod" and not ctx.has_certificate and r.inputs.get("protocol") == "HTTP"

    @staticmethod
    def non_production(r: Resource, message: str, ctx: Context) -> bool:
        return ctx.environment != "prod"


def _named(*suffixes: str) -> Callable[[Resource, str, Context], bool]:
    """The resources whose logical name ends with one of ``suffixes`` (the program's own names)."""
    return lambda r, m, ctx: r.name.endswith(suffixes)


EXCEPTIONS: list[PolicyException] = [
    PolicyException(
        "ECR.kms",
        ECR_REPO,
        _named("-registry-repository"),
        "Exception: ECR repositories use AES256, not KMS: ECR's own keys encrypt images at rest (ECR.1-3 hold); "
        "a customer key would need a key policy admitting every puller (ECS, Lambda, CodeBuild) in every region "
        "and a KMS call per layer, for images that hold no more than the source repository does.",
    ),
    PolicyException(
        "ECR.2",
        ECR_TEMPLATE,
        lambda r, m, ctx: r.name.endswith("-base-image-template") and _as_list(r.inputs.get("appliedFors")) == ["PULL_THROUGH_CACHE"],
        "Exception: cached base-image repositories keep mutable tags: a cached tag (python:3.13-slim) must follow "
        "the upstream image when it is rebuilt, and nothing pushes to them but ECR's own cache. The services' "
        "images, which the pipeline deploys, stay immutable.",
    ),
    PolicyException(
        "ECR.1",
        ECR_TEMPLATE,
        lambda r, m, ctx: r.name.endswith("-base-image-template") and _as_list(r.inputs.get("appliedFors")) == ["PULL_THROUGH_CACHE"],
        "Exception: cached base-image repositories do not scan on push: a creation template cannot set scanning "
        "(only the account-wide registry scanning configuration can, which one stack should not own), and every "
        "layer they hold is scanned again inside the service image built from it, which scans on push.",
    ),
    PolicyException(
        "CloudWatch.kms",
        LOG_GROUP,
        _named("-logs", "-logs-group"),
        "Exception: log groups use CloudWatch Logs' own encryption, not a customer-managed key: flow logs, "
        "service, function, build and WAF logs alike. CloudWatch Logs encrypts every log group at rest; FSBP "
        "requires no customer key for them, and one would add a key policy per region for the logs service.",
    ),
    PolicyException(
        "ELB.targets-tls",
        TARGET_GROUP,
        lambda r, m, ctx: r.inputs.get("protocol") == "HTTP" and r.name.endswith(("-tg", "-tg-alt")),
        "Exception: target groups speak plain HTTP inside the VPC: TLS ends at the ALB; the targets sit in "
        "private subnets and admit only the ALB's security group, and a certificate per task would add nothing "
        "the VPC does not already give.",
    ),
    PolicyException(
        "S3.14",
        BUCKET,
        _named("-traffic-access-logs"),
        "Exception: the ALB access-log bucket has no versioning and no server access logging: ELB writes each "
        "object once and nothing rewrites it, so versions would only double storage, and logging a log bucket "
        "recurses; it expires its objects and denies non-TLS access.",
    ),
    PolicyException(
        "S3.9",
        BUCKET,
        _named("-traffic-access-logs", "-delivery-artifacts"),
        "Exception: no server access logging on the access-log and artifact buckets: it would need a log bucket "
        "per region; CloudTrail S3 data events are the better record.",
    ),
    PolicyException(
        "S3.kms",
        BUCKET,
        _named("-traffic-access-logs"),
        "Exception: the access-log bucket uses SSE-S3, not KMS: ALB log delivery supports only SSE-S3. It is "
        "otherwise locked down (public access block, TLS-only policy, bucket-owner ownership, expiry).",
    ),
    PolicyException(
        "CloudWatch.16",
        LOG_GROUP,
        _Env.non_production,
        "Exception: dev keeps logs 30 days (logs.retentionDays in Pulumi.dev.yaml), below CloudWatch.16's 365 "
        "days, to save cost; prod keeps a year.",
    ),
    PolicyException(
        "IAM.trust",
        IAM_ROLE,
        lambda r, m, ctx: set(getattr(m, "detail", {}).get("services", ())) == {"lambda.amazonaws.com"},
        "Exception: a Lambda function's execution role trusts lambda.amazonaws.com without a condition: Lambda "
        "does not pass aws:SourceAccount or aws:SourceArn when it assumes an execution role.",
    ),
    PolicyException(
        "IAM.trust",
        IAM_ROLE,
        lambda r, m, ctx: set(getattr(m, "detail", {}).get("services", ())) == {"ecs.amazonaws.com"}
        and r.name.endswith("-deploy-role"),
        "Exception: a progressive service's deploy role trusts ecs.amazonaws.com without a condition: that is "
        "the trust policy ECS documents for its infrastructure and hook roles, and whether ECS passes "
        "aws:SourceAccount when it assumes them is not documented.",
    ),
    PolicyException(
        "Lambda.vpc",
        LAMBDA_FUNCTION,
        lambda r, m, ctx: r.name.endswith(("-task-launcher-function-function", "-replicator-function-function")),
        "Exception: the event functions run outside the VPC: they only call AWS APIs, and a VPC would add network "
        "interfaces and NAT dependence for nothing.",
    ),
    PolicyException(
        "Lambda.vpc",
        LAMBDA_FUNCTION,
        lambda r, m, ctx: ctx.environment != "prod" and r.name.endswith("-lambda-demo-function"),
        "Exception: the dev lambda-demo runs outside the VPC (functions[].vpc false in Pulumi.dev.yaml): it reads "
        "nothing in the VPC, and outside it needs no NAT; prod's runs in the private subnets.",
    ),
    PolicyException(
        "ELB.1",
        LISTENER,
        _Env.plain_http_dev,
        "Exception: dev serves plain HTTP (ELB.1), so a dev stack needs no domain and can be destroyed in one go. "
        "The synth warns about plain HTTP.",
    ),
    PolicyException(
        "ELB.6",
        LB,
        _Env.non_production,
        "Exception: dev serves plain HTTP and has deletion protection off (ELB.1, ELB.6), so a dev stack needs "
        "no domain and can be destroyed in one go. Deletion protection is on in prod.",
    ),
    PolicyException(
        "WAF.alb",
        LB,
        _Env.non_production,
        "Exception: dev has no WAF (loadBalancer.waf.enabled false in Pulumi.dev.yaml): its web ACL and rules cost "
        "about $9 a month per region before any request. prod has one on each ALB.",
    ),
    PolicyException(
        "CodeBuild.5",
        CODEBUILD,
        lambda r, m, ctx: (
            isinstance(r.inputs.get("name"), str)
            and bool(_BUILD_PROJECT.search(r.inputs["name"]))
            and bool(_BUILD_PROJECT.search(r.name))
        ),
        "Exception: the image build runs privileged (CodeBuild.5): building container images needs the Docker "
        "daemon, which needs privileged mode. Only the build projects run privileged; the release project does not.",
    ),
    PolicyException(
        "IAM.resources",
        IAM_ROLE_POLICY,
        lambda r, m, ctx: _only_action(m, {"ecr:GetAuthorizationToken"}) and _unconditioned(m),
        "Exception: ecr:GetAuthorizationToken is granted on * in each execution role: AWS supports no other "
        "resource for it.",
    ),
    PolicyException(
        "IAM.resources",
        IAM_ROLE_POLICY,
        lambda r, m, ctx: _only_action(m, ENI_ACTIONS) and _role_of_vpc_function(r, ctx),
        "Exception: a VPC function's role may manage network interfaces on *: EC2 offers no resource scoping "
        "for creating and describing them.",
    ),
    PolicyException(
        "IAM.resources",
        IAM_ROLE_POLICY,
        lambda r, m, ctx: _only_action(m, {"ecs:DescribeTaskDefinition"}),
        "Exception: ecs:DescribeTaskDefinition is granted on * to the pipeline role and to the release role: "
        "AWS's Service Authorization Reference lists no resource type for it. RegisterTaskDefinition is "
        "scoped to the deployed families.",
    ),
    PolicyException(
        "IAM.resources",
        IAM_ROLE_POLICY,
        lambda r, m, ctx: _only_action(m, {"ecs:ListTasks"}) and _condition_key(m, "ecs:cluster"),
        "Exception: the task launcher (and the pipeline role, for its ECS deploy actions) may call "
        "ecs:ListTasks on * (ListTasks authorizes against no task resource), limited by the ecs:cluster "
        "condition to their cluster.",
    ),
    PolicyException(
        "IAM.resources",
        IAM_ROLE_POLICY,
        lambda r, m, ctx: _only_action(m, ELB_DESCRIBE_ACTIONS),
        "Exception: Elastic Load Balancing's Describe actions on * (they have no resource-level permissions): "
        "the task launcher reads target health, and ECS, with a progressive service's deploy role, reads "
        "listeners, rules, target groups and target health.",
    ),
    PolicyException(
        "IAM.resources",
        IAM_ROLE_POLICY,
        lambda r, m, ctx: (
            _only_action(m, {"cloudwatch:PutMetricData"}) and _condition_key(m, "cloudwatch:namespace")
        ),
        "Exception: the replicator may call cloudwatch:PutMetricData on *: it has no resource; the "
        "cloudwatch:namespace condition limits it to DevOpsPlatform/Replication.",
    ),
    PolicyException(
        "IAM.21",
        KMS_KEY,
        _root_kms_statement,
        "Exception: the KMS key policies keep AWS's default statement giving the account root kms:*, which "
        "delegates use of the key to IAM policies; without it a key can become unmanageable.",
    ),
]


# --- evaluation ---------------------------------------------------------------------------------------


def has_certificate(resources: Iterable[Resource]) -> bool:
    """Whether the stack serves HTTPS: an ACM certificate, or a listener with a certificate."""
    return any(
        r.type == ACM_CERT or (r.type == LISTENER and r.inputs.get("certificateArn")) for r in resources
    )


def exception_for(rule_id: str, resource: Resource, message: str, context: Context) -> PolicyException | None:
    return next((e for e in EXCEPTIONS if e.applies(rule_id, resource, message, context)), None)


def evaluate(
    resources: Iterable[Resource],
    *,
    environment: str,
    has_certificate: bool,
    rules: Sequence[Rule] | None = None,
    context_resources: Sequence[Resource] | None = None,
) -> list[Violation]:
    """Every violation of ``rules`` (all by default) by ``resources``, less the written exceptions.

    ``context_resources`` is what stack rules look at (defaults to ``resources``)."""
    resources = list(resources)
    context = Context(
        list(context_resources) if context_resources is not None else resources, environment, has_certificate
    )
    violations = []
    for rule in RULES if rules is None else rules:
        for resource in resources:
            if resource.type not in rule.resource_types:
                continue
            for message in rule.check(resource, context):
                if exception_for(rule.id, resource, message, context) is None:
                    violations.append(Violation(rule.id, resource.urn, str(message)))
    return violations


def evaluate_graph(graph: Any, **kwargs: Any) -> list[Violation]:
    """The rules over an ``ops.harness.Graph`` (see ``policy.offline``)."""
    from policy.offline import evaluate_graph as _evaluate_graph

    return _evaluate_graph(graph, **kwargs)
