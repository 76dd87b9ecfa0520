"""The price table of ``python -m ops cost``: AWS on-demand list prices in us-east-1, in USD.

Written down by hand, as of January 2025, from AWS's public pricing pages; never fetched, and not
re-checked online since: verify before relying on them (docs/cost.md lists the pages). Other regions are priced by
a rough factor on the us-east-1 price (``REGION_FACTOR``), not by their own price lists.
"""

from __future__ import annotations

AS_OF = "January 2025"
SOURCE = "AWS public on-demand pricing pages, us-east-1"
STATEMENT = (
    f"prices written down by hand from AWS's pricing pages as of {AS_OF}, never fetched "
    "(us-east-1 list prices × a region factor); verify before relying on them"
)

HOURS_PER_MONTH = 730

# us-east-1 on-demand unit prices.
NAT_GATEWAY_HOUR = 0.045  # per NAT gateway-hour
NAT_GATEWAY_GB = 0.045  # per GB processed
PUBLIC_IPV4_HOUR = 0.005  # per in-use public IPv4 address-hour (Elastic IPs on NAT gateways)
ALB_HOUR = 0.0225  # per Application Load Balancer-hour
ALB_LCU_HOUR = 0.008  # per LCU-hour
FARGATE_VCPU_HOUR = {"X86_64": 0.04048, "ARM64": 0.03238}  # Linux, per vCPU-hour
FARGATE_GB_HOUR = {"X86_64": 0.004445, "ARM64": 0.00356}  # Linux, per GB-hour
FARGATE_SPOT_DISCOUNT = 0.70  # Fargate Spot runs "up to 70% off"; the real discount floats
CLOUDWATCH_ALARM_MONTH = 0.10  # standard-resolution metric alarm, per alarm-month
CLOUDWATCH_COMPOSITE_ALARM_MONTH = 0.50  # composite alarm, per alarm-month
CLOUDWATCH_DASHBOARD_MONTH = 3.00  # per dashboard-month
CLOUDWATCH_FREE_DASHBOARDS = 3  # per account (not per region)
KMS_KEY_MONTH = 1.00  # customer-managed key, per key-month (rotation: first rotation adds $1; not modelled)
ROUTE53_HEALTH_CHECK_MONTH = {"aws": 0.50, "non-aws": 0.75}  # basic check, per check-month
ROUTE53_HEALTH_CHECK_OPTION_MONTH = {"aws": 1.00, "non-aws": 2.00}  # each optional feature, per check-month
CODEPIPELINE_V2_ACTION_MINUTE = 0.002  # per action execution minute
CODEPIPELINE_V1_PIPELINE_MONTH = 1.00  # per active V1 pipeline-month
CODEBUILD_MINUTE = {  # on-demand Linux, per build minute
    "BUILD_GENERAL1_SMALL": 0.005,
    "BUILD_GENERAL1_MEDIUM": 0.01,
    "BUILD_GENERAL1_LARGE": 0.02,
    "BUILD_GENERAL1_2XLARGE": 0.20,
}
INTERFACE_ENDPOINT_AZ_HOUR = 0.01  # per interface VPC endpoint per AZ-hour
INTERFACE_ENDPOINT_GB = 0.01  # per GB processed (first PB)
LAMBDA_PROVISIONED_GB_SECOND = 0.0000041667  # x86 provisioned concurrency, per GB-second configured
LAMBDA_REQUEST = 0.0000002  # per request ($0.20 per million)
LAMBDA_GB_SECOND = 0.0000166667  # x86 duration, per GB-second
WAF_WEB_ACL_MONTH = 5.00  # per web ACL per month
WAF_RULE_MONTH = 1.00  # per rule (a managed rule group counts as one) per month
WAF_MILLION_REQUESTS = 0.60  # per million requests inspected
LAMBDA_GB_SECOND_BY_ARCH = {"X86_64": LAMBDA_GB_SECOND, "ARM64": 0.0000133334}  # duration, first pricing tier

# Multiplier on the us-east-1 price. Route 53 and CloudWatch dashboards are global prices and take
# no factor.
REGION_FACTOR = {
    "us-east-1": 1.0,
    "us-east-2": 1.0,
    "us-west-2": 1.0,
    "eu-west-1": 1.1,
    "ap-southeast-2": 1.2,
}
DEFAULT_REGION_FACTOR = 1.1


def region_factor(region: str) -> float:
    return REGION_FACTOR.get(region, DEFAULT_REGION_FACTOR)
