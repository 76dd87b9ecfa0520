"""``python -m ops cost <stack>``: what the synthesized stack costs per month, offline.

The stack is synthesized exactly as ``python -m ops synth`` does it (the real program under mocks,
with Pulumi.<stack>.yaml as its config); the resource graph is then priced per region from the
table in ops/prices.py, for 730 hours a month. Usage-driven parts (NAT and ALB traffic, pipeline
runs, builds, on-demand tasks) come from assumptions that are printed and that flags override.

Also prints a "one ALB per service" layout next to it: the same graph with one ALB per
service behind the shared ALB, so the saving of the shared ALB is visible; and each service's break-even between Lambda and Fargate: the monthly requests above which
Fargate's always-on tasks cost less than Lambda's requests and GB-seconds.

Exit status: 0 priced; 2 invalid stack, stack file or config; 1 the program failed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import prices
from .driver import UsageError, add_stack_argument, show_stack_as_required, stack_of
from .harness import Graph, Registration
from .synth import EXIT_CONFIG, EXIT_OK, synthesize

HOURS = prices.HOURS_PER_MONTH

# Resource types whose cost is usage only (requests, GB stored or transferred): zero at idle here.
USAGE_BASED = {
    "aws:lambda/function:Function": "Lambda functions (requests, GB-seconds)",
    "aws:sqs/queue:Queue": "SQS queues (requests)",
    "aws:sns/topic:Topic": "SNS topics (publishes, deliveries)",
    "aws:s3/bucket:Bucket": "S3 buckets (GB stored, requests)",
    "aws:ecr/repository:Repository": "ECR repositories (GB stored)",
    "aws:cloudwatch/logGroup:LogGroup": "CloudWatch log groups (GB ingested, stored)",
    "aws:codecommit/repository:Repository": "CodeCommit repositories (active users)",
    "aws:cloudwatch/eventRule:EventRule": "EventBridge rules (custom events)",
}


@dataclass(frozen=True)
class Assumptions:
    """Usage the graph cannot tell; each has a flag."""

    nat_gb: float = 50.0  # GB processed per NAT gateway per month
    alb_lcu: float = 1.0  # LCUs per ALB per hour
    pipeline_runs: int = 60  # runs per pipeline per month
    pipeline_minutes: float = 20.0  # action execution minutes per run (all actions, summed)
    builds: int | None = None  # builds per CodeBuild project per month; None: one per pipeline run
    build_minutes: float = 5.0  # minutes per build
    on_demand_hours: float = 0.0  # hours per month each on-demand task definition runs (1 task)
    endpoint_gb: float = 0.0  # GB per interface endpoint per month
    spot_discount: float = prices.FARGATE_SPOT_DISCOUNT  # Fargate Spot's discount on on-demand
    lambda_requests: int = 100_000  # requests per month per service on Lambda, per region
    waf_million_requests: float = 1.0  # million requests per month the web ACL inspects, per region
    lambda_duration_ms: float = 200.0  # average billed duration of one request (a typical web request)

    @property
    def builds_per_project(self) -> int:
        return self.pipeline_runs if self.builds is None else self.builds

    def describe(self) -> list[str]:
        return [
            f"NAT data processed: {_num(self.nat_gb)} GB/month per NAT gateway (--nat-gb)",
            f"ALB load: {_num(self.alb_lcu)} LCU per hour per ALB (--alb-lcu)",
            f"pipeline: {self.pipeline_runs} runs/month × {_num(self.pipeline_minutes)} action-minutes per run "
            "(--pipeline-runs, --pipeline-minutes)",
            f"CodeBuild: {self.builds_per_project} builds/month per project"
            f"{' (one per pipeline run)' if self.builds is None else ''} × {_num(self.build_minutes)} min "
            "(--builds, --build-minutes)",
            f"on-demand services: {_num(self.on_demand_hours)} task-hours/month each (--on-demand-hours)",
            f"interface endpoint data: {_num(self.endpoint_gb)} GB/month per endpoint (--endpoint-gb)",
            f"Fargate Spot: {_num(self.spot_discount * 100)}% off on-demand (--spot-discount)",
            f"services on Lambda: {self.lambda_requests:,} requests/month each per region × "
            f"{_num(self.lambda_duration_ms)} ms (--lambda-requests, --lambda-duration-ms); staging copies: 0",
            f"WAF: {_num(self.waf_million_requests)} million requests/month inspected per web ACL (--waf-million-requests)",
        ]


@dataclass(frozen=True)
class Line:
    region: str
    item: str
    quantity: float
    unit: str
    unit_price: float  # after the region factor
    note: str = ""

    @property
    def monthly(self) -> float:
        return self.quantity * self.unit_price

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "item": self.item,
            "quantity": self.quantity,
            "unit": self.unit,
            "unit_price": self.unit_price,
            "monthly": round(self.monthly, 6),
            "note": self.note,
        }


@dataclass
class Estimate:
    stack: str
    assumptions: Assumptions
    lines: list[Line]
    notes: list[str] = field(default_factory=list)

    def regions(self) -> list[str]:
        return sorted({line.region for line in self.lines})

    def region_lines(self, region: str) -> list[Line]:
        return [line for line in self.lines if line.region == region]

    def subtotal(self, region: str) -> float:
        return sum(line.monthly for line in self.region_lines(region))

    @property
    def total(self) -> float:
        return sum(line.monthly for line in self.lines)

    def find(self, region: str, prefix: str) -> list[Line]:
        return [line for line in self.region_lines(region) if line.item.startswith(prefix)]


# --- pricing the graph ----------------------------------------------------------------------------


def _num(value: float) -> str:
    return f"{value:g}"


def _by_region(graph: Graph, type_: str) -> dict[str, list[Registration]]:
    found: dict[str, list[Registration]] = {}
    for r in graph.custom():
        if r.type == type_:
            found.setdefault(r.region or "(no region)", []).append(r)
    return found


def _regions(graph: Graph) -> list[str]:
    return sorted({r.region for r in graph.custom() if r.region and not r.type.startswith("pulumi:providers:")})


def _family_of(arn: object) -> str | None:
    """``arn:...:task-definition/<family>:<revision>`` → family."""
    if not isinstance(arn, str) or "task-definition/" not in arn:
        return None
    return arn.split("task-definition/", 1)[1].rsplit(":", 1)[0]


def _spot_share(strategies: object) -> float:
    """The share of a service's tasks on FARGATE_SPOT, by capacity-provider weight."""
    if not isinstance(strategies, list) or not strategies:
        return 0.0
    weights = {s.get("capacityProvider"): float(s.get("weight") or 0) for s in strategies if isinstance(s, dict)}
    total = sum(weights.values())
    if total == 0:
        return 1.0 if "FARGATE_SPOT" in weights and len(weights) == 1 else 0.0
    return weights.get("FARGATE_SPOT", 0.0) / total


def _task_size(task: Registration) -> tuple[float, float, str]:
    """(vCPU, GB, architecture) of a Fargate task definition."""
    cpu = float(task.inputs.get("cpu") or 0) / 1024
    memory = float(task.inputs.get("memory") or 0) / 1024
    platform = task.inputs.get("runtimePlatform") or {}
    arch = str(platform.get("cpuArchitecture") or "X86_64").upper() if isinstance(platform, dict) else "X86_64"
    return cpu, memory, arch if arch in prices.FARGATE_VCPU_HOUR else "X86_64"


def _fargate_lines(region: str, label: str, task: Registration, tasks: float, hours: float, spot: float,
                   assume: Assumptions, factor: float, note: str = "") -> list[Line]:
    vcpu, gb, arch = _task_size(task)
    multiplier = 1 - spot * assume.spot_discount
    kind = "x86" if arch == "X86_64" else "ARM64"
    if spot >= 1:
        kind += ", Spot"
    elif spot > 0:
        kind += f", {spot:.0%} Spot"
    size = f"{_num(tasks)} × {_num(vcpu)} vCPU / {_num(gb)} GB"
    return [
        Line(region, f"Fargate vCPU · {label} ({kind}, {size})", vcpu * tasks * hours, "vCPU-h",
             prices.FARGATE_VCPU_HOUR[arch] * multiplier * factor, note),
        Line(region, f"Fargate memory · {label} ({kind})", gb * tasks * hours, "GB-h",
             prices.FARGATE_GB_HOUR[arch] * multiplier * factor, note),
    ]


# Minutes a progressive release needs besides its bake times (stack_config/deployment_checks.py).
PROVISION_MINUTES = 5
SMOKE_TEST_SECONDS = 1.0  # one call, when the new tasks answer at once (assumed)


def release_minutes(deployment: dict[str, Any]) -> float:
    """How long a progressive release keeps the old and the new tasks side by side, from the ECS
    service's deploymentConfiguration: the bake times, and the start of the new tasks."""
    def minutes(value: Any) -> float:
        return float(value) if isinstance(value, int | float | str) and str(value).replace(".", "", 1).isdigit() else 0.0

    total = minutes(deployment.get("bakeTimeInMinutes"))
    if deployment.get("strategy") == "CANARY":
        total += minutes((deployment.get("canaryConfiguration") or {}).get("canaryBakeTimeInMinutes"))
    elif deployment.get("strategy") == "LINEAR":
        linear = deployment.get("linearConfiguration") or {}
        step = minutes(linear.get("stepPercent")) or 10.0
        total += (math.ceil(100 / step) - 1) * minutes(linear.get("stepBakeTimeInMinutes"))
    return total + PROVISION_MINUTES


def _progressive_lines(region: str, services: list[Registration], tasks: dict[Any, Registration],
                       assume: Assumptions, factor: float, graph: Graph) -> list[Line]:
    """Each release of a blue/green, canary or linear service runs a second set of tasks for its
    bake times; the smoke test is a Lambda call; the second target groups cost nothing of their own."""
    lines: list[Line] = []
    releases = assume.pipeline_runs
    hooked = 0
    for svc in sorted(services, key=lambda s: str(s.inputs.get("name"))):
        deployment = svc.inputs.get("deploymentConfiguration")
        if not isinstance(deployment, dict) or deployment.get("strategy") in (None, "ROLLING"):
            continue
        task = tasks.get(_family_of(svc.inputs.get("taskDefinition")))
        if task is None:
            continue
        hooked += len(deployment.get("lifecycleHooks") or [])
        minutes = release_minutes(deployment)
        count = float(svc.inputs.get("desiredCount") or 0)
        lines += _fargate_lines(
            region, f"{svc.inputs.get('name')} releases, old and new tasks side by side", task, count,
            releases * minutes / 60, 0.0, assume, factor,
            note=f"{str(deployment.get('strategy')).lower()}: {releases} releases × {_num(minutes)} min (--pipeline-runs)",
        )  # fmt: skip
    alternates = [tg for tg in _by_region(graph, "aws:lb/targetGroup:TargetGroup").get(region, [])
                  if "-alt-" in str(tg.inputs.get("name") or "")]
    if alternates:
        lines.append(Line(region, f"second target groups of progressive services ({len(alternates)}): no charge of their own",
                          len(alternates), "target group", 0.0))
    if hooked:
        calls = releases * hooked
        lines.append(Line(region, f"smoke-test calls ({releases} releases × {hooked} services, one call each, assumed)",
                          calls, "request", prices.LAMBDA_REQUEST * factor))
        lines.append(Line(region, f"smoke-test duration ({calls} calls × {_num(SMOKE_TEST_SECONDS)} s × 0.125 GB, assumed)",
                          calls * SMOKE_TEST_SECONDS * 0.125, "GB-s", prices.LAMBDA_GB_SECOND * factor))
    return lines


# A service's compute component (type ``devops-platform:compute:LambdaService``).
LAMBDA_SERVICE = "devops-platform:compute:LambdaService"


def lambda_services(graph: Graph, region: str) -> list[tuple[str, Registration]]:
    """(service name, function) of the region's services on Lambda, staging copies included."""
    components = {r.urn: r.name.removeprefix(f"{region}-") for r in graph.resources
                  if r.type == LAMBDA_SERVICE and r.name.startswith(f"{region}-")}  # fmt: skip
    return sorted(
        (components[fn.parent], fn) for fn in _by_region(graph, "aws:lambda/function:Function").get(region, []) if fn.parent in components
    )


def lambda_request_cost(memory_mb: float, arch: str, assume: Assumptions, factor: float = 1.0) -> float:
    """One request on Lambda: the request charge and its GB-seconds at the assumed duration."""
    gb_seconds = memory_mb / 1024 * assume.lambda_duration_ms / 1000
    return (prices.LAMBDA_REQUEST + gb_seconds * prices.LAMBDA_GB_SECOND_BY_ARCH.get(arch, prices.LAMBDA_GB_SECOND)) * factor


def _architecture(fn: Registration) -> str:
    archs = fn.inputs.get("architectures") or ["X86_64"]
    return str(archs[0]).upper() if isinstance(archs, list) and archs else "X86_64"


def _lambda_service_lines(region: str, graph: Graph, assume: Assumptions, factor: float) -> list[Line]:
    """Each service on Lambda: its requests and GB-seconds at the assumptions; staging copies take
    a few review requests (priced at 0)."""
    lines: list[Line] = []
    for name, fn in lambda_services(graph, region):
        if name.endswith("-staging"):
            continue
        memory = float(fn.inputs.get("memorySize") or 128)
        arch = _architecture(fn)
        n = assume.lambda_requests
        gb_s = n * assume.lambda_duration_ms / 1000 * memory / 1024
        lines += [
            Line(region, f"Lambda requests · {name} ({n:,} requests, assumed)", n, "request", prices.LAMBDA_REQUEST * factor),
            Line(region, f"Lambda duration · {name} ({n:,} × {_num(assume.lambda_duration_ms)} ms × {_num(memory / 1024)} GB, "
                         f"{'x86' if arch == 'X86_64' else 'ARM64'})", gb_s, "GB-s",
                 prices.LAMBDA_GB_SECOND_BY_ARCH.get(arch, prices.LAMBDA_GB_SECOND) * factor),
        ]  # fmt: skip
    return lines


# The smallest Fargate task for a memory size (MiB): 0.25 vCPU up to 2 GB, then 0.5 vCPU up to 4 GB ...
_FARGATE_FOR_MEMORY = ((2048, 256), (4096, 512), (8192, 1024), (16384, 2048), (30720, 4096))
# What a service on Lambda would run on Fargate: the platform's default minimum, one task per AZ.
BREAK_EVEN_TASKS = 2


def _fargate_size_for(memory_mb: float) -> tuple[float, float]:
    """(vCPU, GB) of the smallest Fargate task with at least ``memory_mb`` (at least 0.5 GB)."""
    for limit, cpu in _FARGATE_FOR_MEMORY:
        if memory_mb <= limit:
            return cpu / 1024, max(512, memory_mb) / 1024
    return 4.0, memory_mb / 1024


def break_even(graph: Graph, assume: Assumptions) -> list[dict[str, Any]]:
    """The Lambda-or-Fargate comparison per service, in the primary (first) region's prices: what the service
    costs on Fargate per month and on Lambda per million requests, and the monthly requests at
    which the two cost the same. Above them Fargate's always-on tasks are cheaper; below, Lambda."""
    regions = _regions(graph)
    if not regions:
        return []
    region = regions[0]
    factor = prices.region_factor(region)
    rows: list[dict[str, Any]] = []

    def fargate_month(vcpu: float, gb: float, tasks: float, arch: str) -> float:
        return tasks * HOURS * (vcpu * prices.FARGATE_VCPU_HOUR[arch] + gb * prices.FARGATE_GB_HOUR[arch]) * factor

    for name, fn in lambda_services(graph, region):
        if name.endswith("-staging"):
            continue
        memory, arch = float(fn.inputs.get("memorySize") or 128), _architecture(fn)
        vcpu, gb = _fargate_size_for(memory)
        per_request = lambda_request_cost(memory, arch, assume, factor)
        monthly = fargate_month(vcpu, gb, BREAK_EVEN_TASKS, arch if arch in prices.FARGATE_VCPU_HOUR else "X86_64")
        rows.append({"service": name, "compute": "lambda", "lambda_memory_mb": memory, "fargate_tasks": BREAK_EVEN_TASKS,
                     "fargate_vcpu": vcpu, "fargate_gb": gb, "fargate_monthly": round(monthly, 6),
                     "lambda_per_million": round(per_request * 1e6, 6), "break_even_requests": int(monthly / per_request),
                     "lambda_monthly_at_assumed": round(per_request * assume.lambda_requests, 6)})  # fmt: skip
    tasks = {t.inputs.get("family"): t for t in _by_region(graph, "aws:ecs/taskDefinition:TaskDefinition").get(region, [])}
    for svc in sorted(_by_region(graph, "aws:ecs/service:Service").get(region, []), key=lambda s: str(s.inputs.get("name"))):
        name = str(svc.inputs.get("name"))
        task = tasks.get(_family_of(svc.inputs.get("taskDefinition")))
        if task is None or name.endswith("-staging"):
            continue
        vcpu, gb, arch = _task_size(task)
        count = float(svc.inputs.get("desiredCount") or 0)
        monthly = fargate_month(vcpu, gb, count, arch)
        per_request = lambda_request_cost(gb * 1024, arch, assume, factor)
        rows.append({"service": name, "compute": "fargate", "lambda_memory_mb": gb * 1024, "fargate_tasks": count,
                     "fargate_vcpu": vcpu, "fargate_gb": gb, "fargate_monthly": round(monthly, 6),
                     "lambda_per_million": round(per_request * 1e6, 6), "break_even_requests": int(monthly / per_request),
                     "lambda_monthly_at_assumed": round(per_request * assume.lambda_requests, 6)})  # fmt: skip
    return rows


def _health_check_endpoint(graph: Graph, check: Registration) -> str:
    """"aws" when the checked name is an alias of an AWS resource (the ALB) in the graph, else "non-aws"."""
    fqdn = str(check.inputs.get("fqdn") or "").rstrip(".")
    if check.inputs.get("ipAddress") and not fqdn:
        return "non-aws"
    for record in graph.of_type("aws:route53/record:Record"):
        if str(record.inputs.get("name") or "").rstrip(".") != fqdn:
            continue
        for alias in record.inputs.get("aliases") or []:
            if isinstance(alias, dict) and "amazonaws.com" in str(alias.get("name") or ""):
                return "aws"
    return "non-aws"


def service_target_groups(graph: Graph, region: str) -> list[Registration]:
    """The services behind the region's shared ALB: its ECS (ip) target groups and those of its
    services on Lambda, less staging copies and the second groups of progressive deployments."""
    on_lambda = {fn.parent for name, fn in lambda_services(graph, region) if not name.endswith("-staging")}
    return [
        tg
        for tg in _by_region(graph, "aws:lb/targetGroup:TargetGroup").get(region, [])
        if (tg.inputs.get("targetType") == "ip" or tg.parent in on_lambda)
        and not any(tag in str(tg.inputs.get("name") or "") for tag in ("-stg-", "-alt-"))
    ]


def alb_monthly(region: str, assume: Assumptions) -> float:
    """One ALB's month in a region: hours plus the LCU assumption."""
    return HOURS * (prices.ALB_HOUR + assume.alb_lcu * prices.ALB_LCU_HOUR) * prices.region_factor(region)


def estimate(graph: Graph, assume: Assumptions | None = None) -> Estimate:
    assume = assume or Assumptions()
    lines: list[Line] = []
    notes: list[str] = []
    dashboards_free_left = prices.CLOUDWATCH_FREE_DASHBOARDS

    for region in _regions(graph):
        f = prices.region_factor(region)
        of = {t: _by_region(graph, t).get(region, []) for t in (
            "aws:ec2/natGateway:NatGateway", "aws:ec2/eip:Eip", "aws:lb/loadBalancer:LoadBalancer",
            "aws:ecs/service:Service", "aws:ecs/taskDefinition:TaskDefinition",
            "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/dashboard:Dashboard",
            "aws:appautoscaling/policy:Policy", "aws:kms/key:Key", "aws:route53/healthCheck:HealthCheck",
            "aws:codepipeline/pipeline:Pipeline", "aws:codebuild/project:Project", "aws:ec2/vpcEndpoint:VpcEndpoint",
            "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig", "aws:lambda/function:Function",
            "aws:cloudwatch/compositeAlarm:CompositeAlarm", "aws:wafv2/webAcl:WebAcl",
        )}
        add = lines.append

        # Network.
        nats = of["aws:ec2/natGateway:NatGateway"]
        if nats:
            add(Line(region, f"NAT gateway hours ({len(nats)} NAT)", len(nats) * HOURS, "NAT-h", prices.NAT_GATEWAY_HOUR * f))
            add(Line(region, f"NAT data processed ({len(nats)} × {_num(assume.nat_gb)} GB, assumed)",
                     len(nats) * assume.nat_gb, "GB", prices.NAT_GATEWAY_GB * f))
        eips = of["aws:ec2/eip:Eip"]
        if eips:
            add(Line(region, f"public IPv4 addresses (Elastic IPs, {len(eips)})", len(eips) * HOURS, "IP-h",
                     prices.PUBLIC_IPV4_HOUR * f))
        interface = [e for e in of["aws:ec2/vpcEndpoint:VpcEndpoint"] if e.inputs.get("vpcEndpointType") == "Interface"]
        if interface:
            az_hours = sum(max(1, len(e.inputs.get("subnetIds") or [])) for e in interface) * HOURS
            add(Line(region, f"interface VPC endpoints ({len(interface)}, per AZ)", az_hours, "endpoint-AZ-h",
                     prices.INTERFACE_ENDPOINT_AZ_HOUR * f))
            add(Line(region, f"interface endpoint data ({len(interface)} × {_num(assume.endpoint_gb)} GB, assumed)",
                     len(interface) * assume.endpoint_gb, "GB", prices.INTERFACE_ENDPOINT_GB * f))

        # Traffic.
        albs = [lb for lb in of["aws:lb/loadBalancer:LoadBalancer"]
                if (lb.inputs.get("loadBalancerType") or "application") == "application"]
        if albs:
            add(Line(region, f"ALB hours ({len(albs)} ALB)", len(albs) * HOURS, "ALB-h", prices.ALB_HOUR * f))
            add(Line(region, f"ALB LCUs ({len(albs)} × {_num(assume.alb_lcu)} LCU/h, assumed)",
                     len(albs) * assume.alb_lcu * HOURS, "LCU-h", prices.ALB_LCU_HOUR * f))

        # The web ACLs: a monthly fee each, one per rule (a managed group is one), and the requests.
        for acl in of["aws:wafv2/webAcl:WebAcl"]:
            rules = len(acl.inputs.get("rules") or [])
            add(Line(region, f"WAF web ACL {acl.inputs.get('name')}", 1, "web ACL-month", prices.WAF_WEB_ACL_MONTH * f))
            add(Line(region, f"WAF rules ({rules}: managed rule groups and the rate limit)", rules, "rule-month",
                     prices.WAF_RULE_MONTH * f))
            add(Line(region, f"WAF requests ({_num(assume.waf_million_requests)} million, assumed)", assume.waf_million_requests,
                     "million requests", prices.WAF_MILLION_REQUESTS * f))

        # Compute: services at their desired count, then task definitions no service runs.
        tasks = {t.inputs.get("family"): t for t in of["aws:ecs/taskDefinition:TaskDefinition"]}
        served: set[str] = set()
        for svc in sorted(of["aws:ecs/service:Service"], key=lambda s: str(s.inputs.get("name"))):
            family = _family_of(svc.inputs.get("taskDefinition"))
            task = tasks.get(family)
            if task is None:
                notes.append(f"{region}: ECS service {svc.inputs.get('name')} has no task definition in the graph; not priced")
                continue
            served.add(str(family))
            count = float(svc.inputs.get("desiredCount") or 0)
            spot = _spot_share(svc.inputs.get("capacityProviderStrategies"))
            lines += _fargate_lines(region, str(svc.inputs.get("name")), task, count, HOURS, spot, assume, f)
        for family, task in sorted(tasks.items(), key=lambda kv: str(kv[0])):
            if family in served:
                continue
            label = task.name.removeprefix(f"{region}-").removesuffix("-task")
            lines += _fargate_lines(region, f"{label} on demand", task, 1, assume.on_demand_hours, 0.0, assume, f,
                                    note="no ECS service: priced at --on-demand-hours")
        lines += _progressive_lines(region, of["aws:ecs/service:Service"], tasks, assume, f, graph)
        if any(family not in served for family in tasks) and not any("(on-demand services," in n for n in notes):
            notes.append("task definitions no ECS service runs (on-demand services, started by the task launcher) "
                         f"are priced at {_num(assume.on_demand_hours)} task-hours/month each (--on-demand-hours)")

        # Services on Lambda: their requests and GB-seconds at the assumptions.
        lines += _lambda_service_lines(region, graph, assume, f)

        # Lambda warm capacity: billed whether invoked or not.
        memory = {str(fn.inputs.get("name")): float(fn.inputs.get("memorySize") or 128)
                  for fn in of["aws:lambda/function:Function"]}
        for pc in of["aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"]:
            name = str(pc.inputs.get("functionName"))
            gb = memory.get(name, 128.0) / 1024
            n = float(pc.inputs.get("provisionedConcurrentExecutions") or 0)
            add(Line(region, f"Lambda provisioned concurrency · {name} ({_num(n)} × {_num(gb)} GB)",
                     n * gb * HOURS * 3600, "GB-s", prices.LAMBDA_PROVISIONED_GB_SECOND * f))

        # Observability.
        alarms = of["aws:cloudwatch/metricAlarm:MetricAlarm"]
        if alarms:
            add(Line(region, f"CloudWatch alarms ({len(alarms)}, standard resolution)", len(alarms), "alarm-month",
                     prices.CLOUDWATCH_ALARM_MONTH * f))
        composites = of["aws:cloudwatch/compositeAlarm:CompositeAlarm"]
        if composites:
            add(Line(region, f"CloudWatch composite alarms ({len(composites)}: the production gate)", len(composites),
                     "alarm-month", prices.CLOUDWATCH_COMPOSITE_ALARM_MONTH * f))
        tracking = [p for p in of["aws:appautoscaling/policy:Policy"] if p.inputs.get("policyType") == "TargetTrackingScaling"]
        if tracking:
            add(Line(region, f"CloudWatch target-tracking alarms (2 per policy × {len(tracking)} policies)",
                     2 * len(tracking), "alarm-month", prices.CLOUDWATCH_ALARM_MONTH * f))
        dashboards = of["aws:cloudwatch/dashboard:Dashboard"]
        if dashboards:
            free = min(dashboards_free_left, len(dashboards))
            dashboards_free_left -= free
            add(Line(region, f"CloudWatch dashboards ({len(dashboards)}, {free} in the account's free 3)",
                     len(dashboards) - free, "dashboard-month", prices.CLOUDWATCH_DASHBOARD_MONTH))

        # Security.
        keys = of["aws:kms/key:Key"]
        if keys:
            add(Line(region, f"KMS customer-managed keys ({len(keys)})", len(keys), "key-month", prices.KMS_KEY_MONTH * f))

        # DNS failover (a global service: no region factor). The hosted zone exists already.
        for check in of["aws:route53/healthCheck:HealthCheck"]:
            endpoint = _health_check_endpoint(graph, check)
            kind = str(check.inputs.get("type") or "HTTP")
            options = []
            if kind.startswith("HTTPS"):
                options.append("HTTPS")
            if int(check.inputs.get("requestInterval") or 30) <= 10:
                options.append("fast interval")
            if kind.endswith("STR_MATCH"):
                options.append("string matching")
            if check.inputs.get("measureLatency"):
                options.append("latency")
            add(Line(region, f"Route 53 health check ({endpoint} endpoint)", 1, "check-month",
                     prices.ROUTE53_HEALTH_CHECK_MONTH[endpoint]))
            for option in options:
                add(Line(region, f"Route 53 health check option: {option}", 1, "check-month",
                         prices.ROUTE53_HEALTH_CHECK_OPTION_MONTH[endpoint]))

        # Delivery.
        for pipeline in of["aws:codepipeline/pipeline:Pipeline"]:
            name = pipeline.inputs.get("name")
            if (pipeline.inputs.get("pipelineType") or "V1") == "V2":
                add(Line(region, f"CodePipeline V2 {name} ({assume.pipeline_runs} runs × "
                         f"{_num(assume.pipeline_minutes)} action-min, assumed)",
                         assume.pipeline_runs * assume.pipeline_minutes, "action-min", prices.CODEPIPELINE_V2_ACTION_MINUTE * f))
            else:
                add(Line(region, f"CodePipeline V1 {name}", 1, "pipeline-month", prices.CODEPIPELINE_V1_PIPELINE_MONTH * f))
        for project in of["aws:codebuild/project:Project"]:
            env = project.inputs.get("environment") or {}
            compute = str(env.get("computeType") if isinstance(env, dict) else "") or "BUILD_GENERAL1_SMALL"
            price = prices.CODEBUILD_MINUTE.get(compute)
            if price is None:
                notes.append(f"{region}: CodeBuild compute type {compute} has no price in ops/prices.py; priced at 0")
            add(Line(region, f"CodeBuild {project.inputs.get('name')} ({compute}, {assume.builds_per_project} builds × "
                     f"{_num(assume.build_minutes)} min, assumed)",
                     assume.builds_per_project * assume.build_minutes, "build-min", (price or 0.0) * f))

        # Usage-based: listed so nothing looks forgotten, zero at idle (services on Lambda are priced above).
        priced = {fn.urn for _, fn in lambda_services(graph, region)}
        counts = Counter(r.type for r in graph.custom() if r.region == region and r.type in USAGE_BASED and r.urn not in priced)
        for type_, label in USAGE_BASED.items():
            if counts[type_]:
                add(Line(region, f"{label}: usage-based, near zero at idle", counts[type_],
                         "resource", 0.0, note="usage-based"))

    notes.append("not priced: data transfer out, the existing Route 53 hosted zone and its queries, free tiers "
                 "other than the 3 free dashboards (e.g. 10 free alarms, 100 free pipeline minutes)")
    return Estimate(stack=graph.stack, assumptions=assume, lines=lines, notes=notes)


def one_alb_per_service(graph: Graph, est: Estimate) -> dict[str, Any]:
    """The other layout: one ALB per service behind the shared ALB, everything else the same."""
    regions = {}
    extra_total = 0.0
    for region in est.regions():
        services = len(service_target_groups(graph, region))
        albs = len([lb for lb in _by_region(graph, "aws:lb/loadBalancer:LoadBalancer").get(region, [])
                    if (lb.inputs.get("loadBalancerType") or "application") == "application"])
        extra_albs = max(0, services - albs) if albs else 0
        extra = extra_albs * alb_monthly(region, est.assumptions)
        extra_total += extra
        regions[region] = {
            "services": services,
            "extra_albs": extra_albs,
            "alb_monthly": round(alb_monthly(region, est.assumptions), 6),
            "extra_monthly": round(extra, 6),
            "shared_monthly": round(est.subtotal(region), 6),
            "per_service_monthly": round(est.subtotal(region) + extra, 6),
        }
    return {
        "regions": regions,
        "shared_total": round(est.total, 6),
        "per_service_total": round(est.total + extra_total, 6),
        "saving": round(extra_total, 6),
    }


# --- output ---------------------------------------------------------------------------------------


def _money(value: float) -> str:
    return f"${value:,.2f}"


def _price(value: float) -> str:
    text = f"{value:.5f}" if value >= 0.01 else f"{value:.10f}"
    return "$" + (text.rstrip("0").rstrip(".") if "." in text else text)


def render(est: Estimate, comparison: dict[str, Any], graph: Graph) -> str:
    out = [
        f"{graph.project} · stack {est.stack} · monthly cost estimate ({HOURS} h), offline synth under mocks",
        f"{prices.STATEMENT}.",
        "",
        "assumptions (override with the flags):",
        *[f"  - {a}" for a in est.assumptions.describe()],
        "",
    ]
    for region in est.regions():
        rows = est.region_lines(region)
        width = max(len(r.item) for r in rows)
        out.append(f"{region} (price factor {_num(prices.region_factor(region))}):")
        out.append(f"  {'line item':<{width}}  {'quantity':>14}  {'unit price':>22}  {'monthly':>11}")
        for r in rows:
            qty = f"{r.quantity:,.2f}".rstrip("0").rstrip(".")
            unit = "usage-based" if r.note == "usage-based" else f"{_price(r.unit_price)}/{r.unit}"
            out.append(f"  {r.item:<{width}}  {qty:>14}  {unit:>22}  {_money(r.monthly):>11}")
        out.append(f"  {'subtotal ' + region:<{width}}  {'':>14}  {'':>22}  {_money(est.subtotal(region)):>11}")
        out.append("")
    out.append(f"total per month: {_money(est.total)}")
    out.append("")
    out.append("one ALB per service, against the shared ALB:")
    for region, row in comparison["regions"].items():
        out.append(f"  {region}: {row['services']} services behind the shared ALB → {row['extra_albs']} more ALBs × "
                   f"{_money(row['alb_monthly'])} = {_money(row['extra_monthly'])}/month")
    out.append(f"  shared ALB (this stack):  {_money(comparison['shared_total'])}/month")
    out.append(f"  one ALB per service:      {_money(comparison['per_service_total'])}/month")
    out.append(f"  saving of the shared ALB: {_money(comparison['saving'])}/month")
    rows = break_even(graph, est.assumptions)
    if rows:
        a = est.assumptions
        out += ["", f"Lambda or Fargate, per service (break-even; {est.regions()[0]} prices, "
                    f"{_num(a.lambda_duration_ms)} ms per request):"]  # fmt: skip
        width = max(len(r["service"]) for r in rows)
        for r in rows:
            fargate = f"{_num(r['fargate_tasks'])} × {_num(r['fargate_vcpu'])} vCPU / {_num(r['fargate_gb'])} GB on Fargate {_money(r['fargate_monthly'])}/month"
            lam = f"Lambda at {_num(r['lambda_memory_mb'])} MB {_money(r['lambda_per_million'])} per million requests"
            cheaper = "Fargate is cheaper above" if r["compute"] == "lambda" else "Lambda is cheaper below"
            out.append(f"  {r['service']:<{width}}  on {r['compute']:<7}  {fargate}; {lam}: {cheaper} "
                       f"{r['break_even_requests']:,} requests/month")  # fmt: skip
    if est.notes:
        out += ["", "notes:"] + [f"  - {n}" for n in est.notes]
    return "\n".join(out)


def to_json(est: Estimate, comparison: dict[str, Any]) -> dict[str, Any]:
    return {
        "stack": est.stack,
        "hours_per_month": HOURS,
        "prices": {"as_of": prices.AS_OF, "source": prices.SOURCE, "statement": prices.STATEMENT},
        "assumptions": dataclasses.asdict(est.assumptions) | {"builds_per_project": est.assumptions.builds_per_project},
        "regions": {
            region: {
                "factor": prices.region_factor(region),
                "lines": [line.to_json() for line in est.region_lines(region)],
                "subtotal": round(est.subtotal(region), 6),
            }
            for region in est.regions()
        },
        "total": round(est.total, 6),
        "one_alb_per_service": comparison,
        "notes": est.notes,
    }


def to_json_with(est: Estimate, comparison: dict[str, Any], graph: Graph) -> dict[str, Any]:
    """:func:`to_json` and, for each service, its break-even between Lambda and Fargate."""
    return {**to_json(est, comparison), "break_even": break_even(graph, est.assumptions)}


# --- command line ---------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    d = Assumptions()
    p = argparse.ArgumentParser(
        prog="python -m ops cost",
        description="Synthesize the stack offline (as `python -m ops synth` does) and price its resources per "
        f"region and in total per month ({HOURS} h). {prices.STATEMENT}.",
    )
    add_stack_argument(p)
    p.add_argument("--json", metavar="PATH", type=Path, help="also write the estimate as JSON")
    p.add_argument("--nat-gb", type=float, default=d.nat_gb, help=f"GB/month processed per NAT gateway (default {d.nat_gb:g})")
    p.add_argument("--alb-lcu", type=float, default=d.alb_lcu, help=f"LCUs per hour per ALB (default {d.alb_lcu:g})")
    p.add_argument("--pipeline-runs", type=int, default=d.pipeline_runs,
                   help=f"runs/month per pipeline (default {d.pipeline_runs})")
    p.add_argument("--pipeline-minutes", type=float, default=d.pipeline_minutes,
                   help=f"action execution minutes per pipeline run (default {d.pipeline_minutes:g})")
    p.add_argument("--builds", type=int, default=None, help="builds/month per CodeBuild project (default: --pipeline-runs)")
    p.add_argument("--build-minutes", type=float, default=d.build_minutes,
                   help=f"minutes per build (default {d.build_minutes:g})")
    p.add_argument("--on-demand-hours", type=float, default=d.on_demand_hours,
                   help=f"task-hours/month per on-demand service, one task (default {d.on_demand_hours:g})")
    p.add_argument("--endpoint-gb", type=float, default=d.endpoint_gb,
                   help=f"GB/month per interface VPC endpoint (default {d.endpoint_gb:g})")
    p.add_argument("--spot-discount", type=float, default=d.spot_discount,
                   help=f"Fargate Spot's discount on on-demand, 0-1 (default {d.spot_discount:g})")
    p.add_argument("--waf-million-requests", type=float, default=d.waf_million_requests,
                   help=f"million requests/month each WAF web ACL inspects (default {d.waf_million_requests:g})")
    p.add_argument("--lambda-requests", type=int, default=d.lambda_requests,
                   help=f"requests/month per service on Lambda, per region (default {d.lambda_requests:,})")
    p.add_argument("--lambda-duration-ms", type=float, default=d.lambda_duration_ms,
                   help=f"average duration of one request on Lambda, ms (default {d.lambda_duration_ms:g}); also the "
                   "break-even's")
    show_stack_as_required(p)
    return p


def assumptions_from(args: argparse.Namespace) -> Assumptions:
    return Assumptions(
        nat_gb=args.nat_gb,
        alb_lcu=args.alb_lcu,
        pipeline_runs=args.pipeline_runs,
        pipeline_minutes=args.pipeline_minutes,
        builds=args.builds,
        build_minutes=args.build_minutes,
        on_demand_hours=args.on_demand_hours,
        endpoint_gb=args.endpoint_gb,
        spot_discount=args.spot_discount,
        lambda_requests=args.lambda_requests,
        lambda_duration_ms=args.lambda_duration_ms,
        waf_million_requests=args.waf_million_requests,
    )


def main(argv: list[str], *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    args = parser().parse_args(argv)
    try:
        stack = stack_of(args, "cost")
    except UsageError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_CONFIG
    bad = [name for name in ("nat_gb", "alb_lcu", "pipeline_runs", "pipeline_minutes", "build_minutes",
                             "on_demand_hours", "endpoint_gb", "lambda_requests", "lambda_duration_ms",
                             "waf_million_requests")
           if getattr(args, name) < 0]  # fmt: skip
    if args.builds is not None and args.builds < 0:
        bad.append("builds")
    if bad or not 0 <= args.spot_discount <= 1:
        print("error: assumptions must be >= 0 (and --spot-discount within 0-1): "
              + ", ".join("--" + b.replace("_", "-") for b in bad or ["spot_discount"]), file=err)
        return EXIT_CONFIG
    result = synthesize(stack, err)
    if isinstance(result, int):
        return result
    _, graph = result
    est = estimate(graph, assumptions_from(args))
    comparison = one_alb_per_service(graph, est)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(to_json_with(est, comparison, graph), indent=2) + "\n")
    print(render(est, comparison, graph), file=out)
    if args.json is not None:
        print(f"\nestimate written to {args.json}", file=out)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
