"""A Python Lambda function driven by EventBridge rules, with nowhere for a failed event to vanish.

Not used on its own by the program: :class:`~components.task_launcher.TaskLauncher` and
:class:`~components.repo_replicator.RepoReplicator` each wrap one with their rules and IAM.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from . import iam
from .python_function import execution_role, log_group, python_function

# EventBridge's defaults are 185 attempts over 24 h; an event an hour old is better parked.
EVENT_MAX_AGE_SECONDS = 3600
EVENT_RETRY_ATTEMPTS = 8
DEAD_LETTER_RETENTION_SECONDS = 14 * 24 * 3600
RULE_NAME_MAX = 64


def bounded_name(name: str, limit: int) -> str:
    """``name``, or when it is longer than ``limit`` its head and a hash of the whole, so that
    distinct long names stay distinct and stable."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: limit - 9]}-{digest}"


def dead_letter_queue(name: str, opts: pulumi.ResourceOptions) -> aws.sqs.Queue:
    """``{name}-dead-letters``: where events that could not be delivered or handled wait, encrypted
    (SQS.1, SSE-SQS) and kept 14 days."""
    return aws.sqs.Queue(
        f"{name}-dead-letters",
        sqs_managed_sse_enabled=True,
        message_retention_seconds=DEAD_LETTER_RETENTION_SECONDS,
        opts=opts,
    )


def admit_rules(
    name: str, queue: aws.sqs.Queue, rule_arns: Sequence[pulumi.Input[str]], sid: str, opts: pulumi.ResourceOptions
) -> aws.sqs.QueuePolicy:
    """``{name}-dead-letters-policy``: EventBridge may send to the queue, for these rules only, and
    nothing reaches the queue without TLS."""
    return aws.sqs.QueuePolicy(
        f"{name}-dead-letters-policy",
        queue_url=queue.url,
        policy=iam.document(
            [
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"Service": "events.amazonaws.com"},
                    "Action": "sqs:SendMessage",
                    "Resource": queue.arn,
                    "Condition": {"ArnEquals": {"aws:SourceArn": list(rule_arns)}},
                },
                iam.deny_insecure_transport("sqs:*", queue.arn),
            ]
        ),
        opts=opts,
    )


def event_retries() -> aws.cloudwatch.EventTargetRetryPolicyArgs:
    return aws.cloudwatch.EventTargetRetryPolicyArgs(
        maximum_event_age_in_seconds=EVENT_MAX_AGE_SECONDS, maximum_retry_attempts=EVENT_RETRY_ATTEMPTS
    )


@dataclass(frozen=True)
class EventRule:
    """One EventBridge rule that invokes the function.

    Attributes:
        key: Stable role name (``requests``, ``schedule-morning``): the rule's logical name is
            ``{name}-{key}``.
        description: The rule's description.
        event_pattern: An event pattern (values may be Outputs), or None for a schedule.
        schedule_expression: ``cron(...)`` / ``rate(...)``, or None for a pattern.
        input_paths / input_template: An input transformer for the target, or None (default) to
            pass the event through.
    """

    key: str
    description: str
    event_pattern: Mapping[str, Any] | None = None
    schedule_expression: str | None = None
    input_paths: Mapping[str, str] | None = None
    input_template: str | None = None

    def __post_init__(self) -> None:
        if (self.event_pattern is None) == (self.schedule_expression is None):
            raise ValueError(f"rule {self.key}: give event_pattern or schedule_expression, not both")
        if (self.input_paths is None) != (self.input_template is None):
            raise ValueError(f"rule {self.key}: input_paths and input_template go together")


@dataclass(frozen=True)
class EventFunctionArgs:
    """Inputs of :class:`EventFunction`.

    Attributes:
        function_name: Physical name (at most 64 characters).
        code_path: ``functions/<name>``; its top-level ``.py`` files are packaged.
        description: The function's description.
        rules: The EventBridge rules that invoke it (at least one).
        statements: IAM statements the code needs, besides writing its logs and parking failed
            events (both added here). Each names its resources.
        environment: Environment variables (values may be Outputs). Default none.
        handler / runtime: Default ``handler.handler`` / ``python3.13``.
        memory_mb / timeout_seconds: Default 256 / 300.
        reserved_concurrency: Reserved executions, or None (default) for the shared pool. 1
            serializes the events.
        async_retries: Lambda's own retries of a failed invocation, 0-2 (default 2). 0 for code
            whose retry could not succeed.
        log_retention_days: Default 365.
    """

    function_name: str
    code_path: Path
    description: str
    rules: Sequence[EventRule]
    statements: Sequence[Mapping[str, Any]] = ()
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    handler: str = "handler.handler"
    runtime: str = "python3.13"
    memory_mb: int = 256
    timeout_seconds: int = 300
    reserved_concurrency: int | None = None
    async_retries: int = 2
    log_retention_days: int = 365

    def __post_init__(self) -> None:
        if not (self.code_path / "handler.py").is_file():
            raise ValueError(f"code_path {self.code_path} has no handler.py")
        if not self.rules:
            raise ValueError("an event function needs at least one rule")
        keys = [r.key for r in self.rules]
        if len(set(keys)) != len(keys):
            raise ValueError(f"rule keys must be unique: {keys}")
        if not 0 <= self.async_retries <= 2:
            raise ValueError("async_retries is 0, 1 or 2")
        if len(self.function_name) > 64:
            raise ValueError(f"function name {self.function_name!r} is over 64 characters")


class EventFunction(pulumi.ComponentResource):
    """A Lambda function and the EventBridge rules that invoke it.

    Creates, with ``name`` as the prefix:

    - ``{name}-logs``: ``/aws/lambda/{function_name}`` with retention; the code logs JSON lines.
    - ``{name}-dead-letters``: an SQS queue (SSE-SQS, 14 days) where every event that could not be
      handled ends: events EventBridge failed to deliver, and invocations that failed after
      Lambda's retries. ``{name}-dead-letters-policy`` admits only this function's rules.
    - ``{name}-role`` / ``{name}-policy``: its logs, the queue, and ``statements``.
    - ``{name}-function``, and ``{name}-async``: retries and the queue as on-failure destination.
    - per rule: ``{name}-{key}`` (named ``{function_name}-{key}``, hashed down to 64 characters
      if longer), ``{name}-{key}-permission`` (invoke, only from that rule) and
      ``{name}-{key}-target`` (retry policy, the queue as dead-letter queue).
    """

    def __init__(self, name: str, args: EventFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:events:EventFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        logs = log_group(name, args, child)
        dead_letters = dead_letter_queue(name, child)
        execution = execution_role(
            name,
            args,
            logs,
            [
                {
                    # Lambda delivers a failed asynchronous invocation with the function's role.
                    "Sid": "ParkFailedEvents",
                    "Effect": "Allow",
                    "Action": "sqs:SendMessage",
                    "Resource": dead_letters.arn,
                },
                *args.statements,
            ],
            child,
        )
        function = python_function(name, args, execution, self, description=args.description)
        aws.lambda_.FunctionEventInvokeConfig(
            f"{name}-async",
            function_name=function.name,
            maximum_retry_attempts=args.async_retries,
            maximum_event_age_in_seconds=EVENT_MAX_AGE_SECONDS,
            destination_config=aws.lambda_.FunctionEventInvokeConfigDestinationConfigArgs(
                on_failure=aws.lambda_.FunctionEventInvokeConfigDestinationConfigOnFailureArgs(destination=dead_letters.arn)
            ),
            opts=child,
        )

        rules = [self._rule(name, args, rule, function, dead_letters) for rule in args.rules]
        admit_rules(name, dead_letters, [r.arn for r in rules], "UndeliveredEventsOfThisFunction", child)

        self.function_name = function.name
        self.function_arn = function.arn
        self.role_arn = execution.role.arn
        self.dead_letter_queue_arn = dead_letters.arn
        self.dead_letter_queue_name = dead_letters.name
        self.rule_names = {rule.key: r.name for rule, r in zip(args.rules, rules, strict=True)}
        self.outputs: dict[str, pulumi.Input[object]] = {
            "function_name": function.name,
            "function_arn": function.arn,
            "log_group_name": logs.name,
            "dead_letter_queue_url": dead_letters.url,
            "dead_letter_queue_arn": dead_letters.arn,
            "rule_names": self.rule_names,
        }
        self.register_outputs(self.outputs)

    def _rule(
        self,
        name: str,
        args: EventFunctionArgs,
        rule: EventRule,
        function: aws.lambda_.Function,
        dead_letters: aws.sqs.Queue,
    ) -> aws.cloudwatch.EventRule:
        child = pulumi.ResourceOptions(parent=self)
        resource = aws.cloudwatch.EventRule(
            f"{name}-{rule.key}",
            # Auto-naming would append 8 characters to the logical name, past EventBridge's 64.
            name=bounded_name(f"{args.function_name}-{rule.key}", RULE_NAME_MAX),
            description=rule.description,
            event_pattern=pulumi.Output.json_dumps(rule.event_pattern) if rule.event_pattern is not None else None,
            schedule_expression=rule.schedule_expression,
            opts=child,
        )
        permission = aws.lambda_.Permission(
            f"{name}-{rule.key}-permission",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="events.amazonaws.com",
            source_arn=resource.arn,
            opts=child,
        )
        aws.cloudwatch.EventTarget(
            f"{name}-{rule.key}-target",
            rule=resource.name,
            # Unique within its rule is enough; an auto-named id would exceed 64 characters.
            target_id="function",
            arn=function.arn,
            retry_policy=event_retries(),
            dead_letter_config=aws.cloudwatch.EventTargetDeadLetterConfigArgs(arn=dead_letters.arn),
            input_transformer=aws.cloudwatch.EventTargetInputTransformerArgs(
                input_paths=dict(rule.input_paths or {}), input_template=rule.input_template or ""
            )
            if rule.input_template is not None
            else None,
            # An event matched before the permission exists would fail to invoke.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        return resource
