"""A service's container image as a Lambda function behind the shared ALB (``compute: lambda``).

The same image runs on Fargate and on Lambda: the AWS Lambda Web Adapter, copied into the image,
turns the ALB's invocations into HTTP requests on ``$PORT`` and does nothing outside Lambda.

Bootstrap. Lambda accepts only an image that is in the account's ECR, and a new service's
repository is empty until its pipeline's first release. So the function's code follows the image
the pipeline last published (``/{prefix}/images/{service}``, the same parameter as on Fargate):

- none yet: a zip function from ``functions/image_pending`` that answers every request with a
  503 JSON naming the service, its parameter and what happens next;
- published: ``packageType Image`` from the service's repository.

Lambda cannot change a function's package type, so the first ``pulumi up`` after the first
release replaces the function (deleted first: its name is fixed), and with it the alias, the ELB
permission, the target-group attachment and any provisioned concurrency. The listener rule and
the target group stay. docs/lambda-compute.md.

Ownership with the pipeline. The pipeline updates the function's image, publishes a version and
has CodeDeploy shift the ``live`` alias to it (canary, linear or all at once), rolling back on the
service's alarms; its Release action records the image. ``pulumi up`` renders that recorded
image, so it never puts an older one back, and it leaves the alias's routing weights, which
CodeDeploy sets during a shift, alone (``ignore_changes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from . import iam
from .alarms import LAMBDA_DEPLOYMENT_ALARMS, ServiceAlarms, lambda_service_alarm_specs, service_alarms
from .load_balancer import path_rule
from .python_function import VPC_NETWORK_INTERFACES, execution_role, log_group, package
from .service_settings import FARGATE_SERVICE_TYPE, LAMBDA_SERVICE_TYPE, ServiceSettings, flip_aliases
from .task_definition import secret_statements

PENDING_CODE = Path(__file__).resolve().parent.parent / "functions" / "image_pending"
PENDING_RUNTIME = "python3.13"
ALIAS = "live"
# What CodeDeploy sets on the alias during a shift (and clears after it): never put back.
ALIAS_OWNED_BY_CODEDEPLOY = ["routingConfig"]
# CodeDeploy's own configuration for shifting all traffic at once.
ALL_AT_ONCE = "CodeDeployDefault.LambdaAllAtOnce"


def image_pending(image: str | None) -> bool:
    return not image


@dataclass(frozen=True)
class LambdaServiceArgs:
    """Inputs of :class:`LambdaService`: its settings, and where it is placed.

    Attributes:
        settings: What the service is (:class:`~components.service_settings.ServiceSettings`,
            compute ``lambda``).
        context: Account, partition and region.
        vpc_id / private_subnet_ids: Where the function runs.
        listener_arn: The listener the path rule attaches to.
        load_balancer_arn_suffix: For the target group's alarms.
        image: The image the pipeline last published, or None before its first release (module
            docstring).
        image_parameter: The SSM parameter the pipeline records the image in (for the 503 message).
        repository_arn: The service's ECR repository; the role may pull from it only.
        pull_permission: The repository policy that lets Lambda pull the image; the function waits
            for it (CreateFunction fails without it).
        alarm_topic_arn: Where the alarms notify (required with ``settings.alarms``).
        codedeploy: Declare the CodeDeploy application and deployment group the pipeline's
            production stage shifts the alias with (rolling back on the 5XX and errors alarms, if
            the service has alarms). Default False (a staging copy, or no pipeline).
        private_egress: What the function needs before its code can reach anything outside the
            private subnets (the network's routes to the NAT gateways, its endpoints). Provisioned
            concurrency runs the code's initialization when it is allocated, so it waits for them.
            Default none.
    """

    settings: ServiceSettings
    context: iam.AwsContext
    vpc_id: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    listener_arn: pulumi.Input[str]
    load_balancer_arn_suffix: pulumi.Input[str]
    image: pulumi.Input[str | None]
    image_parameter: str
    repository_arn: pulumi.Input[str]
    pull_permission: pulumi.Resource | None = None
    alarm_topic_arn: pulumi.Input[str] | None = None
    codedeploy: bool = False
    private_egress: Sequence[pulumi.Resource] = ()

    def __post_init__(self) -> None:
        if self.settings.compute != "lambda" or self.settings.lambda_settings is None:
            raise ValueError(f"{self.settings.name} runs on {self.settings.compute}: use FargateService")
        if self.settings.alarms is not None and self.alarm_topic_arn is None:
            raise ValueError("alarms need alarm_topic_arn")


class LambdaService(pulumi.ComponentResource):
    """A service on Lambda, in private subnets, reached only through the shared ALB.

    Creates, with ``name`` as the prefix:

    - ``{name}-logs``: ``/aws/lambda/{function}``, with retention, before the function.
    - ``{name}-role`` / ``{name}-policy``: the function's role: its log group, the network
      interfaces Lambda manages in the VPC, pulls from this service's repository only, and reads
      exactly its configured secrets; ``{name}-task-policy`` with the config's ``taskPolicy``.
    - ``{name}-sg``: the function's group: nothing in (the ALB invokes it through the Lambda API),
      HTTPS out (``{name}-egress-https``).
    - ``{name}-function``: the image (or, before the first release, the 503 stub), in the private
      subnets, with the service's environment, memory, timeout and reserved concurrency; replaced
      when its package type changes.
    - ``{name}-alias`` (``live``): what the ALB invokes and CodeDeploy shifts; with provisioned
      concurrency ``{name}-provisioned`` on it.
    - ``{name}-tg`` (a lambda target group), ``{name}-alb-permission`` (invoke ``live``, for
      ``elasticloadbalancing.amazonaws.com``, only from that target group), ``{name}-attachment``
      (after the permission, or ELB refuses it) and ``{name}-rule`` (after the attachment, so the
      path never forwards to an empty group).
    - With ``alarms``: ``{name}-alarm-5xx`` / ``-latency`` on the target group (the same alarms as
      on Fargate) and ``{name}-alarm-errors`` / ``-throttles`` / ``-duration`` on the function.
    - With ``codedeploy``: ``{name}-codedeploy-app``, ``{name}-codedeploy-role`` /
      ``-codedeploy-policy`` (the alias and the alarms only), ``{name}-codedeploy-config`` (canary
      or linear) and ``{name}-codedeploy-group``, which rolls a shift back when the 5XX or errors
      alarm fires.
    """

    def __init__(self, name: str, args: LambdaServiceArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(LAMBDA_SERVICE_TYPE, name, None, opts)
        self.args = args
        self.settings = settings = args.settings
        lam = settings.lambda_settings
        assert lam is not None  # LambdaServiceArgs checks it
        child = pulumi.ResourceOptions(parent=self)
        # The route and the alarms both computes share: what a flip to Fargate keeps (service_settings.py).
        self._shared = shared = flip_aliases(name, opts, FARGATE_SERVICE_TYPE)

        logs = log_group(name, settings, child)
        execution = execution_role(name, settings, logs, self._statements(args), child)
        role, policy = execution.role, execution.policy
        grants = [
            aws.iam.RolePolicy(
                f"{name}-task-policy",
                role=role.id,
                policy=iam.document(
                    [{"Effect": "Allow", "Action": list(g.actions), "Resource": list(g.resources)} for g in settings.task_policy]
                ),
                opts=child,
            )
        ] if settings.task_policy else []  # fmt: skip

        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"{settings.function_name}: nothing in (invoked through the Lambda API), HTTPS out",
            tags={"Name": settings.function_name},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-https",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            cidr_ipv4="0.0.0.0/0",
            description="HTTPS out: AWS APIs (through NAT or endpoints)",
            opts=child,
        )

        image = pulumi.Output.from_input(args.image)
        self.image_pending = pending = image.apply(image_pending)
        environment = {k: v for k, v in sorted(settings.environment.items())}
        stub_environment = {"SERVICE_NAME": settings.name, "IMAGE_PARAMETER": args.image_parameter}
        function = aws.lambda_.Function(
            f"{name}-function",
            name=settings.function_name,
            description=f"The {settings.name} service's image on Lambda",
            role=role.arn,
            package_type=pending.apply(lambda p: "Zip" if p else "Image"),
            image_uri=image.apply(lambda i: i or None),
            code=pending.apply(lambda p: package(PENDING_CODE) if p else None),
            handler=pending.apply(lambda p: "handler.handler" if p else None),
            runtime=pending.apply(lambda p: PENDING_RUNTIME if p else None),
            architectures=[lam.architecture],
            memory_size=lam.memory_mb,
            timeout=lam.timeout_seconds,
            reserved_concurrent_executions=lam.reserved_concurrency,
            environment=pending.apply(
                lambda p: aws.lambda_.FunctionEnvironmentArgs(variables=stub_environment if p else environment)
            ),
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=args.private_subnet_ids, security_group_ids=[sg.id]),
            # A version per change: the alias points at versions, and CodeDeploy shifts between them.
            publish=True,
            opts=pulumi.ResourceOptions(
                parent=self,
                # Without its permissions (and Lambda's pull permission on the repository) in
                # place, creating the function fails or its first requests lose their logs.
                depends_on=[policy, logs, *grants, *([args.pull_permission] if args.pull_permission else [])],
                # The name is fixed, and the package type changes once (stub to image): the old
                # function must go before the new one can take its name.
                delete_before_replace=True,
            ),
        )
        # Whatever hangs off the function goes and comes back with it.
        with_function = pulumi.ResourceOptions(parent=self, replace_with=[function])
        alias = aws.lambda_.Alias(
            f"{name}-alias",
            name=ALIAS,
            function_name=function.name,
            function_version=function.version,
            description="What the ALB invokes; the pipeline's CodeDeploy shifts it to each new version",
            opts=pulumi.ResourceOptions.merge(with_function, pulumi.ResourceOptions(ignore_changes=ALIAS_OWNED_BY_CODEDEPLOY)),
        )
        if lam.provisioned_concurrency is not None:
            aws.lambda_.ProvisionedConcurrencyConfig(
                f"{name}-provisioned",
                function_name=function.name,
                qualifier=alias.name,
                provisioned_concurrent_executions=lam.provisioned_concurrency,
                opts=pulumi.ResourceOptions.merge(with_function, pulumi.ResourceOptions(depends_on=list(args.private_egress))),
            )

        target_group = aws.lb.TargetGroup(
            f"{name}-tg",
            name=settings.target_group_name,
            target_type="lambda",
            # The ALB does not health-check a Lambda target unless asked; a request's failure shows
            # in the 5XX and errors alarms instead, without health-check invocations.
            health_check=aws.lb.TargetGroupHealthCheckArgs(enabled=False),
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-alb-permission",
            action="lambda:InvokeFunction",
            function=function.name,
            qualifier=alias.name,
            principal="elasticloadbalancing.amazonaws.com",
            source_arn=target_group.arn,
            opts=with_function,
        )
        attachment = aws.lb.TargetGroupAttachment(
            f"{name}-attachment",
            target_group_arn=target_group.arn,
            target_id=alias.arn,
            # ELB checks its invoke permission when the target is registered.
            opts=pulumi.ResourceOptions.merge(with_function, pulumi.ResourceOptions(depends_on=[permission])),
        )
        rule = path_rule(
            name,
            listener_arn=args.listener_arn,
            priority=settings.priority,
            paths=settings.paths,
            target_group_arn=target_group.arn,
            # Forward only once the group has its target: on a flip from Fargate this is the moment
            # the path moves over.
            opts=pulumi.ResourceOptions(parent=self, aliases=shared, depends_on=[attachment]),
        )

        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        if settings.alarms is not None:
            self._alarms(name, args, settings.alarms, target_group)
        self.deployment_group: aws.codedeploy.DeploymentGroup | None = None
        self.deployment_application: aws.codedeploy.Application | None = None
        if args.codedeploy:
            self._codedeploy(name, args, function)

        self.function_name = function.name
        self.function_arn = function.arn
        self.alias_arn = alias.arn
        self.role_arn = role.arn
        self.target_group_arn = target_group.arn
        self.target_group_arn_suffix = target_group.arn_suffix
        self.target_group_arn_suffixes = [target_group.arn_suffix]
        self.security_group_id = sg.id
        self.log_group_name = logs.name
        self.rule = rule
        self.outputs: dict[str, pulumi.Input[object]] = {
            "compute": "lambda",
            "mode": settings.mode,
            "function_name": function.name,
            "function_arn": function.arn,
            "function_alias_arn": alias.arn,
            "function_package_type": function.package_type,
            "image_pending": pending,
            "target_group_arn": target_group.arn,
            "security_group_id": sg.id,
            "role_arn": role.arn,
            "log_group_name": logs.name,
            "container_port": settings.port,
            "alarm_names": {k: a.name for k, a in self.alarms.items()},
            "deployment_strategy": settings.deployment.strategy,
            "deployment_group_name": self.deployment_group.deployment_group_name if self.deployment_group else None,
        }
        self.register_outputs(self.outputs)

    @staticmethod
    def _statements(args: LambdaServiceArgs) -> list[dict[str, object]]:
        """Beyond writing its log group: its network interfaces, its image, its secrets."""
        return [
            VPC_NETWORK_INTERFACES,
            {
                # Lambda pulls with the repository policy (ContainerRegistry); this is the same
                # pull, for the function's own identity, and only from its own repository.
                "Sid": "PullServiceImage",
                "Effect": "Allow",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Resource": args.repository_arn,
            },
            *secret_statements(args.settings.secrets),
        ]

    def _alarms(self, name: str, args: LambdaServiceArgs, alarms: ServiceAlarms, target_group: aws.lb.TargetGroup) -> None:
        settings, lam = self.settings, self.settings.lambda_settings
        assert lam is not None and args.alarm_topic_arn is not None
        on_target_group = {"TargetGroup": target_group.arn_suffix, "LoadBalancer": args.load_balancer_arn_suffix}
        on_function = {"FunctionName": settings.function_name}
        self.alarms = service_alarms(
            name,
            lambda_service_alarm_specs(alarms.thresholds, lam.timeout_seconds, alarms.duration_percent),
            alarms,
            dimensions=lambda spec: on_function if spec.namespace == "AWS/Lambda" else on_target_group,
            topic_arn=args.alarm_topic_arn,
            parent=self,
            shared_aliases=self._shared,
        )

    def _codedeploy(self, name: str, args: LambdaServiceArgs, function: aws.lambda_.Function) -> None:
        settings, ctx = self.settings, args.context
        child = pulumi.ResourceOptions(parent=self)
        app = aws.codedeploy.Application(
            f"{name}-codedeploy-app", name=settings.function_name, compute_platform="Lambda", opts=child
        )
        role = aws.iam.Role(
            f"{name}-codedeploy-role",
            assume_role_policy=iam.service_trust("codedeploy.amazonaws.com", ctx),
            description=f"CodeDeploy shifts {settings.function_name}'s live alias",
            opts=child,
        )
        rollback_alarms = [self.alarms[k] for k in LAMBDA_DEPLOYMENT_ALARMS] if self.alarms else []
        statements: list[dict[str, object]] = [
            {
                # What AWS's managed AWSCodeDeployRoleForLambdaLimited allows, on this alias only.
                "Sid": "ShiftTheLiveAlias",
                "Effect": "Allow",
                "Action": ["lambda:GetAlias", "lambda:UpdateAlias", "lambda:GetProvisionedConcurrencyConfig"],
                "Resource": [function.arn, pulumi.Output.concat(function.arn, ":*")],
            }
        ]
        if rollback_alarms:
            statements.append(
                {
                    "Sid": "WatchTheRollbackAlarms",
                    "Effect": "Allow",
                    "Action": "cloudwatch:DescribeAlarms",
                    "Resource": [a.arn for a in rollback_alarms],
                }
            )
        policy = aws.iam.RolePolicy(f"{name}-codedeploy-policy", role=role.id, policy=iam.document(statements), opts=child)
        config_name = codedeploy_config_name(settings)
        configs: list[pulumi.Resource] = []
        if config_name != ALL_AT_ONCE:
            configs.append(
                aws.codedeploy.DeploymentConfig(
                    f"{name}-codedeploy-config",
                    deployment_config_name=config_name,
                    compute_platform="Lambda",
                    traffic_routing_config=traffic_routing(settings),
                    opts=child,
                )
            )
        self.deployment_application = app
        self.deployment_group = aws.codedeploy.DeploymentGroup(
            f"{name}-codedeploy-group",
            app_name=app.name,
            deployment_group_name=settings.function_name,
            service_role_arn=role.arn,
            deployment_config_name=config_name,
            deployment_style=aws.codedeploy.DeploymentGroupDeploymentStyleArgs(
                deployment_option="WITH_TRAFFIC_CONTROL", deployment_type="BLUE_GREEN"
            ),
            auto_rollback_configuration=aws.codedeploy.DeploymentGroupAutoRollbackConfigurationArgs(
                enabled=True, events=["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"]
            ),
            alarm_configuration=aws.codedeploy.DeploymentGroupAlarmConfigurationArgs(
                alarms=[a.name for a in rollback_alarms], enabled=True
            )
            if rollback_alarms
            else None,
            # CodeDeploy checks its role's permissions when the group is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, *configs]),
        )


def codedeploy_config_name(settings: ServiceSettings) -> str:
    """The deployment configuration a service's strategy maps to; a custom one is named after its
    values, so a change creates the new configuration before the group moves to it."""
    d = settings.deployment
    if d.strategy == "canary":
        return f"{settings.function_name}-canary-{int(d.canary_percent or 0)}pct-{d.canary_bake_minutes}min"
    if d.strategy == "linear":
        return f"{settings.function_name}-linear-{int(d.step_percent or 0)}pct-every-{d.step_bake_minutes}min"
    return ALL_AT_ONCE


def traffic_routing(settings: ServiceSettings) -> aws.codedeploy.DeploymentConfigTrafficRoutingConfigArgs:
    d = settings.deployment
    if d.strategy == "canary":
        return aws.codedeploy.DeploymentConfigTrafficRoutingConfigArgs(
            type="TimeBasedCanary",
            time_based_canary=aws.codedeploy.DeploymentConfigTrafficRoutingConfigTimeBasedCanaryArgs(
                percentage=int(d.canary_percent or 0), interval=d.canary_bake_minutes
            ),
        )
    return aws.codedeploy.DeploymentConfigTrafficRoutingConfigArgs(
        type="TimeBasedLinear",
        time_based_linear=aws.codedeploy.DeploymentConfigTrafficRoutingConfigTimeBasedLinearArgs(
            percentage=int(d.step_percent or 0), interval=d.step_bake_minutes
        ),
    )

