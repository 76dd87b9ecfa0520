"""IAM policy documents built from Outputs, and the account context the policies need.

Not a component: helpers shared by the components that create roles and resource policies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi


@dataclass(frozen=True)
class AwsContext:
    """Where a region's resources live, as AWS reports it (never written by hand).

    Attributes:
        region: The region code, from the validated stack config.
        account_id: The account the region's provider acts in (``get_caller_identity_output``).
        partition: ``aws``, ``aws-cn`` or ``aws-us-gov`` (``get_partition_output``).
    """

    region: str
    account_id: pulumi.Input[str]
    partition: pulumi.Input[str]

    def arn(self, service: str, resource: str, *, regional: bool = True) -> pulumi.Output[str]:
        """``arn:{partition}:{service}:{region}:{account}:{resource}`` from the context's Outputs."""
        region = self.region if regional else ""
        return pulumi.Output.concat("arn:", self.partition, f":{service}:{region}:", self.account_id, ":", resource)


def document(statements: Sequence[Mapping[str, Any]]) -> pulumi.Output[str]:
    """A policy document; statement values may be Outputs."""
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": list(statements)})


def service_trust(service: str, ctx: AwsContext, source_arn: pulumi.Input[str] | None = None) -> pulumi.Output[str]:
    """A trust policy for an AWS service principal, limited to this account (confused-deputy guard)."""
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": ctx.account_id}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return document(
        [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": condition,
            }
        ]
    )


def delegate_key_to_iam(ctx: AwsContext) -> dict[str, Any]:
    """AWS's default key policy statement: the account (root) may use and manage the key, which
    delegates every other grant to IAM policies. Without it a key can become unmanageable (a
    written exception to IAM.21, docs/security.md)."""
    return {
        "Sid": "DelegateToIam",
        "Effect": "Allow",
        "Principal": {"AWS": pulumi.Output.concat("arn:", ctx.partition, ":iam::", ctx.account_id, ":root")},
        "Action": "kms:*",
        "Resource": "*",
    }


def deny_insecure_transport(actions: str | Sequence[str], resources: pulumi.Input[Any]) -> dict[str, Any]:
    """Deny ``actions`` on ``resources`` to any request not made over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": actions if isinstance(actions, str) else list(actions),
        "Resource": resources,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def tls_only_statement(bucket_arn: pulumi.Input[str]) -> dict[str, Any]:
    """Deny any request to the bucket that is not over TLS (Security Hub S3.5)."""
    return deny_insecure_transport("s3:*", [bucket_arn, pulumi.Output.concat(bucket_arn, "/*")])


# What a topic's TLS-only statement denies: publishing and subscribing, the two SNS actions a client
# sends to the topic itself (deliveries to subscribers are SNS's own, over the subscription's protocol).
SNS_TLS_ACTIONS = ("sns:Publish", "sns:Subscribe")
