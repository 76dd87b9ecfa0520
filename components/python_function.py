"""The parts every Python Lambda function of the platform shares: its archive, its log group and
execution role, and the function resource itself.

Not a component: helpers for :class:`~components.alb_function.AlbFunction` and
:class:`~components.event_function.EventFunction`, which keep their own logical names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws

from . import iam


class PythonCode(Protocol):
    """What both functions' Args say about the code and how it runs."""

    function_name: str
    code_path: Path
    handler: str
    runtime: str
    memory_mb: int
    timeout_seconds: int
    reserved_concurrency: int | None
    environment: Mapping[str, pulumi.Input[str]]
    log_retention_days: int


# Lambda manages a VPC function's network interfaces with its execution role; EC2 offers no
# resource scoping for creating or describing them (docs/security.md).
VPC_NETWORK_INTERFACES = {
    "Sid": "VpcNetworkInterfaces",
    "Effect": "Allow",
    "Action": [
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DeleteNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ],
    "Resource": "*",
}


def package(code_path: Path) -> pulumi.AssetArchive:
    """The function's archive: the directory's top-level ``.py`` files only, so its tests,
    fakes and caches never ship."""
    return pulumi.AssetArchive({p.name: pulumi.FileAsset(str(p)) for p in sorted(code_path.glob("*.py"))})


@dataclass(frozen=True)
class ExecutionRole:
    """``{name}-logs``, ``{name}-role`` and ``{name}-policy``."""

    logs: aws.cloudwatch.LogGroup
    role: aws.iam.Role
    policy: aws.iam.RolePolicy


def log_group(name: str, code: PythonCode, opts: pulumi.ResourceOptions) -> aws.cloudwatch.LogGroup:
    """``/aws/lambda/{function_name}``, created before the function so retention applies from the
    first invocation."""
    return aws.cloudwatch.LogGroup(
        f"{name}-logs", name=f"/aws/lambda/{code.function_name}", retention_in_days=code.log_retention_days, opts=opts
    )


def execution_role(
    name: str,
    code: PythonCode,
    logs: aws.cloudwatch.LogGroup,
    statements: Sequence[Mapping[str, Any]],
    opts: pulumi.ResourceOptions,
) -> ExecutionRole:
    """A role Lambda alone may assume, allowed to write to ``logs`` and whatever ``statements`` say."""
    role = aws.iam.Role(
        f"{name}-role",
        # Lambda does not pass aws:SourceAccount/SourceArn when it assumes an execution role,
        # so the trust policy cannot be narrowed further than the service.
        assume_role_policy=iam.document(
            [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
        ),
        description=f"Runs {code.function_name}",
        opts=opts,
    )
    write_logs = {
        "Sid": "WriteLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": pulumi.Output.concat(logs.arn, ":log-stream:*"),
    }
    policy = aws.iam.RolePolicy(
        f"{name}-policy", role=role.id, policy=iam.document([write_logs, *statements]), opts=opts
    )
    return ExecutionRole(logs, role, policy)


def python_function(
    name: str, code: PythonCode, execution: ExecutionRole, parent: pulumi.Resource, **extra: Any
) -> aws.lambda_.Function:
    """``{name}-function``, logging JSON to its log group; ``extra`` are further Function arguments."""
    return aws.lambda_.Function(
        f"{name}-function",
        name=code.function_name,
        role=execution.role.arn,
        runtime=code.runtime,
        handler=code.handler,
        code=package(code.code_path),
        memory_size=code.memory_mb,
        timeout=code.timeout_seconds,
        reserved_concurrent_executions=code.reserved_concurrency,
        environment=aws.lambda_.FunctionEnvironmentArgs(variables=dict(sorted(code.environment.items())))
        if code.environment
        else None,
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(log_format="JSON", log_group=execution.logs.name),
        # Without its permissions in place, the first invocations would fail or lose their logs.
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[execution.policy]),
        **extra,
    )
