"""The region's notifications topic: where approvals, failed pipeline runs and alarms go."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from . import iam

# AWS services that publish to the topic on this account's behalf: EventBridge rules (approvals'
# and failed runs' notices), CloudWatch alarms and CodeStar notifications. None of them can use the
# AWS-managed alias/aws/sns key, so the topic has a customer-managed key that grants them use.
PUBLISHING_SERVICES = ("cloudwatch.amazonaws.com", "codestar-notifications.amazonaws.com", "events.amazonaws.com")


@dataclass(frozen=True)
class NotificationsSettings:
    """The topic's settings: plain data, from the validated stack config.

    Attributes:
        topic_name: The topic's physical name, for example ``devops-platform-prod-notifications``.
        emails: Addresses to subscribe; each gets a confirmation email from AWS. Default none.
    """

    topic_name: str
    emails: Sequence[str] = ()


@dataclass(frozen=True)
class NotificationsArgs:
    """Inputs of :class:`Notifications`.

    Attributes:
        settings: What the topic is (:class:`NotificationsSettings`).
        context: Account, partition and region.
    """

    settings: NotificationsSettings
    context: iam.AwsContext


class Notifications(pulumi.ComponentResource):
    """An encrypted SNS topic that this account's EventBridge rules, CloudWatch alarms and CodeStar
    notifications may publish to.

    Creates, with ``name`` as the prefix:

    - ``{name}-key`` and ``{name}-key-alias`` (``alias/{topic_name}``): a customer-managed KMS key
      with rotation, whose policy delegates to IAM and lets those publishers encrypt messages.
    - ``{name}-topic``: the topic, encrypted with that key.
    - ``{name}-topic-policy``: EventBridge rules, CodeStar notifications and CloudWatch alarms of
      this account (alarms: of this region) may publish; requests without TLS are denied.
    - ``{name}-email-{address}``: one email subscription per address.
    """

    topic_arn: pulumi.Output[str]
    key_arn: pulumi.Output[str]

    def __init__(self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:observability:Notifications", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ctx = args.context
        this_account = {"StringEquals": {"aws:SourceAccount": ctx.account_id}}
        key = aws.kms.Key(
            f"{name}-key",
            description=f"Encrypts the {args.settings.topic_name} topic",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=iam.document(
                [
                    iam.delegate_key_to_iam(ctx),
                    {
                        # No aws:SourceAccount condition here: SNS calls KMS on the publisher's
                        # behalf, and AWS's documented statement for this case has none. The
                        # topic policy decides who may publish.
                        "Sid": "PublishingServices",
                        "Effect": "Allow",
                        "Principal": {"Service": list(PUBLISHING_SERVICES)},
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "Resource": "*",
                    },
                ]
            ),
            opts=child,
        )
        aws.kms.Alias(f"{name}-key-alias", name=f"alias/{args.settings.topic_name}", target_key_id=key.key_id, opts=child)
        topic = aws.sns.Topic(f"{name}-topic", name=args.settings.topic_name, kms_master_key_id=key.arn, opts=child)
        aws.sns.TopicPolicy(
            f"{name}-topic-policy",
            arn=topic.arn,
            policy=iam.document(
                [
                    {
                        "Sid": "RulesAndNotificationsOfThisAccount",
                        "Effect": "Allow",
                        "Principal": {"Service": ["events.amazonaws.com", "codestar-notifications.amazonaws.com"]},
                        "Action": "sns:Publish",
                        "Resource": topic.arn,
                        "Condition": this_account,
                    },
                    {
                        "Sid": "AlarmsOfThisAccount",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudwatch.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": topic.arn,
                        "Condition": {
                            **this_account,
                            "ArnLike": {"aws:SourceArn": ctx.arn("cloudwatch", "alarm:*")},
                        },
                    },
                    iam.deny_insecure_transport(iam.SNS_TLS_ACTIONS, topic.arn),
                ]
            ),
            opts=child,
        )
        for address in args.settings.emails:
            aws.sns.TopicSubscription(f"{name}-email-{address}", topic=topic.arn, protocol="email", endpoint=address, opts=child)

        self.topic_arn = topic.arn
        self.key_arn = key.arn
        self.register_outputs({"notifications_topic_arn": self.topic_arn, "notifications_key_arn": self.key_arn})
