"""Run the Pulumi program (or any function that declares resources) offline, under mocks.

The program runs the way the Python language host runs it: ``run_in_stack`` around the program,
config in the runtime's config map. A recording resource monitor keeps every registration
request, so the graph holds the inputs exactly as the engine would receive them (camelCase keys),
plus each resource's parent and provider.

Each run happens in a fresh ``contextvars.Context``: Pulumi keeps its settings, root resource and
config in context variables, so runs in one process (the test suite) cannot see each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import gc
import logging
import os
import runpy
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.rpc_manager import RPCManager
from pulumi.runtime.sync_await import _sync_await

from . import drain, offline_sdk
from .mocks import RealisticMocks

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Sentinels of Pulumi's wire format (sdk/python/lib/pulumi/runtime/rpc.py).
_UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_SIG = "4dabf18193072939515e22adb298388d"
_SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270"
_SIG_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e"
_SIG_ASSET = "c44067f5952c0a294b673a41bacd8c17"
_SIG_ARCHIVE = "0def7320c3a5731c473e5ecbe6d01bc7"

UNKNOWN = "[unknown]"
SECRET = "[secret]"


def plain(value: Any) -> Any:
    """A wire-format value made JSON-friendly: unknowns and secrets become markers, resource
    references their URN, whole-number floats (protobuf has only doubles) ints, and object keys
    sorted."""
    if isinstance(value, str):
        return UNKNOWN if value == _UNKNOWN else value
    if isinstance(value, float):
        return int(value) if value.is_integer() else value
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        sig = value.get(_SIG)
        if sig == _SIG_SECRET:
            return SECRET
        if sig == _SIG_RESOURCE:
            return value.get("urn")
        if sig == _SIG_ASSET:
            return {"asset": value.get("path") or value.get("uri") or "<text>"}
        if sig == _SIG_ARCHIVE:
            return {"archive": value.get("path") or value.get("uri") or "<assets>"}
        # Sorted: protobuf Structs are maps with no stable order, and the graph must be
        # byte-identical between synths of the same config.
        return {k: plain(value[k]) for k in sorted(value)}
    return value


def _struct(message: Any) -> dict[str, Any]:
    return plain(json_format.MessageToDict(message)) if message is not None else {}


def _alias(alias: Any) -> Any:
    """An alias as JSON: its URN, or its spec (name, type, parent ...) with the keys that are set."""
    if alias.HasField("urn"):
        return alias.urn
    return plain(json_format.MessageToDict(alias.spec))


def cause_of_type(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """The first exception of ``kind`` in ``exc``'s chain. The SDK wraps an error raised inside
    an apply in its own errors, so the program's error is further down."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@dataclass(frozen=True)
class Registration:
    """One resource as the engine saw it."""

    urn: str
    id: str | None
    type: str
    name: str
    parent: str | None
    custom: bool
    provider: str | None
    inputs: dict[str, Any]
    region: str | None
    dependencies: tuple[str, ...] = ()
    property_dependencies: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ignore_changes: tuple[str, ...] = ()
    protect: bool | None = None
    retain_on_delete: bool | None = None
    delete_before_replace: bool | None = None
    replace_on_changes: tuple[str, ...] = ()
    aliases: tuple[Any, ...] = ()
    replace_with: tuple[str, ...] = ()

    @property
    def depends_on(self) -> tuple[str, ...]:
        """The dependencies no input carries: what ``depends_on`` added (a ``depends_on`` target
        that an input also references is already a property dependency, and is not repeated)."""
        carried = {urn for urns in self.property_dependencies.values() for urn in urns}
        return tuple(sorted(set(self.dependencies) - carried))

    def options(self) -> dict[str, Any]:
        """The resource options the engine uses to order and protect it, only those that are set."""
        options: dict[str, Any] = {}
        if self.depends_on:
            options["dependsOn"] = list(self.depends_on)
        if self.ignore_changes:
            options["ignoreChanges"] = list(self.ignore_changes)
        if self.protect is not None:
            options["protect"] = self.protect
        if self.retain_on_delete is not None:
            options["retainOnDelete"] = self.retain_on_delete
        if self.delete_before_replace is not None:
            options["deleteBeforeReplace"] = self.delete_before_replace
        if self.replace_on_changes:
            options["replaceOnChanges"] = list(self.replace_on_changes)
        if self.aliases:
            options["aliases"] = list(self.aliases)
        if self.replace_with:
            options["replaceWith"] = list(self.replace_with)
        return options


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that also keeps every registration and the stack's outputs."""

    def __init__(self, mocks: RealisticMocks) -> None:
        super().__init__(mocks)
        self.realistic = mocks
        self.registrations: list[Registration] = []
        self.stack_outputs: dict[str, Any] = {}
        self.stack_urn: str | None = None

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine builds URNs (and unlike MockMonitor's): the type part chains every
        # ancestor's type, except the root stack's. Pinned names in tests are real URNs.
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != "pulumi:pulumi:Stack":
                qualified = f"{parent_type}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{qualified}::{name}"

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        inputs = _struct(request.object)
        is_provider = request.type.startswith("pulumi:providers:")
        urn = self.make_urn(request.parent, request.type, request.name)
        if is_provider and isinstance(inputs.get("region"), str):
            # Known before super() runs, so the mocks can place this provider's resources.
            self.realistic.provider_regions[urn] = inputs["region"]
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            self.stack_urn = urn
        # pulumi-aws 7 lets a resource's own `region` override its provider's; a provider's
        # `region` is its own. Components have no region.
        own = inputs.get("region")
        region = (own if isinstance(own, str) else self.realistic.region_of(request.provider)) if request.custom else None
        self.registrations.append(
            Registration(
                urn=urn,
                id=response.id or None,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                custom=bool(request.custom),
                provider=request.provider or None,
                inputs=inputs,
                region=region,
                dependencies=tuple(sorted(set(request.dependencies))),
                property_dependencies={
                    key: tuple(sorted(set(deps.urns))) for key, deps in sorted(request.propertyDependencies.items())
                },
                ignore_changes=tuple(request.ignoreChanges),
                protect=request.protect if request.HasField("protect") else None,
                retain_on_delete=request.retainOnDelete if request.HasField("retainOnDelete") else None,
                delete_before_replace=request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None,
                replace_on_changes=tuple(request.replaceOnChanges),
                aliases=tuple(_alias(a) for a in request.aliases) + tuple(request.aliasURNs),
                replace_with=tuple(sorted(request.replace_with)),
            )
        )
        return response

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802
        if self.stack_urn is not None and request.urn == self.stack_urn:
            self.stack_outputs = _struct(request.outputs)
        return super().RegisterResourceOutputs(request)


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@dataclass
class Graph:
    """What one run declared."""

    project: str
    stack: str
    preview: bool
    resources: list[Registration]
    outputs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    calls: list[Any] = field(default_factory=list)
    # Whether SSM held published images for the run (``ops synth --published-images``).
    published: bool = False

    def custom(self) -> Iterator[Registration]:
        return (r for r in self.resources if r.custom)

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def named(self, name: str) -> Registration:
        found = [r for r in self.resources if r.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} resources are named {name!r}")
        return found[0]

    def by_urn(self) -> dict[str, Registration]:
        return {r.urn: r for r in self.resources}

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` contract: stack, project, resources[urn,type,name,parent,region,custom,
        inputs,dependencies,options?], outputs, publishedImages (README: the graph contract)."""
        return {
            "stack": self.stack,
            "project": self.project,
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "parent": r.parent,
                    "region": r.region,
                    "custom": r.custom,
                    "inputs": r.inputs,
                    "dependencies": list(r.dependencies),
                    **({"options": options} if (options := r.options()) else {}),
                }
                for r in sorted(self.resources, key=lambda r: r.urn)
            ],
            "outputs": self.outputs,
            "publishedImages": self.published,
        }


def run(
    program: Callable[[], Any],
    *,
    project: str,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: tuple[str, ...] = (),
    preview: bool = False,
    ssm_parameters: Mapping[str, str] | None = None,
) -> Graph:
    """Run ``program`` under mocks with the given fully-qualified config (``project:key`` → text).

    ``ssm_parameters`` is what SSM holds (for example images a pipeline has published).
    """

    # str() of an Output raises instead of returning a warning text, so a program that formats
    # an Output into a name or a string fails the synth instead of shipping that text.
    os.environ["PULUMI_ERROR_OUTPUT_STRING"] = "1"
    # Offline only, never in a real `pulumi up`: a linear final drain (ops/drain.py); no work that
    # only the engine reads, and no Output per node of a plain value (ops/offline_sdk.py).
    drain.install()
    offline_sdk.install()

    def inner() -> Graph:
        mocks = RealisticMocks(stack=stack, preview=preview, ssm_parameters=dict(ssm_parameters or {}))
        monitor = RecordingMonitor(mocks)
        collector = _Collector()
        logger = logging.getLogger(f"devops-platform.synth.{id(collector)}")
        logger.propagate = False
        logger.addHandler(collector)
        # set_mocks builds a root stack unless one exists; a placeholder stops it, because the
        # run below builds the real one, as the language host does, so that exports reach the
        # engine as the stack's outputs.
        pulumi_settings.ROOT.set(object())  # type: ignore[arg-type]
        pulumi.runtime.set_mocks(
            mocks, project=project, stack=stack, preview=preview, monitor=monitor, logger=logger
        )
        pulumi_settings.ROOT.set(None)
        # MockSettings leaves these at their process-wide defaults, shared by every run: a failed
        # run's pending Outputs would then fail the next run. Each run gets its own.
        pulumi_settings.SETTINGS.outputs = set()
        pulumi_settings.SETTINGS.rpc_manager = RPCManager()
        pulumi.runtime.set_all_config(dict(config or {}), list(secret_keys))
        try:
            _sync_await(pulumi.runtime.run_in_stack(program))
        except BaseException as exc:
            # What had been declared when the run failed: a config error must have declared
            # nothing but the stack itself.
            exc.registrations = list(monitor.registrations)  # type: ignore[attr-defined]
            _cancel_leftovers()
            raise
        return Graph(
            project=project,
            stack=stack,
            preview=preview,
            resources=list(monitor.registrations),
            outputs=monitor.stack_outputs,
            warnings=list(collector.messages),
            calls=list(mocks.calls),
            published=bool(ssm_parameters),
        )

    with _few_gc_passes():
        return contextvars.Context().run(inner)


def _cancel_leftovers() -> None:
    """Cancel what a failed run left scheduled on the shared event loop, so it never runs later."""
    leftovers = [t for t in asyncio.all_tasks(asyncio.get_event_loop()) if not t.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        _sync_await(asyncio.gather(*leftovers, return_exceptions=True))


@contextlib.contextmanager
def _few_gc_passes() -> Iterator[None]:
    """Collect garbage rarely while a program runs.

    A run allocates many short-lived objects (Outputs, futures, protobufs) that live until the run
    ends, and each default young-generation pass rescans them all: the synth of 6 regions x 25
    services took 21 s with the default thresholds and 10 s with a 50 000-object young generation
    (benchmarks/synth.py). Every pass over the middle generation rescans everything that survived
    the young passes before it, which grows with the stack: the large config's run (about 100
    young passes) spent 2.3 s of CPU in its two middle passes when one came every 50 young passes,
    so prod's (about a dozen) had none and the large config cost 1.4x prod's time per resource.
    One every 1000 young passes keeps any run of up to ten times that size free of them, for about
    3 % more peak memory (the cyclic garbage those passes would have freed waits for the run's end).
    ``gc.freeze`` also keeps the imported modules' objects out of every pass.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 1000, 100)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def run_program(
    *,
    stack: str,
    config: Mapping[str, str],
    project: str = "devops-platform",
    secret_keys: tuple[str, ...] = (),
    preview: bool = False,
    root: Path = PROJECT_ROOT,
    ssm_parameters: Mapping[str, str] | None = None,
) -> Graph:
    """Run the project's real ``__main__.py``."""
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    main = root / "__main__.py"
    return run(
        lambda: runpy.run_path(str(main), run_name="__main__"),
        project=project,
        stack=stack,
        config=config,
        secret_keys=secret_keys,
        preview=preview,
        ssm_parameters=ssm_parameters,
    )
