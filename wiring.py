"""Turns the validated stack config into component inputs and providers.

Kept apart from ``__main__.py`` so that the tests build exactly what the program builds.
"""

from __future__ import annotations

import pulumi_aws as aws

from components.alarms import ServiceThresholds
from components.delivery import BuildSettings, CodeCommitSource, ConnectionSource, Stage
from components.fargate_service import Grant, HealthCheck, Scaling
from components.load_balancer import AccessLogSettings, AcmSettings, RegionalRecord, StagingListener
from components.network import FlowLogSettings, NetworkArgs
from components.region import (
    DnsSpec,
    FunctionSpec,
    LauncherSpec,
    LoadBalancerSpec,
    MonitoringSpec,
    NotificationsSpec,
    PipelineSpec,
    RegionalPlatform,
    RegionalPlatformArgs,
    RegistrySpec,
    ReplicationSpec,
    ServiceSpec,
    StagingSpec,
)
from components.repo_replicator import ReplicaTarget
from components.task_launcher import Schedule
from stack_config import RegionConfig, StackConfig, routes
from stack_config.aws_regions import elb_log_delivery
from stack_config.events import REPLICATION_METRIC_NAMESPACE
from stack_config.pipeline import build_batches
from stack_config.pipeline_checks import STAGING_SUFFIX
from stack_config.workload_checks import FUNCTIONS_DIR
from stack_config.workloads import FunctionConfig, ServiceConfig

MANAGED_BY = "pulumi/devops-platform"


def name_prefix(cfg: StackConfig) -> str:
    return f"{cfg.name}-{cfg.environment}"


def default_tags(cfg: StackConfig, region: RegionConfig, project: str, stack: str) -> dict[str, str]:
    return {
        **cfg.tags,
        "project": project,
        "stack": stack,
        "environment": cfg.environment,
        "region": region.name,
        "managed-by": MANAGED_BY,
    }


def region_provider(cfg: StackConfig, region: RegionConfig, project: str, stack: str) -> aws.Provider:
    """An explicit provider for one region; nothing in the program uses the default provider.

    Provider config is JSON-encoded on its way to the provider, and only the typed ``*Args``
    classes encode their keys in camelCase: a plain ``{"role_arn": ...}`` would reach the provider
    as an unknown key and be ignored. Hence the Args classes here.
    """
    return aws.Provider(
        f"aws-{region.name}",
        region=region.name,
        assume_roles=(
            [
                aws.ProviderAssumeRoleArgs(
                    role_arn=region.assume_role_arn, session_name=f"{project}-{stack}"[:64]
                )
            ]
            if region.assume_role_arn
            else None
        ),
        allowed_account_ids=list(cfg.allowed_account_ids) or None,
        default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(cfg, region, project, stack)),
    )


def regional_args(
    cfg: StackConfig, region: RegionConfig, project: str, replication: ReplicationSpec | None = None
) -> RegionalPlatformArgs:
    """A region's inputs; ``replication`` goes to the primary only (see :func:`replication_spec`)."""
    plan = region.subnet_plan()
    flow = cfg.network.flow_logs
    registry = cfg.container_registry
    return RegionalPlatformArgs(
        region=region.name,
        role=region.role,
        name_prefix=name_prefix(cfg),
        load_balancer=load_balancer_spec(cfg, region),
        services=[service_spec(cfg, region, s, project) for s in cfg.services],
        functions=[function_spec(cfg, region, f, project) for f in cfg.functions],
        registry=RegistrySpec(
            keep_tagged_images=registry.keep_tagged_images,
            expire_untagged_after_days=registry.expire_untagged_after_days,
            force_delete=registry.force_delete,
        ),
        log_retention_days=cfg.logs.retention_days,
        notifications=notifications_spec(cfg, region),
        pipeline=pipeline_spec(cfg),
        task_launcher=launcher_spec(cfg),
        replication=replication if region.role == "primary" else None,
        monitoring=monitoring_spec(cfg),
        dns=dns_spec(cfg, region),
        network=NetworkArgs(
            name_prefix=name_prefix(cfg),
            vpc_cidr=region.vpc_cidr,
            public_subnet_cidrs=plan.public,
            private_subnet_cidrs=plan.private,
            nat_strategy=cfg.network.nat_strategy,
            flow_logs=(
                FlowLogSettings(retention_days=flow.retention_days, traffic_type=flow.traffic_type)
                if flow.enabled
                else None
            ),
            interface_endpoints=tuple(cfg.network.interface_endpoints),
            gateway_endpoints=tuple(cfg.network.gateway_endpoints),
        ),
    )


def flow_logs_disabled_warning(cfg: StackConfig) -> str | None:
    if cfg.network.flow_logs.enabled:
        return None
    return "network.flowLogs.enabled is false: no VPC flow logs (Security Hub EC2.6 fails)"




def load_balancer_spec(cfg: StackConfig, region: RegionConfig) -> LoadBalancerSpec:
    lb = cfg.load_balancer
    certificate_arn = lb.certificate_arns.get(region.name)
    acm = None
    if certificate_arn is None and cfg.dns is not None:
        # The regional name lets clients (and later health checks) reach one region directly.
        acm = AcmSettings(
            domain=cfg.dns.domain,
            hosted_zone_id=cfg.dns.hosted_zone_id,
            alternative_names=(f"{region.name}.{cfg.dns.domain}",),
        )
    return LoadBalancerSpec(
        load_balancer_name=routes.load_balancer_name(cfg.name, cfg.environment),
        ingress_cidrs=tuple(lb.ingress_cidrs),
        deletion_protection=lb.deletion_protection,
        idle_timeout_seconds=lb.idle_timeout_seconds,
        ssl_policy=lb.ssl_policy,
        certificate_arn=certificate_arn,
        acm=acm,
        access_logs=AccessLogSettings(
            expire_after_days=lb.access_logs.expire_after_days, delivery=elb_log_delivery(region.name)
        )
        if lb.access_logs.enabled
        else None,
        regional_record=RegionalRecord(name=f"{region.name}.{cfg.dns.domain}", hosted_zone_id=cfg.dns.hosted_zone_id)
        if cfg.dns is not None
        else None,
        staging=StagingListener(
            port=cfg.pipeline.staging.listener_port, ingress_cidrs=tuple(cfg.pipeline.staging.ingress_cidrs or ())
        )
        if cfg.has_staging
        else None,
    )


def notifications_spec(cfg: StackConfig, region: RegionConfig) -> NotificationsSpec:
    n = cfg.pipeline.notifications
    return NotificationsSpec(
        topic_name=f"{name_prefix(cfg)}-notifications",
        # One topic per region: approvals, failed runs and alarms reach the same people.
        emails=tuple({e.lower(): e for e in [*n.emails, *cfg.monitoring.emails]}.values()),
        existing_topic_arn=n.topic_arns.get(region.name),
    )


def pipeline_spec(cfg: StackConfig) -> PipelineSpec | None:
    if not cfg.has_pipeline:
        return None
    p = cfg.pipeline
    services = [(s.name, s.mode) for s in cfg.services]
    src = p.source
    source: CodeCommitSource | ConnectionSource
    if src.type == "connection":
        assert src.connection_arn and src.full_repository_id  # validated
        source = ConnectionSource(src.connection_arn, src.full_repository_id, src.branch)
    else:
        source = CodeCommitSource(src.repository_name or name_prefix(cfg), src.branch)
    return PipelineSpec(
        source=source,
        stages=tuple(
            Stage(
                name=st.name,
                type=st.type,
                target=st.target or "production",
                services=tuple(p.deploy_services(st, services)) if st.type == "deploy" else (),
                action_name=st.action_name,
            )
            for st in p.stages
        ),
        build=BuildSettings(
            batches=tuple(tuple(b) for b in build_batches(services)),
            compute_type=p.build.compute_type,
            timeout_minutes=p.build.timeout_minutes,
            architecture=cfg.services[0].architecture,
        ),
        staging=StagingSpec(desired_count=p.staging.desired_count, spot=p.staging.spot) if cfg.has_staging else None,
        deploy_timeout_minutes=p.deploy_timeout_minutes,
        artifact_expire_after_days=p.artifacts.expire_after_days,
        artifact_force_destroy=p.artifacts.force_destroy,
    )


def launcher_spec(cfg: StackConfig) -> LauncherSpec | None:
    if not cfg.has_task_launcher:
        return None
    tl = cfg.task_launcher
    return LauncherSpec(
        function_name=f"{name_prefix(cfg)}-task-launcher",
        started_by=f"{name_prefix(cfg)}-task-launcher",
        schedules=tuple(
            Schedule(name=s.name, service=s.service, expression=s.expression, action=s.action, count=s.count)
            for s in tl.schedules
        ),
        max_count=tl.max_count,
        timeout_seconds=tl.timeout_seconds,
        memory_mb=tl.memory_mb,
    )


def replication_spec(cfg: StackConfig, built: dict[str, RegionalPlatform]) -> ReplicationSpec | None:
    """The primary region's replicator, fed from the secondaries' repository resources (so the
    secondaries are built first)."""
    if not cfg.has_replication:
        return None
    targets = []
    for region in cfg.regions:
        delivery = built[region.name].delivery if region.role == "secondary" else None
        if delivery is not None and delivery.repository_arn is not None:
            targets.append(ReplicaTarget(region.name, delivery.repository_name, delivery.repository_arn))  # type: ignore[arg-type]
    return ReplicationSpec(
        function_name=f"{name_prefix(cfg)}-repo-replicator",
        targets=tuple(targets),
        metric_namespace=REPLICATION_METRIC_NAMESPACE,
        timeout_seconds=cfg.replication.timeout_seconds,
        memory_mb=cfg.replication.memory_mb,
    )


def monitoring_spec(cfg: StackConfig) -> MonitoringSpec | None:
    m = cfg.monitoring
    if not m.enabled:
        return None
    return MonitoringSpec(
        load_balancer_5xx_count=m.load_balancer_5xx_count,
        function_duration_percent=m.function_duration_percent,
        replication_lag_seconds=m.replication_lag_seconds,
        dashboard=m.dashboard,
    )


def dns_spec(cfg: StackConfig, region: RegionConfig) -> DnsSpec | None:
    if cfg.dns is None or cfg.routing == "none":
        return None
    role = None
    if cfg.routing == "failover":
        role = "PRIMARY" if region.role == "primary" else "SECONDARY"
    return DnsSpec(
        domain=cfg.dns.domain,
        hosted_zone_id=cfg.dns.hosted_zone_id,
        check_path=cfg.dns.health_check_path or "/",  # validated: set whenever routing is on
        routing=cfg.routing,  # type: ignore[arg-type]
        failover_role=role,  # type: ignore[arg-type]
        interval_seconds=cfg.dns.health_check_interval_seconds,
        failure_threshold=cfg.dns.failure_threshold,
    )


def service_spec(cfg: StackConfig, region: RegionConfig, svc: ServiceConfig, project: str) -> ServiceSpec:
    prefix = name_prefix(cfg)
    hc, scaling = svc.health_check, svc.autoscaling
    return ServiceSpec(
        name=svc.name,
        family=f"{prefix}-{svc.name}",
        repository_name=f"{prefix}/{svc.name}",
        target_group_name=_service_target_group(cfg, region, svc, project, svc.name),
        priority=routes.priority_of(svc.name, svc.paths, svc.priority),
        paths=tuple(svc.paths),
        port=svc.port,
        bootstrap_image=svc.bootstrap_image,
        log_group_name=f"/ecs/{prefix}/{svc.name}",
        cpu=svc.cpu,
        memory=svc.memory,
        architecture=svc.architecture,
        mode=svc.mode,
        desired_count=svc.desired_count,
        scaling=Scaling(
            min_capacity=scaling.min_capacity,
            max_capacity=scaling.max_capacity,
            cpu_target=scaling.cpu_target,
            memory_target=scaling.memory_target,
            requests_per_target=scaling.requests_per_target,
            scale_out_cooldown_seconds=scaling.scale_out_cooldown_seconds,
            scale_in_cooldown_seconds=scaling.scale_in_cooldown_seconds,
        ),
        health_check=HealthCheck(
            path=hc.path,
            matcher=hc.matcher,
            interval_seconds=hc.interval_seconds,
            timeout_seconds=hc.timeout_seconds,
            healthy_threshold=hc.healthy_threshold,
            unhealthy_threshold=hc.unhealthy_threshold,
            grace_period_seconds=hc.grace_period_seconds,
            container_command=hc.container_command[0] if hc.container_command else None,
        ),
        environment={
            **svc.environment,
            "AWS_REGION": region.name,
            "ENVIRONMENT": cfg.environment,
            "PORT": str(svc.port),
        },
        secrets=dict(svc.secrets),
        writable_paths=tuple(svc.writable_paths),
        grants=tuple(Grant(actions=tuple(g.actions), resources=tuple(g.resources)) for g in svc.task_policy),
        staging_target_group_name=_service_target_group(cfg, region, svc, project, svc.name + STAGING_SUFFIX)
        if cfg.has_staging and svc.mode == "service"
        else None,
        alarms=ServiceThresholds(**cfg.monitoring.thresholds(svc.name).model_dump()) if cfg.monitoring.enabled else None,
    )


def _service_target_group(cfg: StackConfig, region: RegionConfig, svc: ServiceConfig, project: str, route: str) -> str:
    return routes.target_group_name(
        route,
        project=project,
        environment=cfg.environment,
        region=region.name,
        target_type="ip",
        port=svc.port,
        vpc_cidr=region.vpc_cidr,
        protocol="HTTP",
    )


def function_spec(cfg: StackConfig, region: RegionConfig, fn: FunctionConfig, project: str) -> FunctionSpec:
    prefix = name_prefix(cfg)
    routed = bool(fn.paths)
    sns = "none" if fn.sns is None else ("existing" if fn.sns.topic_arn else "create")
    return FunctionSpec(
        name=fn.name,
        function_name=f"{prefix}-{fn.name}",
        code_path=FUNCTIONS_DIR / (fn.source or fn.name.replace("-", "_")),
        handler=fn.handler,
        runtime=fn.runtime,
        memory_mb=fn.memory_mb,
        timeout_seconds=fn.timeout_seconds,
        reserved_concurrency=fn.reserved_concurrency,
        provisioned_concurrency=fn.provisioned_concurrency,
        # AWS_REGION is set by Lambda itself (and reserved).
        environment={**fn.environment, "ENVIRONMENT": cfg.environment},
        priority=routes.priority_of(fn.name, fn.paths, fn.priority) if routed else None,
        paths=tuple(fn.paths),
        target_group_name=routes.target_group_name(
            fn.name,
            project=project,
            environment=cfg.environment,
            region=region.name,
            target_type="lambda",
            port=None,
            vpc_cidr=None,
            protocol=None,
        )
        if routed
        else None,
        vpc=fn.vpc,
        sns=sns,  # type: ignore[arg-type]
        sns_topic_arn=fn.sns.topic_arn if fn.sns else None,
    )


def open_staging_warning(cfg: StackConfig) -> str | None:
    if not cfg.has_staging or cfg.pipeline.staging.ingress_cidrs:
        return None
    if "0.0.0.0/0" not in cfg.load_balancer.ingress_cidrs:
        return None
    return (
        "pipeline.staging.ingressCidrs is not set: the staging listener admits loadBalancer.ingressCidrs "
        "(0.0.0.0/0), so builds awaiting approval are reachable from the internet"
    )


def existing_topic_warning(cfg: StackConfig) -> str | None:
    if not cfg.pipeline.notifications.topic_arns or not cfg.monitoring.enabled:
        return None
    return (
        "pipeline.notifications.topicArns names existing topics: monitoring.emails are not subscribed "
        "to them, and their policy (and KMS key, if any) must admit cloudwatch.amazonaws.com or alarms "
        "cannot notify"
    )


def plain_http_warning(cfg: StackConfig) -> str | None:
    if cfg.load_balancer.certificate_arns or cfg.dns is not None:
        return None
    return (
        "the ALBs serve plain HTTP: no loadBalancer.certificateArns and no dns "
        "(Security Hub ELB.1 fails; fine for dev, not for production)"
    )
