"""A Python Lambda function from ``functions/<name>/``, behind the shared ALB and/or on SNS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from .load_balancer import alb_only_rules, path_rule
from .python_function import VPC_NETWORK_INTERFACES, execution_role, log_group, python_function


@dataclass(frozen=True)
class SnsSubscription:
    """Subscribe the function to an SNS topic.

    Attributes:
        topic_arn: An existing topic, or None (default) to create an encrypted topic for it.
    """

    topic_arn: str | None = None


@dataclass(frozen=True)
class FunctionSettings:
    """A function's settings: plain data, from the validated stack config (``functions[]``).

    Attributes:
        name: The function's name in the config (``lambda-demo``).
        function_name: Physical name, for example ``devops-platform-prod-lambda-demo``.
        code_path: The directory packaged as the function's archive (``functions/<source>``).
        handler: Default ``handler.handler``.
        runtime: A supported Python runtime. Default ``python3.13``.
        memory_mb / timeout_seconds: Default 256 / 30.
        reserved_concurrency: Reserved executions, or None (default) for the shared pool.
        provisioned_concurrency: Pre-initialized executions on a ``live`` alias (which the ALB
            and SNS then invoke), or None (default) for none.
        environment: Environment variables.
        log_retention_days: Default 365.
        paths: Path patterns that put the function behind the ALB (1 to 5), or none (default).
        priority / target_group_name: The listener rule's priority and the lambda target
            group's physical name (at most 32 characters); required with ``paths``.
        vpc: Run in the VPC's private subnets. Default False.
        sns: Subscribe to a topic, or None (default).
    """

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
    log_retention_days: int = 365
    paths: Sequence[str] = ()
    priority: int | None = None
    target_group_name: str | None = None
    vpc: bool = False
    sns: SnsSubscription | None = None

    def __post_init__(self) -> None:
        if not self.code_path.is_dir():
            raise ValueError(f"code_path {self.code_path} is not a directory")
        if len(self.paths) > 5:
            raise ValueError("a listener rule takes 1 to 5 path patterns")
        if bool(self.paths) != (self.priority is not None) or bool(self.paths) != (self.target_group_name is not None):
            raise ValueError("paths, priority and target_group_name go together")


@dataclass(frozen=True)
class VpcPlacement:
    """Where a function with ``vpc`` runs.

    Attributes:
        vpc_id / subnet_ids: The VPC and its private subnets.
        load_balancer_security_group_id: The only source the function's group admits.
        private_egress: What the function needs before its code can reach anything outside the
            private subnets (the network's routes to the NAT gateways, its endpoints). Provisioned
            concurrency runs the code's initialization when it is allocated, so it waits for them.
            Default none.
    """

    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    load_balancer_security_group_id: pulumi.Input[str]
    private_egress: Sequence[pulumi.Resource] = ()


@dataclass(frozen=True)
class AlbFunctionArgs:
    """Inputs of :class:`AlbFunction`: its settings, and where it is placed.

    Attributes:
        settings: What the function is (:class:`FunctionSettings`).
        listener_arn: The listener its rule attaches to (required with ``settings.paths``).
        vpc: Its VPC placement (required with ``settings.vpc``).
    """

    settings: FunctionSettings
    listener_arn: pulumi.Input[str] | None = None
    vpc: VpcPlacement | None = None

    def __post_init__(self) -> None:
        if bool(self.settings.paths) != (self.listener_arn is not None):
            raise ValueError("listener_arn is required with paths, and only with them")
        if self.settings.vpc != (self.vpc is not None):
            raise ValueError("vpc placement is required with settings.vpc, and only with it")


class AlbFunction(pulumi.ComponentResource):
    """A Lambda function and what invokes it.

    Creates, with ``name`` as the prefix:

    - ``{name}-logs``: ``/aws/lambda/{function_name}`` with retention; the function logs JSON to it.
    - ``{name}-role`` / ``{name}-policy``: writes to that log group only (plus, in a VPC, the
      network-interface actions Lambda needs, which AWS scopes only to ``*``).
    - ``{name}-function``: the function, the top-level ``.py`` files of ``code_path`` packaged by
      Pulumi (no Docker; its tests stay out).
    - With provisioned concurrency: ``{name}-alias`` (``live``) and ``{name}-provisioned``.
    - With a route: ``{name}-tg`` (lambda target group), ``{name}-alb-permission`` (invoke, for
      ``elasticloadbalancing.amazonaws.com``, only from that target group), ``{name}-attachment``
      (after the permission, or ELB refuses it) and ``{name}-rule``.
    - With a VPC: ``{name}-sg``, admitting the ALB's group only, with HTTPS out.
    - With SNS: optionally ``{name}-topic`` (encrypted), ``{name}-sns-permission`` (only from that
      topic) and ``{name}-subscription``.
    """

    def __init__(self, name: str, args: AlbFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:compute:AlbFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.settings = settings = args.settings

        logs = log_group(name, settings, child)
        statements: list[dict[str, object]] = []
        security_group = None
        if args.vpc is not None:
            statements.append(VPC_NETWORK_INTERFACES)
            security_group = self._security_group(name, args)
        execution = execution_role(name, settings, logs, statements, child)
        function = python_function(
            name,
            settings,
            execution,
            self,
            publish=settings.provisioned_concurrency is not None,
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=args.vpc.subnet_ids, security_group_ids=[security_group.id]
            )
            if args.vpc is not None and security_group is not None
            else None,
        )

        invoke_arn: pulumi.Output[str] = function.arn
        qualifier: str | None = None
        if settings.provisioned_concurrency is not None:
            alias = aws.lambda_.Alias(
                f"{name}-alias", name="live", function_name=function.name, function_version=function.version, opts=child
            )
            aws.lambda_.ProvisionedConcurrencyConfig(
                f"{name}-provisioned",
                function_name=function.name,
                qualifier=alias.name,
                provisioned_concurrent_executions=settings.provisioned_concurrency,
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=list(args.vpc.private_egress) if args.vpc else [])),
            )
            invoke_arn, qualifier = alias.arn, "live"

        self.target_group_arn: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if args.listener_arn is not None:
            self._route(name, settings, args.listener_arn, function, invoke_arn, qualifier)
        self.sns_topic_arn: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if settings.sns is not None:
            self._subscribe(name, settings.sns, function, invoke_arn, qualifier)

        self.function_name = function.name
        self.function_arn = function.arn
        self.outputs: dict[str, pulumi.Input[object]] = {
            "function_name": function.name,
            "function_arn": function.arn,
            "function_invoke_arn": invoke_arn,
            "log_group_name": logs.name,
            "target_group_arn": self.target_group_arn,
            "sns_topic_arn": self.sns_topic_arn,
        }
        self.register_outputs(self.outputs)

    def _security_group(self, name: str, args: AlbFunctionArgs) -> aws.ec2.SecurityGroup:
        assert args.vpc is not None
        child = pulumi.ResourceOptions(parent=self)
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc.vpc_id,
            description=f"{args.settings.function_name}: from the ALB only",
            tags={"Name": args.settings.function_name},
            opts=child,
        )
        # The ALB invokes a Lambda target through the Lambda API, not over this network path; the
        # rule keeps the seed's contract that nothing but the ALB's group is ever admitted.
        alb_only_rules(
            name,
            security_group_id=sg.id,
            load_balancer_security_group_id=args.vpc.load_balancer_security_group_id,
            port=443,
            egress_description="HTTPS out: AWS APIs",
            opts=child,
        )
        return sg

    def _route(
        self,
        name: str,
        settings: FunctionSettings,
        listener_arn: pulumi.Input[str],
        function: aws.lambda_.Function,
        invoke_arn: pulumi.Input[str],
        qualifier: str | None,
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        target_group = aws.lb.TargetGroup(
            f"{name}-tg", name=settings.target_group_name, target_type="lambda", opts=child
        )
        permission = aws.lambda_.Permission(
            f"{name}-alb-permission",
            action="lambda:InvokeFunction",
            function=function.name,
            qualifier=qualifier,
            principal="elasticloadbalancing.amazonaws.com",
            source_arn=target_group.arn,
            opts=child,
        )
        aws.lb.TargetGroupAttachment(
            f"{name}-attachment",
            target_group_arn=target_group.arn,
            target_id=invoke_arn,
            # ELB checks its invoke permission when the target is registered.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        path_rule(
            name,
            listener_arn=listener_arn,
            priority=settings.priority,  # type: ignore[arg-type]  # FunctionSettings: set with paths
            paths=settings.paths,
            target_group_arn=target_group.arn,
            opts=child,
        )
        self.target_group_arn = target_group.arn

    def _subscribe(
        self,
        name: str,
        sns: SnsSubscription,
        function: aws.lambda_.Function,
        invoke_arn: pulumi.Input[str],
        qualifier: str | None,
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        topic_arn: pulumi.Input[str] | None = sns.topic_arn
        if topic_arn is None:
            topic = aws.sns.Topic(
                f"{name}-topic",
                # SNS.1: encrypted at rest. The AWS-managed key suffices for publishers in this
                # account; CloudWatch alarms need a customer key (the observability topic).
                kms_master_key_id="alias/aws/sns",
                opts=child,
            )
            topic_arn = topic.arn
        permission = aws.lambda_.Permission(
            f"{name}-sns-permission",
            action="lambda:InvokeFunction",
            function=function.name,
            qualifier=qualifier,
            principal="sns.amazonaws.com",
            source_arn=topic_arn,
            opts=child,
        )
        aws.sns.TopicSubscription(
            f"{name}-subscription",
            topic=topic_arn,
            protocol="lambda",
            endpoint=invoke_arn,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        self.sns_topic_arn = pulumi.Output.from_input(topic_arn)
