"""The first-deploy estimate (ops/timeline.py): the scheduler on small DAGs, the DAG built from a
graph as the SDK sends it, the create-time table's coverage, the real stacks' estimates, the
orderings the first deploy needs, the page and chart the command writes, and its command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest

from components.network import Network, NetworkArgs
from ops import create_times, driver, timeline
from ops.__main__ import main
from ops.harness import Graph, Registration
from ops.timeline import Task, simulate

ROOT = Path(__file__).resolve().parent.parent
REGENERATE = "stale: rewrite it with `.venv/bin/python -m ops timeline {stack}` (docs/timeline.md, and the README for prod)"
PROSE_STALE = "docs/timeline.md's text is not ops/timeline.py's TEMPLATE: delete the page, then run `ops timeline prod` and `ops timeline dev`"

SERVICE = "aws:ecs/service:Service"
ROUTE = "aws:ec2/route:Route"
RTA = "aws:ec2/routeTableAssociation:RouteTableAssociation"
ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
LISTENER = "aws:lb/listener:Listener"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
PROVISIONED = "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"

# Types known to take minutes, or tens of seconds, to create: each needs an entry of its own.
SLOW = {
    "aws:ec2/natGateway:NatGateway",
    "aws:lb/loadBalancer:LoadBalancer",
    VALIDATION,
    "aws:route53/record:Record",
    PROVISIONED,
    "aws:lambda/function:Function",
    ENDPOINT,
    "aws:sqs/queue:Queue",
    "aws:sqs/queuePolicy:QueuePolicy",
    "aws:kms/key:Key",
}
# The prod and dev types that take the default: one API call, no waiter. A new type in the graphs
# fails the coverage test until it is added here (reviewed: no waiter) or to the table.
DEFAULTED = {
    "aws:appautoscaling/policy:Policy",
    "aws:appautoscaling/target:Target",
    "aws:cloudwatch/compositeAlarm:CompositeAlarm",
    "aws:cloudwatch/dashboard:Dashboard",
    "aws:cloudwatch/eventRule:EventRule",
    "aws:cloudwatch/eventTarget:EventTarget",
    "aws:cloudwatch/logGroup:LogGroup",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:codecommit/repository:Repository",
    "aws:codedeploy/application:Application",
    "aws:codedeploy/deploymentConfig:DeploymentConfig",
    "aws:ec2/eip:Eip",
    "aws:ec2/routeTableAssociation:RouteTableAssociation",
    "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    "aws:ecr/pullThroughCacheRule:PullThroughCacheRule",
    "aws:ecr/repositoryCreationTemplate:RepositoryCreationTemplate",
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:iam/role:Role",
    "aws:iam/rolePolicy:RolePolicy",
    "aws:kms/alias:Alias",
    "aws:lambda/alias:Alias",
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
    "aws:lambda/permission:Permission",
    "aws:lb/listenerRule:ListenerRule",
    "aws:lb/targetGroup:TargetGroup",
    "aws:route53/healthCheck:HealthCheck",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:sns/topicSubscription:TopicSubscription",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
}


def tasks(*specs: tuple[str, float, tuple[str, ...]]) -> dict[str, Task]:
    """Hand-made tasks: (name, seconds, what it waits for), the name as its URN."""
    return {name: Task(urn=name, name=name, type="test:t", region="r", seconds=s, waits_for=w) for name, s, w in specs}


def running_at(schedule: timeline.Schedule, t: float) -> int:
    return sum(1 for s in schedule.steps.values() if s.start <= t < s.end)


# --- the scheduler -----------------------------------------------------------------------------


def test_the_parallel_limit_holds_and_sets_the_wall_time():
    five = tasks(*[(f"t{i}", 10, ()) for i in range(5)])
    schedule = simulate(five, 2)
    assert schedule.wall == 30  # 2 + 2 + 1, ten seconds each
    assert max(running_at(schedule, s.start) for s in schedule.steps.values()) == 2
    assert simulate(five, 5).wall == 10


def test_a_task_starts_when_the_last_thing_it_waits_for_ends_and_the_path_follows_it():
    dag = tasks(("a", 10, ()), ("b", 5, ("a",)), ("c", 20, ("a",)), ("d", 1, ("b", "c")), ("e", 3, ()))
    schedule = simulate(dag, 10)
    assert schedule.steps["d"].start == 30
    assert schedule.wall == 31
    assert [p.step.task.name for p in schedule.critical_path()] == ["a", "c", "d"]
    assert all(p.slot_wait == 0 for p in schedule.critical_path())


def test_waiting_for_a_slot_shows_on_the_critical_path():
    # One slot: the 50 s task (ready first, named first) holds it while b waits.
    dag = tasks(("a", 50, ()), ("b", 5, ()), ("c", 1, ("b",)))
    schedule = simulate(dag, 1)
    assert schedule.wall == 56
    path = schedule.critical_path()
    assert [p.step.task.name for p in path] == ["b", "c"]
    assert path[0].slot_wait == 50


def test_ready_tasks_start_in_the_order_they_became_ready_whatever_their_names():
    # One slot. c is ready from the start, b only once a ends: c goes first although b sorts first.
    dag = tasks(("a", 1, ()), ("b", 10, ("a",)), ("c", 5, ()))
    schedule = simulate(dag, 1)
    assert [schedule.steps[n].start for n in "acb"] == [0, 1, 6]


def test_a_cycle_and_a_parallel_below_one_are_refused():
    with pytest.raises(ValueError, match="cycle"):
        simulate(tasks(("a", 1, ("b",)), ("b", 1, ("a",))), 4)
    with pytest.raises(ValueError, match="allowed: 1 or more"):
        simulate(tasks(("a", 1, ())), 0)


# --- the DAG from a graph ----------------------------------------------------------------------


def test_a_dependency_on_a_component_waits_for_its_children(run_component: Callable[..., Graph]):
    """The SDK sends a depends_on on a component as its custom descendants; the timeline waits for
    the slowest of them."""

    class Pair(pulumi.ComponentResource):
        def __init__(self, name: str, opts: pulumi.ResourceOptions) -> None:
            super().__init__("test:index:Pair", name, None, opts)
            aws.sqs.Queue(f"{name}-queue", opts=pulumi.ResourceOptions(parent=self))
            aws.iam.Role(f"{name}-role", assume_role_policy="{}", opts=pulumi.ResourceOptions(parent=self))
            self.register_outputs({})

    def build(provider: aws.Provider) -> None:
        pair = Pair("pair", pulumi.ResourceOptions(provider=provider))
        aws.sns.Topic("after", opts=pulumi.ResourceOptions(provider=provider, depends_on=[pair]))

    graph = run_component(build)
    queue, role, topic = graph.named("pair-queue"), graph.named("pair-role"), graph.named("after")
    assert {queue.urn, role.urn} <= set(topic.dependencies)
    assert graph.named("pair").urn not in topic.dependencies
    schedule = timeline.estimate(graph)
    assert schedule.steps[topic.urn].start == schedule.steps[queue.urn].end == 30  # the queue, the slower child


def _registration(urn: str, *, custom: bool = True, parent: str | None = None, deps: tuple[str, ...] = (), provider: str | None = None) -> Registration:
    return Registration(
        urn=urn, id=None, type="aws:sqs/queue:Queue" if custom else "test:index:Component", name=urn,
        parent=parent, custom=custom, provider=provider, inputs={}, region="r", dependencies=deps,
    )  # fmt: skip


def test_the_dag_expands_components_and_adds_the_provider_and_a_custom_parent():
    graph = Graph(
        project="p",
        stack="s",
        preview=False,
        resources=[
            _registration("provider"),
            _registration("component", custom=False),
            _registration("child", parent="component", provider="provider::id-1"),
            _registration("grandchild", parent="child"),  # a custom resource's child: not a component's
            _registration("after", deps=("component",)),
        ],
        outputs={},
    )
    built = timeline.tasks_of(graph)
    assert built["after"].waits_for == ("child",)
    assert built["child"].waits_for == ("provider",)
    assert built["grandchild"].waits_for == ("child",)
    assert "component" not in built


# --- the create times --------------------------------------------------------------------------


def test_every_type_in_prod_and_dev_is_listed_or_knowingly_defaulted(prod: Graph, dev: Graph):
    types = {r.type for g in (prod, dev) for r in g.custom()}
    defaulted = {t for t in types if not create_times.listed(t)}
    assert defaulted == DEFAULTED, f"new: {sorted(defaulted - DEFAULTED)}; gone: {sorted(DEFAULTED - defaulted)}"
    assert not SLOW & DEFAULTED
    for t in SLOW:
        assert create_times.listed(t), t
        assert create_times.create_time(t, {}).seconds >= 10, t


def test_every_entry_says_what_it_waits_for_and_where_the_figure_comes_from():
    for key, entry in create_times.TABLE.items():
        assert entry.waits_for and entry.source, key
        assert "provider:" in entry.source or "assumption" in entry.source or "AWS:" in entry.source, key


def test_inputs_choose_the_variant():
    in_vpc = {"vpcConfig": {"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]}}
    fn = "aws:lambda/function:Function"
    assert create_times.create_time(fn, in_vpc).seconds > create_times.create_time(fn, {}).seconds
    assert create_times.entry_key(ENDPOINT, {"vpcEndpointType": "Interface"}) == f"{ENDPOINT} (Interface)"
    assert create_times.create_time(ENDPOINT, {"vpcEndpointType": "Interface"}).seconds > create_times.create_time(
        ENDPOINT, {"vpcEndpointType": "Gateway"}
    ).seconds
    assert create_times.create_time("aws:iam/role:Role", {}) is create_times.DEFAULT


# --- the real stacks ---------------------------------------------------------------------------


@pytest.mark.parametrize("graph_name", ["prod", "dev"])
def test_the_stacks_estimates_come_from_their_graphs(graph_name: str, request: pytest.FixtureRequest):
    graph: Graph = request.getfixturevalue(graph_name)
    built = timeline.tasks_of(graph)
    assert set(built) == {r.urn for r in graph.custom()}
    schedule = simulate(built, timeline.DEFAULT_PARALLEL)
    busy = sum(t.seconds for t in built.values())
    unbounded = simulate(built, len(built))
    # No run beats its summed create time spread over every slot, nor its critical path.
    assert schedule.wall >= busy / timeline.DEFAULT_PARALLEL
    assert schedule.wall >= unbounded.wall
    path = unbounded.critical_path()
    assert path[-1].step.end == unbounded.wall
    assert sum(p.step.task.seconds for p in path) == unbounded.wall  # no slot waits without a limit
    for step in schedule.steps.values():
        assert all(schedule.steps[u].end <= step.start for u in step.task.waits_for)
    # Both stacks wait for an ACM certificate or an ALB: minutes, not seconds.
    assert unbounded.wall > create_times.TABLE["aws:lb/loadBalancer:LoadBalancer"].seconds


def test_prod_waits_on_its_certificate_validation(prod: Graph):
    path = timeline.estimate(prod, 10_000).critical_path()
    assert VALIDATION in {p.step.task.type for p in path}


# --- orderings the first deploy needs (and the waits it need not have) ---------------------------


def _egress(graph: Graph, region: str) -> set[str]:
    """The region's private routes to a NAT gateway, private route-table associations and endpoints."""
    return {
        r.urn
        for r in graph.custom()
        if r.region == region
        and (
            (r.type == ROUTE and r.inputs.get("natGatewayId"))
            or (r.type == RTA and "-private-rta-" in r.name)
            or r.type == ENDPOINT
        )
    }


@pytest.mark.parametrize("graph_name", ["prod"])  # dev runs its services on Lambda: no ECS service
def test_services_start_no_task_before_their_subnets_route_to_the_nat(graph_name: str, request: pytest.FixtureRequest):
    """An ECS service starts tasks when it is created; they pull their image through the NAT
    gateway, so the service waits for the routes, the associations and the endpoints."""
    graph: Graph = request.getfixturevalue(graph_name)
    services = graph.of_type(SERVICE)
    assert len(services) >= 8
    for service in services:
        egress = _egress(graph, service.region)
        assert any(graph.by_urn()[u].type == ROUTE for u in egress)
        assert egress <= set(service.dependencies), service.name
        assert egress <= set(service.depends_on), service.name
    schedule = timeline.estimate(graph)
    for service in services:
        assert schedule.steps[service.urn].start >= max(schedule.steps[u].end for u in _egress(graph, service.region))


def test_provisioned_concurrency_in_a_vpc_waits_for_egress(prod: Graph):
    """Allocating provisioned concurrency runs the function's initialization in its subnets."""
    functions = {r.urn: r for r in prod.of_type("aws:lambda/function:Function")}
    in_vpc = [
        c for c in prod.of_type(PROVISIONED)
        if any(functions[u].inputs.get("vpcConfig") for u in c.dependencies if u in functions)
    ]  # fmt: skip
    assert in_vpc  # prod's lambda-demo
    for config in in_vpc:
        assert _egress(prod, config.region) <= set(config.dependencies), config.name


def test_without_a_nat_workloads_wait_for_the_endpoints_and_associations(run_component: Callable[..., Graph]):
    built: list[Network] = []

    def build(provider: aws.Provider) -> None:
        args = NetworkArgs(
            name_prefix="p", vpc_cidr="10.0.0.0/16", public_subnet_cidrs=["10.0.0.0/24", "10.0.1.0/24"],
            private_subnet_cidrs=["10.0.2.0/24", "10.0.3.0/24"], nat_strategy="none", interface_endpoints=["ecr.api"],
        )  # fmt: skip
        built.append(Network("net", args, pulumi.ResourceOptions(provider=provider)))

    graph = run_component(build)
    (network,) = built
    expected = {r.urn for r in graph.custom() if r.type == ENDPOINT or (r.type == RTA and "-private-rta-" in r.name)}
    assert len(expected) == 4  # 2 associations, the S3 gateway endpoint, ecr.api
    names = {r.urn for r in graph.custom() if r.name in {res._name for res in network.private_egress}}  # type: ignore[attr-defined]
    assert names == expected


@pytest.mark.parametrize("region", ["us-east-1", "us-east-2"])
def test_every_https_listener_waits_for_the_issued_certificate_and_not_for_each_other(prod: Graph, region: str):
    validation = prod.named(f"{region}-traffic-certificate-validation").urn
    https = prod.named(f"{region}-traffic-https").urn
    for name in ("https", "staging", "test"):
        listener = prod.named(f"{region}-traffic-{name}")
        assert listener.inputs["protocol"] == "HTTPS"
        assert validation in listener.dependencies, name
        if name != "https":
            assert https not in listener.dependencies, name


# --- the page, the README's chart, the command line ----------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "dev"])
def test_the_page_holds_what_the_command_writes(stack: str, request: pytest.FixtureRequest):
    graph: Graph = request.getfixturevalue(stack)
    built = timeline.tasks_of(graph)
    page = (ROOT / "docs" / "timeline.md").read_text()
    expected = timeline.stack_block(stack, built, simulate(built, timeline.DEFAULT_PARALLEL))
    assert timeline.block(page, stack) == expected, REGENERATE.format(stack=stack)
    assert timeline.block(page, timeline.TABLE_KEY) == timeline.table_block(), REGENERATE.format(stack=stack)


def test_the_pages_text_around_the_figures_is_the_templates():
    """Only the marked blocks are rewritten by the command: the prose around them must not drift."""
    page = (ROOT / "docs" / "timeline.md").read_text()
    keys = ("prod", "dev", timeline.TABLE_KEY)
    emptied = page
    for key in keys:
        emptied = timeline.replace_block(emptied, key, "")
    rendered = timeline.TEMPLATE.format(**{"table" if k == timeline.TABLE_KEY else k: timeline.marked(k, "") for k in keys})
    assert emptied == rendered, PROSE_STALE


def test_another_parallelism_leaves_the_committed_pages_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    page, readme = tmp_path / "timeline.md", tmp_path / "README.md"
    page.write_text("the committed page\n")
    readme.write_text("the committed readme\n")
    from unittest import mock

    with mock.patch.object(timeline, "DOCUMENT", page), mock.patch.object(timeline, "README", readme):
        assert main(["timeline", "prod", "--parallel", "8"]) == 0
    assert page.read_text() == "the committed page\n" and readme.read_text() == "the committed readme\n"
    out = capsys.readouterr().out
    assert "simulated with --parallel 8" in out
    assert "left as it is: it shows --parallel 16; --output PATH writes this run's chart" in out


def test_the_readme_shows_prods_chart(prod: Graph):
    readme = (ROOT / "README.md").read_text()
    chart = timeline.gantt("prod", timeline.estimate(prod))
    assert timeline.block(readme, timeline.README_KEY) == f"```mermaid\n{chart}```\n", REGENERATE.format(stack="prod")


def test_the_chart_has_at_most_twenty_bars_and_marks_the_critical_path(prod: Graph, dev: Graph):
    for stack, graph in (("prod", prod), ("dev", dev)):
        chart = timeline.gantt(stack, timeline.estimate(graph)).splitlines()
        assert chart[:4] == [
            "gantt",
            chart[1],
            "    dateFormat X",
            "    axisFormat %M:%S",
        ]
        bars = [line for line in chart[4:] if not line.strip().startswith("section ")]
        assert 0 < len(bars) <= 20
        assert any(":crit, " in bar for bar in bars)
        for bar in bars:
            label, _, data = bar.strip().rpartition(" :")
            start, end = (int(x) for x in data.removeprefix("crit, ").split(", "))
            assert 0 <= start < end and ":" not in label and "#" not in label


@pytest.fixture
def fake_synth(monkeypatch: pytest.MonkeyPatch, prod: Graph, dev: Graph) -> list[str]:
    """``synthesize`` answering from the session graphs; records the stacks asked for."""
    asked: list[str] = []
    real = timeline.synthesize

    def synthesize(stack: str, err, **_: object):
        asked.append(stack)
        return (None, {"prod": prod, "dev": dev}[stack]) if stack in ("prod", "dev") else real(stack, err)

    monkeypatch.setattr(timeline, "synthesize", synthesize)
    return asked


def test_the_stack_positional_or_flag_and_unchanged_the_second_time(fake_synth: list[str], tmp_path: Path, capsys):
    page = tmp_path / "timeline.md"
    assert main(["timeline", "dev", "--output", str(page)]) == 0
    first = capsys.readouterr().out
    assert "dev: a first `pulumi up` takes about " in first and "dev timeline updated" in first
    written = page.read_text()
    assert timeline.block(written, "dev") and "not computed yet" in timeline.block(written, "prod")
    assert main(["timeline", "--stack", "dev", "--output", str(page)]) == 0
    assert "dev timeline unchanged" in capsys.readouterr().out
    assert page.read_text() == written
    assert fake_synth == ["dev", "dev"]


def test_parallel_changes_the_estimate(fake_synth: list[str], tmp_path: Path, capsys):
    assert main(["timeline", "prod", "--parallel", "2", "--output", str(tmp_path / "a.md")]) == 0
    slow = capsys.readouterr().out
    assert "simulated with --parallel 2" in slow
    assert main(["timeline", "prod", "--parallel", "64", "--output", str(tmp_path / "b.md")]) == 0
    fast = capsys.readouterr().out
    wall = [line.split("about ")[1].split(" (")[0] for line in (slow, fast)]
    assert wall[0] != wall[1]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["timeline", "nosuch"], "no Pulumi.nosuch.yaml"),
        (["timeline", "prod", "--stack", "dev"], "two stacks given"),
        (["timeline"], "no stack given"),
    ],
)
def test_bad_stacks_exit_2_with_one_line(argv: list[str], says: str, fake_synth: list[str], capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("value", ["0", "-3", "many"])
def test_a_parallel_below_one_exits_2(value: str, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["timeline", "prod", "--parallel", value])
    assert exit_.value.code == 2
    assert f"got {value!r}; allowed: a whole number, 1 or more" in capsys.readouterr().err


def test_the_page_is_created_when_missing_and_keeps_other_stacks(tmp_path: Path, dev: Graph, prod: Graph):
    page = tmp_path / "docs" / "timeline.md"
    dev_tasks, prod_tasks = timeline.tasks_of(dev), timeline.tasks_of(prod)
    assert timeline.write_document(page, "dev", timeline.stack_block("dev", dev_tasks, simulate(dev_tasks, 8)))
    block = timeline.stack_block("prod", prod_tasks, simulate(prod_tasks, 8))
    assert timeline.write_document(page, "prod", block)
    assert not timeline.write_document(page, "prod", block)
    text = page.read_text()
    assert timeline.block(text, "prod") == block
    assert timeline.block(text, "dev") == timeline.stack_block("dev", dev_tasks, simulate(dev_tasks, 8))


def test_alternatives_and_durations_read_as_documented():
    dag = tasks(*[(f"t{i}", 10, ()) for i in range(32)])
    labels = [a.label() for a in timeline.alternatives(dag, 16)]
    assert labels == ["pulumi up alone on a 2-CPU runner (--parallel 8)", "no limit (the critical path alone)"]
    assert [a.wall for a in timeline.alternatives(dag, 16)] == [40, 10]
    assert [a.parallel for a in timeline.alternatives(dag, 8)] == [None]
    # The estimate runs at what the driver passes, not at the CPUs of the machine that computes it.
    assert timeline.DEFAULT_PARALLEL == driver.DEFAULT_PARALLEL == 16
    assert (timeline.duration(45), timeline.duration(600), timeline.duration(605)) == ("45 s", "10 min", "10 min 5 s")
    assert timeline.clock(605) == "10:05"
