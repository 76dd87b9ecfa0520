"""Documentation values in a stack file are found by kind and named by key path."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from stack_config import validate
from stack_config.placeholders import find_placeholders
from tests.conftest import PROJECT, namespace_of

ARN = "arn:aws:acm:us-east-1:{}:certificate/0f0f0f0f-1111-2222-3333-444455556666"


def found(stack: str, edit: Callable[[dict[str, Any]], None] | None = None) -> list[tuple[str, str]]:
    ns = copy.deepcopy(namespace_of(stack))
    if edit:
        edit(ns)
    return [(p.key, p.kind) for p in find_placeholders(validate(ns, PROJECT))]


def test_prod_ships_its_documentation_values_and_dev_none():
    assert found("prod") == [
        ("dns.domain", "a domain reserved for documentation"),
        ("dns.hostedZoneId", "an example hosted zone ID"),
        ("monitoring.emails[0]", "an address at a domain reserved for documentation"),
        ("pipeline.notifications.emails[0]", "an address at a domain reserved for documentation"),
        ("pipeline.staging.ingressCidrs[0]", "a documentation address range (RFC 5737/3849)"),
    ]
    assert found("dev") == []


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(ns: dict[str, Any]) -> None:
        *parents, leaf = path.split(".")
        node = ns
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "key", "kind"),
    [
        (_set("dns", {"domain": "shop.example.org", "hostedZoneId": "Z0123456789ABCDEFGHIJ", "healthCheckPath": "/api/auth/health"}), "dns.domain", "a domain reserved for documentation"),
        (_set("dns", {"domain": "app.test", "hostedZoneId": "Z0123456789ABCDEFGHIJ", "healthCheckPath": "/api/auth/health"}), "dns.domain", "a domain reserved for documentation"),
        (_set("dns", {"domain": "app.acme.io", "hostedZoneId": "ZEXAMPLE123", "healthCheckPath": "/api/auth/health"}), "dns.hostedZoneId", "an example hosted zone ID"),
        (_set("monitoring.emails", ["ops@acme.io", "me@example.net"]), "monitoring.emails[1]", "an address at a domain reserved for documentation"),
        (_set("loadBalancer.ingressCidrs", ["198.51.100.0/24"]), "loadBalancer.ingressCidrs[0]", "a documentation address range (RFC 5737/3849)"),
        (_set("loadBalancer.ingressCidrs", ["192.0.2.128/25"]), "loadBalancer.ingressCidrs[0]", "a documentation address range (RFC 5737/3849)"),
        (_set("allowedAccountIds", ["111122223333"]), "allowedAccountIds[0]", "an account ID from AWS's documentation"),
        (
            _set("loadBalancer.certificateArns", {"us-east-1": ARN.format("123456789012"), "us-east-2": ARN.format("210987654321").replace("us-east-1", "us-east-2")}),
            "loadBalancer.certificateArns.us-east-1",
            "an ARN in an account from AWS's documentation",
        ),
    ],
    ids=["domain-org", "domain-test-tld", "zone", "email", "cidr-198-51-100", "cidr-192-0-2", "account", "certificate-arn"],
)
def test_each_kind_of_documentation_value_is_named_by_its_key(edit, key, kind):
    assert (key, kind) in found("dev", edit)


def test_real_looking_values_are_not_flagged():
    def edit(ns: dict[str, Any]) -> None:
        ns["dns"] = {"domain": "app.example-corp.com", "hostedZoneId": "Z0123456789ABCDEFGHIJ", "healthCheckPath": "/api/auth/health"}
        ns["monitoring"]["emails"] = ["oncall@examples.io", "ops@myexample.com"]
        ns["loadBalancer"]["ingressCidrs"] = ["203.0.114.0/24", "0.0.0.0/0"]
        ns["allowedAccountIds"] = ["210987654321"]

    assert found("dev", edit) == []
