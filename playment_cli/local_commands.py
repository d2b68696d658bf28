"""``demo`` and ``run``: the export on this machine, on the local engine.

The real state machine runs on moto's Step Functions engine with the real handlers
(``playment_local.engine``); the results land in ``--out``.

What a run checks before it starts, in order, each a line and exit 2 with nothing written:
the flags, the key in ``PLAYMENT_API_KEY``, ``--out`` (``output_folder``), then the API with
one request (``api_check``). Once it runs, it stops on Ctrl-C or SIGTERM (exit 130 or 143) or
on a full disk (exit 1) with every file in OUT whole; it writes its records and log into OUT
only if it wrote something else there (``run_log``).
"""

import argparse
import os
import secrets
import sys
import time
from pathlib import Path
from typing import NoReturn
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
from playment_cli.export_summary import print_error, print_export_summary
from playment_cli.help_format import HelpFormatter
from playment_cli.interrupts import exit_status_of, signal_name
from playment_cli.output_folder import RECORDS, OutputFolder
from playment_cli.progress import export_progress
from playment_cli.run_log import RunLog
from playment_execution import ExecutionResult, new_execution_name
from playment_exporter.export_request import ExportRequest
from playment_exporter.playment_client import DEFAULT_API_URL
from playment_local.engine import LocalEngine
from playment_local.results_folder import NO_SPACE_ERRNOS
from playment_simulator import FaultPlan, Simulator, sample_catalog

# Pages at once, and jobs at once per page, on this machine. The deployed stack's defaults
# (40 pages of 8) are for 40 Lambda containers; here every page shares one process, which
# 8 pages of 4 (32 jobs in flight: 260 jobs/s at 40 ms a request) already keep busy, while
# bounding the bodies in memory at once (a 1 MB result is held a few times over on its way
# through the emulated S3).
LOCAL_MAX_CONCURRENCY = 8
LOCAL_PAGE_WORKERS = 4
POLL_S = 0.2
# Errors whose message says all there is to say: a run that ends on one before writing
# anything leaves no log behind. Any other (a crash) keeps its trace in OUT.
EXPLAINED_ERRORS = frozenset(
    {
        "ExportIncomplete",
        "PlaymentAuthError",
        "PlaymentApiError",
        "PlaymentUnreachable",
        "InvalidInput",
        "ResultsBucketUnusable",
        "TransientError",
    }
)

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


class _OutOfSpace(Exception):
    """A write into OUT found the disk full: the run stops as if interrupted."""


def add_demo_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    demo = commands.add_parser(
        "demo",
        help="export a sample project from the built-in simulator",
        description="Start the Playment simulator with a sample project (two batches, some "
        "jobs not completed, a few injected faults), run the export on the local engine, "
        "and write the results to --out.",
        epilog=DEMO_EPILOG,
        formatter_class=HelpFormatter,
    )
    demo.add_argument("--out", type=Path, default=Path("exports"), help="default: ./exports")
    _add_tuning(demo)
    demo.set_defaults(handler=_demo)


def add_run_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    run = commands.add_parser(
        "run",
        help="export batches from a Playment-compatible API",
        description=f"Export the given batches. The API key is read from ${KEY_VARIABLE} and "
        "put into the emulated Secrets Manager, where the handlers read it as they do on AWS. "
        "Results land in OUT/<batch_id>/<job_id>.json, the run's manifest, outcomes, report "
        "and log in OUT/_exports/<execution>/. A summary goes to stdout; errors, one line "
        "each, and progress go to stderr.",
        epilog=RUN_EPILOG,
        formatter_class=HelpFormatter,
    )
    run.add_argument(
        "--api-url", default=DEFAULT_API_URL, help=f"the API's base URL (default {DEFAULT_API_URL})"
    )
    add_export_arguments(run)
    run.add_argument("--out", type=Path, required=True, help="folder to write results into")
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


def _run(args: argparse.Namespace) -> int:
    api_key = os.environ.get(KEY_VARIABLE, "").strip()
    if not api_key:
        raise UsageError(f"set {KEY_VARIABLE} to your Playment API key")
    request = request_from_args(args)
    _check_api_url(args.api_url)
    parameters = _parameters(args)
    out = OutputFolder.check(args.out)
    check_api(args.api_url, api_key, request.project_id)
    return _export(
        args, request, parameters=parameters, out=out, api_url=args.api_url, api_key=api_key
    )


def _demo(args: argparse.Namespace) -> int:
    parameters = _parameters(args)
    out = OutputFolder.check(args.out)
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
            out=out,
            api_url=simulator.api_url,
            api_key=api_key,
        )


def _export(
    args: argparse.Namespace,
    request: ExportRequest,
    *,
    parameters: dict[str, str],
    out: OutputFolder,
    api_url: str,
    api_key: str,
) -> int:
    started = time.monotonic()
    name = new_execution_name()
    records = out.path / RECORDS / name
    try:
        with (
            RunLog() as log,
            LocalEngine(
                api_url=api_url,
                api_key=api_key,
                parameters=parameters,
                log_level="INFO" if args.verbose else "WARNING",
                out=out.path,
                log_file=log.path,
            ) as engine,
        ):
            if not request.overwrite:
                engine.add_existing_results(
                    None if request.all_batches else list(request.batch_ids)
                )
            engine.start_export(execution_input(request), name)
            try:
                result = _follow(engine, name)
                log_kept = _keep_records(engine, result, out.path, name, log)
            except KeyboardInterrupt as stop:
                _stop(engine, stop, out=out, log=log, name=name, started=started)
            except _OutOfSpace:
                _stop(engine, None, out=out, log=log, name=name, started=started)
            written = engine.results_written
    finally:
        out.tidy()
    places = [("results written", f"{written} to {out.path}/")]
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


def _follow(engine: LocalEngine, name: str) -> ExecutionResult:
    """Wait for the execution, showing its progress on stderr; ``_OutOfSpace`` as soon as a
    write into OUT finds the disk full."""
    with export_progress() as update:
        while not engine.poll(name, pause_s=POLL_S):
            if engine.out_of_space is not None:
                raise _OutOfSpace
            state = engine.progress
            update(
                state.pages_total,
                state.pages_done,
                f"{state.exported} exported, {state.failed} failed",
            )
    if engine.out_of_space is not None:
        raise _OutOfSpace
    return engine.wait(name, whole_report=False)  # the summary prints its counts only


def _keep_records(
    engine: LocalEngine, result: ExecutionResult, out: Path, name: str, log: RunLog
) -> Path | None:
    """Copy the run's records and log into ``OUT/_exports/<execution>/`` if the run wrote
    anything else into OUT, or wrote a report, or crashed unexplained; where the log is."""
    unexplained = not result.succeeded and result.error not in EXPLAINED_ERRORS
    if result.report is None and engine.results_written == 0 and not unexplained:
        return None
    try:
        engine.copy_to(out, f"{RECORDS}/{name}/")
    except OSError as error:
        if _is_no_space(error):
            raise _OutOfSpace from None
        raise
    return log.keep_in(out / RECORDS / name)


def _stop(
    engine: LocalEngine,
    stop: KeyboardInterrupt | None,
    *,
    out: OutputFolder,
    log: RunLog,
    name: str,
    started: float,
) -> NoReturn:
    """Ctrl-C, SIGTERM (``stop``) or a full disk (no ``stop``): write nothing more into OUT,
    say what is there, and leave at once.

    Every file in OUT is whole (each appears by a rename); what the pages were still fetching
    is dropped. The pages' worker threads cannot be cancelled mid-request, so the process
    ends with ``os._exit`` rather than waiting for them.
    """
    engine.stop_publishing()
    written = engine.results_written
    elapsed = time.monotonic() - started
    print(
        f"Export {name} stopped after {elapsed:.1f} s: {written} results written to "
        f"{out.path}/, each whole",
        flush=True,
    )
    if stop is None:
        print_error(
            f"no space left on the device under {out.path}: the {written} results written "
            "are whole; free some space, then run the same command again"
        )
        status = EXIT_INCOMPLETE
    else:
        print(
            f"playment-export: interrupted ({signal_name(stop)}): run the same command again "
            "to export the rest",
            file=sys.stderr,
            flush=True,
        )
        status = exit_status_of(stop)
    log.discard()
    out.tidy()
    os._exit(status)


def _is_no_space(error: BaseException) -> bool:
    while error is not None:
        if isinstance(error, OSError) and error.errno in NO_SPACE_ERRNOS:
            return True
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return False


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
