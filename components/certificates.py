"""The certificate validation records every region's certificate shares, owned once by the stack.

ACM asks for the same validation CNAME for the same name in every region of an account (its
validation token "works for any AWS Region", per its documentation; identical records are what
others have observed, not observed here). Each region's certificate carries the domain itself, so
one Route 53 record serves them all. If each region declared it, two resources would own one record,
and replacing or destroying either would delete the record the other region's certificate renews
with. So the stack declares it once, under a provider pinned to one region (Route 53 is global), and
each region's certificate validation waits for it by name. A region's own name
(``<region>.<domain>``) stays that region's record.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from .load_balancer import _option_for


@dataclass(frozen=True)
class SharedValidationSettings:
    """The names whose validation records the stack owns.

    Attributes:
        hosted_zone_id: The Route 53 zone the records go in.
        names: Names every region's certificate carries (the domain).
    """

    hosted_zone_id: str
    names: Sequence[str]


@dataclass(frozen=True)
class SharedValidationRecordsArgs:
    """Inputs of :class:`SharedValidationRecords`.

    Attributes:
        settings: The zone and the names.
        validation_options: One region's certificate's validation options (any region's: they agree
            for a shared name).
    """

    settings: SharedValidationSettings
    validation_options: pulumi.Output[list[aws.acm.outputs.CertificateDomainValidationOption]]


def record_key(name: str) -> str:
    """A logical-name part for a DNS name, stable while the name is: ``app.example.com`` → ``app-example-com``."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


class SharedValidationRecords(pulumi.ComponentResource):
    """Creates, with ``name`` as the prefix, ``{name}-{name-of-the-domain}``: one validation CNAME
    per shared name, with ``allow_overwrite`` so a stack that declared it per region before adopts
    the record in place. Pass a provider whose region never changes (``wiring.global_provider``):
    the record must not move when regions are added, removed or swap roles."""

    def __init__(self, name: str, args: SharedValidationRecordsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:traffic:SharedValidationRecords", name, None, opts)
        # Used as it is: Output.from_input would turn the typed options into plain dicts.
        options = args.validation_options
        self.record_fqdns: dict[str, pulumi.Output[str]] = {}
        for domain in args.settings.names:
            option = options.apply(_option_for(domain))
            record = aws.route53.Record(
                f"{name}-{record_key(domain)}",
                zone_id=args.settings.hosted_zone_id,
                name=option.resource_record_name,
                type=option.resource_record_type,
                records=[option.resource_record_value],
                ttl=300,
                allow_overwrite=True,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.record_fqdns[domain] = record.fqdn
        self.register_outputs({"record_fqdns": self.record_fqdns})
