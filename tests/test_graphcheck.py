"""ops.graphcheck: the comparison that proves a refactor declares the same resources."""

from __future__ import annotations

import copy

from ops.graphcheck import compare

BUCKET = "urn:pulumi:prod::p::aws:s3/bucket:Bucket::logs"


def graph(*resources: dict) -> dict:
    return {"stack": "prod", "project": "p", "resources": list(resources), "outputs": {"a": 1}}


def bucket(urn: str = BUCKET, name: str = "logs", **extra: object) -> dict:
    return {"urn": urn, "type": "aws:s3/bucket:Bucket", "name": name, "inputs": {"acl": "private"}, **extra}


def test_identical_graphs_and_added_keys_are_no_difference():
    base = graph(bucket())
    new = graph(bucket(dependencies=[], options={"protect": True}))
    new["generator"] = "added at the top level too"
    assert compare(base, base) == ([], [])
    assert compare(base, new) == ([], [])


def test_a_changed_input_an_added_or_removed_resource_and_outputs_are_differences():
    base = graph(bucket())
    changed = copy.deepcopy(base)
    changed["resources"][0]["inputs"]["acl"] = "public-read"
    assert compare(base, changed)[0] == [f"changed: {BUCKET}: inputs"]
    other = bucket(urn=BUCKET + "2", name="logs2")
    assert compare(base, graph(bucket(), other))[0] == [f"added: {other['urn']}"]
    assert compare(graph(bucket(), other), base)[0] == [f"removed: {other['urn']}"]
    outputs = copy.deepcopy(base)
    outputs["outputs"] = {"a": 2}
    assert compare(base, outputs)[0] == ["outputs: differs"]


def test_a_moved_urn_passes_only_with_an_alias_to_the_old_one():
    base = graph(bucket())
    moved_urn = "urn:pulumi:prod::p::p:x:Parent$aws:s3/bucket:Bucket::logs"
    unaliased = graph(bucket(urn=moved_urn))
    problems, moved = compare(base, unaliased)
    assert problems == [f"removed: {BUCKET}", f"added: {moved_urn}"] and moved == []
    for alias in (BUCKET, {"name": "logs", "noParent": True}):
        aliased = graph(bucket(urn=moved_urn, options={"aliases": [alias]}))
        assert compare(base, aliased) == ([], [f"{BUCKET} -> {moved_urn} (aliased)"])
    # An alias naming some other resource covers nothing.
    wrong = graph(bucket(urn=moved_urn, options={"aliases": [{"name": "other"}]}))
    assert compare(base, wrong)[0] == [f"removed: {BUCKET}", f"added: {moved_urn}"]
