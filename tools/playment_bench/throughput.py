"""Throughput of the whole workflow on the local engine, against the simulator with latency.

Each setting exports one batch on a fresh engine; the clock runs from the execution's start
to its end (the stack's creation is not counted). The limit for a setting is what three
sequential requests per job allow at that latency: ``concurrency / (3 x latency)``, with
concurrency = pages running at once x jobs at once per page, and the pages cut as ListPages
cuts them (``page_size_for``: a 2,000-job batch at a Map concurrency of 40 is 40 pages of 50).
The sequential baseline does what the documentation's reference script does, one job at a
time, in the same run.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

from playment_bench.measure import RUNS, median, median_of
from playment_bench.simulator_process import PROJECT, SimulatorProcess
from playment_exporter.defaults import MAP_MAX_CONCURRENCY, PAGE_WORKERS
from playment_exporter.list_pages import page_size_for
from playment_local.engine import LocalEngine

JOBS = 2_000
LATENCY_S = 0.040
DEFAULT = (MAP_MAX_CONCURRENCY, PAGE_WORKERS)  # the deployed stack's defaults
# Pages of 100 for 2,000 jobs, but 40 pages of 50 at the default concurrency (page_size_for): it
# already has 320 jobs in flight, as many as 20 pages of 16 would.
SWEEP = [(1, 8), (5, 4), (10, 8), DEFAULT]
BASELINE_JOBS = 100


@dataclass(frozen=True)
class ThroughputFigure:
    max_concurrency: int
    page_workers: int
    jobs_per_s: float
    fetch_page_s: float  # median FetchResult duration of a page (of page_size jobs)
    list_s: float  # ListPages duration for the whole batch
    report_s: float  # WriteReport duration

    @property
    def page_size(self) -> int:
        return page_size_for(JOBS, self.max_concurrency)

    @property
    def pages(self) -> int:
        return -(-JOBS // self.page_size)

    @property
    def concurrency(self) -> int:
        return min(self.max_concurrency, self.pages) * self.page_workers

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


def reference_listing(
    session: requests.Session, simulator: SimulatorProcess, batch: str
) -> list[str]:
    """The batch's job IDs, page after page, as the reference script lists them."""
    job_ids: list[str] = []
    token = ""
    while True:
        data = session.get(
            f"{simulator.api_url}/projects/{PROJECT}/batch/{batch}",
            params={"page_token": token},
            headers={"x-api-key": simulator.api_key},
        ).json()["data"]
        job_ids.extend(job["id"] for job in data["jobs"])
        token = data.get("next_page_token") or ""
        if not data["jobs"] or not token:
            return job_ids


def reference_fetch(session: requests.Session, simulator: SimulatorProcess, job_id: str) -> Any:
    """One job the reference script's way: the job, its attachment's redirect, the body."""
    headers = {"x-api-key": simulator.api_key}
    base = simulator.api_url
    record = session.get(f"{base}/projects/{PROJECT}/jobs/{job_id}", headers=headers).json()
    redirect = session.get(
        f"{base}/attachments",
        params={"url": record["data"]["result"]},
        headers=headers,
        allow_redirects=False,
    )
    return session.get(urljoin(redirect.url, redirect.headers["Location"])).json()


def reference_save(out: Path, job_id: str, body: Any) -> None:
    """The script json-loads each result, then dumps it to a file of its own."""
    (out / f"{job_id}.json").write_text(json.dumps(body))


def sequential_baseline(simulator: SimulatorProcess, jobs: int = BASELINE_JOBS) -> float:
    """Jobs/s one at a time, as the reference script does: list, then job, attachment, body."""
    session = requests.Session()
    listing = reference_listing(session, simulator, "throughput")
    started = time.monotonic()
    for job_id in listing[:jobs]:
        body = reference_fetch(session, simulator, job_id)
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
        f"{'Map conc.':>9} {'workers':>7} {'pages':>9} {'in flight':>9} {'jobs/s':>8} "
        f"{'limit':>8} {'of limit':>8} {'vs seq.':>8} {'page s':>7}",
    ]
    for figure in figures:
        default = (figure.max_concurrency, figure.page_workers) == DEFAULT
        marker = "  (stack default)" if default else ""
        pages = f"{figure.pages} x {figure.page_size}"
        lines.append(
            f"{figure.max_concurrency:>9} {figure.page_workers:>7} {pages:>9} "
            f"{figure.concurrency:>9} {figure.jobs_per_s:>8.1f} {figure.limit:>8.1f} "
            f"{figure.ratio:>8.0%} "
            f"{figure.jobs_per_s / baseline:>7.1f}x {figure.fetch_page_s:>7.2f}{marker}"
        )
    lines.append(
        f"sequential baseline (the reference script's way, {BASELINE_JOBS} jobs): "
        f"{baseline:.1f} jobs/s; its limit {1 / (3 * LATENCY_S):.1f}"
    )
    return "\n".join(lines)
