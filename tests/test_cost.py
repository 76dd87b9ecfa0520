"""``python -m ops cost``: the synthesized graph priced per region and in total per month."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from ops import cost, prices
from ops.harness import Graph
from tests.conftest import run_stack

HOURS = prices.HOURS_PER_MONTH


def _regions(graph: Graph) -> list[str]:
    return sorted({r.region for r in graph.custom() if r.region})


def _line(est: cost.Estimate, region: str, prefix: str) -> cost.Line:
    found = est.find(region, prefix)
    assert len(found) == 1, [line.item for line in est.region_lines(region)]
    return found[0]


def _service(namespace: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in namespace["services"] if s["name"] == name)


@pytest.fixture(scope="module")
def prod_bigger_users() -> Graph:
    """prod with the users service at 512 CPU / 1024 MiB instead of 256 / 512 (the conftest's
    ``run_program(edit=...)``, once for the module)."""

    def edit(ns: dict[str, Any]) -> None:
        _service(ns, "users").update(cpu=512, memory=1024)

    return run_stack("prod", edit=edit)


def test_the_total_is_the_sum_of_the_lines(prod: Graph):
    est = cost.estimate(prod)
    assert est.lines and est.total > 0
    assert est.total == pytest.approx(sum(line.quantity * line.unit_price for line in est.lines))
    assert est.total == pytest.approx(sum(est.subtotal(r) for r in est.regions()))
    assert est.regions() == _regions(prod) == ["us-east-1", "us-east-2"]
    text = cost.render(est, cost.one_alb_per_service(prod, est), prod)
    assert f"total per month: ${est.total:,.2f}" in text
    for region in est.regions():
        assert f"${est.subtotal(region):,.2f}" in text


@pytest.mark.parametrize(("stack", "per_region"), [("prod", 2), ("dev", 1)])
def test_nat_gateways_are_priced_as_the_graph_declares_them(stack: str, per_region: int, request):
    graph: Graph = request.getfixturevalue(stack)
    est = cost.estimate(graph)
    for region in _regions(graph):
        nats = [r for r in graph.of_type("aws:ec2/natGateway:NatGateway") if r.region == region]
        assert len(nats) == per_region  # prod natStrategy perAz over 2 AZs, dev single
        hours = _line(est, region, "NAT gateway hours")
        assert hours.quantity == per_region * HOURS
        assert hours.monthly == pytest.approx(per_region * HOURS * prices.NAT_GATEWAY_HOUR)
        data = _line(est, region, "NAT data processed")
        assert data.quantity == per_region * cost.Assumptions().nat_gb


def test_fargate_hours_follow_cpu_memory_and_desired_count(prod: Graph, prod_bigger_users: Graph):
    before, after = cost.estimate(prod), cost.estimate(prod_bigger_users)
    users = [s for s in prod.of_type("aws:ecs/service:Service") if s.inputs["name"] == "users"]
    desired = users[0].inputs["desiredCount"]
    assert desired == 2 and len(users) == 2  # one per region
    for region in _regions(prod):
        assert _line(before, region, "Fargate vCPU · users (").quantity == 0.25 * desired * HOURS
        assert _line(after, region, "Fargate vCPU · users (").quantity == 0.5 * desired * HOURS
        assert _line(before, region, "Fargate memory · users (").quantity == 0.5 * desired * HOURS
        assert _line(after, region, "Fargate memory · users (").quantity == 1.0 * desired * HOURS
    # The staging copy (1 task, Spot) and users' linear releases (the new tasks beside the old for
    # 24 minutes, 60 times a month: test_progressive_releases_are_priced_from_the_graph) follow the
    # service's size; nothing else changes.
    per_hour = 0.25 * prices.FARGATE_VCPU_HOUR["X86_64"] + 0.5 * prices.FARGATE_GB_HOUR["X86_64"]
    spot = 1 - prices.FARGATE_SPOT_DISCOUNT
    release_hours = cost.Assumptions().pipeline_runs * 24 / 60
    expected = 2 * per_hour * (HOURS * (desired + 1 * spot) + release_hours * desired)
    assert after.total - before.total == pytest.approx(expected)


def test_staging_services_on_fargate_spot_cost_less_than_on_demand(prod: Graph):
    est = cost.estimate(prod)
    staging = [s for s in prod.of_type("aws:ecs/service:Service") if s.inputs["name"].endswith("-staging")]
    assert len(staging) == 8  # auth, pdf, users, fargate-demo in each region
    for svc in staging:
        assert svc.inputs["capacityProviderStrategies"][0]["capacityProvider"] == "FARGATE_SPOT"
        name, region = svc.inputs["name"], svc.region
        spot = _line(est, region, f"Fargate vCPU · {name} (")
        on_demand = _line(est, region, f"Fargate vCPU · {name.removesuffix('-staging')} (")
        assert "Spot" in spot.item and "Spot" not in on_demand.item
        assert spot.unit_price < on_demand.unit_price
        assert spot.unit_price == pytest.approx(on_demand.unit_price * (1 - prices.FARGATE_SPOT_DISCOUNT))


def test_flags_override_the_assumptions_and_change_the_figure(prod: Graph):
    default = cost.estimate(prod)
    args = cost.parser().parse_args(
        ["prod", "--nat-gb", "500", "--alb-lcu", "3", "--pipeline-runs", "10", "--build-minutes", "12",
         "--on-demand-hours", "100"]
    )
    assume = cost.assumptions_from(args)
    assert (assume.nat_gb, assume.alb_lcu, assume.pipeline_runs, assume.builds_per_project) == (500, 3, 10, 10)
    changed = cost.estimate(prod, assume)
    region = "us-east-1"
    assert _line(changed, region, "NAT data processed").quantity == 2 * 500
    assert _line(changed, region, "ALB LCUs").quantity == 3 * HOURS
    assert _line(changed, region, "CodePipeline V2").quantity == 10 * assume.pipeline_minutes
    assert _line(changed, region, "CodeBuild devops-platform-prod-build").quantity == 10 * 12
    assert _line(changed, region, "Fargate vCPU · fa on demand").quantity == 1.0 * 100
    assert _line(default, region, "Fargate vCPU · fa on demand").monthly == 0
    # NAT data alone: 2 regions × 2 NATs × 450 GB more.
    only_nat = cost.estimate(prod, cost.Assumptions(nat_gb=500))
    assert only_nat.total - default.total == pytest.approx(2 * 2 * 450 * prices.NAT_GATEWAY_GB)
    text = cost.render(changed, cost.one_alb_per_service(prod, changed), prod)
    assert "500 GB/month per NAT gateway" in text and "3 LCU per hour" in text


def test_one_alb_per_service_costs_n_minus_one_albs_more_per_region(prod: Graph):
    for lcu in (1.0, 4.0):
        est = cost.estimate(prod, cost.Assumptions(alb_lcu=lcu))
        comparison = cost.one_alb_per_service(prod, est)
        expected = 0.0
        for region in _regions(prod):
            groups = [
                tg for tg in prod.of_type("aws:lb/targetGroup:TargetGroup")
                if tg.region == region and (tg.inputs["targetType"] == "ip" or tg.name == f"{region}-go-demo-tg")
                and "-stg-" not in tg.inputs["name"] and "-alt-" not in tg.inputs["name"]
            ]
            # auth, pdf, fa, users, batch, fargate-demo, and go-demo on Lambda; not staging, not the
            # lambda-demo function, not the second groups of progressive deployments.
            assert len(groups) == 7
            row = comparison["regions"][region]
            assert (row["services"], row["extra_albs"]) == (7, 6)
            one_alb = HOURS * (prices.ALB_HOUR + lcu * prices.ALB_LCU_HOUR)
            assert row["extra_monthly"] == pytest.approx(6 * one_alb)
            expected += 6 * one_alb
        assert comparison["shared_total"] == pytest.approx(est.total)
        assert comparison["per_service_total"] - comparison["shared_total"] == pytest.approx(expected)
        assert comparison["saving"] == pytest.approx(expected)


def test_route53_health_checks_are_aws_endpoint_https_fast(prod: Graph, dev: Graph):
    est = cost.estimate(prod)
    for region in _regions(prod):
        checks = [line for line in est.find(region, "Route 53 health check")]
        assert sum(line.monthly for line in checks) == pytest.approx(0.50 + 1.00 + 1.00)
        assert "(aws endpoint)" in checks[0].item
    assert not [line for line in cost.estimate(dev).lines if line.item.startswith("Route 53")]


def test_json_output_parses_and_matches(prod: Graph, monkeypatch, tmp_path):
    monkeypatch.setattr(cost, "synthesize", lambda *_a, **_k: (None, prod))
    path = tmp_path / "out" / "cost.json"
    out, err = io.StringIO(), io.StringIO()
    assert cost.main(["prod", "--json", str(path), "--alb-lcu", "2"], out=out, err=err) == 0, err.getvalue()
    data = json.loads(path.read_text())
    est = cost.estimate(prod, cost.Assumptions(alb_lcu=2))
    assert data["total"] == pytest.approx(est.total)
    assert data["assumptions"]["alb_lcu"] == 2
    assert set(data["regions"]) == {"us-east-1", "us-east-2"}
    for body in data["regions"].values():
        assert body["subtotal"] == pytest.approx(sum(line["monthly"] for line in body["lines"]))
    assert data["one_alb_per_service"]["saving"] > 0
    assert prices.AS_OF in data["prices"]["statement"]
    assert f"total per month: ${est.total:,.2f}" in out.getvalue()
    assert data["break_even"] == cost.break_even(prod, cost.Assumptions(alb_lcu=2))
    assert {r["service"] for r in data["break_even"]} == {"go-demo", "auth", "pdf", "users", "fargate-demo"}


def test_unknown_stack_exits_2():
    out, err = io.StringIO(), io.StringIO()
    assert cost.main(["no-such-stack"], out=out, err=err) == 2
    assert "no Pulumi.no-such-stack.yaml" in err.getvalue() and "prod" in err.getvalue()
    assert out.getvalue() == ""


def test_negative_assumption_exits_2():
    err = io.StringIO()
    assert cost.main(["prod", "--nat-gb", "-1"], out=io.StringIO(), err=err) == 2
    assert "--nat-gb" in err.getvalue()


def test_interface_endpoints_and_arm64_tasks_are_priced_from_the_graph():
    """Paths prod does not exercise: interface endpoints per AZ, and ARM64 Fargate prices."""

    def edit(ns: dict[str, Any]) -> None:
        ns["network"]["interfaceEndpoints"] = ["ecr.api", "logs"]
        for svc in ns["services"]:
            svc["architecture"] = "ARM64"
        ns["pipeline"]["staging"]["spot"] = False  # Fargate Spot takes X86_64 only

    graph = run_stack("prod", edit=edit)
    est = cost.estimate(graph)
    for region in _regions(graph):
        (endpoints,) = est.find(region, "interface VPC endpoints")
        # Two endpoints, each in the region's two private subnets.
        assert endpoints.quantity == 2 * 2 * cost.HOURS
        assert endpoints.unit_price == pytest.approx(prices.INTERFACE_ENDPOINT_AZ_HOUR)
        fargate = [line for line in est.find(region, "Fargate vCPU") if "ARM64" in line.item]
        assert fargate and all(line.unit_price == pytest.approx(prices.FARGATE_VCPU_HOUR["ARM64"]) for line in fargate)
        assert not [line for line in est.find(region, "Fargate vCPU") if "x86" in line.item]


def test_progressive_releases_are_priced_from_the_graph(prod: Graph, dev: Graph):
    est = cost.estimate(prod, cost.Assumptions(pipeline_runs=60))
    for region in _regions(prod):
        # Per release, the old and new tasks run side by side for the bake times and ~5 min to
        # start: auth's canary 5 + 10 + 5, users' linear (25 % steps: 3 bakes of 3) 9 + 10 + 5,
        # pdf's blue/green 10 + 5. Two tasks each; auth and users 0.25 vCPU, pdf 0.5.
        for service, minutes, vcpu in (("auth", 20, 0.25), ("users", 24, 0.25), ("pdf", 15, 0.5)):
            (line,) = est.find(region, f"Fargate vCPU · {service} releases")
            assert line.quantity == pytest.approx(60 * minutes / 60 * 2 * vcpu), service
        assert not est.find(region, "fargate-demo releases")  # rolling: no second set
        (groups,) = est.find(region, "second target groups")
        assert (groups.quantity, groups.monthly) == (3, 0.0)
        (calls,) = est.find(region, "smoke-test calls")
        assert calls.quantity == 60 * 3
        (gate,) = est.find(region, "CloudWatch composite alarms")
        assert gate.monthly == pytest.approx(0.50)
    dev_est = cost.estimate(dev)
    assert not [line for line in dev_est.lines if "releases" in line.item or "second target" in line.item]


# --- services on Lambda ----------------------------------------------------------------------------


def test_dev_on_lambda_costs_at_most_035_of_prod_with_the_default_assumptions(prod: Graph, dev: Graph):
    dev_total, prod_total = cost.estimate(dev).total, cost.estimate(prod).total
    assert dev_total <= 0.35 * prod_total, (dev_total, prod_total)


def test_services_on_lambda_are_priced_by_requests_and_gb_seconds(dev: Graph, prod: Graph):
    assume = cost.Assumptions(lambda_requests=2_000_000, lambda_duration_ms=100)
    est = cost.estimate(dev, assume)
    for region in _regions(dev):
        requests = _line(est, region, "Lambda requests · pdf ")
        duration = _line(est, region, "Lambda duration · pdf ")
        assert (requests.quantity, requests.unit_price) == (2_000_000, prices.LAMBDA_REQUEST)
        # pdf has lambda.memoryMb 1024: 2M × 0.1 s × 1 GB.
        assert duration.quantity == pytest.approx(200_000) and duration.unit_price == prices.LAMBDA_GB_SECOND
        assert _line(est, region, "Lambda duration · auth ").quantity == pytest.approx(100_000)  # 512 MB
        # No ECS task runs for them, and the functions are not also listed as usage-based.
        assert not est.find(region, "Fargate vCPU · auth")
        usage = _line(est, region, "Lambda functions (requests, GB-seconds)")
        plain = [r for r in dev.of_type("aws:lambda/function:Function") if r.region == region]
        assert usage.quantity == len(plain) - len(cost.lambda_services(dev, region))
    # A staging copy on Lambda takes a few review requests: not priced.
    prod_est = cost.estimate(prod, assume)
    assert [line.item for line in prod_est.lines if "go-demo-staging" in line.item] == []
    assert _line(prod_est, "us-east-1", "Lambda requests · go-demo ").quantity == 2_000_000


def test_the_break_even_is_where_lambda_and_fargate_cost_the_same(prod: Graph):
    assume = cost.Assumptions()
    rows = {r["service"]: r for r in cost.break_even(prod, assume)}
    assert {n: r["compute"] for n, r in rows.items()} == {
        "go-demo": "lambda", "auth": "fargate", "pdf": "fargate", "users": "fargate", "fargate-demo": "fargate"
    }  # fmt: skip
    for row in rows.values():
        per_request = cost.lambda_request_cost(row["lambda_memory_mb"], "X86_64", assume)
        at = row["break_even_requests"]
        assert per_request * at <= row["fargate_monthly"] < per_request * (at + 2)
        # Below it Lambda costs less; well above it, Fargate's always-on tasks do.
        assert per_request * at * 0.9 < row["fargate_monthly"] < per_request * at * 1.1
    # go-demo (512 MB on Lambda) against 2 tasks of 0.25 vCPU / 0.5 GB: the seed's comparison.
    go = rows["go-demo"]
    assert (go["fargate_tasks"], go["fargate_vcpu"], go["fargate_gb"]) == (2, 0.25, 0.5)
    assert go["fargate_monthly"] == pytest.approx(2 * HOURS * (0.25 * 0.04048 + 0.5 * 0.004445), rel=1e-6)
    # pdf on Fargate runs 2 × 0.5 vCPU / 1 GB; on Lambda it would take 1024 MB.
    assert rows["pdf"]["lambda_memory_mb"] == 1024 and rows["pdf"]["fargate_vcpu"] == 0.5
    # A longer request lowers the break-even.
    slower = {r["service"]: r for r in cost.break_even(prod, cost.Assumptions(lambda_duration_ms=400))}
    assert slower["go-demo"]["break_even_requests"] < go["break_even_requests"]


def test_the_cost_command_prints_the_break_even_and_takes_the_lambda_flags(capsys):
    assert cost.main(["dev", "--lambda-requests", "1000000", "--lambda-duration-ms", "50"]) == 0
    out = capsys.readouterr().out
    assert "services on Lambda: 1,000,000 requests/month each per region × 50 ms" in out
    assert "Lambda requests · auth (1,000,000 requests, assumed)" in out
    assert "Lambda or Fargate, per service" in out and "Fargate is cheaper above" in out
    assert cost.main(["dev", "--lambda-requests", "-1"]) == 2
