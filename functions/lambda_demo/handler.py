"""The /lambda/* endpoint behind the shared ALB (seed 003), and an SNS subscriber (seed 000).

An ALB target-group event gets an ALB response: JSON saying where it ran. An SNS event has each
message logged as one JSON line. Only the standard library at run time.
"""

from __future__ import annotations

import json
import os
from typing import Any

_METHODS = ("GET", "HEAD")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") if isinstance(event, dict) else None
    if isinstance(records, list) and records and all(_is_sns(r) for r in records):
        return _sns(records)
    if not isinstance(event, dict):
        return _response(400, {"error": "expected an ALB request event with httpMethod and path"})
    path = event.get("path")
    method = event.get("httpMethod")
    if not isinstance(path, str) or not isinstance(method, str):
        # Not an ALB request (a test invoke from the console, say): say so instead of guessing.
        return _response(400, {"error": "expected an ALB request event with httpMethod and path"})
    if method not in _METHODS:
        return _response(405, {"error": f"method {method} not allowed", "allowed": list(_METHODS)}, allow=True)
    body = {
        "compute": "lambda",
        "path": path,
        "region": os.environ.get("AWS_REGION", "unknown"),
        "environment": os.environ.get("ENVIRONMENT", "unknown"),
        "requestId": getattr(context, "aws_request_id", None),
    }
    return _response(200, body, head=method == "HEAD")


def _is_sns(record: Any) -> bool:
    return isinstance(record, dict) and record.get("EventSource") == "aws:sns" and isinstance(record.get("Sns"), dict)


def _sns(records: list[dict[str, Any]]) -> dict[str, Any]:
    for record in records:
        sns = record["Sns"]
        # One JSON line per message; the function's log format is JSON, so this stays queryable.
        print(
            json.dumps(
                {
                    "event": "sns-message",
                    "topicArn": sns.get("TopicArn"),
                    "messageId": sns.get("MessageId"),
                    "subject": sns.get("Subject"),
                    "bytes": len(str(sns.get("Message", ""))),
                },
                sort_keys=True,
            )
        )
    return {"processed": len(records)}


def _response(status: int, body: dict[str, Any], *, head: bool = False, allow: bool = False) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    if allow:
        headers["Allow"] = ", ".join(_METHODS)
    return {
        "statusCode": status,
        "statusDescription": f"{status} {_REASONS[status]}",
        "isBase64Encoded": False,
        "headers": headers,
        "body": "" if head else json.dumps(body, sort_keys=True),
    }


_REASONS = {200: "OK", 400: "Bad Request", 405: "Method Not Allowed"}
