"""A Copilot pipeline manifest as the stack's ``pipeline``: source, stages, notifications.

A Copilot pipeline deploys one environment per stage; a stack here is one environment, whose
pipeline may deploy a staging copy first. So the stage that deploys the stack's environment (the
one named ``--environment``, else the last) becomes the production deploy, the stage right
before it the staging deploy, and its ``requires_approval`` an approval stage between the two.
Stages before the staging one and after the production one are reported, not imported: they
deploy other environments, which are other stacks.
"""

from __future__ import annotations

import re
from typing import Any

from .manifests import Manifest, Workspace
from .mapping import JOB, PLACEHOLDER_CONNECTION_ID, PLACEHOLDER_EMAIL, Context, Imported, placeholder_arn
from .report import DEFAULTED, DIFFERS, IMPORTED, NOT_IMPORTED, NOTE, PLACEHOLDER, SKIPPED, show

CONNECTION_PROVIDERS = {"github": "GitHub", "githubv1": "GitHub", "bitbucket": "Bitbucket"}
_STAGE_KEYS = ("name", "requires_approval", "deployments", "test_commands", "pre_deployments", "post_deployments")
_NO_ACTIONS = (
    "the platform's deploy stages run ECS deploy actions only, no build or test actions; check a release with "
    "the health check, or with a smoke test (services[].deployment.smokeTest, with a blueGreen, canary or linear "
    "strategy)"
)


def choose(ws: Workspace, ctx: Context) -> Manifest | None:
    """The pipeline to import: the first that deploys --environment (else the first); the others
    are reported as skipped (a stack has one pipeline)."""
    if not ws.pipelines:
        return None
    chosen = ws.pipelines[0]
    if ctx.environment is not None:
        chosen = next((p for p in ws.pipelines if ctx.environment in _stage_names(p.data)), chosen)
    for other in ws.pipelines:
        if other is not chosen:
            ctx.report.add(SKIPPED, other.file, "name", f"{show(other.name)}: a stack has one pipeline; imported "
                           f"{chosen.file} instead")
    return chosen


def _stage_names(data: dict[str, Any]) -> list[str]:
    return [str(s.get("name")) for s in data.get("stages") or [] if isinstance(s, dict)]


def map_pipeline(manifest: Manifest, ctx: Context, imported: Imported) -> dict[str, Any] | None:
    """``pipeline`` for the fragment, or None when the manifest does not deploy --environment."""
    r, f, d = ctx.report, manifest.file, manifest.data
    stages = [s for s in d.get("stages") or [] if isinstance(s, dict)]
    names = _stage_names(d)
    if not stages:
        r.add(NOT_IMPORTED, f, "stages", "none: nothing to deploy; the stack keeps its own stages")
    target = ctx.environment if ctx.environment is not None else (names[-1] if names else None)
    if stages and target not in names:
        r.add(NOTE, f, "stages", f"{', '.join(names)}: none deploys {target}; the pipeline is not imported")
        return None
    pipeline: dict[str, Any] = {"source": _source(manifest, ctx)}
    r.add(NOTE, f, "name", f"{show(d.get('name'))}: the platform names its pipeline {{name}}-{{environment}}")
    if d.get("build") is not None:
        r.add(NOT_IMPORTED, f, "build", f"{show(d['build'])}: the build is generated (a docker build per service on "
              "CodeBuild, sized by pipeline.build.computeType and timeoutMinutes); a custom image, buildspec or policy "
              "is not imported")
    for key in d:
        if key not in ("name", "version", "source", "build", "stages") and d[key] is not None:
            r.add(NOT_IMPORTED, f, key, f"{show(d[key])}: not a pipeline key the importer maps")
    if not stages:
        return pipeline
    at = names.index(str(target))
    for i in range(at + 1, len(stages)):
        r.add(NOT_IMPORTED, f, f"stages[{i}] ({names[i]})", f"deploys {names[i]}, another environment: that is another "
              f"stack's pipeline (import with --environment {names[i]} into it)")
    for i in range(max(at - 1, 0)):
        r.add(NOT_IMPORTED, f, f"stages[{i}] ({names[i]})", "the platform's pipeline has one staging deploy, the stage "
              f"right before production ({names[at - 1]})")
    deployable = [s["name"] for s in imported.services if s.get("mode", "service") == "service"]
    result: list[dict[str, Any]] = [{"name": "Source", "type": "source"}, {"name": "Build", "type": "build"}]
    if at > 0:
        staging = stages[at - 1]
        where = f"stages[{at - 1}] ({names[at - 1]})"
        if deployable:
            result.append(_deploy(staging, "staging", where, f, ctx, imported))
            r.add(IMPORTED, f, where, f"-> pipeline.stages: {names[at - 1]}, a deploy stage with target staging (reduced "
                  "copies of the services, pipeline.staging)")
            if any(s.get("architecture") == "ARM64" for s in imported.services):
                pipeline["staging"] = {"spot": False}
                r.add(DEFAULTED, f, where, "-> pipeline.staging.spot false: Fargate Spot runs X86_64 tasks only")
        else:
            r.add(NOT_IMPORTED, f, where, "no imported service with mode service to deploy to staging")
        if staging.get("requires_approval"):
            r.add(NOT_IMPORTED, f, f"{where}.requires_approval", "true: the platform's approval comes after the staging "
                  "deploy (its approver reviews what staging runs), so only the production stage's approval is imported")
    production = stages[at]
    where = f"stages[{at}] ({names[at]})"
    if production.get("requires_approval"):
        result.append({"name": f"Approve-{names[at]}", "type": "approval"})
        r.add(IMPORTED, f, f"{where}.requires_approval", f"true -> pipeline.stages: Approve-{names[at]}, an approval "
              "stage before the production deploy")
        if not ctx.has_notifications:
            pipeline["notifications"] = {"emails": [PLACEHOLDER_EMAIL]}
            r.add(PLACEHOLDER, f, f"{where}.requires_approval", f"-> pipeline.notifications.emails [{PLACEHOLDER_EMAIL}]: "
                  "an approval needs someone to ask and Copilot's manifest does not name them; put in the approvers' "
                  "addresses (ops up refuses a documentation domain)")
    result.append(_deploy(production, "production", where, f, ctx, imported))
    r.add(IMPORTED, f, where, f"-> pipeline.stages: {names[at]}, the production deploy stage")
    pipeline["stages"] = result
    return pipeline


def _deploy(stage: dict[str, Any], target: str, where: str, f: str, ctx: Context, imported: Imported) -> dict[str, Any]:
    r = ctx.report
    deploy: dict[str, Any] = {"name": stage["name"], "type": "deploy"}
    if target == "staging":
        deploy["target"] = "staging"
    for key in ("test_commands", "pre_deployments", "post_deployments"):
        if stage.get(key):
            r.add(NOT_IMPORTED, f, f"{where}.{key}", f"{show(stage[key])}: {_NO_ACTIONS}")
    deployments = stage.get("deployments")
    if deployments:
        listed: list[str] = []
        for name, spec in deployments.items():
            key = f"{where}.deployments.{name}"
            if name not in imported.kinds:
                r.add(NOT_IMPORTED, f, key, "not an imported service")
            elif imported.kinds[name] == JOB:
                r.add(NOTE, f, key, "a job: its image is published by the production stage's Release step; it has no "
                      "ECS service to deploy")
            else:
                listed.append(name)
            for detail in spec or {}:
                if (spec or {}).get(detail) is not None:
                    r.add(NOT_IMPORTED if detail != "depends_on" else DIFFERS, f, f"{key}.{detail}", (
                        f"{show(spec[detail])}: a stage's deploy actions run in parallel; there is no order between them"
                        if detail == "depends_on" else f"{show(spec[detail])}: the platform deploys with ECS deploy "
                        "actions, not CloudFormation stacks"
                    ))
        if listed:
            deploy["services"] = listed
            r.add(IMPORTED, f, f"{where}.deployments", f"-> the stage's services [{', '.join(listed)}]")
    for key in stage:
        if key not in _STAGE_KEYS and stage[key] is not None:
            r.add(NOT_IMPORTED, f, f"{where}.{key}", f"{show(stage[key])}: not a stage key the importer maps")
    return deploy


def _source(manifest: Manifest, ctx: Context) -> dict[str, Any]:
    r, f = ctx.report, manifest.file
    source = manifest.data.get("source") or {}
    props = source.get("properties") or {}
    provider = str(source.get("provider") or "")
    out: dict[str, Any] = {}
    branch = props.get("branch")
    if branch:
        out["branch"] = branch
        r.add(IMPORTED, f, "source.properties.branch", f"{show(branch)} -> pipeline.source.branch")
    else:
        out["branch"] = "main"
        r.add(DEFAULTED, f, "source.properties.branch", "not set -> pipeline.source.branch main")
    repository = str(props.get("repository") or "")
    used = {"branch", "repository"}
    if provider.lower() == "codecommit":
        name_match = re.search(r"/repos/([^/?#]+)", repository) or re.fullmatch(r"([A-Za-z0-9._-]+)", repository)
        region = re.search(r"git-codecommit\.([a-z0-9-]+)\.", repository)
        out["type"] = "codecommit"
        if name_match:
            out["repositoryName"] = name_match.group(1)
            r.add(DIFFERS, f, "source.properties.repository", f"{show(repository)} -> pipeline.source.repositoryName "
                  f"{name_match.group(1)}: the stack creates a CodeCommit repository of that name in each region; the one "
                  f"that exists{' in ' + region.group(1) if region else ''} must be imported into the stack (pulumi "
                  "import) or the code pushed to the new one")
        else:
            r.add(NOT_IMPORTED, f, "source.properties.repository", f"{show(repository)}: not a CodeCommit repository URL; "
                  "the default repository {name}-{environment} is used")
        r.add(IMPORTED, f, "source.provider", f"{show(provider)} -> pipeline.source.type codecommit")
    elif provider.lower() in CONNECTION_PROVIDERS:
        out["type"] = "connection"
        repo = re.sub(r"\.git$", "", re.sub(r"^(https?://[^/]+/|git@[^:]+:)", "", repository.strip()).strip("/"))
        out["fullRepositoryId"] = repo
        r.add(IMPORTED, f, "source.provider", f"{show(provider)} -> pipeline.source.type connection (CodeConnections)")
        r.add(IMPORTED, f, "source.properties.repository", f"{show(repository)} -> pipeline.source.fullRepositoryId {repo}")
        used.update({"connection_arn", "connection_name", "access_token_secret"})
        if props.get("connection_arn"):
            out["connectionArn"] = props["connection_arn"]
            r.add(IMPORTED, f, "source.properties.connection_arn", "-> pipeline.source.connectionArn")
        else:
            arn = placeholder_arn(ctx.region, "codeconnections", f"connection/{PLACEHOLDER_CONNECTION_ID}")
            out["connectionArn"] = arn
            named = f" (the connection named {show(props['connection_name'])})" if props.get("connection_name") else ""
            r.add(PLACEHOLDER, f, "source.properties.connection_name" if named else "source.provider",
                  f"-> pipeline.source.connectionArn {arn}: put in the ARN of the authorized connection{named} "
                  "(ops up refuses the documentation account)")
        if props.get("access_token_secret"):
            r.add(DIFFERS, f, "source.properties.access_token_secret", f"{show(props['access_token_secret'])}: GitHub "
                  "version 1 (an OAuth token) becomes a CodeConnections connection, authorized once in the console")
    else:
        r.add(NOT_IMPORTED, f, "source.provider", f"{show(provider)}: the source is CodeCommit, or GitHub, GitLab or "
              "Bitbucket through a connection; the stack keeps its own source")
        _source_leftovers(source, f, ctx)
        return {"branch": out["branch"]}
    for key in props:
        if key not in used and props[key] is not None:
            r.add(NOT_IMPORTED, f, f"source.properties.{key}", f"{show(props[key])}: not a source property the importer maps")
    _source_leftovers(source, f, ctx)
    return out


def _source_leftovers(source: dict[str, Any], f: str, ctx: Context) -> None:
    for key in source:
        if key not in ("provider", "properties") and source[key] is not None:
            ctx.report.add(NOT_IMPORTED, f, f"source.{key}", f"{show(source[key])}: not a source key the importer maps")
