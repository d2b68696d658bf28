"""What ``make scale`` measures of one export, and the per-step figures it compares.

An invocation's figures come from the local engine (``playment_local.lambda_dispatch``): its
peak memory (``invocation_memory``: what it allocated, at its worst, above what the process
held when it began), its duration, and the size of its event and result, which for the Map's
children are their FetchPage state's input and output. The parent's states' sizes come from
the execution history: the input of each ``...StateEntered`` event, the output of each
``...StateExited`` one.
"""

import json
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Self

from playment_local.lambda_dispatch import Invocation

KiB = 1024
MiB = 1024 * KiB


def function_name(logical_id: str) -> str:
    """``ListPagesFunction`` -> ``ListPages``: the name the state machine's Task uses."""
    return logical_id.removesuffix("Function")


@dataclass(frozen=True)
class InvocationFigure:
    function: str
    peak_bytes: int | None  # None: not measured
    overlapped: bool  # another invocation ran meanwhile: its allocations are in the peak
    duration_s: float
    input_bytes: int
    output_bytes: int
    error_type: str | None
    timeout_s: int

    @classmethod
    def of(cls, invocation: Invocation) -> Self:
        return cls(
            function=function_name(invocation.function),
            peak_bytes=invocation.peak_bytes,
            overlapped=invocation.overlapped,
            duration_s=invocation.duration_s,
            input_bytes=_json_size(invocation.event),
            output_bytes=_json_size(invocation.result) if invocation.error_type is None else 0,
            error_type=invocation.error_type,
            timeout_s=invocation.timeout_s,
        )


@dataclass(frozen=True)
class FunctionFigure:
    """One function's invocations in one export, summed up."""

    function: str
    invocations: int
    max_peak_bytes: int | None  # None: not measured
    median_peak_bytes: float | None
    max_duration_s: float
    max_input_bytes: int
    max_output_bytes: int
    overlapped: int  # invocations whose peak includes another's allocations
    errors: int
    timeout_s: int

    @classmethod
    def of(cls, function: str, figures: list[InvocationFigure]) -> Self:
        peaks = [f.peak_bytes for f in figures if f.peak_bytes is not None]
        return cls(
            function=function,
            invocations=len(figures),
            max_peak_bytes=max(peaks) if peaks else None,
            median_peak_bytes=statistics.median(peaks) if peaks else None,
            max_duration_s=max(f.duration_s for f in figures),
            max_input_bytes=max(f.input_bytes for f in figures),
            max_output_bytes=max(f.output_bytes for f in figures),
            overlapped=sum(f.overlapped for f in figures),
            errors=sum(f.error_type is not None for f in figures),
            timeout_s=figures[0].timeout_s,
        )

    @property
    def max_state_bytes(self) -> int:
        return max(self.max_input_bytes, self.max_output_bytes)


@dataclass(frozen=True)
class StateFigure:
    """One state of the parent execution: how often it was entered, its largest input and
    output."""

    state: str
    entered: int
    max_input_bytes: int
    max_output_bytes: int

    @property
    def max_bytes(self) -> int:
        return max(self.max_input_bytes, self.max_output_bytes)


def state_figures(history: Iterable[Mapping[str, Any]]) -> tuple[StateFigure, ...]:
    """Each state's figures from an execution history, in the order first entered."""
    entered: dict[str, int] = {}
    inputs: dict[str, int] = {}
    outputs: dict[str, int] = {}
    for event in history:
        kind = str(event["type"])
        if kind.endswith("StateEntered"):
            details = event["stateEnteredEventDetails"]
            name = details["name"]
            entered[name] = entered.get(name, 0) + 1
            inputs[name] = max(inputs.get(name, 0), len(details.get("input", "").encode()))
        elif kind.endswith("StateExited"):
            details = event["stateExitedEventDetails"]
            name = details["name"]
            outputs[name] = max(outputs.get(name, 0), len(details.get("output", "").encode()))
    return tuple(
        StateFigure(name, count, inputs.get(name, 0), outputs.get(name, 0))
        for name, count in entered.items()
    )


@dataclass(frozen=True)
class ExportFigures:
    """One export on the local engine: how it ended, and what was measured of it."""

    project: str
    description: str
    status: str
    error: str | None
    totals: Mapping[str, int] | None  # the last report step's, None if there was none
    expected_totals: Mapping[str, int]
    history_events: int
    seconds: float
    invocations: tuple[InvocationFigure, ...]
    states: tuple[StateFigure, ...]

    def functions(self) -> tuple[FunctionFigure, ...]:
        by_function: dict[str, list[InvocationFigure]] = {}
        for figure in self.invocations:
            by_function.setdefault(figure.function, []).append(figure)
        return tuple(FunctionFigure.of(name, figures) for name, figures in by_function.items())

    def as_json(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "description": self.description,
            "status": self.status,
            "error": self.error,
            "totals": self.totals,
            "history_events": self.history_events,
            "seconds": self.seconds,
            "functions": [figure.__dict__ for figure in self.functions()],
            "states": [figure.__dict__ for figure in self.states],
        }


def _json_size(value: Any) -> int:
    return len(json.dumps(value).encode())
