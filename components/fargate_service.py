"""A Fargate service behind the shared ALB: task definition, roles, target group, rule, scaling.

Ownership with the pipeline. The pipeline deploys new images; this component must never undo
that. The split:

- The image: the pipeline publishes the image it deployed to the SSM parameter
  ``/{prefix}/images/{service}``; the region reads every published image with one
  ``get_parameters_by_path_output`` call and passes it in ``image``. Until the first publish
  the bootstrap image is used. So ``pulumi up`` renders the task definition with the image that
  is running: a config change (CPU, environment ...) rolls out with the current image, and
  nothing rolls a service back to an older one.
- The task count: Application Auto Scaling owns it after creation, so the service ignores
  changes to ``desiredCount``; ``desired_count`` is only the count the service starts with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import iam
from .alarms import DEPLOYMENT_ALARMS, ServiceAlarms, service_alarm_specs, service_alarms
from .load_balancer import alb_only_rules, path_rule
from .progressive import (
    SERVICE_OWNED_BY_ECS,
    Traffic,
    declare_traffic,
    deployment_configuration,
    hook_details,
)
from .service_settings import FARGATE_SERVICE_TYPE, LAMBDA_SERVICE_TYPE, ServiceSettings, flip_aliases
from .task_definition import container_definition, execution_statements, volume_name


@dataclass(frozen=True)
class FargateServiceArgs:
    """Inputs of :class:`FargateService`: its settings, and where it is placed.

    Attributes:
        settings: What the service is (:class:`ServiceSettings`).
        context: Account, partition and region.
        cluster_arn / cluster_name: The region's ECS cluster.
        vpc_id / private_subnet_ids: Where tasks run. Tasks never get a public IP.
        load_balancer_security_group_id: The ALB's group, the only source admitted to the port.
        listener_arn: The listener the path rule attaches to.
        load_balancer_arn_suffix: For the requests-per-target scaling metric and the alarms.
        image: The image to run (see the module docstring).
        repository_arn: The service's ECR repository; the execution role may pull from it only.
        alarm_topic_arn: Where the alarms notify (required with ``settings.alarms``).
        test_listener_arn: The region's test listener (required with a progressive deployment).
        test_origin: ``scheme://host:port`` of the test listener (required with a smoke test).
        smoke_test_function_arn: The function ECS runs the smoke test with (required with one).
        private_egress: What tasks in the private subnets need before they can pull their image
            (the network's routes to the NAT gateways, its endpoints): the service waits for them.
            Default none.
    """

    settings: ServiceSettings
    context: iam.AwsContext
    cluster_arn: pulumi.Input[str]
    cluster_name: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    load_balancer_security_group_id: pulumi.Input[str]
    listener_arn: pulumi.Input[str]
    load_balancer_arn_suffix: pulumi.Input[str]
    image: pulumi.Input[str]
    repository_arn: pulumi.Input[str]
    alarm_topic_arn: pulumi.Input[str] | None = None
    test_listener_arn: pulumi.Input[str] | None = None
    test_origin: pulumi.Input[str] | None = None
    smoke_test_function_arn: pulumi.Input[str] | None = None
    private_egress: Sequence[pulumi.Resource] = ()

    def __post_init__(self) -> None:
        if self.settings.alarms is not None and self.alarm_topic_arn is None:
            raise ValueError("alarms need alarm_topic_arn")
        deployment = self.settings.deployment
        if self.settings.ecs_progressive and self.test_listener_arn is None:
            raise ValueError(f"a {deployment.strategy} deployment needs test_listener_arn")
        if deployment.smoke_test is not None and (self.test_origin is None or self.smoke_test_function_arn is None):
            raise ValueError("a smoke test needs test_origin and smoke_test_function_arn")


class FargateService(pulumi.ComponentResource):
    """A Fargate service in private subnets, reached only through the shared ALB.

    Creates, with ``name`` as the prefix:

    - ``{name}-logs``: the container log group, with retention.
    - ``{name}-execution-role`` / ``-execution-policy``: pulls from this service's repository,
      writes to its log group, and reads exactly its configured secrets.
    - ``{name}-task-role`` (and ``-task-policy`` if ``task_policy``): what the app may call; nothing
      by default.
    - ``{name}-task``: the task definition: read-only root filesystem with scratch volumes,
      awslogs, no privileged mode, secrets only through ``secrets``.
    - ``{name}-tg``: an IP target group with the service's health check.
    - ``{name}-sg``: the tasks' group: the port from the ALB's group only, and HTTPS out (AWS
      APIs and image pulls); ``{name}-alb-egress`` lets the ALB's group reach this port only.
    - ``{name}-rule``: the listener rule, path patterns to the target group.
    - Mode ``service``: ``{name}-service`` (no public IP, circuit breaker with rollback, grace
      period; ``desiredCount`` owned by autoscaling), and unless ``autoscale`` is off
      ``{name}-scaling-target`` and ``{name}-scale-cpu`` / ``-scale-memory`` / ``-scale-requests``
      policies.
    - With ``alarms``: ``{name}-alarm-5xx`` / ``-latency`` / ``-unhealthy`` on the target group,
      and for mode ``service`` ``{name}-alarm-cpu`` / ``-memory``; the 5XX and unhealthy alarms
      also roll back a failing deployment.
    """

    def __init__(self, name: str, args: FargateServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(FARGATE_SERVICE_TYPE, name, None, opts)
        self.args = args
        self.settings = settings = args.settings
        if settings.compute != "fargate":
            raise ValueError(f"{settings.name} runs on {settings.compute}: use LambdaService")
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.context
        # The route and the alarms both computes share: what a flip to Lambda keeps (service_settings.py).
        self._shared = flip_aliases(name, opts, LAMBDA_SERVICE_TYPE)

        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs", name=settings.log_group_name, retention_in_days=settings.log_retention_days, opts=child
        )

        execution_role = aws.iam.Role(
            f"{name}-execution-role",
            assume_role_policy=iam.service_trust("ecs-tasks.amazonaws.com", ctx),
            description=f"ECS pulls the image and writes logs for {settings.family}",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-execution-policy",
            role=execution_role.id,
            policy=iam.document(execution_statements(args, logs.arn)),
            opts=child,
        )
        task_source = ctx.arn("ecs", "*")
        task_role = aws.iam.Role(
            f"{name}-task-role",
            assume_role_policy=iam.service_trust("ecs-tasks.amazonaws.com", ctx, task_source),
            description=f"What the {settings.name} app may call (nothing unless the config grants it)",
            opts=child,
        )
        if settings.task_policy:
            aws.iam.RolePolicy(
                f"{name}-task-policy",
                role=task_role.id,
                policy=iam.document(
                    [
                        {"Effect": "Allow", "Action": list(g.actions), "Resource": list(g.resources)}
                        for g in settings.task_policy
                    ]
                ),
                opts=child,
            )

        task = aws.ecs.TaskDefinition(
            f"{name}-task",
            family=settings.family,
            cpu=str(settings.cpu),
            memory=str(settings.memory),
            network_mode="awsvpc",
            requires_compatibilities=["FARGATE"],
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture=settings.architecture
            ),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(name=volume_name(p)) for p in settings.writable_paths],
            container_definitions=pulumi.Output.json_dumps([container_definition(args, logs.name)]),
            opts=child,
        )

        target_group = self._target_group(f"{name}-tg", settings.target_group_name, args)

        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"{settings.family} tasks: {settings.port} from the ALB only",
            tags={"Name": f"{settings.family}-tasks"},
            opts=child,
        )
        alb_only_rules(
            name,
            security_group_id=sg.id,
            load_balancer_security_group_id=args.load_balancer_security_group_id,
            port=settings.port,
            egress_description="HTTPS out: AWS APIs and image pulls (through NAT or endpoints)",
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-alb-egress",
            security_group_id=args.load_balancer_security_group_id,
            referenced_security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=settings.port,
            to_port=settings.port,
            description=f"to {settings.name} tasks",
            opts=child,
        )

        self.traffic: Traffic | None = None
        if settings.ecs_progressive:
            assert settings.alternate_target_group_name is not None and args.test_listener_arn is not None
            self.traffic = declare_traffic(
                name,
                self,
                context=ctx,
                service_name=settings.name,
                priority=settings.priority,
                paths=settings.paths,
                listener_arn=args.listener_arn,
                test_listener_arn=args.test_listener_arn,
                live=target_group,
                alternate=self._target_group(f"{name}-tg-alt", settings.alternate_target_group_name, args),
                smoke_test_function_arn=args.smoke_test_function_arn if settings.deployment.smoke_test else None,
                rule_aliases=self._shared,
            )
            rule = self.traffic.production_rule
        else:
            rule = path_rule(
                name,
                listener_arn=args.listener_arn,
                priority=settings.priority,
                paths=settings.paths,
                target_group_arn=target_group.arn,
                opts=pulumi.ResourceOptions(parent=self, aliases=self._shared),
            )
        # After a progressive deployment the live traffic runs on the other group: everything that
        # reads a target group's metrics reads both.
        groups = [target_group] + ([self.traffic.alternate_target_group] if self.traffic else [])

        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        if settings.alarms is not None:
            self._alarms(name, args, settings.alarms, groups)

        self.service_name: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if settings.mode == "service":
            self._service(name, args, task, target_group, sg, rule)

        self.task_definition_arn = task.arn
        self.task_definition_family = task.family
        self.target_group_arn = target_group.arn
        self.target_group_arn_suffix = target_group.arn_suffix
        self.target_group_arn_suffixes = [g.arn_suffix for g in groups]
        self.security_group_id = sg.id
        self.task_role_arn = task_role.arn
        self.execution_role_arn = execution_role.arn
        self.log_group_name = logs.name
        self.outputs: dict[str, pulumi.Input[object]] = {
            "compute": "fargate",
            "mode": settings.mode,
            "service_name": self.service_name,
            "task_definition_family": self.task_definition_family,
            "task_definition_arn": self.task_definition_arn,
            "target_group_arn": self.target_group_arn,
            "security_group_id": self.security_group_id,
            "task_role_arn": self.task_role_arn,
            "execution_role_arn": self.execution_role_arn,
            "log_group_name": self.log_group_name,
            "container_port": settings.port,
            "alarm_names": {k: a.name for k, a in self.alarms.items()},
            "deployment_strategy": settings.deployment.strategy,
            "alternate_target_group_arn": self.traffic.alternate_target_group.arn if self.traffic else None,
            "test_listener_rule_arn": self.traffic.test_rule.arn if self.traffic else None,
        }
        self.register_outputs(self.outputs)

    def _target_group(self, logical: str, physical: str, args: FargateServiceArgs) -> aws.lb.TargetGroup:
        hc = self.settings.health_check
        return aws.lb.TargetGroup(
            logical,
            name=physical,
            port=self.settings.port,
            protocol="HTTP",
            target_type="ip",
            vpc_id=args.vpc_id,
            # Draining for the ALB's default 300 s makes every deploy and scale-in wait five minutes.
            deregistration_delay=30,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                path=hc.path,
                protocol="HTTP",
                port="traffic-port",
                matcher=hc.matcher,
                interval=hc.interval_seconds,
                timeout=hc.timeout_seconds,
                healthy_threshold=hc.healthy_threshold,
                unhealthy_threshold=hc.unhealthy_threshold,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _alarms(
        self, name: str, args: FargateServiceArgs, alarms: ServiceAlarms, groups: Sequence[aws.lb.TargetGroup]
    ) -> None:
        on_target_groups = [{"TargetGroup": g.arn_suffix, "LoadBalancer": args.load_balancer_arn_suffix} for g in groups]
        on_service = {"ClusterName": args.cluster_name, "ServiceName": self.settings.ecs_name}
        assert args.alarm_topic_arn is not None  # FargateServiceArgs checks it
        self.alarms = service_alarms(
            name,
            service_alarm_specs(alarms.thresholds, self.settings.mode),
            alarms,
            dimensions=lambda spec: on_service if spec.namespace == "AWS/ECS" else on_target_groups,
            topic_arn=args.alarm_topic_arn,
            parent=self,
            shared_aliases=self._shared,
        )

    def _service(
        self,
        name: str,
        args: FargateServiceArgs,
        task: aws.ecs.TaskDefinition,
        target_group: aws.lb.TargetGroup,
        sg: aws.ec2.SecurityGroup,
        rule: aws.lb.ListenerRule,
    ) -> None:
        settings, traffic = self.settings, self.traffic
        service = aws.ecs.Service(
            f"{name}-service",
            name=settings.ecs_name,
            cluster=args.cluster_arn,
            task_definition=task.arn,
            desired_count=settings.desired_count,
            # A capacity provider strategy and a launch type are mutually exclusive.
            launch_type="FARGATE" if settings.capacity_provider == "FARGATE" else None,
            capacity_provider_strategies=(
                [aws.ecs.ServiceCapacityProviderStrategyArgs(capacity_provider=settings.capacity_provider, weight=1)]
                if settings.capacity_provider != "FARGATE"
                else None
            ),
            platform_version="LATEST",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.private_subnet_ids, security_groups=[sg.id], assign_public_ip=False
            ),
            load_balancers=[
                aws.ecs.ServiceLoadBalancerArgs(
                    target_group_arn=target_group.arn,
                    container_name=settings.name,
                    container_port=settings.port,
                    advanced_configuration=aws.ecs.ServiceLoadBalancerAdvancedConfigurationArgs(
                        alternate_target_group_arn=traffic.alternate_target_group.arn,
                        production_listener_rule=traffic.production_rule.arn,
                        test_listener_rule=traffic.test_rule.arn,
                        role_arn=traffic.role.arn,
                    )
                    if traffic
                    else None,
                )
            ],
            deployment_configuration=deployment_configuration(
                settings.deployment,
                hook_role_arn=traffic.role.arn,
                hook_function_arn=args.smoke_test_function_arn,
                hook_details=hook_details(
                    settings.name,
                    pulumi.Output.concat(args.test_origin, settings.deployment.smoke_test.path),  # type: ignore[arg-type]
                    settings.deployment.smoke_test,
                )
                if settings.deployment.smoke_test
                else None,
            )
            if traffic
            else None,
            # The circuit breaker catches tasks that never start. ECS's API reference documents it
            # for rolling deployments only, so progressive ones rely on the alarms below and the
            # smoke test (docs/delivery.md, "How a release reaches production").
            deployment_circuit_breaker=None
            if traffic
            else aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            # These catch tasks that start and then fail their users (5XX, unhealthy targets)
            # during the deployment and its bake time, with every strategy.
            alarms=aws.ecs.ServiceAlarmsArgs(
                alarm_names=[self.alarms[k].name for k in DEPLOYMENT_ALARMS], enable=True, rollback=True
            )
            if self.alarms
            else None,
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            health_check_grace_period_seconds=settings.health_check.grace_period_seconds,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            wait_for_steady_state=False,
            opts=pulumi.ResourceOptions(
                parent=self,
                # ECS refuses a target group that no listener rule references yet, and a progressive
                # service checks its role's permissions on both rules when it is created. Its first
                # tasks start at once: without their subnet's route to the NAT gateway they cannot
                # pull their image, and the circuit breaker may fail the service's first deployment.
                depends_on=[rule, *([traffic.test_rule, traffic.policy] if traffic else []), *args.private_egress],
                # Autoscaling owns the count after creation (module docstring); with a progressive
                # strategy ECS also swaps which target group is live (components/progressive.py).
                ignore_changes=(["desiredCount"] if settings.autoscale else []) + (SERVICE_OWNED_BY_ECS if traffic else []),
            ),
        )
        self.service_name = service.name
        if not settings.autoscale:
            return
        scaling = settings.autoscaling
        target = aws.appautoscaling.Target(
            f"{name}-scaling-target",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", args.cluster_name, "/", service.name),
            min_capacity=scaling.min_capacity,
            max_capacity=scaling.max_capacity,
            opts=pulumi.ResourceOptions(parent=self),
        )
        metrics: list[tuple[str, str, int, pulumi.Input[str] | None]] = []
        if scaling.cpu_target is not None:
            metrics.append(("cpu", "ECSServiceAverageCPUUtilization", scaling.cpu_target, None))
        if scaling.memory_target is not None:
            metrics.append(("memory", "ECSServiceAverageMemoryUtilization", scaling.memory_target, None))
        if scaling.requests_per_target is not None:
            label = pulumi.Output.concat(args.load_balancer_arn_suffix, "/", target_group.arn_suffix)
            metrics.append(("requests", "ALBRequestCountPerTarget", scaling.requests_per_target, label))
        for key, metric, value, label in metrics:
            aws.appautoscaling.Policy(
                f"{name}-scale-{key}",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
                    target_value=value,
                    scale_in_cooldown=scaling.scale_in_cooldown_seconds,
                    scale_out_cooldown=scaling.scale_out_cooldown_seconds,
                    predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                        predefined_metric_type=metric, resource_label=label
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
