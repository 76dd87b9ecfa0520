"""devops-platform: a multi-region AWS DevOps platform from one typed stack config."""

import pulumi

import wiring
from components.certificates import SharedValidationRecords, SharedValidationRecordsArgs
from components.region import RegionalPlatform
from stack_config import load_stack_config

project, stack = pulumi.get_project(), pulumi.get_stack()
cfg = load_stack_config(project)  # raises a traceback-free ConfigError before any resource exists

for warning in (
    wiring.flow_logs_disabled_warning(cfg),
    wiring.plain_http_warning(cfg),
    wiring.open_staging_warning(cfg),
    wiring.existing_topic_warning(cfg),
    wiring.lambda_health_check_warning(cfg),
    *wiring.placeholder_warnings(cfg),
):
    if warning:
        pulumi.log.warn(warning)

# Secondaries first: the primary's replicator writes to their repositories.
regions: dict[str, RegionalPlatform] = {}
for region in sorted(cfg.regions, key=lambda r: r.role == "primary"):
    provider = wiring.region_provider(cfg, region, project, stack)
    replicas = [t for r in regions.values() if (t := r.replica_target()) is not None]
    regions[region.name] = RegionalPlatform(
        region.name,
        wiring.regional_args(cfg, region, project, replicas),
        pulumi.ResourceOptions(providers=[provider]),
    )

# The certificate validation record every region's certificate shares: one owner, the stack's.
shared = wiring.shared_validation_settings(cfg)
issuing = [r for r in regions.values() if r.load_balancer.certificate_validation_options is not None]
if shared is not None and issuing:
    SharedValidationRecords(
        "certificate-validation",
        SharedValidationRecordsArgs(shared, issuing[0].load_balancer.certificate_validation_options),
        pulumi.ResourceOptions(provider=wiring.global_provider(cfg, project, stack)),
    )

# Route 53 publishes health-check metrics in us-east-1 only: their alarms live there, if listed.
if "us-east-1" in regions:
    regions["us-east-1"].watch_health_checks({n: r.dns.health_check_id for n, r in regions.items() if r.dns})

pulumi.export("primary_region", cfg.primary.name)
pulumi.export("regions", {r.name: regions[r.name].exports() for r in cfg.regions})
