"""ops/offline_sdk.py: the offline harness's shortcuts in the SDK give the SDK's own results, leave
the graph as it was, and reach no process but the offline harness's."""

from __future__ import annotations

import asyncio
import collections
import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pulumi
import pulumi_aws as aws
import pytest

from ops import harness, offline_sdk
from ops.harness import Registration

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sdk_as_is(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[bool], None]]:
    """``use(shortcuts)``: the harness runs that follow install the shortcuts or leave the SDK as is.
    The process gets back whatever it had (the shortcuts live on the SDK's classes)."""
    had = offline_sdk.installed()
    install = offline_sdk.install

    def use(shortcuts: bool) -> None:
        monkeypatch.setattr(offline_sdk, "install", install if shortcuts else lambda: None)
        if not shortcuts:
            offline_sdk.uninstall()

    yield use
    offline_sdk.install() if had else offline_sdk.uninstall()


# --- the same results as the SDK's ----------------------------------------------------------------

Point = collections.namedtuple("Point", "x y")


def output(value: Any, *, known: bool = True, secret: bool = False, resources: tuple[str, ...] = (),
           later: bool = False, error: Exception | None = None) -> pulumi.Output:  # fmt: skip
    """An Output as the SDK builds one from a registration: ``resources`` stand for the resources it
    depends on; ``later``: it resolves on a later turn of the event loop, as a registration's do."""
    loop = asyncio.get_event_loop()

    def future(v: Any) -> asyncio.Future:
        f = loop.create_future()
        if error is not None and v is value:
            f.set_exception(error)
        elif later:
            loop.call_soon(f.set_result, v)
        else:
            f.set_result(v)
        return f

    return pulumi.Output(set(resources), future(value), future(known), future(secret))


def lift(value: Any) -> pulumi.Output:
    return pulumi.Output.from_input(value)  # looked up at each call: the SDK's or the offline one


def every(*args: Any, **kwargs: Any) -> pulumi.Output:
    return pulumi.Output.all(*args, **kwargs)


def concat(*args: Any) -> pulumi.Output:
    return pulumi.Output.concat(*args)


def _lifting_cases() -> dict[str, Callable[[], pulumi.Output]]:
    return {
        "scalar": lambda: lift("a"),
        "empty containers": lambda: lift({"d": {}, "l": [], "t": ()}),
        "plain nested": lambda: lift({"a": [1, (2, 3), {"b": None}], "c": (4, [5])}),
        "dict and tuple subclasses": lambda: lift([collections.OrderedDict(z=1, a=2), Point(1, 2)]),
        "a key that is not a string": lambda: lift({1: "one"}),
        "a known Output in a list": lambda: lift(["a", output("b", resources=("r1",), later=True)]),
        "a secret in a dict": lambda: lift({"plain": 1, "secret": output("s", secret=True)}),
        "an unknown in a dict": lambda: lift({"a": 1, "b": output(None, known=False, resources=("r2",))}),
        "an unknown in a tuple": lambda: lift(("a", output("b", known=False))),
        "a known tuple of Outputs": lambda: lift((output("a"), output("b", resources=("r3",)))),
        "an unknown Output": lambda: lift(output(None, known=False, resources=("r4",))),
        "an unknown Output holding a dict": lambda: lift(output({"a": 1}, known=False)),
        "an Output of a dict of Outputs": lambda: lift(
            output({"x": output("y", resources=("r5",), later=True), "z": [1]}, resources=("r6",))
        ),
        "an input type": lambda: lift({"tags": aws.ec2.VpcArgs(cidr_block=output("10.0.0.0/16"))}),
        "an object kept as is": lambda: lift({"leaf": Point}),
        "an awaitable": lambda: lift([asyncio.sleep(0, result="slept")]),
        "a failing Output": lambda: lift(["a", output("b", error=ValueError("boom"))]),
        "all of nothing": lambda: every(),
        "all, plain": lambda: every("a", [1, 2], {"b": (3,)}),
        "all, mixed": lambda: every("a", output("b", resources=("r7",), later=True), [output("c", secret=True)]),
        "all, keywords": lambda: every(a=1, b=output({"c": output("d")}, resources=("r8",))),
        "all, an unknown": lambda: every(output(None, known=False), (1, 2)),
        "concat": lambda: concat("arn:", output("aws", later=True), ":iam::", output("1234", secret=True)),
    }


def _comparable(value: Any) -> Any:
    """``value`` with every container's exact type spelled out (a namedtuple equals its tuple)."""
    if isinstance(value, dict):
        return (type(value).__name__, [(k, _comparable(v)) for k, v in value.items()])
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_comparable(v) for v in value])
    if hasattr(type(value), "_pulumi_input_type"):
        return (type(value).__name__, _comparable(dict(vars(value))))
    return value


def _describe(data: Any) -> tuple:
    return (_comparable(data.value), data.is_known, data.is_secret, sorted(map(str, data.resources)))


def _lift_in_a_run(case: Callable[[], pulumi.Output]) -> tuple:
    """What the Output resolves to, in a harness run (or the error the run failed with)."""
    seen: list[tuple] = []

    def program() -> None:
        result = case()
        result._data.add_done_callback(
            lambda f: seen.append(("failed", repr(f.exception())) if f.exception() else _describe(f.result()))
        )

    try:
        harness.run(program, project="lift", stack="test")
    except Exception as exc:  # the run fails with the Output's failure
        return ("run failed", type(harness.cause_of_type(exc, ValueError) or exc).__name__, *seen)
    return seen[0]


@pytest.mark.parametrize("name", list(_lifting_cases()))
def test_lifting_gives_the_sdks_value_known_secret_and_dependencies(name, sdk_as_is):
    case = _lifting_cases()[name]
    sdk_as_is(False)
    expected = _lift_in_a_run(case)
    sdk_as_is(True)
    got = _lift_in_a_run(case)
    assert offline_sdk.installed()
    assert got == expected


def test_the_offline_urn_is_the_sdks(sdk_as_is):
    sdk_as_is(True)
    seen: dict[str, list[str]] = {"sdk": [], "offline": []}
    calls = [
        ("bucket", "aws:s3/bucket:Bucket", None, None, None),
        ("bucket", "aws:s3/bucket:Bucket", None, "other-project", "other-stack"),
        ("child", "aws:iam/role:Role", "urn:pulumi:test::urn::my:index:Group::group", None, None),
        ("odd", "my:index:Thing", "", None, None),
    ]

    def program() -> None:
        for key, create in (("sdk", offline_sdk.ORIGINAL_CREATE_URN), ("offline", offline_sdk.create_urn)):
            for args in calls:
                create(*args).apply(seen[key].append)

    harness.run(program, project="urn", stack="test")
    assert seen["offline"] == seen["sdk"] and len(seen["sdk"]) == len(calls)
    assert seen["sdk"][0] == "urn:pulumi:test::urn::aws:s3/bucket:Bucket::bucket"


# --- the same graph ---------------------------------------------------------------------------------


def _program() -> None:
    """Components with aliases and providers, Outputs in policy documents, tags, tuples, a secret,
    dependencies, and exports: what the real program does, small."""
    provider = aws.Provider("aws-eu", region="eu-west-1")
    group = pulumi.ComponentResource(
        "test:index:Group", "group", None, pulumi.ResourceOptions(providers=[provider], aliases=[pulumi.Alias(name="old")])
    )
    child = pulumi.ResourceOptions(parent=group, provider=provider)
    bucket = aws.s3.Bucket("logs", tags={"Name": "logs", "Team": "platform"}, opts=child)
    trust = pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"ArnLike": {"aws:SourceArn": [bucket.arn, pulumi.Output.concat(bucket.arn, "/*")]}},
                }
            ],
        }
    )
    role = aws.iam.Role(
        "role",
        assume_role_policy=trust,
        tags=pulumi.Output.all(name=bucket.bucket, size=("s", "m")).apply(lambda a: {"Bucket": a["name"], "Size": a["size"][1]}),
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(aliases=[pulumi.Alias(name="old-role")])),
    )
    aws.iam.RolePolicy(
        "policy",
        role=role.name,
        policy=pulumi.Output.all(bucket.arn, role.arn).apply(lambda arns: json.dumps({"Resource": arns})),
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[bucket])),
    )
    aws.ssm.Parameter(
        "token",
        type="SecureString",
        value=pulumi.Output.secret("s3cr3t"),
        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[role])),
    )
    group.register_outputs({"bucket": bucket.bucket})
    pulumi.export("summary", {"bucket": bucket.bucket, "ports": (80, 443), "arns": [bucket.arn, role.arn]})


class _StackTraces(harness.RecordingMonitor):
    frames: ClassVar[list[int]] = []

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        _StackTraces.frames.append(len(request.stackTrace.frames))
        return super().RegisterResource(request)


def _graph(preview: bool) -> tuple[list[Registration], dict[str, Any], list[str], list[int]]:
    _StackTraces.frames = []
    graph = harness.run(_program, project="offline", stack="test", preview=preview)
    return sorted(graph.resources, key=lambda r: r.urn), graph.outputs, graph.warnings, _StackTraces.frames


@pytest.mark.parametrize("preview", [False, True], ids=["update", "preview"])
def test_the_graph_is_the_same_with_and_without_the_shortcuts(preview, sdk_as_is, monkeypatch):
    monkeypatch.setattr(harness, "RecordingMonitor", _StackTraces)
    sdk_as_is(False)
    *expected, sdk_frames = _graph(preview)
    sdk_as_is(True)
    *got, offline_frames = _graph(preview)
    assert got == expected
    resources, outputs, _ = got
    assert len(resources) == 7 and outputs["summary"]["ports"] == [80, 443]
    # The shortcuts were at work: the SDK sends the engine a stack trace with each resource it can
    # place (not the stack, nor a ComponentResource made directly); the offline run sends none.
    assert sum(1 for f in sdk_frames if f) >= 5 and not any(offline_frames)


# --- only the offline harness installs them ---------------------------------------------------------

_REAL_PATHS = """
import ast, importlib, sys
import pulumi
from pulumi.runtime import resource, stack

def sdk_as_is():
    patched = (resource._get_stack_trace, resource.create_urn, pulumi.Output.from_input, pulumi.Output.all,
               pulumi.Output.concat, stack.wait_for_rpcs)
    return all(f.__module__.startswith("pulumi.") for f in patched)

# What Pulumi's language host imports when `pulumi up` runs __main__.py.
for node in ast.walk(ast.parse(open("__main__.py").read())):
    for name in [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module] if isinstance(node, ast.ImportFrom) else []:
        importlib.import_module(name)
states = [sdk_as_is() and not any(m in sys.modules for m in ("ops.harness", "ops.offline_sdk", "ops.drain"))]

from ops.__main__ import main  # the CLI: the driver, the synth and the harness, imported
states.append(sdk_as_is())

class Result:
    change_summary, outputs = {}, {}

class Stack:  # stands in for the Automation API's stack, which hands the program to the Pulumi CLI
    def __init__(self):
        self.calls = []
    def outputs(self):
        return {}
    def __getattr__(self, operation):
        return lambda **options: self.calls.append(operation) or Result()

for verb, extra in (("preview", []), ("up", ["--allow-placeholders"]), ("refresh", []), ("destroy", ["--yes"])):
    fake = Stack()
    code = main([verb, "prod", *extra], open_stack=lambda name, work_dir, create: fake,
                which=lambda _: "/usr/local/bin/pulumi", preflight=lambda name: 0)
    assert code == 0 and fake.calls == [verb], (verb, code, fake.calls)
    states.append(sdk_as_is())
from ops import harness, offline_sdk
harness.run(lambda: None, project="p", stack="s")
states.append(offline_sdk.installed())
print(states)
"""


def test_only_the_offline_harness_installs_the_shortcuts():
    # A fresh interpreter, as this one has run the harness already.
    run = subprocess.run([sys.executable, "-c", _REAL_PATHS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    program, cli, preview, up, refresh, destroy, offline = json.loads(run.stdout.strip().splitlines()[-1].lower())
    # The program as the language host runs it never reaches the harness; the CLI's driver verbs,
    # which hand the program to the Pulumi CLI, leave the SDK as is; an offline run installs them.
    assert program and cli and preview and up and refresh and destroy
    assert offline
