"""What every check shares: the context, the error guard, and small readers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import wiring
from stack_config import RegionConfig, StackConfig
from stack_config.aws_regions import partition_of

from . import facts
from .accounts import Access, AwsError, error_text, is_denied
from .report import Result

CheckFn = Callable[[], list[Result]]


@dataclass
class Context:
    cfg: StackConfig
    project: str
    stack: str
    access: dict[str, Access]
    now: datetime

    @property
    def regions(self) -> list[RegionConfig]:
        return [r for r in self.cfg.regions if r.name in self.access]

    @property
    def primary(self) -> Access | None:
        return self.access.get(self.cfg.primary.name)

    def global_region(self) -> str:
        return wiring.GLOBAL_REGION[partition_of(self.cfg.primary.name)]

    def by_account(self) -> dict[str, tuple[Access, list[str]]]:
        """Regions grouped by the account their credentials reach (first region's access)."""
        groups: dict[str, tuple[Access, list[str]]] = {}
        for region in self.regions:
            access = self.access[region.name]
            groups.setdefault(access.account, (access, []))[1].append(region.name)
        return groups


def guarded(check: str, where: str, action: str, run: CheckFn) -> list[Result]:
    """``run()``, or what its AWS error means for the check."""
    try:
        return run()
    except AwsError as exc:
        if is_denied(exc):
            return [
                Result(check, where, "warn", "could not check: the credentials may not look", saw=error_text(exc),
                       fix=f"allow {action} (read-only) to the identity running the preflight, or check by hand")
            ]  # fmt: skip
        return [
            Result(check, where, "fail", "could not check", saw=clean(error_text(exc)),
                   fix="check the credentials, the region and any AWS_ENDPOINT_URL, then re-run")
        ]  # fmt: skip


def clean(text: str) -> str:
    return text.replace("<!doctype html>", "(an HTML error page, not an AWS API answer)")


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"


def pages(call: Callable[..., dict[str, Any]], key: str, token_in: str, token_out: str, **kwargs: Any) -> list[Any]:
    items: list[Any] = []
    while True:
        page = call(**kwargs)
        items += page.get(key, [])
        token = page.get(token_out)
        if not token:
            return items
        kwargs[token_in] = token


def service_quota(access: Access, region: str, quota: facts.Quota) -> tuple[int | None, str]:
    """The applied value from Service Quotas, or None with why not."""
    client = access.client("service-quotas", region)
    try:
        value = client.get_service_quota(ServiceCode=quota.service_code, QuotaCode=quota.quota_code)["Quota"]["Value"]
        return int(value), f"{quota.label}: {int(value)}"
    except AwsError as exc:
        first = clean(error_text(exc))
    try:
        value = client.get_aws_default_service_quota(ServiceCode=quota.service_code, QuotaCode=quota.quota_code)["Quota"]["Value"]
        return int(value), f"{quota.label}: default {int(value)} (no applied value: {first})"
    except AwsError:
        return None, f"{quota.label}: not available ({first})"


def open_requests(access: Access, region: str, quota: facts.Quota) -> list[str]:
    """Increase requests still open for the quota (Service Quotas' history), as text."""
    try:
        history = access.client("service-quotas", region).list_requested_service_quota_change_history_by_quota(
            ServiceCode=quota.service_code, QuotaCode=quota.quota_code
        )
    except AwsError:
        return []
    return [
        f"{int(r['DesiredValue'])} ({r['Status']}" + (f", case {r['CaseId']})" if r.get("CaseId") else ")")
        for r in history.get("RequestedQuotas", [])
        if r.get("Status") in ("PENDING", "CASE_OPENED")
    ]


