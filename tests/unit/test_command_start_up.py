"""What ``playment-export`` loads before its first request: only what the checks need.

The export's machinery (the driver, the domain's steps, rich, the simulator's server, boto3,
moto) is imported once the checks have passed, so a bad flag answers at once and the first
request of ``run`` leaves ~0.2 s after launch. Checked in a fresh interpreter, as a user's
shell starts the command.
"""

import json
import subprocess
import sys

import pytest

# Each: what ``run`` does not need before its check request, and what it costs otherwise.
NOT_AT_START_UP = (
    "rich",  # the progress bar and the summary, ~25 ms
    "playment_cli.direct_export",  # the driver and the domain's steps, ~25 ms
    "playment_cli.local_driver",
    "playment_exporter.list_pages",
    "playment_exporter.export_page",
    "playment_simulator.server",  # demo and simulator only
    "boto3",  # status, start and --out s3:// only
    "botocore",
    "moto",  # --engine state-machine only
)

PROBE = """
import json, sys
from playment_cli.main import build_parser
build_parser().parse_args(["run", "--project-id", "p", "--batch-id", "b", "--out", "o"])
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by_parsing_a_run_command() -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    return set(json.loads(done.stdout))


@pytest.fixture(scope="module")
def loaded() -> set[str]:
    return loaded_by_parsing_a_run_command()


@pytest.mark.parametrize("module", NOT_AT_START_UP)
def test_the_command_line_parses_run_without_loading_the_export_machinery(
    loaded: set[str], module: str
) -> None:
    # Given a fresh interpreter
    # When the command line is built and a run command parsed
    # Then the module is not loaded yet (nor any of its submodules)
    assert not {name for name in loaded if name == module or name.startswith(f"{module}.")}


def test_what_run_checks_with_is_loaded_by_then(loaded: set[str]) -> None:
    # Given a fresh interpreter, the command line built and a run command parsed
    # Then what the checks before the first request use is there: the request's model and
    # the client that makes the check request (the probe itself is not vacuous)
    assert {"playment_exporter.export_request", "playment_exporter.playment_client"} <= loaded
