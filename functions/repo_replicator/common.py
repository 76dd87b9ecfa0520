"""What every module of the replicator shares: CodeCommit's limits, the reserved branch names,
the errors that end an invocation, the time budget and the log format."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

# CodeCommit's CreateCommit quotas: 100 file entries, 6 MB per file (the API model caps
# fileContent at 6291456 bytes, so MiB, counted on raw content), 7 MB of content per commit.
MAX_FILE_ENTRIES = 100
MAX_FILE_BYTES = 6 * 1024 * 1024
# One commit's content budget, in raw bytes. Deliberately 1 MiB under the 7 MB combined limit:
# that leaves room for request overhead, and it also keeps the changed content of any one folder
# within the 6 MB folder limit (FolderContentSizeLimitExceededException), whose exact accounting
# AWS does not document.
MAX_COMMIT_CONTENT_BYTES = 6 * 1024 * 1024

DEFAULT_NAMESPACE = "DevOpsPlatform/Replication"
DEFAULT_AUTHOR = "repo-replicator"
METRIC_NAME = "ReplicationLagSeconds"
SUBJECT_MAX_CHARS = 200

# Branches under this name belong to the replicator: each secondary branch B is staged on the
# working branch WORK_PREFIX + B. Primary branches with the reserved name are not replicated, so a
# replicated branch can never be (or, as git refs go, be a folder of) a working branch.
RESERVED_BRANCH = "repo-replicator"
WORK_PREFIX = RESERVED_BRANCH + "/staging/"
MAX_BRANCH_NAME = 256  # the API model's BranchName maximum

# Stop starting commits when less than this is left of the invocation (env SAFETY_SECONDS).
DEFAULT_SAFETY_SECONDS = 30.0

# Target outcomes after which the target is known to hold the primary's current state: these
# report the lag metric (see README: a redelivered no-op reports too).
LAG_ACTIONS = frozenset(
    {"up-to-date", "incremental", "converged", "created-branch", "deleted-branch", "branch-absent"}
)

# GetDifferences and CreateCommit call a submodule (gitlink) this; CreateCommit cannot write one.
SUBMODULE = "SUBMODULE"


def log(level: str, event: str, **fields: Any) -> None:
    """One JSON object per line: the function's log format is JSON, so every field is queryable."""
    print(json.dumps({"level": level, "event": event, **fields}, sort_keys=True, default=str), flush=True)


class ConfigError(ValueError):
    """The function's environment is wrong: raised, because no event can succeed until it is fixed."""


class IgnoredEvent(Exception):  # noqa: N818 - a verdict on the event, not a failure of ours
    """The event is not one this function can act on; retrying it would not help."""


class ReplicationPaused(RuntimeError):  # noqa: N818 - a pause, raised so that Lambda retries
    """The invocation's time ran short: the work done is kept on the working branch, and the
    retry (or the next push) continues it."""


class FileTooLargeError(RuntimeError):
    """A file exceeds what CreateCommit accepts; it can only be replicated with a Git client."""

    def __init__(self, path: str, size: int | None) -> None:
        self.path = path
        self.size = size
        described = f"{size} bytes" if size is not None else "too large for GetBlob"
        super().__init__(
            f"cannot replicate {path!r}: {described}, over CodeCommit's per-file limit of "
            f"{MAX_FILE_BYTES} bytes for CreateCommit; push it to the secondary with a Git client"
        )


def is_reserved(branch: str) -> bool:
    return branch == RESERVED_BRANCH or branch.startswith(RESERVED_BRANCH + "/")


def working_branch(branch: str) -> str:
    """The secondary branch on which changes to ``branch`` are staged."""
    name = WORK_PREFIX + branch
    if len(name) > MAX_BRANCH_NAME:
        name = WORK_PREFIX + "sha1-" + hashlib.sha1(branch.encode()).hexdigest()
    return name


class Budget:
    """The invocation's remaining time, from the Lambda context (none without one)."""

    def __init__(self, context: Any, safety_seconds: float) -> None:
        self._remaining_ms: Callable[[], int] | None = getattr(context, "get_remaining_time_in_millis", None)
        self.safety_seconds = safety_seconds

    def remaining(self) -> float | None:
        return None if self._remaining_ms is None else self._remaining_ms() / 1000

    def exhausted(self) -> bool:
        remaining = self.remaining()
        return remaining is not None and remaining < self.safety_seconds
