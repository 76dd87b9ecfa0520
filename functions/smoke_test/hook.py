"""The ECS lifecycle-hook contract: the event ECS sends, and the decision the function returns.
Plain data, no I/O.

ECS calls the hook with ``lifecycleStage``, ``executionDetails`` and ``hookDetails`` (the service's
configuration, merged with whatever an earlier IN_PROGRESS answer returned), and acts on
``hookStatus``: SUCCEEDED goes on, FAILED rolls the deployment back, IN_PROGRESS calls again
after ``callBackDelay`` seconds (AWS's documentation; README.md beside this file).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

STAGE = "POST_TEST_TRAFFIC_SHIFT"
CALLBACK_SECONDS = 15
_CONFIG_KEYS = ("service", "url", "expectedStatus", "timeoutSeconds", "waitSeconds")
_PROGRESS_KEYS = ("firstAttemptAt", "attempts")


class BadEventError(ValueError):
    """The event is not a smoke-test hook call this function can judge."""


@dataclass(frozen=True)
class Check:
    """One hook call: what to request, what passes, and how far earlier calls got."""

    service: str
    url: str
    expected_status: tuple[int, ...]
    timeout_seconds: float
    wait_seconds: float
    first_attempt_at: float | None
    attempts: int
    stage: str


def parse(event: Any) -> Check:
    """The check an ECS hook event asks for; :class:`BadEventError` names what is wrong."""
    if not isinstance(event, dict):
        raise BadEventError(f"the event is a {type(event).__name__}, not an object")
    stage = event.get("lifecycleStage")
    if stage != STAGE:
        raise BadEventError(f"lifecycleStage is {stage!r}; this hook runs at {STAGE} only")
    details = event.get("hookDetails")
    if isinstance(details, str):
        try:
            details = json.loads(details)
        except ValueError:
            raise BadEventError("hookDetails is not valid JSON") from None
    if not isinstance(details, dict):
        raise BadEventError("hookDetails is missing or not an object")
    unknown = sorted(set(details) - {*_CONFIG_KEYS, *_PROGRESS_KEYS, "reason"})
    if unknown:
        raise BadEventError(f"hookDetails has unknown keys: {', '.join(unknown)}")
    service = details.get("service")
    if not isinstance(service, str) or not service:
        raise BadEventError("hookDetails.service must be the service's name")
    url = details.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url) > 2048:
        raise BadEventError("hookDetails.url must be an http:// or https:// URL")
    expected = details.get("expectedStatus")
    if (
        not isinstance(expected, list)
        or not expected
        or not all(isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in expected)
    ):
        raise BadEventError("hookDetails.expectedStatus must be a non-empty list of HTTP status codes")
    timeout = _number(details, "timeoutSeconds", 1, 30)
    wait = _number(details, "waitSeconds", 0, 3600)
    first = details.get("firstAttemptAt")
    if first is not None and (isinstance(first, bool) or not isinstance(first, int | float) or first < 0):
        raise BadEventError("hookDetails.firstAttemptAt must be a time in seconds")
    attempts = details.get("attempts", 0)
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 0:
        raise BadEventError("hookDetails.attempts must be a count")
    return Check(service, url, tuple(expected), timeout, wait, first, attempts, stage)


def _number(details: dict[str, Any], key: str, low: float, high: float) -> float:
    value = details.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise BadEventError(f"hookDetails.{key} must be a number from {low:g} to {high:g}")
    return float(value)


def decide(check: Check, *, now: float, status: int | None, retry: bool, detail: str) -> dict[str, Any]:
    """The answer to ECS for one request's outcome."""
    attempts = check.attempts + 1
    first = check.first_attempt_at if check.first_attempt_at is not None else now
    if status is not None and status in check.expected_status:
        return succeeded(f"{check.service}: {detail} after {attempts} attempt(s)")
    if not retry:
        return failed(f"{check.service}: {detail}; expected {_codes(check)}")
    waited = now - first
    if waited + CALLBACK_SECONDS > check.wait_seconds:
        return failed(
            f"{check.service}: the new tasks did not answer within {check.wait_seconds:g} s "
            f"({attempts} attempt(s)); last: {detail}"
        )
    return {
        "hookStatus": "IN_PROGRESS",
        "callBackDelay": CALLBACK_SECONDS,
        "hookDetails": {"firstAttemptAt": first, "attempts": attempts, "reason": f"waiting: {detail}"},
    }


def succeeded(reason: str) -> dict[str, Any]:
    return {"hookStatus": "SUCCEEDED", "hookDetails": {"reason": reason}}


def failed(reason: str) -> dict[str, Any]:
    return {"hookStatus": "FAILED", "hookDetails": {"reason": reason}}


def _codes(check: Check) -> str:
    return ", ".join(map(str, check.expected_status))
