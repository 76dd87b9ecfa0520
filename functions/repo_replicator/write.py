"""How a set of changes is written to one secondary branch: committed as the blobs are read,
within CreateCommit's limits and the invocation's time; on the branch directly when one commit
does it, else on the working branch, which is then published in one step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aws import Source, error_code
from botocore.exceptions import ClientError
from common import (
    MAX_COMMIT_CONTENT_BYTES,
    MAX_FILE_BYTES,
    MAX_FILE_ENTRIES,
    Budget,
    FileTooLargeError,
    ReplicationPaused,
    log,
)
from config import Settings, Target
from trees import Change, write_order


@dataclass
class Progress:
    """Where one write stands."""

    parent: str | None  # the next commit's parent; after the last commit, the commit to publish
    real_head: str | None  # the secondary branch's head when the write began (None: no branch)
    staged: bool  # commits go to the working branch, which is published at the end
    part: int = 0  # the number of the working branch's last part
    committed: list[tuple[int, str]] = field(default_factory=list)
    written: int = 0  # how many changes, in write order, are committed


class Writing:
    """The writing half of :class:`~replica.Replica`, which decides what to write and sets these
    attributes; the methods here write it."""

    client: Any
    target: Target
    source: Source
    settings: Settings
    budget: Budget
    repository: str
    branch: str
    working: str

    def _fields(self, **extra: Any) -> dict[str, Any]:
        raise NotImplementedError

    def _result(
        self, action: str, head: str | None, commits: list[str] | None = None, files: int = 0, **extra: Any
    ) -> dict[str, Any]:
        raise NotImplementedError

    def _apply(
        self,
        changes: dict[str, Change],
        progress: Progress,
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

    def _commit(self, progress: Progress, batch: list[tuple[Change, bytes | None]], *, final: bool) -> None:
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

    def _message(self, number: int | None, final: bool, progress: Progress) -> str:
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

    def _publish(self, progress: Progress, base_branch: str | None = None) -> None:
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
                    code=error_code(error),
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
            if error_code(error) != "DefaultBranchCannotBeDeletedException":
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

    def _log_stop(self, error: BaseException, progress: Progress, ordered: list[Change]) -> None:
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
