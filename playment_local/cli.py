"""``playment-export``: run the exporter on this machine, against the simulator or a real API.

The real state machine runs on moto's Step Functions engine with the real handlers
(``playment_local.engine``); the results are copied out of the emulated bucket at the end.
"""

import argparse
import os
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from playment_exporter.errors import InvalidInput
from playment_exporter.export_request import ExportRequest
from playment_local.engine import ExecutionResult, LocalEngine
from playment_local.export_summary import print_export_summary
from playment_local.pages_bar import pages_bar
from playment_local.simulator import FaultPlan, Simulator, sample_catalog
from playment_local.simulator.command import add_simulator_arguments, serve

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2
KEY_VARIABLE = "PLAYMENT_API_KEY"
_FLAG_OF_FIELD = {"project_id": "--project-id", "batch_id": "--batch-id", "batch_ids": "--batch-id"}

DESCRIPTION = """\
Export Playment (TELUS annotation) job results, one JSON file per job, on this machine.
The real Step Functions workflow runs on a local engine (moto) with the real Lambda handlers;
these three touch no AWS:

  demo        export a sample project from a built-in Playment simulator into ./exports
  run         export batches from a Playment-compatible API (key in $PLAYMENT_API_KEY)
  simulator   serve the Playment simulator on 127.0.0.1 until Ctrl-C

Operate a deployed stack (real AWS, your credentials; the stack found by --stack-name):

  status      list the stack's recent exports with their totals
  start       start an export on the stack and follow it to the end

exit status: 0 every completed job exported; 1 some jobs failed (see the report) or the key
was refused; 2 bad input or configuration (or, for status and start, a missing stack or an
AWS error), nothing fetched.
"""


class UsageError(Exception):
    """Bad input or configuration, found before any request: exit 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="playment-export",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="export a sample project from the built-in simulator",
        description="Start the Playment simulator with a sample project (two batches, some "
        "jobs not completed, a few injected faults), run the export on the local engine, "
        "and copy the results to --out.",
    )
    demo.add_argument("--out", type=Path, default=Path("exports"), help="default: ./exports")
    _add_tuning(demo)
    demo.set_defaults(handler=_demo)

    run = commands.add_parser(
        "run",
        help="export batches from a Playment-compatible API",
        description=f"Export the given batches. The API key is read from ${KEY_VARIABLE} and "
        "put into the emulated Secrets Manager, where the handlers read it as they do on AWS. "
        "Results land in OUT/<batch_id>/<job_id>.json, the run's manifest, outcomes and "
        "report in OUT/_exports/<execution>/. Re-running into the same OUT fetches only what "
        "is not there yet.",
    )
    run.add_argument("--api-url", required=True, help="e.g. https://api.playment.io/v1")
    add_export_arguments(run)
    run.add_argument("--out", type=Path, required=True, help="folder to write results into")
    _add_tuning(run)
    run.set_defaults(handler=_run)

    simulator = commands.add_parser(
        "simulator",
        help="serve the Playment simulator until Ctrl-C",
        description="Serve the sample project on 127.0.0.1: the API origin and a separate "
        "storage origin with signed, expiring URLs.",
    )
    add_simulator_arguments(simulator)
    simulator.set_defaults(handler=serve)

    # Imported here: the operator commands reuse this module's UsageError and input checks.
    from playment_local.operator_commands import add_start_command, add_status_command

    add_status_command(commands)
    add_start_command(commands)
    return parser


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """What to export, as both ``run`` and ``start`` take it (see ``request_from_args``)."""
    parser.add_argument("--project-id", required=True, metavar="ID", help="the Playment project")
    batches = parser.add_mutually_exclusive_group(required=True)
    batches.add_argument(
        "--batch-id", action="append", metavar="ID", help="repeat for several batches"
    )
    batches.add_argument(
        "--all-batches",
        action="store_true",
        help="every batch of the project that has completed jobs when the export runs",
    )
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="fetch and rewrite jobs already exported (default: only what is missing)",
    )
    parser.add_argument(
        "--include-referenced",
        action="store_true",
        help="also export the files results point at (segmentation masks, point clouds) "
        "as <batch_id>/<job_id>/<file name>",
    )


def _add_tuning(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=None,
        help="pages exported at once by the Map (template default: 40)",
    )
    parser.add_argument(
        "--page-workers", type=int, default=None, help="jobs fetched at once per page (default 8)"
    )
    parser.add_argument("--verbose", action="store_true", help="show the handlers' logs")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except UsageError as error:
        print(f"playment-export: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return status


# -- commands ----------------------------------------------------------------------------


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
    out: Path = args.out
    started = time.monotonic()
    with LocalEngine(
        api_url=api_url,
        api_key=api_key,
        parameters=parameters,
        log_level="INFO" if args.verbose else "WARNING",
    ) as engine:
        known = None if request.all_batches else list(request.batch_ids)
        seeded = 0 if request.overwrite else engine.seed_from(out, known)
        name = engine.start_export(execution_input(request))
        result = _follow(engine, name)
        exported = (result.report or {}).get("batch_ids") or list(request.batch_ids)
        copied = engine.copy_to(out, [f"{batch}/" for batch in exported])
        engine.copy_to(out, [f"_exports/{name}/"])
    places = [
        ("files in output", f"{out}/ ({copied - seeded} new or rewritten)"),
        ("report", str(out / "_exports" / result.name / "report.json")),
    ]
    print_export_summary(result, places, time.monotonic() - started)
    return EXIT_OK if result.succeeded else EXIT_INCOMPLETE


def _follow(engine: LocalEngine, name: str) -> ExecutionResult:
    """Wait for the execution; a progress bar on stderr when it is a terminal."""
    with pages_bar() as update:
        while update is not None and not engine.poll(name):
            state = engine.progress
            update(
                state.pages_total,
                state.pages_done,
                f"{state.exported} exported, {state.failed} failed",
            )
            time.sleep(0.2)
    return engine.wait(name)


# -- input checks ------------------------------------------------------------------------


def request_from_flags(
    project_id: str,
    batch_ids: list[str] | None,
    *,
    overwrite: bool = False,
    all_batches: bool = False,
    include_referenced: bool = False,
) -> ExportRequest:
    """The export the command line asks for, checked; a problem names the flag (exit 2)."""
    document: dict[str, object] = {
        "project_id": project_id,
        "overwrite": overwrite,
        "include_referenced": include_referenced,
    }
    if all_batches:
        document["all_batches"] = True
    else:
        document["batch_ids"] = batch_ids
    try:
        return ExportRequest.from_input(document)
    except InvalidInput as error:
        flag = _FLAG_OF_FIELD.get(error.field.split("[")[0], error.field)
        problem = str(error).split(": ", 1)[-1]
        raise UsageError(f"{flag}: {problem}") from None


def request_from_args(args: argparse.Namespace) -> ExportRequest:
    """The export the flags of ``add_export_arguments`` ask for."""
    return request_from_flags(
        args.project_id,
        args.batch_id,
        overwrite=args.overwrite,
        all_batches=args.all_batches,
        include_referenced=args.include_referenced,
    )


def execution_input(request: ExportRequest) -> dict[str, object]:
    """The request as an execution input, in the contract's own shape."""
    batches: dict[str, object] = (
        {"all_batches": True} if request.all_batches else {"batch_ids": list(request.batch_ids)}
    )
    return {
        "project_id": request.project_id,
        **batches,
        "overwrite": request.overwrite,
        "include_referenced": request.include_referenced,
    }


def _check_api_url(api_url: str) -> None:
    parts = urlsplit(api_url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UsageError(f"--api-url: {api_url!r} is not an http(s) URL")
    if parts.query or parts.fragment:
        raise UsageError("--api-url: give the base URL only, without a query or fragment")


def _parameters(args: argparse.Namespace) -> dict[str, str]:
    parameters = {}
    if args.max_concurrency is not None:
        if not 1 <= args.max_concurrency <= 10_000:
            raise UsageError("--max-concurrency: must be between 1 and 10000")
        parameters["MapMaxConcurrency"] = str(args.max_concurrency)
    if args.page_workers is not None:
        if not 1 <= args.page_workers <= 32:
            raise UsageError("--page-workers: must be between 1 and 32")
        parameters["PageWorkers"] = str(args.page_workers)
    return parameters


if __name__ == "__main__":
    sys.exit(main())
