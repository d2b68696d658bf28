"""The ``simulator`` command: its arguments (reusable by any CLI) and serving until stopped."""

import argparse
import secrets
import sys

from playment_simulator.catalog import Catalog, sample_catalog
from playment_simulator.faults import FaultPlan
from playment_simulator.server import Simulator, SimulatorError
from playment_simulator.stop_signals import stop_event_on_signals


def add_simulator_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the simulator's options to ``parser`` (a whole parser or a subcommand's)."""
    parser.add_argument(
        "--port", type=int, default=0, help="API port on 127.0.0.1 (default 0: any free port)"
    )
    parser.add_argument(
        "--storage-port", type=int, default=0, help="storage origin port (default 0: any free)"
    )
    parser.add_argument(
        "--api-key", default=None, help="the key clients must send (default: a random one)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay before every answer, in ms"
    )
    parser.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="share of requests that get a random transient fault (0 to 1)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random faults")


def simulator_from_args(args: argparse.Namespace, catalog: Catalog | None = None) -> Simulator:
    """A (not yet started) simulator configured as the options say, on the sample project."""
    if args.latency_ms < 0:
        raise ValueError("--latency-ms must not be negative")
    return Simulator(
        catalog if catalog is not None else sample_catalog(),
        api_key=args.api_key or secrets.token_urlsafe(16),
        latency=args.latency_ms / 1000.0,
        faults=FaultPlan(rate=args.fault_rate, seed=args.seed),
    )


def serve(args: argparse.Namespace) -> int:
    """Serve the sample project until SIGINT or SIGTERM; the exit status (2: bad options).

    The handlers are its own, not KeyboardInterrupt: started in the background by a script,
    the process has SIGINT ignored and would otherwise never stop (``stop_signals``).
    """
    with stop_event_on_signals() as stop:
        try:
            simulator = simulator_from_args(args)
            simulator.start(api_port=args.port, storage_port=args.storage_port)
        except (ValueError, SimulatorError) as error:
            print(f"error: {error}", file=sys.stderr, flush=True)
            return 2
        try:
            _print_banner(simulator)
            stop.wait()
            print("stopping", flush=True)
        finally:
            simulator.stop()
    return 0


def _print_banner(simulator: Simulator) -> None:
    lines = [
        "Playment simulator",
        f"  API URL:     {simulator.api_url}",
        f"  API key:     {simulator.api_key}",
        f"  storage URL: {simulator.storage_url}",
    ]
    for project in simulator.catalog.projects.values():
        batches = ", ".join(f"{batch.id} ({len(batch.jobs)} jobs)" for batch in project.batches)
        lines.append(f"  project:     {project.id}: {batches}")
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), flush=True)
