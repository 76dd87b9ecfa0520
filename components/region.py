"""Everything the platform builds in one region, under that region's provider."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pulumi
import pulumi_aws as aws

from . import iam
from .alarms import ServiceAlarms, ServiceThresholds, metric_alarm
from .alb_function import AlbFunction, AlbFunctionArgs, AlbRoute, VpcPlacement
from .container_registry import ContainerRegistry, ContainerRegistryArgs
from .delivery import (
    BuildSettings,
    CodeCommitSource,
    ConnectionSource,
    Delivery,
    DeliveryArgs,
    DeployTarget,
    ServiceImage,
    Stage,
)
from .failover import RegionalDns, RegionalDnsArgs, health_check_alarm_spec
from .fargate_service import FargateService, FargateServiceArgs, Grant, HealthCheck, Scaling
from .load_balancer import (
    AccessLogSettings,
    AcmSettings,
    LoadBalancer,
    LoadBalancerArgs,
    RegionalRecord,
    StagingListener,
)
from .monitoring import Monitoring, MonitoringArgs, WatchedFunction, WatchedQueue, WatchedReplication
from .network import Network, NetworkArgs
from .notifications import Notifications, NotificationsArgs
from .repo_replicator import REPLICATION_LAG_METRIC, ReplicaTarget, RepoReplicator, RepoReplicatorArgs
from .task_launcher import LaunchTarget, Schedule, TaskLauncher, TaskLauncherArgs


@dataclass(frozen=True)
class LoadBalancerSpec:
    """The config-derived part of :class:`~components.load_balancer.LoadBalancerArgs`."""

    load_balancer_name: str
    ingress_cidrs: Sequence[str] = ("0.0.0.0/0",)
    deletion_protection: bool = True
    idle_timeout_seconds: int = 60
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    certificate_arn: str | None = None
    acm: AcmSettings | None = None
    access_logs: AccessLogSettings | None = field(default_factory=AccessLogSettings)
    regional_record: RegionalRecord | None = None
    staging: StagingListener | None = None


@dataclass(frozen=True)
class RegistrySpec:
    """ECR settings shared by the region's repositories (see ContainerRegistryArgs)."""

    keep_tagged_images: int = 30
    expire_untagged_after_days: int = 7
    force_delete: bool = False


@dataclass(frozen=True)
class ServiceSpec:
    """The config-derived part of :class:`~components.fargate_service.FargateServiceArgs`.

    ``bootstrap_image`` runs until the pipeline publishes ``/{prefix}/images/{name}``.
    """

    name: str
    family: str
    repository_name: str
    target_group_name: str
    priority: int
    paths: Sequence[str]
    port: int
    bootstrap_image: str
    log_group_name: str
    cpu: int = 256
    memory: int = 512
    architecture: Literal["X86_64", "ARM64"] = "X86_64"
    mode: Literal["service", "on-demand"] = "service"
    desired_count: int = 2
    scaling: Scaling = field(default_factory=Scaling)
    health_check: HealthCheck = field(default_factory=HealthCheck)
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    writable_paths: Sequence[str] = ("/tmp",)
    grants: Sequence[Grant] = ()
    staging_target_group_name: str | None = None
    alarms: ServiceThresholds | None = None


@dataclass(frozen=True)
class MonitoringSpec:
    """The config-derived part of :class:`~components.monitoring.MonitoringArgs`."""

    load_balancer_5xx_count: int = 10
    function_duration_percent: int = 90
    replication_lag_seconds: int = 60
    dashboard: bool = True


@dataclass(frozen=True)
class DnsSpec:
    """The region's part of the domain's routing (see :class:`~components.failover.RegionalDnsArgs`)."""

    domain: str
    hosted_zone_id: str
    check_path: str
    routing: Literal["failover", "latency"]
    failover_role: Literal["PRIMARY", "SECONDARY"] | None = None
    interval_seconds: Literal[10, 30] = 10
    failure_threshold: int = 3


@dataclass(frozen=True)
class ReplicationSpec:
    """The primary region's replicator (see :class:`~components.repo_replicator.RepoReplicatorArgs`);
    the source repository is this region's own."""

    function_name: str
    targets: Sequence[ReplicaTarget]
    metric_namespace: str
    timeout_seconds: int = 300
    memory_mb: int = 512


@dataclass(frozen=True)
class StagingSpec:
    """The staging copy of each ``mode: service`` service: its own ECS service, family, target
    group and log group, ``desired_count`` tasks without autoscaling, on the staging listener."""

    desired_count: int = 1
    spot: bool = True


@dataclass(frozen=True)
class PipelineSpec:
    """The config-derived part of :class:`~components.delivery.DeliveryArgs`."""

    source: CodeCommitSource | ConnectionSource
    stages: Sequence[Stage]
    build: BuildSettings
    staging: StagingSpec | None = None
    deploy_timeout_minutes: int = 30
    artifact_expire_after_days: int = 30
    artifact_force_destroy: bool = False


@dataclass(frozen=True)
class NotificationsSpec:
    """The region's notifications topic: created (``topic_name``, ``emails``) or ``existing_topic_arn``."""

    topic_name: str
    emails: Sequence[str] = ()
    existing_topic_arn: str | None = None


@dataclass(frozen=True)
class LauncherSpec:
    """The config-derived part of :class:`~components.task_launcher.TaskLauncherArgs`; the
    services are the region's ``mode: on-demand`` ones."""

    function_name: str
    started_by: str
    schedules: Sequence[Schedule] = ()
    max_count: int = 5
    timeout_seconds: int = 300
    memory_mb: int = 256


@dataclass(frozen=True)
class FunctionSpec:
    """The config-derived part of :class:`~components.alb_function.AlbFunctionArgs`."""

    name: str
    function_name: str
    code_path: Path
    handler: str = "handler.handler"
    runtime: str = "python3.13"
    memory_mb: int = 256
    timeout_seconds: int = 30
    reserved_concurrency: int | None = None
    provisioned_concurrency: int | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    priority: int | None = None
    paths: Sequence[str] = ()
    target_group_name: str | None = None
    vpc: bool = False
    sns: Literal["none", "create", "existing"] = "none"
    sns_topic_arn: str | None = None


@dataclass(frozen=True)
class RegionalPlatformArgs:
    """Inputs of :class:`RegionalPlatform`.

    Attributes:
        region: The AWS region code. Where resources go is decided by the provider passed in
            ``opts.providers``, which the stack entry builds for this region.
        role: ``primary`` or ``secondary``, as in the stack config.
        name_prefix: ``{name}-{environment}``: the cluster's name, and the prefix of families,
            repositories and the published-image parameters.
        network: The region's network inputs.
        load_balancer: The shared ALB.
        services / functions: What sits behind it. Default none.
        registry: ECR settings. Default :class:`RegistrySpec`.
        log_retention_days: For service, function and build log groups. Default 365.
        notifications: The notifications topic. Default None: ``{name_prefix}-notifications``
            with no subscriptions.
        pipeline: The delivery pipeline, or None (default) for none.
        task_launcher: The on-demand task launcher, or None (default) for none. Needs a
            ``mode: on-demand`` service.
        replication: The replicator (primary region, with a pipeline), or None (default).
        monitoring: Alarms and dashboard, or None (default) for none.
        dns: This region's health check and record for the domain, or None (default).
    """

    region: str
    role: Literal["primary", "secondary"]
    name_prefix: str
    network: NetworkArgs
    load_balancer: LoadBalancerSpec
    services: Sequence[ServiceSpec] = ()
    functions: Sequence[FunctionSpec] = ()
    registry: RegistrySpec = field(default_factory=RegistrySpec)
    log_retention_days: int = 365
    notifications: NotificationsSpec | None = None
    pipeline: PipelineSpec | None = None
    task_launcher: LauncherSpec | None = None
    replication: ReplicationSpec | None = None
    monitoring: MonitoringSpec | None = None
    dns: DnsSpec | None = None

    @property
    def image_parameter_path(self) -> str:
        """Where the pipeline publishes each service's deployed image (``{path}/{service}``)."""
        return f"/{self.name_prefix}/images"


class RegionalPlatform(pulumi.ComponentResource):
    """One region of the platform.

    Creates, with ``name`` (the region code) as the prefix:

    - ``{name}-network`` (:class:`~components.network.Network`);
    - ``{name}-traffic`` (:class:`~components.load_balancer.LoadBalancer`);
    - ``{name}-cluster``: the ECS cluster, with Container Insights (Security Hub ECS.12);
    - per service ``{name}-{service}-registry`` (:class:`~components.container_registry.ContainerRegistry`)
      and ``{name}-{service}`` (:class:`~components.fargate_service.FargateService`);
    - per function ``{name}-{function}`` (:class:`~components.alb_function.AlbFunction`);
    - ``{name}-notifications`` (:class:`~components.notifications.Notifications`), unless the
      config names an existing topic;
    - with a pipeline: ``{name}-delivery`` (:class:`~components.delivery.Delivery`), and with a
      staging stage ``{name}-{service}-staging`` per ``mode: service`` service (one task, no
      autoscaling, on the staging listener) and, for Fargate Spot, ``{name}-cluster-capacity``;
    - with a task launcher: ``{name}-task-launcher``
      (:class:`~components.task_launcher.TaskLauncher`) for the ``mode: on-demand`` services;
    - with replication: ``{name}-replicator`` (:class:`~components.repo_replicator.RepoReplicator`);
    - with DNS routing: ``{name}-dns`` (:class:`~components.failover.RegionalDns`);
    - with monitoring: each service's own alarms, and ``{name}-monitoring``
      (:class:`~components.monitoring.Monitoring`): the rest of the alarms and the dashboard.

    Pass the region's provider as ``opts=ResourceOptions(providers=[provider])``; every child
    inherits it.
    """

    network: Network
    load_balancer: LoadBalancer
    context: iam.AwsContext

    @property
    def _staging(self) -> StagingSpec | None:
        return self.args.pipeline.staging if self.args.pipeline else None

    def __init__(self, name: str, args: RegionalPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:platform:Region", name, None, opts)
        self.args = args
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        ctx = iam.AwsContext(
            region=args.region,
            account_id=aws.get_caller_identity_output(opts=invoke).account_id,
            partition=aws.get_partition_output(opts=invoke).partition,
        )
        self.context = ctx
        self._name = name
        self.health_alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        self.network = Network(f"{name}-network", args.network, child)
        lb = args.load_balancer
        self.load_balancer = LoadBalancer(
            f"{name}-traffic",
            LoadBalancerArgs(
                name_prefix=args.name_prefix,
                load_balancer_name=lb.load_balancer_name,
                context=ctx,
                vpc_id=self.network.vpc_id,
                public_subnet_ids=self.network.public_subnet_ids,
                ingress_cidrs=lb.ingress_cidrs,
                deletion_protection=lb.deletion_protection,
                idle_timeout_seconds=lb.idle_timeout_seconds,
                ssl_policy=lb.ssl_policy,
                certificate_arn=lb.certificate_arn,
                acm=lb.acm,
                access_logs=lb.access_logs,
                regional_record=lb.regional_record,
                staging=lb.staging,
            ),
            child,
        )
        notes = args.notifications or NotificationsSpec(topic_name=f"{args.name_prefix}-notifications")
        self.notifications: Notifications | None = None
        if notes.existing_topic_arn:
            topic_arn: pulumi.Input[str] = notes.existing_topic_arn
            key_arn: pulumi.Input[str] | None = None
        else:
            self.notifications = Notifications(
                f"{name}-notifications", NotificationsArgs(context=ctx, topic_name=notes.topic_name, emails=notes.emails), child
            )
            topic_arn, key_arn = self.notifications.topic_arn, self.notifications.key_arn
        self.notifications_topic_arn = pulumi.Output.from_input(topic_arn)

        self.services: dict[str, FargateService] = {}
        self.staging_services: dict[str, FargateService] = {}
        self.registries: dict[str, ContainerRegistry] = {}
        cluster = None
        if args.services:
            cluster = aws.ecs.Cluster(
                f"{name}-cluster",
                name=args.name_prefix,
                settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
                opts=child,
            )
            self._cluster_arn: pulumi.Output[str] = cluster.arn
            if self._staging and self._staging.spot:
                capacity = aws.ecs.ClusterCapacityProviders(
                    f"{name}-cluster-capacity",
                    cluster_name=cluster.name,
                    capacity_providers=["FARGATE", "FARGATE_SPOT"],
                    default_capacity_provider_strategies=[
                        aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(capacity_provider="FARGATE", weight=1)
                    ],
                    opts=child,
                )
                # A service may name FARGATE_SPOT only once the cluster has it.
                self._cluster_arn = pulumi.Output.all(cluster.arn, capacity.id).apply(lambda v: v[0])
            # One lookup for every service: the images the pipeline has deployed so far.
            published = aws.ssm.get_parameters_by_path_output(
                path=args.image_parameter_path, recursive=False, with_decryption=False, opts=invoke
            )
            for spec in args.services:
                self._service(name, spec, cluster, published, ctx)

        self.functions: dict[str, AlbFunction] = {}
        for fn in args.functions:
            self._function(name, fn)

        self.delivery: Delivery | None = None
        if args.pipeline is not None and cluster is not None:
            self.delivery = self._delivery(name, ctx, cluster, topic_arn, key_arn)

        self.task_launcher: TaskLauncher | None = None
        if args.task_launcher is not None and cluster is not None:
            self.task_launcher = self._task_launcher(name, ctx, cluster, args.task_launcher)

        self.replicator: RepoReplicator | None = None
        if args.replication is not None and self.delivery is not None:
            self.replicator = self._replicator(name, ctx, args.replication)

        self.dns: RegionalDns | None = None
        if args.dns is not None:
            d = args.dns
            self.dns = RegionalDns(
                f"{name}-dns",
                RegionalDnsArgs(
                    region=args.region,
                    domain=d.domain,
                    hosted_zone_id=d.hosted_zone_id,
                    check_fqdn=f"{args.region}.{d.domain}",
                    check_path=d.check_path,
                    load_balancer_dns_name=self.load_balancer.load_balancer_dns_name,
                    load_balancer_zone_id=self.load_balancer.load_balancer_zone_id,
                    routing=d.routing,
                    failover_role=d.failover_role,
                    interval_seconds=d.interval_seconds,
                    failure_threshold=d.failure_threshold,
                ),
                child,
            )

        self.monitoring: Monitoring | None = None
        if args.monitoring is not None:
            self.monitoring = self._monitoring(name, args.monitoring)

        self.cluster_name = cluster.name if cluster is not None else pulumi.Output.from_input(None)
        self.register_outputs({"vpc_id": self.network.vpc_id, "load_balancer_arn": self.load_balancer.load_balancer_arn})

    def _service(
        self,
        name: str,
        spec: ServiceSpec,
        cluster: aws.ecs.Cluster,
        published: pulumi.Output[aws.ssm.GetParametersByPathResult],
        ctx: iam.AwsContext,
    ) -> None:
        args = self.args
        registry = ContainerRegistry(
            f"{name}-{spec.name}-registry",
            ContainerRegistryArgs(
                repository_name=spec.repository_name,
                keep_tagged_images=args.registry.keep_tagged_images,
                expire_untagged_after_days=args.registry.expire_untagged_after_days,
                force_delete=args.registry.force_delete,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        parameter = f"{args.image_parameter_path}/{spec.name}"
        image = published.apply(lambda p: dict(zip(p.names, p.values, strict=True)).get(parameter, spec.bootstrap_image))
        self.registries[spec.name] = registry
        service_args = FargateServiceArgs(
                service_name=spec.name,
                family=spec.family,
                context=ctx,
                cluster_arn=cluster.arn,
                cluster_name=cluster.name,
                vpc_id=self.network.vpc_id,
                private_subnet_ids=self.network.private_subnet_ids,
                load_balancer_security_group_id=self.load_balancer.security_group_id,
                listener_arn=self.load_balancer.listener_arn,
                load_balancer_arn_suffix=self.load_balancer.load_balancer_arn_suffix,
                target_group_name=spec.target_group_name,
                priority=spec.priority,
                paths=spec.paths,
                port=spec.port,
                image=image,
                repository_arn=registry.repository_arn,
                log_group_name=spec.log_group_name,
                log_retention_days=args.log_retention_days,
                cpu=spec.cpu,
                memory=spec.memory,
                architecture=spec.architecture,
                mode=spec.mode,
                desired_count=spec.desired_count,
                scaling=spec.scaling,
                health_check=spec.health_check,
                environment=spec.environment,
                secrets=spec.secrets,
                writable_paths=spec.writable_paths,
                grants=spec.grants,
                alarms=ServiceAlarms(
                    alarm_prefix=f"{args.name_prefix}-svc-{spec.name}",
                    topic_arn=self.notifications_topic_arn,
                    thresholds=spec.alarms,
                )
                if spec.alarms is not None
                else None,
            )
        self.services[spec.name] = FargateService(f"{name}-{spec.name}", service_args, pulumi.ResourceOptions(parent=self))
        staging = self._staging
        if staging is None or spec.mode != "service":
            return
        assert spec.staging_target_group_name is not None
        self.staging_services[spec.name] = FargateService(
            f"{name}-{spec.name}-staging",
            dataclasses.replace(
                service_args,
                ecs_service_name=f"{spec.name}-staging",
                family=f"{spec.family}-staging",
                cluster_arn=self._cluster_arn,
                listener_arn=self.load_balancer.staging_listener_arn,
                target_group_name=spec.staging_target_group_name,
                log_group_name=f"{spec.log_group_name}-staging",
                desired_count=staging.desired_count,
                capacity_provider="FARGATE_SPOT" if staging.spot else "FARGATE",
                autoscale=False,
                # Staging runs unapproved builds on Spot: its failures are the pipeline's to report.
                alarms=None,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _delivery(
        self,
        name: str,
        ctx: iam.AwsContext,
        cluster: aws.ecs.Cluster,
        topic_arn: pulumi.Input[str],
        key_arn: pulumi.Input[str] | None,
    ) -> Delivery:
        args = self.args
        pipeline = args.pipeline
        assert pipeline is not None

        def target(svc: FargateService) -> DeployTarget:
            return DeployTarget(svc.args.ecs_name, svc.args.family, svc.task_role_arn, svc.execution_role_arn)

        return Delivery(
            f"{name}-delivery",
            DeliveryArgs(
                context=ctx,
                name_prefix=args.name_prefix,
                source=pipeline.source,
                stages=pipeline.stages,
                build=pipeline.build,
                images=[
                    ServiceImage(
                        name=s.name,
                        repository_url=self.registries[s.name].repository_url,
                        repository_arn=self.registries[s.name].repository_arn,
                        mode=s.mode,
                        family=s.family,
                        task_role_arn=self.services[s.name].task_role_arn,
                        execution_role_arn=self.services[s.name].execution_role_arn,
                    )
                    for s in args.services
                ],
                cluster_name=cluster.name,
                production={n: target(svc) for n, svc in self.services.items() if svc.args.mode == "service"},
                staging={n: target(svc) for n, svc in self.staging_services.items()},
                image_parameter_path=args.image_parameter_path,
                notification_topic_arn=topic_arn,
                notification_key_arn=key_arn,
                staging_url=self.load_balancer.staging_url if self.staging_services else None,
                log_retention_days=args.log_retention_days,
                artifact_expire_after_days=pipeline.artifact_expire_after_days,
                artifact_force_destroy=pipeline.artifact_force_destroy,
                deploy_timeout_minutes=pipeline.deploy_timeout_minutes,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _task_launcher(
        self, name: str, ctx: iam.AwsContext, cluster: aws.ecs.Cluster, spec: LauncherSpec
    ) -> TaskLauncher:
        on_demand = {n: svc for n, svc in self.services.items() if svc.args.mode == "on-demand"}
        return TaskLauncher(
            f"{name}-task-launcher",
            TaskLauncherArgs(
                context=ctx,
                function_name=spec.function_name,
                started_by=spec.started_by,
                cluster_name=cluster.name,
                cluster_arn=cluster.arn,
                services={
                    n: LaunchTarget(
                        task_definition_arn=svc.task_definition_arn,
                        family=svc.args.family,
                        container_name=svc.args.service_name,
                        port=svc.args.port,
                        target_group_arn=svc.target_group_arn,
                        subnet_ids=self.network.private_subnet_ids,
                        security_group_ids=[svc.security_group_id],
                        task_role_arn=svc.task_role_arn,
                        execution_role_arn=svc.execution_role_arn,
                    )
                    for n, svc in on_demand.items()
                },
                schedules=spec.schedules,
                max_count=spec.max_count,
                timeout_seconds=spec.timeout_seconds,
                memory_mb=spec.memory_mb,
                log_retention_days=self.args.log_retention_days,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _replicator(self, name: str, ctx: iam.AwsContext, spec: ReplicationSpec) -> RepoReplicator:
        assert self.delivery is not None and self.delivery.repository_arn is not None  # validated
        return RepoReplicator(
            f"{name}-replicator",
            RepoReplicatorArgs(
                context=ctx,
                function_name=spec.function_name,
                source_repository_name=self.delivery.repository_name,  # type: ignore[arg-type]
                source_repository_arn=self.delivery.repository_arn,
                targets=spec.targets,
                metric_namespace=spec.metric_namespace,
                timeout_seconds=spec.timeout_seconds,
                memory_mb=spec.memory_mb,
                log_retention_days=self.args.log_retention_days,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _monitoring(self, name: str, spec: MonitoringSpec) -> Monitoring:
        args = self.args
        functions = [
            WatchedFunction(f.name, self.functions[f.name].function_name, f.timeout_seconds) for f in args.functions
        ]
        queues = []
        if self.delivery is not None:
            queues.append(WatchedQueue("delivery", self.delivery.dead_letter_queue_name))
        for key, component, timeout in (
            ("task-launcher", self.task_launcher, args.task_launcher.timeout_seconds if args.task_launcher else 0),
            ("replicator", self.replicator, args.replication.timeout_seconds if args.replication else 0),
        ):
            if component is not None:
                # The replicator pauses near its timeout by design (and resumes): no duration alarm.
                functions.append(
                    WatchedFunction(key, component.function.function_name, timeout, duration_alarm=key != "replicator")
                )
                queues.append(WatchedQueue(key, component.function.dead_letter_queue_name))
        replication = None
        if self.replicator is not None and args.replication is not None:
            replication = WatchedReplication(
                namespace=args.replication.metric_namespace,
                metric=REPLICATION_LAG_METRIC,
                repository=self.replicator.source_repository_name,
                target_regions=[t.region for t in args.replication.targets],
                threshold_seconds=spec.replication_lag_seconds,
            )
        return Monitoring(
            f"{name}-monitoring",
            MonitoringArgs(
                region=args.region,
                alarm_prefix=args.name_prefix,
                topic_arn=self.notifications_topic_arn,
                load_balancer_arn_suffix=self.load_balancer.load_balancer_arn_suffix,
                load_balancer_5xx_count=spec.load_balancer_5xx_count,
                services=self.services,
                functions=functions,
                queues=queues,
                function_duration_percent=spec.function_duration_percent,
                replication=replication,
                build_projects=self.delivery.build_project_names if self.delivery else (),
                pipeline_name=args.name_prefix if args.pipeline else None,
                dashboard_name=f"{args.name_prefix}-{args.region}" if spec.dashboard else None,
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def _function(self, name: str, fn: FunctionSpec) -> None:
        route = None
        if fn.paths:
            assert fn.priority is not None and fn.target_group_name is not None
            route = AlbRoute(
                listener_arn=self.load_balancer.listener_arn,
                priority=fn.priority,
                paths=fn.paths,
                target_group_name=fn.target_group_name,
            )
        self.functions[fn.name] = AlbFunction(
            f"{name}-{fn.name}",
            AlbFunctionArgs(
                function_name=fn.function_name,
                code_path=fn.code_path,
                handler=fn.handler,
                runtime=fn.runtime,
                memory_mb=fn.memory_mb,
                timeout_seconds=fn.timeout_seconds,
                reserved_concurrency=fn.reserved_concurrency,
                provisioned_concurrency=fn.provisioned_concurrency,
                environment=fn.environment,
                log_retention_days=self.args.log_retention_days,
                route=route,
                vpc=VpcPlacement(
                    vpc_id=self.network.vpc_id,
                    subnet_ids=self.network.private_subnet_ids,
                    load_balancer_security_group_id=self.load_balancer.security_group_id,
                )
                if fn.vpc
                else None,
                sns_topic_arn=fn.sns_topic_arn if fn.sns == "existing" else None,
                create_sns_topic=fn.sns == "create",
            ),
            pulumi.ResourceOptions(parent=self),
        )

    def watch_health_checks(self, checks: Mapping[str, pulumi.Input[str]]) -> None:
        """Alarm on each region's Route 53 health check, here: Route 53 publishes their metrics in
        us-east-1 only, so the stack entry calls this on its us-east-1 region (if it has one).
        Creates ``{name}-dns-health-{region}`` per region, notifying this region's topic."""
        for region, check_id in sorted(checks.items()):
            self.health_alarms[region] = metric_alarm(
                f"{self._name}-dns-health-{region}",
                health_check_alarm_spec(region),
                alarm_name=f"{self.args.name_prefix}-dns-health-{region}",
                dimensions={"HealthCheckId": check_id},
                topic_arn=self.notifications_topic_arn,
                opts=pulumi.ResourceOptions(parent=self),
            )

    def routes(self) -> list[dict[str, object]]:
        """The region's route table, from config: what the ALB sends where, in evaluation order."""
        table = [
            {"priority": s.priority, "paths": list(s.paths), "target": f"service {s.name}:{s.port}"}
            for s in self.args.services
        ] + [
            {"priority": f.priority, "paths": list(f.paths), "target": f"function {f.name}"}
            for f in self.args.functions
            if f.paths
        ]
        return sorted(table, key=lambda r: r["priority"])  # type: ignore[arg-type,return-value]

    def exports(self) -> dict[str, object]:
        """The region's stack outputs, named ``<resource>_<attr>``."""
        return {
            "role": self.args.role,
            **self.network.outputs,
            **self.load_balancer.outputs,
            "cluster_name": self.cluster_name,
            "routes": self.routes(),
            "services": {
                n: {
                    **svc.outputs,
                    "repository_url": self.registries[n].repository_url,
                    "staging": _staging_outputs(self.staging_services.get(n)),
                }
                for n, svc in self.services.items()
            },
            "functions": {n: fn.outputs for n, fn in self.functions.items()},
            "image_parameter_path": self.args.image_parameter_path,
            "notifications_topic_arn": self.notifications_topic_arn,
            "pipeline": self.delivery.outputs if self.delivery else None,
            "task_launcher": self.task_launcher.outputs if self.task_launcher else None,
            "replication": self.replicator.outputs if self.replicator else None,
            "dns": self.dns.outputs if self.dns else None,
            "monitoring": self.monitoring.outputs if self.monitoring else None,
        }


def _staging_outputs(svc: FargateService | None) -> dict[str, object] | None:
    if svc is None:
        return None
    keys = ("service_name", "task_definition_family", "target_group_arn", "log_group_name")
    return {k: svc.outputs[k] for k in keys}
