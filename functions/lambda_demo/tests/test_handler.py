"""The demo function answers ALB events the way the ALB requires, with the seed's JSON body."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from functions.loading import load_module

handler_module = load_module("demo_handler", Path(__file__).parent.parent / "handler.py")

CONTEXT = SimpleNamespace(aws_request_id="req-1")


def alb_event(method: str = "GET", path: str = "/lambda/hello") -> dict:
    # The shape an ALB sends a Lambda target (multi-value headers off).
    return {
        "requestContext": {"elb": {"targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/demo-prod-abc123/0123456789abcdef"}},
        "httpMethod": method,
        "path": path,
        "queryStringParameters": {},
        "headers": {"host": "app.example.com"},
        "body": "",
        "isBase64Encoded": False,
    }


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "us-east-2")
    monkeypatch.setenv("ENVIRONMENT", "prod")


def test_get_answers_with_compute_path_and_region():
    response = handler_module.handler(alb_event(path="/lambda/health"), CONTEXT)
    assert response["statusCode"] == 200
    assert response["statusDescription"] == "200 OK"
    assert response["isBase64Encoded"] is False
    assert response["headers"]["Content-Type"] == "application/json"
    body = json.loads(response["body"])
    assert body == {
        "compute": "lambda",
        "path": "/lambda/health",
        "region": "us-east-2",
        "environment": "prod",
        "requestId": "req-1",
    }


def test_head_has_no_body():
    response = handler_module.handler(alb_event(method="HEAD"), CONTEXT)
    assert response["statusCode"] == 200 and response["body"] == ""


def test_other_methods_are_refused_with_allow_header():
    response = handler_module.handler(alb_event(method="POST"), CONTEXT)
    assert response["statusCode"] == 405
    assert response["headers"]["Allow"] == "GET, HEAD"
    assert "POST" in json.loads(response["body"])["error"]


@pytest.mark.parametrize("event", [{}, {"path": "/x"}, {"httpMethod": "GET"}, {"httpMethod": 1, "path": "/x"}])
def test_a_non_alb_event_is_a_clear_400(event: dict):
    response = handler_module.handler(event, CONTEXT)
    assert response["statusCode"] == 400
    assert "ALB request" in json.loads(response["body"])["error"]


def test_sns_messages_are_logged_one_json_line_each(capsys: pytest.CaptureFixture[str]):
    event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "MessageId": f"m{i}", "Subject": None, "Message": "hello"},
            }
            for i in range(2)
        ]
    }
    assert handler_module.handler(event, CONTEXT) == {"processed": 2}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["messageId"] for line in lines] == ["m0", "m1"]
    assert all(line["event"] == "sns-message" and line["bytes"] == 5 for line in lines)


def test_records_that_are_not_sns_are_not_taken_for_sns():
    response = handler_module.handler({"Records": [{"EventSource": "aws:sqs"}]}, CONTEXT)
    assert response["statusCode"] == 400
