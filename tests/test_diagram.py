"""The generated architecture diagram: what it shows, that it is stable and valid Mermaid, that the
default view stays readable (the primary region in detail, first; every other region as one box),
and that the copy docs/architecture.md embeds is the current one."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ops import diagram, harness
from ops.diagram import T_ALARM, count_nodes, embed, embedded, mermaid
from ops.harness import Graph
from tests.conftest import run_stack

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = (
    "the embedded prod diagram is stale; regenerate it with `.venv/bin/python -m ops.diagram` "
    "(rewrites the block between <!-- diagram:prod:begin --> and <!-- diagram:prod:end --> in "
    "docs/architecture.md), or write it with "
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


@pytest.fixture(scope="module")
def prod_full(prod: Graph) -> str:
    return mermaid(prod, all_regions=True)


@pytest.fixture(scope="module")
def dev_full(dev: Graph) -> str:
    return mermaid(dev, all_regions=True)


def parse(text: str) -> tuple[dict[str, str], dict[str, str], list[tuple[str, str, str, str]]]:
    """Nodes (id → label), subgraphs (id → label) and edges; fails on any line it does not know."""
    lines = text.splitlines()
    assert lines[0] in ("flowchart TB", "flowchart LR")
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


def test_architecture_page_embeds_the_current_prod_diagram(prod_diagram: str):
    page = (ROOT / "docs" / "architecture.md").read_text()
    assert embedded(page) == prod_diagram, REGENERATE
    # The page embeds the one view; the README no longer carries a copy to fall out of date.
    assert page.count("<!-- diagram:prod:begin -->") == 1
    assert embedded((ROOT / "README.md").read_text()) is None
    for part in ("traffic.md", "delivery.md", "events.md", "observability.md"):
        assert f"]({part})" in page


def test_two_synths_give_the_same_text(prod_diagram: str):
    assert mermaid(run_stack("prod")) == prod_diagram


def test_is_valid_mermaid_with_quoted_labels_and_plain_ids(prod_diagram: str, dev_diagram: str, prod_full: str, dev_full: str):
    for text in (prod_diagram, dev_diagram, prod_full, dev_full):
        nodes, subgraphs, edges = parse(text)
        assert nodes and subgraphs and edges


def test_all_regions_shows_every_region_service_stage_and_route_the_stack_exports(prod: Graph, prod_full: str):
    nodes, subgraphs, edges = parse(prod_full)
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
                label = nodes[f"{rid}_svc_{name.replace('-', '_')}"]
                assert label.startswith(f"Lambda service {name}<br/>{image} · CodeDeploy {shift}<br/>"), label
                assert subgraphs[f"{rid}_lambda"].startswith("Lambda services")
                continue
            kind = "on-demand task" if svc["mode"] == "on-demand" else "ECS service"
            strategy = {"rolling": "", "blueGreen": " · blue/green"}.get(svc["deployment_strategy"], f" · {svc['deployment_strategy']}")
            label = nodes[f"{rid}_svc_{name.replace('-', '_')}"]
            assert label.startswith(f"{kind} {name}<br/>port {svc['container_port']}{strategy}<br/>"), label
        for fn in exports["functions"]:
            assert f"{rid}_fn_{fn.replace('-', '_')}" in nodes
        stages = [label.split("<br/>")[0] for nid, label in nodes.items() if nid.startswith(f"{rid}_stage_")]
        assert stages == exports["pipeline"]["pipeline_stages"]  # in order
        # One unlabelled edge per target; the target's label ends with the paths routed to it.
        routed = {b for a, _, label, b in edges if a == f"{rid}_alb" and not label}
        for route in exports["routes"]:
            kind, name = route["target"].split()[0], route["target"].split()[1].split(":")[0]
            target = f"{rid}_{'svc' if kind == 'service' else 'fn'}_{name.replace('-', '_')}"
            assert target in routed, route
            assert nodes[target].endswith("<br/>" + ", ".join(route["paths"])), (route, nodes[target])
        for tier, cidrs in (("public", ("10.0.1.0/24", "10.1.1.0/24")), ("private", ("10.0.11.0/24", "10.1.11.0/24"))):
            assert any(c in nodes[f"{rid}_{tier}_subnets"] for c in cidrs)
        assert nodes[f"{rid}_nat"] == "NAT gateways ×2<br/>one per AZ"


def test_all_regions_shows_replication_notifications_and_dns_failover(prod_full: str):
    _, _, edges = parse(prod_full)
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


@pytest.mark.parametrize("view", ["prod_diagram", "prod_full"])
def test_leaks_no_arn_mock_id_or_random_suffix(prod: Graph, view: str, request: pytest.FixtureRequest):
    prod_diagram = request.getfixturevalue(view)
    assert not re.search(r"arn:", prod_diagram)
    assert not re.search(r"-[0-9a-f]{7}\b", prod_diagram), re.findall(r"\S*-[0-9a-f]{7}\b", prod_diagram)
    assert not re.search(r"\b(vpc|subnet|sg|nat|rtb|igw|eipalloc)-[0-9a-f]{8,}", prod_diagram)
    assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}", prod_diagram)  # health check IDs
    assert "123456789012" not in prod_diagram
    mock_ids = {r.id for r in prod.resources if r.id and re.search(r"[0-9a-f]{7}", r.id)}
    assert mock_ids and not [i for i in mock_ids if i in prod_diagram]


def test_is_readable_one_node_per_thing_not_per_resource(
    prod: Graph, dev: Graph, prod_diagram: str, dev_diagram: str, prod_full: str
):
    assert count_nodes(prod_diagram) == len(parse(prod_diagram)[0])
    assert len(prod.resources) > 500 and len(dev.resources) > 400
    # The default view (embedded in docs/architecture.md) stays small enough to read in a column.
    assert count_nodes(prod_diagram) <= 40, count_nodes(prod_diagram)
    assert count_nodes(dev_diagram) <= 40, count_nodes(dev_diagram)
    # --all-regions keeps every region's detail: more than the default, still one node per thing.
    assert count_nodes(prod_diagram) < count_nodes(prod_full) <= 60


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_default_draws_the_primary_region_first_and_in_detail(stack: str, request: pytest.FixtureRequest):
    graph: Graph = request.getfixturevalue(stack)
    text = request.getfixturevalue(f"{stack}_diagram")
    nodes, subgraphs, edges = parse(text)
    assert graph.outputs["primary_region"] == "us-east-1"
    assert graph.outputs["regions"]["us-east-2"]["role"] == "secondary"
    # Top to bottom; the primary's subgraph is declared before the secondary's box ...
    lines = text.splitlines()
    assert lines[0] == "flowchart TB"
    primary = lines.index('  subgraph us_east_1["us-east-1 (primary)"]')
    secondary = next(i for i, line in enumerate(lines) if line.startswith('  us_east_2["'))
    assert primary < secondary
    # ... and every edge at the box comes from above it (the primary, DNS, clients), so the layout
    # ranks the box below the primary.
    touching = [(a, b) for a, _, _, b in edges if "us_east_2" in (a, b)]
    assert touching and all(b == "us_east_2" for _, b in touching)
    # The primary region in detail, the secondary as one node with no detail of its own.
    assert "us_east_1_alb" in nodes and "us_east_1_pipeline" in subgraphs
    assert "us_east_2" in nodes and "us_east_2" not in subgraphs
    assert not [i for i in nodes.keys() | subgraphs.keys() if i.startswith("us_east_2_")]


def test_the_secondary_box_says_its_role_what_it_runs_and_what_it_receives(prod: Graph, prod_diagram: str):
    nodes, _, edges = parse(prod_diagram)
    alarms = sum(1 for r in prod.resources if r.type == T_ALARM and r.region == "us-east-2")
    assert nodes["us_east_2"] == (
        "us-east-2 · secondary<br/>same services and pipeline as us-east-1<br/>"
        f"its repository: a replica of us-east-1's<br/>VPC 10.1.0.0/16 · CloudWatch alarms ×{alarms}"
    )
    pairs = {(a, arrow, label, b) for a, arrow, label, b in edges}
    assert ("us_east_1_fn_replicator", "==>", "replicates to", "us_east_2") in pairs
    assert ("dns_app_example_com", "-->", "PRIMARY · health check", "us_east_1_alb") in pairs
    assert ("dns_app_example_com", "-->", "SECONDARY · health check", "us_east_2") in pairs
    assert ("developers", "-->", "git push", "us_east_1_repo") in pairs
    assert not any(a == "developers" and b == "us_east_2" for a, _, _, b in edges)


def test_the_secondary_box_lists_what_it_runs_when_it_differs(prod: Graph):
    # The box compares the regions rather than asserting they match: drop the secondary's users
    # service from the graph and the box says what that region lacks.
    users = prod.named("us-east-2-users").urn
    by_urn = prod.by_urn()

    def under_users(r) -> bool:
        parent = r.urn
        while parent is not None:
            if parent == users:
                return True
            parent = by_urn[parent].parent if parent in by_urn else None
        return False

    trimmed = dataclasses.replace(prod, resources=[r for r in prod.resources if not under_users(r)])
    box = parse(mermaid(trimmed))[0]["us_east_2"]
    assert box.split("<br/>")[:2] == ["us-east-2 · secondary", "as us-east-1, without Fargate users"]


def test_dev_boxes_its_secondary_behind_a_regional_url(dev_diagram: str):
    nodes, _, edges = parse(dev_diagram)
    assert nodes["us_east_2"].startswith("us-east-2 · secondary<br/>same services and pipeline as us-east-1<br/>")
    pairs = {(a, arrow, label, b) for a, arrow, label, b in edges}
    assert ("clients", "-->", "regional URL", "us_east_1_alb") in pairs
    assert ("clients", "-->", "regional URL", "us_east_2") in pairs
    assert ("us_east_1_fn_replicator", "==>", "replicates to", "us_east_2") in pairs


def test_alarms_node_counts_metric_alarms_of_its_region(prod: Graph, prod_diagram: str):
    nodes = parse(prod_diagram)[0]
    metric = [r for r in prod.resources if r.type == T_ALARM and r.region == "us-east-1"]
    dns = [r for r in metric if r.inputs.get("namespace") == "AWS/Route53"]
    assert len(dns) == 2  # one per region's health check, both in us-east-1 (Route 53's metrics)
    assert nodes["us_east_1_alarms"] == (
        f"CloudWatch alarms ×{len(metric)}<br/>2 of them on Route 53 health checks<br/>+ 1 composite alarm"
        "<br/>dashboard devops-platform-prod-us-east-1"
    )


def test_dev_differs_where_its_config_differs(dev_full: str, prod_full: str):
    dev_diagram, prod_diagram = dev_full, prod_full
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
    assert diagram.EMBEDDED_IN == ("docs/architecture.md",)


@pytest.fixture
def docs_root(tmp_path: Path, prod: Graph, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project root holding a copy of docs/architecture.md with a stale diagram, and a synth
    that returns the prod graph already built (so main() runs in-process, without writing docs/)."""
    (tmp_path / "docs").mkdir()
    page = (ROOT / "docs" / "architecture.md").read_text()
    (tmp_path / "docs" / "architecture.md").write_text(embed(page, "flowchart TB\n  stale[\"stale\"]\n"))
    monkeypatch.setattr(harness, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr("ops.synth.synthesize", lambda stack, err: (None, prod))
    return tmp_path


def test_refresh_says_updated_then_unchanged(docs_root: Path, prod_diagram: str, capsys: pytest.CaptureFixture[str]):
    page = docs_root / "docs" / "architecture.md"
    n = count_nodes(prod_diagram)
    assert diagram.main([]) == 0
    assert capsys.readouterr().out == f"docs/architecture.md: prod diagram updated ({n} nodes)\n"
    assert embedded(page.read_text()) == prod_diagram
    written = page.stat().st_mtime_ns
    assert diagram.main([]) == 0
    assert capsys.readouterr().out == f"docs/architecture.md: prod diagram unchanged ({n} nodes)\n"
    assert page.stat().st_mtime_ns == written  # not rewritten either


def test_all_regions_flag_writes_the_full_view_elsewhere(
    docs_root: Path, prod_full: str, capsys: pytest.CaptureFixture[str]
):
    page = (docs_root / "docs" / "architecture.md").read_text()
    with pytest.raises(SystemExit) as refused:  # the documents embed the one-region view
        diagram.main(["--all-regions"])
    assert refused.value.code == 2
    assert "--all-regions needs --output" in capsys.readouterr().err
    out = docs_root / "out" / "prod-all.mmd"
    assert diagram.main(["--all-regions", "--output", str(out)]) == 0
    assert out.read_text() == prod_full
    assert capsys.readouterr().out == f"{out}: prod diagram written ({count_nodes(prod_full)} nodes)\n"
    assert diagram.main(["--all-regions", "--output", "-"]) == 0
    assert capsys.readouterr().out == prod_full
    assert (docs_root / "docs" / "architecture.md").read_text() == page


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
