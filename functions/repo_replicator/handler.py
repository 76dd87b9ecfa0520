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

Only boto3/botocore and the standard library at run time. The modules beside this one: ``config``
(the environment), ``events`` (parsing events), ``replica`` and ``write`` (what to write to a
secondary, and writing it), ``trees`` (trees, changes and trailers), ``aws`` (the CodeCommit and
CloudWatch calls) and ``common``.
"""

from __future__ import annotations

import os
from typing import Any

from aws import Clients, Source, emit_lag
from common import RESERVED_BRANCH, Budget, IgnoredEvent, is_reserved, log
from config import load_settings
from events import parse_event
from replica import Replica


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
    clients = Clients()
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
