"""The WAF web ACL on each region's ALB (``loadBalancer.waf``), under mocks: its rules, its
association with the ALB, its logging, its place on the dashboard and in the cost; off in dev."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from ops import cost, prices
from ops.harness import Graph
from stack_config import ConfigError, validate
from tests.conftest import PROJECT, namespace_of

REGIONS = ("us-east-1", "us-east-2")
GROUPS = ["AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"]


def acl_of(graph: Graph, region: str) -> dict[str, Any]:
    return graph.named(f"{region}-waf-acl").inputs


@pytest.mark.parametrize("region", REGIONS)
def test_prod_puts_a_web_acl_with_the_managed_groups_and_a_rate_limit_on_each_alb(prod: Graph, region: str):
    acl = acl_of(prod, region)
    assert (acl["scope"], acl["defaultAction"]) == ("REGIONAL", {"allow": {}})
    rules = {r["name"]: r for r in acl["rules"]}
    assert sorted(rules) == sorted([*GROUPS, "rate-limit-per-ip"])
    # The reputation list first, then the rate limit, then the inspecting groups.
    assert [r["name"] for r in sorted(acl["rules"], key=lambda r: r["priority"])] == [
        "AWSManagedRulesAmazonIpReputationList", "rate-limit-per-ip", "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"
    ]  # fmt: skip
    for group in GROUPS:
        rule = rules[group]
        assert rule["statement"]["managedRuleGroupStatement"] == {"vendorName": "AWS", "name": group}
        # A managed group's rules keep their own actions.
        assert rule["overrideAction"] == {"none": {}} and "action" not in rule
    rate = rules["rate-limit-per-ip"]
    assert rate["action"] == {"block": {}}
    assert rate["statement"]["rateBasedStatement"] == {"limit": 2000, "aggregateKeyType": "IP", "evaluationWindowSec": 300}
    for rule in acl["rules"]:
        assert rule["visibilityConfig"]["cloudwatchMetricsEnabled"] and rule["visibilityConfig"]["sampledRequestsEnabled"]
    # On the ALB, logging to its own aws-waf-logs- group, kept as long as the other logs.
    association = prod.named(f"{region}-waf-association").inputs
    assert association["resourceArn"] == prod.named(f"{region}-traffic-alb").id
    logging = prod.named(f"{region}-waf-logging").inputs
    logs = prod.named(f"{region}-waf-logs").inputs
    assert logs["name"] == "aws-waf-logs-devops-platform-prod" and logs["retentionInDays"] == 365
    assert logging["logDestinationConfigs"] == [f"arn:aws:logs:{region}:123456789012:log-group:{logs['name']}"]
    # Credentials never reach the log group.
    assert logging["redactedFields"] == [{"singleHeader": {"name": "authorization"}}, {"singleHeader": {"name": "cookie"}}]
    assert prod.outputs["regions"][region]["waf"]["web_acl_name"] == "devops-platform-prod"


def test_the_association_names_the_regions_own_alb_and_acl(prod: Graph):
    for region in REGIONS:
        association = prod.named(f"{region}-waf-association")
        assert prod.named(f"{region}-traffic-alb").urn in association.property_dependencies["resourceArn"]
        assert prod.named(f"{region}-waf-acl").urn in association.property_dependencies["webAclArn"]
        logging = prod.named(f"{region}-waf-logging")
        assert prod.named(f"{region}-waf-acl").urn in logging.property_dependencies["resourceArn"]


def test_dev_has_no_waf(dev: Graph):
    assert not [r for r in dev.resources if r.type.startswith("aws:wafv2/")]
    assert dev.outputs["regions"]["us-east-1"]["waf"] is None


def test_each_managed_group_and_the_rate_limit_can_be_turned_off(run_program: Callable[..., Graph]):
    def edit(ns: dict[str, Any]) -> None:
        ns["loadBalancer"]["waf"] = {"managedRules": {"common": False, "knownBadInputs": True, "ipReputation": False}, "rateLimit": None}

    acl = acl_of(run_program("prod", edit=edit), "us-east-1")
    assert [r["name"] for r in acl["rules"]] == ["AWSManagedRulesKnownBadInputsRuleSet"]


@pytest.mark.parametrize(
    ("waf", "path", "text"),
    [
        ({"rateLimit": 5}, "loadBalancer.waf.rateLimit", "requests per 5 minutes from one IP address from 10"),
        ({"managedRules": {"common": "yes"}}, "loadBalancer.waf.managedRules.common", "true or false"),
        ({"enable": True}, "loadBalancer.waf.enable", "did you mean enabled"),
    ],
)
def test_waf_config_mistakes_are_refused_naming_the_key(waf: dict[str, Any], path: str, text: str):
    namespace = namespace_of("prod")
    namespace["loadBalancer"]["waf"] = waf
    with pytest.raises(ConfigError) as caught:
        validate(namespace, PROJECT)
    (line,) = [line for line in caught.value.lines() if line.startswith(f"{path}:")]
    assert text in line


@pytest.mark.parametrize("region", REGIONS)
def test_the_dashboard_shows_the_web_acls_blocked_requests(prod: Graph, region: str):
    (dashboard,) = [r for r in prod.of_type("aws:cloudwatch/dashboard:Dashboard") if r.region == region]
    body = json.loads(dashboard.inputs["dashboardBody"])
    (widget,) = [w for w in body["widgets"] if w["properties"].get("title", "").startswith("WAF")]
    acl = ["WebACL", "devops-platform-prod", "Region", region, "Rule", "ALL"]
    assert widget["properties"]["metrics"] == [["AWS/WAFV2", "BlockedRequests", *acl], ["AWS/WAFV2", "AllowedRequests", *acl]]


def test_the_cost_prices_the_web_acl_its_rules_and_its_requests(prod: Graph, dev: Graph):
    est = cost.estimate(prod, cost.Assumptions(waf_million_requests=10))
    for region in REGIONS:
        lines = {line.item.split(" (")[0]: line for line in est.find(region, "WAF")}
        assert lines["WAF web ACL devops-platform-prod"].monthly == prices.WAF_WEB_ACL_MONTH
        assert lines["WAF rules"].quantity == 4 and lines["WAF rules"].unit_price == prices.WAF_RULE_MONTH
        assert lines["WAF requests"].monthly == pytest.approx(10 * prices.WAF_MILLION_REQUESTS)
    assert not [line for line in cost.estimate(dev).lines if line.item.startswith("WAF")]
