"""The buildspecs' commands, run in bash against stand-in ``aws`` and ``docker`` commands.

CodeBuild runs a buildspec's commands one after another in one shell; so does ``_run``. The
stand-ins record their arguments and answer as the AWS CLI would for the calls the specs make.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from components.buildspecs import ImageBuild, OnDemandImage, artifact_name, build_spec, release_spec

COMMIT = "4f2c0de1b2a3c4d5e6f708192a3b4c5d6e7f8091"
REGISTRY = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
AUTH = f"{REGISTRY}/devops-platform-prod/auth"
FA = f"{REGISTRY}/devops-platform-prod/fa"

FAKE_DOCKER = """#!/usr/bin/env bash
echo "docker $*" >> "$CALLS"
if [ "$1" = build ] && [ -n "${FAIL_BUILD:-}" ]; then exit 1; fi
if [ "$1" = login ]; then cat > /dev/null; fi
"""

FAKE_AWS = """#!/usr/bin/env bash
echo "aws $*" >> "$CALLS"
case "$1 $2" in
  "ecr get-login-password") echo secret ;;
  "ecr describe-images")
    for repo in ${EXISTING:-}; do [ "$4" = "$repo" ] && exit 0; done
    echo "ImageNotFoundException" >&2; exit 254 ;;
  "ecs describe-task-definition") cat "$TASKDEF" ;;
  "ecs register-task-definition") cp "${4#file://}" "$REGISTERED"; echo arn:aws:ecs:us-east-1:123456789012:task-definition/x:2 ;;
  "ssm put-parameter") ;;
  *) echo "unexpected: aws $*" >&2; exit 2 ;;
esac
"""


def _run(spec: str, workdir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    bin_dir = workdir / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("docker", FAKE_DOCKER), ("aws", FAKE_AWS)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    phases = yaml.safe_load(spec)["phases"]
    script = "\n".join(c for phase in ("pre_build", "build") for c in phases.get(phase, {}).get("commands", []))
    environment = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(workdir / "calls.log"),
        "AWS_REGION": "us-east-1",
        "CODEBUILD_RESOLVED_SOURCE_VERSION": COMMIT,
        **env,
    }
    return subprocess.run(["bash", "-c", script], cwd=workdir, env=environment, capture_output=True, text=True, timeout=60)


def _calls(workdir: Path) -> list[str]:
    log = workdir / "calls.log"
    return log.read_text().splitlines() if log.exists() else []


IMAGES = [ImageBuild("auth", AUTH, artifact_name("auth")), ImageBuild("fa", FA, None)]


def test_the_build_pushes_each_image_tagged_with_the_commit_and_writes_its_imagedefinitions(tmp_path: Path):
    result = _run(build_spec(IMAGES), tmp_path)
    assert result.returncode == 0, result.stderr
    calls = _calls(tmp_path)
    assert f"docker login --username AWS --password-stdin {REGISTRY}" in calls
    for url, directory in ((AUTH, "auth"), (FA, "fa")):
        assert f"docker build --tag {url}:{COMMIT} {directory}" in calls
        assert f"docker push {url}:{COMMIT}" in calls
    definitions = json.loads((tmp_path / "out/auth/imagedefinitions.json").read_text())
    assert definitions == [{"name": "auth", "imageUri": f"{AUTH}:{COMMIT}"}]
    # An on-demand service has no ECS deploy action, so no artifact.
    assert not (tmp_path / "out/fa").exists()


def test_with_a_base_image_cache_every_build_pulls_through_the_accounts_registry(tmp_path: Path):
    result = _run(build_spec(IMAGES, base_image_prefix="ecr-public-prod"), tmp_path)
    assert result.returncode == 0, result.stderr
    calls = _calls(tmp_path)
    # The registry the build logged in to, so the cached pulls use the same credentials.
    assert f"docker login --username AWS --password-stdin {REGISTRY}" in calls
    for url, directory in ((AUTH, "auth"), (FA, "fa")):
        assert f"docker build --build-arg BASE_REGISTRY={REGISTRY}/ecr-public-prod --tag {url}:{COMMIT} {directory}" in calls
    assert len([c for c in calls if c.startswith("docker build")]) == 2


def test_a_retried_commit_does_not_rebuild_an_image_whose_tag_exists(tmp_path: Path):
    result = _run(build_spec(IMAGES), tmp_path, EXISTING="devops-platform-prod/auth")
    assert result.returncode == 0, result.stderr
    calls = _calls(tmp_path)
    assert not [c for c in calls if c.startswith("docker build") and " auth" in c]
    assert f"docker build --tag {FA}:{COMMIT} fa" in calls
    # The deploy still gets its imagedefinitions, naming the existing image.
    assert json.loads((tmp_path / "out/auth/imagedefinitions.json").read_text())[0]["imageUri"] == f"{AUTH}:{COMMIT}"


def test_a_failed_docker_build_fails_the_build_before_anything_is_written(tmp_path: Path):
    result = _run(build_spec(IMAGES), tmp_path, FAIL_BUILD="1")
    assert result.returncode != 0
    assert not [c for c in _calls(tmp_path) if c.startswith("docker push")]
    assert not (tmp_path / "out").exists()


def test_a_build_without_a_commit_id_stops_at_once(tmp_path: Path):
    result = _run(build_spec(IMAGES), tmp_path, CODEBUILD_RESOLVED_SOURCE_VERSION="")
    assert result.returncode != 0
    assert _calls(tmp_path) == []


def test_artifacts_are_primary_for_one_service_and_secondary_for_several():
    one = yaml.safe_load(build_spec(IMAGES))["artifacts"]
    assert one == {"base-directory": "out/auth", "files": ["imagedefinitions.json"]}
    two = yaml.safe_load(build_spec([*IMAGES, ImageBuild("fargate-demo", AUTH + "x", artifact_name("fargate-demo"))]))["artifacts"]
    assert two["secondary-artifacts"] == {
        "images_auth": {"base-directory": "out/auth", "files": ["imagedefinitions.json"]},
        "images_fargate_demo": {"base-directory": "out/fargate-demo", "files": ["imagedefinitions.json"]},
    }


TASKDEF = {
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/devops-platform-prod-fa:1",
    "family": "devops-platform-prod-fa",
    "revision": 1,
    "status": "ACTIVE",
    "registeredAt": "2026-11-22T10:00:00Z",
    "requiresAttributes": [{"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"}],
    "compatibilities": ["EC2", "FARGATE"],
    "taskRoleArn": "arn:aws:iam::123456789012:role/fa-task",
    "executionRoleArn": "arn:aws:iam::123456789012:role/fa-execution",
    "networkMode": "awsvpc",
    "cpu": "1024",
    "memory": "2048",
    "requiresCompatibilities": ["FARGATE"],
    "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
    "volumes": [{"name": "scratch-tmp"}],
    "containerDefinitions": [
        {"name": "fa", "image": "us-docker.pkg.dev/google-samples/containers/gke/hello-app:1.0", "essential": True},
        {"name": "sidecar", "image": "public.ecr.aws/x/y:1", "essential": False},
    ],
}


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq (present in CodeBuild's standard images) is not installed here")
def test_the_release_records_images_and_revises_on_demand_task_definitions(tmp_path: Path):
    (tmp_path / "taskdef.json").write_text(json.dumps(TASKDEF))
    spec = release_spec("/devops-platform-prod/images", {"auth": AUTH}, [OnDemandImage("fa", "devops-platform-prod-fa", FA)])
    registered = tmp_path / "registered.json"
    result = _run(spec, tmp_path, TASKDEF=str(tmp_path / "taskdef.json"), REGISTERED=str(registered))
    assert result.returncode == 0, result.stderr
    calls = _calls(tmp_path)
    for service, url in (("auth", AUTH), ("fa", FA)):
        assert (
            f"aws ssm put-parameter --name /devops-platform-prod/images/{service} --type String --overwrite "
            f"--value {url}:{COMMIT}" in calls
        )
    revision = json.loads(registered.read_text())
    # Only what register-task-definition accepts, with the new image in the service's container.
    assert set(revision) == {
        "family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions", "volumes",
        "requiresCompatibilities", "cpu", "memory", "runtimePlatform",
    }  # fmt: skip
    containers = {c["name"]: c["image"] for c in revision["containerDefinitions"]}
    assert containers == {"fa": f"{FA}:{COMMIT}", "sidecar": "public.ecr.aws/x/y:1"}
    # The task definition is revised before the image is recorded as released.
    assert calls.index(next(c for c in calls if "register-task-definition" in c)) < calls.index(
        next(c for c in calls if "put-parameter" in c)
    )
