"""Requests per job, counted rather than assumed: Playment's by the simulator, AWS's by a
botocore hook on every client (the handlers', Powertools', and moto's engine's own)."""

from collections import Counter
from dataclasses import dataclass

from playment_bench.measure import AwsCallCounter
from playment_bench.simulator_process import PROJECT, SimulatorProcess
from playment_local.engine import LocalEngine

JOBS = 1_000


@dataclass(frozen=True)
class RequestFigures:
    jobs: int
    exported: int
    playment: dict[str, int]
    aws: dict[str, int]
    rerun_playment: dict[str, int]
    rerun_aws: dict[str, int]

    @property
    def playment_per_job(self) -> float:
        fetch = sum(self.playment.get(k, 0) for k in ("job", "attachment", "storage"))
        return fetch / self.exported


def measure(counter: AwsCallCounter) -> RequestFigures:
    with (
        SimulatorProcess({"requests": JOBS}, api_key="bench-key") as simulator,
        LocalEngine(api_url=simulator.api_url, api_key=simulator.api_key) as engine,
    ):
        counts = []
        for _ in range(2):  # a first export, then an incremental re-run of the same batch
            simulator.reset()
            counter.reset()
            result = engine.run({"project_id": PROJECT, "batch_id": "requests"})
            if not result.succeeded or result.report is None:
                raise RuntimeError(f"request-count export failed: {result.error}")
            counts.append((dict(simulator.stats()["requests"]), _by_operation(counter), result))
    (playment, aws, first), (rerun_playment, rerun_aws, _) = counts
    assert first.report is not None
    return RequestFigures(
        JOBS, first.report["totals"]["exported"], playment, aws, rerun_playment, rerun_aws
    )


def _by_operation(counter: AwsCallCounter) -> dict[str, int]:
    calls: Counter[str] = Counter()
    for (service, operation), count in counter.calls.items():
        if service in {"s3", "secretsmanager"}:
            calls[f"{service}:{operation}"] += count
    return dict(sorted(calls.items()))


def format_requests(figures: RequestFigures) -> str:
    exported = figures.exported
    playment = figures.playment
    lines = [
        f"Requests for one export of {figures.jobs:,} completed jobs (then an incremental re-run)",
        f"  Playment per exported job: {figures.playment_per_job:.2f} "
        f"(job {playment.get('job', 0)}, attachment {playment.get('attachment', 0)}, "
        f"download {playment.get('storage', 0)}); listing {playment.get('list', 0)} "
        f"for {figures.jobs:,} jobs",
    ]
    for operation, count in figures.aws.items():
        lines.append(f"  {operation:<34} {count:>6}  ({count / exported:.3f} per job)")
    lines.append(
        f"  re-run: Playment {sum(figures.rerun_playment.values())} requests "
        f"({figures.rerun_playment}), AWS {figures.rerun_aws}"
    )
    return "\n".join(lines)
