"""`python -m ops import-copilot`: Copilot manifests (tests/copilot/*, written in Copilot's documented
format) to a stack-file fragment and a report, validated by the config model, synthesized."""

from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from ops import harness, stackfiles
from ops.__main__ import main as ops_main
from ops.copilot import cli
from ops.copilot.manifests import DURATION, ManifestError, check, merge, read_workspace, substitute
from ops.copilot.mapping import paths_for
from ops.copilot.report import Report
from ops.copilot.schedules import ScheduleError, copilot_difference, to_eventbridge
from stack_config import ConfigError
from stack_config.load import decode, validate
from stack_config.placeholders import find_placeholders
from tests.conftest import PROJECT, encode

CORPUS = Path(__file__).resolve().parent / "copilot"
EXAMPLE, FULL, LEGACY = CORPUS / "example", CORPUS / "full", CORPUS / "legacy"
DOC = Path(__file__).resolve().parent.parent / "docs" / "migrating-from-copilot.md"
REGIONS = ("us-east-1", "us-east-2")


def run(*argv: str) -> tuple[int, str, list[str]]:
    """The CLI in-process: (exit status, stdout, stderr lines)."""
    out, err = io.StringIO(), io.StringIO()
    status = cli.main(list(argv), out=out, err=err)
    return status, out.getvalue(), err.getvalue().splitlines()


def base() -> dict[str, Any]:
    files = stackfiles.load("dev")
    return decode(files.project_config, files.project)


def fragment_of(workspace: Path, environment: str | None = None) -> tuple[dict[str, Any], Report]:
    report = Report()
    return cli.import_workspace(read_workspace(workspace), base(), environment, report), report


def service(fragment: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [s for s in fragment["services"] if s["name"] == name]
    return found


def entry(report: Report, file: str, key: str) -> tuple[str, str]:
    """The (status, text) of the one report line for ``key`` of ``file``."""
    found = [(e.status, e.text) for e in report.entries if e.file == file and e.key == key]
    assert len(found) == 1, (file, key, found, report.lines())
    return found[0]


def workspace(tmp_path: Path, manifests: dict[str, str]) -> Path:
    """A workspace in tmp_path: {relative path under copilot/: manifest text}."""
    for rel, text in manifests.items():
        path = tmp_path / "copilot" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


WEB = textwrap.dedent(
    """\
    name: web
    type: Load Balanced Web Service
    image:
      build: web/Dockerfile
      port: 8080
    http:
      path: '/'
    """
)


# --- paths, schedules, overrides, variables -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "patterns"),
    [("/", ["/*"]), ("", ["/*"]), ("api", ["/api", "/api/*"]), ("/api/", ["/api", "/api/*"]), ("api/v2", ["/api/v2", "/api/v2/*"])],
)
def test_http_path_becomes_copilots_listener_rule_patterns(path: str, patterns: list[str]):
    assert paths_for(path) == patterns


@pytest.mark.parametrize(
    ("schedule", "expression"),
    [
        ("@hourly", "cron(0 * * * ? *)"),
        ("@daily", "cron(0 0 * * ? *)"),
        ("@midnight", "cron(0 0 * * ? *)"),
        ("@weekly", "cron(0 0 ? * 1 *)"),
        ("@monthly", "cron(0 0 1 * ? *)"),
        ("@yearly", "cron(0 0 1 1 ? *)"),
        ("@every 1h30m", "rate(90 minutes)"),
        ("@every 1m", "rate(1 minute)"),
        ("*/15 * * * *", "cron(*/15 * * * ? *)"),
        ("0 9 * * 1-5", "cron(0 9 ? * MON-FRI *)"),
        ("0 3 * * 0", "cron(0 3 ? * SUN *)"),
        ("0 3 * * 7", "cron(0 3 ? * SUN *)"),
        ("0 3 * * 5-7", "cron(0 3 ? * FRI,SAT,SUN *)"),
        ("0 3 * * 1,3", "cron(0 3 ? * MON,WED *)"),
        ("0 3 * * mon-fri", "cron(0 3 ? * MON-FRI *)"),
        ("30 4 1 * *", "cron(30 4 1 * ? *)"),
        ("rate(5 minutes)", "rate(5 minutes)"),
        ("cron(0 12 * * ? *)", "cron(0 12 * * ? *)"),
    ],
)
def test_schedules_convert_to_eventbridge_expressions(schedule: str, expression: str):
    assert to_eventbridge(schedule) == expression


@pytest.mark.parametrize(
    ("schedule", "why"),
    [
        ("0 0 1 * 1", "sets both day-of-month and day-of-week"),
        ("@every 30s", "whole minutes"),
        ("@every 90s", "whole minutes"),
        ("0 0 * * * *", "has 6 fields"),
        ("CRON_TZ=Europe/Berlin 0 9 * * *", "UTC"),
        ("@fortnightly", "not one of Copilot's presets"),
        ("rate(0 minutes)", "is not an EventBridge schedule"),
        ("0 25 * * *", "is not an EventBridge schedule"),
    ],
)
def test_schedules_without_an_eventbridge_equivalent_say_why(schedule: str, why: str):
    with pytest.raises(ScheduleError, match=re.escape(why)):
        to_eventbridge(schedule)


@pytest.mark.parametrize(
    ("base", "override", "merged"),
    [
        # count: an int, a map, the other form replaces
        ({"count": 2}, {"count": {"range": "1-4"}}, {"count": {"range": "1-4"}}),
        ({"count": {"range": "1-4", "cpu_percentage": 50}}, {"count": 3}, {"count": 3}),
        # count: spot and autoscaling exclude each other, as Copilot's transformer
        ({"count": {"range": "1-4", "cpu_percentage": 50, "cooldown": {"in": "1m"}}}, {"count": {"spot": 2}}, {"count": {"spot": 2}}),
        ({"count": {"spot": 2}}, {"count": {"range": "2-6"}}, {"count": {"range": "2-6"}}),
        ({"count": {"range": "1-4", "cpu_percentage": 50}}, {"count": {"range": "2-8"}}, {"count": {"range": "2-8", "cpu_percentage": 50}}),
        # range: a string, a map
        ({"count": {"range": "1-4"}}, {"count": {"range": {"min": 2, "max": 9}}}, {"count": {"range": {"min": 2, "max": 9}}}),
        # http: false disables the map; a map enables it again
        ({"http": {"path": "/"}}, {"http": False}, {"http": False}),
        ({"http": False}, {"http": {"path": "api"}}, {"http": {"path": "api"}}),
        # healthcheck: a path, a map
        ({"http": {"path": "/", "healthcheck": "/h"}}, {"http": {"healthcheck": {"path": "/x", "interval": "5s"}}},
         {"http": {"path": "/", "healthcheck": {"path": "/x", "interval": "5s"}}}),
        ({"http": {"healthcheck": {"path": "/x", "interval": "5s"}}}, {"http": {"healthcheck": "/y"}}, {"http": {"healthcheck": "/y"}}),
        # image: build and location exclude each other
        ({"image": {"location": "nginx:1", "port": 80}}, {"image": {"build": "web/Dockerfile"}}, {"image": {"build": "web/Dockerfile", "port": 80}}),
        ({"image": {"build": {"dockerfile": "a"}, "port": 80}}, {"image": {"location": "nginx:1"}}, {"image": {"location": "nginx:1", "port": 80}}),
        # secrets: a parameter name, a Secrets Manager map
        ({"secrets": {"A": "a", "B": "b"}}, {"secrets": {"A": {"secretsmanager": "s"}}}, {"secrets": {"A": {"secretsmanager": "s"}, "B": "b"}}),
        # maps merge key by key; lists replace; an empty value keeps the base
        ({"variables": {"A": "1", "B": "2"}}, {"variables": {"B": "3", "C": "4"}}, {"variables": {"A": "1", "B": "3", "C": "4"}}),
        ({"entrypoint": ["a", "b"]}, {"entrypoint": ["c"]}, {"entrypoint": ["c"]}),
        ({"cpu": 256, "memory": 512}, {"cpu": None, "memory": 1024}, {"cpu": 256, "memory": 1024}),
    ],
)
def test_environment_overrides_merge_as_copilot_does(base: dict[str, Any], override: dict[str, Any], merged: dict[str, Any]):
    assert merge(base, override) == merged


def test_predefined_variables_are_substituted_and_shell_variables_left_out():
    data = {
        "secrets": {"DB": "/copilot/${COPILOT_APPLICATION_NAME}/${COPILOT_ENVIRONMENT_NAME}/db"},
        "variables": {"TAG": "v-${TAG}", "KEEP": "\\${literal}", "PLAIN": "x"},
        "entrypoint": ["run", "${MODE}"],
    }
    result, unresolved = substitute(data, {"COPILOT_APPLICATION_NAME": "shop", "COPILOT_ENVIRONMENT_NAME": "prod"})
    assert result == {"secrets": {"DB": "/copilot/shop/prod/db"}, "variables": {"KEEP": "${literal}", "PLAIN": "x"}}
    assert unresolved == [("variables.TAG", ["TAG"]), ("entrypoint[1]", ["MODE"])]


def test_yaml_is_read_with_yaml_1_2_booleans_and_on_is_a_key(tmp_path: Path):
    ws = read_workspace(workspace(tmp_path, {"job/manifest.yml": "name: job\ntype: Scheduled Job\non:\n  schedule: '@daily'\n",
                                             "environments/x/manifest.yml": "name: x\ntype: Environment\nnetwork:\n  vpc:\n    flow_logs: on\n"}))
    assert ws.workloads[0].data["on"] == {"schedule": "@daily"}
    # Copilot's YAML library still reads on/off as a boolean where one is expected.
    assert ws.environments["x"].data["network"]["vpc"]["flow_logs"] is True


# --- the example workspace: a web service, a scheduled job, their pipeline ------------------------


def test_example_maps_the_web_service_with_the_prod_overrides():
    fragment, report = fragment_of(EXAMPLE, "prod")
    web = service(fragment, "web")
    assert web["port"] == 8080 and web["paths"] == ["/*"]
    assert web["healthCheck"] == {
        "path": "/healthz", "matcher": "200", "healthyThreshold": 2, "intervalSeconds": 15, "timeoutSeconds": 5,
        "gracePeriodSeconds": 90, "unhealthyThreshold": 2,  # Copilot's default, where the platform's is 3
    }  # fmt: skip
    assert (web["cpu"], web["memory"]) == (512, 1024)
    # environments.prod: count's range replaced, its metrics kept; a variable overridden
    assert web["desiredCount"] == 3
    assert web["autoscaling"] == {
        "minCapacity": 3, "maxCapacity": 10, "cpuTarget": 70, "memoryTarget": None, "requestsPerTarget": 500,
        "scaleInCooldownSeconds": 120, "scaleOutCooldownSeconds": 60,  # Copilot's defaults
    }  # fmt: skip
    assert web["environment"] == {"LOG_LEVEL": "warn"}
    # ${COPILOT_APPLICATION_NAME} from copilot/.workspace, ${COPILOT_ENVIRONMENT_NAME} from --environment
    assert web["secrets"] == {"DB_PASSWORD": "arn:aws:ssm:us-east-1:123456789012:parameter/copilot/shop/prod/secrets/db_password"}
    assert fragment["name"] == "shop"
    assert entry(report, "copilot/web/manifest.yml", "environments.prod")[0] == "imported"


def test_example_without_an_environment_keeps_the_base_manifest_and_says_so():
    fragment, report = fragment_of(EXAMPLE)
    web = service(fragment, "web")
    assert web["autoscaling"]["minCapacity"] == 2 and web["autoscaling"]["maxCapacity"] == 6
    assert web["environment"] == {"LOG_LEVEL": "info"}
    assert web["secrets"]["DB_PASSWORD"].endswith("/copilot/shop/dev/secrets/db_password")  # the stack's environment
    assert entry(report, "copilot/web/manifest.yml", "environments") == ("note", "overrides for prod, test not applied (no --environment)")
    assert entry(report, "(command line)", "COPILOT_ENVIRONMENT_NAME")[0] == "defaulted"
    assert "loadBalancer" not in fragment and "network" not in fragment  # the environment manifest needs --environment


def test_an_int_count_override_pins_the_count():
    fragment, _ = fragment_of(EXAMPLE, "test")
    web = service(fragment, "web")
    assert web["desiredCount"] == 1 and web["autoscaling"] == {"minCapacity": 1, "maxCapacity": 1}


def test_example_maps_the_job_to_an_on_demand_service_and_a_schedule():
    fragment, report = fragment_of(EXAMPLE, "prod")
    job = service(fragment, "reports")
    assert job["mode"] == "on-demand" and job["paths"] == ["/_jobs/reports/*"] and job["port"] == 8080
    assert fragment["taskLauncher"] == {"schedules": [{"name": "reports", "service": "reports", "expression": "cron(0 2 ? * MON-FRI *)"}]}
    assert entry(report, "copilot/reports/manifest.yml", "retries")[0] == "not imported"
    assert entry(report, "copilot/reports/manifest.yml", "timeout")[0] == "not imported"


def test_example_pipeline_has_staging_approval_and_production():
    fragment, report = fragment_of(EXAMPLE, "prod")
    pipeline = fragment["pipeline"]
    assert [(s["name"], s["type"], s.get("target")) for s in pipeline["stages"]] == [
        ("Source", "source", None), ("Build", "build", None), ("test", "deploy", "staging"),
        ("Approve-prod", "approval", None), ("prod", "deploy", None),
    ]  # fmt: skip
    assert pipeline["source"] == {
        "branch": "main",
        "type": "connection",
        "fullRepositoryId": "example-org/shop",
        "connectionArn": "arn:aws:codeconnections:us-east-1:123456789012:connection/00000000-0000-0000-0000-000000000000",
    }
    assert pipeline["notifications"] == {"emails": ["approvals@example.com"]}
    assert entry(report, "copilot/pipelines/release/manifest.yml", "stages[0] (test).test_commands")[0] == "not imported"


def test_example_environment_manifest_maps_ingress_and_flow_logs():
    fragment, report = fragment_of(EXAMPLE, "prod")
    assert fragment["loadBalancer"] == {"ingressCidrs": ["10.0.0.0/8"]}
    assert fragment["network"] == {"flowLogs": {"enabled": True, "retentionDays": 30}}
    assert entry(report, "copilot/environments/prod/manifest.yml", "observability")[0] == "not imported"


def test_the_placeholders_are_what_ops_up_refuses():
    fragment, _ = fragment_of(EXAMPLE, "prod")
    cfg = validate(cli.merge(base(), fragment), PROJECT)
    assert sorted((p.key, p.kind) for p in find_placeholders(cfg)) == [
        ("pipeline.notifications.emails[0]", "an address at a domain reserved for documentation"),
        ("pipeline.source.connectionArn", "an ARN in an account from AWS's documentation"),
        ("services[1] (web).secrets.DB_PASSWORD", "an ARN in an account from AWS's documentation"),
    ]


# --- the full workspace: every mapped key, every unsupported one ----------------------------------

API = "copilot/api/manifest.yml"


def test_full_maps_every_key_of_the_web_service():
    fragment, report = fragment_of(FULL, "prod")
    api = service(fragment, "api")
    assert api["paths"] == ["/api", "/api/*"] and api["port"] == 9000 and api["architecture"] == "ARM64"
    assert api["healthCheck"] == {
        "path": "/api/ping", "matcher": "200", "healthyThreshold": 5, "unhealthyThreshold": 2,
        "containerCommand": ["curl -f http://localhost:9000/ping || exit 1"],
    }  # fmt: skip
    assert (api["cpu"], api["memory"], api["desiredCount"]) == (1024, 2048, 2)
    assert api["autoscaling"] == {
        "minCapacity": 2, "maxCapacity": 8, "cpuTarget": 65, "memoryTarget": 75, "scaleInCooldownSeconds": 120,
        "scaleOutCooldownSeconds": 60,
    }  # fmt: skip
    assert api["environment"] == {"DEBUG": "false", "WORKERS": "4", "LITERAL": "${NOT_A_VAR}"}
    assert api["secrets"] == {
        "GITHUB_TOKEN": "arn:aws:ssm:us-east-1:123456789012:parameter/GITHUB_TOKEN",
        "DB": "arn:aws:secretsmanager:us-east-1:123456789012:secret:kitchen-sink/prod/mysql:password::",
        "FULL": "arn:aws:ssm:us-west-2:210987654321:parameter/api/full",
        "SM_ARN": "arn:aws:secretsmanager:us-west-2:210987654321:secret:api/key-AbCdEf",
    }
    assert api["writablePaths"] == ["/tmp", "/var/data"]
    assert fragment["monitoring"] == {"services": {"api": {"cpuPercent": 85, "memoryPercent": 90}}}
    assert entry(report, API, "deployment.rolling")[0] == "differs"
    assert entry(report, API, "image.build")[0] == "differs"  # services/api is not the directory the pipeline builds


@pytest.mark.parametrize(
    ("key", "status", "says"),
    [
        ("exec", "not imported", "ECS Exec"),
        ("logging", "not imported", "awslogs"),
        ("network.vpc", "not imported", "private subnets"),
        ("network.connect", "not imported", "Service Connect"),
        ("sidecars", "not imported", "one container"),
        ("storage.volumes.shared", "not imported", "EFS"),
        ("storage.ephemeral", "not imported", "20 GiB"),
        ("http.alias", "not imported", "aliases"),
        ("http.stickiness", "not imported", "sticky"),
        ("http.deregistration_delay", "not imported", "30 s"),
        ("http.allowed_source_ips", "not imported", "ingressCidrs"),
        ("nlb", "not imported", "Network Load Balancer"),
        ("publish", "not imported", "SNS"),
        ("observability", "not imported", "X-Ray"),
        ("taskdef_overrides", "not imported", "task-definition"),
        ("entrypoint", "not imported", "ENTRYPOINT"),
        ("command", "not imported", "CMD"),
        ("env_file", "not imported", "variables"),
        ("image.credentials", "not imported", "ECR"),
        ("image.depends_on", "not imported", "one container"),
        ("image.build.args", "not imported", "build arguments"),
        ("image.build.target", "not imported", "last stage"),
        ("image.healthcheck.interval", "not imported", "the ALB health check's timing"),
        ("count.range.spot_from", "not imported", "regular capacity"),
        ("count.cpu_percentage.cooldown", "not imported", "one cooldown pair"),
        ("count.response_time", "not imported", "response time"),
        ("variables.IMAGE_TAG", "not imported", "${TAG}"),
        ("variables.PORT", "not imported", "sets PORT"),
        ("variables.FROM_STACK", "not imported", "from_cfn"),
        ("secrets.CFN", "not imported", "from_cfn"),
        ("secrets.GITHUB_TOKEN", "placeholder", "123456789012"),
        ("secrets.DB", "placeholder", "123456789012"),
        ("deployment.rollback_alarms.cpu_utilization", "differs", "does not roll back"),
        ("(task)", "differs", "read-only"),
    ],
)
def test_full_reports_each_key_with_its_file_and_why(key: str, status: str, says: str):
    _, report = fragment_of(FULL, "prod")
    found_status, text = entry(report, API, key)
    assert (found_status, says in text) == (status, True), text


@pytest.mark.parametrize(
    ("file", "key", "status"),
    [
        ("copilot/internal/manifest.yml", "type", "skipped"),  # Backend Service
        ("copilot/orders/manifest.yml", "type", "skipped"),  # Worker Service
        ("copilot/site/manifest.yml", "type", "skipped"),  # Static Site
        ("copilot/mystery/manifest.yml", "type", "skipped"),  # unknown
        ("copilot/cleanup/manifest.yml", "on.schedule", "not imported"),  # day-of-month and day-of-week
        ("copilot/nightly/manifest.yml", "retries", "not imported"),
        ("copilot/frontend/manifest.yml", "deployment.rollback_alarms", "not imported"),
        ("copilot/pipelines/other/manifest.yml", "name", "skipped"),
        ("copilot/pipelines/main/manifest.yml", "build", "not imported"),
        ("copilot/pipelines/main/manifest.yml", "stages[0] (dev)", "not imported"),
        ("copilot/pipelines/main/manifest.yml", "stages[3] (dr)", "not imported"),
        ("copilot/pipelines/main/manifest.yml", "stages[1] (test).requires_approval", "not imported"),
        ("copilot/pipelines/main/manifest.yml", "stages[2] (prod).pre_deployments", "not imported"),
        ("copilot/pipelines/main/manifest.yml", "stages[2] (prod).post_deployments", "not imported"),
        ("copilot/pipelines/main/manifest.yml", "stages[2] (prod).deployments.frontend.depends_on", "differs"),
        ("copilot/pipelines/main/manifest.yml", "stages[2] (prod).deployments.internal", "not imported"),
        ("copilot/pipelines/main/manifest.yml", "source.properties.output_artifact_format", "not imported"),
        ("copilot/pipelines/main/manifest.yml", "source.properties.repository", "differs"),
        ("copilot/environments/prod/manifest.yml", "http.public.certificates", "not imported"),
        ("copilot/environments/prod/manifest.yml", "http.public.ingress.cdn", "not imported"),
        ("copilot/environments/prod/manifest.yml", "http.private", "not imported"),
        ("copilot/environments/prod/manifest.yml", "network.vpc.id", "not imported"),
        ("copilot/environments/prod/manifest.yml", "cdn", "not imported"),
    ],
)
def test_full_reports_skipped_manifests_and_unmapped_pipeline_and_environment_keys(file: str, key: str, status: str):
    _, report = fragment_of(FULL, "prod")
    assert entry(report, file, key)[0] == status


def test_full_imports_only_web_services_and_jobs():
    fragment, _ = fragment_of(FULL, "prod")
    assert [s["name"] for s in fragment["services"]] == ["api", "cleanup", "frontend", "nightly"]
    assert fragment["taskLauncher"]["schedules"] == [{"name": "nightly", "service": "nightly", "expression": "rate(90 minutes)"}]


def test_full_pipeline_deploys_the_listed_services_and_staging_off_spot_for_arm64():
    fragment, _ = fragment_of(FULL, "prod")
    pipeline = fragment["pipeline"]
    assert pipeline["source"] == {"branch": "release", "type": "codecommit", "repositoryName": "kitchen-sink"}
    assert pipeline["stages"][-1] == {"name": "prod", "type": "deploy", "services": ["api", "frontend"]}
    assert pipeline["staging"] == {"spot": False}


def test_full_environment_manifest_maps_the_tls_policy_access_logs_and_flow_logs():
    fragment, _ = fragment_of(FULL, "prod")
    assert fragment["loadBalancer"] == {"sslPolicy": "ELBSecurityPolicy-TLS13-1-2-2021-06", "accessLogs": {"enabled": True}}
    assert fragment["network"] == {"flowLogs": {"enabled": True, "retentionDays": 14}}


def test_override_forms_in_a_workspace():
    frontend = "copilot/frontend/manifest.yml"
    # No environment: a prebuilt image is the bootstrap image, the count a fixed 2.
    fragment, report = fragment_of(FULL)
    web = service(fragment, "frontend")
    assert web["bootstrapImage"] == "public.ecr.aws/nginx/nginx:1.27" and web["autoscaling"] == {"minCapacity": 2, "maxCapacity": 2}
    assert web["healthCheck"] == {"path": "/", "matcher": "200", "healthyThreshold": 5, "unhealthyThreshold": 2}
    assert entry(report, frontend, "http.healthcheck")[0] == "defaulted"
    # prod: count int -> map, location -> build, healthcheck path -> map, variables merged.
    web = service(fragment_of(FULL, "prod")[0], "frontend")
    assert "bootstrapImage" not in web
    assert web["autoscaling"] == {
        "minCapacity": 4, "maxCapacity": 12, "cpuTarget": 60, "memoryTarget": None, "scaleInCooldownSeconds": 120,
        "scaleOutCooldownSeconds": 60,
    }  # fmt: skip
    assert web["healthCheck"] == {"path": "/ready", "intervalSeconds": 20, "matcher": "200", "healthyThreshold": 5, "unhealthyThreshold": 2}
    assert web["environment"] == {"THEME": "dark", "BANNER": "none"}
    # test: count {spot: 2} keeps two tasks, on regular capacity.
    fragment, report = fragment_of(FULL, "test")
    assert service(fragment, "frontend")["autoscaling"] == {"minCapacity": 2, "maxCapacity": 2}
    assert entry(report, frontend, "count.spot")[0] == "not imported"
    # nohttp: http: false leaves no ALB path, so the service is skipped.
    fragment, report = fragment_of(FULL, "nohttp")
    assert "frontend" not in [s["name"] for s in fragment["services"]]
    assert entry(report, frontend, "http")[0] == "skipped"


def test_legacy_pipeline_file_and_github_v1_source():
    fragment, report = fragment_of(LEGACY)
    assert fragment["pipeline"]["source"]["fullRepositoryId"] == "example-org/legacy-app"
    assert fragment["pipeline"]["source"]["branch"] == "trunk"
    assert [s["name"] for s in fragment["pipeline"]["stages"]] == ["Source", "Build", "test", "prod"]
    assert entry(report, "copilot/pipeline.yml", "source.properties.access_token_secret")[0] == "differs"
    assert service(fragment, "api")["paths"] == ["/v1", "/v1/*"]


def test_a_port_not_set_is_the_dockerfiles_expose(tmp_path: Path):
    ws = workspace(tmp_path, {"web/manifest.yml": WEB.replace("  port: 8080\n", "")})
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text("FROM scratch\nEXPOSE 5000/tcp\n")
    fragment, report = fragment_of(ws)
    assert service(fragment, "web")["port"] == 5000
    assert entry(report, "copilot/web/manifest.yml", "image.port")[0] == "defaulted"
    (tmp_path / "web" / "Dockerfile").write_text("FROM scratch\n")
    assert service(fragment_of(ws)[0], "web")["port"] == 80  # Copilot's default


def test_a_windows_service_is_skipped(tmp_path: Path):
    ws = workspace(tmp_path, {"win/manifest.yml": WEB.replace("name: web", "name: win") + "platform: windows/x86_64\n"})
    fragment, report = fragment_of(ws)
    # Nothing imported: no services key at all, since a list replaces the stack's own on merge.
    assert "services" not in fragment
    assert entry(report, "copilot/win/manifest.yml", "platform")[0] == "skipped"
    assert entry(report, "copilot", "(services)")[0] == "note"
    status, out, err = run(str(ws))
    assert status == 0 and "services" not in out
    dev_services = len(base()["services"])
    assert err[-1].startswith("valid:") and f"({dev_services} services" in err[-1]  # dev's own, kept


# --- the command line ---------------------------------------------------------------------------


def test_cli_writes_the_fragment_and_ends_with_the_verdict(tmp_path: Path):
    out = tmp_path / "fragment.yaml"
    status, stdout, err = run(str(EXAMPLE), "--environment", "prod", "--out", str(out))
    assert status == 0 and stdout == ""
    config = yaml.safe_load(out.read_text())["config"]
    assert sorted(config) == sorted(
        f"{PROJECT}:{k}" for k in ("name", "services", "taskLauncher", "pipeline", "loadBalancer", "network")
    )
    assert err[-1].startswith("valid: Pulumi.dev.yaml with the fragment merged passes the config model (2 services, 1 schedule")
    assert "replace 3 placeholders" in err[-1]
    assert err[-2].startswith("report: ")
    assert all(re.match(r"^(imported|defaulted|placeholder|differs|not imported|skipped|note): \S", line) for line in err[:-2])


def test_ops_routes_the_verb():
    assert ops_main(["import-copilot", str(LEGACY), "--out", "/dev/null"]) == 0


def test_two_services_on_one_path_fail_with_the_models_message(tmp_path: Path):
    ws = workspace(tmp_path, {"web/manifest.yml": WEB, "shop/manifest.yml": WEB.replace("name: web", "name: shop")})
    status, _, err = run(str(ws), "--out", str(tmp_path / "f.yaml"))
    assert status == 1
    fragment, _ = fragment_of(ws)
    with pytest.raises(ConfigError) as caught:
        validate(cli.merge(base(), fragment), PROJECT)
    (model,) = caught.value.lines()
    assert err[-1] == f"invalid: Pulumi.dev.yaml with the fragment merged fails the config model: {PROJECT}:{model}"
    assert "a pattern no other route has" in model


@pytest.mark.parametrize(
    ("manifests", "message"),
    [
        ({"web/manifest.yml": "name: web\ntype: Load Balanced Web Service\nhttp:\n  path: /\n   healthcheck: /h\n"},
         "copilot/web/manifest.yml: line 5 is not valid YAML (mapping values are not allowed here)"),
        ({"web/manifest.yml": "type: Load Balanced Web Service\n"}, "copilot/web/manifest.yml: name: missing"),
        ({"web/manifest.yml": "name: web\n"}, "copilot/web/manifest.yml: type: missing"),
        ({"web/manifest.yml": WEB + "cpu: '256'\n"}, 'copilot/web/manifest.yml: cpu: got "256"; a whole number is needed'),
        ({"web/manifest.yml": WEB + "count: three\n"}, 'copilot/web/manifest.yml: count: got "three"; a whole number or a map is needed'),
        ({"web/manifest.yml": WEB + "count:\n  range: 1 to 4\n"}, 'copilot/web/manifest.yml: count.range: got "1 to 4"; a range such as 1-10'),
        ({"web/manifest.yml": WEB.replace("path: '/'", "path: '/'\n  healthcheck:\n    interval: 30")},
         "copilot/web/manifest.yml: http.healthcheck.interval: got 30; a duration such as 30s"),
        ({"web/manifest.yml": WEB + "environments:\n  prod:\n    memory: lots\n"},
         'copilot/web/manifest.yml: environments.prod.memory: got "lots"; a whole number is needed'),
        ({"web/manifest.yml": WEB + "variables: [A, B]\n"}, "copilot/web/manifest.yml: variables: got"),
        ({"web/manifest.yml": "- a list\n"}, "copilot/web/manifest.yml: got"),
        ({"pipelines/p/manifest.yml": "name: p\nstages:\n  - name: prod\n    requires_approval: maybe\n"},
         'copilot/pipelines/p/manifest.yml: stages[0].requires_approval: got "maybe"; true or false is needed'),
        ({"environments/prod/manifest.yml": "name: prod\n"}, "copilot/environments/prod/manifest.yml: type: missing"),
        # Copilot's YAML library refuses a key given twice in one map
        ({"web/manifest.yml": WEB + "http:\n  path: other\n"},
         "copilot/web/manifest.yml: http: given twice in one map (lines 6 and 8)"),
        ({"web/manifest.yml": WEB + "variables:\n  A: x\n  A: y\n"}, "copilot/web/manifest.yml: variables.A: given twice"),
        ({"pipelines/p/manifest.yml": "name: p\nstages:\n  - requires_approval: true\n"},
         "copilot/pipelines/p/manifest.yml: stages[0].name: missing"),
        ({"pipelines/p/manifest.yml": "name: p\nstages:\n  - name: ~\n"}, "copilot/pipelines/p/manifest.yml: stages[0].name: missing"),
        ({"environments/prod/manifest.yml": "name: prod\ntype: Environment\nnetwork:\n  vpc:\n    flow_logs:\n      retention: thirty\n"},
         'copilot/environments/prod/manifest.yml: network.vpc.flow_logs.retention: got "thirty"; a whole number is needed'),
    ],
)
def test_a_bad_manifest_exits_2_with_one_line_naming_file_and_key(tmp_path: Path, manifests: dict[str, str], message: str):
    ws = workspace(tmp_path, manifests)
    status, stdout, err = run(str(ws))
    assert (status, stdout) == (2, "")
    assert len(err) == 1 and err[0].startswith(f"error: {message}"), err
    assert "Traceback" not in err[0]


@pytest.mark.parametrize("environment", [None, "prod"])
def test_bad_pipeline_and_environment_manifests_exit_2_with_or_without_an_environment(tmp_path: Path, environment: str | None):
    # Without --environment the stage without a name was the production stage (a KeyError once);
    # with it, the environment manifest is read (a ValueError once).
    for i, manifests in enumerate((
        {"pipelines/p/manifest.yml": "name: p\nsource: {provider: GitHub, properties: {repository: a/b}}\nstages:\n"
                                     "  - requires_approval: true\n"},
        {"environments/prod/manifest.yml": "name: prod\ntype: Environment\nnetwork: {vpc: {flow_logs: {retention: thirty}}}\n"},
    )):
        ws = workspace(tmp_path / str(i), manifests)
        status, _, err = run(str(ws), *(["--environment", environment] if environment else []))
        assert status == 2 and len(err) == 1 and err[0].startswith("error: copilot/"), err


def test_a_directory_without_copilot_exits_2(tmp_path: Path):
    status, _, err = run(str(tmp_path))
    assert status == 2 and err == [f"error: {tmp_path}: no copilot/ directory here (a Copilot workspace has copilot/<service>/manifest.yml)"]


def test_checks_name_the_nested_key_inside_either_or_values():
    with pytest.raises(ManifestError, match=r"^f: count.cooldown.in: got 5; a duration"):
        check({"count": {"cooldown": {"in": 5}}}, {"count": (DURATION, {"cooldown": {"in": DURATION}})}, "", "f")


# --- what a review found: values as Copilot reads them, nothing defaulted or dropped silently --------


def test_string_fields_keep_the_manifests_text_as_copilots_yaml_library_does(tmp_path: Path):
    # PyYAML's YAML 1.1 rules would make these 3.1, 493, 90, 1000, 31, a date, true and a float.
    ws = workspace(tmp_path, {"web/manifest.yml": WEB + textwrap.dedent("""\
        variables:
          PY: 3.10
          MODE: 0755
          T: 1:30
          N: 1_000
          H: 0x1F
          RELEASED: 2024-01-01
          FLAG: yes
          UPPER: True
          RATIO: 1.50
          QUOTED: '007'
        secrets:
          NUM: 0x1F
        """)})
    fragment, report = fragment_of(ws)
    web = service(fragment, "web")
    assert web["environment"] == {
        "PY": "3.10", "MODE": "0755", "T": "1:30", "N": "1_000", "H": "0x1F", "RELEASED": "2024-01-01", "FLAG": "yes",
        "UPPER": "True", "RATIO": "1.50", "QUOTED": "007",
    }  # fmt: skip
    assert web["secrets"]["NUM"].endswith(":parameter/0x1F")
    assert entry(report, "copilot/web/manifest.yml", "variables.PY") == ("imported", '"3.10" -> services[0] (web).environment.PY')


def test_numbers_resolve_as_copilots_yaml_library_reads_them_where_a_number_is_expected(tmp_path: Path):
    ws = workspace(tmp_path, {"web/manifest.yml": WEB.replace("port: 8080", "port: 0o17620") + "cpu: 0x100\nmemory: 1_024\ncount: 010\n"})
    web = service(fragment_of(ws)[0], "web")
    # Go's prefixes (0o, 0x, and a leading 0 for octal) after yaml.v3 drops the underscores
    assert (web["port"], web["cpu"], web["memory"], web["desiredCount"]) == (8080, 256, 1024, 8)


def test_a_shell_variable_in_a_key_the_importer_would_default_skips_the_service(tmp_path: Path):
    ws = workspace(tmp_path, {
        "web/manifest.yml": WEB.replace("path: '/'", "path: ${PREFIX}/api"),
        "shop/manifest.yml": WEB.replace("name: web", "name: shop").replace("path: '/'", "path: shop")
        + "count:\n  range: ${MIN}-10\n",
        "cart/manifest.yml": WEB.replace("name: web", "name: cart").replace("path: '/'", "path: cart\n  alias: ${DOMAIN}")
        + "variables:\n  TAG: v-${TAG}\n  KEEP: x\n",
    })  # fmt: skip
    fragment, report = fragment_of(ws)
    # Without the value, the path would be the catch-all /* and the range the platform's 2-10.
    assert [s["name"] for s in fragment["services"]] == ["cart"]
    status, text = entry(report, "copilot/web/manifest.yml", "http.path")
    assert status == "skipped" and "${PREFIX}" in text and "left out" in text
    assert entry(report, "copilot/shop/manifest.yml", "count.range")[0] == "skipped"
    assert not [e for e in report.entries if e.file != "copilot/cart/manifest.yml" and e.status != "skipped"]
    # A variable's value has no default, and an alias is not imported anyway: the key is left out,
    # the service imported.
    assert entry(report, "copilot/cart/manifest.yml", "variables.TAG")[0] == "not imported"
    assert entry(report, "copilot/cart/manifest.yml", "http.alias")[0] == "not imported"
    assert service(fragment, "cart")["environment"] == {"KEEP": "x"}


@pytest.mark.parametrize(
    ("count", "status", "fixed"),
    [("count: {}\n", "defaulted", 1), ("count:\n  cooldown:\n    in: 30s\n", "defaulted", 1), ("count: 3\n", "imported", 3)],
)
def test_a_count_without_a_count_or_range_falls_back_to_copilots_default_and_says_so(
    tmp_path: Path, count: str, status: str, fixed: int
):
    fragment, report = fragment_of(workspace(tmp_path, {"web/manifest.yml": WEB + count}))
    web = service(fragment, "web")
    assert (web["desiredCount"], web["autoscaling"]) == (fixed, {"minCapacity": fixed, "maxCapacity": fixed})
    assert entry(report, "copilot/web/manifest.yml", "count")[0] == status
    if "cooldown" in count:
        assert entry(report, "copilot/web/manifest.yml", "count.cooldown")[0] == "not imported"


def test_autoscaling_takes_copilots_cooldowns_and_rounds_a_fraction_up(tmp_path: Path):
    ws = workspace(tmp_path, {"web/manifest.yml": WEB + "count:\n  range: 1-4\n  cpu_percentage: 50\n"})
    fragment, report = fragment_of(ws)
    scaling = service(fragment, "web")["autoscaling"]
    assert (scaling["scaleInCooldownSeconds"], scaling["scaleOutCooldownSeconds"]) == (120, 60)  # the platform's: 300, 60
    for key in ("count.cooldown.in", "count.cooldown.out", "count.memory_percentage"):
        assert entry(report, "copilot/web/manifest.yml", key)[0] == "defaulted"
    ws = workspace(tmp_path / "b", {"web/manifest.yml": WEB + "count:\n  range: 1-4\n  cooldown: {in: 1.5s, out: 1s}\n"})
    fragment, report = fragment_of(ws)
    assert service(fragment, "web")["autoscaling"]["scaleInCooldownSeconds"] == 2
    status, text = entry(report, "copilot/web/manifest.yml", "count.cooldown.in")
    assert status == "differs" and "rounded up" in text


@pytest.mark.parametrize(
    ("schedule", "expression", "copilot"),
    [
        ("0 0 */2 * *", "cron(0 0 */2 * ? *)", "Copilot deployed it as cron(0 0 * * ? *)"),
        ("0 9 * * */2", "cron(0 9 ? * */2 *)", "Copilot deployed it as cron(0 9 * * ? *)"),
        ("0 9 * * 1-5/2", "cron(0 9 ? * MON,WED,FRI *)", "Copilot deployed it as cron(0 9 ? * 2-6/3 *)"),
        ("0 9 * * 1-5", "cron(0 9 ? * MON-FRI *)", None),
        ("30 4 1 * *", "cron(30 4 1 * ? *)", None),
        ("*/15 * * * *", "cron(*/15 * * * ? *)", None),
        ("@daily", "cron(0 0 * * ? *)", None),
    ],
)
def test_a_schedule_copilot_read_differently_is_converted_as_written_and_reported(
    schedule: str, expression: str, copilot: str | None
):
    assert to_eventbridge(schedule) == expression
    difference = copilot_difference(schedule)
    assert (difference or "").startswith(copilot or "") and (difference is None) == (copilot is None), difference


def test_a_job_whose_schedule_copilot_ran_daily_is_reported_as_differs(tmp_path: Path):
    ws = workspace(tmp_path, {"nightly/manifest.yml": "name: nightly\ntype: Scheduled Job\non:\n  schedule: '0 0 */2 * *'\n"})
    fragment, report = fragment_of(ws)
    assert fragment["taskLauncher"]["schedules"][0]["expression"] == "cron(0 0 */2 * ? *)"
    status, text = entry(report, "copilot/nightly/manifest.yml", "on.schedule")
    assert status == "differs" and "ran every day" in text


def test_a_reversed_day_of_week_range_says_so():
    with pytest.raises(ScheduleError, match=r"day-of-week '6-0': a range runs from the lower day to the higher"):
        to_eventbridge("0 0 * * 6-0")


@pytest.mark.parametrize(("flow_logs", "days", "status"), [("{retention: 0}", 0, "imported"), ("true", 14, "defaulted")])
def test_flow_log_retention_is_the_manifests_even_when_zero(tmp_path: Path, flow_logs: str, days: int, status: str):
    env = f"name: prod\ntype: Environment\nnetwork:\n  vpc:\n    flow_logs: {flow_logs}\n"
    fragment, report = fragment_of(workspace(tmp_path, {"environments/prod/manifest.yml": env}), "prod")
    assert fragment["network"]["flowLogs"]["retentionDays"] == days  # 0 is the model's to refuse, not 14
    assert entry(report, "copilot/environments/prod/manifest.yml", "network.vpc.flow_logs")[0] == status


def test_every_file_under_copilot_the_importer_does_not_read_is_reported(tmp_path: Path):
    ws = workspace(tmp_path, {
        "web/manifest.yml": WEB,
        "web/overrides/cfn.patches.yml": "- op: add\n",
        "web/addons/db.yml": "Resources: {}\n",
        "internal/manifest.yml": "name: internal\ntype: Backend Service\n",
        "internal/addons/queue.yml": "Resources: {}\n",
        "environments/addons/env.yml": "Resources: {}\n",
        "pipelines/p/manifest.yml": "name: p\n",
        "pipelines/p/overrides/patch.yml": "- op: add\n",
        "pipelines/p/buildspec.yml": "version: 0.2\n",
        "notes.txt": "hello\n",
        ".workspace": "application: shop\n",
    })  # fmt: skip
    _, report = fragment_of(ws)
    files = {e.file: e.text for e in report.entries if e.key == "(file)"}
    assert all(e.status == "not imported" for e in report.entries if e.key == "(file)")
    assert sorted(files) == [
        "copilot/environments/addons/env.yml", "copilot/internal/addons/queue.yml", "copilot/notes.txt",
        "copilot/pipelines/p/buildspec.yml", "copilot/pipelines/p/overrides/patch.yml",
        "copilot/web/addons/db.yml", "copilot/web/overrides/cfn.patches.yml",
    ]  # fmt: skip
    assert "addon of web" in files["copilot/web/addons/db.yml"]
    assert "addon of internal" in files["copilot/internal/addons/queue.yml"]  # a skipped service's too
    assert "override of web" in files["copilot/web/overrides/cfn.patches.yml"]
    assert "environment addon" in files["copilot/environments/addons/env.yml"]
    assert "pipeline" in files["copilot/pipelines/p/overrides/patch.yml"]
    assert "buildspec is not run" in files["copilot/pipelines/p/buildspec.yml"]


UNKNOWN_KEYS = {
    "web/manifest.yml": WEB.replace("  build: web/Dockerfile", "  build: web/Dockerfile\n  location: nginx:1\n"
                                    "  healthcheck:\n    command: [CMD-SHELL, 'true']\n    foo: 1")
    + textwrap.dedent("""\
        count:
          range: {min: 1, max: 4, extra: 9}
          cpu_percentage: {value: 50, foo: 1}
          cooldown: {in: 10s, out: 5s, sideways: 1s}
        secrets:
          S: {secretsmanager: s, bar: 1}
        """),
    "job/manifest.yml": "name: job\ntype: Scheduled Job\non: {schedule: '@daily', when: x}\n",
    "pipelines/p/manifest.yml": "name: p\nsource: {provider: GitHub, properties: {repository: a/b}, extra: 1}\nstages: [{name: prod}]\n",
    "environments/prod/manifest.yml": "name: prod\ntype: Environment\nnetwork:\n  foo: bar\n  vpc:\n"
    "    flow_logs: {retention: 30, extra: 1}\n",
}
WEB_FILE = "copilot/web/manifest.yml"


@pytest.mark.parametrize(
    ("file", "key"),
    [
        (WEB_FILE, "image.location"),
        (WEB_FILE, "image.healthcheck.foo"),
        (WEB_FILE, "count.range.extra"),
        (WEB_FILE, "count.cpu_percentage.foo"),
        (WEB_FILE, "count.cooldown.sideways"),
        (WEB_FILE, "secrets.S.bar"),
        ("copilot/job/manifest.yml", "on.when"),
        ("copilot/pipelines/p/manifest.yml", "source.extra"),
        ("copilot/environments/prod/manifest.yml", "network.foo"),
        ("copilot/environments/prod/manifest.yml", "network.vpc.flow_logs.extra"),
    ],
)
def test_unknown_keys_inside_known_maps_are_reported(tmp_path: Path, file: str, key: str):
    _, report = fragment_of(workspace(tmp_path, UNKNOWN_KEYS), "prod")
    status, text = entry(report, file, key)
    assert status == "not imported"
    if key == "image.location":  # with image.build: the line says why it was not used
        assert "Copilot refuses" in text and "the build was imported" in text, text


def test_a_key_no_mapping_step_reports_is_still_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # The last net: with the per-map checks switched off, unmapped keys are still reported, and
    # mapped ones are not reported twice.
    from ops.copilot import mapping

    monkeypatch.setattr(mapping._Workload, "leftovers", lambda *args, **kwargs: None)
    ws = workspace(tmp_path, {"web/manifest.yml": WEB + "exec: true\nhttp_extra: 1\n", "job/manifest.yml": UNKNOWN_KEYS["job/manifest.yml"]})
    _, report = fragment_of(ws)
    for file, key in ((WEB_FILE, "exec"), (WEB_FILE, "http_extra"), ("copilot/job/manifest.yml", "on.when")):
        assert entry(report, file, key)[0] == "not imported"
    assert sorted(e.key for e in report.entries if e.status == "not imported") == ["exec", "http_extra", "on.when"]


def test_the_health_check_takes_copilots_defaults_and_the_drain_time_is_reported(tmp_path: Path):
    ws = workspace(tmp_path, {"web/manifest.yml": WEB.replace("path: '/'", "path: '/'\n  healthcheck:\n    healthy_threshold: 3")})
    fragment, report = fragment_of(ws)
    check = service(fragment, "web")["healthCheck"]
    # Copilot's documented defaults, where the platform's are 200-399, 3 and 3.
    assert (check["matcher"], check["healthyThreshold"], check["unhealthyThreshold"]) == ("200", 3, 2)
    assert entry(report, WEB_FILE, "http.healthcheck.success_codes")[0] == "defaulted"
    assert entry(report, WEB_FILE, "http.healthcheck.healthy_threshold")[0] == "imported"
    status, text = entry(report, WEB_FILE, "http.deregistration_delay")
    assert status == "differs" and "60 s" in text and "30 s" in text


def test_host_names_and_shared_paths_are_reported(tmp_path: Path):
    ws = workspace(tmp_path, {
        "web/manifest.yml": WEB,
        "shop/manifest.yml": WEB.replace("name: web", "name: shop"),
        "environments/prod/manifest.yml": "name: prod\ntype: Environment\nhttp:\n  public:\n    certificates: [arn:aws:acm:x]\n",
    })  # fmt: skip
    _, report = fragment_of(ws, "prod")
    assert entry(report, "copilot/shop/manifest.yml", "http.path")[0] == "imported"  # the first on the path
    status, text = entry(report, WEB_FILE, "http.path")
    assert status == "differs" and "also shop's path" in text and "host name" in text
    assert entry(report, "copilot/environments/prod/manifest.yml", "(host names)")[0] == "differs"
    # One service per path: no such line.
    _, report = fragment_of(workspace(tmp_path / "one", {"web/manifest.yml": WEB}))
    assert entry(report, WEB_FILE, "http.path")[0] == "imported"
    assert not [e for e in report.entries if e.key == "(host names)"]


def test_a_jobs_port_is_imported_not_reported_as_left_over(tmp_path: Path):
    ws = workspace(tmp_path, {"nightly/manifest.yml": "name: nightly\ntype: Scheduled Job\non: {schedule: '@daily'}\n"
                                                     "image: {build: nightly/Dockerfile, port: 9000}\n"})
    fragment, report = fragment_of(ws)
    assert service(fragment, "nightly")["port"] == 9000
    assert entry(report, "copilot/nightly/manifest.yml", "image.port")[0] == "imported"
    assert not report.of("not imported")


@pytest.mark.parametrize(("readonly", "status"), [("true", "imported"), ("false", "differs")])
def test_readonly_fs_is_what_the_platform_always_does(tmp_path: Path, readonly: str, status: str):
    _, report = fragment_of(workspace(tmp_path, {"web/manifest.yml": WEB + f"storage:\n  readonly_fs: {readonly}\n"}))
    assert entry(report, WEB_FILE, "storage.readonly_fs")[0] == status
    assert not [e for e in report.entries if e.key == "(task)"]  # said once, on the key


def test_a_missing_path_is_one_defaulted_line(tmp_path: Path):
    fragment, report = fragment_of(workspace(tmp_path, {"web/manifest.yml": WEB.replace("  path: '/'\n", "  healthcheck: /h\n")}))
    assert service(fragment, "web")["paths"] == ["/*"]
    assert entry(report, WEB_FILE, "http.path")[0] == "defaulted"  # entry() asserts there is one line for the key


@pytest.mark.parametrize(("app", "status"), [("devops-platform", "imported"), ("shop", "differs")])
def test_the_application_name_differs_when_it_renames_the_stack(tmp_path: Path, app: str, status: str):
    fragment, report = fragment_of(workspace(tmp_path, {"web/manifest.yml": WEB, ".workspace": f"application: {app}\n"}))
    assert fragment["name"] == app
    status_found, text = entry(report, "copilot/.workspace", "application")
    assert status_found == status and (status == "imported" or "replaces" in text)


# --- the migration guide's worked example is the real output --------------------------------------


def _blocks(text: str, after: str) -> str:
    """The first fenced block after the line ``after``."""
    rest = text[text.index(after) :]
    return re.search(r"```[a-z]*\n(.*?)```", rest, flags=re.DOTALL).group(1)  # type: ignore[union-attr]


def test_the_guides_worked_example_is_what_the_importer_prints(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(EXAMPLE.parent.parent.parent)  # the repository, so the workspace path reads tests/copilot/example
    status, stdout, err = run("tests/copilot/example", "--environment", "prod")
    doc = DOC.read_text()
    assert status == 0
    assert _blocks(doc, "<!-- fragment -->") == stdout
    assert _blocks(doc, "<!-- report -->").splitlines() == err
    for rel in ("copilot/web/manifest.yml", "copilot/reports/manifest.yml", "copilot/pipelines/release/manifest.yml"):
        assert _blocks(doc, f"<!-- {rel} -->") == (EXAMPLE / rel).read_text()


# --- round trip: merged into the dev stack, synthesized ------------------------------------------


def synth(fragment: dict[str, Any]) -> harness.Graph:
    files = stackfiles.load("dev")
    namespace = cli.merge(decode(files.project_config, files.project), fragment)
    others = {k: v for k, v in files.config.items() if not k.startswith(f"{PROJECT}:")}
    return harness.run_program(stack="dev", config={**others, **encode(namespace)})


@pytest.fixture(scope="module")
def example_graph() -> harness.Graph:
    return synth(fragment_of(EXAMPLE, "prod")[0])


@pytest.fixture(scope="module")
def full_graph() -> harness.Graph:
    return synth(fragment_of(FULL, "prod")[0])


def _rule_paths(graph: harness.Graph, region: str, name: str) -> list[str]:
    (condition,) = graph.named(f"{region}-{name}-rule").inputs["conditions"]
    return condition["pathPattern"]["values"]


@pytest.mark.parametrize("region", REGIONS)
def test_round_trip_example_routes_sizes_counts_and_schedule(example_graph: harness.Graph, region: str):
    g = example_graph
    assert _rule_paths(g, region, "web") == ["/*"]
    assert _rule_paths(g, region, "reports") == ["/_jobs/reports/*"]
    task = g.named(f"{region}-web-task").inputs
    assert (task["cpu"], task["memory"]) == ("512", "1024")
    assert (g.named(f"{region}-reports-task").inputs["cpu"], g.named(f"{region}-reports-task").inputs["memory"]) == ("256", "512")
    target = g.named(f"{region}-web-scaling-target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (3, 10)
    schedule = g.named(f"{region}-task-launcher-function-schedule-reports").inputs
    assert schedule["scheduleExpression"] == "cron(0 2 ? * MON-FRI *)"
    tg = g.named(f"{region}-web-tg").inputs["healthCheck"]
    assert (tg["path"], tg["matcher"], tg["interval"]) == ("/healthz", "200", 15)


@pytest.mark.parametrize("region", REGIONS)
def test_round_trip_full_routes_sizes_counts_and_schedule(full_graph: harness.Graph, region: str):
    g = full_graph
    assert _rule_paths(g, region, "api") == ["/api", "/api/*"]
    assert _rule_paths(g, region, "frontend") == ["/*"]
    # The catch-all rule comes after the one with a literal prefix.
    assert g.named(f"{region}-api-rule").inputs["priority"] < g.named(f"{region}-frontend-rule").inputs["priority"]
    task = g.named(f"{region}-api-task").inputs
    assert (task["cpu"], task["memory"]) == ("1024", "2048")
    assert task["runtimePlatform"]["cpuArchitecture"] == "ARM64"
    for name, bounds in (("api", (2, 8)), ("frontend", (4, 12))):
        target = g.named(f"{region}-{name}-scaling-target").inputs
        assert (target["minCapacity"], target["maxCapacity"]) == bounds
    schedule = g.named(f"{region}-task-launcher-function-schedule-nightly").inputs
    assert schedule["scheduleExpression"] == "rate(90 minutes)"


def test_placeholder_arns_are_in_the_partition_of_the_stacks_primary_region():
    """A GovCloud stack gets GovCloud ARNs: the user replaces the account, not the partition too."""
    gov = base()
    gov["regions"] = [{**r, "name": "us-gov-west-1" if r["role"] == "primary" else "us-gov-east-1"} for r in gov["regions"]]
    report = Report()
    fragment = cli.import_workspace(read_workspace(EXAMPLE), gov, "prod", report)
    arns = [service(fragment, "web")["secrets"]["DB_PASSWORD"], fragment["pipeline"]["source"]["connectionArn"]]
    assert [a.split(":")[1:4] for a in arns] == [["aws-us-gov", "ssm", "us-gov-west-1"], ["aws-us-gov", "codeconnections", "us-gov-west-1"]]
    # The commercial stack's are unchanged.
    fragment, _ = fragment_of(EXAMPLE, "prod")
    assert service(fragment, "web")["secrets"]["DB_PASSWORD"].startswith("arn:aws:ssm:us-east-1:123456789012:parameter/")
