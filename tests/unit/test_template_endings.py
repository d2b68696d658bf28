"""How an execution ends, as statemachine/export.asl.json and template.yaml promise it.

Every Task is bounded by a timeout; the listing and report steps are retried when they crash,
never on their own verdicts; every path to an end puts one "Playment Export Finished" event,
whose keys are the same for every outcome; the execution then ends on the error the event
named; and an event that cannot be put raises an alarm. The e2e tests
(tests/e2e/test_finished_event.py) run these paths on the local engine.
"""

import fnmatch
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from playment_exporter.errors import InvalidInput, PlaymentAuthError
from playment_exporter.export_index import INDEX_DIRECTORY
from playment_exporter.list_pages import ListingSummary
from playment_exporter.report import ReportSummary
from tests.unit.test_template import (
    ASL_PATH,
    _allow_statements,
    _as_list,
    _load_template,
    _resources,
    _state_machine,
    _walk_states,
)

LAMBDA_SERVICE_ERRORS = {
    "Lambda.TooManyRequestsException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
}
# A step's own verdicts on the request: running it again would fail the same way.
VERDICTS = {InvalidInput.__name__, PlaymentAuthError.__name__, "ResultsBucketUnusable"}
# What a crash looks like to a lambda:invoke Task: an unhandled error or an out-of-memory
# (Lambda.Unknown, or the raised exception's type), the function's timeout (Sandbox.Timedout)
# or the Task's own (States.Timeout).
CRASHES = [
    "Lambda.Unknown",
    "Sandbox.Timedout",
    "States.Timeout",
    "KeyError",
    "PlaymentApiError",
    "ClientError",
]
STEPS_THAT_CAN_RUN_AGAIN = ("ListPages", "WriteReport")
# Margins over a function's own timeout for the Task that calls it.
LAMBDA_TIMEOUT_MARGIN = (1, 120)
OTHER_TASK_TIMEOUT = (1, 60)
FINISHED_KEYS = {"outcome", "totals", "report", "error", "cause"}
DETAIL_KEYS = {"execution", "input", "index"} | FINISHED_KEYS
FINISHED_SOURCE = "playment-exporter"
FINISHED_DETAIL_TYPE = "Playment Export Finished"
METRICS_NAMESPACE = "PlaymentExporter"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _load_template()


@pytest.fixture(scope="module")
def asl() -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(ASL_PATH.read_text(encoding="utf-8"))
    return definition


def _tasks(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every Task state, those of the Map's item processor included."""
    return {name: s for name, s in _walk_states(asl["States"]) if s["Type"] == "Task"}


def _lambda_tasks(asl: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: s
        for name, s in _tasks(asl).items()
        if s["Resource"] == "arn:aws:states:::lambda:invoke"
    }


def _function_timeout(task: dict[str, Any], template: dict[str, Any]) -> int:
    """The Timeout of the function a lambda:invoke Task calls (``${XFunctionArn}``)."""
    match = re.fullmatch(r"\$\{([A-Za-z]+Function)Arn\}", task["Parameters"]["FunctionName"])
    assert match, task["Parameters"]["FunctionName"]
    function = template["Resources"][match[1]]["Properties"]
    timeout = function.get("Timeout", template["Globals"]["Function"].get("Timeout", 3))
    return int(timeout)


def _matches(error_equals: list[str], error: str) -> bool:
    """Whether a retrier's or catcher's ErrorEquals takes ``error``, as Step Functions reads
    it: States.ALL takes every error, States.TaskFailed every one but States.Timeout."""
    if "States.ALL" in error_equals or error in error_equals:
        return True
    return "States.TaskFailed" in error_equals and error != "States.Timeout"


def _retries(task: dict[str, Any], error: str) -> int:
    """How many times the Task is tried again after ``error``: the first retrier that takes
    it decides (MaxAttempts, default 3); none, none."""
    for retrier in task.get("Retry", []):
        if _matches(retrier["ErrorEquals"], error):
            return int(retrier.get("MaxAttempts", 3))
    return 0


def _caught_by(task: dict[str, Any], error: str) -> dict[str, Any] | None:
    for catcher in task.get("Catch", []):
        if _matches(catcher["ErrorEquals"], error):
            return dict(catcher)
    return None


# ---------------------------------------------------------------- timeouts and retries


def test_every_task_has_a_timeout_a_little_above_what_it_calls(
    template: dict[str, Any], asl: dict[str, Any]
) -> None:
    # Given every Task of the definition, the Map's children's included
    tasks = _tasks(asl)
    assert {"ListPages", "FetchPage", "WriteReport", "AnnounceFinished"} <= set(tasks)

    for name, task in tasks.items():
        # Then each has a fixed TimeoutSeconds
        assert "TimeoutSecondsPath" not in task, name
        seconds = task["TimeoutSeconds"]
        if task["Resource"] == "arn:aws:states:::lambda:invoke":
            # And a Lambda task's is a little above its function's own timeout, so that the
            # function's timeout comes first and the Task's only when nothing comes back
            low, high = LAMBDA_TIMEOUT_MARGIN
            function_timeout = _function_timeout(task, template)
            assert function_timeout + low <= seconds <= function_timeout + high, name
        else:
            # And any other call's (PutEvents, PutMetricData) is short
            low, high = OTHER_TASK_TIMEOUT
            assert low <= seconds <= high, name


def test_every_lambda_task_retries_lambdas_service_errors(asl: dict[str, Any]) -> None:
    # Given every Lambda task, in the parent and in the Map's children
    tasks = _lambda_tasks(asl)
    assert set(tasks) == {"ListPages", "FetchPage", "WriteReport"}

    for name, task in tasks.items():
        # Then Lambda's own transient errors are retried, with jittered backoff
        for error in LAMBDA_SERVICE_ERRORS:
            assert _retries(task, error) >= 6, (name, error)
        (service,) = [r for r in task["Retry"] if set(r["ErrorEquals"]) == LAMBDA_SERVICE_ERRORS]
        assert (service["JitterStrategy"], service["BackoffRate"]) == ("FULL", 2), name


@pytest.mark.parametrize("step", STEPS_THAT_CAN_RUN_AGAIN)
def test_a_step_that_can_run_again_is_retried_when_it_crashes(
    asl: dict[str, Any], step: str
) -> None:
    # Given a step that is safe to run again (each run resumes from the same input)
    task = asl["States"][step]

    for crash in CRASHES:
        # Then a crash (unhandled error, out-of-memory, either timeout) is retried, a few times
        assert 1 <= _retries(task, crash) <= 3, (step, crash)
        # And what still fails after the retries is caught, to be announced
        catcher = _caught_by(task, crash)
        assert catcher is not None, (step, crash)
        assert catcher["Next"] == "OutcomeFailed"
    # And the crash retrier comes last, after the retriers of errors it would also match
    crash_retrier = task["Retry"][-1]
    assert {"Lambda.Unknown", "Sandbox.Timedout", "States.Timeout"} <= set(
        crash_retrier["ErrorEquals"]
    )
    assert crash_retrier["JitterStrategy"] == "FULL"


def test_the_listings_verdicts_on_the_request_are_never_retried(asl: dict[str, Any]) -> None:
    # Given ListPages, whose errors include its verdicts on the request itself
    list_pages = asl["States"]["ListPages"]

    # Then its first retrier takes exactly those verdicts, with no attempt, so that no later
    # retrier (the crash retrier's States.TaskFailed would match them) ever tries them again
    first = list_pages["Retry"][0]
    assert set(first["ErrorEquals"]) == VERDICTS
    assert first["MaxAttempts"] == 0
    for verdict in VERDICTS:
        assert _retries(list_pages, verdict) == 0, verdict
        # And each is caught, to be announced like any other failure of the step
        catcher = _caught_by(list_pages, verdict)
        assert catcher is not None
        assert catcher["Next"] == "OutcomeFailed"


def test_a_failed_step_keeps_the_listing_beside_its_error(asl: dict[str, Any]) -> None:
    # Given the catchers of the listing and report steps
    for step in STEPS_THAT_CAN_RUN_AGAIN:
        (catcher,) = asl["States"][step]["Catch"]
        # Then they take every error, put it beside the state (never over the listing, the
        # report's progress or what the finished event is built from), and go to OutcomeFailed
        assert catcher["ErrorEquals"] == ["States.ALL"]
        assert catcher["ResultPath"] == "$.failure"
        assert catcher["Next"] == "OutcomeFailed"
    outcome_failed = asl["States"]["OutcomeFailed"]["Parameters"]
    assert (outcome_failed["error.$"], outcome_failed["cause.$"]) == (
        "$.failure.Error",
        "$.failure.Cause",
    )


# ---------------------------------------------------------------- one finished event


def _transitions(state: dict[str, Any]) -> Iterator[str]:
    """Every state ``state`` can go to next: Next, a Choice's rules and Default, a Catch."""
    if "Next" in state:
        yield state["Next"]
    if "Default" in state:
        yield state["Default"]
    for rule in state.get("Choices", []):
        yield rule["Next"]
    for catcher in state.get("Catch", []):
        yield catcher["Next"]


def _reachable(states: dict[str, Any], start: str, *, avoiding: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen or name == avoiding:
            continue
        seen.add(name)
        todo.extend(_transitions(states[name]))
    return seen


def test_every_path_to_an_end_puts_the_finished_event_exactly_once(asl: dict[str, Any]) -> None:
    # Given the parent's states and where each can go (the Map's children never end it)
    states = asl["States"]
    ends = {name for name, s in states.items() if s["Type"] in ("Succeed", "Fail")}
    before = _reachable(states, asl["StartAt"], avoiding="AnnounceFinished")

    # Then no end can be reached without going through AnnounceFinished
    assert not ends & before
    # And none of the states after it leads back to it: the event is put once
    after = _reachable(states, states["AnnounceFinished"]["Next"], avoiding="AnnounceFinished")
    for catcher in states["AnnounceFinished"]["Catch"]:
        after |= _reachable(states, catcher["Next"], avoiding="AnnounceFinished")
    assert ends <= after
    assert not any("AnnounceFinished" in set(_transitions(states[name])) for name in after)
    # And no state before it can fail the execution past it: every Task and Map catches all
    for name in before:
        if states[name]["Type"] in ("Task", "Map"):
            catchers = states[name].get("Catch", [])
            assert any(c["ErrorEquals"] == ["States.ALL"] for c in catchers), name
    # And the event is the only one: AnnounceFinished is the one PutEvents in the definition
    put_events = [n for n, s in _tasks(asl).items() if "events:putEvents" in s["Resource"]]
    assert put_events == ["AnnounceFinished"]


def _read_path(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.removeprefix("$.").split("."):
        value = value[part]
    return value


def _evaluate(expression: str, data: dict[str, Any]) -> Any:
    """A JSONPath reference, or States.Format over references (the only intrinsic these
    states use)."""
    formatted = re.fullmatch(r"States\.Format\('([^']*)', (.*)\)", expression)
    if formatted is None:
        return _read_path(data, expression)
    arguments = [str(_read_path(data, path)) for path in formatted[2].split(", ")]
    pieces = formatted[1].split("{}")
    assert len(pieces) == len(arguments) + 1, expression
    return "".join(
        piece + argument for piece, argument in zip(pieces, [*arguments, ""], strict=True)
    )


def _built(parameters: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    return {
        key.removesuffix(".$"): _evaluate(value, data) if key.endswith(".$") else value
        for key, value in parameters.items()
    }


def _holds(rule: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether a Choice rule holds: And over rules, or one comparison on a plain path (IsNull,
    IsString, BooleanEquals, StringEquals, StringMatches)."""
    if "And" in rule:
        return all(_holds(part, data) for part in rule["And"])
    value = _read_path(data, rule["Variable"])
    ((operator, operand),) = [(k, v) for k, v in rule.items() if k not in {"Variable", "Next"}]
    if operator == "IsNull":
        return (value is None) is operand
    if operator == "IsString":
        return isinstance(value, str) is operand
    if operator == "StringMatches":
        return isinstance(value, str) and fnmatch.fnmatchcase(value, operand)
    assert operator in ("BooleanEquals", "StringEquals"), operator
    return bool(value == operand)


def _follow(
    states: dict[str, Any], start: str, data: dict[str, Any]
) -> tuple[list[str], tuple[str | None, str | None]]:
    """The states entered from ``start`` to the end, as Step Functions would take them, and
    the (error, cause) the execution ends with, for the kinds this part of the definition
    uses: Choice rules (``_holds``), Pass states building Parameters at a ResultPath, Tasks
    that succeed leaving the state as it was (ResultPath null), Fail states. ``data`` is
    updated."""
    entered, name = [], start
    while True:
        state = states[name]
        entered.append(name)
        if state["Type"] == "Succeed":
            return entered, (None, None)
        if state["Type"] == "Fail":
            error = state["Error"] if "Error" in state else _evaluate(state["ErrorPath"], data)
            return entered, (error, _evaluate(state["CausePath"], data))
        if state["Type"] == "Choice":
            name = state["Default"]
            for rule in state["Choices"]:
                if _holds(rule, data):
                    name = rule["Next"]
                    break
        elif state["Type"] == "Pass":
            data[state["ResultPath"].removeprefix("$.")] = _built(state["Parameters"], data)
            name = state["Next"]
        else:
            assert state["Type"] == "Task", name
            assert state["ResultPath"] is None, name
            name = state["Next"]


REPORT = {
    "progress": None,
    "report_key": "_exports/e/report.json",
    "totals": {"jobs": 3, "exported": 2, "skipped": 0, "failed": 1, "bytes": 10},
}
LISTING = {"bucket": "results"}
REPORT_URL = "s3://results/_exports/e/report.json"
ENDINGS = [
    pytest.param(
        "ReportDone",
        {"report": {**REPORT, "auth_failed": True, "complete": False, "cause": "key refused"}},
        {"outcome": "auth_failed", "error": "PlaymentAuthError", "cause": "key refused"},
        ("PlaymentAuthError", "key refused"),
        id="auth_failed",
    ),
    pytest.param(
        "ReportDone",
        {"report": {**REPORT, "auth_failed": False, "complete": False, "cause": "1 job failed"}},
        {"outcome": "incomplete", "error": "ExportIncomplete", "cause": "1 job failed"},
        ("ExportIncomplete", "1 job failed"),
        id="incomplete",
    ),
    pytest.param(
        "ReportDone",
        {"report": {**REPORT, "auth_failed": False, "complete": True, "cause": ""}},
        {"outcome": "complete", "error": None, "cause": None},
        (None, None),
        id="complete",
    ),
    pytest.param(
        "OutcomeFailed",
        {"failure": {"Error": "InvalidInput", "Cause": "project_id: not an ID"}},
        {"outcome": "failed", "error": "InvalidInput", "cause": "project_id: not an ID"},
        ("InvalidInput", "project_id: not an ID"),
        id="listing-refused-the-input",
    ),
    pytest.param(
        "OutcomeFailed",
        {"failure": {"Error": "Lambda.Unknown", "Cause": "out of memory"}},
        {"outcome": "failed", "error": "Lambda.Unknown", "cause": "out of memory"},
        ("Lambda.Unknown", "out of memory"),
        id="step-crashed",
    ),
    pytest.param(
        "OutcomeFailed",
        {"failure": {"Error": "States.Timeout", "Cause": ""}},
        {"outcome": "failed", "error": "States.Timeout", "cause": ""},
        ("StepFailed", "States.Timeout: "),
        id="step-timed-out",
    ),
]


@pytest.mark.parametrize(("start", "data", "finished", "ending"), ENDINGS)
def test_each_outcome_is_announced_then_ended_on(
    asl: dict[str, Any],
    start: str,
    data: dict[str, Any],
    finished: dict[str, Any],
    ending: tuple[str | None, str | None],
) -> None:
    # Given how the export went: the report's last summary, or a step's error after retries
    state = {"listing": LISTING, **data}

    # When the definition takes it to the end
    entered, ended = _follow(asl["States"], start, state)

    # Then one Pass state names the outcome, with the error and cause the execution will end
    # with; the event is put, and the verdict ends the execution on that same error
    (named,) = [name for name in entered if asl["States"][name]["Type"] == "Pass"]
    assert entered[entered.index(named) + 1 :][:2] == ["AnnounceFinished", "Verdict"]
    assert state["finished"] == {**state["finished"], **finished}
    assert ended == ending
    # And what the event is built from has the same keys whatever the outcome: the report's
    # totals and location when there is a report, null when there is none
    assert set(state["finished"]) == FINISHED_KEYS
    if finished["outcome"] == "failed":
        assert (state["finished"]["totals"], state["finished"]["report"]) == (None, None)
    else:
        assert (state["finished"]["totals"], state["finished"]["report"]) == (
            REPORT["totals"],
            REPORT_URL,
        )


def test_the_finished_event_holds_what_a_pipeline_starts_on(
    template: dict[str, Any], asl: dict[str, Any]
) -> None:
    # Given the state that puts the event, and the template's substitutions
    announce = asl["States"]["AnnounceFinished"]
    substitutions = _state_machine(template)["Properties"]["DefinitionSubstitutions"]

    # Then it is one entry, through the optimized integration, on the default bus, with the
    # documented source and detail-type
    assert announce["Resource"] == "arn:aws:states:::events:putEvents"
    (entry,) = announce["Parameters"]["Entries"]
    assert {key: value for key, value in entry.items() if key != "Detail"} == {
        "EventBusName": "default",
        "Source": FINISHED_SOURCE,
        "DetailType": FINISHED_DETAIL_TYPE,
    }
    # And its detail: the execution's name and input, the index's location, and what the
    # outcome's Pass state put under $.finished, every key every time
    assert entry["Detail"] == {
        "execution.$": "$$.Execution.Name",
        "input.$": "$$.Execution.Input",
        "index": "${ResultsIndexLocation}",
        **{f"{key}.$": f"$.finished.{key}" for key in FINISHED_KEYS},
    }
    assert {key.removesuffix(".$") for key in entry["Detail"]} == DETAIL_KEYS
    # (built from fields ListPages and WriteReport do return)
    assert "bucket" in ListingSummary.model_fields
    assert {"totals", "report_key", "cause"} <= set(ReportSummary.model_fields)
    # And the index's location is where FetchResult writes it, in the results bucket
    assert substitutions["ResultsIndexLocation"] == {
        "Fn::Sub": [
            f"s3://${{Bucket}}/${{ResultsPrefix}}{INDEX_DIRECTORY}/",
            {
                "Bucket": {
                    "Fn::If": [
                        "CreateResultsBucket",
                        {"Ref": "ResultsBucket"},
                        {"Ref": "ResultsBucketName"},
                    ]
                }
            },
        ]
    }


def test_the_verdict_ends_on_the_error_the_event_named(asl: dict[str, Any]) -> None:
    # Given the verdict and the states it ends in
    states = asl["States"]
    verdict = states["Verdict"]
    fails = {name: s for name, s in states.items() if s["Type"] == "Fail"}
    step_failed, failed = verdict["Choices"]

    # Then an outcome with no error takes the Default: it succeeds, with the report's summary
    # as its output (the Default is the way the cost model follows,
    # tools/playment_bench/cost/transitions.py)
    assert states[verdict["Default"]] == {"Type": "Succeed", "OutputPath": "$.report"}
    # And any other fails with the very error and cause the event carried
    assert (failed["Variable"], failed["IsNull"]) == ("$.finished.error", False)
    assert fails[failed["Next"]]["ErrorPath"] == "$.finished.error"
    assert fails[failed["Next"]]["CausePath"] == "$.finished.cause"
    # But one of Step Functions' own errors, which a Fail state may not raise, ends first as
    # StepFailed, that error first in the cause
    assert step_failed["And"] == [
        {"Variable": "$.finished.error", "IsString": True},
        {"Variable": "$.finished.error", "StringMatches": "States.*"},
    ]
    assert fails[step_failed["Next"]]["Error"] == "StepFailed"
    assert fails[step_failed["Next"]]["CausePath"].startswith(
        "States.Format('{}: {}', $.finished.error, $.finished.cause"
    )
    # And these are the only ways to end
    assert set(fails) == {failed["Next"], step_failed["Next"]}


# ---------------------------------------------------------------- an event that is not put


def test_a_failed_announcement_is_counted_and_never_costs_the_verdict(asl: dict[str, Any]) -> None:
    # Given the state that puts the event, and the one its catcher goes to
    states = asl["States"]
    announce = states["AnnounceFinished"]
    (catcher,) = announce["Catch"]
    count = states[catcher["Next"]]
    kept_apart = {"$.listing", "$.max_concurrency", "$.report", "$.finished", "$.failure"}

    # Then its result is dropped: the state the verdict reads goes on as it was
    assert "ResultPath" in announce
    assert announce["ResultPath"] is None
    assert announce["Next"] == "Verdict"
    # And one retrier covers EventBridge's own errors only (a refused entry comes back as
    # EventBridge.FailedEntry), with jittered backoff
    (retrier,) = announce["Retry"]
    assert "EventBridge.FailedEntry" in retrier["ErrorEquals"]
    assert all(error.startswith("EventBridge.") for error in retrier["ErrorEquals"])
    assert retrier["JitterStrategy"] == "FULL"
    # And whatever still fails it is caught, kept beside the state, and counted in a metric
    assert catcher["ErrorEquals"] == ["States.ALL"]
    assert re.fullmatch(r"\$\.[a-z_]+", catcher["ResultPath"])
    assert catcher["ResultPath"] not in kept_apart
    assert count["Resource"] == "arn:aws:states:::aws-sdk:cloudwatch:putMetricData"
    assert count["ResultPath"] is None
    # And counting goes on to the verdict too, even when CloudWatch refuses it
    assert count["Next"] == "Verdict"
    (count_catcher,) = count["Catch"]
    assert (count_catcher["ErrorEquals"], count_catcher["Next"]) == (["States.ALL"], "Verdict")
    assert count_catcher["ResultPath"] not in kept_apart | {catcher["ResultPath"]}


def test_a_failed_announcement_raises_the_stacks_alarm(
    template: dict[str, Any], asl: dict[str, Any]
) -> None:
    # Given the data point the definition puts, the alarms, and the state machine's grants
    (count,) = [s for s in _tasks(asl).values() if s["Resource"].endswith(":putMetricData")]
    parameters = count["Parameters"]
    (datum,) = parameters["MetricData"]
    (dimension,) = datum["Dimensions"]
    alarms = [
        a["Properties"]
        for a in _resources(template, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["Namespace"] == parameters["Namespace"]
    ]
    grants = [
        (owner, statement)
        for owner, statement in _allow_statements(template)
        if "cloudwatch:PutMetricData" in _as_list(statement["Action"])
    ]

    # Then it is one count, in the application's namespace, for this state machine (the
    # dimension AWS/States uses, so that two stacks in one account alarm apart)
    assert parameters["Namespace"] == METRICS_NAMESPACE
    assert template["Globals"]["Function"]["Environment"]["Variables"][
        "POWERTOOLS_METRICS_NAMESPACE"
    ] == (METRICS_NAMESPACE)
    assert (datum["Value"], datum["Unit"]) == (1, "Count")
    assert dimension == {"Name": "StateMachineArn", "Value.$": "$$.StateMachine.Id"}
    # And one alarm watches exactly that metric, from the first data point
    (alarm,) = alarms
    assert alarm["MetricName"] == datum["MetricName"]
    assert alarm["Dimensions"] == [
        {"Name": "StateMachineArn", "Value": {"Ref": "ExportStateMachine"}}
    ]
    assert (alarm["Statistic"], alarm["Threshold"], alarm["ComparisonOperator"]) == (
        "Sum",
        1,
        "GreaterThanOrEqualToThreshold",
    )
    assert alarm["TreatMissingData"] == "notBreaching"
    # And it notifies as the other alarms do
    executions_failed = template["Resources"]["ExecutionsFailedAlarm"]["Properties"]
    assert alarm["AlarmActions"] == executions_failed["AlarmActions"]
    # And only the state machine may put metrics, in that namespace only
    ((owner, statement),) = grants
    assert owner == "ExportStateMachine"
    assert statement["Action"] == "cloudwatch:PutMetricData"
    assert statement["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": parameters["Namespace"]}
    }


def test_the_state_machine_may_put_only_the_finished_event_on_the_default_bus(
    template: dict[str, Any], asl: dict[str, Any]
) -> None:
    # Given every Allow statement with an EventBridge action, and the event put
    granted = [
        (owner, statement)
        for owner, statement in _allow_statements(template)
        if any(action.startswith("events:") for action in _as_list(statement["Action"]))
    ]
    (entry,) = asl["States"]["AnnounceFinished"]["Parameters"]["Entries"]

    # Then there is one, the state machine's: PutEvents on the default bus of its own account
    # and region, for the event's source and detail-type only
    ((owner, statement),) = granted
    assert owner == "ExportStateMachine"
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default"
    }
    # And both keys, multivalued in IAM's Service Authorization Reference (ArrayOfString: one
    # value per entry), are tested with a set operator: every entry must match. A plain
    # StringEquals on a multivalued key is what IAM may refuse, silently losing the event.
    assert statement["Condition"] == {
        "ForAllValues:StringEquals": {
            "events:source": entry["Source"],
            "events:detail-type": entry["DetailType"],
        }
    }
