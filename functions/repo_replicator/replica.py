"""What to write to one secondary branch: where it stands (up to date, replicated from an older
primary commit, diverged, missing, or mid-way through an earlier write) and which changes bring it
to the primary's current tree. :class:`Replica` decides; its :class:`~write.Writing` half writes."""

from __future__ import annotations

from typing import Any

from aws import Source, branch_head, differences, error_code, list_tree
from botocore.exceptions import ClientError
from common import Budget, log, working_branch
from config import Settings, Target
from trees import Change, Trailers, changes_between, changes_from_differences, read_trailers
from write import Progress, Writing


class Replica(Writing):
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
                return self._apply(changes, Progress(head, head, staged=False), "incremental", "incremental")
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
        return self._apply(changes, Progress(head, head, staged=False), "converged", "full")

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
        progress = Progress(work, head, staged=True, part=trailers.part if trailers.partial == source else 0)
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
            return self._apply(self._full(None), Progress(None, None, staged=False), "created-branch", "full")
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
        progress = Progress(base, None, staged=False)
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
            if error_code(error) not in (
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
                error=error_code(error),
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

    # -- deleting ----------------------------------------------------------------------------------

    def _delete_branch(self) -> dict[str, Any]:
        """The branch is gone from the primary: delete it here too, with its working branch."""
        self._delete_leftover_working()
        try:
            response = self.client.delete_branch(repositoryName=self.repository, branchName=self.branch)
        except ClientError as error:
            code = error_code(error)
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
            code = error_code(error)
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
