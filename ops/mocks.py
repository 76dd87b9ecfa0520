"""Pulumi mocks that answer like AWS: realistic IDs, partition-correct ARNs, AZs and DNS names.

Everything is derived from a hash of the resource's type and logical name, so two synths of the
same config give byte-identical graphs. The account ID is a documentation placeholder and lives
only here, never in the program.

In preview mode resources return their inputs and nothing else: IDs, ARNs and other computed
values stay unknown, as they are in a real ``pulumi preview``. Data sources answer in both
modes, as they do for real.
"""

from __future__ import annotations

import hashlib
import re

import pulumi

from stack_config.aws_regions import partition_of

MOCK_ACCOUNT_ID = "123456789012"

# Standard AZ counts of common regions; others get 3. A stack asking for more AZs than a region
# has fails at synth as it would at deploy.
_AZ_COUNT = {"us-east-1": 6, "us-west-2": 4, "ap-northeast-1": 3, "us-west-1": 2, "ca-central-1": 3}

_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg",
    "aws:ec2/flowLog:FlowLog": "fl",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce",
}
_EC2_ARN_KIND = {
    "vpc": "vpc",
    "subnet": "subnet",
    "igw": "internet-gateway",
    "eipalloc": "elastic-ip",
    "nat": "natgateway",
    "rtb": "route-table",
    "sg": "security-group",
    "fl": "vpc-flow-log",
    "vpce": "vpc-endpoint",
}


def _hex(*parts: str, length: int = 17) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:length]


def _short_region(region: str) -> str:
    """us-east-1 -> use1, ap-southeast-2 -> apse2, eu-central-1 -> euc1: AWS's AZ-ID prefix."""
    parts = region.split("-")
    middle = "".join(parts[1:-1])
    initials = "".join(w[0] for w in re.findall(r"gov|north|south|east|west|central", middle))
    area, number = parts[0], parts[-1]
    return f"{area}{initials}{number}"


def dns_suffix(region: str) -> str:
    return "amazonaws.com.cn" if partition_of(region) == "aws-cn" else "amazonaws.com"


def _ip(seed: str) -> str:
    # TEST-NET-3 (203.0.113.0/24), reserved for documentation, so no mock IP is ever real.
    return f"203.0.113.{int(_hex(seed, length=4), 16) % 254 + 1}"


class RealisticMocks(pulumi.runtime.Mocks):
    """Mocks for the AWS resource and function types the program uses (and a generic fallback)."""

    def __init__(
        self, stack: str = "stack", preview: bool = False, ssm_parameters: dict[str, str] | None = None
    ) -> None:
        self.stack = stack
        self.preview = preview
        # What SSM holds in every region (name -> value): the images a pipeline has published.
        # Empty by default, as in a new account. ``{region}`` and ``{account}`` in a value are
        # filled in per call, so one map can stand for every region's own ECR images.
        self.ssm_parameters = dict(ssm_parameters or {})
        # Filled by the recording monitor as providers register: provider URN -> region.
        self.provider_regions: dict[str, str] = {}
        self.calls: list[pulumi.runtime.MockCallArgs] = []

    def region_of(self, provider_ref: str | None) -> str | None:
        if not provider_ref:
            return None
        return self.provider_regions.get(provider_ref.rsplit("::", 1)[0])

    # --- resources --------------------------------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs = dict(args.inputs)
        if not args.custom:
            return None, {}
        if args.typ.startswith("pulumi:providers:"):
            return _hex(self.stack, args.typ, args.name, length=8) + "-mock-provider", inputs
        if self.preview:
            return None, inputs
        region = inputs.get("region") or self.region_of(args.provider) or "us-east-1"
        return self._resource(args.typ, args.name, region, inputs)

    def _resource(self, typ: str, name: str, region: str, inputs: dict) -> tuple[str, dict]:
        partition = partition_of(region)
        acct = MOCK_ACCOUNT_ID
        seed = _hex(self.stack, typ, name)
        prefix = _ID_PREFIX.get(typ)
        out = dict(inputs)
        out.setdefault("region", region)
        if prefix is not None:
            rid = f"{prefix}-{seed}"
            if typ == "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":
                # Adoption, not creation: it is the VPC's own default group.
                rid = f"sg-{_hex(str(inputs.get('vpcId', ''))[4:], 'sg')}"
            out["arn"] = f"arn:{partition}:ec2:{region}:{acct}:{_EC2_ARN_KIND.get(prefix, prefix)}/{rid}"
            out["ownerId"] = acct
            self._ec2_extras(typ, rid, seed, region, out)
            return rid, out
        if typ == "aws:cloudwatch/logGroup:LogGroup":
            out.setdefault("name", f"{name}-{seed[:7]}")
            out["arn"] = f"arn:{partition}:logs:{region}:{acct}:log-group:{out['name']}"
            return out["name"], out
        if typ == "aws:iam/role:Role":
            out.setdefault("name", f"{name}-{seed[:7]}"[:64])
            out["arn"] = f"arn:{partition}:iam::{acct}:role{out.get('path') or '/'}{out['name']}"
            out["uniqueId"] = "AROA" + seed.upper()[:17]
            return out["name"], out
        if typ == "aws:iam/rolePolicy:RolePolicy":
            out.setdefault("name", f"{name}-{seed[:7]}")
            return f"{out.get('role')}:{out['name']}", out
        if typ == "aws:ec2/route:Route":
            return f"r-{out.get('routeTableId')}{int(seed[:8], 16) % 10**10}", out
        special = self._service_resource(typ, name, seed, region, partition, out)
        if special is not None:
            return special, out
        # Generic: a named resource with an ARN in its service's namespace.
        service = typ.split(":")[1].split("/")[0]
        out.setdefault("name", f"{name}-{seed[:7]}")
        out.setdefault("arn", f"arn:{partition}:{service}:{region}:{acct}:{out['name']}")
        return f"{service}-{seed}", out

    def _service_resource(
        self, typ: str, name: str, seed: str, region: str, partition: str, out: dict
    ) -> str | None:
        """IDs and computed attributes of the traffic and compute types; None for the generic path."""
        acct = MOCK_ACCOUNT_ID

        def arn(service: str, resource: str, *, regional: bool = True) -> str:
            return f"arn:{partition}:{service}:{region if regional else ''}:{acct if regional or service == 'iam' else ''}:{resource}"

        elb = "elasticloadbalancing"
        if typ == "aws:lb/loadBalancer:LoadBalancer":
            lb_name = out.get("name") or f"{name}-{seed[:7]}"[:32]
            suffix = f"app/{lb_name}/{seed[:16]}"
            out.update(name=lb_name, arn=arn(elb, f"loadbalancer/{suffix}"), arnSuffix=suffix)
            out["dnsName"] = f"{lb_name}-{int(seed[:8], 16) % 10**10}.{region}.elb.{dns_suffix(region)}"
            out["zoneId"] = "Z35SXDOTRQ7X7K"
            return out["arn"]
        if typ == "aws:lb/targetGroup:TargetGroup":
            tg_name = out.get("name") or f"{name}-{seed[:7]}"[:32]
            suffix = f"targetgroup/{tg_name}/{seed[:16]}"
            out.update(name=tg_name, arn=arn(elb, suffix), arnSuffix=suffix)
            return out["arn"]
        if typ == "aws:lb/listener:Listener":
            out["arn"] = arn(elb, f"listener/app/{seed[:8]}/{seed[8:16]}/{seed[:16]}")
            return out["arn"]
        if typ == "aws:lb/listenerRule:ListenerRule":
            out["arn"] = arn(elb, f"listener-rule/app/{seed[:8]}/{seed[8:16]}/{seed[:16]}")
            return out["arn"]
        if typ == "aws:ecs/cluster:Cluster":
            out.setdefault("name", f"{name}-{seed[:7]}")
            out["arn"] = arn("ecs", f"cluster/{out['name']}")
            return out["arn"]
        if typ == "aws:ecs/taskDefinition:TaskDefinition":
            out["revision"] = 1
            out["arnWithoutRevision"] = arn("ecs", f"task-definition/{out.get('family')}")
            out["arn"] = out["arnWithoutRevision"] + ":1"
            return str(out.get("family"))
        if typ == "aws:ecs/service:Service":
            out.setdefault("name", f"{name}-{seed[:7]}")
            return arn("ecs", f"service/{out['name']}")
        if typ == "aws:ecr/repository:Repository":
            out.setdefault("name", f"{name}-{seed[:7]}")
            out["arn"] = arn("ecr", f"repository/{out['name']}")
            out["registryId"] = acct
            out["repositoryUrl"] = f"{acct}.dkr.ecr.{region}.{dns_suffix(region)}/{out['name']}"
            return out["name"]
        if typ == "aws:lambda/function:Function":
            out.setdefault("name", f"{name}-{seed[:7]}")
            out["arn"] = arn("lambda", f"function:{out['name']}")
            out["version"] = "1" if out.get("publish") else "$LATEST"
            out["qualifiedArn"] = f"{out['arn']}:{out['version']}"
            out["invokeArn"] = f"arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{out['arn']}/invocations"
            return out["name"]
        if typ == "aws:wafv2/webAcl:WebAcl":
            uid = f"{seed[:8]}-{seed[8:12]}-4{seed[12:15]}-8{seed[15:17]}0-{_hex(seed, length=12)}"
            scope = "regional" if str(out.get("scope", "REGIONAL")).upper() == "REGIONAL" else "global"
            out["arn"] = arn("wafv2", f"{scope}/webacl/{out.get('name')}/{uid}")
            return uid
        if typ == "aws:lambda/alias:Alias":
            out["arn"] = arn("lambda", f"function:{out.get('functionName')}:{out.get('name')}")
            return out["arn"]
        if typ == "aws:acm/certificate:Certificate":
            out["arn"] = arn("acm", f"certificate/{seed[:8]}-{seed[8:12]}-4{seed[12:15]}-8{seed[15:17]}0-{_hex(seed, length=12)}")
            names = [out.get("domainName"), *(out.get("subjectAlternativeNames") or [])]
            out["domainValidationOptions"] = [
                {
                    "domainName": n,
                    "resourceRecordName": f"_{_hex(acct, str(n), length=32)}.{n}.",
                    "resourceRecordType": "CNAME",
                    "resourceRecordValue": f"_{_hex(str(n), length=32)}.acm-validations.aws.",
                }
                for n in names
            ]
            out["status"] = "ISSUED"
            return out["arn"]
        if typ == "aws:acm/certificateValidation:CertificateValidation":
            return str(out.get("certificateArn"))
        if typ == "aws:route53/record:Record":
            out["fqdn"] = str(out.get("name", "")).rstrip(".")
            return f"{out.get('zoneId')}_{out['fqdn']}_{out.get('type')}"
        if typ == "aws:s3/bucket:Bucket":
            out.setdefault("bucket", f"{name}-{seed[:7]}")
            out["arn"] = f"arn:{partition}:s3:::{out['bucket']}"
            out["bucketDomainName"] = f"{out['bucket']}.s3.{dns_suffix(region)}"
            return out["bucket"]
        if typ == "aws:kms/key:Key":
            key_id = f"{seed[:8]}-{seed[8:12]}-4{seed[12:15]}-8{seed[15:17]}0-{_hex(seed, length=12)}"
            out.update(keyId=key_id, arn=arn("kms", f"key/{key_id}"))
            return key_id
        if typ == "aws:kms/alias:Alias":
            out["arn"] = arn("kms", str(out.get("name")))
            return str(out.get("name"))
        if typ == "aws:codecommit/repository:Repository":
            repo = str(out.get("repositoryName"))
            out.update(arn=arn("codecommit", repo), repositoryId=_hex(seed, "repo", length=32))
            out["cloneUrlHttp"] = f"https://git-codecommit.{region}.{dns_suffix(region)}/v1/repos/{repo}"
            out["cloneUrlSsh"] = f"ssh://git-codecommit.{region}.{dns_suffix(region)}/v1/repos/{repo}"
            return repo
        if typ == "aws:codebuild/project:Project":
            out["arn"] = arn("codebuild", f"project/{out.get('name')}")
            return str(out["arn"])
        if typ == "aws:codepipeline/pipeline:Pipeline":
            out["arn"] = arn("codepipeline", str(out.get("name")))
            return str(out.get("name"))
        if typ == "aws:sqs/queue:Queue":
            out.setdefault("name", f"{name}-{seed[:7]}")
            out["arn"] = arn("sqs", out["name"])
            out["url"] = f"https://sqs.{region}.{dns_suffix(region)}/{acct}/{out['name']}"
            return out["url"]
        if typ == "aws:cloudwatch/eventRule:EventRule":
            out.setdefault("name", f"{name}-{seed[:7]}")
            out["arn"] = arn("events", f"rule/{out['name']}")
            return out["name"]
        if typ == "aws:sns/topic:Topic":
            out.setdefault("name", f"{name}-{seed[:7]}")
            out["arn"] = arn("sns", out["name"])
            return out["arn"]
        if typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
            out.setdefault("name", f"{name}-{seed[:7]}")
            out["arn"] = arn("cloudwatch", f"alarm:{out['name']}")
            return out["name"]
        if typ == "aws:cloudwatch/dashboard:Dashboard":
            out["dashboardArn"] = arn("cloudwatch", f"dashboard/{out.get('dashboardName')}", regional=False)
            return str(out.get("dashboardName"))
        if typ == "aws:route53/healthCheck:HealthCheck":
            # Route 53 health check IDs are UUIDs.
            check_id = f"{seed[:8]}-{seed[8:12]}-4{seed[12:15]}-8{seed[15:17]}0-{_hex(seed, length=12)}"
            out["arn"] = f"arn:{partition}:route53:::healthcheck/{check_id}"
            return check_id
        return None

    @staticmethod
    def _ec2_extras(typ: str, rid: str, seed: str, region: str, out: dict) -> None:
        if typ == "aws:ec2/vpc:Vpc":
            out["defaultSecurityGroupId"] = f"sg-{_hex(seed, 'sg')}"  # = its DefaultSecurityGroup's ID
            out["defaultRouteTableId"] = f"rtb-{_hex(seed, 'rtb')}"
            out["mainRouteTableId"] = out["defaultRouteTableId"]
            out["defaultNetworkAclId"] = f"acl-{_hex(seed, 'acl')}"
            out["dhcpOptionsId"] = f"dopt-{_hex(seed, 'dopt')}"
        elif typ == "aws:ec2/subnet:Subnet":
            az = str(out.get("availabilityZone") or f"{region}a")
            out["availabilityZoneId"] = f"{_short_region(region)}-az{ord(az[-1]) - ord('a') + 1}"
        elif typ == "aws:ec2/eip:Eip":
            ip = _ip(rid)  # a NAT gateway on this allocation reports the same address
            out.update(allocationId=rid, publicIp=ip, domain="vpc")
            host = "compute-1" if region == "us-east-1" else f"{region}.compute"
            out["publicDns"] = f"ec2-{ip.replace('.', '-')}.{host}.{dns_suffix(region)}"
        elif typ == "aws:ec2/natGateway:NatGateway":
            out["publicIp"] = _ip(str(out.get("allocationId")))
            out["privateIp"] = f"10.255.{int(seed[:2], 16)}.{int(seed[2:4], 16) % 254 + 1}"
            out["networkInterfaceId"] = f"eni-{_hex(seed, 'eni')}"
        elif typ in ("aws:ec2/securityGroup:SecurityGroup", "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup"):
            out.setdefault("name", "default" if "Default" in typ else f"sg-{seed[:7]}")
        elif typ == "aws:ec2/vpcEndpoint:VpcEndpoint":
            out["state"] = "available"
            if out.get("vpcEndpointType") == "Interface":
                out["dnsEntries"] = [
                    {"dnsName": f"{rid}-{seed[:8]}.{out.get('serviceName', '')}.vpce.{dns_suffix(region)}",
                     "hostedZoneId": "Z7HUB22UULQXV"}
                ]  # fmt: skip
            else:
                out["prefixListId"] = f"pl-{seed[:8]}"

    # --- data sources -----------------------------------------------------------------------------

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:
        self.calls.append(args)
        region = args.args.get("region") or self.region_of(args.provider) or "us-east-1"
        partition = partition_of(region)
        token = args.token
        if token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            count = _AZ_COUNT.get(region, 3)
            letters = "abcdef"[:count]
            return {
                "id": region,
                "names": [f"{region}{c}" for c in letters],
                "zoneIds": [f"{_short_region(region)}-az{i + 1}" for i in range(count)],
                "groupNames": [region] * count,
                "state": "available",
            }
        if token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "id": MOCK_ACCOUNT_ID,
                "accountId": MOCK_ACCOUNT_ID,
                "arn": f"arn:{partition}:sts::{MOCK_ACCOUNT_ID}:assumed-role/deployer/session",
                "userId": "AROAMOCKDEPLOYER:session",
            }
        if token == "aws:index/getPartition:getPartition":
            return {
                "id": partition,
                "partition": partition,
                "dnsSuffix": dns_suffix(region),
                "reverseDnsPrefix": ".".join(reversed(dns_suffix(region).split("."))),
            }
        if token == "aws:index/getRegion:getRegion":
            return {
                "id": region,
                "region": region,
                "name": region,
                "description": region,
                "endpoint": f"ec2.{region}.{dns_suffix(region)}",
            }
        if token == "aws:ec2/getVpcEndpointService:getVpcEndpointService":
            service = args.args.get("service", "")
            head = "cn.com.amazonaws" if partition == "aws-cn" else "com.amazonaws"
            name = f"{head}.{region}.{service}"
            return {
                "id": name,
                "service": service,
                "serviceName": name,
                "serviceType": args.args.get("serviceType", "Interface"),
                "owner": "amazon",
                "availabilityZones": [f"{region}{c}" for c in "abc"],
            }
        if token == "aws:ssm/getParametersByPath:getParametersByPath":
            path = str(args.args.get("path", "")).rstrip("/") + "/"
            found = sorted((k, v) for k, v in self.ssm_parameters.items() if k.startswith(path))
            arns = [f"arn:{partition}:ssm:{region}:{MOCK_ACCOUNT_ID}:parameter{k}" for k, _ in found]
            return {
                "id": path,
                "path": args.args.get("path"),
                "names": [k for k, _ in found],
                "values": [v.replace("{region}", region).replace("{account}", MOCK_ACCOUNT_ID) for _, v in found],
                "types": ["String"] * len(found),
                "arns": arns,
                "withDecryption": args.args.get("withDecryption", True),
            }
        if token == "aws:elb/getServiceAccount:getServiceAccount":
            # A made-up account per region; the program never sees a real one offline.
            elb_account = f"{int(_hex('elb', region, length=10), 16) % 10**12:012d}"
            return {"id": elb_account, "arn": f"arn:{partition}:iam::{elb_account}:root", "region": region}
        return dict(args.args)
