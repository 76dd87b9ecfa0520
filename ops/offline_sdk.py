"""Offline-only shortcuts in the Pulumi SDK, for runs under mocks (ops.harness).

**Work only the real engine reads.** For every resource, ``pulumi.runtime.resource.register_resource``

- captures the program's stack (``_get_stack_trace``: ``traceback.extract_stack`` over every frame,
  then a file URI and line number for each frame below the resource's constructor) and sends it as
  the request's ``stackTrace`` and ``sourcePosition``, with which the engine points diagnostics at
  the program's line. The mock monitor and ops.harness's recording monitor never read them and the
  graph holds neither. The deeper a resource is declared, the more it costs: prod's registrations
  carry about 22 frames each.
- computes with ``create_urn`` the URN the resource would get if no monitor were attached (a chain
  of about six Outputs) and uses it only in that case. Offline runs always have the mock monitor,
  whose answer is the URN the graph records.

Offline, ``_get_stack_trace`` returns an empty trace (so there is no source position either), as
the SDK itself does when it finds no constructor frame, and ``create_urn`` builds the same URN as
one resolved Output when its parts are plain strings, as they are at that call (any other call
goes to the SDK's own).

**Lifting plain values.** ``Output.from_input`` (and ``Output.all``, which lifts each argument)
"deeply unwraps" a dict, list or tuple by giving every key, value and element its own Output and
gathering them again with a task, even when nothing in it is an Output; an Output it lifts with an
apply, which makes one more; ``Output.concat`` lifts each argument twice. ``Output.json_dumps`` of a
policy document, an apply that returns a dict, the stack's exports all go through it. The offline
versions compute the same result (value, known, secret, dependencies) with an Output only where
something is to be waited for: a part that holds no Output, input type, awaitable or unknown is
copied as the SDK's lifting rebuilds it (non-empty dicts, lists and tuples as plain ``dict``,
``list`` and ``tuple``, anything else as is); a container that holds some is one Output that
gathers only those parts, with callbacks rather than a task, under the SDK's rules: known if all
are, secret if any is, every part's resources, and a tuple with an unknown part ``None``; an Output
is lifted as the apply would (an unknown value becomes ``UNKNOWN``) in one Output; ``concat`` lifts
once. Anything else (an input type, an awaitable, an unknown, a dict with a key that is not a
string, which the SDK's lifting rejects) goes to the SDK's own. tests/test_offline_sdk.py compares
them with the SDK's on such values.

With all of this, prod's synth makes 20 800 Outputs instead of 41 600, and takes about 0.7 of the
time (benchmarks/synth.py --sdk-as-is). None of it changes a byte of the graph
(tests/test_offline_sdk.py runs a program with and without); what it changes is only when Outputs
resolve relative to each other, which the graph does not record. Only the offline harness installs them (ops.harness.run, as it installs
ops/drain.py). A real ``pulumi preview``/``up`` runs __main__.py in Pulumi's language host, which
never calls the harness: the engine still gets every stack trace and the SDK's own lifting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from inspect import isawaitable
from typing import Any

import pulumi
from pulumi import _types
from pulumi import output as pulumi_output
from pulumi.runtime import known_types, rpc
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime.proto import source_pb2

Output = pulumi_output.Output

ORIGINAL_GET_STACK_TRACE = pulumi_resource._get_stack_trace
ORIGINAL_CREATE_URN = pulumi_resource.create_urn
ORIGINAL_FROM_INPUT = Output.from_input
ORIGINAL_ALL = Output.all
ORIGINAL_CONCAT = Output.concat

_NO_STACK_TRACE = source_pb2.StackTrace()


def _get_stack_trace() -> source_pb2.StackTrace:
    return _NO_STACK_TRACE


def create_urn(
    name: Any, type_: Any, parent: Any = None, project: str | None = None, stack: str | None = None
) -> pulumi.Output[str]:
    """``pulumi.runtime.resource.create_urn`` for plain strings, without the Output chain."""
    if not (isinstance(name, str) and isinstance(type_, str) and (parent is None or isinstance(parent, str))):
        return ORIGINAL_CREATE_URN(name, type_, parent, project, stack)
    # The SDK's arithmetic: a parent's URN up to its last "::", then "$".
    if parent is not None:
        prefix = parent[: parent.rfind("::")] + "$"
    else:
        stack = stack if stack is not None else pulumi.get_stack()
        project = project if project is not None else pulumi.get_project()
        prefix = f"urn:pulumi:{stack}::{project}::"
    return _resolved(f"{prefix}{type_}::{name}")


def _resolved(value: Any) -> Output:
    """A known, non-secret Output of ``value`` without dependencies: the SDK's own prompt value."""
    data: asyncio.Future = asyncio.Future()
    data.set_result(pulumi_output._OutputData(resources=set(), value=value, is_known=True, is_secret=False))
    return Output._from_data(data)


def _lift(value: Any) -> tuple[bool, Any]:
    """``(True, copy)`` when ``value`` holds nothing to wait for, the copy being what the SDK's lifting
    rebuilds; else ``(False, output)``, an Output equal to ``Output.from_input(value)``."""
    if isinstance(value, Output):
        return False, _lift_output(value)
    if _types.is_input_type(type(value)):
        return False, ORIGINAL_FROM_INPUT(value)
    if isinstance(value, dict) and value:
        if not all(isinstance(key, str) for key in value):
            return False, ORIGINAL_FROM_INPUT(value)
        return _combine(list(value), [_lift(v) for v in value.values()], dict)
    if isinstance(value, (list, tuple)) and value:
        return _combine(None, [_lift(v) for v in value], tuple if isinstance(value, tuple) else list)
    if known_types.is_unknown(value) or isawaitable(value):
        return False, ORIGINAL_FROM_INPUT(value)
    return True, value


def _when_done(
    futures: list[asyncio.Future], then: Callable[[list[Any]], Any], result: asyncio.Future | None = None
) -> asyncio.Future:
    """A future of ``then(their results)`` once all ``futures`` are done, or failed with the first of
    them to fail, as ``asyncio.gather`` fails; a callback on each, instead of a task that awaits them."""
    if result is None:
        result = asyncio.Future()
    remaining = len(futures)

    def done(future: asyncio.Future) -> None:
        nonlocal remaining
        if result.done():
            return
        if future.cancelled():
            result.set_exception(asyncio.CancelledError())
            return
        if future.exception() is not None:
            result.set_exception(future.exception())  # type: ignore[arg-type]
            return
        remaining -= 1
        if remaining == 0:
            try:
                then([f.result() for f in futures])
            except BaseException as exc:  # the Output fails, as a task running `then` would
                result.set_exception(exc)

    for future in futures:
        future.add_done_callback(done)
    return result


def _combine(keys: list[str] | None, parts: list[tuple[bool, Any]], kind: type) -> tuple[bool, Any]:
    """A dict (``keys``), list or tuple of lifted parts: plain if every part is, else one Output."""
    if all(plain for plain, _ in parts):
        values = [v for _, v in parts]
        return True, (dict(zip(keys, values, strict=True)) if keys is not None else kind(values))
    result: asyncio.Future = asyncio.Future()

    def combined(pending: list[pulumi_output._OutputData]) -> None:
        data = iter(pending)
        values: list[Any] = []
        resources: set[pulumi.Resource] = set()
        known, secret = True, False
        for plain, part in parts:
            if plain:
                values.append(part)
                continue
            got = next(data)
            values.append(got.value)
            resources |= got.resources
            known = known and got.is_known
            secret = secret or got.is_secret
        if keys is not None:
            value: Any = dict(zip(keys, values, strict=True))
        elif kind is tuple:
            # The SDK's tuple is an apply(tuple) of its elements: not run when one is unknown.
            value = tuple(values) if known else None
        else:
            value = values
        result.set_result(
            pulumi_output._OutputData(resources=resources, value=value, is_known=known, is_secret=secret)
        )

    _when_done([part._data for plain, part in parts if not plain], combined, result)
    return False, Output._from_data(result)


def _lift_output(output: Output) -> Output:
    """``Output.from_input`` of an Output: the SDK's ``output.apply(Output.from_input, True)``,
    without the apply's Output for a plain value."""
    result: asyncio.Future = asyncio.Future()

    def lifted(outer: list[pulumi_output._OutputData]) -> None:
        (data,) = outer
        value = data.value
        # As the apply does for a callback that runs with unknowns.
        if not data.is_known and not rpc.contains_unknowns(value):
            value = pulumi_output.UNKNOWN
        plain, part = _lift(value)
        if plain:
            result.set_result(
                pulumi_output._OutputData(
                    resources=set(data.resources), value=part, is_known=True, is_secret=data.is_secret
                )
            )
            return

        def inner_done(inner: list[pulumi_output._OutputData]) -> None:
            (got,) = inner
            result.set_result(
                pulumi_output._OutputData(
                    resources=data.resources | got.resources,
                    value=got.value,
                    is_known=got.is_known,
                    is_secret=got.is_secret or data.is_secret,
                )
            )

        _when_done([part._data], inner_done, result)

    output._untrack()  # as apply does: the lifted Output carries any fault of this one
    _when_done([output._data], lifted, result)
    return Output._from_data(result)


def from_input(val: Any) -> Output:
    """``Output.from_input`` with plain parts lifted without Outputs (module docstring)."""
    if isinstance(val, Output):
        return _lift_output(val)
    if _types.is_input_type(type(val)) or not (isinstance(val, (dict, list, tuple)) and val):
        return ORIGINAL_FROM_INPUT(val)
    plain, lifted = _lift(val)
    return _resolved(lifted) if plain else lifted


def all_(*args: Any, **kwargs: Any) -> Output:
    """``Output.all`` with plain arguments lifted without Outputs (module docstring)."""
    if args and kwargs:
        return ORIGINAL_ALL(*args, **kwargs)  # the SDK's own error
    parts = [_lift(v) for v in (kwargs.values() if kwargs else args)]
    plain, combined = _combine(list(kwargs) if kwargs else None, parts, list)
    return _resolved(combined) if plain else combined


def concat(*args: Any) -> Output:
    """``Output.concat``: the SDK lifts each argument twice (``from_input``, then ``all``); once
    gives the same data."""
    return all_(*args).apply("".join)  # type: ignore[arg-type]


def install() -> None:
    """Use the shortcuts for runs in this process (idempotent)."""
    pulumi_resource._get_stack_trace = _get_stack_trace
    pulumi_resource.create_urn = create_urn
    Output.from_input = staticmethod(from_input)  # type: ignore[method-assign,assignment]
    Output.all = staticmethod(all_)  # type: ignore[method-assign,assignment]
    Output.concat = staticmethod(concat)  # type: ignore[method-assign,assignment]


def uninstall() -> None:
    """Back to the SDK's own (tests and benchmarks/synth.py --sdk-as-is compare the two)."""
    pulumi_resource._get_stack_trace = ORIGINAL_GET_STACK_TRACE
    pulumi_resource.create_urn = ORIGINAL_CREATE_URN
    Output.from_input = staticmethod(ORIGINAL_FROM_INPUT)  # type: ignore[method-assign,assignment]
    Output.all = staticmethod(ORIGINAL_ALL)  # type: ignore[method-assign,assignment]
    Output.concat = staticmethod(ORIGINAL_CONCAT)  # type: ignore[method-assign,assignment]


def installed() -> bool:
    """Whether this process runs with the shortcuts (only after an offline harness run)."""
    return (
        pulumi_resource._get_stack_trace is _get_stack_trace
        and pulumi_resource.create_urn is create_urn
        and Output.from_input is from_input
        and Output.all is all_
        and Output.concat is concat
    )
