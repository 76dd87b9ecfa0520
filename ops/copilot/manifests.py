"""Read a Copilot workspace into checked manifests.

A workspace is a directory with ``copilot/``: ``copilot/<workload>/manifest.yml`` per service or
job, ``copilot/pipelines/<name>/manifest.yml`` per pipeline (or the legacy ``copilot/pipeline.yml``),
``copilot/environments/<env>/manifest.yml`` per environment, and ``copilot/.workspace``, whose
``application`` names the app.

Each manifest is read as Copilot's own YAML library (Go's yaml.v3) reads it: plain scalars resolve
by YAML 1.2's core schema (only true and false are booleans, so ``on:``, the Scheduled Job's trigger
key, stays a key; no sexagesimal, 0NNN octal, underscores or dates), a field Copilot declares as a
string keeps the manifest's text (``PY: 3.10`` is ``"3.10"``), and a key given twice in one map is
an error. The keys the importer reads are checked for their types; a key it does not read is not
checked (it is reported as not imported). A manifest that cannot be read, repeats a key or has a key
of the wrong type raises :class:`ManifestError`, one line naming the file and the key.

:func:`apply_environment` applies ``environments.<env>`` as Copilot does, and :func:`substitute`
resolves Copilot's predefined variables (docs/migrating-from-copilot.md says why these rules).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .report import show


class ManifestError(Exception):
    """A manifest that cannot be imported as written; the message is one line naming file and key."""


# --- YAML ---------------------------------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_MERGE = _TAG + "merge"


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader resolving plain scalars as Copilot's YAML library (Go's yaml.v3) does,
    by YAML 1.2's core schema: ``on``, ``yes`` and ``no`` are text, and so are ``1:30`` and a date.
    Integers are yaml.v3's: underscores dropped, then Go's prefixes (``0x``, ``0o``, ``0b``, and a
    leading 0 for octal); that matters only where a number is expected, as a string field keeps
    the text (:class:`Scalar`)."""


_Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in (
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("int", r"^[-+]?(?:0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$", list("-+0123456789")),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+0123456789."),
    ),
    ("merge", r"^<<$", ["<"]),
):
    _Loader.add_implicit_resolver(_TAG + _tag, re.compile(_regexp), _first)


class Scalar:
    """A scalar as the manifest has it: ``text`` is the source, ``value`` what the core schema makes
    of it. Copilot reads a field whose Go type is a string from the source text (``PY: 3.10`` is
    ``"3.10"``, not 3.1); :func:`check` takes ``text`` for those fields and ``value`` for the rest."""

    __slots__ = ("text", "value")

    def __init__(self, text: str, value: Any):
        self.text, self.value = text, value

    def __repr__(self) -> str:
        return f"Scalar({self.text!r})"


def resolve(data: Any) -> Any:
    """``data`` with every :class:`Scalar` replaced by its value."""
    if isinstance(data, Scalar):
        return data.value
    if isinstance(data, dict):
        return {k: resolve(v) for k, v in data.items()}
    if isinstance(data, list):
        return [resolve(v) for v in data]
    return data


def text_of(value: Any) -> str | None:
    """A string field's value as Copilot reads it: a scalar's source text (None for null)."""
    if isinstance(value, Scalar):
        return None if value.value is None else value.text
    return value if isinstance(value, str) else None


class _YamlProblem(yaml.YAMLError):
    def __init__(self, problem: str, mark: Any):
        self.problem, self.problem_mark = problem, mark


def _scalar(node: yaml.ScalarNode) -> Scalar:
    text, tag = node.value, node.tag.removeprefix(_TAG)
    try:
        if tag == "str":
            return Scalar(text, text)
        if tag == "null":
            return Scalar(text, None)
        if tag == "bool":
            return Scalar(text, {"true": True, "false": False}[text.lower()])
        if tag == "int":
            body = text.lstrip("+-").replace("_", "")
            if body[:2] in ("0b", "0o", "0x"):
                number = int(body[2:], {"b": 2, "o": 8, "x": 16}[body[1]])
            elif len(body) > 1 and body.startswith("0"):
                # Go reads a leading 0 as octal; yaml.v3 falls back to a float where that fails (089).
                number = int(body, 8) if set(body) <= set("01234567") else float(body)  # type: ignore[assignment]
            else:
                number = int(body)
            return Scalar(text, -number if text.startswith("-") else number)
        if tag == "float":
            lowered = text.lower()
            if lowered.lstrip("+-") in (".inf", ".nan"):
                return Scalar(text, float(lowered.replace(".", "")))
            return Scalar(text, float(text))
    except (KeyError, ValueError):
        raise _YamlProblem(f"{text!r} is not a {tag}", node.start_mark) from None
    raise _YamlProblem(f"the tag {node.tag} is not one Copilot reads", node.start_mark)


def _pairs(node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
    """The mapping's key and value nodes with ``<<`` merges expanded (without changing the node):
    merged pairs first, so the mapping's own keys win, and the first of several merged maps wins."""
    merged: list[tuple[yaml.Node, yaml.Node]] = []
    own = []
    for key, value in node.value:
        if key.tag != _MERGE:
            own.append((key, value))
            continue
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in reversed(sources):
            if not isinstance(source, yaml.MappingNode):
                raise _YamlProblem("<< merges a map or a list of maps", source.start_mark)
            merged.extend(_pairs(source))
    return merged + own


def _build(node: yaml.Node, path: str, active: set[int], built: dict[int, Any]) -> Any:
    """The node as dicts, lists and :class:`Scalar`; a key given twice in one map is an error.
    A node an alias repeats is built once (``built``), so nested aliases cannot blow up."""
    if isinstance(node, yaml.ScalarNode):
        return _scalar(node)
    if id(node) in active:
        raise _YamlProblem("an alias refers to a node that contains it", node.start_mark)
    if id(node) in built:
        return built[id(node)]
    active = active | {id(node)}
    if isinstance(node, yaml.SequenceNode):
        built[id(node)] = [_build(item, f"{path}[{i}]", active, built) for i, item in enumerate(node.value)]
        return built[id(node)]
    lines: dict[str, int] = {}
    for key, _ in node.value:
        if key.tag == _MERGE:
            continue
        if not isinstance(key, yaml.ScalarNode):
            raise _YamlProblem("a key is a single value, not a map or a list", key.start_mark)
        if key.value in lines:
            raise _YamlProblem(
                f"{_join(path, key.value)}: given twice in one map (lines {lines[key.value]} and "
                f"{key.start_mark.line + 1}); Copilot's YAML library refuses a repeated key",
                None,
            )
        lines[key.value] = key.start_mark.line + 1
    built[id(node)] = {str(key.value): _build(value, _join(path, key.value), active, built) for key, value in _pairs(node)}
    return built[id(node)]


def read_yaml(path: Path, shown: str) -> Any:
    """The file as dicts, lists and :class:`Scalar` (None when empty); ManifestError, one line
    naming the file (and the line or key), when it cannot be read."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{shown}: cannot be read ({getattr(exc, 'strerror', None) or exc})") from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        return None if node is None else _build(node, "", set(), {})
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if isinstance(exc, _YamlProblem) and mark is None:
            raise ManifestError(f"{shown}: {problem}") from None
        raise ManifestError(f"{shown}:{where} is not valid YAML ({problem})") from None
    finally:
        loader.dispose()


# --- types of the keys the importer reads -------------------------------------------------------

DURATION_ALLOWED = "a duration such as 30s, 2m or 1h30m"
_DURATION_RE = re.compile(r"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_YAML11_BOOLS = {"on": True, "yes": True, "y": True, "off": False, "no": False, "n": False}


def duration_seconds(text: str) -> float:
    """A Go duration (``1h30m``, ``500ms``) in seconds; the text was checked as ``Duration``."""
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


@dataclass(frozen=True)
class Kind:
    """A scalar kind: ``accept`` returns the value (normalized) or raises ValueError. A ``text``
    kind is a Go string field: it gets a scalar's source text, whatever the scalar resolves to."""

    what: str
    accept: Callable[[Any], Any]
    text: bool = False


def _string(value: Any) -> Any:
    if not isinstance(value, str):
        raise ValueError
    return value


def _whole(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError
    return value


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError
    return value


def _boolean(value: Any) -> Any:
    # Copilot's YAML library still takes YAML 1.1's on/off/yes/no where a boolean is expected.
    if isinstance(value, str) and value.lower() in _YAML11_BOOLS:
        return _YAML11_BOOLS[value.lower()]
    if not isinstance(value, bool):
        raise ValueError
    return value


def _duration(value: Any) -> Any:
    if not isinstance(value, str) or not _DURATION_RE.match(value.strip()):
        raise ValueError
    return value.strip()


def _null(value: Any) -> Any:
    if value is not None:
        raise ValueError
    return value


def _any_map(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError
    return value


STR = Kind("a string", _string, text=True)
INT = Kind("a whole number", _whole)
NUM = Kind("a number", _number)
BOOL = Kind("true or false", _boolean)
DURATION = Kind(DURATION_ALLOWED, _duration)
NULL = Kind("nothing", _null)
MAP = Kind("a map", _any_map)


@dataclass(frozen=True)
class MapOf:
    """A map with keys of the user's choosing (variables, secrets, environments), each value ``of``."""

    of: Any


@dataclass(frozen=True)
class ListOf:
    of: Any


# A dict spec is a map with known keys; keys it does not list are not checked. A tuple is
# "one of these".
COOLDOWN = {"in": DURATION, "out": DURATION}
SCALING = (INT, {"value": INT, "cooldown": COOLDOWN})
HEALTHCHECK = {
    "path": STR,
    "port": INT,
    "success_codes": (STR, INT),
    "healthy_threshold": INT,
    "unhealthy_threshold": INT,
    "interval": DURATION,
    "timeout": DURATION,
    "grace_period": DURATION,
}
BUILD = (STR, {"dockerfile": STR, "context": STR, "target": STR, "args": MAP, "cache_from": ListOf(STR)})
IMAGE = {
    "build": BUILD,
    "location": STR,
    "port": INT,
    "healthcheck": {"command": ListOf(STR), "interval": DURATION, "retries": INT, "timeout": DURATION, "start_period": DURATION},
}
COUNT = (
    INT,
    {
        "range": (STR, {"min": INT, "max": INT, "spot_from": INT}),
        "spot": INT,
        "cooldown": COOLDOWN,
        "cpu_percentage": SCALING,
        "memory_percentage": SCALING,
        "requests": SCALING,
        "response_time": (DURATION, {"value": DURATION, "cooldown": COOLDOWN}),
    },
)
WORKLOAD = {
    "name": STR,
    "type": STR,
    "image": IMAGE,
    "cpu": INT,
    "memory": INT,
    "platform": (STR, {"osfamily": STR, "architecture": STR}),
    "count": COUNT,
    "http": (BOOL, {"path": STR, "healthcheck": (STR, HEALTHCHECK)}),
    "variables": MapOf((STR, NUM, BOOL, NULL, MAP)),
    "secrets": MapOf((STR, {"secretsmanager": STR, "from_cfn": STR})),
    "deployment": {
        "rolling": STR,
        "rollback_alarms": (ListOf(STR), {"cpu_utilization": NUM, "memory_utilization": NUM, "messages_delayed": INT}),
    },
    "storage": {"volumes": MapOf({"path": STR, "read_only": BOOL, "efs": (BOOL, MAP)}), "readonly_fs": BOOL},
    "on": {"schedule": STR},
    "command": (STR, ListOf(STR)),
    "entrypoint": (STR, ListOf(STR)),
    "env_file": STR,
    "retries": INT,
    "timeout": DURATION,
}
PIPELINE = {
    "name": STR,
    "source": {
        "provider": STR,
        "properties": {"branch": STR, "repository": STR, "connection_name": STR, "connection_arn": STR},
    },
    "build": MAP,
    "stages": ListOf(
        {
            "name": STR,
            "requires_approval": BOOL,
            "test_commands": ListOf(STR),
            "deployments": MapOf((NULL, {"depends_on": ListOf(STR)})),
            "pre_deployments": MAP,
            "post_deployments": MAP,
        }
    ),
}
ENVIRONMENT = {
    "name": STR,
    "type": STR,
    "network": {"vpc": {"flow_logs": (BOOL, {"retention": INT})}},
    "http": {
        "public": {
            "certificates": ListOf(STR),
            "ssl_policy": STR,
            "access_logs": (BOOL, MAP),
            "ingress": {"source_ips": ListOf(STR)},
        }
    },
}


def _what(spec: Any) -> str:
    if isinstance(spec, Kind):
        return spec.what
    if isinstance(spec, dict | MapOf):
        return "a map"
    if isinstance(spec, ListOf):
        return f"a list of {_what(spec.of).removeprefix('a ')}s" if isinstance(spec.of, Kind) else "a list"
    return " or ".join(dict.fromkeys(_what(s) for s in spec))


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def check(value: Any, spec: Any, path: str, shown: str) -> Any:
    """``value`` (as :func:`read_yaml` returns it) checked against ``spec`` and resolved: a string
    field takes the scalar's source text, YAML 1.1 booleans are booleans where one is expected; a
    key ``spec`` does not list is resolved unchecked. Else ManifestError naming ``shown`` (the
    file) and ``path`` (the key)."""
    if isinstance(spec, tuple):
        for option in spec:
            try:
                return check(value, option, path, shown)
            except ManifestError as exc:
                # A map of the right shape with a wrong key inside: that key is the error.
                if isinstance(value, dict) and isinstance(option, dict) and _inner(exc, shown, path):
                    raise
        raise ManifestError(f"{shown}: {path}: got {show(resolve(value))}; {_what(spec)} is needed")
    if isinstance(spec, Kind):
        given = text_of(value) if spec.text and isinstance(value, Scalar) and value.value is not None else resolve(value)
        try:
            return spec.accept(given)
        except ValueError:
            raise ManifestError(f"{shown}: {path}: got {show(resolve(value))}; {spec.what} is needed") from None
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            raise ManifestError(f"{shown}: {path}: got {show(resolve(value))}; {_what(spec)} is needed")
        return [check(v, spec.of, f"{path}[{i}]", shown) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        raise ManifestError(f"{shown}: {path}: got {show(resolve(value))}; a map is needed")
    if isinstance(spec, MapOf):
        return {str(k): check(v, spec.of, _join(path, k), shown) for k, v in value.items()}
    checked = {}
    for key, item in value.items():
        key = str(key)
        if resolve(item) is None or key not in spec:
            # An empty key is what Copilot's YAML library leaves unset; others are not read.
            checked[key] = resolve(item)
            continue
        checked[key] = check(item, spec[key], _join(path, key), shown)
    return checked


def _inner(exc: ManifestError, shown: str, path: str) -> bool:
    return str(exc).startswith(f"{shown}: {path}.") if path else True


# --- environment overrides ----------------------------------------------------------------------

# Keys that exclude each other under one parent: an override that sets one unsets the others in
# the base, as Copilot's merge does (internal/pkg/manifest/transform.go: the image and count
# transformers). Other either-or values (count: 2 vs a map, healthcheck: "/x" vs a map, a secret's
# name vs secretsmanager) are a scalar against a map, which replaces anyway.
_AUTOSCALING = ("range", "cpu_percentage", "memory_percentage", "requests", "response_time", "queue_delay")
_UNSETS: dict[tuple[str, ...], dict[str, tuple[str, ...]]] = {
    ("image",): {"build": ("location",), "location": ("build",)},
    ("count",): {"spot": (*_AUTOSCALING, "cooldown"), **{k: ("spot",) for k in _AUTOSCALING}},
}


def merge(base: Any, override: Any, path: tuple[str, ...] = ()) -> Any:
    """Copilot's override: maps merge key by key, anything else (a scalar, a list, a map where
    the base has a scalar) replaces, and an empty value leaves the base as it was."""
    if not (isinstance(base, dict) and isinstance(override, dict)):
        return override
    merged = dict(base)
    for key, unsets in _UNSETS.get(path, {}).items():
        if override.get(key) is not None:
            for other in unsets:
                merged.pop(other, None)
    for key, value in override.items():
        if value is None:
            continue
        merged[key] = merge(merged.get(key), value, (*path, str(key)))
    return merged


def apply_environment(data: dict[str, Any], environment: str | None) -> dict[str, Any]:
    """The manifest as Copilot deploys it to ``environment``: its ``environments.<environment>``
    merged over the rest (``environments`` itself removed). None: the base manifest."""
    base = {k: v for k, v in data.items() if k != "environments"}
    overrides = (data.get("environments") or {}).get(environment) if environment else None
    return merge(base, overrides) if overrides else base


# --- variables ----------------------------------------------------------------------------------

_VARIABLE = re.compile(r"(\\?)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DROP = object()


def substitute(data: Any, known: dict[str, str]) -> tuple[Any, list[tuple[str, list[str]]]]:
    """Resolve ``${NAME}`` in every string from ``known``; ``\\${NAME}`` is the literal text.

    A string that names a variable not in ``known`` (one Copilot read from the deploying shell)
    cannot be resolved here: its key is left out, and returned as (key path, [names]). A list
    with such a string is left out whole.
    """
    unresolved: list[tuple[str, list[str]]] = []

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, str):
            missing = [m.group(2) for m in _VARIABLE.finditer(value) if not m.group(1) and m.group(2) not in known]
            if missing:
                unresolved.append((path, missing))
                return _DROP
            return _VARIABLE.sub(lambda m: "${" + m.group(2) + "}" if m.group(1) else known[m.group(2)], value)
        if isinstance(value, list):
            items = [walk(v, f"{path}[{i}]") for i, v in enumerate(value)]
            return _DROP if any(v is _DROP for v in items) else items
        if isinstance(value, dict):
            walked = {k: walk(v, _join(path, k)) for k, v in value.items()}
            return {k: v for k, v in walked.items() if v is not _DROP}
        return value

    result = walk(data, "")
    return ({} if result is _DROP else result), unresolved


# --- the workspace ------------------------------------------------------------------------------


@dataclass
class Manifest:
    """One manifest: ``file`` is its path from the workspace, for messages; ``data`` the checked
    YAML (before any environment override)."""

    file: str
    path: Path
    data: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.data.get("name"))

    @property
    def type(self) -> str:
        return str(self.data.get("type"))


@dataclass
class Workspace:
    root: Path
    app: str | None
    workloads: list[Manifest] = field(default_factory=list)
    pipelines: list[Manifest] = field(default_factory=list)
    environments: dict[str, Manifest] = field(default_factory=dict)
    read: set[Path] = field(default_factory=set)  # every file under copilot/ the importer read

    def unread(self) -> list[tuple[str, str]]:
        """Every other file under copilot/, as (path from the workspace, why it is not imported)."""
        copilot = self.root / "copilot"
        return [
            (path.relative_to(self.root).as_posix(), _unread_reason(path.relative_to(copilot).parts))
            for path in sorted(p for p in copilot.rglob("*") if p.is_file() and p not in self.read)
        ]


def _unread_reason(parts: tuple[str, ...]) -> str:
    where = parts[0] if len(parts) > 1 else ""
    inside = parts[1] if len(parts) > 2 else ""
    if where == "pipelines" and len(parts) > 2 and "overrides" in parts[2:-1]:
        return "an override of the pipeline's CloudFormation template: not applied; the platform generates its pipeline"
    if where == "pipelines" and parts[-1] in ("buildspec.yml", "buildspec.yaml"):
        return ("the pipeline's build is generated (a docker build per service, then the deploy stages); this "
                "buildspec is not run: a step the generated build lacks has no place here")
    if where == "environments" and "addons" in parts[1:-1]:
        return "an environment addon (CloudFormation): not run; declare what it creates yourself"
    if where == "environments" and "overrides" in parts[1:-1]:
        return "an override of the environment's CloudFormation template: not applied; the stack's network and ALB are its own"
    if where not in ("", "pipelines", "environments") and inside == "addons":
        return (f"a CloudFormation addon of {where}: not run; declare what it creates (and grant it in "
                "services[].taskPolicy) yourself")
    if where not in ("", "pipelines", "environments") and inside == "overrides":
        return f"an override of {where}'s CloudFormation template (a YAML patch or CDK): not applied to the platform's resources"
    return "not a manifest the importer reads"


def _load(ws: Workspace, path: Path, spec: dict[str, Any], required: tuple[str, ...]) -> Manifest:
    shown = path.relative_to(ws.root).as_posix()
    ws.read.add(path)
    data = read_yaml(path, shown)
    if not isinstance(data, dict):
        raise ManifestError(f"{shown}: got {show(resolve(data))}; a manifest is a map of keys (name, type, ...)")
    for key in required:
        if resolve(data.get(key)) is None:
            raise ManifestError(f"{shown}: {key}: missing; every manifest of this kind names its {key}")
    checked = check(data, spec, "", shown)
    overrides = data.get("environments")
    if resolve(overrides) is not None and not isinstance(overrides, dict):
        raise ManifestError(f"{shown}: environments: got {show(resolve(overrides))}; a map of environment names is needed")
    for env, override in (overrides or {}).items():
        if resolve(override) is not None:
            checked["environments"][env] = check(override, spec, f"environments.{env}", shown)
    return Manifest(shown, path, checked)


def read_workspace(root: Path) -> Workspace:
    """Every manifest under ``root/copilot``, checked; ManifestError for the first that is not."""
    copilot = root / "copilot"
    if not copilot.is_dir():
        raise ManifestError(f"{root}: no copilot/ directory here (a Copilot workspace has copilot/<service>/manifest.yml)")
    ws = Workspace(root=root, app=None)
    marker = copilot / ".workspace"
    if marker.is_file():
        ws.read.add(marker)
        data = read_yaml(marker, "copilot/.workspace")
        if isinstance(data, dict):
            ws.app = text_of(data.get("application"))
    for path in sorted(copilot.glob("*/manifest.yml")):
        if path.parent.name not in ("pipelines", "environments"):
            ws.workloads.append(_load(ws, path, WORKLOAD, ("name", "type")))
    pipelines = sorted(copilot.glob("pipelines/*/manifest.yml"))
    if (copilot / "pipeline.yml").is_file():
        pipelines.append(copilot / "pipeline.yml")
    for path in pipelines:
        pipeline = _load(ws, path, PIPELINE, ("name",))
        for i, stage in enumerate(pipeline.data.get("stages") or []):
            if stage.get("name") is None:
                raise ManifestError(f"{pipeline.file}: stages[{i}].name: missing; every stage names the environment it deploys")
        ws.pipelines.append(pipeline)
    for path in sorted(copilot.glob("environments/*/manifest.yml")):
        ws.environments[path.parent.name] = _load(ws, path, ENVIRONMENT, ("name", "type"))
    return ws
