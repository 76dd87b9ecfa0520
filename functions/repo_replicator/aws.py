"""The replicator's AWS calls: CodeCommit reads, and the lag metric to CloudWatch. Every client
comes from :func:`client_factory`, and the clock from :func:`now`, so tests can substitute both."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from common import LAG_ACTIONS, METRIC_NAME, SUBJECT_MAX_CHARS, FileTooLargeError, log
from config import Settings
from events import ReferenceEvent
from trees import Entry, file_mode

_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


def client_factory(service: str, region: str) -> Any:
    """Every AWS client comes from here, so that tests can substitute one without touching AWS."""
    return boto3.client(service, region_name=region, config=_CLIENT_CONFIG)


def now() -> datetime:
    """The clock the lag metric is read from (tests freeze it)."""
    return datetime.now(UTC)


class Clients:
    """One client per service and region for the length of an invocation."""

    def __init__(self) -> None:
        self._clients: dict[tuple[str, str], Any] = {}

    def get(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = client_factory(service, region)
        return self._clients[key]


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def branch_head(client: Any, repository: str, branch: str) -> str | None:
    try:
        return client.get_branch(repositoryName=repository, branchName=branch)["branch"]["commitId"]
    except ClientError as error:
        if error_code(error) == "BranchDoesNotExistException":
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


def list_tree(client: Any, repository: str, commit_id: str) -> dict[str, Entry]:
    # Without a "before" commit, GetDifferences lists every file of the tree as an addition.
    tree: dict[str, Entry] = {}
    for difference in differences(client, repository, None, commit_id):
        blob = difference.get("afterBlob")
        if blob:
            tree[blob["path"]] = Entry(blob["blobId"], file_mode(blob["mode"], blob["path"]))
    return tree


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
            if error_code(error) == "FileTooLargeException":
                raise FileTooLargeError(path, None) from error
            raise
        self.sizes[blob_id] = len(content)
        return content


def emit_lag(
    clients: Clients, settings: Settings, ref: ReferenceEvent, results: list[dict[str, Any]]
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
