"""``playment-export``: the exporter's command line.

``demo``, ``run`` and ``simulator`` touch no AWS: the real workflow on the local engine, or
the Playment simulator alone. ``status`` and ``start`` operate a deployed stack.

Every error is one line on stderr, ``playment-export: error: ...``; results and summaries go
to stdout. No library's warning reaches the terminal: warnings go to the run's log.
"""

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import cast

from playment_cli.export_flags import EXIT_INCOMPLETE, EXIT_USAGE, RunFailed, UsageError
from playment_cli.export_summary import print_error
from playment_cli.help_format import CommandParser, HelpFormatter
from playment_cli.interrupts import exit_status_of, interrupt_on_signals, signal_name
from playment_cli.local_commands import add_demo_command, add_run_command
from playment_cli.stack_commands import add_start_command, add_status_command
from playment_simulator.command import add_simulator_arguments, catalog_description

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
"""

EPILOG = """\
examples:
  playment-export demo
  PLAYMENT_API_KEY=... playment-export run --project-id my-project --all-batches --out ./exports
  playment-export status --stack-name playment-exporter
  playment-export run --help                # each command's options, examples, exit status

exit status: 0 every completed job exported; 1 some jobs failed (see the report), or the run
stopped on a full disk or a Playment that kept failing; 2 bad input or configuration, found
before anything was exported (for run: a flag, the key, --out, the API's URL, the project;
for status and start: a missing stack or an AWS error); 130 Ctrl-C, 143 SIGTERM.
"""

SIMULATOR_EPILOG = """\
examples:
  playment-export simulator --port 8080 --api-key my-key
  playment-export simulator --port 8080 --project-id p1 --batch b1=1000 --batch b2=50
  PLAYMENT_API_KEY=my-key playment-export run --api-url http://127.0.0.1:8080/v1 \\
      --project-id demo-project --batch-id batch-a --out ./exports   # in another shell

exit status: 0 stopped by Ctrl-C or SIGTERM; 2 bad options or a port in use.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="playment-export",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    commands = cast(  # each command's own parser is a CommandParser too
        "argparse._SubParsersAction[argparse.ArgumentParser]",
        parser.add_subparsers(dest="command", required=True, metavar="COMMAND"),
    )
    add_demo_command(commands)
    add_run_command(commands)
    simulator = commands.add_parser(
        "simulator",
        help="serve the Playment simulator until Ctrl-C",
        description="Serve a Playment API on 127.0.0.1: the API origin, and a separate "
        "storage origin with signed, expiring URLs. " + catalog_description(),
        epilog=SIMULATOR_EPILOG,
        formatter_class=HelpFormatter,
    )
    add_simulator_arguments(simulator)
    simulator.set_defaults(handler=_simulator)
    add_status_command(commands)
    add_start_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _warnings_to_logs()
    try:
        with interrupt_on_signals():
            status: int = args.handler(args)
    except UsageError as error:
        print_error(str(error))
        return EXIT_USAGE
    except RunFailed as error:
        print_error(str(error))
        return EXIT_INCOMPLETE
    except KeyboardInterrupt as stop:
        print(f"playment-export: interrupted ({signal_name(stop)})", file=sys.stderr)
        return exit_status_of(stop)
    except OSError as error:  # the file system refused something the checks could not foresee
        where = f"{error.filename}: " if error.filename else ""
        print_error(f"{where}{error.strerror or error}; the files written are whole")
        return EXIT_INCOMPLETE
    return status


def _simulator(args: argparse.Namespace) -> int:
    from playment_simulator import SimulatorError
    from playment_simulator.command import serve

    try:
        return serve(args)
    except (ValueError, SimulatorError) as error:
        raise UsageError(str(error)) from None


def _warnings_to_logs() -> None:
    """Libraries' warnings (Powertools': "No application metrics to publish") go to the
    logging system, which writes them to the run's log and nowhere else; never to stderr."""
    logging.captureWarnings(True)
    warnings_logger = logging.getLogger("py.warnings")
    warnings_logger.addHandler(logging.NullHandler())
    warnings_logger.propagate = False


if __name__ == "__main__":
    sys.exit(main())
