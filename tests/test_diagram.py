"""The generated architecture diagram: what it shows, that it is stable and valid Mermaid, and that
the copies the README and docs/architecture.md embed are the current ones."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from ops import diagram
from ops.diagram import count_nodes, embed, embedded, mermaid
from ops.harness import Graph
from tests.conftest import run_stack

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = (
    "the embedded prod diagram is stale; regenerate it with `.venv/bin/python -m ops.diagram` "
    "(rewrites the block between <!-- diagram:prod:begin --> and <!-- diagram:prod:end --> in "
    "README.md and docs/architecture.md), or write it with "
    "`.venv/bin/python -m ops synth prod --diagram /tmp/prod.mmd` and paste it there"
)
ID = r"[A-Za-z0-9_]+"
NODE = re.compile(rf'^\s*({ID})(\[\(|\(\[|\{{\{{|\[|\(|\{{)"([^"]*)"(\)\]|\]\)|\}}\}}|\]|\)|\}})$')
EDGE = re.compile(rf'^\s*({ID}) (-->|---|-\.->|-\.-|==>)(?:\|"([^"]*)"\|)? ({ID})$')
SUBGRAPH = re.compile(rf'^\s*subgraph ({ID})\["([^"]*)"\]$')


@pytest.fixture(scope="module")
def prod_diagram(prod: Graph) -> str:
    return mermaid(prod)


@pytest.fixture(scope="module")
def dev_diagram(dev: Graph) -> str:
    return mermaid(dev)


def parse(text: str) -> tuple[dict[str, str], dict[str, str], list[tuple[str, str, str, str]]]:
    """Nodes (id → label), subgraphs (id → label) and edges; fails on any line it does not know."""
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    nodes: dict[str, str] = {}
    subgraphs: dict[str, str] = {}
    edges: list[tuple[str, str, str, str]] = []
    depth = 0
    for line in lines[1:]:
        if m := SUBGRAPH.match(line):
            assert m.group(1) not in subgraphs and m.group(1) not in nodes, line
            subgraphs[m.group(1)] = m.group(2)
            depth += 1
        elif line.strip() == "end":
            depth -= 1
            assert depth >= 0, "an `end` without its subgraph"
        elif line.strip() in ("direction TB", "direction LR"):
            assert depth > 0
        elif m := NODE.match(line):
            assert m.group(1) not in nodes and m.group(1) not in subgraphs, f"declared twice: {line}"
            nodes[m.group(1)] = m.group(3)
        elif m := EDGE.match(line):
            edges.append((m.group(1), m.group(2), m.group(3) or "", m.group(4)))
        else:
            pytest.fail(f"not a line this generator writes: {line!r}")
    assert depth == 0, "unbalanced subgraph/end"
    declared = nodes.keys() | subgraphs.keys()
    for a, _, _, b in edges:
        assert a in declared and b in declared, f"edge to an undeclared id: {a} → {b}"
    return nodes, subgraphs, edges


def test_readme_embeds_the_current_prod_diagram(prod_diagram: str):
    assert embedded((ROOT / "README.md").read_text()) == prod_diagram, REGENERATE


def test_architecture_page_embeds_the_current_prod_diagram(prod_diagram: str):
    page = (ROOT / "docs" / "architecture.md").read_text()
    assert embedded(page) == prod_diagram, REGENERATE
    for anchor in ("#traffic-and-compute", "#delivery", "#event-driven-functions", "#observability-and-failover"):
        assert f"../README.md{anchor}" in page


def test_two_synths_give_the_same_text(prod_diagram: str):
    assert mermaid(run_stack("prod")) == prod_diagram


def test_is_valid_mermaid_with_quoted_labels_and_plain_ids(prod_diagram: str, dev_diagram: str):
    for text in (prod_diagram, dev_diagram):
        nodes, subgraphs, edges = parse(text)
        assert nodes and subgraphs and edges


def test_shows_every_region_service_stage_and_route_the_stack_exports(prod: Graph, prod_diagram: str):
    nodes, subgraphs, edges = parse(prod_diagram)
    regions = prod.outputs["regions"]
    assert len(regions) == 2
    for region, exports in regions.items():
        rid = region.replace("-", "_")
        assert subgraphs[rid] == f"{region} ({exports['role']})"
        for name, svc in exports["services"].items():
            if svc["compute"] == "lambda":
                # Its image once released (a 503 before), and how CodeDeploy shifts it.
                image = "503 until the first release" if svc["image_pending"] else "image"
                shift = {"rolling": "all at once"}.get(svc["deployment_strategy"], svc["deployment_strategy"])
                assert nodes[f"{rid}_svc_{name.replace('-', '_')}"] == f"Lambda service {name}<br/>{image} · CodeDeploy {shift}"
                assert subgraphs[f"{rid}_lambda"].startswith("Lambda services")
                continue
            kind = "on-demand task" if svc["mode"] == "on-demand" else "ECS service"
            strategy = {"rolling": "", "blueGreen": " · blue/green"}.get(svc["deployment_strategy"], f" · {svc['deployment_strategy']}")
            assert nodes[f"{rid}_svc_{name.replace('-', '_')}"] == f"{kind} {name}<br/>port {svc['container_port']}{strategy}"
        for fn in exports["functions"]:
            assert f"{rid}_fn_{fn.replace('-', '_')}" in nodes
        stages = [label.split("<br/>")[0] for nid, label in nodes.items() if nid.startswith(f"{rid}_stage_")]
        assert stages == exports["pipeline"]["pipeline_stages"]  # in order
        routed = {(label, b) for a, _, label, b in edges if a == f"{rid}_alb"}
        for route in exports["routes"]:
            kind, name = route["target"].split()[0], route["target"].split()[1].split(":")[0]
            target = f"{rid}_{'svc' if kind == 'service' else 'fn'}_{name.replace('-', '_')}"
            assert (", ".join(route["paths"]), target) in routed, route
        for tier, cidrs in (("public", ("10.0.1.0/24", "10.1.1.0/24")), ("private", ("10.0.11.0/24", "10.1.11.0/24"))):
            assert any(c in nodes[f"{rid}_{tier}_subnets"] for c in cidrs)
        assert nodes[f"{rid}_nat"] == "NAT gateways ×2<br/>one per AZ"


def test_shows_replication_notifications_and_dns_failover(prod_diagram: str):
    _, _, edges = parse(prod_diagram)
    pairs = {(a, arrow, label, b) for a, arrow, label, b in edges}
    assert ("us_east_1_fn_replicator", "==>", "replicates to", "us_east_2_repo") in pairs
    assert ("developers", "-->", "git push", "us_east_1_repo") in pairs
    assert not any(b == "us_east_2_repo" and a == "developers" for a, _, _, b in edges)
    for rid in ("us_east_1", "us_east_2"):
        assert (f"{rid}_stage_3_Approval", "-.->", "approval request", f"{rid}_topic") in pairs
        assert any(a == f"{rid}_alarms" and b == f"{rid}_topic" and label.endswith("alarm actions") for a, _, label, b in edges)
        assert (f"{rid}_repo", "-->", "push · EventBridge", f"{rid}_stage_0_Source") in pairs
    assert ("dns_app_example_com", "-->", "PRIMARY · health check", "us_east_1_alb") in pairs
    assert ("dns_app_example_com", "-->", "SECONDARY · health check", "us_east_2_alb") in pairs
    launched = {b for a, _, label, b in edges if a == "us_east_1_fn_task_launcher" and label == "runs task"}
    assert launched == {"us_east_1_svc_batch", "us_east_1_svc_fa"}


def test_leaks_no_arn_mock_id_or_random_suffix(prod: Graph, prod_diagram: str):
    assert not re.search(r"arn:", prod_diagram)
    assert not re.search(r"-[0-9a-f]{7}\b", prod_diagram), re.findall(r"\S*-[0-9a-f]{7}\b", prod_diagram)
    assert not re.search(r"\b(vpc|subnet|sg|nat|rtb|igw|eipalloc)-[0-9a-f]{8,}", prod_diagram)
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}", prod_diagram)  # health check IDs
    assert "123456789012" not in prod_diagram
    mock_ids = {r.id for r in prod.resources if r.id and re.search(r"[0-9a-f]{7}", r.id)}
    assert mock_ids and not [i for i in mock_ids if i in prod_diagram]


def test_is_readable_one_node_per_thing_not_per_resource(prod: Graph, prod_diagram: str):
    assert count_nodes(prod_diagram) == len(parse(prod_diagram)[0])
    assert len(prod.resources) > 500
    assert count_nodes(prod_diagram) <= 60


def test_dev_differs_where_its_config_differs(dev_diagram: str, prod_diagram: str):
    nodes, _, edges = parse(dev_diagram)
    for rid in ("us_east_1", "us_east_2"):
        stages = [label.split("<br/>")[0] for nid, label in nodes.items() if nid.startswith(f"{rid}_stage_")]
        assert stages == ["Source", "Build", "Deploy"]
        assert nodes[f"{rid}_nat"] == "NAT gateways ×1<br/>single, shared"
        assert f"{rid}_staging" not in nodes
    assert "Route 53" not in dev_diagram and not any(n.startswith("dns_") for n in nodes)
    assert ("clients", "-->", "regional URL", "us_east_1_alb") in {(a, r, lbl, b) for a, r, lbl, b in edges}
    assert "10.10.0.0/16" in dev_diagram and "10.0.0.0/16" not in dev_diagram
    assert "Route 53 app.example.com" in prod_diagram


def test_embed_replaces_only_the_marked_block():
    doc = "intro\n<!-- diagram:prod:begin -->\n```mermaid\nold\n```\n<!-- diagram:prod:end -->\noutro\n"
    new = embed(doc, "flowchart LR\n")
    assert new == doc.replace("old\n", "flowchart LR\n")
    assert embedded(new) == "flowchart LR\n"
    assert embedded("no markers") is None
    with pytest.raises(ValueError):
        embed("no markers", "flowchart LR\n")
    assert diagram.EMBEDDED_IN == ("README.md", "docs/architecture.md")


@pytest.mark.slow
def test_synth_diagram_flag_writes_the_file(tmp_path: Path, prod_diagram: str):
    out = tmp_path / "nested" / "prod.mmd"
    graph = tmp_path / "prod.json"
    result = subprocess.run(
        [sys.executable, "-m", "ops", "synth", "prod", "--diagram", str(out), "--json", str(graph)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_text() == prod_diagram
    assert graph.exists()
    assert f"diagram: Mermaid flowchart written to {out}" in result.stdout
