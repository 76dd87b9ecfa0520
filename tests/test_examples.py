"""The sample application (examples/app) matches the stack config, and its server behaves as ECS expects."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "examples" / "app"
STACKS = ("prod", "dev")


def configured_services(stack: str) -> dict[str, int]:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {s["name"]: s["port"] for s in config["devops-platform:services"]}


def dockerfile_values(service: str, instruction: str) -> list[str]:
    """The arguments of every ``instruction`` line in a service's Dockerfile."""
    text = (APP / service / "Dockerfile").read_text()
    return re.findall(rf"^{instruction}\s+(.+?)\s*$", text, flags=re.MULTILINE)


def env_value(service: str, name: str) -> str | None:
    values = [v.split("=", 1)[1] for v in dockerfile_values(service, "ENV") if v.startswith(f"{name}=")]
    assert len(values) <= 1, f"{service}: ENV {name} set more than once"
    return values[0] if values else None


ALL_SERVICES = sorted({name for stack in STACKS for name in configured_services(stack)})


@pytest.mark.parametrize("stack", STACKS)
def test_every_configured_service_has_a_matching_directory(stack: str):
    for name, port in configured_services(stack).items():
        assert (APP / name / "Dockerfile").is_file(), f"{stack}: no examples/app/{name}/Dockerfile"
        assert (APP / name / "server.py").is_file(), f"{stack}: no examples/app/{name}/server.py"
        assert env_value(name, "PORT") == str(port), f"{stack}: {name}'s ENV PORT is not {port}"
        assert dockerfile_values(name, "EXPOSE") == [str(port)], f"{stack}: {name} does not EXPOSE {port}"
        assert env_value(name, "SERVICE_NAME") == name


def test_no_directories_beyond_the_services():
    entries = {p.name for p in APP.iterdir()}
    assert entries - {"README.md"} == set(ALL_SERVICES)
    assert all((APP / name).is_dir() for name in ALL_SERVICES)


@pytest.mark.parametrize("service", ALL_SERVICES)
def test_dockerfile_uses_ecr_public_and_a_non_root_user(service: str):
    (base,) = dockerfile_values(service, "FROM")
    assert base.startswith("public.ecr.aws/"), base
    users = dockerfile_values(service, "USER")
    assert users, f"{service}: no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}, users[-1]
    assert env_value(service, "PYTHONDONTWRITEBYTECODE") == "1"
    assert dockerfile_values(service, "CMD") == ['["python", "-u", "server.py"]']


def test_server_files_are_identical():
    reference = (APP / "auth" / "server.py").read_bytes()
    assert [s for s in ALL_SERVICES if (APP / s / "server.py").read_bytes() != reference] == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.loads(response.read())


def test_server_answers_health_and_paths_then_stops_on_sigterm():
    port = free_port()
    env = {"PORT": str(port), "SERVICE_NAME": "auth", "AWS_REGION": "us-east-2", "ENVIRONMENT": "test"}
    proc = subprocess.Popen(
        [sys.executable, "-u", str(APP / "auth" / "server.py")],
        env={**os.environ, **env, "PYTHONDONTWRITEBYTECODE": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, f"server exited early: {proc.communicate()}"
            try:
                health = get(f"{base}/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline, "server did not answer within 15 s"
                time.sleep(0.1)
        assert health == (200, {"status": "ok"})
        status, body = get(f"{base}/api/auth/login")
        assert status == 200
        assert body == {
            "service": "auth",
            "path": "/api/auth/login",
            "region": "us-east-2",
            "environment": "test",
        }

        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=10)
        assert proc.returncode == 0, stderr
        logged = [json.loads(line) for line in stdout.splitlines()]
        assert {"method": "GET", "path": "/api/auth/login", "status": 200} in logged
        assert stderr == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
