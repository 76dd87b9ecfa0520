"""The smoke test ECS runs before a new service revision takes production traffic (a deployment
lifecycle hook at POST_TEST_TRAFFIC_SHIFT).

Each call requests the service's smoke path once, through the region's test listener, where ECS
sends test traffic to the new tasks only. An expected status passes; any other answer from the
service fails the deployment at once; while the new tasks do not answer yet (refused or timed-out
connections, the load balancer's own 502/503/504) the function answers IN_PROGRESS and ECS calls
again, until ``waitSeconds`` have passed. A bad event is a FAILED with its reason, never an
exception. It makes no AWS call and changes nothing, so a repeated call is harmless.

Modules: ``hook`` (the event and the decision) and ``probe`` (the request). Standard library only.
README.md is the contract.
"""

from __future__ import annotations

import json
import time
from typing import Any

import hook
import probe


def clock() -> float:
    """Wall-clock seconds: calls run in different invocations (tests replace it)."""
    return time.time()


def handler(event: Any, context: Any) -> dict[str, Any]:
    try:
        check = hook.parse(event)
    except hook.BadEventError as bad:
        answer = hook.failed(f"bad hook event: {bad}")
        _log("ERROR", "bad-event", reason=str(bad), executionId=_execution_id(event))
        return answer
    try:
        outcome = probe.request(check.url, check.timeout_seconds)
    except Exception as error:  # an unforeseen fault is a verdict too: ECS rolls back, and says why
        _log("ERROR", "probe-failed", service=check.service, error=f"{type(error).__name__}: {error}")
        return hook.failed(f"{check.service}: the smoke test itself failed: {type(error).__name__}: {error}")
    answer = hook.decide(check, now=clock(), status=outcome.status, retry=outcome.retry, detail=outcome.detail)
    _log(
        "INFO" if answer["hookStatus"] != "FAILED" else "ERROR",
        "smoke-test",
        service=check.service,
        url=check.url,
        status=outcome.status,
        seconds=round(outcome.seconds, 3),
        attempt=check.attempts + 1,
        hookStatus=answer["hookStatus"],
        reason=answer["hookDetails"]["reason"],
        executionId=_execution_id(event),
    )
    return answer


def _execution_id(event: Any) -> Any:
    return event.get("executionId") if isinstance(event, dict) else None


def _log(level: str, event: str, **fields: Any) -> None:
    print(json.dumps({"level": level, "event": event, **fields}, sort_keys=True, default=str))
