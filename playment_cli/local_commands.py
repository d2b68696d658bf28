"""``demo`` and ``run``: the export on this machine.

By default the domain's steps run directly in this process (``direct_export``), into the
folder ``--out`` (or, opted into, a bucket: ``--out s3://...``). ``--engine state-machine``
runs the real state machine on moto's Step Functions engine with the real handlers
(``playment_local.engine``) instead, for anyone who wants to watch it offline.
"""

import argparse
import os
import secrets
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

from playment_cli.direct_export import export_directly, output_target
from playment_cli.export_flags import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    UsageError,
    add_export_arguments,
    execution_input,
    request_from_args,
    request_from_flags,
)
from playment_cli.export_summary import print_export_summary
from playment_cli.interrupts import exit_status_of
from playment_cli.local_driver import DriverSettings
from playment_cli.pages_bar import pages_bar
from playment_execution import ExecutionResult, new_execution_name
from playment_exporter.export_request import ExportRequest
from playment_exporter.playment_client import DEFAULT_API_URL
from playment_simulator import FaultPlan, Simulator, sample_catalog

if TYPE_CHECKING:
    from playment_local.engine import LocalEngine

KEY_VARIABLE = "PLAYMENT_API_KEY"
# Pages at once, and jobs at once per page, on this machine. The deployed stack's defaults
# (40 pages of 8) are for 40 Lambda containers; here every page shares one process. 16 pages
# of 4 (64 jobs in flight; bodies stream to disk, so memory does not grow with it) was the
# fastest of 8x4, 12x4, 16x4, 24x4 and 8x8 for 2,000 jobs at 40 ms on a 2-core machine:
# past it the GIL, not the latency, sets the pace.
LOCAL_MAX_CONCURRENCY = 16
LOCAL_PAGE_WORKERS = 4
DIRECT, STATE_MACHINE = "direct", "state-machine"


def add_demo_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    demo = commands.add_parser(
        "demo",
        help="export a sample project from the built-in simulator",
        description="Start the Playment simulator with a sample project (two batches, some "
        "jobs not completed, a few injected faults), run the export on the local engine, "
        "and write the results to --out.",
    )
    demo.add_argument("--out", default="exports", help="default: ./exports")
    _add_tuning(demo)
    demo.set_defaults(handler=_demo)


def add_run_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    run = commands.add_parser(
        "run",
        help="export batches from a Playment-compatible API",
        description=f"Export the given batches. The API key is read from ${KEY_VARIABLE} and "
        "put into the emulated Secrets Manager, where the handlers read it as they do on AWS. "
        "Results land in OUT/<batch_id>/<job_id>.json, the run's manifest, outcomes and "
        "report in OUT/_exports/<execution>/. Re-running into the same OUT fetches only what "
        "is not there yet.",
    )
    run.add_argument(
        "--api-url", default=DEFAULT_API_URL, help=f"the API's base URL (default {DEFAULT_API_URL})"
    )
    add_export_arguments(run)
    run.add_argument(
        "--out",
        required=True,
        help="folder to write results into; or s3://bucket/prefix to write into a bucket "
        "with your own AWS credentials (the deployed layout, no stack needed)",
    )
    _add_tuning(run)
    run.set_defaults(handler=_run)


def _add_tuning(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=None,
        help=f"pages exported at once by the Map (default {LOCAL_MAX_CONCURRENCY} on this "
        "machine; a deployed stack's MapMaxConcurrency defaults to 40)",
    )
    parser.add_argument(
        "--page-workers",
        type=int,
        default=None,
        help=f"jobs fetched at once per page (default {LOCAL_PAGE_WORKERS} on this machine, 8 "
        "on a deployed stack)",
    )
    parser.add_argument("--verbose", action="store_true", help="show the handlers' logs")
    parser.add_argument(
        "--engine",
        choices=(DIRECT, STATE_MACHINE),
        default=DIRECT,
        help="direct (default): run the export's steps in this process; state-machine: run "
        "the real Step Functions definition on a local emulator (moto), to watch it offline",
    )


def _run(args: argparse.Namespace) -> int:
    api_key = os.environ.get(KEY_VARIABLE, "").strip()
    if not api_key:
        raise UsageError(f"set {KEY_VARIABLE} to your Playment API key")
    request = request_from_args(args)
    _check_api_url(args.api_url)
    return _export(args, args.api_url, api_key, request)


def _demo(args: argparse.Namespace) -> int:
    api_key = secrets.token_urlsafe(16)
    catalog = sample_catalog()
    project = next(iter(catalog.projects.values()))
    request = request_from_flags(project.id, [batch.id for batch in project.batches])
    faults = FaultPlan(rate=0.02, seed=1)
    with Simulator(catalog, api_key, faults=faults, latency=0.002) as simulator:
        print(f"Playment simulator on {simulator.api_url} with project {project.id}")
        return _export(args, simulator.api_url, api_key, request)


def _export(args: argparse.Namespace, api_url: str, api_key: str, request: ExportRequest) -> int:
    parameters = _parameters(args)
    target = output_target(args.out)
    if args.engine == DIRECT:
        settings = DriverSettings(
            max_concurrency=int(parameters["MapMaxConcurrency"]),
            page_workers=int(parameters["PageWorkers"]),
            results_prefix=target.prefix,
        )
        return export_directly(target, api_url, api_key, request, settings)
    if target.folder is None:
        raise UsageError("--out: the state-machine engine writes into a folder only")
    return _export_on_engine(args, target.folder, parameters, (api_url, api_key), request)


def _export_on_engine(
    args: argparse.Namespace,
    out: Path,
    parameters: dict[str, str],
    api: tuple[str, str],
    request: ExportRequest,
) -> int:
    """The real state machine on moto, the results kept in ``out``."""
    api_url, api_key = api
    from playment_local.engine import LocalEngine  # moto: imported only for this engine

    started = time.monotonic()
    name = new_execution_name()
    log_file = out / "_exports" / name / "engine.log"
    with LocalEngine(
        api_url=api_url,
        api_key=api_key,
        parameters=parameters,
        log_level="INFO" if args.verbose else "WARNING",
        log_file=log_file,
    ) as engine:
        engine.start_export(execution_input(request), name)
        try:
            result = _follow(engine, name)
        except KeyboardInterrupt as interrupt:
            _interrupted(out, interrupt)
        # The emulated bucket starts empty: a re-run fetches everything again, and what it
        # wrote is copied into OUT at the end, each file by a rename.
        written = engine.copy_to(out, "")
    places = [("files in output", f"{out}/ ({written} written)")]
    if result.report is not None:
        places.append(("report", str(out / "_exports" / name / "report.json")))
    if not result.succeeded:
        places.append(("details", str(log_file)))
    print_export_summary(result, places, time.monotonic() - started)
    return EXIT_OK if result.succeeded else EXIT_INCOMPLETE


def _interrupted(out: Path, interrupt: KeyboardInterrupt) -> NoReturn:
    """Ctrl-C or SIGTERM: leave at once. Nothing was copied into OUT yet; the pages' worker
    threads cannot be cancelled mid-request, so the process ends with ``os._exit``."""
    print(
        f"\ninterrupted: nothing of this run was copied into {out}/; run the command again",
        file=sys.stderr,
        flush=True,
    )
    sys.stdout.flush()
    os._exit(exit_status_of(interrupt))


def _follow(engine: "LocalEngine", name: str) -> ExecutionResult:
    """Wait for the execution; a progress bar on stderr when it is a terminal."""
    with pages_bar() as update:
        while update is not None and not engine.poll(name, pause_s=0.2):
            state = engine.progress
            update(
                state.pages_total,
                state.pages_done,
                f"{state.exported} exported, {state.failed} failed",
            )
    return engine.wait(name)


def _check_api_url(api_url: str) -> None:
    parts = urlsplit(api_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError(f"--api-url: {api_url!r} is not an http(s) URL")
    if parts.query or parts.fragment:
        raise UsageError("--api-url: give the base URL only, without a query or fragment")


def _parameters(args: argparse.Namespace) -> dict[str, str]:
    concurrency = LOCAL_MAX_CONCURRENCY if args.max_concurrency is None else args.max_concurrency
    if not 1 <= concurrency <= 10_000:
        raise UsageError("--max-concurrency: must be between 1 and 10000")
    parameters = {"MapMaxConcurrency": str(concurrency)}
    workers = LOCAL_PAGE_WORKERS if args.page_workers is None else args.page_workers
    if not 1 <= workers <= 32:
        raise UsageError("--page-workers: must be between 1 and 32")
    parameters["PageWorkers"] = str(workers)
    return parameters
