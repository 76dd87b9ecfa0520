"""Replicates a branch of the primary region's CodeCommit repository to each secondary region's.

EventBridge delivers the primary repository's referenceCreated / referenceUpdated /
referenceDeleted events. For the branch named in the event, every secondary repository's branch
is brought to the same tree as the primary branch's *current* head (read with GetBranch, not taken
from the event, so late or duplicate deliveries converge on the latest state instead of reverting
it). Files are copied with the CodeCommit API (GetDifferences, GetBlob, CreateCommit): the replica
carries the primary's trees, not its commit history.

Each replicated commit ends with a ``Replicated-From: <source commit>`` trailer, or, for all but
the last of a change split over several commits, ``Replicated-Partial: <source commit> <i>/<n>``.
The trailer on a secondary head says which primary tree it holds, which makes a redelivery a no-op
and lets the next run pick the cheap path (a diff between two primary commits) or the safe one
(compare both trees in full). See README.md beside this file for the contract.

Only boto3/botocore and the standard library at run time.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
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

# Target outcomes after which the target is known to hold the primary's current state: these
# report the lag metric (see README: a redelivered no-op reports too).
LAG_ACTIONS = frozenset(
    {"up-to-date", "incremental", "converged", "created-branch", "deleted-branch", "branch-absent"}
)

_TRAILER_FROM = re.compile(r"^Replicated-From: ([0-9a-f]{40,64})$")
_TRAILER_PARTIAL = re.compile(r"^Replicated-Partial: ([0-9a-f]{40,64}) (\d+)/(\d+)$")
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
    return Settings(region, source, targets, namespace, author, email)


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
        replica = Replica(clients.get("codecommit", target.region), target, source, settings)
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


def read_trailers(message: str) -> tuple[str | None, tuple[str, int, int] | None]:
    """(Replicated-From commit, (Replicated-Partial commit, i, n)) from the message's last paragraph."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    replicated_from = partial = None
    for line in paragraphs[-1].splitlines() if paragraphs else ():
        line = line.strip()
        if match := _TRAILER_FROM.match(line):
            replicated_from = match.group(1)
        elif match := _TRAILER_PARTIAL.match(line):
            partial = (match.group(1), int(match.group(2)), int(match.group(3)))
    return replicated_from, partial


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


def plan_parts(changes: dict[str, Change], sizes: Mapping[str, int]) -> list[list[Change]]:
    """Split the changes into commits within CreateCommit's entry and content limits."""
    parts: list[list[Change]] = []
    current: list[Change] = []
    current_bytes = 0
    for change in sorted(changes.values(), key=lambda c: (_KIND_ORDER[c.kind], c.path)):
        size = sizes[change.blob_id] if change.kind == "put" and change.blob_id else 0
        if current and (len(current) >= MAX_FILE_ENTRIES or current_bytes + size > MAX_COMMIT_CONTENT_BYTES):
            parts.append(current)
            current, current_bytes = [], 0
        current.append(change)
        current_bytes += size
    if current:
        parts.append(current)
    return parts


# ---------------------------------------------------------------------------------------------
# One secondary repository


class Replica:
    """Brings one target's branch to the source's current state."""

    def __init__(self, client: Any, target: Target, source: Source, settings: Settings) -> None:
        self.client = client
        self.target = target
        self.source = source
        self.settings = settings
        self.repository = target.repository
        self.branch = source.branch

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
        head = branch_head(self.client, self.repository, self.branch)
        created = False
        if head is None:
            head = self._create_branch()
            created = True
        if head is None:
            # An empty repository: the first CreateCommit (without a parent) creates the branch.
            log("INFO", "empty-repository", **self._fields())
            changes = self._full(None)
            return self._apply(changes, None, "created-branch", mode="full")

        message = (
            self.client.get_commit(repositoryName=self.repository, commitId=head)["commit"].get("message")
            or ""
        )
        replicated_from, partial = read_trailers(message)
        if replicated_from == self.source.head:
            action = "created-branch" if created else "up-to-date"
            log("INFO", "up-to-date", secondaryHead=head, **self._fields())
            return self._result(action, head)

        action = "created-branch" if created else None
        if replicated_from:
            changes = self._incremental(replicated_from, head)
            if changes is not None:
                return self._apply(changes, head, action or "incremental", mode="incremental")
        elif partial:
            log(
                "INFO",
                "resuming",
                secondaryHead=head,
                interruptedSource=partial[0],
                interruptedPart=f"{partial[1]}/{partial[2]}",
                **self._fields(),
            )
        changes = self._full(head)
        if not replicated_from and not partial and not created and changes:
            log(
                "WARNING",
                "diverged",
                secondaryHead=head,
                files=len(changes),
                message="the secondary branch has a commit the replicator did not write; converging it to the primary tree",
                **self._fields(),
            )
        return self._apply(changes, head, action or "converged", mode="full")

    def _create_branch(self) -> str | None:
        """Create the missing branch at the default branch's head; None when the repository is empty."""
        metadata = self.client.get_repository(repositoryName=self.repository)["repositoryMetadata"]
        default = metadata.get("defaultBranch")
        # CodeCommit sets the default branch with the first push, so a repository without one has
        # no branches, and its first commit creates the branch.
        base = branch_head(self.client, self.repository, default) if default else None
        if base is None:
            return None
        self.client.create_branch(repositoryName=self.repository, branchName=self.branch, commitId=base)
        log("INFO", "branch-created", baseBranch=default, secondaryHead=base, **self._fields())
        return base

    def _incremental(self, replicated_from: str, head: str) -> dict[str, Change] | None:
        """The primary's diff since the commit the head replicates; None if that commit is gone."""
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

    def _apply(
        self, changes: dict[str, Change], head: str | None, action: str, *, mode: str
    ) -> dict[str, Any]:
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
        committed: list[str] = []
        parts: list[list[Change]] = []
        try:
            contents = self._measure(changes)
            parts = plan_parts(changes, self.source.sizes)
            parent = head
            for number, part in enumerate(parts, 1):
                parent = self._commit(part, number, len(parts), parent, contents)
                committed.append(parent)
        except Exception as error:
            # Say exactly where it stopped: the next run resumes from the secondary head.
            remaining = [change.path for part in parts[len(committed) :] for change in part]
            log(
                "ERROR",
                "replication-stopped",
                committedParts=[
                    {"part": f"{i}/{len(parts)}", "commitId": c} for i, c in enumerate(committed, 1)
                ],
                secondaryHead=committed[-1] if committed else head,
                remainingParts=len(parts) - len(committed) if parts else None,
                remainingFiles=len(remaining) if parts else len(changes),
                remainingPaths=remaining[:20] if parts else sorted(changes)[:20],
                error=f"{type(error).__name__}: {error}",
                **self._fields(),
            )
            raise
        files = sum(len(part) for part in parts)
        log("INFO", "replicated", action=action, mode=mode, commits=committed, files=files, **self._fields())
        return self._result(action, committed[-1], committed, files)

    def _measure(self, changes: dict[str, Change]) -> dict[str, bytes]:
        """Read every new blob once to learn its size before anything is written.

        Knowing the sizes first gives the exact number of commits (for the i/n trailer) and finds
        an oversize file before a single commit is made. Contents are kept only up to one
        commit's budget, so memory stays bounded; the rest are read again per commit.
        """
        kept: dict[str, bytes] = {}
        kept_bytes = 0
        for change in sorted(changes.values(), key=lambda c: c.path):
            if change.kind != "put" or not change.blob_id or change.blob_id in kept:
                continue
            size = self.source.sizes.get(change.blob_id)  # known if an earlier target read it
            if size is None:
                content = self.source.blob(change.blob_id, change.path)
                size = len(content)
                if size <= MAX_FILE_BYTES and kept_bytes + size <= MAX_COMMIT_CONTENT_BYTES:
                    kept[change.blob_id] = content
                    kept_bytes += size
            if size > MAX_FILE_BYTES:
                raise FileTooLargeError(change.path, size)
        return kept

    def _commit(
        self, part: list[Change], number: int, total: int, parent: str | None, contents: dict[str, bytes]
    ) -> str:
        puts, deletes, modes = [], [], []
        for change in part:
            if change.kind == "delete":
                deletes.append({"filePath": change.path})
            elif change.kind == "mode":
                modes.append({"filePath": change.path, "fileMode": change.mode})
            else:
                assert change.blob_id
                content = contents.get(change.blob_id)
                if content is None:
                    content = self.source.blob(change.blob_id, change.path)
                puts.append({"filePath": change.path, "fileMode": change.mode, "fileContent": content})
        request: dict[str, Any] = {
            "repositoryName": self.repository,
            "branchName": self.branch,
            "authorName": self.settings.author_name,
            "commitMessage": self._message(number, total),
        }
        if parent:
            request["parentCommitId"] = parent
        if self.settings.author_email:
            request["email"] = self.settings.author_email
        for key, entries in (("putFiles", puts), ("deleteFiles", deletes), ("setFileModes", modes)):
            if entries:
                request[key] = entries
        commit_id = self.client.create_commit(**request)["commitId"]
        for change in part:
            if change.kind == "put" and change.blob_id:
                contents.pop(change.blob_id, None)  # written: free the memory
        log(
            "INFO",
            "part-committed",
            part=f"{number}/{total}",
            commitId=commit_id,
            parent=parent,
            files=len(part),
            **self._fields(),
        )
        return commit_id

    def _message(self, number: int, total: int) -> str:
        source = self.source
        title = (
            f"Replicate {source.head[:12] if source.head else ''} from {source.region}/{source.repository}"
        )
        if total > 1:
            title += f" (part {number}/{total})"
        subject = source.subject()
        if subject:
            title += f": {subject}"
        trailer = (
            f"Replicated-From: {source.head}"
            if number == total
            else f"Replicated-Partial: {source.head} {number}/{total}"
        )
        return f"{title}\n\n{trailer}\n"

    def _delete_branch(self) -> dict[str, Any]:
        """The branch is gone from the primary: delete it here too."""
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
