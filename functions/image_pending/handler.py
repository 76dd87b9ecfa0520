"""What a service on Lambda answers until its pipeline has published an image.

Lambda runs only images that are in the account's ECR, and a service's repository is empty until
its pipeline's first release. Until then the function is this stub: every request to the
service's path gets a 503 with a JSON body naming the service, the SSM parameter the image will
be recorded in, and what happens next. Only the standard library; nothing is called or written.
"""

from __future__ import annotations

import json
import os
from typing import Any

RETRY_AFTER_SECONDS = 300


def handler(event: Any, context: Any) -> dict[str, Any]:
    service = os.environ.get("SERVICE_NAME", "this service")
    parameter = os.environ.get("IMAGE_PARAMETER", "its image parameter")
    body = {
        "error": "service image not published yet",
        "service": service,
        "imageParameter": parameter,
        "next": (
            f"The pipeline's first release builds {service}'s image and records it in {parameter}; "
            "the next `pulumi up` then runs that image on this function."
        ),
    }
    if isinstance(event, dict) and isinstance(event.get("path"), str):
        body["path"] = event["path"]
    head = isinstance(event, dict) and event.get("httpMethod") == "HEAD"
    return {
        "statusCode": 503,
        "statusDescription": "503 Service Unavailable",
        "isBase64Encoded": False,
        "headers": {
            "Content-Type": "application/json",
            "Retry-After": str(RETRY_AFTER_SECONDS),
            "Cache-Control": "no-store",
        },
        "body": "" if head else json.dumps(body, sort_keys=True),
    }
