"""AWS regions and partitions, read from botocore's bundled endpoint data.

botocore is pinned in requirements.txt, so the list moves only when the pin does;
that is the same data the AWS CLI and SDKs use to decide what a region is.
"""

from __future__ import annotations

from functools import lru_cache

import botocore.session


@lru_cache(maxsize=1)
def region_partitions() -> dict[str, str]:
    """Map every region botocore knows (any partition) to its partition name."""
    session = botocore.session.get_session()
    mapping: dict[str, str] = {}
    for partition in session.get_available_partitions():
        # EC2 exists in every region of every partition, so its region list is the region list.
        for region in session.get_available_regions("ec2", partition_name=partition):
            mapping[region] = partition
    return mapping


def partition_of(region: str) -> str:
    """The partition ('aws', 'aws-cn', 'aws-us-gov', ...) of a known region."""
    return region_partitions()[region]


def is_known_region(region: str) -> bool:
    return region in region_partitions()


# Regions opened in or after August 2022 have no Elastic Load Balancing account for access-log
# delivery; their bucket policies name the log-delivery service principal instead. (The older
# regions' accounts are looked up with aws.elb.get_service_account_output, never written here.)
_ELB_SERVICE_PRINCIPAL_REGIONS = frozenset(
    {
        "ap-south-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
        "ap-east-2", "ca-west-1", "eu-central-2", "eu-south-2", "il-central-1", "me-central-1",
        "mx-central-1",
    }
)  # fmt: skip


def elb_log_delivery(region: str) -> str:
    """How an ALB access-log bucket policy names the writer in ``region``."""
    return "service-principal" if region in _ELB_SERVICE_PRINCIPAL_REGIONS else "elb-account"
