"""The benchmark's generated config stays valid as the model grows (the benchmark is not run here)."""

from __future__ import annotations

from pathlib import Path

from functions.loading import load_module
from stack_config.load import validate

ROOT = Path(__file__).resolve().parent.parent


def test_the_large_benchmark_config_is_a_valid_stack():
    module = load_module("benchmarks_synth", ROOT / "benchmarks" / "synth.py")
    prefix = "devops-platform:"
    raw = {k.removeprefix(prefix): v for k, v in module.large_config().items() if k.startswith(prefix)}
    cfg = validate(raw, "devops-platform")
    assert len(cfg.regions) == 6 and len(cfg.services) == 25
    assert cfg.routing == "latency" and cfg.has_task_launcher and cfg.has_replication
