"""Typical create times per resource type, for the first-deploy estimate (``python -m ops timeline``).

None of these figures was observed: this project has no AWS account. Each entry says what
pulumi-aws waits for before it reports the resource created (pulumi-aws bridges
terraform-provider-aws, so its create functions and waiters are the provider's, read in
hashicorp/terraform-provider-aws under ``internal/service/``), where AWS documents something about
the time, and the figure assumed. A slot of ``pulumi up --parallel`` is held for the whole wait.

Types not listed take :data:`DEFAULT` (one API call, no waiter); tests/test_timeline.py lists which
types of the prod and dev graphs fall to it, so a new type is a reviewed decision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

PROVIDER = "https://github.com/hashicorp/terraform-provider-aws/blob/main/internal/service/"


@dataclass(frozen=True)
class CreateTime:
    """How long creating one resource of a type is assumed to take, and why.

    Attributes:
        seconds: The assumed create time, provider wait included.
        waits_for: What pulumi-aws waits for before it reports the resource created.
        source: Where the figure or the wait comes from: AWS documentation, the provider's source
            (both links), or "assumption" with its reasoning.
    """

    seconds: int
    waits_for: str
    source: str


DEFAULT = CreateTime(
    2,
    "nothing: one create call",
    "assumption: an API call and the provider's read-back (IAM, logs, alarms, rules, policies, tags)",
)

# Keys are pulumi-aws type tokens; a key with " (...)" is a variant chosen by :data:`VARIANTS`.
TABLE: dict[str, CreateTime] = {
    "pulumi:providers:aws": CreateTime(0, "nothing: the engine configures a plugin", "assumption: no AWS call"),
    # --- network ---
    "aws:ec2/vpc:Vpc": CreateTime(
        8,
        "the VPC `available`, then its DNS attributes",
        f"provider: {PROVIDER}ec2/vpc_.go (waitVPCCreated); assumption: seconds",
    ),
    "aws:ec2/subnet:Subnet": CreateTime(
        5, "the subnet `available`", f"provider: {PROVIDER}ec2/vpc_subnet.go; assumption: seconds"
    ),
    "aws:ec2/internetGateway:InternetGateway": CreateTime(
        5, "the gateway attached to the VPC", f"provider: {PROVIDER}ec2/vpc_internet_gateway.go; assumption: seconds"
    ),
    "aws:ec2/natGateway:NatGateway": CreateTime(
        120,
        "the NAT gateway `available` (create timeout 10 min)",
        f"provider: {PROVIDER}ec2/vpc_nat_gateway.go (waitNATGatewayCreated); "
        "AWS: https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_NatGateway.html (the states, and the "
        "failure when the VPC has no internet gateway attached; no duration); "
        "assumption: 2 min, the order of minutes commonly reported",
    ),
    "aws:ec2/route:Route": CreateTime(3, "the route readable in its table", f"provider: {PROVIDER}ec2/vpc_route.go"),
    "aws:ec2/routeTable:RouteTable": CreateTime(3, "the table readable", f"provider: {PROVIDER}ec2/vpc_route_table.go"),
    "aws:ec2/securityGroup:SecurityGroup": CreateTime(
        5,
        "the group readable, its default egress rule revoked",
        f"provider: {PROVIDER}ec2/vpc_security_group.go; assumption: seconds",
    ),
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": CreateTime(
        5, "the default group's rules revoked", f"provider: {PROVIDER}ec2/vpc_default_security_group.go"
    ),
    "aws:ec2/flowLog:FlowLog": CreateTime(5, "the flow log readable", f"provider: {PROVIDER}ec2/vpc_flow_log.go"),
    "aws:ec2/vpcEndpoint:VpcEndpoint (Gateway)": CreateTime(
        10,
        "the endpoint `available` (timeout 10 min)",
        f"provider: {PROVIDER}ec2/vpc_endpoint.go; assumption: a gateway endpoint is route-table entries, seconds",
    ),
    "aws:ec2/vpcEndpoint:VpcEndpoint (Interface)": CreateTime(
        120,
        "the endpoint `available` (timeout 10 min): its network interfaces in every subnet",
        f"provider: {PROVIDER}ec2/vpc_endpoint.go; assumption: 2 min, like other ENI-backed resources",
    ),
    # --- traffic ---
    "aws:lb/loadBalancer:LoadBalancer": CreateTime(
        180,
        "the ALB `active` (first poll after 30 s, then every 10 s or more; timeout 10 min)",
        f"provider: {PROVIDER}elbv2/load_balancer.go (waitLoadBalancerActive); "
        "AWS: https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_LoadBalancerState.html "
        "(provisioning, then active; no duration); assumption: 3 min",
    ),
    "aws:lb/listener:Listener": CreateTime(
        3, "the listener readable (retries while a new certificate propagates)", f"provider: {PROVIDER}elbv2/listener.go"
    ),
    "aws:lb/targetGroupAttachment:TargetGroupAttachment": CreateTime(
        3,
        "the target registered (retries while a new invoke permission propagates)",
        f"provider: {PROVIDER}elbv2/target_group_attachment.go",
    ),
    "aws:acm/certificate:Certificate": CreateTime(
        10,
        "ACM to publish the DNS validation records it asks for",
        f"provider: {PROVIDER}acm/certificate.go; assumption: seconds",
    ),
    "aws:acm/certificateValidation:CertificateValidation": CreateTime(
        300,
        "the certificate `ISSUED` (create timeout 75 min)",
        f"provider: {PROVIDER}acm/certificate_validation.go (waitCertificateIssued); "
        "AWS: https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html; "
        "assumption: 5 min after the records exist, for records in Route 53; it has been reported to take over an "
        "hour: https://github.com/hashicorp/terraform-provider-aws/issues/9338",
    ),
    "aws:route53/record:Record": CreateTime(
        45,
        "the change `INSYNC` on every Route 53 server (first poll after a random 10-30 s, then every 15-20 s)",
        f"provider: {PROVIDER}route53/record.go (waitChangeInsync); "
        "AWS: https://docs.aws.amazon.com/Route53/latest/APIReference/API_GetChange.html; assumption: 45 s",
    ),
    "aws:wafv2/webAcl:WebAcl": CreateTime(5, "the web ACL readable", f"provider: {PROVIDER}wafv2/web_acl.go"),
    "aws:wafv2/webAclAssociation:WebAclAssociation": CreateTime(
        10,
        "the association accepted (retries while WAF does not see the new ALB yet)",
        f"provider: {PROVIDER}wafv2/web_acl_association.go; assumption: 10 s",
    ),
    # --- compute ---
    "aws:ecs/cluster:Cluster": CreateTime(
        10, "the cluster `ACTIVE`", f"provider: {PROVIDER}ecs/cluster.go (waitClusterAvailable); assumption: seconds"
    ),
    "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders": CreateTime(
        5, "the cluster's update finished", f"provider: {PROVIDER}ecs/cluster_capacity_providers.go"
    ),
    "aws:ecs/service:Service": CreateTime(
        10,
        "the service `ACTIVE` only: with wait_for_steady_state false (as every service here sets it), not its "
        "tasks running or healthy",
        f"provider: {PROVIDER}ecs/service.go (waitServiceActive, waitServiceStable only with "
        "wait_for_steady_state); assumption: seconds, retries while a new target group or role propagates",
    ),
    "aws:lambda/function:Function": CreateTime(
        10,
        "the function `Active`",
        f"provider: {PROVIDER}lambda/function.go (waitFunctionCreated); "
        "AWS: https://docs.aws.amazon.com/lambda/latest/dg/functions-states.html; "
        "assumption: seconds, with retries while a new execution role propagates",
    ),
    "aws:lambda/function:Function (in a VPC)": CreateTime(
        90,
        "the function `Active`: Lambda creates its Hyperplane network interfaces first (Pending until then)",
        f"provider: {PROVIDER}lambda/function.go (waitFunctionCreated); "
        "AWS: https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html; "
        "assumption: 90 s, the figure commonly reported for a new subnet and security group pair",
    ),
    "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig": CreateTime(
        150,
        "the allocation `READY` (create timeout 15 min)",
        f"provider: {PROVIDER}lambda/provisioned_concurrency_config.go; "
        "AWS: https://docs.aws.amazon.com/lambda/latest/dg/provisioned-concurrency.html (no duration given); "
        "assumption: 2.5 min for a few environments",
    ),
    # --- delivery ---
    "aws:codebuild/project:Project": CreateTime(
        10,
        "the project created (retries while its new service role propagates)",
        f"provider: {PROVIDER}codebuild/project.go; assumption: 10 s",
    ),
    "aws:codepipeline/pipeline:Pipeline": CreateTime(
        10,
        "the pipeline created (retries while its new service role propagates)",
        f"provider: {PROVIDER}codepipeline/codepipeline.go; assumption: 10 s",
    ),
    "aws:codedeploy/deploymentGroup:DeploymentGroup": CreateTime(
        10,
        "the group created (retries while its new service role propagates)",
        f"provider: {PROVIDER}deploy/deployment_group.go; assumption: 10 s",
    ),
    "aws:ecr/repository:Repository": CreateTime(3, "the repository readable", f"provider: {PROVIDER}ecr/repository.go"),
    "aws:ecr/repositoryPolicy:RepositoryPolicy": CreateTime(
        3, "the policy set (retries while new principals propagate)", f"provider: {PROVIDER}ecr/repository_policy.go"
    ),
    # --- storage, messaging, keys ---
    "aws:s3/bucket:Bucket": CreateTime(
        5, "the bucket readable (S3 is eventually consistent on create)", f"provider: {PROVIDER}s3/bucket.go"
    ),
    "aws:s3/bucketPolicy:BucketPolicy": CreateTime(
        5, "the policy readable", f"provider: {PROVIDER}s3/bucket_policy.go; assumption: seconds"
    ),
    "aws:sqs/queue:Queue": CreateTime(
        30,
        "its attributes read back equal 6 times in a row, polled every 5 s or more",
        f"provider: {PROVIDER}sqs/queue.go (waitQueueAttributesPropagated); "
        "AWS: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SetQueueAttributes.html",
    ),
    "aws:sqs/queuePolicy:QueuePolicy": CreateTime(
        30,
        "the policy read back equal 6 times in a row, polled every 5 s or more",
        f"provider: {PROVIDER}sqs/queue_policy.go (waitQueueAttributesPropagated)",
    ),
    "aws:sns/topic:Topic": CreateTime(3, "the topic's attributes readable", f"provider: {PROVIDER}sns/topic.go"),
    "aws:kms/key:Key": CreateTime(
        20,
        "the key's policy, description and tags each read back equal several times in a row",
        f"provider: {PROVIDER}kms/key.go (waitKeyPolicyPropagated, waitKeyDescriptionPropagated); assumption: 20 s",
    ),
}


def _vpc_function(inputs: Mapping[str, Any]) -> str | None:
    return "in a VPC" if (inputs.get("vpcConfig") or {}).get("subnetIds") else None


def _endpoint_type(inputs: Mapping[str, Any]) -> str | None:
    kind = inputs.get("vpcEndpointType") or "Gateway"
    return kind if isinstance(kind, str) else None


# Types whose create time depends on their inputs: the variant's name, or None for the plain entry.
VARIANTS: dict[str, Callable[[Mapping[str, Any]], str | None]] = {
    "aws:lambda/function:Function": _vpc_function,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _endpoint_type,
}


def entry_key(type_: str, inputs: Mapping[str, Any]) -> str:
    """The table key for a resource: its type, or ``type (variant)``."""
    pick = VARIANTS.get(type_)
    variant = pick(inputs) if pick else None
    return f"{type_} ({variant})" if variant else type_


def create_time(type_: str, inputs: Mapping[str, Any]) -> CreateTime:
    """The create time of a resource of ``type_`` with ``inputs``; :data:`DEFAULT` for types not listed."""
    return TABLE.get(entry_key(type_, inputs)) or TABLE.get(type_) or DEFAULT


def listed(type_: str) -> bool:
    """Whether ``type_`` (any variant) has an entry of its own."""
    return any(key == type_ or key.startswith(f"{type_} (") for key in TABLE)
