"""What a Fargate service's task definition says, and what its execution role may do, rendered from
its settings: plain functions, no resources (helpers of :class:`~components.fargate_service.FargateService`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    from .fargate_service import FargateServiceArgs


def volume_name(path: str) -> str:
    """The task definition volume behind a writable path."""
    return "scratch" + path.replace("/", "-")


def container_definition(args: FargateServiceArgs, log_group: pulumi.Input[str]) -> dict[str, object]:
    """The service's one container: read-only root filesystem with scratch volumes, awslogs, an
    init process, secrets only from ``secrets``, and the container health check if configured."""
    settings = args.settings
    container: dict[str, object] = {
        "name": settings.name,
        "image": args.image,
        "essential": True,
        "portMappings": [{"containerPort": settings.port, "protocol": "tcp", "name": f"{settings.name}-http"}],
        "readonlyRootFilesystem": True,
        "privileged": False,
        "environment": [{"name": k, "value": v} for k, v in sorted(settings.environment.items())],
        "secrets": [{"name": k, "valueFrom": v} for k, v in sorted(settings.secrets.items())],
        "mountPoints": [
            {"sourceVolume": volume_name(p), "containerPath": p, "readOnly": False} for p in settings.writable_paths
        ],
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": args.context.region,
                "awslogs-stream-prefix": settings.name,
            },
        },
        # Reaps zombie processes and forwards signals when the app is not PID 1-aware.
        "linuxParameters": {"initProcessEnabled": True},
    }
    if settings.stop_timeout_seconds is not None:
        container["stopTimeout"] = settings.stop_timeout_seconds
    if settings.health_check.container_command:
        container["healthCheck"] = {
            "command": ["CMD-SHELL", *settings.health_check.container_command],
            "interval": settings.health_check.interval_seconds,
            "timeout": settings.health_check.timeout_seconds,
            "retries": settings.health_check.unhealthy_threshold,
            "startPeriod": min(settings.health_check.grace_period_seconds, 300),
        }
    return container


def execution_statements(args: FargateServiceArgs, log_group_arn: pulumi.Output[str]) -> list[dict[str, object]]:
    """What ECS may do for the task: pull from the service's repository, write its log group,
    and read exactly its configured secrets."""
    settings = args.settings
    statements: list[dict[str, object]] = [
        {
            "Sid": "PullServiceImage",
            "Effect": "Allow",
            "Action": ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            "Resource": args.repository_arn,
        },
        {
            # GetAuthorizationToken has no resource-level permissions: AWS accepts only "*" here.
            "Sid": "EcrLogin",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "WriteContainerLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": pulumi.Output.concat(log_group_arn, ":log-stream:*"),
        },
    ]
    return statements + secret_statements(settings.secrets)


def secret_statements(secrets: Mapping[str, str]) -> list[dict[str, object]]:
    """Read exactly these secrets (variable name to SSM parameter or Secrets Manager ARN): ECS's
    execution role on Fargate, the function's role on Lambda."""
    statements: list[dict[str, object]] = []
    ssm = sorted({v for v in secrets.values() if ":ssm:" in v})
    arns = sorted({arn for v in secrets.values() if ":secretsmanager:" in v for arn in _secret_arns(v)})
    if ssm:
        statements.append({"Sid": "ReadParameters", "Effect": "Allow", "Action": "ssm:GetParameters", "Resource": ssm})
    if arns:
        statements.append(
            {"Sid": "ReadSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": arns}
        )
    return statements


def _secret_arns(value_from: str) -> tuple[str, str]:
    """The secret's ARN as given, and with AWS's random 6-character suffix for a partial ARN.

    ``valueFrom`` may append ``:json-key:version-stage:version-id`` to the secret's own ARN (the
    first 7 fields); IAM matches the secret's full ARN, which ends in ``-XXXXXX``.
    """
    base = ":".join(value_from.split(":")[:7])
    return base, base + "-??????"

