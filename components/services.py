"""A region's services: the ECS cluster, and per service its registry, its compute (a Fargate service
or its image on Lambda) and its staging copy. Not a component: every resource here is a child of the
region, as it was before this module existed, so no URN moved when it was split out of ``region.py``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from . import iam
from .container_registry import ContainerRegistry, ContainerRegistryArgs, RegistrySettings
from .fargate_service import FargateService, FargateServiceArgs
from .lambda_service import LambdaService, LambdaServiceArgs
from .load_balancer import LoadBalancer
from .network import Network
from .service_settings import ServiceSettings

# A service's compute: what the monitoring, the pipeline and the outputs take from either.
ServiceCompute = FargateService | LambdaService


@dataclass
class RegionServices:
    """What :func:`build_services` declared.

    Attributes:
        cluster: The region's ECS cluster, or None when every service runs on Lambda.
        services: The production services by name.
        staging: The staging copies by service name.
        registries: The ECR repositories by service name.
    """

    cluster: aws.ecs.Cluster | None
    services: dict[str, ServiceCompute] = field(default_factory=dict)
    staging: dict[str, ServiceCompute] = field(default_factory=dict)
    registries: dict[str, ContainerRegistry] = field(default_factory=dict)


def build_services(
    name: str,
    region: pulumi.Resource,
    *,
    cluster_name: str,
    services: Sequence[ServiceSettings],
    registry: RegistrySettings,
    image_parameter_path: str,
    context: iam.AwsContext,
    network: Network,
    load_balancer: LoadBalancer,
    alarm_topic_arn: pulumi.Input[str],
    smoke_test_function_arn: pulumi.Input[str] | None = None,
    released: Collection[str] = (),
) -> RegionServices:
    """Declare, as children of ``region`` and with ``name`` (the region code) as the prefix:

    - with a service on Fargate, ``{name}-cluster``: the ECS cluster, with Container Insights
      (Security Hub ECS.12), and with a staging copy on Spot ``{name}-cluster-capacity`` (the
      FARGATE and FARGATE_SPOT providers);
    - per service ``{name}-{service}-registry`` (:class:`~components.container_registry.ContainerRegistry`)
      and ``{name}-{service}``: a :class:`~components.fargate_service.FargateService` running the
      image the pipeline last published under ``image_parameter_path`` or else its bootstrap image,
      or a :class:`~components.lambda_service.LambdaService` running that image or, before the
      first release, the 503 stub;
    - per staging copy ``{name}-{service}-staging``: the production service's arguments with the
      copy's settings, on the staging listener.

    A progressive Fargate service gets the region's test listener, and with a smoke test the
    region's smoke-test function (``smoke_test_function_arn``). A service on Lambda whose
    production the pipeline deploys (named in ``released``) gets its CodeDeploy group.
    """
    child = pulumi.ResourceOptions(parent=region)
    # One lookup for every service: the images the pipeline has deployed so far, production's
    # ({path}/{service}) and staging's ({path}/staging/{service}).
    published = aws.ssm.get_parameters_by_path_output(
        path=image_parameter_path, recursive=True, with_decryption=False, opts=pulumi.InvokeOutputOptions(parent=region)
    )
    built = RegionServices(cluster=None)
    fargate = [s for s in services if s.compute == "fargate"]
    staging_cluster_arn: pulumi.Output[str] | None = None
    if fargate:
        built.cluster, staging_cluster_arn = _cluster(name, child, cluster_name, fargate)
    for settings in services:
        parameter = f"{image_parameter_path}/{settings.name}"
        # A staging copy runs the candidate the staging deploy recorded (it may await approval),
        # else production's image, else the bootstrap image.
        staged = (staging_parameter(image_parameter_path, settings.name), parameter)
        if settings.compute == "lambda":
            _lambda_service(name, child, built, settings, registry, (parameter, *staged), context, network,
                            load_balancer, alarm_topic_arn, published, codedeploy=settings.name in released)  # fmt: skip
            continue
        assert built.cluster is not None and staging_cluster_arn is not None
        registry_component = ContainerRegistry(
            f"{name}-{settings.name}-registry", ContainerRegistryArgs(settings.repository_name, registry), child
        )
        built.registries[settings.name] = registry_component
        args = FargateServiceArgs(
            settings=settings,
            context=context,
            cluster_arn=built.cluster.arn,
            cluster_name=built.cluster.name,
            vpc_id=network.vpc_id,
            private_subnet_ids=network.private_subnet_ids,
            load_balancer_security_group_id=load_balancer.security_group_id,
            listener_arn=load_balancer.listener_arn,
            load_balancer_arn_suffix=load_balancer.load_balancer_arn_suffix,
            image=_published_image(published, [parameter], settings.bootstrap_image),
            repository_arn=registry_component.repository_arn,
            alarm_topic_arn=alarm_topic_arn if settings.alarms is not None else None,
            test_listener_arn=load_balancer.test_listener_arn if settings.ecs_progressive else None,
            test_origin=load_balancer.test_origin if settings.deployment.smoke_test else None,
            smoke_test_function_arn=smoke_test_function_arn if settings.deployment.smoke_test else None,
            private_egress=network.private_egress,
        )
        built.services[settings.name] = FargateService(f"{name}-{settings.name}", args, child)
        if settings.staging is not None:
            copy = dataclasses.replace(
                args,
                settings=settings.staging_copy(),
                image=_published_image(published, staged, settings.bootstrap_image),
                cluster_arn=staging_cluster_arn,
                listener_arn=load_balancer.staging_listener_arn,
                alarm_topic_arn=None,
                test_listener_arn=None,
                test_origin=None,
                smoke_test_function_arn=None,
            )
            built.staging[settings.name] = FargateService(f"{name}-{settings.name}-staging", copy, child)
    return built


def _cluster(
    name: str, child: pulumi.ResourceOptions, cluster_name: str, services: Sequence[ServiceSettings]
) -> tuple[aws.ecs.Cluster, pulumi.Output[str]]:
    """The cluster, and the ARN a staging copy names (after the Spot capacity provider, if any)."""
    cluster = aws.ecs.Cluster(
        f"{name}-cluster",
        name=cluster_name,
        settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
        opts=child,
    )
    staging_cluster_arn: pulumi.Output[str] = cluster.arn
    if any(s.staging is not None and s.staging.spot for s in services):
        capacity = aws.ecs.ClusterCapacityProviders(
            f"{name}-cluster-capacity",
            cluster_name=cluster.name,
            capacity_providers=["FARGATE", "FARGATE_SPOT"],
            default_capacity_provider_strategies=[
                aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(capacity_provider="FARGATE", weight=1)
            ],
            opts=child,
        )
        # A service may name FARGATE_SPOT only once the cluster has it.
        staging_cluster_arn = pulumi.Output.all(cluster.arn, capacity.id).apply(lambda v: v[0])
    return cluster, staging_cluster_arn


def _lambda_service(
    name: str,
    child: pulumi.ResourceOptions,
    built: RegionServices,
    settings: ServiceSettings,
    registry: RegistrySettings,
    parameters: tuple[str, str, str],
    context: iam.AwsContext,
    network: Network,
    load_balancer: LoadBalancer,
    alarm_topic_arn: pulumi.Input[str],
    published: pulumi.Output[aws.ssm.GetParametersByPathResult],
    *,
    codedeploy: bool,
) -> None:
    """A service on Lambda and its staging copy; its repository lets Lambda pull for both.
    ``parameters``: production's image parameter, then the staging copy's and production's."""
    parameter, *staged = parameters
    copies = [settings] + ([settings.staging_copy()] if settings.staging is not None else [])
    registry_component = ContainerRegistry(
        f"{name}-{settings.name}-registry",
        ContainerRegistryArgs(
            settings.repository_name,
            registry,
            lambda_functions=[context.arn("lambda", f"function:{c.function_name}") for c in copies],
        ),
        child,
    )
    built.registries[settings.name] = registry_component
    args = LambdaServiceArgs(
        settings=settings,
        context=context,
        vpc_id=network.vpc_id,
        private_subnet_ids=network.private_subnet_ids,
        listener_arn=load_balancer.listener_arn,
        load_balancer_arn_suffix=load_balancer.load_balancer_arn_suffix,
        image=_published_image(published, [parameter], None),
        image_parameter=parameter,
        repository_arn=registry_component.repository_arn,
        pull_permission=registry_component.pull_permission,
        alarm_topic_arn=alarm_topic_arn if settings.alarms is not None else None,
        codedeploy=codedeploy,
        private_egress=network.private_egress,
    )
    built.services[settings.name] = LambdaService(f"{name}-{settings.name}", args, child)
    if settings.staging is not None:
        copy = dataclasses.replace(
            args,
            settings=copies[1],
            image=_published_image(published, staged, None),
            image_parameter=staged[0],
            listener_arn=load_balancer.staging_listener_arn,
            alarm_topic_arn=None,
            codedeploy=False,
        )
        built.staging[settings.name] = LambdaService(f"{name}-{settings.name}-staging", copy, child)


def staging_parameter(image_parameter_path: str, service: str) -> str:
    """Where the staging deploy records the candidate it deployed to a service's staging copy."""
    return f"{image_parameter_path}/staging/{service}"


def _published_image(
    published: pulumi.Output[aws.ssm.GetParametersByPathResult], parameters: Sequence[str], fallback: str | None
) -> pulumi.Output[str | None]:
    """The first of ``parameters`` that holds an image, else ``fallback``."""

    def pick(result: aws.ssm.GetParametersByPathResult) -> str | None:
        held = dict(zip(result.names, result.values, strict=True))
        return next((held[p] for p in parameters if p in held), fallback)

    return published.apply(pick)
