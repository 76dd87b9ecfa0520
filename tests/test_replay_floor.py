"""benchmarks/replay.py: the synth benchmark's floor re-declares exactly the graph it recorded (the
benchmark is not timed here)."""

from __future__ import annotations

from benchmarks import replay
from ops import harness
from tests.test_offline_sdk import _program


def test_the_replay_declares_the_recorded_graph_and_nothing_else():
    recording = replay.record(lambda: harness.run(_program, project="floor", stack="test"), project="floor", stack="test")
    floor = replay.Replay(recording)
    graph = floor.run()
    assert replay.same_graph(recording.graph, graph) == []
    assert graph.to_json() == recording.graph.to_json()
    by_urn = graph.by_urn()
    # What makes it the same graph: property dependencies, options, aliases and outputs, not only
    # the resources' names and inputs.
    policy, token = (next(r for r in graph.resources if r.name == name) for name in ("policy", "token"))
    assert policy.property_dependencies and token.depends_on and token.inputs["value"] == harness.SECRET
    assert any(r.aliases for r in by_urn.values()) and graph.outputs["summary"]["ports"] == [80, 443]
    # A second run of the same recording declares it again (the benchmark times several).
    assert replay.same_graph(recording.graph, floor.run()) == []


def test_a_replay_that_drops_a_dependency_is_told_apart():
    recording = replay.record(lambda: harness.run(_program, project="floor", stack="test"), project="floor", stack="test")
    step = next(s for s in recording.steps if s.name == "token")
    step.depends_on = []
    assert replay.same_graph(recording.graph, replay.Replay(recording).run()) == [step.urn]
