"""The region's shared Application Load Balancer: security group, listeners, access logs, TLS."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pulumi
import pulumi_aws as aws

from . import iam
from .storage import private_bucket_controls

# The body every unmatched request gets: a 404 that says so, instead of a default backend.
NOT_FOUND_BODY = json.dumps({"error": "not found", "status": 404}, separators=(",", ":"))


@dataclass(frozen=True)
class AcmSettings:
    """A certificate ACM issues and Route 53 validates.

    Attributes:
        domain: The certificate's main name, for example ``app.example.com``.
        hosted_zone_id: The Route 53 zone where the validation records go.
        alternative_names: Further names on the certificate. Default none.
        shared_names: Names every region's certificate carries, whose validation record (the same
            one in every region) the stack owns once (:class:`~components.certificates.SharedValidationRecords`);
            the component declares records for the other names only. Default none.
    """

    domain: str
    hosted_zone_id: str
    alternative_names: Sequence[str] = ()
    shared_names: Sequence[str] = ()


@dataclass(frozen=True)
class AccessLogSettings:
    """ALB access logs in an S3 bucket the component creates.

    Attributes:
        expire_after_days: Days before a log object is deleted. Default 90.
        delivery: How the bucket policy names the log writer. ``elb-account``: the region's
            Elastic Load Balancing account, looked up with ``aws.elb.get_service_account_output``
            (regions opened before August 2022); ``service-principal``:
            ``logdelivery.elasticloadbalancing.amazonaws.com`` (newer regions). Default ``elb-account``.
    """

    expire_after_days: int = 90
    delivery: Literal["elb-account", "service-principal"] = "elb-account"


@dataclass(frozen=True)
class RegionalRecord:
    """An alias A record that points a regional name (``us-east-1.app.example.com``) at the ALB.

    Attributes:
        name: The record's name; it should be on the certificate, so HTTPS to it validates.
        hosted_zone_id: The Route 53 zone it goes in.
    """

    name: str
    hosted_zone_id: str


@dataclass(frozen=True)
class StagingListener:
    """A second listener that only staging rules attach to, so production traffic never reaches them.

    Attributes:
        port: Its port (not 80 or 443).
        ingress_cidrs: Clients admitted to it. Default: the load balancer's ``ingress_cidrs``.
    """

    port: int = 8443
    ingress_cidrs: Sequence[str] = ()


@dataclass(frozen=True)
class TestListener:
    """A listener ECS sends test traffic through during a progressive deployment; only the
    services' test rules attach to it, and it admits only ``LoadBalancerArgs.test_client_addresses``.

    Attributes:
        port: Its port (not 80, 443 or the staging listener's).
    """

    port: int = 9443


@dataclass(frozen=True)
class LoadBalancerSettings:
    """The ALB's settings: plain data, from the validated stack config (``loadBalancer``, ``dns``).

    Attributes:
        name_prefix: Prefix of Name tags, for example ``devops-platform-prod``.
        load_balancer_name: The ALB's physical name (at most 32 characters, validated by the
            stack config).
        ingress_cidrs: Client CIDRs admitted on 80 and 443. Default the internet.
        deletion_protection: Refuse deletion until turned off (Security Hub ELB.6). Default True.
        idle_timeout_seconds: Default 60.
        ssl_policy: HTTPS listener policy. Default ``ELBSecurityPolicy-TLS13-1-2-2021-06``.
        certificate_arn: An existing ACM certificate in this region. Mutually exclusive with ``acm``.
        acm: Have ACM issue a certificate validated in Route 53. Mutually exclusive with
            ``certificate_arn``. With neither, the ALB serves plain HTTP.
        access_logs: Access log settings, or None for no access logs (Security Hub ELB.5 fails).
        regional_record: An alias record for the region's own name, or None (default).
        staging: A staging listener, or None (default) for none.
        test_listener: A test listener, or None (default) for none.
    """

    name_prefix: str
    load_balancer_name: str
    ingress_cidrs: Sequence[str] = ("0.0.0.0/0",)
    deletion_protection: bool = True
    idle_timeout_seconds: int = 60
    ssl_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    certificate_arn: str | None = None
    acm: AcmSettings | None = None
    access_logs: AccessLogSettings | None = field(default_factory=AccessLogSettings)
    regional_record: RegionalRecord | None = None
    staging: StagingListener | None = None
    test_listener: TestListener | None = None

    def __post_init__(self) -> None:
        if self.staging and self.staging.port in (80, 443):
            raise ValueError("the staging listener needs a port other than 80 and 443")
        if self.test_listener and self.test_listener.port in (80, 443, self.staging.port if self.staging else 80):
            raise ValueError("the test listener needs a port of its own")
        if self.certificate_arn and self.acm:
            raise ValueError("give certificate_arn or acm, not both")
        if len(self.load_balancer_name) > 32:
            raise ValueError("an ALB name has at most 32 characters")
        if not self.ingress_cidrs:
            raise ValueError("ingress_cidrs must not be empty")

    @property
    def https(self) -> bool:
        return bool(self.certificate_arn or self.acm)


@dataclass(frozen=True)
class LoadBalancerArgs:
    """Inputs of :class:`LoadBalancer`: its settings, and where it is placed.

    Attributes:
        settings: What the ALB is (:class:`LoadBalancerSettings`).
        context: Account, partition and region, for the log bucket's policy.
        vpc_id: The VPC.
        public_subnet_ids: Subnets the ALB spans (one per AZ).
        test_client_addresses: With a test listener, the IPv4 addresses it admits, by a stable
            key: the NAT gateways' (``az1`` ...), where requests from the private subnets come from.
    """

    settings: LoadBalancerSettings
    context: iam.AwsContext
    vpc_id: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    test_client_addresses: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)


class LoadBalancer(pulumi.ComponentResource):
    """One internet-facing ALB shared by every route in the region (seed 002: one ALB, not five).

    Creates, with ``name`` as the prefix of every child's logical name:

    - ``{name}-sg``: the ALB's security group, with ``{name}-ingress-{port}-{cidr}`` rules for 80
      (and 443 with TLS) from ``ingress_cidrs``. It has no egress rule of its own: each service
      adds one to its own security group and port, so the ALB can reach nothing else.
    - ``{name}-access-logs`` and its ``-ownership``, ``-public-access-block``, ``-encryption``,
      ``-lifecycle`` and ``-policy``: the access-log bucket, with SSE-S3 (the only encryption ALB
      log delivery supports), public access blocked, a TLS-only policy that also lets the
      region's log writer put objects under ``AWSLogs/{account}/``, and an expiry.
    - ``{name}-alb``: the ALB in the public subnets; it drops invalid header fields, uses
      defensive desync mitigation, and has deletion protection as configured.
    - With TLS: ``{name}-https`` (443, the TLS policy, a fixed 404 JSON default) and ``{name}-http``
      (80, a 301 to HTTPS). Without: ``{name}-http`` (80, the 404 default), where routes attach.
    - With ``staging``: ``{name}-staging``, a listener on the staging port (same protocol and
      certificate, the 404 default) and ingress rules for it; only staging rules attach there.
    - With ``test_listener``: ``{name}-test``, the same on the test port, where ECS sends a new
      revision's test traffic, and ``{name}-test-ingress-{key}`` per test client address.
    - With ``regional_record``: ``{name}-regional-record``, an alias A record to the ALB.
    - With ``acm``: ``{name}-certificate``, a ``{name}-certificate-record-{n}`` validation record
      per name, and ``{name}-certificate-validation``, which the HTTPS listener waits for.
    """

    load_balancer_arn: pulumi.Output[str]
    load_balancer_arn_suffix: pulumi.Output[str]
    load_balancer_dns_name: pulumi.Output[str]
    load_balancer_zone_id: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    listener_arn: pulumi.Output[str]
    """The listener routes attach to: HTTPS with a certificate, else HTTP."""

    def __init__(self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:traffic:LoadBalancer", name, None, opts)
        settings = args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.https = settings.https
        ports = (80, 443) if settings.https else (80,)
        # With acm: the certificate's validation options (for the stack's shared validation records).
        self.certificate_validation_options: pulumi.Output[list[aws.acm.outputs.CertificateDomainValidationOption]] | None = None

        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"{settings.name_prefix} ALB: clients in on {' and '.join(map(str, ports))}",
            tags={"Name": f"{settings.name_prefix}-alb"},
            opts=child,
        )
        admitted = [(port, cidr) for port in ports for cidr in settings.ingress_cidrs]
        if settings.staging:
            admitted += [(settings.staging.port, cidr) for cidr in settings.staging.ingress_cidrs or settings.ingress_cidrs]
        for port, cidr in admitted:
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-ingress-{port}-{cidr.replace('.', '-').replace('/', '-')}",
                security_group_id=sg.id,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=cidr,
                description="staging clients" if settings.staging and port == settings.staging.port else f"clients on {port}",
                opts=child,
            )

        log_policy = self._access_log_bucket(name, args) if settings.access_logs else None
        self.access_log_bucket_name = log_policy[0].bucket if log_policy else pulumi.Output.from_input(None)

        alb = aws.lb.LoadBalancer(
            f"{name}-alb",
            name=settings.load_balancer_name,
            load_balancer_type="application",
            internal=False,
            security_groups=[sg.id],
            subnets=args.public_subnet_ids,
            drop_invalid_header_fields=True,
            desync_mitigation_mode="defensive",
            enable_deletion_protection=settings.deletion_protection,
            idle_timeout=settings.idle_timeout_seconds,
            enable_http2=True,
            access_logs=(
                aws.lb.LoadBalancerAccessLogsArgs(bucket=log_policy[0].bucket, enabled=True)
                if log_policy
                else None
            ),
            tags={"Name": f"{settings.name_prefix}-alb"},
            # ELB checks that it may write to the bucket when logging is turned on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[log_policy[1]] if log_policy else []),
        )

        not_found = aws.lb.ListenerDefaultActionArgs(
            type="fixed-response",
            fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                content_type="application/json", message_body=NOT_FOUND_BODY, status_code="404"
            ),
        )
        certificate_arn: pulumi.Input[str] | None = None
        if settings.https:
            certificate_arn = settings.certificate_arn or self._certificate(name, args)
            serving = aws.lb.Listener(
                f"{name}-https",
                load_balancer_arn=alb.arn,
                port=443,
                protocol="HTTPS",
                ssl_policy=settings.ssl_policy,
                certificate_arn=certificate_arn,
                default_actions=[not_found],
                opts=child,
            )
            aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=[
                    aws.lb.ListenerDefaultActionArgs(
                        type="redirect",
                        redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                            protocol="HTTPS", port="443", status_code="HTTP_301"
                        ),
                    )
                ],
                opts=child,
            )
        else:
            serving = aws.lb.Listener(
                f"{name}-http",
                load_balancer_arn=alb.arn,
                port=80,
                protocol="HTTP",
                default_actions=[not_found],
                opts=child,
            )

        host = alb.dns_name
        if settings.regional_record:
            record = aws.route53.Record(
                f"{name}-regional-record",
                zone_id=settings.regional_record.hosted_zone_id,
                name=settings.regional_record.name,
                type="A",
                aliases=[aws.route53.RecordAliasArgs(name=alb.dns_name, zone_id=alb.zone_id, evaluate_target_health=True)],
                opts=child,
            )
            host = record.fqdn
        scheme = "https" if settings.https else "http"
        self.staging_listener_arn: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        self.staging_url: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if settings.staging:
            staging = aws.lb.Listener(
                f"{name}-staging",
                load_balancer_arn=alb.arn,
                port=settings.staging.port,
                protocol="HTTPS" if settings.https else "HTTP",
                ssl_policy=settings.ssl_policy if settings.https else None,
                # The validated certificate, not the serving listener's copy of it: the listeners
                # need not wait for each other.
                certificate_arn=certificate_arn,
                default_actions=[not_found],
                opts=child,
            )
            self.staging_listener_arn = staging.arn
            self.staging_url = pulumi.Output.concat(f"{scheme}://", host, f":{settings.staging.port}/")
        self.test_listener_arn: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        self.test_origin: pulumi.Output[str | None] = pulumi.Output.from_input(None)
        if settings.test_listener:
            port = settings.test_listener.port
            test = aws.lb.Listener(
                f"{name}-test",
                load_balancer_arn=alb.arn,
                port=port,
                protocol="HTTPS" if settings.https else "HTTP",
                ssl_policy=settings.ssl_policy if settings.https else None,
                certificate_arn=certificate_arn,
                default_actions=[not_found],
                opts=child,
            )
            # Exception to "security groups reference security groups": the smoke test runs in the
            # private subnets and reaches this internet-facing ALB through the NAT gateways, so its
            # requests arrive from their addresses (docs/security.md).
            for key, address in sorted(args.test_client_addresses.items()):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-test-ingress-{key}",
                    security_group_id=sg.id,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=pulumi.Output.concat(address, "/32"),
                    description=f"test traffic from the NAT gateway in {key}",
                    opts=child,
                )
            self.test_listener_arn = test.arn
            self.test_origin = pulumi.Output.concat(f"{scheme}://", host, f":{port}")
        self.url = pulumi.Output.concat(f"{scheme}://", host, "/")

        self.load_balancer_arn = alb.arn
        self.load_balancer_arn_suffix = alb.arn_suffix
        self.load_balancer_dns_name = alb.dns_name
        self.load_balancer_zone_id = alb.zone_id
        self.security_group_id = sg.id
        self.listener_arn = serving.arn
        self.outputs: dict[str, pulumi.Input[object]] = {
            "load_balancer_arn": self.load_balancer_arn,
            "load_balancer_dns_name": self.load_balancer_dns_name,
            "load_balancer_zone_id": self.load_balancer_zone_id,
            "load_balancer_security_group_id": self.security_group_id,
            "load_balancer_listener_arn": self.listener_arn,
            "load_balancer_protocol": "HTTPS" if settings.https else "HTTP",
            "access_log_bucket_name": self.access_log_bucket_name,
            "load_balancer_url": self.url,
            "staging_listener_arn": self.staging_listener_arn,
            "staging_url": self.staging_url,
            "test_listener_arn": self.test_listener_arn,
            "test_origin": self.test_origin,
        }
        self.register_outputs(self.outputs)

    def _access_log_bucket(self, name: str, args: LoadBalancerArgs) -> tuple[aws.s3.Bucket, aws.s3.BucketPolicy]:
        settings = args.settings
        assert settings.access_logs is not None
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.context
        bucket = aws.s3.Bucket(f"{name}-access-logs", force_destroy=False, tags={"Name": f"{settings.name_prefix}-alb-logs"}, opts=child)
        block = private_bucket_controls(f"{name}-access-logs", bucket, child)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-access-logs-encryption",
            bucket=bucket.id,
            # ALB log delivery supports SSE-S3 only; a KMS key would make delivery fail.
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-access-logs-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-access-logs",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(
                        days=settings.access_logs.expire_after_days
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=1
                    ),
                )
            ],
            opts=child,
        )
        if settings.access_logs.delivery == "elb-account":
            elb = aws.elb.get_service_account_output(opts=pulumi.InvokeOutputOptions(parent=self))
            writer: dict[str, object] = {"AWS": elb.arn}
        else:
            writer = {"Service": "logdelivery.elasticloadbalancing.amazonaws.com"}
        policy = aws.s3.BucketPolicy(
            f"{name}-access-logs-policy",
            bucket=bucket.id,
            policy=iam.document(
                [
                    iam.tls_only_statement(bucket.arn),
                    {
                        "Sid": "AlbAccessLogDelivery",
                        "Effect": "Allow",
                        "Principal": writer,
                        "Action": "s3:PutObject",
                        "Resource": pulumi.Output.concat(bucket.arn, "/AWSLogs/", ctx.account_id, "/*"),
                    },
                ]
            ),
            # S3 rejects a bucket policy while the public access block is still being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[block]),
        )
        return bucket, policy

    def _certificate(self, name: str, args: LoadBalancerArgs) -> pulumi.Output[str]:
        settings = args.settings
        assert settings.acm is not None
        child = pulumi.ResourceOptions(parent=self)
        names = [settings.acm.domain, *settings.acm.alternative_names]
        cert = aws.acm.Certificate(
            f"{name}-certificate",
            domain_name=settings.acm.domain,
            subject_alternative_names=list(settings.acm.alternative_names),
            validation_method="DNS",
            key_algorithm="EC_prime256v1",
            tags={"Name": f"{settings.name_prefix}-alb"},
            opts=child,
        )
        self.certificate_validation_options = cert.domain_validation_options
        fqdns: list[pulumi.Input[str]] = []
        for n, domain in enumerate(names, start=1):
            option = cert.domain_validation_options.apply(_option_for(domain))
            if domain in settings.acm.shared_names:
                # The stack's one record for this name (every region gets the same one from ACM);
                # this region's validation waits for it by name.
                fqdns.append(option.resource_record_name.apply(lambda v: v.rstrip(".")))
                continue
            record = aws.route53.Record(
                f"{name}-certificate-record-{n}",
                zone_id=settings.acm.hosted_zone_id,
                name=option.resource_record_name,
                type=option.resource_record_type,
                records=[option.resource_record_value],
                ttl=300,
                # Adopts a record left from an earlier run rather than failing on it.
                allow_overwrite=True,
                opts=child,
            )
            fqdns.append(record.fqdn)
        validation = aws.acm.CertificateValidation(
            f"{name}-certificate-validation",
            certificate_arn=cert.arn,
            validation_record_fqdns=fqdns,
            opts=child,
        )
        return validation.certificate_arn


def _option_for(domain: str):
    def pick(options: list[aws.acm.outputs.CertificateDomainValidationOption]):
        for option in options:
            if option.domain_name == domain:
                return option
        raise pulumi.RunError(f"ACM returned no validation option for {domain}")

    return pick


def path_rule(
    name: str,
    *,
    listener_arn: pulumi.Input[str],
    priority: int,
    paths: Sequence[str],
    opts: pulumi.ResourceOptions,
    target_group_arn: pulumi.Input[str] | None = None,
    action: aws.lb.ListenerRuleActionArgs | None = None,
) -> aws.lb.ListenerRule:
    """``{name}-rule``: requests matching ``paths`` forward to one target group, or take ``action``."""
    if (target_group_arn is None) == (action is None):
        raise ValueError("give target_group_arn or action")
    return aws.lb.ListenerRule(
        f"{name}-rule",
        listener_arn=listener_arn,
        priority=priority,
        actions=[action or aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=target_group_arn)],
        conditions=[
            aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=list(paths))
            )
        ],
        opts=opts,
    )


def alb_only_rules(
    name: str,
    *,
    security_group_id: pulumi.Input[str],
    load_balancer_security_group_id: pulumi.Input[str],
    port: int,
    egress_description: str,
    opts: pulumi.ResourceOptions,
) -> None:
    """``{name}-ingress-from-alb`` (``port`` from the ALB's group only) and ``{name}-egress-https``
    (HTTPS out to anywhere): the rules of a workload that sits behind the shared ALB."""
    aws.vpc.SecurityGroupIngressRule(
        f"{name}-ingress-from-alb",
        security_group_id=security_group_id,
        referenced_security_group_id=load_balancer_security_group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        description="from the shared ALB",
        opts=opts,
    )
    aws.vpc.SecurityGroupEgressRule(
        f"{name}-egress-https",
        security_group_id=security_group_id,
        ip_protocol="tcp",
        from_port=443,
        to_port=443,
        cidr_ipv4="0.0.0.0/0",
        description=egress_description,
        opts=opts,
    )
