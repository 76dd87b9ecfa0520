"""Everything the platform builds in one region, under that region's provider."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi

from .network import Network, NetworkArgs


@dataclass(frozen=True)
class RegionalPlatformArgs:
    """Inputs of :class:`RegionalPlatform`.

    Attributes:
        region: The AWS region code. Informational: where resources go is decided by the provider
            passed in ``opts.providers``, which the stack entry builds for this region.
        role: ``primary`` or ``secondary``, as in the stack config.
        network: The region's network inputs.
    """

    region: str
    role: Literal["primary", "secondary"]
    network: NetworkArgs


class RegionalPlatform(pulumi.ComponentResource):
    """One region of the platform.

    Creates ``{name}-network`` (:class:`~components.network.Network`). Later sections (traffic,
    compute, delivery, observability) attach here, so that every child inherits the region's
    provider from this component.

    Pass the region's provider as ``opts=ResourceOptions(providers=[provider])``.
    """

    network: Network

    def __init__(
        self, name: str, args: RegionalPlatformArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("devops-platform:platform:Region", name, None, opts)
        self.args = args
        self.network = Network(f"{name}-network", args.network, pulumi.ResourceOptions(parent=self))
        self.register_outputs({"vpc_id": self.network.vpc_id})

    def exports(self) -> dict[str, object]:
        """The region's stack outputs, named ``<resource>_<attr>``."""
        return {"role": self.args.role, **self.network.outputs}
