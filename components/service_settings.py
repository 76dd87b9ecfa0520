"""What a service is, whichever compute runs it: plain data, from the validated stack config
(``services[]``). :class:`~components.fargate_service.FargateService` and
:class:`~components.lambda_service.LambdaService` both take :class:`ServiceSettings`, so a service
flips between the two computes with one key and keeps its route, alarms and pipeline stages.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi

from .alarms import ServiceAlarms
from .progressive import Deployment

FARGATE_SERVICE_TYPE = "devops-platform:compute:FargateService"
LAMBDA_SERVICE_TYPE = "devops-platform:compute:LambdaService"


def flip_aliases(name: str, opts: pulumi.ResourceOptions | None, other_type: str) -> list[pulumi.Alias]:
    """The aliases of what both computes of a service declare alike (its listener rule
    ``{name}-rule``, its alarms ``{name}-alarm-5xx`` and ``-latency``): the same resource under the
    other compute's component, which has the same name and parent. A flip of ``compute`` then
    updates them in place: the rule keeps its priority and paths and only changes its target group,
    and no path is ever without a rule (docs/lambda-compute.md, "Changing a service's compute")."""
    parent = opts.parent if opts is not None else None
    return [pulumi.Alias(parent=pulumi.create_urn(name, other_type, parent=parent))]


@dataclass(frozen=True)
class LambdaCompute:
    """How a service runs on Lambda (``services[].lambda``).

    Attributes:
        memory_mb: 128 to 10240; Lambda's CPU grows with it. Default 512.
        timeout_seconds: One request's limit (at most the ALB's idle timeout). Default 30.
        reserved_concurrency: Executions reserved for the service, or None (default) for the
            account's unreserved pool.
        provisioned_concurrency: Pre-initialized executions on the ``live`` alias, or None (default).
        architecture: ``X86_64`` or ``ARM64``: the image's. Default ``X86_64``.
    """

    memory_mb: int = 512
    timeout_seconds: int = 30
    reserved_concurrency: int | None = None
    provisioned_concurrency: int | None = None
    architecture: Literal["X86_64", "ARM64"] = "X86_64"

    def __post_init__(self) -> None:
        if not 128 <= self.memory_mb <= 10_240 or not 1 <= self.timeout_seconds <= 900:
            raise ValueError("Lambda takes 128 to 10240 MB and a timeout of 1 to 900 seconds")
        if (
            self.provisioned_concurrency is not None
            and self.reserved_concurrency is not None
            and self.provisioned_concurrency > self.reserved_concurrency
        ):
            raise ValueError("provisioned_concurrency is at most reserved_concurrency")


@dataclass(frozen=True)
class HealthCheck:
    """Health checks of a service.

    Attributes:
        path: Path the ALB probes. Default ``/health``.
        matcher: Healthy HTTP codes. Default ``200-399``.
        interval_seconds / timeout_seconds: Default 30 / 5.
        healthy_threshold / unhealthy_threshold: Default 3 / 3.
        grace_period_seconds: ALB health checks ECS ignores after a task starts. Default 60.
        container_command: The command of an ECS container health check in its CMD-SHELL form
            (one shell command string), or None (default) for none; the image must contain
            what it runs.
    """

    path: str = "/health"
    matcher: str = "200-399"
    interval_seconds: int = 30
    timeout_seconds: int = 5
    healthy_threshold: int = 3
    unhealthy_threshold: int = 3
    grace_period_seconds: int = 60
    container_command: Sequence[str] | None = None


@dataclass(frozen=True)
class Autoscaling:
    """Target-tracking autoscaling of the task count.

    Attributes:
        min_capacity / max_capacity: Bounds. Default 2 / 10 (seed 001).
        cpu_target / memory_target: Average utilization % to hold, or None for no such policy.
            Default 60 / 70 (seed 003).
        requests_per_target: ALB requests per task per minute to hold, or None (default).
        scale_out_cooldown_seconds / scale_in_cooldown_seconds: Default 60 / 300.
    """

    min_capacity: int = 2
    max_capacity: int = 10
    cpu_target: int | None = 60
    memory_target: int | None = 70
    requests_per_target: int | None = None
    scale_out_cooldown_seconds: int = 60
    scale_in_cooldown_seconds: int = 300


@dataclass(frozen=True)
class Grant:
    """One IAM statement of the task role."""

    actions: Sequence[str]
    resources: Sequence[str]


@dataclass(frozen=True)
class StagingCopy:
    """What a service's staging copy changes (see :meth:`ServiceSettings.staging_copy`).

    Attributes:
        target_group_name: The copy's own target group (at most 32 characters).
        desired_count: Tasks the copy keeps; it does not autoscale. Default 1.
        spot: Run the copy on Fargate Spot (interruptible, cheaper). Default True.
    """

    target_group_name: str
    desired_count: int = 1
    spot: bool = True


@dataclass(frozen=True)
class ServiceSettings:
    """A service's settings: plain data, from the validated stack config (``services[]``).

    Attributes:
        name: The service's name (``auth``); names the container, and the ECS service unless
            ``ecs_service_name`` is set.
        family: Task definition family, for example ``devops-platform-prod-auth``; on Lambda the
            function's name.
        compute: ``fargate`` (default): :class:`~components.fargate_service.FargateService`;
            ``lambda``: :class:`~components.lambda_service.LambdaService`, which uses only the
            name, family, repository, route, port, log group, architecture, health check path,
            environment, secrets, task policy, deployment (strategy and shift; no bake time or smoke
            test), alarms and staging of these settings.
        lambda_settings: Required with compute ``lambda``, and only with it (:class:`LambdaCompute`).
        repository_name: Its ECR repository (the region creates it; the pipeline pushes there).
        target_group_name: Physical target group name (at most 32 characters).
        priority / paths: The listener rule (1 to 5 path patterns).
        port: Container port; also in ``$PORT``.
        log_group_name: Where the container logs go.
        bootstrap_image: What runs until the pipeline publishes an image (module docstring).
        log_retention_days: Default 365.
        cpu / memory: Fargate size (validated by the stack config). Default 256 / 512.
        architecture: ``X86_64`` (default) or ``ARM64``.
        mode: ``service`` (default) or ``on-demand``: no ECS service or scaling; the task
            launcher starts tasks and registers them in the target group.
        desired_count: Tasks at creation. Default 2.
        autoscaling: Default :class:`Autoscaling`.
        health_check: Default :class:`HealthCheck`.
        environment: Container environment (the wiring adds AWS_REGION, ENVIRONMENT, PORT).
        secrets: Variable name to SSM parameter or Secrets Manager ARN.
        writable_paths: Scratch volumes on a read-only root filesystem. Default ``("/tmp",)``.
        task_policy: Task-role statements. Default none: the task role has no permissions.
        stop_timeout_seconds: Seconds between SIGTERM and SIGKILL when a task stops (2 to 120 on
            Fargate), or None (default) for ECS's 30.
        deployment: How new revisions reach production (:class:`~components.progressive.Deployment`).
            Default rolling.
        alternate_target_group_name: The second target group of a progressive deployment (at
            most 32 characters); required with one, and only with one.
        alarms: The service's alarms (:class:`~components.alarms.ServiceAlarms`), or None
            (default) for none.
        staging: The service's staging copy, or None (default) for none.

    A copy of a service differs in these, which the config never sets:

        ecs_service_name: The ECS service's name, when it differs from ``name`` (which still
            names the container, so one imagedefinitions file fits every copy). Default ``name``.
        capacity_provider: ``FARGATE`` (default) or ``FARGATE_SPOT`` (the cluster must have it).
        autoscale: Attach the scaling target and policies (mode ``service``). Default True;
            False keeps ``desired_count`` tasks.
    """

    name: str
    family: str
    repository_name: str
    target_group_name: str
    priority: int
    paths: Sequence[str]
    port: int
    log_group_name: str
    bootstrap_image: str
    log_retention_days: int = 365
    cpu: int = 256
    memory: int = 512
    architecture: Literal["X86_64", "ARM64"] = "X86_64"
    mode: Literal["service", "on-demand"] = "service"
    compute: Literal["fargate", "lambda"] = "fargate"
    lambda_settings: LambdaCompute | None = None
    desired_count: int = 2
    autoscaling: Autoscaling = field(default_factory=Autoscaling)
    health_check: HealthCheck = field(default_factory=HealthCheck)
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: Mapping[str, str] = field(default_factory=dict)
    writable_paths: Sequence[str] = ("/tmp",)
    task_policy: Sequence[Grant] = ()
    stop_timeout_seconds: int | None = None
    deployment: Deployment = field(default_factory=Deployment)
    alternate_target_group_name: str | None = None
    alarms: ServiceAlarms | None = None
    staging: StagingCopy | None = None
    ecs_service_name: str | None = None
    capacity_provider: Literal["FARGATE", "FARGATE_SPOT"] = "FARGATE"
    autoscale: bool = True

    @property
    def ecs_name(self) -> str:
        """The ECS service's name."""
        return self.ecs_service_name or self.name

    @property
    def ecs_progressive(self) -> bool:
        """ECS deploys it blue/green, canary or linear: a second target group and the test listener."""
        return self.compute == "fargate" and self.deployment.progressive

    @property
    def function_name(self) -> str:
        """On Lambda: the function's name (the family, so a staging copy's is ``{family}-staging``)."""
        return self.family

    def __post_init__(self) -> None:
        if not 1 <= len(self.paths) <= 5:
            raise ValueError("a listener rule takes 1 to 5 path patterns")
        if len(self.target_group_name) > 32:
            raise ValueError("a target group name has at most 32 characters")
        if self.mode == "service" and self.autoscale and not (
            self.autoscaling.min_capacity <= self.desired_count <= self.autoscaling.max_capacity
        ):
            raise ValueError("min_capacity <= desired_count <= max_capacity")
        if self.staging is not None and self.mode != "service":
            raise ValueError("only a mode service service has a staging copy")
        if self.ecs_progressive and self.mode != "service":
            raise ValueError(f"a {self.deployment.strategy} deployment needs an ECS service (mode service)")
        if self.ecs_progressive != (self.alternate_target_group_name is not None):
            raise ValueError("alternate_target_group_name goes with a progressive deployment, and only with one")
        if self.alternate_target_group_name is not None and len(self.alternate_target_group_name) > 32:
            raise ValueError("a target group name has at most 32 characters")
        if (self.compute == "lambda") != (self.lambda_settings is not None):
            raise ValueError("lambda_settings go with compute lambda, and only with it")
        if self.compute == "lambda" and self.mode != "service":
            raise ValueError("a mode on-demand service runs on Fargate (the task launcher starts ECS tasks)")
        if self.compute == "lambda" and self.alternate_target_group_name is not None:
            raise ValueError("a service on Lambda has one target group: CodeDeploy shifts its alias")

    def staging_copy(self) -> ServiceSettings:
        """The staging copy: these settings, but its own ECS service, family, target group and
        log group, ``staging.desired_count`` tasks without autoscaling, on Spot if asked, rolling
        deployments, and no alarms (staging runs unapproved builds: its failures are the
        pipeline's to report). On Lambda: the function's size, without reserved or provisioned
        concurrency (a few review requests need neither)."""
        copy = self.staging
        if copy is None:
            raise ValueError(f"{self.name} has no staging copy")
        return dataclasses.replace(
            self,
            ecs_service_name=f"{self.name}-staging",
            family=f"{self.family}-staging",
            target_group_name=copy.target_group_name,
            log_group_name=f"{self.log_group_name}-staging",
            desired_count=copy.desired_count,
            capacity_provider="FARGATE_SPOT" if copy.spot else "FARGATE",
            autoscale=False,
            deployment=Deployment(),
            alternate_target_group_name=None,
            alarms=None,
            staging=None,
            lambda_settings=dataclasses.replace(self.lambda_settings, reserved_concurrency=None, provisioned_concurrency=None)
            if self.lambda_settings is not None
            else None,
        )
