"""What template.yaml and statemachine/export.asl.json promise, checked without any tool.

`make check-template` runs the linters, the scanner and `sam build`; these tests pin the
decisions that none of them would notice rotting: who may start an export, the shape of the
distributed Map, where every ARN comes from, how narrow each IAM grant is, and when the
schedule runs. How an execution ends is test_template_endings.py's; the dashboard,
test_template_dashboard.py's; the names' lengths, test_template_names.py's.
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
from playment_exporter.report import ReportSummary
from playment_exporter.run_records import manifest_key_of

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
ASL_PATH = ROOT / "statemachine" / "export.asl.json"
EVENTS = ROOT / "events"

# The only actions that may be granted on Resource "*": CloudWatch Logs' log delivery (it takes
# no resource ARN), X-Ray's write actions, and PutMetricData (conditioned on its namespace:
# test_template_endings.py).
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
    "cloudwatch:PutMetricData",
}
SECRET_ARN = {"Fn::If": ["CreateApiKeySecret", {"Ref": "ApiKeySecret"}, {"Ref": "ApiKeySecretArn"}]}
NO_VALUE = {"Ref": "AWS::NoValue"}
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
    """Each (resource, entry) of the Policies of every SAM function and state machine; an
    entry under Fn::If counts with both its branches, so every grant that can exist is seen."""
    for name, resource in template["Resources"].items():
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            for entry in _as_list(resource["Properties"].get("Policies", [])):
                if isinstance(entry, dict) and "Fn::If" in entry:
                    _, if_true, if_false = entry["Fn::If"]
                    branches = [if_true, if_false]
                else:
                    branches = [entry]
                for branch in branches:
                    if branch != NO_VALUE:
                        yield name, branch


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


def _resolve(value: Any, template: dict[str, Any], parameters: dict[str, str]) -> Any:
    """``_evaluate`` all the way down, leaving out what resolves to AWS::NoValue."""
    value = _evaluate(value, template, parameters)
    if isinstance(value, dict):
        resolved = {key: _resolve(item, template, parameters) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item != NO_VALUE}
    if isinstance(value, list):
        items = (_resolve(item, template, parameters) for item in value)
        return [item for item in items if item != NO_VALUE]
    return value


def _resolved_statements(
    template: dict[str, Any], parameters: dict[str, str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every Allow statement of the SAM functions and state machine, deployed with
    ``parameters``: conditions resolved, AWS::NoValue dropped."""
    for name, resource in template["Resources"].items():
        if resource["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::StateMachine"):
            policies = _resolve(resource["Properties"].get("Policies", []), template, parameters)
            for entry in _as_list(policies):
                if isinstance(entry, dict) and "Statement" in entry:
                    for statement in entry["Statement"]:
                        if statement["Effect"] == "Allow":
                            yield name, statement


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


def test_the_api_unescapes_the_apostrophes_sams_template_escapes(template: dict[str, Any]) -> None:
    # Given the Api event that starts the state machine
    (event,) = [
        e["Properties"]
        for e in _state_machine(template)["Properties"]["Events"].values()
        if e["Type"] == "Api"
    ]

    # Then SAM's request template undoes the \' its escapeJavaScript makes of an apostrophe,
    # which StartExecution would otherwise reject as invalid JSON (SerializationException);
    # test_template_translated.py renders the generated template on such a body
    assert event["UnescapeMappingTemplate"] is True


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


def _choice(state: dict[str, Any]) -> tuple[str, str, Any, str]:
    """A Choice state with one rule: (variable, operator, operand, next state)."""
    assert state["Type"] == "Choice"
    (rule,) = state["Choices"]
    ((operator, operand),) = [(k, v) for k, v in rule.items() if k not in {"Variable", "Next"}]
    return rule["Variable"], operator, operand, rule["Next"]


def test_a_failed_map_run_still_ends_in_the_report(asl: dict[str, Any]) -> None:
    # Given the Map state, the states after it, and what WriteReport reads from its input
    states = asl["States"]
    fetch_pages = states["FetchPages"]
    assert fetch_pages["Type"] == "Map"
    report_payload = states["WriteReport"]["Parameters"]["Payload"]

    # Then whatever fails the Map itself (ItemReader, ResultWriter, a child failed by an
    # error its own States.ALL cannot catch) is caught and sent on, as a Map that ended well
    # is, to MoreToList: the next listing step, or the report once the listing is done
    (catcher,) = fetch_pages["Catch"]
    assert catcher["ErrorEquals"] == ["States.ALL"]
    assert catcher["Next"] == "MoreToList" == fetch_pages["Next"]
    assert _choice(states["MoreToList"])[3] == "ListPages"
    assert states["MoreToList"]["Default"] == "BeginReport"
    assert states["BeginReport"]["Next"] == "WriteReport"
    # And the error is put beside the listing, never over it, the concurrency or the report
    result_path = catcher["ResultPath"]
    assert re.fullmatch(r"\$\.[a-z_]+", result_path), result_path
    assert result_path not in {"$.listing", "$.max_concurrency", "$.report"}
    assert report_payload["listing.$"] == "$.listing"
    # And the Comment says why, for whoever reads the definition
    assert "Catch" in fetch_pages["Comment"]
    assert "States.Runtime" in fetch_pages["Comment"]


def test_the_listing_loops_until_its_cursor_comes_back_null(asl: dict[str, Any]) -> None:
    # Given the states from the start to the report
    states = asl["States"]
    begin, list_pages = states["BeginListing"], states["ListPages"]
    payload = list_pages["Parameters"]["Payload"]

    # Then the execution starts with the input as the listing's request and no cursor
    assert asl["StartAt"] == "BeginListing"
    assert begin["Type"] == "Pass"
    assert begin["Parameters"] == {"listing": {"cursor": None}}
    assert begin["Next"] == "ListPages"
    # And every ListPages step gets the execution's input from the context object (never
    # copied into the state, whatever its size), its name and start time (results written
    # since are this execution's), and the cursor where the previous step stopped
    assert payload == {
        "input.$": "$$.Execution.Input",
        "execution.$": "$$.Execution.Name",
        "started_at.$": "$$.Execution.StartTime",
        "cursor.$": "$.listing.cursor",
    }
    # And its result replaces the whole state: the new listing (cursor included)
    # takes the previous one's place, and the state stays the same size whatever the loop count
    assert list_pages["ResultSelector"]["listing.$"] == "$.Payload"
    assert list_pages.get("ResultPath", "$") == "$"
    assert "OutputPath" not in list_pages
    assert list_pages["Next"] == "AnyPages"
    # And a step with no page to fetch skips the Map, any other runs it
    assert _choice(states["AnyPages"]) == ("$.listing.pages", "NumericEquals", 0, "MoreToList")
    assert states["AnyPages"]["Default"] == "FetchPages"
    # And MoreToList lists again while the cursor is not null, then goes on to the report
    assert _choice(states["MoreToList"]) == ("$.listing.cursor", "IsNull", False, "ListPages")
    assert states["MoreToList"]["Default"] == "BeginReport"
    # And every listing field the definition reads is one ListPages returns; the cursor always
    # (null when done: a missing one would fail the Choice with States.Runtime)
    read = {
        match for text in _strings(asl) for match in re.findall(r"^\$\.listing\.([a-z_]+)$", text)
    }
    assert {"cursor", "pages", "manifest_key"} <= read <= set(ListingSummary.model_fields)
    assert ListingSummary.model_fields["cursor"].is_required()


def test_the_report_loops_while_it_returns_progress(asl: dict[str, Any]) -> None:
    # Given the states from the end of the listing to the verdict
    states = asl["States"]
    begin, write_report = states["BeginReport"], states["WriteReport"]
    selector = write_report["ResultSelector"]

    # Then the first report step starts with no progress, under $.report, beside the listing
    assert begin["Type"] == "Pass"
    assert (begin["Result"], begin["ResultPath"]) == ({"progress": None}, "$.report")
    assert begin["Next"] == "WriteReport"
    # And each step gets the listing and the progress so far, and puts its own under $.report
    assert write_report["Parameters"]["Payload"] == {
        "execution.$": "$$.Execution.Name",
        "listing.$": "$.listing",
        "progress.$": "$.report.progress",
    }
    assert write_report["ResultPath"] == "$.report"
    assert selector["progress.$"] == "$.Payload.progress"
    # And the result keeps only fields WriteReport returns (ReportSummary), all of them
    assert {value.removeprefix("$.Payload.") for value in selector.values()} == set(
        ReportSummary.model_fields
    )
    assert all(key == value.removeprefix("$.Payload.") + ".$" for key, value in selector.items())
    # And ReportDone calls WriteReport again while progress is not null, before anything else
    assert write_report["Next"] == "ReportDone"
    first, *outcomes = states["ReportDone"]["Choices"]
    assert _choice({**states["ReportDone"], "Choices": [first]}) == (
        "$.report.progress",
        "IsNull",
        False,
        "WriteReport",
    )
    # And only the last step's summary (no progress) is what the outcome is named from
    variables = {choice["Variable"] for choice in outcomes}
    assert variables == {"$.report.auth_failed", "$.report.complete"}
    assert ReportSummary.model_fields["progress"].default is None


# The Map's concurrency as the template sets it: the reservation's when there is one.
MAP_CONCURRENCY = {
    "Fn::If": [
        "HasFetchResultReservedConcurrency",
        {"Ref": "FetchResultReservedConcurrency"},
        {"Ref": "MapMaxConcurrency"},
    ]
}
# Lambda's default concurrent executions per account and region: the Map's ceiling.
DEFAULT_ACCOUNT_CONCURRENCY = 1000


def test_the_map_concurrency_comes_from_the_map_max_concurrency_parameter(
    template: dict[str, Any], asl: dict[str, Any]
) -> None:
    # Given the Map, the ListPages step that feeds it, and the template's substitutions
    (fetch_pages,) = [s for _, s in _walk_states(asl["States"]) if s["Type"] == "Map"]
    selector = asl["States"]["ListPages"]["ResultSelector"]
    substitutions = _state_machine(template)["Properties"]["DefinitionSubstitutions"]

    # Then MaxConcurrencyPath reads the number ListPages' ResultSelector makes of the
    # substitution (the definition stays plain JSON), and the substitution is the parameter,
    # or FetchResult's reserved concurrency when it has one
    assert fetch_pages["MaxConcurrencyPath"] == "$.max_concurrency"
    assert selector["max_concurrency.$"] == "States.StringToJson('${MapMaxConcurrency}')"
    assert substitutions["MapMaxConcurrency"] == MAP_CONCURRENCY
    assert _resolve(MAP_CONCURRENCY, template, {}) == str(
        template["Parameters"]["MapMaxConcurrency"]["Default"]
    )
    reserved = {"FetchResultReservedConcurrency": "200", "MapMaxConcurrency": "500"}
    assert _resolve(MAP_CONCURRENCY, template, reserved) == "200"
    assert template["Parameters"]["MapMaxConcurrency"]["Type"] == "Number"


def test_the_map_cannot_ask_for_more_than_the_account_can_run(template: dict[str, Any]) -> None:
    # Given the concurrency parameters and FetchResult, whose invocations the Map's children are
    parameters = template["Parameters"]
    pattern = parameters["FetchResultReservedConcurrency"]["AllowedPattern"]
    fetch_result = template["Resources"]["FetchResultFunction"]["Properties"]

    # Then MapMaxConcurrency stays within an account's default Lambda concurrency
    assert parameters["MapMaxConcurrency"]["MinValue"] >= 1
    assert parameters["MapMaxConcurrency"]["MaxValue"] <= DEFAULT_ACCOUNT_CONCURRENCY
    # And the reservation is optional (empty by default), a whole number within the same bound
    assert parameters["FetchResultReservedConcurrency"]["Default"] == ""
    for accepted in ("", "1", "40", "999", str(DEFAULT_ACCOUNT_CONCURRENCY)):
        assert re.fullmatch(pattern, accepted), accepted
    for refused in ("0", "01", "1001", "10000", "-5", "4.5", "all"):
        assert not re.fullmatch(pattern, refused), refused
    # And FetchResult is reserved that many only when one is given
    reserved = fetch_result["ReservedConcurrentExecutions"]
    assert _resolve({"x": reserved}, template, {}) == {}
    assert _resolve(reserved, template, {"FetchResultReservedConcurrency": "64"}) == "64"


def test_list_pages_sizes_its_pages_for_the_map_max_concurrency_parameter(
    template: dict[str, Any],
) -> None:
    # Given the ListPages function's own environment and the parameter
    function = template["Resources"]["ListPagesFunction"]["Properties"]
    variables = function["Environment"]["Variables"]
    parameter = template["Parameters"]["MapMaxConcurrency"]

    # Then it is told the Map's concurrency by the same expression the Map reads
    assert variables["MAP_MAX_CONCURRENCY"] == MAP_CONCURRENCY
    # And, told nothing (a local run), it assumes the parameter's default and accepts its range
    # (a local run may ask for more: no Lambda concurrency bounds it there)
    field = ListPagesSettings.model_fields["map_max_concurrency"]
    assert field.default == parameter["Default"]
    for inside in (parameter["MinValue"], parameter["MaxValue"]):
        settings = ListPagesSettings.model_validate(
            {**SETTINGS_REQUIRED, "map_max_concurrency": inside}
        )
        assert settings.map_max_concurrency == inside
    with pytest.raises(ValidationError):
        ListPagesSettings.model_validate(
            {**SETTINGS_REQUIRED, "map_max_concurrency": parameter["MinValue"] - 1}
        )


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
        if state["Type"] == "Task" and state["Resource"] == "arn:aws:states:::lambda:invoke":
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


# S3 lifecycle action types, by the CloudFormation rule properties that set them.
LIFECYCLE_ACTIONS = {
    "Expiration": ("ExpirationInDays", "ExpirationDate", "ExpiredObjectDeleteMarker"),
    "NoncurrentVersionExpiration": (
        "NoncurrentVersionExpiration",
        "NoncurrentVersionExpirationInDays",
    ),
    "Transition": ("Transition", "Transitions"),
    "NoncurrentVersionTransition": ("NoncurrentVersionTransition", "NoncurrentVersionTransitions"),
    "AbortIncompleteMultipartUpload": ("AbortIncompleteMultipartUpload",),
}
RESULTS_PREFIXES = ["", "playment/", "exports/playment/"]


def _lifecycle_rules(template: dict[str, Any], results_prefix: str) -> list[dict[str, Any]]:
    bucket = template["Resources"]["ResultsBucket"]["Properties"]
    rules: list[dict[str, Any]] = _resolve(
        bucket["LifecycleConfiguration"]["Rules"], template, {"ResultsPrefix": results_prefix}
    )
    return rules


@pytest.mark.parametrize("results_prefix", RESULTS_PREFIXES)
def test_no_two_lifecycle_rules_take_one_action_over_overlapping_prefixes(
    template: dict[str, Any], results_prefix: str
) -> None:
    # Given the bucket's lifecycle rules, deployed with this ResultsPrefix
    rules = _lifecycle_rules(template, results_prefix)
    # (filtered by prefix only: tags or sizes would change the rule format S3 is sent)
    for rule in rules:
        assert not {"TagFilters", "ObjectSizeGreaterThan", "ObjectSizeLessThan"} & set(rule)

    for action, properties in LIFECYCLE_ACTIONS.items():
        # When the prefixes of the rules taking this action are collected
        prefixes = [rule.get("Prefix", "") for rule in rules if set(properties) & set(rule)]
        # Then none is a prefix of another (S3 rejects overlapping prefixes for one action)
        for i, first in enumerate(prefixes):
            for second in prefixes[i + 1 :]:
                assert not first.startswith(second), (action, first, second)
                assert not second.startswith(first), (action, first, second)


@pytest.mark.parametrize("results_prefix", RESULTS_PREFIXES)
def test_the_lifecycle_rules_keep_their_intent(
    template: dict[str, Any], results_prefix: str
) -> None:
    # Given the bucket's lifecycle rules, deployed with this ResultsPrefix
    rules = _lifecycle_rules(template, results_prefix)
    retention = str(template["Parameters"]["ExportsRetentionDays"]["Default"])

    def covering(key: str, *properties: str) -> list[dict[str, Any]]:
        return [
            rule
            for rule in rules
            if key.startswith(rule.get("Prefix", "")) and set(properties) & set(rule)
        ]

    result_key = f"{results_prefix}batch-a/job-1.json"
    bookkeeping_key = "_exports/execution-1/report.json"
    assert all(rule["Status"] == "Enabled" for rule in rules)
    # Then a result is never expired, its old versions are after ExportsRetentionDays
    assert not covering(result_key, *LIFECYCLE_ACTIONS["Expiration"][:2])
    (noncurrent,) = covering(result_key, "NoncurrentVersionExpiration")
    assert str(noncurrent["NoncurrentVersionExpiration"]["NoncurrentDays"]) == retention
    # And the bookkeeping expires after ExportsRetentionDays (S3 then also removes the delete
    # markers that leaves, once no older version is left)
    (expiring,) = covering(bookkeeping_key, "ExpirationInDays")
    assert str(expiring["ExpirationInDays"]) == retention
    assert len(covering(bookkeeping_key, "NoncurrentVersionExpiration")) == 1
    # And incomplete multipart uploads are aborted everywhere
    for key in (result_key, bookkeeping_key):
        assert covering(key, "AbortIncompleteMultipartUpload")
    # And a deleted result's delete marker is cleaned up when results have a prefix of their own
    markers = covering(result_key, "ExpiredObjectDeleteMarker")
    assert [rule.get("Prefix") for rule in markers] == ([results_prefix] if results_prefix else [])


def test_the_results_prefix_stays_out_of_the_bookkeeping(template: dict[str, Any]) -> None:
    # Given the ResultsPrefix pattern (the bookkeeping under _exports/ expires)
    pattern = template["Parameters"]["ResultsPrefix"]["AllowedPattern"]

    # Then path-like prefixes are accepted, anything under _exports/ is not
    for accepted in ("", "playment/", "a/b/", "_exportsx/", "x/_exports/"):
        assert re.fullmatch(pattern, accepted), accepted
    for refused in ("_exports/", "_exports/results/", "playment", "/x/", "a//"):
        assert not re.fullmatch(pattern, refused), refused


def _kms_grants(template: dict[str, Any], parameters: dict[str, str]) -> dict[str, list[Any]]:
    """Owner -> its KMS statements, as deployed with ``parameters``."""
    grants: dict[str, list[Any]] = {}
    for owner, statement in _resolved_statements(template, parameters):
        if any(str(a).startswith("kms:") for a in _as_list(statement["Action"])):
            grants.setdefault(owner, []).append(statement)
    return grants


RESULTS_KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET_KEY = "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
BUCKET_USERS = [
    "ExportStateMachine",
    "FetchResultFunction",
    "ListPagesFunction",
    "WriteReportFunction",
]
SECRET_READERS = ["FetchResultFunction", "ListPagesFunction"]


def test_no_kms_grant_exists_while_no_key_is_given(template: dict[str, Any]) -> None:
    # Given the KMS key parameters, empty by default
    assert template["Parameters"]["ResultsKmsKeyArn"]["Default"] == ""
    assert template["Parameters"]["ApiKeySecretKmsKeyArn"]["Default"] == ""

    # When deployed with the defaults, an existing bucket and secret included
    given = {
        "ResultsBucketName": "their-bucket",
        "ApiKeySecretArn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:key-AbCdEf",
    }
    # Then no role is allowed any KMS action
    assert _kms_grants(template, {}) == {}
    assert _kms_grants(template, given) == {}


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (
            {"ResultsKmsKeyArn": RESULTS_KEY},
            dict.fromkeys(BUCKET_USERS, "bucket"),
        ),
        (
            {"ApiKeySecretKmsKeyArn": SECRET_KEY},
            dict.fromkeys(SECRET_READERS, "secret"),
        ),
        (
            {"ResultsKmsKeyArn": RESULTS_KEY, "ApiKeySecretKmsKeyArn": SECRET_KEY},
            {**dict.fromkeys(BUCKET_USERS, "bucket"), **dict.fromkeys(SECRET_READERS, "both")},
        ),
    ],
    ids=["bucket-key", "secret-key", "both-keys"],
)
def test_a_given_kms_key_is_granted_to_exactly_who_needs_it(
    template: dict[str, Any], parameters: dict[str, str], expected: dict[str, str]
) -> None:
    # When the stack is deployed with a customer managed key for the bucket and/or the secret
    grants = _kms_grants(template, parameters)

    # Then exactly the principals that touch that bucket's objects or read that secret get it
    assert sorted(grants) == sorted(expected)
    bucket = {
        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
        "Resource": RESULTS_KEY,
        "Condition": {"StringLike": {"kms:ViaService": "s3.*.amazonaws.com"}},
    }
    secret = {
        "Action": ["kms:Decrypt"],
        "Resource": SECRET_KEY,
        "Condition": {
            "StringEquals": {
                "kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"}
            }
        },
    }
    wanted = {"bucket": [bucket], "secret": [secret], "both": [secret, bucket]}
    for owner, statements in grants.items():
        # And each gets exactly those actions, on exactly that key ARN, used through that service
        got = [
            {
                "Action": sorted(_as_list(st["Action"]), reverse=True),
                "Resource": st["Resource"],
                "Condition": st["Condition"],
            }
            for st in statements
        ]
        assert got == wanted[expected[owner]], owner


@pytest.mark.parametrize("name", ["ResultsKmsKeyArn", "ApiKeySecretKmsKeyArn"])
def test_the_kms_key_parameters_take_a_key_arn_or_nothing(
    template: dict[str, Any], name: str
) -> None:
    # Given the parameter's pattern (IAM grants KMS use on key ARNs, not on aliases)
    pattern = template["Parameters"][name]["AllowedPattern"]

    # Then a key ARN or nothing is accepted, an alias or a bare key ID is not
    for accepted in ("", RESULTS_KEY, RESULTS_KEY.replace(":aws:", ":aws-us-gov:")):
        assert re.fullmatch(pattern, accepted), accepted
    for refused in ("arn:aws:kms:us-east-1:111122223333:alias/mine", "1234abcd", "*"):
        assert not re.fullmatch(pattern, refused), refused


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


def test_a_scheduled_start_that_keeps_failing_is_kept_and_alarmed(
    template: dict[str, Any],
) -> None:
    # Given the ScheduleV2 event
    (schedule,) = [
        event["Properties"]
        for event in _state_machine(template)["Properties"]["Events"].values()
        if event["Type"] == "ScheduleV2"
    ]

    # Then a failed start is retried, within bounds Scheduler accepts
    retry = schedule["RetryPolicy"]
    assert 0 < retry["MaximumRetryAttempts"] <= 185
    assert 60 <= retry["MaximumEventAgeInSeconds"] <= 86400
    # And then sent to a queue of this stack (SAM grants the schedule's role SendMessage on it)
    (queue_name, attribute) = schedule["DeadLetterConfig"]["Arn"]["Fn::GetAtt"]
    assert attribute == "Arn"
    queue = template["Resources"][queue_name]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert "Condition" not in queue
    # And kept there for as long as SQS allows (encrypted: see the test below)
    assert queue["Properties"]["MessageRetentionPeriod"] == 14 * 24 * 3600
    # And a message in it raises an alarm that notifies as the others do
    alarms = [
        alarm["Properties"]
        for alarm in _resources(template, "AWS::CloudWatch::Alarm").values()
        if alarm["Properties"]["Namespace"] == "AWS/SQS"
    ]
    (alarm,) = alarms
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [queue_name, "QueueName"]}}
    ]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (
        1,
        "GreaterThanOrEqualToThreshold",
    )
    executions_failed = template["Resources"]["ExecutionsFailedAlarm"]["Properties"]
    assert alarm["AlarmActions"] == executions_failed["AlarmActions"]


def test_every_queue_is_encrypted_at_rest(template: dict[str, Any]) -> None:
    # Given every SQS queue (checkov's CKV_AWS_27 is skipped: it knows only KMS keys)
    queues = _resources(template, "AWS::SQS::Queue")
    assert queues

    # Then each is encrypted, with SSE-SQS or a KMS key
    for name, queue in queues.items():
        properties = queue["Properties"]
        assert properties.get("SqsManagedSseEnabled") is True or properties.get("KmsMasterKeyId"), (
            name
        )


# ---------------------------------------------------------------- execution logs


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


def test_the_sample_list_pages_event_is_the_first_listing_step() -> None:
    # Given the sample ListPages event
    event = json.loads((EVENTS / "list-pages.json").read_text(encoding="utf-8"))

    # Then it is what BeginListing makes ListPages send first: a valid input and no cursor
    assert event["cursor"] is None
    assert ExportRequest.from_input(event["input"]).project_id == "demo-project"
    # And the start time is written as Step Functions writes $$.Execution.StartTime
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", event["started_at"])


def test_the_sample_write_report_event_carries_a_listing_as_list_pages_returns_it() -> None:
    # Given the sample WriteReport event
    event = json.loads((EVENTS / "write-report.json").read_text(encoding="utf-8"))
    listing = event["listing"]

    # When its listing is read as ListPages' result
    summary = ListingSummary.model_validate(listing)

    # Then it has every field, nothing more, as ListPages returns them
    assert summary.model_dump(mode="json") == listing
    # And it is the last listing step's (no cursor), and its manifest is where RunRecords puts it
    assert summary.cursor is None
    assert summary.chunks == summary.chunk + 1
    assert summary.manifest_key == manifest_key_of(summary.execution, summary.chunk)
    # And it is the first report step's event, as BeginReport makes it: no progress yet
    assert event["progress"] is None
    assert event["execution"] == summary.execution
