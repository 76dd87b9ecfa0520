"""What to write: trees, changes and the replicator's commit trailers, computed from what
CodeCommit returned. Plain data and functions, no AWS calls."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from common import SUBMODULE

_TRAILER_FROM = re.compile(r"^Replicated-From: ([0-9a-f]{40,64})$")
# "<i>", or "<i>/<n>" as versions before the working branch wrote it.
_TRAILER_PARTIAL = re.compile(r"^Replicated-Partial: ([0-9a-f]{40,64}) (\d+)(?:/\d+)?$")
_TRAILER_BASE = re.compile(r"^Replicated-Base: ([0-9a-f]{40,64})$")
# GetDifferences reports git's octal modes; CreateCommit takes names. Submodules (gitlinks) cannot
# be written through CreateCommit at all, so they are reported and left alone.
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


def file_mode(mode: str, path: str) -> str:
    try:
        return _MODES[mode]
    except KeyError:
        raise ValueError(f"{path!r} has file mode {mode!r}, which CreateCommit cannot write") from None


@dataclass(frozen=True)
class Trailers:
    replicated_from: str | None = None  # the primary commit whose tree this commit holds
    partial: str | None = None  # the primary commit this commit is a part of
    part: int | None = None
    base: str | None = None  # the secondary branch head a working branch will fast-forward

    @property
    def ours(self) -> bool:
        return bool(self.replicated_from or self.partial)


def read_trailers(message: str) -> Trailers:
    """The replicator's trailers in the message's last paragraph."""
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    found: dict[str, Any] = {}
    for line in paragraphs[-1].splitlines() if paragraphs else ():
        line = line.strip()
        if match := _TRAILER_FROM.match(line):
            found["replicated_from"] = match.group(1)
        elif match := _TRAILER_PARTIAL.match(line):
            found["partial"], found["part"] = match.group(1), int(match.group(2))
        elif match := _TRAILER_BASE.match(line):
            found["base"] = match.group(1)
    if found.get("replicated_from"):
        found.pop("partial", None), found.pop("part", None)
    return Trailers(**found)


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


def write_order(changes: Mapping[str, Change]) -> list[Change]:
    return sorted(changes.values(), key=lambda c: (_KIND_ORDER[c.kind], c.path))
