"""The CloudWatch dashboard in template.yaml charts what this stack emits, and only that.

The names of the application's metrics are read from the code that emits them (the handlers'
``add_metric`` calls, the definition's PutMetricData), so that a metric renamed, added or
removed there shows up here; AWS's own metrics are checked against the names AWS documents
for Lambda and Step Functions, and against this stack's resources.
"""

import json
import re
from typing import Any

import pytest

from tests.unit.test_template import ASL_PATH, ROOT, _load_template, _resources, _walk_states

CODE = [ROOT / "functions", ROOT / "layers" / "exporter"]
ADD_METRIC = re.compile(r"""\badd_metric\(\s*(?:name=)?["']([A-Za-z0-9_]+)["']""")
REFERENCE = re.compile(r"\$\{([^}!][^}]*)\}")
# Values for the Sub's own variables where JSON needs a value of their type.
SUB_SAMPLES = {"Bucket": "results-bucket", "MapConcurrency": "40"}
# The metrics AWS documents, by namespace, that this dashboard may chart.
AWS_METRICS = {
    "AWS/States": {
        "ExecutionsStarted",
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionsAborted",
        "ExecutionTime",
        "ExecutionThrottled",
    },
    "AWS/Lambda": {"Invocations", "Errors", "Throttles", "Duration", "ConcurrentExecutions"},
}
AWS_DIMENSIONS = {"AWS/States": "StateMachineArn", "AWS/Lambda": "FunctionName"}
EXECUTION_OUTCOMES = {
    "ExecutionsSucceeded",
    "ExecutionsFailed",
    "ExecutionsTimedOut",
    "ExecutionsAborted",
}
NAMESPACE = "PlaymentExporter"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _load_template()


@pytest.fixture(scope="module")
def dashboard(template: dict[str, Any]) -> dict[str, Any]:
    (resource,) = _resources(template, "AWS::CloudWatch::Dashboard").values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def _body(dashboard: dict[str, Any]) -> tuple[dict[str, Any], set[str], dict[str, Any]]:
    """The dashboard's JSON with each ``${...}`` left as written (a Sub variable given a
    sample value), the references it makes, and the Sub's variables."""
    text, variables = dashboard["DashboardBody"]["Fn::Sub"]
    references = set(REFERENCE.findall(text))

    def sample(match: re.Match[str]) -> str:
        name = match[1]
        return SUB_SAMPLES[name] if name in variables else "${" + name + "}"

    body: dict[str, Any] = json.loads(REFERENCE.sub(sample, text))
    return body, references, dict(variables)


def _metric_lines(body: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """Every metric charted: (namespace, name, dimensions), written out in full."""
    lines = []
    for widget in body["widgets"]:
        for line in widget["properties"].get("metrics", []):
            parts = [part for part in line if not isinstance(part, dict)]
            assert all(isinstance(part, str) for part in parts), line
            # No "." / "..." shorthand: each line names its metric whole
            assert not {".", "..."} & set(parts), line
            namespace, name, *pairs = parts
            assert len(pairs) % 2 == 0, line
            lines.append((namespace, name, dict(zip(pairs[::2], pairs[1::2], strict=True))))
    return lines


def _emitted_by_code() -> set[str]:
    names: set[str] = set()
    for folder in CODE:
        for path in folder.rglob("*.py"):
            names.update(ADD_METRIC.findall(path.read_text(encoding="utf-8")))
    return names


def _emitted_by_definition() -> set[str]:
    definition = json.loads(ASL_PATH.read_text(encoding="utf-8"))
    names: set[str] = set()
    for _, state in _walk_states(definition["States"]):
        if state.get("Resource", "").endswith(":putMetricData"):
            assert state["Parameters"]["Namespace"] == NAMESPACE
            names.update(datum["MetricName"] for datum in state["Parameters"]["MetricData"])
    return names


def test_the_code_emits_metrics_to_chart() -> None:
    # Given the metric names read from the handlers and the definition / Then there are some,
    # so that the tests below compare the dashboard with something
    assert {"JobsExported", "JobsListed"} <= _emitted_by_code()
    assert _emitted_by_definition() == {"FinishedEventsFailed"}


def test_the_dashboard_charts_every_metric_the_code_emits_and_nothing_else(
    template: dict[str, Any], dashboard: dict[str, Any]
) -> None:
    # Given the application's metrics on the dashboard, and those the code emits
    body, _, _ = _body(dashboard)
    charted = [line for line in _metric_lines(body) if line[0] == NAMESPACE]
    from_handlers, from_definition = _emitted_by_code(), _emitted_by_definition()

    # Then the dashboard charts each of them, and no metric nothing emits
    assert {name for _, name, _ in charted} == from_handlers | from_definition
    for _, name, dimensions in charted:
        if name in from_handlers:
            # And a handler's metric by the service dimension Powertools gives it, which the
            # template sets to the stack's name
            assert dimensions == {"service": "${AWS::StackName}"}, name
        else:
            # And the definition's by the dimension it puts: this state machine's ARN
            assert dimensions == {"StateMachineArn": "${ExportStateMachine}"}, name
    variables = template["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == {"Ref": "AWS::StackName"}
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == NAMESPACE


def test_the_dashboards_aws_metrics_are_this_stacks(
    template: dict[str, Any], dashboard: dict[str, Any]
) -> None:
    # Given AWS's metrics on the dashboard
    body, _, _ = _body(dashboard)
    aws_lines = [line for line in _metric_lines(body) if line[0] != NAMESPACE]
    functions = set(_resources(template, "AWS::Serverless::Function"))

    for namespace, name, dimensions in aws_lines:
        # Then each is one AWS documents, by the one dimension naming a resource of this stack
        assert name in AWS_METRICS[namespace], (namespace, name)
        ((dimension, value),) = dimensions.items()
        assert dimension == AWS_DIMENSIONS[namespace]
        resource = value.removeprefix("${").removesuffix("}")
        if namespace == "AWS/States":
            assert resource == "ExportStateMachine"
        else:
            assert resource in functions, value
    # And executions are charted by every way they can end
    charted = {name for namespace, name, _ in aws_lines if namespace == "AWS/States"}
    assert charted >= EXECUTION_OUTCOMES
    # And every function's errors are there (Step Functions retries them)
    errors = {d["FunctionName"] for _, name, d in aws_lines if name == "Errors"}
    assert errors == {f"${{{function}}}" for function in functions}


def test_the_dashboard_follows_the_stacks_region_and_shows_every_alarm(
    template: dict[str, Any], dashboard: dict[str, Any]
) -> None:
    # Given the dashboard's widgets and the references its body makes
    body, references, variables = _body(dashboard)
    alarms = set(_resources(template, "AWS::CloudWatch::Alarm"))

    # Then every chart reads the stack's own region
    for widget in body["widgets"]:
        if widget["type"] == "metric":
            assert widget["properties"]["region"] == "${AWS::Region}", widget
    # And the alarm widget lists every alarm of the stack
    (alarm_widget,) = [widget for widget in body["widgets"] if widget["type"] == "alarm"]
    assert set(alarm_widget["properties"]["alarms"]) == {f"${{{alarm}.Arn}}" for alarm in alarms}
    # And every reference is a pseudo parameter, a resource of the template, or a Sub variable
    for reference in references:
        resource = reference.split(".", 1)[0]
        assert (
            reference.startswith("AWS::")
            or resource in template["Resources"]
            or reference in variables
        ), reference
    # And the name carries the region (dashboards are global to an account)
    assert dashboard["DashboardName"] == {"Fn::Sub": "${AWS::StackName}-${AWS::Region}"}
    outputs = template["Outputs"]
    assert "${ExportDashboard}" in outputs["DashboardUrl"]["Value"]["Fn::Sub"]


def test_the_dashboard_grids_its_widgets_without_overlap(dashboard: dict[str, Any]) -> None:
    # Given each widget's place on the 24-column grid
    body, _, _ = _body(dashboard)
    cells: dict[tuple[int, int], int] = {}

    for index, widget in enumerate(body["widgets"]):
        # Then each fits in the grid and covers cells no other widget does
        assert widget["x"] + widget["width"] <= 24, widget
        for x in range(widget["x"], widget["x"] + widget["width"]):
            for y in range(widget["y"], widget["y"] + widget["height"]):
                assert (x, y) not in cells, (index, cells.get((x, y)))
                cells[(x, y)] = index


def test_the_operating_page_names_the_dashboards_charts(dashboard: dict[str, Any]) -> None:
    # Given the documentation's page on operating a stack, and the charts' titles
    page = (ROOT / "docs" / "operating.md").read_text(encoding="utf-8")
    body, _, _ = _body(dashboard)
    titles = [w["properties"]["title"] for w in body["widgets"] if "title" in w["properties"]]

    # Then the page describes each chart by its title
    for title in titles:
        assert f"**{title}**" in page, title
