"""Cross-checks of the pipeline section against itself and against the services."""

from __future__ import annotations

from . import routes
from .model import StackConfig
from .pipeline import action_names, build_batches
from .problems import Problem, entries, entry, missing
from .workload_checks import region_keyed_arn_problems

STAGING_SUFFIX = "-stg"
_WHERE = "pipeline.stages"


def _stages(cfg: StackConfig) -> list[str]:
    """Each stage's key path, naming it: ``pipeline.stages[2] (DeployStaging)``."""
    return [entry(_WHERE, i, s.name) for i, s in enumerate(cfg.pipeline.stages)]


def pipeline_problems(cfg: StackConfig) -> list[Problem]:
    p = cfg.pipeline
    if not cfg.has_pipeline:
        return []
    return (
        _source_problems(cfg)
        + _stage_order_problems(cfg)
        + _deploy_problems(cfg)
        + _name_problems(cfg)
        + _notification_problems(cfg)
        + _architecture_problems(cfg)
        + ([Problem("pipeline.staging.listenerPort", "a port other than 80 and 443 (the production listeners)", p.staging.listener_port)]
           if p.staging.listener_port in (80, 443) else [])
    )  # fmt: skip


def _source_problems(cfg: StackConfig) -> list[Problem]:
    src = cfg.pipeline.source
    problems: list[Problem] = []
    if src.type == "connection":
        if src.connection_arn is None:
            problems.append(missing("pipeline.source.connectionArn", "the CodeConnections connection ARN when type is connection"))
        if src.full_repository_id is None:
            problems.append(missing("pipeline.source.fullRepositoryId", "owner/repository when type is connection"))
        if src.repository_name is not None:
            problems.append(
                Problem("pipeline.source.repositoryName", "no repositoryName with type connection (it names a CodeCommit repository)", src.repository_name)
            )
    else:
        for key, value in (("connectionArn", src.connection_arn), ("fullRepositoryId", src.full_repository_id)):
            if value is not None:
                problems.append(Problem(f"pipeline.source.{key}", "nothing here unless type is connection", value))
    return problems


def _stage_order_problems(cfg: StackConfig) -> list[Problem]:
    stages, paths = cfg.pipeline.stages, _stages(cfg)
    problems: list[Problem] = []
    if stages[0].type != "source":
        problems.append(Problem(f"{paths[0]}.type", "source: the first stage is the source stage", stages[0].type))
    builds = [i for i, s in enumerate(stages) if s.type == "build"]
    if not builds:
        problems.append(missing(_WHERE, "a stage with type build"))
    for i, stage in enumerate(stages):
        where = paths[i]
        if i > 0 and stage.type == "source":
            problems.append(Problem(f"{where}.type", "source only in the first stage", stage.type))
        if stage.type == "build" and i != (builds[0] if builds else i):
            problems.append(Problem(f"{where}.type", f"one build stage only ({paths[builds[0]]} is one)", stage.type))
        if stage.type == "deploy" and builds and i < builds[0]:
            problems.append(Problem(f"{where}.type", f"a deploy stage after the build stage ({paths[builds[0]]})", stage.type))
        if stage.type != "deploy":
            for key, value in (("target", stage.target), ("services", stage.services)):
                if value is not None:
                    problems.append(Problem(f"{where}.{key}", "nothing here: only deploy stages have it", value))
        elif stage.action_name is not None:
            problems.append(
                Problem(f"{where}.actionName", "nothing here: a deploy stage's actions are named after its services", stage.action_name)
            )
    return problems


def _deploy_problems(cfg: StackConfig) -> list[Problem]:
    p = cfg.pipeline
    modes = {s.name: s.mode for s in cfg.services}
    problems: list[Problem] = []
    targets: dict[str, int] = {}
    paths = _stages(cfg)
    for i, stage in enumerate(p.stages):
        if stage.type != "deploy":
            continue
        where = paths[i]
        target = stage.target or "production"
        if target in targets:
            problems.append(
                Problem(f"{where}.target", f"each target once ({paths[targets[target]]} deploys {target})", target)
            )
        targets.setdefault(target, i)
        for k, name in enumerate(stage.services or []):
            key = f"{where}.services[{k}]"
            if name not in modes:
                problems.append(Problem(key, "one of the services: " + (", ".join(modes) or "none are configured"), name))
            elif modes[name] != "service":
                problems.append(
                    Problem(key, "a service with mode service; on-demand services have no ECS service to deploy (the Release step publishes their image)", name)
                )
        if target == "staging" and not p.deploy_services(stage, list(modes.items())):
            problems.append(Problem(f"{where}.services", "at least one service with mode service to deploy to staging", stage.services))
    if "production" not in targets:
        problems.append(missing(_WHERE, "a deploy stage with target production (the default target)"))
    elif "staging" in targets and targets["staging"] > targets["production"]:
        problems.append(
            Problem(f"{paths[targets['staging']]}.target", "staging before the production deploy stage", "staging")
        )
    if "staging" in targets:
        approvals = [i for i, s in enumerate(p.stages) if s.type == "approval"]
        if approvals and approvals[0] < targets["staging"]:
            problems.append(
                Problem(f"{paths[approvals[0]]}.type", f"an approval after the staging deploy ({paths[targets['staging']]}), "
                        "so the approver reviews what staging runs", "approval")
            )
        if p.staging.spot and any(s.architecture == "ARM64" for s in cfg.services):
            problems.append(
                Problem("pipeline.staging.spot", "false with ARM64 services: Fargate Spot runs X86_64 tasks only", True)
            )
        longest = routes.max_route_name_length(cfg.environment) - len(STAGING_SUFFIX)
        for path, svc in entries("services", cfg.services):
            if svc.mode == "service" and len(svc.name) > longest:
                problems.append(
                    Problem(
                        f"{path}.name",
                        f"at most {longest} characters with a staging stage, so the staging target group "
                        f"{svc.name}{STAGING_SUFFIX}-{cfg.environment}-xxxxxx fits AWS's 32",
                        svc.name,
                    )
                )
    return problems


def _name_problems(cfg: StackConfig) -> list[Problem]:
    p = cfg.pipeline
    services = [(s.name, s.mode) for s in cfg.services]
    batches = len(build_batches(services))
    problems: list[Problem] = []
    stage_names: dict[str, int] = {}
    for i, (stage, where) in enumerate(zip(p.stages, _stages(cfg), strict=True)):
        if stage.name in stage_names:
            problems.append(
                Problem(f"{where}.name", f"a name not already used ({stage.name} is {_WHERE}[{stage_names[stage.name]}])", stage.name)
            )
        stage_names.setdefault(stage.name, i)
        # AWS's rule: action names are unique within their stage. A deploy stage without a
        # services list deploys every service by name: two services of one name are reported
        # once, as services[].name, not again as actions of every deploy stage.
        if stage.type == "deploy" and stage.services is None:
            continue
        deployed = p.deploy_services(stage, services) if stage.type == "deploy" else []
        seen: set[str] = set()
        for k, action in enumerate(action_names(stage, deployed, batches)):
            if action in seen:
                key = f"{where}.services[{k}]" if stage.type == "deploy" else f"{where}.actionName"
                problems.append(Problem(key, "action names unique in the stage: each service once", action))
            seen.add(action)
    return problems


def _notification_problems(cfg: StackConfig) -> list[Problem]:
    n = cfg.pipeline.notifications
    problems = region_keyed_arn_problems(
        cfg,
        "pipeline.notifications.topicArns",
        n.topic_arns,
        service="sns",
        what="a topic",
        why="EventBridge and CodePipeline publish to a topic in their own region",
        unless="so every region's approvals and failures reach someone",
    )
    if n.emails and n.topic_arns:
        problems.append(
            Problem(
                "pipeline.notifications.emails",
                "no emails with topicArns: emails subscribe to the topics the stack creates; subscribe them to your own topics yourself",
                n.emails,
            )
        )
    for stage, where in zip(cfg.pipeline.stages, _stages(cfg), strict=True):
        if stage.type == "approval" and not (n.emails or n.topic_arns):
            problems.append(
                Problem(
                    f"{where}.type",
                    "an approval stage only with pipeline.notifications.emails or topicArns, so the request reaches an approver",
                    stage.type,
                )
            )
    return problems


def _architecture_problems(cfg: StackConfig) -> list[Problem]:
    if not cfg.services:
        return []
    first = cfg.services[0].architecture
    like = entry("services", 0, cfg.services[0].name)
    return [
        Problem(
            f"{path}.architecture",
            f"{first}, like {like}: the pipeline builds every image on one CodeBuild architecture",
            svc.architecture,
        )
        for path, svc in entries("services", cfg.services)
        if svc.architecture != first
    ]
