"""The pipeline's CodeBuild projects: the image build, and the Release action's project.

Not a component: :class:`BuildProjects` declares them as children of the
:class:`~components.delivery.Delivery` component, with its logical names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from . import delivery, iam
from .buildspecs import ImageBuild, OnDemandImage, artifact_name, build_spec, lambda_deploy_spec, release_spec
from .container_registry import lifecycle_policy
from .ecs_roles import pass_task_roles, revise_task_definitions

if TYPE_CHECKING:
    from .delivery import DeliveryArgs, LambdaTarget, ServiceImage

# ``delivery`` is imported as a module: it imports this one (as pipeline_stages does).
# Minutes a Lambda deploy project may run beyond the deploy's own wait for CodeDeploy.
LAMBDA_DEPLOY_MARGIN_MINUTES = 10

# codebuild/standard images: docker, the AWS CLI and jq, on each architecture.
BUILD_IMAGES = {
    "X86_64": ("LINUX_CONTAINER", "aws/codebuild/amazonlinux-x86_64-standard:5.0"),
    "ARM64": ("ARM_CONTAINER", "aws/codebuild/amazonlinux-aarch64-standard:3.0"),
}


class BuildProjects:
    """Declares, as children of ``parent`` with ``name`` as the prefix:

    - ``{name}-build-logs``, ``{name}-build-role`` / ``-build-policy``, and ``{name}-build`` (and
      ``{name}-build-2`` ... with more than 5 deployed services): privileged projects that build
      each image once per commit and push it to the service's repository;
    - with a base image cache, ``{name}-base-image-template`` and ``{name}-base-image-cache``:
      the repository creation template and the pull-through cache rule the builds pull through;
    - with a production stage, ``{name}-release-logs``, ``-release-role`` / ``-release-policy``
      and ``{name}-release``: the project of the Release action, which records the released
      images and revises the on-demand task definitions;
    - with a staging stage, ``{name}-staging-release-logs``, ``-staging-release-role`` /
      ``-staging-release-policy`` and ``{name}-staging-release``: the project that records the
      candidate each staging copy runs, after the staging deploys;
    - with a service on Lambda in a deploy stage, ``{name}-lambda-deploy-logs``,
      ``-lambda-deploy-role`` / ``-lambda-deploy-policy`` and ``{name}-lambda-deploy``: the
      project of its deploy actions, allowed to update exactly those functions and start
      deployments in exactly their CodeDeploy groups.

    Every project encrypts with ``key``; ``artifact_statements(write)`` grants the artifacts.
    """

    def __init__(
        self,
        parent: pulumi.Resource,
        name: str,
        args: DeliveryArgs,
        key: aws.kms.Key,
        artifact_statements: Callable[..., list[dict[str, object]]],
    ) -> None:
        self._parent, self._name, self._args, self._key = parent, name, args, key
        self._child = pulumi.ResourceOptions(parent=parent)
        self._artifact_statements = artifact_statements
        images = {i.name: i for i in args.images}
        self.builds = [self._build_project(k, [images[s] for s in batch]) for k, batch in enumerate(args.settings.build.batches)]
        has_release = any(s.type == "deploy" and s.target == "production" for s in args.settings.stages)
        self.release = self._release_project(images) if has_release else None
        staging = next((s for s in args.settings.stages if s.type == "deploy" and s.target == "staging"), None)
        self.staging_release = self._staging_release_project([images[n] for n in staging.services]) if staging else None
        targets = args.deployed(delivery.LambdaTarget)
        self.lambda_deploy = self._lambda_deploy_project(targets) if targets else None

    @property
    def projects(self) -> list[aws.codebuild.Project]:
        extra = [self.release, self.staging_release, self.lambda_deploy]
        return [*self.builds, *[p for p in extra if p is not None]]

    def _log_group(self, role: str) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            f"{self._name}-{role}-logs",
            name=f"/aws/codebuild/{self._args.settings.name_prefix}-{role}",
            retention_in_days=self._args.settings.log_retention_days,
            opts=self._child,
        )

    def _codebuild_role(self, role: str, logs: aws.cloudwatch.LogGroup, statements: list[dict[str, object]]) -> aws.iam.Role:
        ctx = self._args.context
        iam_role = aws.iam.Role(
            f"{self._name}-{role}-role",
            assume_role_policy=iam.service_trust("codebuild.amazonaws.com", ctx),
            description=f"CodeBuild {role} of {self._args.settings.pipeline_name}",
            opts=self._child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-{role}-policy",
            role=iam_role.id,
            policy=iam.document(
                [
                    {
                        "Sid": "WriteBuildLogs",
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": pulumi.Output.concat(logs.arn, ":log-stream:*"),
                    },
                    *self._artifact_statements(write=role == "build"),
                    *statements,
                ]
            ),
            opts=self._child,
        )
        return iam_role

    def _project(
        self,
        logical: str,
        physical: str,
        role: aws.iam.Role,
        logs: aws.cloudwatch.LogGroup,
        spec: pulumi.Input[str],
        *,
        privileged: bool,
        timeout_minutes: int | None = None,
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> aws.codebuild.Project:
        args = self._args
        env_type, image = BUILD_IMAGES[args.settings.build.architecture]
        return aws.codebuild.Project(
            logical,
            name=physical,
            service_role=role.arn,
            encryption_key=self._key.arn,
            build_timeout=timeout_minutes or args.settings.build.timeout_minutes,
            source=aws.codebuild.ProjectSourceArgs(type="CODEPIPELINE", buildspec=spec),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="CODEPIPELINE"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                type=env_type,
                image=image,
                compute_type=args.settings.build.compute_type,
                image_pull_credentials_type="CODEBUILD",
                # Exception (docs/security.md): docker builds need the Docker daemon, which needs privileged
                # mode (Security Hub CodeBuild.5). Only the image build runs privileged.
                privileged_mode=privileged,
            ),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(status="ENABLED", group_name=logs.name),
                s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED"),
            ),
            opts=pulumi.ResourceOptions(parent=self._parent, depends_on=[logs, *depends_on]),
        )

    def _base_image_cache(self) -> list[pulumi.Resource]:
        """The pull-through cache rule and the template of the repositories it creates."""
        cache = self._args.settings.build.base_image_cache
        if cache is None:
            return []
        # ECR creates a cached repository on the first pull; the template gives it encryption and a
        # lifecycle policy. Its tags stay MUTABLE: a cached tag (python:3.13-slim) follows upstream.
        template = aws.ecr.RepositoryCreationTemplate(
            f"{self._name}-base-image-template",
            prefix=cache.prefix,
            applied_fors=["PULL_THROUGH_CACHE"],
            description=f"Base images {self._args.settings.name_prefix}'s builds pull through {cache.upstream_registry_url}",
            image_tag_mutability="MUTABLE",
            encryption_configurations=[aws.ecr.RepositoryCreationTemplateEncryptionConfigurationArgs(encryption_type="AES256")],
            lifecycle_policy=lifecycle_policy(cache.keep_tagged_images, cache.expire_untagged_after_days),
            opts=self._child,
        )
        rule = aws.ecr.PullThroughCacheRule(
            f"{self._name}-base-image-cache",
            ecr_repository_prefix=cache.prefix,
            upstream_registry_url=cache.upstream_registry_url,
            opts=pulumi.ResourceOptions(parent=self._parent, depends_on=[template]),
        )
        return [template, rule]

    def _build_project(self, k: int, batch: Sequence[ServiceImage]) -> aws.codebuild.Project:
        args, name = self._args, self._name
        cache = args.settings.build.base_image_cache
        if k == 0:
            self._cache = self._base_image_cache()
            self._build_logs = self._log_group("build")
            self._build_role = self._codebuild_role(
                "build",
                self._build_logs,
                [
                    {
                        # GetAuthorizationToken has no resource-level permissions: AWS accepts only "*".
                        "Sid": "EcrLogin",
                        "Effect": "Allow",
                        "Action": "ecr:GetAuthorizationToken",
                        "Resource": "*",
                    },
                    {
                        "Sid": "PushServiceImages",
                        "Effect": "Allow",
                        "Action": [
                            "ecr:BatchCheckLayerAvailability",
                            "ecr:BatchGetImage",
                            "ecr:CompleteLayerUpload",
                            "ecr:DescribeImages",
                            "ecr:GetDownloadUrlForLayer",
                            "ecr:InitiateLayerUpload",
                            "ecr:PutImage",
                            "ecr:UploadLayerPart",
                        ],
                        "Resource": [i.repository_arn for i in args.images],
                    },
                    *(
                        [
                            {
                                # The first pull of an image creates its cached repository and imports
                                # the image; later pulls read it. Only under the cache's namespace.
                                "Sid": "PullBaseImagesThroughCache",
                                "Effect": "Allow",
                                "Action": [
                                    "ecr:BatchCheckLayerAvailability",
                                    "ecr:BatchGetImage",
                                    "ecr:BatchImportUpstreamImage",
                                    "ecr:CreateRepository",
                                    "ecr:GetDownloadUrlForLayer",
                                ],
                                "Resource": args.context.arn("ecr", f"repository/{cache.prefix}/*"),
                            }
                        ]
                        if cache
                        else []
                    ),
                ],
            )
        suffix = "" if k == 0 else f"-{k + 1}"
        spec = pulumi.Output.all(*[i.repository_url for i in batch]).apply(
            lambda urls: build_spec(
                [
                    ImageBuild(i.name, url, artifact_name(i.name) if i.mode == "service" else None)
                    for i, url in zip(batch, urls, strict=True)
                ],
                base_image_prefix=cache.prefix if cache else None,
            )
        )
        return self._project(
            f"{name}-build{suffix}",
            f"{args.settings.name_prefix}-build{suffix}",
            self._build_role,
            self._build_logs,
            spec,
            privileged=True,
            depends_on=self._cache,
        )

    def _release_project(self, images: Mapping[str, ServiceImage]) -> aws.codebuild.Project:
        args, ctx = self._args, self._args.context
        production = next(s for s in args.settings.stages if s.type == "deploy" and s.target == "production")
        deployed = [images[s] for s in production.services]
        on_demand = [i for i in args.images if i.mode == "on-demand"]
        statements: list[dict[str, object]] = [
            {
                "Sid": "RecordDeployedImages",
                "Effect": "Allow",
                "Action": "ssm:PutParameter",
                "Resource": [
                    ctx.arn("ssm", f"parameter{args.image_parameter_path}/{name}")
                    for name in sorted({i.name for i in [*deployed, *on_demand]})
                ],
            }
        ]
        if on_demand:
            statements += [
                *revise_task_definitions(ctx, sorted({i.target.family for i in on_demand}), "ReviseOnDemandTaskDefinitions"),  # type: ignore[union-attr]
                pass_task_roles([r for i in on_demand for r in (i.target.task_role_arn, i.target.execution_role_arn)]),
            ]
        logs = self._log_group("release")
        role = self._codebuild_role("release", logs, statements)
        urls = [i.repository_url for i in deployed] + [i.repository_url for i in on_demand]
        spec = pulumi.Output.all(*urls).apply(
            lambda values: release_spec(
                args.image_parameter_path,
                {i.name: url for i, url in zip(deployed, values[: len(deployed)], strict=True)},
                [
                    OnDemandImage(i.name, i.target.family, url)
                    for i, url in zip(on_demand, values[len(deployed) :], strict=True)
                ],
            )
        )
        return self._project(f"{self._name}-release", f"{args.settings.name_prefix}-release", role, logs, spec, privileged=False)

    def _staging_release_project(self, staged: Sequence[ServiceImage]) -> aws.codebuild.Project:
        """Records each staged service's candidate at ``{path}/staging/{service}``: the staging copies
        render it, so a ``pulumi up`` while the candidate waits for approval keeps it running there."""
        args, ctx = self._args, self._args.context
        path = f"{args.image_parameter_path}/staging"
        statements: list[dict[str, object]] = [
            {
                "Sid": "RecordStagedImages",
                "Effect": "Allow",
                "Action": "ssm:PutParameter",
                "Resource": [ctx.arn("ssm", f"parameter{path}/{i.name}") for i in sorted(staged, key=lambda i: i.name)],
            }
        ]
        logs = self._log_group("staging-release")
        role = self._codebuild_role("staging-release", logs, statements)
        spec = pulumi.Output.all(*[i.repository_url for i in staged]).apply(
            lambda urls: release_spec(path, {i.name: url for i, url in zip(staged, urls, strict=True)}, [])
        )
        return self._project(
            f"{self._name}-staging-release", f"{args.settings.name_prefix}-staging-release", role, logs, spec, privileged=False
        )

    def _lambda_deploy_project(self, targets: Sequence[LambdaTarget]) -> aws.codebuild.Project:
        args, ctx = self._args, self._args.context
        functions = [t.function_arn for t in targets]
        groups = [t for t in targets if t.deployment_group is not None]
        staged = [t.function_arn for t in targets if t.deployment_group is None]
        statements: list[dict[str, object]] = [
            {
                # Lambda reads the image with the repository's policy (ContainerRegistry), not the
                # caller's permissions (its documentation), so this role needs no ECR action.
                "Sid": "UpdateServiceFunctions",
                "Effect": "Allow",
                "Action": [
                    "lambda:GetAlias",
                    "lambda:GetFunction",
                    "lambda:GetFunctionConfiguration",
                    "lambda:PublishVersion",
                    "lambda:UpdateFunctionCode",
                ],
                "Resource": [*functions, *[pulumi.Output.concat(f, ":*") for f in functions]],
            },
        ]
        if staged:
            statements.append(
                {
                    # Only a staging copy's alias moves by the project's own hand; production's is
                    # CodeDeploy's to move.
                    "Sid": "MoveStagingAliases",
                    "Effect": "Allow",
                    "Action": "lambda:UpdateAlias",
                    "Resource": [pulumi.Output.concat(f, ":*") for f in staged],
                }
            )
        if groups:
            statements += [
                {
                    "Sid": "ShiftWithCodeDeploy",
                    "Effect": "Allow",
                    "Action": ["codedeploy:CreateDeployment", "codedeploy:GetDeployment", "codedeploy:StopDeployment"],
                    "Resource": [
                        pulumi.Output.concat(ctx.arn("codedeploy", "deploymentgroup:"), t.deployment_application, "/", t.deployment_group)
                        for t in groups
                    ],
                },
                {
                    # CreateDeployment with AppSpec content registers it as the application's revision.
                    "Sid": "RegisterRevisions",
                    "Effect": "Allow",
                    "Action": ["codedeploy:GetApplicationRevision", "codedeploy:RegisterApplicationRevision"],
                    "Resource": [pulumi.Output.concat(ctx.arn("codedeploy", "application:"), t.deployment_application) for t in groups],
                },
                {
                    "Sid": "ReadDeploymentConfigs",
                    "Effect": "Allow",
                    "Action": "codedeploy:GetDeploymentConfig",
                    "Resource": [pulumi.Output.concat(ctx.arn("codedeploy", "deploymentconfig:"), t.deployment_config) for t in groups],
                },
            ]
        logs = self._log_group("lambda-deploy")
        role = self._codebuild_role("lambda-deploy", logs, statements)
        timeout = args.settings.deploy_timeout_minutes
        return self._project(
            f"{self._name}-lambda-deploy",
            f"{args.settings.name_prefix}-lambda-deploy",
            role,
            logs,
            lambda_deploy_spec(timeout),
            privileged=False,
            timeout_minutes=timeout + LAMBDA_DEPLOY_MARGIN_MINUTES,
        )

