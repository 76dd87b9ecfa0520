"""A WAF web ACL in front of a region's ALB: AWS managed rule groups and a rate limit per IP, logged.

AWS keeps the managed rule groups up to date; the program only chooses which apply. Rules run in
priority order: the IP reputation list first (the cheapest verdict), then the rate limit, then the
request inspection of the common and known-bad-inputs groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

# AWS's names for the managed rule groups, by the config's key, with the order they run in.
MANAGED_GROUPS = {
    "ip_reputation": (10, "AWSManagedRulesAmazonIpReputationList"),
    "common": (30, "AWSManagedRulesCommonRuleSet"),
    "known_bad_inputs": (40, "AWSManagedRulesKnownBadInputsRuleSet"),
}
RATE_RULE_PRIORITY = 20
RATE_RULE = "rate-limit-per-ip"
# Headers that carry credentials, replaced by REDACTED in WAF's logs.
REDACTED_HEADERS = ("authorization", "cookie")
# WAF's rate-based rules count requests over a window of this many seconds.
RATE_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class FirewallSettings:
    """The web ACL of a region: plain data, from ``loadBalancer.waf``.

    Attributes:
        name: The web ACL's name, and its metrics' prefix (``devops-platform-prod``).
        log_group_name: Where WAF logs each request it evaluates; WAF requires the prefix
            ``aws-waf-logs-``.
        common / known_bad_inputs / ip_reputation: The AWS managed rule groups applied. Default all.
        rate_limit: Requests per 5 minutes from one IP before it is blocked, or None for no rate rule.
            Default 2000.
        log_retention_days: Default 365.
    """

    name: str
    log_group_name: str
    common: bool = True
    known_bad_inputs: bool = True
    ip_reputation: bool = True
    rate_limit: int | None = 2000
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        if not self.log_group_name.startswith("aws-waf-logs-"):
            raise ValueError("WAF logs only to a log group whose name starts with aws-waf-logs-")
        if self.rate_limit is not None and self.rate_limit < 10:
            raise ValueError("WAF's lowest rate limit is 10")

    @property
    def managed_groups(self) -> list[tuple[int, str]]:
        """(priority, AWS name) of the managed rule groups applied."""
        return sorted(MANAGED_GROUPS[key] for key in MANAGED_GROUPS if getattr(self, key))

    @property
    def rule_count(self) -> int:
        return len(self.managed_groups) + (self.rate_limit is not None)


@dataclass(frozen=True)
class WebFirewallArgs:
    """Inputs of :class:`WebFirewall`.

    Attributes:
        settings: What the web ACL is.
        load_balancer_arn: The ALB it protects.
    """

    settings: FirewallSettings
    load_balancer_arn: pulumi.Input[str]


def _rule_visibility(metric: str) -> aws.wafv2.WebAclRuleVisibilityConfigArgs:
    return aws.wafv2.WebAclRuleVisibilityConfigArgs(cloudwatch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True)


class WebFirewall(pulumi.ComponentResource):
    """A regional web ACL on the ALB.

    Creates, with ``name`` as the prefix:

    - ``{name}-logs``: the log group WAF writes to (``aws-waf-logs-…``), with retention;
    - ``{name}-acl``: the web ACL, allowing by default, with the chosen managed rule groups (their own
      actions) and the rate rule (block), each with CloudWatch metrics and sampled requests;
    - ``{name}-association``: the web ACL on the ALB;
    - ``{name}-logging``: its logging to the log group, with the Authorization and Cookie headers
      redacted (WAF adds the log group's resource policy itself, its documentation says).
    """

    def __init__(self, name: str, args: WebFirewallArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:traffic:WebFirewall", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=settings.log_group_name, retention_in_days=settings.log_retention_days, opts=child
        )
        rules = [
            aws.wafv2.WebAclRuleArgs(
                name=group,
                priority=priority,
                # A managed group's rules keep their own actions (block, count).
                override_action=aws.wafv2.WebAclRuleOverrideActionArgs(none=aws.wafv2.WebAclRuleOverrideActionNoneArgs()),
                statement=aws.wafv2.WebAclRuleStatementArgs(
                    managed_rule_group_statement=aws.wafv2.WebAclRuleStatementManagedRuleGroupStatementArgs(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=_rule_visibility(f"{settings.name}-{group}"),
            )
            for priority, group in settings.managed_groups
        ]
        if settings.rate_limit is not None:
            rules.append(
                aws.wafv2.WebAclRuleArgs(
                    name=RATE_RULE,
                    priority=RATE_RULE_PRIORITY,
                    action=aws.wafv2.WebAclRuleActionArgs(block=aws.wafv2.WebAclRuleActionBlockArgs()),
                    statement=aws.wafv2.WebAclRuleStatementArgs(
                        rate_based_statement=aws.wafv2.WebAclRuleStatementRateBasedStatementArgs(
                            limit=settings.rate_limit, aggregate_key_type="IP", evaluation_window_sec=RATE_WINDOW_SECONDS
                        )
                    ),
                    visibility_config=_rule_visibility(f"{settings.name}-{RATE_RULE}"),
                )
            )
        acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            name=settings.name,
            scope="REGIONAL",
            description=f"{settings.name}: AWS managed rules and a rate limit in front of the ALB",
            default_action=aws.wafv2.WebAclDefaultActionArgs(allow=aws.wafv2.WebAclDefaultActionAllowArgs()),
            rules=sorted(rules, key=lambda r: r.priority),
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True, metric_name=settings.name, sampled_requests_enabled=True
            ),
            opts=child,
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-association", resource_arn=args.load_balancer_arn, web_acl_arn=acl.arn, opts=child
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=acl.arn,
            log_destination_configs=[logs.arn],
            # WAF logs every request's headers; credentials must not land in a log group.
            redacted_fields=[
                aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(name=header)
                )
                for header in REDACTED_HEADERS
            ],
            opts=child,
        )
        self.web_acl_arn = acl.arn
        self.web_acl_name = acl.name
        self.log_group_name = logs.name
        self.outputs: dict[str, pulumi.Input[object]] = {
            "web_acl_arn": acl.arn,
            "web_acl_name": acl.name,
            "log_group_name": logs.name,
            "rules": [group for _, group in settings.managed_groups] + ([RATE_RULE] if settings.rate_limit else []),
        }
        self.register_outputs(self.outputs)
