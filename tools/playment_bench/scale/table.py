"""The tables ``make scale`` prints: per export, its functions and its states."""

from collections.abc import Iterable

from playment_bench.scale.bounds import Violation
from playment_bench.scale.figures import ExportFigures, KiB, MiB


def format_export(export: ExportFigures) -> str:
    ending = f"{export.status} ({export.error})" if export.error else export.status
    lines = [
        f"{export.project}: {export.description}",
        f"  ended {ending} after {export.seconds:,.0f} s; {export.history_events:,} history "
        "events; totals "
        + (", ".join(f"{k} {v:,}" for k, v in export.totals.items()) if export.totals else "none"),
        f"  {'function':<12} {'calls':>6} {'peak MiB max':>12} {'median':>7} {'max s':>7} "
        f"{'timeout s':>9} {'in KiB max':>10} {'out KiB max':>11}",
    ]
    for function in export.functions():
        flags = []
        if function.overlapped:
            flags.append(f"{function.overlapped} overlapped")
        if function.errors:
            flags.append(f"{function.errors} raised")
        lines.append(
            f"  {function.function:<12} {function.invocations:>6,} "
            f"{_mib(function.max_peak_bytes):>12} {_mib(function.median_peak_bytes):>7} "
            f"{function.max_duration_s:>7.2f} {function.timeout_s:>9} "
            f"{function.max_input_bytes / KiB:>10.1f} {function.max_output_bytes / KiB:>11.1f}"
            + (f"  ({', '.join(flags)})" if flags else "")
        )
    lines.append(f"  {'state':<18} {'entered':>7} {'in KiB max':>10} {'out KiB max':>11}")
    for state in export.states:
        lines.append(
            f"  {state.state:<18} {state.entered:>7,} {state.max_input_bytes / KiB:>10.1f} "
            f"{state.max_output_bytes / KiB:>11.1f}"
        )
    return "\n".join(lines)


def _mib(size: float | None) -> str:
    return "n/a" if size is None else f"{size / MiB:.1f}"


def format_verdict(violations: Iterable[Violation], checked: str) -> str:
    found = list(violations)
    if not found:
        return f"PASSED: {checked}"
    return "\n".join(
        [f"FAILED: {len(found)} figure(s) over their bounds ({checked})"]
        + [f"  {violation}" for violation in found]
    )
