"""Speed and memory of the offline synth: the local main job should stay interactive, and its cost
per resource should not grow with the size of the stack.

    .venv/bin/python benchmarks/synth.py [--runs 5]

Reports, for dev, prod and a generated config of 6 regions x 25 services ("large"):

- the wall time of an in-process synth (median of N runs, after one warm-up that pays for imports)
  and the time per resource;
- a cold ``python -m ops synth``-equivalent subprocess: wall time and peak RSS.

Targets (README, "Benchmarks"): a cold synth of prod under 5 s and 300 MiB; the large config under
15 s and 1.5 GB, at no more than 1.3x prod's time per resource (linear). Measures; never fails a
build.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ops import harness, stackfiles  # noqa: E402
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


def cold(name: str) -> tuple[float, float]:
    """A fresh interpreter that imports everything and synthesizes once, as the CLI does."""
    start = time.perf_counter()
    child = subprocess.run([sys.executable, __file__, "--child", name], cwd=ROOT, check=True, capture_output=True, text=True)
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        harness.run_program(stack="prod" if args.child == "large" else args.child, config=config_of(args.child))
        print(f"{peak_rss_mib():.1f}")
        return
    print(f"{'config':<6} {'resources':>9} {'in-process':>11} {'per resource':>13} {'cold':>7} {'peak RSS':>9}")
    per: dict[str, float] = {}
    for name in ("dev", "prod", "large"):
        count, warm = in_process(name, args.runs if name != "large" else max(1, args.runs // 2))
        wall, rss = cold(name)
        per[name] = warm / count
        print(f"{name:<6} {count:>9} {warm:>10.2f}s {per[name] * 1000:>10.2f} ms {wall:>6.2f}s {rss:>5.0f} MiB")
    print(f"time per resource, large / prod: {per['large'] / per['prod']:.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
