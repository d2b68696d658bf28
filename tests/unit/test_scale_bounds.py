"""What ``make scale`` counts as over a bound (``playment_bench.scale.bounds``)."""

import dataclasses

import pytest

from playment_bench.scale.bounds import absolute, check, growth
from playment_bench.scale.figures import ExportFigures, InvocationFigure, KiB, MiB, state_figures

TOTALS = {"jobs": 1_000, "exported": 8, "skipped": 990, "failed": 2}


def invocation(function: str, peak: int | None, **changes: object) -> InvocationFigure:
    figure = InvocationFigure(
        function=function, peak_bytes=peak, overlapped=False, duration_s=1.0, input_bytes=300,
        output_bytes=400, error_type=None, timeout_s=900,
    )  # fmt: skip
    return dataclasses.replace(figure, **changes)  # type: ignore[arg-type]


def history(**sizes: int) -> list[dict[str, object]]:
    """Each state entered and exited once, its input and output of the size given."""
    events: list[dict[str, object]] = []
    for name, size in sizes.items():
        details = {"name": name, "input": "x" * size, "output": "y" * size}
        events.append({"type": "TaskStateEntered", "stateEnteredEventDetails": details})
        events.append({"type": "TaskStateExited", "stateExitedEventDetails": details})
    return events


def export(name: str, *invocations: InvocationFigure, **state_sizes: int) -> ExportFigures:
    return ExportFigures(
        project=name, description="", status="FAILED", error="ExportIncomplete",
        totals=TOTALS, expected_totals=TOTALS, history_events=40, seconds=1.0,
        invocations=invocations, states=state_figures(history(**state_sizes)),
    )  # fmt: skip


def test_a_sound_export_passes() -> None:
    # Given an export that ended as expected, every figure under its bound
    sound = export("p", invocation("WriteReport", 100 * MiB), WriteReport=100 * KiB)
    # When it is checked / Then nothing is found
    assert absolute(sound) == []


@pytest.mark.parametrize(
    ("changes", "figure"),
    [
        ({"invocations": (invocation("WriteReport", 151 * MiB),)}, "p: WriteReport peak memory"),
        ({"invocations": (invocation("ListPages", 1, duration_s=901.0),)}, "p: ListPages duration"),
        ({"invocations": (invocation("FetchResult", 1, input_bytes=129 * KiB),)},
         "p: FetchResult event"),
        ({"states": state_figures(history(WriteReport=129 * KiB))}, "p: state WriteReport"),
        ({"status": "SUCCEEDED", "error": None}, "p: execution"),
        ({"totals": {**TOTALS, "skipped": 989}}, "p: report totals"),
        ({"totals": None}, "p: report"),
    ],
)  # fmt: skip
def test_each_absolute_bound_is_held(changes: dict[str, object], figure: str) -> None:
    # Given an export with one figure over its bound, or a wrong ending
    over = dataclasses.replace(export("p", invocation("ListPages", 1)), **changes)  # type: ignore[arg-type]
    # When it is checked / Then that figure (a state: its input and output), and it alone, is
    # named
    named = {
        violation.figure.removesuffix(" input").removesuffix(" output")
        for violation in absolute(over)
    }
    assert named == {figure}


def test_a_per_step_figure_may_grow_within_its_tolerance_and_not_beyond() -> None:
    # Given a smaller export, a larger one within tolerance (10% + 5 MiB, 10% + 1 KiB), and a
    # larger one past it in memory and in a state's size
    smaller = export("small", invocation("WriteReport", 20 * MiB), WriteReport=10 * KiB)
    within = export("within", invocation("WriteReport", 27 * MiB), WriteReport=12 * KiB)
    beyond = export("beyond", invocation("WriteReport", 28 * MiB), WriteReport=13 * KiB)
    # When each is compared with the smaller / Then only the one beyond is named, per figure
    assert growth(smaller, within) == []
    assert [violation.figure for violation in growth(smaller, beyond)] == [
        "small -> beyond: WriteReport max peak memory",
        "small -> beyond: state WriteReport input",
        "small -> beyond: state WriteReport output",
    ]


def test_peaks_that_overlapped_or_were_not_measured_are_not_compared() -> None:
    # Given a larger export whose peaks grew, but overlapped with other invocations, or were
    # not measured
    smaller = export("small", invocation("FetchResult", 1 * MiB))
    overlapped = export("overlapped", invocation("FetchResult", 90 * MiB, overlapped=True))
    unmeasured = export("unmeasured", invocation("FetchResult", None))
    # When they are compared / Then nothing is named
    assert growth(smaller, overlapped) == []
    assert growth(smaller, unmeasured) == []


def test_check_holds_every_export_to_its_bounds_and_each_pair_to_its_growth() -> None:
    # Given three exports: one over an absolute bound, a pair whose larger grew
    exports = [
        export("a", invocation("ListPages", 200 * MiB)),
        export("small", invocation("ListPages", 1 * MiB)),
        export("large", invocation("ListPages", 10 * MiB)),
    ]
    # When they are checked with the pair named / Then both findings are there
    assert [str(v).split(":")[0] for v in check(exports, [("small", "large")])] == [
        "a",
        "small -> large",
    ]
