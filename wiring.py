"""Turns the validated stack config into component inputs and providers.

Kept apart from ``__main__.py`` so that the tests build exactly what the program builds.
"""

from __future__ import annotations

import pulumi_aws as aws

from components.network import FlowLogSettings, NetworkArgs
from components.region import RegionalPlatformArgs
from stack_config import RegionConfig, StackConfig

MANAGED_BY = "pulumi/devops-platform"


def name_prefix(cfg: StackConfig) -> str:
    return f"{cfg.name}-{cfg.environment}"


def default_tags(cfg: StackConfig, region: RegionConfig, project: str, stack: str) -> dict[str, str]:
    return {
        **cfg.tags,
        "project": project,
        "stack": stack,
        "environment": cfg.environment,
        "region": region.name,
        "managed-by": MANAGED_BY,
    }


def region_provider(cfg: StackConfig, region: RegionConfig, project: str, stack: str) -> aws.Provider:
    """An explicit provider for one region; nothing in the program uses the default provider.

    Provider config is JSON-encoded on its way to the provider, and only the typed ``*Args``
    classes encode their keys in camelCase: a plain ``{"role_arn": ...}`` would reach the provider
    as an unknown key and be ignored. Hence the Args classes here.
    """
    return aws.Provider(
        f"aws-{region.name}",
        region=region.name,
        assume_roles=(
            [
                aws.ProviderAssumeRoleArgs(
                    role_arn=region.assume_role_arn, session_name=f"{project}-{stack}"[:64]
                )
            ]
            if region.assume_role_arn
            else None
        ),
        allowed_account_ids=list(cfg.allowed_account_ids) or None,
        default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(cfg, region, project, stack)),
    )


def regional_args(cfg: StackConfig, region: RegionConfig) -> RegionalPlatformArgs:
    plan = region.subnet_plan()
    flow = cfg.network.flow_logs
    return RegionalPlatformArgs(
        region=region.name,
        role=region.role,
        network=NetworkArgs(
            name_prefix=name_prefix(cfg),
            vpc_cidr=region.vpc_cidr,
            public_subnet_cidrs=plan.public,
            private_subnet_cidrs=plan.private,
            nat_strategy=cfg.network.nat_strategy,
            flow_logs=(
                FlowLogSettings(retention_days=flow.retention_days, traffic_type=flow.traffic_type)
                if flow.enabled
                else None
            ),
            interface_endpoints=tuple(cfg.network.interface_endpoints),
            gateway_endpoints=tuple(cfg.network.gateway_endpoints),
        ),
    )


def flow_logs_disabled_warning(cfg: StackConfig) -> str | None:
    if cfg.network.flow_logs.enabled:
        return None
    return "network.flowLogs.enabled is false: no VPC flow logs (Security Hub EC2.6 fails)"


