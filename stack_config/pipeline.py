"""Config section for delivery: the source, the build, the stages and where they deploy.

Every region the stack lists gets the same pipeline, from its own source repository (CodeCommit)
or from the one connected repository (a CodeConnections connection is usable in every region).
"""

from __future__ import annotations

import re
import zoneinfo
from typing import Literal

from .base import _field, _Model, checked_str
from .events import _cron_field
from .workloads import (
    EXPIRE_DAYS_ALLOWED,
    PORT_ALLOWED,
    ExpireDays,
    IngressCidr,
    Port,
    RouteName,
    _int,
)

STAGE_NAME_ALLOWED = "1-100 characters: letters, digits and . @ - _"
_STAGE_NAME_RE = re.compile(r"^[A-Za-z0-9.@_-]{1,100}$")


REPOSITORY_NAME_ALLOWED = "a CodeCommit repository name: 1-100 characters, letters, digits and . _ - (not .git at the end)"
_REPOSITORY_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def _is_branch(value: str) -> bool:
    return (
        bool(_BRANCH_RE.match(value))
        and ".." not in value
        and not value.startswith("/")
        and not value.endswith(("/", ".lock"))
    )


BRANCH_ALLOWED = "a git branch name such as main or release/1.x (no spaces, no .., no leading or trailing /)"
_BRANCH_RE = re.compile(r"^[A-Za-z0-9._/-]{1,255}$")


CONNECTION_ARN_ALLOWED = (
    "a CodeConnections connection ARN, arn:<partition>:codeconnections:<region>:<account>:connection/<id> "
    "(or codestar-connections)"
)
_CONNECTION_ARN_RE = re.compile(
    r"^arn:aws(-[a-z]+)*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]{36}$"
)


REPOSITORY_ID_ALLOWED = "owner/repository, as on GitHub, GitLab or Bitbucket"
_REPOSITORY_ID_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")


EMAIL_ALLOWED = "an email address such as ops@example.com"
EMAILS_ALLOWED = "a list of email addresses such as ops@example.com"
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


TOPIC_ARN_ALLOWED = "an SNS topic ARN, arn:<partition>:sns:<region>:<account>:<name>"
_TOPIC_ARN_RE = re.compile(r"^arn:aws(-[a-z]+)*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]{1,256}$")


WINDOW_CRON_ALLOWED = (
    "a CodePipeline deployment-window cron: * minutes hours day-of-month month day-of-week [year], "
    "with ? in day-of-month or day-of-week; for example * * 9-16 ? * MON-FRI (weekdays, 09:00 to 16:59)"
)


def _is_window_cron(value: str) -> bool:
    # Quartz-style, as CodePipeline's DeploymentWindow rule takes it: a seconds field (only *), then
    # the fields of an EventBridge cron, the year optional.
    fields = value.split()
    if len(fields) not in (6, 7) or fields[0] != "*":
        return False
    rest = fields[1:] if len(fields) == 7 else [*fields[1:], "*"]
    return all(_cron_field(f, i) for i, f in enumerate(rest)) and (rest[2] == "?") != (rest[4] == "?")


TIME_ZONE_ALLOWED = "an IANA time zone such as UTC, Europe/Berlin or America/New_York"


def _is_time_zone(value: str) -> bool:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


StageName = checked_str("stage_name", STAGE_NAME_ALLOWED, _STAGE_NAME_RE.match)
WindowCron = checked_str("window_cron", WINDOW_CRON_ALLOWED, _is_window_cron)
TimeZone = checked_str("time_zone", TIME_ZONE_ALLOWED, _is_time_zone)
RepositoryName = checked_str("repository_name", REPOSITORY_NAME_ALLOWED, lambda value: bool(_REPOSITORY_NAME_RE.match(value)) and not value.endswith(".git"))
Branch = checked_str("branch", BRANCH_ALLOWED, _is_branch)
ConnectionArn = checked_str("connection_arn", CONNECTION_ARN_ALLOWED, _CONNECTION_ARN_RE.match)
RepositoryId = checked_str("repository_id", REPOSITORY_ID_ALLOWED, _REPOSITORY_ID_RE.match)
Email = checked_str("email", EMAIL_ALLOWED, lambda value: len(value) <= 254 and bool(_EMAIL_RE.match(value)))
TopicArn = checked_str("topic_arn", TOPIC_ARN_ALLOWED, _TOPIC_ARN_RE.match)

CACHE_PREFIX_ALLOWED = (
    "an ECR repository namespace of 2-30 characters: lowercase letters and digits, separated by single . _ - or /"
)
# ECR's pattern for a pull-through cache rule's ecrRepositoryPrefix (CreatePullThroughCacheRule).
_CACHE_PREFIX_RE = re.compile(r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$")
CachePrefix = checked_str(
    "cache_prefix", CACHE_PREFIX_ALLOWED, lambda value: 2 <= len(value) <= 30 and bool(_CACHE_PREFIX_RE.match(value))
)

BuildTimeout, BUILD_TIMEOUT_ALLOWED = _int(5, 480, "minutes")
DeployTimeout, DEPLOY_TIMEOUT_ALLOWED = _int(1, 60, "minutes")
StagingCount, STAGING_COUNT_ALLOWED = _int(1, 10, "a task count")

COMPUTE_TYPES = ("BUILD_GENERAL1_SMALL", "BUILD_GENERAL1_MEDIUM", "BUILD_GENERAL1_LARGE")

# The prod stack's five stages (seeds 001 and 004) and the short chain every other stack starts with.
SHORT_CHAIN = (
    {"name": "Source", "type": "source"},
    {"name": "Build", "type": "build"},
    {"name": "Deploy", "type": "deploy"},
)


class SourceConfig(_Model):
    """Where the pipeline takes its source from."""

    type: Literal["codecommit", "connection"] = _field(
        "codecommit",
        description="codecommit: a repository per region (secondaries receive the primary's "
        "commits by replication); connection: one GitHub/GitLab/Bitbucket repository through a "
        "CodeConnections connection, read by every region.",
        allowed="codecommit or connection",
    )
    repository_name: RepositoryName | None = _field(  # type: ignore[valid-type]
        None,
        description="CodeCommit repository name (codecommit only). Default {name}-{environment}.",
        allowed=REPOSITORY_NAME_ALLOWED,
    )
    branch: Branch = _field(  # type: ignore[valid-type]
        "main", description="The branch whose pushes run the pipeline.", allowed=BRANCH_ALLOWED
    )
    connection_arn: ConnectionArn | None = _field(  # type: ignore[valid-type]
        None,
        description="The connection (connection only); created and authorized in the console once.",
        allowed=CONNECTION_ARN_ALLOWED,
    )
    full_repository_id: RepositoryId | None = _field(  # type: ignore[valid-type]
        None, description="owner/repository (connection only).", allowed=REPOSITORY_ID_ALLOWED
    )


class BaseImageCacheConfig(_Model):
    """An ECR pull-through cache of ECR Public in each region, which the build pulls base images through."""

    enabled: bool = _field(
        True,
        description="Create the cache rule and pass the build BASE_REGISTRY=<this account's registry>/<prefix>, "
        "so base images come from the account's own registry instead of anonymous pulls from public.ecr.aws.",
        allowed="true or false",
        strict=True,
    )
    prefix: CachePrefix | None = _field(  # type: ignore[valid-type]
        None,
        description="Namespace of the cached repositories, unique per account and region. Default "
        "ecr-public-{environment}, so dev and prod can share an account.",
        allowed=CACHE_PREFIX_ALLOWED,
    )


class BuildConfig(_Model):
    """The CodeBuild project that builds and pushes every service's image."""

    compute_type: Literal[COMPUTE_TYPES] = _field(  # type: ignore[valid-type]
        "BUILD_GENERAL1_SMALL", description="CodeBuild compute size.", allowed=", ".join(COMPUTE_TYPES)
    )
    timeout_minutes: BuildTimeout = _field(  # type: ignore[valid-type]
        30, description="A build running longer is stopped.", allowed=BUILD_TIMEOUT_ALLOWED
    )
    base_image_cache: BaseImageCacheConfig = _field(
        BaseImageCacheConfig(),
        description="Base images pulled through an ECR pull-through cache of ECR Public.",
        allowed="an object with enabled, prefix",
    )


class StagingConfig(_Model):
    """The reduced copy of each service that a `target: staging` deploy stage updates."""

    listener_port: Port = _field(  # type: ignore[valid-type]
        8443,
        description="ALB port of the staging listener; only staging rules are on it, so production "
        "traffic (80/443) never reaches staging.",
        allowed=PORT_ALLOWED + ", not 80 or 443",
    )
    ingress_cidrs: list[IngressCidr] | None = _field(  # type: ignore[valid-type]
        None,
        description="Clients admitted to the staging port. Default: loadBalancer.ingressCidrs.",
        allowed="a non-empty list of IPv4 CIDRs",
        min_length=1,
    )
    desired_count: StagingCount = _field(  # type: ignore[valid-type]
        1, description="Tasks of each staging service (no autoscaling).", allowed=STAGING_COUNT_ALLOWED
    )
    spot: bool = _field(
        True,
        description="Run staging tasks on Fargate Spot (interruptible, about 70% cheaper).",
        allowed="true or false",
        strict=True,
    )


class NotificationsConfig(_Model):
    """Who hears about approvals and failed pipeline runs."""

    emails: list[Email] = _field(  # type: ignore[valid-type]
        [],
        description="Addresses subscribed to each region's notifications topic (each confirms by email).",
        allowed=EMAILS_ALLOWED,
    )
    topic_arns: dict[str, TopicArn] = _field(  # type: ignore[valid-type]
        {},
        description="Existing topics to notify instead, by region (all regions or none); their "
        "policies must let EventBridge and the pipeline publish.",
        allowed="a map of region to " + TOPIC_ARN_ALLOWED,
    )


class StageConfig(_Model):
    """One pipeline stage."""

    name: StageName = _field(description="Stage name, unique in the pipeline.", allowed=STAGE_NAME_ALLOWED)  # type: ignore[valid-type]
    type: Literal["source", "build", "deploy", "approval"] = _field(
        description="What the stage does. source and build each come once, in that order; deploy "
        "has one ECS action per service, in parallel; approval waits for a person.",
        allowed="source, build, deploy or approval",
    )
    target: Literal["staging", "production"] | None = _field(
        None,
        description="deploy only: the staging copies or the production services. Default production.",
        allowed="staging or production",
    )
    services: list[RouteName] | None = _field(  # type: ignore[valid-type]
        None,
        description="deploy only: the services to deploy. Default every service with mode service.",
        allowed="a list of service names (mode service)",
    )
    action_name: StageName | None = _field(  # type: ignore[valid-type]
        None,
        description="Name of the stage's action (source, build, approval). Default: Source, Build, "
        "Approve. Deploy actions are named after their services.",
        allowed=STAGE_NAME_ALLOWED,
    )


class ArtifactsConfig(_Model):
    """Each region's artifact bucket."""

    expire_after_days: ExpireDays = _field(  # type: ignore[valid-type]
        30, description="Days before an artifact (and a replaced version) is deleted.", allowed=EXPIRE_DAYS_ALLOWED
    )
    force_destroy: bool = _field(
        False,
        description="Let pulumi destroy delete the bucket with its artifacts in it.",
        allowed="true or false",
        strict=True,
    )


class ProductionWindowConfig(_Model):
    """When production deploys may start: outside the window the production stage does not begin."""

    cron: WindowCron = _field(  # type: ignore[valid-type]
        description="The minutes in which the production stage may be entered.", allowed=WINDOW_CRON_ALLOWED
    )
    time_zone: TimeZone = _field(  # type: ignore[valid-type]
        "UTC", description="The time zone the cron is read in.", allowed=TIME_ZONE_ALLOWED
    )


class PipelineConfig(_Model):
    """CodePipeline V2 in every region: source, build, deploy stages from config."""

    enabled: bool = _field(
        True,
        description="Build the pipeline (only a stack with services has something to deliver).",
        allowed="true or false",
        strict=True,
    )
    source: SourceConfig = _field(SourceConfig(), description="The source.", allowed="an object (see below)")
    build: BuildConfig = _field(BuildConfig(), description="The build.", allowed="an object (see below)")
    stages: list[StageConfig] = _field(
        [StageConfig.model_validate(s) for s in SHORT_CHAIN],
        description="Stages in order. Default Source, Build, Deploy.",
        allowed="a list of stage objects: source first, then build, then deploy and approval stages",
        min_length=3,
        max_length=10,
    )
    deploy_timeout_minutes: DeployTimeout = _field(  # type: ignore[valid-type]
        30,
        description="How long an ECS deploy action waits for the service to be stable.",
        allowed=DEPLOY_TIMEOUT_ALLOWED,
    )
    staging: StagingConfig = _field(StagingConfig(), description="Staging copies.", allowed="an object (see below)")
    notifications: NotificationsConfig = _field(
        NotificationsConfig(), description="Notifications.", allowed="an object (see below)"
    )
    artifacts: ArtifactsConfig = _field(ArtifactsConfig(), description="Artifacts.", allowed="an object (see below)")
    production_window: ProductionWindowConfig | None = _field(
        None,
        description="Entering the production deploy stage is allowed only inside this window (a "
        "DeploymentWindow stage condition); a run that reaches it outside fails the stage. Default: any time.",
        allowed="an object with cron, timeZone",
    )

    def deploy_services(self, stage: StageConfig, all_services: list[tuple[str, str]]) -> list[str]:
        """The services a deploy stage deploys: as listed, or every (name, mode) with mode service."""
        if stage.services is not None:
            return list(stage.services)
        return [name for name, mode in all_services if mode == "service"]



# CodePipeline: a CodeBuild action has at most 5 output artifacts, one per deployed service here.
MAX_ARTIFACTS_PER_BUILD = 5
RELEASE_ACTION = "Release"


def build_batches(services: list[tuple[str, str]]) -> list[list[str]]:
    """Services per build action: at most 5 deployable ones each (one artifact apiece).

    On-demand services produce no artifact and go in the first batch. ``services`` is a list of
    (name, mode) in config order, so a batch changes only when the services before it change.
    """
    deployable = [n for n, mode in services if mode == "service"]
    on_demand = [n for n, mode in services if mode != "service"]
    batches = [deployable[i : i + MAX_ARTIFACTS_PER_BUILD] for i in range(0, len(deployable), MAX_ARTIFACTS_PER_BUILD)]
    if not batches:
        return [on_demand] if on_demand else []
    batches[0] = batches[0] + on_demand
    return batches


def action_names(stage: StageConfig, deployed: list[str], batches: int) -> list[str]:
    """The names of a stage's actions, as the pipeline will have them."""
    if stage.type == "deploy":
        return deployed + ([RELEASE_ACTION] if (stage.target or "production") == "production" else [])
    base = stage.action_name or {"source": "Source", "build": "Build", "approval": "Approve"}[stage.type]
    if stage.type == "build":
        return [base] + [f"{base}-{k}" for k in range(2, batches + 1)]
    return [base]
