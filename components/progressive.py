"""Progressive delivery of a Fargate service with ECS's own strategies (BLUE_GREEN, CANARY,
LINEAR): the settings, and what they render to. Not a component: helpers of
:class:`~components.fargate_service.FargateService`.

How ECS does it (AWS's documentation, not observed here): a service with an alternate target
group and ``advancedConfiguration`` starts each new revision's tasks in the idle group, points the
test listener's rule at them, runs the lifecycle hooks, then rewrites the production rule's forward
weights (all at once, a canary share first, or in linear steps), keeps the old tasks for the bake
time, and rolls back if a deployment alarm fires or a hook fails. After a deployment the other
group is the live one.

Who owns what: ECS rewrites both listener rules' actions and swaps which target group is live, so
the program declares them once and ignores their later changes (``ignore_changes=["actions"]`` on
the rules, ``loadBalancers`` on the service); ``pulumi up`` never puts the traffic back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from . import iam
from .load_balancer import path_rule

# ECS's names for the strategies.
ECS_STRATEGIES = {"rolling": "ROLLING", "blueGreen": "BLUE_GREEN", "canary": "CANARY", "linear": "LINEAR"}
# Test traffic has moved to the new tasks and no production traffic has: where smoke tests belong
# (TEST_TRAFFIC_SHIFT is also run again on a rollback).
SMOKE_TEST_STAGE = "POST_TEST_TRAFFIC_SHIFT"
# What ECS rewrites on the rules and the service after creation.
RULE_OWNED_BY_ECS = ["actions"]
SERVICE_OWNED_BY_ECS = ["loadBalancers"]


@dataclass(frozen=True)
class SmokeTest:
    """A request the new tasks must answer on the test listener before production traffic.

    Attributes:
        path: The path requested (one of the service's own patterns matches it).
        expected_status: Status codes that pass. Default ``(200,)``.
        timeout_seconds: One request's timeout. Default 5.
        wait_seconds: How long to keep asking while the tasks do not answer yet. Default 300.
    """

    path: str
    expected_status: Sequence[int] = (200,)
    timeout_seconds: int = 5
    wait_seconds: int = 300


@dataclass(frozen=True)
class Deployment:
    """How a new revision reaches production traffic.

    Attributes:
        strategy: ``rolling`` (default), ``blueGreen``, ``canary`` or ``linear``.
        canary_percent / canary_bake_minutes: canary: the first share, and how long it stays.
        step_percent / step_bake_minutes: linear: each step's share, and the time between steps.
        bake_minutes: Progressive strategies: how long the old tasks stay after all traffic moved.
        smoke_test: Progressive strategies: a :class:`SmokeTest`, or None (default).
    """

    strategy: Literal["rolling", "blueGreen", "canary", "linear"] = "rolling"
    canary_percent: float | None = None
    canary_bake_minutes: int | None = None
    step_percent: float | None = None
    step_bake_minutes: int | None = None
    bake_minutes: int | None = None
    smoke_test: SmokeTest | None = None

    @property
    def progressive(self) -> bool:
        return self.strategy != "rolling"

    def __post_init__(self) -> None:
        if self.strategy == "canary" and (self.canary_percent is None or self.canary_bake_minutes is None):
            raise ValueError("canary needs canary_percent and canary_bake_minutes")
        if self.strategy == "linear" and (self.step_percent is None or self.step_bake_minutes is None):
            raise ValueError("linear needs step_percent and step_bake_minutes")
        if self.progressive and self.bake_minutes is None:
            raise ValueError(f"{self.strategy} needs bake_minutes")
        if not self.progressive and self.smoke_test is not None:
            raise ValueError("a smoke test needs a progressive strategy (test traffic)")


def weighted_forward(live: pulumi.Input[str], idle: pulumi.Input[str]) -> aws.lb.ListenerRuleActionArgs:
    """A forward action over both target groups, all weight on ``live``: the form ECS itself
    rewrites the rule into, so that ECS's first change is only to the weights."""
    return aws.lb.ListenerRuleActionArgs(
        type="forward",
        forward=aws.lb.ListenerRuleActionForwardArgs(
            target_groups=[
                aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=live, weight=100),
                aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=idle, weight=0),
            ]
        ),
    )


def deployment_configuration(
    deployment: Deployment,
    hook_role_arn: pulumi.Input[str] | None = None,
    hook_function_arn: pulumi.Input[str] | None = None,
    hook_details: pulumi.Input[str] | None = None,
) -> aws.ecs.ServiceDeploymentConfigurationArgs:
    """The service's ``deploymentConfiguration`` for a progressive strategy (the provider takes the
    minutes as strings)."""
    d = deployment
    hooks = None
    if d.smoke_test is not None:
        hooks = [
            aws.ecs.ServiceDeploymentConfigurationLifecycleHookArgs(
                hook_target_arn=hook_function_arn,  # type: ignore[arg-type]
                role_arn=hook_role_arn,  # type: ignore[arg-type]
                lifecycle_stages=[SMOKE_TEST_STAGE],
                hook_details=hook_details,
            )
        ]
    return aws.ecs.ServiceDeploymentConfigurationArgs(
        strategy=ECS_STRATEGIES[d.strategy],
        bake_time_in_minutes=str(d.bake_minutes),
        canary_configuration=aws.ecs.ServiceDeploymentConfigurationCanaryConfigurationArgs(
            canary_percent=d.canary_percent, canary_bake_time_in_minutes=str(d.canary_bake_minutes)
        )
        if d.strategy == "canary"
        else None,
        linear_configuration=aws.ecs.ServiceDeploymentConfigurationLinearConfigurationArgs(
            step_percent=d.step_percent, step_bake_time_in_minutes=str(d.step_bake_minutes)
        )
        if d.strategy == "linear"
        else None,
        lifecycle_hooks=hooks,
    )


def hook_details(service: str, url: pulumi.Input[str], smoke: SmokeTest) -> pulumi.Output[str]:
    """What ECS passes the smoke-test function on each call (functions/smoke_test/README.md)."""
    return pulumi.Output.json_dumps(
        {
            "service": service,
            "url": url,
            "expectedStatus": list(smoke.expected_status),
            "timeoutSeconds": smoke.timeout_seconds,
            "waitSeconds": smoke.wait_seconds,
        }
    )


@dataclass(frozen=True)
class Traffic:
    """What :func:`declare_traffic` declared for a progressive service."""

    alternate_target_group: aws.lb.TargetGroup
    production_rule: aws.lb.ListenerRule
    test_rule: aws.lb.ListenerRule
    role: aws.iam.Role
    policy: aws.iam.RolePolicy


def declare_traffic(
    name: str,
    parent: pulumi.Resource,
    *,
    context: iam.AwsContext,
    service_name: str,
    priority: int,
    paths: Sequence[str],
    listener_arn: pulumi.Input[str],
    test_listener_arn: pulumi.Input[str],
    live: aws.lb.TargetGroup,
    alternate: aws.lb.TargetGroup,
    smoke_test_function_arn: pulumi.Input[str] | None,
    rule_aliases: Sequence[pulumi.Alias] = (),
) -> Traffic:
    """Declare, as children of ``parent`` with ``name`` as the prefix:

    - ``{name}-rule``: the production rule, a weighted forward over both target groups;
    - ``{name}-test-rule``: the same paths on the test listener, which ECS points at new tasks;
    - ``{name}-deploy-role`` / ``-deploy-policy``: the role ECS rewrites exactly these two rules
      with, moves targets in exactly these two groups with, and (with a smoke test) invokes the
      smoke-test function with.

    Both rules ignore later changes to their actions: ECS owns the weights after creation.
    ``rule_aliases`` are the production rule's former URNs (a flip from Lambda compute).
    """
    owned_by_ecs = pulumi.ResourceOptions(parent=parent, ignore_changes=RULE_OWNED_BY_ECS)
    production = path_rule(
        name, listener_arn=listener_arn, priority=priority, paths=paths,
        action=weighted_forward(live.arn, alternate.arn),
        opts=pulumi.ResourceOptions.merge(owned_by_ecs, pulumi.ResourceOptions(aliases=list(rule_aliases))),
    )  # fmt: skip
    test = path_rule(
        f"{name}-test", listener_arn=test_listener_arn, priority=priority, paths=paths,
        action=weighted_forward(live.arn, alternate.arn), opts=owned_by_ecs,
    )  # fmt: skip
    role = aws.iam.Role(
        f"{name}-deploy-role",
        # The trust policy ECS documents for its infrastructure role, which has no condition: whether
        # ECS passes aws:SourceAccount when it assumes the role is not documented (docs/security.md).
        assume_role_policy=iam.document(
            [{"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]
        ),
        description=f"ECS shifts {service_name}'s traffic between its two target groups",
        opts=pulumi.ResourceOptions(parent=parent),
    )
    statements: list[dict[str, object]] = [
        {
            "Sid": "ShiftTrafficOnTheServiceRules",
            "Effect": "Allow",
            "Action": "elasticloadbalancing:ModifyRule",
            "Resource": [production.arn, test.arn],
        },
        {
            "Sid": "MoveTasksBetweenTheServiceGroups",
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            "Resource": [live.arn, alternate.arn],
        },
        {
            # Elastic Load Balancing's Describe* actions have no resource-level permissions.
            "Sid": "ReadLoadBalancing",
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
            ],
            "Resource": "*",
        },
    ]
    if smoke_test_function_arn is not None:
        statements.append(
            {"Sid": "RunTheSmokeTest", "Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": smoke_test_function_arn}
        )
    policy = aws.iam.RolePolicy(
        f"{name}-deploy-policy", role=role.id, policy=iam.document(statements), opts=pulumi.ResourceOptions(parent=parent)
    )
    return Traffic(alternate, production, test, role, policy)
