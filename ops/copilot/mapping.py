"""Copilot manifests to this platform's stack config, key by key, with a report line for each key.

The rules (docs/migrating-from-copilot.md has them as a table):

- A Load Balanced Web Service becomes a service behind the shared ALB; a Scheduled Job an
  on-demand service plus a task-launcher schedule. Backend, Worker and Request-Driven Web
  Services, Static Sites and unknown types are skipped: every service here has a public path.
- ``http.path`` becomes path patterns as Copilot's listener rule has them: ``/`` is ``/*``, and
  ``api`` (or ``/api``) is ``/api`` and ``/api/*``.
- What the importer cannot know (an SSM parameter's region and account, a connection's ARN, who
  approves) is written as a value in an account or domain reserved for documentation, which
  ``stack_config.placeholders`` flags, so ``python -m ops up`` refuses the stack until it is replaced.
- Where the manifest is silent, Copilot's default is written (and reported ``defaulted``) when the
  platform's differs. A key whose value comes from the deploying shell (``${VAR}``) is never
  defaulted: where the importer would default it the service is skipped, else the key is reported.
- Nothing is dropped silently: each mapping step reports the keys it does not map, and a last pass
  reports any key of the manifest that no report line names.
"""

from __future__ import annotations

import math
import posixpath
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from stack_config.aws_regions import region_partitions
from stack_config.model import NAME_ALLOWED, Name
from stack_config.workloads import IMAGE_ALLOWED, RESERVED_ENV, SSL_POLICY_ALLOWED, Image, SslPolicy

from .manifests import Manifest, ManifestError, Workspace, apply_environment, duration_seconds, substitute
from .report import (
    DEFAULTED,
    DIFFERS,
    IMPORTED,
    NOT_IMPORTED,
    NOTE,
    PLACEHOLDER,
    SKIPPED,
    Entry,
    Report,
    show,
)
from .schedules import ScheduleError, copilot_difference, to_eventbridge

# Placeholders: valid for the model, refused by `ops up` (stack_config/placeholders.py).
PLACEHOLDER_ACCOUNT = "123456789012"  # an account ID from AWS's documentation
PLACEHOLDER_CONNECTION_ID = "00000000-0000-0000-0000-000000000000"
PLACEHOLDER_EMAIL = "approvals@example.com"  # a domain reserved for documentation (RFC 2606)


def placeholder_arn(region: str, service: str, resource: str) -> str:
    """An ARN in ``region``'s partition (stack_config.aws_regions) and the documentation account:
    the model accepts it, ``ops up`` refuses it. An unknown region is the model's to report."""
    partition = region_partitions().get(region, "aws")
    return f"arn:{partition}:{service}:{region}:{PLACEHOLDER_ACCOUNT}:{resource}"

LBWS = "Load Balanced Web Service"
JOB = "Scheduled Job"
SKIPPED_TYPES = {
    "Backend Service": "a Backend Service has no public path, and every service here is a listener rule of the "
    "shared internet-facing ALB (services[].paths needs at least one pattern); give it a path and add it by hand "
    "if it may be public",
    "Worker Service": "a Worker Service consumes SQS queues fed by SNS topics; the platform has no queues or topics "
    "per service",
    "Request-Driven Web Service": "an App Runner service; here services run on Fargate or Lambda behind the ALB "
    "(compute: lambda is the closest, scaled per request)",
    "Static Site": "an S3 bucket behind CloudFront; the platform has neither for sites",
}
# Copilot's defaults where the platform's differ and the difference changes behaviour (from
# Copilot's documentation, site/content/docs/include/http-config.en.md and http-healthcheck.en.md,
# and its autoscaling template; not observed).
COPILOT_HEALTH_PATH = "/"
COPILOT_HEALTH_DEFAULTS = (  # manifest key, healthCheck key, Copilot's default, the platform's
    ("success_codes", "matcher", "200", "200-399"),
    ("healthy_threshold", "healthyThreshold", 5, 3),
    ("unhealthy_threshold", "unhealthyThreshold", 2, 3),
)
COPILOT_DEREGISTRATION_SECONDS = 60
PLATFORM_DEREGISTRATION_SECONDS = 30  # components/fargate_service.py; the model has no key for it
COPILOT_COOLDOWNS = {"in": 120, "out": 60}  # seconds; the platform's defaults are 300 and 60
COPILOT_COUNT = 1
COPILOT_LB_PORT = 80
JOB_PORT = 8080
COPILOT_FLOW_LOG_DAYS = 14

_REASONS = {
    "exec": "ECS Exec is not offered: the platform's services and tasks have no execute-command channel",
    "logging": "the container logs to CloudWatch Logs (awslogs), kept logs.retentionDays for every service; "
    "FireLens and per-service retention are not offered",
    "network.vpc": "tasks run in the platform's private subnets, with a security group that admits only the "
    "ALB; placement and extra security groups are not offered",
    "network.connect": "Service Connect is not offered: services reach each other through the ALB's paths",
    "sidecars": "a task has one container here",
    "nlb": "no Network Load Balancer: services are reached through the shared ALB",
    "publish": "no SNS topics per service",
    "subscribe": "no SQS queues per service",
    "observability": "no X-Ray tracing sidecar",
    "taskdef_overrides": "no raw task-definition overrides: the task definition is the platform's",
    "entrypoint": "the image's own ENTRYPOINT runs: set it in the Dockerfile",
    "command": "the image's own CMD runs: set it in the Dockerfile",
    "env_file": "no environment files: write the variables under variables",
    "storage.ephemeral": "tasks have Fargate's default 20 GiB of ephemeral storage",
    "image.credentials": "images come from the platform's own ECR repositories",
    "image.labels": "no Docker labels on the container",
    "image.depends_on": "a task has one container here",
    "image.build.args": "the pipeline's docker build passes no build arguments but BASE_REGISTRY",
    "image.build.target": "the pipeline builds the Dockerfile's last stage",
    "image.build.cache_from": "the pipeline's docker build takes no --cache-from",
    "image.build.option": "the pipeline's docker build takes no extra options",
    "http.alias": "no per-service domain aliases: every route is a path on dns.domain (and <region>.<domain>), where "
    "Copilot adds a host-header rule per alias",
    "http.hosted_zone": "no per-service domain aliases: dns.hostedZoneId is the stack's one zone",
    "http.redirect_to_https": "the ALB redirects HTTP to HTTPS whenever it has certificates or dns; there is no "
    "per-service switch",
    "http.deregistration_delay": f"the platform's target groups drain for {PLATFORM_DEREGISTRATION_SECONDS} s "
    "(a fixed setting, not a config key)",
    "http.stickiness": "sticky sessions are not offered",
    "http.allowed_source_ips": "no per-service source IPs: loadBalancer.ingressCidrs admits clients for every route",
    "http.version": "the target groups speak HTTP/1.1 (no gRPC or HTTP/2 to the targets)",
    "http.target_container": "a task has one container: the ALB sends requests to it",
    "http.additional_rules": "one listener rule per service: put the extra paths in the same rule (at most 5 patterns)",
    "http.healthcheck.port": "the ALB probes the traffic port (port)",
    "count.spot": "production services run on Fargate only (Fargate Spot is for the pipeline's staging copies, "
    "pipeline.staging.spot): the count is kept, on regular capacity",
    "count.range.spot_from": "production services run on Fargate only: every task is on regular capacity",
    "count.response_time": "no scaling on response time (autoscaling tracks CPU, memory and requests per target); "
    "monitoring.services.<name>.responseTimeSeconds alarms on it",
    "count.queue_delay": "no queues",
    "retries": "the task launcher starts a job's task once and does not retry it",
    "timeout": "the task launcher does not stop a job's task after a time: the job ends when its container exits",
    "deployment.rollback_alarms": "the platform rolls a deployment back on its own alarms (5XX and unhealthy "
    "targets) and ECS's circuit breaker, not on named alarms",
}


def _reason(key: str) -> str:
    return _REASONS.get(key, "not one of the keys the importer maps (docs/migrating-from-copilot.md lists them)")


def paths_for(path: str) -> list[str]:
    """Copilot's listener-rule patterns for ``http.path``: ``/`` (or empty) is ``/*``, every other
    path ``P`` is ``/P`` and ``/P/*`` (leading and trailing slashes ignored)."""
    rule = path.strip().strip("/")
    return ["/*"] if not rule else [f"/{rule}", f"/{rule}/*"]


@dataclass
class Context:
    """What the mapping needs besides a manifest: where messages go and facts of the target stack."""

    report: Report
    region: str  # the target stack's primary region, for placeholder ARNs
    environment: str | None  # --environment
    stack_environment: str  # the target stack's environment label
    has_notifications: bool  # the target stack already sends approvals somewhere
    root: Path
    stack_name: str = "devops-platform"  # the target stack's name (the prefix of its physical names)
    host_names_reported: bool = False
    variables: dict[str, str] = field(default_factory=dict)  # Copilot's predefined variables, resolved


@dataclass
class Imported:
    """The fragment's parts: each list in manifest order."""

    services: list[dict[str, Any]] = field(default_factory=list)
    schedules: list[dict[str, Any]] = field(default_factory=list)
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # service name -> Copilot type
    files: dict[str, str] = field(default_factory=dict)  # service name -> its manifest, for report lines


def _valid(adapter: TypeAdapter[Any], value: Any) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


_NAME = TypeAdapter(Name)
_IMAGE = TypeAdapter(Image)
_SSL_POLICY = TypeAdapter(SslPolicy)


# --- workloads ----------------------------------------------------------------------------------


class _Workload:
    """One service or job manifest being mapped: records which keys it used, so every other key
    can be reported as not imported."""

    def __init__(self, manifest: Manifest, data: dict[str, Any], ctx: Context, index: int):
        self.m, self.d, self.ctx, self.r = manifest, data, ctx, ctx.report
        self.name = manifest.name
        self.where = f"services[{index}] ({self.name})"
        self.used: set[str] = {"name", "type"}
        self.svc: dict[str, Any] = {"name": self.name}
        self.alarms: dict[str, Any] = {}  # monitoring.services.<name>

    def add(self, status: str, key: str, text: str) -> None:
        self.r.add(status, self.m.file, key, text)

    def leftovers(self, parent: str, value: dict[str, Any], used: set[str], why: str | None = None) -> None:
        """Report every key of ``value`` (at ``parent``) not in ``used`` as not imported, saying
        ``why`` (else the key's own reason)."""
        for key in value:
            path = f"{parent}.{key}" if parent else key
            if key in used or value[key] is None:
                continue
            if isinstance(value[key], dict) and path in ("network", "storage") and why is None:
                self.leftovers(path, value[key], set())
                continue
            self.add(NOT_IMPORTED, path, f"{show(value[key])}: {why or _reason(path)}")

    # -- shared by services and jobs

    def image(self) -> None:
        self.used.add("image")
        image = self.d.get("image") or {}
        used = {"build", "location", "port", "healthcheck"}
        build, location = image.get("build"), image.get("location")
        if build is not None:
            self._build(build)
            if location is not None:
                self.add(NOT_IMPORTED, "image.location", f"{show(location)}: given with image.build, which Copilot refuses "
                         "(one of build and location); the build was imported")
        elif location is not None:
            if _valid(_IMAGE, location):
                self.svc["bootstrapImage"] = location
                self.add(
                    DIFFERS,
                    "image.location",
                    f"{show(location)} -> {self.where}.bootstrapImage: the service runs it until its pipeline "
                    f"publishes an image, and the pipeline builds {self.name}/Dockerfile for every service (a "
                    f"Dockerfile with FROM {location} keeps this image)",
                )
            else:
                self.add(NOT_IMPORTED, "image.location", f"{show(location)}: bootstrapImage takes {IMAGE_ALLOWED}")
        else:
            self.add(NOTE, "image", f"no build or location: the pipeline builds {self.name}/Dockerfile")
        if isinstance(image.get("healthcheck"), dict):
            self._container_healthcheck(image["healthcheck"])
        if isinstance(build, dict):
            for key in build:
                if key not in ("dockerfile", "context") and build[key] is not None:
                    self.add(NOT_IMPORTED, f"image.build.{key}", f"{show(build[key])}: {_reason(f'image.build.{key}')}")
        self.leftovers("image", image, used)

    def _build(self, build: str | dict[str, Any]) -> None:
        if isinstance(build, str):
            dockerfile = posixpath.normpath(build)
            context = posixpath.dirname(dockerfile) or "."
        else:
            context = posixpath.normpath(build.get("context") or posixpath.dirname(build.get("dockerfile") or "") or ".")
            dockerfile = posixpath.normpath(build.get("dockerfile") or posixpath.join(context, "Dockerfile"))
        expected = f"{self.name}/Dockerfile"
        if context == self.name and dockerfile == expected:
            self.add(IMPORTED, "image.build", f"{show(build)}: the pipeline runs docker build {self.name} at the repository root, the same build")
            return
        self.add(
            DIFFERS,
            "image.build",
            f"{show(build)} (Dockerfile {dockerfile}, context {context}): the pipeline runs docker build {self.name} at "
            f"the repository root, so it needs {expected} with {self.name}/ as its context; move them before the "
            "first pipeline run",
        )

    def _container_healthcheck(self, hc: dict[str, Any]) -> None:
        command = hc.get("command") or []
        if command[:1] == ["CMD-SHELL"] and len(command) == 2:
            self.svc.setdefault("healthCheck", {})["containerCommand"] = [command[1]]
            self.add(IMPORTED, "image.healthcheck.command", f"{show(command)} -> {self.where}.healthCheck.containerCommand")
        elif command[:1] == ["CMD"] and len(command) > 1:
            shell = shlex.join(command[1:])
            self.svc.setdefault("healthCheck", {})["containerCommand"] = [shell]
            self.add(DIFFERS, "image.healthcheck.command", f"{show(command)} -> {self.where}.healthCheck.containerCommand "
                     f"[{shell}]: run by a shell (ECS's CMD-SHELL form)")
        elif command:
            self.add(NOT_IMPORTED, "image.healthcheck.command", f"{show(command)}: containerCommand takes CMD-SHELL or CMD form")
        for key in ("interval", "retries", "timeout", "start_period"):
            if hc.get(key) is not None:
                self.add(NOT_IMPORTED, f"image.healthcheck.{key}", f"{show(hc[key])}: the container health check takes "
                         "the ALB health check's timing (healthCheck.intervalSeconds, timeoutSeconds, unhealthyThreshold "
                         "as retries, gracePeriodSeconds up to 300 as the start period)")
        self.leftovers("image.healthcheck", hc, {"command", "interval", "retries", "timeout", "start_period"})

    def size(self) -> None:
        for key in ("cpu", "memory"):
            self.used.add(key)
            if self.d.get(key) is not None:
                self.svc[key] = self.d[key]
                self.add(IMPORTED, key, f"{self.d[key]} -> {self.where}.{key}")

    def platform(self) -> bool:
        """False when the service cannot run here at all (a Windows image)."""
        self.used.add("platform")
        value = self.d.get("platform")
        if value is None:
            return True
        if isinstance(value, dict):
            osfamily, arch = str(value.get("osfamily") or "linux").lower(), str(value.get("architecture") or "x86_64").lower()
        else:
            osfamily, _, arch = value.lower().partition("/")
        if not osfamily.startswith("linux"):
            self.add(SKIPPED, "platform", f"{show(value)}: Windows containers are not offered (the platform's tasks run Linux)")
            return False
        if arch in ("arm64", "arm"):
            self.svc["architecture"] = "ARM64"
            self.add(IMPORTED, "platform", f"{show(value)} -> {self.where}.architecture ARM64")
        elif arch in ("x86_64", "amd64", ""):
            self.add(IMPORTED, "platform", f"{show(value)} -> {self.where}.architecture X86_64 (the default)")
        else:
            self.add(NOT_IMPORTED, "platform", f"{show(value)}: architecture is X86_64 or ARM64")
        return True

    def variables(self) -> None:
        self.used.add("variables")
        for var, value in (self.d.get("variables") or {}).items():
            key = f"variables.{var}"
            if value is None or isinstance(value, dict):
                self.add(NOT_IMPORTED, key, f"{show(value)}: environment values are plain strings (from_cfn is not offered)")
            elif var in RESERVED_ENV:
                self.add(NOT_IMPORTED, key, f"{show(value)}: the program sets {var} itself")
            else:
                text = ("true" if value else "false") if isinstance(value, bool) else str(value)
                self.svc.setdefault("environment", {})[var] = text
                self.add(IMPORTED, key, f"{show(value)} -> {self.where}.environment.{var}")

    def secrets(self) -> None:
        self.used.add("secrets")
        for var, value in (self.d.get("secrets") or {}).items():
            key = f"secrets.{var}"
            if isinstance(value, dict) and value.get("secretsmanager") is not None:
                arn = self._secrets_manager(key, str(value["secretsmanager"]))
                self.leftovers(key, value, {"secretsmanager"})
            elif isinstance(value, dict):
                self.add(NOT_IMPORTED, key, f"{show(value)}: a secret is an SSM parameter or a Secrets Manager secret "
                         "(from_cfn is not offered)")
                continue
            else:
                arn = self._ssm(key, value.strip().strip("'\""))
            self.svc.setdefault("secrets", {})[var] = arn

    def _ssm(self, key: str, name: str) -> str:
        if name.startswith("arn:"):
            self.add(IMPORTED, key, f"{show(name)} -> {self.where}.secrets")
            return name
        arn = placeholder_arn(self.ctx.region, "ssm", f"parameter/{name.lstrip('/')}")
        self.add(PLACEHOLDER, key, f"SSM parameter {show(name)} -> {arn}: the model takes an ARN; put in the "
                 "parameter's region and account (the ARN's account is a documentation one, so ops up refuses it)")
        return arn

    def _secrets_manager(self, key: str, secret: str) -> str:
        if secret.startswith("arn:"):
            self.add(IMPORTED, key, f"Secrets Manager {show(secret)} -> {self.where}.secrets")
            return secret
        arn = placeholder_arn(self.ctx.region, "secretsmanager", f"secret:{secret}")
        self.add(PLACEHOLDER, key, f"Secrets Manager secret {show(secret)} -> {arn}: the model takes an ARN; put in "
                 "the secret's full ARN (region, account and the 6-character suffix; ops up refuses this one)")
        return arn

    def volumes(self) -> None:
        self.used.add("storage")
        storage = self.d.get("storage") or {}
        for name, volume in (storage.get("volumes") or {}).items():
            key = f"storage.volumes.{name}"
            volume = volume or {}
            if volume.get("efs") not in (None, False):
                self.add(NOT_IMPORTED, key, f"{show(volume)}: no EFS file systems (a task's writable paths are scratch "
                         "volumes that end with the task)")
            elif volume.get("read_only", True) is False and volume.get("path"):
                paths = self.svc.setdefault("writablePaths", ["/tmp"])
                if volume["path"] not in paths:
                    paths.append(volume["path"])
                self.add(IMPORTED, key, f"{show(volume)} -> {self.where}.writablePaths (a scratch volume, as Copilot's "
                         "empty volume)")
            else:
                self.add(NOT_IMPORTED, key, f"{show(volume)}: a read-only empty volume holds nothing without a sidecar")
        readonly = storage.get("readonly_fs")
        if readonly is True:
            self.add(IMPORTED, "storage.readonly_fs", "true: the platform's containers always have a read-only root "
                     "filesystem (only writablePaths can be written)")
        elif readonly is False:
            self.add(DIFFERS, "storage.readonly_fs", "false: the platform's containers always have a read-only root "
                     "filesystem; only writablePaths (/tmp by default) can be written")
        self.leftovers("storage", {k: v for k, v in storage.items() if k not in ("volumes", "readonly_fs")}, set())

    def root_filesystem(self) -> None:
        if (self.d.get("storage") or {}).get("readonly_fs") is None:
            self.add(DIFFERS, "(task)", "the container's root filesystem is read-only here; only writablePaths (/tmp by "
                     "default) can be written, where Copilot's tasks could write anywhere")


def map_service(w: _Workload) -> dict[str, Any] | None:
    """A Load Balanced Web Service as a service behind the shared ALB; None if it has no ALB path."""
    d = w.d
    w.used.update({"http", "count", "deployment"})
    if not w.platform():
        return None
    http = d.get("http")
    if http is False:
        w.add(SKIPPED, "http", "false: without the ALB (an NLB-only service) it has no listener rule, which every "
              "service here is")
        return None
    http = http if isinstance(http, dict) else {}
    path = http.get("path")
    w.svc["port"] = _port(w, d)
    w.svc["paths"] = paths_for("/" if path is None else path)
    catch_all = " (the catch-all rule, evaluated after every rule with a longer literal prefix)" if w.svc["paths"] == ["/*"] else ""
    if path is None:
        w.add(DEFAULTED, "http.path", f"not set -> {w.where}.paths [/*], Copilot's root path{catch_all}")
    else:
        w.add(IMPORTED, "http.path", f"{show(path)} -> {w.where}.paths [{', '.join(w.svc['paths'])}]{catch_all}")
    _health(w, http.get("healthcheck"))
    _deregistration(w, http.get("deregistration_delay"))
    if http.get("alias") is not None:
        _host_names(w.m.file, w.ctx)
    w.leftovers("http", http, {"path", "healthcheck", "deregistration_delay"})
    w.image()
    w.size()
    _count(w, d.get("count"))
    w.variables()
    w.secrets()
    _deployment(w, d.get("deployment") or {})
    w.volumes()
    w.root_filesystem()
    return w.svc


def _port(w: _Workload, d: dict[str, Any]) -> int:
    image = d.get("image") or {}
    if image.get("port") is not None:
        w.add(IMPORTED, "image.port", f"{image['port']} -> {w.where}.port")
        return int(image["port"])
    # Copilot refuses a Load Balanced Web Service without image.port; it reads EXPOSE only when
    # copilot svc init writes the manifest, which is where the importer looks for a port too.
    unset = "not set (Copilot requires it for a Load Balanced Web Service)"
    exposed = _exposed_port(w)
    if exposed is not None:
        w.add(DEFAULTED, "image.port", f"{unset} -> {w.where}.port {exposed}, the Dockerfile's EXPOSE (what copilot svc "
              "init would have written)")
        return exposed
    w.add(DEFAULTED, "image.port", f"{unset} -> {w.where}.port {COPILOT_LB_PORT}: no EXPOSE in the Dockerfile; check "
          "the port the container listens on")
    return COPILOT_LB_PORT


def _exposed_port(w: _Workload) -> int | None:
    build = (w.d.get("image") or {}).get("build")
    if isinstance(build, dict):
        dockerfile = build.get("dockerfile") or (posixpath.join(build["context"], "Dockerfile") if build.get("context") else None)
    else:
        dockerfile = build
    if not dockerfile:
        return None
    try:
        text = (w.ctx.root / dockerfile).read_text()
    except (OSError, UnicodeDecodeError):
        return None
    match = re.search(r"^\s*EXPOSE\s+(\d+)", text, flags=re.MULTILINE | re.IGNORECASE)
    return int(match.group(1)) if match else None


def _health(w: _Workload, hc: str | dict[str, Any] | None) -> None:
    """The ALB health check; where the manifest is silent, Copilot's defaults (written out where the
    platform's differ: path, matcher and thresholds; interval, timeout and grace are the same)."""
    check: dict[str, Any] = w.svc.setdefault("healthCheck", {})
    if hc is None or isinstance(hc, str):
        check["path"] = hc or COPILOT_HEALTH_PATH
        if hc is None:
            w.add(DEFAULTED, "http.healthcheck", f"not set -> {w.where}.healthCheck.path {COPILOT_HEALTH_PATH} (Copilot's "
                  "default; the platform's is /health)")
        else:
            w.add(IMPORTED, "http.healthcheck", f"{show(hc)} -> {w.where}.healthCheck.path")
        _health_defaults(w, {})
        return
    check["path"] = hc.get("path") or COPILOT_HEALTH_PATH
    w.add(IMPORTED if hc.get("path") else DEFAULTED, "http.healthcheck.path", f"{show(hc.get('path'))} -> "
          f"{w.where}.healthCheck.path {check['path']}")
    if hc.get("success_codes") is not None:
        check["matcher"] = str(hc["success_codes"]).replace(" ", "")
        w.add(IMPORTED, "http.healthcheck.success_codes", f"{show(hc['success_codes'])} -> {w.where}.healthCheck.matcher")
    for key, to in (("healthy_threshold", "healthyThreshold"), ("unhealthy_threshold", "unhealthyThreshold")):
        if hc.get(key) is not None:
            check[to] = hc[key]
            w.add(IMPORTED, f"http.healthcheck.{key}", f"{hc[key]} -> {w.where}.healthCheck.{to}")
    _health_defaults(w, hc)
    for key, to in (("interval", "intervalSeconds"), ("timeout", "timeoutSeconds"), ("grace_period", "gracePeriodSeconds")):
        if hc.get(key) is not None:
            seconds = duration_seconds(hc[key])
            if not float(seconds).is_integer():
                w.add(NOT_IMPORTED, f"http.healthcheck.{key}", f"{show(hc[key])}: {to} is whole seconds")
                continue
            check[to] = int(seconds)
            w.add(IMPORTED, f"http.healthcheck.{key}", f"{hc[key]} -> {w.where}.healthCheck.{to} {int(seconds)}")
    for key in hc:
        if key not in ("path", "success_codes", "healthy_threshold", "unhealthy_threshold", "interval", "timeout",
                       "grace_period") and hc[key] is not None:
            w.add(NOT_IMPORTED, f"http.healthcheck.{key}", f"{show(hc[key])}: {_reason(f'http.healthcheck.{key}')}")


def _health_defaults(w: _Workload, hc: dict[str, Any]) -> None:
    check = w.svc["healthCheck"]
    for key, to, copilot, platform in COPILOT_HEALTH_DEFAULTS:
        if hc.get(key) is None:
            check[to] = copilot
            w.add(DEFAULTED, f"http.healthcheck.{key}", f"not set -> {w.where}.healthCheck.{to} {copilot} (Copilot's "
                  f"default; the platform's is {platform})")


def _deregistration(w: _Workload, delay: str | None) -> None:
    """The model has no deregistration delay: the difference from Copilot's is reported either way."""
    if delay is not None:
        w.add(NOT_IMPORTED, "http.deregistration_delay", f"{show(delay)}: {_reason('http.deregistration_delay')}")
        return
    w.add(DIFFERS, "http.deregistration_delay", f"not set: Copilot's target groups drain {COPILOT_DEREGISTRATION_SECONDS} s "
          f"(its default), the platform's {PLATFORM_DEREGISTRATION_SECONDS} s (a fixed setting, not a config key): a "
          f"request still running {PLATFORM_DEREGISTRATION_SECONDS} s after its task is deregistered is cut off")


def _fixed(w: _Workload, count: int, key: str, status: str, given: str | None = None) -> None:
    w.svc["desiredCount"] = count
    w.svc["autoscaling"] = {"minCapacity": count, "maxCapacity": count}
    w.add(status, key, f"{given or count} -> {w.where}.desiredCount {count}, autoscaling {count}-{count} (a fixed "
          + ("count, Copilot's default" if status == DEFAULTED else "count, as Copilot's")
          + ": the platform always scales, between the same bounds here)")


def _count(w: _Workload, count: int | dict[str, Any] | None) -> None:
    """``count`` as desiredCount and autoscaling; every value the platform would otherwise default
    gets a report line (Copilot's value is written where the two differ)."""
    metrics = {k: count.get(k) for k in ("cpu_percentage", "memory_percentage", "requests")
               if isinstance(count, dict) and count.get(k) is not None}  # fmt: skip
    if count is None or (isinstance(count, dict) and count.get("range") is None and not metrics and count.get("spot") is None):
        # Not set, or a map without a count or a range in it (Copilot's parser refuses an empty one).
        _fixed(w, COPILOT_COUNT, "count", DEFAULTED, "not set" if count is None else f"{show(count)} (no count, range or spot)")
        if isinstance(count, dict):
            w.leftovers("count", count, set(), "no range to scale in: the count is fixed")
        return
    if isinstance(count, int):
        _fixed(w, count, "count", IMPORTED)
        return
    if count.get("range") is None and not metrics:
        _fixed(w, count["spot"], "count", IMPORTED)
        w.add(NOT_IMPORTED, "count.spot", f"{count['spot']}: {_reason('count.spot')}")
        w.leftovers("count", count, {"spot"}, "no range to scale in: the count is fixed")
        return
    scaling: dict[str, Any] = {}
    low, high = _range(w, count.get("range"))
    if low is not None:
        scaling["minCapacity"], scaling["maxCapacity"] = low, high
        w.svc["desiredCount"] = low
        w.add(IMPORTED, "count.range", f"{show(count['range'])} -> {w.where}.autoscaling {low}-{high}, desiredCount {low}")
    else:
        w.add(DEFAULTED, "count.range", f"not set -> {w.where}.autoscaling 2-10 (the platform's default; Copilot "
              "refuses autoscaling without a range)")
    targets = {"cpu_percentage": "cpuTarget", "memory_percentage": "memoryTarget", "requests": "requestsPerTarget"}
    for key, to in targets.items():
        value = metrics.get(key)
        if isinstance(value, dict):
            if value.get("cooldown") is not None:
                w.add(NOT_IMPORTED, f"count.{key}.cooldown", f"{show(value['cooldown'])}: one cooldown pair per service "
                      "(count.cooldown)")
            w.leftovers(f"count.{key}", value, {"value", "cooldown"})
            value = value.get("value")
        if value is None:
            if to != "requestsPerTarget":
                # Copilot tracks only the metrics it was given; the platform's CPU and memory policies are on by default.
                scaling[to] = None
                w.add(DEFAULTED, f"count.{key}", f"not set -> {w.where}.autoscaling.{to} null (no {to.removesuffix('Target')} "
                      "policy: Copilot tracks only the metrics it is given, the platform's default would track one)")
            continue
        scaling[to] = value
        w.add(IMPORTED, f"count.{key}", f"{value} -> {w.where}.autoscaling.{to}")
    cooldown = count.get("cooldown") or {}
    for key, to in (("in", "scaleInCooldownSeconds"), ("out", "scaleOutCooldownSeconds")):
        if cooldown.get(key) is None:
            scaling[to] = COPILOT_COOLDOWNS[key]
            w.add(DEFAULTED, f"count.cooldown.{key}", f"not set -> {w.where}.autoscaling.{to} {scaling[to]} (Copilot's "
                  f"default; the platform's is {300 if key == 'in' else 60})")
            continue
        seconds = duration_seconds(cooldown[key])
        scaling[to] = math.ceil(seconds)
        if scaling[to] == seconds:
            w.add(IMPORTED, f"count.cooldown.{key}", f"{cooldown[key]} -> {w.where}.autoscaling.{to} {scaling[to]}")
        else:
            w.add(DIFFERS, f"count.cooldown.{key}", f"{cooldown[key]} -> {w.where}.autoscaling.{to} {scaling[to]}: the "
                  "platform's cooldowns are whole seconds, so it is rounded up")
    w.leftovers("count.cooldown", cooldown, {"in", "out"})
    w.svc["autoscaling"] = scaling
    if count.get("spot") is not None:
        w.add(NOT_IMPORTED, "count.spot", f"{count['spot']}: {_reason('count.spot')}")
    w.leftovers("count", count, {"range", "spot", "cooldown", *targets})


def _range(w: _Workload, value: str | dict[str, Any] | None) -> tuple[int | None, int | None]:
    if value is None:
        return None, None
    if isinstance(value, dict):
        if value.get("spot_from") is not None:
            w.add(NOT_IMPORTED, "count.range.spot_from", f"{value['spot_from']}: {_reason('count.range.spot_from')}")
        if value.get("min") is None or value.get("max") is None:
            raise ManifestError(f"{w.m.file}: count.range: got {show(value)}; min and max are both needed")
        w.leftovers("count.range", value, {"min", "max", "spot_from"})
        return value["min"], value["max"]
    match = re.fullmatch(r"\s*(\d+)\s*-\s*(\d+)\s*", value)
    if not match:
        raise ManifestError(f"{w.m.file}: count.range: got {show(value)}; a range such as 1-10 is needed")
    return int(match.group(1)), int(match.group(2))


def _deployment(w: _Workload, deployment: dict[str, Any]) -> None:
    rolling = deployment.get("rolling")
    if rolling == "recreate":
        w.add(DIFFERS, "deployment.rolling", f"recreate -> {w.where}.deployment.strategy rolling (the default): new tasks "
              "start before the old ones stop, where Copilot's recreate stops every task first")
    elif rolling is not None:
        w.add(IMPORTED, "deployment.rolling", f"{show(rolling)} -> {w.where}.deployment.strategy rolling (the default)")
    alarms = deployment.get("rollback_alarms")
    if isinstance(alarms, list):
        w.add(NOT_IMPORTED, "deployment.rollback_alarms", f"{show(alarms)}: {_reason('deployment.rollback_alarms')}")
    elif isinstance(alarms, dict):
        for key, to in (("cpu_utilization", "cpuPercent"), ("memory_utilization", "memoryPercent")):
            if alarms.get(key) is not None:
                value = alarms[key]
                w.alarms[to] = int(value) if float(value).is_integer() else value
                w.add(DIFFERS, f"deployment.rollback_alarms.{key}", f"{value} -> monitoring.services.{w.name}.{to}: an "
                      "alarm that notifies and holds the pipeline's production stage, but does not roll back a "
                      "deployment (the 5XX and unhealthy-target alarms do)")
        for key in alarms:
            if key not in ("cpu_utilization", "memory_utilization") and alarms[key] is not None:
                w.add(NOT_IMPORTED, f"deployment.rollback_alarms.{key}", f"{show(alarms[key])}: no queues")
    w.leftovers("deployment", deployment, {"rolling", "rollback_alarms"})


def map_job(w: _Workload) -> tuple[dict[str, Any], dict[str, Any] | None] | None:
    """A Scheduled Job as an on-demand service, and its schedule (None if it has none)."""
    w.used.update({"on", "retries", "timeout"})
    if not w.platform():
        return None
    w.svc["mode"] = "on-demand"
    image = w.d.get("image") or {}
    w.svc["port"] = image.get("port") or JOB_PORT
    w.svc["paths"] = [f"/_jobs/{w.name}/*"]
    w.add(DEFAULTED, "(job)", f"-> {w.where}: mode on-demand, port {w.svc['port']}, paths [{w.svc['paths'][0]}]. Every "
          "service here has a port and a path; a job that does not listen there answers 502/503 on that path, and "
          "while it runs its target counts as unhealthy (the unhealthy-target alarm, "
          f"monitoring.services.{w.name}.unhealthyHosts)")
    if image.get("port") is not None:
        w.add(IMPORTED, "image.port", f"{image['port']} -> {w.where}.port")
    w.image()
    w.size()
    w.variables()
    w.secrets()
    w.volumes()
    w.root_filesystem()
    for key in ("retries", "timeout"):
        if w.d.get(key) is not None:
            w.add(NOT_IMPORTED, key, f"{show(w.d[key])}: {_reason(key)}")
    w.leftovers("on", w.d.get("on") or {}, {"schedule"})
    schedule = (w.d.get("on") or {}).get("schedule")
    if schedule is None or schedule.strip().lower() == "none":
        w.add(NOTE, "on.schedule", f"{show(schedule)}: no schedule; start the job with a Start ECS Task event")
        return w.svc, None
    try:
        expression = to_eventbridge(schedule)
    except ScheduleError as exc:
        w.add(NOT_IMPORTED, "on.schedule", f"{show(schedule)}: {exc}")
        return w.svc, None
    converted = f"{show(schedule)} -> taskLauncher.schedules ({w.name}) {expression} (UTC, as Copilot's)"
    difference = copilot_difference(schedule)
    w.add(DIFFERS if difference else IMPORTED, "on.schedule", f"{converted}: {difference}" if difference else converted)
    return w.svc, {"name": w.name, "service": w.name, "expression": expression}


# The order of a service's keys in the fragment: as in the stack files.
_KEY_ORDER = [
    "name", "mode", "port", "paths", "architecture", "healthCheck", "cpu", "memory", "desiredCount", "autoscaling",
    "environment", "secrets", "writablePaths", "bootstrapImage",
]  # fmt: skip


# Keys whose absence the importer fills with a default: a shell variable there leaves the service
# without a value the importer can honestly choose, so the service is skipped. (A key the importer
# does not map, such as http.alias or image.build.args, is only reported.)
_NEEDS_VALUE = re.compile(
    r"(name|type|platform(\.\w+)?|http\.path|http\.healthcheck(\.\w+)?|image\.(build(\.(dockerfile|context))?|location)"
    r"|image\.healthcheck\.command(\[\d+\])?|count(\.\w+)*|on\.schedule|deployment\.rolling|storage\.volumes\.[^.]+\.path)"
)


def _needs_value(path: str) -> bool:
    return _NEEDS_VALUE.fullmatch(path) is not None


def map_workloads(ws: Workspace, ctx: Context) -> Imported:
    out = Imported()
    for manifest in ws.workloads:
        kind = manifest.type
        if kind not in (LBWS, JOB):
            reason = SKIPPED_TYPES.get(kind, f"not a workload type the importer knows ({LBWS}, {JOB})")
            ctx.report.add(SKIPPED, manifest.file, "type", f"{show(kind)}: {reason}")
            continue
        data, unresolved = _prepared(manifest, ctx)
        if any(_needs_value(key) for key, _ in unresolved):
            # Reported above, key by key: the service is left out rather than defaulted.
            continue
        first = len(ctx.report.entries)
        w = _Workload(manifest, data, ctx, len(out.services))
        if kind == LBWS:
            svc = map_service(w)
            schedule = None
        else:
            mapped = map_job(w)
            svc, schedule = mapped if mapped else (None, None)
        if svc is None:
            continue
        svc = {k: svc[k] for k in sorted(svc, key=_KEY_ORDER.index)}
        w.leftovers("", data, w.used)
        _unreported(w, data, ctx.report.entries[first:])
        out.services.append(svc)
        out.kinds[svc["name"]] = kind
        out.files[svc["name"]] = manifest.file
        if schedule:
            out.schedules.append(schedule)
        if w.alarms:
            out.alarms[svc["name"]] = w.alarms
    _shared_paths(out, ctx)
    return out


def _leaves(value: Any, path: str) -> list[str]:
    """The key paths of ``value``'s scalars and lists (a map's keys, recursively)."""
    if isinstance(value, dict):  # an empty map sets nothing
        return [leaf for key, item in value.items() if item is not None for leaf in _leaves(item, f"{path}.{key}" if path else key)]
    return [path]


def _unreported(w: _Workload, data: dict[str, Any], entries: list[Any]) -> None:
    """The last net under the rule that nothing is dropped silently: a key of the manifest that no
    report line names (itself, a map holding it, or a key under it) is reported as not imported."""
    keys = {e.key for e in entries if e.file == w.m.file}
    for leaf in _leaves({k: v for k, v in data.items() if k not in ("name", "type")}, ""):
        covered = any(
            leaf == key or leaf.startswith((key + ".", key + "[")) or key.startswith((leaf + ".", leaf + "["))
            for key in keys
        )
        if not covered:
            value: Any = data
            for part in leaf.split("."):
                value = value.get(part) if isinstance(value, dict) else None
            w.add(NOT_IMPORTED, leaf, f"{show(value)}: {_reason(leaf)}")


def _shared_paths(out: Imported, ctx: Context) -> None:
    """Services on the same path: Copilot may have told them apart by host name, this platform cannot."""
    seen: dict[tuple[str, ...], str] = {}
    for svc in out.services:
        paths = tuple(svc["paths"])
        if paths in seen:
            # The service's http.path line becomes this one: one line per key.
            file = out.files[svc["name"]]
            at = next(i for i, e in enumerate(ctx.report.entries) if (e.file, e.key) == (file, "http.path"))
            ctx.report.entries[at] = Entry(DIFFERS, file, "http.path", f"{ctx.report.entries[at].text}: also "
                                           f"{seen[paths]}'s path. Copilot with an application domain gives each service "
                                           "its own host name (<service>.<env>.<app>.<domain>), so services may share a "
                                           "path there; here every service is a path on the stack's one host, and the "
                                           "config model refuses two services on one path: give each its own http.path")
        else:
            seen[paths] = svc["name"]


def _prepared(manifest: Manifest, ctx: Context) -> tuple[dict[str, Any], list[tuple[str, list[str]]]]:
    """The manifest as Copilot deploys it: the environment's overrides applied, variables
    substituted; and the keys whose shell variables the importer cannot resolve, each reported:
    skipped (the service with it) where the importer would otherwise default the key, else not
    imported."""
    envs = sorted((manifest.data.get("environments") or {}).keys())
    if ctx.environment is None and envs:
        ctx.report.add(NOTE, manifest.file, "environments", f"overrides for {', '.join(envs)} not applied (no --environment)")
    elif ctx.environment is not None and envs:
        applied = ctx.environment in envs
        ctx.report.add(
            IMPORTED if applied else NOTE,
            manifest.file,
            f"environments.{ctx.environment}" if applied else "environments",
            "applied over the manifest (maps merge key by key; lists and values replace)" if applied
            else f"no overrides for {ctx.environment} (overrides exist for {', '.join(envs)})",
        )
    data = apply_environment(manifest.data, ctx.environment)
    data, unresolved = substitute(data, ctx.variables)
    for key, names in unresolved:
        uses = "uses " + ", ".join(f"${{{n}}}" for n in names) + ", which Copilot took from the deploying shell"
        if _needs_value(key):
            ctx.report.add(SKIPPED, manifest.file, key, f"{uses}; without it the importer would put a default in its "
                           "place, so the service is left out: write the value into the manifest and import again")
        else:
            ctx.report.add(NOT_IMPORTED, manifest.file, key, f"{uses}; write the value into the manifest and import again")
    return data, unresolved


# --- the application name -----------------------------------------------------------------------


def map_app(ws: Workspace, ctx: Context) -> str | None:
    if ws.app is None:
        return None
    if _valid(_NAME, ws.app):
        if ws.app == ctx.stack_name:
            ctx.report.add(IMPORTED, "copilot/.workspace", "application", f"{show(ws.app)} -> name (the prefix of physical "
                           "names), the stack's name already")
        else:
            ctx.report.add(DIFFERS, "copilot/.workspace", "application", f"{show(ws.app)} -> name, the prefix of every "
                           f"physical name, where the stack's is {ctx.stack_name}: merged into a stack that is deployed, it "
                           "renames (replaces) every resource with a physical name; leave name out of the fragment to "
                           "keep the stack's")
        return ws.app
    ctx.report.add(NOT_IMPORTED, "copilot/.workspace", "application", f"{show(ws.app)}: name takes {NAME_ALLOWED}")
    return None


# --- the environment manifest -------------------------------------------------------------------


def _host_names(file: str, ctx: Context) -> None:
    """Once per import, where a manifest shows that the application has a domain."""
    if ctx.host_names_reported:
        return
    ctx.host_names_reported = True
    ctx.report.add(DIFFERS, file, "(host names)", "the application has a domain: Copilot adds a listener rule per "
                   "service on its own host name (<service>.<env>.<app>.<domain>, and each http.alias); here every "
                   "service is a path on the stack's one host (dns.domain), so clients that use a service's host name "
                   "must move to dns.domain and the service's path")


def map_environment(ws: Workspace, ctx: Context) -> dict[str, Any]:
    """The --environment's manifest: what maps to loadBalancer and network."""
    if ctx.environment is None:
        if ws.environments:
            ctx.report.add(NOTE, "copilot/environments", "(all)", f"{', '.join(sorted(ws.environments))}: environment "
                           "manifests are read with --environment")
        return {}
    manifest = ws.environments.get(ctx.environment)
    if manifest is None:
        ctx.report.add(NOTE, f"copilot/environments/{ctx.environment}/manifest.yml", "(file)", "not there: no "
                       "environment settings imported")
        return {}
    data, unresolved = substitute(manifest.data, ctx.variables)
    f, r = manifest.file, ctx.report
    for key, names in unresolved:
        r.add(NOT_IMPORTED, f, key, "uses " + ", ".join(f"${{{n}}}" for n in names) + ", which Copilot took from the "
              "deploying shell; write the value into the manifest and import again")
    vpc = ((data.get("network") or {}).get("vpc")) or {}
    if any(key.startswith("network.vpc.flow_logs.") for key, _ in unresolved) and isinstance(vpc.get("flow_logs"), dict):
        # Without the value the flow logs would take a default retention: they are left to the stack.
        r.add(NOT_IMPORTED, f, "network.vpc.flow_logs", f"{show(vpc['flow_logs'])}: a key of it uses a shell variable "
              "(above), so the stack keeps its own network.flowLogs")
        vpc = {k: v for k, v in vpc.items() if k != "flow_logs"}
    out: dict[str, Any] = {}
    public = ((data.get("http") or {}).get("public")) or {}
    ingress = public.get("ingress") or {}
    if ingress.get("source_ips"):
        out.setdefault("loadBalancer", {})["ingressCidrs"] = ingress["source_ips"]
        r.add(IMPORTED, f, "http.public.ingress.source_ips", f"{show(ingress['source_ips'])} -> loadBalancer.ingressCidrs")
    for key in ingress:
        if key != "source_ips" and ingress[key] is not None:
            r.add(NOT_IMPORTED, f, f"http.public.ingress.{key}", f"{show(ingress[key])}: no CloudFront in front of the ALB")
    if public.get("ssl_policy") is not None:
        if _valid(_SSL_POLICY, public["ssl_policy"]):
            out.setdefault("loadBalancer", {})["sslPolicy"] = public["ssl_policy"]
            r.add(IMPORTED, f, "http.public.ssl_policy", f"{show(public['ssl_policy'])} -> loadBalancer.sslPolicy")
        else:
            r.add(NOT_IMPORTED, f, "http.public.ssl_policy", f"{show(public['ssl_policy'])}: sslPolicy takes {SSL_POLICY_ALLOWED}")
    if public.get("certificates"):
        r.add(NOT_IMPORTED, f, "http.public.certificates", f"{show(public['certificates'])}: loadBalancer.certificateArns "
              "takes one certificate per region of the stack, each in its own region (or set dns and ACM issues them)")
    if public.get("access_logs") is not None:
        enabled = public["access_logs"] is not False
        out.setdefault("loadBalancer", {})["accessLogs"] = {"enabled": enabled}
        r.add(IMPORTED if public["access_logs"] in (True, False) else DIFFERS, f, "http.public.access_logs",
              f"{show(public['access_logs'])} -> loadBalancer.accessLogs.enabled {str(enabled).lower()}"
              + ("" if public["access_logs"] in (True, False) else " (into the bucket the stack creates; bucket_name and "
                 "prefix are not imported)"))
    for key in public:
        if key not in ("ingress", "ssl_policy", "certificates", "access_logs") and public[key] is not None:
            r.add(NOT_IMPORTED, f, f"http.public.{key}", f"{show(public[key])}: {_reason('http.public.' + key)}")
    for key in data.get("http") or {}:
        if key != "public":
            r.add(NOT_IMPORTED, f, f"http.{key}", "no internal load balancer: every route is on the public ALB")
    flow = vpc.get("flow_logs")
    if flow is True or isinstance(flow, dict):
        retention = flow.get("retention") if isinstance(flow, dict) else None
        days = COPILOT_FLOW_LOG_DAYS if retention is None else retention
        out["network"] = {"flowLogs": {"enabled": True, "retentionDays": days}}
        r.add(IMPORTED if retention is not None else DEFAULTED, f, "network.vpc.flow_logs", f"{show(flow)} -> "
              f"network.flowLogs retentionDays {days}" + ("" if retention is not None else " (Copilot's default)"))
        for key in flow if isinstance(flow, dict) else ():
            if key != "retention" and flow[key] is not None:
                r.add(NOT_IMPORTED, f, f"network.vpc.flow_logs.{key}", f"{show(flow[key])}: {_reason('network.vpc.flow_logs.' + key)}")
    elif flow is False:
        r.add(DIFFERS, f, "network.vpc.flow_logs", "false: the platform keeps flow logs on (network.flowLogs.enabled)")
    for key in vpc:
        if key != "flow_logs" and vpc[key] is not None:
            r.add(NOT_IMPORTED, f, f"network.vpc.{key}", f"{show(vpc[key])}: the stack creates each region's VPC from "
                  "regions[].vpcCidr (and subnets); an existing VPC is not imported")
    for key in data.get("network") or {}:
        if key != "vpc" and data["network"][key] is not None:
            r.add(NOT_IMPORTED, f, f"network.{key}", f"{show(data['network'][key])}: {_reason('network.' + key)}")
    if public.get("certificates") or public.get("alias"):
        _host_names(f, ctx)
    for key in data:
        if key not in ("name", "type", "http", "network") and data[key] is not None:
            r.add(NOT_IMPORTED, f, key, f"{show(data[key])}: " + {
                "cdn": "no CloudFront distribution",
                "observability": "the platform's alarms and dashboard replace Container Insights",
            }.get(key, _reason(key)))
    return out
