"""What to export, as the command line asks for it: the flags ``run`` and ``start`` share,
checked into an ``ExportRequest`` before anything is requested (a problem names the flag)."""

import argparse

from playment_exporter.errors import InvalidInput
from playment_exporter.export_request import ExportRequest

EXIT_OK, EXIT_INCOMPLETE, EXIT_USAGE = 0, 1, 2  # and 128 + the signal: ``interrupts``
_FLAG_OF_FIELD = {"project_id": "--project-id", "batch_id": "--batch-id", "batch_ids": "--batch-id"}


class UsageError(Exception):
    """Bad input or configuration, found before anything is exported: exit 2."""


class RunFailed(Exception):
    """The run cannot go on for a reason that is not the input's (Playment keeps failing):
    one line, exit 1."""


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
