"""Documentation values left in a stack file: valid config, but not anyone's real account or domain.

The stack files ship with the values AWS's and the IETF's documentation reserve for examples, so
they synthesize anywhere. Deploying them would fail late (a hosted zone that does not exist) or
silently (alarm emails to a domain nobody reads), so the synth warns about each and ``python -m
ops up`` refuses them unless told otherwise.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .model import StackConfig

# RFC 2606 and RFC 6761: names reserved for documentation and testing.
_RESERVED_DOMAIN = re.compile(r"(^|\.)(example\.(com|net|org)|example|test|invalid)$", re.IGNORECASE)
# RFC 5737 (IPv4) and RFC 3849 (IPv6) documentation ranges.
_DOC_RANGES = [
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
]
# The account IDs AWS's documentation uses in its examples.
_DOC_ACCOUNTS = {"111122223333", "123456789012", "444455556666", "777788889999"}
_ARN_ACCOUNT = re.compile(r"^arn:[^:]+:[^:]*:[^:]*:(\d{12}):")


@dataclass(frozen=True)
class Placeholder:
    """A documentation value at a key of the stack config."""

    key: str
    value: str
    kind: str

    def __str__(self) -> str:
        return f"{self.key}: {self.value} ({self.kind})"


def _domain(value: str) -> bool:
    return bool(_RESERVED_DOMAIN.search(value.rstrip(".")))


def _documentation_range(cidr: str) -> bool:
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        return False
    return any(network.version == r.version and network.subnet_of(r) for r in _DOC_RANGES)  # type: ignore[arg-type]


def find_placeholders(cfg: StackConfig) -> list[Placeholder]:
    """Every documentation value in ``cfg``, by key path (as the stack file spells it)."""
    found: list[Placeholder] = []
    if cfg.dns is not None:
        if _domain(cfg.dns.domain):
            found.append(Placeholder("dns.domain", cfg.dns.domain, "a domain reserved for documentation"))
        if "EXAMPLE" in cfg.dns.hosted_zone_id.upper():
            found.append(Placeholder("dns.hostedZoneId", cfg.dns.hosted_zone_id, "an example hosted zone ID"))
    emails = [("monitoring.emails", cfg.monitoring.emails), ("pipeline.notifications.emails", cfg.pipeline.notifications.emails)]
    for key, addresses in emails:
        for i, address in enumerate(addresses):
            if _domain(address.rsplit("@", 1)[-1]):
                found.append(Placeholder(f"{key}[{i}]", address, "an address at a domain reserved for documentation"))
    cidrs = [("loadBalancer.ingressCidrs", cfg.load_balancer.ingress_cidrs), ("pipeline.staging.ingressCidrs", cfg.pipeline.staging.ingress_cidrs or [])]
    for key, ranges in cidrs:
        for i, cidr in enumerate(ranges):
            if _documentation_range(cidr):
                found.append(Placeholder(f"{key}[{i}]", cidr, "a documentation address range (RFC 5737/3849)"))
    for i, account in enumerate(cfg.allowed_account_ids):
        if account in _DOC_ACCOUNTS:
            found.append(Placeholder(f"allowedAccountIds[{i}]", account, "an account ID from AWS's documentation"))
    arns = [(f"loadBalancer.certificateArns.{r}", a) for r, a in cfg.load_balancer.certificate_arns.items()]
    arns += [(f"pipeline.notifications.topicArns.{r}", a) for r, a in cfg.pipeline.notifications.topic_arns.items()]
    arns += [(f"regions[{i}] ({r.name}).assumeRoleArn", r.assume_role_arn) for i, r in enumerate(cfg.regions) if r.assume_role_arn]
    if cfg.pipeline.source.connection_arn:
        arns.append(("pipeline.source.connectionArn", cfg.pipeline.source.connection_arn))
    arns += [(f"services[{i}] ({s.name}).secrets.{var}", a) for i, s in enumerate(cfg.services) for var, a in s.secrets.items()]
    for key, arn in arns:
        match = _ARN_ACCOUNT.match(arn)
        if match and match.group(1) in _DOC_ACCOUNTS:
            found.append(Placeholder(key, arn, "an ARN in an account from AWS's documentation"))
    return found
