"""ops.preflight against moto's server on 127.0.0.1, an emulated account that starts empty.

Nothing here talks to AWS. What moto lacks is answered by :class:`ModelFake`, on the event hooks
of the very boto3 sessions the preflight makes (``main(new_session=...)``); every other call goes
to moto. Faked, and why:

- ``lambda:GetAccountSettings``: moto has no route for it (it answers 404);
- ``service-quotas`` for Lambda (``GetServiceQuota``, ``ListRequestedServiceQuotaChangeHistoryByQuota``,
  ``GetAWSDefaultServiceQuota``): moto knows only the VPC quotas and not the history; the VPC quotas
  come from moto itself;
- ``codecommit:ListRepositories``: not implemented by moto (500);
- ``codeconnections`` / ``codestar-connections`` ``GetConnection``: no backend in moto;
- ``sns:ListSubscriptionsByTopic`` where a subscription must be pending: moto confirms at once.

Each faked request is validated against botocore's model of the operation before it is answered,
and each canned answer too: a response against the output shape, an error's code against the
operation's (or, where marked, the service's) error shapes.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.validate import ParamValidator
from moto.route53.models import HostedZoneIdentifier
from moto.utilities.id_generator import moto_id_manager

from ops import preflight
from ops.preflight import accounts as preflight_accounts
from ops.preflight import needs as preflight_needs
from stack_config import StackConfig
from stack_config.load import validate
from tests.conftest import PROJECT, namespace_of, run_stack

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "123456789012"  # moto's default account
ZONE_ID = "Z0123456789EXAMPLE"  # Pulumi.prod.yaml's dns.hostedZoneId
DOMAIN = "app.example.com"

# Errors any AWS API may answer (AWS's common errors), though few operations model them.
COMMON_ERRORS = frozenset({"AccessDenied", "AccessDeniedException", "ThrottlingException", "UnrecognizedClientException"})


# --- moto -------------------------------------------------------------------------------------------------




def client(service: str, region: str = "us-east-1") -> Any:
    """A client on moto (through AWS_ENDPOINT_URL), to set the emulated account up."""
    return boto3.client(service, region_name=region)


# --- fakes validated against botocore's models ----------------------------------------------------------

_MODELS = botocore.session.get_session()


@dataclass(frozen=True)
class FakeError:
    code: str
    message: str
    # The code is an error of the service's model but not listed for this operation (say so why).
    unmodelled_for_operation: bool = False


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: dict[str, Any]


Respond = Callable[[dict[str, Any]], "dict[str, Any] | FakeError | None"]


class ModelFake:
    """Answers chosen operations in place of moto; records every operation any session makes."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._answers: dict[tuple[str, str], Respond] = {}

    def on(self, service: str, operation: str, respond: Respond) -> None:
        """``respond(params)``: a response, a FakeError, or None to let moto answer."""
        _MODELS.get_service_model(service).operation_model(operation)  # KeyError on a typo
        self._answers[(service, operation)] = respond

    def reply(self, service: str, operation: str, response: dict[str, Any] | FakeError) -> None:
        self.on(service, operation, lambda _params: response)

    def new_session(self, **kwargs: Any) -> boto3.Session:
        session = boto3.Session(**kwargs)
        session.events.register("before-parameter-build", self._before_build)
        session.events.register("before-call", self._before_call)
        return session

    def _before_build(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        service, operation = model.service_model.service_name, model.name
        self.calls.append(Call(service, operation, copy.deepcopy(params)))
        if (service, operation) not in self._answers:
            return
        if model.input_shape is not None:
            report = ParamValidator().validate(params, model.input_shape)
            if report.has_errors():
                raise AssertionError(f"{service}:{operation} request is not valid for botocore's model:\n{report.generate_report()}")
        context["model_fake"] = (service, operation, copy.deepcopy(params))

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if "model_fake" not in context:
            return None
        service, operation, params = context["model_fake"]
        answer = self._answers[(service, operation)](params)
        if answer is None:
            return None
        if isinstance(answer, FakeError):
            listed = {s.name for s in model.error_shapes} | {s.metadata.get("error", {}).get("code", s.name) for s in model.error_shapes}
            of_service = {s.name for s in model.service_model.error_shapes}
            ok = answer.code in listed or answer.code in COMMON_ERRORS or (answer.unmodelled_for_operation and answer.code in of_service)
            assert ok, f"{answer.code} is not an error botocore's model lists for {service}:{operation}"
            parsed = {"Error": {"Code": answer.code, "Message": answer.message}, "ResponseMetadata": {"HTTPStatusCode": 400}}
            return AWSResponse("https://fake.invalid", 400, {}, None), parsed
        if model.output_shape is not None:
            report = ParamValidator().validate(answer, model.output_shape)
            if report.has_errors():
                raise AssertionError(f"{service}:{operation} canned response is not valid:\n{report.generate_report()}")
        return AWSResponse("https://fake.invalid", 200, {}, None), {**copy.deepcopy(answer), "ResponseMetadata": {"HTTPStatusCode": 200}}

    def operations(self) -> set[tuple[str, str]]:
        return {(c.service, c.operation) for c in self.calls}


def account_settings(quota: int, unreserved: int | None = None) -> dict[str, Any]:
    return {
        "AccountLimit": {
            "TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800,
            "ConcurrentExecutions": quota, "UnreservedConcurrentExecutions": quota if unreserved is None else unreserved,
        },
        "AccountUsage": {"TotalCodeSize": 0, "FunctionCount": 0},
    }  # fmt: skip


def lambda_quota(value: float) -> dict[str, Any]:
    return {
        "Quota": {
            "ServiceCode": "lambda", "ServiceName": "AWS Lambda", "QuotaCode": "L-B99A9384",
            "QuotaName": "Concurrent executions", "Value": value, "Unit": "None", "Adjustable": True, "GlobalQuota": False,
        }
    }  # fmt: skip


def empty_account(concurrency: int = 10, unreserved: int | None = None) -> ModelFake:
    """What moto lacks, answered as for a new account: Lambda's reduced concurrency quota (10, the
    figure public reports give for new accounts; AWS documents only that it is reduced), no
    CodeCommit repository, no quota increase requested."""
    fake = ModelFake()
    fake.reply("lambda", "GetAccountSettings", account_settings(concurrency, unreserved))

    def service_quota(params: dict[str, Any]) -> dict[str, Any] | FakeError | None:
        if params["ServiceCode"] == "lambda":
            return lambda_quota(float(concurrency))
        return None  # moto answers the VPC quotas

    fake.on("service-quotas", "GetServiceQuota", service_quota)
    fake.reply("service-quotas", "GetAWSDefaultServiceQuota", FakeError("NoSuchResourceException", "The request failed because the specified resource does not exist."))
    fake.reply("service-quotas", "ListRequestedServiceQuotaChangeHistoryByQuota", {"RequestedQuotas": []})
    fake.reply("codecommit", "ListRepositories", {"repositories": []})
    return fake


def test_the_fakes_refuse_what_botocores_model_refuses(aws: str):
    fake = ModelFake()
    fake.reply("lambda", "GetAccountSettings", {"AccountLimit": {"ConcurrentExecutions": "ten"}})
    fake.reply("service-quotas", "GetServiceQuota", lambda_quota(10.0))
    fake.reply("codecommit", "ListRepositories", FakeError("RepositoryDoesNotExistException", "not an error of this operation"))
    session = fake.new_session(region_name="us-east-1")
    with pytest.raises(AssertionError, match="canned response is not valid"):
        session.client("lambda").get_account_settings()
    with pytest.raises(AssertionError, match="request is not valid for botocore's model"):
        session.client("service-quotas").get_service_quota(ServiceCode="lambda", QuotaCode="")
    with pytest.raises(AssertionError, match="is not an error botocore's model lists"):
        session.client("codecommit").list_repositories()
    assert session.client("service-quotas").get_service_quota(ServiceCode="lambda", QuotaCode="L-B99A9384")["Quota"]["Value"] == 10.0


# --- stacks ------------------------------------------------------------------------------------------------


def config_of(stack: str = "prod", edit: Callable[[dict[str, Any]], None] | None = None) -> StackConfig:
    ns = namespace_of(stack)
    if edit is not None:
        edit(ns)
    return validate(ns, PROJECT)


def run(cfg: StackConfig, fake: ModelFake, stack: str = "prod", now: datetime | None = None) -> list[preflight.Result]:
    return preflight.run_checks(cfg, project=PROJECT, stack=stack, new_session=fake.new_session, now=now)


def only(results: list[preflight.Result], check: str, where: str | None = None) -> preflight.Result:
    found = [r for r in results if r.check == check and (where is None or r.where == where)]
    assert len(found) == 1, [(r.check, r.where, r.status, r.title) for r in results if r.check == check]
    return found[0]


def public_zone(name: str = "example.com", zone_id: str = ZONE_ID, private: bool = False) -> None:
    """A hosted zone in moto with the ID the stack file names (moto's custom-ID hook)."""
    ident = HostedZoneIdentifier(ACCOUNT, name + ".", None)  # moto stores names with the final dot
    moto_id_manager.set_custom_id(ident, zone_id)
    try:
        kwargs: dict[str, Any] = {"Name": name, "CallerReference": f"test-{name}-{private}"}
        if private:
            vpc = client("ec2").create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
            kwargs.update(HostedZoneConfig={"PrivateZone": True}, VPC={"VPCRegion": "us-east-1", "VPCId": vpc})
        created = client("route53").create_hosted_zone(**kwargs)["HostedZone"]["Id"]
    finally:
        moto_id_manager.unset_custom_id(ident)
    assert created.split("/")[-1] == zone_id


def linked_role(name: str, service: str) -> None:
    client("iam").create_role(
        RoleName=name, Path=f"/aws-service-role/{service}/",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}),
    )  # fmt: skip


def self_signed(names: list[str], days: int = 365) -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), pem_key


def issued(region: str, names: list[str], days: int = 365) -> str:
    cert, key = self_signed(names, days)
    return client("acm", region).import_certificate(Certificate=cert, PrivateKey=key)["CertificateArn"]


def with_certificates(arns: dict[str, str]) -> Callable[[dict[str, Any]], None]:
    def edit(ns: dict[str, Any]) -> None:
        ns["loadBalancer"] = {**ns.get("loadBalancer", {}), "certificateArns": arns}

    return edit


# --- the empty account: main(), in process and as a subprocess -------------------------------------------------


def reservations_in_prod() -> tuple[int, int]:
    """What Pulumi.prod.yaml reserves in its primary and in a secondary region, read from the file
    (functions[].reservedConcurrency, services[].lambda.reservedConcurrency, the replicator's 1)."""
    ns = namespace_of("prod")
    regional = sum(f.get("reservedConcurrency") or 0 for f in ns.get("functions", []))
    regional += sum((s.get("lambda") or {}).get("reservedConcurrency") or 0 for s in ns.get("services", []))
    return regional + 1, regional


def test_prod_against_an_empty_account_fails_on_the_zone_and_the_lambda_concurrency(aws: str):
    out, err = io.StringIO(), io.StringIO()
    code = preflight.main(["prod"], new_session=empty_account().new_session, out=out, err=err)
    text = out.getvalue()
    assert code == 1, text + err.getvalue()
    primary, secondary = reservations_in_prod()
    assert primary >= 1  # the replicator at least

    zone = _block(text, "fail", "dns.hosted-zone")
    assert f"hosted zone {ZONE_ID} (dns.hostedZoneId) does not exist in account {ACCOUNT}" in zone
    assert "NoSuchHostedZone" in zone and "create-hosted-zone --name app.example.com" in zone

    for region, reserved in (("us-east-1", primary), ("us-east-2", secondary)):
        block = _block(text, "fail", "lambda.concurrency", region)
        needed = reserved + 100
        assert f"short by {needed - 10}: 10 unreserved, {needed} needed" in block
        assert "ConcurrentExecutions 10, UnreservedConcurrentExecutions 10" in block
        assert f"at least {needed} = {reserved} to reserve" in block
        assert f'raise Service Quotas lambda L-B99A9384 "Concurrent executions" (AWS Lambda) in {region} to at least {needed}' in block
        assert f"--desired-value {needed} --region {region}" in block
    assert "replication (the replicator) 1" in _block(text, "fail", "lambda.concurrency", "us-east-1")
    assert "replicator" not in _block(text, "fail", "lambda.concurrency", "us-east-2")

    # The rest of an empty account: warnings, with what to do.
    assert "allowedAccountIds is not set" in _block(text, "warn", "identity")
    assert "no CodeCommit repository in the stack's regions" in _block(text, "warn", "codecommit")
    ecs = _block(text, "warn", "iam.service-linked-role", contains="AWSServiceRoleForECS does not exist")
    assert "create-service-linked-role --aws-service-name ecs.amazonaws.com" in ecs and "Fargate Spot" in ecs
    emails = _block(text, "warn", "sns.subscriptions", "us-east-1")
    assert "platform-approvals@example.com" in emails and "platform-oncall@example.com" in emails
    assert "does not exist yet" in emails
    assert re.search(r"^ok    vpc\.quota .*us-east-1", text, flags=re.MULTILINE)
    assert text.rstrip().splitlines()[-1].startswith("preflight prod: ") and "exit 1" in text.rstrip().splitlines()[-1]


def _block(text: str, status: str, check: str, where: str | None = None, contains: str | None = None) -> str:
    """A result's lines: its header (status, check, where) and the indented lines under it."""
    blocks = re.split(r"\n(?=\S)", text)
    found = [
        b for b in blocks
        if re.match(rf"{status}\s+{re.escape(check)}\s", b) and (where is None or f" {where} " in b.splitlines()[0])
        and (contains is None or contains in b)
    ]  # fmt: skip
    assert len(found) == 1, f"{len(found)} blocks for {status} {check} {where or ''}:\n{text}"
    return found[0]


SUBPROCESS_SCRIPT = """
import sys
sys.path.insert(0, {root!r})
from tests.test_preflight import empty_account
from ops.preflight import main
sys.exit(main(sys.argv[1:], new_session=empty_account().new_session))
"""


def test_the_command_line_in_a_subprocess(aws: str, tmp_path: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    script = tmp_path / "preflight_with_fakes.py"
    script.write_text(SUBPROCESS_SCRIPT.format(root=str(ROOT)))
    report = tmp_path / "preflight.json"
    done = subprocess.run(
        [sys.executable, str(script), "--stack", "prod", "--json", str(report)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"hosted zone {ZONE_ID} (dns.hostedZoneId) does not exist" in done.stdout
    data = json.loads(report.read_text())
    assert data["exit"] == 1 and data["stack"] == "prod" and data["regions"] == ["us-east-1", "us-east-2"]
    fails = {(r["check"], r["where"]) for r in data["results"] if r["status"] == "fail"}
    assert fails == {("dns.hosted-zone", "global"), ("lambda.concurrency", "us-east-1"), ("lambda.concurrency", "us-east-2")}

    # The module itself, on moto alone: moto has no lambda:GetAccountSettings, so that check says it
    # could not check (a fail) instead of inventing a figure.
    plain = subprocess.run(
        [sys.executable, "-m", "ops.preflight", "prod"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert plain.returncode == 1, plain.stdout + plain.stderr
    assert "could not check" in _block(plain.stdout, "fail", "lambda.concurrency", "us-east-1")
    assert "does not exist in account" in _block(plain.stdout, "fail", "dns.hosted-zone")


def test_usage_and_config_errors_exit_2(aws: str, tmp_path: Path):
    err = io.StringIO()
    assert preflight.main(["nope"], out=io.StringIO(), err=err) == 2
    assert "no Pulumi.nope.yaml here" in err.getvalue()
    err = io.StringIO()
    assert preflight.main(["prod", "--stack", "dev"], out=io.StringIO(), err=err) == 2
    assert "two stacks given" in err.getvalue()
    assert preflight.main([], out=io.StringIO(), err=io.StringIO()) == 2


def test_an_invalid_stack_config_exits_2_before_any_call(aws: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    bad = tmp_path / "Pulumi.bad.yaml"
    bad.write_text((ROOT / "Pulumi.dev.yaml").read_text().replace("devops-platform:environment: dev", "devops-platform:environment: Dev!"))
    (tmp_path / "Pulumi.yaml").write_text((ROOT / "Pulumi.yaml").read_text())
    from ops import stackfiles

    original = stackfiles.load
    monkeypatch.setattr(stackfiles, "load", lambda stack, root=tmp_path: original(stack, tmp_path))
    fake = ModelFake()
    err = io.StringIO()
    assert preflight.main(["bad"], new_session=fake.new_session, out=io.StringIO(), err=err) == 2
    assert "invalid stack config" in err.getvalue() and "environment" in err.getvalue()
    assert fake.calls == []


def test_no_usable_credentials_is_one_fail(aws: str, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    results = run(config_of("dev"), ModelFake())
    assert [(r.check, r.status) for r in results] == [("identity", "fail")]
    assert "no usable AWS credentials" in results[0].title and "NoCredentialsError" in results[0].title


# --- read-only -----------------------------------------------------------------------------------------------

READ_ONLY = re.compile(r"^(Get|List|Describe)")


def _action(call: Call) -> str:
    prefix = {"service-quotas": "servicequotas"}.get(call.service, call.service)
    return f"{prefix}:{call.operation}"


@pytest.mark.parametrize("variant", ["prod", "dev", "connection", "certificates", "assumed-role"])
def test_every_call_reads_and_the_assumed_role_session_admits_each(aws: str, variant: str):
    fake = empty_account(1000)
    fake.reply("codeconnections", "GetConnection", _connection("AVAILABLE"))
    stack = "dev" if variant == "dev" else "prod"

    def edit(ns: dict[str, Any]) -> None:
        if variant == "connection":
            ns["pipeline"]["source"] = {"type": "connection", "connectionArn": CONNECTION_ARN, "fullRepositoryId": "acme/app"}
        if variant == "certificates":
            with_certificates({r: issued(r, [DOMAIN, f"{r}.{DOMAIN}"]) for r in ("us-east-1", "us-east-2")})(ns)
        if variant == "assumed-role":
            ns["regions"][1]["assumeRoleArn"] = "arn:aws:iam::111122223333:role/deployer"
            ns["replication"] = {"enabled": False}  # the config refuses it across accounts

    if stack == "prod":
        public_zone()
    client("sns").create_topic(Name="devops-platform-prod-notifications")
    client("ec2").allocate_address(Domain="vpc")
    client("ec2", "us-east-2").create_nat_gateway(SubnetId=_default_subnet("us-east-2"))
    results = run(config_of(stack, edit), fake, stack)
    assert results
    writes = sorted({f"{c.service}:{c.operation}" for c in fake.calls if not READ_ONLY.match(c.operation)})
    assert writes == (["sts:AssumeRole"] if variant == "assumed-role" else []), writes
    unlisted = sorted({_action(c) for c in fake.calls if c.service != "sts"} - set(preflight_accounts.READ_ACTIONS))
    assert unlisted == []
    if variant == "assumed-role":
        (assume,) = [c for c in fake.calls if c.operation == "AssumeRole"]
        policy = json.loads(assume.params["Policy"])
        assert policy["Statement"] == [{"Effect": "Allow", "Action": list(preflight_accounts.READ_ACTIONS), "Resource": "*"}]
        assert all(READ_ONLY.match(a.split(":")[1]) for a in preflight_accounts.READ_ACTIONS)


def _default_subnet(region: str) -> str:
    return client("ec2", region).describe_subnets(Filters=[{"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]["SubnetId"]


# --- identity ---------------------------------------------------------------------------------------------------


def test_identity_ok_fail_and_an_assumed_role_in_another_account(aws: str):
    fake = empty_account(1000)
    ok = only(run(config_of("dev", lambda ns: ns.update(allowedAccountIds=[ACCOUNT])), fake, "dev"), "identity")
    assert ok.status == "ok" and ok.title == f"account {ACCOUNT} is in allowedAccountIds"

    wrong = only(run(config_of("dev", lambda ns: ns.update(allowedAccountIds=["111122223333"])), fake, "dev"), "identity")
    assert wrong.status == "fail" and f"account {ACCOUNT} is not in allowedAccountIds" in wrong.title

    def roles(ns: dict[str, Any]) -> None:
        ns["allowedAccountIds"] = [ACCOUNT]
        ns["regions"][1]["assumeRoleArn"] = "arn:aws:iam::111122223333:role/deployer"
        ns["replication"] = {"enabled": False}  # the config refuses it across accounts

    results = run(config_of("prod", roles), fake)
    assert only(results, "identity", "us-east-1").status == "ok"
    other = only(results, "identity", "us-east-2")
    assert other.status == "fail" and "account 111122223333 is not in allowedAccountIds" in other.title
    assert "assumed-role/deployer/devops-platform-preflight" in other.saw
    # Its region is checked as that account: moto keeps a separate, empty account for it.
    assert only(results, "vpc.quota", "us-east-2").saw.startswith("1 VPC not the stack's")


# --- Lambda -------------------------------------------------------------------------------------------------------


def test_lambda_ok_with_the_default_quota_and_warn_with_a_reduced_one(aws: str):
    primary, _ = reservations_in_prod()
    ok = only(run(config_of(), empty_account(1000)), "lambda.concurrency", "us-east-1")
    assert ok.status == "ok" and ok.title == f"{1000 - primary} executions stay unreserved after the stack's reservations (at least 100 required)"

    warn = only(run(config_of(), empty_account(400)), "lambda.concurrency", "us-east-1")
    assert warn.status == "warn" and f"quota (400) is below Lambda's default 1000: {400 - primary} executions left" in warn.title
    assert "--desired-value 1000" in warn.fix

    # Nothing to reserve (dev's secondary: no reservation, no replicator): a small quota refuses nothing.
    dev = run(config_of("dev"), empty_account(10), "dev")
    assert only(dev, "lambda.concurrency", "us-east-1").status == "fail"  # the replicator's 1
    nothing = only(dev, "lambda.concurrency", "us-east-2")
    assert nothing.status == "warn" and "nothing for Lambda to refuse" in nothing.needs


def _zip() -> bytes:
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()


def test_lambda_counts_an_existing_reservation_once_and_provisioned_outside_reservations(aws: str):
    role = client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam = client("lambda")
    lam.create_function(FunctionName="devops-platform-prod-lambda-demo", Runtime="python3.13", Role=role,
                        Handler="handler.handler", Code={"ZipFile": _zip()})  # fmt: skip
    lam.put_function_concurrency(FunctionName="devops-platform-prod-lambda-demo", ReservedConcurrentExecutions=100)

    def edit(ns: dict[str, Any]) -> None:
        ns["functions"] = [{**f, "reservedConcurrency": 100} if f["name"] == "lambda-demo" else f for f in ns["functions"]]
        go = next(s for s in ns["services"] if s["name"] == "go-demo")
        go["lambda"] = {**go.get("lambda", {}), "provisionedConcurrency": 5}

    cfg = config_of("prod", edit)
    go_index = [s.name for s in cfg.services].index("go-demo")
    others = sum(f.reserved_concurrency or 0 for f in cfg.functions if f.name != "lambda-demo")
    # The account: quota 250, of which lambda-demo's 100 are reserved already (140 unreserved).
    result = only(run(cfg, empty_account(250, 140)), "lambda.concurrency", "us-east-1")
    to_reserve = others + 1  # lambda-demo's 100 exist; the replicator's 1 is new
    left = 140 - to_reserve - 5
    assert "functions[0] (lambda-demo) 100, 100 of it already reserved" in result.needs
    assert f"at least {to_reserve + 5 + 100} = {to_reserve} to reserve" in result.needs
    assert f"+ 5 provisioned outside reservations (services[{go_index}] (go-demo).lambda 5)" in result.needs
    assert result.status == "warn" and f"quota (250) is below Lambda's default 1000: {left} executions left" in result.title


def test_lambda_shortfall_mentions_an_increase_already_requested(aws: str):
    fake = empty_account()
    fake.reply("service-quotas", "ListRequestedServiceQuotaChangeHistoryByQuota", {"RequestedQuotas": [
        {"Id": "abc", "CaseId": "1234567890", "ServiceCode": "lambda", "QuotaCode": "L-B99A9384", "DesiredValue": 1000.0,
         "Status": "CASE_OPENED", "QuotaName": "Concurrent executions"}]})  # fmt: skip
    result = only(run(config_of(), fake), "lambda.concurrency", "us-east-1")
    assert result.status == "fail"
    assert "increase requested: 1000 (CASE_OPENED, case 1234567890)" in result.saw
    assert "already requested: 1000 (CASE_OPENED, case 1234567890); wait for it" in result.fix


def test_a_check_the_credentials_may_not_make_is_a_warning_naming_the_action(aws: str):
    fake = empty_account()
    fake.reply("lambda", "GetAccountSettings", FakeError("AccessDeniedException", "User is not authorized to perform: lambda:GetAccountSettings"))
    result = only(run(config_of(), fake), "lambda.concurrency", "us-east-1")
    assert result.status == "warn" and "could not check" in result.title
    assert "lambda:GetAccountSettings" in result.fix


def test_the_reservations_match_the_synthesized_program():
    """needs.lambda_reservations against what the program declares (run under mocks): every Lambda
    function's reservedConcurrentExecutions, and the provisioned concurrency of functions without
    one, per region. go-demo (a service on Lambda) gets provisioned concurrency for the comparison."""

    def edit(ns: dict[str, Any]) -> None:
        go = next(s for s in ns["services"] if s.get("compute") == "lambda")
        go["lambda"] = {**go.get("lambda", {}), "provisionedConcurrency": 3}

    graph = run_stack("prod", edit=edit)
    cfg = config_of("prod", edit)
    declared = {}
    for region in cfg.regions:
        functions = [r for r in graph.of_type("aws:lambda/function:Function") if r.region == region.name]
        reserved = sum(r.inputs.get("reservedConcurrentExecutions") or 0 for r in functions)
        unreserved = {r.inputs.get("name") for r in functions if r.inputs.get("reservedConcurrentExecutions") is None}
        configs = [r for r in graph.of_type("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig") if r.region == region.name]
        provisioned = sum(c.inputs["provisionedConcurrentExecutions"] for c in configs if c.inputs.get("functionName") in unreserved)
        declared[region.name] = (reserved, provisioned)
    computed = {}
    for region in cfg.regions:
        rs = preflight_needs.lambda_reservations(cfg, region, PROJECT)
        computed[region.name] = (sum(r.reserved or 0 for r in rs), sum(r.provisioned or 0 for r in rs if r.reserved is None))
    assert computed == declared
    assert all(p == 3 for _, p in computed.values()) and computed["us-east-1"][0] == computed["us-east-2"][0] + 1


# --- CodeCommit and connections -----------------------------------------------------------------------------------

CONNECTION_ARN = "arn:aws:codeconnections:us-east-1:123456789012:connection/0e6d8d2a-1234-4abc-9def-0123456789ab"


def _connection(status: str, owner: str = ACCOUNT) -> dict[str, Any]:
    return {"Connection": {"ConnectionName": "github", "ConnectionArn": CONNECTION_ARN, "ProviderType": "GitHub",
                           "OwnerAccountId": owner, "ConnectionStatus": status}}  # fmt: skip


def test_codecommit_warn_ok_and_fail(aws: str):
    fake = empty_account(1000)
    assert only(run(config_of(), fake), "codecommit").status == "warn"

    fake.on("codecommit", "ListRepositories", lambda _p: {"repositories": [{"repositoryName": "devops-platform-prod", "repositoryId": "1"}]})
    ok = only(run(config_of(), fake), "codecommit")
    assert ok.status == "ok" and "devops-platform-prod exists in us-east-1, us-east-2" in ok.title

    # OperationNotAllowedException is a CodeCommit error in botocore's model (CreateRepository's);
    # whether ListRepositories ever answers it is not documented, so it is marked as such.
    fake.reply("codecommit", "ListRepositories", FakeError("OperationNotAllowedException", "The requested action is not allowed.", unmodelled_for_operation=True))
    closed = only(run(config_of(), fake), "codecommit")
    assert closed.status == "fail" and closed.title == "this account cannot use CodeCommit"
    assert "OperationNotAllowedException" in closed.saw and "pipeline.source.type: connection" in closed.fix


@pytest.mark.parametrize(
    ("status", "expected", "title"),
    [
        ("AVAILABLE", "ok", "the connection is AVAILABLE"),
        ("PENDING", "fail", "the connection is PENDING: its handshake with the provider was never finished"),
        ("ERROR", "fail", "the connection is ERROR"),
    ],
)
def test_a_connection_source_skips_codecommit_and_checks_the_connection(aws: str, status: str, expected: str, title: str):
    fake = empty_account(1000)
    fake.reply("codeconnections", "GetConnection", _connection(status))
    cfg = config_of("prod", lambda ns: ns["pipeline"].update(source={"type": "connection", "connectionArn": CONNECTION_ARN, "fullRepositoryId": "acme/app"}))
    results = run(cfg, fake)
    assert only(results, "codecommit").status == "skip"
    result = only(results, "codeconnections")
    assert (result.status, result.title) == (expected, title)
    assert ("codecommit", "ListRepositories") not in fake.operations()


def test_a_missing_or_foreign_connection(aws: str):
    fake = empty_account(1000)
    fake.reply("codeconnections", "GetConnection", FakeError("ResourceNotFoundException", "Connection not found"))
    cfg = config_of("prod", lambda ns: ns["pipeline"].update(source={"type": "connection", "connectionArn": CONNECTION_ARN, "fullRepositoryId": "acme/app"}))
    assert only(run(cfg, fake), "codeconnections").title == "the connection does not exist"
    fake.reply("codeconnections", "GetConnection", _connection("AVAILABLE", owner="999999999999"))
    foreign = only(run(cfg, fake), "codeconnections")
    assert foreign.status == "warn" and "belongs to account 999999999999" in foreign.title


# --- DNS ------------------------------------------------------------------------------------------------------------


def test_the_hosted_zone_ok(aws: str):
    public_zone("example.com")
    result = only(run(config_of(), empty_account(1000)), "dns.hosted-zone")
    assert (result.status, result.title) == ("ok", "public hosted zone example.com holds app.example.com")


def test_a_private_zone_fails(aws: str):
    public_zone("example.com", private=True)
    result = only(run(config_of(), empty_account(1000)), "dns.hosted-zone")
    assert result.status == "fail" and f"hosted zone {ZONE_ID} is private" in result.title


def test_a_zone_of_another_domain_fails(aws: str):
    public_zone("example.org")
    result = only(run(config_of(), empty_account(1000)), "dns.hosted-zone")
    assert result.status == "fail" and result.title == f"hosted zone {ZONE_ID} is example.org, which does not hold app.example.com"


def test_a_more_specific_public_zone_is_a_warning(aws: str):
    public_zone("example.com")
    client("route53").create_hosted_zone(Name="app.example.com", CallerReference="shadow")
    result = only(run(config_of(), empty_account(1000)), "dns.hosted-zone")
    assert result.status == "warn" and "a more specific public zone exists for app.example.com" in result.title
    assert "app.example.com (" in result.saw


# --- certificates --------------------------------------------------------------------------------------------------


def test_certificates_issued_and_covering_are_ok(aws: str):
    arns = {r: issued(r, [DOMAIN, f"*.{DOMAIN}"]) for r in ("us-east-1", "us-east-2")}
    results = run(config_of("prod", with_certificates(arns)), empty_account(1000))
    for region in arns:
        result = only(results, "acm.certificate", region)
        assert (result.status, result.title) == ("ok", "the certificate is ISSUED and covers the stack's names")
        assert "ISSUED, IMPORTED, for app.example.com, *.app.example.com" in result.saw


def test_a_pending_certificate_fails(aws: str):
    pending = client("acm", "us-east-2").request_certificate(DomainName=DOMAIN, ValidationMethod="DNS")["CertificateArn"]
    arns = {"us-east-1": issued("us-east-1", [DOMAIN, f"us-east-1.{DOMAIN}"]), "us-east-2": pending}
    results = run(config_of("prod", with_certificates(arns)), empty_account(1000))
    assert only(results, "acm.certificate", "us-east-1").status == "ok"
    result = only(results, "acm.certificate", "us-east-2")
    assert result.status == "fail" and result.title == "the certificate is PENDING_VALIDATION, not ISSUED: the HTTPS listener cannot use it"
    assert "finish its validation" in result.fix


def test_a_certificate_of_another_region_fails(aws: str):
    arns = {r: issued(r, [DOMAIN]) for r in ("us-east-1", "us-east-2")}
    cfg = config_of("prod", with_certificates(arns))
    # The config's own checks refuse this; the preflight checks it again, on a config built past them.
    swapped = cfg.model_copy(update={"load_balancer": cfg.load_balancer.model_copy(
        update={"certificate_arns": {"us-east-1": arns["us-east-2"], "us-east-2": arns["us-east-1"]}})})  # fmt: skip
    result = only(run(swapped, empty_account(1000)), "acm.certificate", "us-east-1")
    assert result.status == "fail" and result.title == "the certificate is in us-east-2, not us-east-1"

    # An ARN that names the region but no certificate there: a copy from another region, edited.
    moved = arns["us-east-2"].replace("us-east-2", "us-east-1")
    result = only(run(config_of("prod", with_certificates({**arns, "us-east-1": moved})), empty_account(1000)), "acm.certificate", "us-east-1")
    assert result.status == "fail" and result.title == f"no such certificate in us-east-1 of account {ACCOUNT}"


def test_a_certificate_not_covering_the_domain_fails_and_one_missing_the_regional_name_warns(aws: str):
    arns = {"us-east-1": issued("us-east-1", ["other.example.com"]), "us-east-2": issued("us-east-2", [DOMAIN])}
    results = run(config_of("prod", with_certificates(arns)), empty_account(1000))
    wrong = only(results, "acm.certificate", "us-east-1")
    assert wrong.status == "fail" and wrong.title == "the certificate does not cover app.example.com"
    partial = only(results, "acm.certificate", "us-east-2")
    assert partial.status == "warn" and "does not cover us-east-2.app.example.com" in partial.title


def test_a_certificate_expiring_soon_warns(aws: str):
    arns = {r: issued(r, [DOMAIN, f"*.{DOMAIN}"], days=10) for r in ("us-east-1", "us-east-2")}
    result = only(run(config_of("prod", with_certificates(arns)), empty_account(1000)), "acm.certificate", "us-east-1")
    assert result.status == "warn" and "ACM does not renew imported certificates" in result.title


# --- service-linked roles -------------------------------------------------------------------------------------------


def test_service_linked_roles_missing_warn_and_present_are_ok(aws: str):
    results = [r for r in run(config_of(), empty_account(1000)) if r.check == "iam.service-linked-role"]
    assert [(r.status, r.title) for r in results] == [
        ("warn", "AWSServiceRoleForECS does not exist yet"),
        ("warn", "AWSServiceRoleForElasticLoadBalancing does not exist yet"),
        ("warn", "AWSServiceRoleForApplicationAutoScaling_ECSService does not exist yet"),
    ]
    assert "iam:CreateServiceLinkedRole" in results[1].fix and "Fargate Spot" not in results[1].fix
    assert "FARGATE_SPOT capacity provider" in results[0].needs and "Unable to assume the service linked role" in results[0].fix

    linked_role("AWSServiceRoleForECS", "ecs.amazonaws.com")
    linked_role("AWSServiceRoleForElasticLoadBalancing", "elasticloadbalancing.amazonaws.com")
    linked_role("AWSServiceRoleForApplicationAutoScaling_ECSService", "ecs.application-autoscaling.amazonaws.com")
    results = [r for r in run(config_of(), empty_account(1000)) if r.check == "iam.service-linked-role"]
    assert [r.status for r in results] == ["ok", "ok", "ok"]


def test_a_stack_without_spot_gets_no_spot_advice(aws: str):
    results = run(config_of("prod", lambda ns: ns["pipeline"]["staging"].update(spot=False)), empty_account(1000))
    ecs = next(r for r in results if r.check == "iam.service-linked-role" and "ECS does" in r.title)
    assert "Fargate Spot" not in ecs.fix and "FARGATE_SPOT" not in ecs.needs


# --- emails ---------------------------------------------------------------------------------------------------------

TOPIC = "devops-platform-prod-notifications"


def test_confirmed_subscriptions_are_ok_and_pending_ones_warn(aws: str):
    for region in ("us-east-1", "us-east-2"):
        arn = client("sns", region).create_topic(Name=TOPIC)["TopicArn"]
        for address in ("platform-approvals@example.com", "platform-oncall@example.com"):
            client("sns", region).subscribe(TopicArn=arn, Protocol="email", Endpoint=address)
    results = run(config_of(), empty_account(1000))
    ok = only(results, "sns.subscriptions", "us-east-1")
    assert ok.status == "ok" and ok.title == f"every address is confirmed on {TOPIC}"

    fake = empty_account(1000)

    def pending(params: dict[str, Any]) -> dict[str, Any] | None:
        if ":us-east-2:" not in params["TopicArn"]:
            return None  # moto answers us-east-1
        return {"Subscriptions": [
            {"SubscriptionArn": "PendingConfirmation", "Owner": ACCOUNT, "Protocol": "email",
             "Endpoint": "platform-oncall@example.com", "TopicArn": params["TopicArn"]},
            {"SubscriptionArn": params["TopicArn"] + ":5f0c1c8e-0000-4000-8000-000000000000", "Owner": ACCOUNT,
             "Protocol": "email", "Endpoint": "platform-approvals@example.com", "TopicArn": params["TopicArn"]},
        ]}  # fmt: skip

    fake.on("sns", "ListSubscriptionsByTopic", pending)
    results = run(config_of(), fake)
    assert only(results, "sns.subscriptions", "us-east-1").status == "ok"
    warn = only(results, "sns.subscriptions", "us-east-2")
    assert warn.status == "warn" and warn.title == "pending confirmation: platform-oncall@example.com"
    assert "confirmed: platform-approvals@example.com" in warn.saw


def test_an_existing_topic_is_not_subscribed_by_the_stack(aws: str):
    arns = {r: client("sns", r).create_topic(Name="team-alerts")["TopicArn"] for r in ("us-east-1", "us-east-2")}

    def existing(ns: dict[str, Any]) -> None:
        ns["pipeline"]["notifications"] = {"topicArns": arns}  # the config takes no emails with topicArns

    results = run(config_of("prod", existing), empty_account(1000))
    result = only(results, "sns.subscriptions", "us-east-1")
    assert result.status == "warn"
    assert "not subscribed: platform-oncall@example.com (the stack does not subscribe addresses to an existing topic)" in result.title
    assert "the existing topic team-alerts has no subscriber" in result.title

    client("sns").subscribe(TopicArn=arns["us-east-1"], Protocol="email", Endpoint="platform-oncall@example.com")
    result = only(run(config_of("prod", existing), empty_account(1000)), "sns.subscriptions", "us-east-1")
    assert (result.status, result.title) == ("ok", "1 confirmed subscription on team-alerts")


def test_no_addresses_at_all_warns(aws: str):
    # dev subscribes nobody (Pulumi.dev.yaml says so): alarms still fire, to no one.
    result = only(run(config_of("dev"), empty_account(1000), "dev"), "sns.subscriptions", "us-east-1")
    assert result.status == "warn" and result.title.startswith("no notification emails")


# --- VPC, NAT gateway and Elastic IP quotas --------------------------------------------------------------------------


def test_elastic_ips_short_fail_with_the_numbers(aws: str):
    for _ in range(4):
        client("ec2").allocate_address(Domain="vpc")
    results = run(config_of(), empty_account(1000))
    eips = only(results, "ec2.elastic-ips", "us-east-1")
    assert eips.status == "fail" and eips.title == "Elastic IPs: 4 in use + 2 for the stack = 6, over the quota of 5"
    assert "vpc-max-elastic-ips" in eips.saw and "--quota-code L-0263D0A3 --desired-value 6" in eips.fix
    assert only(results, "ec2.elastic-ips", "us-east-2").status == "ok"
    # natStrategy single needs one
    single = run(config_of("prod", lambda ns: ns["network"].update(natStrategy="single")), empty_account(1000))
    assert only(single, "ec2.elastic-ips", "us-east-1").status == "ok"


def test_vpcs_at_the_quota_fail_and_the_stacks_own_do_not_count(aws: str):
    ec2 = client("ec2")
    for i in range(4):
        ec2.create_vpc(CidrBlock=f"10.{100 + i}.0.0/16")
    result = only(run(config_of(), empty_account(1000)), "vpc.quota", "us-east-1")
    assert result.status == "fail" and result.title == "VPCs: 5 in use + 1 for the stack = 6, over the quota of 5"
    assert 'Service Quotas vpc L-F678F1CE "VPCs per Region": 5' in result.saw

    # One of them is the stack's (its provider's default tags): deployed already, not new.
    vpc = ec2.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.100.0.0/16"]}])["Vpcs"][0]["VpcId"]
    ec2.create_tags(Resources=[vpc], Tags=[{"Key": "project", "Value": PROJECT}, {"Key": "stack", "Value": "prod"},
                                           {"Key": "managed-by", "Value": "pulumi/devops-platform"}])  # fmt: skip
    result = only(run(config_of(), empty_account(1000)), "vpc.quota", "us-east-1")
    assert result.status == "ok" and "4 VPCs not the stack's and 1 of the stack's" in result.saw


def test_nat_gateways_full_in_a_zone_fail(aws: str):
    ec2 = client("ec2", "us-east-2")
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-2a"]}, {"Name": "default-for-az", "Values": ["true"]}])["Subnets"][0]["SubnetId"]  # fmt: skip
    for _ in range(5):
        ec2.create_nat_gateway(SubnetId=subnet)
    result = only(run(config_of(), empty_account(1000)), "vpc.nat-gateways", "us-east-2")
    assert result.status == "fail" and result.title == "NAT gateways per zone are at the quota of 5 in us-east-2a"
    assert "us-east-2a: 5, us-east-2b: 0" in result.saw


def test_more_zones_than_the_region_offers_fail(aws: str):
    cfg = config_of()
    regions = [cfg.regions[0], cfg.regions[1].model_copy(update={"az_count": 4})]
    result = only(run(cfg.model_copy(update={"regions": regions}), empty_account(1000)), "ec2.availability-zones", "us-east-2")
    assert result.status == "fail" and result.title == "azCount 4 needs 4 zones; the region offers 3"
