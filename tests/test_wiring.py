"""wiring.py: settings come from the model by field name; nothing is lost or silently defaulted."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from pydantic import BaseModel

import wiring
from components.alb_function import FunctionSettings
from components.monitoring import MonitoringSettings
from components.service_settings import Autoscaling, HealthCheck, ServiceSettings, StagingCopy
from components.task_launcher import LauncherSettings
from stack_config import validate
from stack_config.events import ReplicationConfig, TaskLauncherConfig
from stack_config.monitoring import MonitoringConfig
from stack_config.workloads import FunctionConfig, ServiceConfig
from tests.conftest import PROJECT, namespace_of


@dataclass(frozen=True)
class Inner:
    size: int
    label: str = "x"


@dataclass(frozen=True)
class Outer:
    name: str
    inner: Inner
    items: Sequence[Inner] = ()
    tags: Sequence[str] = ()
    derived_only: str = "default"


class InnerModel(BaseModel):
    size: int
    label: str


class OuterModel(BaseModel):
    name: str
    inner: InnerModel
    items: list[InnerModel] = []
    tags: list[str] = []
    ignored_by_settings: int = 0


def test_from_model_maps_fields_by_name_nesting_and_lists():
    model = OuterModel(name="a", inner=InnerModel(size=1, label="one"), items=[InnerModel(size=2, label="two")], tags=["t"])
    built = wiring.from_model(Outer, model, derived_only="given")
    assert built == Outer("a", Inner(1, "one"), (Inner(2, "two"),), ("t",), "given")


def test_from_model_refuses_a_field_the_model_lacks_unless_derived_or_kept_default():
    model = OuterModel(name="a", inner=InnerModel(size=1, label="one"))
    with pytest.raises(TypeError, match=r"Outer\.derived_only is not in OuterModel"):
        wiring.from_model(Outer, model)
    assert wiring.from_model(Outer, model, keep_defaults=("derived_only",)).derived_only == "default"
    with pytest.raises(TypeError, match="Outer has no field nonsense"):
        wiring.from_model(Outer, model, nonsense=1)


# Model fields the settings do not carry, because wiring turns them into something else.
CONSUMED_BY_WIRING: dict[type[BaseModel], tuple[type, set[str]]] = {
    ServiceConfig: (ServiceSettings, set()),
    FunctionConfig: (FunctionSettings, {"source"}),  # becomes code_path
    TaskLauncherConfig: (LauncherSettings, {"enabled"}),  # decides whether there is a launcher
    MonitoringConfig: (
        MonitoringSettings,
        # Decide whether there are alarms and a dashboard, or feed the topic and each service's alarms.
        {"enabled", "emails", "service_alarms", "services", "dashboard"},
    ),
}


@pytest.mark.parametrize("model", list(CONSUMED_BY_WIRING), ids=lambda m: m.__name__)
def test_every_config_field_reaches_a_setting(model: type[BaseModel]):
    settings, consumed = CONSUMED_BY_WIRING[model]
    missing = set(model.model_fields) - {f.name for f in dataclasses.fields(settings)} - consumed
    assert not missing, f"{model.__name__} fields no setting carries: {sorted(missing)}"


def test_replication_config_fields_reach_the_replicator():
    from components.repo_replicator import ReplicatorSettings

    assert set(ReplicationConfig.model_fields) - {f.name for f in dataclasses.fields(ReplicatorSettings)} == {"enabled"}


def _prod_settings() -> tuple[list[ServiceSettings], list[FunctionSettings]]:
    cfg = validate(namespace_of("prod"), PROJECT)
    region = cfg.primary
    return (
        [wiring.service_settings(cfg, region, s, PROJECT) for s in cfg.services],
        [wiring.function_settings(cfg, region, f, PROJECT) for f in cfg.functions],
    )


def test_service_settings_carry_the_configured_values():
    services, functions = _prod_settings()
    pdf = next(s for s in services if s.name == "pdf")
    ns = next(s for s in namespace_of("prod")["services"] if s["name"] == "pdf")
    assert pdf.port == ns["port"] and list(pdf.paths) == ns["paths"]
    assert isinstance(pdf.autoscaling, Autoscaling) and isinstance(pdf.health_check, HealthCheck)
    assert pdf.environment["PORT"] == str(ns["port"]) and pdf.environment["ENVIRONMENT"] == "prod"
    (demo,) = functions
    assert demo.vpc is True and demo.provisioned_concurrency is not None


def test_a_staging_copy_is_the_production_settings_with_named_differences():
    services, _ = _prod_settings()
    staged = [s for s in services if s.staging is not None]
    assert staged and all(s.mode == "service" for s in staged)
    assert {s.deployment.progressive for s in staged} == {True, False}  # prod has both kinds
    named = {
        "ecs_service_name", "family", "target_group_name", "log_group_name", "desired_count",
        "capacity_provider", "autoscale", "alarms", "staging",
    }  # fmt: skip
    for production in staged:
        copy = production.staging_copy()
        differing = {f.name for f in dataclasses.fields(ServiceSettings) if getattr(copy, f.name) != getattr(production, f.name)}
        # A copy always deploys rolling: a progressive service's copy also drops its strategy.
        # On Lambda the alias has no second target group to drop.
        progressive = set()
        if production.deployment.progressive:
            progressive = {"deployment", "alternate_target_group_name"} if production.ecs_progressive else {"deployment"}
        assert differing == named | progressive, production.name
        assert isinstance(production.staging, StagingCopy)
        assert copy.ecs_name == f"{production.name}-staging" and copy.target_group_name == production.staging.target_group_name
        assert copy.alarms is None and copy.autoscale is False
