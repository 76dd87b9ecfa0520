"""Checks of what delivery and notifications rely on: the source (CodeCommit or a connection) and
the notification emails."""

from __future__ import annotations

from botocore.exceptions import ClientError

from stack_config import RegionConfig

from . import facts, needs
from .accounts import Access, error_code, error_text
from .context import Context, guarded, pages, plural
from .report import Result

# --- source: CodeCommit or a connection ---------------------------------------------------------------


def source(ctx: Context) -> list[Result]:
    cfg = ctx.cfg
    if not cfg.has_pipeline:
        return [Result("pipeline.source", "all regions", "skip", "no pipeline (no services, or pipeline.enabled is false)")]
    if cfg.pipeline.source.type == "connection":
        skipped = Result("codecommit", "all regions", "skip", "not used: pipeline.source.type is connection")
        where = (cfg.pipeline.source.connection_arn or "::::").split(":")[3] or "global"
        return [skipped, *guarded("codeconnections", where, "codeconnections:GetConnection", lambda: connection(ctx))]
    results = []
    for account, (access, regions) in ctx.by_account().items():
        results += guarded("codecommit", f"account {account}", "codecommit:ListRepositories",
                           lambda access=access, regions=regions: codecommit(ctx, access, regions))  # fmt: skip
    return results


def codecommit(ctx: Context, access: Access, regions: list[str]) -> list[Result]:
    where = f"account {access.account}"
    wanted = needs.codecommit_repository(ctx.cfg)
    repos: dict[str, list[str]] = {}
    for region in regions:
        try:
            listed = pages(access.client("codecommit", region).list_repositories, "repositories", "nextToken", "nextToken")
        except ClientError as exc:
            if error_code(exc) == facts.CODECOMMIT_CLOSED_CODE:
                return [
                    Result("codecommit", where, "fail", "this account cannot use CodeCommit",
                           saw=f"codecommit:ListRepositories in {region}: {error_text(exc)}",
                           needs="an account (or AWS Organization) that already has a CodeCommit repository: AWS "
                           "stopped onboarding new CodeCommit customers in July 2024",
                           fix="set pipeline.source.type: connection with pipeline.source.connectionArn and "
                           "fullRepositoryId (a GitHub, GitLab or Bitbucket repository through CodeConnections)")
                ]  # fmt: skip
            raise
        repos[region] = [r["repositoryName"] for r in listed]
    total = sum(len(v) for v in repos.values())
    saw = "; ".join(
        f"{region}: " + (plural(len(names), "repository", "repositories") + (" (" + ", ".join(names[:3]) + (", ..." if len(names) > 3 else "") + ")") if names else "none")
        for region, names in repos.items()
    )  # fmt: skip
    saw += " (codecommit:ListRepositories)"
    has_own = [r for r, names in repos.items() if wanted in names]
    if total:
        title = f"CodeCommit is in use in this account ({plural(total, 'repository', 'repositories')})"
        if has_own:
            title += f"; {wanted} exists in {', '.join(has_own)}"
        return [Result("codecommit", where, "ok", title, saw=saw, needs=f"repository {wanted} in each region (the stack creates it)")]
    return [
        Result("codecommit", where, "warn",
               "no CodeCommit repository in the stack's regions: creating one may be refused",
               saw=saw,
               needs="CodeCommit accepts new repositories only in accounts (or AWS Organizations) that already have one "
               f'(since July 2024); refused, CreateRepository fails with {facts.CODECOMMIT_CLOSED_CODE} "{facts.CODECOMMIT_CLOSED_MESSAGE}"',
               fix="if no account of your organization has a repository, set pipeline.source.type: connection "
               "(with connectionArn and fullRepositoryId); otherwise nothing to do")
    ]  # fmt: skip


def connection(ctx: Context) -> list[Result]:
    src = ctx.cfg.pipeline.source
    arn = src.connection_arn or ""
    service, region, owner = arn.split(":")[2], arn.split(":")[3], arn.split(":")[4]
    access = ctx.primary
    if access is None:
        return []
    client = access.client(service, region)
    try:
        conn = client.get_connection(ConnectionArn=arn)["Connection"]
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return [
                Result("codeconnections", region, "fail", "the connection does not exist",
                       saw=f"{service}:GetConnection {arn}: {error_text(exc)} (as account {access.account})",
                       needs="an AVAILABLE connection at pipeline.source.connectionArn",
                       fix="create the connection (console: Developer Tools > Settings > Connections), finish its "
                       "handshake with the provider, and set its ARN in pipeline.source.connectionArn")
            ]  # fmt: skip
        raise
    status = conn.get("ConnectionStatus", "?")
    saw = f"{conn.get('ConnectionName', '?')} ({conn.get('ProviderType', '?')}) is {status} ({service}:GetConnection)"
    needs_text = f"an AVAILABLE connection that can read {src.full_repository_id}"
    if status == "PENDING":
        return [
            Result("codeconnections", region, "fail", "the connection is PENDING: its handshake with the provider was never finished",
                   saw=saw, needs=needs_text,
                   fix="open it in the console (Developer Tools > Settings > Connections), choose Update pending "
                   "connection and authorize the provider's app for the repository's owner")
        ]  # fmt: skip
    if status != "AVAILABLE":
        return [
            Result("codeconnections", region, "fail", f"the connection is {status}", saw=saw, needs=needs_text,
                   fix="update or re-create the connection in the console and authorize it again")
        ]  # fmt: skip
    if conn.get("OwnerAccountId", owner) != access.account:
        return [
            Result("codeconnections", region, "warn",
                   f"the connection belongs to account {conn.get('OwnerAccountId')}, not {access.account}",
                   saw=saw, needs=needs_text,
                   fix="use a connection created in the deploying account, or make sure it is shared with it")
        ]  # fmt: skip
    return [Result("codeconnections", region, "ok", "the connection is AVAILABLE", saw=saw, needs=needs_text)]


# --- notification emails ----------------------------------------------------------------------------


def emails(ctx: Context, region: RegionConfig) -> list[Result]:
    cfg = ctx.cfg
    access = ctx.access[region.name]
    wanted = needs.notification_emails(cfg)
    arn, own = needs.topic_arn(cfg, region, access.account)
    topic = arn.split(":")[-1]
    if own and not wanted:
        if not (cfg.has_pipeline or cfg.monitoring.enabled):
            return [Result("sns.subscriptions", region.name, "skip", "no notifications: no pipeline and no monitoring")]
        return [
            Result("sns.subscriptions", region.name, "warn", "no notification emails: approvals, failed runs and alarms reach nobody",
                   saw="pipeline.notifications.emails and monitoring.emails are empty",
                   needs=f"at least one address subscribed to {topic}",
                   fix="set pipeline.notifications.emails (or monitoring.emails) to an address someone reads")
        ]  # fmt: skip
    try:
        subs = pages(access.client("sns", region.name).list_subscriptions_by_topic, "Subscriptions", "NextToken", "NextToken", TopicArn=arn)
    except ClientError as exc:
        if error_code(exc) not in ("NotFound", "NotFoundException") or not own:
            raise
        return [
            Result("sns.subscriptions", region.name, "warn",
                   f"{plural(len(wanted), 'address', 'addresses')} must confirm by email after `pulumi up`: {', '.join(wanted)}",
                   saw=f"topic {topic} does not exist yet (sns:ListSubscriptionsByTopic: {error_code(exc)})",
                   needs="each subscription confirmed: SNS emails each address a confirmation link and delivers nothing until it is clicked",
                   fix=f"after `pulumi up`, ask {', '.join(wanted)} to click the link in the confirmation email; re-run the preflight to see who is still pending")
        ]  # fmt: skip
    by_address: dict[str, str] = {}
    for s in subs:
        if s.get("Protocol") in ("email", "email-json"):
            by_address[str(s.get("Endpoint", "")).lower()] = str(s.get("SubscriptionArn", ""))
    pending = [e for e in wanted if by_address.get(e.lower()) == facts.SNS_PENDING]
    absent = [e for e in wanted if e.lower() not in by_address]
    confirmed = [e for e in wanted if e not in pending and e not in absent]
    others_pending = [a for a, sub in by_address.items() if sub == facts.SNS_PENDING and a not in {e.lower() for e in wanted}]
    saw = (
        f"topic {topic}: {plural(len(subs), 'subscription')}; confirmed: {', '.join(confirmed) or 'none'}; "
        f"pending: {', '.join(pending + others_pending) or 'none'} (sns:ListSubscriptionsByTopic)"
    )
    needs_text = f"{', '.join(wanted) or 'at least one subscriber'} confirmed on {topic}"
    problems = []
    if pending or others_pending:
        problems.append(f"pending confirmation: {', '.join(pending + others_pending)}")
    if absent:
        problems.append(
            f"not subscribed: {', '.join(absent)}"
            + (" (`pulumi up` subscribes them; each must then confirm)" if own else " (the stack does not subscribe addresses to an existing topic)")
        )
    if not own and not subs:
        problems.append(f"the existing topic {topic} has no subscriber: approvals and alarms reach nobody")
    if problems:
        fix = "ask each pending address to click the link in its confirmation email (a lost one: delete the pending subscription and subscribe again)"
        if not own:
            fix = f"subscribe the people who approve and answer alarms to {arn} yourself, and have them confirm"
        return [Result("sns.subscriptions", region.name, "warn", "; ".join(problems), saw=saw, needs=needs_text, fix=fix)]
    title = f"every address is confirmed on {topic}" if own else f"{plural(len(subs), 'confirmed subscription')} on {topic}"
    return [Result("sns.subscriptions", region.name, "ok", title, saw=saw, needs=needs_text)]


