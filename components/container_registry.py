"""One ECR repository with the settings every image of the platform gets."""

from __future__ import annotations

import json
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
    """

    repository_name: str
    settings: RegistrySettings = RegistrySettings()


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


class ContainerRegistry(pulumi.ComponentResource):
    """An ECR repository for one service or function in one region.

    Creates ``{name}-repository`` (scan on push, immutable tags so a tag always means the same
    image, AES-256 encryption at rest; Security Hub ECR.1, ECR.2) and ``{name}-lifecycle``
    (ECR.3: untagged images expire, only the newest tagged images are kept).
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
        self.repository_arn = repo.arn
        self.repository_url = repo.repository_url
        self.repository_name = repo.name
        self.register_outputs(
            {"repository_arn": repo.arn, "repository_url": repo.repository_url, "repository_name": repo.name}
        )
