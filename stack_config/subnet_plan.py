"""Subnet layout for a VPC: the explicit plan from config, or one derived from the VPC CIDR.

Derived layout: the VPC is cut into 16 equal slots (fewer for VPCs smaller than /24). Public
subnets take slots 0, 1, 2 ... and private subnets take the slots from the middle on. AZ *n*
always gets the same two slots, so raising or lowering ``azCount`` adds or removes subnets at
the end and never renumbers (and so never replaces) the existing ones.

For a /16 VPC that gives /20 subnets: public 10.x.0.0/20, 10.x.16.0/20 ...; private
10.x.128.0/20, 10.x.144.0/20 ... Each holds 4,091 usable addresses, enough for Fargate tasks
that each take one ENI.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

# AWS accepts subnet and VPC prefixes from /16 (largest) to /28 (smallest).
MIN_PREFIX = 16
MAX_PREFIX = 28
_PREFERRED_SLOT_BITS = 4


@dataclass(frozen=True)
class SubnetPlan:
    """One CIDR per AZ for each tier, index *i* being AZ *i*."""

    public: tuple[str, ...]
    private: tuple[str, ...]


def slot_bits(vpc: ipaddress.IPv4Network) -> int:
    """How many bits the derived layout adds to the VPC prefix (16 slots when it can)."""
    return max(0, min(_PREFERRED_SLOT_BITS, MAX_PREFIX - vpc.prefixlen))


def max_derived_azs(vpc: ipaddress.IPv4Network) -> int:
    """The largest AZ count a derived layout can serve in this VPC."""
    return (2 ** slot_bits(vpc)) // 2


def derive(vpc_cidr: str, az_count: int) -> SubnetPlan:
    """Derive the layout described in the module docstring.

    Raises ValueError when the VPC is too small for ``az_count`` AZs; the config validator
    checks this first, so a stack never reaches here with a plan that does not fit.
    """
    vpc = ipaddress.IPv4Network(vpc_cidr)
    bits = slot_bits(vpc)
    half = (2**bits) // 2
    if az_count > half:
        raise ValueError(f"{vpc_cidr} is too small for {az_count} AZs without an explicit plan")
    slots = list(vpc.subnets(prefixlen_diff=bits))
    return SubnetPlan(
        public=tuple(str(slots[i]) for i in range(az_count)),
        private=tuple(str(slots[half + i]) for i in range(az_count)),
    )
