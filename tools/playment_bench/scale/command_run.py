"""``playment-export run`` as a user runs it, over one batch of 600,000 and of 1,200,000 jobs.

Each run is the venv's console script in a process of its own, its environment scrubbed to
``PATH``, an empty ``HOME`` and ``PLAYMENT_API_KEY`` (no ``AWS_*``), its own defaults, a fresh
``--out``; the simulator serves the batch from another process. Peak memory is the kernel's
high-water mark of the command's resident set (``VmHWM`` in ``/proc/<pid>/status``), read
every 0.1 s while it runs: a high-water mark misses nothing before the last read, only what
the final 0.1 s might add. (``ru_maxrss`` from ``wait4`` would not do: Linux keeps the
largest resident set of the process image an ``exec`` replaces, here the launching harness's,
gigabytes after the exports above.) 0.2% of the jobs are completed: the rest must each be
named by the report, ``report.json`` or a file beside it or that it names, which are scanned
as bytes for every job ID (whatever their layout) without being loaded.
"""

import itertools
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from playment_bench.scale.bounds import Violation
from playment_bench.simulator_process import SimulatorProcess
from playment_simulator import SimBatch, SimProject
from playment_simulator.jobs import GeneratedJobs

COMMAND = Path(sys.executable).parent / "playment-export"  # the venv's console script
API_KEY = "scale-command-key"
PROJECT = "scale-command"
COMPLETED_EVERY = 500  # 0.2% completed
RUN_JOBS = (600_000, 1_200_000)
PEAK_LIMIT_MB = 400
FLAT_MB = 50  # the larger run's peak over the smaller's
RUN_TIMEOUT_S = 3600.0
PEAK_EVERY_S = 0.1
MB = 1_000_000
READ_BYTES = 1 << 20
NOT_THE_REPORT = frozenset({"engine.log"})  # beside the report, but the engine's log
FILE_NAME = re.compile(rb'"(?:s3://[^/"]+/)?([^"\s\\]+\.(?:jsonl?|csv|txt))"')


@dataclass(frozen=True)
class CommandFigure:
    batch_id: str
    jobs: int
    completed: int
    exit_code: int
    seconds: float
    peak_rss_bytes: int
    results: int  # result files in OUT/<batch>/
    named_not_completed: int  # not-completed jobs the report's files name
    report_files: tuple[tuple[str, int], ...]  # (path in the execution's folder, bytes)
    output_tail: str

    @property
    def not_completed(self) -> int:
        return self.jobs - self.completed

    @property
    def peak_mb(self) -> float:
        return self.peak_rss_bytes / MB


def command_batches(jobs: tuple[int, ...] = RUN_JOBS) -> tuple[GeneratedJobs, ...]:
    return tuple(GeneratedJobs(f"run-{count}", count, COMPLETED_EVERY) for count in jobs)


def measure_command(jobs: tuple[int, ...] = RUN_JOBS) -> list[CommandFigure]:
    """``run`` over each batch, one after the other."""
    batches = command_batches(jobs)
    project = SimProject(PROJECT, tuple(SimBatch(batch.batch_id, batch) for batch in batches))
    with SimulatorProcess({}, api_key=API_KEY, projects=[project]) as simulator:
        return [_run(simulator.api_url, batch) for batch in batches]


def _run(api_url: str, batch: GeneratedJobs) -> CommandFigure:
    with tempfile.TemporaryDirectory(prefix="scale-run-") as folder:
        home, out = Path(folder) / "home", Path(folder) / "out"
        home.mkdir()
        command = [
            str(COMMAND), "run", "--api-url", api_url, "--project-id", PROJECT,
            "--batch-id", batch.batch_id, "--out", str(out),
        ]  # fmt: skip
        environment = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(home),
                       "PLAYMENT_API_KEY": API_KEY}  # fmt: skip
        with tempfile.TemporaryFile() as output:
            started = time.monotonic()
            process = subprocess.Popen(  # noqa: S603 - the venv's own console script
                command, env=environment, cwd=home, stdout=output, stderr=subprocess.STDOUT
            )
            peak = _wait_watching_peak(process)
            seconds = time.monotonic() - started
            output.seek(0)
            tail = output.read().decode(errors="replace")[-2000:]
        results = sum(1 for _ in (out / batch.batch_id).glob("*.json"))
        files = _report_files(out)
        named = _named_not_completed(batch, [path for path, _ in files])
        return CommandFigure(
            batch_id=batch.batch_id,
            jobs=len(batch),
            completed=sum(1 for _ in batch.completed()),
            exit_code=process.returncode,
            seconds=seconds,
            peak_rss_bytes=peak,
            results=results,
            named_not_completed=named,
            report_files=tuple((_shown(path, out), size) for path, size in files),
            output_tail=tail,
        )


def _wait_watching_peak(process: subprocess.Popen[bytes]) -> int:
    """Wait for the process (killed past ``RUN_TIMEOUT_S``); the largest ``VmHWM`` read."""
    status = Path(f"/proc/{process.pid}/status")
    deadline = time.monotonic() + RUN_TIMEOUT_S
    peak = 0
    while True:
        peak = max(peak, _high_water_mark(status))
        try:
            process.wait(timeout=PEAK_EVERY_S)
        except subprocess.TimeoutExpired:
            if time.monotonic() > deadline:
                process.kill()
            continue
        return peak


def _high_water_mark(status: Path) -> int:
    """``VmHWM`` in bytes; 0 once the process is gone (or a zombie, which has none)."""
    try:
        lines = status.read_text().splitlines()
    except OSError:
        return 0
    for line in lines:
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024  # kB
    return 0


def _report_files(out: Path) -> list[tuple[Path, int]]:
    """``report.json``, the files beside it (not the engine's log), and any file it names."""
    reports = sorted((out / "_exports").glob("*/report.json"))
    if not reports:
        return []
    report = reports[-1]
    found = {report} | {
        path
        for path in report.parent.iterdir()
        if path.is_file() and path.name not in NOT_THE_REPORT
    }
    for name in _names_in(report):  # a name or a pattern (report/skipped/*.jsonl)
        for folder in (out, report.parent):
            found.update(path for path in folder.glob(name) if path.is_file())
    return [(path, path.stat().st_size) for path in sorted(found)]


def _shown(path: Path, out: Path) -> str:
    """The file's path under its execution's folder, or under OUT if it is elsewhere."""
    relative = path.relative_to(out)
    parts = relative.parts
    return str(Path(*parts[2:])) if parts[0] == "_exports" and len(parts) > 2 else str(relative)


def _names_in(path: Path) -> set[str]:
    """Strings in the file that look like the name of a JSON, JSONL, CSV or text file."""
    return {match.decode() for chunk in _chunks(path, 512) for match in FILE_NAME.findall(chunk)}


def _named_not_completed(batch: GeneratedJobs, files: list[Path]) -> int:
    """How many of the batch's not-completed jobs the files name, each counted once."""
    pattern = re.compile(re.escape(batch.batch_id.encode()) + rb"-(\d{7})")
    named = bytearray(len(batch))
    for path in files:
        for chunk in _chunks(path, len(batch.batch_id) + 8):
            for match in pattern.finditer(chunk):
                index = int(match.group(1))
                if index < len(batch):
                    named[index] = 1
    every = batch.completed_every
    return sum(1 for index, seen in enumerate(named) if seen and index % every)


def _chunks(path: Path, overlap: int) -> Iterator[bytes]:
    """The file's bytes in chunks, each starting ``overlap`` bytes before the last one ended,
    so that nothing shorter than ``overlap`` is cut in two (and found twice at worst)."""
    with path.open("rb") as stream:
        tail = b""
        while block := stream.read(READ_BYTES):
            yield tail + block
            tail = block[-overlap:]


def violations(figures: list[CommandFigure]) -> list[Violation]:
    found = []
    for figure in figures:
        what = f"run {figure.jobs:,} jobs"
        if figure.exit_code != 0:
            found.append(
                Violation(f"{what}: exit", f"{figure.exit_code}: {figure.output_tail[-400:]}")
            )
        if figure.results != figure.completed:
            found.append(
                Violation(
                    f"{what}: results", f"{figure.results:,} files, expected {figure.completed:,}"
                )
            )
        if figure.named_not_completed != figure.not_completed:
            found.append(
                Violation(
                    f"{what}: report",
                    f"names {figure.named_not_completed:,} of the {figure.not_completed:,} "
                    "jobs not completed",
                )
            )
        if figure.peak_mb >= PEAK_LIMIT_MB:
            found.append(
                Violation(
                    f"{what}: peak memory",
                    f"{figure.peak_mb:,.0f} MB, not under {PEAK_LIMIT_MB} MB",
                )
            )
    for smaller, larger in itertools.pairwise(figures):
        grew = larger.peak_mb - smaller.peak_mb
        if grew > FLAT_MB:
            found.append(
                Violation(
                    f"run {larger.jobs:,} jobs: peak memory over run {smaller.jobs:,} jobs",
                    f"+{grew:,.0f} MB, more than {FLAT_MB} MB",
                )
            )
    return found


def format_command(figures: list[CommandFigure]) -> str:
    lines = [
        "playment-export run as a user runs it (own process, scrubbed environment, its "
        f"defaults), one batch, {100 / COMPLETED_EVERY:.1f}% completed; peak = the process's "
        "high-water RSS, VmHWM (MB = 10^6 bytes)",
        f"  {'jobs':>10} {'exit':>4} {'time s':>7} {'peak MB':>8} {'results':>8} "
        f"{'not completed named':>22}  report files",
    ]
    for figure in figures:
        named = f"{figure.named_not_completed:,} of {figure.not_completed:,}"
        report = ", ".join(f"{name} ({size / MB:,.1f} MB)" for name, size in figure.report_files)
        lines.append(
            f"  {figure.jobs:>10,} {figure.exit_code:>4} {figure.seconds:>7.0f} "
            f"{figure.peak_mb:>8.0f} {figure.results:>8,} {named:>22}  {report or 'none'}"
        )
    return "\n".join(lines)
