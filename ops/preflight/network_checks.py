"""Checks of the network quotas each region needs room in: zones, VPCs, internet and NAT gateways,
Elastic IPs."""

from __future__ import annotations

from typing import Any

from stack_config import RegionConfig

from . import facts, needs
from .context import Context, pages, plural, service_quota
from .report import Result

# --- network quotas -------------------------------------------------------------------------------------


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t.get("Key", ""): t.get("Value", "") for t in resource.get("Tags", []) or []}


def network(ctx: Context, region: RegionConfig) -> list[Result]:
    cfg = ctx.cfg
    access = ctx.access[region.name]
    ec2 = access.client("ec2", region.name)
    mine = needs.stack_tags(cfg, region, ctx.project, ctx.stack)

    def ours(resource: dict[str, Any]) -> bool:
        tags = _tags(resource)
        return all(tags.get(k) == v for k, v in mine.items())

    results: list[Result] = []
    # components/network.py takes zone n as the n-th standard zone (opt-in-not-required); the provider
    # lists them sorted by name (not observed against AWS: the same filter and order are applied here).
    zones = sorted(
        z["ZoneName"]
        for z in ec2.describe_availability_zones(Filters=[{"Name": "opt-in-status", "Values": ["opt-in-not-required"]}])["AvailabilityZones"]
    )
    picked = zones[: region.az_count]
    saw = f"{plural(len(zones), 'standard zone')}: {', '.join(zones)} (ec2:DescribeAvailabilityZones)"
    if len(zones) < region.az_count:
        results.append(
            Result("ec2.availability-zones", region.name, "fail", f"azCount {region.az_count} needs {region.az_count} zones; the region offers {len(zones)}",
                   saw=saw, needs=f"{region.az_count} standard availability zones",
                   fix=f"set regions[{cfg.regions.index(region)}].azCount to at most {len(zones)} (and its subnets to match)")
        )  # fmt: skip
    else:
        results.append(Result("ec2.availability-zones", region.name, "ok", f"the stack uses {', '.join(picked)}", saw=saw,
                              needs=f"{region.az_count} standard availability zones"))  # fmt: skip

    def count_check(check: str, what: tuple[str, str], existing: list[dict[str, Any]], adds: int, quota: facts.Quota,
                    value: int | None, how: str, free_hint: str) -> Result:  # fmt: skip
        one, many = what
        others = [r for r in existing if not ours(r)]
        own = len(existing) - len(others)
        limit = value if value is not None else quota.documented_default or 0
        source = how if value is not None else f"{how}; using the documented default {quota.documented_default} ({quota.source})"
        saw = f"{plural(len(others), one, many)} not the stack's" + (f" and {own} of the stack's" if own else "") + f"; quota {limit} ({source})"
        needs_text = f"room for {plural(adds, one, many)} more: {len(others)} + {adds} <= {limit}"
        total = len(others) + adds
        if total > limit:
            return Result(check, region.name, "fail", f"{many}: {len(others)} in use + {adds} for the stack = {total}, over the quota of {limit}",
                          saw=saw, needs=needs_text,
                          fix=f"raise {quota.label} in {region.name} to at least {total}: `{quota.request_command(region.name, total)}`; "
                          f"or {free_hint}")  # fmt: skip
        return Result(check, region.name, "ok", f"{many}: {len(others)} in use + {adds} for the stack <= {limit}", saw=saw, needs=needs_text)

    vpcs = pages(ec2.describe_vpcs, "Vpcs", "NextToken", "NextToken")
    value, how = service_quota(access, region.name, facts.VPCS_PER_REGION)
    results.append(count_check("vpc.quota", ("VPC", "VPCs"), vpcs, 1, facts.VPCS_PER_REGION, value, how + "; ec2:DescribeVpcs",
                               "delete an unused VPC (a default VPC nobody uses counts too)"))  # fmt: skip

    igws = pages(ec2.describe_internet_gateways, "InternetGateways", "NextToken", "NextToken")
    value, how = service_quota(access, region.name, facts.INTERNET_GATEWAYS_PER_REGION)
    results.append(count_check("vpc.internet-gateways", ("internet gateway", "internet gateways"), igws, 1, facts.INTERNET_GATEWAYS_PER_REGION, value,
                               how + "; ec2:DescribeInternetGateways", "delete an unused internet gateway"))  # fmt: skip

    nat_count = needs.nat_gateway_count(cfg, region)
    nat_zones = picked[:nat_count]
    nats = [n for n in pages(ec2.describe_nat_gateways, "NatGateways", "NextToken", "NextToken") if n.get("State") in ("pending", "available")]
    subnet_ids = sorted({n["SubnetId"] for n in nats if n.get("SubnetId")})
    zone_of = {}
    if subnet_ids:
        zone_of = {s["SubnetId"]: s["AvailabilityZone"] for s in ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]}
    value, how = service_quota(access, region.name, facts.NAT_GATEWAYS_PER_AZ)
    limit = value if value is not None else facts.NAT_GATEWAYS_PER_AZ.documented_default or 0
    if value is None:
        how += f"; using the documented default {limit} ({facts.NAT_GATEWAYS_PER_AZ.source})"
    per_zone = {z: sum(1 for n in nats if not ours(n) and zone_of.get(n.get("SubnetId", "")) == z) for z in nat_zones}
    saw = (", ".join(f"{z}: {c}" for z, c in per_zone.items()) or "none needed") + f" not the stack's; quota {limit} per zone ({how}; ec2:DescribeNatGateways)"
    full = [z for z, c in per_zone.items() if c + 1 > limit]
    where_nats = f"one in each of {', '.join(nat_zones)}" if len(nat_zones) > 1 else f"in {nat_zones[0]}" if nat_zones else "none"
    needs_text = f"{plural(nat_count, 'NAT gateway')} (network.natStrategy {cfg.network.nat_strategy}): {where_nats}"
    if full:
        results.append(
            Result("vpc.nat-gateways", region.name, "fail", f"NAT gateways per zone are at the quota of {limit} in {', '.join(full)}",
                   saw=saw, needs=needs_text,
                   fix=f"raise {facts.NAT_GATEWAYS_PER_AZ.label} in {region.name} to at least {limit + 1}: "
                   f"`{facts.NAT_GATEWAYS_PER_AZ.request_command(region.name, limit + 1)}`; or delete unused NAT gateways there")
        )  # fmt: skip
    else:
        results.append(Result("vpc.nat-gateways", region.name, "ok", f"room for {plural(nat_count, 'NAT gateway')}", saw=saw, needs=needs_text))

    attrs = ec2.describe_account_attributes(AttributeNames=["vpc-max-elastic-ips"])["AccountAttributes"]
    found = {a["AttributeName"]: a["AttributeValues"][0]["AttributeValue"] for a in attrs if a.get("AttributeValues")}
    eip_limit = int(found["vpc-max-elastic-ips"]) if "vpc-max-elastic-ips" in found else None
    addresses = pages(ec2.describe_addresses, "Addresses", "NextToken", "NextToken")
    results.append(count_check("ec2.elastic-ips", ("Elastic IP", "Elastic IPs"), addresses, nat_count, facts.ELASTIC_IPS_PER_REGION, eip_limit,
                               "ec2:DescribeAccountAttributes vpc-max-elastic-ips; ec2:DescribeAddresses",
                               "release unused Elastic IPs, or use network.natStrategy single"))  # fmt: skip
    return results
