"""The iam:PassRole statement for ECS task roles, shared by the pipeline role and the release project."""

from __future__ import annotations

from collections.abc import Sequence

import pulumi


def pass_task_roles(role_arns: Sequence[pulumi.Input[str]]) -> dict[str, object]:
    """Pass exactly these roles, and only to ECS tasks."""
    return {
        "Sid": "PassTaskRoles",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": role_arns,
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    }
