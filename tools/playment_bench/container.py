"""The fetch path as one Lambda container runs it: speed per page, and memory per body size.

The FetchResult handler runs in a process of its own (``fetch_process``), against the
simulator in another process and S3 in ``moto_server``: nothing else shares its interpreter,
as on Lambda, where every page's container is its own machine. On AWS the Map runs up to
MapMaxConcurrency such containers side by side, so the workflow's throughput is this figure
times the pages in flight, bounded by Playment.
"""

from dataclasses import dataclass

import boto3

from playment_bench.fetch_runner import page, run_fetch_process
from playment_bench.measure import RUNS, median, median_of
from playment_bench.simulator_process import PROJECT, SimulatorProcess
from playment_local.moto_server import moto_server

LATENCY_S = 0.040
PAGES = 3
WORKERS_SWEEP = (1, 4, 8, 16)
MiB = 1024 * 1024
LARGE_BYTES = 300 * MiB
SMALL_BYTES = 2 * 1024
BUCKET = "bench-results"


@dataclass(frozen=True)
class ContainerFigure:
    workers: int
    jobs_per_s: float

    @property
    def limit(self) -> float:
        return self.workers / (3 * LATENCY_S)


@dataclass(frozen=True)
class MemoryFigure:
    body_bytes: int
    peak_mib: float
    growth_mib: float


def _secret(endpoint: str, api_key: str) -> str:
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    secrets = boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1")
    arn: str = secrets.create_secret(Name="bench-key", SecretString=api_key)["ARN"]
    return arn


def measure_speed(runs: int = RUNS) -> list[ContainerFigure]:
    jobs = [f"speed-{n:06d}" for n in range(PAGES * 100 + 1)]
    with (
        SimulatorProcess({"speed": len(jobs)}, api_key="bench-key", latency=LATENCY_S) as sim,
        moto_server() as endpoint,
    ):
        secret_arn = _secret(endpoint, sim.api_key)
        pages = [
            page(PROJECT, "speed", jobs[1 + n * 100 : 1 + (n + 1) * 100], n) for n in range(PAGES)
        ]

        def measure(workers: int) -> ContainerFigure:
            figures = run_fetch_process(
                api_url=sim.api_url, aws_endpoint=endpoint, bucket=BUCKET, secret_arn=secret_arn,
                warmup=page(PROJECT, "speed", jobs[:1]), pages=pages, page_workers=workers,
            )  # fmt: skip
            exported = sum(result["exported"] for result in figures["results"])
            return ContainerFigure(workers, exported / sum(figures["page_seconds"]))

        return [
            median_of(runs, lambda w=workers: measure(w), key=lambda f: f.jobs_per_s)  # type: ignore[misc]
            for workers in WORKERS_SWEEP
        ]


def measure_memory(runs: int = RUNS) -> list[MemoryFigure]:
    large = {"large-300mb": LARGE_BYTES}
    with (
        SimulatorProcess({"small": 2}, api_key="bench-key", large=large) as sim,
        moto_server() as endpoint,
    ):
        secret_arn = _secret(endpoint, sim.api_key)
        results = []
        for batch, job in (("small", "small-000001"), ("big", "large-300mb")):
            peaks, growths = [], []
            for _ in range(runs):
                figures = run_fetch_process(
                    api_url=sim.api_url, aws_endpoint=endpoint, bucket=BUCKET,
                    secret_arn=secret_arn, warmup=page(PROJECT, "small", ["small-000000"]),
                    pages=[page(PROJECT, batch, [job])],
                )  # fmt: skip
                if figures["results"][0]["exported"] != 1:
                    raise RuntimeError(f"memory benchmark export failed: {figures['results']}")
                peaks.append(figures["peak_mib"])
                growths.append(figures["growth_mib"])
            size = LARGE_BYTES if batch == "big" else SMALL_BYTES
            results.append(MemoryFigure(size, median(peaks), median(growths)))
    return results


def format_container(speed: list[ContainerFigure], memory: list[MemoryFigure]) -> str:
    lines = [
        f"One FetchResult container (own process; S3 in moto_server), {LATENCY_S * 1000:.0f} ms "
        f"per request, {PAGES} pages of 100 jobs",
        f"{'workers':>7} {'jobs/s':>8} {'limit':>8} {'of limit':>8}",
    ]
    lines += [
        f"{f.workers:>7} {f.jobs_per_s:>8.1f} {f.limit:>8.1f} {f.jobs_per_s / f.limit:>8.0%}"
        for f in speed
    ]
    lines.append("Peak RSS of the FetchResult process exporting one result (median of runs)")
    lines += [
        f"{m.body_bytes / MiB:>10.3f} MiB body: peak {m.peak_mib:6.1f} MiB, "
        f"growth over warm-up {m.growth_mib:5.1f} MiB"
        for m in memory
    ]
    if len(memory) == 2:
        lines.append(
            f"difference 300 MB vs 2 KB: {memory[1].peak_mib - memory[0].peak_mib:.1f} MiB"
        )
    return "\n".join(lines)
