"""Every name template.yaml builds from the stack fits its service's limit, whatever the stack.

CloudFormation accepts stack names of up to 128 characters; a state machine's name stops at 80.
A name built from ``${AWS::StackName}`` that can outgrow its limit fails the deploy of a stack
with a long name. Each such name is resolved here with the longest stack name, region and
generated resource names there can be, and held to its limit.
"""

import re
from typing import Any

import pytest

from tests.unit.test_template import _load_template, _state_machine

# The longest a stack name can be (CloudFormation: 128, a letter then letters, digits, "-").
LONGEST_STACK = "s" + "-x" * 63 + "a"
LONGEST_REGION = "ap-southeast-2"
STACK_UUID = "0b4a2c1e-7d3f-4e5a-9b8c-1d2e3f4a5b6c"
STACK_ID = (
    f"arn:aws:cloudformation:{LONGEST_REGION}:123456789012:stack/{LONGEST_STACK}/{STACK_UUID}"
)
PSEUDO = {
    "AWS::StackName": LONGEST_STACK,
    "AWS::StackId": STACK_ID,
    "AWS::Region": LONGEST_REGION,
    "AWS::AccountId": "123456789012",
    "AWS::Partition": "aws-us-gov",
}
# The longest physical name CloudFormation gives a resource of this type when the template
# names none (Lambda function names stop at 64).
GENERATED = {"AWS::Serverless::Function": 64}
# Each named property the template builds, and its service's limit and characters.
LIMITS = {
    ("AWS::Serverless::StateMachine", "Name"): (80, r"[A-Za-z0-9_-]+"),
    ("AWS::Serverless::LayerVersion", "LayerName"): (140, r"[A-Za-z0-9_-]+"),
    ("AWS::SecretsManager::Secret", "Name"): (512, r"[A-Za-z0-9/_+=.@-]+"),
    ("AWS::Logs::LogGroup", "LogGroupName"): (512, r"[A-Za-z0-9_/.#-]+"),
    ("AWS::Glue::Database", "DatabaseInput.Name"): (255, r"[A-Za-z0-9_]+"),
    ("AWS::CloudWatch::Dashboard", "DashboardName"): (255, r"[A-Za-z0-9_-]+"),
}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _load_template()


def _resolve(value: Any, template: dict[str, Any]) -> Any:
    """What CloudFormation makes of ``value`` for the longest stack: Ref, Fn::Sub, Fn::Join,
    Fn::Split and Fn::Select, resources by the longest name they can be given."""
    if isinstance(value, list):
        return [_resolve(item, template) for item in value]
    if not isinstance(value, dict):
        return value
    ((function, argument),) = value.items()
    if function == "Ref":
        return _ref(argument, template)
    if function == "Fn::Sub":
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: _resolve(item, template) for name, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match[1]
            return str(values[name] if name in values else _ref(name, template))

        return re.sub(r"\$\{([^}!][^}]*)\}", replace, text)
    if function == "Fn::Join":
        separator, items = argument
        return separator.join(_resolve(items, template))
    if function == "Fn::Split":
        separator, text = argument
        return _resolve(text, template).split(separator)
    if function == "Fn::Select":
        index, items = argument
        return _resolve(items, template)[int(index)]
    raise AssertionError(f"no resolver for {function} in a name")


def _ref(name: str, template: dict[str, Any]) -> str:
    if name in PSEUDO:
        return PSEUDO[name]
    resource_type = template["Resources"][name]["Type"]
    assert resource_type in GENERATED, f"{name}: the longest name of a {resource_type}?"
    return "f" * GENERATED[resource_type]


def _named_properties(template: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(resource, type, property, value) of every name the template builds rather than
    writes out: top-level ``...Name`` properties and Glue's ``DatabaseInput.Name``."""
    found = []
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        candidates = {key: value for key, value in properties.items() if key.endswith("Name")}
        if "DatabaseInput" in properties:
            candidates["DatabaseInput.Name"] = properties["DatabaseInput"]["Name"]
        for key, value in candidates.items():
            refers = isinstance(value, dict) and value.get("Ref") in template["Resources"]
            if isinstance(value, dict) and not refers:  # a reference names nothing new
                found.append((name, resource["Type"], key, value))
    return found


def test_every_name_built_from_the_stack_fits_its_limit(template: dict[str, Any]) -> None:
    # Given every name the template builds (the state machine's, the layer's, the secret's,
    # the log groups', the Glue database's, the dashboard's)
    named = _named_properties(template)
    assert {(kind, key) for _, kind, key, _ in named} == set(LIMITS)

    for resource, kind, key, value in named:
        # When it is resolved for the longest stack name, region and generated names
        resolved = _resolve(value, template)
        # Then it fits its service's limit, in the characters the service takes
        limit, characters = LIMITS[(kind, key)]
        assert len(resolved) <= limit, (resource, key, len(resolved), resolved)
        assert re.fullmatch(characters, resolved), (resource, key, resolved)


def test_the_state_machines_role_names_that_very_state_machine(template: dict[str, Any]) -> None:
    # Given the state machine's name and the statements that let it run the Map's children
    machine = _state_machine(template)["Properties"]
    name = _resolve(machine["Name"], template)
    statements = {
        statement["Sid"]: statement
        for policy in machine["Policies"]
        if isinstance(policy, dict) and "Statement" in policy
        for statement in policy["Statement"]
    }
    prefix = f"arn:aws-us-gov:states:{LONGEST_REGION}:123456789012"

    # Then the name does not grow with the stack's: the stack ID's UUID makes it unique
    assert name == f"playment-export-{STACK_UUID}"
    # And the role may start executions of that state machine and supervise their children,
    # nothing else (a name the role could not spell would be a circular reference)
    start = _resolve(statements["StartMapRunChildren"]["Resource"], template)
    supervise = _resolve(statements["SuperviseMapRunChildren"]["Resource"], template)
    assert start == f"{prefix}:stateMachine:{name}"
    assert supervise == f"{prefix}:execution:{name}/*"
