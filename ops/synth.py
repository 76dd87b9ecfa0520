"""``python -m ops synth <stack>``: the real program, offline, under mocks.

Exit status: 0 synthesized; 2 the stack config or stack file is invalid, or the program refused
it with a ``pulumi.RunError`` (one line per problem, no traceback); 1 the program itself failed
(a bug: the traceback is shown).
"""

from __future__ import annotations

import json
import sys
import traceback
from collections import Counter
from pathlib import Path
from typing import TextIO

import pulumi

from stack_config import ConfigError

from . import stackfiles
from .harness import Graph, cause_of_type, run_program

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_POLICY = 0, 1, 2, 4


def summary(graph: Graph, source: Path) -> str:
    """The readable report: resource counts by type per region, warnings, then the outputs."""
    mode = "preview (computed values unknown)" if graph.preview else "update"
    lines = [
        f"{graph.project} · stack {graph.stack} · offline synth, {mode}, under mocks: nothing was sent to AWS",
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


def synthesize(stack: str, err: TextIO, *, preview: bool = False) -> tuple[stackfiles.StackFiles, Graph] | int:
    """The stack files and the graph of ``stack`` under mocks, or the exit status (config or
    program failure) after printing why to ``err``. Shared by the synth, the cost estimate, the
    policy check and the diagram refresh."""
    try:
        files = stackfiles.load(stack)
    except stackfiles.StackFileError as exc:
        print(f"error: {exc}", file=err)
        return EXIT_CONFIG
    try:
        return files, run_program(
            stack=stack, config=files.config, project=files.project, secret_keys=files.secret_keys, preview=preview
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
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    result = synthesize(stack, err, preview=preview)
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
