"""``playment-export``: the exporter's command line.

``demo``, ``run`` and ``simulator`` touch no AWS: the real workflow on the local engine, or
the Playment simulator alone. ``status`` and ``start`` operate a deployed stack.
"""

import argparse
import sys
from collections.abc import Sequence

from playment_cli.export_flags import EXIT_USAGE, UsageError
from playment_cli.interrupts import exit_status_of, interrupt_on_signals
from playment_cli.local_commands import add_demo_command, add_run_command
from playment_cli.stack_commands import add_start_command, add_status_command
from playment_simulator.command import add_simulator_arguments, serve

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="playment-export",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_demo_command(commands)
    add_run_command(commands)
    simulator = commands.add_parser(
        "simulator",
        help="serve the Playment simulator until Ctrl-C",
        description="Serve the sample project on 127.0.0.1: the API origin and a separate "
        "storage origin with signed, expiring URLs.",
    )
    add_simulator_arguments(simulator)
    simulator.set_defaults(handler=serve)
    add_status_command(commands)
    add_start_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with interrupt_on_signals():
            status: int = args.handler(args)
    except UsageError as error:
        print(f"playment-export: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt as interrupt:
        print("playment-export: interrupted", file=sys.stderr)
        return exit_status_of(interrupt)
    return status


if __name__ == "__main__":
    sys.exit(main())
