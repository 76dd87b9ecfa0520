"""The policy rules over the offline synth graph (``ops.harness.Graph``).

``python -m ops synth <stack> --policy`` calls :func:`evaluate_graph`. The graph holds the inputs
as the engine receives them (camelCase keys), so the rules see what CrossGuard would see.
"""

from __future__ import annotations

from typing import Any

from policy import rules
from policy.rules import Resource, Violation


def resources_of(graph: Any) -> list[Resource]:
    """The graph's custom resources (components carry no settings) as the rules' view."""
    return [
        Resource(
            type=r.type,
            name=r.name,
            urn=r.urn,
            inputs=r.inputs,
            id=r.id,
            dependencies=tuple(r.dependencies),
            property_dependencies=dict(r.property_dependencies),
            ignore_changes=tuple(r.ignore_changes),
            region=r.region,
        )
        for r in graph.custom()
        if not r.type.startswith("pulumi:providers:")
    ]


def evaluate_graph(
    graph: Any, *, environment: str | None = None, has_certificate: bool | None = None
) -> list[Violation]:
    """Every violation in the graph, less the written exceptions.

    ``environment`` defaults to the stack's name (``prod``/``dev``, the stacks' ``environment``);
    ``has_certificate`` to whether the graph declares an ACM certificate or a listener with one.
    """
    resources = resources_of(graph)
    return rules.evaluate(
        resources,
        environment=environment if environment is not None else graph.stack,
        has_certificate=has_certificate if has_certificate is not None else rules.has_certificate(resources),
    )
