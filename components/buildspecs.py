"""The CodeBuild buildspecs of the pipeline, rendered from config: plain functions, no resources.

Every command block starts with ``set -euo pipefail``: CodeBuild runs a multi-line command as one
script and would otherwise judge it by its last line only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import yaml

IMAGE_DEFINITIONS = "imagedefinitions.json"
_STRICT = "set -euo pipefail"


@dataclass(frozen=True)
class ImageBuild:
    """One image the build makes.

    Attributes:
        service: The service's name: its directory in the source tree and its container's name.
        repository_url: ``{registry}/{repository}``.
        artifact: The output artifact carrying its imagedefinitions file, or None (on-demand
            services are not deployed by an ECS action).
    """

    service: str
    repository_url: str
    artifact: str | None


def artifact_name(service: str) -> str:
    """The pipeline artifact of a service's imagedefinitions file."""
    return "images_" + service.replace("-", "_")


def build_spec(images: Sequence[ImageBuild]) -> str:
    """Log in to ECR; build, tag with the commit id and push each image; write its imagedefinitions.

    An image whose tag already exists is not rebuilt: tags are immutable, so a retried run of the
    same commit would otherwise fail on push.
    """
    registry = images[0].repository_url.split("/")[0]
    commands = []
    for image in images:
        repository = image.repository_url.split("/", 1)[1]
        lines = [
            _STRICT,
            f'image="{image.repository_url}:$IMAGE_TAG"',
            f'if aws ecr describe-images --repository-name "{repository}" --image-ids imageTag="$IMAGE_TAG" > /dev/null 2>&1; then',
            f'  echo "{image.service}: $image is already pushed; not rebuilt"',
            "else",
            f'  docker build --tag "$image" "{image.service}"',
            '  docker push "$image"',
            "fi",
        ]
        if image.artifact:
            lines += [
                f'mkdir -p "out/{image.service}"',
                f"printf '[{{\"name\":\"{image.service}\",\"imageUri\":\"%s\"}}]' \"$image\" > \"out/{image.service}/{IMAGE_DEFINITIONS}\"",
            ]
        commands.append("\n".join(lines) + "\n")
    spec: dict[str, object] = {
        "version": 0.2,
        "env": {"shell": "bash"},
        "phases": {
            "pre_build": {
                "commands": [
                    _STRICT + '\nIMAGE_TAG="$CODEBUILD_RESOLVED_SOURCE_VERSION"\ntest -n "$IMAGE_TAG"\n',
                    _STRICT
                    + f'\naws ecr get-login-password --region "$AWS_REGION" | docker login --username AWS --password-stdin "{registry}"\n',
                ]
            },
            "build": {"commands": commands},
        },
    }
    artifacts = [i for i in images if i.artifact]
    if len(artifacts) == 1:
        # With one output artifact CodePipeline takes the primary one.
        spec["artifacts"] = {"base-directory": f"out/{artifacts[0].service}", "files": [IMAGE_DEFINITIONS]}
    elif artifacts:
        spec["artifacts"] = {
            "files": [f"out/*/{IMAGE_DEFINITIONS}"],
            "secondary-artifacts": {
                i.artifact: {"base-directory": f"out/{i.service}", "files": [IMAGE_DEFINITIONS]} for i in artifacts
            },
        }
    return yaml.safe_dump(spec, sort_keys=False, width=1000)


@dataclass(frozen=True)
class OnDemandImage:
    """An on-demand service whose task definition gets a revision with the new image.

    Attributes:
        service: Container name.
        family: Task definition family.
        repository_url: Its ECR repository.
    """

    service: str
    family: str
    repository_url: str


# The fields register-task-definition accepts back from describe-task-definition.
_REGISTER_FIELDS = (
    "family, taskRoleArn, executionRoleArn, networkMode, containerDefinitions, volumes, "
    "placementConstraints, requiresCompatibilities, cpu, memory, runtimePlatform"
)


def release_spec(parameter_path: str, deployed: Mapping[str, str], on_demand: Sequence[OnDemandImage]) -> str:
    """After the production deploy: record each deployed image where ``pulumi up`` reads it.

    ``deployed`` maps service name to repository URL. On-demand services (no ECS service) get a
    task definition revision with the new image, which the task launcher starts from then on.
    Running it twice for one commit changes nothing but a revision number.
    """
    commands = [_STRICT + '\nIMAGE_TAG="$CODEBUILD_RESOLVED_SOURCE_VERSION"\ntest -n "$IMAGE_TAG"\n']
    for svc in on_demand:
        commands.append(
            "\n".join(
                [
                    _STRICT,
                    f'aws ecs describe-task-definition --task-definition "{svc.family}" --query taskDefinition --output json \\',
                    f'  | jq --arg image "{svc.repository_url}:$IMAGE_TAG" \\',
                    f"    '.containerDefinitions |= map(if .name == \"{svc.service}\" then .image = $image else . end)"
                    f" | {{{_REGISTER_FIELDS}}} | with_entries(select(.value != null))' > \"{svc.service}.taskdef.json\"",
                    f'aws ecs register-task-definition --cli-input-json "file://{svc.service}.taskdef.json" --query taskDefinition.taskDefinitionArn --output text',
                ]
            )
            + "\n"
        )
    published = {**deployed, **{s.service: s.repository_url for s in on_demand}}
    for service, url in sorted(published.items()):
        commands.append(
            f'{_STRICT}\naws ssm put-parameter --name "{parameter_path}/{service}" --type String --overwrite --value "{url}:$IMAGE_TAG"\n'
        )
    spec = {"version": 0.2, "env": {"shell": "bash"}, "phases": {"build": {"commands": commands}}}
    return yaml.safe_dump(spec, sort_keys=False, width=1000)
