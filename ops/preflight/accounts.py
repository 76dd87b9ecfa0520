"""The credentials each region is checked with, and the read-only clients made from them.

The ambient credentials (``AWS_PROFILE``, SSO, environment) are used as boto3 finds them, and
``AWS_ENDPOINT_URL`` is honoured by boto3 itself (the tests point it at moto). A region with
``assumeRoleArn`` is checked as that role, as the program's provider would act: the preflight
assumes it with a session policy that admits only :data:`READ_ACTIONS`, so even a role that may
write can do nothing through the preflight's session but read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from stack_config import RegionConfig

SESSION_NAME = "devops-platform-preflight"

# Every action the preflight calls (sts:GetCallerIdentity needs no permission). An assumed role's
# session policy admits these only; tests check every call made is one of them.
READ_ACTIONS = (
    "acm:DescribeCertificate",
    "codecommit:ListRepositories",
    "codeconnections:GetConnection",
    "codestar-connections:GetConnection",
    "ec2:DescribeAccountAttributes",
    "ec2:DescribeAddresses",
    "ec2:DescribeAvailabilityZones",
    "ec2:DescribeInternetGateways",
    "ec2:DescribeNatGateways",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "iam:GetRole",
    "lambda:GetAccountSettings",
    "lambda:GetFunctionConcurrency",
    "route53:GetHostedZone",
    "route53:ListHostedZones",
    "servicequotas:GetAWSDefaultServiceQuota",
    "servicequotas:GetServiceQuota",
    "servicequotas:ListRequestedServiceQuotaChangeHistoryByQuota",
    "sns:ListSubscriptionsByTopic",
)

# Few retries and short timeouts: a preflight should answer in seconds, and a throttled or
# unreachable endpoint is reported, not waited out.
CLIENT_CONFIG = Config(
    retries={"max_attempts": 2, "mode": "standard"},
    connect_timeout=5,
    read_timeout=20,
    user_agent_extra="devops-platform-preflight",
)

# Error codes that mean "not allowed to look", across the services used.
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
        "AuthorizationErrorException", "UnauthorizedException", "NotAuthorized",
    }
)  # fmt: skip

SessionFactory = Callable[..., boto3.Session]


def session_policy() -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": list(READ_ACTIONS), "Resource": "*"}]},
        separators=(",", ":"),
    )


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or "ClientError"
    return type(exc).__name__


def error_text(exc: BaseException) -> str:
    """``Code: message`` on one line."""
    if isinstance(exc, ClientError):
        message = str(exc.response.get("Error", {}).get("Message", "")).strip().splitlines()
        first = message[0] if message else ""
        return f"{error_code(exc)}: {first}" if first else error_code(exc)
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")


def is_denied(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in ACCESS_DENIED_CODES


AwsError = (ClientError, BotoCoreError)


@dataclass
class Access:
    """One set of credentials: who they are and the clients made from them."""

    session: boto3.Session
    account: str
    arn: str
    role_arn: str | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self.session.client(service, region_name=region, config=CLIENT_CONFIG)
        return self._clients[key]


class AccessError(Exception):
    """Credentials that cannot be used: the message is one line."""


class Accounts:
    """The ambient credentials, and each region's (the same, or its role assumed read-only)."""

    def __init__(self, new_session: SessionFactory = boto3.Session) -> None:
        self._new_session = new_session
        self._ambient: Access | None = None
        self._roles: dict[str, Access] = {}

    def ambient(self, region: str) -> Access:
        if self._ambient is None:
            session = self._new_session(region_name=region)
            try:
                who = session.client("sts", region_name=region, config=CLIENT_CONFIG).get_caller_identity()
            except AwsError as exc:
                raise AccessError(f"no usable AWS credentials ({error_text(exc)})") from None
            self._ambient = Access(session, who["Account"], who["Arn"])
        return self._ambient

    def for_region(self, region: RegionConfig) -> Access:
        base = self.ambient(region.name)
        role = region.assume_role_arn
        if role is None:
            return base
        if role not in self._roles:
            sts = base.client("sts", region.name)
            try:
                creds = sts.assume_role(
                    RoleArn=role, RoleSessionName=SESSION_NAME, Policy=session_policy(), DurationSeconds=900
                )["Credentials"]
            except AwsError as exc:
                raise AccessError(f"cannot assume {role} as {base.arn} ({error_text(exc)})") from None
            session = self._new_session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=region.name,
            )
            try:
                who = session.client("sts", region_name=region.name, config=CLIENT_CONFIG).get_caller_identity()
            except AwsError as exc:
                raise AccessError(f"assumed {role} but cannot use it ({error_text(exc)})") from None
            self._roles[role] = Access(session, who["Account"], who["Arn"], role_arn=role)
        return self._roles[role]
