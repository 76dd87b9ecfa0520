"""devops-platform: a multi-region AWS DevOps platform from one typed stack config."""

import pulumi

import wiring
from components.region import RegionalPlatform
from components.repo_replicator import RepoReplicator
from stack_config import load_stack_config

project, stack = pulumi.get_project(), pulumi.get_stack()
cfg = load_stack_config(project)  # raises a traceback-free ConfigError before any resource exists

for warning in (wiring.flow_logs_disabled_warning(cfg), wiring.plain_http_warning(cfg), wiring.open_staging_warning(cfg)):
    if warning:
        pulumi.log.warn(warning)

regions = {}
for region in cfg.regions:
    provider = wiring.region_provider(cfg, region, project, stack)
    regions[region.name] = RegionalPlatform(
        region.name,
        wiring.regional_args(cfg, region, project),
        pulumi.ResourceOptions(providers=[provider]),
    )

# After every region: the replicator writes to the secondaries' repositories.
replication = wiring.replicator_args(cfg, regions)
replicator = (
    RepoReplicator(f"{cfg.primary.name}-replicator", replication, pulumi.ResourceOptions(parent=regions[cfg.primary.name]))
    if replication
    else None
)

pulumi.export("primary_region", cfg.primary.name)
pulumi.export("regions", {name: platform.exports() for name, platform in regions.items()})
pulumi.export("replication", replicator.outputs if replicator else None)
