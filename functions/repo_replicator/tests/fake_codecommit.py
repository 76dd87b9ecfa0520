"""An in-memory CodeCommit behind real boto3 clients, for the replicator's tests.

Moto has no CodeCommit commit APIs, so this models the part the replicator uses: repositories per
region with git-like objects (blob ids are git's ``sha1("blob <size>\\0" + content)``, trees are
``{path: (blobId, mode)}``, commits have parents and messages), branches and the default branch
(the first one created), and the operations GetBranch, GetCommit, GetRepository, ListBranches,
GetDifferences (paginated), GetBlob, CreateBranch, DeleteBranch, UpdateDefaultBranch,
MergeBranchesByFastForward (git's rule: only if the destination is an ancestor of the source)
and CreateCommit (with its limits and its errors). Every move of a branch is recorded in
``Repository.moves``, so that tests can check every state a branch was ever seen in.

The clients are real: botocore validates every request against the service model before the
fake sees it (a misspelled or mistyped parameter raises ParamValidationError), every response the
fake gives is validated against the operation's output shape (as botocore.stub.Stubber does) and
its enums (which botocore does not check), and every error is a real modelled ClientError. No
request ever leaves the process: an operation the fake does not implement fails the test instead
of reaching a network.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.validate import validate_parameters

ACCOUNT = "123456789012"
MAX_ENTRIES = 100
MAX_FILE_BYTES = 6 * 1024 * 1024
MAX_COMMIT_BYTES = 7 * 1024 * 1024

# Internal modes are CreateCommit's names; GetDifferences reports git's octal modes.
OCTAL = {"NORMAL": "100644", "EXECUTABLE": "100755", "SYMLINK": "120000", "SUBMODULE": "160000"}
# Errors any AWS operation can return besides its modelled ones.
COMMON_ERRORS = {"ServiceUnavailable", "ThrottlingException", "InternalFailure"}


def blob_id(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class FakeError(Exception):
    def __init__(self, code: str, message: str = "", status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message or code, status


@dataclass
class Commit:
    commit_id: str
    tree: dict[str, tuple[str, str]]
    parents: list[str]
    message: str
    author: str
    email: str
    date: str


@dataclass(frozen=True)
class Move:
    """A branch pointed at ``commit_id`` (None: deleted), by the API or by a test's ``push``."""

    branch: str
    commit_id: str | None
    by: str  # "api" or "push"


@dataclass
class Repository:
    region: str
    name: str
    blobs: dict[str, bytes] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    default_branch: str | None = None
    moves: list[Move] = field(default_factory=list)

    # -- test-side helpers: what a git push would do, without CreateCommit's limits ------------

    def push(
        self,
        branch: str,
        files: dict[str, Any] | None = None,
        delete: tuple[str, ...] = (),
        message: str = "change",
        modes: dict[str, str] | None = None,
    ) -> str:
        """Commit on top of ``branch`` (created if missing) like ``git push`` would.

        ``files`` maps a path to its content (bytes or str) or to (content, mode).
        """
        parent = self.branches.get(branch)
        tree = dict(self.commits[parent].tree) if parent else {}
        for path in delete:
            del tree[path]
        for path, value in (files or {}).items():
            content, mode = value if isinstance(value, tuple) else (value, "NORMAL")
            tree[path] = (self.store(content), mode)
        for path, mode in (modes or {}).items():
            tree[path] = (tree[path][0], mode)
        commit_id = self.add_commit(tree, [parent] if parent else [], message, "dev", "dev@example.com")
        self.set_branch(branch, commit_id)
        return commit_id

    def store(self, content: bytes | str) -> str:
        data = content.encode() if isinstance(content, str) else bytes(content)
        key = blob_id(data)
        self.blobs[key] = data
        return key

    def add_commit(
        self, tree: dict[str, tuple[str, str]], parents: list[str], message: str, author: str, email: str
    ) -> str:
        number = next(_COUNTER)
        commit_id = hashlib.sha1(repr((sorted(tree.items()), parents, message, number)).encode()).hexdigest()
        self.commits[commit_id] = Commit(
            commit_id, tree, parents, message, author, email, f"{1795000000 + number} +0000"
        )
        return commit_id

    def set_branch(self, branch: str, commit_id: str, by: str = "push") -> None:
        if not self.branches:
            self.default_branch = branch
        self.branches[branch] = commit_id
        self.moves.append(Move(branch, commit_id, by))

    def heads_seen(self, branch: str, by: str = "api") -> list[str]:
        """Every commit ``branch`` was moved to (by the API, by default), oldest first."""
        return [m.commit_id for m in self.moves if m.branch == branch and m.by == by and m.commit_id]

    def is_ancestor(self, ancestor: str, commit_id: str) -> bool:
        """Whether ``ancestor`` is ``commit_id`` or reachable from it through parents."""
        seen, todo = set(), [commit_id]
        while todo:
            current = todo.pop()
            if current == ancestor:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(self.commits[current].parents)
        return False

    def tree(self, branch: str) -> dict[str, tuple[str, str]]:
        return dict(self.commits[self.branches[branch]].tree)

    def files(self, branch: str) -> dict[str, tuple[bytes, str]]:
        """Path -> (content, mode): what a checkout of the branch would hold."""
        return {path: (self.blobs[blob], mode) for path, (blob, mode) in self.tree(branch).items()}

    def head(self, branch: str) -> Commit:
        return self.commits[self.branches[branch]]

    def history(self, branch: str) -> list[Commit]:
        """The branch's commits, newest first (first parents)."""
        out, commit_id = [], self.branches.get(branch)
        while commit_id:
            commit = self.commits[commit_id]
            out.append(commit)
            commit_id = commit.parents[0] if commit.parents else None
        return out


_COUNTER = itertools.count(1)


class FakeCodeCommit:
    """The fake service. ``client(region)`` gives a real boto3 client wired to it."""

    def __init__(self, *, max_results: int = 3, renames: str = "split") -> None:
        # A small page size forces the code under test to follow NextToken.
        self.max_results = max_results
        # How GetDifferences reports a path deleted and re-added with the same blob: "split" (a D
        # and an A, the default), "M" (one entry whose paths differ) or "R" (one entry with change
        # type R, which the service model does not list: A, M and D are its ChangeTypeEnum; opt-in,
        # for a consumer that must not break if the service ever sends it).
        self.renames = renames
        self.repositories: dict[tuple[str, str], Repository] = {}
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        # operation -> callable(region, params) run before the operation (to inject failures or
        # concurrent writes); it may raise FakeError. And operation -> a response to return as is.
        self.before: dict[str, Callable[[str, dict[str, Any]], None]] = {}
        self.canned: dict[str, dict[str, Any]] = {}
        self._clients: dict[str, Any] = {}

    def create_repository(self, region: str, name: str) -> Repository:
        repo = Repository(region, name)
        self.repositories[(region, name)] = repo
        return repo

    def count(self, operation: str, region: str | None = None) -> int:
        return sum(1 for r, op, _ in self.calls if op == operation and (region is None or r == region))

    def fail_once(
        self, operation: str, *, on_call: int, code: str = "ServiceUnavailable", status: int = 503
    ) -> None:
        """Make the ``on_call``-th call (1-based, counted from now) of ``operation`` fail once."""
        seen = {"n": 0}

        def hook(region: str, params: dict[str, Any]) -> None:
            seen["n"] += 1
            if seen["n"] == on_call:
                raise FakeError(code, "injected failure", status)

        self.before[operation] = hook

    # -- the client ---------------------------------------------------------------------------

    def client(self, region: str) -> Any:
        if region not in self._clients:
            self._clients[region] = self._new_client(region)
        return self._clients[region]

    def _new_client(self, region: str) -> Any:
        client = _session().client(
            "codecommit", region_name=region, endpoint_url=f"https://codecommit.{region}.fake.invalid"
        )
        events = client.meta.events
        # The caller's parameters, after botocore validated them (that happens between the two
        # events: an invalid request never reaches the fake).
        events.register("before-parameter-build.codecommit.*", _stash_params)
        events.register("before-call.codecommit.*", lambda **kw: self._dispatch(region, **kw))
        return client

    def _dispatch(
        self, region: str, *, model: Any, context: dict[str, Any], **_: Any
    ) -> tuple[AWSResponse, dict]:
        operation = model.name
        params = context["fake_params"]
        self.calls.append((region, operation, params))
        try:
            if operation in self.before:
                self.before[operation](region, params)
            if operation in self.canned:
                response = copy.deepcopy(self.canned[operation])
            else:
                method = getattr(self, "_" + _snake(operation), None)
                if method is None:
                    raise NotImplementedError(f"the fake CodeCommit has no {operation}")
                response = method(region, params)
        except FakeError as error:
            modelled = {shape.name for shape in model.error_shapes}
            assert error.code in modelled | COMMON_ERRORS, f"{operation} cannot fail with {error.code}"
            parsed = {
                "Error": {"Code": error.code, "Message": error.message},
                "ResponseMetadata": {"HTTPStatusCode": error.status, "RequestId": "fake"},
            }
            return AWSResponse("https://fake.invalid", error.status, {}, None), parsed
        # What botocore.stub.Stubber checks: the response must fit the operation's output shape.
        if model.output_shape is not None:
            validate_parameters(response, model.output_shape)
            _check_enums(response, model.output_shape, {"R"} if self.renames == "R" else set())
        else:
            assert response == {}, f"{operation} has no output, the fake returned {response}"
        response["ResponseMetadata"] = {"HTTPStatusCode": 200, "RequestId": "fake"}
        return AWSResponse("https://fake.invalid", 200, {}, None), response

    # -- operations ---------------------------------------------------------------------------

    def _repo(self, region: str, params: dict[str, Any]) -> Repository:
        name = params.get("repositoryName")
        if not name:
            raise FakeError("RepositoryNameRequiredException")
        try:
            return self.repositories[(region, name)]
        except KeyError:
            raise FakeError("RepositoryDoesNotExistException", f"{name} does not exist in {region}") from None

    def _resolve(self, repo: Repository, specifier: str) -> Commit:
        name = specifier.removeprefix("refs/heads/")
        if specifier == "HEAD" and repo.default_branch:
            name = repo.default_branch
        commit_id = repo.branches.get(name, specifier)
        if commit_id not in repo.commits:
            raise FakeError("CommitDoesNotExistException", f"{specifier} does not exist")
        return repo.commits[commit_id]

    def _get_branch(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        repo = self._repo(region, params)
        branch = params.get("branchName")
        if not branch:
            raise FakeError("BranchNameRequiredException")
        if branch not in repo.branches:
            raise FakeError("BranchDoesNotExistException", f"{branch} does not exist")
        return {"branch": {"branchName": branch, "commitId": repo.branches[branch]}}

    def _get_commit(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        repo = self._repo(region, params)
        commit = repo.commits.get(params["commitId"])
        if commit is None:
            raise FakeError("CommitIdDoesNotExistException", params["commitId"])
        person = {"name": commit.author, "email": commit.email, "date": commit.date}
        return {
            "commit": {
                "commitId": commit.commit_id,
                "treeId": _tree_id(commit.tree),
                "parents": list(commit.parents),
                "message": commit.message,
                "author": person,
                "committer": dict(person),
                "additionalData": "",
            }
        }

    def _get_repository(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        repo = self._repo(region, params)
        metadata = {
            "accountId": ACCOUNT,
            "repositoryId": hashlib.md5(f"{region}/{repo.name}".encode()).hexdigest(),
            "repositoryName": repo.name,
            "Arn": f"arn:aws:codecommit:{region}:{ACCOUNT}:{repo.name}",
            "cloneUrlHttp": f"https://git-codecommit.{region}.amazonaws.com/v1/repos/{repo.name}",
        }
        if repo.default_branch:
            metadata["defaultBranch"] = repo.default_branch
        return {"repositoryMetadata": metadata}

    def _list_branches(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"branches": sorted(self._repo(region, params).branches)}

    def _get_blob(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        repo = self._repo(region, params)
        content = repo.blobs.get(params["blobId"])
        if content is None:
            raise FakeError("BlobIdDoesNotExistException", params["blobId"])
        return {"content": content}

    def _create_branch(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        repo = self._repo(region, params)
        if params["branchName"] in repo.branches:
            raise FakeError("BranchNameExistsException", params["branchName"])
        if params["commitId"] not in repo.commits:
            raise FakeError("CommitDoesNotExistException", params["commitId"])
        repo.set_branch(params["branchName"], params["commitId"], by="api")
        return {}

    def _delete_branch(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        repo = self._repo(region, params)
        branch = params["branchName"]
        if branch not in repo.branches:
            return {}  # deleting a missing branch answers without deletedBranch
        if branch == repo.default_branch:
            raise FakeError("DefaultBranchCannotBeDeletedException", branch)
        commit_id = repo.branches.pop(branch)
        repo.moves.append(Move(branch, None, "api"))
        return {"deletedBranch": {"branchName": branch, "commitId": commit_id}}

    def _update_default_branch(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        repo = self._repo(region, params)
        if params["defaultBranchName"] not in repo.branches:
            raise FakeError("BranchDoesNotExistException", params["defaultBranchName"])
        repo.default_branch = params["defaultBranchName"]
        return {}

    def _merge_branches_by_fast_forward(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        """Fast-forward ``targetBranch`` (default: the destination, if it names a branch) to the
        source commit; only if the destination is an ancestor of the source, as in git."""
        repo = self._repo(region, params)
        source = self._resolve(repo, params["sourceCommitSpecifier"])
        destination = self._resolve(repo, params["destinationCommitSpecifier"])
        target = params.get("targetBranch") or params["destinationCommitSpecifier"].removeprefix(
            "refs/heads/"
        )
        if target not in repo.branches:
            if "targetBranch" in params:
                raise FakeError("BranchDoesNotExistException", target)
            raise FakeError("InvalidTargetBranchException", "the destination is not a branch")
        if repo.branches[target] != destination.commit_id:
            # The destination names another commit than the branch's head (or the branch moved).
            raise FakeError("ConcurrentReferenceUpdateException", f"{target} is at {repo.branches[target]}")
        if not repo.is_ancestor(destination.commit_id, source.commit_id):
            raise FakeError("ManualMergeRequiredException", f"{target} cannot be fast-forwarded")
        if source.commit_id != repo.branches[target]:
            repo.set_branch(target, source.commit_id, by="api")
        return {"commitId": source.commit_id, "treeId": _tree_id(source.tree)}

    def _get_differences(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        repo = self._repo(region, params)
        after = self._resolve(repo, params["afterCommitSpecifier"]).tree
        before_spec = params.get("beforeCommitSpecifier")
        before = self._resolve(repo, before_spec).tree if before_spec else {}
        differences = self._diff(before, after)
        query = repr((region, repo.name, before_spec, params["afterCommitSpecifier"]))
        start = 0
        if "NextToken" in params:
            try:
                token_query, offset = base64.b64decode(params["NextToken"]).decode().rsplit("|", 1)
                start = int(offset)
            except ValueError:
                raise FakeError("InvalidContinuationTokenException") from None
            if token_query != query:
                raise FakeError("InvalidContinuationTokenException", "token from another query")
        size = params.get("MaxResults") or self.max_results
        page = differences[start : start + size]
        response: dict[str, Any] = {"differences": page}
        if start + size < len(differences):
            response["NextToken"] = base64.b64encode(f"{query}|{start + size}".encode()).decode()
        return response

    def _diff(
        self, before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]]
    ) -> list[dict[str, Any]]:
        def meta(path: str, entry: tuple[str, str]) -> dict[str, str]:
            return {"blobId": entry[0], "path": path, "mode": OCTAL[entry[1]]}

        added = {p: e for p, e in after.items() if p not in before}
        deleted = {p: e for p, e in before.items() if p not in after}
        out: list[tuple[str, dict[str, Any]]] = []
        for path in sorted(set(before) & set(after)):
            if before[path] != after[path]:
                out.append(
                    (
                        path,
                        {
                            "beforeBlob": meta(path, before[path]),
                            "afterBlob": meta(path, after[path]),
                            "changeType": "M",
                        },
                    )
                )
        if self.renames != "split":
            by_blob: dict[str, str] = {}
            for path in sorted(added):
                by_blob.setdefault(added[path][0], path)
            for old in sorted(deleted):
                new = by_blob.pop(deleted[old][0], None)
                if new is not None:
                    out.append(
                        (
                            new,
                            {
                                "beforeBlob": meta(old, deleted.pop(old)),
                                "afterBlob": meta(new, added.pop(new)),
                                "changeType": self.renames,
                            },
                        )
                    )
        out += [(p, {"afterBlob": meta(p, e), "changeType": "A"}) for p, e in added.items()]
        out += [(p, {"beforeBlob": meta(p, e), "changeType": "D"}) for p, e in deleted.items()]
        return [difference for _, difference in sorted(out, key=lambda item: item[0])]

    def _create_commit(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        repo = self._repo(region, params)
        branch = params["branchName"]
        parent = params.get("parentCommitId")
        if not repo.branches:
            if parent:
                raise FakeError("ParentCommitDoesNotExistException", "the repository is empty")
            tree: dict[str, tuple[str, str]] = {}
        else:
            if branch not in repo.branches:
                raise FakeError("BranchDoesNotExistException", branch)
            if not parent:
                raise FakeError("ParentCommitIdRequiredException")
            if parent not in repo.commits:
                raise FakeError("ParentCommitDoesNotExistException", parent)
            if parent != repo.branches[branch]:
                raise FakeError("ParentCommitIdOutdatedException", f"{branch} is at {repo.branches[branch]}")
            tree = dict(repo.commits[parent].tree)

        puts = params.get("putFiles", [])
        deletes = params.get("deleteFiles", [])
        modes = params.get("setFileModes", [])
        entries = len(puts) + len(deletes) + len(modes)
        if entries == 0:
            raise FakeError("FileEntryRequiredException")
        if entries > MAX_ENTRIES:
            raise FakeError("MaximumFileEntriesExceededException", f"{entries} entries")
        paths = [e["filePath"] for e in (*puts, *deletes, *modes)]
        if len(set(paths)) != len(paths):
            raise FakeError("SamePathRequestException")
        for path in paths:
            if not path or path.startswith("/") or "//" in path or ".." in path.split("/"):
                raise FakeError("InvalidPathException", path)
        total = 0
        for entry in puts:
            if "sourceFile" in entry or "fileContent" not in entry:
                raise NotImplementedError("the fake only takes putFiles with fileContent")
            content = entry["fileContent"]
            content = content.encode() if isinstance(content, str) else bytes(content)
            entry["fileContent"] = content
            if len(content) > MAX_FILE_BYTES:
                raise FakeError(
                    "FileContentSizeLimitExceededException", f"{entry['filePath']} is {len(content)} bytes"
                )
            total += len(content)
        if total > MAX_COMMIT_BYTES:
            raise FakeError("FileContentSizeLimitExceededException", f"{total} bytes in one commit")

        added, updated, removed = [], [], []
        # Deletes first, then modes, then puts: git applies the whole change at once, so a file
        # replaced by a folder of the same name is fine in one commit.
        for entry in deletes:
            if entry["filePath"] not in tree:
                raise FakeError("FileDoesNotExistException", entry["filePath"])
            removed.append((entry["filePath"], tree.pop(entry["filePath"])))
        for entry in modes:
            if entry["filePath"] not in tree:
                raise FakeError("FileDoesNotExistException", entry["filePath"])
            tree[entry["filePath"]] = (tree[entry["filePath"]][0], entry["fileMode"])
            updated.append((entry["filePath"], tree[entry["filePath"]]))
        for entry in puts:
            path = entry["filePath"]
            mode = entry.get("fileMode") or (tree[path][1] if path in tree else "NORMAL")
            (updated if path in tree else added).append((path, (repo.store(entry["fileContent"]), mode)))
            tree[path] = (blob_id(entry["fileContent"]), mode)
        for path in tree:
            parts = path.split("/")
            for i in range(1, len(parts)):
                if "/".join(parts[:i]) in tree:
                    raise FakeError("FileNameConflictsWithDirectoryNameException", path)
        if parent and tree == repo.commits[parent].tree:
            raise FakeError("NoChangeException")

        commit_id = repo.add_commit(
            tree,
            [parent] if parent else [],
            params.get("commitMessage", ""),
            params.get("authorName", ""),
            params.get("email", ""),
        )
        repo.set_branch(branch, commit_id, by="api")

        def files(items: list[tuple[str, tuple[str, str]]]) -> list[dict[str, str]]:
            return [{"absolutePath": p, "blobId": b, "fileMode": m} for p, (b, m) in items]

        return {
            "commitId": commit_id,
            "treeId": _tree_id(tree),
            "filesAdded": files(added),
            "filesUpdated": files(updated),
            "filesDeleted": files(removed),
        }


@functools.cache
def _session() -> boto3.session.Session:
    # One session for every fake: loading the service models is the slow part of a client.
    return boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )


def _stash_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
    context["fake_params"] = copy.deepcopy(params)


def _tree_id(tree: dict[str, tuple[str, str]]) -> str:
    return hashlib.sha1(repr(sorted(tree.items())).encode()).hexdigest()


def _check_enums(value: Any, shape: Any, allowed: set[str]) -> None:
    """botocore's validation leaves enums alone; the service's answers keep to them."""
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, member in shape.members.items():
            if key in value:
                _check_enums(value[key], member, allowed)
    elif shape.type_name == "list" and isinstance(value, list):
        for item in value:
            _check_enums(item, shape.member, allowed)
    elif shape.type_name == "string" and shape.enum:
        assert value in shape.enum or value in allowed, f"{shape.name} has no value {value!r}"


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")
