"""One ECR repository with the settings every image of the platform gets."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class RegistrySettings:
    """What every repository of the stack shares: plain data, from ``containerRegistry``.

    Attributes:
        keep_tagged_images: How many tagged images to keep; older ones expire. Default 30.
        expire_untagged_after_days: Days before an untagged image expires. Default 7.
        force_delete: Let ``pulumi destroy`` delete a repository that still holds images.
            Default False, so a destroy cannot silently discard released images.
    """

    keep_tagged_images: int = 30
    expire_untagged_after_days: int = 7
    force_delete: bool = False

    def __post_init__(self) -> None:
        if self.keep_tagged_images < 1 or self.expire_untagged_after_days < 1:
            raise ValueError("keep_tagged_images and expire_untagged_after_days must be at least 1")


@dataclass(frozen=True)
class ContainerRegistryArgs:
    """Inputs of :class:`ContainerRegistry`.

    Attributes:
        repository_name: The repository's name, for example ``devops-platform-prod/auth``. It is
            what the pipeline pushes to, so it comes from the validated config, not auto-naming.
        settings: Default :class:`RegistrySettings`.
        lambda_functions: The ARNs of the functions that run this repository's images (a service
            on Lambda, and its staging copy). Default none: no repository policy.
    """

    repository_name: str
    settings: RegistrySettings = RegistrySettings()
    lambda_functions: Sequence[pulumi.Input[str]] = ()


def lifecycle_policy(keep_tagged: int, untagged_days: int) -> str:
    """ECR lifecycle rules: untagged images expire after N days; only the last N tagged are kept."""
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"expire untagged images after {untagged_days} days",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": untagged_days,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"keep the last {keep_tagged} tagged images",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": keep_tagged,
                    },
                    "action": {"type": "expire"},
                },
            ]
        },
        sort_keys=True,
    )


def lambda_pull_policy(function_arns: Sequence[pulumi.Input[str]]) -> pulumi.Output[str]:
    """Lambda may pull this repository's images for these functions only. Lambda reads a function's
    image with the repository policy, not the function's role (AWS's Lambda documentation: "Amazon
    ECR permissions"); the condition keeps any other function of the account out."""
    sources: list[pulumi.Input[str]] = []
    for arn in function_arns:
        sources += [arn, pulumi.Output.concat(arn, ":*")]
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "LambdaPullsForTheServiceFunctions",
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    "Condition": {"StringLike": {"aws:sourceArn": sources}},
                }
            ],
        }
    )


class ContainerRegistry(pulumi.ComponentResource):
    """An ECR repository for one service or function in one region.

    Creates ``{name}-repository`` (scan on push, immutable tags so a tag always means the same
    image, AES-256 encryption at rest; Security Hub ECR.1, ECR.2) and ``{name}-lifecycle``
    (ECR.3: untagged images expire, only the newest tagged images are kept); with
    ``lambda_functions``, ``{name}-lambda-pull``: the repository policy that lets Lambda pull for
    exactly those functions.
    """

    repository_arn: pulumi.Output[str]
    repository_url: pulumi.Output[str]
    repository_name: pulumi.Output[str]

    def __init__(self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("devops-platform:compute:ContainerRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        repo = aws.ecr.Repository(
            f"{name}-repository",
            name=args.repository_name,
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
            encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
            force_delete=args.settings.force_delete,
            opts=child,
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-lifecycle",
            repository=repo.name,
            policy=lifecycle_policy(args.settings.keep_tagged_images, args.settings.expire_untagged_after_days),
            opts=child,
        )
        self.pull_permission: aws.ecr.RepositoryPolicy | None = None
        if args.lambda_functions:
            self.pull_permission = aws.ecr.RepositoryPolicy(
                f"{name}-lambda-pull", repository=repo.name, policy=lambda_pull_policy(args.lambda_functions), opts=child
            )
        self.repository_arn = repo.arn
        self.repository_url = repo.repository_url
        self.repository_name = repo.name
        self.register_outputs(
            {"repository_arn": repo.arn, "repository_url": repo.repository_url, "repository_name": repo.name}
        )
