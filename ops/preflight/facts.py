"""What the preflight takes from AWS's documentation (or public reports) rather than from AWS.

Nothing here was observed against AWS by this project: no test talks to AWS. Each figure says
where it comes from; where the account can tell (Service Quotas, ``lambda:GetAccountSettings``,
``ec2:DescribeAccountAttributes``), the preflight asks the account and uses these only as the
fallback, and says so in its output.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Lambda ---------------------------------------------------------------------------------------

# "You can reserve up to the Unreserved account concurrency value that is shown, minus 100 for
# functions that don't have reserved concurrency" (AWS Lambda Developer Guide, "Configuring
# reserved concurrency", docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
# Not observed. PutFunctionConcurrency's refusal names the minimum the account enforces, as in
# "Specified ReservedConcurrentExecutions for function decreases account's
# UnreservedConcurrentExecution below its minimum value of [100]." (moto's copy of the message;
# public reports quote [50] and [10] for accounts with reduced quotas). The preflight uses the
# documented 100: on an account whose enforced minimum is lower it errs on the safe side.
LAMBDA_MIN_UNRESERVED = 100

# "Concurrent executions: 1,000" per region, and "New AWS accounts have reduced concurrency and
# memory quotas. AWS raises these quotas automatically based on your usage." (AWS Lambda
# Developer Guide, "Lambda quotas"). Not observed; the account's own figure comes from
# lambda:GetAccountSettings.
LAMBDA_DEFAULT_CONCURRENCY = 1000


@dataclass(frozen=True)
class Quota:
    """A Service Quotas quota: its service and quota codes, its name, and the default the AWS
    documentation gives (used only when neither Service Quotas nor the service itself answers)."""

    service_code: str
    quota_code: str
    name: str
    documented_default: int | None = None
    source: str = ""

    @property
    def label(self) -> str:
        return f'Service Quotas {self.service_code} {self.quota_code} "{self.name}"'

    def request_command(self, region: str, value: int) -> str:
        return (
            f"aws service-quotas request-service-quota-increase --service-code {self.service_code} "
            f"--quota-code {self.quota_code} --desired-value {value} --region {region}"
        )


# Quota codes are not in botocore's service models. L-B99A9384 is the code public tooling and
# runbooks use for Lambda's "Concurrent executions"; the preflight asks Service Quotas for it by
# that code, and if Service Quotas does not know it the output says so.
LAMBDA_CONCURRENCY = Quota(
    "lambda", "L-B99A9384", "Concurrent executions", LAMBDA_DEFAULT_CONCURRENCY,
    "AWS Lambda Developer Guide, Lambda quotas",
)  # fmt: skip

# Amazon VPC quotas (Amazon VPC User Guide, "Amazon VPC quotas"): 5 VPCs and 5 internet gateways
# per Region, 5 NAT gateways per Availability Zone. moto's copy of the VPC defaults carries the
# same codes and values. Not observed against AWS.
VPCS_PER_REGION = Quota("vpc", "L-F678F1CE", "VPCs per Region", 5, "Amazon VPC quotas")
INTERNET_GATEWAYS_PER_REGION = Quota("vpc", "L-A4707A72", "Internet gateways per Region", 5, "Amazon VPC quotas")
NAT_GATEWAYS_PER_AZ = Quota("vpc", "L-FE5A380F", "NAT gateways per Availability Zone", 5, "Amazon VPC quotas")

# Elastic IP addresses: 5 per Region by default (Amazon EC2 User Guide, "Elastic IP address
# quota"). The account's figure comes from ec2:DescribeAccountAttributes (vpc-max-elastic-ips);
# L-0263D0A3 is the code public tooling uses for it, named here for the increase request only.
ELASTIC_IPS_PER_REGION = Quota("ec2", "L-0263D0A3", "EC2-VPC Elastic IPs", 5, "Amazon EC2 Elastic IP address quota")

# --- service-linked roles -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkedRole:
    name: str
    service: str  # the service principal, for `aws iam create-service-linked-role --aws-service-name`
    created_by: str  # which first call creates it (AWS documentation)


# Names and principals from each service's "service-linked roles" page in the AWS documentation
# (Amazon ECS, Elastic Load Balancing, Application Auto Scaling). Each page says the service
# creates the role on first use when the caller may iam:CreateServiceLinkedRole. Fargate Spot has
# no role of its own: the ECS cluster's capacity providers act through AWSServiceRoleForECS.
ECS_ROLE = LinkedRole("AWSServiceRoleForECS", "ecs.amazonaws.com", "the first ECS cluster or service")
ELB_ROLE = LinkedRole(
    "AWSServiceRoleForElasticLoadBalancing", "elasticloadbalancing.amazonaws.com", "the first load balancer"
)
ECS_SCALING_ROLE = LinkedRole(
    "AWSServiceRoleForApplicationAutoScaling_ECSService",
    "ecs.application-autoscaling.amazonaws.com",
    "the first RegisterScalableTarget for an ECS service",
)

# Reported in public issue threads (terraform-aws-modules/terraform-aws-ecs#26, aws-samples
# repositories), not observed here: creating a cluster with capacity providers, or a capacity
# provider, before the ECS role exists has failed with this text.
ECS_ROLE_MISSING_ERROR = (
    "Unable to assume the service linked role. Please verify that the ECS service linked role exists."
)

# --- CodeCommit -----------------------------------------------------------------------------------

# AWS stopped onboarding new CodeCommit customers in July 2024 (AWS DevOps blog, "How to migrate
# your AWS CodeCommit repository to another Git provider"); an account or organization without a
# repository then cannot create one. The error code is in botocore's CodeCommit model
# (OperationNotAllowedException, on CreateRepository); the message is quoted from public issue
# reports, not observed. Whether ListRepositories ever answers with it is not documented: the
# preflight matches the code on any call, and otherwise reads "no repository anywhere" as a warning.
CODECOMMIT_CLOSED_CODE = "OperationNotAllowedException"
CODECOMMIT_CLOSED_MESSAGE = (
    "CreateRepository request is not allowed because there is no existing repository in this AWS "
    "account or AWS Organization"
)

# --- SNS ------------------------------------------------------------------------------------------

# ListSubscriptionsByTopic reports an unconfirmed subscription with the SubscriptionArn
# "PendingConfirmation" (Amazon SNS API Reference). Not observed: moto confirms at once.
SNS_PENDING = "PendingConfirmation"

# --- ACM ------------------------------------------------------------------------------------------

# Warn when a certificate expires within this many days (an imported certificate is not renewed by
# ACM; an ACM-issued one renews while its validation records stay in place).
CERTIFICATE_EXPIRY_WARN_DAYS = 30
