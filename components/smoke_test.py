"""The region's smoke-test function (``functions/smoke_test``): ECS calls it as the lifecycle hook
of every service with ``deployment.smokeTest``, once test traffic runs on the new tasks and before
any production traffic does. It requests the service's smoke path through the test listener."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from .python_function import VPC_NETWORK_INTERFACES, execution_role, log_group, python_function

CODE_PATH = Path(__file__).resolve().parent.parent / "functions" / "smoke_test"


@dataclass(frozen=True)
class SmokeTestSettings:
    """The function's settings: plain data, from the validated stack config.

    Attributes:
        function_name: Physical name, ``{prefix}-smoke-test``.
        test_port: The test listener's port, the only one its security group may reach.
        log_retention_days: Default 365.
        memory_mb / timeout_seconds: Default 128 / 60 (one request per call; ECS calls again for
            as long as the function answers IN_PROGRESS).
    """

    function_name: str
    test_port: int
    log_retention_days: int = 365
    memory_mb: int = 128
    timeout_seconds: int = 60
    code_path: Path = CODE_PATH
    handler: str = "handler.handler"
    runtime: str = "python3.13"
    reserved_concurrency: int | None = None
    environment: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SmokeTestFunctionArgs:
    """Inputs of :class:`SmokeTestFunction`.

    Attributes:
        settings: :class:`SmokeTestSettings`.
        vpc_id / subnet_ids: The VPC and its private subnets, whose NAT gateways the test listener
            admits.
    """

    settings: SmokeTestSettings
    vpc_id: pulumi.Input[str]
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]


class SmokeTestFunction(pulumi.ComponentResource):
    """A Lambda function ECS invokes as a deployment lifecycle hook.

    Creates, with ``name`` as the prefix:

    - ``{name}-logs``, ``{name}-role`` / ``{name}-policy``: its log group and a role that may write
      to it and manage its network interfaces, nothing else (it calls no AWS API);
    - ``{name}-sg``: no ingress; egress only to the test listener's port. The destination is the
      ALB's public address, reached through the NAT gateways, so no security group can name it;
    - ``{name}-function``: the function, in the private subnets.

    ECS invokes it with each progressive service's deploy role (``lambda:InvokeFunction`` on this
    function only), so it needs no resource-based permission.
    """

    def __init__(self, name: str, args: SmokeTestFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:compute:SmokeTestFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        settings = args.settings
        logs = log_group(name, settings, child)
        execution = execution_role(name, settings, logs, [VPC_NETWORK_INTERFACES], child)
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"{settings.function_name}: out to the test listener only",
            tags={"Name": settings.function_name},
            opts=child,
        )
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-test-listener",
            security_group_id=sg.id,
            ip_protocol="tcp",
            from_port=settings.test_port,
            to_port=settings.test_port,
            cidr_ipv4="0.0.0.0/0",
            description="the ALB's test listener, at its public address (through NAT)",
            opts=child,
        )
        function = python_function(
            name,
            settings,
            execution,
            self,
            description="Smoke-tests a new service revision on the test listener (ECS lifecycle hook)",
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(subnet_ids=args.subnet_ids, security_group_ids=[sg.id]),
        )
        self.function_arn = function.arn
        self.function_name = function.name
        self.outputs: dict[str, pulumi.Input[object]] = {
            "function_name": function.name,
            "function_arn": function.arn,
            "log_group_name": logs.name,
            "security_group_id": sg.id,
        }
        self.register_outputs(self.outputs)
