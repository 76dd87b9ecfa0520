"""Parsing the primary repository's reference events. An event this function cannot act on
raises :class:`IgnoredEvent`: the handler logs it and returns, because retrying would not help."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from common import IgnoredEvent
from config import Settings

REFERENCE_EVENTS = ("referenceCreated", "referenceUpdated", "referenceDeleted")


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
