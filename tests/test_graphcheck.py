"""ops.graphcheck: the comparison that proves a refactor declares the same resources."""

from __future__ import annotations

import copy

from ops.graphcheck import alias_urn, compare

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


def test_an_alias_to_another_parent_covers_the_move():
    """A service flipped between computes: its rule now hangs under the other component, and names
    the old parent in its alias spec (no URN string): the move is covered, and only that one."""
    region = "urn:pulumi:dev::p::devops-platform:platform:Region::us-east-1"
    fargate = "urn:pulumi:dev::p::devops-platform:platform:Region$devops-platform:compute:FargateService::us-east-1-auth"
    lam = "urn:pulumi:dev::p::devops-platform:platform:Region$devops-platform:compute:LambdaService::us-east-1-auth"
    rule_type = "aws:lb/listenerRule:ListenerRule"

    def rule(parent: str, **options: object) -> dict:
        chain = parent.split("::")[2]
        return {"urn": f"urn:pulumi:dev::p::{chain}${rule_type}::us-east-1-auth-rule", "type": rule_type,
                "name": "us-east-1-auth-rule", "parent": parent, "inputs": {"priority": 39706}, **options}  # fmt: skip

    old = rule(fargate)
    moved = rule(lam, options={"aliases": [{"parentUrn": fargate}]})
    assert alias_urn(moved, {"parentUrn": fargate}) == old["urn"]
    assert alias_urn(moved, {"parentUrn": "", "type": "aws:elasticloadbalancingv2/listenerRule:ListenerRule"}) is None
    base, new = {"stack": "dev", "project": "p", "resources": [old]}, {"stack": "dev", "project": "p", "resources": [moved]}
    problems, moves = compare(base, new)
    assert problems == [] and moves == [f"{old['urn']} -> {moved['urn']} (aliased)"]
    # An alias to a parent the old rule never had covers nothing.
    stray = rule(lam, options={"aliases": [{"parentUrn": region}]})
    assert compare(base, {**new, "resources": [stray]})[0] == [f"removed: {old['urn']}", f"added: {stray['urn']}"]
