"""The replay floor of a synth: the least any program that declares the same graph pays.

:func:`record` runs a program once in the offline harness and keeps every request the resource
monitor received: each resource's type, name, custom flag, parent, provider (and provider map),
its inputs exactly as they reached the wire, which resources each input depends on, its other
dependencies and its options (protect, ignoreChanges, deleteBeforeReplace, replaceOnChanges,
aliases, replaceWith), and each component's and the stack's outputs.

:class:`Replay` is a program that re-declares exactly those resources through the SDK, in the
order the monitor saw them, and nothing else:

- a custom resource is the real ``pulumi_aws`` class of its type token (the provider
  ``pulumi_aws.Provider``), called as a program calls it, with the recorded top-level inputs as
  keyword arguments and nested values as plain dicts and lists in their wire form (a provider's
  settings decoded from the JSON the provider class encodes them to again);
- an input that depended on resources is an already-resolved Output carrying those resources, so
  the property dependencies are the recorded ones; a secret is ``Output.secret``; the remaining
  dependencies are ``depends_on``;
- a component is a ``pulumi.ComponentResource`` of the same type token, and registers the
  recorded outputs; the stack exports the recorded outputs;
- parents, providers and options are the recorded ones, as the objects the replay created.

So the floor keeps the SDK's whole per-registration work (serializing inputs, the RPC, resolving
outputs, the Output bookkeeping) and the mocks' answers, and drops only what the program itself
does to arrive at those values: config validation, data-source calls, applies and the building of
inputs. What needs no live Output (each type's class, keyword names, aliases) is worked out once,
before any timing. :meth:`Replay.run` runs it in the same harness (:func:`ops.harness.run`: same
mocks, same settings, same garbage-collection setup, and ops/offline_sdk.py's shortcuts whenever
the synth has them); benchmarks/synth.py stops unless it declared
the recorded graph exactly (:func:`same_graph`), so the floor cannot drift into measuring a
smaller graph.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.type_token import get_type_token

from ops import harness

_SIG = "4dabf18193072939515e22adb298388d"
_SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270"
_STACK = "pulumi:pulumi:Stack"
_PROVIDER_PREFIX = "pulumi:providers:"


@dataclass
class Step:
    """One registration to replay."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    provider: str | None
    providers: dict[str, str]
    inputs: dict[str, Any]
    property_dependencies: dict[str, list[str]]
    depends_on: list[str]
    protect: bool | None
    ignore_changes: list[str]
    delete_before_replace: bool | None
    replace_on_changes: list[str]
    aliases: list[Any]
    replace_with: list[str]
    outputs: dict[str, Any] | None = None


@dataclass
class Recording:
    """What one run declared, ready to replay; ``graph`` is that run's graph."""

    graph: harness.Graph
    run_options: dict[str, Any]
    steps: list[Step] = field(default_factory=list)
    stack_outputs: dict[str, Any] = field(default_factory=dict)


class _CapturingMonitor(harness.RecordingMonitor):
    """The harness's monitor, also keeping each raw request in the order it arrived."""

    last: _CapturingMonitor | None = None

    def __init__(self, mocks: Any) -> None:
        super().__init__(mocks)
        self.requests: list[tuple[str, str, Any]] = []
        _CapturingMonitor.last = self

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        self.requests.append(("resource", urn, request))
        return super().RegisterResource(request)

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        self.requests.append(("outputs", request.urn, request))
        return super().RegisterResourceOutputs(request)


@contextmanager
def _capturing() -> Iterator[type[_CapturingMonitor]]:
    original = harness.RecordingMonitor
    harness.RecordingMonitor = _CapturingMonitor  # type: ignore[misc]
    try:
        yield _CapturingMonitor
    finally:
        harness.RecordingMonitor = original  # type: ignore[misc]


def _wire(message: Any) -> dict[str, Any]:
    return json_format.MessageToDict(message) if message is not None else {}


def _ref_urn(ref: str) -> str:
    """A provider reference is ``<urn>::<id>``."""
    return ref.rsplit("::", 1)[0]


def record(run: Callable[[], harness.Graph], **run_options: Any) -> Recording:
    """Run ``run`` (a call of the harness) once and keep what it declared. ``run_options`` are the
    harness options (project, stack, config, preview, ssm_parameters) the replay runs with."""
    with _capturing() as monitor_class:
        graph = run()
    monitor = monitor_class.last
    assert monitor is not None
    recording = Recording(graph=graph, run_options=run_options)
    by_urn: dict[str, Step] = {}
    for kind, urn, request in monitor.requests:
        if kind == "outputs":
            outputs = _wire(request.outputs)
            if request.urn == monitor.stack_urn:
                recording.stack_outputs = outputs
            else:
                by_urn[request.urn].outputs = outputs
            continue
        if request.type == _STACK:
            continue
        property_dependencies = {k: sorted(set(v.urns)) for k, v in request.propertyDependencies.items() if v.urns}
        carried = {u for urns in property_dependencies.values() for u in urns}
        step = Step(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=request.custom,
            parent=request.parent if request.parent and request.parent != monitor.stack_urn else None,
            provider=_ref_urn(request.provider) if request.provider else None,
            providers={pkg: _ref_urn(ref) for pkg, ref in request.providers.items()},
            inputs=_wire(request.object),
            property_dependencies=property_dependencies,
            depends_on=sorted(set(request.dependencies) - carried),
            protect=request.protect if request.HasField("protect") else None,
            ignore_changes=list(request.ignoreChanges),
            delete_before_replace=request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None,
            replace_on_changes=list(request.replaceOnChanges),
            aliases=[a.urn if a.HasField("urn") else _wire(a.spec) for a in request.aliases] + list(request.aliasURNs),
            replace_with=list(request.replace_with),
        )
        by_urn[urn] = step
        recording.steps.append(step)
    return recording


def _aws_classes() -> dict[str, type]:
    """Type token -> the ``pulumi_aws`` class, among the modules the recorded run imported."""
    classes: dict[str, type] = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("pulumi_aws") or module is None:
            continue
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, pulumi.CustomResource):
                token = get_type_token(value)
                if token:
                    classes.setdefault(token, value)
    import pulumi_aws

    classes[f"{_PROVIDER_PREFIX}aws"] = pulumi_aws.Provider
    return classes


def _python_names(cls: type) -> dict[str, str]:
    """Wire name -> keyword argument name of ``cls``: its properties' names, and its input
    type's (``<Class>Args`` or ``<Class>InitArgs``: a provider's inputs are not its properties)."""
    names = dict(pulumi._types.resource_pulumi_to_py_names(cls))
    module = vars(sys.modules[cls.__module__])
    for args_type in (module.get(f"{cls.__name__}Args"), module.get(f"{cls.__name__}InitArgs")):
        if args_type is not None:
            names.update({wire: py for py, wire in pulumi._types.input_type_py_to_pulumi_names(args_type).items()})
    return names


def _own_aliases(cls: type) -> list[dict[str, str]]:
    """The type aliases a ``pulumi_aws`` class adds to every instance itself (a renamed type's
    former token), as the monitor receives them: the replay must not pass them again."""
    source = inspect.getsource(cls._internal_init)  # type: ignore[attr-defined]
    return [{"parentUrn": "", "type": t} for t in re.findall(r'pulumi\.Alias\(type_="([^"]+)"\)', source)]


def _has_secret(wire: Any) -> bool:
    if isinstance(wire, dict):
        return wire.get(_SIG) == _SIG_SECRET or any(_has_secret(v) for v in wire.values())
    if isinstance(wire, list):
        return any(_has_secret(v) for v in wire)
    return False


def _value(wire: Any) -> Any:
    """A wire value as a program passes it: secrets as ``Output.secret``, the rest as is."""
    if isinstance(wire, dict):
        if wire.get(_SIG) == _SIG_SECRET:
            return pulumi.Output.secret(_value(wire.get("value")))
        return {k: _value(v) for k, v in wire.items()}
    if isinstance(wire, list):
        return [_value(v) for v in wire]
    return wire


def _provider_value(wire: Any) -> Any:
    # The provider JSON-encodes its nested and non-string settings itself (pulumi_aws.Provider).
    if isinstance(wire, str):
        try:
            return json.loads(wire)
        except ValueError:
            return wire
    return wire


def _resolved(value: Any, resources: set[pulumi.Resource]) -> pulumi.Output:
    """An Output already holding ``value``, depending on ``resources``, as an input built from
    other resources' outputs is."""
    loop = asyncio.get_event_loop()
    future: asyncio.Future = loop.create_future()
    known: asyncio.Future = loop.create_future()
    future.set_result(value)
    known.set_result(True)
    return pulumi.Output(resources=resources, future=future, is_known=known)


def _alias(alias: Any) -> Any:
    if isinstance(alias, str):
        return alias
    parent: Any = ...
    if alias.get("noParent"):
        parent = None
    elif alias.get("parentUrn"):
        parent = alias["parentUrn"]
    return pulumi.Alias(
        name=alias.get("name") or ...,
        type_=alias.get("type") or ...,
        stack=alias.get("stack") or ...,
        project=alias.get("project") or ...,
        parent=parent,
    )


@dataclass
class _Declaration:
    """One step, with everything that needs no live Output worked out once, before any timing."""

    step: Step
    cls: type | None  # None: a component
    aliases: list[Any]
    values: dict[str, Any]  # keyword argument (a component's or the stack's: output) name -> value
    secret: tuple[str, ...]  # the values that hold a secret: Output.secret, made in the run
    dependencies: dict[str, list[str]]  # keyword argument -> the resources its Output carries


def _plain_values(wire: dict[str, Any], rename: Callable[[str], str] = str) -> tuple[dict[str, Any], tuple[str, ...]]:
    values = {rename(k): v for k, v in wire.items()}
    return values, tuple(rename(k) for k, v in wire.items() if _has_secret(v))


class Replay:
    """The program that re-declares a recording (module docstring). Preparing it (finding each
    type's class, its keyword names and own aliases) happens here, once; :meth:`run` is what the
    floor times."""

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        classes = _aws_classes()
        names: dict[type, dict[str, str]] = {}
        own_aliases: dict[type, list[dict[str, str]]] = {}
        self.declarations: list[_Declaration] = []
        for step in recording.steps:
            if not step.custom:
                values, secret = _plain_values(step.outputs or {})
                declaration = _Declaration(step, None, [_alias(a) for a in step.aliases], values, secret, {})
                self.declarations.append(declaration)
                continue
            cls = classes[step.type]
            if cls not in names:
                names[cls], own_aliases[cls] = _python_names(cls), _own_aliases(cls)
            aliases = list(step.aliases)
            for alias in own_aliases[cls]:
                aliases.remove(alias)
            wire = step.inputs
            if step.type.startswith(_PROVIDER_PREFIX):
                wire = {k: _provider_value(v) for k, v in wire.items()}
            translate = names[cls]
            values, secret = _plain_values(wire, lambda k, t=translate: t.get(k, k))  # type: ignore[misc]
            dependencies = {translate.get(k, k): urns for k, urns in step.property_dependencies.items()}
            self.declarations.append(_Declaration(step, cls, [_alias(a) for a in aliases], values, secret, dependencies))
        self.stack_outputs, self.stack_secret = _plain_values(recording.stack_outputs)

    def program(self) -> None:
        made: dict[str, pulumi.Resource] = {}
        for declaration in self.declarations:
            step = declaration.step
            opts = pulumi.ResourceOptions(
                parent=made[step.parent] if step.parent else None,
                provider=made[step.provider] if step.provider else None,  # type: ignore[arg-type]
                providers=[made[u] for u in step.providers.values()] or None,  # type: ignore[misc]
                depends_on=[made[u] for u in step.depends_on] or None,
                protect=step.protect,
                ignore_changes=step.ignore_changes or None,
                delete_before_replace=step.delete_before_replace,
                replace_on_changes=step.replace_on_changes or None,
                aliases=declaration.aliases or None,
                replace_with=[made[u] for u in step.replace_with] or None,
            )
            values = dict(declaration.values)
            for key in declaration.secret:
                values[key] = _value(values[key])
            if declaration.cls is None:
                component = pulumi.ComponentResource(step.type, step.name, None, opts)
                if step.outputs is not None:
                    component.register_outputs(values)
                made[step.urn] = component
                continue
            for key, urns in declaration.dependencies.items():
                values[key] = _resolved(values[key], {made[u] for u in urns})
            made[step.urn] = declaration.cls(step.name, opts=opts, **values)
        for key, value in self.stack_outputs.items():
            pulumi.export(key, _value(value) if key in self.stack_secret else value)

    def run(self) -> harness.Graph:
        """Run the program in the harness, with the recorded run's options."""
        return harness.run(self.program, **self.recording.run_options)


def same_graph(a: harness.Graph, b: harness.Graph) -> list[str]:
    """Where two graphs differ (URNs of resources whose registration differs, and ``outputs``);
    empty when they are the same, property dependencies and options included."""
    left, right = a.by_urn(), b.by_urn()
    differ = sorted(u for u in left.keys() | right.keys() if left.get(u) != right.get(u))
    if a.outputs != b.outputs:
        differ.append("outputs")
    return differ
