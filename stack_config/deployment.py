"""Config section for how a service's new revisions reach production (``services[].deployment``).

ECS itself shifts the traffic (its BLUE_GREEN, CANARY and LINEAR strategies): the program declares
the second target group, the listener rules ECS rewrites, the role it does that with, and an
optional smoke test that runs against the new tasks before they take production traffic.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, PrivateAttr, model_validator

from .base import HEALTH_PATH_ALLOWED, HealthPath, _fail, _field, _int, _Model

BakeMinutes, BAKE_ALLOWED = _int(0, 1440, "minutes")
RequestTimeout, REQUEST_TIMEOUT_ALLOWED = _int(1, 30, "seconds")
WaitSeconds, WAIT_ALLOWED = _int(0, 3600, "seconds")


def _tenths(lo: float, hi: float) -> tuple[Any, str]:
    """A percentage ECS accepts: a number from ``lo`` to ``hi`` in steps of 0.1."""
    allowed = f"a percentage from {lo:g} to {hi:g}, in steps of 0.1"

    def check(value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail("percent", allowed)
        if not lo <= value <= hi or abs(value * 10 - round(value * 10)) > 1e-9:
            raise _fail("percent", allowed)
        return float(value)

    return Annotated[float, BeforeValidator(check)], allowed


CanaryPercent, CANARY_PERCENT_ALLOWED = _tenths(0.1, 100)
StepPercent, STEP_PERCENT_ALLOWED = _tenths(3, 100)

STATUS_ALLOWED = "HTTP status codes from 100 to 599, for example [200] or [200, 204]"


def _status(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise _fail("status", STATUS_ALLOWED)
    return value


StatusCode = Annotated[int, BeforeValidator(_status)]

# The platform's defaults: short enough that a deployment fits the pipeline's deploy timeout.
DEFAULT_CANARY_PERCENT = 10.0
DEFAULT_CANARY_BAKE_MINUTES = 5
DEFAULT_STEP_PERCENT = 25.0
DEFAULT_STEP_BAKE_MINUTES = 3
DEFAULT_BAKE_MINUTES = 10


class SmokeTestConfig(_Model):
    """A request the new tasks must answer before any production traffic reaches them."""

    path: HealthPath = _field(  # type: ignore[valid-type]
        description="Requested from the new tasks through the region's test listener, after ECS points "
        "its test traffic at them. It must match one of the service's own paths.",
        allowed=HEALTH_PATH_ALLOWED,
    )
    expected_status: list[StatusCode] = _field(
        [200],
        description="Status codes that pass. Any other answer from the new tasks fails the deployment at "
        "once, and ECS rolls it back.",
        allowed=STATUS_ALLOWED,
        min_length=1,
    )
    timeout_seconds: RequestTimeout = _field(  # type: ignore[valid-type]
        5, description="How long one request may take.", allowed=REQUEST_TIMEOUT_ALLOWED
    )
    wait_seconds: WaitSeconds = _field(  # type: ignore[valid-type]
        300,
        description="How long to keep asking while the new tasks do not answer yet (refused or timed-out "
        "connections, or the load balancer's own 502, 503 or 504); then the test fails.",
        allowed=WAIT_ALLOWED,
    )


class DeploymentConfig(_Model):
    """How a new revision of the service reaches production traffic."""

    strategy: Literal["rolling", "blueGreen", "canary", "linear"] = _field(
        "rolling",
        description="rolling: ECS replaces tasks in place (circuit breaker and alarm rollback); blueGreen: "
        "a full set of new tasks takes all traffic at once; canary: canaryPercent first, then the rest; "
        "linear: stepPercent at a time. The last three keep the old tasks until bakeMinutes have passed, "
        "and roll back when a deployment alarm fires or the smoke test fails.",
        allowed="rolling, blueGreen, canary or linear",
    )
    canary_percent: CanaryPercent | None = _field(  # type: ignore[valid-type]
        None,
        description=f"canary: the share of production traffic the new tasks take first. Default {DEFAULT_CANARY_PERCENT:g}.",
        allowed=CANARY_PERCENT_ALLOWED,
    )
    canary_bake_minutes: BakeMinutes | None = _field(  # type: ignore[valid-type]
        None,
        description=f"canary: minutes at canaryPercent before the rest of the traffic moves. Default {DEFAULT_CANARY_BAKE_MINUTES}.",
        allowed=BAKE_ALLOWED,
    )
    step_percent: StepPercent | None = _field(  # type: ignore[valid-type]
        None,
        description=f"linear: the share of production traffic each step moves. Default {DEFAULT_STEP_PERCENT:g}.",
        allowed=STEP_PERCENT_ALLOWED,
    )
    step_bake_minutes: BakeMinutes | None = _field(  # type: ignore[valid-type]
        None,
        description=f"linear: minutes between steps. Default {DEFAULT_STEP_BAKE_MINUTES}.",
        allowed=BAKE_ALLOWED,
    )
    bake_minutes: BakeMinutes | None = _field(  # type: ignore[valid-type]
        None,
        description="blueGreen, canary, linear: minutes the old tasks keep running after all traffic has "
        f"moved, so a rollback is instant. Default {DEFAULT_BAKE_MINUTES}.",
        allowed=BAKE_ALLOWED,
    )
    smoke_test: SmokeTestConfig | None = _field(
        None,
        description="blueGreen, canary, linear: a request the new tasks must answer on the test listener "
        "before production traffic reaches them. Default none.",
        allowed="an object with path, expectedStatus, timeoutSeconds, waitSeconds",
    )
    # The keys the stack file gave, before the strategy's defaults were filled in: a service on
    # Lambda refuses bakeMinutes only when it was asked for (stack_config/compute.py).
    _given: frozenset[str] = PrivateAttr(default=frozenset())

    @model_validator(mode="after")
    def _strategy_defaults(self) -> DeploymentConfig:
        self._given = frozenset(self.model_fields_set)
        # Defaults are filled for the keys of the chosen strategy only, so a key set for another
        # strategy still stands out (stack_config/deployment_checks.py).
        defaults: dict[str, Any] = {}
        if self.strategy != "rolling" and self.bake_minutes is None:
            defaults["bake_minutes"] = DEFAULT_BAKE_MINUTES
        if self.strategy == "canary":
            defaults["canary_percent"] = self.canary_percent or DEFAULT_CANARY_PERCENT
            if self.canary_bake_minutes is None:
                defaults["canary_bake_minutes"] = DEFAULT_CANARY_BAKE_MINUTES
        if self.strategy == "linear":
            defaults["step_percent"] = self.step_percent or DEFAULT_STEP_PERCENT
            if self.step_bake_minutes is None:
                defaults["step_bake_minutes"] = DEFAULT_STEP_BAKE_MINUTES
        return self.model_copy(update=defaults) if defaults else self

    @property
    def progressive(self) -> bool:
        return self.strategy != "rolling"

    @property
    def given(self) -> frozenset[str]:
        """The keys (field names) the stack file set, without the filled-in defaults."""
        return self._given

    def shift_minutes(self) -> float:
        """Minutes of baking from the first production traffic to the old tasks' removal."""
        bake = self.bake_minutes or 0
        if self.strategy == "canary":
            return (self.canary_bake_minutes or 0) + bake
        if self.strategy == "linear":
            steps = math.ceil(100 / (self.step_percent or DEFAULT_STEP_PERCENT))
            # ECS skips the step bake after the step that reaches 100 %.
            return (steps - 1) * (self.step_bake_minutes or 0) + bake
        return bake

    def alias_shift_minutes(self) -> float:
        """Minutes CodeDeploy takes to move a Lambda service's live alias: the canary's interval, or
        one interval per linear step (counted for every step, to be safe); no bake time."""
        if self.strategy == "canary":
            return float(self.canary_bake_minutes or 0)
        if self.strategy == "linear":
            return math.ceil(100 / (self.step_percent or DEFAULT_STEP_PERCENT)) * float(self.step_bake_minutes or 0)
        return 0.0
