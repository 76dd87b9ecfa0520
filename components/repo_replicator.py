"""Cross-region repository replication (seed 004): each branch change in the primary region's
CodeCommit repository brings the same branch of every secondary region's repository to the same
tree, in new commits that name the source commit; each secondary's own pipeline then builds and
deploys it. The replicas share the primary's trees, not its commit ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi

from . import iam
from .event_function import EventFunction, EventFunctionArgs, EventRule

CODE_PATH = Path(__file__).resolve().parent.parent / "functions" / "repo_replicator"
# The metric the function publishes per target (functions/repo_replicator/README.md).
REPLICATION_LAG_METRIC = "ReplicationLagSeconds"

# Reads the replicator makes on the primary repository, and what it does on each secondary.
SOURCE_ACTIONS = ("codecommit:GetBranch", "codecommit:GetCommit", "codecommit:GetDifferences", "codecommit:GetBlob")
TARGET_ACTIONS = (
    "codecommit:GetRepository",
    "codecommit:GetBranch",
    "codecommit:GetCommit",
    "codecommit:GetDifferences",
    "codecommit:CreateCommit",
    "codecommit:CreateBranch",
    "codecommit:DeleteBranch",
    # Publishing a staged change moves the branch once; the default-branch update is needed only
    # when a multi-commit first sync into an empty repository started on the working branch.
    "codecommit:MergeBranchesByFastForward",
    "codecommit:UpdateDefaultBranch",
)


@dataclass(frozen=True)
class ReplicaTarget:
    """A secondary region's repository.

    Attributes:
        region: Its region code.
        repository_name / repository_arn: From that region's repository resource.
    """

    region: str
    repository_name: pulumi.Input[str]
    repository_arn: pulumi.Input[str]


@dataclass(frozen=True)
class ReplicatorSettings:
    """The replicator's settings: plain data, from the validated stack config (``replication``).

    Attributes:
        function_name: Physical name, ``{prefix}-repo-replicator``.
        metric_namespace: Where ``ReplicationLagSeconds`` is published (the only namespace the
            role may write to).
        timeout_seconds / memory_mb: Default 300 / 512.
        log_retention_days: Default 365.
    """

    function_name: str
    metric_namespace: str
    timeout_seconds: int = 300
    memory_mb: int = 512
    log_retention_days: int = 365


@dataclass(frozen=True)
class RepoReplicatorArgs:
    """Inputs of :class:`RepoReplicator`: its settings, and the repositories it connects.

    Attributes:
        settings: What the replicator is (:class:`ReplicatorSettings`).
        context: The primary region's account, partition and region.
        source_repository_name / source_repository_arn: The primary region's repository.
        targets: The secondary regions' repositories (at least one).
    """

    settings: ReplicatorSettings
    context: iam.AwsContext
    source_repository_name: pulumi.Input[str]
    source_repository_arn: pulumi.Input[str]
    targets: Sequence[ReplicaTarget]

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError("replication needs at least one secondary repository")
        regions = [t.region for t in self.targets]
        if self.context.region in regions or len(set(regions)) != len(regions):
            raise ValueError(f"targets must be distinct secondary regions, not {regions}")


class RepoReplicator(pulumi.ComponentResource):
    """Replicates the primary repository to the secondaries (``functions/repo_replicator``).

    Creates ``{name}-function`` (:class:`~components.event_function.EventFunction`) with one
    rule, ``pushes``: the primary repository's referenceCreated, referenceUpdated and
    referenceDeleted events for branches. Reserved concurrency 1 serializes replication, so two
    quick pushes never race for a secondary branch head; Lambda's two retries then the
    dead-letter queue catch failures (replication is idempotent, so a retry is safe).

    Its role reads the primary repository, writes the secondaries, and publishes metrics to
    ``metric_namespace`` only.
    """

    def __init__(self, name: str, args: RepoReplicatorArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:events:RepoReplicator", name, None, opts)
        self.function = EventFunction(
            f"{name}-function",
            EventFunctionArgs(
                function_name=args.settings.function_name,
                code_path=CODE_PATH,
                description="Replicates the primary CodeCommit repository to the secondary regions",
                rules=[
                    EventRule(
                        "pushes",
                        "Branch changes in the primary repository, replicated to the secondaries",
                        event_pattern=push_pattern(args.source_repository_arn),
                    )
                ],
                statements=statements(args),
                environment={
                    "SOURCE_REPOSITORY": args.source_repository_name,
                    "TARGETS": targets_json(args.targets),
                    "METRIC_NAMESPACE": args.settings.metric_namespace,
                },
                memory_mb=args.settings.memory_mb,
                timeout_seconds=args.settings.timeout_seconds,
                reserved_concurrency=1,
                async_retries=2,
                log_retention_days=args.settings.log_retention_days,
            ),
            pulumi.ResourceOptions(parent=self),
        )
        self.source_repository_name = pulumi.Output.from_input(args.source_repository_name)
        self.outputs: dict[str, pulumi.Input[object]] = {
            **self.function.outputs,
            "source_repository_name": args.source_repository_name,
            "target_regions": [t.region for t in args.targets],
            "metric_namespace": args.settings.metric_namespace,
        }
        self.register_outputs(self.outputs)


def targets_json(targets: Sequence[ReplicaTarget]) -> pulumi.Output[str]:
    return pulumi.Output.json_dumps([{"region": t.region, "repositoryName": t.repository_name} for t in targets])


def push_pattern(repository_arn: pulumi.Input[str]) -> dict[str, object]:
    return {
        "source": ["aws.codecommit"],
        "detail-type": ["CodeCommit Repository State Change"],
        "resources": [repository_arn],
        "detail": {
            "event": ["referenceCreated", "referenceUpdated", "referenceDeleted"],
            "referenceType": ["branch"],
        },
    }


def statements(args: RepoReplicatorArgs) -> list[dict[str, object]]:
    return [
        {"Sid": "ReadPrimary", "Effect": "Allow", "Action": list(SOURCE_ACTIONS), "Resource": args.source_repository_arn},
        {
            "Sid": "WriteSecondaries",
            "Effect": "Allow",
            "Action": list(TARGET_ACTIONS),
            "Resource": [t.repository_arn for t in args.targets],
        },
        {
            # PutMetricData has no resource; the namespace condition is its only scope.
            "Sid": "PublishLag",
            "Effect": "Allow",
            "Action": "cloudwatch:PutMetricData",
            "Resource": "*",
            "Condition": {"StringEquals": {"cloudwatch:namespace": args.settings.metric_namespace}},
        },
    ]

