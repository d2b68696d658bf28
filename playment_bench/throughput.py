"""Throughput of the whole workflow on the local engine, against the simulator with latency.

Each setting exports one batch on a fresh engine; the clock runs from the execution's start
to its end (the stack's creation is not counted). The limit for a setting is what three
sequential requests per job allow at that latency: ``concurrency / (3 x latency)``, with
concurrency = pages running at once x jobs at once per page. The sequential baseline does
what the documentation's reference script does, one job at a time, in the same run.
"""

import time
from dataclasses import dataclass
from urllib.parse import urljoin

import requests

from playment_bench.measure import RUNS, median, median_of
from playment_bench.simulator_process import PROJECT, SimulatorProcess
from playment_local.engine import LocalEngine

JOBS = 2_000
LATENCY_S = 0.040
PAGE_SIZE = 100
DEFAULT = (40, 8)
SWEEP = [(1, 8), (5, 4), (10, 8), DEFAULT, (20, 16)]
BASELINE_JOBS = 100


@dataclass(frozen=True)
class ThroughputFigure:
    max_concurrency: int
    page_workers: int
    jobs_per_s: float
    fetch_page_s: float  # median FetchResult duration of a page of 100 jobs
    list_s: float  # ListPages duration for the whole batch
    report_s: float  # WriteReport duration

    @property
    def concurrency(self) -> int:
        return min(self.max_concurrency, -(-JOBS // PAGE_SIZE)) * self.page_workers

    @property
    def limit(self) -> float:
        return self.concurrency / (3 * LATENCY_S)

    @property
    def ratio(self) -> float:
        return self.jobs_per_s / self.limit


def measure_setting(
    simulator: SimulatorProcess, concurrency: int, workers: int
) -> ThroughputFigure:
    parameters = {"MapMaxConcurrency": str(concurrency), "PageWorkers": str(workers)}
    with LocalEngine(
        api_url=simulator.api_url, api_key=simulator.api_key, parameters=parameters
    ) as engine:
        started = time.monotonic()
        result = engine.run({"project_id": PROJECT, "batch_id": "throughput", "overwrite": True})
        elapsed = time.monotonic() - started
        if not result.succeeded or result.report is None:
            raise RuntimeError(f"benchmark export failed: {result.error} {result.cause}")
        exported = result.report["totals"]["exported"]
        durations = engine.progress.durations
    return ThroughputFigure(
        concurrency,
        workers,
        exported / elapsed,
        median(durations.get("FetchResultFunction", [])),
        median(durations.get("ListPagesFunction", [])),
        median(durations.get("WriteReportFunction", [])),
    )


def sequential_baseline(simulator: SimulatorProcess, jobs: int = BASELINE_JOBS) -> float:
    """Jobs/s one at a time, as the reference script does: list, then job, attachment, body."""
    session = requests.Session()
    headers = {"x-api-key": simulator.api_key}
    base = simulator.api_url
    listing = session.get(
        f"{base}/projects/{PROJECT}/batch/throughput", params={"page_token": ""}, headers=headers
    ).json()["data"]["jobs"]
    started = time.monotonic()
    for job in listing[:jobs]:
        record = session.get(f"{base}/projects/{PROJECT}/jobs/{job['id']}", headers=headers).json()
        redirect = session.get(
            f"{base}/attachments",
            params={"url": record["data"]["result"]},
            headers=headers,
            allow_redirects=False,
        )
        body = session.get(urljoin(redirect.url, redirect.headers["Location"])).json()
        assert body  # the script json-loads each result, then dumps it to a file
    return jobs / (time.monotonic() - started)


def run(runs: int = RUNS) -> tuple[list[ThroughputFigure], float]:
    with SimulatorProcess(
        {"throughput": JOBS}, api_key="bench-key", latency=LATENCY_S
    ) as simulator:
        figures = [_median_setting(simulator, c, w, runs) for c, w in SWEEP]
        baseline = median([sequential_baseline(simulator) for _ in range(runs)])
    return figures, baseline


def _median_setting(
    simulator: SimulatorProcess, concurrency: int, workers: int, runs: int
) -> ThroughputFigure:
    def measure() -> ThroughputFigure:
        return measure_setting(simulator, concurrency, workers)

    return median_of(runs, measure, key=lambda figure: figure.jobs_per_s)


def format_throughput(figures: list[ThroughputFigure], baseline: float) -> str:
    lines = [
        f"Throughput: one batch of {JOBS:,} jobs, {LATENCY_S * 1000:.0f} ms per request, "
        "median of runs",
        f"{'Map conc.':>9} {'workers':>7} {'in flight':>9} {'jobs/s':>8} {'limit':>8} "
        f"{'of limit':>8} {'vs seq.':>8} {'page s':>7}",
    ]
    for figure in figures:
        marker = "  (default)" if (figure.max_concurrency, figure.page_workers) == DEFAULT else ""
        lines.append(
            f"{figure.max_concurrency:>9} {figure.page_workers:>7} {figure.concurrency:>9} "
            f"{figure.jobs_per_s:>8.1f} {figure.limit:>8.1f} {figure.ratio:>8.0%} "
            f"{figure.jobs_per_s / baseline:>7.1f}x {figure.fetch_page_s:>7.2f}{marker}"
        )
    lines.append(
        f"sequential baseline (the reference script's way, {BASELINE_JOBS} jobs): "
        f"{baseline:.1f} jobs/s; its limit {1 / (3 * LATENCY_S):.1f}"
    )
    return "\n".join(lines)
