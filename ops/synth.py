"""``python -m ops synth <stack>``: the real program, offline, under mocks.

Exit status: 0 synthesized; 2 the stack config or stack file is invalid, or the program refused
it with a ``pulumi.RunError`` (one line per problem, no traceback); 1 the program itself failed
(a bug: the traceback is shown).
"""

from __future__ import annotations

import hashlib
import json
import sys
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import pulumi

from stack_config import ConfigError
from stack_config.load import esc_environments, unseen_keys, validate
from stack_config.model import StackConfig

from . import stackfiles
from .harness import Graph, Registration, cause_of_type, run_program

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_POLICY = 0, 1, 2, 4


# The alarm types the synth counts; Application Auto Scaling's target-tracking policies add alarms
# of their own in AWS, which no program declares.
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
NO_REGION = "(no region)"
# How many AWS services the one-line count of a region names before "N in M more services".
SERVICES_SHOWN = 6


@dataclass(frozen=True)
class AlarmCounts:
    """A region's declared alarms: metric alarms by what they watch, and composite alarms."""

    on_services: int = 0
    platform: int = 0
    on_health_checks: int = 0
    composite: int = 0
    composite_gates: int = 0  # of the composites, those the pipeline's production stage waits on
    target_tracking_policies: int = 0  # AWS creates these policies' alarms; not declared, not counted

    @property
    def metric(self) -> int:
        return self.on_services + self.platform + self.on_health_checks

    @property
    def total(self) -> int:
        return self.metric + self.composite


@dataclass(frozen=True)
class RegionCounts:
    """One region's custom resources by type, and its alarms (a subset of those types)."""

    types: Counter[str]
    alarms: AlarmCounts

    @property
    def total(self) -> int:
        return sum(self.types.values())


@dataclass(frozen=True)
class Counts:
    """Every number the synth prints, counted once from the graph.

    ``regions``: custom resources (providers included) per region; ``components``: component
    resources by type; the graph also holds the stack itself, so ``len(graph.resources) ==
    resources + sum(components) + 1``."""

    regions: dict[str, RegionCounts]
    components: Counter[str]

    @property
    def resources(self) -> int:
        return sum(r.total for r in self.regions.values())

    @property
    def region_names(self) -> list[str]:
        return [r for r in self.regions if r != NO_REGION]


def count(graph: Graph) -> Counts:
    """The synth's counts. An alarm on a Route 53 health check's metric (HealthCheckId dimension)
    counts as on a health check; one declared inside a service's component (``compute``) as on a
    service; every other metric alarm (ALB, queues, functions, replication) as the platform's."""
    by_urn = graph.by_urn()
    roles = _regions(graph)

    def in_compute(r: Registration) -> bool:
        parent = r.parent
        while parent is not None and parent in by_urn:
            owner = by_urn[parent]
            if ":compute:" in owner.type:
                return True
            parent = owner.parent
        return False

    types: dict[str, Counter[str]] = {}
    alarms: dict[str, Counter[str]] = {}
    for r in graph.custom():
        region = r.region or NO_REGION
        types.setdefault(region, Counter())[r.type] += 1
        kinds = alarms.setdefault(region, Counter())
        if r.type == METRIC_ALARM:
            if "HealthCheckId" in (r.inputs.get("dimensions") or {}):
                kinds["on_health_checks"] += 1
            elif in_compute(r):
                kinds["on_services"] += 1
            else:
                kinds["platform"] += 1
        elif r.type == COMPOSITE_ALARM:
            kinds["composite"] += 1
            gate = ((roles.get(region) or {}).get("monitoring") or {}).get("production_alarm_name")
            if gate and r.inputs.get("alarmName") == gate:
                kinds["composite_gates"] += 1
        elif r.type == SCALING_POLICY and r.inputs.get("policyType") == "TargetTrackingScaling":
            kinds["target_tracking_policies"] += 1
    regions = {region: RegionCounts(types[region], AlarmCounts(**alarms[region])) for region in sorted(types)}
    components = Counter(r.type for r in graph.resources if not r.custom and r.type != "pulumi:pulumi:Stack")
    return Counts(regions, components)


def _regions(graph: Graph) -> dict[str, dict]:
    """The stack output ``regions``: each region's exports, or {} when absent."""
    regions = graph.outputs.get("regions")
    return {k: v for k, v in regions.items() if isinstance(v, dict)} if isinstance(regions, dict) else {}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _service_of(type_: str) -> str:
    """The AWS service a type token belongs to, as its module names it: ``aws:ec2/vpc:Vpc`` → ec2."""
    return type_.split(":")[1].split("/")[0] if type_.count(":") >= 2 else type_


def _one_line(counts: RegionCounts) -> str:
    """``87 cloudwatch, 64 iam, ..., 98 in 15 more services``: the region's resources by AWS service."""
    services: Counter[str] = Counter()
    for type_, n in counts.types.items():
        services[_service_of(type_)] += n
    ranked = sorted(services.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = [f"{n} {s}" for s, n in ranked[:SERVICES_SHOWN]]
    rest = ranked[SERVICES_SHOWN:]
    if rest:
        shown.append(f"{sum(n for _, n in rest)} in {_plural(len(rest), 'more service')}")
    return ", ".join(shown)


def summary(
    graph: Graph,
    source: Path,
    *,
    counts: Counts | None = None,
    resources: bool = False,
    outputs: bool = False,
    esc: tuple[str, ...] = (),
) -> str:
    """The readable report: a header, per region its resource count on one line (``resources``:
    and every type), routes, pipeline, launcher, alarms and DNS; the components; the outputs
    (``outputs``); then every warning. The status line is :func:`status_line`'s."""
    counts = counts or count(graph)
    mode = "preview (computed values unknown)" if graph.preview else "update"
    images = "every service's image published" if graph.published else "no image published yet"
    lines = [
        f"{graph.project} · stack {graph.stack} · offline synth, {mode}, {images}, under mocks: nothing was sent to AWS",
        f"config: {source.name} is valid",
    ]
    if esc:
        lines.append(esc_note(source, esc))
    lines.append("")
    roles = _regions(graph)
    for region, rc in counts.regions.items():
        exports = roles.get(region)
        role = exports.get("role") if exports else None
        lines.append(f"{region}{f' ({role})' if role else ''}: {_plural(rc.total, 'resource')} ({_one_line(rc)})")
        if resources:
            width = max(len(str(n)) for n in rc.types.values())
            lines += [f"  {n:>{width}}  {t}" for t, n in sorted(rc.types.items())]
        lines += _route_table(exports)
        lines += _lambda_services(exports)
        lines += _pipeline(exports)
        lines += _events(exports)
        lines += _observability(exports, rc.alarms)
        lines.append("")
    lines.append(
        f"components: {sum(counts.components.values())} ("
        + ", ".join(f"{n} {t.rsplit(':', 1)[-1]}" for t, n in sorted(counts.components.items()))
        + ")"
    )
    more = [hint for flag, hint in ((resources, "--resources: every resource type per region"),
                                    (outputs, "--outputs: the stack outputs")) if not flag]  # fmt: skip
    if more:
        lines.append("more: " + "; ".join(more))
    if outputs:
        lines += ["", "outputs:", _indent(json.dumps(graph.outputs, indent=2, sort_keys=True))]
    if graph.warnings:
        lines += ["", "warnings:"] + [f"  - {w}" for w in graph.warnings]
    return "\n".join(lines)


def status_line(graph: Graph, counts: Counts, policy: int | None) -> str:
    """The last line: ``prod: 756 resources in 2 regions, 65 components, 0 errors, 0 warnings,
    policy not run (add --policy)``. ``policy``: the number of violations, None if not run. A synth
    that reaches this line had no error (an error exits before it, on stderr)."""
    checked = "policy not run (add --policy)" if policy is None else f"policy: {_plural(policy, 'violation')}"
    return (
        f"{graph.stack}: {_plural(counts.resources, 'resource')} in {_plural(len(counts.region_names), 'region')}, "
        f"{_plural(sum(counts.components.values()), 'component')}, 0 errors, "
        f"{_plural(len(graph.warnings), 'warning')}, {checked}"
    )


def _route_table(exports: object) -> list[str]:
    """The region's ALB routes in evaluation order: priority, pattern → target."""
    if not isinstance(exports, dict) or not exports.get("routes"):
        return []
    protocol = exports.get("load_balancer_protocol", "?")
    lines = [f"  routes ({protocol} listener; anything else gets the 404 JSON default):"]
    services = exports.get("services") or {}
    for route in exports["routes"]:
        target = route["target"]
        kind, _, name = target.partition(" ")
        strategy = (services.get(name.split(":")[0]) or {}).get("deployment_strategy") if kind == "service" else None
        if strategy and strategy != "rolling":
            target += f", released {STRATEGY_WORDS.get(strategy, strategy)}"
        for pattern in route["paths"]:
            lines.append(f"    {route['priority']:>5}  {pattern:<24} → {target}")
    return lines


def _lambda_services(exports: object) -> list[str]:
    """The region's services on Lambda, and whether they wait for their first image."""
    if not isinstance(exports, dict):
        return []
    services = {n: s for n, s in (exports.get("services") or {}).items() if isinstance(s, dict) and s.get("compute") == "lambda"}
    if not services:
        return []
    pending = sorted(n for n, s in services.items() if s.get("image_pending"))
    running = sorted(n for n in services if n not in pending)
    lines = []
    if running:
        lines.append(f"  on Lambda, running their published images: {', '.join(running)}")
    if pending:
        lines.append(
            f"  on Lambda, answering 503 until their first image: {', '.join(pending)} (the pipeline's Release "
            "records it; the next pulumi up runs it: docs/lambda-compute.md)"
        )
    return lines


# How the summary names each progressive strategy.
STRATEGY_WORDS = {"blueGreen": "blue/green", "canary": "canary", "linear": "linear"}


def _pipeline(exports: object) -> list[str]:
    """The region's pipeline stages in order, and where staging answers."""
    if not isinstance(exports, dict):
        return []
    pipeline = exports.get("pipeline")
    if not isinstance(pipeline, dict):
        return ["  pipeline: none (no services, or pipeline.enabled is false)"]
    lines = [f"  pipeline {pipeline.get('pipeline_name')}: " + " → ".join(pipeline.get("pipeline_stages") or [])]
    gates = []
    if pipeline.get("production_gate_alarm_name"):
        gates.append(f"no production alarm ({pipeline['production_gate_alarm_name']})")
    window = pipeline.get("production_window")
    if isinstance(window, dict):
        gates.append(f"window {window.get('cron')} {window.get('time_zone')}")
    if gates:
        lines.append("  production starts only with " + " and ".join(gates) + "; a failed production stage rolls back")
    if exports.get("staging_url"):
        lines.append(f"  staging: {exports['staging_url']} (staging listener only)")
    if exports.get("test_origin"):
        lines.append(f"  test listener: {exports['test_origin']} (new revisions' test traffic; the NAT gateways only)")
    return lines


def _events(exports: object) -> list[str]:
    """The region's event functions: what the task launcher starts, and where replication goes."""
    if not isinstance(exports, dict):
        return []
    lines = []
    launcher = exports.get("task_launcher")
    if isinstance(launcher, dict):
        schedules = launcher.get("schedules") or {}
        lines.append(
            f"  task launcher {launcher.get('function_name')}: starts "
            + ", ".join(launcher.get("services") or [])
            + (f"; schedules: {', '.join(f'{k} {v}' for k, v in sorted(schedules.items()))}" if schedules else "")
        )
    replication = exports.get("replication")
    if isinstance(replication, dict):
        lines.append(
            f"  replication {replication.get('function_name')}: {replication.get('source_repository_name')} → "
            + ", ".join(replication.get("target_regions") or [])
        )
    return lines


def _observability(exports: object, alarms: AlarmCounts) -> list[str]:
    """The region's alarms (:func:`count`), its dashboard, and its part in the domain's routing."""
    lines = []
    monitoring = exports.get("monitoring") if isinstance(exports, dict) else None
    if alarms.total or isinstance(monitoring, dict):
        watched = [
            f"{n} {what}"
            for n, what in (
                (alarms.on_services, "on services"),
                (alarms.platform, "platform"),
                (alarms.on_health_checks, "on Route 53 health checks"),
            )
            if n
        ]
        text = f"alarms: {alarms.total} = {alarms.metric} metric" + (f" ({', '.join(watched)})" if watched else "")
        if alarms.composite:
            gate = " (the production gate)" if alarms.composite_gates == alarms.composite else ""
            text += f" + {alarms.composite} composite{gate}"
        if isinstance(monitoring, dict):
            text += f"; dashboard: {monitoring.get('dashboard_name') or 'none'}"
        lines.append("  " + text)
    if alarms.target_tracking_policies:
        n = alarms.target_tracking_policies
        lines.append(f"  autoscaling: {n} target-tracking polic{'y' if n == 1 else 'ies'}; AWS creates their alarms (not counted above)")
    dns = exports.get("dns") if isinstance(exports, dict) else None
    if isinstance(dns, dict):
        role = f" {dns.get('failover_role')}" if dns.get("failover_role") else ""
        lines.append(f"  dns: {dns.get('record_fqdn')} {dns.get('routing')}{role}, health check {dns.get('health_check_id')}")
    return lines


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


# The commit a --published-images synth pretends each image was built from.
PUBLISHED_COMMIT = hashlib.sha1(b"devops-platform published image").hexdigest()


def published_images(files: stackfiles.StackFiles) -> dict[str, str]:
    """What SSM would hold once every service's pipeline has released (:func:`published_images_of`).
    Empty when the config does not validate: the synth then reports why."""
    try:
        return published_images_of(validate(files.project_config, files.project))
    except ConfigError:
        return {}


def published_images_of(cfg: StackConfig) -> dict[str, str]:
    """``/{prefix}/images/{service}`` naming each service's image in its own region's ECR, tagged
    with a commit (``{region}``/``{account}`` are filled in by the mocks per call)."""
    prefix = f"{cfg.name}-{cfg.environment}"
    return {
        f"/{prefix}/images/{s.name}": f"{{account}}.dkr.ecr.{{region}}.amazonaws.com/{prefix}/{s.name}:{PUBLISHED_COMMIT}"
        for s in cfg.services
    }


def esc_environments_of(files: stackfiles.StackFiles) -> tuple[str, ...]:
    """The Pulumi ESC environments the stack file imports (its ``environment:``), or ()."""
    return esc_environments({"environment": files.environment})


def esc_note(source: Path, environments: tuple[str, ...]) -> str:
    return (
        f"note: {source.name} imports the Pulumi ESC environment{'s' if len(environments) != 1 else ''} "
        f"{', '.join(environments)}: their values are not resolved offline; the synth sees only the file's config"
    )


def synthesize(
    stack: str, err: TextIO, *, preview: bool = False, published: bool = False
) -> tuple[stackfiles.StackFiles, Graph] | int:
    """The stack files and the graph of ``stack`` under mocks, or the exit status (config or
    program failure) after printing why to ``err``. Shared by the synth, the cost estimate, the
    policy check and the diagram refresh. ``published``: as if every service's pipeline had
    released an image (the steady state); by default none has, as in a new account."""
    try:
        files = stackfiles.load(stack)
    except stackfiles.StackFileError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_CONFIG
    try:
        esc = esc_environments_of(files)
    except ValueError as exc:  # an environment: that is not a list of names
        print(f"error: {files.path.name}: {exc}", file=err)
        return EXIT_CONFIG
    try:
        return files, run_program(
            stack=stack,
            config=files.config,
            project=files.project,
            secret_keys=files.secret_keys,
            preview=preview,
            ssm_parameters=published_images(files) if published else None,
        )
    except ConfigError as exc:
        print(f"error: {files.path.name}: invalid stack config:", file=err)
        for line in exc.lines():
            print(f"  {exc.namespace}:{line}", file=err)
        if esc:
            unseen = unseen_keys(exc)
            print(esc_note(files.path, esc) + (f"; required keys it could not see: {', '.join(unseen)}" if unseen else ""), file=err)
        return EXIT_CONFIG
    except Exception as exc:
        clean = cause_of_type(exc, pulumi.RunError)
        if clean is not None:
            # A RunError is the program refusing the config (Pulumi prints it without a
            # traceback); the SDK wraps one raised inside an apply, so look down the chain.
            print(f"error: stack {stack!r}: {clean}", file=err)
            return EXIT_CONFIG
        print(f"error: the program failed while synthesizing stack {stack!r}:", file=err)
        traceback.print_exc(file=err)
        return EXIT_FAILED


def synth(
    stack: str,
    *,
    json_path: Path | None = None,
    diagram_path: Path | None = None,
    preview: bool = False,
    policy: bool = False,
    published: bool = False,
    resources: bool = False,
    outputs: bool = False,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Synthesize ``stack`` and print the summary, the files written, the policy's violations and,
    last, the status line. ``resources``: list every resource type per region; ``outputs``: print
    the stack outputs (also in the ``--json`` file)."""
    result = synthesize(stack, err, preview=preview, published=published)
    if isinstance(result, int):
        return result
    files, graph = result
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(graph.to_json(), indent=2, sort_keys=False) + "\n")
    if diagram_path is not None:
        from .diagram import mermaid

        diagram_path.parent.mkdir(parents=True, exist_ok=True)
        diagram_path.write_text(mermaid(graph))
    counts = count(graph)
    print(
        summary(graph, files.path, counts=counts, resources=resources, outputs=outputs, esc=esc_environments_of(files)),
        file=out,
    )
    if json_path is not None or diagram_path is not None:
        print(file=out)
    if json_path is not None:
        print(
            f"graph: {_plural(counts.resources, 'resource')}, {_plural(sum(counts.components.values()), 'component')} "
            f"and the stack written to {json_path}",
            file=out,
        )
    if diagram_path is not None:
        print(f"diagram: Mermaid flowchart written to {diagram_path}", file=out)
    violations = None
    if policy:
        violations = _policy_violations(graph, files.config.get(f"{files.project}:environment", stack), out)
    print(f"\n{status_line(graph, counts, violations)}", file=out)
    return EXIT_POLICY if violations else EXIT_OK


def _policy_violations(graph: Graph, environment: str, out: TextIO) -> int:
    """The policy pack's rules over the synthesized graph (policy/): list any violation, return how many."""
    from policy.offline import evaluate_graph

    violations = evaluate_graph(graph, environment=environment)
    if violations:
        print(f"\npolicy: {_plural(len(violations), 'violation')}:", file=out)
        for v in sorted(violations, key=lambda v: (v.rule_id, v.urn)):
            print(f"  {v.rule_id}  {v.urn.rsplit('::', 1)[-1]}: {v.message}", file=out)
    return len(violations)


def _policy(graph: Graph, environment: str, out: TextIO) -> int:
    """The policy check's exit status: 4 on any violation (listed), else 0 (and a line saying so)."""
    if _policy_violations(graph, environment, out):
        return EXIT_POLICY
    print("\npolicy: 0 violations (policy/, with its written exceptions)", file=out)
    return EXIT_OK
