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


BASE_REGISTRY_ARG = "BASE_REGISTRY"


def build_spec(images: Sequence[ImageBuild], *, base_image_prefix: str | None = None) -> str:
    """Log in to ECR; build, tag with the commit id and push each image; write its imagedefinitions.

    An image whose tag already exists is not rebuilt: tags are immutable, so a retried run of the
    same commit would otherwise fail on push. With ``base_image_prefix`` (a pull-through cache's
    namespace), each build gets ``--build-arg BASE_REGISTRY=<registry>/<prefix>``: a Dockerfile
    that writes ``FROM ${BASE_REGISTRY}/...`` pulls its base images through the account's own
    registry, with the login above, instead of anonymously from the public one.
    """
    registry = images[0].repository_url.split("/")[0]
    build_arg = f'--build-arg {BASE_REGISTRY_ARG}="{registry}/{base_image_prefix}" ' if base_image_prefix else ""
    commands = []
    for image in images:
        repository = image.repository_url.split("/", 1)[1]
        lines = [
            _STRICT,
            f'image="{image.repository_url}:$IMAGE_TAG"',
            f'if aws ecr describe-images --repository-name "{repository}" --image-ids imageTag="$IMAGE_TAG" > /dev/null 2>&1; then',
            f'  echo "{image.service}: $image is already pushed; not rebuilt"',
            "else",
            f'  docker build {build_arg}--tag "$image" "{image.service}"',
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


# The alias a service on Lambda serves from (components/lambda_service.py).
LAMBDA_ALIAS = "live"
POLL_SECONDS = 15


def lambda_deploy_spec(timeout_minutes: int) -> str:
    """Deploy a service's image to its Lambda function, from the build's imagedefinitions file.

    Each deploy action runs this project with its own variables: ``SERVICE``, ``FUNCTION_NAME``,
    and for production ``APPLICATION`` and ``DEPLOYMENT_GROUP`` (CodeDeploy); without them (a
    staging copy) the alias moves at once. In order:

    1. A function that is still the 503 stub (package type Zip: no image was ever published) is not
       deployed; the Release action records the image and the next ``pulumi up`` runs it.
    2. Update the function's image, wait for the update, publish a version. Publishing is
       idempotent (Lambda returns the last version when nothing changed), so a retried run finds
       the version the first run published.
    3. If the alias already points at that version, nothing is left to do.
    4. Staging: move the alias. Production: a CodeDeploy deployment shifts the alias by the
       group's configuration and rolls back on its alarms; wait for it, at most ``timeout_minutes``,
       then stop it (rolling back) and fail.
    5. After a failed, stopped or timed-out deployment, put the live version's image back as the
       function's code, so that nothing published later (a ``pulumi up`` that changes the
       function's configuration publishes its code) brings the rejected image back.
    """
    script = f"""{_STRICT}
image="$(jq -r '.[0].imageUri // empty' {IMAGE_DEFINITIONS})"
test -n "$image"
package="$(aws lambda get-function-configuration --function-name "$FUNCTION_NAME" --query PackageType --output text)"
if [ "$package" != Image ]; then
  echo "$SERVICE: $FUNCTION_NAME still answers 503 (no image published yet); not deployed. The Release action records $image, and the next pulumi up runs it on the function."
  exit 0
fi
current="$(aws lambda get-alias --function-name "$FUNCTION_NAME" --name {LAMBDA_ALIAS} --query FunctionVersion --output text)"
aws lambda update-function-code --function-name "$FUNCTION_NAME" --image-uri "$image" --query LastUpdateStatus --output text
aws lambda wait function-updated --function-name "$FUNCTION_NAME"
target="$(aws lambda publish-version --function-name "$FUNCTION_NAME" --description "$image" --query Version --output text)"
if [ "$target" = "$current" ]; then
  echo "$SERVICE: version $target ($image) is live already"
  exit 0
fi
if [ -z "${{DEPLOYMENT_GROUP:-}}" ]; then
  aws lambda update-alias --function-name "$FUNCTION_NAME" --name {LAMBDA_ALIAS} --function-version "$target" --query FunctionVersion --output text
  echo "$SERVICE: {LAMBDA_ALIAS} moved from version $current to $target ($image)"
  exit 0
fi
# The AppSpec's version is the number 0.0, which jq would print as 0.
appspec="$(printf '{{"version":0.0,"Resources":[{{"service":{{"Type":"AWS::Lambda::Function","Properties":{{"Name":"%s","Alias":"{LAMBDA_ALIAS}","CurrentVersion":"%s","TargetVersion":"%s"}}}}}}]}}' "$FUNCTION_NAME" "$current" "$target")"
revision="$(jq -nc --arg content "$appspec" '{{revisionType: "AppSpecContent", appSpecContent: {{content: $content}}}}')"
id="$(aws deploy create-deployment --application-name "$APPLICATION" --deployment-group-name "$DEPLOYMENT_GROUP" \\
  --revision "$revision" --description "$SERVICE $image" --query deploymentId --output text)"
echo "$SERVICE: CodeDeploy deployment $id shifts {LAMBDA_ALIAS} from version $current to $target"
deadline=$(( $(date +%s) + {timeout_minutes} * 60 ))
restore() {{
  # The function's code goes back to the live version's image: the rejected one stays only in its version.
  live_image="$(aws lambda get-function --function-name "$FUNCTION_NAME" --qualifier "$current" --query Code.ImageUri --output text)"
  aws lambda update-function-code --function-name "$FUNCTION_NAME" --image-uri "$live_image" --query LastUpdateStatus --output text >&2
  aws lambda wait function-updated --function-name "$FUNCTION_NAME"
  echo "$SERVICE: the function's code is $live_image again (version $current's)" >&2
}}
while :; do
  status="$(aws deploy get-deployment --deployment-id "$id" --query deploymentInfo.status --output text)"
  case "$status" in
    Succeeded) echo "$SERVICE: $id succeeded; version $target is live"; exit 0 ;;
    Failed|Stopped)
      echo "$SERVICE: $id $status; CodeDeploy moved {LAMBDA_ALIAS} back to version $current" >&2
      aws deploy get-deployment --deployment-id "$id" --query deploymentInfo.errorInformation --output json >&2 || true
      restore
      exit 1 ;;
  esac
  if [ "$(date +%s)" -ge "$deadline" ]; then
    echo "$SERVICE: $id still $status after {timeout_minutes} minutes; stopping it (rolls back)" >&2
    aws deploy stop-deployment --deployment-id "$id" --auto-rollback-enabled --query status --output text >&2 || true
    restore
    exit 1
  fi
  sleep "${{POLL_SECONDS:-{POLL_SECONDS}}}"
done
"""
    spec = {"version": 0.2, "env": {"shell": "bash"}, "phases": {"build": {"commands": [script]}}}
    return yaml.safe_dump(spec, sort_keys=False, width=1000)
