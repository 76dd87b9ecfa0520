"""Cross-checks of the monitoring section and the domain's routing against the services and regions."""

from __future__ import annotations

from .model import StackConfig
from .problems import Problem, missing


def monitoring_problems(cfg: StackConfig) -> list[Problem]:
    names = [s.name for s in cfg.services]
    problems = [
        Problem(f"monitoring.services.{key}", f"the name of a service ({', '.join(names) or 'none is configured'})", key)
        for key in cfg.monitoring.services
        if key not in names
    ]
    return problems + _routing_problems(cfg)


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
    if cfg.routing != "none" and dns.health_check_path is None and not any(s.mode == "service" for s in cfg.services):
        problems.append(
            missing(
                "dns.healthCheckPath",
                "a path Route 53 can request on each region's ALB (there is no mode service service to derive it from)",
            )
        )
    return problems
