"""What SAM itself generates from template.yaml, read from its translator's output.

test_template.py reads the template as written; some promises are only kept in what SAM makes
of it: the API's request mapping template, the schedule's role and target, the roles' policies.
The translation runs in .venv-sam (the pinned SAM CLI, `make template-tools`), through
tools/template_checks/translate_template.py (the `translated_template` fixture).
"""

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_template import _as_list, _resolve

ROOT = Path(__file__).resolve().parents[2]
RESULTS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SECRET_KEY = "arn:aws:kms:eu-west-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"
# The request template SAM writes for a state machine Api event, and its optional unescaping.
REQUEST_TEMPLATE = re.compile(
    r'\{"input": "\$util\.escapeJavaScript\(\$input\.json\(\'\$\'\)\)'
    r'(?:\.replaceAll\("(?P<pattern>[^"]*)","(?P<replacement>[^"]*)"\))?", '
    r'"stateMachineArn": "\$\{(?P<machine>[A-Za-z0-9]+)\}"\}'
)


@pytest.fixture
def translated(translated_template: dict[str, Any]) -> dict[str, Any]:
    return translated_template


def _escape_javascript(text: str) -> str:
    """API Gateway's $util.escapeJavaScript (Commons Lang's escapeJavaScript): quotes, the
    apostrophe, backslash and slash get a backslash; control and non-ASCII become escapes."""
    named = {'"': '\\"', "'": "\\'", "\\": "\\\\", "/": "\\/", "\b": "\\b", "\f": "\\f"}
    named |= {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
    out = []
    for char in text:
        if char in named:
            out.append(named[char])
        elif ord(char) < 0x20 or ord(char) > 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return "".join(out)


def _render_request(translated: dict[str, Any], body: str) -> str:
    """The StartExecution request API Gateway sends for POST /exports with ``body``."""
    paths = translated["Resources"]["ExportApi"]["Properties"]["Body"]["paths"]
    integration = paths["/exports"]["post"]["x-amazon-apigateway-integration"]
    mapping = integration["requestTemplates"]["application/json"]["Fn::Sub"]
    match = REQUEST_TEMPLATE.fullmatch(mapping)
    assert match, f"SAM's request template changed shape: {mapping}"
    rendered_input = _escape_javascript(json.dumps(json.loads(body)))  # $input.json('$')
    if match["pattern"] is not None:
        # Velocity passes the string literals as they are to Java's String.replaceAll.
        rendered_input = re.sub(match["pattern"], match["replacement"], rendered_input)
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:x-export"
    return f'{{"input": "{rendered_input}", "stateMachineArn": "{arn}"}}'


def test_a_body_with_an_apostrophe_reaches_start_execution_as_valid_json(
    translated: dict[str, Any],
) -> None:
    # Given an API body whose value holds an apostrophe, quotes and a slash
    body = json.dumps({"project_id": "o'brien", "batch_ids": ["a/b", 'say "hi"']})

    # When API Gateway renders SAM's request template on it
    request = _render_request(translated, body)

    # Then StartExecution gets valid JSON (not the \' that made it a SerializationException)
    # whose input is the body, unchanged
    assert json.loads(json.loads(request)["input"]) == json.loads(body)


def test_the_schedule_retries_then_sends_to_its_dead_letter_queue(
    translated: dict[str, Any],
) -> None:
    # Given the schedule SAM generates, and its execution role
    resources = translated["Resources"]
    (schedule,) = [r for r in resources.values() if r["Type"] == "AWS::Scheduler::Schedule"]
    target = schedule["Properties"]["Target"]
    role_name = target["RoleArn"]["Fn::GetAtt"][0]
    role = resources[role_name]["Properties"]

    # Then the target has a retry policy and the stack's queue as dead-letter queue
    assert set(target["RetryPolicy"]) == {"MaximumRetryAttempts", "MaximumEventAgeInSeconds"}
    queue_arn = target["DeadLetterConfig"]["Arn"]
    assert resources[queue_arn["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"
    # And the role Scheduler sends with may send there, and start the state machine, only
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": ["scheduler.amazonaws.com"]
    }
    grants = {
        (statement["Action"], json.dumps(statement["Resource"], sort_keys=True))
        for policy in role["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
    }
    assert grants == {
        ("sqs:SendMessage", json.dumps(queue_arn, sort_keys=True)),
        ("states:StartExecution", json.dumps({"Ref": "ExportStateMachine"})),
    }


def _kms_grants(translated: dict[str, Any], parameters: dict[str, str]) -> dict[str, Any]:
    """Role -> (actions, resource) of its KMS statements, deployed with ``parameters``."""
    grants: dict[str, Any] = {}
    for name, resource in translated["Resources"].items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        policies = _resolve(resource["Properties"].get("Policies", []), translated, parameters)
        for policy in policies:
            for statement in _as_list(policy["PolicyDocument"]["Statement"]):
                actions = sorted(_as_list(statement["Action"]))
                if any(action.startswith("kms:") for action in actions):
                    grants.setdefault(name, []).append((actions, statement["Resource"]))
    return grants


def test_the_generated_roles_get_a_kms_key_only_when_it_is_given(
    translated: dict[str, Any],
) -> None:
    # When deployed without the key parameters / Then no role may use any KMS key
    assert _kms_grants(translated, {}) == {}

    # When deployed with a key for the bucket and one for the secret
    given = {"ResultsKmsKeyArn": RESULTS_KEY, "ApiKeySecretKmsKeyArn": SECRET_KEY}
    grants = _kms_grants(translated, given)

    # Then the roles of whoever reads or writes the bucket's objects may use the bucket's key,
    # those that read the secret may decrypt with the secret's, and nobody else gets either
    bucket = (["kms:Decrypt", "kms:GenerateDataKey"], RESULTS_KEY)
    secret = (["kms:Decrypt"], SECRET_KEY)
    assert grants == {
        "ListPagesFunctionRole": [secret, bucket],
        "FetchResultFunctionRole": [secret, bucket],
        "WriteReportFunctionRole": [bucket],
        "ExportStateMachineRole": [bucket],
    }
