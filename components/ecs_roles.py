"""The statements the pipeline role and the release project share for ECS: passing task roles, and
registering task definition revisions."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi

from . import iam


def pass_task_roles(role_arns: Sequence[pulumi.Input[str]]) -> dict[str, object]:
    """Pass exactly these roles, and only to ECS tasks."""
    return {
        "Sid": "PassTaskRoles",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": role_arns,
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    }


def revise_task_definitions(ctx: iam.AwsContext, families: Sequence[str], sid: str) -> list[dict[str, object]]:
    """Register revisions of exactly these families (the Service Authorization Reference lists the
    ``task-definition`` resource type for RegisterTaskDefinition), and describe task definitions,
    which it lists with no resource type: AWS accepts only "*" for that one (docs/security.md)."""
    return [
        {
            "Sid": sid,
            "Effect": "Allow",
            "Action": "ecs:RegisterTaskDefinition",
            "Resource": [ctx.arn("ecs", f"task-definition/{family}:*") for family in families],
        },
        {"Sid": "DescribeTaskDefinitions", "Effect": "Allow", "Action": "ecs:DescribeTaskDefinition", "Resource": "*"},
    ]
