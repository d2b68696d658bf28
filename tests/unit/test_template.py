"""What template.yaml and statemachine/export.asl.json promise, checked without any tool.

`make check-template` runs the linters, the scanner and `sam build`; these tests pin the
decisions that none of them would notice rotting: who may start an export, the shape of the
distributed Map, where every ARN comes from, how narrow each IAM grant is, when the schedule
runs, and how an execution ends.
"""

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from exporter_runtime.settings import ListPagesSettings
from playment_exporter.export_request import ExportRequest
from playment_exporter.list_pages import ListingSummary

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
ASL_PATH = ROOT / "statemachine" / "export.asl.json"
EVENTS = ROOT / "events"

LAMBDA_TRANSIENT_ERRORS = {
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
}
# Errors that must end the execution at once (or be caught), never be retried.
NEVER_RETRIED = {"InvalidInput", "PlaymentAuthError", "States.ALL", "States.TaskFailed"}
# The only actions that may be granted on Resource "*": CloudWatch Logs' log delivery (it takes
# no resource ARN) and X-Ray's write actions.
STAR_RESOURCE_ACTIONS = {
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
}
SECRET_ARN = {"Fn::If": ["CreateApiKeySecret", {"Ref": "ApiKeySecret"}, {"Ref": "ApiKeySecretArn"}]}
SUBSTITUTION = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
SETTINGS_REQUIRED = {"results_bucket": "bucket", "api_key_secret_arn": "arn:secret"}


class CfnLoader(yaml.SafeLoader):
    """A safe YAML loader that turns CloudFormation's short tags into their long form."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        assert isinstance(node, yaml.MappingNode)
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def _load_template() -> dict[str, Any]:
    loader = CfnLoader(TEMPLATE_PATH.read_text(encoding="utf-8"))
    try:
        document: dict[str, Any] = loader.get_single_data()
    finally:
        loader.dispose()
    return document


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _load_template()


@pytest.fixture(scope="module")
def asl_text() -> str:
    return ASL_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def asl(asl_text: str) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(asl_text)
    return definition


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _state_machine(template: dict[str, Any]) -> dict[str, Any]:
    (machine,) = _resources(template, "AWS::Serverless::StateMachine").values()
    return machine


def _walk_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every state, those inside Map item processors and Parallel branches included."""
    for name, state in states.items():
        yield name, state
        for processor_key in ("ItemProcessor", "Iterator"):
            if processor_key in state:
                yield from _walk_states(state[processor_key]["States"])
        for branch in state.get("Branches", []):
            yield from _walk_states(branch["States"])


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _policy_entries(template: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Each (resource, entry) of the Policies of every SAM function and state machine."""
    for name, resource in template["Resources"].items():
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            for entry in _as_list(resource["Properties"].get("Policies", [])):
                yield name, entry


def _allow_statements(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Allow statement written in the template: SAM inline policies and IAM resources."""
    for name, entry in _policy_entries(template):
        if isinstance(entry, dict) and "Statement" in entry:
            for statement in entry["Statement"]:
                if statement["Effect"] == "Allow":
                    yield name, statement
    for name, resource in template["Resources"].items():
        if resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::IAM::Role"):
            properties = resource["Properties"]
            documents = [properties.get("PolicyDocument")] + [
                policy["PolicyDocument"] for policy in properties.get("Policies", [])
            ]
            for document in filter(None, documents):
                for statement in _as_list(document["Statement"]):
                    if statement["Effect"] == "Allow":
                        yield name, statement


def _evaluate(expression: Any, template: dict[str, Any], parameters: dict[str, str]) -> Any:
    """Resolve Ref (to parameters), Fn::Equals, Fn::Not and Fn::If as CloudFormation would."""
    if not isinstance(expression, dict) or len(expression) != 1:
        return expression
    ((function, argument),) = expression.items()
    if function == "Ref" and argument not in template["Parameters"]:
        return expression  # a resource or a pseudo parameter (AWS::NoValue)
    if function == "Ref":
        declared = template["Parameters"][argument]
        return parameters.get(argument, str(declared.get("Default", "")))
    if function == "Fn::Equals":
        left, right = (_evaluate(a, template, parameters) for a in argument)
        return left == right
    if function == "Fn::Not":
        return not _evaluate(argument[0], template, parameters)
    if function == "Fn::If":
        condition, if_true, if_false = argument
        holds = _evaluate(template["Conditions"][condition], template, parameters)
        return _evaluate(if_true if holds else if_false, template, parameters)
    return expression


# ---------------------------------------------------------------- who may start an export


def test_the_api_accepts_only_signed_requests(template: dict[str, Any]) -> None:
    # Given the template's APIs and every Api event that starts the state machine
    apis = _resources(template, "AWS::Serverless::Api")
    events = [
        (name, event["Properties"])
        for name, resource in template["Resources"].items()
        if resource["Type"] in ("AWS::Serverless::StateMachine", "AWS::Serverless::Function")
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "Api"
    ]

    # Then there is no HTTP API (whose auth rules differ) and one REST API, IAM-authorized
    assert not _resources(template, "AWS::Serverless::HttpApi")
    assert list(apis) == ["ExportApi"]
    assert apis["ExportApi"]["Properties"]["Auth"]["DefaultAuthorizer"] == "AWS_IAM"
    # And the one event is POST /exports on that API, not an implicit (open) one
    assert len(events) == 1
    owner, event = events[0]
    assert owner == "ExportStateMachine"
    assert event["RestApiId"] == {"Ref": "ExportApi"}
    assert (event["Path"], event["Method"].upper()) == ("/exports", "POST")
    # And the event does not override the default authorizer (to NONE, or to anything)
    assert event.get("Auth", {}).get("Authorizer", "AWS_IAM") == "AWS_IAM"


# ---------------------------------------------------------------- the workflow's shape


def test_the_map_is_distributed_reads_its_items_from_s3_and_runs_standard_children(
    asl: dict[str, Any],
) -> None:
    # Given every Map state of the definition, however deeply nested
    maps = [state for _, state in _walk_states(asl["States"]) if state["Type"] == "Map"]

    # Then there is exactly one, distributed, with STANDARD children (moto rejects EXPRESS)
    assert len(maps) == 1
    (fetch_pages,) = maps
    processor = fetch_pages["ItemProcessor"]
    assert processor["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    # And its items come from the manifest in S3, never inline through the state payload
    reader = fetch_pages["ItemReader"]
    assert reader["Resource"] == "arn:aws:states:::s3:getObject"
    assert reader["ReaderConfig"]["InputType"] == "JSON"
    assert "ItemsPath" not in fetch_pages
    assert "Items" not in fetch_pages
    # And no tolerated-failure threshold: moto ignores it, so the report decides instead
    assert not [key for key in fetch_pages if key.startswith("ToleratedFailure")]
    # And the children's results go to S3, while the listing survives the Map
    assert fetch_pages["ResultWriter"]["Resource"] == "arn:aws:states:::s3:putObject"
    assert fetch_pages["ResultWriter"]["Parameters"]["Prefix"].startswith("_exports/")
    assert "ResultPath" in fetch_pages
    assert fetch_pages["ResultPath"] is None


def test_a_child_workflow_never_fails(asl: dict[str, Any]) -> None:
    # Given the Map's item processor
    (fetch_pages,) = [s for _, s in _walk_states(asl["States"]) if s["Type"] == "Map"]
    states = fetch_pages["ItemProcessor"]["States"]

    # Then every task in it catches States.ALL, and the catcher leads to a Pass state that ends
    for state in states.values():
        if state["Type"] == "Task":
            catch_all = [c for c in state["Catch"] if c["ErrorEquals"] == ["States.ALL"]]
            assert catch_all, state
            target = states[catch_all[0]["Next"]]
            assert target["Type"] == "Pass"
            assert target.get("End") is True
    # And nothing in it can fail the child on purpose
    assert not [s for s in states.values() if s["Type"] == "Fail"]


def test_the_map_concurrency_comes_from_the_map_max_concurrency_parameter(
    template: dict[str, Any], asl: dict[str, Any]
) -> None:
    # Given the Map, the ListPages step that feeds it, and the template's substitutions
    (fetch_pages,) = [s for _, s in _walk_states(asl["States"]) if s["Type"] == "Map"]
    selector = asl["States"]["ListPages"]["ResultSelector"]
    substitutions = _state_machine(template)["Properties"]["DefinitionSubstitutions"]

    # Then MaxConcurrencyPath reads the number ListPages' ResultSelector makes of the
    # substitution (the definition stays plain JSON), and the substitution is the parameter
    assert fetch_pages["MaxConcurrencyPath"] == "$.max_concurrency"
    assert selector["max_concurrency.$"] == "States.StringToJson('${MapMaxConcurrency}')"
    assert substitutions["MapMaxConcurrency"] == {"Ref": "MapMaxConcurrency"}
    assert template["Parameters"]["MapMaxConcurrency"]["Type"] == "Number"


def test_list_pages_sizes_its_pages_for_the_map_max_concurrency_parameter(
    template: dict[str, Any],
) -> None:
    # Given the ListPages function's own environment and the parameter
    function = template["Resources"]["ListPagesFunction"]["Properties"]
    variables = function["Environment"]["Variables"]
    parameter = template["Parameters"]["MapMaxConcurrency"]

    # Then it is told the Map's concurrency by the same parameter the Map reads
    assert variables["MAP_MAX_CONCURRENCY"] == {"Ref": "MapMaxConcurrency"}
    # And, told nothing (a local run), it assumes the parameter's default and accepts its range
    field = ListPagesSettings.model_fields["map_max_concurrency"]
    assert field.default == parameter["Default"]
    for inside in (parameter["MinValue"], parameter["MaxValue"]):
        settings = ListPagesSettings.model_validate(
            {**SETTINGS_REQUIRED, "map_max_concurrency": inside}
        )
        assert settings.map_max_concurrency == inside
    for outside in (parameter["MinValue"] - 1, parameter["MaxValue"] + 1):
        with pytest.raises(ValidationError):
            ListPagesSettings.model_validate({**SETTINGS_REQUIRED, "map_max_concurrency": outside})


def test_each_step_sends_its_function_the_event_the_sample_events_show(
    asl: dict[str, Any],
) -> None:
    # Given the payloads the definition builds and the per-function sample events
    states = dict(_walk_states(asl["States"]))

    def keys(payload: dict[str, Any]) -> set[str]:
        return {key.removesuffix(".$") for key in payload}

    def sample(name: str) -> set[str]:
        return set(json.loads((EVENTS / name).read_text(encoding="utf-8")))

    (fetch_pages,) = [s for s in states.values() if s["Type"] == "Map"]

    # Then ListPages, each Map item and WriteReport carry exactly the sample events' fields
    assert keys(states["ListPages"]["Parameters"]["Payload"]) == sample("list-pages.json")
    assert keys(fetch_pages["ItemSelector"]) == sample("fetch-result.json")
    assert states["FetchPage"]["Parameters"]["Payload.$"] == "$"
    assert keys(states["WriteReport"]["Parameters"]["Payload"]) == sample("write-report.json")


# ---------------------------------------------------------------- where ARNs come from


def test_every_arn_in_the_definition_comes_through_a_substitution(
    template: dict[str, Any], asl: dict[str, Any], asl_text: str
) -> None:
    # Given the definition and the substitutions the template declares
    substitutions = _state_machine(template)["Properties"]["DefinitionSubstitutions"]
    used = set(SUBSTITUTION.findall(asl_text))

    # Then no account ID, region-bound ARN or bucket name is written in the definition:
    # the only literal ARNs are Step Functions' service integrations
    for text in _strings(asl):
        if "arn:" in text:
            assert text.startswith("arn:aws:states:::"), text
        assert not re.search(r"\b\d{12}\b", text), text
    for _, state in _walk_states(asl["States"]):
        if state["Type"] == "Task":
            assert SUBSTITUTION.fullmatch(state["Parameters"]["FunctionName"]), state
    # And every substitution used is declared, and every declared one is used
    assert used == set(substitutions)
    # And each function ARN is the attribute of the function of that name
    for name in used:
        if name.endswith("FunctionArn"):
            function = name.removesuffix("Arn")
            assert substitutions[name] == {"Fn::GetAtt": [function, "Arn"]}
            assert template["Resources"][function]["Type"] == "AWS::Serverless::Function"


# ---------------------------------------------------------------- IAM


def test_no_statement_grants_a_wildcard_action_or_resource(template: dict[str, Any]) -> None:
    # Given every Allow statement the template writes
    statements = list(_allow_statements(template))
    assert statements

    for owner, statement in statements:
        actions = _as_list(statement["Action"])
        resources = _as_list(statement["Resource"])
        # Then no action is "*" or a whole service ("s3:*")
        for action in actions:
            assert action != "*", (owner, statement)
            assert not action.endswith(":*"), (owner, statement)
        # And Resource "*" appears only for actions that take no resource ARN
        if "*" in resources:
            assert set(actions) <= STAR_RESOURCE_ACTIONS, (owner, statement)
        assert "NotAction" not in statement
        assert "NotResource" not in statement


def test_sam_policy_templates_and_managed_policies_stay_narrow(template: dict[str, Any]) -> None:
    # Given every Policies entry that is not an inline statement list
    others = [
        (owner, entry)
        for owner, entry in _policy_entries(template)
        if not (isinstance(entry, dict) and "Statement" in entry)
    ]

    # Then none is a managed policy by name (AmazonS3FullAccess and the like)
    assert not [entry for _, entry in others if isinstance(entry, str)]
    # And the only policy template is LambdaInvokePolicy, on the state machine, naming a
    # function of this stack
    for owner, entry in others:
        ((name, arguments),) = entry.items()
        assert (owner, name) == ("ExportStateMachine", "LambdaInvokePolicy")
        function = arguments["FunctionName"]["Ref"]
        assert template["Resources"][function]["Type"] == "AWS::Serverless::Function"


def test_s3_grants_name_the_results_bucket(template: dict[str, Any]) -> None:
    # Given every Allow statement with an S3 action
    s3_statements = [
        (owner, s)
        for owner, s in _allow_statements(template)
        if any(a.startswith("s3:") for a in _as_list(s["Action"]))
    ]
    assert s3_statements

    for owner, statement in s3_statements:
        for resource in _as_list(statement["Resource"]):
            # Then each resource is an ARN built on the results bucket (created or given)
            pattern, variables = resource["Fn::Sub"]
            assert pattern.startswith("arn:${AWS::Partition}:s3:::${Bucket}"), owner
            assert variables["Bucket"] == {
                "Fn::If": [
                    "CreateResultsBucket",
                    {"Ref": "ResultsBucket"},
                    {"Ref": "ResultsBucketName"},
                ]
            }
        # And listing the bucket is always limited to a prefix
        if "s3:ListBucket" in _as_list(statement["Action"]):
            assert "s3:prefix" in statement["Condition"]["StringLike"], owner


def test_only_the_functions_that_call_playment_read_the_key_and_only_that_secret(
    template: dict[str, Any],
) -> None:
    # Given every Allow statement touching Secrets Manager
    secret_statements = [
        (owner, s)
        for owner, s in _allow_statements(template)
        if any(a.startswith("secretsmanager:") for a in _as_list(s["Action"]))
    ]

    # Then it is GetSecretValue on the stack's secret (created or given), nothing wider
    for _, statement in secret_statements:
        assert _as_list(statement["Action"]) == ["secretsmanager:GetSecretValue"]
        assert statement["Resource"] == SECRET_ARN
    # And the two functions that call Playment have it, the report writer does not
    assert sorted(owner for owner, _ in secret_statements) == [
        "FetchResultFunction",
        "ListPagesFunction",
    ]
    # And the functions learn which secret from the environment, not a literal
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["API_KEY_SECRET_ARN"] == SECRET_ARN


def test_the_bucket_refuses_plain_http_and_public_access(template: dict[str, Any]) -> None:
    # Given the bucket the stack creates and its policy
    bucket = template["Resources"]["ResultsBucket"]["Properties"]
    (policy,) = _resources(template, "AWS::S3::BucketPolicy").values()
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]

    # Then every public-access switch is on and objects belong to the bucket owner
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    # And any request not made over TLS is denied
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


# ---------------------------------------------------------------- the schedule


def test_the_schedule_is_disabled_while_schedule_input_is_empty(template: dict[str, Any]) -> None:
    # Given the state machine's ScheduleV2 event
    (schedule,) = [
        event["Properties"]
        for event in _state_machine(template)["Properties"]["Events"].values()
        if event["Type"] == "ScheduleV2"
    ]

    # When the stack is deployed with the default (empty) ScheduleInput
    assert template["Parameters"]["ScheduleInput"]["Default"] == ""
    state = _evaluate(schedule["State"], template, {})
    # Then the schedule exists but is DISABLED, with no input
    assert state == "DISABLED"
    assert _evaluate(schedule["Input"], template, {}) == {"Ref": "AWS::NoValue"}

    # When an input is given
    given = {"ScheduleInput": '{"project_id": "p", "batch_ids": ["b"]}'}
    # Then it is ENABLED and that input is what each scheduled execution starts with
    assert _evaluate(schedule["State"], template, given) == "ENABLED"
    assert _evaluate(schedule["Input"], template, given) == given["ScheduleInput"]
    assert schedule["OmitName"] is True


# ---------------------------------------------------------------- how an execution ends


def test_the_fail_states_carry_the_documented_error_names(asl: dict[str, Any]) -> None:
    # Given every Fail state
    fails = {name: s for name, s in _walk_states(asl["States"]) if s["Type"] == "Fail"}
    errors = {state["Error"] for state in fails.values()}

    # Then an execution can only fail with a name the README documents
    assert errors == {"InvalidInput", "PlaymentAuthError", "ExportIncomplete"}
    # And each keeps a cause (read from the state, so the report's sentence reaches the console)
    for state in fails.values():
        assert "Cause" in state or "CausePath" in state
    # And the report's verdict routes auth failures and incomplete exports to them
    choices = {c["Next"] for c in asl["States"]["Verdict"]["Choices"]}
    assert {fails[name]["Error"] for name in choices} == {"PlaymentAuthError", "ExportIncomplete"}
    assert asl["States"][asl["States"]["Verdict"]["Default"]]["Type"] == "Succeed"


def test_lambda_tasks_retry_only_lambda_service_errors(asl: dict[str, Any]) -> None:
    # Given every Lambda task, in the parent and in the Map's children
    tasks = {
        name: s
        for name, s in _walk_states(asl["States"])
        if s["Type"] == "Task" and s["Resource"] == "arn:aws:states:::lambda:invoke"
    }
    assert set(tasks) == {"ListPages", "FetchPage", "WriteReport"}

    for name, task in tasks.items():
        # Then one retrier covers exactly the four Lambda service errors, with jittered backoff
        (retrier,) = task["Retry"]
        assert set(retrier["ErrorEquals"]) == LAMBDA_TRANSIENT_ERRORS, name
        assert retrier["JitterStrategy"] == "FULL"
        assert retrier["BackoffRate"] == 2
        assert retrier["MaxAttempts"] == 6
        # And the function's own verdicts (bad input, refused key) are never retried
        assert not set(retrier["ErrorEquals"]) & NEVER_RETRIED, name

    # And ListPages' InvalidInput and PlaymentAuthError end the execution under their own names
    for catcher in tasks["ListPages"]["Catch"]:
        (error,) = catcher["ErrorEquals"]
        target = asl["States"][catcher["Next"]]
        assert (target["Type"], target["Error"]) == ("Fail", error)


def test_execution_logs_leave_out_execution_data(template: dict[str, Any]) -> None:
    # Given the state machine's logging and tracing
    properties = _state_machine(template)["Properties"]

    # Then errors are logged without inputs and outputs, and executions are traced
    assert properties["Logging"]["Level"] == "ERROR"
    assert properties["Logging"]["IncludeExecutionData"] is False
    assert properties["Tracing"] == {"Enabled": True}
    assert properties["Type"] == "STANDARD"


# ---------------------------------------------------------------- sample inputs


@pytest.mark.parametrize(
    "name", ["start-export.json", "api-start-export.json", "schedule-input.json"]
)
def test_the_sample_execution_inputs_are_valid(name: str) -> None:
    # Given a sample execution input (console, API body, schedule)
    document = json.loads((EVENTS / name).read_text(encoding="utf-8"))

    # When it is checked as ListPages checks it
    request = ExportRequest.from_input(document)

    # Then it names the demo project and at least one batch, or all of them
    assert request.project_id == "demo-project"
    assert request.batch_ids or request.all_batches


def test_the_sample_write_report_event_carries_a_listing_as_list_pages_returns_it() -> None:
    # Given the sample WriteReport event
    listing = json.loads((EVENTS / "write-report.json").read_text(encoding="utf-8"))["listing"]

    # When its listing is read as ListPages' result / Then it has every field, nothing more
    summary = ListingSummary.model_validate(listing)
    assert summary.model_dump().keys() == listing.keys() | {"batches_left_out"}
