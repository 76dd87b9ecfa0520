"""What a service's compute takes from the config: its environment on Fargate or on Lambda, and the
cross-checks of ``services[].compute: lambda`` against Lambda's limits and the Fargate-only keys.

One builder of the environment serves the wiring (what the task or function gets) and the checks
(Lambda's 4 KB), so the size checked is the size deployed.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .model import StackConfig
from .problems import Problem, entry
from .workloads import LambdaComputeConfig, ServiceConfig

# Lambda's limit on a function's environment variables, all together (Lambda quotas). Measured
# here as the variables' JSON object, which is at least as long as their names and values.
LAMBDA_ENVIRONMENT_BYTES = 4096

# What the AWS Lambda Web Adapter in the image reads (its README): the port the app listens on
# (PORT, which the program sets on both computes) and the path it polls until the app is ready.
READINESS_PATH_VAR = "AWS_LWA_READINESS_CHECK_PATH"
# On Lambda, where the app finds its secrets' ARNs: a JSON object {variable: ARN} (README).
SECRETS_VAR = "PLATFORM_SECRETS"
# The names Lambda reserves (its documentation's "reserved environment variables"; from that page,
# not observed here). Other AWS_ names, such as AWS_LAMBDA_EXEC_WRAPPER or the adapter's AWS_LWA_*,
# may be set.
LAMBDA_RESERVED_ENV = (
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
)  # fmt: skip
# Lambda's pattern for a variable's name (the Lambda API model: [a-zA-Z]([a-zA-Z0-9_])+).
_LAMBDA_ENV_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]+$")
# A Secrets Manager secret's own ARN has 7 fields; ECS's valueFrom may add :json-key:stage:version.
_SECRET_ARN_FIELDS = 7
# Keys that mean nothing to a Lambda function, and why (key, field, reason).
FARGATE_ONLY = (
    ("cpu", "cpu", "Lambda sizes a function by lambda.memoryMb (its CPU grows with memory)"),
    ("memory", "memory", "Lambda sizes a function by lambda.memoryMb"),
    ("desiredCount", "desired_count", "Lambda runs one execution per concurrent request; bound it with lambda.reservedConcurrency"),
    ("autoscaling", "autoscaling", "Lambda scales per request by itself; bound it with lambda.reservedConcurrency"),
    ("stopTimeoutSeconds", "stop_timeout_seconds", "it is ECS's time between SIGTERM and SIGKILL"),
    ("writablePaths", "writable_paths", "Lambda gives a function a writable /tmp and nothing else"),
    ("bootstrapImage", "bootstrap_image", "Lambda runs only images in this account's ECR; until the first release "
     "the service's path answers 503 (docs/lambda-compute.md)"),
)  # fmt: skip
HEALTH_CHECK_FARGATE_ONLY = (
    ("matcher", "matcher"), ("intervalSeconds", "interval_seconds"), ("timeoutSeconds", "timeout_seconds"),
    ("healthyThreshold", "healthy_threshold"), ("unhealthyThreshold", "unhealthy_threshold"),
    ("gracePeriodSeconds", "grace_period_seconds"), ("containerCommand", "container_command"),
)  # fmt: skip
ALARMS_FARGATE_ONLY = (("cpuPercent", "cpu_percent"), ("memoryPercent", "memory_percent"), ("unhealthyHosts", "unhealthy_hosts"))


def lambda_settings_of(svc: ServiceConfig) -> LambdaComputeConfig:
    """The service's lambda settings, each key at its default unless the stack file set it."""
    return svc.lambda_settings or LambdaComputeConfig()


def service_environment(svc: ServiceConfig, *, region: str, environment: str) -> dict[str, str]:
    """The variables the service's container gets: its own, then the platform's.

    On Fargate: AWS_REGION, ENVIRONMENT and PORT. On Lambda, which sets AWS_REGION itself: ENVIRONMENT,
    PORT, the adapter's readiness path (the health check's path) and, with secrets, PLATFORM_SECRETS.
    """
    env = {**svc.environment, "ENVIRONMENT": environment, "PORT": str(svc.port)}
    if svc.compute == "fargate":
        return {**env, "AWS_REGION": region}
    env[READINESS_PATH_VAR] = svc.health_check.path
    if svc.secrets:
        env[SECRETS_VAR] = json.dumps(dict(sorted(svc.secrets.items())), separators=(",", ":"))
    return env


def environment_bytes(env: dict[str, str]) -> int:
    return len(json.dumps(env, separators=(",", ":"), ensure_ascii=False).encode())


def compute_problems(cfg: StackConfig) -> list[Problem]:
    problems: list[Problem] = []
    for i, svc in enumerate(cfg.services):
        path = entry("services", i, svc.name)
        if svc.compute == "fargate":
            if svc.lambda_settings is not None:
                problems.append(
                    Problem(
                        f"{path}.lambda",
                        f"nothing with compute fargate ({svc.name} runs on Fargate; set compute: lambda to use it)",
                        svc.lambda_settings.model_dump(by_alias=True, exclude_unset=True),
                    )
                )
            continue
        problems += _lambda_problems(cfg, i, svc)
    return problems


def _lambda_problems(cfg: StackConfig, i: int, svc: ServiceConfig) -> list[Problem]:
    path = entry("services", i, svc.name)
    on_lambda = f"nothing with compute lambda ({svc.name} runs on Lambda)"
    problems: list[Problem] = []
    if svc.mode == "on-demand":
        problems.append(
            Problem(
                f"{path}.compute",
                f"fargate for a mode on-demand service ({svc.name}): the task launcher starts ECS tasks and "
                "registers their addresses",
                svc.compute,
            )
        )
    for key, attr, why in FARGATE_ONLY:
        if attr in svc.model_fields_set:
            value = getattr(svc, attr)
            shown = value.model_dump(by_alias=True, exclude_unset=True) if hasattr(value, "model_dump") else value
            problems.append(Problem(f"{path}.{key}", f"{on_lambda}: {why}", shown))
    for key, attr in HEALTH_CHECK_FARGATE_ONLY:
        if attr in svc.health_check.model_fields_set:
            problems.append(
                Problem(
                    f"{path}.healthCheck.{key}",
                    f"{on_lambda}: only healthCheck.path applies, as the adapter's readiness check; the ALB does "
                    "not health-check a Lambda target",
                    getattr(svc.health_check, attr),
                )
            )
    lam = lambda_settings_of(svc)
    idle = cfg.load_balancer.idle_timeout_seconds
    if lam.timeout_seconds > idle:
        problems.append(
            Problem(
                f"{path}.lambda.timeoutSeconds",
                f"at most loadBalancer.idleTimeoutSeconds ({idle}) for {svc.name}: the ALB closes the client's "
                "connection before a longer request could answer",
                lam.timeout_seconds,
            )
        )
    if lam.architecture is not None and lam.architecture != svc.architecture:
        problems.append(
            Problem(
                f"{path}.lambda.architecture",
                f"{svc.architecture}, {svc.name}'s architecture (or leave it out): the pipeline builds one "
                "single-architecture image for both computes",
                lam.architecture,
            )
        )
    provisioned, reserved = lam.provisioned_concurrency, lam.reserved_concurrency
    if provisioned is not None and reserved is not None and provisioned > reserved:
        problems.append(
            Problem(f"{path}.lambda.provisionedConcurrency", f"at most lambda.reservedConcurrency ({reserved}) for {svc.name}", provisioned)
        )
    problems += _environment_problems(cfg, i, svc)
    problems += _deployment_problems(i, svc)
    overrides = cfg.monitoring.services.get(svc.name)
    for key, attr in ALARMS_FARGATE_ONLY:
        if overrides is not None and attr in overrides.model_fields_set:
            problems.append(
                Problem(
                    f"monitoring.services.{svc.name}.{key}",
                    f"{on_lambda}: a function is alarmed on errors, throttles and duration, and its target "
                    "group on 5XX and latency",
                    getattr(overrides, attr),
                )
            )
    return problems


def _environment_problems(cfg: StackConfig, i: int, svc: ServiceConfig) -> list[Problem]:
    path = entry("services", i, svc.name)
    problems: list[Problem] = []
    program = (READINESS_PATH_VAR, SECRETS_VAR, "AWS_LWA_PORT")
    for key, source in (("environment", svc.environment), ("secrets", svc.secrets)):
        for var in source:
            where = f"{path}.{key}.{var}"
            if var in program:
                problems.append(
                    Problem(where, f"a variable other than {', '.join(program)} (set by the program for {svc.name} on Lambda)", var)
                )
            elif key == "environment" and (var in LAMBDA_RESERVED_ENV or not _LAMBDA_ENV_NAME.match(var)):
                problems.append(
                    Problem(
                        where,
                        f"a name Lambda accepts for {svc.name}: a letter, then letters, digits or _ (two characters at "
                        "least), and none of the names Lambda reserves (" + ", ".join(LAMBDA_RESERVED_ENV) + ")",
                        var,
                    )
                )
    for var, arn in svc.secrets.items():
        if ":secretsmanager:" in arn and len(arn.split(":")) > _SECRET_ARN_FIELDS:
            problems.append(
                Problem(
                    f"{path}.secrets.{var}",
                    f"the secret's own ARN for {svc.name} on Lambda: the app reads PLATFORM_SECRETS' ARNs with "
                    "GetSecretValue; a JSON key or version after it is ECS's valueFrom syntax",
                    arn,
                )
            )
    env = service_environment(svc, region="", environment=cfg.environment)
    size = environment_bytes(env)
    if size > LAMBDA_ENVIRONMENT_BYTES:
        problems.append(
            Problem(
                f"{path}.environment",
                f"variables within Lambda's {LAMBDA_ENVIRONMENT_BYTES} bytes for {svc.name}: with the platform's "
                f"(ENVIRONMENT, PORT, {READINESS_PATH_VAR}" + (f", {SECRETS_VAR}" if svc.secrets else "") + ") they "
                "come to " + str(size) + " bytes; move large values to SSM parameters and read them at start-up",
                f"{len(svc.environment)} variables, {len(svc.secrets)} secrets",
            )
        )
    return problems


def _whole_percent(value: float | None) -> bool:
    return value is not None and float(value).is_integer() and 1 <= value <= 99


def _deployment_problems(i: int, svc: ServiceConfig) -> list[Problem]:
    d = svc.deployment
    path = f"{entry('services', i, svc.name)}.deployment"
    problems: list[Problem] = []
    if d.strategy == "blueGreen":
        problems.append(
            Problem(
                f"{path}.strategy",
                f"rolling (all at once), canary or linear for {svc.name} on Lambda: CodeDeploy moves the live alias "
                "to a new version, so every Lambda release is blue/green already",
                d.strategy,
            )
        )
    if "bake_minutes" in d.given:
        problems.append(
            Problem(
                f"{path}.bakeMinutes",
                f"nothing with compute lambda ({svc.name}): the old version stays published, and CodeDeploy moves "
                "the alias back to it when an alarm fires during the shift",
                d.bake_minutes,
            )
        )
    if d.smoke_test is not None:
        problems.append(
            Problem(
                f"{path}.smokeTest",
                f"nothing with compute lambda ({svc.name}): the smoke test runs on the test listener, where ECS "
                "sends the new tasks' test traffic; a Lambda release is guarded by its alarms",
                d.smoke_test.model_dump(by_alias=True),
            )
        )
    percent_key = {"canary": ("canaryPercent", d.canary_percent), "linear": ("stepPercent", d.step_percent)}
    minutes_key = {"canary": ("canaryBakeMinutes", d.canary_bake_minutes), "linear": ("stepBakeMinutes", d.step_bake_minutes)}
    if d.strategy in percent_key:
        key, value = percent_key[d.strategy]
        if not _whole_percent(value):
            problems.append(
                Problem(
                    f"{path}.{key}",
                    f"a whole percentage from 1 to 99 for {svc.name} on Lambda (CodeDeploy's time-based "
                    "configurations take whole percentages)",
                    _plain(value),
                )
            )
        key, value = minutes_key[d.strategy]
        if value is not None and value < 1:
            problems.append(
                Problem(f"{path}.{key}", f"at least 1 for {svc.name} on Lambda (CodeDeploy's interval in minutes)", value)
            )
    return problems


def _plain(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value
