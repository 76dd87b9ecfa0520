"""``python -m ops synth`` as a user runs it: exit codes, the summary, and the --json contract."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GRAPH_KEYS = ["stack", "project", "resources", "outputs", "publishedImages"]
RESOURCE_KEYS = ["urn", "type", "name", "parent", "region", "custom", "inputs", "dependencies"]
OPTION_KEYS = {
    "dependsOn", "ignoreChanges", "protect", "retainOnDelete", "deleteBeforeReplace", "replaceOnChanges", "aliases",
    "replaceWith",
}  # fmt: skip


def synth(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", "synth", *args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="module")
def prod_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path_factory.mktemp("synth") / "prod.json"
    result = synth("prod", "--json", str(out))
    return result, json.loads(out.read_text()) if out.exists() else {}


@pytest.mark.slow
def test_synth_prod_succeeds_and_summarizes_per_region(prod_json):
    result, _ = prod_json
    assert result.returncode == 0, result.stderr
    assert "nothing was sent to AWS" in result.stdout
    assert "us-east-1 (primary): " in result.stdout and "us-east-2 (secondary): " in result.stdout
    assert "2  aws:ec2/natGateway:NatGateway" in result.stdout
    assert '"primary_region": "us-east-1"' in result.stdout


@pytest.mark.slow
def test_json_graph_keeps_its_contract(prod_json):
    _, graph = prod_json
    assert list(graph) == GRAPH_KEYS
    assert (graph["stack"], graph["project"]) == ("prod", "devops-platform")
    assert graph["publishedImages"] is False  # a new account's first synth: no pipeline has released
    urns = {r["urn"] for r in graph["resources"]}
    for r in graph["resources"]:
        # `options` comes last, and only where an option is set.
        assert list(r) in (RESOURCE_KEYS, [*RESOURCE_KEYS, "options"])
        assert r.get("options", True) != {} and set(r.get("options", {})) <= OPTION_KEYS
        assert r["dependencies"] == sorted(set(r["dependencies"]))
        assert set(r["dependencies"]) <= urns
        assert set(r.get("options", {}).get("dependsOn", [])) <= set(r["dependencies"])
        assert r["parent"] is None or r["parent"] in urns
        assert isinstance(r["custom"], bool) and isinstance(r["inputs"], dict)
        assert r["region"] is None if not r["custom"] else r["region"] in ("us-east-1", "us-east-2")
    vpc = next(r for r in graph["resources"] if r["name"] == "us-east-1-network-vpc")
    assert vpc["type"] == "aws:ec2/vpc:Vpc"
    assert vpc["inputs"]["cidrBlock"] == "10.0.0.0/16"  # camelCase, as the engine receives them
    assert graph["outputs"]["regions"]["us-east-1"]["vpc_id"].startswith("vpc-")


def _named(graph: dict, name: str) -> dict:
    (found,) = [r for r in graph["resources"] if r["name"] == name]
    return found


@pytest.mark.slow
def test_json_graph_records_the_orderings_and_ownership_the_engine_needs(prod_json):
    _, graph = prod_json
    for region in ("us-east-1", "us-east-2"):
        service = _named(graph, f"{region}-fargate-demo-service")
        rule = _named(graph, f"{region}-fargate-demo-rule")
        # ECS refuses a target group that no listener rule references yet: an explicit wait.
        assert service["options"]["dependsOn"] == [rule["urn"]]
        assert rule["urn"] in service["dependencies"]
        # Application Auto Scaling owns the count after creation.
        assert service["options"]["ignoreChanges"] == ["desiredCount"]
        # A progressive service names its rules in its inputs (so no explicit wait is needed for
        # them), waits for its deploy role's policy, and leaves the live group and the rules'
        # weights to ECS.
        canary = _named(graph, f"{region}-auth-service")
        assert _named(graph, f"{region}-auth-rule")["urn"] in canary["dependencies"]
        assert canary["options"]["dependsOn"] == [_named(graph, f"{region}-auth-deploy-policy")["urn"]]
        assert canary["options"]["ignoreChanges"] == ["desiredCount", "loadBalancers"]
        assert _named(graph, f"{region}-auth-rule")["options"]["ignoreChanges"] == ["actions"]
        # ELB checks its invoke permission when the Lambda target is registered.
        attachment = _named(graph, f"{region}-lambda-demo-attachment")
        permission = _named(graph, f"{region}-lambda-demo-alb-permission")
        assert attachment["options"]["dependsOn"] == [permission["urn"]]
        # Inputs are dependencies too: the rule waits for its target group.
        assert _named(graph, f"{region}-fargate-demo-tg")["urn"] in rule["dependencies"]
    # Staging copies keep no ignored count: they do not autoscale.
    assert "ignoreChanges" not in _named(graph, "us-east-1-auth-staging-service").get("options", {})
    # Nothing is protected or retained by default.
    assert not [r["name"] for r in graph["resources"] if "protect" in r.get("options", {})]


@pytest.mark.slow
def test_json_graph_has_the_network_the_issue_promises_in_each_region(prod_json):
    _, graph = prod_json
    for region in ("us-east-1", "us-east-2"):
        counts = Counter(r["type"] for r in graph["resources"] if r["region"] == region)
        assert counts["aws:ec2/vpc:Vpc"] == 1
        assert counts["aws:ec2/subnet:Subnet"] == 4
        assert counts["aws:ec2/natGateway:NatGateway"] == 2
        assert counts["aws:ec2/flowLog:FlowLog"] == 1
        (sg,) = [r for r in graph["resources"] if r["region"] == region and r["type"].endswith("DefaultSecurityGroup")]
        assert sg["inputs"]["ingress"] == [] and sg["inputs"]["egress"] == []


@pytest.mark.slow
def test_two_synths_write_byte_identical_graphs(tmp_path: Path):
    first_path = tmp_path / "first.json"
    again_path = tmp_path / "again.json"
    assert synth("prod", "--json", str(first_path)).returncode == 0
    assert synth("prod", "--json", str(again_path)).returncode == 0
    assert again_path.read_bytes() == first_path.read_bytes()


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """The project without its venv or history, where a test may write a broken stack file."""
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(".venv", ".git", "__pycache__", ".pytest_cache"))
    return copy


@pytest.mark.slow
def test_bad_config_exits_2_with_one_line_per_problem_and_no_traceback(project_copy: Path):
    stack_file = project_copy / "Pulumi.broken.yaml"
    stack_file.write_text(
        (project_copy / "Pulumi.prod.yaml")
        .read_text()
        .replace("vpcCidr: 10.1.0.0/16", "vpcCidr: 10.0.0.0/16")
        .replace("azCount: 2\n      subnets", "azCount: 9\n      subnets", 1)
    )
    out = project_copy / "graph.json"
    result = synth("broken", "--json", str(out), cwd=project_copy)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert not out.exists()
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "error: Pulumi.broken.yaml: invalid stack config:"
    assert lines[1:] == [
        '  devops-platform:regions[0].azCount: got 9; allowed: a whole number from 2 to 6',
    ]


@pytest.mark.slow
def test_cross_region_overlap_is_reported_by_key(project_copy: Path):
    (project_copy / "Pulumi.overlap.yaml").write_text(
        (project_copy / "Pulumi.prod.yaml").read_text().replace("10.1.", "10.0.")
    )
    result = synth("overlap", cwd=project_copy)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "devops-platform:regions[1].vpcCidr: got \"10.0.0.0/16\"; allowed: a CIDR that does not overlap regions[0].vpcCidr" in result.stderr


@pytest.mark.slow
def test_unknown_stack_and_unnamespaced_keys_are_one_line_errors(project_copy: Path):
    result = synth("staging", cwd=project_copy)
    assert result.returncode == 2
    assert result.stderr.strip() == "error: stack 'staging': no Pulumi.staging.yaml here; stacks: dev, prod"
    (project_copy / "Pulumi.bare.yaml").write_text("config:\n  environment: prod\n")
    result = synth("bare", cwd=project_copy)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "error: Pulumi.bare.yaml: config key 'environment' has no namespace; write it as devops-platform:environment"
    )


@pytest.mark.slow
def test_preview_flag_leaves_computed_values_unknown(tmp_path: Path):
    out = tmp_path / "preview.json"
    result = synth("dev", "--preview", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "preview (computed values unknown)" in result.stdout
    graph = json.loads(out.read_text())
    assert graph["outputs"]["regions"]["us-east-1"]["vpc_id"] == "[unknown]"


@pytest.mark.slow
def test_more_azs_than_the_region_has_exits_2_without_a_traceback(project_copy: Path):
    text = (project_copy / "Pulumi.dev.yaml").read_text()
    text = text.replace("vpcCidr: 10.11.0.0/16", "vpcCidr: 10.11.0.0/16\n      azCount: 4")
    (project_copy / "Pulumi.wide.yaml").write_text(text)
    result = synth("wide", cwd=project_copy)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "error: stack 'wide': azCount: got 4; allowed: at most 3, the standard availability zones "
        "this region offers (us-east-2a, us-east-2b, us-east-2c)"
    )


@pytest.mark.slow
def test_published_images_synthesizes_the_steady_state(tmp_path: Path):
    """dev's services on Lambda answer 503 until their first image; --published-images shows them
    running it, and says so in the graph."""
    first = synth("dev")
    assert first.returncode == 0, first.stderr
    assert "no image published yet" in first.stdout
    assert "→ service auth:8080 on lambda" in first.stdout
    assert "on Lambda, answering 503 until their first image: auth, fargate-demo, go-demo, pdf, users" in first.stdout
    out = tmp_path / "dev.json"
    steady = synth("dev", "--published-images", "--json", str(out))
    assert steady.returncode == 0, steady.stderr
    assert "every service's image published" in steady.stdout
    assert "on Lambda, running their published images: auth, fargate-demo, go-demo, pdf, users" in steady.stdout
    graph = json.loads(out.read_text())
    assert graph["publishedImages"] is True
    images = {r["inputs"]["name"]: r["inputs"]["packageType"] for r in graph["resources"] if r["type"] == "aws:lambda/function:Function" and r["name"].endswith(("-auth-function", "-go-demo-function"))}
    assert set(images.values()) == {"Image"} and len(images) == 2
