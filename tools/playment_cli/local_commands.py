"""``demo`` and ``run``: the export on this machine.

By default the domain's steps run directly in this process (``direct_export``), into the
folder ``--out`` (or, opted into, a bucket: ``--out s3://...``). ``--engine state-machine``
runs the real state machine on moto's Step Functions engine with the real handlers
(``playment_local.engine``) instead, for anyone who wants to watch it offline.

What a run checks before it starts, in order, each a line and exit 2 with nothing written:
the flags, the key in ``PLAYMENT_API_KEY``, ``--out`` (``output_folder``), then the API with
one request (``api_check``). Once it runs, it stops on Ctrl-C or SIGTERM (exit 130 or 143) or
on a full disk (exit 1) with every file in OUT whole.
"""

import argparse
import contextlib
import importlib
import os
import secrets
import sys
import threading
import time
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

from playment_cli.api_check import KEY_VARIABLE, check_api, refused_key_line
from playment_cli.export_flags import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    UsageError,
    add_export_arguments,
    execution_input,
    request_from_args,
    request_from_flags,
)
from playment_cli.help_format import HelpFormatter
from playment_cli.output_folder import RECORDS, OutputFolder, OutputTarget, output_target
from playment_exporter.api_models import ProjectDetails
from playment_exporter.defaults import PLAYMENT_API_URL
from playment_exporter.export_request import ExportRequest

if TYPE_CHECKING:
    from playment_execution import ExecutionResult
    from playment_local.engine import LocalEngine

# What the export itself needs (the driver, the domain's steps, rich) is imported once the
# checks have passed, not at start-up: the first request leaves sooner, and `--help` or a bad
# flag answers at once. `run` imports it on a thread while its one check request is answered.
EXPORT_MODULE = "playment_cli.direct_export"

# Pages at once, and jobs at once per page, on this machine. The deployed stack's defaults
# (40 pages of 8) are for 40 Lambda containers; here every page shares one process. 16 pages
# of 4 (64 jobs in flight; bodies stream to disk, so memory does not grow with it) was the
# fastest of 8x4, 12x4, 16x4, 24x4 and 8x8 for 2,000 jobs at 40 ms on a 2-core machine:
# past it the GIL, not the latency, sets the pace.
LOCAL_MAX_CONCURRENCY = 16
LOCAL_PAGE_WORKERS = 4
DIRECT, STATE_MACHINE = "direct", "state-machine"
POLL_S = 0.2
RUN_EPILOG = f"""\
examples:
  export {KEY_VARIABLE}=...        # read from the environment, never from the command line
  playment-export run --project-id my-project --batch-id batch-1 --batch-id batch-2 --out ./exports
  playment-export run --project-id my-project --all-batches --out ./exports
  playment-export run --api-url http://127.0.0.1:8080/v1 --project-id demo-project \\
      --batch-id batch-a --out ./exports     # against `playment-export simulator --port 8080`

Before anything is written, the flags, the key, --out and the API (one request: is it the
API, does it take the key, does it know the project) are checked. A batch Playment does not
know is reported as failed, and the other batches are exported. Running the same command
again into the same OUT fetches only what is not there yet.

exit status: 0 every completed job was exported; 1 some jobs failed or a batch was not found
(the report names each), the disk filled up, or Playment kept failing: run again to finish;
2 bad input or configuration, found before anything was written (a flag, {KEY_VARIABLE}
missing or refused, --out unusable, --api-url unreachable or not the API, an unknown
project); 130 Ctrl-C, 143 SIGTERM: the results written are whole, run again to finish.
"""

DEMO_EPILOG = """\
examples:
  playment-export demo                      # into ./exports
  playment-export demo --out /tmp/demo --max-concurrency 2

exit status: 0 the sample was exported; 1 it was not, whole; 2 bad options or --out
unusable; 130 Ctrl-C, 143 SIGTERM.
"""


def add_demo_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    demo = commands.add_parser(
        "demo",
        help="export a sample project from the built-in simulator",
        description="Start the Playment simulator with a sample project (two batches, some "
        "jobs not completed, a few injected faults), run the export on this machine, "
        "and write the results to --out.",
        epilog=DEMO_EPILOG,
        formatter_class=HelpFormatter,
    )
    demo.add_argument("--out", default="exports", help="default: ./exports")
    _add_tuning(demo)
    demo.set_defaults(handler=_demo)


def add_run_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    run = commands.add_parser(
        "run",
        help="export batches from a Playment-compatible API",
        description=f"Export the given batches. The API key is read from ${KEY_VARIABLE}, never "
        "from the command line. "
        "Results land in OUT/<batch_id>/<job_id>.json, the run's manifest, outcomes, report "
        "and log in OUT/_exports/<execution>/. A summary goes to stdout; errors, one line "
        "each, and progress go to stderr.",
        epilog=RUN_EPILOG,
        formatter_class=HelpFormatter,
    )
    run.add_argument(
        "--api-url",
        default=PLAYMENT_API_URL,
        help=f"the API's base URL (default {PLAYMENT_API_URL})",
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
    parser.add_argument(
        "--verbose", action="store_true", help="show the handlers' logs (on stderr)"
    )
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
    parameters = _parameters(args)
    target = _checked_target(args)
    importing = threading.Thread(target=_import_export_module, name="import", daemon=True)
    importing.start()
    details = check_api(args.api_url, api_key, request.project_id)
    importing.join()
    return _export(
        args,
        request,
        parameters=parameters,
        target=target,
        api=(args.api_url, api_key),
        details=details,
    )


def _import_export_module() -> None:
    """Import what the export needs while the check's request is in flight. An error here is
    raised again, in the open, by the same import on the main thread."""
    with contextlib.suppress(Exception):
        importlib.import_module(EXPORT_MODULE)


def _demo(args: argparse.Namespace) -> int:
    from playment_simulator import FaultPlan, Simulator, sample_catalog

    parameters = _parameters(args)
    target = _checked_target(args)
    api_key = secrets.token_urlsafe(16)
    catalog = sample_catalog()
    project = next(iter(catalog.projects.values()))
    request = request_from_flags(project.id, [batch.id for batch in project.batches])
    faults = FaultPlan(rate=0.02, seed=1)
    with Simulator(catalog, api_key, faults=faults, latency=0.002) as simulator:
        print(f"Playment simulator on {simulator.api_url} with project {project.id}", flush=True)
        return _export(
            args,
            request,
            parameters=parameters,
            target=target,
            api=(simulator.api_url, api_key),
        )


def _checked_target(args: argparse.Namespace) -> tuple[OutputTarget, OutputFolder | None]:
    """``--out``, parsed and (a folder) checked before any request."""
    target = output_target(str(args.out))
    if target.folder is None:
        if args.engine != DIRECT:
            raise UsageError("--out: the state-machine engine writes into a folder only")
        return target, None
    return target, OutputFolder.check(target.folder)


def _export(
    args: argparse.Namespace,
    request: ExportRequest,
    *,
    parameters: dict[str, str],
    target: tuple[OutputTarget, OutputFolder | None],
    api: tuple[str, str],
    details: ProjectDetails | None = None,
) -> int:
    """``details``: the project's, as the check before the run got them (a direct run uses
    them for its listing: one details request per run, as on AWS)."""
    from playment_cli.direct_export import export_directly
    from playment_cli.local_driver import DriverSettings

    where, folder = target
    if args.engine == DIRECT:
        settings = DriverSettings(
            max_concurrency=int(parameters["MapMaxConcurrency"]),
            page_workers=int(parameters["PageWorkers"]),
            results_prefix=where.prefix,
        )
        return export_directly(
            where, folder, api, request, settings, verbose=bool(args.verbose), details=details
        )
    assert folder is not None  # _checked_target refuses s3:// for this engine
    try:
        return _export_on_engine(args, folder, parameters, api, request)
    finally:
        folder.tidy()


def _export_on_engine(
    args: argparse.Namespace,
    out: OutputFolder,
    parameters: dict[str, str],
    api: tuple[str, str],
    request: ExportRequest,
) -> int:
    """The real state machine on moto; what it wrote is copied into ``out`` at the end."""
    api_url, api_key = api
    from playment_cli.export_summary import print_export_summary
    from playment_cli.run_log import RunLog
    from playment_execution import new_execution_name
    from playment_local.engine import LocalEngine  # moto: imported only for this engine

    started = time.monotonic()
    name = new_execution_name()
    records = out.path / RECORDS / name
    with (
        RunLog() as log,
        LocalEngine(
            api_url=api_url,
            api_key=api_key,
            parameters=parameters,
            log_level="INFO" if args.verbose else "WARNING",
            log_file=log.path,
        ) as engine,
    ):
        engine.start_export(execution_input(request), name)
        try:
            result = _follow(engine, name)
        except KeyboardInterrupt as stop:
            _interrupted(out, stop)
        # The emulated bucket starts empty: a re-run fetches everything again, and what it
        # wrote is copied into OUT at the end, each file by a rename.
        written = engine.copy_to(out.path, "")
        log_kept = log.keep_in(records) if written else None
    places = [("files written", f"{written} to {out.path}/")]
    report = records / "report.json"
    if result.report is not None:
        places.append(("report", str(report)))
    if log_kept is not None and not result.succeeded:
        places.append(("log", str(log_kept)))
    print_export_summary(
        result,
        places,
        time.monotonic() - started,
        report_place=str(report) if result.report is not None else "not written",
        refused_key=refused_key_line,
    )
    return EXIT_OK if result.succeeded else EXIT_INCOMPLETE


def _interrupted(out: OutputFolder, stop: KeyboardInterrupt) -> NoReturn:
    """Ctrl-C or SIGTERM on the state-machine engine: leave at once. Nothing was copied into
    OUT yet; the pages' worker threads cannot be cancelled mid-request, so the process ends
    with ``os._exit``."""
    from playment_cli.interrupts import exit_status_of, signal_name

    print(
        f"playment-export: interrupted ({signal_name(stop)}): nothing of this run was copied "
        f"into {out.path}/; run the same command again",
        file=sys.stderr,
        flush=True,
    )
    sys.stdout.flush()
    out.tidy()
    os._exit(exit_status_of(stop))


def _follow(engine: "LocalEngine", name: str) -> "ExecutionResult":
    """Wait for the execution, showing its progress on stderr."""
    from playment_cli.progress import export_progress

    with export_progress() as update:
        while not engine.poll(name, pause_s=POLL_S):
            state = engine.progress
            update(
                state.pages_total,
                state.pages_done,
                f"{state.exported} exported, {state.failed} failed",
            )
    return engine.wait(name, whole_report=False)  # the summary prints its counts only


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
