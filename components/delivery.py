"""The region's delivery pipeline: source, build, deploy stages, approval, and what they need.

Who owns what (README "Who owns what"). The pipeline owns the image a service runs; ``pulumi up``
owns everything else. The production deploy stage ends with a Release action that writes each
deployed image to ``{image_parameter_path}/{service}`` (SSM), which ``pulumi up`` reads, so the
next ``pulumi up`` renders task definitions with the image that is running.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from . import iam
from .buildspecs import IMAGE_DEFINITIONS, ImageBuild, OnDemandImage, artifact_name, build_spec, release_spec
from .event_function import admit_rules, dead_letter_queue, event_retries
from .storage import private_bucket_controls

SOURCE_ARTIFACT = "source"
RELEASE_ACTION = "Release"
# codebuild/standard images: docker, the AWS CLI and jq, on each architecture.
BUILD_IMAGES = {
    "X86_64": ("LINUX_CONTAINER", "aws/codebuild/amazonlinux-x86_64-standard:5.0"),
    "ARM64": ("ARM_CONTAINER", "aws/codebuild/amazonlinux-aarch64-standard:3.0"),
}


@dataclass(frozen=True)
class CodeCommitSource:
    """A CodeCommit repository the component creates; pushes to ``branch`` start the pipeline.

    Attributes:
        repository_name: Its name.
        branch: The branch to build. Default ``main``.
    """

    repository_name: str
    branch: str = "main"


@dataclass(frozen=True)
class ConnectionSource:
    """A GitHub/GitLab/Bitbucket repository through a CodeConnections connection.

    Attributes:
        connection_arn: The connection (authorized once in the console; usable in every region).
        full_repository_id: ``owner/repository``.
        branch: The branch whose pushes start the pipeline (a V2 trigger). Default ``main``.
    """

    connection_arn: str
    full_repository_id: str
    branch: str = "main"


@dataclass(frozen=True)
class DeployTarget:
    """A service's ECS service and the task definition family a deploy revises.

    Attributes:
        service_name: The ECS service (mode ``service``).
        family: Its task definition family (a deploy, or the release of an on-demand service,
            registers revisions of it).
        task_role_arn / execution_role_arn: Roles its task definition names; a deploy passes them.
    """

    service_name: str
    family: str
    task_role_arn: pulumi.Input[str]
    execution_role_arn: pulumi.Input[str]


@dataclass(frozen=True)
class ServiceImage:
    """A service the build makes an image of.

    Attributes:
        name: The service (its directory in the source tree and its container's name).
        mode: ``service`` (deployed by ECS deploy actions) or ``on-demand`` (a new task
            definition revision at release).
        repository_url / repository_arn: Its ECR repository in this region.
        target: Its production service and task definition.
    """

    name: str
    mode: Literal["service", "on-demand"]
    repository_url: pulumi.Input[str]
    repository_arn: pulumi.Input[str]
    target: DeployTarget


@dataclass(frozen=True)
class Stage:
    """One pipeline stage.

    Attributes:
        name: Stage name.
        type: ``source``, ``build``, ``deploy`` or ``approval``.
        target: Deploy stages: ``staging`` or ``production``.
        services: Deploy stages: the services, by name, it deploys.
        action_name: Source, build and approval stages: the action's name.
    """

    name: str
    type: Literal["source", "build", "deploy", "approval"]
    target: Literal["staging", "production"] = "production"
    services: Sequence[str] = ()
    action_name: str | None = None


@dataclass(frozen=True)
class BuildSettings:
    """The CodeBuild projects.

    Attributes:
        batches: Service names per build action (at most 5 deployed ones each: an action has at
            most 5 output artifacts).
        compute_type: Default ``BUILD_GENERAL1_SMALL``.
        timeout_minutes: Default 30.
        architecture: ``X86_64`` (default) or ``ARM64``: the images' architecture.
    """

    batches: Sequence[Sequence[str]]
    compute_type: str = "BUILD_GENERAL1_SMALL"
    timeout_minutes: int = 30
    architecture: Literal["X86_64", "ARM64"] = "X86_64"


@dataclass(frozen=True)
class ArtifactSettings:
    """The artifact bucket.

    Attributes:
        expire_after_days: Days before an artifact (and a noncurrent version) is deleted. Default 30.
        force_destroy: Let ``pulumi destroy`` empty the bucket. Default False.
    """

    expire_after_days: int = 30
    force_destroy: bool = False


@dataclass(frozen=True)
class DeliverySettings:
    """The pipeline's settings: plain data, from the validated stack config (``pipeline``).

    Attributes:
        name_prefix: ``{name}-{environment}``: the pipeline's name and the prefix of the others.
        source: Where the code comes from.
        stages: The stages, in order (validated by the stack config).
        build: Build settings.
        deploy_timeout_minutes: How long an ECS deploy action waits. Default 30.
        artifacts: Default :class:`ArtifactSettings`.
        log_retention_days: Build log retention. Default 365.
    """

    name_prefix: str
    source: CodeCommitSource | ConnectionSource
    stages: Sequence[Stage]
    build: BuildSettings
    deploy_timeout_minutes: int = 30
    artifacts: ArtifactSettings = ArtifactSettings()
    log_retention_days: int = 365

    @property
    def pipeline_name(self) -> str:
        return self.name_prefix


@dataclass(frozen=True)
class DeliveryArgs:
    """Inputs of :class:`Delivery`: its settings, and what it deploys where.

    Attributes:
        settings: What the pipeline is (:class:`DeliverySettings`).
        context: Account, partition and region.
        images: Every service the build makes an image of.
        cluster_name: The region's ECS cluster.
        production / staging: Deploy targets by service name. Default none for staging.
        image_parameter_path: Where the Release action records deployed images.
        notification_topic_arn: Approval requests and failed runs go here.
        notification_key_arn: The topic's KMS key, or None if the topic is not the stack's own.
        staging_url: The staging listener's URL, for the approval message. Default None.
    """

    settings: DeliverySettings
    context: iam.AwsContext
    images: Sequence[ServiceImage]
    cluster_name: pulumi.Input[str]
    production: Mapping[str, DeployTarget]
    image_parameter_path: str
    notification_topic_arn: pulumi.Input[str]
    notification_key_arn: pulumi.Input[str] | None = None
    staging: Mapping[str, DeployTarget] = field(default_factory=dict)
    staging_url: pulumi.Input[str] | None = None

    def targets(self, stage: Stage) -> Mapping[str, DeployTarget]:
        return self.staging if stage.target == "staging" else self.production


class Delivery(pulumi.ComponentResource):
    """CodePipeline V2 with its source, builds, artifact store, triggers and notifications.

    Creates, with ``name`` as the prefix:

    - ``{name}-artifacts-key`` / ``-artifacts-key-alias``: a customer-managed key with rotation
      for artifacts, builds and the bucket.
    - ``{name}-artifacts`` and its ``-ownership``, ``-public-access-block``, ``-versioning``,
      ``-encryption`` (SSE-KMS with a bucket key), ``-lifecycle`` and ``-policy`` (TLS only).
    - CodeCommit source: ``{name}-repository``; ``{name}-trigger`` (an EventBridge rule on the
      branch's referenceCreated/referenceUpdated), ``{name}-trigger-target`` (retries, dead-letter
      queue) and ``{name}-trigger-role`` / ``-trigger-policy``. Connection source: a V2 trigger
      on pushes to the branch instead.
    - ``{name}-build-logs``, ``{name}-build-role`` / ``-build-policy``, and ``{name}-build`` (and
      ``{name}-build-2`` ... with more than 5 deployed services): privileged CodeBuild projects.
    - With a production stage: ``{name}-release-logs``, ``-release-role`` / ``-release-policy``
      and ``{name}-release``, the project of the Release action.
    - ``{name}-pipeline-role`` / ``-pipeline-policy`` and ``{name}-pipeline``.
    - ``{name}-failed`` / ``-failed-target``: failed runs to the notifications topic.
    - ``{name}-dead-letters`` / ``-dead-letters-policy``: events EventBridge could not deliver.
    """

    def __init__(self, name: str, args: DeliveryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:delivery:Pipeline", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        ctx = args.context

        key = aws.kms.Key(
            f"{name}-artifacts-key",
            description=f"Encrypts the {args.settings.pipeline_name} pipeline's artifacts and builds",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            opts=self._child,
        )
        aws.kms.Alias(
            f"{name}-artifacts-key-alias", name=f"alias/{args.settings.name_prefix}-artifacts", target_key_id=key.key_id, opts=self._child
        )
        bucket = self._artifact_bucket(key)
        self._key, self._bucket = key, bucket

        repository = None
        if isinstance(args.settings.source, CodeCommitSource):
            repository = aws.codecommit.Repository(
                f"{name}-repository",
                repository_name=args.settings.source.repository_name,
                description=f"{args.settings.name_prefix} application source; its {args.settings.source.branch} branch is deployed",
                opts=self._child,
            )
        self._repository = repository

        images = {i.name: i for i in args.images}
        self._images = images
        builds = [self._build_project(k, [images[s] for s in batch]) for k, batch in enumerate(args.settings.build.batches)]
        has_release = any(s.type == "deploy" and s.target == "production" for s in args.settings.stages)
        release = self._release_project(images) if has_release else None

        role = aws.iam.Role(
            f"{name}-pipeline-role",
            assume_role_policy=iam.service_trust("codepipeline.amazonaws.com", ctx),
            description=f"CodePipeline runs {args.settings.pipeline_name}",
            opts=self._child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-pipeline-policy",
            role=role.id,
            policy=iam.document(self._pipeline_statements(builds, release, images)),
            opts=self._child,
        )
        pipeline = aws.codepipeline.Pipeline(
            f"{name}-pipeline",
            name=args.settings.pipeline_name,
            pipeline_type="V2",
            execution_mode="SUPERSEDED",
            role_arn=role.arn,
            artifact_stores=[
                aws.codepipeline.PipelineArtifactStoreArgs(
                    location=bucket.bucket,
                    type="S3",
                    encryption_key=aws.codepipeline.PipelineArtifactStoreEncryptionKeyArgs(id=key.arn, type="KMS"),
                )
            ],
            stages=[self._stage(stage, builds, release) for stage in args.settings.stages],
            triggers=self._connection_triggers(),
            # CodePipeline checks the role's permissions when it starts the first run on creation.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

        dead_letters = dead_letter_queue(name, self._child)
        rules = [self._failure_rule(pipeline, dead_letters)]
        if repository is not None:
            rules.append(self._trigger_rule(repository, pipeline, dead_letters))
        admit_rules(name, dead_letters, [r.arn for r in rules], "UndeliveredEventsOfThisPipeline", self._child)

        self.pipeline_name = pipeline.name
        self.pipeline_arn = pipeline.arn
        self.dead_letter_queue_name = dead_letters.name
        self.build_project_names = [b.name for b in builds]
        self.repository_name = repository.repository_name if repository else None
        self.repository_arn = repository.arn if repository else None
        self.outputs: dict[str, pulumi.Input[object]] = {
            "pipeline_name": pipeline.name,
            "pipeline_arn": pipeline.arn,
            "pipeline_stages": [s.name for s in args.settings.stages],
            "artifact_bucket_name": bucket.bucket,
            "artifact_key_arn": key.arn,
            "repository_name": repository.repository_name if repository else None,
            "repository_clone_url_http": repository.clone_url_http if repository else None,
            "dead_letter_queue_url": dead_letters.url,
        }
        self.register_outputs(self.outputs)

    # --- storage ------------------------------------------------------------------------------

    def _artifact_bucket(self, key: aws.kms.Key) -> aws.s3.Bucket:
        name, args, child = self._name, self._args, self._child
        bucket = aws.s3.Bucket(
            f"{name}-artifacts",
            force_destroy=args.settings.artifacts.force_destroy,
            tags={"Name": f"{args.settings.name_prefix}-pipeline-artifacts"},
            opts=child,
        )
        block = private_bucket_controls(f"{name}-artifacts", bucket, child)
        aws.s3.BucketVersioning(
            f"{name}-artifacts-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-artifacts-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    # One data key per bucket rather than a KMS call per object.
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        days = args.settings.artifacts.expire_after_days
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-artifacts-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-artifacts",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    ),
                )
            ],
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-artifacts-policy",
            bucket=bucket.id,
            policy=iam.document([iam.tls_only_statement(bucket.arn)]),
            # S3 rejects a bucket policy while the public access block is still being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[block]),
        )
        return bucket

    def _artifact_statements(self, *, write: bool) -> list[dict[str, object]]:
        actions = ["s3:GetObject", "s3:GetObjectVersion"] + (["s3:PutObject"] if write else [])
        return [
            {
                "Sid": "Artifacts",
                "Effect": "Allow",
                "Action": actions,
                "Resource": pulumi.Output.concat(self._bucket.arn, "/*"),
            },
            {
                "Sid": "ArtifactBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
                "Resource": self._bucket.arn,
            },
            {
                "Sid": "ArtifactKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey"],
                "Resource": self._key.arn,
            },
        ]

    # --- builds -------------------------------------------------------------------------------

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
        self, logical: str, physical: str, role: aws.iam.Role, logs: aws.cloudwatch.LogGroup, spec: pulumi.Input[str], *, privileged: bool
    ) -> aws.codebuild.Project:
        args = self._args
        env_type, image = BUILD_IMAGES[args.settings.build.architecture]
        return aws.codebuild.Project(
            logical,
            name=physical,
            service_role=role.arn,
            encryption_key=self._key.arn,
            build_timeout=args.settings.build.timeout_minutes,
            source=aws.codebuild.ProjectSourceArgs(type="CODEPIPELINE", buildspec=spec),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="CODEPIPELINE"),
            environment=aws.codebuild.ProjectEnvironmentArgs(
                type=env_type,
                image=image,
                compute_type=args.settings.build.compute_type,
                image_pull_credentials_type="CODEBUILD",
                # Exception (README): docker builds need the Docker daemon, which needs privileged
                # mode (Security Hub CodeBuild.5). Only the image build runs privileged.
                privileged_mode=privileged,
            ),
            logs_config=aws.codebuild.ProjectLogsConfigArgs(
                cloudwatch_logs=aws.codebuild.ProjectLogsConfigCloudwatchLogsArgs(status="ENABLED", group_name=logs.name),
                s3_logs=aws.codebuild.ProjectLogsConfigS3LogsArgs(status="DISABLED"),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )

    def _build_project(self, k: int, batch: Sequence[ServiceImage]) -> aws.codebuild.Project:
        args, name = self._args, self._name
        if k == 0:
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
                ],
            )
        suffix = "" if k == 0 else f"-{k + 1}"
        spec = pulumi.Output.all(*[i.repository_url for i in batch]).apply(
            lambda urls: build_spec(
                [
                    ImageBuild(i.name, url, artifact_name(i.name) if i.mode == "service" else None)
                    for i, url in zip(batch, urls, strict=True)
                ]
            )
        )
        return self._project(
            f"{name}-build{suffix}", f"{args.settings.name_prefix}-build{suffix}", self._build_role, self._build_logs, spec, privileged=True
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
                "Resource": ctx.arn("ssm", f"parameter{args.image_parameter_path}/*"),
            }
        ]
        if on_demand:
            statements += [
                {
                    # Neither action supports resource-level permissions: AWS accepts only "*".
                    "Sid": "ReviseOnDemandTaskDefinitions",
                    "Effect": "Allow",
                    "Action": ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
                    "Resource": "*",
                },
                _pass_roles([r for i in on_demand for r in (i.target.task_role_arn, i.target.execution_role_arn)]),
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

    # --- the pipeline -------------------------------------------------------------------------

    def _pipeline_statements(
        self,
        builds: Sequence[aws.codebuild.Project],
        release: aws.codebuild.Project | None,
        images: Mapping[str, ServiceImage],
    ) -> list[dict[str, object]]:
        args, ctx = self._args, self._args.context
        statements = self._artifact_statements(write=True)
        if isinstance(args.settings.source, CodeCommitSource):
            assert self._repository is not None
            statements.append(
                {
                    "Sid": "ReadSource",
                    "Effect": "Allow",
                    "Action": [
                        "codecommit:CancelUploadArchive",
                        "codecommit:GetBranch",
                        "codecommit:GetCommit",
                        "codecommit:GetRepository",
                        "codecommit:GetUploadArchiveStatus",
                        "codecommit:UploadArchive",
                    ],
                    "Resource": self._repository.arn,
                }
            )
        else:
            statements.append(
                {
                    "Sid": "UseConnection",
                    "Effect": "Allow",
                    "Action": ["codeconnections:UseConnection", "codestar-connections:UseConnection"],
                    "Resource": args.settings.source.connection_arn,
                }
            )
        projects = [*builds, *([release] if release else [])]
        statements.append(
            {
                "Sid": "RunBuilds",
                "Effect": "Allow",
                "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
                "Resource": [p.arn for p in projects],
            }
        )
        targets = [t for stage in args.settings.stages if stage.type == "deploy" for t in _pick(args.targets(stage), stage.services)]
        if targets:
            statements += [
                {
                    "Sid": "DeployServices",
                    "Effect": "Allow",
                    "Action": ["ecs:DescribeServices", "ecs:UpdateService"],
                    "Resource": [
                        pulumi.Output.concat(ctx.arn("ecs", "service/"), args.cluster_name, f"/{t.service_name}")
                        for t in targets
                    ],
                },
                {
                    # The ECS deploy action registers a revision of the service's task definition;
                    # neither call supports resource-level permissions: AWS accepts only "*".
                    "Sid": "ReviseTaskDefinitions",
                    "Effect": "Allow",
                    "Action": ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
                    "Resource": "*",
                },
                {
                    # The deploy action watches the new tasks start.
                    "Sid": "WatchDeployments",
                    "Effect": "Allow",
                    "Action": "ecs:DescribeTasks",
                    "Resource": pulumi.Output.concat(ctx.arn("ecs", "task/"), args.cluster_name, "/*"),
                },
                {
                    # ListTasks is authorized on container instances, which Fargate has none of:
                    # AWS accepts only "*", narrowed here to the region's cluster.
                    "Sid": "ListClusterTasks",
                    "Effect": "Allow",
                    "Action": "ecs:ListTasks",
                    "Resource": "*",
                    "Condition": {"ArnEquals": {"ecs:cluster": pulumi.Output.concat(ctx.arn("ecs", "cluster/"), args.cluster_name)}},
                },
                {
                    "Sid": "TagRevisions",
                    "Effect": "Allow",
                    "Action": "ecs:TagResource",
                    "Resource": [ctx.arn("ecs", f"task-definition/{family}:*") for family in sorted({t.family for t in targets})],
                },
                _pass_roles([r for t in targets for r in (t.task_role_arn, t.execution_role_arn)]),
            ]
        if any(s.type == "approval" for s in args.settings.stages):
            statements.append(
                {"Sid": "RequestApproval", "Effect": "Allow", "Action": "sns:Publish", "Resource": args.notification_topic_arn}
            )
            if args.notification_key_arn is not None:
                statements.append(
                    {
                        "Sid": "EncryptApprovalRequests",
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                        "Resource": args.notification_key_arn,
                    }
                )
        return statements

    def _stage(
        self, stage: Stage, builds: Sequence[aws.codebuild.Project], release: aws.codebuild.Project | None
    ) -> aws.codepipeline.PipelineStageArgs:
        args = self._args
        if stage.type == "source":
            actions = [self._source_action(stage.action_name or "Source")]
        elif stage.type == "build":
            base = stage.action_name or "Build"
            actions = [
                aws.codepipeline.PipelineStageActionArgs(
                    name=base if k == 0 else f"{base}-{k + 1}",
                    category="Build",
                    owner="AWS",
                    provider="CodeBuild",
                    version="1",
                    input_artifacts=[SOURCE_ARTIFACT],
                    output_artifacts=[artifact_name(s) for s in batch if self._images[s].mode == "service"],
                    configuration={"ProjectName": project.name},
                    run_order=1,
                )
                for k, (batch, project) in enumerate(zip(args.settings.build.batches, builds, strict=True))
            ]
        elif stage.type == "approval":
            message = f"{args.settings.pipeline_name} in {args.context.region}: staging runs the new build. Review it, then approve to deploy production."
            configuration: dict[str, pulumi.Input[str]] = {
                "NotificationArn": args.notification_topic_arn,
                "CustomData": message,
            }
            if args.staging_url is not None:
                configuration["ExternalEntityLink"] = args.staging_url
            actions = [
                aws.codepipeline.PipelineStageActionArgs(
                    name=stage.action_name or "Approve",
                    category="Approval",
                    owner="AWS",
                    provider="Manual",
                    version="1",
                    configuration=configuration,
                    run_order=1,
                )
            ]
        else:
            targets = args.targets(stage)
            actions = [
                aws.codepipeline.PipelineStageActionArgs(
                    name=service,
                    category="Deploy",
                    owner="AWS",
                    provider="ECS",
                    version="1",
                    input_artifacts=[artifact_name(service)],
                    configuration={
                        "ClusterName": args.cluster_name,
                        "ServiceName": targets[service].service_name,
                        "FileName": IMAGE_DEFINITIONS,
                        "DeploymentTimeout": str(args.settings.deploy_timeout_minutes),
                    },
                    # Every service in parallel.
                    run_order=1,
                )
                for service in stage.services
            ]
            if stage.target == "production" and release is not None:
                actions.append(
                    aws.codepipeline.PipelineStageActionArgs(
                        name=RELEASE_ACTION,
                        category="Build",
                        owner="AWS",
                        provider="CodeBuild",
                        version="1",
                        input_artifacts=[SOURCE_ARTIFACT],
                        configuration={"ProjectName": release.name},
                        # Only after every service of the stage is deployed and stable.
                        run_order=2,
                    )
                )
        return aws.codepipeline.PipelineStageArgs(name=stage.name, actions=actions)

    def _source_action(self, action: str) -> aws.codepipeline.PipelineStageActionArgs:
        source = self._args.settings.source
        if isinstance(source, CodeCommitSource):
            assert self._repository is not None
            return aws.codepipeline.PipelineStageActionArgs(
                name=action,
                category="Source",
                owner="AWS",
                provider="CodeCommit",
                version="1",
                output_artifacts=[SOURCE_ARTIFACT],
                configuration={
                    "RepositoryName": self._repository.repository_name,
                    "BranchName": source.branch,
                    # EventBridge starts runs (the trigger rule); polling is for old pipelines.
                    "PollForSourceChanges": "false",
                    "OutputArtifactFormat": "CODE_ZIP",
                },
                run_order=1,
            )
        return aws.codepipeline.PipelineStageActionArgs(
            name=action,
            category="Source",
            owner="AWS",
            provider="CodeStarSourceConnection",
            version="1",
            output_artifacts=[SOURCE_ARTIFACT],
            configuration={
                "ConnectionArn": source.connection_arn,
                "FullRepositoryId": source.full_repository_id,
                "BranchName": source.branch,
                "OutputArtifactFormat": "CODE_ZIP",
                "DetectChanges": "true",
            },
            run_order=1,
        )

    def _connection_triggers(self) -> list[aws.codepipeline.PipelineTriggerArgs] | None:
        source = self._args.settings.source
        if not isinstance(source, ConnectionSource):
            return None
        action = next(s.action_name or "Source" for s in self._args.settings.stages if s.type == "source")
        return [
            aws.codepipeline.PipelineTriggerArgs(
                provider_type="CodeStarSourceConnection",
                git_configuration=aws.codepipeline.PipelineTriggerGitConfigurationArgs(
                    source_action_name=action,
                    pushes=[
                        aws.codepipeline.PipelineTriggerGitConfigurationPushArgs(
                            branches=aws.codepipeline.PipelineTriggerGitConfigurationPushBranchesArgs(includes=[source.branch])
                        )
                    ],
                ),
            )
        ]

    # --- events -------------------------------------------------------------------------------

    def _trigger_rule(
        self,
        repository: aws.codecommit.Repository,
        pipeline: aws.codepipeline.Pipeline,
        dead_letters: aws.sqs.Queue,
    ) -> aws.cloudwatch.EventRule:
        name, args, child = self._name, self._args, self._child
        assert isinstance(args.settings.source, CodeCommitSource)
        rule = aws.cloudwatch.EventRule(
            f"{name}-trigger",
            description=f"Pushes to {args.settings.source.branch} start {args.settings.pipeline_name}",
            event_pattern=pulumi.Output.json_dumps(trigger_pattern(repository.arn, args.settings.source.branch)),
            opts=child,
        )
        role = aws.iam.Role(
            f"{name}-trigger-role",
            assume_role_policy=iam.service_trust("events.amazonaws.com", args.context),
            description=f"EventBridge starts {args.settings.pipeline_name}",
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-trigger-policy",
            role=role.id,
            policy=iam.document(
                [{"Sid": "StartPipeline", "Effect": "Allow", "Action": "codepipeline:StartPipelineExecution", "Resource": pipeline.arn}]
            ),
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-trigger-target",
            rule=rule.name,
            arn=pipeline.arn,
            role_arn=role.arn,
            retry_policy=event_retries(),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dead_letters.arn),
            opts=child,
        )
        return rule

    def _failure_rule(self, pipeline: aws.codepipeline.Pipeline, dead_letters: aws.sqs.Queue) -> aws.cloudwatch.EventRule:
        name, args, child = self._name, self._args, self._child
        rule = aws.cloudwatch.EventRule(
            f"{name}-failed",
            description=f"Failed runs of {args.settings.pipeline_name}",
            event_pattern=pulumi.Output.json_dumps(failure_pattern(args.settings.pipeline_name)),
            # The pattern names the pipeline; wait for it so no event is missed on creation.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[pipeline]),
        )
        aws.cloudwatch.EventTarget(
            f"{name}-failed-target",
            rule=rule.name,
            arn=args.notification_topic_arn,
            retry_policy=event_retries(),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dead_letters.arn),
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths={
                    "pipeline": "$.detail.pipeline",
                    "execution": "$.detail.execution-id",
                    "region": "$.region",
                    "time": "$.time",
                },
                input_template='"Pipeline <pipeline> failed in <region> at <time> (execution <execution>)."',
            ),
            opts=child,
        )
        return rule


def trigger_pattern(repository_arn: pulumi.Input[str], branch: str) -> dict[str, object]:
    """Pushes that create or move ``branch`` in the repository."""
    return {
        "source": ["aws.codecommit"],
        "detail-type": ["CodeCommit Repository State Change"],
        "resources": [repository_arn],
        "detail": {
            "event": ["referenceCreated", "referenceUpdated"],
            "referenceType": ["branch"],
            "referenceName": [branch],
        },
    }


def failure_pattern(pipeline_name: str) -> dict[str, object]:
    return {
        "source": ["aws.codepipeline"],
        "detail-type": ["CodePipeline Pipeline Execution State Change"],
        "detail": {"pipeline": [pipeline_name], "state": ["FAILED"]},
    }


def _pass_roles(role_arns: Sequence[pulumi.Input[str]]) -> dict[str, object]:
    return {
        "Sid": "PassTaskRoles",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": role_arns,
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    }


def _pick(targets: Mapping[str, DeployTarget], services: Sequence[str]) -> list[DeployTarget]:
    return [targets[s] for s in services]

