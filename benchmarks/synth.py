"""Speed and memory of the offline synth: the local main job should stay interactive, its cost
per resource should not grow with the size of the stack, and it should cost little more than the
SDK's own work for the resources it declares.

    .venv/bin/python benchmarks/synth.py [--runs 5] [--only table|floor] [--sdk-as-is]

Reports, for dev, prod and a generated config of 6 regions x 25 services ("large"):

- the wall time of an in-process synth (median of N runs, after one warm-up that pays for imports)
  and the time per resource;
- a cold ``python -m ops synth``-equivalent subprocess: wall time and peak RSS.

Then prod's synth against its replay floor (benchmarks/replay.py): the same registrations (types,
names, parents, providers, inputs as wire values, property dependencies, options, component and
stack outputs) re-declared through the SDK with the same pulumi_aws classes, in the same harness
(same mocks, settings and garbage-collection setup), and nothing else, so the floor is the least
any program that declares this graph pays. The replay must declare the recorded graph exactly
(else the benchmark stops). Synth and replay run interleaved, N times each (at least 3), each
first in every other pair, so that load on a shared machine falls on both alike. The medians give
``synth / replay floor`` in wall time and in process CPU time (all threads); the ratio of each
synth run to the floor run beside it shows the spread.

``--sdk-as-is`` runs without ops/offline_sdk.py (the offline harness's shortcuts in the SDK: no
stack trace or mock URN per registration, no Output per node of a plain value), to measure what it
saves.

Targets (docs/benchmarks.md): a cold synth of prod under 5 s and 300 MiB; the large config under
15 s and 1.5 GB, at no more than 1.3x prod's time per resource (linear); prod's synth at no more
than 1.25x its replay floor. Measures; never fails a build.
"""

from __future__ import annotations

import argparse
import copy
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import replay  # noqa: E402
from ops import harness, offline_sdk, stackfiles  # noqa: E402
from stack_config import routes  # noqa: E402

PROJECT = "devops-platform"
LARGE_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")
LARGE_SERVICES = 25


def large_config() -> dict[str, str]:
    """prod's config, spread over 6 regions with 25 services (each with a repository, task,
    target group, rule, service and scaling, deployed like auth, as a canary with a smoke test;
    every fifth on demand, started by the task launcher on prod's schedules) plus prod's function."""
    base = stackfiles.load("prod").config
    ns = {k.split(":", 1)[1]: json.loads(v) if v[:1] in "[{" else v for k, v in base.items() if k.startswith(f"{PROJECT}:")}
    ns["regions"] = [
        {"name": r, "role": "primary" if i == 0 else "secondary", "vpcCidr": f"10.{20 + i}.0.0/16"}
        for i, r in enumerate(LARGE_REGIONS)
    ]
    template = ns["services"][0]
    services, taken = [], {routes.auto_priority(f["name"], f["paths"]) for f in ns["functions"]}
    for i in range(LARGE_SERVICES):
        svc = copy.deepcopy(template)
        svc.update(name=f"svc-{i:02d}", port=8000 + i, paths=[f"/api/svc-{i:02d}/*"])
        # auth's canary with its smoke test, on the copy's own path.
        svc["deployment"]["smokeTest"]["path"] = f"/api/svc-{i:02d}/health"
        if i % 5 == 4:  # prod's share of on-demand engines (2 of 6), for the task launcher
            svc["mode"] = "on-demand"
            del svc["deployment"]  # on demand: no ECS service, so no deployment strategy
        priority = routes.auto_priority(svc["name"], svc["paths"])
        if priority in taken:  # the validator would ask for an explicit one; so does this generator
            priority = next(p for p in range(1, 50_000) if p not in taken)
            svc["priority"] = priority
        taken.add(priority)
        services.append(svc)
    ns["services"] = services
    for schedule in ns["taskLauncher"]["schedules"]:
        schedule["service"] = "svc-04"
    ns["monitoring"]["services"] = {"svc-01": ns["monitoring"]["services"]["pdf"]}
    ns["dns"]["routing"] = "latency"  # failover takes two regions
    ns["dns"]["healthCheckPath"] = "/api/svc-00/health"  # auth is renamed: the check must reach a service
    others = {k: v for k, v in base.items() if not k.startswith(f"{PROJECT}:")}
    return {**others, **{f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in ns.items()}}


def config_of(name: str) -> dict[str, str]:
    return large_config() if name == "large" else stackfiles.load(name).config


def in_process(name: str, runs: int) -> tuple[int, float]:
    config = config_of(name)
    stack = "prod" if name == "large" else name
    count = len(harness.run_program(stack=stack, config=config).resources)  # warm-up: imports
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        harness.run_program(stack=stack, config=config)
        times.append(time.perf_counter() - start)
    return count, statistics.median(times)


def cold(name: str, shortcuts: bool = True) -> tuple[float, float]:
    """A fresh interpreter that imports everything and synthesizes once, as the CLI does."""
    start = time.perf_counter()
    command = [sys.executable, __file__, "--child", name, *([] if shortcuts else ["--sdk-as-is"])]
    child = subprocess.run(command, cwd=ROOT, check=True, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    return elapsed, float(child.stdout.strip().splitlines()[-1])


def peak_rss_mib() -> float:
    """This process's own peak RSS. On Linux VmHWM, which starts afresh at exec; ru_maxrss does
    not, so it would count pages of the (large) benchmark process that forked this one."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(run: Callable[[], object]) -> tuple[float, float]:
    """Wall and process CPU time (every thread: the SDK sends each request from a thread pool)."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def _spread(values: list[float], unit: str = " s") -> str:
    return f"{statistics.median(values):.2f}{unit} ({min(values):.2f}-{max(values):.2f})"


def floor(runs: int) -> None:
    """prod's synth against its replay floor, interleaved (module docstring)."""
    config = stackfiles.load("prod").config

    def synth() -> harness.Graph:
        return harness.run_program(stack="prod", config=config)

    recording = replay.record(synth, project=PROJECT, stack="prod", config=config)
    floor_program = replay.Replay(recording)
    differ = replay.same_graph(recording.graph, floor_program.run())  # also the replay's warm-up
    if differ:
        raise SystemExit(f"the replay declared another graph ({len(differ)} differences, first {differ[0]})")
    times: dict[str, list[tuple[float, float]]] = {"synth": [], "replay": []}
    for i in range(runs):
        # Alternately first, so neither always runs on the other's leftovers.
        order = (("synth", synth), ("replay", floor_program.run))
        for name, run in order if i % 2 == 0 else order[::-1]:
            times[name].append(timed(run))
    wall = {k: [w for w, _ in v] for k, v in times.items()}
    cpu = {k: [c for _, c in v] for k, v in times.items()}
    count = len(recording.graph.resources)
    print(f"\nprod ({count} resources), {runs} runs each, interleaved: median (min-max)")
    for name, label in (("synth", "synth"), ("replay", "replay floor")):
        print(f"  {label:<13} wall {_spread(wall[name])}   CPU {_spread(cpu[name])}")
    ratio = statistics.median(wall["synth"]) / statistics.median(wall["replay"])
    cpu_ratio = statistics.median(cpu["synth"]) / statistics.median(cpu["replay"])
    pairs = [s / r for s, r in zip(wall["synth"], wall["replay"], strict=True)]
    print(f"synth / replay floor: {ratio:.2f}x (target <= 1.25x); in CPU time {cpu_ratio:.2f}x")
    print(f"  each run against the floor run beside it: {_spread(pairs, 'x')}")


def table(runs: int, shortcuts: bool) -> None:
    print(f"{'config':<6} {'resources':>9} {'in-process':>11} {'per resource':>13} {'cold':>7} {'peak RSS':>9}")
    per: dict[str, float] = {}
    for name in ("dev", "prod", "large"):
        count, warm = in_process(name, runs if name != "large" else max(1, runs // 2))
        wall, rss = cold(name, shortcuts)
        per[name] = warm / count
        print(f"{name:<6} {count:>9} {warm:>10.2f}s {per[name] * 1000:>10.2f} ms {wall:>6.2f}s {rss:>5.0f} MiB")
    print(f"time per resource, large / prod: {per['large'] / per['prod']:.2f}x (target <= 1.3x)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", choices=("table", "floor"), help="only the table of configs, or only the floor")
    parser.add_argument("--sdk-as-is", action="store_true", help="without ops/offline_sdk.py's shortcuts")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sdk_as_is:
        offline_sdk.install = lambda: None  # type: ignore[assignment]
    if args.child:
        harness.run_program(stack="prod" if args.child == "large" else args.child, config=config_of(args.child))
        print(f"{peak_rss_mib():.1f}")
        return
    if args.sdk_as_is:
        print("the SDK as is: without ops/offline_sdk.py's shortcuts")
    if args.only != "floor":
        table(args.runs, not args.sdk_as_is)
    if args.only != "table":
        floor(max(3, args.runs))


if __name__ == "__main__":
    main()
