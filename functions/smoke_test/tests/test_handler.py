"""The smoke-test hook against a local HTTP server started here: what passes, what fails at once,
what is retried within waitSeconds, and bad hook events, which fail with a reason and request
nothing."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from functions.loading import load_function

smoke = load_function(Path(__file__).resolve().parent.parent)
handler = smoke.handler


@dataclass
class Reply:
    status: int = 200
    body: str = '{"status":"ok"}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Server:
    url: str
    replies: list[Reply]
    seen: list[str]

    def answer(self, *replies: Reply) -> None:
        """The replies to give, in order; the last one repeats."""
        self.replies[:] = list(replies)


@pytest.fixture
def server() -> Iterator[Server]:
    replies: list[Reply] = [Reply()]
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            reply = replies.pop(0) if len(replies) > 1 else replies[0]
            time.sleep(reply.delay)
            data = reply.body.encode()
            server_header = reply.headers.get("Server")
            if server_header:  # send_response writes the Server header itself
                self.version_string = lambda: server_header  # type: ignore[method-assign]
            self.send_response(reply.status)
            for key, value in reply.headers.items():
                if key != "Server":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}", replies, seen)
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    now = [1_000_000.0]
    monkeypatch.setattr(handler, "clock", lambda: now[0])
    return now


def event(url: str, **details: Any) -> dict[str, Any]:
    hook_details = {
        "service": "auth",
        "url": url,
        "expectedStatus": [200],
        "timeoutSeconds": 2,
        "waitSeconds": 300,
        **details,
    }
    return {
        "executionId": "exec-1",
        "lifecycleStage": "POST_TEST_TRAFFIC_SHIFT",
        "resourceArn": "arn:aws:ecs:us-east-1:123456789012:service-deployment/c/auth/abc",
        "executionDetails": {
            "serviceArn": "arn:aws:ecs:us-east-1:123456789012:service/c/auth",
            "targetServiceRevisionArn": "arn:aws:ecs:us-east-1:123456789012:service-revision/c/auth/2",
            "testTrafficWeights": {},
            "productionTrafficWeights": {},
        },
        "hookDetails": hook_details,
    }


def again(previous: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The next call, as ECS makes it: the configured details merged with what the last answer returned."""
    merged = dict(previous)
    merged["hookDetails"] = {**previous["hookDetails"], **answer["hookDetails"]}
    return merged


def refused_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/auth/health"


ALB_503 = Reply(503, "<html>503 Service Temporarily Unavailable</html>", {"Server": "awselb/2.0"})


def logs(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_an_expected_answer_passes_and_names_the_service(server: Server, clock: list[float], capsys):
    answer = handler.handler(event(server.url + "/api/auth/health"), None)
    assert answer["hookStatus"] == "SUCCEEDED"
    assert answer["hookDetails"]["reason"].startswith("auth: the service answered 200")
    assert server.seen == ["/api/auth/health"]
    (line,) = logs(capsys)
    assert (line["event"], line["hookStatus"], line["status"], line["service"]) == ("smoke-test", "SUCCEEDED", 200, "auth")
    # No state: the same call again gets the same verdict.
    assert handler.handler(event(server.url + "/api/auth/health"), None)["hookStatus"] == "SUCCEEDED"


@pytest.mark.parametrize("reply", [Reply(500, "boom"), Reply(404, "nope"), Reply(503, "app overloaded")])
def test_a_wrong_answer_from_the_service_fails_at_once(server: Server, clock: list[float], reply: Reply):
    server.answer(reply)
    answer = handler.handler(event(server.url + "/api/auth/health"), None)
    assert answer["hookStatus"] == "FAILED"
    assert f"the service answered {reply.status}" in answer["hookDetails"]["reason"]
    assert "expected 200" in answer["hookDetails"]["reason"]
    assert "callBackDelay" not in answer


def test_other_expected_codes_and_redirects_are_judged_not_followed(server: Server, clock: list[float]):
    server.answer(Reply(302, "", {"Location": "http://elsewhere.invalid/"}))
    assert handler.handler(event(server.url + "/x"), None)["hookStatus"] == "FAILED"
    assert handler.handler(event(server.url + "/x", expectedStatus=[302]), None)["hookStatus"] == "SUCCEEDED"
    server.answer(Reply(200))
    failed = handler.handler(event(server.url + "/x", expectedStatus=[204]), None)
    assert failed["hookStatus"] == "FAILED" and "expected 204" in failed["hookDetails"]["reason"]
    assert server.seen == ["/x", "/x", "/x"]  # never the redirect's location


def test_a_slow_start_is_in_progress_then_passes(server: Server, clock: list[float]):
    server.answer(ALB_503, ALB_503, Reply(200))
    first = event(server.url + "/api/auth/health")
    answer = handler.handler(first, None)
    assert answer["hookStatus"] == "IN_PROGRESS"
    assert answer["callBackDelay"] == 15
    assert answer["hookDetails"]["firstAttemptAt"] == clock[0] and answer["hookDetails"]["attempts"] == 1
    assert "the load balancer answered 503" in answer["hookDetails"]["reason"]
    clock[0] += 15
    second = again(first, answer)
    answer = handler.handler(second, None)
    assert answer["hookStatus"] == "IN_PROGRESS" and answer["hookDetails"]["attempts"] == 2
    assert answer["hookDetails"]["firstAttemptAt"] == clock[0] - 15  # kept from the first call
    clock[0] += 15
    answer = handler.handler(again(second, answer), None)
    assert answer["hookStatus"] == "SUCCEEDED" and "after 3 attempt(s)" in answer["hookDetails"]["reason"]


def test_waiting_ends_in_failure_once_wait_seconds_are_spent(server: Server, clock: list[float]):
    server.answer(ALB_503)
    call = event(server.url + "/api/auth/health", waitSeconds=60)
    statuses = []
    for _ in range(10):
        answer = handler.handler(call, None)
        statuses.append(answer["hookStatus"])
        if answer["hookStatus"] != "IN_PROGRESS":
            break
        clock[0] += answer["callBackDelay"]
        call = again(call, answer)
    # Calls at 0, 15, 30 and 45 s call back; the call at 60 s is the last, since another would
    # come after the 60 s.
    assert statuses == ["IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "FAILED"]
    assert "did not answer within 60 s (5 attempt(s))" in answer["hookDetails"]["reason"]


def test_refused_connections_are_retried_and_fail_without_wait(clock: list[float]):
    url = refused_url()
    retried = handler.handler(event(url), None)
    assert retried["hookStatus"] == "IN_PROGRESS" and "no connection" in retried["hookDetails"]["reason"]
    final = handler.handler(event(url, waitSeconds=0), None)
    assert final["hookStatus"] == "FAILED" and "no connection" in final["hookDetails"]["reason"]


def test_a_timeout_is_retried(server: Server, clock: list[float]):
    server.answer(Reply(200, delay=2.5))
    answer = handler.handler(event(server.url + "/slow", timeoutSeconds=1), None)
    assert answer["hookStatus"] == "IN_PROGRESS"
    assert "no answer within the timeout" in answer["hookDetails"]["reason"]


def _bad(**changes: Any) -> dict[str, Any]:
    call = event("http://127.0.0.1:9/x")
    for key, value in changes.items():
        if key in ("lifecycleStage", "hookDetails"):
            call[key] = value
        else:
            call["hookDetails"][key] = value
    return call


BAD_EVENTS = [
    ("not-an-object", ["POST_TEST_TRAFFIC_SHIFT"], "not an object"),
    ("wrong-stage", _bad(lifecycleStage="TEST_TRAFFIC_SHIFT"), "lifecycleStage is 'TEST_TRAFFIC_SHIFT'"),
    ("no-details", _bad(hookDetails=None), "hookDetails is missing"),
    ("details-not-json", _bad(hookDetails="{oops"), "hookDetails is not valid JSON"),
    ("unknown-key", _bad(retries=3), "unknown keys: retries"),
    ("no-service", _bad(service=""), "hookDetails.service"),
    ("not-http", _bad(url="ftp://example.com/x"), "hookDetails.url"),
    ("no-codes", _bad(expectedStatus=[]), "hookDetails.expectedStatus"),
    ("code-as-bool", _bad(expectedStatus=[True]), "hookDetails.expectedStatus"),
    ("code-out-of-range", _bad(expectedStatus=[700]), "hookDetails.expectedStatus"),
    ("timeout-zero", _bad(timeoutSeconds=0), "hookDetails.timeoutSeconds must be a number from 1 to 30"),
    ("timeout-text", _bad(timeoutSeconds="5"), "hookDetails.timeoutSeconds"),
    ("wait-negative", _bad(waitSeconds=-1), "hookDetails.waitSeconds must be a number from 0 to 3600"),
    ("attempts-text", _bad(attempts="x"), "hookDetails.attempts"),
    ("first-attempt-bool", _bad(firstAttemptAt=True), "hookDetails.firstAttemptAt"),
]


@pytest.mark.parametrize(("case", "bad", "reason"), BAD_EVENTS, ids=[c[0] for c in BAD_EVENTS])
def test_a_bad_event_fails_with_its_reason_and_requests_nothing(
    case: str, bad: Any, reason: str, server: Server, clock: list[float], capsys
):
    answer = handler.handler(bad, None)
    assert answer["hookStatus"] == "FAILED"
    assert answer["hookDetails"]["reason"].startswith("bad hook event: ")
    assert reason in answer["hookDetails"]["reason"]
    assert server.seen == []
    (line,) = logs(capsys)
    assert line["event"] == "bad-event" and reason in line["reason"]


def test_hook_details_may_arrive_as_json_text(server: Server, clock: list[float]):
    call = event(server.url + "/api/auth/health")
    call["hookDetails"] = json.dumps(call["hookDetails"])
    assert handler.handler(call, None)["hookStatus"] == "SUCCEEDED"


def test_an_unforeseen_fault_is_a_failure_with_its_reason_never_an_exception(
    server: Server, clock: list[float], monkeypatch: pytest.MonkeyPatch
):
    def broken(url: str, timeout: float) -> Any:
        raise RuntimeError("resolver exploded")

    monkeypatch.setattr(smoke.probe, "request", broken)
    answer = handler.handler(event(server.url + "/x"), None)
    assert answer == {
        "hookStatus": "FAILED",
        "hookDetails": {"reason": "auth: the smoke test itself failed: RuntimeError: resolver exploded"},
    }
