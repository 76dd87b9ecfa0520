"""What the pipeline's stages are and what its role may do, rendered from the settings.

Not a component and no resources: :class:`PipelineDefinition` gives the
:class:`~components.delivery.Delivery` component its stages, its V2 trigger and its role's
statements.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from . import delivery
from .buildspecs import IMAGE_DEFINITIONS, artifact_name
from .ecs_roles import pass_task_roles, revise_task_definitions

if TYPE_CHECKING:
    from .delivery import DeliveryArgs, Stage

# ``delivery`` is imported as a module: it imports this one, and its source types are looked up
# only when a pipeline is rendered.

SOURCE_ARTIFACT = "source"
RELEASE_ACTION = "Release"
RECORD_STAGING_ACTION = "RecordStaging"


class PipelineDefinition:
    """The stages, trigger and role statements of one pipeline.

    ``repository`` is the CodeCommit repository (None for a connection source);
    ``artifact_statements(write)`` grants the artifact bucket and key; ``lambda_deploy`` is the
    project of the services on Lambda's deploy actions (None without any).
    """

    def __init__(
        self,
        args: DeliveryArgs,
        repository: aws.codecommit.Repository | None,
        artifact_statements: Callable[..., list[dict[str, object]]],
        lambda_deploy: aws.codebuild.Project | None = None,
        staging_release: aws.codebuild.Project | None = None,
    ) -> None:
        self._args = args
        self._repository = repository
        self._artifact_statements = artifact_statements
        self._lambda_deploy = lambda_deploy
        self._staging_release = staging_release
        self._images = {i.name: i for i in args.images}

    def statements(self, builds: Sequence[aws.codebuild.Project], release: aws.codebuild.Project | None) -> list[dict[str, object]]:
        """The pipeline role's statements: the artifacts, the source, the builds, the deploys and approvals."""
        args, ctx = self._args, self._args.context
        statements = self._artifact_statements(write=True)
        if isinstance(args.settings.source, delivery.CodeCommitSource):
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
        extra = [release, self._staging_release, self._lambda_deploy]
        projects = [*builds, *[p for p in extra if p is not None]]
        statements.append(
            {
                "Sid": "RunBuilds",
                "Effect": "Allow",
                "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild"],
                "Resource": [p.arn for p in projects],
            }
        )
        targets = args.deployed(delivery.DeployTarget)
        if targets:
            assert args.cluster_name is not None  # DeliveryArgs checks it
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
                *revise_task_definitions(ctx, sorted({t.family for t in targets}), "ReviseTaskDefinitions"),
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
                pass_task_roles([r for t in targets for r in (t.task_role_arn, t.execution_role_arn)]),
            ]
        if args.production_gate_alarm is not None:
            statements.append(
                {
                    # What the CloudWatchAlarm stage condition reads; AWS documents no permission for
                    # it, and DescribeAlarms is the read it makes (docs/delivery.md: not observed).
                    "Sid": "ReadProductionGateAlarm",
                    "Effect": "Allow",
                    "Action": "cloudwatch:DescribeAlarms",
                    "Resource": ctx.arn("cloudwatch", f"alarm:{args.production_gate_alarm}"),
                }
            )
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

    def stage(
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
            actions = [self._deploy_action(service, targets[service]) for service in stage.services]
            # Only after every service of the stage is deployed and stable: record what it runs.
            recorder = {"production": (RELEASE_ACTION, release), "staging": (RECORD_STAGING_ACTION, self._staging_release)}
            action_name, project = recorder[stage.target]
            if project is not None:
                actions.append(
                    aws.codepipeline.PipelineStageActionArgs(
                        name=action_name,
                        category="Build",
                        owner="AWS",
                        provider="CodeBuild",
                        version="1",
                        input_artifacts=[SOURCE_ARTIFACT],
                        configuration={"ProjectName": project.name},
                        run_order=2,
                    )
                )
        if stage.type == "deploy" and stage.target == "production":
            return aws.codepipeline.PipelineStageArgs(
                name=stage.name,
                actions=actions,
                before_entry=self._production_gate(),
                # A failed production stage goes back to the revision it last deployed successfully.
                on_failure=aws.codepipeline.PipelineStageOnFailureArgs(result="ROLLBACK"),
            )
        return aws.codepipeline.PipelineStageArgs(name=stage.name, actions=actions)

    def _deploy_action(self, service: str, target: delivery.Target) -> aws.codepipeline.PipelineStageActionArgs:
        """ECS's deploy action for a service on Fargate; for one on Lambda, the Lambda deploy
        project with the service's function and CodeDeploy group (buildspecs.lambda_deploy_spec).
        Every service of a stage deploys in parallel."""
        args = self._args
        configuration: dict[str, pulumi.Input[str]]
        if isinstance(target, delivery.LambdaTarget):
            assert self._lambda_deploy is not None
            variables: list[dict[str, pulumi.Input[str]]] = [
                {"name": "SERVICE", "value": service, "type": "PLAINTEXT"},
                {"name": "FUNCTION_NAME", "value": target.function_name, "type": "PLAINTEXT"},
            ]
            if target.deployment_group is not None:
                variables += [
                    {"name": "APPLICATION", "value": target.deployment_application, "type": "PLAINTEXT"},  # type: ignore[dict-item]
                    {"name": "DEPLOYMENT_GROUP", "value": target.deployment_group, "type": "PLAINTEXT"},
                ]
            category, provider = "Build", "CodeBuild"
            configuration = {"ProjectName": self._lambda_deploy.name, "EnvironmentVariables": pulumi.Output.json_dumps(variables)}
        else:
            category, provider = "Deploy", "ECS"
            configuration = {
                "ClusterName": args.cluster_name,  # type: ignore[dict-item]  # DeliveryArgs: set with Fargate targets
                "ServiceName": target.service_name,
                "FileName": IMAGE_DEFINITIONS,
                "DeploymentTimeout": str(args.settings.deploy_timeout_minutes),
            }
        return aws.codepipeline.PipelineStageActionArgs(
            name=service,
            category=category,
            owner="AWS",
            provider=provider,
            version="1",
            input_artifacts=[artifact_name(service)],
            configuration=configuration,
            run_order=1,
        )

    def _production_gate(self) -> aws.codepipeline.PipelineStageBeforeEntryArgs | None:
        """Production is entered only inside the window and while no production alarm fires."""
        args = self._args
        rules = []
        window = args.settings.production_window
        if window is not None:
            rules.append(
                aws.codepipeline.PipelineStageBeforeEntryConditionRuleArgs(
                    name="ProductionWindow",
                    rule_type_id=_rule_type("DeploymentWindow"),
                    configuration={"Cron": window.cron, "TimeZone": window.time_zone},
                )
            )
        if args.production_gate_alarm is not None:
            rules.append(
                aws.codepipeline.PipelineStageBeforeEntryConditionRuleArgs(
                    name="NoProductionAlarm",
                    rule_type_id=_rule_type("CloudWatchAlarm"),
                    configuration={"AlarmName": args.production_gate_alarm, "AlarmStates": "ALARM"},
                )
            )
        if not rules:
            return None
        return aws.codepipeline.PipelineStageBeforeEntryArgs(
            condition=aws.codepipeline.PipelineStageBeforeEntryConditionArgs(result="FAIL", rules=rules)
        )

    def _source_action(self, action: str) -> aws.codepipeline.PipelineStageActionArgs:
        source = self._args.settings.source
        if isinstance(source, delivery.CodeCommitSource):
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

    def triggers(self) -> list[aws.codepipeline.PipelineTriggerArgs] | None:
        source = self._args.settings.source
        if not isinstance(source, delivery.ConnectionSource):
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


def _rule_type(provider: str) -> aws.codepipeline.PipelineStageBeforeEntryConditionRuleRuleTypeIdArgs:
    return aws.codepipeline.PipelineStageBeforeEntryConditionRuleRuleTypeIdArgs(
        category="Rule", owner="AWS", provider=provider, version="1"
    )

