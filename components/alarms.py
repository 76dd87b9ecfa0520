"""CloudWatch alarms as data: what each service, function, queue and the ALB are alarmed on, and
how missing data is treated. The same definitions feed the alarms and the dashboard.

Not a component: helpers for :class:`~components.fargate_service.FargateService` and
:class:`~components.lambda_service.LambdaService` (their own alarms, which also gate their
deployments) and :class:`~components.monitoring.Monitoring` (the rest).

Missing data. CloudWatch publishes no datapoint for a period with nothing to count (no requests,
no 5XX, no invocations, an idle queue), so every alarm here treats missing data as
``notBreaching``: silence means nothing happened. An outage is caught by what does report:
UnHealthyHostCount (published every minute for a target group on a listener), 5XX at the ALB, and
the Route 53 health checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

TREAT_MISSING = "notBreaching"


@dataclass(frozen=True)
class AlarmSpec:
    """One alarm: the metric, its statistic over ``period`` seconds, and when it fires."""

    kind: str
    description: str
    namespace: str
    metric: str
    statistic: str
    period: int
    evaluation_periods: int
    threshold: float
    comparison: str = "GreaterThanThreshold"
    treat_missing: str = TREAT_MISSING
    # How the metric of several sources (a service's two target groups) is combined: SUM for counts
    # of events, MAX for levels (latency, unhealthy hosts), so a bad group is never averaged away.
    combine: Literal["SUM", "MAX"] = "SUM"


@dataclass(frozen=True)
class ServiceThresholds:
    """A service's thresholds (seed 001's defaults); each alarms above its value."""

    cpu_percent: int = 80
    memory_percent: int = 80
    target_5xx_count: int = 10
    response_time_seconds: float = 1.0
    unhealthy_hosts: int = 0


@dataclass(frozen=True)
class ServiceAlarms:
    """A service's alarms.

    Attributes:
        alarm_prefix: Alarm names are ``{alarm_prefix}-{kind}``, e.g. ``devops-platform-prod-svc-auth-cpu``.
        thresholds: Default seed 001's.
        duration_percent: On Lambda: alarm when a request takes more than this share of the
            function's timeout. Default 90.
    """

    alarm_prefix: str
    thresholds: ServiceThresholds = ServiceThresholds()
    duration_percent: int = 90


# Which alarms gate an ECS deployment: the two that say the new tasks are failing their users.
DEPLOYMENT_ALARMS = ("5xx", "unhealthy")
# Which roll back a CodeDeploy shift of a Lambda service's alias: 5XX at its target group, and errors.
LAMBDA_DEPLOYMENT_ALARMS = ("5xx", "errors")
# The alarms a service has on both computes, with the same names: a flip updates them in place.
SHARED_ALARMS = ("5xx", "latency")


def service_alarm_specs(thresholds: ServiceThresholds, mode: Literal["service", "on-demand"]) -> list[AlarmSpec]:
    """The service's alarms. CPU and memory exist per ECS service, so on-demand services (no ECS
    service) have only the three target-group alarms."""
    t = thresholds
    specs = [
        AlarmSpec("5xx", f"More than {t.target_5xx_count} 5XX responses from the targets in 5 minutes",
                  "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "Sum", 300, 1, t.target_5xx_count),
        AlarmSpec("latency", f"Average response time above {t.response_time_seconds} s over 5 minutes",
                  "AWS/ApplicationELB", "TargetResponseTime", "Average", 300, 1, t.response_time_seconds, combine="MAX"),
        AlarmSpec("unhealthy", f"More than {t.unhealthy_hosts} unhealthy targets for 2 minutes",
                  "AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", 60, 2, t.unhealthy_hosts, combine="MAX"),
    ]  # fmt: skip
    if mode == "service":
        specs = [
            AlarmSpec("cpu", f"Average CPU above {t.cpu_percent}% for 10 minutes",
                      "AWS/ECS", "CPUUtilization", "Average", 300, 2, t.cpu_percent),
            AlarmSpec("memory", f"Average memory above {t.memory_percent}% for 10 minutes",
                      "AWS/ECS", "MemoryUtilization", "Average", 300, 2, t.memory_percent),
            *specs,
        ]  # fmt: skip
    return specs


def lambda_service_alarm_specs(thresholds: ServiceThresholds, timeout_seconds: int, duration_percent: int) -> list[AlarmSpec]:
    """A service on Lambda: 5XX and latency at its target group (as on Fargate), and the function's
    errors, throttles and duration near its timeout. Lambda has no CPU, memory or unhealthy hosts
    to alarm on: the ALB does not health-check a Lambda target."""
    t = thresholds
    limit_ms = timeout_seconds * 1000 * duration_percent / 100
    return [
        *[s for s in service_alarm_specs(t, "on-demand") if s.kind in SHARED_ALARMS],
        AlarmSpec("errors", "The function failed (an exception, a timeout or an out-of-memory)",
                  "AWS/Lambda", "Errors", "Sum", 300, 1, 0),
        AlarmSpec("throttles", "Requests were throttled (concurrency exhausted)",
                  "AWS/Lambda", "Throttles", "Sum", 300, 1, 0),
        AlarmSpec("duration", f"A request took more than {duration_percent}% of the {timeout_seconds} s timeout",
                  "AWS/Lambda", "Duration", "Maximum", 300, 1, limit_ms),
    ]  # fmt: skip


def service_alarms(
    name: str,
    specs: Sequence[AlarmSpec],
    alarms: ServiceAlarms,
    *,
    dimensions: Callable[[AlarmSpec], Mapping[str, pulumi.Input[str]] | Sequence[Mapping[str, pulumi.Input[str]]]],
    topic_arn: pulumi.Input[str],
    parent: pulumi.Resource,
    shared_aliases: Sequence[pulumi.Alias],
) -> dict[str, aws.cloudwatch.MetricAlarm]:
    """A service's alarms ``{name}-alarm-{kind}``, named ``{alarm_prefix}-{kind}``, on the
    ``dimensions`` each spec reads. The kinds both computes have carry ``shared_aliases`` (a
    flip of compute updates them in place)."""
    return {
        spec.kind: metric_alarm(
            f"{name}-alarm-{spec.kind}",
            spec,
            alarm_name=f"{alarms.alarm_prefix}-{spec.kind}",
            dimensions=dimensions(spec),
            topic_arn=topic_arn,
            opts=pulumi.ResourceOptions(parent=parent, aliases=list(shared_aliases) if spec.kind in SHARED_ALARMS else None),
        )
        for spec in specs
    }


def metric_alarm(
    name: str,
    spec: AlarmSpec,
    *,
    alarm_name: str,
    dimensions: Mapping[str, pulumi.Input[str]] | Sequence[Mapping[str, pulumi.Input[str]]],
    topic_arn: pulumi.Input[str],
    opts: pulumi.ResourceOptions,
    ok_actions: bool = True,
) -> aws.cloudwatch.MetricAlarm:
    """``{name}``: the alarm, notifying ``topic_arn`` when it fires (and when it clears).

    ``dimensions`` is one metric's, or a list of several sources' (a service's two target groups),
    whose values are combined with metric math by ``spec.combine``.
    """
    sources = [dimensions] if isinstance(dimensions, Mapping) else list(dimensions)
    single = len(sources) == 1
    return aws.cloudwatch.MetricAlarm(
        name,
        name=alarm_name,
        alarm_description=spec.description,
        namespace=spec.namespace if single else None,
        metric_name=spec.metric if single else None,
        dimensions=dict(sources[0]) if single else None,
        statistic=spec.statistic if single else None,
        period=spec.period if single else None,
        metric_queries=None if single else combined_queries(spec, sources),
        evaluation_periods=spec.evaluation_periods,
        threshold=spec.threshold,
        comparison_operator=spec.comparison,
        treat_missing_data=spec.treat_missing,
        alarm_actions=[topic_arn],
        ok_actions=[topic_arn] if ok_actions else [],
        opts=opts,
    )


def combined_expression(spec: AlarmSpec, count: int) -> str:
    """The metric math over ``m1`` .. ``m{count}``: a source without datapoints counts as 0, so an
    idle target group neither hides nor dilutes the live one."""
    filled = [f"FILL(m{k}, 0)" for k in range(1, count + 1)]
    return " + ".join(filled) if spec.combine == "SUM" else f"MAX([{', '.join(filled)}])"


def combined_queries(
    spec: AlarmSpec, sources: Sequence[Mapping[str, pulumi.Input[str]]]
) -> list[aws.cloudwatch.MetricAlarmMetricQueryArgs]:
    queries = [
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id=f"m{k}",
            metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                namespace=spec.namespace,
                metric_name=spec.metric,
                dimensions=dict(dims),
                period=spec.period,
                stat=spec.statistic,
            ),
            return_data=False,
        )
        for k, dims in enumerate(sources, start=1)
    ]
    queries.append(
        aws.cloudwatch.MetricAlarmMetricQueryArgs(
            id="combined",
            expression=combined_expression(spec, len(sources)),
            label=f"{spec.metric} ({spec.combine.lower()} of {len(sources)} target groups)",
            return_data=True,
        )
    )
    return queries
