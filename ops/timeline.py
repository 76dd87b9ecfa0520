"""``python -m ops timeline <stack>``: how long the stack's first ``pulumi up`` should take, offline.

The stack is synthesized as ``python -m ops synth`` does it. Its custom resources form a DAG: each
waits for the URNs its registration carries (``dependencies``: the input references and
``depends_on``, which the Python SDK has already expanded, a component to its custom descendants,
as the engine receives them), for its provider, and for a custom parent. Components take no time.
A first ``pulumi up`` is then simulated: a resource starts once everything it waits for is created
and one of ``--parallel`` slots is free (first ready, first started; ties by URN), and holds its
slot for its create time (ops/create_times.py, none of them observed). That is how the engine runs
an update: each step on one of ``--parallel`` workers, in the order the program registers them,
which is once their dependencies exist (pkg/resource/deploy/step_executor.go in pulumi/pulumi).

Prints the estimate, the critical path, per-region totals, and refreshes the Gantt chart in
docs/timeline.md (and, for prod, the README's copy) when it changed.

Not modelled: the program's own run time, plugin start-up, API throttling and retries beyond what
the create times assume, and anything failing.

Exit status: 0 estimated; 2 invalid stack, stack file, config or command line; 1 the program failed.
"""

from __future__ import annotations

import argparse
import heapq
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from . import create_times
from .driver import DEFAULT_PARALLEL as DRIVER_PARALLEL
from .driver import add_stack_argument, positive_int, show_stack_as_required
from .harness import PROJECT_ROOT, Graph, Registration
from .synth import EXIT_OK, NO_REGION, synthesize

# The estimate runs at what `python -m ops up` passes (ops/driver.py, whatever the machine). The
# CLI's own default for `pulumi up` alone, at the pinned CLI (pulumi==3.272.0), is 4 × GOMAXPROCS,
# that is 4 × the machine's CPUs, unless PULUMI_PARALLEL is set: defaultParallel() in
# pkg/cmd/pulumi/operations/up.go (pulumi/pulumi). Each estimate also gives that figure on a
# 2-vCPU CI runner, the smallest common one, so the documents do not change with the machine that
# computes them.
DEFAULT_PARALLEL = DRIVER_PARALLEL
REFERENCE_CPUS = 2

DOCUMENT = PROJECT_ROOT / "docs" / "timeline.md"
README = PROJECT_ROOT / "README.md"
BEGIN, END = "<!-- timeline:{key}:begin -->", "<!-- timeline:{key}:end -->"
TABLE_KEY = "create-times"
# The README embeds prod's chart only, under this key.
README_KEY = "gantt:prod"

NAT = "aws:ec2/natGateway:NatGateway"
EIP = "aws:ec2/eip:Eip"
ROUTE = "aws:ec2/route:Route"
RECORD = "aws:route53/record:Record"

# Gantt phases, in the order a region's section lists them: each is the resources whose type token
# starts with one of its prefixes (first match wins), the waits a reader looks for. Everything
# else (IAM, log groups, security groups, target groups and rules, buckets, queues, keys, event
# rules, registries) goes to the last: one-call resources that fill the slots in between.
PHASES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "network",
        (
            "aws:ec2/vpc:", "aws:ec2/subnet:", "aws:ec2/internetGateway:", "aws:ec2/routeTable",
            "aws:ec2/route:", "aws:ec2/vpcEndpoint:",
        ),
    ),
    ("NAT gateways", (EIP, NAT)),
    ("ALB + listeners", ("aws:lb/loadBalancer:", "aws:lb/listener:")),
    ("certificate validation", ("aws:acm/",)),
    ("ECS services", ("aws:ecs/service:", "aws:appautoscaling/")),
    ("Lambda + provisioned concurrency", ("aws:lambda/function:", "aws:lambda/alias:", "aws:lambda/provisioned")),
    ("pipeline", ("aws:codebuild/", "aws:codepipeline/", "aws:codedeploy/", "aws:codecommit/")),
    (
        "monitoring + DNS",
        ("aws:cloudwatch/metricAlarm:", "aws:cloudwatch/compositeAlarm:", "aws:cloudwatch/dashboard:", "aws:route53/"),
    ),
    ("IAM, logs, rules, queues ...", ("",)),
)


@dataclass(frozen=True)
class Task:
    """One custom resource to create: its create time, and the URNs it waits for."""

    urn: str
    name: str
    type: str
    region: str
    seconds: float
    waits_for: tuple[str, ...] = ()
    phase: str = "other"


@dataclass(frozen=True)
class Step:
    """A task's place in the simulated run, in seconds from the start."""

    task: Task
    start: float
    end: float


@dataclass(frozen=True)
class PathStep:
    """A step of the critical path; ``slot_wait``: how long it waited for a free slot after
    everything it waits for was created."""

    step: Step
    slot_wait: float = 0.0


@dataclass
class Schedule:
    """A simulated first ``pulumi up``."""

    steps: dict[str, Step]
    parallel: int
    order: list[str] = field(default_factory=list)

    @property
    def wall(self) -> float:
        return max((s.end for s in self.steps.values()), default=0.0)

    def critical_path(self) -> list[PathStep]:
        """The chain that ends last: from the last step to finish, back through, at each step, the
        resource it waited for that finished last (ties: the one declared first)."""
        if not self.steps:
            return []
        rank = {urn: i for i, urn in enumerate(self.order)}
        current = max(self.steps.values(), key=lambda s: (s.end, -rank.get(s.task.urn, 0)))
        chain: list[PathStep] = []
        while True:
            waited = [self.steps[u] for u in current.task.waits_for if u in self.steps]
            ready = max((s.end for s in waited), default=0.0)
            chain.append(PathStep(current, slot_wait=current.start - ready))
            if not waited:
                break
            current = max(waited, key=lambda s: (s.end, -rank.get(s.task.urn, 0)))
        chain.reverse()
        # Providers take no time: the path starts at the first resource that does.
        return [p for p in chain if p.step.task.seconds > 0] or chain


# --- the DAG -----------------------------------------------------------------------------------


def phase_of(registration: Registration) -> str:
    """The Gantt phase of a resource, by its type: NAT routes and certificate validation records
    by what they are for."""
    t = registration.type
    if t == ROUTE and registration.inputs.get("natGatewayId"):
        return "NAT gateways"
    if t == RECORD and registration.inputs.get("type") == "CNAME":
        return "certificate validation"
    return next(name for name, prefixes in PHASES if any(t.startswith(p) for p in prefixes))


def _expand(urns: Iterable[str], by_urn: Mapping[str, Registration], children: Mapping[str, list[str]]) -> set[str]:
    """URNs with every component replaced by its custom descendants, as the Python SDK expands a
    local component (pulumi/runtime/rpc.py, _add_dependency): a custom resource's own children
    are not added."""
    found: set[str] = set()
    pending = list(urns)
    while pending:
        urn = pending.pop()
        registration = by_urn.get(urn)
        if registration is None or registration.type == "pulumi:pulumi:Stack":
            continue
        if registration.custom:
            found.add(urn)
        else:
            pending.extend(children.get(urn, ()))
    return found


def tasks_of(
    graph: Graph, times: Callable[[str, Mapping[str, Any]], create_times.CreateTime] = create_times.create_time
) -> dict[str, Task]:
    """The graph's custom resources as tasks, by URN. Each waits for the URNs its
    registration carries, its provider and a custom parent (the SDK awaits a parent's URN, which
    a custom resource has once it is created)."""
    by_urn = graph.by_urn()
    children: dict[str, list[str]] = {}
    for r in graph.resources:
        if r.parent is not None:
            children.setdefault(r.parent, []).append(r.urn)
    tasks: dict[str, Task] = {}
    # By URN: the order the program registers resources in varies from run to run (asyncio), and
    # the estimate must not.
    for r in sorted(graph.resources, key=lambda r: r.urn):
        if not r.custom:
            continue
        waits = set(r.dependencies)
        if r.provider:
            waits.add(r.provider.rsplit("::", 1)[0])  # a provider reference is "<urn>::<id>"
        if r.parent in by_urn and by_urn[r.parent].custom:
            waits.add(r.parent)
        expanded = _expand(waits, by_urn, children) - {r.urn}
        tasks[r.urn] = Task(
            urn=r.urn,
            name=r.name,
            type=r.type,
            region=r.region or NO_REGION,
            seconds=float(times(r.type, r.inputs).seconds),
            waits_for=tuple(sorted(expanded)),
            phase=phase_of(r),
        )
    return tasks


# --- the simulation ----------------------------------------------------------------------------


def simulate(tasks: Mapping[str, Task], parallel: int) -> Schedule:
    """Run the tasks with at most ``parallel`` at once: a task is ready when everything it waits
    for has finished; ready tasks start in the order they became ready, ties in ``tasks``' order."""
    if parallel < 1:
        raise ValueError(f"parallel: got {parallel}; allowed: 1 or more")
    order = list(tasks)
    rank = {urn: i for i, urn in enumerate(order)}
    waiting = {urn: {u for u in t.waits_for if u in tasks} for urn, t in tasks.items()}
    dependents: dict[str, list[str]] = {}
    for urn, deps in waiting.items():
        for dep in deps:
            dependents.setdefault(dep, []).append(urn)
    ready: list[tuple[float, int, str]] = [(0.0, rank[u], u) for u, deps in waiting.items() if not deps]
    heapq.heapify(ready)
    running: list[tuple[float, int, str]] = []
    steps: dict[str, Step] = {}
    now = 0.0
    while ready or running:
        while ready and len(running) < parallel:
            _, _, urn = heapq.heappop(ready)
            end = now + tasks[urn].seconds
            steps[urn] = Step(tasks[urn], now, end)
            heapq.heappush(running, (end, rank[urn], urn))
        if not running:
            break
        now = running[0][0]
        while running and running[0][0] == now:
            _, _, done = heapq.heappop(running)
            for urn in dependents.get(done, ()):
                waiting[urn].discard(done)
                if not waiting[urn]:
                    heapq.heappush(ready, (now, rank[urn], urn))
    stuck = sorted(set(tasks) - set(steps))
    if stuck:
        raise ValueError(f"a dependency cycle: {len(stuck)} resources never become ready, e.g. {stuck[0]}")
    return Schedule(steps=steps, parallel=parallel, order=order)


def estimate(graph: Graph, parallel: int = DEFAULT_PARALLEL) -> Schedule:
    """The simulated first ``pulumi up`` of ``graph``."""
    return simulate(tasks_of(graph), parallel)


# --- reports -----------------------------------------------------------------------------------


def clock(seconds: float) -> str:
    """``m:ss`` from the start."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def duration(seconds: float) -> str:
    """``8 min 5 s``, ``45 s``."""
    whole = round(seconds)
    minutes, rest = divmod(whole, 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min" + (f" {rest} s" if rest else "")


@dataclass(frozen=True)
class RegionTotal:
    region: str
    resources: int
    busy: float  # create time summed over its resources
    first: float
    last: float


def region_totals(schedule: Schedule) -> list[RegionTotal]:
    """Per region: its resources, their summed create time, and when its first starts and last ends."""
    grouped: dict[str, list[Step]] = {}
    for step in schedule.steps.values():
        grouped.setdefault(step.task.region, []).append(step)
    return [
        RegionTotal(
            region,
            len(steps),
            sum(s.task.seconds for s in steps),
            min(s.start for s in steps),
            max(s.end for s in steps),
        )
        for region, steps in sorted(grouped.items())
    ]


@dataclass(frozen=True)
class Alternative:
    """The same run with another ``--parallel`` (None: no limit)."""

    parallel: int | None
    wall: float

    def label(self, code: str = "") -> str:
        """``pulumi up alone on a 2-CPU runner (--parallel 8)``; ``code``: a Markdown code mark."""
        if self.parallel is None:
            return "no limit (the critical path alone)"
        if self.parallel == 4 * REFERENCE_CPUS:
            return f"{code}pulumi up{code} alone on a {REFERENCE_CPUS}-CPU runner ({code}--parallel {self.parallel}{code})"
        return f"{code}--parallel {self.parallel}{code}"


def alternatives(tasks: Mapping[str, Task], parallel: int) -> list[Alternative]:
    """The run at the CLI's own default on a 2-CPU runner (unless that is ``parallel``) and without
    any limit, where only the critical path counts."""
    cli = 4 * REFERENCE_CPUS
    found = [] if parallel == cli else [Alternative(cli, simulate(tasks, cli).wall)]
    found.append(Alternative(None, simulate(tasks, max(len(tasks), 1)).wall))
    return found


def summary(stack: str, tasks: Mapping[str, Task], schedule: Schedule) -> str:
    """The readable report: the estimate, what other parallelism gives, the critical path, and
    per-region totals."""
    path = schedule.critical_path()
    busy = sum(t.seconds for t in tasks.values())
    lines = [
        f"{stack}: a first `pulumi up` takes about {duration(schedule.wall)} (estimated offline from typical create "
        "times, ops/create_times.py; nothing was sent to AWS and nothing here was observed)",
        f"simulated with --parallel {schedule.parallel}"
        + (" (what python -m ops up passes)" if schedule.parallel == DRIVER_PARALLEL else "")
        + f"; pulumi up alone uses 4 × the machine's CPUs ({4 * _cpus()} on this one)",
        f"{duration(busy)} of create time summed: at --parallel {schedule.parallel} no order finishes before "
        f"{duration(busy / schedule.parallel)}",
        *[f"with {a.label()}: {duration(a.wall)}" for a in alternatives(tasks, schedule.parallel)],
        "",
        f"critical path ({len(path)} steps):",
        "   start     end    took  resource (type)",
    ]
    for p in path:
        s = p.step
        wait = f", after {duration(p.slot_wait)} waiting for a slot" if p.slot_wait > 0.5 else ""
        lines.append(
            f"  {clock(s.start):>6}  {clock(s.end):>6}  {duration(s.task.seconds):>6}  {s.task.name} ({s.task.type}){wait}"
        )
    lines += ["", "per region:"]
    for t in region_totals(schedule):
        lines.append(
            f"  {t.region}: {t.resources} resources, {duration(t.busy)} of create time summed, "
            f"from {clock(t.first)} to {clock(t.last)}"
        )
    return "\n".join(lines)


def gantt(stack: str, schedule: Schedule) -> str:
    """A Mermaid gantt of the run: per region one bar per phase, from the first start to the last
    end of its resources (their count in the label), the phases the critical path passes through
    marked ``crit``. Providers take no time and are left out."""
    critical = {(p.step.task.region, p.step.task.phase) for p in schedule.critical_path()}
    spans: dict[tuple[str, str], tuple[float, float, int]] = {}
    for step in schedule.steps.values():
        if step.task.seconds == 0:
            continue
        key = (step.task.region, step.task.phase)
        first, last, n = spans.get(key, (step.start, step.end, 0))
        spans[key] = (min(first, step.start), max(last, step.end), n + 1)
    lines = [
        "gantt",
        f"    title {stack}, first pulumi up, about {duration(schedule.wall)} (estimated, --parallel {schedule.parallel})",
        "    dateFormat X",
        "    axisFormat %M:%S",
    ]
    for region in sorted({r for r, _ in spans}):
        lines.append(f"    section {region}")
        for phase, _ in PHASES:
            if (region, phase) not in spans:
                continue
            first, last, n = spans[(region, phase)]
            tag = "crit, " if (region, phase) in critical else ""
            lines.append(f"    {phase} ({n}) :{tag}{round(first)}, {max(round(last), round(first) + 1)}")
    return "\n".join(lines) + "\n"


def stack_block(stack: str, tasks: Mapping[str, Task], schedule: Schedule) -> str:
    """The document's section for one stack: the estimate, other parallelism, per-region totals,
    the critical path and the chart."""
    path = schedule.critical_path()
    busy = sum(t.seconds for t in tasks.values())
    p = schedule.parallel
    lines = [
        f"**{stack}: about {duration(schedule.wall)}** for {len(tasks)} resources, simulated with `--parallel {p}`. "
        f"Their create times sum to {duration(busy)}, so at `--parallel {p}` no order finishes before "
        f"{duration(busy / p)}. "
        + " ".join(f"With {a.label('`')}: {duration(a.wall)}." for a in alternatives(tasks, p)),
        "",
        "| region | resources | create time, summed | first start | last end |",
        "|---|---|---|---|---|",
    ]
    for t in region_totals(schedule):
        lines.append(f"| {t.region} | {t.resources} | {duration(t.busy)} | {clock(t.first)} | {clock(t.last)} |")
    lines += [
        "",
        f"Critical path, {len(path)} steps:",
        "",
        "| start | end | took | resource | type |",
        "|---|---|---|---|---|",
    ]
    for p in path:
        s = p.step
        took = duration(s.task.seconds) + (f" (after {duration(p.slot_wait)} for a slot)" if p.slot_wait > 0.5 else "")
        lines.append(f"| {clock(s.start)} | {clock(s.end)} | {took} | `{s.task.name}` | `{s.task.type}` |")
    lines += ["", "```mermaid", gantt(stack, schedule).rstrip("\n"), "```"]
    return "\n".join(lines) + "\n"


def table_block() -> str:
    """The create-time table with its sources, and the default."""
    lines = [
        "| resource type | assumed | pulumi-aws waits for | source |",
        "|---|---|---|---|",
    ]
    for key, entry in sorted(create_times.TABLE.items()):
        lines.append(f"| `{key}` | {duration(entry.seconds)} | {entry.waits_for} | {_links(entry.source)} |")
    d = create_times.DEFAULT
    lines.append(f"| any other type | {duration(d.seconds)} | {d.waits_for} | {d.source} |")
    return "\n".join(lines) + "\n"


def _links(text: str) -> str:
    """Bare URLs as Markdown links: a provider file by its path, an issue by its number, an AWS
    page by its name."""

    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        if url.startswith(create_times.PROVIDER):
            label = url.removeprefix(create_times.PROVIDER)
        elif "/issues/" in url:
            label = f"{url.split('/')[4]}#{url.rsplit('/', 1)[1]}"
        else:
            label = url.rsplit("/", 1)[1].removesuffix(".html")
        return f"[{label}]({url})"

    return re.sub(r"https://[^\s;,()]+", link, text)


# --- the documents -----------------------------------------------------------------------------


TEMPLATE = """# The first deploy, estimated

How long a first `pulumi up` of each stack should take. It is an estimate, not a measurement:
nothing here was deployed. It comes from the stack's resource graph and a table of typical create
times, each with what the provider waits for and where the figure comes from. `python -m ops
timeline <stack>` computes it offline and rewrites that stack's section of this page (and, for
prod, the chart in the README) when it changed; with another `--parallel` it only prints, unless
`--output PATH` names a page to write.

## How it is computed

- **The graph.** The stack is synthesized as `python -m ops synth` does it. Each resource waits
  for the URNs its registration carries (`dependencies`: what its inputs reference and its
  `depends_on`; the Python SDK has already replaced a component there by its custom
  descendants), for its provider, and for a custom parent. Components take no time.
- **The run.** The engine creates a resource once everything it waits for exists, on one of
  `--parallel` workers, and the worker is held for the provider's whole wait (a NAT gateway's two
  minutes included). Ready resources start first come, first served (ties by URN).
- **`--parallel`.** The estimate uses 16, what `python -m ops up` (and preview, destroy and
  refresh) pass unless told otherwise (`--parallel N`), on any machine. `pulumi up` alone uses
  4 × the machine's CPUs (`PULUMI_PARALLEL` overrides it): each section also gives the figure on
  a 2-CPU runner, 8, and with no limit, where only the critical path counts.
- **Not counted:** the program's own run and the plugins' start-up, API throttling, retries beyond
  what the create times assume, and failures. Nor ECS tasks becoming healthy: `pulumi up` creates
  the services without waiting for steady state, so their first tasks start after it returns.

## How to read it

Each stack's section gives the estimate, the floor that its summed create time sets at that
parallelism, the per-region totals, and the critical path: the chain of resources that ends last,
each with when it started and ended; "after ... for a slot" means it was ready but every worker
was busy. The chart has one bar per region and phase, from the first start to the last end of its
resources (their number in the label); the phases the critical path passes through are red. The
last bar of a region holds the one-call resources (IAM, log groups, security groups, target groups
and rules, buckets, queues, keys, event rules, registries) that fill the workers between the long
waits.

## What the program orders, and why

- An ECS service starts its first tasks as soon as it exists, and they pull their image through
  the NAT gateway: each service waits for its region's private routes to the NAT gateways, the
  private subnets' route-table associations and the VPC endpoints. Provisioned concurrency in a
  VPC runs the function's initialization when it is allocated, and waits for the same.
- The staging and test listeners take the validated certificate itself, not the serving
  listener's copy of it, so the three listeners do not wait for each other.
- Kept, because AWS refuses or fails otherwise: a NAT gateway after the internet gateway
  (`Gateway.NotAttached`), the ALB after its access-log bucket policy, that policy after the
  bucket's public access block, a flow log after its role's policy, a function after its role's
  policy and log group, a Lambda target after its invoke permission, every HTTPS listener after
  its certificate is issued, and a service after its listener rules.

Without a limit on workers a first deploy could not beat its critical path (for prod, mostly
ACM's DNS validation). With few workers the summed create time sets a higher floor, which no
reordering of the graph lowers; more workers do, as far as the AWS APIs' rate limits allow: at
8, `pulumi up`'s own default on a 2-CPU runner, prod's floor is above ten minutes, which is why
`python -m ops up` passes 16.

## prod

{prod}

## dev

{dev}

## Create times

What pulumi-aws waits for comes from its provider's source (terraform-provider-aws, which it
bridges); every duration is an assumption, stated with its reasoning. Types not listed take the
default on the last line; the tests list which types of the prod and dev graphs take it.

{table}
"""


def block(document: str, key: str) -> str | None:
    """What ``document`` holds between ``key``'s markers, or None."""
    match = re.search(re.escape(BEGIN.format(key=key)) + r"\n(.*?)" + re.escape(END.format(key=key)), document, flags=re.S)
    return match.group(1) if match else None


def replace_block(document: str, key: str, content: str) -> str:
    """``document`` with ``key``'s block replaced by ``content``."""
    begin, end = BEGIN.format(key=key), END.format(key=key)
    head, found, rest = document.partition(begin)
    if not found or end not in rest:
        raise ValueError(f"no {begin} ... {end} markers")
    return f"{head}{begin}\n{content}{end}{rest.partition(end)[2]}"


def marked(key: str, content: str) -> str:
    return f"{BEGIN.format(key=key)}\n{content}{END.format(key=key)}"


def write_document(path: Path, key: str, content: str) -> bool:
    """Put ``content`` in ``path``'s ``key`` block (creating the page from :data:`TEMPLATE` if
    missing) and the create-time table in its own; True if the file changed."""
    before = path.read_text() if path.exists() else None
    document = before
    if document is None:
        empty = "(not computed yet: run `python -m ops timeline {stack}`)\n"
        document = TEMPLATE.format(
            prod=marked("prod", empty.format(stack="prod")),
            dev=marked("dev", empty.format(stack="dev")),
            table=marked(TABLE_KEY, ""),
        )
    if block(document, key) is None:
        document = document.rstrip("\n") + f"\n\n## {key}\n\n{marked(key, '')}\n"
    document = replace_block(document, key, content)
    if block(document, TABLE_KEY) is not None:
        document = replace_block(document, TABLE_KEY, table_block())
    if document == before:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document)
    return True


def refresh_readme(path: Path, chart: str) -> bool | None:
    """Put prod's chart in the README's block; True if it changed, None if the README has none."""
    if not path.exists():
        return None
    before = path.read_text()
    if block(before, README_KEY) is None:
        return None
    after = replace_block(before, README_KEY, f"```mermaid\n{chart}```\n")
    if after != before:
        path.write_text(after)
    return after != before


# --- the command -------------------------------------------------------------------------------


def add_parser(verbs: argparse._SubParsersAction) -> None:
    """Register ``timeline`` on the ``python -m ops`` parser."""
    p = verbs.add_parser(
        "timeline",
        help="estimate how long the stack's first pulumi up takes, offline, and chart it",
        description="Synthesize the stack offline, simulate its first pulumi up from typical create times "
        "(ops/create_times.py; none observed) and print the estimate, the critical path and per-region totals; "
        "rewrite the Gantt chart in docs/timeline.md (and prod's in the README) when it changed. "
        "Exit 0: estimated; 2: invalid stack, config or command line; 1: the program failed.",
    )
    add_stack_argument(p)
    p.add_argument(
        "--parallel",
        type=positive_int,
        default=DEFAULT_PARALLEL,
        metavar="N",
        help=f"resource operations at once, as pulumi up --parallel (default {DEFAULT_PARALLEL}: what "
        "python -m ops up passes; another value only prints, unless --output is given, so the committed pages "
        "keep the default's figures)",
    )
    p.add_argument(
        "--output",
        type=Path,
        default=None,
        metavar="PATH",
        help="the page to write the chart to (default docs/timeline.md, which also refreshes the README's copy)",
    )
    show_stack_as_required(p)


def run(
    stack: str,
    *,
    parallel: int = DEFAULT_PARALLEL,
    output: Path | None = None,
    readme: Path = README,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Synthesize ``stack``, print the estimate and refresh the documents (``output``, by default
    docs/timeline.md and, for prod, the README's chart)."""
    out, err = out or sys.stdout, err or sys.stderr
    result = synthesize(stack, err)
    if isinstance(result, int):
        return result
    _, graph = result
    tasks = tasks_of(graph)
    schedule = simulate(tasks, parallel)
    print(summary(stack, tasks, schedule), file=out)
    if output is None and parallel != DEFAULT_PARALLEL:
        # The committed page and the README show what `python -m ops up` does; another
        # parallelism is a question, not a new figure for them.
        print(f"\n{_shown(DOCUMENT)} left as it is: it shows --parallel {DEFAULT_PARALLEL}; --output PATH writes "
              "this run's chart", file=out)
        return EXIT_OK
    page = output or DOCUMENT
    changed = write_document(page, stack, stack_block(stack, tasks, schedule))
    print(f"\n{_shown(page)}: {stack} timeline {'updated' if changed else 'unchanged'}", file=out)
    if output is None and stack == "prod":
        state = refresh_readme(readme, gantt(stack, schedule))
        if state is not None:
            print(f"{_shown(readme)}: prod chart {'updated' if state else 'unchanged'}", file=out)
    return EXIT_OK


def _cpus() -> int:
    """The CPUs this process may run on, as Go's GOMAXPROCS counts them."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)
