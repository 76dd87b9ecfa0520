"""Checks of the account itself: who the credentials are, Lambda concurrency, service-linked roles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from stack_config import RegionConfig

from . import facts, needs
from .accounts import Access, error_code, error_text
from .context import Context, guarded, open_requests, service_quota
from .report import Result

# --- identity ---------------------------------------------------------------------------------------


def identity(ctx: Context) -> list[Result]:
    allowed = ctx.cfg.allowed_account_ids
    results = []
    for account, (access, regions) in ctx.by_account().items():
        where = ", ".join(regions)
        saw = f"account {account} as {access.arn} (sts:GetCallerIdentity)"
        if not allowed:
            results.append(
                Result("identity", where, "warn", "allowedAccountIds is not set: these credentials would deploy into any account",
                       saw=saw, needs="devops-platform:allowedAccountIds naming the account(s) this stack may deploy to",
                       fix=f'if {account} is the right account, set devops-platform:allowedAccountIds: ["{account}"] '
                       f"in Pulumi.{ctx.stack}.yaml")
            )  # fmt: skip
        elif account in allowed:
            results.append(Result("identity", where, "ok", f"account {account} is in allowedAccountIds", saw=saw,
                                  needs="one of " + ", ".join(allowed)))  # fmt: skip
        else:
            results.append(
                Result("identity", where, "fail", f"account {account} is not in allowedAccountIds: `pulumi up` would refuse it",
                       saw=saw, needs="one of " + ", ".join(allowed),
                       fix="use credentials for the right account (AWS_PROFILE, SSO) or fix regions[].assumeRoleArn; "
                       "change allowedAccountIds only if the account really is this stack's")
            )  # fmt: skip
    return results


# --- Lambda concurrency -----------------------------------------------------------------------------


def _existing_reservation(client: Any, function_name: str) -> int:
    try:
        return int(client.get_function_concurrency(FunctionName=function_name).get("ReservedConcurrentExecutions") or 0)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return 0
        raise


def lambda_concurrency(ctx: Context, region: RegionConfig) -> list[Result]:
    access = ctx.access[region.name]
    client = access.client("lambda", region.name)
    limit = client.get_account_settings()["AccountLimit"]
    quota, unreserved = int(limit["ConcurrentExecutions"]), int(limit["UnreservedConcurrentExecutions"])
    wanted = needs.lambda_reservations(ctx.cfg, region, ctx.project)

    new_reserved, parts = 0, []
    for r in wanted:
        if r.reserved is None:
            continue
        existing = _existing_reservation(client, r.function_name)
        new_reserved += max(0, r.reserved - existing)
        parts.append(f"{r.key} {r.reserved}" + (f", {existing} of it already reserved" if existing else ""))
    provisioned = [(r.key, r.provisioned) for r in wanted if r.reserved is None and r.provisioned]
    pool = sum(p for _, p in provisioned)
    floor = facts.LAMBDA_MIN_UNRESERVED
    left = unreserved - new_reserved - pool
    needed = new_reserved + pool + floor

    _applied, sq_text = service_quota(access, region.name, facts.LAMBDA_CONCURRENCY)
    requests = open_requests(access, region.name, facts.LAMBDA_CONCURRENCY)
    saw = f"ConcurrentExecutions {quota}, UnreservedConcurrentExecutions {unreserved} (lambda:GetAccountSettings); {sq_text}"
    if requests:
        saw += "; increase requested: " + ", ".join(requests)
    needs_text = (
        f"UnreservedConcurrentExecutions of at least {needed} = {new_reserved} to reserve ({'; '.join(parts) or 'nothing'}) "
        f"+ {pool} provisioned outside reservations"
        + (f" ({'; '.join(f'{k} {p}' for k, p in provisioned)})" if provisioned else "")
        + f" + {floor} that AWS keeps unreserved (AWS documentation)"
    )
    if not new_reserved + pool:
        needs_text = f"no new reservation and no provisioned concurrency outside one in {region.name}: nothing for Lambda to refuse"
    if new_reserved + pool and left < floor:  # with nothing to reserve, nothing is refused
        target = quota + (floor - left)
        pending = f" (already requested: {', '.join(requests)}; wait for it)" if requests else ""
        return [
            Result("lambda.concurrency", region.name, "fail",
                   f"Lambda concurrency is short by {floor - left}: {unreserved} unreserved, {needed} needed",
                   saw=saw, needs=needs_text,
                   fix=f"raise {facts.LAMBDA_CONCURRENCY.label} (AWS Lambda) in {region.name} to at least {target}{pending}: "
                   f"`{facts.LAMBDA_CONCURRENCY.request_command(region.name, target)}`; or lower "
                   "functions[].reservedConcurrency / services[].lambda.reservedConcurrency")
        ]  # fmt: skip
    if quota < facts.LAMBDA_DEFAULT_CONCURRENCY:
        return [
            Result("lambda.concurrency", region.name, "warn",
                   f"the reservations fit, but the account's quota ({quota}) is below Lambda's default "
                   f"{facts.LAMBDA_DEFAULT_CONCURRENCY}: {left} executions left for every unreserved function",
                   saw=saw, needs=needs_text,
                   fix="the task launcher, smoke tests, services on Lambda without lambda.reservedConcurrency and "
                   f"staging copies share those {left}; AWS raises reduced quotas of new accounts with use, or request "
                   f"{facts.LAMBDA_DEFAULT_CONCURRENCY}: `{facts.LAMBDA_CONCURRENCY.request_command(region.name, facts.LAMBDA_DEFAULT_CONCURRENCY)}`")
        ]  # fmt: skip
    return [
        Result("lambda.concurrency", region.name, "ok",
               f"{left} executions stay unreserved after the stack's reservations (at least {floor} required)",
               saw=saw, needs=needs_text)
    ]  # fmt: skip


# --- service-linked roles ---------------------------------------------------------------------------


def linked_roles(ctx: Context) -> list[Result]:
    results = []
    for account, (access, _regions) in ctx.by_account().items():
        for role, why in needs.linked_roles(ctx.cfg):
            results += guarded("iam.service-linked-role", f"account {account}", "iam:GetRole",
                               lambda access=access, role=role, why=why: _linked_role(ctx, access, role, why))  # fmt: skip
    return results


def _linked_role(ctx: Context, access: Access, role: facts.LinkedRole, why: str) -> list[Result]:
    where = f"account {access.account}"
    try:
        found = access.client("iam", ctx.global_region()).get_role(RoleName=role.name)["Role"]
    except ClientError as exc:
        if error_code(exc) not in ("NoSuchEntity", "NoSuchEntityException"):
            raise
        spot = role is facts.ECS_ROLE and needs.uses_spot(ctx.cfg)
        fix = (
            f"{role.created_by} creates it, if the identity running `pulumi up` may iam:CreateServiceLinkedRole; "
            f"or create it now: `aws iam create-service-linked-role --aws-service-name {role.service}`"
        )
        if spot:
            fix += (
                "; with Fargate Spot, create it before `pulumi up`: public reports show cluster creation with capacity "
                f'providers failing with "{facts.ECS_ROLE_MISSING_ERROR}" while it is missing (not observed here)'
            )
        return [
            Result("iam.service-linked-role", where, "warn", f"{role.name} does not exist yet",
                   saw=f"iam:GetRole {role.name}: {error_text(exc)}", needs=f"{role.name} ({role.service}) for {why}", fix=fix)
        ]  # fmt: skip
    created = found.get("CreateDate")
    saw = f"{role.name} exists" + (f" since {created:%Y-%m-%d}" if isinstance(created, datetime) else "") + " (iam:GetRole)"
    return [Result("iam.service-linked-role", where, "ok", f"{role.name} exists", saw=saw, needs=f"{role.name} ({role.service}) for {why}")]


