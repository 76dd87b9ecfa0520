"""Controls every bucket the platform creates shares. Not a component: a helper for components."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def private_bucket_controls(name: str, bucket: aws.s3.Bucket, opts: pulumi.ResourceOptions) -> aws.s3.BucketPublicAccessBlock:
    """``{name}-ownership`` (BucketOwnerEnforced: no ACLs) and ``{name}-public-access-block``
    (all four blocks, Security Hub S3.8). Returns the block: a bucket policy must wait for it."""
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        opts=opts,
    )
    return aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access-block",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts,
    )
