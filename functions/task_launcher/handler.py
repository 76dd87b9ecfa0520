"""The on-demand task launcher (seed 002's start-engines): one handler, three EventBridge events.

- ``custom.app`` / ``Start ECS Task``: run a service's task family on Fargate in its private
  subnets (never with a public IP), wait until RUNNING, register the task's private IP in the
  service's ip target group, and optionally wait until the target is healthy.
- ``custom.app`` / ``Stop ECS Task``: deregister, then stop, one task of the service or every
  task of it this launcher started.
- ``aws.ecs`` / ``ECS Task State Change`` with lastStatus STOPPED: take the stopped task's IP out
  of its service's target group.

A bad event gets a 4xx result and changes nothing. A broken configuration raises
:class:`ConfigError`; a start that fails after RunTask cleans up what it did (deregisters, stops)
and raises :class:`LaunchError`, so the event lands in the function's on-failure destination.
README.md is the contract. Only boto3 and the standard library at run time.

The modules beside this one: ``config`` (the environment), ``events`` (parsing events into
requests), ``launch`` (what each request does), ``aws`` (the ECS and ELB calls) and ``common``.
"""

from __future__ import annotations

from typing import Any

import aws
import config
from common import log, result
from events import BadEventError, StartRequest, StopRequest, parse_event
from launch import start, stop, task_stopped


def handler(event: Any, context: Any) -> dict[str, Any]:
    settings = config.settings()
    try:
        request = parse_event(event, settings)
        if isinstance(request, StartRequest):
            return start(request, settings, context)
        if isinstance(request, StopRequest):
            return stop(request, settings)
        return task_stopped(request, settings)
    except BadEventError as bad:
        event_id = event.get("id") if isinstance(event, dict) else None
        log("WARNING", "bad-event", error=bad.message, statusCode=bad.status, eventId=event_id)
        return result(bad.status, {"error": bad.message})


def reset() -> None:
    """Forget the cached clients and settings (tests; a warm Lambda never needs it)."""
    aws.reset()
    config.reset()
