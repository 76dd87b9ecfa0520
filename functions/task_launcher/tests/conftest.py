"""Fixtures for the task launcher's tests; the helpers are in support.py."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions.loading import load_module

_HERE = Path(__file__).resolve().parent


support = load_module("task_launcher_test_support", _HERE / "support.py")


@pytest.fixture
def world(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A fresh moto account with the services' resources; SERVICE_MAP and the rest set."""
    built = support.build_world(aws, monkeypatch.setenv)
    support.hold_task_states(aws, hold=True)
    support.LAUNCHER.reset()
    try:
        yield built
    finally:
        support.LAUNCHER.reset()
        support.hold_task_states(aws, hold=False)


@pytest.fixture
def launcher(world: Any) -> Any:
    """The launcher (``support.LAUNCHER``), its clients and settings reset for this world."""
    return support.LAUNCHER


@pytest.fixture
def calls(launcher: Any) -> Any:
    """Every API call the handler's clients make from here on, in order, with its parameters."""
    recorded = support.Calls()

    def hook(params: dict[str, Any], model: Any, **_: Any) -> None:
        recorded.log.append((model.name, copy.deepcopy(params)))

    launcher.client("ecs").meta.events.register("provide-client-params.ecs", hook)
    launcher.client("elbv2").meta.events.register("provide-client-params.elastic-load-balancing-v2", hook)
    return recorded
