"""The benchmark's generated config stays valid as the model grows (the benchmark is not run here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from stack_config.load import validate

ROOT = Path(__file__).resolve().parent.parent


def test_the_large_benchmark_config_is_a_valid_stack():
    spec = importlib.util.spec_from_file_location("benchmarks_synth", ROOT / "benchmarks" / "synth.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["benchmarks_synth"] = module
    spec.loader.exec_module(module)
    prefix = "devops-platform:"
    raw = {k.removeprefix(prefix): v for k, v in module.large_config().items() if k.startswith(prefix)}
    cfg = validate(raw, "devops-platform")
    assert len(cfg.regions) == 6 and len(cfg.services) == 25
    assert cfg.routing == "latency" and cfg.has_task_launcher and cfg.has_replication
