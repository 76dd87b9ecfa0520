"""What the stack will ask of each region, read from the validated config through ``wiring``, so
that names and counts are the ones the program uses."""

from __future__ import annotations

from dataclasses import dataclass

import wiring
from stack_config import RegionConfig, StackConfig
from stack_config.aws_regions import partition_of

from . import facts

# components/repo_replicator.py gives the replicator a reservation of 1 (it serializes
# replication); not a setting, so it is repeated here. tests/test_preflight.py compares the
# totals with the synthesized program's functions.
REPLICATOR_RESERVED_CONCURRENCY = 1


@dataclass(frozen=True)
class Reservation:
    """One function's concurrency: ``reserved`` comes out of the account's unreserved pool;
    ``provisioned`` does too when the function has no reservation (else it is inside it)."""

    function_name: str
    key: str
    reserved: int | None
    provisioned: int | None


def lambda_reservations(cfg: StackConfig, region: RegionConfig, project: str) -> list[Reservation]:
    found: list[Reservation] = []
    for i, fn in enumerate(cfg.functions):
        s = wiring.function_settings(cfg, region, fn, project)
        if s.reserved_concurrency is not None or s.provisioned_concurrency is not None:
            found.append(Reservation(s.function_name, f"functions[{i}] ({fn.name})", s.reserved_concurrency, s.provisioned_concurrency))
    for i, svc in enumerate(cfg.services):
        lam = wiring.service_settings(cfg, region, svc, project).lambda_settings
        # A staging copy takes neither (ServiceSettings.staging_copy).
        if lam is not None and (lam.reserved_concurrency is not None or lam.provisioned_concurrency is not None):
            found.append(
                Reservation(
                    f"{wiring.name_prefix(cfg)}-{svc.name}", f"services[{i}] ({svc.name}).lambda",
                    lam.reserved_concurrency, lam.provisioned_concurrency,
                )
            )  # fmt: skip
    smoke = wiring.smoke_test_settings(cfg)
    if smoke is not None and smoke.reserved_concurrency is not None:
        found.append(Reservation(smoke.function_name, "the smoke-test function", smoke.reserved_concurrency, None))
    replicator = wiring.replicator_settings(cfg)
    if replicator is not None and region.role == "primary":
        found.append(Reservation(replicator.function_name, "replication (the replicator)", REPLICATOR_RESERVED_CONCURRENCY, None))
    return found


def nat_gateway_count(cfg: StackConfig, region: RegionConfig) -> int:
    """components/network.py: one per AZ (perAz), one in the first AZ (single), or none."""
    return {"perAz": region.az_count, "single": 1, "none": 0}[cfg.network.nat_strategy]


def stack_tags(cfg: StackConfig, region: RegionConfig, project: str, stack: str) -> dict[str, str]:
    """The provider default tags that mark a resource as this stack's (already deployed: not new)."""
    tags = wiring.default_tags(cfg, region, project, stack)
    return {k: tags[k] for k in ("project", "stack", "managed-by")}


def linked_roles(cfg: StackConfig) -> list[tuple[facts.LinkedRole, str]]:
    """The service-linked roles the stack's first deployment relies on, each with why."""
    roles = [(facts.ELB_ROLE, "the ALB in each region")]
    fargate = [s for s in cfg.services if s.compute == "fargate"]
    if fargate:
        why = "the ECS cluster and services" + (
            " (and the cluster's FARGATE_SPOT capacity provider for staging: Spot has no role of its own)"
            if uses_spot(cfg)
            else ""
        )
        roles.insert(0, (facts.ECS_ROLE, why))
        if any(s.mode == "service" for s in fargate):
            roles.append((facts.ECS_SCALING_ROLE, "autoscaling of the Fargate services"))
    return roles


def uses_spot(cfg: StackConfig) -> bool:
    return cfg.has_staging and cfg.pipeline.staging.spot and any(s.compute == "fargate" and s.mode == "service" for s in cfg.services)


def notification_emails(cfg: StackConfig) -> tuple[str, ...]:
    """The addresses the stack subscribes to each region's topic (wiring.notifications_settings)."""
    return wiring.notifications_settings(cfg).emails


def topic_arn(cfg: StackConfig, region: RegionConfig, account: str) -> tuple[str, bool]:
    """The region's notifications topic, and whether it is the stack's own (not topicArns)."""
    existing = cfg.pipeline.notifications.topic_arns.get(region.name)
    if existing:
        return existing, False
    name = wiring.notifications_settings(cfg).topic_name
    return f"arn:{partition_of(region.name)}:sns:{region.name}:{account}:{name}", True


def codecommit_repository(cfg: StackConfig) -> str:
    return cfg.pipeline.source.repository_name or wiring.name_prefix(cfg)
