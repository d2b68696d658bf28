"""``make bench``'s figures as ``docs/figures/bench.md``: one section per part of the run.

Reads the figures as ``python -m playment_bench --json`` records them; a part the run did not
measure is left out, and the performance page includes only what a full run writes. A full
run also rewrites the README's ``bench`` block: the local command's targets and verdicts.
"""

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from playment_bench.doc_figures.markdown import (
    FIGURES,
    README,
    number,
    replace_block,
    snippet,
    table,
    write,
    written_by,
)
from playment_bench.throughput import LATENCY_S

BENCH_SNIPPET = FIGURES / "bench.md"
REQUESTS_PER_JOB = 3  # job, attachment, download
MB = 1_000_000
KiB = 1024
MiB = 1024 * KiB


def bench_markdown(figures: Mapping[str, Any], date: datetime.date, origin: str) -> str:
    writers = {  # the run's key: the page's section, its writer
        "requests": ("requests", _requests),
        "local_command": ("local-command", _local_command),
        "container": ("container", _container),
        "throughput": ("throughput", _throughput),
        "cost": ("cost", _cost),
        "imports_ms": ("imports", _imports),
    }
    sections = [
        (section, write_section(figures[key]))
        for key, (section, write_section) in writers.items()
        if key in figures
    ]
    return snippet("Figures of `make bench`", date, origin, sections)


def bench_readme_block(figures: Mapping[str, Any], date: datetime.date, command: str) -> str:
    """The local command's targets, one row per recorded verdict, and when and what ran."""
    local = figures["local_command"]
    rows = []
    for name, met in local["verdicts"].items():
        measured, _, target = local["verdict_texts"][name].partition(", target ")
        rows.append((name, measured, target, "met" if met else "**missed**"))
    source = f"*`playment-export run`, {date.isoformat()}: {written_by(command)}.*"
    return source + "\n\n" + table(("figure", "measured", "target", "verdict"), rows)


def write_bench(
    figures: Mapping[str, Any], command: str, path: Path = BENCH_SNIPPET, readme: Path = README
) -> Path:
    """The snippet, then the README's block (which fails loudly if its markers are not there)."""
    today = datetime.date.today()
    written = write(path, bench_markdown(figures, today, written_by(command)))
    replace_block(readme, "bench", bench_readme_block(figures, today, command))
    return written


def _requests(figures: Mapping[str, Any]) -> str:
    playment, aws, exported = figures["playment"], figures["aws"], figures["exported"]
    fetched = sum(playment.get(kind, 0) for kind in ("job", "attachment", "storage"))
    rows: list[tuple[str, str]] = [
        (
            "Playment requests per exported job",
            f"{fetched / exported:.2f} (job, attachment, download) + {playment.get('list', 0)} "
            f"listing requests for {figures['jobs']:,} jobs",
        )
    ]
    rows += [
        (f"`{operation}` per job", f"{count / exported:.3f} ({count:,})")
        for operation, count in aws.items()
    ]
    rerun = figures["rerun_playment"]
    rows.append(
        (
            "incremental re-run of the same batch",
            f"{sum(rerun.values())} Playment requests ({_counts(rerun)}), "
            f"{rerun.get('storage', 0)} downloads",
        )
    )
    return table(("what", "measured"), rows)


def _local_command(figures: Mapping[str, Any]) -> str:
    memory_rows = []
    for memory in figures["memory"]:
        first, rerun = memory["first"], memory["rerun"]
        memory_rows.append(
            (
                memory["label"],
                f"{first['peak_rss_bytes'] / MB:.0f} MB",
                f"{first['seconds']:.1f} s",
                _seconds(first["cpu_s"], 1),
            )
        )
        if rerun is not None:
            share = rerun["seconds"] / first["seconds"]
            memory_rows.append(
                (
                    f"re-run of {memory['label']} into the same `--out`",
                    f"{rerun['peak_rss_bytes'] / MB:.0f} MB",
                    f"{rerun['seconds']:.1f} s ({share:.0%} of the first run)",
                    _seconds(rerun["cpu_s"], 1),
                )
            )
    speed_rows = []
    for speed in figures["speed"]:
        reference = f"{speed['reference_s']:.1f} s" + (
            " (extrapolated)" if speed["reference_extrapolated"] else " (measured)"
        )
        speed_rows.append(
            (
                f"{speed['jobs']:,}",
                f"{speed['run_s']:.2f} s",
                _seconds(speed["startup_s"]),
                reference,
                f"**{speed['speedup']:.1f}x**",
                _seconds(speed["concurrent_s"]),
                _seconds(speed["same_in_flight_s"]),
                f"{speed['bound']:.0%}",
            )
        )
    verdicts = [(name, "met" if met else "**missed**") for name, met in figures["verdicts"].items()]
    return "\n\n".join(
        [
            table(("run", "peak memory", "time", "CPU"), memory_rows),
            table(
                (
                    "small jobs",
                    "`run`",
                    "start-up",
                    "the reference's way",
                    "speed-up",
                    "the script made concurrent",
                    "`run` at 32 in flight",
                    "of the latency bound",
                ),
                speed_rows,
            ),
            table(("target", "verdict"), verdicts),
        ]
    )


def _container(figures: Mapping[str, Any]) -> str:
    speed_rows = []
    for speed in figures["speed"]:
        limit = speed["workers"] / (REQUESTS_PER_JOB * LATENCY_S)
        speed_rows.append(
            (
                speed["workers"],
                number(speed["jobs_per_s"]),
                number(limit),
                f"{speed['jobs_per_s'] / limit:.0%}",
            )
        )
    smallest = figures["memory"][0]["peak_mib"] if figures["memory"] else 0.0
    memory_rows = [
        (
            _size(memory["body_bytes"]),
            f"{memory['peak_mib']:.1f} MiB",
            f"{memory['peak_mib'] - smallest:+.1f} MiB",
            _mib(memory["growth_mib"]),
        )
        for memory in figures["memory"]
    ]
    return "\n\n".join(
        [
            table(("page workers", "jobs/s", "limit", "of limit"), speed_rows),
            table(("one result of", "peak", "over the first", "growth over warm-up"), memory_rows),
        ]
    )


def _throughput(figures: Mapping[str, Any]) -> str:
    baseline = figures["baseline"]
    rows = []
    for run in figures["sweep"]:
        in_flight = run["max_concurrency"] * run["page_workers"]
        limit = in_flight / (REQUESTS_PER_JOB * LATENCY_S)
        rows.append(
            (
                run["max_concurrency"],
                run["page_workers"],
                f"{run['pages']} x {run['page_size']}",
                in_flight,
                number(run["jobs_per_s"]),
                number(limit),
                f"{run['jobs_per_s'] / limit:.0%}",
                f"{run['jobs_per_s'] / baseline:.1f}x",
            )
        )
    return (
        table(
            (
                "Map concurrency",
                "workers",
                "pages",
                "in flight",
                "jobs/s",
                "limit",
                "of limit",
                "vs sequential",
            ),
            rows,
        )
        + f"\n\nThe reference script's way (one job at a time): {baseline:.1f} jobs/s."
    )


def _cost(figures: Mapping[str, Any]) -> str:
    rows = [
        (line["service"], line["item"], line["quantity"], f"${line['dollars']:,.3f}")
        for line in figures["lines"]
    ]
    rows.append(("**total**", "", "", f"**${figures['per_million_jobs']:,.2f}**"))
    return table(("service", "item", "per 1M jobs", "cost"), rows)


def _imports(figures: Mapping[str, float]) -> str:
    rows = [(f"`{name}`", f"{ms:,.0f} ms") for name, ms in sorted(figures.items())]
    return table(("handler module", "import time (cumulative)"), rows)


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items()) or "none"


def _seconds(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f} s"


def _mib(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} MiB"


def _size(size: int) -> str:
    return f"{size / MiB:,.0f} MiB" if size >= MiB else f"{size / KiB:,.0f} KiB"
