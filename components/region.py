"""Everything the platform builds in one region, under that region's provider.

The region is the orchestrator: it takes each part's settings (built by ``wiring.py`` from the
validated stack config) and adds only the placement, the Outputs each part receives from the
parts before it. It reads top to bottom as network → traffic → notifications → smoke test →
services → functions → delivery → events → DNS → monitoring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from . import iam
from .alarms import metric_alarm
from .alb_function import AlbFunction, AlbFunctionArgs, FunctionSettings, VpcPlacement
from .container_registry import RegistrySettings
from .delivery import Delivery, DeliveryArgs, DeliverySettings, DeployTarget, LambdaTarget, ServiceImage
from .failover import DnsSettings, RegionalDns, RegionalDnsArgs, health_check_alarm_spec
from .fargate_service import FargateService
from .lambda_service import LambdaService
from .load_balancer import LoadBalancer, LoadBalancerArgs, LoadBalancerSettings
from .monitoring import (
    Monitoring,
    MonitoringArgs,
    MonitoringSettings,
    WatchedFunction,
    WatchedQueue,
    WatchedReplication,
)
from .network import Network, NetworkArgs
from .notifications import Notifications, NotificationsArgs, NotificationsSettings
from .repo_replicator import (
    REPLICATION_LAG_METRIC,
    ReplicaTarget,
    ReplicatorSettings,
    RepoReplicator,
    RepoReplicatorArgs,
)
from .service_settings import ServiceSettings
from .services import RegionServices, ServiceCompute, build_services
from .smoke_test import SmokeTestFunction, SmokeTestFunctionArgs, SmokeTestSettings
from .task_launcher import LauncherSettings, LaunchTarget, TaskLauncher, TaskLauncherArgs
from .waf import FirewallSettings, WebFirewall, WebFirewallArgs


@dataclass(frozen=True)
class RegionalPlatformArgs:
    """Inputs of :class:`RegionalPlatform`: the settings of each part, and the secondaries'
    repositories for the primary's replicator.

    Attributes:
        region: The AWS region code. Where resources go is decided by the provider passed in
            ``opts.providers``, which the stack entry builds for this region.
        role: ``primary`` or ``secondary``, as in the stack config.
        name_prefix: ``{name}-{environment}``: the cluster's name, and the prefix of families,
            repositories and the published-image parameters.
        network: The region's network (:class:`~components.network.NetworkArgs`).
        load_balancer: The shared ALB.
        firewall: Its web ACL, or None (default) for none.
        notifications: The notifications topic the region creates, unless ``existing_topic_arn``.
        existing_topic_arn: A topic to use instead of creating one. Default None.
        services / functions: What sits behind the ALB. Default none.
        smoke_test: The smoke-test function, or None (default); needed by services with
            ``deployment.smoke_test``.
        registry: ECR settings of the services' repositories. Default :class:`RegistrySettings`.
        pipeline: The delivery pipeline, or None (default) for none. Needs a service.
        task_launcher: The on-demand task launcher, or None (default). Needs a ``mode:
            on-demand`` service.
        replication: The replicator (primary region, with a CodeCommit pipeline), or None (default).
        replica_targets: The secondaries' repositories it replicates to (placement: they come
            from the secondary regions' own resources). Default none.
        monitoring: Alarms and dashboard, or None (default) for none.
        dns: This region's health check and record for the domain, or None (default).
    """

    region: str
    role: Literal["primary", "secondary"]
    name_prefix: str
    network: NetworkArgs
    load_balancer: LoadBalancerSettings
    notifications: NotificationsSettings
    firewall: FirewallSettings | None = None
    existing_topic_arn: str | None = None
    services: Sequence[ServiceSettings] = ()
    functions: Sequence[FunctionSettings] = ()
    smoke_test: SmokeTestSettings | None = None
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    pipeline: DeliverySettings | None = None
    task_launcher: LauncherSettings | None = None
    replication: ReplicatorSettings | None = None
    replica_targets: Sequence[ReplicaTarget] = ()
    monitoring: MonitoringSettings | None = None
    dns: DnsSettings | None = None

    @property
    def image_parameter_path(self) -> str:
        """Where the pipeline publishes each service's deployed image (``{path}/{service}``)."""
        return f"/{self.name_prefix}/images"


class RegionalPlatform(pulumi.ComponentResource):
    """One region of the platform.

    Creates, with ``name`` (the region code) as the prefix:

    - ``{name}-network`` (:class:`~components.network.Network`);
    - ``{name}-traffic`` (:class:`~components.load_balancer.LoadBalancer`), and with a firewall
      ``{name}-waf`` (:class:`~components.waf.WebFirewall`) on it;
    - ``{name}-notifications`` (:class:`~components.notifications.Notifications`), unless the
      config names an existing topic;
    - with a service's smoke test: ``{name}-smoke-test``
      (:class:`~components.smoke_test.SmokeTestFunction`);
    - with services (``components/services.py``): with one on Fargate ``{name}-cluster``, and per
      service ``{name}-{service}-registry`` (:class:`~components.container_registry.ContainerRegistry`)
      and ``{name}-{service}`` (:class:`~components.fargate_service.FargateService` or, with
      ``compute: lambda``, :class:`~components.lambda_service.LambdaService`), with its own alarms;
      with a staging stage ``{name}-{service}-staging`` per ``mode: service`` service and, for
      Fargate Spot, ``{name}-cluster-capacity``;
    - per function ``{name}-{function}`` (:class:`~components.alb_function.AlbFunction`);
    - with a pipeline: ``{name}-delivery`` (:class:`~components.delivery.Delivery`);
    - with a task launcher: ``{name}-task-launcher``
      (:class:`~components.task_launcher.TaskLauncher`) for the ``mode: on-demand`` services;
    - with replication: ``{name}-replicator`` (:class:`~components.repo_replicator.RepoReplicator`);
    - with DNS routing: ``{name}-dns`` (:class:`~components.failover.RegionalDns`);
    - with monitoring: ``{name}-monitoring`` (:class:`~components.monitoring.Monitoring`): the
      alarms the services do not raise themselves, and the dashboard;
    - on request (:meth:`watch_health_checks`): ``{name}-dns-health-{region}`` alarms.

    Pass the region's provider as ``opts=ResourceOptions(providers=[provider])``; every child
    inherits it.
    """

    network: Network
    load_balancer: LoadBalancer
    context: iam.AwsContext

    def __init__(self, name: str, args: RegionalPlatformArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:platform:Region", name, None, opts)
        self.args = args
        self._name = name
        self._child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOutputOptions(parent=self)
        self.context = iam.AwsContext(
            region=args.region,
            account_id=aws.get_caller_identity_output(opts=invoke).account_id,
            partition=aws.get_partition_output(opts=invoke).partition,
        )
        self.health_alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}

        self.network = Network(f"{name}-network", args.network, self._child)
        self.load_balancer = self._traffic()
        self.firewall = self._firewall()
        self.notifications, self.notifications_topic_arn, self._topic_key_arn = self._notifications()
        self.smoke_test = self._smoke_test()
        self._containers = self._services()
        self.services = self._containers.services if self._containers else {}
        self.staging_services = self._containers.staging if self._containers else {}
        self.registries = self._containers.registries if self._containers else {}
        self.functions = {fn.name: self._function(fn) for fn in args.functions}
        self.delivery = self._delivery()
        self.task_launcher = self._task_launcher()
        self.replicator = self._replicator()
        self.dns = self._dns()
        self.monitoring = self._monitoring()

        cluster = self._containers.cluster if self._containers else None
        self.cluster_name = cluster.name if cluster is not None else pulumi.Output.from_input(None)
        self.register_outputs({"vpc_id": self.network.vpc_id, "load_balancer_arn": self.load_balancer.load_balancer_arn})

    # --- the steps, in order ------------------------------------------------------------------

    def _traffic(self) -> LoadBalancer:
        return LoadBalancer(
            f"{self._name}-traffic",
            LoadBalancerArgs(
                settings=self.args.load_balancer,
                context=self.context,
                vpc_id=self.network.vpc_id,
                public_subnet_ids=self.network.public_subnet_ids,
                # Requests from the private subnets (the smoke tests) reach the test listener
                # through the NAT gateways.
                test_client_addresses=self.network.nat_public_ip_by_az if self.args.load_balancer.test_listener else {},
            ),
            self._child,
        )

    def _firewall(self) -> WebFirewall | None:
        if self.args.firewall is None:
            return None
        return WebFirewall(
            f"{self._name}-waf",
            WebFirewallArgs(settings=self.args.firewall, load_balancer_arn=self.load_balancer.load_balancer_arn),
            self._child,
        )

    def _notifications(self) -> tuple[Notifications | None, pulumi.Output[str], pulumi.Input[str] | None]:
        """The topic, its ARN, and its key's ARN (None for an existing topic: not the stack's)."""
        if self.args.existing_topic_arn:
            return None, pulumi.Output.from_input(self.args.existing_topic_arn), None
        topic = Notifications(
            f"{self._name}-notifications",
            NotificationsArgs(settings=self.args.notifications, context=self.context),
            self._child,
        )
        return topic, topic.topic_arn, topic.key_arn

    def _smoke_test(self) -> SmokeTestFunction | None:
        if self.args.smoke_test is None:
            return None
        return SmokeTestFunction(
            f"{self._name}-smoke-test",
            SmokeTestFunctionArgs(
                settings=self.args.smoke_test, vpc_id=self.network.vpc_id, subnet_ids=self.network.private_subnet_ids
            ),
            self._child,
        )

    def _services(self) -> RegionServices | None:
        if not self.args.services:
            return None
        return build_services(
            self._name,
            self,
            cluster_name=self.args.name_prefix,
            services=self.args.services,
            registry=self.args.registry,
            image_parameter_path=self.args.image_parameter_path,
            context=self.context,
            network=self.network,
            load_balancer=self.load_balancer,
            alarm_topic_arn=self.notifications_topic_arn,
            smoke_test_function_arn=self.smoke_test.function_arn if self.smoke_test else None,
            released=self.args.pipeline.released_services if self.args.pipeline else (),
        )

    def _function(self, fn: FunctionSettings) -> AlbFunction:
        return AlbFunction(
            f"{self._name}-{fn.name}",
            AlbFunctionArgs(
                settings=fn,
                listener_arn=self.load_balancer.listener_arn if fn.paths else None,
                vpc=VpcPlacement(
                    vpc_id=self.network.vpc_id,
                    subnet_ids=self.network.private_subnet_ids,
                    load_balancer_security_group_id=self.load_balancer.security_group_id,
                    private_egress=self.network.private_egress,
                )
                if fn.vpc
                else None,
            ),
            self._child,
        )

    def _delivery(self) -> Delivery | None:
        pipeline = self.args.pipeline
        if pipeline is None or self._containers is None:
            return None
        registries = self.registries
        return Delivery(
            f"{self._name}-delivery",
            DeliveryArgs(
                settings=pipeline,
                context=self.context,
                images=[
                    ServiceImage(
                        name=n,
                        mode=svc.settings.mode,
                        repository_url=registries[n].repository_url,
                        repository_arn=registries[n].repository_arn,
                        target=_target(svc),
                    )
                    for n, svc in self.services.items()
                ],
                cluster_name=self._containers.cluster.name if self._containers.cluster else None,
                production={n: _target(svc) for n, svc in self.services.items() if svc.settings.mode == "service"},
                staging={n: _target(svc) for n, svc in self.staging_services.items()},
                image_parameter_path=self.args.image_parameter_path,
                notification_topic_arn=self.notifications_topic_arn,
                notification_key_arn=self._topic_key_arn,
                staging_url=self.load_balancer.staging_url if self.staging_services else None,
                production_gate_alarm=self.args.monitoring.production_alarm_name if self.args.monitoring else None,
            ),
            self._child,
        )

    def _task_launcher(self) -> TaskLauncher | None:
        settings = self.args.task_launcher
        if settings is None or self._containers is None or self._containers.cluster is None:
            return None
        cluster = self._containers.cluster
        return TaskLauncher(
            f"{self._name}-task-launcher",
            TaskLauncherArgs(
                settings=settings,
                context=self.context,
                cluster_name=cluster.name,
                cluster_arn=cluster.arn,
                services={
                    n: LaunchTarget(
                        task_definition_arn=svc.task_definition_arn,
                        family=svc.settings.family,
                        container_name=svc.settings.name,
                        port=svc.settings.port,
                        target_group_arn=svc.target_group_arn,
                        subnet_ids=self.network.private_subnet_ids,
                        security_group_ids=[svc.security_group_id],
                        task_role_arn=svc.task_role_arn,
                        execution_role_arn=svc.execution_role_arn,
                    )
                    for n, svc in self.services.items()
                    if isinstance(svc, FargateService) and svc.settings.mode == "on-demand"
                },
            ),
            self._child,
        )

    def _replicator(self) -> RepoReplicator | None:
        settings = self.args.replication
        if settings is None or self.delivery is None:
            return None
        assert self.delivery.repository_arn is not None  # validated: replication needs CodeCommit
        return RepoReplicator(
            f"{self._name}-replicator",
            RepoReplicatorArgs(
                settings=settings,
                context=self.context,
                source_repository_name=self.delivery.repository_name,  # type: ignore[arg-type]
                source_repository_arn=self.delivery.repository_arn,
                targets=self.args.replica_targets,
            ),
            self._child,
        )

    def _dns(self) -> RegionalDns | None:
        if self.args.dns is None:
            return None
        return RegionalDns(
            f"{self._name}-dns",
            RegionalDnsArgs(
                settings=self.args.dns,
                load_balancer_dns_name=self.load_balancer.load_balancer_dns_name,
                load_balancer_zone_id=self.load_balancer.load_balancer_zone_id,
            ),
            self._child,
        )

    def _monitoring(self) -> Monitoring | None:
        args = self.args
        if args.monitoring is None:
            return None
        functions = [WatchedFunction(n, fn.function_name, fn.settings.timeout_seconds) for n, fn in self.functions.items()]
        if self.smoke_test is not None and args.smoke_test is not None:
            functions.append(WatchedFunction("smoke-test", self.smoke_test.function_name, args.smoke_test.timeout_seconds))
        queues = [WatchedQueue("delivery", self.delivery.dead_letter_queue_name)] if self.delivery else []
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
                target_regions=[t.region for t in args.replica_targets],
            )
        return Monitoring(
            f"{self._name}-monitoring",
            MonitoringArgs(
                settings=args.monitoring,
                region=args.region,
                topic_arn=self.notifications_topic_arn,
                load_balancer_arn_suffix=self.load_balancer.load_balancer_arn_suffix,
                services=self.services,
                functions=functions,
                queues=queues,
                replication=replication,
                build_projects=self.delivery.build_project_names if self.delivery else (),
                web_acl_name=self.args.firewall.name if self.args.firewall else None,
                pipeline_name=args.pipeline.pipeline_name if args.pipeline else None,
            ),
            self._child,
        )

    # --- after every region -------------------------------------------------------------------

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
                opts=self._child,
            )

    def replica_target(self) -> ReplicaTarget | None:
        """This region's repository, for the primary's replicator (None without one)."""
        if self.delivery is None or self.delivery.repository_arn is None:
            return None
        return ReplicaTarget(self.args.region, self.delivery.repository_name, self.delivery.repository_arn)  # type: ignore[arg-type]

    # --- outputs ------------------------------------------------------------------------------

    def routes(self) -> list[dict[str, object]]:
        """The region's route table, from config: what the ALB sends where, in evaluation order."""
        table = [
            {
                "priority": s.priority,
                "paths": list(s.paths),
                "target": f"service {s.name}:{s.port}" + (" on lambda" if s.compute == "lambda" else ""),
            }
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
            "waf": self.firewall.outputs if self.firewall else None,
            "monitoring": self.monitoring.outputs if self.monitoring else None,
        }


def _target(svc: ServiceCompute) -> DeployTarget | LambdaTarget:
    if isinstance(svc, LambdaService):
        return LambdaTarget(
            function_name=svc.settings.function_name,
            function_arn=svc.function_arn,
            repository_arn=svc.args.repository_arn,
            deployment_application=svc.deployment_application.name if svc.deployment_application else None,
            deployment_group=svc.deployment_group.deployment_group_name if svc.deployment_group else None,
            deployment_config=svc.deployment_group.deployment_config_name if svc.deployment_group else None,
        )
    return DeployTarget(svc.settings.ecs_name, svc.settings.family, svc.task_role_arn, svc.execution_role_arn)


def _staging_outputs(svc: ServiceCompute | None) -> dict[str, object] | None:
    if svc is None:
        return None
    keys = ("service_name", "task_definition_family", "target_group_arn", "log_group_name")
    if isinstance(svc, LambdaService):
        keys = ("function_name", "target_group_arn", "log_group_name")
    return {k: svc.outputs[k] for k in keys}
