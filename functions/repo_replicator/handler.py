"""Replicates a branch of the primary region's CodeCommit repository to each secondary region's.

EventBridge delivers the primary repository's referenceCreated / referenceUpdated /
referenceDeleted events. For the branch named in the event, every secondary repository's branch
is brought to the same tree as the primary branch's *current* head (read with GetBranch, not taken
from the event, so late or duplicate deliveries converge on the latest state instead of reverting
it). Files are copied with the CodeCommit API (GetDifferences, GetBlob, CreateCommit): the replica
carries the primary's trees, not its commit history.

A secondary branch only ever moves, in one step, to a commit whose tree is the primary's: a change
that fits in one commit is committed on it directly; a larger one is written part by part on a
working branch (``repo-replicator/staging/<branch>``), which is then fast-forwarded into the
branch (MergeBranchesByFastForward), or becomes it (CreateBranch), and is deleted. Parts are
committed as their blobs are read, within a time budget; an interrupted run leaves the working
branch, and the next run continues it.

The last replicated commit ends with a ``Replicated-From: <source commit>`` trailer, the others
with ``Replicated-Partial: <source commit> <i>``; working-branch commits also name the secondary
branch head they will be fast-forwarded from (``Replicated-Base: <commit>``). The trailer on a
secondary head says which primary tree it holds, which makes a redelivery a no-op and lets the
next run pick the cheap path (a diff between two primary commits) or the safe one (compare both
trees in full). See README.md beside this file for the contract.

Only boto3/botocore and the standard library at run time.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

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

REFERENCE_EVENTS = ("referenceCreated", "referenceUpdated", "referenceDeleted")

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

_TRAILER_FROM = re.compile(r"^Replicated-From: ([0-9a-f]{40,64})$")
# "<i>", or "<i>/<n>" as versions before the working branch wrote it.
_TRAILER_PARTIAL = re.compile(r"^Replicated-Partial: ([0-9a-f]{40,64}) (\d+)(?:/\d+)?$")
_TRAILER_BASE = re.compile(r"^Replicated-Base: ([0-9a-f]{40,64})$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_REPOSITORY = re.compile(r"^[\w.-]{1,100}$")

# GetDifferences reports git's octal modes; CreateCommit takes names. Submodules (gitlinks) cannot
# be written through CreateCommit at all, so they are reported and left alone.
SUBMODULE = "SUBMODULE"
_MODES = {
    "100644": "NORMAL",
    "100664": "NORMAL",  # a legacy git mode, still found in old trees
    "100755": "EXECUTABLE",
    "120000": "SYMLINK",
    "160000": SUBMODULE,
    "NORMAL": "NORMAL",
    "EXECUTABLE": "EXECUTABLE",
    "SYMLINK": "SYMLINK",
}

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


def client_factory(service: str, region: str) -> Any:
    """Every AWS client comes from here, so that tests can substitute one without touching AWS."""
    return boto3.client(service, region_name=region, config=_CLIENT_CONFIG)


def now() -> datetime:
    """The clock the lag metric is read from (tests freeze it)."""
    return datetime.now(UTC)


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


# ---------------------------------------------------------------------------------------------
# Configuration and event


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


@dataclass(frozen=True)
class ReferenceEvent:
    kind: str
    repository: str
    reference_type: str
    reference_name: str
    commit_id: str | None
    time: datetime | None
    event_id: str | None


def parse_event(event: Any, settings: Settings) -> ReferenceEvent:
    """The event's fields this function relies on; IgnoredEvent for anything else."""
    if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
        raise IgnoredEvent("malformed event: expected an EventBridge event with a detail object")
    if event.get("source", "aws.codecommit") != "aws.codecommit":
        raise IgnoredEvent(f"not a CodeCommit event (source {event.get('source')!r})")
    detail = event["detail"]
    kind = detail.get("event")
    if kind not in REFERENCE_EVENTS:
        raise IgnoredEvent(
            f"malformed event: detail.event {kind!r} is not one of {', '.join(REFERENCE_EVENTS)}"
        )
    repository = detail.get("repositoryName")
    if not isinstance(repository, str) or not repository:
        raise IgnoredEvent("malformed event: detail.repositoryName is missing")
    region = event.get("region", settings.source_region)
    if repository != settings.source_repository or region != settings.source_region:
        raise IgnoredEvent(
            f"event for repository {region}/{repository}, this function replicates "
            f"{settings.source_region}/{settings.source_repository}"
        )
    reference_type = detail.get("referenceType")
    name = detail.get("referenceName")
    if not isinstance(name, str) or not name:
        full = detail.get("referenceFullName")
        name = full.removeprefix("refs/heads/") if isinstance(full, str) else None
    if not isinstance(reference_type, str) or not name:
        raise IgnoredEvent("malformed event: detail.referenceType or detail.referenceName is missing")
    commit = detail.get("commitId")
    return ReferenceEvent(
        kind=kind,
        repository=repository,
        reference_type=reference_type,
        reference_name=name,
        commit_id=commit if isinstance(commit, str) else None,
        time=_parse_time(event.get("time")),
        event_id=event.get("id") if isinstance(event.get("id"), str) else None,
    )


def _parse_time(value: Any) -> datetime | None:
    # Only the lag metric needs it: an event without a usable time is still replicated.
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------------
# Entry point


def handler(event: Any, context: Any) -> dict[str, Any]:
    settings = load_settings(os.environ)
    try:
        ref = parse_event(event, settings)
    except IgnoredEvent as ignored:
        event_id = event.get("id") if isinstance(event, dict) else None
        log("ERROR", "event-ignored", reason=str(ignored), eventId=event_id)
        return {"status": "ignored", "reason": str(ignored)}

    base = {"repository": ref.repository, "branch": ref.reference_name, "eventId": ref.event_id}
    if ref.reference_type != "branch":
        # Only branches are replicated; tags would need the Git protocol.
        log("INFO", "reference-skipped", referenceType=ref.reference_type, **base)
        return {"status": "skipped", "reason": f"{ref.reference_type} references are not replicated", **base}
    if is_reserved(ref.reference_name):
        # Replicating it could collide with the replicator's own working branches; retrying cannot help.
        reason = f"branches named {RESERVED_BRANCH!r} or {RESERVED_BRANCH + '/…'!r} are reserved for the replicator"
        log("ERROR", "reference-reserved", reason=reason, **base)
        return {"status": "skipped", "reason": reason, **base}

    budget = Budget(context, settings.safety_seconds)
    clients = _Clients()
    source = Source(clients.get("codecommit", settings.source_region), settings, ref.reference_name)
    log(
        "INFO",
        "replication-started",
        kind=ref.kind,
        eventCommit=ref.commit_id,
        sourceCommit=source.head,
        **base,
    )

    results: list[dict[str, Any]] = []
    failures: list[BaseException] = []
    for target in settings.targets:
        replica = Replica(clients.get("codecommit", target.region), target, source, settings, budget)
        try:
            results.append(replica.run())
        except Exception as error:
            # The other targets still get their turn; the first failure is raised below so that
            # Lambda retries the event (every target's run is idempotent).
            log(
                "ERROR",
                "target-failed",
                targetRegion=target.region,
                targetRepository=target.repository,
                branch=ref.reference_name,
                sourceCommit=source.head,
                error=f"{type(error).__name__}: {error}",
            )
            failures.append(error)
            results.append(
                {
                    "region": target.region,
                    "repositoryName": target.repository,
                    "action": "failed",
                    "error": str(error),
                }
            )

    metric_error = emit_lag(clients, settings, ref, results)
    if failures:
        raise failures[0]
    summary = {"status": "ok", "sourceCommit": source.head, "targets": results, **base}
    if metric_error:
        summary["metricError"] = metric_error
    log("INFO", "replication-finished", **summary)
    return summary


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


class _Clients:
    """One client per service and region for the length of an invocation."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str], Any] = {}

    def get(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = client_factory(service, region)
        return self._clients[key]


# ---------------------------------------------------------------------------------------------
# CodeCommit reads


@dataclass(frozen=True)
class Entry:
    blob_id: str
    mode: str  # NORMAL, EXECUTABLE, SYMLINK or SUBMODULE


@dataclass(frozen=True)
class Change:
    path: str
    kind: str  # "delete", "mode" or "put"
    blob_id: str | None = None
    mode: str | None = None


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def branch_head(client: Any, repository: str, branch: str) -> str | None:
    try:
        return client.get_branch(repositoryName=repository, branchName=branch)["branch"]["commitId"]
    except ClientError as error:
        if _code(error) == "BranchDoesNotExistException":
            return None
        raise


def differences(client: Any, repository: str, before: str | None, after: str) -> Iterator[dict[str, Any]]:
    """Every GetDifferences entry between two commits, following NextToken."""
    params: dict[str, Any] = {"repositoryName": repository, "afterCommitSpecifier": after}
    if before:
        params["beforeCommitSpecifier"] = before
    seen: set[str] = set()
    while True:
        page = client.get_differences(**params)
        yield from page.get("differences", [])
        token = page.get("NextToken")
        if not token:
            return
        if token in seen:
            raise RuntimeError(f"GetDifferences on {repository} repeated a NextToken; refusing to loop")
        seen.add(token)
        params["NextToken"] = token


def file_mode(mode: str, path: str) -> str:
    try:
        return _MODES[mode]
    except KeyError:
        raise ValueError(f"{path!r} has file mode {mode!r}, which CreateCommit cannot write") from None


def list_tree(client: Any, repository: str, commit_id: str) -> dict[str, Entry]:
    # Without a "before" commit, GetDifferences lists every file of the tree as an addition.
    tree: dict[str, Entry] = {}
    for difference in differences(client, repository, None, commit_id):
        blob = difference.get("afterBlob")
        if blob:
            tree[blob["path"]] = Entry(blob["blobId"], file_mode(blob["mode"], blob["path"]))
    return tree


@dataclass(frozen=True)
class Trailers:
    replicated_from: str | None = None  # the primary commit whose tree this commit holds
    partial: str | None = None  # the primary commit this commit is a part of
    part: int | None = None
    base: str | None = None  # the secondary branch head a working branch will fast-forward

    @property
    def ours(self) -> bool:
        return bool(self.replicated_from or self.partial)


def read_trailers(message: str) -> Trailers:
    """The replicator's trailers in the message's last paragraph."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    found: dict[str, Any] = {}
    for line in paragraphs[-1].splitlines() if paragraphs else ():
        line = line.strip()
        if match := _TRAILER_FROM.match(line):
            found["replicated_from"] = match.group(1)
        elif match := _TRAILER_PARTIAL.match(line):
            found["partial"], found["part"] = match.group(1), int(match.group(2))
        elif match := _TRAILER_BASE.match(line):
            found["base"] = match.group(1)
    if found.get("replicated_from"):
        found.pop("partial", None), found.pop("part", None)
    return Trailers(**found)


class Source:
    """The primary branch's current state, read once per invocation and shared by the targets."""

    def __init__(self, client: Any, settings: Settings, branch: str) -> None:
        self.client = client
        self.region = settings.source_region
        self.repository = settings.source_repository
        self.branch = branch
        # The current head, not the event's commit: see the module docstring.
        self.head = branch_head(client, self.repository, branch)
        self._tree: dict[str, Entry] | None = None
        self._subject: str | None = None
        self.sizes: dict[str, int] = {}

    def tree(self) -> dict[str, Entry]:
        if self._tree is None:
            assert self.head
            self._tree = list_tree(self.client, self.repository, self.head)
        return self._tree

    def subject(self) -> str:
        if self._subject is None:
            message = self.client.get_commit(repositoryName=self.repository, commitId=self.head)[
                "commit"
            ].get("message")
            first = (message or "").strip().splitlines()[0:1]
            self._subject = first[0].strip()[:SUBJECT_MAX_CHARS] if first else ""
        return self._subject

    def blob(self, blob_id: str, path: str) -> bytes:
        try:
            content = self.client.get_blob(repositoryName=self.repository, blobId=blob_id)["content"]
        except ClientError as error:
            if _code(error) == "FileTooLargeException":
                raise FileTooLargeError(path, None) from error
            raise
        self.sizes[blob_id] = len(content)
        return content


# ---------------------------------------------------------------------------------------------
# Computing the changes


def changes_from_differences(diffs: Iterator[dict[str, Any]], skipped: list[str]) -> dict[str, Change]:
    """Changes that turn the "before" tree into the "after" tree, from GetDifferences entries."""
    changes: dict[str, Change] = {}
    for difference in diffs:
        before, after = difference.get("beforeBlob"), difference.get("afterBlob")
        # A deletion, or the old side of a rename (however it is reported: change type R, or a
        # D/M entry whose paths differ) becomes a delete of the old path.
        if before and (not after or before["path"] != after["path"]):
            if file_mode(before["mode"], before["path"]) == SUBMODULE:
                skipped.append(before["path"])
            else:
                # setdefault: a put of the same path (a file replaced in the same diff) wins.
                changes.setdefault(before["path"], Change(before["path"], "delete"))
        if not after:
            continue
        path, mode = after["path"], file_mode(after["mode"], after["path"])
        if mode == SUBMODULE:
            skipped.append(path)
            continue
        if before and before["path"] == path and before["blobId"] == after["blobId"]:
            if file_mode(before["mode"], path) != mode:
                changes[path] = Change(path, "mode", mode=mode)
            continue
        changes[path] = Change(path, "put", after["blobId"], mode)
    return changes


def changes_between(
    current: dict[str, Entry], wanted: dict[str, Entry], skipped: list[str]
) -> dict[str, Change]:
    """Changes that turn tree ``current`` into tree ``wanted``.

    Blob ids are git object ids, equal for equal content in any repository, so comparing ids is
    comparing content.
    """
    changes: dict[str, Change] = {}
    for path, entry in wanted.items():
        if entry.mode == SUBMODULE:
            skipped.append(path)
            continue
        have = current.get(path)
        if have is None or have.blob_id != entry.blob_id:
            changes[path] = Change(path, "put", entry.blob_id, entry.mode)
        elif have.mode != entry.mode:
            changes[path] = Change(path, "mode", mode=entry.mode)
    for path, have in current.items():
        if path in wanted:
            continue
        if have.mode == SUBMODULE:
            skipped.append(path)
        else:
            changes[path] = Change(path, "delete")
    return changes


# Deletes go first, so that a file replaced by a folder of the same name (or the reverse) is
# removed in an earlier commit than, or the same commit as, its replacement.
_KIND_ORDER = {"delete": 0, "mode": 1, "put": 2}


def write_order(changes: Mapping[str, Change]) -> list[Change]:
    return sorted(changes.values(), key=lambda c: (_KIND_ORDER[c.kind], c.path))


# ---------------------------------------------------------------------------------------------
# One secondary repository


@dataclass
class _Progress:
    """Where one write stands."""

    parent: str | None  # the next commit's parent; after the last commit, the commit to publish
    real_head: str | None  # the secondary branch's head when the write began (None: no branch)
    staged: bool  # commits go to the working branch, which is published at the end
    part: int = 0  # the number of the working branch's last part
    committed: list[tuple[int, str]] = field(default_factory=list)
    written: int = 0  # how many changes, in write order, are committed


class Replica:
    """Brings one target's branch to the source's current state.

    The secondary branch only ever moves to a commit whose tree is the primary's, in one step: a
    change that fits one commit is committed on the branch directly (CreateCommit with the head as
    parent moves the branch once, like a fast-forward would); anything else is staged on the
    working branch and then published with MergeBranchesByFastForward, or with CreateBranch when
    the branch does not exist yet.
    """

    def __init__(
        self, client: Any, target: Target, source: Source, settings: Settings, budget: Budget | None = None
    ) -> None:
        self.client = client
        self.target = target
        self.source = source
        self.settings = settings
        self.budget = budget or Budget(None, settings.safety_seconds)
        self.repository = target.repository
        self.branch = source.branch
        self.working = working_branch(self.branch)

    def _fields(self, **extra: Any) -> dict[str, Any]:
        return {
            "targetRegion": self.target.region,
            "targetRepository": self.repository,
            "branch": self.branch,
            "sourceCommit": self.source.head,
            **extra,
        }

    def _result(
        self, action: str, head: str | None, commits: list[str] | None = None, files: int = 0, **extra: Any
    ) -> dict[str, Any]:
        return {
            "region": self.target.region,
            "repositoryName": self.repository,
            "action": action,
            "commits": commits or [],
            "files": files,
            "secondaryHead": head,
            **extra,
        }

    def run(self) -> dict[str, Any]:
        if self.source.head is None:
            return self._delete_branch()
        if self.budget.exhausted():
            # An earlier target used the time up: do not start reading for this one.
            paused = self._paused()
            log(
                "WARNING",
                "replication-paused",
                committedParts=[],
                remainingSeconds=self.budget.remaining(),
                error=f"{type(paused).__name__}: {paused}",
                **self._fields(),
            )
            raise paused
        head = branch_head(self.client, self.repository, self.branch)
        continued = self._continue_working(head)
        if continued is not None:
            return continued
        if head is None:
            return self._new_branch()

        trailers = self._trailers(head)
        if trailers.replicated_from == self.source.head:
            log("INFO", "up-to-date", secondaryHead=head, **self._fields())
            return self._result("up-to-date", head)
        if trailers.replicated_from:
            changes = self._incremental(trailers.replicated_from, head)
            if changes is not None:
                return self._apply(changes, _Progress(head, head, staged=False), "incremental", "incremental")
        elif trailers.partial:
            # Left on the branch itself by a version of the replicator that committed parts there.
            log(
                "INFO",
                "resuming",
                secondaryHead=head,
                interruptedSource=trailers.partial,
                interruptedPart=trailers.part,
                **self._fields(),
            )
        changes = self._full(head)
        if not trailers.ours and changes:
            log(
                "WARNING",
                "diverged",
                secondaryHead=head,
                files=len(changes),
                message="the secondary branch has a commit the replicator did not write; converging it to the primary tree",
                **self._fields(),
            )
        return self._apply(changes, _Progress(head, head, staged=False), "converged", "full")

    def _trailers(self, commit_id: str) -> Trailers:
        commit = self.client.get_commit(repositoryName=self.repository, commitId=commit_id)["commit"]
        return read_trailers(commit.get("message") or "")

    # -- where to start ---------------------------------------------------------------------------

    def _continue_working(self, head: str | None) -> dict[str, Any] | None:
        """Continue the working branch an earlier run left behind, or delete it if it cannot be.

        It can be continued while the secondary branch is where it was when the working branch
        was started (the ``Replicated-Base`` trailer, none if the branch did not exist), so that
        the fast-forward at the end can still succeed. A working branch for an older primary
        commit is continued too (its remaining changes are computed against the current one):
        starting over would never finish a first sync that takes longer than the pushes come.
        """
        work = branch_head(self.client, self.repository, self.working)
        if work is None:
            return None
        trailers = self._trailers(work)
        if head is None:
            # Nothing to fast-forward: whatever the working branch holds, CreateBranch publishes it.
            return self._resume(work, head, trailers)
        if work == head:
            reason = "the secondary branch already points at its head"
        elif not trailers.ours:
            reason = "its head was not written by the replicator"
        elif trailers.base != head:
            reason = "the secondary branch moved since the working branch was started"
        else:
            return self._resume(work, head, trailers)
        log(
            "INFO" if work == head else "WARNING",
            "working-branch-discarded",
            reason=reason,
            workingBranch=self.working,
            workingHead=work,
            secondaryHead=head,
            **self._fields(),
        )
        self._remove_working(reason)
        return None

    def _resume(self, work: str, head: str | None, trailers: Trailers) -> dict[str, Any]:
        source = self.source.head
        changes: dict[str, Change] | None = None
        mode = "full"
        if trailers.replicated_from == source:
            changes, mode = {}, "finished"  # written in full, but not yet published
        elif trailers.replicated_from:
            changes, mode = self._incremental(trailers.replicated_from, work), "incremental"
        if changes is None:
            changes, mode = self._full(work), "full"
        log(
            "INFO",
            "resuming",
            workingBranch=self.working,
            workingHead=work,
            secondaryHead=head,
            interruptedSource=trailers.partial or trailers.replicated_from,
            interruptedPart=trailers.part,
            remainingFiles=len(changes),
            **self._fields(),
        )
        if not trailers.ours:
            log(
                "WARNING",
                "diverged",
                workingBranch=self.working,
                workingHead=work,
                files=len(changes),
                message="the working branch has a commit the replicator did not write; converging it to the primary tree",
                **self._fields(),
            )
        action = "created-branch" if head is None else "converged"
        progress = _Progress(work, head, staged=True, part=trailers.part if trailers.partial == source else 0)
        if changes:
            return self._apply(changes, progress, action, f"resume-{mode}")
        # The working branch's tree is already the primary's. (Its trailer may name another primary
        # commit; that commit then has the same tree, so it stays true on the secondary branch.)
        try:
            self._publish(progress)
        except Exception as error:
            self._log_stop(error, progress, [])
            raise
        log("INFO", "replicated", action=action, mode=f"resume-{mode}", commits=[], files=0, **self._fields())
        return self._result(action, work)

    def _new_branch(self) -> dict[str, Any]:
        """The branch is missing on the secondary: build it from the default branch, or from nothing."""
        metadata = self.client.get_repository(repositoryName=self.repository)["repositoryMetadata"]
        default = metadata.get("defaultBranch")
        base = branch_head(self.client, self.repository, default) if default else None
        if base is None:
            # CodeCommit sets the default branch with the first commit, so a repository without one
            # is empty, and its first CreateCommit (without a parent) creates the branch it names.
            log("INFO", "empty-repository", **self._fields())
            return self._apply(
                self._full(None), _Progress(None, None, staged=False), "created-branch", "full"
            )
        trailers = self._trailers(base)
        changes: dict[str, Change] | None = None
        mode = "incremental"
        if trailers.replicated_from == self.source.head:
            changes = {}
        elif trailers.replicated_from:
            changes = self._incremental(trailers.replicated_from, base)
        if changes is None:
            changes, mode = self._full(base), "full"
        if not changes:
            # The default branch already holds the primary's tree: the branch starts there.
            self.client.create_branch(repositoryName=self.repository, branchName=self.branch, commitId=base)
            log("INFO", "branch-created", baseBranch=default, secondaryHead=base, **self._fields())
            return self._result("created-branch", base)
        # Staged even when it fits one commit: in a repository with branches CreateCommit cannot
        # create one, and creating the branch at the default head first would publish that tree.
        progress = _Progress(base, None, staged=False)
        return self._apply(changes, progress, "created-branch", mode, base_branch=default)

    # -- computing the changes ---------------------------------------------------------------------

    def _incremental(self, replicated_from: str, head: str) -> dict[str, Change] | None:
        """The primary's diff since the commit ``head`` replicates; None if that commit is gone."""
        skipped: list[str] = []
        try:
            diffs = differences(
                self.source.client, self.source.repository, replicated_from, self.source.head or ""
            )
            changes = changes_from_differences(diffs, skipped)
        except ClientError as error:
            if _code(error) not in (
                "CommitDoesNotExistException",
                "InvalidCommitException",
                "CommitIdDoesNotExistException",
            ):
                raise
            # A rewritten primary history (the commit was garbage-collected): compare full trees.
            log(
                "WARNING",
                "replicated-commit-missing",
                lastReplicated=replicated_from,
                secondaryHead=head,
                error=_code(error),
                **self._fields(),
            )
            return None
        self._report_skipped(skipped)
        log(
            "INFO",
            "incremental",
            lastReplicated=replicated_from,
            secondaryHead=head,
            files=len(changes),
            **self._fields(),
        )
        return changes

    def _full(self, head: str | None) -> dict[str, Change]:
        current = list_tree(self.client, self.repository, head) if head else {}
        skipped: list[str] = []
        changes = changes_between(current, self.source.tree(), skipped)
        self._report_skipped(skipped)
        return changes

    def _report_skipped(self, skipped: list[str]) -> None:
        if skipped:
            log(
                "WARNING",
                "submodules-skipped",
                paths=sorted(set(skipped)),
                reason="CreateCommit cannot write submodules (gitlinks); they are left as they are",
                **self._fields(),
            )

    # -- writing -----------------------------------------------------------------------------------

    def _apply(
        self,
        changes: dict[str, Change],
        progress: _Progress,
        action: str,
        mode: str,
        *,
        base_branch: str | None = None,
    ) -> dict[str, Any]:
        head = progress.parent
        if not changes:
            # CreateCommit refuses an empty commit, so a head without our trailer keeps it.
            if head is None:
                action = "nothing-to-write"  # an empty primary tree, into an empty repository
            elif action in ("incremental", "converged"):
                action = "up-to-date"
            log(
                "INFO",
                "trees-equal",
                secondaryHead=head,
                mode=mode,
                message="the secondary tree already equals the primary's; nothing written",
                **self._fields(),
            )
            return self._result(action, head)
        # Commit as the blobs are read: each commit holds what was read since the previous one, so
        # a long write keeps its progress on the working branch however it ends.
        ordered = write_order(changes)
        batch: list[tuple[Change, bytes | None]] = []
        batch_bytes = 0
        try:
            for change in ordered:
                # Within CreateCommit's limits: a full commit is sent before reading the next blob,
                # and one that the next blob would overflow, before adding it.
                if len(batch) >= MAX_FILE_ENTRIES:
                    self._commit(progress, batch, final=False)
                    batch, batch_bytes = [], 0
                if not batch and self.budget.exhausted():
                    raise self._paused()  # before reading blobs for a commit that will not be made
                content = self._content(change)
                size = len(content) if content is not None else 0
                if batch and batch_bytes + size > MAX_COMMIT_CONTENT_BYTES:
                    self._commit(progress, batch, final=False)
                    batch, batch_bytes = [], 0
                batch.append((change, content))
                batch_bytes += size
            self._commit(progress, batch, final=True)
            if progress.staged:
                self._publish(progress, base_branch)
        except Exception as error:
            self._log_stop(error, progress, ordered)
            raise
        commits = [commit for _, commit in progress.committed]
        log(
            "INFO",
            "replicated",
            action=action,
            mode=mode,
            commits=commits,
            files=len(ordered),
            staged=progress.staged,
            **self._fields(),
        )
        return self._result(action, progress.parent, commits, len(ordered))

    def _content(self, change: Change) -> bytes | None:
        """A put's new content, read when its commit is being filled; oversize files raise."""
        if change.kind != "put" or not change.blob_id:
            return None
        known = self.source.sizes.get(change.blob_id)  # an earlier target may have read it
        if known is not None and known > MAX_FILE_BYTES:
            raise FileTooLargeError(change.path, known)
        content = self.source.blob(change.blob_id, change.path)
        if len(content) > MAX_FILE_BYTES:
            raise FileTooLargeError(change.path, len(content))
        return content

    def _paused(self) -> ReplicationPaused:
        remaining = self.budget.remaining() or 0.0
        return ReplicationPaused(
            f"{remaining:.1f} s left of the invocation, less than SAFETY_SECONDS "
            f"({self.budget.safety_seconds:g}); the retry continues from the working branch"
        )

    def _commit(self, progress: _Progress, batch: list[tuple[Change, bytes | None]], *, final: bool) -> None:
        if self.budget.exhausted():
            raise self._paused()
        # One commit straight onto the branch (its head, or nothing in an empty repository, as
        # parent) moves it once, to the whole tree; anything else is staged.
        direct = final and not progress.staged and progress.parent == progress.real_head
        if not direct and not progress.staged:
            if progress.parent is not None:
                self.client.create_branch(
                    repositoryName=self.repository, branchName=self.working, commitId=progress.parent
                )
            # else: an empty repository, whose first CreateCommit creates the working branch.
            progress.staged = True
            log(
                "INFO",
                "working-branch-created",
                workingBranch=self.working,
                workingBase=progress.parent,
                secondaryHead=progress.real_head,
                **self._fields(),
            )
        number = progress.part + 1 if progress.staged else None
        puts, deletes, modes = [], [], []
        for change, content in batch:
            if change.kind == "delete":
                deletes.append({"filePath": change.path})
            elif change.kind == "mode":
                modes.append({"filePath": change.path, "fileMode": change.mode})
            else:
                puts.append({"filePath": change.path, "fileMode": change.mode, "fileContent": content})
        request: dict[str, Any] = {
            "repositoryName": self.repository,
            "branchName": self.working if progress.staged else self.branch,
            "authorName": self.settings.author_name,
            "commitMessage": self._message(number, final, progress),
        }
        if progress.parent:
            request["parentCommitId"] = progress.parent
        if self.settings.author_email:
            request["email"] = self.settings.author_email
        for key, entries in (("putFiles", puts), ("deleteFiles", deletes), ("setFileModes", modes)):
            if entries:
                request[key] = entries
        commit_id = self.client.create_commit(**request)["commitId"]
        log(
            "INFO",
            "part-committed",
            part=number,
            final=final,
            onBranch=request["branchName"],
            commitId=commit_id,
            parent=progress.parent,
            files=len(batch),
            **self._fields(),
        )
        progress.parent = commit_id
        progress.part = number or 0
        progress.committed.append((number or 1, commit_id))
        progress.written += len(batch)

    def _message(self, number: int | None, final: bool, progress: _Progress) -> str:
        source = self.source
        title = (
            f"Replicate {source.head[:12] if source.head else ''} from {source.region}/{source.repository}"
        )
        if number is not None and not (final and number == 1):
            title += f" (part {number})"
        subject = source.subject()
        if subject:
            title += f": {subject}"
        trailers = [
            f"Replicated-From: {source.head}" if final else f"Replicated-Partial: {source.head} {number}"
        ]
        if progress.staged and progress.real_head:
            trailers.append(f"Replicated-Base: {progress.real_head}")
        return f"{title}\n\n" + "\n".join(trailers) + "\n"

    def _publish(self, progress: _Progress, base_branch: str | None = None) -> None:
        """Move the branch to the working branch's head in one step, then delete the working branch."""
        final = progress.parent
        assert final
        if progress.real_head is None:
            self.client.create_branch(repositoryName=self.repository, branchName=self.branch, commitId=final)
            log("INFO", "branch-created", baseBranch=base_branch, secondaryHead=final, **self._fields())
        else:
            try:
                self.client.merge_branches_by_fast_forward(
                    repositoryName=self.repository,
                    sourceCommitSpecifier=final,
                    destinationCommitSpecifier=self.branch,
                    targetBranch=self.branch,
                )
            except ClientError as error:
                # Typically ManualMergeRequiredException or ConcurrentReferenceUpdateException: the
                # branch moved. The retry sees it no longer at Replicated-Base and starts over.
                log(
                    "ERROR",
                    "fast-forward-failed",
                    code=_code(error),
                    workingBranch=self.working,
                    workingHead=final,
                    expectedHead=progress.real_head,
                    **self._fields(),
                )
                raise
            log(
                "INFO",
                "fast-forwarded",
                previousHead=progress.real_head,
                secondaryHead=final,
                workingBranch=self.working,
                **self._fields(),
            )
        self._remove_working("published")

    def _remove_working(self, reason: str) -> None:
        try:
            response = self.client.delete_branch(repositoryName=self.repository, branchName=self.working)
        except ClientError as error:
            if _code(error) != "DefaultBranchCannotBeDeletedException":
                raise
            # The repository's first commit was made on the working branch, which made it the
            # default branch; the branch it was staged for takes that role.
            self.client.update_default_branch(repositoryName=self.repository, defaultBranchName=self.branch)
            log("INFO", "default-branch-updated", previousDefault=self.working, **self._fields())
            response = self.client.delete_branch(repositoryName=self.repository, branchName=self.working)
        deleted = response.get("deletedBranch") or {}
        log(
            "INFO",
            "working-branch-deleted",
            reason=reason,
            workingBranch=self.working,
            deletedHead=deleted.get("commitId"),
            **self._fields(),
        )

    def _log_stop(self, error: BaseException, progress: _Progress, ordered: list[Change]) -> None:
        """Say exactly where the write stopped: the next run continues from there."""
        remaining = [change.path for change in ordered[progress.written :]]
        paused = isinstance(error, ReplicationPaused)
        log(
            "WARNING" if paused else "ERROR",
            "replication-paused" if paused else "replication-stopped",
            committedParts=[{"part": number, "commitId": commit} for number, commit in progress.committed],
            workingBranch=self.working if progress.staged else None,
            workingHead=progress.parent if progress.staged else None,
            secondaryHead=progress.real_head,
            remainingFiles=len(remaining),
            remainingPaths=remaining[:20],
            remainingSeconds=self.budget.remaining(),
            error=f"{type(error).__name__}: {error}",
            **self._fields(),
        )

    # -- deleting ----------------------------------------------------------------------------------

    def _delete_branch(self) -> dict[str, Any]:
        """The branch is gone from the primary: delete it here too, with its working branch."""
        self._delete_leftover_working()
        try:
            response = self.client.delete_branch(repositoryName=self.repository, branchName=self.branch)
        except ClientError as error:
            code = _code(error)
            if code == "DefaultBranchCannotBeDeletedException":
                log(
                    "WARNING",
                    "default-branch-kept",
                    message=f"{self.branch!r} is the default branch of {self.repository} in {self.target.region}; "
                    "CodeCommit cannot delete it, so it stays until another branch is made the default",
                    **self._fields(),
                )
                return self._result("default-branch-kept", None)
            if code == "BranchDoesNotExistException":
                response = {}
            else:
                raise
        deleted = response.get("deletedBranch")
        if not deleted:
            log("INFO", "branch-absent", **self._fields())
            return self._result("branch-absent", None)
        log("INFO", "branch-deleted", deletedHead=deleted.get("commitId"), **self._fields())
        return self._result("deleted-branch", None, deletedHead=deleted.get("commitId"))

    def _delete_leftover_working(self) -> None:
        try:
            response = self.client.delete_branch(repositoryName=self.repository, branchName=self.working)
        except ClientError as error:
            code = _code(error)
            if code == "DefaultBranchCannotBeDeletedException":
                # An interrupted first sync into an empty repository, whose branch is now gone.
                log(
                    "WARNING",
                    "working-branch-kept",
                    workingBranch=self.working,
                    message="the working branch is the repository's default branch, so CodeCommit cannot "
                    "delete it; delete it after making another branch the default",
                    **self._fields(),
                )
                return
            if code != "BranchDoesNotExistException":
                raise
            return
        deleted = response.get("deletedBranch")
        if deleted:
            log(
                "INFO",
                "working-branch-deleted",
                reason="the branch is gone from the primary",
                workingBranch=self.working,
                deletedHead=deleted.get("commitId"),
                **self._fields(),
            )


# ---------------------------------------------------------------------------------------------
# Lag metric


def emit_lag(
    clients: _Clients, settings: Settings, ref: ReferenceEvent, results: list[dict[str, Any]]
) -> str | None:
    """Publish ReplicationLagSeconds for each target now known to match the primary.

    Lag = when this run confirmed the target - the event's time. A run that found a target
    already up to date reports too: the value is an upper bound of the real lag, and it stays
    small for EventBridge's quick duplicates while a late retry (after failures) shows up large,
    which is what an alarm should see. A failure to publish is logged and returned, not raised:
    the replication itself succeeded and retrying it would not fix CloudWatch.
    """
    confirmed = [r for r in results if r["action"] in LAG_ACTIONS]
    if not confirmed:
        return None
    if ref.time is None:
        log(
            "WARNING",
            "lag-not-measured",
            reason="the event has no usable time field",
            branch=ref.reference_name,
        )
        return None
    observed = now()
    lag = max(0.0, (observed - ref.time).total_seconds())
    data = [
        {
            "MetricName": METRIC_NAME,
            "Dimensions": [
                {"Name": "Repository", "Value": settings.source_repository},
                {"Name": "TargetRegion", "Value": result["region"]},
            ],
            "Timestamp": observed,
            "Value": lag,
            "Unit": "Seconds",
        }
        for result in confirmed
    ]
    try:
        clients.get("cloudwatch", settings.source_region).put_metric_data(
            Namespace=settings.namespace, MetricData=data
        )
    except (ClientError, BotoCoreError) as error:
        log("ERROR", "metric-failed", namespace=settings.namespace, error=f"{type(error).__name__}: {error}")
        return str(error)
    log(
        "INFO",
        "lag-reported",
        lagSeconds=lag,
        targets=[r["region"] for r in confirmed],
        namespace=settings.namespace,
    )
    return None
