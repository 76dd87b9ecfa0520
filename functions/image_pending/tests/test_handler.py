"""The stub a service on Lambda runs until its first image: a 503 that says what happens next."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.loading import load_module

handler = load_module("image_pending_handler", Path(__file__).resolve().parent.parent / "handler.py")


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_NAME", "auth")
    monkeypatch.setenv("IMAGE_PARAMETER", "/devops-platform-dev/images/auth")


def _alb(method: str = "GET", path: str = "/api/auth/login") -> dict[str, object]:
    return {
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/x/1"}},
        "httpMethod": method,
        "path": path,
        "headers": {"host": "example"},
        "body": "",
        "isBase64Encoded": False,
    }


def test_a_request_gets_a_503_naming_the_service_its_parameter_and_what_happens_next():
    response = handler.handler(_alb(), None)
    assert response["statusCode"] == 503
    assert response["statusDescription"] == "503 Service Unavailable"
    assert response["headers"]["Content-Type"] == "application/json"
    assert int(response["headers"]["Retry-After"]) > 0
    body = json.loads(response["body"])
    assert body["service"] == "auth"
    assert body["imageParameter"] == "/devops-platform-dev/images/auth"
    assert body["path"] == "/api/auth/login"
    assert "/devops-platform-dev/images/auth" in body["next"] and "pulumi up" in body["next"]


def test_a_head_request_gets_the_status_without_a_body():
    response = handler.handler(_alb("HEAD"), None)
    assert response["statusCode"] == 503
    assert response["body"] == ""


@pytest.mark.parametrize("event", [None, "text", [], {"Records": []}, {"path": 7, "httpMethod": None}])
def test_any_other_event_gets_the_same_503_and_nothing_breaks(event: object):
    response = handler.handler(event, None)
    assert response["statusCode"] == 503
    body = json.loads(response["body"])
    assert body["service"] == "auth" and "path" not in body


def test_the_same_request_twice_gets_the_same_answer():
    assert handler.handler(_alb(), None) == handler.handler(_alb(), None)
