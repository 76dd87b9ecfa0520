"""Cross-checks of the monitoring section and the domain's routing against the services and regions."""

from __future__ import annotations

from . import routes
from .model import StackConfig
from .problems import Problem, entries, missing

# The event functions' own names ({name}-{environment}-task-launcher, -repo-replicator) and their
# alarms' keys: a configured function by that name would collide with them.
RESERVED_FUNCTION_NAMES = ("task-launcher", "repo-replicator", "replicator")


def monitoring_problems(cfg: StackConfig) -> list[Problem]:
    names = list(dict.fromkeys(s.name for s in cfg.services))
    reserved = [
        Problem(f"{path}.name", "a name other than " + ", ".join(RESERVED_FUNCTION_NAMES) + " (the platform's own functions)", f.name)
        for path, f in entries("functions", cfg.functions)
        if f.name in RESERVED_FUNCTION_NAMES
    ]
    problems = [
        Problem(f"monitoring.services.{key}", f"the name of a service ({', '.join(names) or 'none is configured'})", key)
        for key in cfg.monitoring.services
        if key not in names
    ]
    return reserved + problems + _routing_problems(cfg)


def _routing_problems(cfg: StackConfig) -> list[Problem]:
    dns = cfg.dns
    if dns is None:
        return []
    problems: list[Problem] = []
    if dns.routing == "failover" and len(cfg.regions) != 2:
        problems.append(
            Problem("dns.routing", f"latency or none with {len(cfg.regions)} regions: failover has one primary and one secondary", "failover")
        )
    if dns.routing == "latency" and len(cfg.regions) < 2:
        problems.append(Problem("dns.routing", "failover or none with one region: latency routing chooses between regions", "latency"))
    if cfg.routing != "none":
        if dns.health_check_path is not None:
            problems += _health_check_route_problems(cfg, dns.health_check_path)
        if dns.health_check_path is None:
            problems.append(
                missing(
                    "dns.healthCheckPath",
                    f"the path Route 53 requests on each region's ALB (routing is {cfg.routing}), one a "
                    "production service answers with 2xx or 3xx, such as /api/auth/health",
                )
            )
        if "0.0.0.0/0" not in cfg.load_balancer.ingress_cidrs:
            problems.append(
                Problem(
                    "loadBalancer.ingressCidrs",
                    f"0.0.0.0/0 while dns.routing is {cfg.routing}: Route 53's health checkers come from "
                    "AWS addresses outside these CIDRs, so every check would fail (or set dns.routing: none)",
                    list(cfg.load_balancer.ingress_cidrs),
                )
            )
    return problems


def _health_check_route_problems(cfg: StackConfig, path: str) -> list[Problem]:
    """The path Route 53 requests must reach something that answers: the route the ALB sends it to
    (the matching pattern with the lowest priority) must be a mode service service or a function."""
    routed = entries("services", cfg.services) + [(where, f) for where, f in entries("functions", cfg.functions) if f.paths]
    matching = sorted(
        (routes.priority_of(route.name, route.paths, route.priority), where, route)
        for where, route in routed
        if any(routes.matches(pattern, path) for pattern in route.paths)
    )
    if not matching:
        listed = [p for _, route in routed for p in route.paths]
        patterns = ", ".join(listed[:6]) + (f" and {len(listed) - 6} more" if len(listed) > 6 else "")
        return [
            Problem(
                "dns.healthCheckPath",
                f"a path one of the routes serves ({patterns}); the ALB answers any other with its 404, so every "
                "region's health check would fail",
                path,
            )
        ]
    _, where, route = matching[0]
    if getattr(route, "mode", "service") == "on-demand":
        return [
            Problem(
                "dns.healthCheckPath",
                f"a path a mode service service or a function serves: {path} goes to {where}, an "
                "on-demand service whose tasks run only when the task launcher starts them",
                path,
            )
        ]
    return []
