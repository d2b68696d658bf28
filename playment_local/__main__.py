"""``python -m playment_local``: for now only the ``simulator`` command."""

import argparse
from collections.abc import Sequence

from playment_local.simulator.command import add_simulator_arguments, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m playment_local")
    commands = parser.add_subparsers(dest="command", required=True)
    simulator = commands.add_parser(
        "simulator", help="serve a sample Playment project on 127.0.0.1 until Ctrl-C"
    )
    add_simulator_arguments(simulator)
    simulator.set_defaults(handler=serve)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
