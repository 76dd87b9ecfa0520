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
from pathlib import Path
from typing import TextIO

import pulumi

from stack_config import ConfigError
from stack_config.load import validate
from stack_config.model import StackConfig

from . import stackfiles
from .harness import Graph, cause_of_type, run_program

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_POLICY = 0, 1, 2, 4


def summary(graph: Graph, source: Path) -> str:
    """The readable report: resource counts by type per region, warnings, then the outputs."""
    mode = "preview (computed values unknown)" if graph.preview else "update"
    images = "every service's image published" if graph.published else "no image published yet"
    lines = [
        f"{graph.project} · stack {graph.stack} · offline synth, {mode}, {images}, under mocks: nothing was sent to AWS",
        f"config: {source.name} is valid",
        "",
    ]
    regional: dict[str, Counter[str]] = {}
    for r in graph.custom():
        regional.setdefault(r.region or "(no region)", Counter())[r.type] += 1
    roles = graph.outputs.get("regions", {}) if isinstance(graph.outputs.get("regions"), dict) else {}
    for region in sorted(regional):
        counts = regional[region]
        role = roles.get(region, {}).get("role") if isinstance(roles.get(region), dict) else None
        lines.append(f"{region}{f' ({role})' if role else ''}: {sum(counts.values())} resources")
        width = max(len(str(n)) for n in counts.values())
        lines += [f"  {n:>{width}}  {t}" for t, n in sorted(counts.items())]
        lines += _route_table(roles.get(region))
        lines += _lambda_services(roles.get(region))
        lines += _pipeline(roles.get(region))
        lines += _events(roles.get(region))
        lines += _observability(roles.get(region))
        lines.append("")
    components = Counter(r.type for r in graph.resources if not r.custom and r.type != "pulumi:pulumi:Stack")
    lines.append(
        f"components: {sum(components.values())} ("
        + ", ".join(f"{n} {t.rsplit(':', 1)[-1]}" for t, n in sorted(components.items()))
        + ")"
    )
    if graph.warnings:
        lines += ["", "warnings:"] + [f"  - {w}" for w in graph.warnings]
    lines += ["", "outputs:", _indent(json.dumps(graph.outputs, indent=2, sort_keys=True))]
    return "\n".join(lines)


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


def _observability(exports: object) -> list[str]:
    """The region's alarm count and dashboard, and its part in the domain's routing."""
    if not isinstance(exports, dict):
        return []
    lines = []
    monitoring = exports.get("monitoring")
    if isinstance(monitoring, dict):
        own = sum(len(s.get("alarm_names") or {}) for s in (exports.get("services") or {}).values())
        total = own + len(monitoring.get("alarm_names") or {})
        lines.append(f"  alarms: {total} ({own} on services); dashboard: {monitoring.get('dashboard_name') or 'none'}")
    dns = exports.get("dns")
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
    namespace = f"{files.project}:"
    values = {k.removeprefix(namespace): v for k, v in files.config.items() if k.startswith(namespace)}
    try:
        return published_images_of(validate(values, files.project))
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
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
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
    print(summary(graph, files.path), file=out)
    if json_path is not None:
        print(f"\ngraph: {len(graph.resources)} resources written to {json_path}", file=out)
    if diagram_path is not None:
        print(f"diagram: Mermaid flowchart written to {diagram_path}", file=out)
    if policy:
        return _policy(graph, files.config.get(f"{files.project}:environment", stack), out)
    return EXIT_OK


def _policy(graph: Graph, environment: str, out: TextIO) -> int:
    """The policy pack's rules over the synthesized graph (policy/): exit 4 on any violation."""
    from policy.offline import evaluate_graph

    violations = evaluate_graph(graph, environment=environment)
    if not violations:
        print("\npolicy: 0 violations (policy/, with its written exceptions)", file=out)
        return EXIT_OK
    print(f"\npolicy: {len(violations)} violation{'s' if len(violations) != 1 else ''}:", file=out)
    for v in sorted(violations, key=lambda v: (v.rule_id, v.urn)):
        print(f"  {v.rule_id}  {v.urn.rsplit('::', 1)[-1]}: {v.message}", file=out)
    return EXIT_POLICY
