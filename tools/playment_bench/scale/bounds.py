"""Which figures of ``make scale`` fail, and why: absolute bounds, and growth.

Absolute, for every export: no invocation's peak memory over ``PEAK_LIMIT_BYTES`` (what it
allocated, above Lambda's baseline of interpreter and imports: with WriteReport's and
ListPages' 256 MB, 150 MiB leaves about 100 MB for that baseline), no invocation longer than
its function's timeout, no state's input or output over ``STATE_LIMIT_BYTES`` (half of Step
Functions' 256 KiB), and the export ending as its project says it must: ``ExportIncomplete``
for its few failing jobs, the report counting every job.

Growth, from a smaller export to a larger one of the same kind whose steps are as large: a
per-step figure of the larger may not pass the smaller's by more than its tolerance, which
absorbs noise but not growth with the project. The figures: each function's largest peak
memory (10% + 5 MiB; not compared where invocations overlapped or were not measured), its
largest event and result, and each state's largest input and output (10% + 1 KiB: counts
gain digits). Durations are printed, not compared: on the local engine they include moto's
S3, whose LIST reads every key of the bucket (S3's is indexed), so a listing step's time
grows with what the bucket holds there and not on AWS; a step whose work grows with the
project shows it in its memory too.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from playment_bench.scale.figures import ExportFigures, FunctionFigure, KiB, MiB

PEAK_LIMIT_BYTES = 150 * MiB
STATE_LIMIT_BYTES = 128 * KiB
EXPECTED_ENDING = ("FAILED", "ExportIncomplete")  # every scale project has failing jobs
TOTALS_CHECKED = ("jobs", "exported", "skipped", "failed")


@dataclass(frozen=True)
class Tolerance:
    share: float
    slack: int  # bytes

    def allows(self, smaller: int, larger: int) -> bool:
        return larger <= smaller * (1 + self.share) + self.slack


MEMORY_GROWTH = Tolerance(0.10, 5 * MiB)
STATE_GROWTH = Tolerance(0.10, 1 * KiB)


@dataclass(frozen=True)
class Violation:
    """A figure over its bound, said in one line."""

    figure: str
    detail: str

    def __str__(self) -> str:
        return f"{self.figure}: {self.detail}"


def absolute(export: ExportFigures) -> list[Violation]:
    """Every figure of one export over its absolute bound, and a wrong ending."""
    found = _ending(export)
    for function in export.functions():
        what = f"{export.project}: {function.function}"
        peak = function.max_peak_bytes
        if peak is not None and peak > PEAK_LIMIT_BYTES:
            overlapped = f" ({function.overlapped} overlapped)" if function.overlapped else ""
            found.append(
                Violation(
                    f"{what} peak memory", f"{_mib(peak)} over {_mib(PEAK_LIMIT_BYTES)}{overlapped}"
                )
            )
        if function.max_duration_s > function.timeout_s:
            found.append(
                Violation(
                    f"{what} duration",
                    f"{function.max_duration_s:,.1f} s over its timeout {function.timeout_s} s",
                )
            )
        sizes = {"event": function.max_input_bytes, "result": function.max_output_bytes}
        found += _over_state_limit(what, sizes)
    for state in export.states:
        sizes = {"input": state.max_input_bytes, "output": state.max_output_bytes}
        found += _over_state_limit(f"{export.project}: state {state.state}", sizes)
    return found


def _over_state_limit(what: str, sizes: dict[str, int]) -> list[Violation]:
    return [
        Violation(f"{what} {side}", f"{_kib(size)} over {_kib(STATE_LIMIT_BYTES)}")
        for side, size in sizes.items()
        if size > STATE_LIMIT_BYTES
    ]


def _ending(export: ExportFigures) -> list[Violation]:
    found = []
    if (export.status, export.error) != EXPECTED_ENDING:
        found.append(
            Violation(
                f"{export.project}: execution",
                f"ended {export.status} ({export.error}), expected "
                f"{EXPECTED_ENDING[0]} ({EXPECTED_ENDING[1]})",
            )
        )
    if export.totals is None:
        return [*found, Violation(f"{export.project}: report", "no report step finished")]
    wrong = [
        f"{name} {export.totals.get(name)} (expected {export.expected_totals[name]})"
        for name in TOTALS_CHECKED
        if export.totals.get(name) != export.expected_totals[name]
    ]
    if wrong:
        found.append(Violation(f"{export.project}: report totals", ", ".join(wrong)))
    return found


def growth(smaller: ExportFigures, larger: ExportFigures) -> list[Violation]:
    """Every per-step figure of ``larger`` past ``smaller``'s by more than its tolerance."""
    pair = f"{smaller.project} -> {larger.project}"
    found: list[Violation] = []
    small_functions = {f.function: f for f in smaller.functions()}
    for function in larger.functions():
        small = small_functions.get(function.function)
        if small is None:
            continue
        what = f"{pair}: {function.function}"
        peaks = _comparable_peaks(small, function)
        if peaks is not None:
            found += _grew(f"{what} max peak memory", *peaks, MEMORY_GROWTH)
        found += _grew(f"{what} max event", small.max_input_bytes, function.max_input_bytes)
        found += _grew(f"{what} max result", small.max_output_bytes, function.max_output_bytes)
    small_states = {s.state: s for s in smaller.states}
    for state in larger.states:
        before = small_states.get(state.state)
        if before is None:
            continue
        what = f"{pair}: state {state.state}"
        found += _grew(f"{what} input", before.max_input_bytes, state.max_input_bytes)
        found += _grew(f"{what} output", before.max_output_bytes, state.max_output_bytes)
    return found


def _comparable_peaks(smaller: FunctionFigure, larger: FunctionFigure) -> tuple[int, int] | None:
    """Both largest peaks, if both were measured and neither includes another invocation's."""
    if smaller.overlapped or larger.overlapped:
        return None
    if smaller.max_peak_bytes is None or larger.max_peak_bytes is None:
        return None
    return smaller.max_peak_bytes, larger.max_peak_bytes


def _grew(
    figure: str, before: int, after: int, tolerance: Tolerance = STATE_GROWTH
) -> list[Violation]:
    if tolerance.allows(before, after):
        return []
    unit, scale = ("MiB", MiB) if tolerance.slack >= MiB else ("KiB", KiB)
    return [
        Violation(
            figure,
            f"{after / scale:,.1f} {unit} against {before / scale:,.1f} {unit}: grew more than "
            f"{tolerance.share:.0%} + {tolerance.slack / scale:g} {unit}",
        )
    ]


def check(
    exports: Iterable[ExportFigures], growth_pairs: Iterable[tuple[str, str]]
) -> list[Violation]:
    """Every violation: each export's absolute bounds, then each pair's growth."""
    by_name = {export.project: export for export in exports}
    found = [violation for export in by_name.values() for violation in absolute(export)]
    for smaller, larger in growth_pairs:
        if smaller in by_name and larger in by_name:
            found += growth(by_name[smaller], by_name[larger])
    return found


def _mib(size: float) -> str:
    return f"{size / MiB:,.1f} MiB"


def _kib(size: float) -> str:
    return f"{size / KiB:,.1f} KiB"
