"""Every check, run in order. Each reads the account (Describe, Get and List calls only) and
returns results; a check that cannot read what it needs says so instead of guessing: ``warn`` when
the credentials may not look (the action to grant is named), ``fail`` for any other error.
"""

from __future__ import annotations

from datetime import UTC, datetime

import boto3

from stack_config import StackConfig

from .account_checks import identity, lambda_concurrency, linked_roles
from .accounts import Access, AccessError, Accounts, SessionFactory
from .context import Context, guarded
from .delivery_checks import emails, source
from .edge_checks import certificate, dns
from .network_checks import network
from .report import Result

# --- entry point ------------------------------------------------------------------------------------


def run_checks(
    cfg: StackConfig,
    *,
    project: str,
    stack: str,
    new_session: SessionFactory = boto3.Session,
    now: datetime | None = None,
) -> list[Result]:
    """Every check, in the order they print. Nothing here writes to the account."""
    accounts = Accounts(new_session)
    try:
        accounts.ambient(cfg.primary.name)
    except AccessError as exc:
        return [
            Result("identity", "credentials", "fail", str(exc),
                   needs="credentials for the target account (AWS_PROFILE, SSO, or environment variables)",
                   fix="log in (for example `aws sso login --profile <profile>`, then AWS_PROFILE=<profile>) and re-run")
        ]  # fmt: skip
    results: list[Result] = []
    access: dict[str, Access] = {}
    for region in cfg.regions:
        try:
            access[region.name] = accounts.for_region(region)
        except AccessError as exc:
            results.append(
                Result("identity", region.name, "fail", str(exc),
                       needs=f"regions[{cfg.regions.index(region)}].assumeRoleArn assumable by the caller",
                       fix="check the role's trust policy admits the caller, or fix regions[].assumeRoleArn")
            )  # fmt: skip
    ctx = Context(cfg, project, stack, access, now or datetime.now(UTC))
    results += identity(ctx)
    for region in ctx.regions:
        results += guarded("lambda.concurrency", region.name, "lambda:GetAccountSettings, lambda:GetFunctionConcurrency",
                           lambda region=region: lambda_concurrency(ctx, region))  # fmt: skip
    results += source(ctx)
    results += guarded("dns.hosted-zone", "global", "route53:GetHostedZone, route53:ListHostedZones", lambda: dns(ctx))
    for region in ctx.regions:
        results += guarded("acm.certificate", region.name, "acm:DescribeCertificate", lambda region=region: certificate(ctx, region))
    results += linked_roles(ctx)
    for region in ctx.regions:
        results += guarded("sns.subscriptions", region.name, "sns:ListSubscriptionsByTopic", lambda region=region: emails(ctx, region))
    for region in ctx.regions:
        results += guarded("ec2.network-quotas", region.name, "ec2:Describe* (zones, VPCs, gateways, addresses)",
                           lambda region=region: network(ctx, region))  # fmt: skip
    return results


