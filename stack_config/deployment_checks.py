"""Cross-checks of each service's deployment strategy against the service, the network, the load
balancer and the pipeline."""

from __future__ import annotations

import math

from . import routes
from .model import StackConfig
from .problems import Problem, entry

# ECS's alternate target group is named after the route with this suffix (as staging's with -stg).
ALTERNATE_SUFFIX = "-alt"
# Minutes a progressive deployment needs besides its bake times: starting the new tasks, passing
# their health checks, shifting test traffic (an estimate, not an AWS figure).
PROVISION_MINUTES = 5

_CANARY_KEYS = (("canaryPercent", "canary_percent"), ("canaryBakeMinutes", "canary_bake_minutes"))
_LINEAR_KEYS = (("stepPercent", "step_percent"), ("stepBakeMinutes", "step_bake_minutes"))


def deployment_problems(cfg: StackConfig) -> list[Problem]:
    problems = [p for i in range(len(cfg.services)) for p in _service_problems(cfg, i)]
    if any(s.ecs_progressive for s in cfg.services):
        taken = {80: "the production listeners", 443: "the production listeners"}
        if cfg.has_staging:
            taken[cfg.pipeline.staging.listener_port] = "pipeline.staging.listenerPort"
        port = cfg.load_balancer.test_listener_port
        if port in taken:
            problems.append(Problem("loadBalancer.testListenerPort", f"a port other than {port}, which {taken[port]} use", port))
    return problems


def deploy_minutes(cfg: StackConfig, i: int) -> int:
    """Minutes a production deploy of ``services[i]`` can take: its bake times, the smoke test's
    wait, and the time to start and register the new tasks (on Lambda: CodeDeploy's shift of the
    alias, and the time to update the function and publish a version)."""
    deployment = cfg.services[i].deployment
    if cfg.services[i].compute == "lambda":
        return math.ceil(deployment.alias_shift_minutes()) + PROVISION_MINUTES
    wait = deployment.smoke_test.wait_seconds / 60 if deployment.smoke_test else 0
    return math.ceil(deployment.shift_minutes() + wait) + PROVISION_MINUTES


def _service_problems(cfg: StackConfig, i: int) -> list[Problem]:
    svc = cfg.services[i]
    d = svc.deployment
    where = entry("services", i, svc.name)
    path = f"{where}.deployment"
    problems: list[Problem] = []
    for strategy, keys in (("canary", _CANARY_KEYS), ("linear", _LINEAR_KEYS)):
        for key, attr in keys:
            value = getattr(d, attr)
            if value is not None and d.strategy != strategy:
                problems.append(Problem(f"{path}.{key}", f"only with strategy {strategy} (strategy is {d.strategy})", value))
    if not d.progressive:
        for key, value in (("bakeMinutes", d.bake_minutes), ("smokeTest", d.smoke_test)):
            if value is not None:
                problems.append(
                    Problem(
                        f"{path}.{key}",
                        "only with strategy blueGreen, canary or linear: a rolling deployment keeps no old tasks "
                        "to bake against and sends no test traffic",
                        value.model_dump(by_alias=True) if hasattr(value, "model_dump") else value,
                    )
                )
        return problems
    if svc.compute == "lambda":
        # What CodeDeploy accepts is checked with the other lambda keys (stack_config/compute.py).
        return problems + _deploy_time_problems(cfg, i)
    if svc.mode != "service":
        problems.append(
            Problem(f"{path}.strategy", "rolling for a mode on-demand service: it has no ECS service for ECS to deploy", d.strategy)
        )
        return problems
    if svc.autoscaling.requests_per_target is not None:
        problems.append(
            Problem(
                f"{where}.autoscaling.requestsPerTarget",
                f"null with deployment.strategy {d.strategy}: ALB requests per target is measured on one "
                "target group, and after a deployment production traffic runs on the other",
                svc.autoscaling.requests_per_target,
            )
        )
    longest = routes.max_route_name_length(cfg.environment) - len(ALTERNATE_SUFFIX)
    if len(svc.name) > longest:
        problems.append(
            Problem(
                f"{where}.name",
                f"at most {longest} characters with deployment.strategy {d.strategy}, so the alternate target "
                f"group {svc.name}{ALTERNATE_SUFFIX}-{cfg.environment}-xxxxxx fits AWS's 32",
                svc.name,
            )
        )
    if d.smoke_test is not None:
        problems += _smoke_test_problems(cfg, i)
    return problems + _deploy_time_problems(cfg, i)


def _deploy_time_problems(cfg: StackConfig, i: int) -> list[Problem]:
    if not cfg.has_pipeline:
        return []
    svc, d = cfg.services[i], cfg.services[i].deployment
    needed = deploy_minutes(cfg, i)
    if needed <= cfg.pipeline.deploy_timeout_minutes:
        return []
    if svc.compute == "lambda":
        why = (
            f"CodeDeploy moves its live alias over {d.alias_shift_minutes():g} minutes ({d.strategy}), and updating "
            f"the function and publishing a version takes about {PROVISION_MINUTES}"
        )
    else:
        why = (
            f"its {d.strategy} deployment bakes {d.shift_minutes():g} minutes, waits up to "
            f"{d.smoke_test.wait_seconds if d.smoke_test else 0} s for its smoke test and needs about "
            f"{PROVISION_MINUTES} to start tasks"
        )
    return [
        Problem(
            "pipeline.deployTimeoutMinutes",
            f"at least {needed} for {entry('services', i, svc.name)}: {why}"
            + ("; shorten the bake times, the deploy action waits at most 60" if needed > 60 else ""),
            cfg.pipeline.deploy_timeout_minutes,
        )
    ]


def _smoke_test_problems(cfg: StackConfig, i: int) -> list[Problem]:
    svc = cfg.services[i]
    smoke = svc.deployment.smoke_test
    assert smoke is not None
    service = entry("services", i, svc.name)
    where = f"{service}.deployment.smokeTest"
    problems: list[Problem] = []
    if not any(routes.matches(pattern, smoke.path) for pattern in svc.paths):
        problems.append(
            Problem(
                f"{where}.path",
                f"a path one of {service}'s own patterns matches ({', '.join(svc.paths)}), "
                "so the test listener sends it to the new tasks",
                smoke.path,
            )
        )
    if cfg.network.nat_strategy == "none":
        problems.append(
            Problem(
                where,
                "no smoke test with network.natStrategy none: the test function reaches the test listener "
                "through the NAT gateways, whose addresses the listener admits",
                smoke.model_dump(by_alias=True),
            )
        )
    if cfg.load_balancer.certificate_arns and cfg.dns is None:
        problems.append(
            Problem(
                where,
                "dns as well as loadBalancer.certificateArns: the smoke test requests https://<region>.<domain>, "
                "a name on the certificate, so it can check the listener's certificate",
                smoke.model_dump(by_alias=True),
            )
        )
    return problems


