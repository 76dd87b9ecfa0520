"""The fake CodeCommit is only as good as its checks: requests and responses are validated against
botocore's model, errors are the modelled ones, and CreateCommit keeps CodeCommit's rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, ParamValidationError

from functions.loading import load_module

fakes = load_module("repo_replicator_fake_codecommit", Path(__file__).parent / "fake_codecommit.py")
REGION = "us-east-2"
MIB = 1024 * 1024


@pytest.fixture
def fake() -> Any:
    return fakes.FakeCodeCommit()


@pytest.fixture
def repo(fake: Any) -> Any:
    repo = fake.create_repository(REGION, "repo")
    repo.push("main", {"a.txt": "a\n", "b.txt": "b\n"})
    return repo


def code(raised: pytest.ExceptionInfo[ClientError]) -> str:
    return raised.value.response["Error"]["Code"]


def test_blob_ids_are_git_object_ids():
    assert fakes.blob_id(b"hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"  # git hash-object
    assert fakes.blob_id(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.get_branch(repositoryName="repo", branch="main"),  # misspelled
        lambda c: c.get_blob(repositoryName="repo"),  # required blobId missing
        lambda c: c.get_differences(repositoryName="repo", afterCommitSpecifier="main", MaxResults="3"),
        lambda c: c.create_commit(
            repositoryName="repo", branchName="main", putFiles=[{"filePath": "x", "fileContent": 5}]
        ),
        lambda c: c.create_commit(repositoryName="repo", branchName="main", deleteFiles=[{"path": "x"}]),
    ],
)
def test_an_invalid_request_fails_before_reaching_the_fake(fake: Any, repo: Any, call: Any):
    with pytest.raises(ParamValidationError):
        call(fake.client(REGION))
    assert fake.calls == []


def test_a_response_that_does_not_fit_the_output_shape_fails(fake: Any, repo: Any):
    fake.canned["GetBranch"] = {"branch": {"branchName": "main", "commitId": 5}}
    with pytest.raises(ParamValidationError, match="commitId"):
        fake.client(REGION).get_branch(repositoryName="repo", branchName="main")
    fake.canned["GetBranch"] = {"branches": []}
    with pytest.raises(ParamValidationError, match="branches"):
        fake.client(REGION).get_branch(repositoryName="repo", branchName="main")


def test_errors_are_the_modelled_client_errors(fake: Any, repo: Any):
    client = fake.client(REGION)
    with pytest.raises(client.exceptions.BranchDoesNotExistException):
        client.get_branch(repositoryName="repo", branchName="nope")
    with pytest.raises(client.exceptions.RepositoryDoesNotExistException):
        client.get_branch(repositoryName="nope", branchName="main")
    # The fake cannot answer with an error the operation does not have.
    fake.fail_once("GetBlob", on_call=1, code="BranchDoesNotExistException", status=400)
    with pytest.raises(AssertionError, match="GetBlob cannot fail"):
        client.get_blob(repositoryName="repo", blobId=fakes.blob_id(b"a\n"))


def test_an_operation_the_fake_lacks_fails_instead_of_reaching_a_network(fake: Any):
    with pytest.raises(NotImplementedError, match="ListRepositories"):
        fake.client(REGION).list_repositories()


@pytest.mark.parametrize(
    ("renames", "rename"),
    [
        # The default: ChangeTypeEnum in the service model is A, M and D only.
        ("split", {("D", "a.txt", None), ("A", None, "moved.txt")}),
        ("M", {("M", "a.txt", "moved.txt")}),
        ("R", {("R", "a.txt", "moved.txt")}),  # opt-in: not a modelled change type
    ],
)
def test_get_differences_pages_and_reports_renames(fake: Any, repo: Any, renames: str, rename: set[Any]):
    if renames != "split":
        fake.renames = renames
    client = fake.client(REGION)
    before = repo.branches["main"]
    after = repo.push("main", {"c.txt": "c\n", "moved.txt": "a\n", "b.txt": "B\n"}, delete=("a.txt",))
    page = client.get_differences(
        repositoryName="repo", beforeCommitSpecifier=before, afterCommitSpecifier=after, MaxResults=2
    )
    assert len(page["differences"]) == 2 and page["NextToken"]
    rest = client.get_differences(
        repositoryName="repo",
        beforeCommitSpecifier=before,
        afterCommitSpecifier=after,
        MaxResults=2,
        NextToken=page["NextToken"],
    )
    changes = {
        (d["changeType"], d.get("beforeBlob", {}).get("path"), d.get("afterBlob", {}).get("path"))
        for d in page["differences"] + rest["differences"]
    }
    assert changes == {("M", "b.txt", "b.txt"), ("A", None, "c.txt"), *rename}
    with pytest.raises(client.exceptions.InvalidContinuationTokenException):
        client.get_differences(repositoryName="repo", afterCommitSpecifier=after, NextToken=page["NextToken"])


def test_the_default_fake_answers_only_modelled_change_types(fake: Any, repo: Any):
    assert fakes.FakeCodeCommit().renames == "split"
    after = repo.push("main", {"moved.txt": "a\n"}, delete=("a.txt",))
    entries = fake.client(REGION).get_differences(
        repositoryName="repo",
        beforeCommitSpecifier=repo.history("main")[1].commit_id,
        afterCommitSpecifier=after,
    )["differences"]
    assert {d["changeType"] for d in entries} == {"A", "D"}
    # An enum value outside the model is caught like any other malformed response.
    fake.renames = "M"
    fake.canned["GetDifferences"] = {"differences": [{"afterBlob": {"path": "x"}, "changeType": "R"}]}
    with pytest.raises(AssertionError, match="ChangeTypeEnum has no value 'R'"):
        fake.client(REGION).get_differences(repositoryName="repo", afterCommitSpecifier=after)


def test_get_differences_without_before_lists_the_tree_with_git_modes(fake: Any, repo: Any):
    repo.push("main", {"run.sh": ("x", "EXECUTABLE"), "link": ("a.txt", "SYMLINK")})
    entries = fake.client(REGION).get_differences(
        repositoryName="repo", afterCommitSpecifier="main", MaxResults=100
    )["differences"]
    assert {(d["afterBlob"]["path"], d["afterBlob"]["mode"]) for d in entries} == {
        ("a.txt", "100644"),
        ("b.txt", "100644"),
        ("run.sh", "100755"),
        ("link", "120000"),
    }
    assert all(d["changeType"] == "A" and "beforeBlob" not in d for d in entries)


def _commit(client: Any, parent: str | None, **changes: Any) -> dict[str, Any]:
    request = {"repositoryName": "repo", "branchName": "main", **changes}
    if parent:
        request["parentCommitId"] = parent
    return client.create_commit(**request)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (
            {"putFiles": [{"filePath": f"f{i}", "fileContent": b"x"} for i in range(101)]},
            "MaximumFileEntriesExceededException",
        ),
        (
            {
                "putFiles": [{"filePath": f"f{i}", "fileContent": b"x"} for i in range(60)],
                "deleteFiles": [{"filePath": "a.txt"}],
                "setFileModes": [{"filePath": f"b{i}", "fileMode": "NORMAL"} for i in range(40)],
            },
            "MaximumFileEntriesExceededException",
        ),
        (
            {"putFiles": [{"filePath": "big", "fileContent": b"x" * (6 * MIB + 1)}]},
            "FileContentSizeLimitExceededException",
        ),
        (
            {
                "putFiles": [
                    {"filePath": "p", "fileContent": b"x" * (4 * MIB)},
                    {"filePath": "q", "fileContent": b"y" * (4 * MIB)},
                ]
            },
            "FileContentSizeLimitExceededException",
        ),
        ({"putFiles": [{"filePath": "a.txt", "fileContent": b"a\n"}]}, "NoChangeException"),
        ({"deleteFiles": [{"filePath": "missing"}]}, "FileDoesNotExistException"),
        (
            {
                "putFiles": [{"filePath": "a.txt", "fileContent": b"1"}],
                "deleteFiles": [{"filePath": "a.txt"}],
            },
            "SamePathRequestException",
        ),
        (
            {"putFiles": [{"filePath": "a.txt/inside", "fileContent": b"1"}]},
            "FileNameConflictsWithDirectoryNameException",
        ),
    ],
)
def test_create_commit_keeps_codecommit_rules(fake: Any, repo: Any, changes: dict[str, Any], error: str):
    client = fake.client(REGION)
    head = repo.branches["main"]
    with pytest.raises(ClientError) as raised:
        _commit(client, head, **changes)
    assert code(raised) == error
    assert repo.branches["main"] == head


def test_create_commit_parents(fake: Any, repo: Any):
    client = fake.client(REGION)
    old = repo.branches["main"]
    new = _commit(client, old, putFiles=[{"filePath": "c.txt", "fileContent": b"c"}])["commitId"]
    with pytest.raises(ClientError) as raised:
        _commit(client, old, putFiles=[{"filePath": "d.txt", "fileContent": b"d"}])
    assert code(raised) == "ParentCommitIdOutdatedException"
    with pytest.raises(ClientError) as raised:
        _commit(client, None, putFiles=[{"filePath": "d.txt", "fileContent": b"d"}])
    assert code(raised) == "ParentCommitIdRequiredException"
    assert repo.branches["main"] == new and repo.commits[new].parents == [old]


def test_the_first_commit_of_an_empty_repository_creates_the_default_branch(fake: Any):
    empty = fake.create_repository(REGION, "repo")
    client = fake.client(REGION)
    with pytest.raises(ClientError) as raised:
        _commit(client, "0" * 40, putFiles=[{"filePath": "a", "fileContent": b"a"}])
    assert code(raised) == "ParentCommitDoesNotExistException"
    response = _commit(
        client, None, putFiles=[{"filePath": "a", "fileContent": b"\x00\xff", "fileMode": "EXECUTABLE"}]
    )
    assert response["filesAdded"] == [
        {"absolutePath": "a", "blobId": fakes.blob_id(b"\x00\xff"), "fileMode": "EXECUTABLE"}
    ]
    assert empty.default_branch == "main" and empty.files("main") == {"a": (b"\x00\xff", "EXECUTABLE")}
    assert client.get_repository(repositoryName="repo")["repositoryMetadata"]["defaultBranch"] == "main"


def test_branches(fake: Any, repo: Any):
    client = fake.client(REGION)
    client.create_branch(repositoryName="repo", branchName="dev", commitId=repo.branches["main"])
    with pytest.raises(client.exceptions.BranchNameExistsException):
        client.create_branch(repositoryName="repo", branchName="dev", commitId=repo.branches["main"])
    with pytest.raises(client.exceptions.DefaultBranchCannotBeDeletedException):
        client.delete_branch(repositoryName="repo", branchName="main")
    assert (
        client.delete_branch(repositoryName="repo", branchName="dev")["deletedBranch"]["branchName"] == "dev"
    )
    assert "deletedBranch" not in client.delete_branch(repositoryName="repo", branchName="dev")
    assert client.list_branches(repositoryName="repo")["branches"] == ["main"]


def test_fast_forward_follows_git(fake: Any, repo: Any):
    client = fake.client(REGION)
    base = repo.branches["main"]
    client.create_branch(repositoryName="repo", branchName="work", commitId=base)
    tip = _commit(client, base, putFiles=[{"filePath": "c.txt", "fileContent": b"c"}])  # on main
    # main moved to tip; work (at base) is behind it: fast-forwarding main to work is not possible.
    with pytest.raises(ClientError) as raised:
        client.merge_branches_by_fast_forward(
            repositoryName="repo",
            sourceCommitSpecifier="work",
            destinationCommitSpecifier="main",
            targetBranch="main",
        )
    assert code(raised) == "ManualMergeRequiredException"
    # The other way round it is: work is an ancestor of main.
    response = client.merge_branches_by_fast_forward(
        repositoryName="repo", sourceCommitSpecifier=tip["commitId"], destinationCommitSpecifier="work"
    )
    assert response["commitId"] == tip["commitId"] == repo.branches["work"]
    assert response["treeId"] == tip["treeId"]
    # A destination given as an older commit of the target branch: the branch moved meanwhile.
    with pytest.raises(ClientError) as raised:
        client.merge_branches_by_fast_forward(
            repositoryName="repo",
            sourceCommitSpecifier=tip["commitId"],
            destinationCommitSpecifier=base,
            targetBranch="work",
        )
    assert code(raised) == "ConcurrentReferenceUpdateException"
    with pytest.raises(client.exceptions.BranchDoesNotExistException):
        client.merge_branches_by_fast_forward(
            repositoryName="repo",
            sourceCommitSpecifier="main",
            destinationCommitSpecifier="main",
            targetBranch="x",
        )
    with pytest.raises(client.exceptions.CommitDoesNotExistException):
        client.merge_branches_by_fast_forward(
            repositoryName="repo", sourceCommitSpecifier="f" * 40, destinationCommitSpecifier="main"
        )
    with pytest.raises(ParamValidationError):
        client.merge_branches_by_fast_forward(repositoryName="repo", sourceCommitSpecifier="main")


def test_the_default_branch_can_be_changed_and_every_move_is_recorded(fake: Any, repo: Any):
    client = fake.client(REGION)
    first = repo.branches["main"]
    client.create_branch(repositoryName="repo", branchName="dev", commitId=first)
    with pytest.raises(client.exceptions.BranchDoesNotExistException):
        client.update_default_branch(repositoryName="repo", defaultBranchName="nope")
    assert client.update_default_branch(repositoryName="repo", defaultBranchName="dev")["ResponseMetadata"]
    assert repo.default_branch == "dev"
    client.delete_branch(repositoryName="repo", branchName="main")
    second = _commit(client, first, branchName="dev", putFiles=[{"filePath": "d", "fileContent": b"d"}])
    assert [(m.branch, m.commit_id, m.by) for m in repo.moves] == [
        ("main", first, "push"),
        ("dev", first, "api"),
        ("main", None, "api"),
        ("dev", second["commitId"], "api"),
    ]
    assert repo.heads_seen("dev") == [first, second["commitId"]] and repo.heads_seen("main") == []
    assert repo.is_ancestor(first, second["commitId"]) and not repo.is_ancestor(second["commitId"], first)
