"""Checks of what clients reach the stack through: the hosted zone and the ALBs' certificates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from botocore.exceptions import ClientError

from stack_config import RegionConfig

from . import facts
from .accounts import error_code, error_text
from .context import Context, pages
from .report import Result

# --- DNS ----------------------------------------------------------------------------------------------


def _within(name: str, zone: str) -> bool:
    return name == zone or name.endswith("." + zone)


def dns(ctx: Context) -> list[Result]:
    cfg = ctx.cfg
    if cfg.dns is None:
        return [Result("dns.hosted-zone", "global", "skip", "no dns: no hosted zone to check")]
    access = ctx.primary
    if access is None:
        return []
    zone_id, domain = cfg.dns.hosted_zone_id, cfg.dns.domain
    client = access.client("route53", ctx.global_region())
    needs_text = f"a public hosted zone, in account {access.account}, named {domain} or a parent domain of it"
    try:
        zone = client.get_hosted_zone(Id=zone_id)["HostedZone"]
    except ClientError as exc:
        if error_code(exc) in ("NoSuchHostedZone", "InvalidInput"):
            return [
                Result("dns.hosted-zone", "global", "fail", f"hosted zone {zone_id} (dns.hostedZoneId) does not exist in account {access.account}",
                       saw=f"route53:GetHostedZone {zone_id}: {error_text(exc)}", needs=needs_text,
                       fix=f"create a public zone for {domain} (or its parent) and delegate it at the registrar: "
                       f"`aws route53 create-hosted-zone --name {domain} --caller-reference preflight-$(date +%s)`; "
                       "then set devops-platform:dns.hostedZoneId to its ID (without /hostedzone/)")
            ]  # fmt: skip
        raise
    name = zone["Name"].rstrip(".").lower()
    private = bool(zone.get("Config", {}).get("PrivateZone"))
    saw = f"{zone_id}: {name}, {'private' if private else 'public'}, {zone.get('ResourceRecordSetCount', '?')} records (route53:GetHostedZone)"
    if private:
        return [
            Result("dns.hosted-zone", "global", "fail", f"hosted zone {zone_id} is private: ACM cannot validate through it and clients cannot resolve it",
                   saw=saw, needs=needs_text,
                   fix=f"use the public zone of {domain} (a private and a public zone can share a name): set dns.hostedZoneId to its ID")
        ]  # fmt: skip
    if not _within(domain, name):
        return [
            Result("dns.hosted-zone", "global", "fail", f"hosted zone {zone_id} is {name}, which does not hold {domain}",
                   saw=saw, needs=needs_text,
                   fix=f"set dns.hostedZoneId to the zone of {domain}, or dns.domain to a name inside {name}")
        ]  # fmt: skip
    shadows = [
        f"{z['Name'].rstrip('.')} ({z['Id'].split('/')[-1]})"
        for z in pages(client.list_hosted_zones, "HostedZones", "Marker", "NextMarker")
        if z["Id"].split("/")[-1] != zone_id
        and not z.get("Config", {}).get("PrivateZone")
        and _within(domain, z["Name"].rstrip(".").lower())
        and len(z["Name"].rstrip(".")) > len(name)
    ]
    if shadows:
        return [
            Result("dns.hosted-zone", "global", "warn",
                   f"a more specific public zone exists for {domain}: if it is delegated, records written in {name} are not seen",
                   saw=saw + "; also " + ", ".join(shadows) + " (route53:ListHostedZones)", needs=needs_text,
                   fix="point dns.hostedZoneId at the zone the registrar (or the parent zone's NS records) delegates to")
        ]  # fmt: skip
    return [Result("dns.hosted-zone", "global", "ok", f"public hosted zone {name} holds {domain}", saw=saw, needs=needs_text)]


# --- certificates --------------------------------------------------------------------------------


def covers(names: Iterable[str], host: str) -> bool:
    """Whether a certificate for ``names`` is valid for ``host`` (a wildcard covers one label)."""
    host = host.lower().rstrip(".")
    for n in names:
        n = n.lower().rstrip(".")
        if n == host or (n.startswith("*.") and "." in host and host.split(".", 1)[1] == n[2:]):
            return True
    return False


def certificate(ctx: Context, region: RegionConfig) -> list[Result]:
    cfg = ctx.cfg
    arn = cfg.load_balancer.certificate_arns.get(region.name)
    if arn is None:
        if cfg.dns is not None:
            return [Result("acm.certificate", region.name, "skip",
                           f"ACM issues the certificate during `pulumi up`, validated in {cfg.dns.hosted_zone_id} (see dns.hosted-zone)")]  # fmt: skip
        return [Result("acm.certificate", region.name, "skip", "no certificate and no dns: the ALB serves plain HTTP (the synth warns)")]
    access = ctx.access[region.name]
    arn_region, arn_account = arn.split(":")[3], arn.split(":")[4]
    needs_text = "an ISSUED certificate in " + region.name + (
        f" covering {cfg.dns.domain} and {region.name}.{cfg.dns.domain}" if cfg.dns else ""
    )
    if arn_region != region.name:
        return [
            Result("acm.certificate", region.name, "fail", f"the certificate is in {arn_region}, not {region.name}",
                   saw=arn, needs=needs_text + " (an ALB takes certificates from its own region only)",
                   fix=f"request or import a certificate in {region.name} and set loadBalancer.certificateArns.{region.name}")
        ]  # fmt: skip
    try:
        cert = access.client("acm", region.name).describe_certificate(CertificateArn=arn)["Certificate"]
    except ClientError as exc:
        if error_code(exc) in ("ResourceNotFoundException", "InvalidArnException"):
            return [
                Result("acm.certificate", region.name, "fail", f"no such certificate in {region.name} of account {access.account}",
                       saw=f"acm:DescribeCertificate {arn}: {error_text(exc)}", needs=needs_text,
                       fix=f"request (`aws acm request-certificate --region {region.name} ...`) or import one in {region.name} "
                       f"and set loadBalancer.certificateArns.{region.name} to its ARN")
            ]  # fmt: skip
        raise
    status = cert.get("Status", "?")
    names = [cert.get("DomainName", ""), *cert.get("SubjectAlternativeNames", [])]
    names = list(dict.fromkeys(n for n in names if n))
    not_after = cert.get("NotAfter")
    saw = f"{status}, {cert.get('Type', '?')}, for {', '.join(names)}" + (
        f", valid until {not_after:%Y-%m-%d}" if isinstance(not_after, datetime) else ""
    ) + " (acm:DescribeCertificate)"
    if arn_account != access.account:
        saw += f"; the ARN names account {arn_account}, the credentials are account {access.account}"
    if status != "ISSUED":
        fix = {
            "PENDING_VALIDATION": "finish its validation (create the CNAME records ACM lists for it, or answer the validation emails)",
            "EXPIRED": "renew or replace it",
        }.get(status, "request or import a new certificate")
        return [
            Result("acm.certificate", region.name, "fail", f"the certificate is {status}, not ISSUED: the HTTPS listener cannot use it",
                   saw=saw, needs=needs_text, fix=fix + f", then set loadBalancer.certificateArns.{region.name}")
        ]  # fmt: skip
    if cfg.dns is not None and not covers(names, cfg.dns.domain):
        return [
            Result("acm.certificate", region.name, "fail", f"the certificate does not cover {cfg.dns.domain}",
                   saw=saw, needs=needs_text,
                   fix=f"use a certificate for {cfg.dns.domain} (and {region.name}.{cfg.dns.domain}, or *.{cfg.dns.domain})")
        ]  # fmt: skip
    warnings = []
    if cfg.dns is not None and not covers(names, f"{region.name}.{cfg.dns.domain}"):
        warnings.append(f"it does not cover {region.name}.{cfg.dns.domain}, the regional name clients and health checks use")
    if isinstance(not_after, datetime) and not_after - ctx.now < timedelta(days=facts.CERTIFICATE_EXPIRY_WARN_DAYS):
        renew = "ACM does not renew imported certificates" if cert.get("Type") == "IMPORTED" else "check its renewal"
        warnings.append(f"it expires on {not_after:%Y-%m-%d} ({renew})")
    if warnings:
        return [
            Result("acm.certificate", region.name, "warn", "the certificate is ISSUED, but " + "; ".join(warnings),
                   saw=saw, needs=needs_text,
                   fix=f"add {region.name}.{cfg.dns.domain if cfg.dns else ''} (or a wildcard) to the certificate, or renew it, as the warning says")
        ]  # fmt: skip
    return [Result("acm.certificate", region.name, "ok", "the certificate is ISSUED and covers the stack's names", saw=saw, needs=needs_text)]


