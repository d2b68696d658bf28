"""``python -m playment_local.simulator``: the same as ``python -m playment_local simulator``."""

import argparse

from playment_local.simulator.command import add_simulator_arguments, serve


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="python -m playment_local.simulator",
        description="Serve a sample Playment project on 127.0.0.1 until Ctrl-C.",
    )
    add_simulator_arguments(parser)
    return serve(parser.parse_args())


if __name__ == "__main__":
    raise SystemExit(main())
