"""Shared fixtures: run the real program, or one component, under mocks and query the graph.

Nothing here calls ``set_mocks`` at import time: every run builds its own mocks and monitor in a
fresh context (ops.harness), so tests cannot leak state into each other.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pulumi_aws as aws
import pytest

from ops import harness, stackfiles
from ops.harness import Graph
from ops.synth import published_images_of
from stack_config.load import decode, validate

# The moto server and a clean account per test (tests/test_preflight.py), shared with functions/.
pytest_plugins = ["tests.moto_fixtures"]

PROJECT = "devops-platform"


def namespace_of(stack: str) -> dict[str, Any]:
    """A stack file's project keys, decoded as the program decodes them (``regions`` a list)."""
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix) :]: v for k, v in stackfiles.load(stack).config.items() if k.startswith(prefix)}
    return decode(raw, PROJECT)


def encode(namespace: dict[str, Any]) -> dict[str, str]:
    """Back to the engine's form: ``project:key`` to text, objects as JSON."""
    return {
        f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in namespace.items()
    }


def run_stack(
    stack: str = "prod",
    *,
    edit: Callable[[dict[str, Any]], None] | None = None,
    preview: bool = False,
    published: bool = False,
    ssm_parameters: dict[str, str] | None = None,
) -> Graph:
    """Run __main__.py with a stack file's whole config, its project keys optionally edited first;
    ``published``: with every service's image published, as ``ops synth --published-images``;
    ``ssm_parameters``: what SSM holds (name to value), instead."""
    namespace = namespace_of(stack)
    if edit is not None:
        edit(namespace)
    others = {k: v for k, v in stackfiles.load(stack).config.items() if not k.startswith(f"{PROJECT}:")}
    images = published_images_of(validate(namespace, PROJECT)) if published else ssm_parameters
    return harness.run_program(stack=stack, config={**others, **encode(namespace)}, preview=preview, ssm_parameters=images)


@pytest.fixture
def run_program() -> Callable[..., Graph]:
    """Run the whole program: ``run_program("dev", edit=lambda ns: ..., preview=False)``."""
    return run_stack


@pytest.fixture(scope="session")
def prod() -> Graph:
    return run_stack("prod")


@pytest.fixture(scope="session")
def dev() -> Graph:
    return run_stack("dev")


@pytest.fixture(scope="session")
def prod_published() -> Graph:
    return run_stack("prod", published=True)


@pytest.fixture(scope="session")
def dev_published() -> Graph:
    return run_stack("dev", published=True)


@pytest.fixture(scope="session")
def prod_preview() -> Graph:
    return run_stack("prod", preview=True)


@pytest.fixture
def run_component() -> Callable[..., Graph]:
    """Run ``build(provider)`` under mocks; ``build`` declares one component with that provider."""

    def _run(build: Callable[[aws.Provider], Any], region: str = "us-east-1", preview: bool = False) -> Graph:
        def program() -> None:
            provider = aws.Provider(f"aws-{region}", region=region)
            build(provider)

        return harness.run(program, project=PROJECT, stack="test", preview=preview)

    return _run


def under(graph: Graph, ancestor_name: str) -> list[harness.Registration]:
    """Every resource whose parent chain passes through the resource named ``ancestor_name``."""
    by_urn = graph.by_urn()
    root = graph.named(ancestor_name).urn
    found = []
    for r in graph.resources:
        parent = r.parent
        while parent is not None:
            if parent == root:
                found.append(r)
                break
            parent = by_urn[parent].parent if parent in by_urn else None
    return found




def forward_targets(action: dict[str, Any]) -> dict[str, int]:
    """A forward action's target groups and their weights: one group, or ECS's weighted pair."""
    if "targetGroupArn" in action:
        return {action["targetGroupArn"]: 1}
    return {g["arn"]: g.get("weight", 1) for g in action["forward"]["targetGroups"]}


def live_target(action: dict[str, Any]) -> str:
    """The target group a forward action sends production traffic to (all of the weight)."""
    targets = forward_targets(action)
    (live,) = [arn for arn, weight in targets.items() if weight == max(targets.values())]
    return live


def assert_refused(edit: Callable[[dict[str, Any]], None], path: str, text: str, stack: str = "prod") -> None:
    """``edit`` on the stack's config is refused: a line names ``path`` and says ``text``, and every
    line is one line that says what would be accepted."""
    from stack_config import ConfigError

    namespace = namespace_of(stack)
    edit(namespace)
    try:
        validate(namespace, PROJECT)
    except ConfigError as caught:
        lines = caught.lines()
    else:
        raise AssertionError(f"accepted: no error names {path}")
    matching = [line for line in lines if line.startswith(f"{path}:")]
    assert matching, f"no error names {path}: {lines}"
    assert any(text in line for line in matching), matching
    for line in lines:
        assert "\n" not in line
        assert "allowed" in line or "required" in line or " is needed: " in line, line

