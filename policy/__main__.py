"""The CrossGuard policy pack: one policy per rule in ``rules.RULES``, all mandatory.

Run with ``pulumi preview --policy-pack policy`` (the CLI creates the pack's own virtualenv from
``requirements.txt``). ``args.props`` carries the engine's camelCase property names, the same
keys the offline synth records, so the rules run unchanged in both places.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyPack,
    ResourceValidationPolicy,
    StackValidationPolicy,
)

try:  # imported as the package in tests; the CLI runs this file from the pack directory
    from policy import rules
except ImportError:  # pragma: no cover
    import rules  # type: ignore[no-redef]


def plain(value: Any) -> Any:
    """CrossGuard's props proxy, copied into plain values: an unknown value raises on access, and
    becomes ``rules.UNKNOWN`` here (the rules never judge unknowns; ``pulumi up`` re-checks)."""
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except Exception:  # UnknownValueError
                out[key] = rules.UNKNOWN
        return out
    if isinstance(value, Sequence):
        items = []
        for i in range(len(value)):
            try:
                items.append(plain(value[i]))
            except Exception:
                items.append(rules.UNKNOWN)
        return items
    return value


def environment_of(urn: str) -> str:
    """The stack's name, from a URN (``urn:pulumi:<stack>::...``): prod or dev."""
    return urn.split("::")[0].split(":")[-1]


def _resource(r: Any) -> rules.Resource:
    props = plain(r.props)
    # A stack policy sees outputs; bridged resources carry their physical id as "id".
    own_id = props.get("id")
    return rules.Resource(
        type=r.resource_type,
        name=r.name,
        urn=r.urn,
        inputs=props,
        id=own_id if isinstance(own_id, str) and not rules.is_unknown(own_id) else None,
        dependencies=tuple(d.urn for d in (getattr(r, "dependencies", None) or [])),
        property_dependencies={
            k: tuple(d.urn for d in v) for k, v in (getattr(r, "property_dependencies", None) or {}).items()
        },
        ignore_changes=tuple(getattr(getattr(r, "opts", None), "ignore_changes", None) or ()),
    )


def resource_policy(rule: rules.Rule) -> ResourceValidationPolicy:
    def validate(args: Any, report_violation: Any) -> None:
        if args.resource_type not in rule.resource_types:
            return
        resource = _resource(args)
        for v in rules.evaluate(
            [resource], environment=environment_of(args.urn), has_certificate=False, rules=[rule]
        ):
            report_violation(f"[{v.rule_id}] {v.message}", v.urn)

    return ResourceValidationPolicy(
        name=rule.id,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def stack_policy(rule: rules.Rule) -> StackValidationPolicy:
    def validate(args: Any, report_violation: Any) -> None:
        resources = [_resource(r) for r in args.resources]
        if not resources:
            return
        for v in rules.evaluate(
            [r for r in resources if r.type in rule.resource_types],
            environment=environment_of(resources[0].urn),
            has_certificate=rules.has_certificate(resources),
            rules=[rule],
            context_resources=resources,
        ):
            report_violation(f"[{v.rule_id}] {v.message}", v.urn)

    return StackValidationPolicy(
        name=rule.id,
        description=rule.description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
    )


def policies() -> list[Any]:
    return [stack_policy(rule) if rule.stack else resource_policy(rule) for rule in rules.RULES]


PolicyPack(
    name="devops-platform-fsbp",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=policies(),
    description="The program's Security Hub FSBP promises and written exceptions (docs/security.md).",
)
