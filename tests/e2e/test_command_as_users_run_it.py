"""``playment-export`` as a user's shell runs it: a process of its own, an environment with no
AWS configuration (or a wrong one), interrupted half-way and run again.

Nothing here inherits what ``conftest.py`` or the Makefile set up: each command gets only the
environment written in ``user_shell``.
"""

import hashlib
import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from playment_simulator import Catalog, SimBatch, SimJob, SimProject, sample_catalog
from tests.e2e.conftest import COMMAND, run_command, user_shell

PROJECT = "demo-project"


def assert_every_file_whole(catalog: Catalog, out: Path, batch_id: str) -> list[str]:
    """Every result in OUT is byte-identical to what the API serves; their job IDs."""
    found = []
    for path in sorted((out / batch_id).iterdir()):
        assert path.suffix == ".json", f"not a result: {path.name}"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert digest == catalog.body_sha256(PROJECT, path.stem), path.name
        found.append(path.stem)
    return found


class ConnectionTrap:
    """A listener on loopback that counts whoever connects: where a leaked AWS call would go."""

    def __init__(self) -> None:
        self._socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._socket.close()


@pytest.fixture
def trap() -> Iterator[ConnectionTrap]:
    listener = ConnectionTrap()
    yield listener
    listener.close()


def test_run_succeeds_in_a_shell_with_no_aws_configuration(start_simulator, tmp_path) -> None:
    # Given a shell with no AWS variables and no ~/.aws, and a batch on the simulator
    catalog = sample_catalog(PROJECT, {"batch-a": 60})
    simulator = start_simulator(catalog)
    out = tmp_path / "exports"
    args = ["run", "--api-url", simulator.api_url, "--project-id", PROJECT]
    # When the README's command runs there
    done = run_command([*args, "--batch-id", "batch-a", "--out", str(out)], user_shell(tmp_path))
    # Then it exits 0, every completed job is in the folder whole, and nothing leaked out
    assert done.returncode == 0, done.stdout + done.stderr
    exported = assert_every_file_whole(catalog, out, "batch-a")
    assert len(exported) == 60 - 60 // 9
    assert "SUCCEEDED" in done.stdout
    assert not (tmp_path / ".aws").exists()
    assert simulator.stats.key_leaks == 0


def test_demo_succeeds_in_a_shell_with_no_aws_configuration(tmp_path) -> None:
    # Given the same empty shell / When the demo runs
    done = run_command(["demo", "--out", str(tmp_path / "exports")], user_shell(tmp_path))
    # Then it exits 0 with the sample project exported
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCEEDED" in done.stdout
    assert len(list((tmp_path / "exports" / "batch-a").glob("*.json"))) > 200


def test_run_ignores_a_wrong_aws_configuration_and_reaches_no_aws_endpoint(
    start_simulator, tmp_path, trap
) -> None:
    # Given a shell whose AWS configuration is wrong in every way a real one can be: a region
    # that does not exist, a profile that is not there, credentials that look real, endpoints
    # and proxies that lead to a listener on loopback (where any AWS call would land)
    config = tmp_path / "aws-config"
    config.write_text(f"[profile work]\nregion = eu-south-9\nendpoint_url = {trap.url}\n")
    env = user_shell(
        tmp_path,
        AWS_DEFAULT_REGION="mars-north-9",
        AWS_REGION="mars-north-9",
        AWS_PROFILE="does-not-exist",
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_SESSION_TOKEN="token",
        AWS_CONFIG_FILE=str(config),
        AWS_ENDPOINT_URL=trap.url,
        AWS_ENDPOINT_URL_S3=trap.url,
        HTTP_PROXY=trap.url,
        HTTPS_PROXY=trap.url,
        NO_PROXY="127.0.0.1,localhost",
    )
    catalog = sample_catalog(PROJECT, {"batch-a": 30})
    simulator = start_simulator(catalog)
    out = tmp_path / "exports"
    args = ["run", "--api-url", simulator.api_url, "--project-id", PROJECT, "--batch-id"]
    # When the command runs in it, and again with the profile named in the config file
    done = run_command([*args, "batch-a", "--out", str(out)], env)
    again = run_command(
        [*args, "batch-a", "--out", str(tmp_path / "again")], {**env, "AWS_PROFILE": "work"}
    )
    # Then both succeed, and nothing ever connected to the trap
    assert done.returncode == 0, done.stdout + done.stderr
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(assert_every_file_whole(catalog, out, "batch-a")) == 30 - 30 // 9
    assert trap.connections == 0


def slow_catalog(jobs: int) -> Catalog:
    return Catalog(
        [
            SimProject(
                PROJECT,
                (SimBatch("big-batch", tuple(SimJob(f"job-{n:04d}") for n in range(jobs))),),
            )
        ]
    )


@pytest.mark.slow
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_run_leaves_only_whole_files_and_the_next_run_finishes(
    start_simulator, tmp_path, stop
) -> None:
    # Given a batch slow enough to interrupt half-way (40 ms a request)
    catalog = slow_catalog(400)
    simulator = start_simulator(catalog, latency=0.04)
    out = tmp_path / "exports"
    args = ["run", "--api-url", simulator.api_url, "--project-id", PROJECT]
    args += ["--batch-id", "big-batch", "--out", str(out), "--max-concurrency", "8"]
    # When the run is started (with SIGINT ignored, as a background job of a script inherits
    # it) and stopped by the signal once results have started to appear
    process = subprocess.Popen(
        ["sh", "-c", 'trap "" INT; exec "$@"', "sh", COMMAND, *args],
        env=user_shell(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    limit = time.monotonic() + 120
    while not (out / "big-batch").is_dir() or len(os.listdir(out / "big-batch")) < 20:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < limit, "no result appeared"
        time.sleep(0.02)
    process.send_signal(stop)
    stdout, stderr = process.communicate(timeout=60)
    # Then it exits 128 + the signal (130 for SIGINT, 143 for SIGTERM) and says so in one line
    assert process.returncode == 128 + stop, stdout + stderr
    (said,) = [line for line in stderr.splitlines() if "progress:" not in line]
    assert said == (
        f"playment-export: interrupted ({stop.name}): run the same command again to export the rest"
    )
    # And every file in OUT is whole and byte-identical, as many as it says it wrote
    first = assert_every_file_whole(catalog, out, "big-batch")
    assert 20 <= len(first) < 400
    (summary,) = stdout.splitlines()
    assert re.fullmatch(
        rf"Export export-\S+ stopped after \d+\.\d s: {len(first)} results written to "
        rf"{re.escape(str(out))}/, each whole",
        summary,
    ), summary
    assert not (out / "_exports" / ".incoming").exists()
    # When the same command runs again
    done = run_command(args, user_shell(tmp_path))
    # Then it finishes the job: every result whole, and none of those already there fetched again
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(assert_every_file_whole(catalog, out, "big-batch")) == 400
    deliveries = simulator.stats.snapshot()["attachments_by_job"]
    assert all(deliveries[job_id] == 1 for job_id in first)
