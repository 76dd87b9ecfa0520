"""The replicator against the validated in-memory CodeCommit (tests/fake_codecommit.py) and moto's
CloudWatch. After every scenario the oracle is the same: the secondary branch's tree equals the
primary's (path, blob id, mode), and the trailer on the secondary head names the primary head."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from botocore.stub import Stubber

_HERE = Path(__file__).parent


def _load(name: str, path: Path) -> ModuleType:
    # Registered in sys.modules so that every test file shares one copy (and dataclasses work).
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


handler = _load("repo_replicator_handler", _HERE.parent / "handler.py")
_REAL_FACTORY = handler.client_factory
fakes = _load("repo_replicator_fake_codecommit", _HERE / "fake_codecommit.py")

PRIMARY, SECONDARY, THIRD = "us-east-1", "us-east-2", "eu-west-1"
REPO, REPLICA = "devops-platform", "devops-platform-prod"
EVENT_TIME = "2026-11-22T10:00:00Z"
NOW = datetime(2026, 11, 22, 10, 0, 42, 500000, tzinfo=UTC)
CONTEXT = SimpleNamespace(aws_request_id="req-1")
MIB = 1024 * 1024


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
def world(aws: str, monkeypatch: pytest.MonkeyPatch) -> World:
    fake = fakes.FakeCodeCommit()
    primary = fake.create_repository(PRIMARY, REPO)
    secondary = fake.create_repository(SECONDARY, REPLICA)
    monkeypatch.setenv("SOURCE_REPOSITORY", REPO)
    monkeypatch.setenv("TARGETS", json.dumps([{"region": SECONDARY, "repositoryName": REPLICA}]))
    for key in ("METRIC_NAMESPACE", "AUTHOR_NAME", "AUTHOR_EMAIL"):
        monkeypatch.delenv(key, raising=False)
    metrics: list[dict[str, Any]] = []
    cloudwatch = _recording_cloudwatch(metrics)

    def factory(service: str, region: str) -> Any:
        # CodeCommit goes to the fake. CloudWatch to a recorder (moto is slow enough per call to
        # double this file's run time); the metric tests below use moto itself.
        return fake.client(region) if service == "codecommit" else cloudwatch

    monkeypatch.setattr(handler, "client_factory", factory)
    monkeypatch.setattr(handler, "now", lambda: NOW)
    return World(fake, primary, secondary, monkeypatch, metrics)


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
    codecommit = handler.client_factory
    world.monkeypatch.setattr(
        handler,
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


def test_adds_modifications_and_deletions_are_one_incremental_commit(world: World):
    before = synced(world)
    head = world.primary.push(
        "main", {"src/app.py": "print('bye')\n", "src/new.py": "NEW = 2\n"}, delete=("src/lib/util.py",)
    )
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
    (branch_call,) = [p for _, op, p in world.fake.calls if op == "CreateBranch"]
    assert branch_call == {"repositoryName": REPLICA, "branchName": "feature/x", "commitId": main_head}
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
    assert f"Replicated-Partial: {head} 1/3" in messages[0] and "(part 1/3)" in messages[0]
    assert f"Replicated-Partial: {head} 2/3" in messages[1]
    assert f"Replicated-From: {head}" in messages[2] and "Replicated-Partial" not in messages[2]
    assert [r.get("parentCommitId") for r in requests[1:]] == result["targets"][0]["commits"][:2]


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
        "big/max.bin": b"m" * handler.MAX_FILE_BYTES,  # exactly the per-file limit is allowed
        "small.txt": "s\n",
    }
    head = world.primary.push("main", files)
    result = run(event("referenceCreated", commit=head))

    assert_mirrored(world)
    requests = commit_requests(world)
    content = [sum(len(e["fileContent"]) for e in r["putFiles"]) for r in requests]
    assert content == [4 * MIB, 11 * MIB // 2, 6 * MIB, 2]  # in path order, each within 6 MiB
    assert [c.commit_id for c in reversed(world.secondary.history("main"))] == result["targets"][0]["commits"]
    assert f"Replicated-Partial: {head} 3/4" in world.secondary.history("main")[1].message


def test_a_file_over_6mb_raises_naming_it_before_anything_is_written(
    world: World, capsys: pytest.CaptureFixture[str]
):
    head_before = synced(world)
    head = world.primary.push(
        "main", {"assets/huge.iso": b"\x00" * (handler.MAX_FILE_BYTES + 1), "ok.txt": "ok\n"}
    )
    capsys.readouterr()
    with pytest.raises(handler.FileTooLargeError, match=r"assets/huge\.iso.*6291457 bytes"):
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

    first = world.secondary.branches["main"]
    assert f"Replicated-Partial: {head} 1/3" in world.secondary.head("main").message
    lines = logs(capsys)
    stopped = next(line for line in lines if line["event"] == "replication-stopped")
    assert stopped["committedParts"] == [{"part": "1/3", "commitId": first}]
    assert stopped["secondaryHead"] == first
    assert stopped["remainingParts"] == 2 and stopped["remainingFiles"] == 150

    result = run(event("referenceCreated", commit=head))
    assert_mirrored(world)
    assert result["targets"][0]["action"] == "converged"
    assert len(world.secondary.history("main")) == 3  # 1 before the failure, 2 to finish
    lines = logs(capsys)
    assert "resuming" in [line["event"] for line in lines]
    assert [line for line in lines if line["level"] == "WARNING"] == []


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
    changes = handler.changes_from_differences(iter(diffs), skipped)
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
    again = handler.changes_from_differences(iter([diffs[1], diffs[0]]), [])
    assert again["old"].kind == "put"
    with pytest.raises(ValueError, match=r"'odd'.*040000"):
        handler.changes_from_differences(
            iter([{"afterBlob": _blob("odd", "c", "040000"), "changeType": "A"}]), []
        )


def test_only_the_last_paragraph_holds_trailers():
    sha, other = "a" * 40, "b" * 40
    assert handler.read_trailers(f"Replicate x\n\nReplicated-From: {sha}\n") == (sha, None)
    assert handler.read_trailers(f"Replicate x (part 2/5)\n\nReplicated-Partial: {sha} 2/5") == (
        None,
        (sha, 2, 5),
    )
    assert handler.read_trailers(f"Revert\n\nReplicated-From: {sha}\n\nSigned-off-by: me") == (None, None)
    assert handler.read_trailers(f"Subject\n\nReplicated-From: {other}\nReplicated-From: {sha}") == (
        sha,
        None,
    )
    assert handler.read_trailers("") == (None, None)
    assert handler.read_trailers("Replicated-From: not-a-sha") == (None, None)


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
    with pytest.raises(handler.ConfigError, match="TARGETS"):
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


def _lag(region: str, namespace: str = handler.DEFAULT_NAMESPACE) -> list[dict[str, Any]]:
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
    world.monkeypatch.setattr(handler, "now", lambda: NOW + timedelta(seconds=100))
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
    assert request["Namespace"] == handler.DEFAULT_NAMESPACE
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
    codecommit_factory = handler.client_factory
    world.monkeypatch.setattr(
        handler,
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
