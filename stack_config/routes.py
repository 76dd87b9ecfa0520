"""Listener-rule priorities and target-group names: pure functions of the validated config.

Both are computed from config alone, never from Output values, so a preview shows them and two
runs agree.

Priorities. A route with an explicit ``priority`` keeps it. Any other route's priority depends on
nothing but its own name and path patterns, so adding, removing or reordering *other* routes
never renumbers it (renumbering would make the ALB shuffle rules during an update):

    priority = band * 1000 + 1 + crc32(name) % 1000,   band = 49 - min(longest literal prefix, 49)

The band puts routes with a longer literal prefix (``/api/auth/`` in ``/api/auth/*``) at lower
numbers, which the ALB evaluates first, so a specific pattern wins over a broader one that also
matches (``/api/*``). Two patterns of equal literal length can both match a path only if their
literal prefixes are equal (``/api/*`` and ``/api/*.json``); the validator rejects such a pair of
routes unless one of them has an explicit priority, and it rejects two routes whose computed
priorities collide. Those are the only cases where the user must choose.

Target-group names (AWS: at most 32 characters, unique per region and account) are
``{route}-{environment}-{hash6}``. The hash covers the project name, environment, region and every
property whose change makes AWS replace the group (port, protocol, target type, the VPC CIDR).
A replacement therefore gets a new name, so Pulumi can create the new group before deleting the
old one, which a fixed name would forbid.
"""

from __future__ import annotations

import fnmatch
import hashlib
import zlib
from collections.abc import Iterable

MIN_PRIORITY, MAX_PRIORITY = 1, 50_000
BAND_WIDTH = 1_000
MAX_BAND_LITERAL = 49  # literal prefixes longer than this share the most specific band
TARGET_GROUP_NAME_MAX = 32
LOAD_BALANCER_NAME_MAX = 32
_HASH_LEN = 6
_WILDCARDS = "*?"


def literal_prefix(pattern: str) -> str:
    """The part of a path pattern before its first wildcard."""
    for i, ch in enumerate(pattern):
        if ch in _WILDCARDS:
            return pattern[:i]
    return pattern


def matches(pattern: str, path: str) -> bool:
    """Whether an ALB path pattern matches a request path: ``*`` is any run of characters, ``?``
    exactly one, and the comparison is case-sensitive, as the ALB's (the config admits no ``[``)."""
    return fnmatch.fnmatchcase(path, pattern)


def auto_priority(name: str, paths: Iterable[str]) -> int:
    """The priority of a route without an explicit one (see the module docstring)."""
    longest = max((len(literal_prefix(p)) for p in paths), default=0)
    band = MAX_BAND_LITERAL - min(longest, MAX_BAND_LITERAL)
    return band * BAND_WIDTH + 1 + zlib.crc32(name.encode()) % BAND_WIDTH


def priority_of(name: str, paths: Iterable[str], explicit: int | None) -> int:
    return explicit if explicit is not None else auto_priority(name, paths)


def target_group_name(
    route: str,
    *,
    project: str,
    environment: str,
    region: str,
    target_type: str,
    port: int | None,
    vpc_cidr: str | None,
    protocol: str | None,
) -> str:
    """``{route}-{environment}-{hash6}``; the hash changes exactly when AWS would replace the group."""
    key = "\x00".join(
        str(part) for part in (project, environment, region, route, target_type, port, protocol, vpc_cidr)
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:_HASH_LEN]
    return f"{route}-{environment}-{digest}"


def target_group_name_length(route: str, environment: str) -> int:
    return len(route) + 1 + len(environment) + 1 + _HASH_LEN


def max_route_name_length(environment: str) -> int:
    """The longest route name whose target group name still fits in 32 characters."""
    return TARGET_GROUP_NAME_MAX - (len(environment) + 2 + _HASH_LEN)


def load_balancer_name(name: str, environment: str) -> str:
    return f"{name}-{environment}"
