"""Read ``template.yaml`` the way the local engine needs it: functions, environments, the
state machine's definition and substitutions, with intrinsic functions resolved.

Only what this template uses is resolved: ``Ref``, ``Fn::GetAtt`` (``.Arn``), ``Fn::Sub``,
``Fn::If`` and the condition functions, against parameter defaults (or overrides) and the
physical names the engine gave the resources it created.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    **{
        name: f"Fn::{name}"
        for name in (
            "GetAtt", "Sub", "If", "Equals", "Not", "And", "Or", "Join", "Select", "Split",
            "FindInMap", "ImportValue", "GetAZs", "Base64", "Cidr", "Length", "ToJsonString",
        )
    },
}  # fmt: skip


NO_VALUE = object()  # what ``Ref: AWS::NoValue`` resolves to, until it is left out


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short tags (``!Ref X``) read as their long form."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = _SHORT_TAGS.get(suffix)
    if name is None:
        raise yaml.constructor.ConstructorError(
            None, None, f"unknown tag !{suffix}", node.start_mark
        )
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path) -> dict[str, Any]:
    document = yaml.load(Path(path).read_text(), Loader=_CfnLoader)  # noqa: S506 - SafeLoader
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not a template")
    return document


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: str
    handler: str
    timeout: int
    memory_size: int
    environment: dict[str, str]


@dataclass(frozen=True)
class StateMachineSpec:
    logical_id: str
    definition_uri: str
    substitutions: dict[str, str]


class CfnTemplate:
    """A template with its parameters set and its resources' physical IDs known."""

    def __init__(
        self,
        document: dict[str, Any],
        *,
        parameters: Mapping[str, str] | None = None,
        physical_ids: Mapping[str, Mapping[str, str]] | None = None,
        pseudo: Mapping[str, str] | None = None,
    ) -> None:
        self.document = document
        self.parameters = {
            name: str(spec.get("Default", ""))
            for name, spec in document.get("Parameters", {}).items()
        }
        unknown = set(parameters or {}) - set(self.parameters)
        if unknown:
            raise ValueError(f"unknown template parameters: {sorted(unknown)}")
        self.parameters.update(parameters or {})
        self.physical_ids = {name: dict(ids) for name, ids in (physical_ids or {}).items()}
        self.pseudo = dict(pseudo or {})

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.document.get("Resources", {})
        return resources

    def resources_of_type(self, type_name: str) -> dict[str, dict[str, Any]]:
        return {
            name: resource
            for name, resource in self.resources.items()
            if resource.get("Type") == type_name and self._included(resource)
        }

    def set_physical(self, logical_id: str, **ids: str) -> None:
        self.physical_ids[logical_id] = ids

    def functions(self) -> list[FunctionSpec]:
        defaults = self.document.get("Globals", {}).get("Function", {})
        specs = []
        for name, resource in self.resources_of_type("AWS::Serverless::Function").items():
            properties = {**defaults, **resource.get("Properties", {})}
            variables = {
                **defaults.get("Environment", {}).get("Variables", {}),
                **resource.get("Properties", {}).get("Environment", {}).get("Variables", {}),
            }
            specs.append(
                FunctionSpec(
                    logical_id=name,
                    code_uri=str(self.resolve(properties["CodeUri"])),
                    handler=str(self.resolve(properties["Handler"])),
                    timeout=int(self.resolve(properties.get("Timeout", 3))),
                    memory_size=int(self.resolve(properties.get("MemorySize", 128))),
                    environment={k: str(self.resolve(v)) for k, v in variables.items()},
                )
            )
        return specs

    def state_machine(self) -> StateMachineSpec:
        machines = self.resources_of_type("AWS::Serverless::StateMachine")
        if len(machines) != 1:
            raise ValueError(f"expected one state machine in the template, found {len(machines)}")
        (name, resource), *_ = machines.items()
        properties = resource["Properties"]
        return StateMachineSpec(
            logical_id=name,
            definition_uri=str(properties["DefinitionUri"]),
            substitutions={
                key: str(self.resolve(value))
                for key, value in properties.get("DefinitionSubstitutions", {}).items()
            },
        )

    # -- intrinsic functions -----------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``value`` with its intrinsic functions resolved; what resolves to
        ``AWS::NoValue`` is left out of its list or mapping, as CloudFormation does."""
        if isinstance(value, list):
            items = (self.resolve(item) for item in value)
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            resolver = _RESOLVERS.get(key)
            if resolver is not None:
                return resolver(self, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.document["Conditions"][name]))

    def _included(self, resource: dict[str, Any]) -> bool:
        condition = resource.get("Condition")
        return condition is None or self.condition(condition)

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.physical_ids:
            return self.physical_ids[name]["Ref"]
        raise KeyError(f"no local value for Ref {name}")

    def _get_att(self, argument: list[str]) -> str:
        logical_id, attribute = argument
        try:
            return self.physical_ids[logical_id][attribute]
        except KeyError:
            raise KeyError(f"no local value for {logical_id}.{attribute}") from None

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = {name: str(self.resolve(value)) for name, value in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in values:
                return values[name]
            if "." in name:
                return self._get_att(name.split(".", 1))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}!][^}]*)\}", replace, text)


_RESOLVERS: dict[str, Any] = {
    "Ref": lambda t, a: t._ref(a),
    "Fn::GetAtt": lambda t, a: t._get_att(a),
    "Fn::Sub": lambda t, a: t._sub(a),
    "Fn::If": lambda t, a: t.resolve(a[1] if t.condition(a[0]) else a[2]),
    "Fn::Equals": lambda t, a: str(t.resolve(a[0])) == str(t.resolve(a[1])),
    "Fn::Not": lambda t, a: not t.resolve(a[0]),
    "Fn::And": lambda t, a: all(t.resolve(item) for item in a),
    "Fn::Or": lambda t, a: any(t.resolve(item) for item in a),
    "Condition": lambda t, a: t.condition(a),
    "Fn::Join": lambda t, a: str(a[0]).join(str(t.resolve(item)) for item in a[1]),
}
