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
    # The type table and the outputs are behind --resources and --outputs (the outputs are in --json).
    assert "aws:ec2/natGateway:NatGateway" not in result.stdout
    assert '"primary_region"' not in result.stdout and "\noutputs:" not in result.stdout


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
        # ECS refuses a target group that no listener rule references yet, and the first tasks
        # pull their image through the NAT gateway: explicit waits.
        egress = {
            r["urn"] for r in graph["resources"] if r["region"] == region and any(
                f"{region}-network-{part}" in r["name"] for part in ("private-default-route-", "private-rta-", "endpoint-")
            )
        }  # fmt: skip
        assert set(service["options"]["dependsOn"]) == {rule["urn"], *egress}
        assert rule["urn"] in service["dependencies"]
        # Application Auto Scaling owns the count after creation.
        assert service["options"]["ignoreChanges"] == ["desiredCount"]
        # A progressive service names its rules in its inputs (so no explicit wait is needed for
        # them), waits for its deploy role's policy, and leaves the live group and the rules'
        # weights to ECS.
        canary = _named(graph, f"{region}-auth-service")
        assert _named(graph, f"{region}-auth-rule")["urn"] in canary["dependencies"]
        assert set(canary["options"]["dependsOn"]) == {_named(graph, f"{region}-auth-deploy-policy")["urn"], *egress}
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
        '  devops-platform:regions[0] (us-east-1).azCount: got 9; allowed: a whole number from 2 to 6',
    ]


@pytest.mark.slow
def test_cross_region_overlap_is_reported_by_key(project_copy: Path):
    (project_copy / "Pulumi.overlap.yaml").write_text(
        (project_copy / "Pulumi.prod.yaml").read_text().replace("10.1.", "10.0.")
    )
    result = synth("overlap", cwd=project_copy)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "devops-platform:regions[1] (us-east-2).vpcCidr: got \"10.0.0.0/16\"; allowed: a CIDR that does not overlap regions[0] (us-east-1).vpcCidr" in result.stderr


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


# --- the default output: a screen or two, warnings after the regions, a status line last --------

# Measured: prod 48 lines, dev 43 (they were 990 and 853 with the outputs and the type tables).
DEFAULT_OUTPUT_MAX_LINES = 64


def _expected_status(graph: dict, *, warnings: int, policy: str = "policy not run (add --policy)") -> str:
    """The status line, its numbers counted here from the --json graph."""
    custom = [r for r in graph["resources"] if r["custom"]]
    regions = {r["region"] for r in custom}
    components = [r for r in graph["resources"] if not r["custom"] and r["type"] != "pulumi:pulumi:Stack"]
    assert len(graph["resources"]) == len(custom) + len(components) + 1  # and the stack
    return (
        f"{graph['stack']}: {len(custom)} resources in {len(regions)} regions, {len(components)} components, "
        f"0 errors, {warnings} warning{'s' if warnings != 1 else ''}, {policy}"
    )


@pytest.fixture(scope="module")
def dev_json(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict]:
    out = tmp_path_factory.mktemp("synth") / "dev.json"
    result = synth("dev", "--json", str(out))
    return result, json.loads(out.read_text()) if out.exists() else {}


@pytest.mark.slow
def test_prod_default_output_fits_two_screens_and_ends_with_the_status_line(prod_json):
    result, graph = prod_json
    assert result.returncode == 0, result.stderr
    lines = result.stdout.rstrip("\n").splitlines()
    assert len(lines) <= DEFAULT_OUTPUT_MAX_LINES, len(lines)
    assert lines[-1] == _expected_status(graph, warnings=5)
    assert lines[-3].startswith("graph: ") and lines[-3].endswith(".json")  # --json: the file line, then the status
    # prod ships documentation values; each is a warning naming its key (python -m ops up refuses them).
    tail = "replace it before a real deploy (docs/deploy.md), python -m ops up refuses it without --allow-placeholders"
    placeholders = [line for line in lines if line.startswith("  - placeholder ")]
    assert placeholders == [
        f"  - placeholder {what}; {tail}"
        for what in (
            "dns.domain = app.example.com: a domain reserved for documentation",
            "dns.hostedZoneId = Z0123456789EXAMPLE: an example hosted zone ID",
            "monitoring.emails[0] = platform-oncall@example.com: an address at a domain reserved for documentation",
            "pipeline.notifications.emails[0] = platform-approvals@example.com: an address at a domain reserved for documentation",
            "pipeline.staging.ingressCidrs[0] = 203.0.113.0/24: a documentation address range (RFC 5737/3849)",
        )
    ]
    # One line of counts per region, its number the graph's count of that region's resources.
    for region, role in (("us-east-1", "primary"), ("us-east-2", "secondary")):
        n = sum(1 for r in graph["resources"] if r["custom"] and r["region"] == region)
        (line,) = [line for line in lines if line.startswith(f"{region} ({role}): ")]
        assert line.startswith(f"{region} ({role}): {n} resources (") and line.endswith(" more services)")


@pytest.mark.slow
def test_dev_default_output_puts_every_warning_after_the_regions(dev_json):
    result, graph = dev_json
    assert result.returncode == 0, result.stderr
    lines = result.stdout.rstrip("\n").splitlines()
    assert len(lines) <= DEFAULT_OUTPUT_MAX_LINES, len(lines)
    assert lines[-1] == _expected_status(graph, warnings=1)
    warning = (
        "  - the ALBs serve plain HTTP: no loadBalancer.certificateArns and no dns (Security Hub ELB.1 fails; "
        "fine for dev, not for production)"
    )
    assert lines.count(warning) == 1 and lines.count("warnings:") == 1
    last_region_line = max(i for i, line in enumerate(lines) if line.startswith("  dns: ") or line.startswith("  alarms: "))
    assert lines.index("warnings:") > last_region_line
    assert lines.index("warnings:") > next(i for i, line in enumerate(lines) if line.startswith("components: "))
    assert lines.index(warning) == lines.index("warnings:") + 1


@pytest.mark.slow
def test_resources_and_outputs_flags_bring_back_the_table_and_the_outputs(prod_json):
    _, graph = prod_json
    result = synth("prod", "--resources", "--outputs")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "   2  aws:ec2/natGateway:NatGateway" in out
    assert '    "primary_region": "us-east-1",' in out and "\noutputs:\n" in out
    assert "\nmore: " not in out  # the hint names only flags not given
    lines = out.rstrip("\n").splitlines()
    assert lines[-1] == _expected_status(graph, warnings=5)
    # The table sits under its region's line; the outputs after the regions and components.
    first = lines.index(next(line for line in lines if line.startswith("us-east-1 (primary): ")))
    assert lines[first + 1].endswith("aws:acm/certificate:Certificate")
    assert lines.index("outputs:") > next(i for i, line in enumerate(lines) if line.startswith("components: "))


@pytest.mark.slow
def test_policy_result_goes_into_the_status_line():
    result = synth("dev", "--policy")
    assert result.returncode == 0, result.stderr
    last = result.stdout.rstrip("\n").splitlines()[-1]
    assert last.startswith("dev: ") and last.endswith(", 0 errors, 1 warning, policy: 0 violations")


def test_status_line_counts_violations_and_warnings(dev):
    from ops import synth as synth_module

    counts = synth_module.count(dev)
    regions = len({r.region for r in dev.custom()})
    start = f"dev: {counts.resources} resources in {regions} regions, {sum(counts.components.values())} components"
    assert synth_module.status_line(dev, counts, None) == f"{start}, 0 errors, 1 warning, policy not run (add --policy)"
    assert synth_module.status_line(dev, counts, 1) == f"{start}, 0 errors, 1 warning, policy: 1 violation"
    assert synth_module.status_line(dev, counts, 3) == f"{start}, 0 errors, 1 warning, policy: 3 violations"


# --- counts from one place: the alarms -----------------------------------------------------------


def test_alarm_counts_are_the_graphs_metric_and_composite_alarms(prod):
    """The alarms line counts what the resource table counts: every MetricAlarm and CompositeAlarm
    of the region. Metric alarms on a service, on a Route 53 health check (us-east-1 holds both
    regions'), and the platform's (the Monitoring component's); the composite is the production gate."""
    from ops import synth as synth_module

    counts = synth_module.count(prod)
    exports = prod.outputs["regions"]
    text = synth_module.summary(prod, ROOT / "Pulumi.prod.yaml", counts=counts)
    for region in ("us-east-1", "us-east-2"):
        types = Counter(r.type for r in prod.custom() if r.region == region)
        alarms = counts.regions[region].alarms
        assert counts.regions[region].types == types
        assert alarms.total == types["aws:cloudwatch/metricAlarm:MetricAlarm"] + types["aws:cloudwatch/compositeAlarm:CompositeAlarm"]
        assert alarms.metric == types["aws:cloudwatch/metricAlarm:MetricAlarm"]
        assert alarms.composite == alarms.composite_gates == types["aws:cloudwatch/compositeAlarm:CompositeAlarm"] == 1
        assert alarms.on_services == sum(len(s["alarm_names"]) for s in exports[region]["services"].values())
        assert alarms.platform == len(exports[region]["monitoring"]["alarm_names"])
        assert alarms.target_tracking_policies == sum(
            1 for r in prod.custom() if r.region == region and r.type == "aws:appautoscaling/policy:Policy"
        )
        health = [f"{alarms.on_health_checks} on Route 53 health checks"] if alarms.on_health_checks else []
        watched = ", ".join([f"{alarms.on_services} on services", f"{alarms.platform} platform", *health])
        assert (
            f"  alarms: {alarms.total} = {alarms.metric} metric ({watched}) + 1 composite (the production gate); "
            f"dashboard: devops-platform-prod-{region}"
        ) in text.splitlines()
        assert (
            f"  autoscaling: {alarms.target_tracking_policies} target-tracking policies; AWS creates their alarms "
            "(not counted above)"
        ) in text.splitlines()
    # Route 53 publishes health-check metrics in us-east-1 only: both regions' alarms live there.
    assert (counts.regions["us-east-1"].alarms.on_health_checks, counts.regions["us-east-2"].alarms.on_health_checks) == (2, 0)


# --- one shape for the command line: <stack>, or --stack --------------------------------------------


def test_synth_takes_the_stack_as_a_word_or_a_flag(monkeypatch, capsys):
    from ops import __main__ as cli
    from ops import synth as synth_module

    seen = []
    monkeypatch.setattr(synth_module, "synth", lambda stack, **kw: seen.append((stack, kw["resources"], kw["outputs"])) or 0)
    assert cli.main(["synth", "prod", "--resources"]) == 0
    assert cli.main(["synth", "--stack", "prod", "--outputs"]) == 0
    assert cli.main(["synth", "prod", "--stack", "prod"]) == 0  # both, agreeing
    assert seen == [("prod", True, False), ("prod", False, True), ("prod", False, False)]
    assert cli.main(["synth", "prod", "--stack", "dev"]) == 2
    assert capsys.readouterr().err == (
        "error: synth: two stacks given, prod and --stack dev; give one: python -m ops synth <stack>\n"
    )
    assert cli.main(["synth"]) == 2
    assert capsys.readouterr().err == "error: synth: no stack given: python -m ops synth <stack> (stacks here: dev, prod)\n"
    assert len(seen) == 3


def test_cost_takes_the_stack_as_a_word_or_a_flag(monkeypatch, capsys):
    from ops import __main__ as cli
    from ops import cost

    seen = []
    monkeypatch.setattr(cost, "synthesize", lambda stack, err: seen.append(stack) or 2)
    assert cli.main(["cost", "dev"]) == 2
    assert cli.main(["cost", "--stack", "dev", "--nat-gb", "5"]) == 2
    assert seen == ["dev", "dev"]
    assert cli.main(["cost", "dev", "--stack", "prod"]) == 2
    assert seen == ["dev", "dev"]
    assert capsys.readouterr().err == "error: cost: two stacks given, dev and --stack prod; give one: python -m ops cost <stack>\n"


@pytest.mark.parametrize("verb", ["synth", "preview", "up", "destroy", "refresh", "outputs", "cost"])
def test_help_documents_the_positional_stack_only(verb, capsys):
    from ops import __main__ as cli

    with pytest.raises(SystemExit) as exit_:
        cli.main([verb, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: python -m ops {verb} <stack> [-h]")
    assert "--stack" not in out and "[<stack>]" not in out


@pytest.mark.slow
def test_two_different_stacks_exit_2_with_one_line_from_a_real_process():
    result = synth("dev", "--stack", "prod")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == "error: synth: two stacks given, dev and --stack prod; give one: python -m ops synth <stack>\n"


def test_dev_py_passes_every_ops_verb_through(monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("dev_py", ROOT / "dev.py")
    dev_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(dev_py)
    ran = []
    monkeypatch.setattr(dev_py, "ensure_venv", lambda: Path("/venv/bin/python"))
    monkeypatch.setattr(dev_py.subprocess, "run", lambda cmd, cwd: ran.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    from ops.__main__ import VERBS

    assert sorted(dev_py.OPS_VERBS) == sorted(VERBS)  # the same verbs, in whatever order
    assert dev_py.main(["synth", "prod", "--outputs"]) == 0
    assert dev_py.main(["preview", "--stack", "prod"]) == 0
    assert dev_py.main(["cost", "dev"]) == 0
    assert dev_py.main(["test", "-q"]) == 0
    assert ran == [
        ["/venv/bin/python", "-m", "ops", "synth", "prod", "--outputs"],
        ["/venv/bin/python", "-m", "ops", "preview", "--stack", "prod"],
        ["/venv/bin/python", "-m", "ops", "cost", "dev"],
        ["/venv/bin/python", "-m", "pytest", *dev_py.TEST_ARGS, "-q"],
    ]
    assert dev_py.main(["deploy"]) == 2 and len(ran) == 4


# --- stack files that import Pulumi ESC environments -------------------------------------------------

ESC_IMPORTS = "environment:\n  - myorg/common\n  - myorg/dev\n"


def test_esc_environments_are_read_from_the_stack_file():
    from stack_config.load import esc_environments

    assert esc_environments({"config": {}}) == ()
    assert esc_environments({"environment": ["myorg/common", "myorg/dev"]}) == ("myorg/common", "myorg/dev")
    assert esc_environments({"environment": {"imports": ["myorg/dev"]}}) == ("myorg/dev",)
    for bad in ("myorg/dev", [""], [1], {"values": {}}):
        with pytest.raises(ValueError, match=r"^'environment' must be a list of Pulumi ESC environment names"):
            esc_environments({"environment": bad})


@pytest.mark.slow
def test_a_stack_file_with_esc_environments_synthesizes_with_a_note(project_copy: Path):
    (project_copy / "Pulumi.esc.yaml").write_text(ESC_IMPORTS + (project_copy / "Pulumi.dev.yaml").read_text())
    result = synth("esc", cwd=project_copy)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1:3] == [
        "config: Pulumi.esc.yaml is valid",
        "note: Pulumi.esc.yaml imports the Pulumi ESC environments myorg/common, myorg/dev: their values are not "
        "resolved offline; the synth sees only the file's config",
    ]
    assert lines[-1].startswith("esc: ") and lines[-1].endswith("policy not run (add --policy)")


@pytest.mark.slow
def test_required_keys_an_esc_environment_would_set_are_named_in_one_line(project_copy: Path):
    text = (project_copy / "Pulumi.dev.yaml").read_text()
    text = text.replace("  devops-platform:environment: dev\n", "")
    start = text.index("  devops-platform:regions:\n")
    end = text.index("  devops-platform:network:\n")
    (project_copy / "Pulumi.esc.yaml").write_text(ESC_IMPORTS + text[:start] + text[end:])
    result = synth("esc", cwd=project_copy)
    assert result.returncode == 2 and result.stdout == ""
    assert "Traceback" not in result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "error: Pulumi.esc.yaml: invalid stack config:"
    assert [line.split(":")[1] for line in lines[1:-1]] == ["environment", "regions"]
    assert lines[-1] == (
        "note: Pulumi.esc.yaml imports the Pulumi ESC environments myorg/common, myorg/dev: their values are not "
        "resolved offline; the synth sees only the file's config; required keys it could not see: "
        "devops-platform:environment, devops-platform:regions"
    )


@pytest.mark.slow
def test_an_environment_that_is_not_a_list_exits_2_with_one_line(project_copy: Path):
    (project_copy / "Pulumi.esc.yaml").write_text("environment: myorg/dev\n" + (project_copy / "Pulumi.dev.yaml").read_text())
    result = synth("esc", cwd=project_copy)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "error: Pulumi.esc.yaml: 'environment' must be a list of Pulumi ESC environment names, "
        "e.g. [myorg/common, myorg/dev]\n"
    )
