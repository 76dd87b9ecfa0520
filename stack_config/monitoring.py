"""Config section for observability: alarm thresholds (seed 001's defaults, overridable per
service), who is emailed, and the dashboard."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator

from .base import _fail, _field, _Model
from .pipeline import EMAILS_ALLOWED, Email
from .workloads import _int

Percent, PERCENT_ALLOWED = _int(1, 100, "a percentage")
Count5xx, COUNT_5XX_ALLOWED = _int(1, 100_000, "a count")
UnhealthyHosts, UNHEALTHY_ALLOWED = _int(0, 1000, "a host count")
NearTimeout, NEAR_TIMEOUT_ALLOWED = _int(50, 100, "a percentage of the function's timeout")
LagSeconds, LAG_ALLOWED = _int(10, 86_400, "seconds")

RESPONSE_TIME_ALLOWED = "seconds from 0.01 to 60, for example 1 or 0.5"


def _response_time(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.01 <= value <= 60:
        raise _fail("response_time", RESPONSE_TIME_ALLOWED)
    return float(value)


ResponseTime = Annotated[float, BeforeValidator(_response_time)]


class ServiceAlarmsConfig(_Model):
    """Thresholds of each service's alarms (seed 001). Each alarms when the value is above it."""

    cpu_percent: Percent = _field(  # type: ignore[valid-type]
        80, description="Average CPUUtilization over 10 minutes (mode service).", allowed=PERCENT_ALLOWED
    )
    memory_percent: Percent = _field(  # type: ignore[valid-type]
        80, description="Average MemoryUtilization over 10 minutes (mode service).", allowed=PERCENT_ALLOWED
    )
    target_5xx_count: Count5xx = _field(  # type: ignore[valid-type]
        10,
        description="5XX responses from the service's targets in 5 minutes.",
        allowed=COUNT_5XX_ALLOWED,
        alias="target5xxCount",
    )
    response_time_seconds: ResponseTime = _field(
        1.0, description="Average TargetResponseTime over 5 minutes.", allowed=RESPONSE_TIME_ALLOWED
    )
    unhealthy_hosts: UnhealthyHosts = _field(  # type: ignore[valid-type]
        0, description="UnHealthyHostCount, for 2 consecutive minutes.", allowed=UNHEALTHY_ALLOWED
    )


class ServiceAlarmOverrides(_Model):
    """One service's thresholds; a key left out takes ``monitoring.serviceAlarms``'."""

    cpu_percent: Percent | None = _field(None, description="See serviceAlarms.cpuPercent.", allowed=PERCENT_ALLOWED)  # type: ignore[valid-type]
    memory_percent: Percent | None = _field(None, description="See serviceAlarms.memoryPercent.", allowed=PERCENT_ALLOWED)  # type: ignore[valid-type]
    target_5xx_count: Count5xx | None = _field(  # type: ignore[valid-type]
        None, description="See serviceAlarms.target5xxCount.", allowed=COUNT_5XX_ALLOWED, alias="target5xxCount"
    )
    response_time_seconds: ResponseTime | None = _field(
        None, description="See serviceAlarms.responseTimeSeconds.", allowed=RESPONSE_TIME_ALLOWED
    )
    unhealthy_hosts: UnhealthyHosts | None = _field(None, description="See serviceAlarms.unhealthyHosts.", allowed=UNHEALTHY_ALLOWED)  # type: ignore[valid-type]


class MonitoringConfig(_Model):
    """Alarms and a dashboard in every region, notifying the region's topic."""

    enabled: bool = _field(
        True, description="Alarms and dashboards. Off only for throwaway stacks.", allowed="true or false", strict=True
    )
    emails: list[Email] = _field(  # type: ignore[valid-type]
        [],
        description="Addresses subscribed to each region's notifications topic, with "
        "pipeline.notifications.emails: alarms, approvals and failed runs all go there.",
        allowed=EMAILS_ALLOWED,
    )
    service_alarms: ServiceAlarmsConfig = _field(
        ServiceAlarmsConfig(),
        description="Every service's thresholds (the platform's defaults).",
        allowed="an object with cpuPercent, memoryPercent, target5xxCount, responseTimeSeconds, unhealthyHosts",
    )
    services: dict[str, ServiceAlarmOverrides] = _field(
        {},
        description="Per-service overrides, by service name.",
        allowed="a map of service name to an object with any of the serviceAlarms keys",
    )
    load_balancer_5xx_count: Count5xx = _field(  # type: ignore[valid-type]
        10,
        description="5XX responses the ALB itself returned in 5 minutes.",
        allowed=COUNT_5XX_ALLOWED,
        alias="loadBalancer5xxCount",
    )
    function_duration_percent: NearTimeout = _field(  # type: ignore[valid-type]
        90, description="A function's longest run in 5 minutes, as a share of its timeout.", allowed=NEAR_TIMEOUT_ALLOWED
    )
    replication_lag_seconds: LagSeconds = _field(  # type: ignore[valid-type]
        60,
        description="Largest ReplicationLagSeconds in 5 minutes (replication's recovery point objective is under a minute).",
        allowed=LAG_ALLOWED,
    )
    dashboard: bool = _field(True, description="A CloudWatch dashboard per region.", allowed="true or false", strict=True)

    def thresholds(self, service: str) -> ServiceAlarmsConfig:
        """The service's thresholds: its overrides over the defaults."""
        override = self.services.get(service)
        if override is None:
            return self.service_alarms
        return self.service_alarms.model_copy(update=override.model_dump(exclude_none=True))
