"""The typed, validated stack config: the only place the program reads Pulumi config."""

from . import routes
from .load import load_stack_config, read_pulumi_namespace, validate
from .model import FlowLogsConfig, NetworkConfig, RegionConfig, StackConfig
from .problems import ConfigError, Problem
from .subnet_plan import SubnetPlan

__all__ = [
    "ConfigError",
    "FlowLogsConfig",
    "NetworkConfig",
    "Problem",
    "RegionConfig",
    "StackConfig",
    "SubnetPlan",
    "load_stack_config",
    "read_pulumi_namespace",
    "routes",
    "validate",
]
