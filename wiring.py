"""Turns the validated stack config into each component's settings, and builds the providers.

Kept apart from ``__main__.py`` so that the tests build exactly what the program builds.

Each component module owns its settings type (``ServiceSettings`` beside ``FargateService`` ...).
:func:`from_model` fills one from the config model's fields of the same name, so a new setting
is written in the model, the settings type and the component that uses it, and nowhere else;
only what is derived (names, resolved priorities, merged environments) is spelled out here.
"""

from __future__ import annotations

import dataclasses
import functools
import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any, TypeVar

import pulumi_aws as aws
from pydantic import BaseModel

from components.alarms import ServiceAlarms, ServiceThresholds
from components.alb_function import FunctionSettings
from components.certificates import SharedValidationSettings
from components.container_registry import RegistrySettings
from components.delivery import (
    BaseImageCache,
    BuildSettings,
    CodeCommitSource,
    ConnectionSource,
    DeliverySettings,
    Stage,
)
from components.failover import DnsSettings
from components.load_balancer import (
    AccessLogSettings,
    AcmSettings,
    LoadBalancerSettings,
    RegionalRecord,
    StagingListener,
    TestListener,
)
from components.monitoring import MonitoringSettings
from components.network import FlowLogSettings, NetworkArgs
from components.notifications import NotificationsSettings
from components.region import RegionalPlatformArgs
from components.repo_replicator import ReplicaTarget, ReplicatorSettings
from components.service_settings import LambdaCompute, ServiceSettings, StagingCopy
from components.smoke_test import SmokeTestSettings
from components.task_launcher import LauncherSettings
from components.waf import FirewallSettings
from stack_config import RegionConfig, StackConfig, routes
from stack_config.aws_regions import elb_log_delivery, partition_of
from stack_config.compute import lambda_settings_of, service_environment
from stack_config.deployment_checks import ALTERNATE_SUFFIX
from stack_config.events import REPLICATION_METRIC_NAMESPACE
from stack_config.pipeline import build_batches
from stack_config.pipeline_checks import STAGING_SUFFIX
from stack_config.placeholders import find_placeholders
from stack_config.workload_checks import FUNCTIONS_DIR
from stack_config.workloads import FunctionConfig, ServiceConfig

T = TypeVar("T")

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


# Route 53 is global; the provider its stack-wide records use is pinned here, per partition, so those
# records never move when regions are added, removed or swap roles.
GLOBAL_REGION = {"aws": "us-east-1", "aws-us-gov": "us-gov-west-1", "aws-cn": "cn-northwest-1"}


def global_provider(cfg: StackConfig, project: str, stack: str) -> aws.Provider:
    """The provider of the stack's global resources (the shared certificate validation records),
    acting as the primary region's provider does (its role, the allowed accounts)."""
    primary = cfg.primary
    return aws.Provider(
        "aws-global",
        region=GLOBAL_REGION[partition_of(primary.name)],
        assume_roles=[aws.ProviderAssumeRoleArgs(role_arn=primary.assume_role_arn, session_name=f"{project}-{stack}"[:64])]
        if primary.assume_role_arn
        else None,
        allowed_account_ids=list(cfg.allowed_account_ids) or None,
        default_tags=aws.ProviderDefaultTagsArgs(
            tags={**cfg.tags, "project": project, "stack": stack, "environment": cfg.environment,
                  "region": GLOBAL_REGION[partition_of(primary.name)], "managed-by": MANAGED_BY}
        ),
    )  # fmt: skip


def shared_validation_settings(cfg: StackConfig) -> SharedValidationSettings | None:
    """The certificate validation records the stack owns once: with dns, the domain's (every region
    that has ACM issue its certificate carries the domain)."""
    if cfg.dns is None or not any(r.name not in cfg.load_balancer.certificate_arns for r in cfg.regions):
        return None
    return SharedValidationSettings(hosted_zone_id=cfg.dns.hosted_zone_id, names=(cfg.dns.domain,))


# --- settings from the model ---------------------------------------------------------------------


def from_model(cls: type[T], model: BaseModel | None, /, *, keep_defaults: Iterable[str] = (), **derived: Any) -> T:
    """The settings dataclass ``cls`` from a config model.

    Each field takes, in order: its value in ``derived``; the model's field of the same name
    (a nested model becomes the nested settings type, a list a tuple); or, for the fields named
    in ``keep_defaults``, its default. Any other field is an error, so a field that the model
    lacks (or renamed) can never fall back to its default unnoticed.
    """
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    stray = (set(derived) | set(keep_defaults)) - set(names)
    if stray:
        raise TypeError(f"{cls.__name__} has no field {', '.join(sorted(stray))}")
    hints = _type_hints(cls)
    in_model = type(model).model_fields if model is not None else {}
    values: dict[str, Any] = {}
    for name in names:
        if name in derived:
            values[name] = derived[name]
        elif name in in_model:
            values[name] = _settings_value(hints[name], getattr(model, name))
        elif name not in keep_defaults:
            source = type(model).__name__ if model is not None else "no model"
            raise TypeError(f"{cls.__name__}.{name} is not in {source}: derive it, or keep its default")
    return cls(**values)


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    # The annotations are strings (``from __future__ import annotations``): resolving them compiles
    # each one, so once per settings class rather than at every call.
    return typing.get_type_hints(cls)


def _settings_value(annotation: Any, value: Any) -> Any:
    if isinstance(value, BaseModel):
        return from_model(_dataclass_in(annotation), value)
    if isinstance(value, list):
        (element,) = typing.get_args(_without_none(annotation)) or (Any,)
        return tuple(_settings_value(element, v) for v in value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _dataclass_in(annotation: Any) -> type:
    found = _without_none(annotation)
    if not dataclasses.is_dataclass(found):
        raise TypeError(f"a config object needs a settings dataclass, not {annotation}")
    return found  # type: ignore[return-value]


# --- a region ----------------------------------------------------------------------------------------


def regional_args(
    cfg: StackConfig, region: RegionConfig, project: str, replica_targets: Sequence[ReplicaTarget] = ()
) -> RegionalPlatformArgs:
    """A region's settings. ``replica_targets``, the secondaries' repositories, reach the primary's
    replicator (``__main__.py`` builds the secondaries first)."""
    return RegionalPlatformArgs(
        region=region.name,
        role=region.role,
        name_prefix=name_prefix(cfg),
        network=network_args(cfg, region),
        load_balancer=load_balancer_settings(cfg, region),
        firewall=firewall_settings(cfg),
        notifications=notifications_settings(cfg),
        existing_topic_arn=cfg.pipeline.notifications.topic_arns.get(region.name),
        services=[service_settings(cfg, region, s, project) for s in cfg.services],
        functions=[function_settings(cfg, region, f, project) for f in cfg.functions],
        smoke_test=smoke_test_settings(cfg),
        registry=from_model(RegistrySettings, cfg.container_registry),
        pipeline=delivery_settings(cfg),
        task_launcher=launcher_settings(cfg),
        replication=replicator_settings(cfg) if region.role == "primary" else None,
        replica_targets=tuple(replica_targets) if region.role == "primary" else (),
        monitoring=monitoring_settings(cfg, region),
        dns=dns_settings(cfg, region),
    )


def network_args(cfg: StackConfig, region: RegionConfig) -> NetworkArgs:
    plan = region.subnet_plan()
    flow = cfg.network.flow_logs
    return from_model(
        NetworkArgs,
        cfg.network,
        name_prefix=name_prefix(cfg),
        vpc_cidr=region.vpc_cidr,
        public_subnet_cidrs=plan.public,
        private_subnet_cidrs=plan.private,
        flow_logs=from_model(FlowLogSettings, flow) if flow.enabled else None,
    )


def load_balancer_settings(cfg: StackConfig, region: RegionConfig) -> LoadBalancerSettings:
    lb = cfg.load_balancer
    certificate_arn = lb.certificate_arns.get(region.name)
    acm = None
    if certificate_arn is None and cfg.dns is not None:
        # The regional name lets clients (and the health checks) reach one region directly.
        acm = AcmSettings(
            domain=cfg.dns.domain,
            hosted_zone_id=cfg.dns.hosted_zone_id,
            alternative_names=(f"{region.name}.{cfg.dns.domain}",),
            # Every region's certificate carries the domain: its one record is the stack's.
            shared_names=(cfg.dns.domain,),
        )
    staging = cfg.pipeline.staging
    return from_model(
        LoadBalancerSettings,
        lb,
        name_prefix=name_prefix(cfg),
        load_balancer_name=routes.load_balancer_name(cfg.name, cfg.environment),
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
        staging=StagingListener(port=staging.listener_port, ingress_cidrs=tuple(staging.ingress_cidrs or ()))
        if cfg.has_staging
        else None,
        test_listener=TestListener(port=lb.test_listener_port)
        if any(s.ecs_progressive for s in cfg.services)
        else None,
    )


def firewall_settings(cfg: StackConfig) -> FirewallSettings | None:
    waf = cfg.load_balancer.waf
    if not waf.enabled:
        return None
    return from_model(
        FirewallSettings,
        waf.managed_rules,
        name=name_prefix(cfg),
        log_group_name=f"aws-waf-logs-{name_prefix(cfg)}",
        rate_limit=waf.rate_limit,
        log_retention_days=cfg.logs.retention_days,
    )


def smoke_test_settings(cfg: StackConfig) -> SmokeTestSettings | None:
    if not any(s.deployment.smoke_test for s in cfg.services):
        return None
    return SmokeTestSettings(
        function_name=f"{name_prefix(cfg)}-smoke-test",
        test_port=cfg.load_balancer.test_listener_port,
        log_retention_days=cfg.logs.retention_days,
    )


def notifications_settings(cfg: StackConfig) -> NotificationsSettings:
    return NotificationsSettings(
        topic_name=f"{name_prefix(cfg)}-notifications",
        # One topic per region: approvals, failed runs and alarms reach the same people.
        emails=tuple({e.lower(): e for e in [*cfg.pipeline.notifications.emails, *cfg.monitoring.emails]}.values()),
    )


def service_settings(cfg: StackConfig, region: RegionConfig, svc: ServiceConfig, project: str) -> ServiceSettings:
    prefix = name_prefix(cfg)
    staged = cfg.has_staging and svc.mode == "service"
    on_lambda = svc.compute == "lambda"
    return from_model(
        ServiceSettings,
        svc,
        # What a staging copy changes; the config never sets it.
        keep_defaults=("ecs_service_name", "capacity_provider", "autoscale"),
        family=f"{prefix}-{svc.name}",
        repository_name=f"{prefix}/{svc.name}",
        target_group_name=_service_target_group(cfg, region, svc, project, svc.name),
        priority=routes.priority_of(svc.name, svc.paths, svc.priority),
        # A function's log group is Lambda's default, named after the function (the family).
        log_group_name=f"/aws/lambda/{prefix}-{svc.name}" if on_lambda else f"/ecs/{prefix}/{svc.name}",
        log_retention_days=cfg.logs.retention_days,
        environment=service_environment(svc, region=region.name, environment=cfg.environment),
        lambda_settings=from_model(
            LambdaCompute, lambda_settings_of(svc), architecture=lambda_settings_of(svc).architecture or svc.architecture
        )
        if on_lambda
        else None,
        alarms=ServiceAlarms(
            alarm_prefix=f"{prefix}-svc-{svc.name}",
            thresholds=from_model(ServiceThresholds, cfg.monitoring.thresholds(svc.name)),
            duration_percent=cfg.monitoring.function_duration_percent,
        )
        if cfg.monitoring.enabled
        else None,
        staging=from_model(
            StagingCopy,
            cfg.pipeline.staging,
            target_group_name=_service_target_group(cfg, region, svc, project, svc.name + STAGING_SUFFIX),
        )
        if staged
        else None,
        alternate_target_group_name=_service_target_group(cfg, region, svc, project, svc.name + ALTERNATE_SUFFIX)
        if svc.ecs_progressive
        else None,
    )


def _service_target_group(cfg: StackConfig, region: RegionConfig, svc: ServiceConfig, project: str, route: str) -> str:
    """Its physical name hashes what ELB cannot change in place, so a flip of compute creates the
    new group under a new name while the old one still serves."""
    if svc.compute == "lambda":
        return routes.target_group_name(
            route, project=project, environment=cfg.environment, region=region.name,
            target_type="lambda", port=None, vpc_cidr=None, protocol=None,
        )  # fmt: skip
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


def function_settings(cfg: StackConfig, region: RegionConfig, fn: FunctionConfig, project: str) -> FunctionSettings:
    routed = bool(fn.paths)
    return from_model(
        FunctionSettings,
        fn,
        function_name=f"{name_prefix(cfg)}-{fn.name}",
        code_path=FUNCTIONS_DIR / (fn.source or fn.name.replace("-", "_")),
        # AWS_REGION is set by Lambda itself (and reserved).
        environment={**fn.environment, "ENVIRONMENT": cfg.environment},
        log_retention_days=cfg.logs.retention_days,
        priority=routes.priority_of(fn.name, fn.paths, fn.priority) if routed else None,
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
    )


def delivery_settings(cfg: StackConfig) -> DeliverySettings | None:
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
    return from_model(
        DeliverySettings,
        p,
        name_prefix=name_prefix(cfg),
        source=source,
        stages=tuple(
            from_model(
                Stage,
                st,
                target=st.target or "production",
                services=tuple(p.deploy_services(st, services)) if st.type == "deploy" else (),
            )
            for st in p.stages
        ),
        build=from_model(
            BuildSettings,
            p.build,
            batches=tuple(tuple(b) for b in build_batches(services)),
            architecture=cfg.services[0].architecture,
            base_image_cache=base_image_cache(cfg),
        ),
        log_retention_days=cfg.logs.retention_days,
    )


def base_image_cache(cfg: StackConfig) -> BaseImageCache | None:
    cache = cfg.pipeline.build.base_image_cache
    if not cache.enabled:
        return None
    registry = cfg.container_registry
    return BaseImageCache(
        prefix=cache.prefix or f"ecr-public-{cfg.environment}",
        keep_tagged_images=registry.keep_tagged_images,
        expire_untagged_after_days=registry.expire_untagged_after_days,
    )


def launcher_settings(cfg: StackConfig) -> LauncherSettings | None:
    if not cfg.has_task_launcher:
        return None
    prefix = name_prefix(cfg)
    return from_model(
        LauncherSettings,
        cfg.task_launcher,
        function_name=f"{prefix}-task-launcher",
        started_by=f"{prefix}-task-launcher",
        log_retention_days=cfg.logs.retention_days,
    )


def replicator_settings(cfg: StackConfig) -> ReplicatorSettings | None:
    if not cfg.has_replication:
        return None
    return from_model(
        ReplicatorSettings,
        cfg.replication,
        function_name=f"{name_prefix(cfg)}-repo-replicator",
        metric_namespace=REPLICATION_METRIC_NAMESPACE,
        log_retention_days=cfg.logs.retention_days,
    )


def monitoring_settings(cfg: StackConfig, region: RegionConfig) -> MonitoringSettings | None:
    m = cfg.monitoring
    if not m.enabled:
        return None
    return from_model(
        MonitoringSettings,
        m,
        alarm_prefix=name_prefix(cfg),
        dashboard_name=f"{name_prefix(cfg)}-{region.name}" if m.dashboard else None,
    )


def dns_settings(cfg: StackConfig, region: RegionConfig) -> DnsSettings | None:
    if cfg.dns is None or cfg.routing == "none":
        return None
    role = None
    if cfg.routing == "failover":
        role = "PRIMARY" if region.role == "primary" else "SECONDARY"
    return from_model(
        DnsSettings,
        cfg.dns,
        region=region.name,
        check_fqdn=f"{region.name}.{cfg.dns.domain}",
        check_path=cfg.dns.health_check_path or "/",  # validated: set whenever routing is on
        routing=cfg.routing,
        failover_role=role,
    )


# --- warnings ------------------------------------------------------------------------------------


def flow_logs_disabled_warning(cfg: StackConfig) -> str | None:
    if cfg.network.flow_logs.enabled:
        return None
    return "network.flowLogs.enabled is false: no VPC flow logs (Security Hub EC2.6 fails)"


def placeholder_warnings(cfg: StackConfig) -> list[str]:
    """One warning per documentation value still in the stack (``python -m ops up`` refuses them)."""
    return [
        f"placeholder {p.key} = {p.value}: {p.kind}; replace it before a real deploy (docs/deploy.md), "
        "python -m ops up refuses it without --allow-placeholders"
        for p in find_placeholders(cfg)
    ]


def plain_http_warning(cfg: StackConfig) -> str | None:
    if cfg.load_balancer.certificate_arns or cfg.dns is not None:
        return None
    return (
        "the ALBs serve plain HTTP: no loadBalancer.certificateArns and no dns "
        "(Security Hub ELB.1 fails; fine for dev, not for production)"
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


def lambda_health_check_warning(cfg: StackConfig) -> str | None:
    """Route 53's health check path reaching a service on Lambda: until its first image, 503."""
    if cfg.dns is None or cfg.routing == "none" or cfg.dns.health_check_path is None:
        return None
    path = cfg.dns.health_check_path
    for i, svc in enumerate(cfg.services):
        if svc.compute == "lambda" and any(routes.matches(p, path) for p in svc.paths):
            return (
                f"dns.healthCheckPath {path} reaches services[{i}] ({svc.name}) on Lambda: until the pipeline's "
                "first image it answers 503, so Route 53 counts each region down (docs/lambda-compute.md)"
            )
    return None


def existing_topic_warning(cfg: StackConfig) -> str | None:
    if not cfg.pipeline.notifications.topic_arns or not cfg.monitoring.enabled:
        return None
    return (
        "pipeline.notifications.topicArns names existing topics: monitoring.emails are not subscribed "
        "to them, and their policy (and KMS key, if any) must admit cloudwatch.amazonaws.com or alarms "
        "cannot notify"
    )
