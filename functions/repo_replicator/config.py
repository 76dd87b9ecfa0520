"""The replicator's configuration: its region, the source repository, the targets (TARGETS) and the
commit author, validated from the environment. A broken one raises :class:`ConfigError`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from common import DEFAULT_AUTHOR, DEFAULT_NAMESPACE, DEFAULT_SAFETY_SECONDS, ConfigError

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_REPOSITORY = re.compile(r"^[\w.-]{1,100}$")


@dataclass(frozen=True)
class Target:
    region: str
    repository: str


@dataclass(frozen=True)
class Settings:
    source_region: str
    source_repository: str
    targets: tuple[Target, ...]
    namespace: str
    author_name: str
    author_email: str | None
    safety_seconds: float = DEFAULT_SAFETY_SECONDS


def load_settings(environ: Mapping[str, str]) -> Settings:
    region = environ.get("AWS_REGION", "")
    if not _REGION.match(region):
        raise ConfigError(f"AWS_REGION must be the function's region, got {region!r}")
    source = environ.get("SOURCE_REPOSITORY", "")
    if not _REPOSITORY.match(source):
        raise ConfigError(f"SOURCE_REPOSITORY must be a CodeCommit repository name, got {source!r}")
    targets = _parse_targets(environ.get("TARGETS", ""), region, source)
    namespace = environ.get("METRIC_NAMESPACE") or DEFAULT_NAMESPACE
    author = environ.get("AUTHOR_NAME") or DEFAULT_AUTHOR
    email = environ.get("AUTHOR_EMAIL") or None
    raw_safety = environ.get("SAFETY_SECONDS") or str(DEFAULT_SAFETY_SECONDS)
    try:
        safety = float(raw_safety)
    except ValueError:
        safety = -1.0
    if not 0 <= safety < 900:  # 900 s: Lambda's longest timeout
        raise ConfigError(f"SAFETY_SECONDS must be a number of seconds from 0 to 900, got {raw_safety!r}")
    return Settings(region, source, targets, namespace, author, email, safety)


def _parse_targets(raw: str, source_region: str, source_repository: str) -> tuple[Target, ...]:
    example = '[{"region": "us-east-2", "repositoryName": "repo"}]'
    try:
        items = json.loads(raw)
    except ValueError as error:
        raise ConfigError(f"TARGETS must be JSON like {example}: {error}") from None
    if not isinstance(items, list) or not items:
        raise ConfigError(f"TARGETS must be a non-empty JSON list like {example}")
    targets: list[Target] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or set(item) != {"region", "repositoryName"}:
            raise ConfigError(f"TARGETS[{index}] must have exactly region and repositoryName, got {item!r}")
        region, repository = item["region"], item["repositoryName"]
        if not isinstance(region, str) or not _REGION.match(region):
            raise ConfigError(f"TARGETS[{index}].region is not a region code: {region!r}")
        if not isinstance(repository, str) or not _REPOSITORY.match(repository):
            raise ConfigError(f"TARGETS[{index}].repositoryName is not a repository name: {repository!r}")
        target = Target(region, repository)
        if target == Target(source_region, source_repository):
            raise ConfigError(f"TARGETS[{index}] is the source repository itself")
        if target in targets:
            raise ConfigError(f"TARGETS[{index}] repeats {region}/{repository}")
        targets.append(target)
    return tuple(targets)
