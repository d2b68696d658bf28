"""The state transitions an export that goes well makes, read from
``statemachine/export.asl.json``: the success path and the loops on it."""

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from playment_bench.cost.stack import (
    DEFINITION_PATH,
    HISTORY_EVENTS_PER_EXECUTION,
    HISTORY_EVENTS_PER_STATE,
)


@dataclass(frozen=True)
class TransitionPaths:
    """The states one export enters when it goes well: ``once`` per execution, ``listing``
    per listing step (the loop around the distributed Map), ``report`` per report step, and
    ``child`` per page. ``types`` maps each of them to its state type."""

    once: tuple[str, ...]
    listing: tuple[str, ...]
    report: tuple[str, ...]
    child: tuple[str, ...]
    types: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def parent(self) -> tuple[str, ...]:
        """Every state of the parent's path, in the order first entered."""
        return tuple(self.types) if self.types else self.once + self.listing + self.report

    def parent_transitions(self, listing_steps: int, report_steps: int, executions: int = 1) -> int:
        """The parent's own transitions, all executions together (steps are totals too)."""
        return (
            executions * len(self.once)
            + listing_steps * len(self.listing)
            + report_steps * len(self.report)
        )

    def standard(
        self, pages: int, listing_steps: int = 1, report_steps: int = 1, executions: int = 1
    ) -> int:
        """Billed transitions: the parent's states, and per page one for the child's start
        (distributed Map) plus the child's own states."""
        parent = self.parent_transitions(listing_steps, report_steps, executions)
        return parent + pages * (1 + len(self.child))

    def express(
        self, pages: int, listing_steps: int = 1, report_steps: int = 1, executions: int = 1
    ) -> int:
        """Billed transitions with EXPRESS children: their states are billed as duration."""
        return self.parent_transitions(listing_steps, report_steps, executions) + pages

    def history_events(self, listing_steps: int, report_steps: int) -> int:
        """Events in one execution's history (``HISTORY_EVENTS_PER_STATE``); AWS caps it at
        ``HISTORY_EVENTS_LIMIT``."""

        def events(states: tuple[str, ...]) -> int:
            return sum(HISTORY_EVENTS_PER_STATE[self.types[name]] for name in states)

        return (
            HISTORY_EVENTS_PER_EXECUTION
            + events(self.once)
            + listing_steps * events(self.listing)
            + report_steps * events(self.report)
        )


@cache
def transition_paths(definition_path: Path = DEFINITION_PATH) -> TransitionPaths:
    definition = json.loads(Path(definition_path).read_text())
    states: Mapping[str, Any] = definition["States"]
    path = success_path(definition)
    loops = path_loops(definition, path)
    with_map = [loop for loop in loops if any(states[name]["Type"] == "Map" for name in loop)]
    if len(loops) != 2 or len(with_map) != 1:
        raise ValueError(
            f"expected two loops on the parent's path, one around the distributed Map: {loops}"
        )
    listing = with_map[0]
    maps = [states[name] for name in listing if states[name]["Type"] == "Map"]
    if len(maps) != 1 or "ItemProcessor" not in maps[0]:
        raise ValueError("expected one distributed Map in the listing loop")
    report = next(loop for loop in loops if loop is not listing)
    looped = set(listing) | set(report)
    return TransitionPaths(
        once=tuple(name for name in path if name not in looped),
        listing=listing,
        report=report,
        child=success_path(maps[0]["ItemProcessor"]),
        types={name: str(states[name]["Type"]) for name in path},
    )


def success_path(machine: Mapping[str, Any]) -> tuple[str, ...]:
    """The states entered from ``StartAt`` to the end, each in the order first entered, a
    Choice taking its ``Default`` (the way out of a loop, in this definition)."""
    states: Mapping[str, Any] = machine["States"]
    path: list[str] = []
    name: str | None = machine["StartAt"]
    while name is not None:
        if name in path:
            raise ValueError(f"the default path loops back to {name}")
        path.append(name)
        name = _next_on_success(name, states[name])
    if states[path[-1]]["Type"] == "Fail":
        raise ValueError(f"the default path ends in the Fail state {path[-1]}")
    return tuple(path)


def path_loops(machine: Mapping[str, Any], path: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The loops on ``path``: a Choice rule whose ``Next`` is a state earlier on the path (or
    the Choice itself) closes one, from that state to the Choice. Loops may not overlap."""
    states: Mapping[str, Any] = machine["States"]
    loops: list[tuple[str, ...]] = []
    for index, name in enumerate(path):
        if states[name]["Type"] != "Choice":
            continue
        for rule in states[name].get("Choices", []):
            target = rule.get("Next")
            if target in path[: index + 1]:
                loop = path[path.index(target) : index + 1]
                if any(set(loop) & set(other) for other in loops):
                    raise ValueError(f"the loop {loop} overlaps another: {loops}")
                loops.append(loop)
    return tuple(loops)


def _next_on_success(name: str, state: Mapping[str, Any]) -> str | None:
    if state["Type"] in ("Succeed", "Fail") or state.get("End"):
        return None
    if state["Type"] == "Choice":
        if "Default" not in state:
            raise ValueError(f"Choice {name} has no Default to follow")
        return str(state["Default"])
    return str(state["Next"])
