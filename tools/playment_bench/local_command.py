"""The local command as a newcomer meets it: ``playment-export run``, launched as a user runs it.

Each run is the venv's ``playment-export run`` in a process of its own, with nothing but
``PATH``, ``HOME`` (an empty temporary folder) and ``PLAYMENT_API_KEY`` in its environment (no
``AWS_*`` variable), the command's own defaults, and a fresh ``--out`` unless it is a re-run.
The simulator runs in another process (``SimulatorProcess``). While a memory scenario runs,
the command's RSS and its children's is sampled with psutil every ~20 ms (the peak is the
largest sum seen; the speed runs are not sampled, see ``run_command``), and while any run
starts, the simulator's request counters are polled every ~10 ms until the first Playment request
shows: that is the start-up time (the simulator counts a request after its latency pause, so
it includes one 40 ms pause). Times are wall-clock, from launching the process to its exit.

Two references run in this process against the same simulator: the reference script's way
(list the batch, then one job at a time: job, attachment, download, save), and the same
script made concurrent the obvious way (``concurrent_script``: 32 threads, keep-alive,
streamed to files) at 2,000 jobs. The command's speed is also held to the latency bound at
its own requests in flight: ``in_flight / (3 x latency)`` jobs a second. Each speed figure is
the median of ``--runs`` runs (the reference's, ~50 s, is one), the compared sides taking
turns. Figures are printed with their targets' verdicts; nothing is asserted.
"""

import contextlib
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import requests

from playment_bench.concurrent_script import THREADS, ConcurrentScript
from playment_bench.measure import RUNS
from playment_bench.simulator_process import PROJECT, SimulatorProcess
from playment_bench.throughput import reference_fetch, reference_listing, reference_save

LATENCY_S = 0.040
API_KEY = "bench-local-command-key"
COMMAND = Path(sys.executable).parent / "playment-export"  # the venv's console script
RSS_EVERY_S = 0.020
REQUESTS_EVERY_S = 0.010
RUN_TIMEOUT_S = 900.0
KiB = 1024
MiB = 1024 * KiB
MB = 1_000_000

# (label, jobs, body bytes): one run each, they are the slow ones.
MEMORY_SCENARIOS = (
    ("2,000 x 256 KB", 2_000, 256 * KiB),
    ("2,000 x 1 MB", 2_000, MiB),
    ("1 x 300 MB", 1, 300 * MiB),
)
RERUN_SCENARIO = MEMORY_SCENARIOS[0][0]  # first run, then an incremental re-run into its --out
SPEED_JOBS = (400, 2_000)
REFERENCE_JOBS = 400  # measured; the 2,000-job figure is extrapolated from it, per job

TARGET_PEAK_MB = 300
TARGET_FLAT_MB = 50  # the 2 GB export's peak over the 500 MB export's
TARGET_RERUN_SHARE = 0.10
TARGET_STARTUP_S = 0.5
TARGET_SPEEDUP = {400: 20.0}  # over the reference script's way
CONCURRENT_JOBS = 2_000
TARGET_OVER_CONCURRENT = 1.5  # over the script made concurrent, each at its defaults
TARGET_BOUND_SHARE = 0.90  # of the latency bound, at the command's own requests in flight
SAME_IN_FLIGHT = ("--max-concurrency", "8", "--page-workers", "4")  # 32, as the script's pool
IN_FLIGHT = 8 * 4


@dataclass(frozen=True)
class RunFigure:
    """One ``playment-export run``, launch to exit."""

    seconds: float
    first_request_s: float | None
    peak_rss_bytes: int
    cpu_s: float  # user + system, the command's process (RUSAGE_CHILDREN over the run)
    results: int  # result files in OUT/<batch>/ after the run
    requests: dict[str, int] = field(default_factory=dict)  # what the simulator saw

    @property
    def peak_mb(self) -> float:
        return self.peak_rss_bytes / MB


@dataclass(frozen=True)
class MemoryFigure:
    label: str
    jobs: int
    body_bytes: int
    first: RunFigure
    rerun: RunFigure | None


@dataclass(frozen=True)
class SpeedFigure:
    jobs: int
    runs: int
    run_s: float  # median wall time of `run`, start-up included
    startup_s: float | None  # median launch-to-first-request
    reference_s: float
    reference_extrapolated: bool
    concurrent_s: float | None = None  # the script made concurrent, same batch, measured
    same_in_flight_s: float | None = None  # `run` at the script's 32 requests in flight

    @property
    def speedup(self) -> float:
        return self.reference_s / self.run_s

    @property
    def bound_s(self) -> float:
        """The latency bound's time: jobs / (in flight / (3 x latency))."""
        return self.jobs * 3 * LATENCY_S / IN_FLIGHT

    @property
    def bound_share(self) -> float:
        """Of the bound at ``IN_FLIGHT``, measured by the run at that many in flight."""
        return self.bound_s / (self.same_in_flight_s or self.run_s)


@dataclass(frozen=True)
class ReferenceFigure:
    jobs: int
    listing_s: float
    fetch_s: float  # job, attachment, download and save, for every job, one after the other
    listings_s: dict[int, float]  # the other batches' listings alone, measured: jobs -> s

    @property
    def per_job_s(self) -> float:
        return self.fetch_s / self.jobs

    def estimate(self, jobs: int) -> float:
        """Its time for ``jobs`` jobs: as measured, or for another batch its listing as
        measured plus ``jobs`` times the measured time per job."""
        if jobs == self.jobs:
            return self.listing_s + self.fetch_s
        return self.listings_s[jobs] + self.per_job_s * jobs


@dataclass(frozen=True)
class LocalCommandFigures:
    memory: list[MemoryFigure]
    speed: list[SpeedFigure]
    reference: ReferenceFigure
    startup_samples_s: list[float]

    def as_json(self) -> dict[str, Any]:
        return {
            "memory": [asdict(figure) for figure in self.memory],
            "speed": [
                asdict(figure)
                | {
                    "speedup": figure.speedup,
                    "bound_s": figure.bound_s,
                    "bound": figure.bound_share,
                }
                for figure in self.speed
            ],
            "reference": asdict(self.reference) | {"per_job_s": self.reference.per_job_s},
            "startup_samples_s": self.startup_samples_s,
            "verdicts": {name: met for name, _, met in verdicts(self)},
            "verdict_texts": {name: text for name, text, _ in verdicts(self)},
        }


# ------------------------------------------------------------------ one run of the command


def _environment(home: Path) -> dict[str, str]:
    """What a newcomer's shell gives the command: a PATH, a HOME, the key; no AWS_*."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "PLAYMENT_API_KEY": API_KEY,
    }


def _tree_rss(process: Any) -> int:
    """RSS of the process and all its children now, in bytes (0 once it is gone)."""
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for member in members:
        with contextlib.suppress(psutil.Error):
            total += member.memory_info().rss
    return int(total)


def _requests_seen(simulator: SimulatorProcess) -> int:
    return sum(simulator.stats()["requests"].values())


def run_command(
    simulator: SimulatorProcess,
    batch_id: str,
    out: Path,
    home: Path,
    *options: str,
    watch_memory: bool = True,
) -> RunFigure:
    """Launch ``playment-export run`` for one batch into ``out``; watch it until it exits.

    Its memory is sampled only with ``watch_memory``: the speed runs are not, because on 2
    cores psutil's walk of ``/proc`` every 20 ms took about 2% of their time (A/B, 2,000 jobs
    at 32 in flight: 8.93 s sampled, 8.76 s not), and their peaks are not figures. Once the
    first request is seen, such a run is waited for in one blocking ``wait``: its end is seen
    at once, not at the next poll."""
    simulator.reset()
    command = [
        str(COMMAND), "run", "--api-url", simulator.api_url, "--project-id", PROJECT,
        "--batch-id", batch_id, "--out", str(out), *options,
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryFile() as output:
        started = time.monotonic()
        process = subprocess.Popen(  # noqa: S603 - the venv's own console script
            command, env=_environment(home), cwd=home, stdout=output, stderr=subprocess.STDOUT
        )
        timeout = threading.Timer(RUN_TIMEOUT_S, process.kill)
        timeout.start()
        try:
            watched = psutil.Process(process.pid)
            peak, first_request, next_rss = 0, None, started
            while True:
                now = time.monotonic()
                if watch_memory and now >= next_rss:
                    peak = max(peak, _tree_rss(watched))
                    next_rss = now + RSS_EVERY_S
                if first_request is None and _requests_seen(simulator) > 0:
                    first_request = time.monotonic() - started
                if first_request is not None and not watch_memory:
                    process.wait()
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=REQUESTS_EVERY_S if first_request is None else RSS_EVERY_S)
                    break
            seconds = time.monotonic() - started
        finally:
            timeout.cancel()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if process.returncode != 0:
            output.seek(0)
            tail = output.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"playment-export run exited {process.returncode}:\n{tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    stats = simulator.stats()["requests"]
    results = sum(1 for _ in (out / batch_id).glob("*.json")) if (out / batch_id).is_dir() else 0
    return RunFigure(seconds, first_request, peak, cpu, results, dict(sorted(stats.items())))


@contextlib.contextmanager
def _folders() -> Iterator[tuple[Path, Path]]:
    """A fresh HOME and a fresh --out."""
    with tempfile.TemporaryDirectory(prefix="bench-run-") as folder:
        home, out = Path(folder) / "home", Path(folder) / "out"
        home.mkdir()
        yield home, out


def _check(figure: RunFigure, expected: int, what: str) -> RunFigure:
    if figure.results != expected:
        raise RuntimeError(f"{what}: {figure.results} result files, expected {expected}")
    return figure


# ------------------------------------------------------------------ the scenarios


def measure_memory() -> list[MemoryFigure]:
    """One run per scenario (a 2 GB export takes minutes); the first one also re-run."""
    figures = []
    for label, jobs, size in MEMORY_SCENARIOS:
        large = {f"big-{n:05d}": size for n in range(jobs)}
        with (
            SimulatorProcess({}, api_key=API_KEY, latency=LATENCY_S, large=large) as simulator,
            _folders() as (home, out),
        ):
            first = _check(run_command(simulator, "big", out, home), jobs, label)
            rerun = None
            if label == RERUN_SCENARIO:
                rerun = _check(run_command(simulator, "big", out, home), jobs, f"{label} re-run")
        figures.append(MemoryFigure(label, jobs, size, first, rerun))
    return figures


def _reference(simulator: SimulatorProcess) -> ReferenceFigure:
    """The reference script's way on the 400-job batch, once (about 50 s at 40 ms a request)."""
    session = requests.Session()
    with tempfile.TemporaryDirectory(prefix="bench-reference-") as folder:
        started = time.monotonic()
        job_ids = reference_listing(session, simulator, f"s{REFERENCE_JOBS}")
        listed = time.monotonic()
        for job_id in job_ids:
            reference_save(Path(folder), job_id, reference_fetch(session, simulator, job_id))
        fetched = time.monotonic()
    listings = {}
    for jobs in SPEED_JOBS:
        if jobs != REFERENCE_JOBS:
            listing_started = time.monotonic()
            reference_listing(session, simulator, f"s{jobs}")
            listings[jobs] = time.monotonic() - listing_started
    return ReferenceFigure(len(job_ids), listed - started, fetched - listed, listings)


def _concurrent(simulator: SimulatorProcess, jobs: int) -> float:
    """The script made concurrent the obvious way, at its defaults, on the same batch."""
    script = ConcurrentScript(simulator.api_url, simulator.api_key)
    with tempfile.TemporaryDirectory(prefix="bench-concurrent-") as folder:
        started = time.monotonic()
        listed = script.export(PROJECT, f"s{jobs}", Path(folder))
        seconds = time.monotonic() - started
        if listed != jobs or len(list(Path(folder, f"s{jobs}").glob("*.json"))) != jobs:
            raise RuntimeError(f"the concurrent script exported the wrong jobs of s{jobs}")
    return seconds


def measure_speed(runs: int = RUNS) -> tuple[list[SpeedFigure], ReferenceFigure, list[float]]:
    """``run`` on 400 and 2,000 small jobs, at its defaults and at the script's requests in
    flight, and the script made concurrent: each the median of ``runs``; the reference once."""
    batches = {f"s{jobs}": jobs for jobs in SPEED_JOBS}
    with SimulatorProcess(batches, api_key=API_KEY, latency=LATENCY_S) as simulator:
        samples: dict[int, list[RunFigure]] = {}
        for jobs in SPEED_JOBS:
            samples[jobs] = []
            for _ in range(runs):
                with _folders() as (home, out):
                    figure = run_command(simulator, f"s{jobs}", out, home, watch_memory=False)
                samples[jobs].append(_check(figure, jobs, f"{jobs} jobs"))
        # The two sides of each comparison alternate, each the median of ``runs``: a moment of
        # load on the machine falls on both, not on one.
        same_runs, concurrent_runs = [], []
        for _ in range(runs):
            with _folders() as (home, out):
                batch = f"s{CONCURRENT_JOBS}"
                same = run_command(simulator, batch, out, home, *SAME_IN_FLIGHT, watch_memory=False)
                _check(same, CONCURRENT_JOBS, f"{CONCURRENT_JOBS} jobs at {IN_FLIGHT} in flight")
            same_runs.append(same.seconds)
            concurrent_runs.append(_concurrent(simulator, CONCURRENT_JOBS))
        reference = _reference(simulator)
        concurrent = statistics.median(concurrent_runs)
    figures = []
    for jobs, figures_of in samples.items():
        firsts = [f.first_request_s for f in figures_of if f.first_request_s is not None]
        figures.append(
            SpeedFigure(
                jobs,
                len(figures_of),
                statistics.median(f.seconds for f in figures_of),
                statistics.median(firsts) if firsts else None,
                reference.estimate(jobs),
                reference_extrapolated=jobs != reference.jobs,
                concurrent_s=concurrent if jobs == CONCURRENT_JOBS else None,
                same_in_flight_s=statistics.median(same_runs) if jobs == CONCURRENT_JOBS else None,
            )
        )
    startups = [f.first_request_s for f in samples[SPEED_JOBS[0]] if f.first_request_s is not None]
    return figures, reference, startups


def measure(runs: int = RUNS) -> LocalCommandFigures:
    speed, reference, startups = measure_speed(runs)
    return LocalCommandFigures(measure_memory(), speed, reference, startups)


# ------------------------------------------------------------------ verdicts and printing


def verdicts(figures: LocalCommandFigures) -> list[tuple[str, str, bool]]:
    """(name, what was measured against what target, met) for every target of the issue."""
    checks: list[tuple[str, str, bool]] = []
    for memory in figures.memory:
        checks.append(
            (
                f"peak {memory.label}",
                f"peak {memory.first.peak_mb:.0f} MB, target under {TARGET_PEAK_MB} MB",
                memory.first.peak_mb < TARGET_PEAK_MB,
            )
        )
    by_label = {memory.label: memory for memory in figures.memory}
    small, large = by_label[MEMORY_SCENARIOS[0][0]], by_label[MEMORY_SCENARIOS[1][0]]
    growth = large.first.peak_mb - small.first.peak_mb
    checks.append(
        (
            "flat memory",
            f"{large.label} peak {growth:+.0f} MB over {small.label}, target within "
            f"{TARGET_FLAT_MB} MB",
            growth <= TARGET_FLAT_MB,
        )
    )
    if small.rerun is not None:
        share = small.rerun.seconds / small.first.seconds
        checks.append(
            (
                "re-run time",
                f"re-run {small.rerun.seconds:.1f} s = {share:.0%} of the first run's "
                f"{small.first.seconds:.1f} s, target under {TARGET_RERUN_SHARE:.0%}",
                share < TARGET_RERUN_SHARE,
            )
        )
        checks.append(
            (
                "re-run memory",
                f"re-run peak {small.rerun.peak_mb:.0f} MB, target under {TARGET_PEAK_MB} MB",
                small.rerun.peak_mb < TARGET_PEAK_MB,
            )
        )
    startup = statistics.median(figures.startup_samples_s) if figures.startup_samples_s else None
    checks.append(
        (
            "start-up",
            f"first request after {_seconds(startup)}, target under {TARGET_STARTUP_S} s",
            startup is not None and startup < TARGET_STARTUP_S,
        )
    )
    for speed in figures.speed:
        target = TARGET_SPEEDUP.get(speed.jobs)
        if target is not None:
            checks.append(
                (
                    f"speed {speed.jobs}",
                    f"{speed.speedup:.1f}x the reference's way, target at least {target:.0f}x",
                    speed.speedup >= target,
                )
            )
        if speed.concurrent_s is not None:
            over = speed.concurrent_s / speed.run_s
            checks.append(
                (
                    f"speed {speed.jobs} vs concurrent script",
                    f"{over:.2f}x the script made concurrent ({THREADS} threads, "
                    f"{speed.concurrent_s:.1f} s), target at least {TARGET_OVER_CONCURRENT}x",
                    over >= TARGET_OVER_CONCURRENT,
                )
            )
            checks.append(
                (
                    f"latency bound {speed.jobs}",
                    f"{speed.bound_share:.0%} of the bound at {IN_FLIGHT} in flight "
                    f"({speed.bound_s:.1f} s; `run` took {speed.same_in_flight_s or 0:.1f} s "
                    f"there), target at least {TARGET_BOUND_SHARE:.0%}",
                    speed.bound_share >= TARGET_BOUND_SHARE,
                )
            )
    return checks


def _seconds(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def _requests(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items()) or "none"


def format_local_command(figures: LocalCommandFigures) -> str:
    reference = figures.reference
    lines = [
        "Local command: `playment-export run` as a user runs it (own process, scrubbed "
        f"environment, default settings), simulator at {LATENCY_S * 1000:.0f} ms per request",
        "  Memory: peak RSS of the command and its children, sampled every 20 ms, in MB of 10^6 "
        "bytes; one run each (a 2 GB export takes minutes):",
        f"  {'export':<16} {'time s':>7} {'CPU s':>6} {'peak MB':>8}  Playment requests",
    ]
    for memory in figures.memory:
        runs = [(memory.label, memory.first)]
        if memory.rerun is not None:
            runs.append(("  re-run", memory.rerun))
        for label, run in runs:
            lines.append(
                f"  {label:<16} {run.seconds:>7.1f} {run.cpu_s:>6.1f} {run.peak_mb:>8.0f}  "
                f"{_requests(run.requests)}"
            )
    lines += [
        "  Speed: small jobs, `run` wall time from launch to exit (start-up included; median "
        "of the runs)",
        f"  {'jobs':>6} {'runs':>4} {'run s':>7} {'start-up s':>10} {'reference s':>12} "
        f"{'speed-up':>9} {'concurrent s':>12} {'bound s':>8} {'of bound':>8}",
    ]
    for speed in figures.speed:
        note = " (extrapolated)" if speed.reference_extrapolated else " (measured)"
        startup = "n/a" if speed.startup_s is None else f"{speed.startup_s:.2f}"
        concurrent = "n/a" if speed.concurrent_s is None else f"{speed.concurrent_s:.2f}"
        lines.append(
            f"  {speed.jobs:>6,} {speed.runs:>4} {speed.run_s:>7.2f} {startup:>10} "
            f"{speed.reference_s:>12.1f} {speed.speedup:>8.1f}x {concurrent:>12} "
            f"{speed.bound_s:>8.2f} {speed.bound_share:>8.0%}{note}"
        )
    lines.append(
        f"  reference's way (one run, in this process): {reference.jobs} jobs measured, listing "
        f"{reference.listing_s:.2f} s then {reference.per_job_s * 1000:.1f} ms a job, one after "
        "the other"
    )
    for jobs, listing_s in reference.listings_s.items():
        lines.append(
            f"  reference for {jobs:,} jobs EXTRAPOLATED, not run (it would take "
            f"~{reference.estimate(jobs):.0f} s): its listing measured ({listing_s:.2f} s) "
            f"+ {jobs:,} x the per-job time above; a job's time one at a time does not depend "
            "on the batch's size"
        )
    lines.append(
        "  start-up (launch to the first Playment request the simulator counts), runs of the "
        f"{SPEED_JOBS[0]}-job export: "
        + ", ".join(f"{sample:.2f}" for sample in figures.startup_samples_s)
        + " s"
    )
    lines.append("  Targets:")
    for name, text, met in verdicts(figures):
        lines.append(f"    {'MET   ' if met else 'MISSED'} {name}: {text}")
    return "\n".join(lines)
