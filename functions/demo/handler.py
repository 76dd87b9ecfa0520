"""The /lambda/* endpoint behind the shared ALB (seed 003): answers JSON about where it ran.

ALB target-group event in, ALB response out. Only the standard library at run time.
"""

from __future__ import annotations

import json
import os
from typing import Any

_METHODS = ("GET", "HEAD")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
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
