"""The Lambda deploy action's buildspec, run in bash against a stand-in ``aws`` command.

The stand-in keeps the function, its versions, its ``live`` alias and CodeDeploy's deployments in a
JSON file, answers as the AWS CLI would, and validates every request it gets against botocore's
service model of that API (the CLI's own models), so a misspelt option or a malformed revision fails
the test as it would fail the real call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.buildspecs import lambda_deploy_spec

FUNCTION = "devops-platform-prod-go-demo"
OLD = "123456789012.dkr.ecr.us-east-1.amazonaws.com/devops-platform-prod/go-demo:" + "a" * 40
NEW = "123456789012.dkr.ecr.us-east-1.amazonaws.com/devops-platform-prod/go-demo:" + "b" * 40

FAKE_AWS = r'''#!{python}
"""A stand-in for the AWS CLI's lambda and deploy commands: every request is validated against
botocore's model of the API, every answer is a whole response shaped as the API's, and --query
(JMESPath) and --output pick from it as the CLI does."""
import json, os, sys
import botocore.session
import jmespath
from botocore import xform_name
from botocore.validate import validate_parameters

SERVICES = {{"lambda": "lambda", "deploy": "codedeploy"}}
WAITERS = {{("lambda", "function-updated"): "GetFunctionConfiguration"}}
args = sys.argv[1:]
with open(os.environ["CALLS"], "a") as log:
    log.write(" ".join(args) + "\n")
service, command, rest = args[0], args[1], args[2:]
if command == "wait":
    operation, rest = WAITERS[(service, rest[0])], rest[1:]
else:
    operation = "".join(word.capitalize() for word in command.split("-"))
model = botocore.session.get_session().get_service_model(SERVICES[service]).operation_model(operation)
members = {{xform_name(m).replace("_", "-"): m for m in model.input_shape.members}}
params, query, output, i = {{}}, None, "json", 0
while i < len(rest):
    option = rest[i][2:]
    if option in ("query", "output"):
        query, output = (rest[i + 1], output) if option == "query" else (query, rest[i + 1])
        i += 2
        continue
    member = members.get(option)
    if member is None:
        sys.exit(f"aws {{service}} {{command}}: unknown option --{{option}}")
    shape = model.input_shape.members[member]
    if shape.type_name == "boolean":
        params[member], i = True, i + 1
        continue
    value = rest[i + 1]
    params[member] = json.loads(value) if shape.type_name == "structure" else value
    i += 2
validate_parameters(params, model.input_shape)  # raises on anything the API would refuse

path = os.environ["STATE"]
state = json.load(open(path))
function = {{"FunctionName": params.get("FunctionName"), "PackageType": state["package"], "LastUpdateStatus": "Successful"}}
if operation == "GetFunctionConfiguration":
    response = function if command != "wait" else None
elif operation == "GetFunction":
    version = params.get("Qualifier", "$LATEST")
    image = state["latest"] if version == "$LATEST" else state["versions"][version]
    response = {{"Configuration": {{**function, "Version": version}}, "Code": {{"RepositoryType": "ECR", "ImageUri": image}}}}
elif operation == "GetAlias":
    response = {{"Name": params["Name"], "FunctionVersion": state["alias"]}}
elif operation == "UpdateFunctionCode":
    state["latest"] = params["ImageUri"]
    response = {{**function, "LastUpdateStatus": "InProgress"}}
elif operation == "PublishVersion":
    # Lambda publishes nothing new when the code has not changed since the last version.
    last = max(state["versions"], key=int)
    if state["versions"][last] != state["latest"]:
        last = str(int(last) + 1)
        state["versions"][last] = state["latest"]
    response = {{**function, "Version": last}}
elif operation == "UpdateAlias":
    state["alias"] = params["FunctionVersion"]
    response = {{"Name": params["Name"], "FunctionVersion": state["alias"]}}
elif operation == "CreateDeployment":
    appspec = json.loads(params["revision"]["appSpecContent"]["content"])
    state["deployments"].append({{"revision": params["revision"], "appspec": appspec, "polls": 0}})
    response = {{"deploymentId": f"d-{{len(state['deployments']):09d}}"}}
elif operation == "GetDeployment":
    deployment = state["deployments"][int(params["deploymentId"][2:]) - 1]
    deployment["polls"] += 1
    outcome = os.environ.get("OUTCOME", "Succeeded")
    status = "InProgress" if deployment["polls"] < 2 or outcome == "Hang" else outcome
    if status == "Succeeded":
        state["alias"] = deployment["appspec"]["Resources"][0]["service"]["Properties"]["TargetVersion"]
    info = {{"deploymentId": params["deploymentId"], "status": status}}
    if status == "Failed":
        info["errorInformation"] = {{"code": "ALARM_ACTIVE", "message": "an alarm fired"}}
    response = {{"deploymentInfo": info}}
elif operation == "StopDeployment":
    state["stopped"] = params
    response = {{"status": "Pending", "statusMessage": "Stopping"}}
json.dump(state, open(path, "w"))
if response is not None:
    picked = jmespath.search(query, response) if query else response
    print(picked if output == "text" and not isinstance(picked, (dict, list)) else json.dumps(picked))
'''


def _run(tmp: Path, state: dict[str, Any], *, timeout_minutes: int = 30, **env: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any], list[str]]:
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "aws"
    fake.write_text(FAKE_AWS.format(python=sys.executable))
    fake.chmod(0o755)
    (tmp / "state.json").write_text(json.dumps({"deployments": [], **state}))
    script = "\n".join(yaml.safe_load(lambda_deploy_spec(timeout_minutes))["phases"]["build"]["commands"])
    environment = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(tmp / "calls.log"),
        "STATE": str(tmp / "state.json"),
        "SERVICE": "go-demo",
        "FUNCTION_NAME": FUNCTION,
        "POLL_SECONDS": "0",
        **env,
    }
    result = subprocess.run(["bash", "-c", script], cwd=tmp, env=environment, capture_output=True, text=True, timeout=120)
    calls = (tmp / "calls.log").read_text().splitlines() if (tmp / "calls.log").exists() else []
    return result, json.loads((tmp / "state.json").read_text()), calls


def _image(tmp: Path, image: str = NEW) -> None:
    (tmp / "imagedefinitions.json").write_text(json.dumps([{"name": "go-demo", "imageUri": image}]))


LIVE = {"package": "Image", "alias": "3", "latest": OLD, "versions": {"3": OLD}}
PRODUCTION = {"APPLICATION": FUNCTION, "DEPLOYMENT_GROUP": FUNCTION}


def test_a_function_that_is_still_the_stub_is_not_deployed(tmp_path: Path):
    _image(tmp_path)
    result, state, calls = _run(tmp_path, {**LIVE, "package": "Zip"}, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "still answers 503" in result.stdout and "pulumi up" in result.stdout
    assert [c.split()[1] for c in calls] == ["get-function-configuration"]
    assert state["latest"] == OLD and state["alias"] == "3"


def test_staging_publishes_the_image_and_moves_its_alias_at_once(tmp_path: Path):
    _image(tmp_path)
    result, state, calls = _run(tmp_path, LIVE)
    assert result.returncode == 0, result.stderr
    assert state["versions"] == {"3": OLD, "4": NEW} and state["alias"] == "4"
    assert not [c for c in calls if c.startswith("deploy ")]
    # The update is waited for before a version is published from it.
    order = [c.split()[1] for c in calls]
    assert order.index("update-function-code") < order.index("wait") < order.index("publish-version") < order.index("update-alias")


def test_production_shifts_the_alias_with_codedeploy_from_the_live_version_to_the_new_one(tmp_path: Path):
    _image(tmp_path)
    result, state, calls = _run(tmp_path, LIVE, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    (deployment,) = state["deployments"]
    assert deployment["revision"]["revisionType"] == "AppSpecContent"
    # AppSpec's version is the number 0.0.
    assert deployment["revision"]["appSpecContent"]["content"].startswith('{"version":0.0,')
    assert deployment["appspec"]["Resources"] == [
        {"service": {"Type": "AWS::Lambda::Function",
                     "Properties": {"Name": FUNCTION, "Alias": "live", "CurrentVersion": "3", "TargetVersion": "4"}}}
    ]  # fmt: skip
    assert state["alias"] == "4"  # CodeDeploy moved it
    assert not [c for c in calls if "update-alias" in c]  # the deploy never moves it itself
    assert any(c.startswith(f"deploy create-deployment --application-name {FUNCTION} --deployment-group-name {FUNCTION}") for c in calls)


def test_a_rolled_back_deployment_fails_the_action_and_leaves_the_old_version_live(tmp_path: Path):
    _image(tmp_path)
    result, state, calls = _run(tmp_path, LIVE, OUTCOME="Failed", **PRODUCTION)
    assert result.returncode == 1
    assert "Failed" in result.stderr and "ALARM_ACTIVE" in result.stderr
    assert state["alias"] == "3"
    # The function's code is the live version's image again: a later publish (a pulumi up that
    # changes the configuration) cannot bring the rejected image live.
    assert state["latest"] == OLD and state["versions"]["4"] == NEW
    assert f"lambda get-function --function-name {FUNCTION} --qualifier 3 --query Code.ImageUri --output text" in calls


def test_a_deployment_that_outlasts_the_wait_is_stopped_with_rollback(tmp_path: Path):
    _image(tmp_path)
    result, state, _ = _run(tmp_path, LIVE, timeout_minutes=0, OUTCOME="Hang", **PRODUCTION)
    assert result.returncode == 1
    assert state["stopped"] == {"deploymentId": "d-000000001", "autoRollbackEnabled": True}
    assert state["alias"] == "3" and state["latest"] == OLD


def test_a_retried_run_of_a_released_image_changes_nothing(tmp_path: Path):
    _image(tmp_path)
    first, state, _ = _run(tmp_path, LIVE, **PRODUCTION)
    assert first.returncode == 0, first.stderr
    (tmp_path / "calls.log").unlink()
    again, after, calls = _run(tmp_path, {k: v for k, v in state.items() if k != "deployments"}, **PRODUCTION)
    assert again.returncode == 0, again.stderr
    assert "live already" in again.stdout
    assert after["versions"] == state["versions"] and after["alias"] == "4"
    assert not after["deployments"] and not [c for c in calls if c.startswith("deploy ")]


@pytest.mark.parametrize("definitions", [None, "[]", '[{"name": "go-demo"}]'])
def test_without_an_image_to_deploy_it_stops_before_any_call(tmp_path: Path, definitions: str | None):
    if definitions is not None:
        (tmp_path / "imagedefinitions.json").write_text(definitions)
    result, state, calls = _run(tmp_path, LIVE, **PRODUCTION)
    assert result.returncode != 0
    assert calls == [] and state["alias"] == "3"


def test_the_stand_in_refuses_what_the_api_would(tmp_path: Path):
    # The validation is real: a request botocore's model rejects fails the command.
    (tmp_path / "bin").mkdir()
    fake = tmp_path / "bin" / "aws"
    fake.write_text(FAKE_AWS.format(python=sys.executable))
    fake.chmod(0o755)
    (tmp_path / "state.json").write_text(json.dumps({"deployments": [], **LIVE}))
    env = {**os.environ, "CALLS": str(tmp_path / "calls"), "STATE": str(tmp_path / "state.json")}
    bad = subprocess.run([str(fake), "deploy", "create-deployment", "--application-name", "a", "--revision", '{"revisionType": 7}'],
                         env=env, capture_output=True, text=True)  # fmt: skip
    assert bad.returncode != 0 and "revisionType" in bad.stderr
    unknown = subprocess.run([str(fake), "lambda", "get-alias", "--function", "f", "--name", "live"], env=env, capture_output=True, text=True)
    assert unknown.returncode != 0 and "unknown option --function" in unknown.stderr
    # A query picks from the whole response as the CLI's does: a misspelt field finds nothing.
    query = [str(fake), "deploy", "get-deployment", "--deployment-id", "d-000000001", "--output", "text", "--query"]
    (tmp_path / "state.json").write_text(json.dumps({**LIVE, "deployments": [{"appspec": {}, "polls": 0}]}))
    env["OUTCOME"] = "Hang"
    assert subprocess.run([*query, "deploymentInfo.status"], env=env, capture_output=True, text=True).stdout == "InProgress\n"
    assert subprocess.run([*query, "deploymentInfo.Status"], env=env, capture_output=True, text=True).stdout == "None\n"
