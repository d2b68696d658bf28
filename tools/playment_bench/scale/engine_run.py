"""One export on the local engine, measured: every invocation, every state, the history.

The engine is the one the e2e tests and ``playment-export run`` use (``LocalEngine``): the
real definition on moto's Step Functions engine, the real handlers in-process. The simulator
runs in a process of its own (``SimulatorProcess``), so its memory and threads are not in
the figures. The engine measures the peak memory of the project's ``measured`` functions'
invocations; the project's ``MapMaxConcurrency`` of 1 keeps invocations from overlapping, so
each peak is that invocation's own.
"""

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playment_bench.scale.figures import ExportFigures, InvocationFigure, state_figures
from playment_bench.scale.projects import ScaleProject, ScaleSuite, fault_plan
from playment_bench.simulator_process import SimulatorProcess
from playment_local.engine import LocalEngine
from playment_local.lambda_dispatch import Invocation

POLL_S = 1.0
TIMEOUT_S = 3 * 3600.0
REPORT_FUNCTION = "WriteReportFunction"
API_KEY = "scale-engine-key"


def measure_suite(
    suite: ScaleSuite, report: Callable[[ExportFigures], None] = lambda _: None
) -> list[ExportFigures]:
    """Export each project of the suite, one after the other, from one simulator process;
    ``report`` is told of each export as it ends."""
    exports = []
    projects = [project.project for project in suite.projects]
    with SimulatorProcess(
        {}, api_key=API_KEY, projects=projects, faults=fault_plan(suite.projects)
    ) as simulator:
        for project in suite.projects:
            export = measure_export(project, api_url=simulator.api_url, api_key=API_KEY)
            report(export)
            exports.append(export)
    return exports


def measure_export(
    project: ScaleProject, *, api_url: str, api_key: str, timeout_s: float = TIMEOUT_S
) -> ExportFigures:
    """Export ``project`` from the simulator at ``api_url``; what was measured."""
    invocations: list[InvocationFigure] = []
    last_report: list[Any] = []

    def record(invocation: Invocation) -> None:
        invocations.append(InvocationFigure.of(invocation))
        if invocation.function == REPORT_FUNCTION and isinstance(invocation.result, dict):
            last_report[:] = [invocation.result]

    with (
        tempfile.TemporaryDirectory(prefix="scale-") as logs,
        LocalEngine(
            api_url=api_url,
            api_key=api_key,
            parameters=project.parameters,
            log_file=Path(logs) / "engine.log",
            recorder=record,
            measure_memory_of=[f"{function}Function" for function in project.measured],
        ) as engine,
    ):
        for batch_id, job_id in project.already_exported:
            engine.s3.put_object(Bucket=engine.bucket, Key=f"{batch_id}/{job_id}.json", Body=b"{}")
        started = time.monotonic()
        name = engine.start_export(dict(project.execution_input))
        while not engine.poll(name, pause_s=POLL_S):
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"{project.name}: still running after {timeout_s:.0f} s")
        seconds = time.monotonic() - started
        described = engine.describe(name)
        history = engine.history(name)
    totals = last_report[0].get("totals") if last_report else None
    return ExportFigures(
        project=project.name,
        description=project.describe(),
        status=str(described["status"]),
        error=described.get("error"),
        totals=totals or None,
        expected_totals=project.expected_totals,
        history_events=len(history),
        seconds=seconds,
        invocations=tuple(invocations),
        states=state_figures(history),
    )
