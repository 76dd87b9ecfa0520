"""Every action in every policy document the program writes is a real IAM action, and every TLS-only
deny denies exactly what it should.

An action is real when botocore's model of its service has an operation of that name (the AWS CLI's
own models), or when it is one of the permission-only actions listed below, each with its source.
A wildcard (``s3:*``) is allowed only in a Deny.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from typing import Any

import botocore.session
import pytest

from ops.harness import Graph

# IAM service prefix -> botocore service model, where the names differ.
MODELS = {"elasticloadbalancing": "elbv2", "states": "stepfunctions", "codestar-connections": "codestar-connections"}
# Actions that authorize no API operation of the same name (permission-only actions, or an action
# that authorizes an operation of another name), per AWS's Service Authorization Reference.
PERMISSION_ONLY = {
    "iam:PassRole",  # IAM: permission-only
    "lambda:InvokeFunction",  # Lambda: authorizes the Invoke operation
    "s3:GetObjectVersion",  # S3: GetObject with a versionId
    "codecommit:UploadArchive",  # CodeCommit: permission-only (CodePipeline's source action)
    "codecommit:GetUploadArchiveStatus",
    "codecommit:CancelUploadArchive",
    "codeconnections:UseConnection",  # CodeConnections: permission-only
    "codestar-connections:UseConnection",
    "sts:AssumeRole",  # in trust policies
    "ecr:BatchImportUpstreamImage",  # ECR: permission-only (a pull through a pull-through cache)
}
POLICY_KEYS = ("policy", "assumeRolePolicy")


def root_statement(st: dict[str, Any]) -> bool:
    """A key policy's statement that gives the account root ``kms:*`` (AWS's default key policy,
    kept on purpose: a written exception, docs/security.md)."""
    principal = (st.get("Principal") or {}).get("AWS") if isinstance(st.get("Principal"), dict) else None
    return st.get("Action") == "kms:*" and isinstance(principal, str) and principal.endswith(":root")


def documents(graph: Graph) -> Iterator[tuple[str, dict[str, Any]]]:
    """(resource name, parsed document) for every policy document in the graph."""
    for r in graph.custom():
        texts = [r.inputs.get(k) for k in POLICY_KEYS]
        texts += [p.get("policy") for p in r.inputs.get("inlinePolicies") or [] if isinstance(p, dict)]
        for text in texts:
            if isinstance(text, str) and text.lstrip().startswith("{"):
                doc = json.loads(text)
                if "Statement" in doc:
                    yield r.name, doc


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = doc["Statement"]
    return found if isinstance(found, list) else [found]


@cache
def operations(prefix: str) -> frozenset[str]:
    session = botocore.session.get_session()
    model = MODELS.get(prefix, prefix)
    if model not in session.get_available_services():
        return frozenset()
    return frozenset(session.get_service_model(model).operation_names)


def unknown(action: str, effect: str) -> str | None:
    """Why ``action`` is not a real action (None when it is)."""
    if action in PERMISSION_ONLY:
        return None
    prefix, _, name = action.partition(":")
    ops = operations(prefix)
    if not ops:
        return f"no botocore model for the service {prefix!r}"
    if name == "*":
        return None if effect == "Deny" else "a whole service, allowed"
    if name.endswith("*"):
        return None if any(op.startswith(name[:-1]) for op in ops) else "a wildcard matching no operation"
    return None if name in ops else "no such operation in the service's model"


@pytest.fixture(scope="module")
def graphs(prod: Graph, dev: Graph, prod_published: Graph, dev_published: Graph) -> dict[str, Graph]:
    return {"prod": prod, "dev": dev, "prod_published": prod_published, "dev_published": dev_published}


@pytest.mark.parametrize("stack", ["prod", "dev", "prod_published", "dev_published"])
def test_every_action_in_every_policy_document_is_a_real_action(graphs: dict[str, Graph], stack: str):
    found = []
    checked = 0
    for name, doc in documents(graphs[stack]):
        for st in statements(doc):
            if root_statement(st):
                continue
            for action in st.get("Action", []) if isinstance(st.get("Action"), list) else [st.get("Action")]:
                checked += 1
                why = unknown(action, st["Effect"])
                if why:
                    found.append(f"{name}: {action} ({why})")
    assert checked > 200  # every role, key, bucket, topic, queue and repository policy was read
    assert found == []


def test_the_check_knows_a_made_up_action_from_a_real_one():
    assert unknown("sns:Receive", "Deny") == "no such operation in the service's model"
    assert unknown("sns:Publish", "Deny") is None
    assert unknown("s3:*", "Allow") == "a whole service, allowed" and unknown("s3:*", "Deny") is None
    assert unknown("kms:GenerateDataKey*", "Allow") is None
    assert unknown("kms:GenerateKey*", "Allow") == "a wildcard matching no operation"
    assert unknown("iam:PassRole", "Allow") is None and unknown("lambda:InvokeFunction", "Allow") is None
    assert unknown("madeup:Thing", "Allow") == "no botocore model for the service 'madeup'"


# --- TLS-only denies, pinned -----------------------------------------------------------------------

TLS_ONLY = {"Bool": {"aws:SecureTransport": "false"}}


def tls_denies(graph: Graph, type_: str) -> dict[str, dict[str, Any]]:
    found = {}
    for r in graph.of_type(type_):
        (deny,) = [st for st in statements(json.loads(r.inputs["policy"])) if st.get("Sid") == "DenyInsecureTransport"]
        found[r.name] = deny
    return found


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_every_tls_only_deny_denies_exactly_its_resources_actions(graphs: dict[str, Graph], stack: str):
    graph = graphs[stack]
    topics = tls_denies(graph, "aws:sns/topicPolicy:TopicPolicy")
    buckets = tls_denies(graph, "aws:s3/bucketPolicy:BucketPolicy")
    queues = tls_denies(graph, "aws:sqs/queuePolicy:QueuePolicy")
    assert topics and buckets and queues
    for name, deny in topics.items():
        # Publishing and subscribing are what a client sends to a topic.
        assert (deny["Effect"], deny["Principal"], sorted(deny["Action"]), deny["Condition"]) == (
            "Deny", "*", ["sns:Publish", "sns:Subscribe"], TLS_ONLY
        ), name  # fmt: skip
    for name, deny in buckets.items():
        assert (deny["Effect"], deny["Principal"], deny["Action"], deny["Condition"]) == ("Deny", "*", "s3:*", TLS_ONLY), name
        bucket = deny["Resource"][0]
        assert deny["Resource"] == [bucket, bucket + "/*"], name  # the bucket and its objects
    for name, deny in queues.items():
        assert (deny["Effect"], deny["Principal"], deny["Action"], deny["Condition"]) == ("Deny", "*", "sqs:*", TLS_ONLY), name
    # Every bucket and queue the stack declares has one.
    assert len(buckets) == len(graph.of_type("aws:s3/bucket:Bucket"))
    assert len(queues) == len(graph.of_type("aws:sqs/queue:Queue"))
