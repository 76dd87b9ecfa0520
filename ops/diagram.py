"""A Mermaid flowchart of a synthesized graph: ``mermaid(graph) -> str``.

Everything comes from what the program declared (resource inputs, the dependencies the engine
saw, the component tree) plus the stack's ``regions.<r>.role`` export. Labels use logical and
config names only, never IDs, ARNs or random physical-name suffixes, so the text is the same
for every synth of the same config (``python -m ops synth <stack> --diagram PATH``).

By default only the primary region is drawn in detail; every other region is one box with its
role, what it shares with the primary and what it receives from it (replication, failover), so
the diagram stays readable in a documentation column. ``mermaid(graph, all_regions=True)``
(``python -m ops.diagram --all-regions --output PATH``) draws every region in detail.

One node per thing a reader reasons about: a service, a function, a pipeline stage, the subnets
of a tier, the NAT gateways of a region, all alarms of a region. Not one node per resource.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from .harness import Graph, Registration

T_VPC = "aws:ec2/vpc:Vpc"
T_SUBNET = "aws:ec2/subnet:Subnet"
T_NAT = "aws:ec2/natGateway:NatGateway"
T_IGW = "aws:ec2/internetGateway:InternetGateway"
T_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint"
T_FLOWLOG = "aws:ec2/flowLog:FlowLog"
T_ALB = "aws:lb/loadBalancer:LoadBalancer"
T_LISTENER = "aws:lb/listener:Listener"
T_RULE = "aws:lb/listenerRule:ListenerRule"
T_TG = "aws:lb/targetGroup:TargetGroup"
T_TG_ATTACH = "aws:lb/targetGroupAttachment:TargetGroupAttachment"
T_CLUSTER = "aws:ecs/cluster:Cluster"
T_SERVICE = "aws:ecs/service:Service"
T_TASKDEF = "aws:ecs/taskDefinition:TaskDefinition"
T_FUNCTION = "aws:lambda/function:Function"
T_ECR = "aws:ecr/repository:Repository"
T_REPO = "aws:codecommit/repository:Repository"
T_PIPELINE = "aws:codepipeline/pipeline:Pipeline"
T_EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
T_EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
T_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
T_COMPOSITE_ALARM = "aws:cloudwatch/compositeAlarm:CompositeAlarm"
T_DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
T_TOPIC = "aws:sns/topic:Topic"
T_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
T_RECORD = "aws:route53/record:Record"
T_HEALTH = "aws:route53/healthCheck:HealthCheck"

# Components are matched by their last type segment (``devops-platform:<module>:<Name>``).
C_FARGATE = "FargateService"
C_LAMBDA_SERVICE = "LambdaService"
C_ALB_FUNCTION = "AlbFunction"
T_CODEDEPLOY_CONFIG = "aws:codedeploy/deploymentConfig:DeploymentConfig"


def _kind(r: Registration) -> str:
    return r.type.rsplit(":", 1)[-1]


def node_id(*parts: str) -> str:
    """A Mermaid id (``[A-Za-z0-9_]+``) from logical parts; stable because the parts are."""
    return re.sub(r"[^A-Za-z0-9]+", "_", "_".join(parts)).strip("_")


def text(value: object) -> str:
    """A label's text, safe inside Mermaid's double quotes."""
    return str(value).replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def lines(*parts: str) -> str:
    return "<br/>".join(text(p) for p in parts if p)


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@dataclass
class _Out:
    """Nodes go where they are declared (inside their subgraphs); edges are kept and written
    after every node exists, at the top level, so an edge never moves a node into another
    subgraph and an edge to something not drawn is dropped rather than invented."""

    body: list[str] = field(default_factory=list)
    nodes: set[str] = field(default_factory=set)
    subgraphs: set[str] = field(default_factory=set)
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)
    indent: int = 1
    extra: dict[str, list[str]] = field(default_factory=dict)  # node id -> lines added to its label later

    def node(self, id_: str, label: str, shape: str = "[]") -> str:
        self.nodes.add(id_)
        self.body.append("  " * self.indent + f'{id_}{shape[: len(shape) // 2]}"{label}\0{id_}\0"{shape[len(shape) // 2 :]}')
        return id_

    def annotate(self, id_: str, line: str) -> None:
        """Add a line to the label of a node declared earlier (e.g. the paths the ALB routes to it)."""
        self.extra.setdefault(id_, []).append(line)

    def render_body(self) -> list[str]:
        return [
            re.sub("\0([^\0]*)\0", lambda m: "".join("<br/>" + lines(x) for x in self.extra.get(m.group(1), [])), line)
            for line in self.body
        ]

    def edge(self, a: str, b: str, label: str = "", arrow: str = "-->") -> None:
        if (a, b, label, arrow) not in self.edges:
            self.edges.append((a, b, label, arrow))

    def render_edges(self) -> list[str]:
        drawn = self.nodes | self.subgraphs
        return [
            f'  {a} {arrow}|"{text(label)}"| {b}' if label else f"  {a} {arrow} {b}"
            for a, b, label, arrow in self.edges
            if a in drawn and b in drawn
        ]

    def open(self, id_: str, label: str, direction: str | None = None) -> None:
        self.subgraphs.add(id_)
        self.body.append("  " * self.indent + f'subgraph {id_}["{label}"]')
        self.indent += 1
        if direction:
            self.body.append("  " * self.indent + f"direction {direction}")

    def close(self) -> None:
        self.indent -= 1
        self.body.append("  " * self.indent + "end")


class _Index:
    """Lookups over one graph: by URN, children of a component, a resource's owning component."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.by_urn = graph.by_urn()

    def deps(self, r: Registration, type_: str | None = None) -> list[Registration]:
        found = [self.by_urn[d] for d in r.dependencies if d in self.by_urn]
        return sorted((d for d in found if type_ is None or d.type == type_), key=lambda d: d.name)

    def owner(self, r: Registration, kind: str) -> Registration | None:
        """The nearest enclosing component of ``kind`` (its type's last segment)."""
        parent = r.parent
        while parent is not None and parent in self.by_urn:
            p = self.by_urn[parent]
            if _kind(p) == kind:
                return p
            parent = p.parent
        return None

    def within(self, component: Registration, type_: str) -> list[Registration]:
        return sorted(
            (r for r in self.graph.resources if r.type == type_ and self._below(r, component.urn)),
            key=lambda r: r.name,
        )

    def _below(self, r: Registration, ancestor: str) -> bool:
        parent = r.parent
        while parent is not None:
            if parent == ancestor:
                return True
            parent = self.by_urn[parent].parent if parent in self.by_urn else None
        return False

    def in_region(self, region: str, type_: str) -> list[Registration]:
        return sorted((r for r in self.graph.resources if r.type == type_ and r.region == region), key=lambda r: r.name)


def _topic_id(ix: _Index, topic: Registration, rid: str) -> str:
    """The region's notifications topic is ``<region>_topic``; any other topic is named."""
    if ix.owner(topic, "Notifications") is not None:
        return node_id(rid, "topic")
    return node_id(rid, "topic", _short(topic.name, topic.region or ""))


def _short(name: str, region: str) -> str:
    return name[len(region) + 1 :] if name.startswith(region + "-") else name


def _known(value: object) -> str | None:
    return value if isinstance(value, str) and value and not value.startswith("[") else None


def _regions(graph: Graph) -> list[tuple[str, str | None]]:
    """Every region with its exported role, the primary first (then by name)."""
    exports = graph.outputs.get("regions") if isinstance(graph.outputs.get("regions"), dict) else {}
    names = {r.region for r in graph.custom() if r.region}
    roles = {n: (exports.get(n) or {}).get("role") if isinstance(exports.get(n), dict) else None for n in names}
    primary = graph.outputs.get("primary_region")
    return sorted(roles.items(), key=lambda kv: (kv[1] != "primary" and kv[0] != primary, kv[0]))


# The flowchart's direction: top to bottom, so the primary region (declared first, and the source
# of every edge into the other regions' boxes) is drawn above them, and the diagram stays narrow
# enough for a documentation column.
DIRECTION = "TB"


def mermaid(graph: Graph, all_regions: bool = False) -> str:
    """The graph as a Mermaid flowchart: regions, network, traffic, delivery, events, alarms, DNS.

    The primary region in detail and every other region as one box (``all_regions``: every region
    in detail), the primary first."""
    ix = _Index(graph)
    out = _Out()
    regions = _regions(graph)
    repo_nodes: dict[str, str] = {}  # codecommit repository URN -> node id
    alb_nodes: dict[str, str] = {}  # load balancer URN -> node id
    replicated_into: set[str] = set()
    late_edges: list[tuple[str, str, str, str]] = []  # edges that cross regions, drawn after them

    detailed = regions if all_regions else regions[:1]
    for region, role in detailed:
        rid = node_id(region)
        out.open(rid, text(f"{region} ({role})" if role else region), "TB")
        _network(ix, out, region, rid)
        _traffic(ix, out, region, rid, alb_nodes)
        _delivery(ix, out, region, rid, repo_nodes)
        _events(ix, out, region, rid, repo_nodes, replicated_into, late_edges)
        _observability(ix, out, region, rid)
        out.close()
    for region, role in regions[len(detailed) :]:
        _region_box(ix, out, region, role, regions[0][0], repo_nodes, alb_nodes, replicated_into)

    for a, b, label, arrow in late_edges:
        if b in repo_nodes:
            out.edge(a, repo_nodes[b], label, arrow)

    sources = sorted({n for urn, n in repo_nodes.items() if urn not in replicated_into})
    if sources:
        out.node("developers", "Developers", "([])")
        for n in sources:
            out.edge("developers", n, "git push")
    _dns(ix, out, alb_nodes)
    return "\n".join([f"flowchart {DIRECTION}", *out.render_body(), *out.render_edges()]) + "\n"


def _services(ix: _Index, region: str) -> list[str]:
    """What a region runs, to compare regions: its services (with their compute), the Lambdas behind
    its ALB and its pipeline's stages."""
    kinds = {C_FARGATE: "Fargate", C_LAMBDA_SERVICE: "Lambda", C_ALB_FUNCTION: "ALB Lambda"}
    found = sorted(
        f"{kinds[_kind(r)]} {_short(r.name, region)}"
        for r in ix.graph.resources
        if not r.custom and _kind(r) in kinds and r.name.startswith(region + "-") and not r.name.endswith("-staging")
    )
    stages = [str(s.get("name")) for p in ix.in_region(region, T_PIPELINE) for s in p.inputs.get("stages") or []]
    return [*found, "pipeline " + " → ".join(stages)]


def _region_box(
    ix: _Index,
    out: _Out,
    region: str,
    role: str | None,
    primary: str,
    repo_nodes: dict[str, str],
    alb_nodes: dict[str, str],
    replicated_into: set[str],
) -> None:
    """A region other than the primary as one node: its role, whether it runs the same services as
    the primary, whether its repository is a replica of the primary's, its VPC and its alarms.
    Edges to its repository (replication) and its load balancer (DNS) end at this box."""
    rid = node_id(region)
    repos = ix.in_region(region, T_REPO)
    for repo in repos:
        repo_nodes[repo.urn] = rid
    for alb in ix.in_region(region, T_ALB):
        alb_nodes[alb.urn] = rid
    mine, theirs = _services(ix, region), _services(ix, primary)
    missing, extra = [x for x in theirs if x not in mine], [x for x in mine if x not in theirs]
    if not missing and not extra:
        what = f"same services and pipeline as {primary}"
    else:
        what = f"as {primary}" + (", without " + ", ".join(missing) if missing else "") + ("; also " + ", ".join(extra) if extra else "")
    replica = f"its repository: a replica of {primary}'s" if any(r.urn in replicated_into for r in repos) else ""
    facts = [f"VPC {v.inputs.get('cidrBlock', '?')}" for v in ix.in_region(region, T_VPC)]
    alarms = ix.in_region(region, T_ALARM)
    if alarms:
        facts.append(f"CloudWatch alarms ×{len(alarms)}")
    out.node(rid, lines(f"{region} · {role}" if role else region, what, replica, " · ".join(facts)))


def _network(ix: _Index, out: _Out, region: str, rid: str) -> None:
    for vpc in ix.in_region(region, T_VPC):
        extras = []
        if ix.in_region(region, T_FLOWLOG):
            extras.append("flow logs")
        endpoints = sorted({str(e.inputs.get("serviceName", "")).rsplit(".", 1)[-1] for e in ix.in_region(region, T_ENDPOINT)})
        if endpoints:
            extras.append("endpoints: " + ", ".join(e for e in endpoints if e))
        vid = node_id(rid, "vpc")
        out.open(vid, lines(f"VPC {vpc.inputs.get('cidrBlock', '?')}" + (" · " + " · ".join(extras) if extras else "")), "LR")
        tiers: dict[str, list[Registration]] = {}
        for s in ix.in_region(region, T_SUBNET):
            tier = (s.inputs.get("tags") or {}).get("tier") or ("public" if "public" in s.name else "private")
            tiers.setdefault(tier, []).append(s)
        tier_ids = {}
        for tier in sorted(tiers):
            subnets = sorted(tiers[tier], key=lambda s: (str(s.inputs.get("availabilityZone")), str(s.inputs.get("cidrBlock"))))
            tier_ids[tier] = out.node(
                node_id(rid, tier, "subnets"),
                lines(
                    f"{tier.capitalize()} subnets ×{len(subnets)}",
                    *(f"{s.inputs.get('availabilityZone', '?')} {s.inputs.get('cidrBlock', '?')}" for s in subnets),
                ),
            )
        nats = ix.in_region(region, T_NAT)
        azs = {s.inputs.get("availabilityZone") for ss in tiers.values() for s in ss}
        if nats:
            how = "one per AZ" if len(nats) == len(azs) and len(nats) > 1 else ("single, shared" if len(nats) == 1 else "")
            nat = out.node(node_id(rid, "nat"), lines(f"NAT gateways ×{len(nats)}", how))
            if "private" in tier_ids:
                out.edge(tier_ids["private"], nat, "egress")
            if "public" in tier_ids:
                out.edge(nat, tier_ids["public"], "", "---")
        if ix.in_region(region, T_IGW) and "public" in tier_ids:
            igw = out.node(node_id(rid, "igw"), "Internet gateway")
            out.edge(tier_ids["public"], igw, "", "---")
        out.close()


def _port_of(ix: _Index, component: Registration) -> object:
    for tg in ix.within(component, T_TG):
        if "port" in tg.inputs:
            return tg.inputs["port"]
    return None


def _staging_names(graph: Graph, region: str) -> set[str]:
    exports = (graph.outputs.get("regions") or {}).get(region) or {}
    services = exports.get("services") if isinstance(exports, dict) else None
    names = set()
    for svc in (services or {}).values():
        staging = svc.get("staging") if isinstance(svc, dict) else None
        if isinstance(staging, dict) and (staging.get("service_name") or staging.get("function_name")):
            names.add(str(staging.get("service_name") or staging.get("function_name")))
    return names


def _traffic(ix: _Index, out: _Out, region: str, rid: str, alb_nodes: dict[str, str]) -> None:
    graph = ix.graph
    staging_names = _staging_names(graph, region)
    components = sorted(
        (r for r in graph.resources if not r.custom and _kind(r) == C_FARGATE and r.name.startswith(region + "-")), key=lambda r: r.name
    )
    # Which component each target group serves: its own for services, the function for Lambdas.
    target_node: dict[str, str] = {}
    staging = [c for c in components if _short(c.name, region) in staging_names or _short(c.name, region).endswith("-staging")]
    clusters = ix.in_region(region, T_CLUSTER)
    if components:
        cluster_name = _known(clusters[0].inputs.get("name")) if clusters else None
        out.open(node_id(rid, "ecs"), lines(f"ECS cluster {cluster_name or ''}".strip(), "Fargate · private subnets"), "TB")
        for c in components:
            if c in staging:
                continue
            name = _short(c.name, region)
            on_demand = not ix.within(c, T_SERVICE)
            port = _port_of(ix, c)
            kind = "on-demand task" if on_demand else "ECS service"
            detail = f"port {port}" if port is not None else ""
            for svc in ix.within(c, T_SERVICE):
                strategy = (svc.inputs.get("deploymentConfiguration") or {}).get("strategy")
                if isinstance(strategy, str):
                    detail += f" · {strategy.lower().replace('_', '/')}"
            nid = out.node(node_id(rid, "svc", name), lines(f"{kind} {name}", detail))
            for tg in ix.within(c, T_TG):
                target_node[tg.urn] = nid
        if staging:
            lambda_staging = [
                r for r in graph.resources
                if not r.custom and _kind(r) == C_LAMBDA_SERVICE and r.name.startswith(region + "-") and r.name.endswith("-staging")
            ]  # fmt: skip
            names = sorted(_short(c.name, region) for c in [*staging, *lambda_staging])
            sid = out.node(node_id(rid, "staging"), lines(f"staging copies ×{len(names)}", ", ".join(names)))
            for c in staging:
                for tg in ix.within(c, T_TG):
                    target_node[tg.urn] = sid
        out.close()
    _lambda_services(ix, out, region, rid, target_node)
    for fn in sorted((r for r in graph.resources if not r.custom and _kind(r) == C_ALB_FUNCTION and r.name.startswith(region + "-")), key=lambda r: r.name):
        nid = out.node(node_id(rid, "fn", _short(fn.name, region)), lines(f"Lambda {_short(fn.name, region)}", "ALB target"))
        for tg in ix.within(fn, T_TG):
            target_node[tg.urn] = nid

    for alb in ix.in_region(region, T_ALB):
        listeners = [lst for lst in ix.in_region(region, T_LISTENER) if alb in ix.deps(lst, T_ALB)]
        listeners.sort(key=lambda lst: (int(lst.inputs.get("port") or 0), lst.name))
        described = []
        for lst in listeners:
            what = f"{lst.inputs.get('protocol', '?')} :{lst.inputs.get('port', '?')}"
            actions = lst.inputs.get("defaultActions") or [{}]
            if actions[0].get("type") == "redirect":
                what += " → redirect"
            if "staging" in _short(lst.name, region):
                what += " (staging)"
            elif _short(lst.name, region).endswith("-test"):
                what += " (test)"
            described.append(what)
        aid = out.node(node_id(rid, "alb"), lines(f"ALB {_known(alb.inputs.get('name')) or _short(alb.name, region)}", *described))
        alb_nodes[alb.urn] = aid
        if node_id(rid, "public_subnets") in out.nodes:
            out.edge(aid, node_id(rid, "public_subnets"), "in", "-.-")
        # One edge per target: its path patterns in priority order (staging rules grouped).
        routes: dict[str, list[tuple[int, str]]] = {}
        for rule in ix.in_region(region, T_RULE):
            lst = next(iter(ix.deps(rule, T_LISTENER)), None)
            if lst is None or lst not in listeners:
                continue
            for tg in ix.deps(rule, T_TG):
                target = target_node.get(tg.urn)
                if target is None:
                    continue
                for cond in rule.inputs.get("conditions") or []:
                    for pattern in (cond.get("pathPattern") or {}).get("values") or []:
                        routes.setdefault(target, []).append((int(rule.inputs.get("priority") or 0), pattern))
        # The paths go into the target's label, not on the edge: a dozen labelled edges fanning
        # out of one node are what made the drawing wide.
        staging_id = node_id(rid, "staging")
        for target in sorted(routes, key=lambda t: (t == staging_id, min(routes[t]), t)):
            patterns = sorted(set(routes[target]))
            if target == staging_id:
                out.annotate(target, f"staging listener: {len(patterns)} paths")
            else:
                out.annotate(target, ", ".join(p for _, p in patterns))
            out.edge(aid, target)


def _lambda_services(ix: _Index, out: _Out, region: str, rid: str, target_node: dict[str, str]) -> None:
    """Services on Lambda: one node each (its image, or the 503 stub before the first release, and
    how CodeDeploy releases it); their staging copies join the staging node."""
    graph = ix.graph
    components = sorted(
        (r for r in graph.resources if not r.custom and _kind(r) == C_LAMBDA_SERVICE and r.name.startswith(region + "-")),
        key=lambda r: r.name,
    )
    if not components:
        return
    staging_id = node_id(rid, "staging")
    production = [c for c in components if not _short(c.name, region).endswith("-staging")]
    if production:
        out.open(node_id(rid, "lambda"), lines("Lambda services", "the same images · private subnets"), "TB")
        for c in production:
            name = _short(c.name, region)
            (fn,) = ix.within(c, T_FUNCTION) or [None]
            package = fn.inputs.get("packageType") if fn is not None else None
            detail = "image" if package == "Image" else "503 until the first release"
            configs = ix.within(c, T_CODEDEPLOY_CONFIG)
            if configs:
                routing = configs[0].inputs.get("trafficRoutingConfig") or {}
                detail += " · CodeDeploy " + str(routing.get("type", "")).removeprefix("TimeBased").lower()
            elif any(r.type.startswith("aws:codedeploy/") for r in ix.within(c, "aws:codedeploy/deploymentGroup:DeploymentGroup")):
                detail += " · CodeDeploy all at once"
            nid = out.node(node_id(rid, "svc", name), lines(f"Lambda service {name}", detail))
            for tg in ix.within(c, T_TG):
                target_node[tg.urn] = nid
        out.close()
    for c in components:
        if c in production:
            continue
        if staging_id not in out.nodes:
            out.node(staging_id, lines("staging copies", _short(c.name, region)))
        for tg in ix.within(c, T_TG):
            target_node[tg.urn] = staging_id


def _delivery(ix: _Index, out: _Out, region: str, rid: str, repo_nodes: dict[str, str]) -> None:
    repos = ix.in_region(region, T_REPO)
    for repo in repos:
        repo_nodes[repo.urn] = out.node(
            node_id(rid, "repo"), lines(f"CodeCommit {_known(repo.inputs.get('repositoryName')) or _short(repo.name, region)}"), "[()]"
        )
    ecr = ix.in_region(region, T_ECR)
    if ecr:
        out.node(node_id(rid, "ecr"), lines(f"ECR ×{len(ecr)}", "one repository per service"))
    for pipeline in ix.in_region(region, T_PIPELINE):
        pid = node_id(rid, "pipeline")
        out.open(pid, lines(f"CodePipeline {_known(pipeline.inputs.get('name')) or _short(pipeline.name, region)}"), "LR")
        stage_ids = []
        for i, stage in enumerate(pipeline.inputs.get("stages") or []):
            providers = Counter(str(a.get("provider")) for a in stage.get("actions") or [])
            how = ", ".join(f"{p} ×{n}" if n > 1 else p for p, n in sorted(providers.items()))
            stage_ids.append(out.node(node_id(rid, "stage", str(i), str(stage.get("name"))), lines(str(stage.get("name")), how)))
        for a, b in pairwise(stage_ids):
            out.edge(a, b)
        out.close()
        stages = pipeline.inputs.get("stages") or []
        for stage, sid in zip(stages, stage_ids, strict=True):
            actions = stage.get("actions") or []
            categories = {a.get("category") for a in actions}
            if "Source" in categories:
                for repo in ix.deps(pipeline, T_REPO):
                    out.edge(repo_nodes.get(repo.urn, node_id(rid, "repo")), sid, "push · EventBridge")
            if "Build" in categories and "Deploy" not in categories and ecr:
                out.edge(sid, node_id(rid, "ecr"), "images")
            deploys: dict[str, list[str]] = {}  # target node -> what the stage deploys there
            services = sorted(str((a.get("configuration") or {}).get("ServiceName")) for a in actions if a.get("provider") == "ECS")
            if services:
                target = node_id(rid, "staging") if all(s.endswith("-staging") for s in services) else node_id(rid, "ecs")
                deploys.setdefault(target, []).append(plural(len(services), "service"))
            # Services on Lambda deploy through the Lambda deploy project (a CodeBuild action with
            # the service's function, and its CodeDeploy group in production).
            functions = [a for a in actions if "FUNCTION_NAME" in str((a.get("configuration") or {}).get("EnvironmentVariables"))]
            if functions:
                staged = all("DEPLOYMENT_GROUP" not in str(a["configuration"]["EnvironmentVariables"]) for a in functions)
                target = node_id(rid, "staging") if staged else node_id(rid, "lambda")
                how = "" if staged else " · CodeDeploy"
                deploys.setdefault(target, []).append(f"{plural(len(functions), 'function')}{how}")
            for target, what in deploys.items():  # one edge per target: staging gets both kinds
                out.edge(sid, target, "deploy " + ", ".join(what))
            if "Approval" in categories:
                for topic in ix.deps(pipeline, T_TOPIC):
                    out.edge(sid, _topic_id(ix, topic, rid), "approval request", "-.->")


def _events(
    ix: _Index,
    out: _Out,
    region: str,
    rid: str,
    repo_nodes: dict[str, str],
    replicated_into: set[str],
    late_edges: list[tuple[str, str, str, str]],
) -> None:
    for fn in ix.in_region(region, T_FUNCTION):
        if ix.owner(fn, C_ALB_FUNCTION) is not None or ix.owner(fn, C_LAMBDA_SERVICE) is not None:
            continue
        name = _short(fn.name, region).removesuffix("-function-function").removesuffix("-function")
        triggers, schedules = [], []
        for target in ix.in_region(region, T_EVENT_TARGET):
            if fn not in ix.deps(target, T_FUNCTION):
                continue
            for rule in ix.deps(target, T_EVENT_RULE):
                short = _short(rule.name, region).removeprefix(_short(fn.name, region).removesuffix("-function") + "-")
                if rule.inputs.get("scheduleExpression"):
                    schedules.append(f"{short.removeprefix('schedule-')} {rule.inputs['scheduleExpression']}")
                else:
                    triggers.append(short)
        # Services whose deployments call it as their lifecycle hook (the smoke test).
        hooked = sorted(
            {ix.owner(svc, C_FARGATE).name for svc in ix.in_region(region, T_SERVICE)
             if fn in ix.deps(svc, T_FUNCTION) and ix.owner(svc, C_FARGATE)}
        )  # fmt: skip
        fid = out.node(
            node_id(rid, "fn", name),
            lines(
                f"Lambda {name}",
                f"EventBridge: {', '.join(sorted(triggers))}" if triggers else "",
                "ECS deployment hook: test listener" if hooked else "",
                *sorted(schedules),
            ),
        )
        for comp in hooked:
            out.edge(node_id(rid, "svc", _short(comp, region)), fid, "smoke test")
        # What the function acts on: on-demand tasks it starts, repositories it writes to.
        started = sorted({ix.owner(td, C_FARGATE).name for td in ix.deps(fn, T_TASKDEF) if ix.owner(td, C_FARGATE)})
        for comp in started:
            out.edge(fid, node_id(rid, "svc", _short(comp, region)), "runs task")
        for repo in ix.deps(fn, T_REPO):
            if repo.region == region:
                out.edge(repo_nodes.get(repo.urn, node_id(rid, "repo")), fid, "push event")
            else:
                replicated_into.add(repo.urn)
                late_edges.append((fid, repo.urn, "replicates to", "==>"))


def _observability(ix: _Index, out: _Out, region: str, rid: str) -> None:
    topics = ix.in_region(region, T_TOPIC)
    for topic in topics:
        subs = Counter(str(s.inputs.get("protocol")) for s in ix.in_region(region, T_SUBSCRIPTION) if topic in ix.deps(s))
        out.node(
            _topic_id(ix, topic, rid),
            lines(f"SNS {_known(topic.inputs.get('name')) or _short(topic.name, region)}", *(plural(n, f"{p} subscription") for p, n in sorted(subs.items()))),
            "{{}}",
        )
    alarms = ix.in_region(region, T_ALARM)
    if alarms:
        dashboards = [_known(d.inputs.get("dashboardName")) for d in ix.in_region(region, T_DASHBOARD)]
        # Route 53 publishes health-check metrics only in us-east-1, so the health checks' alarms
        # live there whichever region they watch; composite alarms are counted apart.
        dns = [a for a in alarms if a.inputs.get("namespace") == "AWS/Route53"]
        composites = ix.in_region(region, T_COMPOSITE_ALARM)
        aid = out.node(
            node_id(rid, "alarms"),
            lines(
                f"CloudWatch alarms ×{len(alarms)}",
                f"{len(dns)} of them on Route 53 health checks" if dns else "",
                f"+ {plural(len(composites), 'composite alarm')}" if composites else "",
                *(f"dashboard {d}" for d in dashboards if d),
            ),
        )
        notifying = Counter(t.urn for a in alarms for t in ix.deps(a, T_TOPIC))
        for topic in topics:
            if notifying[topic.urn]:
                out.edge(aid, _topic_id(ix, topic, rid), f"{notifying[topic.urn]} alarm actions")
    pipeline = node_id(rid, "pipeline")
    for target in ix.in_region(region, T_EVENT_TARGET):
        topics_hit = ix.deps(target, T_TOPIC)
        if topics_hit and pipeline in out.subgraphs:
            for rule in ix.deps(target, T_EVENT_RULE):
                if ix.owner(rule, "Pipeline") is None:
                    continue
                for topic in topics_hit:
                    out.edge(pipeline, _topic_id(ix, topic, rid), _short(rule.name, region).rsplit("-", 1)[-1] + " runs", "-.->")


def _dns(ix: _Index, out: _Out, alb_nodes: dict[str, str]) -> None:
    by_fqdn: dict[str, list[tuple[str, str, bool]]] = {}
    for record in sorted(ix.graph.of_type(T_RECORD), key=lambda r: r.name):
        policy = ""
        if record.inputs.get("failoverRoutingPolicies"):
            policy = str(record.inputs["failoverRoutingPolicies"][0].get("type"))
        elif record.inputs.get("latencyRoutingPolicies"):
            policy = "latency " + str(record.inputs["latencyRoutingPolicies"][0].get("region"))
        elif record.inputs.get("weightedRoutingPolicies"):
            policy = "weight " + str(record.inputs["weightedRoutingPolicies"][0].get("weight"))
        albs = [a for a in ix.deps(record, T_ALB) if a.urn in alb_nodes]
        if not policy or not albs:
            continue
        checked = bool(ix.deps(record, T_HEALTH))
        for alb in albs:
            by_fqdn.setdefault(str(record.inputs.get("name")), []).append((alb_nodes[alb.urn], policy, checked))
    out.node("clients", "Clients", "([])")
    if not by_fqdn:
        for alb in sorted(alb_nodes.values()):
            out.edge("clients", alb, "regional URL")
        return
    for fqdn in sorted(by_fqdn):
        routes = by_fqdn[fqdn]
        kind = "failover" if any(p in ("PRIMARY", "SECONDARY") for _, p, _ in routes) else "latency/weighted"
        did = out.node(node_id("dns", fqdn), lines(f"Route 53 {fqdn}", f"{kind} routing"), "{{}}")
        out.edge("clients", did)
        for alb, policy, checked in sorted(routes, key=lambda r: (r[1] != "PRIMARY", r[1], r[0])):
            out.edge(did, alb, policy + (" · health check" if checked else ""))


def count_nodes(diagram: str) -> int:
    """Nodes (not subgraphs) a diagram declares: ``id["label"]`` with any shape."""
    return len(set(re.findall(r'^\s*([A-Za-z0-9_]+)[\[\(\{]+"', diagram, flags=re.M)))


BEGIN, END = "<!-- diagram:{stack}:begin -->", "<!-- diagram:{stack}:end -->"
# The documents that embed the generated prod diagram (the default view) between BEGIN and END.
EMBEDDED_IN = ("docs/architecture.md",)


def embedded(document: str, stack: str = "prod") -> str | None:
    """The diagram a document embeds between its markers (inside a ```mermaid fence), or None."""
    match = re.search(
        re.escape(BEGIN.format(stack=stack)) + r"\n```mermaid\n(.*?)```\n" + re.escape(END.format(stack=stack)),
        document,
        flags=re.S,
    )
    return match.group(1) if match else None


def embed(document: str, diagram: str, stack: str = "prod") -> str:
    """``document`` with the block between its markers replaced by ``diagram``."""
    begin, end = BEGIN.format(stack=stack), END.format(stack=stack)
    head, found, rest = document.partition(begin)
    if not found or end not in rest:
        raise ValueError(f"no {begin} ... {end} markers")
    return f"{head}{begin}\n```mermaid\n{diagram}```\n{end}{rest.partition(end)[2]}"


def refresh(root: Path, diagram: str, stack: str = "prod") -> list[str]:
    """Rewrite the diagram each of ``EMBEDDED_IN`` embeds (under ``root``) when it differs; one
    line per document: ``<document>: <stack> diagram updated|unchanged (<n> nodes)``."""
    said = []
    for name in EMBEDDED_IN:
        path = root / name
        before = path.read_text()
        after = embed(before, diagram, stack)
        if after != before:
            path.write_text(after)
        state = "updated" if after != before else "unchanged"
        said.append(f"{name}: {stack} diagram {state} ({count_nodes(diagram)} nodes)")
    return said


def main(argv: list[str] | None = None) -> int:
    """``python -m ops.diagram``: synthesize prod and rewrite the diagram the documents embed (only
    when it changed). ``--output PATH``: write the flowchart there instead (``-``: stdout);
    ``--all-regions``: every region in detail, not only the primary (needs ``--output``)."""
    import argparse
    import sys

    from . import harness
    from .synth import synthesize

    parser = argparse.ArgumentParser(
        prog="python -m ops.diagram",
        description="Synthesize prod offline and rewrite the Mermaid diagram embedded in "
        + ", ".join(EMBEDDED_IN)
        + " (the primary region in detail, every other region as one box).",
    )
    parser.add_argument(
        "--all-regions",
        action="store_true",
        help="draw every region in detail (much larger); needs --output, the documents embed the one-region view",
    )
    parser.add_argument("--output", metavar="PATH", help="write the flowchart to PATH ('-': stdout) instead of the documents")
    args = parser.parse_args(argv)
    if args.all_regions and args.output is None:
        parser.error("--all-regions needs --output PATH (the documents embed the one-region view)")

    result = synthesize("prod", sys.stderr)
    if isinstance(result, int):
        return result
    _, graph = result
    diagram = mermaid(graph, all_regions=args.all_regions)
    if args.output == "-":
        sys.stdout.write(diagram)
    elif args.output is not None:
        path = Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(diagram)
        print(f"{path}: prod diagram written ({count_nodes(diagram)} nodes)")
    else:
        for line in refresh(harness.PROJECT_ROOT, diagram):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
