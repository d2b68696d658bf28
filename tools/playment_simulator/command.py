"""The ``simulator`` command: its arguments (reusable by any CLI) and serving until stopped.

It serves one project, the sample's by default (``sample_catalog``); ``--project-id``,
``--batch ID=JOBS`` and ``--not-completed-every`` choose another, and the help page and the
banner say which it is.
"""

import argparse
import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING

from playment_simulator.catalog import SAMPLE_BATCHES, Catalog, sample_catalog
from playment_simulator.faults import FaultPlan

if TYPE_CHECKING:
    from playment_simulator.server import Simulator

SAMPLE_PROJECT = "demo-project"
SAMPLE_NOT_COMPLETED_EVERY = 9


def catalog_description(
    project_id: str = SAMPLE_PROJECT,
    batches: Mapping[str, int] = SAMPLE_BATCHES,
    not_completed_every: int = SAMPLE_NOT_COMPLETED_EVERY,
) -> str:
    """What the simulator serves, in a sentence."""
    listed = ", ".join(f"{batch} ({jobs} jobs)" for batch, jobs in batches.items())
    readiness = _readiness(not_completed_every)
    return f"It serves project {project_id} with batches {listed}, {readiness}."


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
        "--project-id",
        default=SAMPLE_PROJECT,
        metavar="ID",
        help=f"the project served (default {SAMPLE_PROJECT})",
    )
    sample = " ".join(f"{batch}={jobs}" for batch, jobs in SAMPLE_BATCHES.items())
    parser.add_argument(
        "--batch",
        action="append",
        default=None,
        metavar="ID=JOBS",
        help=f"a batch of the project and its number of jobs; repeat for more (default: {sample})",
    )
    parser.add_argument(
        "--not-completed-every",
        type=int,
        default=SAMPLE_NOT_COMPLETED_EVERY,
        metavar="N",
        help=f"every Nth job is not completed yet (default {SAMPLE_NOT_COMPLETED_EVERY}; "
        "0: every job is completed)",
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


def catalog_from_args(args: argparse.Namespace) -> Catalog:
    """The catalog the options ask for; ``ValueError`` naming the option when one is wrong."""
    if args.not_completed_every < 0:
        raise ValueError("--not-completed-every: must not be negative")
    return sample_catalog(args.project_id, _batches(args.batch), args.not_completed_every)


def simulator_from_args(args: argparse.Namespace, catalog: Catalog | None = None) -> "Simulator":
    """A (not yet started) simulator configured as the options say."""
    from playment_simulator.server import Simulator  # the server when one is made: start-up

    if args.latency_ms < 0:
        raise ValueError("--latency-ms: must not be negative")
    return Simulator(
        catalog if catalog is not None else catalog_from_args(args),
        api_key=args.api_key or secrets.token_urlsafe(16),
        latency=args.latency_ms / 1000.0,
        faults=FaultPlan(rate=args.fault_rate, seed=args.seed),
    )


def serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT or SIGTERM; 0. Options it cannot serve with raise ``ValueError``, a
    port in use ``SimulatorError``, before anything is served.

    The handlers are its own, not KeyboardInterrupt: started in the background by a script,
    the process has SIGINT ignored and would otherwise never stop (``stop_signals``).
    """
    from playment_simulator.stop_signals import stop_event_on_signals

    simulator = simulator_from_args(args)
    with stop_event_on_signals() as stop:
        simulator.start(api_port=args.port, storage_port=args.storage_port)
        try:
            _print_banner(simulator, args)
            stop.wait()
            print("stopping", flush=True)
        finally:
            simulator.stop()
    return 0


def _batches(specs: list[str] | None) -> dict[str, int]:
    if not specs:
        return dict(SAMPLE_BATCHES)
    batches: dict[str, int] = {}
    for spec in specs:
        batch_id, _, jobs = spec.partition("=")
        if not batch_id or not jobs.isdigit():
            raise ValueError(f"--batch: {spec!r} is not ID=JOBS (such as batch-a=250)")
        if batch_id in batches:
            raise ValueError(f"--batch: {batch_id!r} is given twice")
        batches[batch_id] = int(jobs)
    return batches


def _print_banner(simulator: "Simulator", args: argparse.Namespace) -> None:
    lines = [
        "Playment simulator",
        f"  API URL:     {simulator.api_url}",
        f"  API key:     {simulator.api_key}",
        f"  storage URL: {simulator.storage_url}",
    ]
    for project in simulator.catalog.projects.values():
        batches = ", ".join(f"{batch.id} ({len(batch.jobs)} jobs)" for batch in project.batches)
        lines.append(f"  project:     {project.id}: {batches}")
    lines.append(f"  jobs:        {_readiness(args.not_completed_every)}")
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), flush=True)


def _readiness(not_completed_every: int) -> str:
    """Which jobs are completed, as ``sample_catalog`` makes them."""
    if not_completed_every == 0:
        return "every job completed"
    if not_completed_every == 1:
        return "no job completed"
    number = not_completed_every
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    if 10 <= number % 100 <= 20:
        suffix = "th"
    return f"every {number}{suffix} job not completed"
