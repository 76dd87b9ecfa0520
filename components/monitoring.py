"""A region's alarms beyond the services' own, and its dashboard (seed 001's CloudWatch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from .alarms import AlarmSpec, metric_alarm
from .fargate_service import FargateService
from .lambda_service import LambdaService


@dataclass(frozen=True)
class WatchedFunction:
    """A Lambda function: alarmed on errors, throttles and duration near its timeout.

    Attributes:
        key: Stable name in logical names (``lambda-demo``, ``task-launcher``).
        function_name: Its physical name.
        timeout_seconds: Its timeout.
        duration_alarm: Alarm near the timeout. Default True; off for code that stops near its
            timeout by design.
    """

    key: str
    function_name: pulumi.Input[str]
    timeout_seconds: int
    duration_alarm: bool = True


@dataclass(frozen=True)
class WatchedQueue:
    """A dead-letter queue: alarmed as soon as a message is visible.

    Attributes:
        key: Stable name in logical names (``delivery``, ``task-launcher``).
        queue_name: Its physical name.
    """

    key: str
    queue_name: pulumi.Input[str]


@dataclass(frozen=True)
class WatchedReplication:
    """The replicator's lag to each secondary.

    Attributes:
        namespace / metric: Where ``ReplicationLagSeconds`` is published.
        repository: The source repository (the metric's ``Repository`` dimension).
        target_regions: One alarm per secondary (``TargetRegion``).
    """

    namespace: str
    metric: str
    repository: pulumi.Input[str]
    target_regions: Sequence[str]


@dataclass(frozen=True)
class MonitoringSettings:
    """The region's alarm settings: plain data, from the validated stack config (``monitoring``).

    Attributes:
        alarm_prefix: Alarm names start with it (``devops-platform-prod``).
        load_balancer_5xx_count: ALB 5XX in 5 minutes above which it alarms. Default 10.
        function_duration_percent: Alarm when a run takes more than this share of the timeout.
            Default 90.
        replication_lag_seconds: Alarm when a push takes longer to reach a secondary. Default 60.
        dashboard_name: The dashboard's name, or None (default) for no dashboard.
    """

    alarm_prefix: str
    load_balancer_5xx_count: int = 10
    function_duration_percent: int = 90
    replication_lag_seconds: int = 60
    dashboard_name: str | None = None

    def __post_init__(self) -> None:
        if self.dashboard_name is not None and len(self.dashboard_name) > 255:
            raise ValueError("a dashboard name has at most 255 characters")

    @property
    def production_alarm_name(self) -> str:
        """The composite alarm in ALARM while any production service's alarm is: the pipeline's
        production stage waits for it to clear."""
        return f"{self.alarm_prefix}-production-health"


@dataclass(frozen=True)
class MonitoringArgs:
    """Inputs of :class:`Monitoring`: its settings, and what it watches.

    Attributes:
        settings: Thresholds and names (:class:`MonitoringSettings`).
        region: Where the dashboard's widgets read their metrics.
        topic_arn: Where every alarm notifies.
        load_balancer_arn_suffix: The ALB (its own 5XX alarm, and the dashboard).
        services: The region's production services, whose alarms they created themselves.
        functions / queues: Default none.
        replication: The replicator's lag (primary region only), or None (default).
        build_projects: CodeBuild project names for the dashboard's pipeline row. Default none.
        pipeline_name: Shown on the dashboard, or None (default).
        web_acl_name: The region's WAF web ACL, for the dashboard's blocked-requests widget, or
            None (default) for none.
    """

    settings: MonitoringSettings
    region: str
    topic_arn: pulumi.Input[str]
    load_balancer_arn_suffix: pulumi.Input[str]
    services: Mapping[str, FargateService | LambdaService] = field(default_factory=dict)
    functions: Sequence[WatchedFunction] = ()
    queues: Sequence[WatchedQueue] = ()
    replication: WatchedReplication | None = None
    build_projects: Sequence[pulumi.Input[str]] = ()
    pipeline_name: str | None = None
    web_acl_name: str | None = None

    def __post_init__(self) -> None:
        for keys in ([f.key for f in self.functions], [q.key for q in self.queues]):
            if len(set(keys)) != len(keys):
                raise ValueError(f"keys must be unique: {keys}")


def function_specs(fn: WatchedFunction, duration_percent: int) -> list[AlarmSpec]:
    limit_ms = fn.timeout_seconds * 1000 * duration_percent / 100
    specs = [
        AlarmSpec("errors", "The function failed (an exception, a timeout or an out-of-memory)",
                  "AWS/Lambda", "Errors", "Sum", 300, 1, 0),
        AlarmSpec("throttles", "Invocations were throttled (concurrency exhausted)",
                  "AWS/Lambda", "Throttles", "Sum", 300, 1, 0),
    ]  # fmt: skip
    if fn.duration_alarm:
        specs.append(AlarmSpec("duration", f"A run took more than {duration_percent}% of the {fn.timeout_seconds} s timeout",
                               "AWS/Lambda", "Duration", "Maximum", 300, 1, limit_ms))  # fmt: skip
    return specs


QUEUE_SPEC = AlarmSpec(
    "dead-letters", "An event could not be delivered or handled: it waits in the dead-letter queue",
    "AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", 300, 1, 0,
)  # fmt: skip


def load_balancer_spec(count: int) -> AlarmSpec:
    return AlarmSpec("alb-5xx", f"The ALB itself returned more than {count} 5XX responses in 5 minutes",
                     "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "Sum", 300, 1, count)  # fmt: skip


def replication_spec(watch: WatchedReplication, threshold_seconds: int) -> AlarmSpec:
    # One-minute periods: the alarm should say so within about two minutes of a slow push.
    return AlarmSpec("replication-lag", f"A push took more than {threshold_seconds} s to reach a secondary (RPO)",
                     watch.namespace, watch.metric, "Maximum", 60, 1, threshold_seconds)  # fmt: skip


class Monitoring(pulumi.ComponentResource):
    """The region's remaining alarms and its dashboard; the services alarm themselves.

    Creates, with ``name`` as the prefix, each alarm notifying ``topic_arn`` (and again when it
    clears):

    - ``{name}-alb-5xx``: 5XX responses the ALB itself returned;
    - per function ``{name}-fn-{key}-errors`` / ``-throttles`` / ``-duration``;
    - per queue ``{name}-dlq-{key}``: any message visible;
    - with replication, per secondary ``{name}-replication-lag-{region}``;
    - with services, ``{name}-production-health``: a composite alarm over every production
      service's alarms, without actions, which gates the pipeline's production stage;
    - ``{name}-dashboard`` unless ``dashboard_name`` is None: a row per service (on Fargate CPU and
      memory and running tasks, on Lambda invocations, errors, throttles, duration and concurrency;
      then requests, 5XX and latency at its target groups), the ALB, the functions, the queues, the
      pipeline's builds, replication lag, and every alarm's state. Its body is built from the same data.
    """

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:observability:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}

        def alarm(key: str, spec: AlarmSpec, dimensions: Mapping[str, pulumi.Input[str]]) -> None:
            self.alarms[key] = metric_alarm(
                f"{name}-{key}",
                spec,
                alarm_name=f"{args.settings.alarm_prefix}-{key}",
                dimensions=dimensions,
                topic_arn=args.topic_arn,
                opts=child,
            )

        alarm("alb-5xx", load_balancer_spec(args.settings.load_balancer_5xx_count), {"LoadBalancer": args.load_balancer_arn_suffix})
        # Prefixed by kind, so a service, function or queue key never names another's alarm.
        for fn in args.functions:
            for spec in function_specs(fn, args.settings.function_duration_percent):
                alarm(f"fn-{fn.key}-{spec.kind}", spec, {"FunctionName": fn.function_name})
        for queue in args.queues:
            alarm(f"dlq-{queue.key}", QUEUE_SPEC, {"QueueName": queue.queue_name})
        if args.replication is not None:
            watch = args.replication
            for target in watch.target_regions:
                alarm(
                    f"replication-lag-{target}",
                    replication_spec(watch, args.settings.replication_lag_seconds),
                    {"Repository": watch.repository, "TargetRegion": target},
                )

        service_alarms = [a for svc in args.services.values() for a in svc.alarms.values()]
        self.production_alarm: aws.cloudwatch.CompositeAlarm | None = None
        if service_alarms:
            self.production_alarm = aws.cloudwatch.CompositeAlarm(
                f"{name}-production-health",
                alarm_name=args.settings.production_alarm_name,
                alarm_description="In ALARM while any production service's alarm is; the pipeline's production "
                "stage does not start until it clears. It notifies nobody: the services' alarms do. A service "
                "on Lambda that still answers 503 (no image yet) is left out until its first image.",
                alarm_rule=gate_rule(args.services),
                actions_enabled=False,
                opts=child,
            )
        self.dashboard_name: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if args.settings.dashboard_name is not None:
            dashboard = aws.cloudwatch.Dashboard(
                f"{name}-dashboard",
                dashboard_name=args.settings.dashboard_name,
                dashboard_body=pulumi.Output.json_dumps(
                    dashboard_body(args, [a.arn for a in [*service_alarms, *self.alarms.values()]])
                ),
                opts=child,
            )
            self.dashboard_name = dashboard.dashboard_name

        self.outputs: dict[str, pulumi.Input[object]] = {
            "alarm_names": {k: a.name for k, a in self.alarms.items()},
            "production_alarm_name": self.production_alarm.alarm_name if self.production_alarm else None,
            "dashboard_name": self.dashboard_name,
        }
        self.register_outputs(self.outputs)


def gate_rule(services: Mapping[str, FargateService | LambdaService]) -> pulumi.Output[str]:
    """``ALARM("...") OR ...`` over the services' alarms. A service on Lambda whose image is not
    published yet answers every request with the stub's 503, which its 5XX alarm counts: gating on it
    would keep the production stage, and so the release that records its first image, from ever
    running. CloudWatch's FALSE stands for an empty rule."""
    terms = [
        pulumi.Output.all(alarm.name, svc.image_pending if isinstance(svc, LambdaService) else False)
        for svc in services.values()
        for alarm in svc.alarms.values()
    ]
    return pulumi.Output.all(*terms).apply(
        lambda pairs: " OR ".join(f'ALARM("{n}")' for n, pending in pairs if not pending) or "FALSE"
    )


# --- the dashboard -------------------------------------------------------------------------------

_WIDTH = 24
_ALARMS_PER_WIDGET = 100


def _metric_widget(
    title: str, region: str, metrics: list[list[Any]], *, stat: str, width: int, period: int = 300
) -> dict[str, Any]:
    return {
        "type": "metric",
        "width": width,
        "height": 6,
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stacked": False,
            "stat": stat,
            "period": period,
            "metrics": metrics,
        },
    }


def _service_row(args: MonitoringArgs, name: str, svc: FargateService | LambdaService) -> list[dict[str, Any]]:
    region = args.region
    mode: Literal["service", "on-demand"] = svc.settings.mode
    widgets = []
    if isinstance(svc, LambdaService):
        fn = ["FunctionName", svc.settings.function_name]
        widgets += [
            _metric_widget(f"{name} (Lambda): invocations, errors, throttles", region,
                           [["AWS/Lambda", m, *fn] for m in ("Invocations", "Errors", "Throttles")], stat="Sum", width=6),
            _metric_widget(f"{name} (Lambda): duration (ms), concurrency", region,
                           [["AWS/Lambda", "Duration", *fn, {"stat": "p99"}],
                            ["AWS/Lambda", "ConcurrentExecutions", *fn, {"stat": "Maximum", "yAxis": "right"}]],
                           stat="Average", width=4),
        ]  # fmt: skip
    elif mode == "service":
        ecs = ["ClusterName", svc.args.cluster_name, "ServiceName", svc.settings.ecs_name]
        widgets += [
            _metric_widget(f"{name}: CPU and memory (%)", region,
                           [["AWS/ECS", "CPUUtilization", *ecs], ["AWS/ECS", "MemoryUtilization", *ecs]],
                           stat="Average", width=6),
            _metric_widget(f"{name}: running tasks", region,
                           [["ECS/ContainerInsights", "RunningTaskCount", *ecs]], stat="Average", width=4),
        ]  # fmt: skip
    # One line per target group: a progressive service's live traffic moves between its two.
    groups = [["TargetGroup", suffix, "LoadBalancer", args.load_balancer_arn_suffix] for suffix in svc.target_group_arn_suffixes]

    def per_group(metric: str) -> list[list[Any]]:
        return [["AWS/ApplicationELB", metric, *dims] for dims in groups]

    widgets += [
        _metric_widget(f"{name}: requests", region, per_group("RequestCount"), stat="Sum", width=5),
        _metric_widget(f"{name}: target 5XX", region, per_group("HTTPCode_Target_5XX_Count"), stat="Sum", width=5),
        _metric_widget(f"{name}: latency (s)", region, per_group("TargetResponseTime"), stat="Average", width=4),
    ]
    return widgets


def dashboard_body(args: MonitoringArgs, alarm_arns: Sequence[pulumi.Input[str]]) -> dict[str, Any]:
    """The dashboard's JSON (values may be Outputs), from the same data as the alarms."""
    region, lb = args.region, args.load_balancer_arn_suffix
    arns = list(alarm_arns)
    # An alarm status widget shows at most 100 alarms.
    widgets: list[dict[str, Any]] = [
        {
            "type": "alarm",
            "width": _WIDTH,
            "height": 4,
            "properties": {
                "title": "Alarms" if len(arns) <= _ALARMS_PER_WIDGET else f"Alarms ({i // _ALARMS_PER_WIDGET + 1})",
                "alarms": arns[i : i + _ALARMS_PER_WIDGET],
                "sortBy": "stateUpdatedTimestamp",
            },
        }
        for i in range(0, max(len(arns), 1), _ALARMS_PER_WIDGET)
    ] + [
        _metric_widget("ALB: requests and 5XX", region, [
            ["AWS/ApplicationELB", "RequestCount", "LoadBalancer", lb],
            ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", lb],
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", lb],
        ], stat="Sum", width=12),
        _metric_widget("ALB: response time (s)", region, [["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", lb]],
                       stat="p99", width=12),
    ]  # fmt: skip
    if args.web_acl_name is not None:
        acl = ["WebACL", args.web_acl_name, "Region", region, "Rule", "ALL"]
        widgets.append(_metric_widget("WAF: blocked and allowed requests", region,
                                      [["AWS/WAFV2", "BlockedRequests", *acl], ["AWS/WAFV2", "AllowedRequests", *acl]],
                                      stat="Sum", width=12))  # fmt: skip
    for name, svc in sorted(args.services.items()):
        widgets += _service_row(args, name, svc)
    if args.functions:
        fns = [f.function_name for f in args.functions]
        widgets += [
            _metric_widget("Functions: invocations and errors", region,
                           [["AWS/Lambda", m, "FunctionName", f] for f in fns for m in ("Invocations", "Errors", "Throttles")],
                           stat="Sum", width=12),
            _metric_widget("Functions: longest run (ms)", region,
                           [["AWS/Lambda", "Duration", "FunctionName", f] for f in fns], stat="Maximum", width=12),
        ]  # fmt: skip
    if args.queues:
        widgets.append(_metric_widget("Dead-letter queues: messages", region,
                                      [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", q.queue_name]
                                       for q in args.queues], stat="Maximum", width=12))  # fmt: skip
    if args.build_projects:
        title = f"Pipeline {args.pipeline_name}: builds" if args.pipeline_name else "Builds"
        widgets.append(_metric_widget(title, region,
                                      [["AWS/CodeBuild", m, "ProjectName", p] for p in args.build_projects
                                       for m in ("SucceededBuilds", "FailedBuilds")], stat="Sum", width=12))  # fmt: skip
    if args.replication is not None:
        r = args.replication
        widgets.append(_metric_widget("Replication lag (s)", region,
                                      [[r.namespace, r.metric, "Repository", r.repository, "TargetRegion", t]
                                       for t in r.target_regions], stat="Maximum", width=12))  # fmt: skip
    return {"widgets": widgets}
