"""One region's part of the domain's DNS (seed 004: RTO under 5 minutes): a Route 53 health check
on the region's ALB, and the region's record for the domain itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from .alarms import AlarmSpec


@dataclass(frozen=True)
class DnsSettings:
    """The region's part of the domain's routing: plain data, from the validated stack config
    (``dns``).

    Attributes:
        region: The region; it identifies the record among the domain's others.
        domain / hosted_zone_id: The name clients use, and its zone.
        check_fqdn: The name the health check requests (``<region>.<domain>``: on the certificate,
            and resolving to this region's ALB only).
        check_path: The path requested over HTTPS; a connection within 4 s and then a 2xx or 3xx
            status within 2 s passes.
        routing: ``failover`` or ``latency``.
        failover_role: ``PRIMARY`` or ``SECONDARY`` (failover only).
        health_check_interval_seconds: 10 (default) or 30 between checks from each checker
            location.
        failure_threshold: Failed checks in a row before the region counts as down. Default 3.
    """

    region: str
    domain: str
    hosted_zone_id: str
    check_fqdn: str
    check_path: str
    routing: Literal["failover", "latency"]
    failover_role: Literal["PRIMARY", "SECONDARY"] | None = None
    health_check_interval_seconds: Literal[10, 30] = 10
    failure_threshold: int = 3

    def __post_init__(self) -> None:
        if (self.routing == "failover") != (self.failover_role is not None):
            raise ValueError("failover_role is required with failover routing, and only with it")
        if not 1 <= self.failure_threshold <= 10:
            raise ValueError("failure_threshold is 1 to 10")


@dataclass(frozen=True)
class RegionalDnsArgs:
    """Inputs of :class:`RegionalDns`.

    Attributes:
        settings: The region's routing (:class:`DnsSettings`).
        load_balancer_dns_name / load_balancer_zone_id: The ALB the record aliases.
    """

    settings: DnsSettings
    load_balancer_dns_name: pulumi.Input[str]
    load_balancer_zone_id: pulumi.Input[str]


class RegionalDns(pulumi.ComponentResource):
    """The region's health check and its record for the domain.

    Creates, with ``name`` as the prefix:

    - ``{name}-health-check``: HTTPS (with SNI) to ``check_fqdn`` on 443, every
      ``health_check_interval_seconds`` from Route 53's checker regions;
    - ``{name}-record``: an A alias of ``domain`` to the ALB, with ``set_identifier`` the region,
      the health check as its only health signal, and a failover (``failover_role``) or latency
      (``region``) routing policy.
    """

    def __init__(self, name: str, args: RegionalDnsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:dns:RegionalDns", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        check = aws.route53.HealthCheck(
            f"{name}-health-check",
            type="HTTPS",
            fqdn=args.settings.check_fqdn,
            port=443,
            resource_path=args.settings.check_path,
            enable_sni=True,
            request_interval=args.settings.health_check_interval_seconds,
            failure_threshold=args.settings.failure_threshold,
            measure_latency=args.settings.routing == "latency",
            tags={"Name": f"{args.settings.domain} via {args.settings.region}"},
            opts=child,
        )
        record = aws.route53.Record(
            f"{name}-record",
            zone_id=args.settings.hosted_zone_id,
            name=args.settings.domain,
            type="A",
            set_identifier=args.settings.region,
            health_check_id=check.id,
            aliases=[
                aws.route53.RecordAliasArgs(
                    name=args.load_balancer_dns_name,
                    zone_id=args.load_balancer_zone_id,
                    # The health check is the only signal: the ALB's own target health also
                    # counts staging and idle on-demand target groups, which say nothing about
                    # production and would fail a healthy region over (or hold a failed one).
                    evaluate_target_health=False,
                )
            ],
            failover_routing_policies=[aws.route53.RecordFailoverRoutingPolicyArgs(type=args.settings.failover_role)]
            if args.settings.failover_role
            else None,
            latency_routing_policies=[aws.route53.RecordLatencyRoutingPolicyArgs(region=args.settings.region)]
            if args.settings.routing == "latency"
            else None,
            opts=child,
        )
        self.health_check_id = check.id
        self.outputs: dict[str, pulumi.Input[object]] = {
            "health_check_id": check.id,
            "record_fqdn": record.fqdn,
            "routing": args.settings.routing,
            "failover_role": args.settings.failover_role,
        }
        self.register_outputs(self.outputs)


def health_check_alarm_spec(region: str) -> AlarmSpec:
    """A region's health check failing. Route 53 publishes these metrics in us-east-1 only; a check
    that stops reporting at all counts as failing."""
    return AlarmSpec(
        "dns-health",
        f"Route 53 sees {region} as down: the domain is routed away from it",
        "AWS/Route53",
        "HealthCheckStatus",
        "Minimum",
        60,
        1,
        1,
        comparison="LessThanThreshold",
        treat_missing="breaching",
    )
