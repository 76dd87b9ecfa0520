"""Cross-checks of the traffic and compute sections: what no single key can decide on its own."""

from __future__ import annotations

from pathlib import Path

from . import routes
from .aws_regions import partition_of
from .model import StackConfig
from .problems import Problem, entries
from .workloads import _ENV_NAME_RE, ENV_NAME_ALLOWED, FARGATE_SIZES, RESERVED_ENV, ServiceConfig

_CREDENTIAL_VARS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "ECS_ENGINE_AUTH_DATA")
FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"


def _routes(cfg: StackConfig, *, named: bool = True) -> list[tuple[str, object]]:
    """(key path, service or function) for every route, services first; the key path names the
    route (``services[3] (users)``) unless ``named`` is false (``services[3]``)."""
    if not named:
        return [(f"services[{i}]", s) for i, s in enumerate(cfg.services)] + [
            (f"functions[{i}]", f) for i, f in enumerate(cfg.functions)
        ]
    return entries("services", cfg.services) + entries("functions", cfg.functions)


def workload_problems(cfg: StackConfig) -> list[Problem]:
    return (
        _name_problems(cfg)
        + _route_problems(cfg)
        + [p for path, s in entries("services", cfg.services) for p in _service_problems(path, s)]
        + _function_problems(cfg)
        + _certificate_problems(cfg)
    )


def _name_problems(cfg: StackConfig) -> list[Problem]:
    problems: list[Problem] = []
    alb = routes.load_balancer_name(cfg.name, cfg.environment)
    if len(alb) > routes.LOAD_BALANCER_NAME_MAX:
        problems.append(
            Problem("name", f"a name that keeps the ALB name {alb!r} within 32 characters", cfg.name)
        )
    longest = routes.max_route_name_length(cfg.environment)
    seen: dict[str, str] = {}
    for (path, route), (plain, _) in zip(_routes(cfg), _routes(cfg, named=False), strict=True):
        name = route.name  # type: ignore[attr-defined]
        if name in seen:
            problems.append(Problem(f"{path}.name", f"a name not already used ({name} is {seen[name]})", name))
        seen.setdefault(name, plain)
        if len(name) > longest:
            problems.append(
                Problem(
                    f"{path}.name",
                    f"at most {longest} characters with environment {cfg.environment!r}, so the target "
                    f"group name {name}-{cfg.environment}-xxxxxx fits AWS's 32",
                    name,
                )
            )
    return problems


def _route_problems(cfg: StackConfig) -> list[Problem]:
    problems: list[Problem] = []
    owner: dict[str, str] = {}
    computed: dict[int, tuple[str, str]] = {}
    literal: dict[str, tuple[str, bool]] = {}
    for path, route in _routes(cfg):
        paths: list[str] = list(route.paths)  # type: ignore[attr-defined]
        if not paths:
            continue
        for k, pattern in enumerate(paths):
            if pattern in owner:
                problems.append(
                    Problem(f"{path}.paths[{k}]", f"a pattern no other route has ({owner[pattern]} has it)", pattern)
                )
                continue
            owner[pattern] = f"{path}.paths[{k}]"
            prefix = routes.literal_prefix(pattern)
            explicit = route.priority is not None  # type: ignore[attr-defined]
            if prefix != pattern and prefix in literal:
                other, other_explicit = literal[prefix]
                if other != path and not (explicit or other_explicit):
                    problems.append(
                        Problem(
                            f"{path}.priority",
                            f"an explicit priority: {pattern!r} and a pattern of {other} share the literal "
                            f"prefix {prefix!r}, so which rule the ALB evaluates first must be chosen",
                            None,
                        )
                    )
            literal.setdefault(prefix, (path, explicit))
        priority = routes.priority_of(route.name, paths, route.priority)  # type: ignore[attr-defined]
        # Two routes of one name may compute one priority: the name is the mistake, reported once
        # (_name_problems), and renaming either route gives it another priority.
        same_name = priority in computed and computed[priority][1] == route.name  # type: ignore[attr-defined]
        if priority in computed and not (same_name and route.priority is None):  # type: ignore[attr-defined]
            how = "its" if route.priority is not None else "its computed"  # type: ignore[attr-defined]
            problems.append(
                Problem(
                    f"{path}.priority",
                    f"a priority no other rule has ({how} priority {priority} is also {computed[priority][0]}'s); "
                    "set an explicit one",
                    route.priority,  # type: ignore[attr-defined]
                )
            )
        computed.setdefault(priority, (path, route.name))  # type: ignore[attr-defined]
    return problems


def _service_problems(path: str, svc: ServiceConfig) -> list[Problem]:
    problems = _fargate_problems(path, svc) if svc.compute == "fargate" else []
    hc = svc.health_check
    if hc.timeout_seconds >= hc.interval_seconds:
        problems.append(
            Problem(
                f"{path}.healthCheck.timeoutSeconds",
                f"less than healthCheck.intervalSeconds ({hc.interval_seconds})",
                hc.timeout_seconds,
            )
        )
    for key, source in (("environment", svc.environment), ("secrets", svc.secrets)):
        for var in source:
            where = f"{path}.{key}.{var}"
            if key == "environment" and var in _CREDENTIAL_VARS:
                problems.append(
                    Problem(where, "credentials only through secrets (Security Hub ECS.8), never as plain environment", var)
                )
            elif var in RESERVED_ENV:
                problems.append(Problem(where, "a variable other than " + ", ".join(RESERVED_ENV) + " (set by the program)", var))
            elif not _ENV_NAME_RE.match(var):
                problems.append(Problem(where, ENV_NAME_ALLOWED, var))
    for var in set(svc.environment) & set(svc.secrets):
        problems.append(Problem(f"{path}.secrets.{var}", "a variable not also set in environment", var))
    return problems


def _fargate_problems(path: str, svc: ServiceConfig) -> list[Problem]:
    """What only a service on Fargate has: its task size, task count and scratch volumes (on Lambda
    these keys are refused, stack_config/compute.py)."""
    problems: list[Problem] = []
    if svc.cpu not in FARGATE_SIZES:
        problems.append(Problem(f"{path}.cpu", "Fargate CPU units: " + ", ".join(map(str, FARGATE_SIZES)), svc.cpu))
    elif svc.memory not in FARGATE_SIZES[svc.cpu]:
        sizes = FARGATE_SIZES[svc.cpu]
        step = sizes[1] - sizes[0]
        problems.append(
            Problem(
                f"{path}.memory",
                f"for cpu {svc.cpu}, Fargate memory from {sizes[0]} to {sizes[-1]} MiB in steps of {step}",
                svc.memory,
            )
        )
    scaling = svc.autoscaling
    if scaling.min_capacity > scaling.max_capacity:
        problems.append(
            Problem(
                f"{path}.autoscaling.minCapacity",
                f"at most autoscaling.maxCapacity ({scaling.max_capacity})",
                scaling.min_capacity,
            )
        )
    elif svc.mode == "service" and not scaling.min_capacity <= svc.desired_count <= scaling.max_capacity:
        problems.append(
            Problem(
                f"{path}.desiredCount",
                f"from autoscaling.minCapacity ({scaling.min_capacity}) to maxCapacity ({scaling.max_capacity})",
                svc.desired_count,
            )
        )
    if scaling.scale_in_cooldown_seconds < scaling.scale_out_cooldown_seconds:
        problems.append(
            Problem(
                f"{path}.autoscaling.scaleInCooldownSeconds",
                f"at least scaleOutCooldownSeconds ({scaling.scale_out_cooldown_seconds}), so capacity is "
                "released more slowly than it is added",
                scaling.scale_in_cooldown_seconds,
            )
        )
    seen_paths: set[str] = set()
    for k, mount in enumerate(svc.writable_paths):
        if mount in seen_paths or mount == "/":
            problems.append(Problem(f"{path}.writablePaths[{k}]", "each directory once, and not /", mount))
        seen_paths.add(mount)
    return problems


def _function_problems(cfg: StackConfig) -> list[Problem]:
    problems: list[Problem] = []
    for path, fn in entries("functions", cfg.functions):
        source = fn.source or fn.name.replace("-", "_")
        if not (FUNCTIONS_DIR / source / f"{fn.handler.rsplit('.', 1)[0].replace('.', '/')}.py").is_file():
            problems.append(
                Problem(
                    f"{path}.source",
                    f"a directory under functions/ holding the handler module of {fn.handler!r}",
                    source,
                )
            )
        provisioned, reserved = fn.provisioned_concurrency, fn.reserved_concurrency
        if provisioned is not None and reserved is not None and provisioned > reserved:
            problems.append(
                Problem(f"{path}.provisionedConcurrency", f"at most reservedConcurrency ({reserved})", provisioned)
            )
        for var in fn.environment:
            if not _ENV_NAME_RE.match(var) or var.startswith("AWS_"):
                problems.append(
                    Problem(f"{path}.environment.{var}", ENV_NAME_ALLOWED + ", not starting with AWS_ (reserved by Lambda)", var)
                )
    return problems


def _certificate_problems(cfg: StackConfig) -> list[Problem]:
    return region_keyed_arn_problems(
        cfg,
        "loadBalancer.certificateArns",
        cfg.load_balancer.certificate_arns,
        service="acm",
        what="a certificate",
        why="an ALB can only use a certificate from its own region",
        unless="so no region silently serves plain HTTP",
    )


def region_keyed_arn_problems(
    cfg: StackConfig, where: str, arns: dict[str, str], *, service: str, what: str, why: str, unless: str
) -> list[Problem]:
    """Checks of a {region: ARN} map: listed regions only, each ARN in its key's region, all or none."""
    if not arns:
        return []
    problems: list[Problem] = []
    listed = [r.name for r in cfg.regions]
    for region, arn in arns.items():
        key = f"{where}.{region}"
        if region not in listed:
            problems.append(Problem(key, "a key that is one of the stack's regions: " + ", ".join(listed), region))
            continue
        arn_partition, arn_region = arn.split(":")[1], arn.split(":")[3]
        if arn_region != region or arn_partition != partition_of(region):
            problems.append(
                Problem(key, f"{what} in {region} (arn:{partition_of(region)}:{service}:{region}:...); {why}", arn)
            )
    lacking = [r for r in listed if r not in arns]
    if lacking:
        problems.append(
            Problem(
                where,
                f"{what} for every region or for none (missing: " + ", ".join(lacking) + f"), {unless}",
                sorted(arns),
            )
        )
    return problems
