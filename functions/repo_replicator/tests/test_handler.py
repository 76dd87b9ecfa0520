"""The replicator against the validated in-memory CodeCommit (tests/fake_codecommit.py) and moto's
CloudWatch. After every scenario the oracle is the same: the secondary branch's tree equals the
primary's (path, blob id, mode), the trailer on the secondary head names the primary head, and no
working branch is left. And after every test, whatever it did: every commit the replicator ever
moved a secondary branch to holds a whole tree (one the primary had, or one the secondary already
had), never a part of a change."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from functions.loading import load_function, load_module

_HERE = Path(__file__).parent


replicator = load_function(_HERE.parent)
handler, aws_calls, common, trees = replicator.handler, replicator.aws, replicator.common, replicator.trees
_REAL_FACTORY = aws_calls.client_factory
fakes = load_module("repo_replicator_fake_codecommit", _HERE / "fake_codecommit.py")

PRIMARY, SECONDARY, THIRD = "us-east-1", "us-east-2", "eu-west-1"
REPO, REPLICA = "devops-platform", "devops-platform-prod"
EVENT_TIME = "2026-11-22T10:00:00Z"
NOW = datetime(2026, 11, 22, 10, 0, 42, 500000, tzinfo=UTC)
CONTEXT = SimpleNamespace(aws_request_id="req-1")
MIB = 1024 * 1024
WORK = "repo-replicator/staging/main"  # the working branch of main


@dataclass
class World:
    fake: Any
    primary: Any
    secondary: Any
    monkeypatch: pytest.MonkeyPatch
    metrics: list[dict[str, Any]]

    def targets(self, *targets: tuple[str, str]) -> None:
        value = [{"region": region, "repositoryName": name} for region, name in targets]
        self.monkeypatch.setenv("TARGETS", json.dumps(value))


@pytest.fixture
def world(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    fake = fakes.FakeCodeCommit()
    primary = fake.create_repository(PRIMARY, REPO)
    secondary = fake.create_repository(SECONDARY, REPLICA)
    monkeypatch.setenv("SOURCE_REPOSITORY", REPO)
    monkeypatch.setenv("TARGETS", json.dumps([{"region": SECONDARY, "repositoryName": REPLICA}]))
    for key in ("METRIC_NAMESPACE", "AUTHOR_NAME", "AUTHOR_EMAIL", "SAFETY_SECONDS"):
        monkeypatch.delenv(key, raising=False)
    metrics: list[dict[str, Any]] = []
    cloudwatch = _recording_cloudwatch(metrics)

    def factory(service: str, region: str) -> Any:
        # CodeCommit goes to the fake. CloudWatch to a recorder (moto is slow enough per call to
        # double this file's run time); the metric tests below use moto itself.
        return fake.client(region) if service == "codecommit" else cloudwatch

    monkeypatch.setattr(aws_calls, "client_factory", factory)
    monkeypatch.setattr(aws_calls, "now", lambda: NOW)
    world = World(fake, primary, secondary, monkeypatch, metrics)
    yield world
    assert_only_whole_trees_published(world)


def _whole(tree: dict[str, tuple[str, str]]) -> frozenset[tuple[str, tuple[str, str]]]:
    # Submodules are never replicated, so they are left out of the comparison.
    return frozenset((path, entry) for path, entry in tree.items() if entry[1] != "SUBMODULE")


def assert_only_whole_trees_published(world: World) -> None:
    """Every head a replicated branch ever had, through the API, holds a tree the primary had
    (at any of its commits) or one the secondary had before the replicator touched it: what a
    secondary pipeline (which watches these branches, not the working branches) can ever build."""
    primary_trees = {_whole(commit.tree) for commit in world.primary.commits.values()}
    for (region, _), repo in world.fake.repositories.items():
        if region == PRIMARY:
            continue
        own_trees = {
            _whole(repo.commits[m.commit_id].tree) for m in repo.moves if m.by == "push" and m.commit_id
        }
        for move in repo.moves:
            if move.by != "api" or not move.commit_id or common.is_reserved(move.branch):
                continue
            tree = _whole(repo.commits[move.commit_id].tree)
            assert tree in primary_trees | own_trees, (
                f"{region}: {move.branch} was moved to {move.commit_id}, a tree no primary commit has: "
                f"{repo.commits[move.commit_id].message!r}"
            )


_SESSION = boto3.session.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name=PRIMARY
)


def _recording_cloudwatch(requests: list[dict[str, Any]]) -> Any:
    """A real CloudWatch client (so requests are validated) that records PutMetricData and answers
    it without a network."""
    client = _SESSION.client("cloudwatch", endpoint_url="https://monitoring.fake.invalid")

    def answer(model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        assert model.name == "PutMetricData", model.name
        requests.append(context["recorded_params"])
        return AWSResponse("https://monitoring.fake.invalid", 200, {}, None), {
            "ResponseMetadata": {"HTTPStatusCode": 200}
        }

    def stash(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["recorded_params"] = params

    client.meta.events.register("before-parameter-build.cloudwatch.*", stash)
    client.meta.events.register("before-call.cloudwatch.*", answer)
    return client


@pytest.fixture
def moto_cloudwatch(world: World) -> None:
    """Send CloudWatch to moto (the aws fixture points plain boto3 clients at it)."""
    codecommit = aws_calls.client_factory
    world.monkeypatch.setattr(
        aws_calls,
        "client_factory",
        lambda service, region: (
            _REAL_FACTORY(service, region) if service == "cloudwatch" else codecommit(service, region)
        ),
    )


def event(
    kind: str = "referenceUpdated",
    branch: str = "main",
    commit: str | None = None,
    repo: str = REPO,
    reference_type: str = "branch",
    time: str = EVENT_TIME,
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "callerUserArn": "arn:aws:iam::123456789012:user/dev",
        "event": kind,
        "referenceFullName": f"refs/{'heads' if reference_type == 'branch' else 'tags'}/{branch}",
        "referenceName": branch,
        "referenceType": reference_type,
        "repositoryId": "12345678-1234-1234-1234-123456789012",
        "repositoryName": repo,
    }
    if kind != "referenceDeleted":
        detail["commitId"] = commit or "0" * 40
    if kind != "referenceCreated":
        detail["oldCommitId"] = "1" * 40
    return {
        "version": "0",
        "id": "6f1c8a64-1d1e-4a57-9a0b-0c5d3f2f0b11",
        "detail-type": "CodeCommit Repository State Change",
        "source": "aws.codecommit",
        "account": "123456789012",
        "time": time,
        "region": PRIMARY,
        "resources": [f"arn:aws:codecommit:{PRIMARY}:123456789012:{repo}"],
        "detail": detail,
    }


def run(ev: dict[str, Any]) -> dict[str, Any]:
    return handler.handler(ev, CONTEXT)


def logs(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def assert_mirrored(world: World, branch: str = "main", secondary: Any = None) -> None:
    """The oracle: same paths, blob ids and modes, and the head says which commit it holds."""
    target = secondary or world.secondary
    assert target.tree(branch) == world.primary.tree(branch)
    assert f"Replicated-From: {world.primary.branches[branch]}" in target.head(branch).message
    assert common.working_branch(branch) not in target.branches


def calls(world: World, operation: str, region: str = SECONDARY) -> list[dict[str, Any]]:
    return [params for r, op, params in world.fake.calls if op == operation and r == region]


def commit_requests(world: World, region: str = SECONDARY) -> list[dict[str, Any]]:
    return [params for r, op, params in world.fake.calls if op == "CreateCommit" and r == region]


def base_files() -> dict[str, Any]:
    return {
        "README.md": "# platform\n",
        "src/app.py": "print('hi')\n",
        "src/lib/util.py": "X = 1\n",
        "bin/deploy.sh": ("#!/bin/sh\necho deploy\n", "EXECUTABLE"),
        "docs/latest": ("README.md", "SYMLINK"),
    }


def synced(world: World, files: dict[str, Any] | None = None) -> str:
    """Primary main with ``files``, replicated once; returns the secondary head."""
    head = world.primary.push("main", files or base_files(), message="initial import")
    assert run(event("referenceCreated", commit=head))["status"] == "ok"
    assert_mirrored(world)
    return world.secondary.branches["main"]


# ---- first push, incremental changes ------------------------------------------------------------


def test_first_push_into_an_empty_secondary_creates_the_branch(world: World):
    head = world.primary.push("main", base_files(), message="initial import\n\nlong body")
    result = run(event("referenceCreated", commit=head))

    assert_mirrored(world)
    assert result["status"] == "ok" and result["sourceCommit"] == head
    (target,) = result["targets"]
    assert target["action"] == "created-branch" and target["files"] == 5
    assert target["secondaryHead"] == world.secondary.branches["main"] == target["commits"][0]
    (request,) = commit_requests(world)
    assert "parentCommitId" not in request  # the first commit of an empty repository
    commit = world.secondary.head("main")
    assert commit.parents == []
    assert commit.message == (
        f"Replicate {head[:12]} from {PRIMARY}/{REPO}: initial import\n\nReplicated-From: {head}\n"
    )
    assert commit.author == "repo-replicator"
    assert world.secondary.default_branch == "main"
    # One commit into an empty repository creates the branch with the whole tree: nothing staged.
    assert calls(world, "CreateBranch") == calls(world, "MergeBranchesByFastForward") == []
    assert world.secondary.heads_seen("main") == [target["secondaryHead"]]


def test_adds_modifications_and_deletions_are_one_incremental_commit(world: World):
    before = synced(world)
    head = world.primary.push(
        "main", {"src/app.py": "print('bye')\n", "src/new.py": "NEW = 2\n"}, delete=("src/lib/util.py",)
    )
    start = len(world.fake.calls)
    result = run(event(commit=head))

    assert_mirrored(world)
    (target,) = result["targets"]
    assert target["action"] == "incremental" and target["files"] == 3
    assert world.secondary.head("main").parents == [before]
    (request,) = commit_requests(world)[1:]
    assert request["parentCommitId"] == before
    assert [e["filePath"] for e in request["deleteFiles"]] == ["src/lib/util.py"]
    assert sorted(e["filePath"] for e in request["putFiles"]) == ["src/app.py", "src/new.py"]
    # Incremental: the secondary tree is not listed, only the primary's diff since the last replica.
    primary_diffs = [p for r, op, p in world.fake.calls if op == "GetDifferences" and r == PRIMARY]
    assert primary_diffs[-1]["afterCommitSpecifier"] == head
    assert primary_diffs[-1]["beforeCommitSpecifier"] == world.primary.history("main")[1].commit_id
    assert world.fake.count("GetDifferences", SECONDARY) == 0
    # One commit, with the head as parent, moves the branch once: no working branch is needed.
    assert [
        op for r, op, _ in world.fake.calls[start:] if r == SECONDARY and op not in ("GetBranch", "GetCommit")
    ] == ["CreateCommit"]
    assert world.secondary.heads_seen("main")[-2:] == [before, target["secondaryHead"]]


@pytest.mark.parametrize("renames", ["R", "M", "split"])
def test_renames_become_a_delete_and_a_put(world: World, renames: str):
    world.fake.renames = renames  # how GetDifferences reports them
    synced(world)
    head = world.primary.push(
        "main",
        {"src/moved.py": "X = 1\n", "guide.md": "# platform\n\nmore\n"},
        delete=("src/lib/util.py", "README.md"),
    )
    if renames != "split":
        diffs = world.fake.client(PRIMARY).get_differences(
            repositoryName=REPO,
            beforeCommitSpecifier=world.primary.history("main")[1].commit_id,
            afterCommitSpecifier=head,
            MaxResults=100,
        )["differences"]
        assert any(
            d["changeType"] == renames and d["beforeBlob"]["path"] != d["afterBlob"]["path"] for d in diffs
        )
    run(event(commit=head))

    assert_mirrored(world)
    request = commit_requests(world)[-1]
    assert sorted(e["filePath"] for e in request["deleteFiles"]) == ["README.md", "src/lib/util.py"]
    assert sorted(e["filePath"] for e in request["putFiles"]) == ["guide.md", "src/moved.py"]


def test_binary_content_round_trips_byte_for_byte(world: World):
    every_byte = bytes(range(256)) * 3
    odd = b"\x00\xff\xfe\x80PNG\r\n\x1a\n\x00\x00\xc3(" + b"\x00" * 10
    synced(world, {"img/all.bin": every_byte, "img/odd.png": odd, "text.txt": "caf\u00e9 \u2603\n"})
    files = world.secondary.files("main")
    assert files["img/all.bin"] == (every_byte, "NORMAL")
    assert files["img/odd.png"] == (odd, "NORMAL")
    assert files["text.txt"][0] == "caf\u00e9 \u2603\n".encode()

    head = world.primary.push("main", {"img/odd.png": odd[::-1]})
    run(event(commit=head))
    assert_mirrored(world)
    assert world.secondary.files("main")["img/odd.png"][0] == odd[::-1]


def test_file_modes_symlinks_and_a_mode_only_change(world: World):
    synced(world)
    assert world.secondary.tree("main")["docs/latest"][1] == "SYMLINK"
    assert world.secondary.tree("main")["bin/deploy.sh"][1] == "EXECUTABLE"
    blob_reads = world.fake.count("GetBlob")

    head = world.primary.push(
        "main",
        {"docs/latest": ("src/app.py", "SYMLINK"), "bin/new-tool": ("#!/bin/sh\n", "EXECUTABLE")},
        modes={"src/app.py": "EXECUTABLE", "bin/deploy.sh": "NORMAL"},
    )
    run(event(commit=head))

    assert_mirrored(world)
    tree = world.secondary.tree("main")
    assert tree["src/app.py"][1] == "EXECUTABLE" and tree["bin/deploy.sh"][1] == "NORMAL"
    assert world.secondary.files("main")["docs/latest"] == (b"src/app.py", "SYMLINK")
    request = commit_requests(world)[-1]
    assert sorted((e["filePath"], e["fileMode"]) for e in request["setFileModes"]) == [
        ("bin/deploy.sh", "NORMAL"),
        ("src/app.py", "EXECUTABLE"),
    ]
    assert sorted((e["filePath"], e["fileMode"]) for e in request["putFiles"]) == [
        ("bin/new-tool", "EXECUTABLE"),
        ("docs/latest", "SYMLINK"),
    ]
    # A mode-only change carries no content, so only the two new blobs were read.
    assert world.fake.count("GetBlob") - blob_reads == 2


def test_a_file_replaced_by_a_folder_of_the_same_name(world: World):
    synced(world, {"docs": "a file\n", "keep": "k\n"})
    # Enough other files to need two commits: the delete of "docs" must not come after the put
    # of "docs/index.md", or the commit in between would hold both.
    others = {f"z/{i:03}": f"{i}\n" for i in range(120)}
    head = world.primary.push("main", {"docs/index.md": "now a folder\n", **others}, delete=("docs",))
    run(event(commit=head))
    assert_mirrored(world)
    assert len(commit_requests(world)) == 3


def test_getdifferences_pages_are_all_followed(world: World):
    world.fake.max_results = 2
    synced(world, {f"f{i:02}.txt": f"v1 {i}\n" for i in range(9)})
    head = world.primary.push("main", {f"f{i:02}.txt": f"v2 {i}\n" for i in range(9)})
    start = len(world.fake.calls)
    result = run(event(commit=head))

    assert_mirrored(world)
    assert result["targets"][0]["files"] == 9
    pages = [p for r, op, p in world.fake.calls[start:] if op == "GetDifferences" and r == PRIMARY]
    assert len(pages) == 5  # 9 entries, 2 a page
    assert "NextToken" not in pages[0] and all("NextToken" in p for p in pages[1:])


# ---- branches ------------------------------------------------------------------------------------


def test_a_new_branch_starts_from_the_secondary_default_branch(world: World):
    main_head = synced(world)
    world.primary.set_branch("feature/x", world.primary.branches["main"])  # git checkout -b feature/x
    feature = world.primary.push("feature/x", {"src/feature.py": "F = 1\n"}, message="feature work")
    result = run(event("referenceCreated", branch="feature/x", commit=feature))

    assert_mirrored(world, "feature/x")
    assert_mirrored(world, "main")
    (target,) = result["targets"]
    assert target["action"] == "created-branch" and target["files"] == 1
    # Staged on the working branch, from the default branch's head; the branch is created at the
    # finished commit, so it is never seen with the default branch's tree.
    work = "repo-replicator/staging/feature/x"
    assert calls(world, "CreateBranch") == [
        {"repositoryName": REPLICA, "branchName": work, "commitId": main_head},
        {"repositoryName": REPLICA, "branchName": "feature/x", "commitId": target["secondaryHead"]},
    ]
    assert calls(world, "CreateCommit")[-1]["branchName"] == work
    assert world.secondary.heads_seen("feature/x") == [target["secondaryHead"]]
    assert world.secondary.head("feature/x").parents == [main_head]
    assert world.secondary.default_branch == "main"


def test_a_new_branch_at_the_same_commit_needs_no_commit(world: World):
    main_head = synced(world)
    world.primary.set_branch("release", world.primary.branches["main"])
    result = run(event("referenceCreated", branch="release"))

    assert result["targets"][0]["action"] == "created-branch"
    assert result["targets"][0]["commits"] == []
    assert world.secondary.branches["release"] == main_head
    assert len(commit_requests(world)) == 1


def test_a_deleted_branch_is_deleted_and_a_redelivery_is_harmless(
    world: World, capsys: pytest.CaptureFixture[str]
):
    synced(world)
    world.primary.push("feature", {"f.txt": "f\n"})
    run(event("referenceCreated", branch="feature"))
    assert_mirrored(world, "feature")
    del world.primary.branches["feature"]

    result = run(event("referenceDeleted", branch="feature"))
    assert "feature" not in world.secondary.branches
    assert result["targets"][0]["action"] == "deleted-branch"
    again = run(event("referenceDeleted", branch="feature"))
    assert again["targets"][0]["action"] == "branch-absent"
    assert "feature" not in world.secondary.branches and "main" in world.secondary.branches
    assert [line["event"] for line in logs(capsys) if line["level"] != "INFO"] == []


def test_deleting_the_secondary_default_branch_is_refused_with_a_warning(
    world: World, capsys: pytest.CaptureFixture[str]
):
    world.primary.push("main", {"a": "a\n"})
    world.primary.push("feature", {"f": "f\n"})
    run(event("referenceCreated", branch="feature"))  # the first branch in the secondary: its default
    run(event("referenceCreated", branch="main"))
    assert world.secondary.default_branch == "feature"
    del world.primary.branches["feature"]
    capsys.readouterr()

    result = run(event("referenceDeleted", branch="feature"))
    assert result["status"] == "ok" and result["targets"][0]["action"] == "default-branch-kept"
    assert "feature" in world.secondary.branches
    (warning,) = [line for line in logs(capsys) if line["level"] == "WARNING"]
    assert warning["event"] == "default-branch-kept" and "'feature'" in warning["message"]


def test_a_delete_event_for_a_branch_that_exists_again_replicates_it(world: World):
    synced(world)
    world.primary.push("feature", {"f": "v2\n"})
    result = run(event("referenceDeleted", branch="feature"))
    assert result["targets"][0]["action"] == "created-branch"
    assert_mirrored(world, "feature")


# ---- idempotence and ordering ---------------------------------------------------------------------


def test_a_redelivered_event_writes_nothing(world: World, capsys: pytest.CaptureFixture[str]):
    head = world.primary.push("main", base_files())
    ev = event("referenceCreated", commit=head)
    run(ev)
    commits = len(world.secondary.commits)
    secondary_head = world.secondary.branches["main"]
    capsys.readouterr()

    result = run(ev)
    assert result["targets"][0]["action"] == "up-to-date" and result["targets"][0]["commits"] == []
    assert len(world.secondary.commits) == commits and world.secondary.branches["main"] == secondary_head
    assert len(commit_requests(world)) == 1
    assert "up-to-date" in [line["event"] for line in logs(capsys)]
    assert_mirrored(world)


def test_an_older_event_delivered_late_converges_on_the_current_head(world: World):
    synced(world)
    old = world.primary.push("main", {"a.txt": "one\n"})
    new = world.primary.push("main", {"a.txt": "two\n", "b.txt": "b\n"})
    result = run(event(commit=old))  # the older push's event, after the newer push
    assert result["sourceCommit"] == new
    assert_mirrored(world)
    assert world.secondary.files("main")["a.txt"][0] == b"two\n"

    writes = len(commit_requests(world))
    run(event(commit=new))
    run(event(commit=old))
    assert len(commit_requests(world)) == writes
    assert_mirrored(world)


def test_divergence_on_the_secondary_is_overwritten_with_a_warning(
    world: World, capsys: pytest.CaptureFixture[str]
):
    synced(world)
    rogue = world.secondary.push(
        "main",
        {"hotfix.txt": "direct\n", "README.md": "edited here\n"},
        delete=("src/app.py",),
        modes={"bin/deploy.sh": "NORMAL"},
    )
    head = world.primary.push("main", {"src/new.py": "N = 1\n"})
    capsys.readouterr()
    result = run(event(commit=head))

    assert_mirrored(world)
    assert "hotfix.txt" not in world.secondary.tree("main")
    assert result["targets"][0]["action"] == "converged"
    assert world.secondary.head("main").parents == [rogue]
    (warning,) = [line for line in logs(capsys) if line["level"] == "WARNING"]
    assert warning["event"] == "diverged" and warning["secondaryHead"] == rogue
    assert warning["targetRegion"] == SECONDARY and warning["branch"] == "main"


def test_equal_trees_without_our_trailer_write_nothing(world: World, capsys: pytest.CaptureFixture[str]):
    # Someone pushed the same content to both repositories with git.
    world.primary.push("main", base_files())
    world.secondary.push("main", base_files())
    result = run(event())
    assert result["targets"][0]["action"] == "up-to-date"
    assert commit_requests(world) == []
    assert world.secondary.tree("main") == world.primary.tree("main")
    lines = logs(capsys)
    assert "trees-equal" in [line["event"] for line in lines]
    assert not [line for line in lines if line["level"] != "INFO"]


def test_a_replicated_commit_missing_from_the_primary_falls_back_to_full_comparison(
    world: World, capsys: pytest.CaptureFixture[str]
):
    head = synced(world)
    gone = "f" * 40
    world.secondary.commits[head].message = f"Replicate\n\nReplicated-From: {gone}\n"
    new = world.primary.push("main", {"x": "x\n"}, delete=("README.md",))
    capsys.readouterr()
    result = run(event(commit=new))

    assert_mirrored(world)
    assert result["targets"][0]["action"] == "converged"
    (warning,) = [line for line in logs(capsys) if line["level"] == "WARNING"]
    assert warning["event"] == "replicated-commit-missing" and warning["lastReplicated"] == gone


def test_a_concurrent_write_to_the_secondary_raises_and_the_retry_converges(world: World):
    synced(world)
    head = world.primary.push("main", {"c.txt": "c\n"})

    def someone_pushes(region: str, params: dict[str, Any]) -> None:
        world.fake.before.pop("CreateCommit")
        world.secondary.push("main", {"theirs.txt": "x\n"})

    world.fake.before["CreateCommit"] = someone_pushes
    with pytest.raises(ClientError) as raised:
        run(event(commit=head))
    assert raised.value.response["Error"]["Code"] == "ParentCommitIdOutdatedException"

    run(event(commit=head))
    assert_mirrored(world)


# ---- limits and splitting ---------------------------------------------------------------------


def test_more_than_100_files_are_split_into_partial_commits(world: World):
    files = {f"data/{i:03}.txt": f"row {i}\n" for i in range(250)}
    head = world.primary.push("main", files, message="bulk")
    result = run(event("referenceCreated", commit=head))

    assert_mirrored(world)
    requests = commit_requests(world)
    assert [len(r["putFiles"]) for r in requests] == [100, 100, 50]
    assert result["targets"][0]["commits"] == [c.commit_id for c in reversed(world.secondary.history("main"))]
    messages = [c.message for c in reversed(world.secondary.history("main"))]
    assert messages[0] == (
        f"Replicate {head[:12]} from {PRIMARY}/{REPO} (part 1): bulk\n\nReplicated-Partial: {head} 1\n"
    )
    assert f"Replicated-Partial: {head} 2\n" in messages[1] and "(part 2)" in messages[1]
    assert f"Replicated-From: {head}" in messages[2] and "Replicated-Partial" not in messages[2]
    assert [r.get("parentCommitId") for r in requests[1:]] == result["targets"][0]["commits"][:2]
    # Into an empty repository: the first part created the working branch (and so made it the
    # default branch); the branch was created once, at the last part, and became the default.
    assert {r["branchName"] for r in requests} == {"repo-replicator/staging/main"}
    assert "parentCommitId" not in requests[0]
    assert world.secondary.heads_seen("main") == [result["targets"][0]["secondaryHead"]]
    assert world.secondary.default_branch == "main" and set(world.secondary.branches) == {"main"}
    assert calls(world, "UpdateDefaultBranch") == [{"repositoryName": REPLICA, "defaultBranchName": "main"}]


def test_entries_of_every_kind_count_toward_the_100(world: World):
    synced(world, {f"f{i:03}": f"{i}\n" for i in range(120)})
    head = world.primary.push(
        "main",
        {f"new{i:03}": f"n{i}\n" for i in range(40)},
        delete=tuple(f"f{i:03}" for i in range(50)),
        modes={f"f{i:03}": "EXECUTABLE" for i in range(50, 90)},
    )
    run(event(commit=head))
    assert_mirrored(world)
    sizes = [
        sum(len(r.get(k, [])) for k in ("putFiles", "deleteFiles", "setFileModes"))
        for r in commit_requests(world)[2:]
    ]
    assert sizes == [100, 30]


def test_more_than_7mb_of_content_is_split(world: World):
    files = {
        "big/a.bin": b"a" * (4 * MIB),
        "big/b.bin": b"b" * (7 * MIB // 2),  # with a.bin: 7.5 MiB, over CodeCommit's 7 MB a commit
        "big/c.bin": b"c" * (2 * MIB),
        "big/max.bin": b"m" * common.MAX_FILE_BYTES,  # exactly the per-file limit is allowed
        "small.txt": "s\n",
    }
    head = world.primary.push("main", files)
    result = run(event("referenceCreated", commit=head))

    assert_mirrored(world)
    requests = commit_requests(world)
    content = [sum(len(e["fileContent"]) for e in r["putFiles"]) for r in requests]
    assert content == [4 * MIB, 11 * MIB // 2, 6 * MIB, 2]  # in path order, each within 6 MiB
    assert [c.commit_id for c in reversed(world.secondary.history("main"))] == result["targets"][0]["commits"]
    assert f"Replicated-Partial: {head} 3\n" in world.secondary.history("main")[1].message


def test_a_file_over_6mb_raises_naming_it_before_anything_is_written(
    world: World, capsys: pytest.CaptureFixture[str]
):
    head_before = synced(world)
    head = world.primary.push(
        "main", {"assets/huge.iso": b"\x00" * (common.MAX_FILE_BYTES + 1), "ok.txt": "ok\n"}
    )
    capsys.readouterr()
    with pytest.raises(common.FileTooLargeError, match=r"assets/huge\.iso.*6291457 bytes"):
        run(event(commit=head))

    assert world.secondary.branches["main"] == head_before
    assert len(commit_requests(world)) == 1
    stopped = next(line for line in logs(capsys) if line["event"] == "replication-stopped")
    assert stopped["level"] == "ERROR"
    assert stopped["committedParts"] == [] and stopped["secondaryHead"] == head_before
    assert stopped["remainingFiles"] == 2 and "assets/huge.iso" in stopped["remainingPaths"]


def test_an_interrupted_run_logs_where_it_stopped_and_the_next_run_resumes(
    world: World, capsys: pytest.CaptureFixture[str]
):
    files = {f"data/{i:03}.txt": f"row {i}\n" for i in range(250)}
    head = world.primary.push("main", files)
    world.fake.fail_once("CreateCommit", on_call=2)
    with pytest.raises(ClientError, match="ServiceUnavailable"):
        run(event("referenceCreated", commit=head))

    # The part written is on the working branch; the branch itself does not exist yet.
    assert "main" not in world.secondary.branches
    first = world.secondary.branches[WORK]
    assert world.secondary.commits[first].message.endswith(f"Replicated-Partial: {head} 1\n")
    lines = logs(capsys)
    stopped = next(line for line in lines if line["event"] == "replication-stopped")
    assert stopped["committedParts"] == [{"part": 1, "commitId": first}]
    assert stopped["workingBranch"] == WORK and stopped["workingHead"] == first
    assert stopped["secondaryHead"] is None
    assert stopped["remainingFiles"] == 150 and stopped["remainingPaths"][0] == "data/100.txt"

    result = run(event("referenceCreated", commit=head))
    assert_mirrored(world)
    assert result["targets"][0]["action"] == "created-branch"
    assert len(world.secondary.history("main")) == 3  # 1 before the failure, 2 to finish
    assert world.fake.count("GetBlob") == 200 + 150  # the failed part's blobs were read again
    assert world.secondary.default_branch == "main" and set(world.secondary.branches) == {"main"}
    lines = logs(capsys)
    resuming = next(line for line in lines if line["event"] == "resuming")
    assert resuming["workingHead"] == first and resuming["interruptedPart"] == 1
    assert resuming["remainingFiles"] == 150
    assert [line for line in lines if line["level"] == "WARNING"] == []


# ---- staging, resuming and the time budget --------------------------------------------------------


def many(count: int, version: str = "v1", prefix: str = "data") -> dict[str, str]:
    return {f"{prefix}/{i:03}.txt": f"{version} {i}\n" for i in range(count)}


class Clock:
    """A Lambda context whose remaining time drops by ``per_commit`` seconds with each CreateCommit
    made from now on, out of ``start`` seconds."""

    def __init__(self, world: World, start: float = 100.0, per_commit: float = 40.0) -> None:
        self.fake, self.start, self.per_commit = world.fake, start, per_commit
        self.before = world.fake.count("CreateCommit")

    def get_remaining_time_in_millis(self) -> int:
        used = self.fake.count("CreateCommit") - self.before
        return int((self.start - self.per_commit * used) * 1000)


def test_a_change_of_several_commits_is_staged_and_moves_the_branch_once(
    world: World, capsys: pytest.CaptureFixture[str]
):
    world.fake.max_results = 100  # GetDifferences' default page; NextToken is tested elsewhere
    before = synced(world, many(250))
    head = world.primary.push("main", many(250, "v2"), message="bulk edit")
    capsys.readouterr()
    start = len(world.fake.calls)
    result = run(event(commit=head))

    assert_mirrored(world)
    (target,) = result["targets"]
    assert target["action"] == "incremental" and len(target["commits"]) == 3
    final = target["secondaryHead"]
    # The parts went to the working branch, started at the head; then one fast-forward.
    assert calls(world, "CreateBranch")[-1] == {
        "repositoryName": REPLICA,
        "branchName": WORK,
        "commitId": before,
    }
    requests = commit_requests(world)[-3:]
    assert [r["branchName"] for r in requests] == [WORK] * 3
    assert [r["parentCommitId"] for r in requests] == [before, *target["commits"][:2]]
    assert all(f"Replicated-Base: {before}\n" in r["commitMessage"] for r in requests)
    (merge,) = calls(world, "MergeBranchesByFastForward")
    assert merge == {
        "repositoryName": REPLICA,
        "sourceCommitSpecifier": final,
        "destinationCommitSpecifier": "main",
        "targetBranch": "main",
    }
    assert calls(world, "DeleteBranch")[-1] == {"repositoryName": REPLICA, "branchName": WORK}
    # What a pipeline watching main saw: the old head, then the whole new tree.
    assert world.secondary.heads_seen("main")[-2:] == [before, final]
    assert [(m.branch, m.commit_id) for m in world.secondary.moves[-6:]] == [
        (WORK, before),
        *[(WORK, commit) for commit in target["commits"]],
        ("main", final),
        (WORK, None),
    ]
    operations = [
        op
        for r, op, _ in world.fake.calls[start:]
        if r == SECONDARY and op.startswith(("Create", "Merge", "Delete"))
    ]
    assert operations == [
        "CreateBranch",
        "CreateCommit",
        "CreateCommit",
        "CreateCommit",
        "MergeBranchesByFastForward",
        "DeleteBranch",
    ]
    assert [line["level"] for line in logs(capsys) if line["level"] != "INFO"] == []


def test_commits_are_made_as_the_blobs_are_read(world: World):
    synced(world, {"a": "a\n"})
    head = world.primary.push("main", many(250))
    start = len(world.fake.calls)
    run(event(commit=head))

    assert_mirrored(world)
    sequence = [op for _, op, _ in world.fake.calls[start:] if op in ("GetBlob", "CreateCommit")]
    # 100 reads, a commit, 100 reads, a commit...: never all the reads first.
    assert sequence == (["GetBlob"] * 100 + ["CreateCommit"]) * 2 + ["GetBlob"] * 50 + ["CreateCommit"]


def test_the_time_budget_pauses_and_the_next_invocations_continue(
    world: World, capsys: pytest.CaptureFixture[str]
):
    world.fake.max_results = 100  # GetDifferences' default page; NextToken is tested elsewhere
    before = synced(world, many(450))
    head = world.primary.push("main", many(450, "v2"))  # 5 commits' worth
    capsys.readouterr()

    # 100 s left, 40 s a commit, 30 s of margin: two commits an invocation.
    reads = world.fake.count("GetBlob")
    with pytest.raises(common.ReplicationPaused, match="SAFETY_SECONDS"):
        handler.handler(event(commit=head), Clock(world))
    assert world.secondary.branches["main"] == before
    assert world.fake.count("GetBlob") - reads == 200  # nothing read for the commit not made
    assert world.secondary.head(WORK).message.endswith(
        f"Replicated-Partial: {head} 2\nReplicated-Base: {before}\n"
    )
    lines = logs(capsys)
    (paused,) = [line for line in lines if line["event"] == "replication-paused"]
    assert paused["level"] == "WARNING" and paused["remainingSeconds"] == pytest.approx(20)
    assert paused["committedParts"] == [
        {"part": 1, "commitId": world.secondary.history(WORK)[1].commit_id},
        {"part": 2, "commitId": world.secondary.branches[WORK]},
    ]
    assert paused["workingBranch"] == WORK and paused["secondaryHead"] == before
    assert paused["remainingFiles"] == 250 and paused["remainingPaths"][0] == "data/200.txt"
    assert "target-failed" in [line["event"] for line in lines]

    with pytest.raises(common.ReplicationPaused):
        handler.handler(event(commit=head), Clock(world))
    assert world.secondary.branches["main"] == before
    assert world.secondary.head(WORK).message.endswith(
        f"Replicated-Partial: {head} 4\nReplicated-Base: {before}\n"
    )

    capsys.readouterr()
    result = handler.handler(event(commit=head), Clock(world))
    assert_mirrored(world)
    assert result["targets"][0]["action"] == "converged"
    assert len(commit_requests(world)) == 5 + 5  # the sync, then five parts: nothing written twice
    assert world.secondary.heads_seen("main")[-2:] == [before, world.secondary.branches["main"]]
    lines = logs(capsys)
    assert [line["level"] for line in lines if line["level"] != "INFO"] == []
    assert "resuming" in [line["event"] for line in lines]
    assert world.metrics  # the lag is reported once it is done


def test_without_a_context_or_with_time_to_spare_there_is_no_pause(world: World):
    world.fake.max_results = 100  # GetDifferences' default page; NextToken is tested elsewhere
    head = world.primary.push("main", many(250))
    assert handler.handler(event(commit=head), None)["status"] == "ok"
    assert_mirrored(world)
    head = world.primary.push("main", many(250, "v2"))
    world.monkeypatch.setenv("SAFETY_SECONDS", "0")
    assert handler.handler(event(commit=head), Clock(world, start=100, per_commit=40))["status"] == "ok"
    assert_mirrored(world)


def test_a_second_target_does_not_start_when_the_time_is_used_up(
    world: World, capsys: pytest.CaptureFixture[str]
):
    third = world.fake.create_repository(THIRD, "replica-eu")
    world.targets((SECONDARY, REPLICA), (THIRD, "replica-eu"))
    head = world.primary.push("main", {"a": "a\n"})
    # 40 s left: the first target's one commit brings it to 0, under the margin.
    with pytest.raises(common.ReplicationPaused):
        handler.handler(event(commit=head), Clock(world, start=40, per_commit=40))
    assert_mirrored(world)
    assert third.branches == {} and world.fake.count("GetBranch", THIRD) == 0
    assert "replication-paused" in [line["event"] for line in logs(capsys)]
    handler.handler(event(commit=head), None)
    assert_mirrored(world, secondary=third)


def test_a_file_over_6mb_in_a_later_part_stops_on_the_working_branch(
    world: World, capsys: pytest.CaptureFixture[str]
):
    before = synced(world, {"a": "a\n"})
    huge = b"\x00" * (common.MAX_FILE_BYTES + 1)
    head = world.primary.push("main", {**many(150), "zz/huge.iso": huge})
    capsys.readouterr()
    with pytest.raises(common.FileTooLargeError, match=r"zz/huge\.iso.*6291457 bytes"):
        run(event(commit=head))

    assert world.secondary.branches["main"] == before  # untouched
    part = world.secondary.branches[WORK]
    stopped = next(line for line in logs(capsys) if line["event"] == "replication-stopped")
    assert stopped["committedParts"] == [{"part": 1, "commitId": part}] and stopped["workingHead"] == part
    assert stopped["remainingFiles"] == 51 and "zz/huge.iso" in stopped["error"]

    # Once the file is gone from the primary, the next run continues the working branch.
    fixed = world.primary.push("main", delete=("zz/huge.iso",))
    result = run(event(commit=fixed))
    assert_mirrored(world)
    assert result["targets"][0]["action"] == "converged"
    assert world.secondary.history("main")[1].commit_id == part
    assert len(commit_requests(world)) == 1 + 2


def test_a_working_branch_for_an_older_primary_commit_is_continued(
    world: World, capsys: pytest.CaptureFixture[str]
):
    world.fake.max_results = 100  # GetDifferences' default page; NextToken is tested elsewhere
    before = synced(world, many(250))
    older = world.primary.push("main", many(250, "v2"))
    world.fake.fail_once("CreateCommit", on_call=2)
    with pytest.raises(ClientError):
        run(event(commit=older))
    part = world.secondary.branches[WORK]
    # More pushes meanwhile: the first 100 files change again, and 10 are added.
    head = world.primary.push("main", {**many(100, "v3"), **many(10, "new", prefix="more")})
    capsys.readouterr()
    result = run(event(commit=head))

    assert_mirrored(world)
    assert result["targets"][0]["action"] == "converged"
    resuming = next(line for line in logs(capsys) if line["event"] == "resuming")
    assert resuming["interruptedSource"] == older and resuming["workingHead"] == part
    assert resuming["remainingFiles"] == 100 + 150 + 10
    assert world.secondary.heads_seen("main")[-2:] == [before, world.secondary.branches["main"]]
    assert part in [c.commit_id for c in world.secondary.history("main")]


def test_finished_but_not_fast_forwarded_is_fast_forwarded_by_the_retry(
    world: World, capsys: pytest.CaptureFixture[str]
):
    before = synced(world)
    head = world.primary.push("main", many(150))
    world.fake.fail_once("MergeBranchesByFastForward", on_call=1)
    with pytest.raises(ClientError, match="ServiceUnavailable"):
        run(event(commit=head))
    assert world.secondary.branches["main"] == before
    assert f"Replicated-From: {head}" in world.secondary.head(WORK).message
    failed = next(line for line in logs(capsys) if line["event"] == "fast-forward-failed")
    assert failed["code"] == "ServiceUnavailable" and failed["expectedHead"] == before

    writes = len(commit_requests(world))
    result = run(event(commit=head))
    assert_mirrored(world)
    assert len(commit_requests(world)) == writes  # nothing rewritten
    assert result["targets"][0]["action"] == "converged" and result["targets"][0]["commits"] == []
    assert world.secondary.heads_seen("main")[-2:] == [before, world.secondary.branches["main"]]
    assert [line["level"] for line in logs(capsys) if line["level"] != "INFO"] == []


def test_a_push_to_the_secondary_during_staging_fails_the_fast_forward_and_the_retry_starts_over(
    world: World, capsys: pytest.CaptureFixture[str]
):
    synced(world)
    head = world.primary.push("main", many(150))

    def someone_pushes(region: str, params: dict[str, Any]) -> None:
        world.fake.before.pop("MergeBranchesByFastForward")
        world.secondary.push("main", {"theirs.txt": "x\n"})

    world.fake.before["MergeBranchesByFastForward"] = someone_pushes
    with pytest.raises(ClientError) as raised:
        run(event(commit=head))
    assert raised.value.response["Error"]["Code"] == "ManualMergeRequiredException"
    rogue = world.secondary.branches["main"]
    assert "theirs.txt" in world.secondary.tree("main")  # theirs is kept, not overwritten by a forced move
    capsys.readouterr()

    run(event(commit=head))
    assert_mirrored(world)
    assert world.secondary.head("main").parents[0] != rogue  # two parts again, from their commit
    assert world.secondary.history("main")[2].commit_id == rogue
    warnings = [line for line in logs(capsys) if line["level"] == "WARNING"]
    assert [w["event"] for w in warnings] == ["working-branch-discarded", "diverged"]
    assert warnings[0]["secondaryHead"] == rogue


def test_a_working_branch_left_after_publishing_is_deleted_by_the_next_run(
    world: World, capsys: pytest.CaptureFixture[str]
):
    before = synced(world)
    head = world.primary.push("main", many(150))
    world.fake.fail_once("DeleteBranch", on_call=1)
    with pytest.raises(ClientError, match="ServiceUnavailable"):
        run(event(commit=head))
    published = world.secondary.branches["main"]
    assert published != before and world.secondary.branches[WORK] == published

    capsys.readouterr()
    result = run(event(commit=head))
    assert_mirrored(world)
    assert result["targets"][0]["action"] == "up-to-date"
    assert world.secondary.branches["main"] == published
    lines = logs(capsys)
    assert [line["level"] for line in lines if line["level"] != "INFO"] == []
    discarded = next(line for line in lines if line["event"] == "working-branch-discarded")
    assert "already points at its head" in discarded["reason"]


def test_a_part_left_on_the_branch_by_an_earlier_version_is_resumed_without_a_warning(
    world: World, capsys: pytest.CaptureFixture[str]
):
    # Versions before the working branch committed parts on the branch itself ("i/n").
    head = synced(world)
    world.secondary.commits[head].message = f"Replicate (part 1/3)\n\nReplicated-Partial: {'e' * 40} 1/3\n"
    new = world.primary.push("main", {"x": "x\n"})
    capsys.readouterr()
    result = run(event(commit=new))
    assert_mirrored(world)
    assert result["targets"][0]["action"] == "converged"
    lines = logs(capsys)
    assert next(line for line in lines if line["event"] == "resuming")["interruptedPart"] == 1
    assert [line["level"] for line in lines if line["level"] != "INFO"] == []


def test_a_working_branch_not_written_by_the_replicator_is_discarded(
    world: World, capsys: pytest.CaptureFixture[str]
):
    before = synced(world)
    world.secondary.set_branch(WORK, before)
    world.secondary.push(WORK, {"stray": "x\n"}, message="someone's commit")
    head = world.primary.push("main", {"b": "b\n"})
    capsys.readouterr()
    result = run(event(commit=head))

    assert_mirrored(world)
    assert result["targets"][0]["action"] == "incremental"
    (warning,) = [line for line in logs(capsys) if line["level"] == "WARNING"]
    assert warning["event"] == "working-branch-discarded" and "not written" in warning["reason"]


def test_a_deleted_branch_takes_its_working_branch_with_it(world: World):
    synced(world)
    world.primary.set_branch("feature", world.primary.branches["main"])
    head = world.primary.push("feature", many(150))
    world.fake.fail_once("CreateCommit", on_call=2)
    with pytest.raises(ClientError):
        run(event("referenceCreated", branch="feature", commit=head))
    assert "repo-replicator/staging/feature" in world.secondary.branches
    del world.primary.branches["feature"]

    result = run(event("referenceDeleted", branch="feature"))
    assert result["targets"][0]["action"] == "branch-absent"
    assert set(world.secondary.branches) == {"main"}


@pytest.mark.parametrize("branch", ["repo-replicator", "repo-replicator/staging/main", "repo-replicator/x"])
def test_branches_under_the_reserved_name_are_not_replicated(
    world: World, branch: str, capsys: pytest.CaptureFixture[str]
):
    world.primary.push(branch, {"a": "a\n"})
    result = run(event(branch=branch))
    assert result["status"] == "skipped" and "reserved" in result["reason"]
    assert world.fake.calls == [] and world.secondary.branches == {}
    (line,) = logs(capsys)
    assert (line["level"], line["event"]) == ("ERROR", "reference-reserved")


def test_working_branch_names():
    assert common.working_branch("main") == WORK
    assert common.working_branch("feature/x") == "repo-replicator/staging/feature/x"
    long = "b" * 250
    name = common.working_branch(long)
    assert (
        len(name) <= 256
        and name.startswith(common.WORK_PREFIX)
        and name != common.working_branch("c" * 250)
    )
    assert not common.is_reserved("main") and not common.is_reserved("repo-replicator-2")


@pytest.mark.parametrize("value", ["soon", "-1", "900"])
def test_a_bad_safety_seconds_setting_raises(world: World, value: str):
    world.monkeypatch.setenv("SAFETY_SECONDS", value)
    with pytest.raises(common.ConfigError, match="SAFETY_SECONDS"):
        run(event())


def test_submodules_are_left_alone_with_a_warning(world: World, capsys: pytest.CaptureFixture[str]):
    head = world.primary.push("main", {"a.txt": "a\n"})
    world.primary.commits[head].tree["vendor/lib"] = ("a" * 40, "SUBMODULE")
    run(event(commit=head))
    expected = {p: e for p, e in world.primary.tree("main").items() if p != "vendor/lib"}
    assert world.secondary.tree("main") == expected
    (warning,) = [line for line in logs(capsys) if line["level"] == "WARNING"]
    assert warning["event"] == "submodules-skipped" and warning["paths"] == ["vendor/lib"]

    # Removing it in the primary is not a delete for the secondary either (it never had it).
    head = world.primary.push("main", {"b.txt": "b\n"}, delete=("vendor/lib",))
    assert run(event(commit=head))["targets"][0]["action"] == "incremental"
    assert_mirrored(world)
    (warning,) = [line for line in logs(capsys) if line["level"] == "WARNING"]
    assert warning["paths"] == ["vendor/lib"]


def _blob(path: str, blob: str, mode: str = "100644") -> dict[str, str]:
    return {"path": path, "blobId": blob * 40, "mode": mode}


def test_changes_from_differences_in_every_shape():
    diffs = [
        {"beforeBlob": _blob("old", "1"), "afterBlob": _blob("new", "2"), "changeType": "R"},  # rename + edit
        {"afterBlob": _blob("old", "3"), "changeType": "A"},  # a new file where the renamed one was
        {"beforeBlob": _blob("gone", "4"), "changeType": "D"},
        {"beforeBlob": _blob("x", "5"), "afterBlob": _blob("x", "5", "100755"), "changeType": "M"},
        {"beforeBlob": _blob("y", "6"), "afterBlob": _blob("y", "7", "120000"), "changeType": "M"},
        {"afterBlob": _blob("sub", "8", "160000"), "changeType": "A"},
        {"beforeBlob": _blob("re", "9"), "afterBlob": _blob("re", "a"), "changeType": "M"},
        {"beforeBlob": _blob("re2", "b"), "afterBlob": _blob("re3", "b"), "changeType": "M"},  # a rename as M
    ]
    skipped: list[str] = []
    changes = trees.changes_from_differences(iter(diffs), skipped)
    assert {(c.path, c.kind, c.blob_id[0] if c.blob_id else None, c.mode) for c in changes.values()} == {
        ("new", "put", "2", "NORMAL"),
        ("old", "put", "3", "NORMAL"),
        ("gone", "delete", None, None),
        ("x", "mode", None, "EXECUTABLE"),
        ("y", "put", "7", "SYMLINK"),
        ("re", "put", "a", "NORMAL"),
        ("re2", "delete", None, None),
        ("re3", "put", "b", "NORMAL"),
    }
    assert skipped == ["sub"]
    # The same rename reported after the add must not turn the put back into a delete.
    again = trees.changes_from_differences(iter([diffs[1], diffs[0]]), [])
    assert again["old"].kind == "put"
    with pytest.raises(ValueError, match=r"'odd'.*040000"):
        trees.changes_from_differences(
            iter([{"afterBlob": _blob("odd", "c", "040000"), "changeType": "A"}]), []
        )


def test_only_the_last_paragraph_holds_trailers():
    sha, other = "a" * 40, "b" * 40
    trailers = trees.Trailers
    assert trees.read_trailers(f"Replicate x\n\nReplicated-From: {sha}\n") == trailers(replicated_from=sha)
    assert trees.read_trailers(
        f"Replicate x (part 2)\n\nReplicated-Partial: {sha} 2\nReplicated-Base: {other}"
    ) == (trailers(partial=sha, part=2, base=other))
    # As versions that committed parts on the branch itself wrote it.
    assert trees.read_trailers(f"Replicate x (part 2/5)\n\nReplicated-Partial: {sha} 2/5") == trailers(
        partial=sha, part=2
    )
    assert trees.read_trailers(f"Revert\n\nReplicated-From: {sha}\n\nSigned-off-by: me") == trailers()
    assert trees.read_trailers(f"Subject\n\nReplicated-From: {other}\nReplicated-From: {sha}") == trailers(
        replicated_from=sha
    )
    assert trees.read_trailers("") == trailers()
    assert not trees.read_trailers("Replicated-From: not-a-sha").ours
    assert not trees.read_trailers(f"Replicated-Base: {sha}").ours


# ---- targets and configuration ----------------------------------------------------------------


def test_every_target_is_replicated(world: World):
    third = world.fake.create_repository(THIRD, "replica-eu")
    world.targets((SECONDARY, REPLICA), (THIRD, "replica-eu"))
    synced(world)
    head = world.primary.push("main", {"z": "z\n"})
    result = run(event(commit=head))

    assert_mirrored(world)
    assert_mirrored(world, secondary=third)
    assert [(t["region"], t["action"]) for t in result["targets"]] == [
        (SECONDARY, "incremental"),
        (THIRD, "incremental"),
    ]


def test_a_failing_target_does_not_stop_the_others_but_the_event_fails(world: World):
    third = world.fake.create_repository(THIRD, "replica-eu")
    world.targets((SECONDARY, "no-such-repo"), (THIRD, "replica-eu"))
    world.primary.push("main", base_files())
    with pytest.raises(ClientError) as raised:
        run(event())
    assert raised.value.response["Error"]["Code"] == "RepositoryDoesNotExistException"
    assert_mirrored(world, secondary=third)


def test_author_name_and_email_come_from_the_environment(world: World):
    world.monkeypatch.setenv("AUTHOR_NAME", "Replication Bot")
    world.monkeypatch.setenv("AUTHOR_EMAIL", "bot@example.com")
    synced(world)
    commit = world.secondary.head("main")
    assert (commit.author, commit.email) == ("Replication Bot", "bot@example.com")


@pytest.mark.parametrize(
    "targets",
    [
        None,
        "",
        "not json",
        "[]",
        '{"region": "us-east-2", "repositoryName": "r"}',
        '[{"region": "us-east-2"}]',
        '[{"region": "us-east-2", "repositoryName": "r", "extra": 1}]',
        '[{"region": "Ohio", "repositoryName": "r"}]',
        '[{"region": "us-east-2", "repositoryName": "bad name"}]',
        f'[{{"region": "{PRIMARY}", "repositoryName": "{REPO}"}}]',
        '[{"region": "us-east-2", "repositoryName": "r"}, {"region": "us-east-2", "repositoryName": "r"}]',
    ],
)
def test_a_bad_targets_setting_raises(world: World, targets: str | None):
    if targets is None:
        world.monkeypatch.delenv("TARGETS")
    else:
        world.monkeypatch.setenv("TARGETS", targets)
    world.primary.push("main", {"a": "a\n"})
    with pytest.raises(common.ConfigError, match="TARGETS"):
        run(event())
    assert world.fake.calls == []


def test_a_missing_source_repository_setting_raises(world: World):
    world.monkeypatch.delenv("SOURCE_REPOSITORY")
    with pytest.raises(ValueError, match="SOURCE_REPOSITORY"):
        run(event())


# ---- events that are not replicated ---------------------------------------------------------------


def test_a_tag_is_skipped_without_a_call(world: World, capsys: pytest.CaptureFixture[str]):
    world.primary.push("main", {"a": "a\n"})
    result = run(event("referenceCreated", branch="v1.0", reference_type="tag"))
    assert result["status"] == "skipped" and "tag" in result["reason"]
    assert world.fake.calls == [] and world.secondary.branches == {}
    (line,) = logs(capsys)
    assert line["level"] == "INFO" and line["event"] == "reference-skipped"


def test_an_event_for_another_repository_is_ignored(world: World, capsys: pytest.CaptureFixture[str]):
    world.fake.create_repository(PRIMARY, "other").push("main", {"a": "a\n"})
    other_region = event()
    other_region["region"] = SECONDARY
    for ev in (event(repo="other"), other_region):
        result = run(ev)
        assert result["status"] == "ignored" and "this function replicates" in result["reason"]
    assert world.fake.calls == []
    assert [(line["level"], line["event"]) for line in logs(capsys)] == [("ERROR", "event-ignored")] * 2


def _without(key: str) -> dict[str, Any]:
    ev = event()
    del ev["detail"][key]
    return ev


@pytest.mark.parametrize(
    "bad",
    [
        None,
        "a string",
        {},
        {"detail": "not a dict"},
        {**event(), "source": "aws.s3"},
        {**event(), "detail": {**event()["detail"], "event": "pullRequestCreated"}},
        _without("repositoryName"),
        _without("referenceType"),
        {**event(), "detail": {**event()["detail"], "referenceName": "", "referenceFullName": None}},
    ],
)
def test_a_malformed_event_is_ignored_not_raised(world: World, bad: Any, capsys: pytest.CaptureFixture[str]):
    result = run(bad)
    assert result["status"] == "ignored" and result["reason"]
    assert world.fake.calls == []
    assert [line["level"] for line in logs(capsys)] == ["ERROR"]


# ---- the lag metric ------------------------------------------------------------------------------


def _lag(region: str, namespace: str = common.DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
    cloudwatch = boto3.client("cloudwatch", region_name=PRIMARY)
    return cloudwatch.get_metric_statistics(
        Namespace=namespace,
        MetricName="ReplicationLagSeconds",
        Dimensions=[{"Name": "Repository", "Value": REPO}, {"Name": "TargetRegion", "Value": region}],
        StartTime=NOW - timedelta(hours=1),
        EndTime=NOW + timedelta(hours=1),
        Period=3600,
        Statistics=["Maximum", "SampleCount"],
    )["Datapoints"]


@pytest.mark.usefixtures("moto_cloudwatch")
def test_the_lag_metric_is_published_per_target(world: World):
    world.fake.create_repository(THIRD, "replica-eu")
    world.targets((SECONDARY, REPLICA), (THIRD, "replica-eu"))
    world.monkeypatch.setenv("METRIC_NAMESPACE", "Test/Replication")
    world.primary.push("main", {"a": "a\n"})
    run(event())

    cloudwatch = boto3.client("cloudwatch", region_name=PRIMARY)
    metrics = cloudwatch.list_metrics(Namespace="Test/Replication")["Metrics"]
    assert sorted(
        (m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in metrics
    ) == [
        ("ReplicationLagSeconds", (("Repository", REPO), ("TargetRegion", THIRD))),
        ("ReplicationLagSeconds", (("Repository", REPO), ("TargetRegion", SECONDARY))),
    ]
    for region in (SECONDARY, THIRD):
        (point,) = _lag(region, "Test/Replication")
        assert point["Maximum"] == pytest.approx(42.5) and point["SampleCount"] == 1
        assert point["Unit"] == "Seconds"
    assert _lag(SECONDARY) == []  # not in the default namespace


@pytest.mark.usefixtures("moto_cloudwatch")
def test_a_redelivery_reports_the_lag_again_and_a_failure_does_not(world: World):
    head = world.primary.push("main", {"a": "a\n"})
    run(event(commit=head))
    world.monkeypatch.setattr(aws_calls, "now", lambda: NOW + timedelta(seconds=100))
    assert run(event(commit=head))["targets"][0]["action"] == "up-to-date"
    (point,) = _lag(SECONDARY)
    assert point["SampleCount"] == 2 and point["Maximum"] == pytest.approx(142.5)

    world.primary.push("main", {"b": "b\n"})
    world.fake.fail_once("CreateCommit", on_call=1)
    with pytest.raises(ClientError):
        run(event())
    (point,) = _lag(SECONDARY)
    assert point["SampleCount"] == 2


def test_which_outcomes_report_the_lag(world: World):
    world.primary.push("main", {"a": "a\n"})
    run(event(reference_type="tag"))
    run(event(repo="other"))
    run(None)
    assert world.metrics == []
    world.primary.push("feature", {"f": "f\n"})
    run(event(branch="feature"))  # the secondary's first branch, so its default
    run(event(branch="main"))
    del world.primary.branches["feature"]
    del world.primary.branches["main"]
    world.primary.default_branch = None
    world.metrics.clear()
    result = run(event("referenceDeleted", branch="main"))
    assert result["targets"][0]["action"] == "deleted-branch"
    assert len(world.metrics) == 1
    result = run(event("referenceDeleted", branch="feature"))
    assert result["targets"][0]["action"] == "default-branch-kept"
    assert len(world.metrics) == 1
    (request,) = world.metrics
    (datum,) = request["MetricData"]
    assert request["Namespace"] == common.DEFAULT_NAMESPACE
    assert datum["Value"] == pytest.approx(42.5) and datum["Unit"] == "Seconds" and datum["Timestamp"] == NOW


def test_an_event_without_a_time_is_replicated_without_a_lag(
    world: World, capsys: pytest.CaptureFixture[str]
):
    world.primary.push("main", {"a": "a\n"})
    ev = event()
    del ev["time"]
    assert run(ev)["status"] == "ok"
    assert_mirrored(world)
    assert world.metrics == []
    assert "lag-not-measured" in [line["event"] for line in logs(capsys)]


def test_a_cloudwatch_failure_is_logged_not_raised(world: World, capsys: pytest.CaptureFixture[str]):
    cloudwatch = boto3.client("cloudwatch", region_name=PRIMARY)
    stubber = Stubber(cloudwatch)
    stubber.add_client_error("put_metric_data", service_error_code="AccessDenied", http_status_code=403)
    stubber.activate()
    codecommit_factory = aws_calls.client_factory
    world.monkeypatch.setattr(
        aws_calls,
        "client_factory",
        lambda service, region: (
            cloudwatch if service == "cloudwatch" else codecommit_factory(service, region)
        ),
    )
    world.primary.push("main", {"a": "a\n"})
    result = run(event())

    assert_mirrored(world)
    assert result["status"] == "ok" and "AccessDenied" in result["metricError"]
    stubber.assert_no_pending_responses()
    assert any(line["event"] == "metric-failed" and line["level"] == "ERROR" for line in logs(capsys))
