"""The region's delivery pipeline: source, build, deploy stages, approval, and what they need.

Who owns what (docs/traffic.md, "Who owns what"). The pipeline owns the image a service runs; ``pulumi up``
owns everything else. The production deploy stage ends with a Release action that writes each
deployed image to ``{image_parameter_path}/{service}`` (SSM), which ``pulumi up`` reads, so the
next ``pulumi up`` renders task definitions (and Lambda functions) with the image that is running.

A service on Fargate is deployed by CodePipeline's ECS action; a service on Lambda by a CodeBuild
action that updates its function's image, publishes a version and has CodeDeploy shift the
``live`` alias to it (straight to it for a staging copy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import pulumi
import pulumi_aws as aws

from . import iam
from .builds import BuildProjects
from .event_function import admit_rules, dead_letter_queue, event_retries
from .pipeline_stages import PipelineDefinition
from .storage import private_bucket_controls

T = TypeVar("T")


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
class LambdaTarget:
    """A service on Lambda (or its staging copy) that a deploy action updates.

    Attributes:
        function_name / function_arn: Its function.
        repository_arn: Its ECR repository (the deploy reads the image's manifest from it).
        deployment_application / deployment_group / deployment_config: Its CodeDeploy application,
            group and configuration, or None (default) to move the alias at once (a staging copy).
    """

    function_name: str
    function_arn: pulumi.Input[str]
    repository_arn: pulumi.Input[str]
    deployment_application: pulumi.Input[str] | None = None
    deployment_group: pulumi.Input[str] | None = None
    deployment_config: pulumi.Input[str] | None = None


Target = DeployTarget | LambdaTarget


@dataclass(frozen=True)
class ServiceImage:
    """A service the build makes an image of.

    Attributes:
        name: The service (its directory in the source tree and its container's name).
        mode: ``service`` (deployed by ECS deploy actions) or ``on-demand`` (a new task
            definition revision at release).
        repository_url / repository_arn: Its ECR repository in this region.
        target: Its production service and task definition, or its function on Lambda.
    """

    name: str
    mode: Literal["service", "on-demand"]
    repository_url: pulumi.Input[str]
    repository_arn: pulumi.Input[str]
    target: Target


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
class BaseImageCache:
    """An ECR pull-through cache that the build pulls its base images through.

    Attributes:
        prefix: The cached repositories' namespace in the account's registry: an upstream image
            ``public.ecr.aws/docker/library/python`` is pulled as
            ``<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/docker/library/python``.
        upstream_registry_url: Default ``public.ecr.aws`` (ECR Public, which needs no credential).
        keep_tagged_images: Tagged images kept per cached repository. Default 30.
        expire_untagged_after_days: Default 7.
    """

    prefix: str
    upstream_registry_url: str = "public.ecr.aws"
    keep_tagged_images: int = 30
    expire_untagged_after_days: int = 7


@dataclass(frozen=True)
class BuildSettings:
    """The CodeBuild projects.

    Attributes:
        batches: Service names per build action (at most 5 deployed ones each: an action has at
            most 5 output artifacts).
        compute_type: Default ``BUILD_GENERAL1_SMALL``.
        timeout_minutes: Default 30.
        architecture: ``X86_64`` (default) or ``ARM64``: the images' architecture.
        base_image_cache: The pull-through cache the build pulls base images through, or None
            (default): the Dockerfiles' own registries, pulled anonymously.
    """

    batches: Sequence[Sequence[str]]
    compute_type: str = "BUILD_GENERAL1_SMALL"
    timeout_minutes: int = 30
    architecture: Literal["X86_64", "ARM64"] = "X86_64"
    base_image_cache: BaseImageCache | None = None


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
class ProductionWindow:
    """When the production stage may be entered (a DeploymentWindow condition).

    Attributes:
        cron: CodePipeline's cron, with a seconds field first (``* * 9-16 ? * MON-FRI``).
        time_zone: An IANA time zone. Default ``UTC``.
    """

    cron: str
    time_zone: str = "UTC"


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
        production_window: Entering production only inside it, or None (default): any time.
        log_retention_days: Build log retention. Default 365.
    """

    name_prefix: str
    source: CodeCommitSource | ConnectionSource
    stages: Sequence[Stage]
    build: BuildSettings
    deploy_timeout_minutes: int = 30
    artifacts: ArtifactSettings = ArtifactSettings()
    production_window: ProductionWindow | None = None
    log_retention_days: int = 365

    @property
    def pipeline_name(self) -> str:
        return self.name_prefix

    @property
    def released_services(self) -> frozenset[str]:
        """The services the production deploy stage deploys (and the Release action records)."""
        return frozenset(s for st in self.stages if st.type == "deploy" and st.target == "production" for s in st.services)


@dataclass(frozen=True)
class DeliveryArgs:
    """Inputs of :class:`Delivery`: its settings, and what it deploys where.

    Attributes:
        settings: What the pipeline is (:class:`DeliverySettings`).
        context: Account, partition and region.
        images: Every service the build makes an image of.
        cluster_name: The region's ECS cluster, or None when every service runs on Lambda.
        production / staging: Deploy targets by service name. Default none for staging.
        image_parameter_path: Where the Release action records deployed images.
        notification_topic_arn: Approval requests and failed runs go here.
        notification_key_arn: The topic's KMS key, or None if the topic is not the stack's own.
        staging_url: The staging listener's URL, for the approval message. Default None.
        production_gate_alarm: An alarm (name) that keeps the production stage from starting
            while it is in ALARM, or None (default) for none.
    """

    settings: DeliverySettings
    context: iam.AwsContext
    images: Sequence[ServiceImage]
    cluster_name: pulumi.Input[str] | None
    production: Mapping[str, Target]
    image_parameter_path: str
    notification_topic_arn: pulumi.Input[str]
    notification_key_arn: pulumi.Input[str] | None = None
    staging: Mapping[str, Target] = field(default_factory=dict)
    staging_url: pulumi.Input[str] | None = None
    production_gate_alarm: str | None = None

    def __post_init__(self) -> None:
        if self.cluster_name is None and any(isinstance(t, DeployTarget) for t in [*self.production.values(), *self.staging.values()]):
            raise ValueError("a service on Fargate needs cluster_name")

    def targets(self, stage: Stage) -> Mapping[str, Target]:
        return self.staging if stage.target == "staging" else self.production

    def deployed(self, kind: type[T]) -> list[T]:
        """Every deploy stage's targets of one kind (:class:`DeployTarget` or :class:`LambdaTarget`)."""
        return [
            t
            for stage in self.settings.stages
            if stage.type == "deploy"
            for t in (self.targets(stage)[s] for s in stage.services)
            if isinstance(t, kind)
        ]


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
    - With a base image cache: ``{name}-base-image-template`` (the settings ECR gives each cached
      repository: AES256, a lifecycle policy) and ``{name}-base-image-cache`` (the pull-through
      cache rule); the build pulls through it.
    - With a service on Lambda: ``{name}-lambda-deploy-logs``, ``-lambda-deploy-role`` /
      ``-lambda-deploy-policy`` and ``{name}-lambda-deploy``, the project of its deploy actions.
    - With a production stage: ``{name}-release-logs``, ``-release-role`` / ``-release-policy``
      and ``{name}-release``, the project of the Release action.
    - With a staging stage: ``{name}-staging-release`` (and its logs, role and policy), the project
      of the RecordStaging action, which records each staging copy's candidate.
    - ``{name}-pipeline-role`` / ``-pipeline-policy`` and ``{name}-pipeline``. The production
      stage may be entered only while ``production_gate_alarm`` is not in ALARM and inside the
      ``production_window``, and a failed production stage rolls back to its last success.
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
            # Written out although it equals the default: the key's policy is then the stack's, shown
            # in the graph and the policy pack, and a console edit shows up as drift. The roles'
            # policies name the key; CodePipeline, CodeBuild and S3 use it as those roles.
            policy=iam.document([iam.delegate_key_to_iam(args.context)]),
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

        projects = BuildProjects(self, name, args, key, self._artifact_statements)
        builds, release = projects.builds, projects.release
        definition = PipelineDefinition(
            args, repository, self._artifact_statements, projects.lambda_deploy, projects.staging_release
        )

        role = aws.iam.Role(
            f"{name}-pipeline-role",
            assume_role_policy=iam.service_trust("codepipeline.amazonaws.com", ctx),
            description=f"CodePipeline runs {args.settings.pipeline_name}",
            opts=self._child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-pipeline-policy",
            role=role.id,
            policy=iam.document(definition.statements(builds, release)),
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
            stages=[definition.stage(stage, builds, release) for stage in args.settings.stages],
            triggers=definition.triggers(),
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
        self.lambda_deploy_project_name = projects.lambda_deploy.name if projects.lambda_deploy else None
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
            "production_gate_alarm_name": args.production_gate_alarm,
            "production_window": {"cron": window.cron, "time_zone": window.time_zone}
            if (window := args.settings.production_window)
            else None,
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
