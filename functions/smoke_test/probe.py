"""One HTTP request to the test listener, and what its outcome means for a deployment."""

from __future__ import annotations

import http.client
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

# The load balancer's own answers while no new task is healthy yet: retried, not judged. An
# application's 5XX is judged (the ALB marks its own with "Server: awselb/...").
_UNAVAILABLE = (502, 503, 504)
_BODY_LIMIT = 512


@dataclass(frozen=True)
class Outcome:
    """What one request found.

    ``status`` is None when no HTTP answer came back. ``retry`` says the new tasks may not be
    ready yet (a refused or timed-out connection, or the load balancer's own 502/503/504), as
    opposed to an answer or a fault that waiting cannot change.
    """

    status: int | None
    retry: bool
    detail: str
    seconds: float


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A smoke test judges the answer it gets: a redirect is an answer, never followed elsewhere.
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def request(url: str, timeout: float) -> Outcome:
    """GET ``url`` once, within ``timeout`` seconds; TLS certificates and names are verified."""
    started = time.monotonic()
    req = urllib.request.Request(url, headers={"User-Agent": "devops-platform-smoke-test"})
    try:
        with _OPENER.open(req, timeout=timeout) as response:
            status, server = response.status, response.headers.get("Server", "")
            body = response.read(_BODY_LIMIT)
    except urllib.error.HTTPError as answer:
        status, server = answer.code, answer.headers.get("Server", "") if answer.headers else ""
        body = answer.read(_BODY_LIMIT) if answer.fp else b""
    except urllib.error.URLError as error:
        return _fault(error.reason, started)
    except (OSError, http.client.HTTPException) as error:
        # Timeouts, resets and half-written answers while the tasks start or stop.
        return _fault(error, started)
    elapsed = time.monotonic() - started
    from_balancer = server.lower().startswith("awselb")
    text = body.decode("utf-8", "replace").strip().replace("\n", " ")[:200]
    source = "the load balancer" if from_balancer else "the service"
    return Outcome(
        status=status,
        retry=from_balancer and status in _UNAVAILABLE,
        detail=f"{source} answered {status}" + (f": {text}" if text else ""),
        seconds=elapsed,
    )


def _fault(reason: object, started: float) -> Outcome:
    elapsed = time.monotonic() - started
    # A certificate that does not verify will not fix itself while the tasks start.
    if isinstance(reason, ssl.SSLError | ssl.CertificateError):
        return Outcome(None, False, f"TLS failed: {reason}", elapsed)
    if isinstance(reason, TimeoutError | socket.timeout):
        return Outcome(None, True, f"no answer within the timeout ({elapsed:.1f} s)", elapsed)
    return Outcome(None, True, f"no connection: {reason}", elapsed)
